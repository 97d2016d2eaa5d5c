import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { problemMessage } from "../devices";
import { classifyCaptureError } from "../media";

function failure(name: string): Error {
  const error = new Error("capture failed");
  error.name = name;
  return error;
}

describe("classifyCaptureError", () => {
  it("tells a missing device, a refusal and a device in use apart", () => {
    assert.deepEqual(
      ["NotFoundError", "OverconstrainedError", "NotAllowedError", "SecurityError", "NotReadableError", "TypeError"].map(
        (name) => classifyCaptureError(failure(name)),
      ),
      ["not_found", "not_found", "not_allowed", "not_allowed", "in_use", "failed"],
    );
  });
});

describe("problemMessage", () => {
  it("says nothing when both devices work", () => {
    assert.equal(problemMessage(null, null), null);
  });

  it("names both devices once when they fail alike", () => {
    assert.match(problemMessage("not_found", "not_found") ?? "", /^No camera or microphone was found\./);
    assert.match(problemMessage("not_allowed", "not_allowed") ?? "", /not allowed to use your camera and microphone/);
  });

  it("says how to fix each problem, ending with Try again", () => {
    const inUse = problemMessage("in_use", null) ?? "";
    assert.match(inUse, /camera is in use by another application/);
    assert.match(inUse, /“Try again”/);
    const mixed = problemMessage("not_found", "not_allowed") ?? "";
    assert.match(mixed, /No camera was found/);
    assert.match(mixed, /not allowed to use your microphone/);
  });
});
