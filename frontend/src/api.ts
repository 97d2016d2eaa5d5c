/** The web role's join endpoint: exchanges the session (or a guest's name) for a signaling ticket. */

import type { JoinAnswer } from "./protocol";

/** The server refused the join; `message` is the server's human-readable explanation. */
export class JoinRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
    this.name = "JoinRefused";
  }
}

/** POSTs `body` to the join URL with the CSRF token and the session cookie. */
export async function requestJoin(joinUrl: string, csrfToken: string, body: object): Promise<JoinAnswer> {
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
  if (csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response: Response;
  try {
    response = await fetch(joinUrl, {
      method: "POST",
      headers,
      credentials: "same-origin",
      body: JSON.stringify(body),
    });
  } catch {
    throw new JoinRefused("network", "The server could not be reached. Check your connection and reload the page.");
  }
  const payload = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (payload as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const message =
      typeof error?.message === "string" && error.message
        ? error.message
        : `Could not join the conference (HTTP ${response.status}).`;
    const code = typeof error?.code === "string" ? error.code : `http_${response.status}`;
    throw new JoinRefused(code, message, response.status);
  }
  const answer = payload as Partial<JoinAnswer> | null;
  if (!answer || typeof answer.signaling_url !== "string" || typeof answer.ticket !== "string") {
    throw new JoinRefused("bad_response", "The server sent an unexpected answer. Please reload the page.");
  }
  return {
    conference: answer.conference ?? { id: 0, name: "", type: "" },
    signaling_url: absoluteWebSocketUrl(answer.signaling_url, window.location.href),
    server_id: typeof answer.server_id === "string" ? answer.server_id : "",
    ticket: answer.ticket,
    session: typeof answer.session === "string" ? answer.session : "",
    ice_servers: Array.isArray(answer.ice_servers) ? answer.ice_servers : [],
    client: answer.client ?? {},
  };
}

/** Resolves a signaling URL given as a path ("/ws/v1") against the page, with the ws/wss scheme. */
export function absoluteWebSocketUrl(url: string, pageUrl: string): string {
  const resolved = new URL(url, pageUrl);
  if (resolved.protocol === "http:") resolved.protocol = "ws:";
  else if (resolved.protocol === "https:") resolved.protocol = "wss:";
  return resolved.toString();
}
