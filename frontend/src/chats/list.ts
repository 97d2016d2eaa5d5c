/** The list of my chats on /chats: newest first, each with its unread count, presence (direct) and last message. */

import type { ChatSummary } from "./api";

const PRESENCE_TEXT: Record<string, string> = { offline: "offline", online: "online", in_conference: "in a conference" };

export function presenceText(presence: string): string {
  return PRESENCE_TEXT[presence] ?? presence;
}

/** The other member of a direct chat (or null for a group chat). */
export function otherMember(chat: ChatSummary, selfId: number): ChatSummary["members"][number] | null {
  if (chat.kind !== "direct") return null;
  return chat.members.find((m) => m.id !== selfId) ?? null;
}

export class ChatListView {
  constructor(
    private readonly list: HTMLUListElement,
    private readonly selfId: number,
    private readonly open: (chatId: number) => void,
  ) {}

  render(chats: ChatSummary[], openId: number | null): void {
    const items = chats.map((chat) => this.item(chat, chat.id === openId));
    this.list.replaceChildren(...items);
    if (!chats.length) {
      const empty = document.createElement("li");
      empty.className = "meta";
      empty.textContent = "No chats yet: start one with “New chat”.";
      this.list.append(empty);
    }
  }

  private item(chat: ChatSummary, open: boolean): HTMLLIElement {
    const li = document.createElement("li");
    li.className = "chats-item";
    li.dataset.chatId = String(chat.id);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chats-item-open link";
    if (open) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => this.open(chat.id));

    const title = document.createElement("span");
    title.className = "chats-item-title";
    title.textContent = chat.title;
    button.append(title);

    const other = otherMember(chat, this.selfId);
    if (other) {
      const presence = document.createElement("span");
      presence.className = "chats-item-presence presence-badge";
      presence.dataset.presence = other.presence;
      const dot = document.createElement("span");
      dot.className = `presence presence-${other.presence}`;
      dot.setAttribute("aria-hidden", "true");
      const text = document.createElement("span");
      text.className = "presence-text";
      text.textContent = presenceText(other.presence);
      presence.append(dot, text);
      button.append(presence);
    }

    const unread = document.createElement("span");
    unread.className = "chats-unread";
    unread.hidden = chat.unread === 0;
    unread.textContent = chat.unread > 99 ? "99+" : String(chat.unread);
    unread.setAttribute("aria-label", chat.unread === 1 ? "1 unread message" : `${chat.unread} unread messages`);
    button.append(unread);

    if (chat.last_message) {
      const preview = document.createElement("span");
      preview.className = "chats-item-preview meta";
      const text = chat.last_message.text || (chat.last_message.attachment ? `📎 ${chat.last_message.attachment.name}` : "");
      preview.textContent = `${chat.last_message.display_name}: ${text}`.slice(0, 120);
      button.append(preview);
    }
    li.append(button);
    return li;
  }
}
