/**
 * The admin console's directory page: each LDAP / AD source's sync state, polled each second from
 * /api/v1/directory/sources (progress of a running sync, last full sync and counts, whether changes are
 * followed, the last error), and "Sync now" (POST /api/v1/directory/sources/{name}/sync).
 */

export interface Source {
  name: string;
  kind: string;
  urls: string[];
  state: "never synced" | "syncing" | "complete" | "failed" | "interrupted";
  phase: "connecting" | "people" | "indexing" | "groups" | "finishing" | null;
  trigger: string | null;
  people_done: number;
  groups_done: number;
  expected_people: number;
  started_at: string | null;
  ended_at: string | null;
  last_full_sync_at: string | null;
  people: number;
  disabled: number;
  groups: number;
  following_changes: boolean;
  following_seen_at: string | null;
  last_change_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

const POLL_MS = 1000;
/** The `kind` of a source in words (config/directory.py DirectoryKind). */
const KIND_NAMES: Record<string, string> = { openldap: "OpenLDAP", ad: "Active Directory" };
const COLUMNS = ["name", "kind", "urls", "state", "last-sync", "people", "disabled", "groups", "following", "error"];

function n(value: number): string {
  return value.toLocaleString("en-US");
}

function when(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function clock(iso: string | null): string {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

/** The state in words, and the share done for the progress bar (null: no bar). */
export function describeState(s: Source): { text: string; share: number | null } {
  if (s.state !== "syncing") {
    const words: Record<string, string> = {
      "never synced": "never synced",
      complete: "complete",
      failed: "failed",
      interrupted: "interrupted: the next sync resumes it",
    };
    return { text: words[s.state] ?? s.state, share: null };
  }
  switch (s.phase) {
    case "people":
      if (s.expected_people > 0) {
        return {
          text: `syncing: people ${n(s.people_done)} of ~${n(s.expected_people)}`,
          share: Math.min(s.people_done / s.expected_people, 1),
        };
      }
      return { text: `syncing: people ${n(s.people_done)}`, share: null };
    case "indexing":
      return { text: `syncing: ${n(s.people_done)} people loaded, building the search indexes`, share: 1 };
    case "groups":
      return { text: `syncing: ${n(s.people_done)} people done, groups ${n(s.groups_done)}`, share: 1 };
    case "finishing":
      return { text: "syncing: resolving groups and roles, disabling people who are gone", share: 1 };
    default:
      return { text: "syncing: connecting to the directory", share: 0 };
  }
}

class SourceRow {
  readonly tr: HTMLTableRowElement;
  private readonly cells: Record<string, HTMLTableCellElement> = {};
  private readonly stateText: HTMLSpanElement;
  private readonly bar: HTMLProgressElement;
  readonly button: HTMLButtonElement;

  constructor(name: string, onSync: (name: string) => void) {
    this.tr = document.createElement("tr");
    this.tr.dataset.source = name;
    for (const column of COLUMNS) {
      const td = document.createElement("td");
      td.className = `col-${column}`;
      this.cells[column] = td;
      this.tr.append(td);
    }
    this.stateText = document.createElement("span");
    this.stateText.className = "state-text";
    this.bar = document.createElement("progress");
    this.bar.max = 1;
    this.bar.hidden = true;
    this.cells.state.append(this.stateText, document.createElement("br"), this.bar);
    const actions = document.createElement("td");
    actions.className = "actions";
    this.button = document.createElement("button");
    this.button.type = "button";
    this.button.className = "btn-sync";
    this.button.textContent = "Sync now";
    this.button.addEventListener("click", () => onSync(name));
    actions.append(this.button);
    this.tr.append(actions);
  }

  render(s: Source): void {
    this.tr.dataset.state = s.state;
    this.cells.name.textContent = s.name;
    this.cells.kind.textContent = KIND_NAMES[s.kind] ?? s.kind;
    this.cells.urls.textContent = s.urls.join(", ");
    const state = describeState(s);
    this.stateText.textContent = state.text;
    this.bar.hidden = state.share === null;
    if (state.share !== null) this.bar.value = state.share;
    this.cells["last-sync"].textContent = s.last_full_sync_at ? when(s.last_full_sync_at) : "never";
    this.cells.people.textContent = n(s.people);
    this.cells.disabled.textContent = n(s.disabled);
    this.cells.groups.textContent = n(s.groups);
    let following = s.following_changes ? "yes" : "no";
    if (s.last_change_at) following += ` (last change ${clock(s.last_change_at)})`;
    this.cells.following.textContent = following;
    this.cells.following.title = s.following_seen_at ? `confirmed ${when(s.following_seen_at)}` : "";
    this.cells.error.textContent = s.last_error ?? "";
    this.cells.error.className = s.last_error ? "col-error error" : "col-error";
    this.cells.error.title = s.last_error_at ? `at ${when(s.last_error_at)}` : "";
    const running = s.state === "syncing";
    this.button.disabled = running;
    this.button.textContent = running ? "Syncing…" : "Sync now";
  }
}

class DirectorySourcesPage {
  private readonly body: HTMLTableSectionElement | null;
  private readonly notice: HTMLElement;
  private readonly rows = new Map<string, SourceRow>();
  private loading = false;

  constructor(
    root: HTMLElement,
    private readonly csrf: string,
  ) {
    this.body = root.querySelector("#sources-body");
    this.notice = root.querySelector("#sources-notice") as HTMLElement;
  }

  start(): void {
    if (!this.body) return; // no sources configured
    void this.refresh();
    setInterval(() => void this.refresh(), POLL_MS);
  }

  private async refresh(): Promise<void> {
    if (this.loading) return;
    this.loading = true;
    try {
      const response = await fetch("/api/v1/directory/sources", { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.render((await response.json()) as Source[]);
    } catch (error) {
      this.say(`Cannot load the directory sources: ${String(error)}`, true);
    } finally {
      this.loading = false;
    }
  }

  private render(sources: Source[]): void {
    if (!this.body) return;
    const rows = sources.map((s) => {
      let row = this.rows.get(s.name);
      if (!row) {
        row = new SourceRow(s.name, (name) => void this.syncNow(name));
        this.rows.set(s.name, row);
      }
      row.render(s);
      return row.tr;
    });
    const current = Array.from(this.body.children);
    if (current.length !== rows.length || rows.some((tr, i) => current[i] !== tr)) this.body.replaceChildren(...rows);
  }

  private async syncNow(name: string): Promise<void> {
    const row = this.rows.get(name);
    if (row) row.button.disabled = true;
    try {
      const response = await fetch(`/api/v1/directory/sources/${encodeURIComponent(name)}/sync`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": this.csrf },
      });
      const payload = (await response.json().catch(() => null)) as (Source & { error?: { message?: string } }) | null;
      if (!response.ok) throw new Error(payload?.error?.message ?? `HTTP ${response.status}`);
      this.say(`${name}: full sync started.`);
      if (payload && row) row.render(payload);
    } catch (error) {
      this.say(`${name}: ${(error as Error).message}`, true);
      if (row) row.button.disabled = false;
    }
  }

  private say(message: string, error = false): void {
    this.notice.textContent = message;
    this.notice.className = error ? "error" : "notice";
  }
}

const root = typeof document === "undefined" ? null : document.getElementById("veche-directory-sources");
if (root) new DirectorySourcesPage(root, root.dataset.csrf ?? "").start();
