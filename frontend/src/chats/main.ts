/**
 * Entry point of the chats bundle (static/build/chats.js) on /chats: my chats (newest first, unread counts,
 * presence), the open chat (history scrolled back by pages, sending, read positions, a call from the chat),
 * search across my chats, starting direct and group chats, and new messages as they are stored (Server-Sent
 * Events from /api/v1/chats/events; the browser reconnects with the last message id it got).
 */

import "./chats.css";
import { attachButton } from "../chat_files";
import { messageElement, type StoredChatMessage } from "../chat_message";
import { ScrollBack } from "../chat_scrollback";
import { ChatApi, type ChatSummary } from "./api";
import { ChatListView, presenceText } from "./list";

const PRESENCE_REFRESH_MS = 15_000;

function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the chats page lacks #${id}`);
  return element;
}

class ChatsPage {
  private readonly api: ChatApi;
  private readonly selfId: number;
  private readonly list: ChatListView;
  private readonly log = byId("chats-log", HTMLDivElement);
  private readonly status = byId("chats-status", HTMLParagraphElement);
  private readonly scrollBack: ScrollBack;
  private chats: ChatSummary[] = [];
  private openId: number | null = null;
  private refreshTimer: number | undefined;
  private following = true;
  private attach: HTMLElement | null = null;

