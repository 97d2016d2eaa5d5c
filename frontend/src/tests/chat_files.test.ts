import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { describeSize, refusalBeforeSending } from "../chat_files";

describe("describeSize", () => {
  it("says sizes in the server's words", () => {
    assert.deepEqual(
      [0, 1, 999, 1500, 100_000_000, 2e9].map(describeSize),
      ["0 bytes", "1 byte", "999 bytes", "1.5 kB", "100 MB", "2 GB"],
    );
  });
});

describe("refusalBeforeSending", () => {
  const limits = { max_size_bytes: 50_000, quota_bytes: 100_000, used_bytes: 90_000 };

  it("refuses a file over the size limit before uploading it", () => {
    assert.equal(
      refusalBeforeSending({ name: "big.pdf", size: 60_000 }, limits),
      "The file is larger than the limit of 50 kB; it was not sent.",
    );
  });

  it("refuses a file that does not fit in the quota, naming use and quota", () => {
    assert.equal(
      refusalBeforeSending({ name: "b.pdf", size: 20_000 }, limits),
      "Your files take 90 kB of your 100 kB quota; this one (20 kB) does not fit.",
    );
  });

  it("lets the server decide when the limits are unknown or the file fits", () => {
    assert.equal(refusalBeforeSending({ name: "a.pdf", size: 10 }, null), null);
    assert.equal(refusalBeforeSending({ name: "a.pdf", size: 10_000 }, limits), null);
    assert.equal(refusalBeforeSending({ name: "a.pdf", size: 10_000 }, { ...limits, quota_bytes: null }), null);
  });
});
