/** The participants list (`#participants`), with moderator actions when I am a moderator. */

import type { Participant } from "./protocol";

export interface ModerationActions {
  mute(participant: Participant): void;
  remove(participant: Participant): void;
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
    this.people.set(participant.id, participant);
    const item = this.render(participant);
    const existing = this.find(participant.id);
    if (existing) existing.replaceWith(item);
    else this.list.append(item);
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
    li.className = "participant";

    const name = document.createElement("span");
    name.className = "participant-name";
    name.textContent = p.id === this.selfId ? `${p.display_name} (you)` : p.display_name;

    const details = document.createElement("span");
    details.className = "participant-details";
    const tags: string[] = [];
    if (p.role === "moderator") tags.push("moderator");
    if (p.guest) tags.push("guest");
    details.textContent = tags.join(", ");

    const mic = document.createElement("span");
    mic.className = "participant-mic";
    mic.dataset.state = p.audio ? "on" : "off";
    mic.textContent = p.audio ? "mic on" : p.force_muted ? "muted by moderator" : "mic off";

    li.append(name, details, mic);

    if (this.moderator && p.id !== this.selfId) {
      const actions = document.createElement("span");
      actions.className = "participant-actions";
      const mute = button("btn-mute", "Mute", `Mute ${p.display_name}`, () => this.actions.mute(p));
      const remove = button("btn-remove", "Remove", `Remove ${p.display_name} from the conference`, () =>
        this.actions.remove(p),
      );
      actions.append(mute, remove);
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
