/**
 * The Statistics page's pure logic (no DOM): the figures and how they read, the time range of each choice, the
 * arrangement of the charts and its changes, and a chart's points as CSV. The page is statistics.ts.
 */

export type Figure =
  | "conference_hours"
  | "conferences_avg"
  | "participants_avg"
  | "participants_per_conference"
  | "peak_participants"
  | "cpu_percent"
  | "traffic_in_bytes"
  | "traffic_out_bytes"
  | "refusals"
  | "failovers"
  | "logged_participant_hours"
  | "logged_sessions"
  | "license_online_users_peak"
  | "license_video_peak"
  | "license_gateway_peak"
  | "license_guests_peak"
  | "coverage";

export type ChartKind = "line" | "bar";
export type Granularity = "hour" | "day";
export type RangeChoice = "day" | "week" | "month" | "quarter" | "year" | "custom";

/** One bucket as GET /api/v1/statistics answers it; `null` figures are a gap (no sample in the bucket). */
export type StatPoint = { at: string } & Record<Figure, number | null>;

export interface StatisticsAnswer {
  from: string;
  to: string;
  by: Granularity;
  scope: string;
  points: StatPoint[];
  totals: StatPoint;
}

export interface ChartLayout {
  figure: Figure;
  kind: ChartKind;
}

export interface Layout {
  charts: ChartLayout[];
}

export interface FigureInfo {
  label: string;
  unit: string; // after the number in the readout ("" for counts)
  bytes?: boolean;
}

/** In the order the "Add a chart" list offers them. */
export const FIGURES: ReadonlyArray<readonly [Figure, FigureInfo]> = [
  ["conference_hours", { label: "Time in conferences", unit: "person-hours" }],
  ["conferences_avg", { label: "Conferences running (average)", unit: "" }],
  ["participants_avg", { label: "Participants (average)", unit: "" }],
  ["participants_per_conference", { label: "Participants per conference (average)", unit: "" }],
  ["peak_participants", { label: "Peak participants", unit: "" }],
  ["cpu_percent", { label: "CPU load (average)", unit: "%" }],
  ["traffic_in_bytes", { label: "Traffic in", unit: "bytes", bytes: true }],
  ["traffic_out_bytes", { label: "Traffic out", unit: "bytes", bytes: true }],
  ["refusals", { label: "Refused connections (license full)", unit: "" }],
  ["failovers", { label: "Failovers (conferences moved off a failed server)", unit: "" }],
  ["logged_participant_hours", { label: "Time in calls, from the call history", unit: "person-hours" }],
  ["logged_sessions", { label: "People joining calls (call history)", unit: "" }],
  ["license_video_peak", { label: "License: video connections in use (peak)", unit: "" }],
  ["license_online_users_peak", { label: "License: online users (peak)", unit: "" }],
  ["license_guests_peak", { label: "License: guest connections (peak)", unit: "" }],
  ["license_gateway_peak", { label: "License: gateway connections (peak)", unit: "" }],
  ["coverage", { label: "Coverage (share of the bucket with samples)", unit: "" }],
];
const INFO = new Map<Figure, FigureInfo>(FIGURES);

export function figureInfo(figure: Figure): FigureInfo {
  return INFO.get(figure) ?? { label: figure, unit: "" };
}

export function isFigure(value: string): value is Figure {
  return INFO.has(value as Figure);
}

const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const RANGE_DAYS: Record<Exclude<RangeChoice, "custom">, number> = {
  day: 1,
  week: 7,
  month: 30,
  quarter: 91,
  year: 365,
};

/** The granularity that suits a range at first (the admin may pick the other). */
export function defaultGranularity(range: RangeChoice): Granularity {
  return range === "day" || range === "week" ? "hour" : "day";
}

export interface TimeRange {
  from: Date;
  to: Date; // exclusive
}

/**
 * The UTC range of a choice at `now`: the last N days up to the end of the current bucket (the current hour or
 * day included), or for "custom" the chosen days from the start of `fromDay` to the end of `toDay` (both
 * YYYY-MM-DD, UTC). Null when the chosen dates are missing or out of order.
 */
