/** The scheduling form: title, start in a time zone, duration, recurrence (daily, weekly on chosen days, monthly,
 * until a date), invitees (people from the address book, directory groups, e-mail addresses) and options. */

import { type Meeting, MeetingsApi } from "./api";
import { el } from "./dom";
import { wallTimeToUtc } from "./time";

interface Person {
  id: number;
  display_name: string;
  login: string;
}

export class ScheduleForm {
  private readonly people = new Map<number, string>();
  private readonly groups = new Map<number, string>();

  constructor(
    private readonly api: MeetingsApi,
    private readonly form: HTMLFormElement,
    private readonly error: HTMLElement,
  ) {}

  start(): void {
    const repeat = this.form.elements.namedItem("repeat") as HTMLSelectElement;
    const weekdays = document.getElementById("weekdays");
    const until = document.getElementById("until-label");
    repeat.addEventListener("change", () => {
      if (weekdays) weekdays.hidden = repeat.value !== "WEEKLY";
      if (until) until.hidden = repeat.value === "";
    });
    this.search("invite-search", "invite-suggestions", async (q) => {
      const found = await this.api.call<Person[]>("GET", `/directory/search?q=${encodeURIComponent(q)}&limit=8`);
      return found.map((p) => ({
        id: p.id,
        label: `${p.display_name} (${p.login})`,
        pick: () => this.add(p.id, p.display_name, false),
      }));
    });
    this.search("group-search", "group-suggestions", async (q) => {
      type Group = { id: number; name: string };
      const found = await this.api.call<Group[]>("GET", `/meetings/groups?q=${encodeURIComponent(q)}`);
      return found.map((g) => ({ id: g.id, label: `Group ${g.name}`, pick: () => this.add(g.id, g.name, true) }));
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.submit();
    });
  }

  private search(
    inputId: string,
    listId: string,
    find: (q: string) => Promise<{ id: number; label: string; pick: () => void }[]>,
  ): void {
    const input = document.getElementById(inputId) as HTMLInputElement | null;
    const list = document.getElementById(listId);
    if (!input || !list) return;
    let serial = 0;
    input.addEventListener("input", async () => {
      const mine = ++serial;
      const q = input.value.trim();
      if (q.length < 2) {
        list.replaceChildren();
        return;
      }
      const found = await find(q).catch(() => []);
      if (mine !== serial) return;
      list.replaceChildren(
        ...found.map((f) => {
          const button = el("button", { type: "button", class: "link", "data-id": String(f.id) }, f.label);
          button.addEventListener("click", () => {
            f.pick();
            input.value = "";
            list.replaceChildren();
          });
          return el("li", {}, button);
        }),
      );
    });
  }

  private add(id: number, name: string, group: boolean): void {
    (group ? this.groups : this.people).set(id, name);
    this.renderChosen();
  }

  private renderChosen(): void {
    const chosen = document.getElementById("invite-chosen");
    if (!chosen) return;
    const item = (id: number, name: string, group: boolean): HTMLElement => {
      const remove = el("button", { type: "button", class: "link", "aria-label": `Remove ${name}` }, "×");
      remove.addEventListener("click", () => {
        (group ? this.groups : this.people).delete(id);
        this.renderChosen();
      });
      return el("li", { class: "chosen-person" }, group ? `Group ${name} ` : `${name} `, remove);
    };
    chosen.replaceChildren(
      ...[...this.people].map(([id, name]) => item(id, name, false)),
      ...[...this.groups].map(([id, name]) => item(id, name, true)),
    );
  }

  /** The body of POST /api/v1/meetings from the form (throws with a message for people). */
  body(): Record<string, unknown> {
    const data = new FormData(this.form);
    const text = (name: string): string => String(data.get(name) ?? "").trim();
    const zone = text("time_zone");
    const startsAt = wallTimeToUtc(text("start"), zone);
    const repeat = text("repeat");
    let recurrence: string | null = null;
    if (repeat) {
      const parts = [`FREQ=${repeat}`];
      const days = data.getAll("byday").map(String);
      if (repeat === "WEEKLY" && days.length) parts.push(`BYDAY=${days.join(",")}`);
      if (text("until")) parts.push(`UNTIL=${text("until").replaceAll("-", "")}`);
      recurrence = parts.join(";");
    }
    const emails = text("emails")
      .split(/[,;\s]+/)
      .filter(Boolean);
    return {
      title: text("title"),
      starts_at: startsAt.toISOString(),
      duration_minutes: Number(text("duration")),
      time_zone: zone,
      recurrence,
      invite_users: [...this.people.keys()],
      invite_groups: [...this.groups.keys()],
      invite_emails: emails,
      guests_allowed: data.get("guests_allowed") === "true",
      moderated: data.get("moderated") === "true",
      pin: text("pin") || null,
    };
  }

  private async submit(): Promise<void> {
    this.error.hidden = true;
    try {
      const created = await this.api.call<Meeting>("POST", "/meetings", this.body());
      window.location.assign(`/meetings/${created.id}`);
    } catch (e) {
      this.error.textContent = e instanceof Error ? e.message : String(e);
      this.error.hidden = false;
    }
  }
}
