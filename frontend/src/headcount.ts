/**
 * Who is here, at a glance: the participant count in the call's header ("3 people"), and while I am alone
 * a "You are the only one here" message on the stage offering the invite link, as Meet and Zoom do.
 */

import { InviteLink } from "./invite";

/** "1 person", "2 people". */
export function peopleText(count: number): string {
  return count === 1 ? "1 person" : `${count} people`;
}

export class Headcount {
  readonly count: HTMLSpanElement;
  readonly alone: HTMLDivElement;
  private readonly ids = new Set<string>();
  private joined = false;

  /** `header` gets the count; the alone message goes before `stageContent` (the grid). */
  constructor(header: HTMLElement, before: Element | null, stageContent: HTMLElement, inviteUrl: string) {
    this.count = document.createElement("span");
    this.count.id = "participant-count";
    this.count.className = "participant-count";
    this.count.hidden = true;
    header.insertBefore(this.count, before);

    this.alone = document.createElement("div");
    this.alone.id = "alone";
    this.alone.className = "alone";
    this.alone.setAttribute("role", "status");
    const text = document.createElement("p");
    text.textContent = "You are the only one here";
    const hint = document.createElement("p");
    hint.className = "alone-hint";
    hint.textContent = "Share this link with the people you want to meet:";
    const link = document.createElement("code");
    link.className = "alone-link";
    link.textContent = inviteUrl;
    this.alone.append(text, hint, link, new InviteLink(inviteUrl).element);
    this.alone.hidden = true;
    stageContent.before(this.alone);
  }

  /** Everyone in the room (me included) after a `joined`. */
  reset(ids: string[]): void {
    this.ids.clear();
    for (const id of ids) this.ids.add(id);
    this.joined = true;
    this.render();
  }

  add(id: string): void {
    this.ids.add(id);
    this.render();
  }

  remove(id: string): void {
    this.ids.delete(id);
    this.render();
  }

  /** Disconnected or over: the count is unknown until the next `joined`. */
  clear(): void {
    this.joined = false;
    this.render();
  }

  private render(): void {
    const n = this.ids.size;
    this.count.hidden = !this.joined;
    this.count.textContent = peopleText(n);
    this.count.setAttribute("aria-label", `${peopleText(n)} in the call`);
    this.alone.hidden = !this.joined || n > 1;
  }
}
