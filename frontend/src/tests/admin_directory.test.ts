import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { describeState, type Source } from "../admin/directory";

const idle: Source = {
  name: "corp",
  kind: "openldap",
  urls: ["ldap://ldap1.corp:389"],
  state: "complete",
  phase: null,
  trigger: "console",
  people_done: 0,
  groups_done: 0,
  expected_people: 0,
  started_at: null,
  ended_at: null,
  last_full_sync_at: null,
  people: 0,
  disabled: 0,
  groups: 0,
  following_changes: false,
  following_seen_at: null,
  last_change_at: null,
  last_error: null,
  last_error_at: null,
};

describe("describeState", () => {
  it("shows people N of expected with a bar while the people phase runs", () => {
    const state = describeState({ ...idle, state: "syncing", phase: "people", people_done: 2500, expected_people: 10000 });
    assert.deepEqual(state, { text: "syncing: people 2,500 of ~10,000", share: 0.25 });
  });

  it("has no bar when the number of people is not known yet (a first sync)", () => {
    assert.deepEqual(describeState({ ...idle, state: "syncing", phase: "people", people_done: 40 }), {
      text: "syncing: people 40",
      share: null,
    });
  });

  it("names the groups phase and the end states in words", () => {
    const groups = describeState({ ...idle, state: "syncing", phase: "groups", people_done: 207, groups_done: 8 });
    assert.equal(groups.text, "syncing: 207 people done, groups 8");
    assert.equal(describeState(idle).text, "complete");
    assert.equal(describeState({ ...idle, state: "never synced" }).text, "never synced");
    assert.equal(describeState({ ...idle, state: "interrupted" }).text, "interrupted: the next sync resumes it");
  });
});
