/** The chats API (/api/v1/chats) as the chats page calls it: the session cookie, the CSRF header on changes. */

import type { MessagePage, StoredChatMessage } from "../chat_message";

export type Presence = "offline" | "online" | "in_conference";

export interface ChatMember {
  id: number;
  display_name: string;
  presence: Presence;
}

export interface ChatSummary {
  id: number;
  kind: "direct" | "group";
  title: string;
  members: ChatMember[];
  unread: number;
  last_message: StoredChatMessage | null;
}

export interface PersonFound {
  id: number;
  display_name: string;
  presence: Presence;
}

/** The server refused or could not be reached (status 0); `message` is for people. */
export class ChatApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "ChatApiError";
  }
}

export class ChatApi {
  constructor(private readonly csrf: string) {}

  get csrfToken(): string {
    return this.csrf;
  }

  async myChats(): Promise<ChatSummary[]> {
    const answer = (await this.call("GET", "/api/v1/chats?limit=100", "Loading your chats")) as { chats?: ChatSummary[] };
    return Array.isArray(answer.chats) ? answer.chats : [];
  }

  async chat(id: number): Promise<ChatSummary> {
    return (await this.call("GET", `/api/v1/chats/${id}`, "Opening the chat")) as ChatSummary;
  }

  async direct(userId: number): Promise<ChatSummary> {
    return (await this.call("POST", "/api/v1/chats/direct", "Starting the chat", { user_id: userId })) as ChatSummary;
  }

  async group(title: string, memberIds: number[]): Promise<ChatSummary> {
    const body = { title, member_ids: memberIds };
    return (await this.call("POST", "/api/v1/chats/groups", "Starting the group chat", body)) as ChatSummary;
  }

  async send(chatId: number, text: string): Promise<StoredChatMessage> {
    return (await this.call("POST", `/api/v1/chats/${chatId}/messages`, "Sending", { text })) as StoredChatMessage;
  }

  async read(chatId: number, messageId: number): Promise<void> {
    await this.call("POST", `/api/v1/chats/${chatId}/read`, "Marking as read", { message_id: messageId });
  }

  async call_(chatId: number): Promise<{ conference_id: number; url: string }> {
    return (await this.call("POST", `/api/v1/chats/${chatId}/call`, "Starting the call")) as {
      conference_id: number;
      url: string;
    };
  }

  async search(q: string): Promise<MessagePage> {
    return (await this.call("GET", `/api/v1/chats/search?q=${encodeURIComponent(q)}&limit=30`, "The search")) as MessagePage;
  }

  async people(q: string): Promise<PersonFound[]> {
    const found = await this.call("GET", `/api/v1/directory/search?q=${encodeURIComponent(q)}&limit=10`, "The search");
    return Array.isArray(found) ? (found as PersonFound[]) : [];
  }

  private async call(method: string, url: string, what: string, body?: object): Promise<unknown> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = this.csrf;
    if (body) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        credentials: "same-origin",
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch {
      throw new ChatApiError(0, `${what} failed: the server could not be reached.`);
    }
    if (response.status === 204) return null;
    const payload: unknown = await response.json().catch(() => null);
    if (!response.ok) {
      const message = (payload as { error?: { message?: unknown } } | null)?.error?.message;
      throw new ChatApiError(
        response.status,
        typeof message === "string" && message ? message : `${what} failed (HTTP ${response.status}).`,
      );
    }
    return payload;
  }
}
