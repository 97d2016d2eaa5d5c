/**
 * One stored chat message as the pages show it (the chats page and the conference's chat): sender, time, text
 * (only ever textContent), a call link posted in a chat ("/c/<slug>") as a link, and an attached file as a
 * download link with its name and size (chat_files.ts). Shared by chats/ and chat.ts.
 */

import { type ChatAttachment, renderAttachment } from "./chat_files";

export type { ChatAttachment };

/** A message as the API gives it (`MessageOut`, /api/v1/chats/...). */
export interface StoredChatMessage {
  id: number;
  chat: string;
  sender: string;
  sender_user_id: number | null;
  display_name: string;
  text: string;
  ts: string;
  attachment: ChatAttachment | null;
}

export interface MessagePage {
  messages: StoredChatMessage[];
  more: boolean;
}

const CALL_LINK = /(\/c\/[A-Za-z0-9_-]{4,32})(?![A-Za-z0-9_-])/;

/** The text as nodes: a conference page's path in it becomes a same-origin link, everything else stays text. */
export function textNodes(text: string): Node[] {
  const match = CALL_LINK.exec(text);
  if (!match) return [document.createTextNode(text)];
  const link = document.createElement("a");
  link.href = match[1];
  link.textContent = match[1];
  link.className = "chat-call-link";
  return [
    document.createTextNode(text.slice(0, match.index)),
    link,
    ...textNodes(text.slice(match.index + match[1].length)),
  ];
}

export interface MessageLike {
  from?: string;
  display_name: string;
  text: string;
  ts: string;
  attachment?: ChatAttachment | null;
  id?: number;
}

/** The element of one message (`.chat-message`, `data-id` when stored); `invite`: a guest's downloads carry it. */
export function messageElement(message: MessageLike, invite?: string): HTMLElement {
  const item = document.createElement("div");
  item.className = "chat-message";
  if (message.from !== undefined) item.dataset.from = message.from;
  if (message.id !== undefined) item.dataset.id = String(message.id);

  const header = document.createElement("div");
  header.className = "chat-header";
  const sender = document.createElement("span");
  sender.className = "chat-sender";
  sender.textContent = message.display_name;
  const time = document.createElement("time");
  time.className = "chat-time";
  const when = new Date(message.ts);
  if (!Number.isNaN(when.getTime())) {
    time.dateTime = when.toISOString();
    const today = new Date().toDateString() === when.toDateString();
    time.textContent = today
      ? when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : when.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }
  header.append(sender, time);
  item.append(header);
  if (message.text) {
    const text = document.createElement("div");
    text.className = "chat-text";
    text.append(...textNodes(message.text));
    item.append(text);
  }
  if (message.attachment) item.append(renderAttachment(message.attachment, invite ? { invite } : {}));
  return item;
}

/** Fetches one page of history (`before`: a message id, scrolling back). */
export async function fetchPage(url: string, before: number | null, limit = 50): Promise<MessagePage> {
  const params = new URLSearchParams({ limit: String(limit) });
  if (before !== null) params.set("before", String(before));
  const response = await fetch(`${url}?${params}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`The chat history could not be loaded (HTTP ${response.status}).`);
  const page = (await response.json()) as Partial<MessagePage>;
  return { messages: Array.isArray(page.messages) ? page.messages : [], more: page.more === true };
}
