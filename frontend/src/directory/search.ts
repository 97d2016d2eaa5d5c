/** The address book's instant search: results as you type, live presence of the people shown, and "Call". */

import { ApiError, callContact, isAbort, searchContacts, type Contact } from "./api";
import { presenceBadge, showPresence } from "./presence";
import { Debouncer, LatestRequest } from "./requests";

const DEBOUNCE_MS = 150;
const PRESENCE_REFRESH_MS = 4000;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = "", text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text) node.textContent = text;
  return node;
}

function problem(error: unknown): string {
  return error instanceof ApiError ? error.message : `Something went wrong: ${String(error)}`;
}

function found(count: number): string {
  if (count === 0) return "No one found.";
  return count === 1 ? "1 person found." : `${count} people found.`;
}

export interface SearchElements {
  input: HTMLInputElement;
  list: HTMLUListElement;
  status: HTMLElement;
}

/** A call was placed: follow it (ringing, then answered / declined / unanswered). Without one: open the call. */
export type CallPlaced = (contact: Contact, call: { conference_id: number; url: string }) => void;

export class SearchView {
  private readonly search = new LatestRequest();
  private readonly refresh = new LatestRequest();
  private readonly debounce: Debouncer;
  private shownQuery = "";
  private shownIds: number[] = [];

  constructor(
    private readonly page: SearchElements,
    private readonly csrf: string,
    private readonly placed: CallPlaced = (_contact, call) => window.location.assign(call.url),
  ) {
    this.debounce = new Debouncer(DEBOUNCE_MS, () => void this.run());
  }

  start(): void {
    this.page.input.addEventListener("input", () => this.changed());
    window.setInterval(() => void this.refreshPresence(), PRESENCE_REFRESH_MS);
    if (this.page.input.value.trim()) void this.run(); // text kept by the browser on "back"
  }

  private changed(): void {
    if (this.page.input.value.trim()) {
      this.debounce.schedule();
      return;
    }
    this.debounce.cancel();
    this.search.cancel();
    this.refresh.cancel();
    this.show([], "");
    this.say("");
  }

  private async run(): Promise<void> {
    const query = this.page.input.value.trim();
    if (!query) return;
    this.refresh.cancel();
    const signal = this.search.start();
    this.page.list.setAttribute("aria-busy", "true");
    try {
      const contacts = await searchContacts(query, signal);
      if (!this.search.isCurrent(signal)) return;
      this.show(contacts, query);
      this.say(found(contacts.length));
    } catch (error) {
      if (isAbort(error) || !this.search.isCurrent(signal)) return;
      this.say(problem(error), true);
    } finally {
      this.search.finish(signal);
      if (!this.search.busy) this.page.list.removeAttribute("aria-busy");
    }
  }

  /** The same search again, quietly: presence of the people shown changes in place. */
  private async refreshPresence(): Promise<void> {
    const query = this.shownQuery;
    if (!query || this.search.busy || this.refresh.busy || document.visibilityState === "hidden") return;
    const signal = this.refresh.start();
    try {
      const contacts = await searchContacts(query, signal);
      if (!this.refresh.isCurrent(signal) || query !== this.shownQuery) return;
      const ids = contacts.map((c) => c.id);
      if (ids.join() !== this.shownIds.join()) {
        this.show(contacts, query); // the people found changed (someone joined the directory, or left it)
        this.say(found(contacts.length));
        return;
      }
      for (const contact of contacts) {
        const badge = this.page.list.querySelector<HTMLElement>(`li[data-id="${contact.id}"] .presence-badge`);
        if (badge) showPresence(badge, contact.presence);
      }
    } catch {
      // Keep what is shown; the next refresh tries again.
    } finally {
      this.refresh.finish(signal);
    }
  }

  private show(contacts: Contact[], query: string): void {
    this.shownQuery = query;
    this.shownIds = contacts.map((c) => c.id);
    this.page.list.replaceChildren(...contacts.map((c) => this.row(c)));
  }

  private row(contact: Contact): HTMLLIElement {
    const li = el("li", "contact");
    li.dataset.id = String(contact.id);
    li.dataset.login = contact.login;
    const who = el("div", "contact-who");
    who.append(el("strong", "contact-name", contact.display_name));
    const role = [contact.title, contact.department].filter(Boolean).join(" · ");
    if (role) who.append(" ", el("span", "meta", role));
    const details = [contact.login, contact.email, contact.phone].filter(Boolean).join(" · ");
    if (details) who.append(el("div", "contact-details", details));
    const call = el("button", "call", "Call");
    call.type = "button";
    call.setAttribute("aria-label", `Call ${contact.display_name}`);
    call.addEventListener("click", () => void this.call(contact, call));
    li.append(presenceBadge(contact.presence), who, call);
    return li;
  }

  private async call(contact: Contact, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    this.say(`Calling ${contact.display_name}…`);
    try {
      const call = await callContact(contact.id, this.csrf);
      button.disabled = false;
      this.say("");
      this.placed(contact, call);
    } catch (error) {
      button.disabled = false;
      this.say(problem(error), true);
    }
  }

  private say(text: string, isError = false): void {
    this.page.status.textContent = text;
    this.page.status.classList.toggle("error", isError);
  }
}
