/**
 * The address book API as the pages call it: the session cookie, the CSRF header on changes, and the server's
 * own explanation when it refuses.
 */

export type Presence = "offline" | "online" | "in_conference";

export interface Contact {
  id: number;
  login: string;
  display_name: string;
  email: string;
  phone: string;
  department: string;
  title: string;
  source: string | null;
  presence: Presence;
}

export interface RingingCall {
  conference_id: number;
  caller: { id: number; display_name: string };
  url: string;
  expires_in_s: number;
}

/** The server answered with an error (or could not be reached: status 0); `message` is for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

interface Options {
  csrf?: string;
  signal?: AbortSignal;
}

async function call(method: string, url: string, what: string, options: Options = {}): Promise<unknown> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (options.csrf) headers["X-CSRF-Token"] = options.csrf;
  let response: Response;
  try {
    response = await fetch(url, { method, headers, credentials: "same-origin", signal: options.signal });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError(0, `${what} failed: the server could not be reached.`);
  }
  if (response.status === 204) return null;
  const payload: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const message = (payload as { error?: { message?: unknown } } | null)?.error?.message;
    throw new ApiError(
      response.status,
      typeof message === "string" && message ? message : `${what} failed (HTTP ${response.status}).`,
    );
  }
  return payload;
}

export async function searchContacts(query: string, signal: AbortSignal): Promise<Contact[]> {
  const found = await call("GET", `/api/v1/directory/search?q=${encodeURIComponent(query)}`, "The search", {
    signal,
  });
  return Array.isArray(found) ? (found as Contact[]) : [];
}

export async function callContact(id: number, csrf: string): Promise<{ conference_id: number; url: string }> {
  return (await call("POST", `/api/v1/directory/contacts/${id}/call`, "The call", { csrf })) as {
    conference_id: number;
    url: string;
  };
}

/** The calls ringing for me; with `waitS`, the server answers when they differ from `known` (a long poll). */
export async function ringingCalls(known: number[], waitS: number, signal: AbortSignal): Promise<RingingCall[]> {
  const params = new URLSearchParams({ wait_s: String(waitS) });
  for (const id of known) params.append("known", String(id));
  const answer = (await call("GET", `/api/v1/directory/calls?${params}`, "Checking for calls", { signal })) as {
    calls?: RingingCall[];
  } | null;
  return Array.isArray(answer?.calls) ? answer.calls : [];
}

export async function declineCall(conferenceId: number, csrf: string): Promise<void> {
  await call("DELETE", `/api/v1/directory/calls/${conferenceId}`, "Declining the call", { csrf });
}

export type CallState = "ringing" | "answered" | "declined" | "unanswered" | "cancelled";

/** A call I made, as it stands (`GET /api/v1/directory/outgoing-calls/{conference_id}`). */
export interface OutgoingCall {
  conference_id: number;
  callee: { id: number; display_name: string };
  state: CallState;
  url: string;
  expires_in_s: number;
}

/** My call into `conferenceId`; with `waitS`, the server answers when its state differs from `known`. */
export async function outgoingCall(
  conferenceId: number,
  known: CallState | null,
  waitS: number,
  signal: AbortSignal,
): Promise<OutgoingCall> {
  const params = new URLSearchParams({ wait_s: String(waitS) });
  if (known) params.set("known", known);
  const url = `/api/v1/directory/outgoing-calls/${conferenceId}?${params}`;
  return (await call("GET", url, "Following the call", { signal })) as OutgoingCall;
}

/** Hang up before an answer: it stops ringing on the callee's pages. */
export async function cancelCall(conferenceId: number, csrf: string): Promise<OutgoingCall> {
  const url = `/api/v1/directory/outgoing-calls/${conferenceId}`;
  return (await call("DELETE", url, "Cancelling the call", { csrf })) as OutgoingCall;
}

/** Take a call ringing for me: my caller's page follows me into the conference. */
export async function answerCall(conferenceId: number, csrf: string): Promise<void> {
  await call("POST", `/api/v1/directory/calls/${conferenceId}/answer`, "Answering the call", { csrf });
}
