import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { base64UrlBytes, pushState } from "../push";

describe("push", () => {
  it("decodes the server's base64url VAPID key to the 65 bytes of a P-256 point", () => {
    const key = "BGJ4X1O3SuezZmR28VDOt42CQONq7yUiOVRkY-r1Jny1sdWDiEy7o7VA-OoNVXwNCHVoKXP8onOD9IXqyQ3RNXM";
    const bytes = base64UrlBytes(key);
    assert.equal(bytes.length, 65);
    assert.equal(bytes[0], 4);
    assert.deepEqual(Array.from(base64UrlBytes("_-8")), [0xff, 0xef]);
  });

  it("says push is unsupported where there is no service worker", async () => {
    assert.equal(await pushState(), "unsupported");
  });
});
