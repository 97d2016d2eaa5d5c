import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { type OverviewLicense, type OverviewServer, summarize } from "../admin/overview_state";

function server(name: string, status: string, participants = 0, conferences = 0, engineUp = true): OverviewServer {
  return { id: name, name, roles: ["app"], status, participants, conferences, media_engine: { up: engineUp } };
}

const NOW = new Date("2026-12-03T12:00:00Z");

function license(fields: Partial<OverviewLicense>): OverviewLicense {
  return { organisation: "Acme", expires: "2027-12-31", expired: false, problem: "", pools: {}, ...fields };
}

describe("summarize", () => {
  it("counts servers up and down and the people on those that run", () => {
    const o = summarize([server("a", "up", 3, 1), server("b", "down", 9, 9), server("c", "pending")], null, null, [], NOW);
    assert.equal(o.serversUp, 1);
    assert.equal(o.serversDown, 1);
    assert.equal(o.serversOther, 1);
    assert.equal(o.participants, 3);
    assert.equal(o.conferences, 1);
    assert.deepEqual(
      o.alerts.map((a) => a.text),
      ["Server b is down: it stopped sending heartbeats.", "Server c waits for your approval."],
    );
  });

  it("warns of a pool nearly full, an expired or ending license and a failed directory sync", () => {
    const pools = { video: { total: 10, in_use: 9 }, guests: { total: null, in_use: 4 }, online_users: { total: 100, in_use: 5 } };
    const o = summarize([server("a", "up")], license({ expires: "2026-12-10", pools }), null, [
      { name: "corp", state: "failed", last_error: "cannot reach ldap1" },
      { name: "hr", state: "complete", last_error: null },
    ], NOW);
    assert.deepEqual(
      o.alerts.map((a) => a.text),
      [
        "The license ends in 7 days (2026-12-10).",
        "Video connections are nearly all in use: 9 of 10.",
        "The directory sync of “corp” failed: cannot reach ldap1",
      ],
    );
    assert.deepEqual(o.licenseUse, ["Video connections: 9 of 10", "Guest connections: 4 (unlimited)", "Online users: 5 of 100"]);
    const expired = summarize([], license({ expired: true, expires: "2026-11-30" }), null, [], NOW);
    assert.equal(expired.alerts[0]?.level, "danger");
    assert.match(expired.alerts[0]?.text ?? "", /expired on 2026-11-30/);
  });

  it("has no alert when all is well, and says when the license cannot be read", () => {
    assert.deepEqual(summarize([server("a", "up")], license({}), null, [], NOW).alerts, []);
    const away = summarize([server("a", "up")], null, "The manager does not answer.", [], NOW);
    assert.deepEqual(away.alerts.map((a) => a.text), ["The manager does not answer."]);
  });
});
