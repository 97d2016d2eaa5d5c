import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { type Component, SHARED_SEGMENT, segments } from "../admin/components_state";

function component(fields: Partial<Component>): Component {
  return {
    kind: "web",
    name: "web-1",
    segment: "default",
    address: "host (pid 1)",
    state: "up",
    active: true,
    role: "web",
    detail: "",
    server_id: "web-1-id",
    replication_lag_s: null,
    ...fields,
  };
}

describe("segments", () => {
  it("groups by segment, the shared NATS cluster last, rows by kind then name", () => {
    const groups = segments([
      component({ kind: "nats", name: "nats-1", segment: null, server_id: "", address: "127.0.0.1:4222" }),
      component({ kind: "app", name: "app-1", segment: "north", server_id: "a1" }),
      component({ kind: "web", name: "web-2", segment: "north", server_id: "w2" }),
      component({ kind: "database", name: "db:5432", segment: "north", server_id: "", address: "db:5432" }),
      component({ kind: "manager", name: "manager-1", segment: "east", server_id: "m1" }),
    ]);
    assert.deepEqual(
      groups.map((g) => [g.title, g.rows.map((r) => r.name)]),
      [
        ["Segment east", ["manager-1"]],
        ["Segment north", ["db:5432", "web-2", "app-1"]],
        [SHARED_SEGMENT, ["nats-1"]],
      ],
    );
  });

  it("says which is active: primary or standby for a database, nothing for what is down", () => {
    const rows = segments([
      component({ kind: "database", name: "a", server_id: "", address: "a", active: true }),
      component({ kind: "database", name: "b", server_id: "", address: "b", active: false }),
      component({ kind: "manager", name: "m", server_id: "m", active: false }),
      component({ kind: "app", name: "x", server_id: "x", state: "down", active: false }),
    ])[0].rows;
    assert.deepEqual(
      rows.map((r) => [r.name, r.active]),
      [
        ["a", "primary"],
        ["b", "standby"],
        ["m", "standby"],
        ["x", "—"],
      ],
    );
  });
});
