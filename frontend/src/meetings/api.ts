/** The meetings API as the pages use it: JSON over fetch with the session cookie and the CSRF token. */

export interface Occurrence {
  recurrence_id: string;
  starts_at: string;
  ends_at: string;
  changed: boolean;
}

export interface MeetingInvitee {
  id: number;
  user_id: number | null;
  email: string;
  display_name: string;
  answer: string;
  group: string;
}

export interface Meeting {
  id: number;
  title: string;
  starts_at: string;
  duration_minutes: number;
  time_zone: string;
  recurrence: string | null;
  guests_allowed: boolean;
  moderated: boolean;
  pin: string | null;
  owner_id: number;
  is_owner: boolean;
  my_answer: string | null;
  conference_id: number;
  join_path: string;
  guest_link: string | null;
  open_for_joining: boolean;
  opens_at: string | null;
  invitees: MeetingInvitee[];
  occurrences: Occurrence[];
}

/** The server refused; `message` is its explanation for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export class MeetingsApi {
  constructor(private readonly csrf: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = this.csrf;
    let response: Response;
    try {
      response = await fetch(`/api/v1${path}`, {
        method,
        headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "The server could not be reached. Check your connection.");
    }
    if (response.status === 204) return undefined as T;
    const payload = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
    if (!response.ok) {
      throw new ApiError(response.status, payload?.error?.message ?? `Request failed (HTTP ${response.status}).`);
    }
    return payload as T;
  }

  mine(): Promise<Meeting[]> {
    return this.call("GET", "/meetings?limit=200");
  }

  between(from: Date, to: Date): Promise<Meeting[]> {
    const query = new URLSearchParams({ from: from.toISOString(), to: to.toISOString() });
    return this.call("GET", `/meetings?${query}`);
  }

  get(id: number): Promise<Meeting> {
    return this.call("GET", `/meetings/${id}`);
  }
}
