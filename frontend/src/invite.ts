/**
 * "Copy invite link": puts the conference's link on the clipboard — the guests' link (`/join/<code>`) where
 * guests may come, else the conference page (`/c/<slug>`); the page is given it as `data-invite-url`. Where
 * the clipboard is refused (an insecure page, a browser without permission) the link is shown selected
 * in a field, so it can be copied by hand.
 */

import { ICONS, svgIcon } from "./icons";

const FEEDBACK_MS = 2500;

/** The link to give to others: the page's `data-invite-url`, else this page's own address. */
export function inviteUrl(root: HTMLElement, location: Location = window.location): string {
  const given = root.dataset.inviteUrl;
  if (given) return new URL(given, location.href).href;
  return location.origin + location.pathname;
}

/** Copies `text`: the async clipboard API, else the older `execCommand("copy")`; false when both fail. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (error) {
    console.warn("clipboard refused", error);
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "visually-hidden";
  document.body.append(area);
  area.select();
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  } finally {
    area.remove();
  }
}

/** A "Copy invite link" button with its "Link copied" feedback, and the link shown when copying fails. */
export class InviteLink {
  readonly element: HTMLDivElement;
  readonly button: HTMLButtonElement;
  private readonly feedback: HTMLSpanElement;
  private readonly manual: HTMLInputElement;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    readonly url: string,
    label = "Copy invite link",
  ) {
    this.element = document.createElement("div");
    this.element.className = "invite-link";
    this.button = document.createElement("button");
    this.button.type = "button";
    this.button.className = "btn-invite";
    this.button.title = `Copy the link to this conference: ${url}`;
    const text = document.createElement("span");
    text.textContent = label;
    this.button.append(svgIcon(ICONS.link), text);
    this.button.addEventListener("click", () => void this.copy());
    this.feedback = document.createElement("span");
    this.feedback.className = "invite-feedback";
    this.feedback.setAttribute("role", "status");
    this.manual = document.createElement("input");
    this.manual.type = "text";
    this.manual.readOnly = true;
    this.manual.className = "invite-manual";
    this.manual.value = url;
    this.manual.setAttribute("aria-label", "Invite link");
    this.manual.hidden = true;
    this.element.append(this.button, this.feedback, this.manual);
  }

  async copy(): Promise<void> {
    const copied = await copyText(this.url);
    if (copied) {
      this.manual.hidden = true;
      this.say("Link copied");
    } else {
      this.manual.hidden = false;
      this.manual.focus();
      this.manual.select();
      this.say("Copy the link from the field");
    }
  }

  private say(message: string): void {
    this.feedback.textContent = message;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.feedback.textContent = "";
      this.timer = null;
    }, FEEDBACK_MS);
  }
}
