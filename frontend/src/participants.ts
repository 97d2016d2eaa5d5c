/**
 * The participants list (`#participants`): who is here, who raised a hand (shown first, as in Meet), and the
 * moderator's actions when I am a moderator.
 */

import type { ModerationAction, Participant } from "./protocol";

export interface ModerationActions {
  moderate(participant: Participant, action: ModerationAction): void;
  /** Someone else raised a hand (called on moderators' pages only). */
  handRaised?(participant: Participant): void;
}

export class ParticipantList {
  private readonly people = new Map<string, Participant>();
  private selfId: string | null = null;
  private moderator = false;

  constructor(
    private readonly list: HTMLUListElement,
    private readonly actions: ModerationActions,
  ) {}

  /** Replaces everything (after a `joined`). */
  reset(participants: Participant[], selfId: string, moderator: boolean): void {
    this.selfId = selfId;
    this.moderator = moderator;
    this.people.clear();
    this.list.replaceChildren();
    for (const p of participants) this.upsert(p);
  }

  get(id: string): Participant | undefined {
    return this.people.get(id);
  }

  upsert(participant: Participant): void {
    const before = this.people.get(participant.id);
    this.people.set(participant.id, participant);
    const item = this.render(participant);
    const existing = this.find(participant.id);
    if (existing && Boolean(before?.hand_raised) === Boolean(participant.hand_raised)) existing.replaceWith(item);
    else {
      existing?.remove();
      this.place(item, Boolean(participant.hand_raised));
    }
    if (participant.hand_raised && before && !before.hand_raised && this.moderator && participant.id !== this.selfId) {
      this.actions.handRaised?.(participant);
    }
  }

  /** Raised hands first, in the order they went up; then everyone else in the order they came. */
  private place(item: HTMLLIElement, raised: boolean): void {
    if (!raised) {
      this.list.append(item);
      return;
    }
    const firstDown = [...this.list.querySelectorAll<HTMLLIElement>("li[data-participant]")].find(
      (li) => li.dataset.hand !== "raised",
    );
    this.list.insertBefore(item, firstDown ?? null);
  }

  remove(id: string): void {
    this.people.delete(id);
    this.find(id)?.remove();
  }

  clear(): void {
    this.people.clear();
    this.list.replaceChildren();
  }

  private find(id: string): HTMLLIElement | undefined {
    for (const li of this.list.querySelectorAll<HTMLLIElement>("li[data-participant]")) {
      if (li.dataset.participant === id) return li;
    }
    return undefined;
  }

  private render(p: Participant): HTMLLIElement {
    const li = document.createElement("li");
    li.dataset.participant = p.id;
    li.dataset.role = p.role;
    li.className = "participant";
    if (p.hand_raised) li.dataset.hand = "raised";

    const name = document.createElement("span");
    name.className = "participant-name";
    name.textContent = p.id === this.selfId ? `${p.display_name} (you)` : p.display_name;

    const details = document.createElement("span");
    details.className = "participant-details";
    const tags: string[] = [];
    if (p.role === "moderator") tags.push("moderator");
    if (p.role === "listener") tags.push("listener");
    if (p.guest) tags.push("guest");
    details.textContent = tags.join(", ");

    const mic = document.createElement("span");
    mic.className = "participant-mic";
    if (p.role === "listener") {
      mic.dataset.state = "none"; // a listener sends no sound: neither "on" nor "off"
      mic.textContent = "listening";
    } else {
      mic.dataset.state = p.audio ? "on" : "off";
      mic.textContent = p.audio ? "mic on" : p.force_muted ? "muted by moderator" : "mic off";
    }

    li.append(name);
    if (p.hand_raised) {
      const hand = document.createElement("span");
      hand.className = "participant-hand";
      hand.setAttribute("role", "img");
      hand.setAttribute("aria-label", "raised a hand");
      hand.title = `${p.display_name} raised a hand`;
      hand.textContent = "\u270B";
      li.append(hand);
    }
    li.append(details, mic);

    if (this.moderator && p.id !== this.selfId) {
      const actions = document.createElement("span");
      actions.className = "participant-actions";
      const act = (action: ModerationAction) => () => this.actions.moderate(p, action);
      const who = p.display_name;
      if (p.role === "listener") {
        actions.append(button("btn-allow-speak", "Allow to speak", `Allow ${who} to speak`, act("make_speaker")));
      } else if (p.role === "speaker") {
        actions.append(button("btn-make-listener", "Make listener", `Make ${who} a listener`, act("make_listener")));
      }
      if (p.hand_raised) {
        actions.append(button("btn-lower-hand", "Lower hand", `Lower ${who}'s hand`, act("lower_hand")));
      }
      if (p.role !== "listener") actions.append(button("btn-mute", "Mute", `Mute ${who}`, act("mute")));
      actions.append(button("btn-remove", "Remove", `Remove ${who} from the conference`, act("remove")));
      li.append(actions);
    }
    return li;
  }
}

function button(className: string, text: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}