  constructor(root: HTMLElement) {
    this.api = new ChatApi(root.dataset.csrf ?? "");
    this.selfId = Number(root.dataset.userId ?? "0");
    this.list = new ChatListView(byId("chats-list", HTMLUListElement), this.selfId, (id) => void this.open(id));
    this.scrollBack = new ScrollBack(this.log, (m) => this.element(m));
    this.log.addEventListener(
      "scroll",
      () => {
        this.following = this.atEnd();
        if (this.following) this.markRead();
      },
      { passive: true },
    );
    byId("chats-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send();
    });
    byId("chats-call", HTMLButtonElement).addEventListener("click", () => void this.call());
    this.searchBox();
    this.newChat();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.markRead();
    });
  }

  async start(): Promise<void> {
    await this.refresh();
    const wanted = Number(new URLSearchParams(window.location.search).get("chat") ?? "0");
    if (wanted) await this.open(wanted);
    const newest = Math.max(0, ...this.chats.map((c) => c.last_message?.id ?? 0));
    const events = new EventSource(`/api/v1/chats/events?after=${newest}`);
    events.addEventListener("message", (event) => this.arrived(JSON.parse((event as MessageEvent<string>).data)));
    window.setInterval(() => void this.refresh(), PRESENCE_REFRESH_MS);
  }

  private async refresh(): Promise<void> {
    try {
      this.chats = await this.api.myChats();
      this.list.render(this.chats, this.openId);
    } catch (error) {
      this.say((error as Error).message);
    }
  }

  private refreshSoon(): void {
    window.clearTimeout(this.refreshTimer);
    this.refreshTimer = window.setTimeout(() => void this.refresh(), 150);
  }

  private async open(chatId: number): Promise<void> {
    let chat: ChatSummary;
    try {
      chat = await this.api.chat(chatId);
    } catch (error) {
      this.say((error as Error).message);
      return;
    }
    this.openId = chat.id;
    byId("chats-open", HTMLElement).hidden = false;
    byId("chats-open-title", HTMLHeadingElement).textContent = chat.title;
    byId("chats-open-members", HTMLSpanElement).textContent = chat.members
      .filter((m) => m.id !== this.selfId || chat.kind === "group")
      .map((m) => `${m.display_name} (${presenceText(m.presence)})`)
      .join(", ");
    const url = new URL(window.location.href);
    url.searchParams.set("chat", String(chat.id));
    window.history.replaceState(null, "", url);
    this.log.replaceChildren();
    this.attach?.remove();
    const input = byId("chats-input", HTMLInputElement);
    this.attach = attachButton({
      chat: `chat:${chat.id}`,
      csrf: this.api.csrfToken,
      text: () => input.value,
      onSent: () => {
        input.value = "";
      },
    });
    byId("chats-send", HTMLButtonElement).after(this.attach);
    try {
      const messages = await this.scrollBack.start(`/api/v1/chats/${chat.id}/messages`);
      if (this.openId !== chat.id) return;
      for (const message of messages) this.log.append(this.element(message));
    } catch (error) {
      this.say((error as Error).message);
    }
    this.following = true;
    this.log.scrollTop = this.log.scrollHeight;
    void this.scrollBack.maybeLoad();
    this.markRead();
    this.list.render(this.chats, this.openId);
    byId("chats-input", HTMLInputElement).focus();
  }

  private arrived(message: StoredChatMessage): void {
    if (this.openId !== null && message.chat === `chat:${this.openId}`) {
      this.show(message);
      this.markRead();
    }
    this.refreshSoon();
  }

  private show(message: StoredChatMessage): void {
    if (this.log.querySelector(`[data-id="${message.id}"]`)) return;
    this.log.append(this.element(message));
    if (this.following || message.sender_user_id === this.selfId) this.log.scrollTop = this.log.scrollHeight;
  }

  private markRead(): void {
    if (this.openId === null || document.visibilityState !== "visible" || !this.atEnd()) return;
    const last = this.log.lastElementChild as HTMLElement | null;
    const id = Number(last?.dataset.id ?? "0");
    const chat = this.chats.find((c) => c.id === this.openId);
    if (!id || (chat && chat.unread === 0 && (chat.last_message?.id ?? 0) <= id)) return;
    void this.api.read(this.openId, id).then(() => this.refreshSoon()).catch(() => undefined);
  }

  private async send(): Promise<void> {
    const input = byId("chats-input", HTMLInputElement);
    const button = byId("chats-send", HTMLButtonElement);
    const text = input.value.trim();
    if (!text || this.openId === null || button.disabled) return;
    button.disabled = true;
    try {
      this.show(await this.api.send(this.openId, text));
      input.value = "";
      this.refreshSoon();
    } catch (error) {
      this.say((error as Error).message);
    } finally {
      button.disabled = false;
      input.focus();
    }
  }

  private async call(): Promise<void> {
    if (this.openId === null) return;
    try {
      const started = await this.api.call_(this.openId);
      window.location.assign(started.url);
    } catch (error) {
      this.say((error as Error).message);
    }
  }

  private searchBox(): void {
    const input = byId("chats-search", HTMLInputElement);
    const results = byId("chats-search-results", HTMLUListElement);
    let timer: number | undefined;
    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(async () => {
        const q = input.value.trim();
        if (!q) {
          results.replaceChildren();
          return;
        }
        try {
          const page = await this.api.search(q);
          if (input.value.trim() !== q) return;
          results.replaceChildren(
            ...page.messages.reverse().map((m) => {
              const li = document.createElement("li");
              const button = document.createElement("button");
              button.type = "button";
              button.className = "link chats-search-hit";
              const chatId = Number(m.chat.split(":")[1]);
              const title = this.chats.find((c) => c.id === chatId)?.title ?? "";
              button.textContent = `${title} · ${m.display_name}: ${m.text}`.slice(0, 160);
              button.addEventListener("click", () => void this.open(chatId));
              li.append(button);
              return li;
            }),
          );
          if (!page.messages.length) this.say("No messages found.");
        } catch (error) {
          this.say((error as Error).message);
        }
      }, 300);
    });
  }

  private newChat(): void {
    const input = byId("chats-people", HTMLInputElement);
    const results = byId("chats-people-results", HTMLUListElement);
    const picked = new Set<number>();
    let timer: number | undefined;
    input.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(async () => {
        const q = input.value.trim();
        if (!q) return;
        try {
          const people = (await this.api.people(q)).filter((p) => p.id !== this.selfId);
          results.replaceChildren(
            ...people.map((person) => {
              const li = document.createElement("li");
              li.className = "contact";
              const pick = document.createElement("input");
              pick.type = "checkbox";
              pick.checked = picked.has(person.id);
              pick.setAttribute("aria-label", `Add ${person.display_name} to a group`);
              pick.addEventListener("change", () => (pick.checked ? picked.add(person.id) : picked.delete(person.id)));
              const name = document.createElement("span");
              name.textContent = `${person.display_name} (${presenceText(person.presence)})`;
              const chat = document.createElement("button");
              chat.type = "button";
              chat.className = "chats-start-direct";
              chat.textContent = "Chat";
              chat.addEventListener("click", async () => {
                try {
                  const opened = await this.api.direct(person.id);
                  await this.refresh();
                  await this.open(opened.id);
                } catch (error) {
                  this.say((error as Error).message);
                }
              });
              li.append(pick, name, chat);
              return li;
            }),
          );
        } catch (error) {
          this.say((error as Error).message);
        }
      }, 250);
    });
    byId("chats-group-create", HTMLButtonElement).addEventListener("click", async () => {
      const title = byId("chats-group-title", HTMLInputElement).value.trim();
      if (!title || !picked.size) {
        this.say("Tick the people of the group and give it a title.");
        return;
      }
      try {
        const group = await this.api.group(title, [...picked]);
        picked.clear();
        await this.refresh();
        await this.open(group.id);
      } catch (error) {
        this.say((error as Error).message);
      }
    });
  }

  private element(message: StoredChatMessage): HTMLElement {
    const item = messageElement(message);
    if (message.sender_user_id === this.selfId) item.classList.add("chat-mine");
    return item;
  }

  private atEnd(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
  }

  private say(text: string): void {
    this.status.textContent = text;
  }
}

function boot(): void {
  const root = document.getElementById("chats");
  if (root) void new ChatsPage(root).start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
