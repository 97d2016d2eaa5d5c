/** "My meetings": the list, and the week and month calendar views of the caller's occurrences. */

import { type Meeting, MeetingsApi } from "./api";
import { el } from "./dom";
import { addDays, dayInZone, formatInZone, startOfDay, weekStart } from "./time";

type View = "list" | "week" | "month";

export class MeetingsOverview {
  private view: View = "list";
  private anchor: string; // a day of the period shown ("YYYY-MM-DD" in the user's zone)

  constructor(
    private readonly api: MeetingsApi,
    private readonly zone: string,
    private readonly parts: {
      list: HTMLUListElement;
      calendar: HTMLElement;
      status: HTMLElement;
      nav: HTMLElement;
      title: HTMLElement;
    },
  ) {
    this.anchor = dayInZone(new Date(), zone);
  }

  start(): void {
    const bind = (id: string, action: () => void): void =>
      document.getElementById(id)?.addEventListener("click", action);
    bind("view-list", () => this.show("list"));
    bind("view-week", () => this.show("week"));
    bind("view-month", () => this.show("month"));
    bind("calendar-prev", () => this.move(-1));
    bind("calendar-next", () => this.move(1));
    const wanted = new URLSearchParams(window.location.search).get("view");
    this.show(wanted === "week" || wanted === "month" ? wanted : "list");
  }

  private move(step: number): void {
    if (this.view === "week") this.anchor = addDays(this.anchor, 7 * step);
    else {
      const [y, m] = this.anchor.split("-").map(Number);
      const month = new Date(Date.UTC(y, m - 1 + step, 1));
      this.anchor = month.toISOString().slice(0, 10);
    }
    void this.refresh();
  }

  show(view: View): void {
    this.view = view;
    for (const name of ["list", "week", "month"]) {
      document.getElementById(`view-${name}`)?.setAttribute("aria-pressed", String(name === view));
    }
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const { list, calendar, status, nav } = this.parts;
    status.textContent = "Loading…";
    try {
      if (this.view === "list") {
        nav.hidden = calendar.hidden = true;
        list.hidden = false;
        this.renderList(await this.api.mine());
      } else {
        nav.hidden = calendar.hidden = false;
        list.hidden = true;
        await this.renderCalendar();
      }
      status.textContent = "";
    } catch (e) {
      status.textContent = e instanceof Error ? e.message : String(e);
    }
  }

  private when(iso: string): string {
    const options: Intl.DateTimeFormatOptions = { weekday: "short", day: "numeric", month: "short" };
    return formatInZone(new Date(iso), this.zone, { ...options, hour: "2-digit", minute: "2-digit" });
  }

  private renderList(meetings: Meeting[]): void {
    const { list } = this.parts;
    list.replaceChildren();
    if (!meetings.length) {
      list.append(el("li", { class: "meta" }, "No meetings yet. Schedule one below."));
      return;
    }
    for (const m of meetings) {
      const next = m.occurrences[0];
      const when = next ? this.when(next.starts_at) : "over";
      const answer = m.is_owner ? "you organise it" : (m.my_answer ?? "").replace("_", " ");
      list.append(
        el(
          "li",
          { class: "meeting-row", "data-meeting-id": String(m.id) },
          el("a", { href: `/meetings/${m.id}` }, m.title),
          el("span", { class: "meta" }, `${when}${m.recurrence ? " · repeats" : ""} · ${answer}`),
        ),
      );
    }
  }

  private async renderCalendar(): Promise<void> {
    const { calendar, title } = this.parts;
    let first: string;
    let days: number;
    if (this.view === "week") {
      first = weekStart(this.anchor);
      days = 7;
      title.textContent = `Week of ${formatInZone(startOfDay(first, this.zone), this.zone, { dateStyle: "medium" })}`;
    } else {
      const monthStart = `${this.anchor.slice(0, 7)}-01`;
      first = weekStart(monthStart);
      const [y, m] = monthStart.split("-").map(Number);
      const nextMonth = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 10);
      days = 0;
      while (addDays(first, days) < nextMonth || days % 7 !== 0) days += 1;
      const month = startOfDay(monthStart, this.zone);
      title.textContent = formatInZone(month, this.zone, { month: "long", year: "numeric" });
    }
    const from = startOfDay(first, this.zone);
    const to = startOfDay(addDays(first, days), this.zone);
    const meetings = await this.api.between(from, to);
    const byDay = new Map<string, { start: Date; meeting: Meeting }[]>();
    for (const meeting of meetings) {
      for (const o of meeting.occurrences) {
        const start = new Date(o.starts_at);
        const day = dayInZone(start, this.zone);
        byDay.set(day, [...(byDay.get(day) ?? []), { start, meeting }]);
      }
    }
    const grid = el("div", { class: `calendar-grid calendar-${this.view}`, role: "grid" });
    const today = dayInZone(new Date(), this.zone);
    for (let n = 0; n < days; n += 1) {
      const day = addDays(first, n);
      const cell = el("div", { class: "calendar-day", role: "gridcell", "data-day": day });
      if (day === today) cell.classList.add("today");
      if (this.view === "month" && day.slice(0, 7) !== this.anchor.slice(0, 7)) cell.classList.add("other-month");
      const label = formatInZone(startOfDay(day, this.zone), this.zone, { weekday: "short", day: "numeric" });
      cell.append(el("div", { class: "calendar-date" }, label));
      for (const { start, meeting } of (byDay.get(day) ?? []).sort((a, b) => +a.start - +b.start)) {
        const time = formatInZone(start, this.zone, { hour: "2-digit", minute: "2-digit" });
        const id = String(meeting.id);
        const attrs = { class: "calendar-item", href: `/meetings/${id}`, "data-meeting-id": id };
        cell.append(el("a", attrs, el("span", { class: "calendar-time" }, time), ` ${meeting.title}`));
      }
      grid.append(cell);
    }
    calendar.replaceChildren(grid);
  }
}
