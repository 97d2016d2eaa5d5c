/**
 * The chat panel: `#chat-log`, `#chat-input`, `#chat-send`. User text is only ever set as textContent.
 *
 * Messages that arrive while the chat cannot be read — hidden (the phone layout's toggled panel calls
 * `setVisible`, and a log that is not rendered or is off screen counts as hidden too) or scrolled away from
 * the newest message — are counted as unread; the count shows as a badge on the chat heading (and on any
 * element given to `attachBadge`) until the newest message is in view again.
 */

import { attachButton } from "./chat_files";
import { messageElement, type StoredChatMessage } from "./chat_message";
import { ScrollBack } from "./chat_scrollback";
import { CHAT_MAX_LENGTH, type ChatMessage } from "./protocol";

/**
 * Where the conference's stored chat history is (base keeps it, so it outlives the app server's memory), from the
 * page's join URL: a user's `/api/v1/conferences/{id}/join` or a guest's `/api/v1/invites/{code}/join`.
 */
export function historyUrl(joinUrl: string): string | null {
  const user = /^\/api\/v1\/conferences\/(\d+)\/join$/.exec(joinUrl);
  if (user) return `/api/v1/chats/conferences/${user[1]}/messages`;
  const guest = /^\/api\/v1\/invites\/([^/?#]+)\/join$/.exec(joinUrl);
  if (guest) return `/api/v1/chats/invites/${guest[1]}/messages`;
  return null;
}

/** A guest's invite code, from his join URL (his file uploads and downloads carry it). */
export function inviteCode(joinUrl: string): string | undefined {
  return /^\/api\/v1\/invites\/([^/?#]+)\/join$/.exec(joinUrl)?.[1];
}

/** The same message, seen live over signaling and again in the stored history. */
function sameMessage(a: ChatMessage, b: StoredChatMessage): boolean {
  return a.text === b.text && a.display_name === b.display_name && Date.parse(a.ts) === Date.parse(b.ts);
}

export type ChatSender = (text: string) => Promise<void>;

/** The badge's text and accessible name for `count` unread messages ("" when none). */
export function unreadLabel(count: number): { text: string; label: string } {
  if (count <= 0) return { text: "", label: "" };
  return { text: count > 99 ? "99+" : String(count), label: count === 1 ? "1 unread message" : `${count} unread messages` };
}

/** Within this many pixels of the end, the log counts as showing its newest message. */
const AT_END_PX = 40;

export class ChatView {
  private selfId: string | null = null;
  private unread = 0;
  /** What the page says (the phone layout hides the panel); the log's own visibility is checked besides. */
  private shown = true;
  private onScreen = true;
  /** The reader was at the newest message when last seen scrolling: new ones keep the log at its end. */
  private following = true;
  private readonly badges: HTMLElement[] = [];
  private readonly unreadListeners: ((count: number) => void)[] = [];
  /** Older pages of the stored history as the reader scrolls up. */
  private readonly scrollBack: ScrollBack;
  private readonly historyUrl: string | null;
  /** Messages said since the last reset, to merge with the stored history when it arrives. */
  private live: ChatMessage[] = [];
  private readonly joinUrl: string;
  private readonly csrf: string;
  private attach: HTMLElement | null = null;
  /** Messages the base role stores besides what the room says: files posted to the conference's chat. */
  private events: EventSource | null = null;

  constructor(
    private readonly log: HTMLElement,
    form: HTMLFormElement,
    private readonly input: HTMLInputElement,
    private readonly sendButton: HTMLButtonElement,
    private readonly sendText: ChatSender,
  ) {
    input.maxLength = CHAT_MAX_LENGTH;
    this.scrollBack = new ScrollBack(log, (message) =>
      messageElement({ ...message, from: message.sender }, inviteCode(this.joinUrl)),
    );
    const app = document.getElementById("veche-app");
    this.joinUrl = app?.dataset.joinUrl ?? "";
    this.csrf = app?.dataset.csrf ?? "";
    this.historyUrl = historyUrl(this.joinUrl);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
    const heading = log.closest("section")?.querySelector("h2");
    if (heading) this.attachBadge(heading);
    log.addEventListener(
      "scroll",
      () => {
        if (this.log.clientHeight > 0) this.following = this.atEnd();
        this.markReadIfSeen();
      },
      { passive: true },
    );
    if (typeof IntersectionObserver !== "undefined") {
      new IntersectionObserver((entries) => {
        const entry = entries[entries.length - 1];
        if (!entry) return;
        this.onScreen = entry.isIntersecting;
        this.showing();
      }).observe(log);
    }
  }

  /** Replaces the log with the server's recent history (after each `joined`); `selfId`'s messages are never unread.
   *  Then the stored history replaces it (older pages as one scrolls up), with what was said meanwhile. */
  reset(history: ChatMessage[], selfId?: string, conferenceId?: number): void {
    if (selfId !== undefined) this.selfId = selfId;
    if (conferenceId !== undefined && !this.attach) this.addAttachButton(conferenceId);
    this.log.replaceChildren();
    for (const message of history) this.append(message);
    this.following = true;
    this.log.scrollTop = this.log.scrollHeight;
    this.live = [];
    if (this.historyUrl) void this.loadStored(this.historyUrl);
  }

  private async loadStored(url: string): Promise<void> {
    let stored: StoredChatMessage[];
    try {
      stored = await this.scrollBack.start(url);
    } catch {
      return; // the room's own recent history stays on screen
    }
    const unseen = this.live.filter((m) => !stored.some((s) => sameMessage(m, s)));
    this.log.replaceChildren();
    const invite = inviteCode(this.joinUrl);
    for (const message of stored) this.log.append(messageElement({ ...message, from: message.sender }, invite));
    for (const message of unseen) this.append(message);
    this.log.dataset.historyComplete = this.scrollBack.hasMore ? "0" : "1";
    if (this.following) this.log.scrollTop = this.log.scrollHeight;
    void this.scrollBack.maybeLoad();
    this.followStored(url.replace(/\/messages$/, "/events"), stored.length ? stored[stored.length - 1].id : 0);
  }

  /** Files posted to the conference's chat arrive from the base role (the room's text comes over signaling). */
  private followStored(url: string, after: number): void {
    this.events?.close();
    if (typeof EventSource === "undefined") return;
    this.events = new EventSource(`${url}?after=${after}`);
    this.events.addEventListener("message", (event) => {
      const message = JSON.parse((event as MessageEvent<string>).data) as StoredChatMessage;
      if (!message.attachment || this.log.querySelector(`[data-id="${message.id}"]`)) return;
      this.log.append(messageElement({ ...message, from: message.sender }, inviteCode(this.joinUrl)));
      if (this.following) this.log.scrollTop = this.log.scrollHeight;
      if (!this.isSeen()) this.setUnread(this.unread + 1);
    });
  }

  private addAttachButton(conferenceId: number): void {
    const invite = inviteCode(this.joinUrl);
    this.attach = attachButton({
      chat: `conference:${conferenceId}`,
      csrf: this.csrf,
      ...(invite ? { invite } : {}),
      text: () => this.input.value,
      onSent: () => {
        this.input.value = "";
      },
    });
    this.sendButton.after(this.attach);
  }

  add(message: ChatMessage): void {
    this.live.push(message);
    this.append(message);
    if (this.following) this.log.scrollTop = this.log.scrollHeight;
    if (!this.isSeen() && message.from !== this.selfId) this.setUnread(this.unread + 1);
  }

  /** The page shows or hides the chat (the phone layout's chat panel). */
  setVisible(visible: boolean): void {
    this.shown = visible;
    this.showing();
  }

  get unreadCount(): number {
    return this.unread;
  }

  /** Shows the unread count in `host` too (e.g. the button that opens the chat panel). */
  attachBadge(host: HTMLElement): void {
    const badge = document.createElement("span");
    badge.className = "chat-unread";
    badge.setAttribute("role", "status");
    host.append(badge);
    this.badges.push(badge);
    this.renderBadges();
  }

  onUnread(listener: (count: number) => void): void {
    this.unreadListeners.push(listener);
  }

  setEnabled(enabled: boolean): void {
    this.input.disabled = !enabled;
    this.sendButton.disabled = !enabled;
  }

  private append(message: ChatMessage): void {
    this.log.append(messageElement(message));
  }

  /** The newest message can be read now: the chat is shown, on screen, and scrolled to its end. */
  private isSeen(): boolean {
    return this.shown && this.onScreen && this.log.clientHeight > 0 && this.atEnd();
  }

  private atEnd(): boolean {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < AT_END_PX;
  }

  /** The chat may have come into view: a reader who followed the newest message sees it again. */
  private showing(): void {
    if (this.shown && this.onScreen && this.following) this.log.scrollTop = this.log.scrollHeight;
    this.markReadIfSeen();
  }

  private markReadIfSeen(): void {
    if (this.unread > 0 && this.isSeen()) this.setUnread(0);
  }

  private setUnread(count: number): void {
    this.unread = count;
    this.renderBadges();
    for (const listener of this.unreadListeners) listener(count);
  }

  private renderBadges(): void {
    const { text, label } = unreadLabel(this.unread);
    for (const badge of this.badges) {
      badge.textContent = text;
      badge.hidden = this.unread === 0;
      if (label) badge.setAttribute("aria-label", label);
      else badge.removeAttribute("aria-label");
    }
  }

  private async submit(): Promise<void> {
    const text = this.input.value.trim();
    if (!text || this.sendButton.disabled) return;
    this.sendButton.disabled = true;
    this.following = true; // one's own message brings the log to its end, as in every chat
    try {
      await this.sendText(text);
      this.input.value = "";
    } catch {
      // The text stays in the input so it can be sent again; the sender already told the user why.
    } finally {
      if (!this.input.disabled) this.sendButton.disabled = false;
      this.input.focus();
    }
  }
}
