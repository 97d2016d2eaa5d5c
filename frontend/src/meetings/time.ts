/** Times in a named IANA zone (pure): what a wall-clock time in a zone is in UTC, and how to show an instant. */

/** The zone's offset from UTC, in minutes, at the instant `utcMs`. */
export function zoneOffsetMinutes(zone: string, utcMs: number): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(utcMs));
  const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? "0");
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60000);
}

/** "2027-03-22T10:00" (a datetime-local value) in `zone` as a UTC instant. */
export function wallTimeToUtc(wall: string, zone: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(wall);
  if (!match) throw new Error("Give the start as a date and time.");
  const [, y, mo, d, h, mi] = match.map(Number);
  const guess = Date.UTC(y, mo - 1, d, h, mi);
  let utc = guess - zoneOffsetMinutes(zone, guess) * 60000;
  utc = guess - zoneOffsetMinutes(zone, utc) * 60000; // once more: the offset at the result, not at the guess
  return new Date(utc);
}

export function formatInZone(instant: Date, zone: string, options: Intl.DateTimeFormatOptions): string {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, hourCycle: "h23", ...options }).format(instant);
}

/** The calendar day ("2027-03-22") of an instant in `zone`. */
export function dayInZone(instant: Date, zone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(instant)
    .filter((p) => p.type !== "literal")
    .map((p) => p.value);
  return parts.join("-");
}

/** Midnight (in `zone`) starting the day `day` ("2027-03-22"), as a UTC instant. */
export function startOfDay(day: string, zone: string): Date {
  return wallTimeToUtc(`${day}T00:00`, zone);
}

/** `day` plus `n` days, as "YYYY-MM-DD" (calendar arithmetic, no zone). */
export function addDays(day: string, n: number): string {
  const [y, m, d] = day.split("-").map(Number);
  const moved = new Date(Date.UTC(y, m - 1, d + n));
  return moved.toISOString().slice(0, 10);
}

/** Monday of the week of `day`. */
export function weekStart(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
  return addDays(day, -weekday);
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
