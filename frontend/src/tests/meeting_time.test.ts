import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { addDays, dayInZone, wallTimeToUtc, weekStart } from "../meetings/time";

describe("meeting times in a named zone", () => {
  it("reads a wall-clock time in the meeting's zone, across daylight saving", () => {
    assert.equal(wallTimeToUtc("2027-03-22T10:00", "Europe/Berlin").toISOString(), "2027-03-22T09:00:00.000Z");
    assert.equal(wallTimeToUtc("2027-03-29T10:00", "Europe/Berlin").toISOString(), "2027-03-29T08:00:00.000Z");
    assert.equal(wallTimeToUtc("2027-01-15T09:30", "Asia/Kolkata").toISOString(), "2027-01-15T04:00:00.000Z");
  });

  it("finds the day of an instant in a zone, weeks from Monday", () => {
    assert.equal(dayInZone(new Date("2027-03-21T23:30:00Z"), "Europe/Berlin"), "2027-03-22");
    assert.equal(weekStart("2027-03-28"), "2027-03-22");
    assert.equal(addDays("2027-02-27", 2), "2027-03-01");
  });
});
