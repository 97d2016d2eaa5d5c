/**
 * The chat panel: `#chat-log`, `#chat-input`, `#chat-send`. User text is only ever set as textContent.
 *
 * Messages that arrive while the chat cannot be read — hidden (the phone layout's toggled panel calls
 * `setVisible`, and a log that is not rendered or is off screen counts as hidden too) or scrolled away from
 * the newest message — are counted as unread; the count shows as a badge on the chat heading (and on any
 * element given to `attachBadge`) until the newest message is in view again.
 */

import { CHAT_MAX_LENGTH, type ChatMessage } from "./protocol";

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

  constructor(
    private readonly log: HTMLElement,
    form: HTMLFormElement,
    private readonly input: HTMLInputElement,
    private readonly sendButton: HTMLButtonElement,
    private readonly sendText: ChatSender,
  ) {
    input.maxLength = CHAT_MAX_LENGTH;
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

  /** Replaces the log with the server's recent history (after each `joined`); `selfId`'s messages are never unread. */
  reset(history: ChatMessage[], selfId?: string): void {
    if (selfId !== undefined) this.selfId = selfId;
    this.log.replaceChildren();
    for (const message of history) this.append(message);
    this.following = true;
    this.log.scrollTop = this.log.scrollHeight;
  }

  add(message: ChatMessage): void {
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
    const item = document.createElement("div");
    item.className = "chat-message";
    item.dataset.from = message.from;

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
      time.textContent = when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    }
    header.append(sender, time);

    const text = document.createElement("div");
    text.className = "chat-text";
    text.textContent = message.text;

    item.append(header, text);
    this.log.append(item);
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
