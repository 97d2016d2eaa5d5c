/**
 * The console overview's figures and alerts, computed from what GET /api/v1/servers, /api/v1/license and
 * /api/v1/directory/sources answer. Pure: the page (overview.ts) fetches and renders, tests give literals.
 */

export interface OverviewServer {
  id: string;
  name: string;
  roles: string[];
  status: string; // pending | up | down | draining
  conferences: number;
  participants: number;
  media_engine: { up: boolean } | null;
}

export interface OverviewPool {
  total: number | null;
  in_use: number;
}

export interface OverviewLicense {
  organisation: string | null;
  expires: string | null; // the last valid day, YYYY-MM-DD
  expired: boolean;
  problem: string;
  pools: Record<string, OverviewPool>;
}

export interface OverviewSource {
  name: string;
  state: string; // never synced | syncing | complete | failed | interrupted
  last_error: string | null;
}

export interface Alert {
  level: "danger" | "warning";
  text: string;
  link: string; // the console page to go to about it
}

export interface Overview {
  serversUp: number;
  serversDown: number;
  serversOther: number; // pending or draining
  participants: number;
  conferences: number;
  licenseUse: string[]; // one line per limited pool: "Video connections: 3 of 50"
  alerts: Alert[];
}

export const POOL_NAMES: Record<string, string> = {
  online_users: "Online users",
  video: "Video connections",
  gateway: "Gateway connections",
  guests: "Guest connections",
};

/** A pool this full (or fuller) is an alert. */
export const NEARLY_FULL = 0.9;
/** A license ending within this many days is an alert. */
export const EXPIRY_WARNING_DAYS = 14;

const DAY_MS = 86_400_000;

export function summarize(
  servers: OverviewServer[],
  license: OverviewLicense | null,
  licenseError: string | null,
  sources: OverviewSource[],
  now: Date,
): Overview {
  const alerts: Alert[] = [];
  let serversUp = 0;
  let serversDown = 0;
  let participants = 0;
  let conferences = 0;
  for (const server of servers) {
    if (server.status === "up" || server.status === "draining") {
      participants += server.participants;
      conferences += server.conferences;
    }
    if (server.status === "up") serversUp += 1;
    else if (server.status === "down") {
      serversDown += 1;
      alerts.push({ level: "danger", text: `Server ${server.name} is down: it stopped sending heartbeats.`, link: "/admin/servers" });
    } else if (server.status === "pending") {
      alerts.push({ level: "warning", text: `Server ${server.name} waits for your approval.`, link: "/admin/servers" });
    }
    if (server.status === "up" && server.roles.includes("app") && server.media_engine && !server.media_engine.up) {
      alerts.push({
        level: "danger",
        text: `The media engine of server ${server.name} is not running: calls cannot be placed there.`,
        link: "/admin/servers",
      });
    }
  }
  const licenseUse: string[] = [];
  if (licenseError !== null) {
    alerts.push({ level: "warning", text: licenseError, link: "/admin/license" });
  } else if (license !== null) {
    licenseAlerts(license, now, alerts, licenseUse);
  }
  for (const source of sources) {
    if (source.state === "failed" || source.state === "interrupted") {
      const why = source.last_error ? `: ${source.last_error}` : ".";
      alerts.push({
        level: "danger",
        text: `The directory sync of “${source.name}” ${source.state === "failed" ? "failed" : "was interrupted"}${why}`,
        link: "/admin/directory",
      });
    }
  }
  return {
    serversUp,
    serversDown,
    serversOther: servers.length - serversUp - serversDown,
    participants,
    conferences,
    licenseUse,
    alerts,
  };
}

function licenseAlerts(license: OverviewLicense, now: Date, alerts: Alert[], use: string[]): void {
  if (license.expired) {
    alerts.push({
      level: "danger",
      text: `The license expired on ${license.expires}: no new connections are admitted. Install a renewal.`,
      link: "/admin/license",
    });
  } else if (license.expires) {
    const left = Math.floor((Date.parse(`${license.expires}T23:59:59Z`) - now.getTime()) / DAY_MS);
    if (left < EXPIRY_WARNING_DAYS) {
      const when = left <= 0 ? "today" : left === 1 ? "tomorrow" : `in ${left} days`;
      alerts.push({ level: "warning", text: `The license ends ${when} (${license.expires}).`, link: "/admin/license" });
    }
  }
  if (license.problem) {
    alerts.push({ level: "warning", text: `The license file is refused: ${license.problem}`, link: "/admin/license" });
  }
  for (const [key, pool] of Object.entries(license.pools)) {
    const name = POOL_NAMES[key] ?? key;
    if (pool.total === null) {
      use.push(`${name}: ${pool.in_use} (unlimited)`);
      continue;
    }
    use.push(`${name}: ${pool.in_use} of ${pool.total}`);
    if (pool.total === 0 ? pool.in_use > 0 : pool.in_use / pool.total >= NEARLY_FULL) {
      alerts.push({
        level: pool.in_use >= pool.total ? "danger" : "warning",
        text: `${name} are nearly all in use: ${pool.in_use} of ${pool.total}.`,
        link: "/admin/license",
      });
    }
  }
}
