/** The chat panel: `#chat-log`, `#chat-input`, `#chat-send`. User text is only ever set as textContent. */

import { CHAT_MAX_LENGTH, type ChatMessage } from "./protocol";

export type ChatSender = (text: string) => Promise<void>;

export class ChatView {
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
  }

  /** Replaces the log with the server's recent history (after each `joined`). */
  reset(history: ChatMessage[]): void {
    this.log.replaceChildren();
    for (const message of history) this.add(message);
  }

  add(message: ChatMessage): void {
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
    const atBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 40;
    this.log.append(item);
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
  }

  setEnabled(enabled: boolean): void {
    this.input.disabled = !enabled;
    this.sendButton.disabled = !enabled;
  }

  private async submit(): Promise<void> {
    const text = this.input.value.trim();
    if (!text || this.sendButton.disabled) return;
    this.sendButton.disabled = true;
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
