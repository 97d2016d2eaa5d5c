import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  addChart,
  chartCsv,
  exportName,
  figuresNotShown,
  humanBytes,
  moveChart,
  rangeOf,
  readValue,
  removeChart,
  statisticsQuery,
  type Layout,
  type StatPoint,
} from "../admin/statistics_state";

const NOW = new Date("2026-12-03T09:41:00Z");

function point(at: string, hours: number | null): StatPoint {
  return {
    at,
    coverage: hours === null ? null : 1,
    conference_hours: hours,
    conferences_avg: null,
    logged_participant_hours: null,
    logged_sessions: null,
    participants_avg: null,
    participants_per_conference: null,
    peak_participants: null,
    cpu_percent: null,
    traffic_in_bytes: null,
    traffic_out_bytes: null,
    refusals: null,
    failovers: null,
    license_online_users_peak: null,
    license_video_peak: null,
    license_gateway_peak: null,
    license_guests_peak: null,
  };
}

describe("rangeOf", () => {
  it("ends the last N days with the current hour or day, in UTC", () => {
    const day = rangeOf("day", "hour", NOW);
    assert.equal(day?.from.toISOString(), "2026-12-02T10:00:00.000Z");
    assert.equal(day?.to.toISOString(), "2026-12-03T10:00:00.000Z");
    const quarter = rangeOf("quarter", "day", NOW);
    assert.equal(quarter?.to.toISOString(), "2026-12-04T00:00:00.000Z");
    assert.equal(quarter?.from.toISOString(), "2026-09-04T00:00:00.000Z");
  });

  it("takes chosen dates as whole UTC days, both included, and refuses them reversed or missing", () => {
    const chosen = rangeOf("custom", "hour", NOW, "2026-11-01", "2026-11-02");
    assert.equal(chosen?.from.toISOString(), "2026-11-01T00:00:00.000Z");
    assert.equal(chosen?.to.toISOString(), "2026-11-03T00:00:00.000Z");
    assert.equal(rangeOf("custom", "day", NOW, "2026-11-02", "2026-11-01"), null);
    assert.equal(rangeOf("custom", "day", NOW, "", "2026-11-01"), null);
  });
});

describe("statisticsQuery", () => {
  it("names a region or a server, and nothing for the cluster", () => {
    const range = { from: new Date("2026-11-01T00:00:00Z"), to: new Date("2026-11-02T00:00:00Z") };
    const cluster = new URLSearchParams(statisticsQuery(range, "hour", ""));
    assert.equal(cluster.get("from"), "2026-11-01T00:00:00.000Z");
    assert.equal(cluster.get("by"), "hour");
    assert.equal(cluster.has("region") || cluster.has("server"), false);
    assert.equal(new URLSearchParams(statisticsQuery(range, "day", "region:eu west")).get("region"), "eu west");
    assert.equal(new URLSearchParams(statisticsQuery(range, "day", "server:srv-1")).get("server"), "srv-1");
  });
});

describe("the arrangement", () => {
  const layout: Layout = {
    charts: [
      { figure: "conference_hours", kind: "bar" },
      { figure: "cpu_percent", kind: "line" },
    ],
  };

  it("moves a chart within the list and not past its ends", () => {
    assert.deepEqual(
      moveChart(layout, "conference_hours", 1).charts.map((c) => c.figure),
      ["cpu_percent", "conference_hours"],
    );
    assert.equal(moveChart(layout, "conference_hours", -1), layout);
    assert.equal(moveChart(layout, "cpu_percent", 1), layout);
  });

  it("adds a figure once (again only changes its kind) and offers only those not shown", () => {
    const added = addChart(layout, "refusals", "bar");
    assert.deepEqual(added.charts[2], { figure: "refusals", kind: "bar" });
    assert.deepEqual(addChart(added, "cpu_percent", "bar").charts[1], { figure: "cpu_percent", kind: "bar" });
    assert.equal(addChart(added, "cpu_percent", "bar").charts.length, 3);
    assert.equal(figuresNotShown(added).includes("refusals"), false);
    assert.equal(figuresNotShown(removeChart(added, "refusals")).includes("refusals"), true);
  });
});

describe("reading and export", () => {
  it("writes the API's points as CSV, a gap as an empty cell", () => {
    const csv = chartCsv([point("2026-11-01T00:00:00Z", 1.5), point("2026-11-01T01:00:00Z", null)], "conference_hours");
    assert.equal(csv, "at,conference_hours\r\n2026-11-01T00:00:00Z,1.5\r\n2026-11-01T01:00:00Z,\r\n");
  });

  it("reads values with their unit, bytes also in large units, a gap as no data", () => {
    assert.equal(readValue("conference_hours", 2.125), "2.125 person-hours");
    assert.equal(readValue("traffic_out_bytes", 12_345_678), "12.3 MB (12345678 bytes)");
    assert.equal(readValue("cpu_percent", null), "no data (a gap)");
    assert.equal(humanBytes(999), "999 B");
  });

  it("names an export after the scope, the figure and the days", () => {
    const range = { from: new Date("2026-11-01T00:00:00Z"), to: new Date("2026-11-03T00:00:00Z") };
    assert.equal(exportName("server:srv 1", "cpu_percent", range, "png"), "veche-server-srv-1-cpu_percent-2026-11-01-2026-11-02.png");
  });
});
