/**
 * The console's Components page, pure part: GET /api/v1/components grouped into one table per segment
 * (the NATS cluster, shared by every segment, in a table of its own), each row in words.
 */

export interface Component {
  kind: "manager" | "base" | "web" | "app" | "database" | "nats";
  name: string;
  segment: string | null;
  address: string;
  state: "up" | "down" | "stale";
  active: boolean;
  role: string;
  detail: string;
  server_id: string;
  replication_lag_s: number | null;
}

export interface ComponentRow {
  key: string;
  kind: string;
  name: string;
  address: string;
  state: Component["state"];
  active: string;
  detail: string;
}

export interface Segment {
  title: string;
  key: string;
  rows: ComponentRow[];
}

const KIND_ORDER = ["database", "manager", "base", "web", "app", "nats"];
const KIND_LABELS: Record<string, string> = {
  database: "Database",
  manager: "Manager",
  base: "Base",
  web: "Web",
  app: "Application",
  nats: "NATS",
};
export const SHARED_SEGMENT = "All segments (NATS)";

function activeText(c: Component): string {
  if (c.state !== "up") return "—";
  if (c.kind === "database") return c.active ? "primary" : "standby";
  return c.active ? "active" : "standby";
}

export function rowOf(c: Component): ComponentRow {
  return {
    key: `${c.kind}:${c.server_id || c.address || c.name}`,
    kind: KIND_LABELS[c.kind] ?? c.kind,
    name: c.name,
    address: c.address,
    state: c.state,
    active: activeText(c),
    detail: c.detail,
  };
}

/** One segment per region (sorted), then the shared NATS cluster; rows by kind, then name. */
export function segments(components: Component[]): Segment[] {
  const groups = new Map<string, Component[]>();
  for (const c of components) {
    const key = c.segment ?? "";
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const keys = [...groups.keys()].sort((a, b) => (a === "" ? 1 : b === "" ? -1 : a.localeCompare(b)));
  return keys.map((key) => {
    const rows = [...(groups.get(key) ?? [])].sort(
      (a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) || a.name.localeCompare(b.name),
    );
    return { key, title: key === "" ? SHARED_SEGMENT : `Segment ${key}`, rows: rows.map(rowOf) };
  });
}
