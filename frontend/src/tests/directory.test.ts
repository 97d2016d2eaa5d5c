import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Debouncer, LatestRequest, nextBackoff, type Timers } from "../directory/requests";

describe("LatestRequest", () => {
  it("aborts the request in flight when a newer one starts", () => {
    const latest = new LatestRequest();
    const first = latest.start();
    const second = latest.start();
    assert.equal(first.aborted, true);
    assert.equal(latest.isCurrent(first), false);
    assert.equal(latest.isCurrent(second), true);
    latest.finish(first); // a stale answer finishing changes nothing
    assert.equal(latest.busy, true);
    latest.finish(second);
    assert.equal(latest.busy, false);
  });

  it("cancel aborts and leaves nothing in flight", () => {
    const latest = new LatestRequest();
    const signal = latest.start();
    latest.cancel();
    assert.equal(signal.aborted, true);
    assert.equal(latest.isCurrent(signal), false);
    assert.equal(latest.busy, false);
  });
});

describe("Debouncer", () => {
  it("runs once, after the last of quick inputs", () => {
    const pending = new Map<number, () => void>();
    let next = 0;
    const timers: Timers = {
      setTimeout: (run) => {
        pending.set(++next, run);
        return next;
      },
      clearTimeout: (handle) => void pending.delete(handle as number),
    };
    let runs = 0;
    const debounce = new Debouncer(150, () => runs++, timers);
    debounce.schedule();
    debounce.schedule();
    debounce.schedule();
    assert.equal(pending.size, 1);
    for (const run of pending.values()) run();
    assert.equal(runs, 1);
    debounce.schedule();
    debounce.cancel();
    assert.equal(pending.size, 1); // only the one that already ran is left in the fake
  });
});

describe("nextBackoff", () => {
  it("doubles from one second up to thirty", () => {
    assert.deepEqual([0, 1000, 2000, 16000, 30000].map((ms) => nextBackoff(ms)), [1000, 2000, 4000, 30000, 30000]);
  });
});
