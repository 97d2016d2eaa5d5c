/**
 * The admin console's cluster page: every server live (polled each second from /api/v1/servers), with
 * approve / drain / restart / shut down / remove / edit, and the shared settings form.
 */

interface EngineStatus {
  name: string;
  version: string;
  up: boolean;
}

interface Server {
  id: string;
  name: string;
  roles: string[];
  status: "pending" | "up" | "down" | "draining";
  region: string;
  host: string;
  pid: number | null;
  version: string | null;
  max_participants: number;
  conferences: number;
  participants: number;
  cpu_use: number | null;
  memory_rss_bytes: number | null;
  net_in_bps: number | null;
  net_out_bps: number | null;
  media_engine: EngineStatus | null;
  settings_revision: number | null;
}

const POLL_MS = 1000;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = "", cls = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function rate(bps: number | null): string {
  if (bps === null) return "—";
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  return `${(bps / 1e3).toFixed(0)} kbit/s`;
}

function bytes(n: number | null): string {
  return n === null ? "—" : `${(n / 1048576).toFixed(0)} MiB`;
}

class ServersPage {
  private readonly body: HTMLTableSectionElement;
  private readonly notice: HTMLElement;

  constructor(
    root: HTMLElement,
    private readonly csrf: string,
  ) {
    this.body = root.querySelector("#servers-body") as HTMLTableSectionElement;
    this.notice = root.querySelector("#servers-notice") as HTMLElement;
    const settings = root.querySelector("#settings-form") as HTMLFormElement | null;
    if (settings) settings.addEventListener("submit", (event) => void this.saveSettings(event, settings));
  }

  start(): void {
    void this.refresh();
    setInterval(() => void this.refresh(), POLL_MS);
  }

  private async refresh(): Promise<void> {
    try {
      const response = await fetch("/api/v1/servers", { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.render((await response.json()) as Server[]);
    } catch (error) {
      this.say(`Cannot load the servers: ${String(error)}`, true);
    }
  }

  private render(servers: Server[]): void {
    const rows = servers.map((server) => this.row(server));
    this.body.replaceChildren(...rows);
  }

  private row(s: Server): HTMLTableRowElement {
    const tr = el("tr");
    tr.dataset.serverId = s.id;
    tr.dataset.status = s.status;
    const engine = s.media_engine ? `${s.media_engine.name} ${s.media_engine.version} ${s.media_engine.up ? "up" : "DOWN"}` : "—";
    const cells = [
      s.name,
      s.status,
      s.roles.join(", "),
      s.region,
      s.host + (s.pid ? ` (pid ${s.pid})` : ""),
      s.version ?? "—",
      s.cpu_use === null ? "—" : `${(s.cpu_use * 100).toFixed(1)} %`,
      bytes(s.memory_rss_bytes),
      rate(s.net_in_bps),
      rate(s.net_out_bps),
      String(s.conferences),
      `${s.participants} / ${s.max_participants}`,
      engine,
    ];
    const names = ["name", "status", "roles", "region", "host", "version", "cpu", "memory", "net-in", "net-out",
      "conferences", "participants", "engine"];
    cells.forEach((text, i) => {
      const td = el("td", text, `col-${names[i]}`);
      if (i === 1) td.classList.add(`status-${s.status}`);
      tr.append(td);
    });
    const actions = el("td", "", "actions");
    const button = (label: string, cls: string, run: () => Promise<void>): void => {
      const b = el("button", label, cls);
      b.type = "button";
      b.addEventListener("click", () => void run());
      actions.append(b);
    };
    if (s.status === "pending") button("Approve", "btn-approve", () => this.edit(s, { approved: true }));
    if (s.status === "up") button("Drain", "btn-drain", () => this.edit(s, { draining: true }));
    if (s.status === "draining") button("Undrain", "btn-undrain", () => this.edit(s, { draining: false }));
    button("Edit", "btn-edit", () => this.editPrompt(s));
    if (s.status !== "down") {
      button("Restart", "btn-restart", () => this.action(s, "restart"));
      button("Shut down", "btn-shutdown", () => this.action(s, "shutdown"));
    }
    button("Remove", "btn-remove", () => this.remove(s));
    tr.append(actions);
    return tr;
  }

  private async call(method: string, url: string, body?: object): Promise<unknown> {
    const response = await fetch(url, {
      method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf },
      body: body ? JSON.stringify(body) : undefined,
    });
    const payload = response.status === 204 ? null : await response.json().catch(() => null);
    if (!response.ok) {
      const message = (payload as { error?: { message?: string } } | null)?.error?.message;
      throw new Error(message ?? `HTTP ${response.status}`);
    }
    return payload;
  }

  private async edit(s: Server, fields: object): Promise<void> {
    try {
      await this.call("PATCH", `/api/v1/servers/${encodeURIComponent(s.id)}`, fields);
      this.say(`${s.name}: saved.`);
      await this.refresh();
    } catch (error) {
      this.say(`${s.name}: ${(error as Error).message}`, true);
    }
  }

  private async editPrompt(s: Server): Promise<void> {
    const name = window.prompt("Name", s.name);
    if (name === null) return;
    const region = window.prompt("Region", s.region);
    if (region === null) return;
    const capacity = window.prompt("Capacity (participants)", String(s.max_participants));
    if (capacity === null) return;
    await this.edit(s, { name, region, max_participants: Number(capacity) });
  }

  private async action(s: Server, action: "restart" | "shutdown"): Promise<void> {
    if (!window.confirm(`${action === "restart" ? "Restart" : "Shut down"} ${s.name}?`)) return;
    try {
      const result = (await this.call("POST", `/api/v1/servers/${encodeURIComponent(s.id)}/actions`, { action })) as {
        message: string;
      };
      this.say(`${s.name}: ${result.message}`);
    } catch (error) {
      this.say(`${s.name}: ${(error as Error).message}`, true);
    }
  }

  private async remove(s: Server): Promise<void> {
    if (!window.confirm(`Remove ${s.name} from the registry?`)) return;
    try {
      await this.call("DELETE", `/api/v1/servers/${encodeURIComponent(s.id)}`);
      this.say(`${s.name} removed.`);
      await this.refresh();
    } catch (error) {
      this.say(`${s.name}: ${(error as Error).message}`, true);
    }
  }

  private async saveSettings(event: Event, form: HTMLFormElement): Promise<void> {
    event.preventDefault();
    const data = new FormData(form);
    let turn: unknown = [];
    try {
      turn = JSON.parse(String(data.get("turn_servers") || "[]"));
    } catch {
      this.say("TURN servers must be a JSON list.", true);
      return;
    }
    try {
      const saved = (await this.call("PATCH", "/api/v1/settings", {
        domain: String(data.get("domain") ?? ""),
        video_max_height: Number(data.get("video_max_height")),
        video_max_bitrate_bps: Number(data.get("video_max_bitrate_bps")),
        guests_allowed: data.get("guests_allowed") === "true",
        turn_servers: turn,
      })) as { revision: number };
      this.say(`Settings saved (revision ${saved.revision}); every server applies them now.`);
    } catch (error) {
      this.say(`Settings not saved: ${(error as Error).message}`, true);
    }
  }

  private say(message: string, error = false): void {
    this.notice.textContent = message;
    this.notice.className = error ? "error" : "notice";
  }
}

const root = document.getElementById("veche-servers");
if (root) new ServersPage(root, root.dataset.csrf ?? "").start();
