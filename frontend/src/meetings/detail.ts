/** One meeting's page: when, who (with answers), the caller's answer buttons, Join, and for the organiser: start
 * now, cancel one occurrence, cancel the meeting. */

import { ApiError, type Meeting, MeetingsApi } from "./api";
import { el } from "./dom";
import { formatInZone } from "./time";

const ANSWERS: [string, string][] = [
  ["accepted", "Accept"],
  ["tentative", "Maybe"],
  ["declined", "Decline"],
];

export class MeetingDetail {
  constructor(
    private readonly api: MeetingsApi,
    private readonly card: HTMLElement,
    private readonly zone: string,
    private readonly id: number,
  ) {}

  async start(): Promise<void> {
    this.card.hidden = false;
    await this.refresh();
  }

  private when(iso: string): string {
    return formatInZone(new Date(iso), this.zone, { dateStyle: "full", timeStyle: "short" });
  }

  async refresh(): Promise<void> {
    let meeting: Meeting;
    try {
      meeting = await this.api.get(this.id);
    } catch (e) {
      this.card.replaceChildren(el("p", { role: "alert" }, e instanceof Error ? e.message : String(e)));
      return;
    }
    const next = meeting.occurrences[0];
    const when = next ? `${this.when(next.starts_at)} · ${meeting.duration_minutes} minutes` : "This meeting is over.";
    const parts: (Node | string)[] = [
      el("h1", { id: "meeting-title" }, meeting.title),
      el("p", { id: "meeting-when" }, when),
    ];
    if (meeting.recurrence) parts.push(el("p", { class: "meta" }, `Repeats: ${meeting.recurrence}`));
    if (meeting.pin) parts.push(el("p", { class: "meta" }, `PIN: ${meeting.pin}`));
    const join = el("a", { id: "meeting-join", class: "button", href: meeting.join_path }, "Join");
    const state = meeting.open_for_joining
      ? "Open for joining now."
      : meeting.opens_at
        ? `Opens for joining ${this.when(meeting.opens_at)}.`
        : "";
    const openState = el("span", { class: "meta", id: "meeting-open-state" }, state);
    parts.push(el("p", { class: "join-line" }, join, " ", openState));
    if (!meeting.is_owner) parts.push(this.answerButtons(meeting));
    parts.push(this.invitees(meeting));
    if (meeting.is_owner) parts.push(this.ownerTools(meeting));
    parts.push(el("p", {}, el("a", { href: "/meetings" }, "All my meetings")));
    this.card.replaceChildren(...parts);
  }

  private answerButtons(meeting: Meeting): HTMLElement {
    const box = el("div", { class: "answer-buttons", role: "group", "aria-label": "Your answer" });
    for (const [value, label] of ANSWERS) {
      const pressed = String(meeting.my_answer === value);
      const button = el("button", { type: "button", id: `answer-${value}`, "aria-pressed": pressed }, label);
      const path = `/meetings/${meeting.id}/answer`;
      button.addEventListener("click", () => void this.act("POST", path, { answer: value }));
      box.append(button);
    }
    return box;
  }

  private invitees(meeting: Meeting): HTMLElement {
    const list = el("ul", { id: "meeting-invitees", class: "invitees" });
    for (const i of meeting.invitees) {
      const label = i.user_id === null ? `${i.email} (guest)` : i.display_name;
      const answer = el("span", { class: `answer answer-${i.answer}` }, i.answer.replace("_", " "));
      list.append(el("li", {}, label, " ", answer));
    }
    return el("section", {}, el("h2", {}, "Invited"), list);
  }

  private ownerTools(meeting: Meeting): HTMLElement {
    const tools = el("section", { class: "owner-tools" }, el("h2", {}, "Organiser"));
    if (meeting.guest_link) {
      tools.append(el("p", {}, "Guest link: ", el("code", { id: "meeting-guest-link" }, meeting.guest_link)));
    }
    const startNow = el("button", { type: "button", id: "meeting-start" }, "Open it now");
    startNow.addEventListener("click", () => void this.act("POST", `/meetings/${meeting.id}/start`));
    const cancel = el("button", { type: "button", id: "meeting-cancel", class: "danger" }, "Cancel the meeting");
    cancel.addEventListener("click", async () => {
      if (!window.confirm(`Cancel “${meeting.title}” for everyone?`)) return;
      await this.act("DELETE", `/meetings/${meeting.id}`);
      window.location.assign("/meetings");
    });
    tools.append(el("p", {}, startNow, " ", cancel));
    if (meeting.recurrence) void this.upcoming(meeting, tools);
    return tools;
  }

  private async upcoming(meeting: Meeting, tools: HTMLElement): Promise<void> {
    const from = new Date();
    const to = new Date(from.getTime() + 60 * 86400_000);
    const found = (await this.api.between(from, to).catch(() => [])).find((m) => m.id === meeting.id);
    const list = el("ul", { id: "meeting-occurrences", class: "occurrences" });
    for (const o of found?.occurrences.slice(0, 10) ?? []) {
      const drop = el("button", { type: "button", class: "link" }, "Cancel this one");
      const path = `/meetings/${meeting.id}/occurrences/${encodeURIComponent(o.recurrence_id)}`;
      drop.addEventListener("click", () => void this.act("DELETE", path));
      list.append(el("li", {}, this.when(o.starts_at), " ", drop));
    }
    tools.append(el("h3", {}, "Next occurrences"), list);
  }

  private async act(method: string, path: string, body?: unknown): Promise<void> {
    try {
      await this.api.call(method, path, body);
      await this.refresh();
    } catch (e) {
      const message = e instanceof ApiError ? e.message : String(e);
      this.card.prepend(el("p", { class: "error", role: "alert" }, message));
    }
  }
}