export function rangeOf(
  choice: RangeChoice,
  by: Granularity,
  now: Date,
  fromDay = "",
  toDay = "",
): TimeRange | null {
  if (choice === "custom") {
    const from = Date.parse(`${fromDay}T00:00:00Z`);
    const to = Date.parse(`${toDay}T00:00:00Z`);
    if (!Number.isFinite(from) || !Number.isFinite(to) || to < from) return null;
    return { from: new Date(from), to: new Date(to + DAY_MS) };
  }
  const step = by === "hour" ? HOUR_MS : DAY_MS;
  const end = Math.floor(now.getTime() / step) * step + step;
  return { from: new Date(end - RANGE_DAYS[choice] * DAY_MS), to: new Date(end) };
}

/** The query of GET /api/v1/statistics for a range, a granularity and a scope ("", "region:X" or "server:ID"). */
export function statisticsQuery(range: TimeRange, by: Granularity, scope: string): string {
  const params = new URLSearchParams({ from: range.from.toISOString(), to: range.to.toISOString(), by });
  if (scope.startsWith("region:")) params.set("region", scope.slice("region:".length));
  else if (scope.startsWith("server:")) params.set("server", scope.slice("server:".length));
  return params.toString();
}

// --- the arrangement -------------------------------------------------------------------------------------------

/** The layout with the chart of `figure` moved one place up (-1) or down (+1); unchanged at the ends. */
export function moveChart(layout: Layout, figure: Figure, step: -1 | 1): Layout {
  const charts = [...layout.charts];
  const i = charts.findIndex((c) => c.figure === figure);
  const j = i + step;
  if (i < 0 || j < 0 || j >= charts.length) return layout;
  [charts[i], charts[j]] = [charts[j], charts[i]];
  return { charts };
}

export function removeChart(layout: Layout, figure: Figure): Layout {
  return { charts: layout.charts.filter((c) => c.figure !== figure) };
}

/** A chart of `figure` added at the bottom; a figure already shown only changes its kind. */
export function addChart(layout: Layout, figure: Figure, kind: ChartKind): Layout {
  if (layout.charts.some((c) => c.figure === figure)) return setKind(layout, figure, kind);
  return { charts: [...layout.charts, { figure, kind }] };
}

export function setKind(layout: Layout, figure: Figure, kind: ChartKind): Layout {
  return { charts: layout.charts.map((c) => (c.figure === figure ? { figure, kind } : c)) };
}

/** The figures not shown yet, for the "Add a chart" list. */
export function figuresNotShown(layout: Layout): Figure[] {
  const shown = new Set(layout.charts.map((c) => c.figure));
  return FIGURES.map(([f]) => f).filter((f) => !shown.has(f));
}

// --- reading and export ----------------------------------------------------------------------------------------

const BYTE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Bytes in the largest unit (powers of 1000) that keeps the number at least 1: "12.3 MB". */
export function humanBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? String(Math.round(value)) : value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** A figure's value as the readout says it: the API's number as given, with its unit; "no data" for a gap. */
export function readValue(figure: Figure, value: number | null): string {
  if (value === null) return "no data (a gap)";
  const info = figureInfo(figure);
  if (info.bytes) return `${humanBytes(value)} (${value} bytes)`;
  return info.unit ? `${value} ${info.unit}` : String(value);
}

/** The bucket's start as the page shows it: "2026-12-01 09:00 UTC" by hour, "2026-12-01 UTC" by day. */
export function bucketLabel(at: string, by: Granularity): string {
  const iso = new Date(Date.parse(at)).toISOString();
  return by === "hour" ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : `${iso.slice(0, 10)} UTC`;
}

/** A chart's points as CSV: the bucket start as the API gave it, and the figure (empty for a gap). */
export function chartCsv(points: StatPoint[], figure: Figure): string {
  const lines = [`at,${figure}`];
  for (const p of points) lines.push(`${p.at},${p[figure] === null ? "" : String(p[figure])}`);
  return lines.join("\r\n") + "\r\n";
}

/** A file name for a chart's export: "veche-cluster-conference_hours-2026-11-01-2026-11-03.csv". */
export function exportName(scope: string, figure: Figure, range: TimeRange, ext: string): string {
  const who = (scope || "cluster").replace(/[^A-Za-z0-9_-]+/g, "-");
  const day = (d: Date): string => d.toISOString().slice(0, 10);
  const last = new Date(range.to.getTime() - 1);
  return `veche-${who}-${figure}-${day(range.from)}-${day(last)}.${ext}`;
}
