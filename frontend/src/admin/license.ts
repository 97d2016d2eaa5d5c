/**
 * The console's License page: the installed license and, per pool, its total, use, leases per server and region
 * and a chart of the last day (polled every 5 s from GET /api/v1/license; server names from /api/v1/servers),
 * and the "Install a license" form, which PUTs the chosen file to /api/v1/license.
 */

export interface PoolFigures {
  total: number | null;
  in_use: number;
  leased: Record<string, number>;
  in_use_by_server: Record<string, number>;
  by_region: Record<string, number>;
  free: number | null;
  refusals: number;
  silent: string[];
}

export interface UsagePoint {
  at: string;
  pool: string;
  in_use: number;
  leased: number;
  refusals: number;
}

export interface LicenseReport {
  organisation: string | null;
  expires: string | null;
  license_id: string | null;
  expired: boolean;
  problem: string;
  pools: Record<string, PoolFigures>;
  usage: UsagePoint[];
}

interface ServerName {
  id: string;
  name: string;
}

const POLL_MS = 5000;
const HISTORY_HOURS = 24;
const MAX_LICENSE_BYTES = 64 * 1024; // as the API (web/api/license.py)
const POOLS: ReadonlyArray<readonly [string, string]> = [
  ["online_users", "Online users"],
  ["video", "Video connections"],
  ["gateway", "Gateway connections (SIP, H.323, RTSP)"],
  ["guests", "Guest connections"],
];
const SILENT_NOTE = "not renewing (held until its grace ends)";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = "", cls = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function limit(n: number | null): string {
  return n === null ? "unlimited" : String(n);
}

function errorMessage(payload: unknown, status: number): string {
  const message = (payload as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === "string" && message ? message : `The server answered HTTP ${status}.`;
}

/** A table with a header row and one row per entry of `rows`; `empty` when there is none. */
function table(cls: string, headers: string[], rows: HTMLTableRowElement[], empty: string): HTMLTableElement {
  const t = el("table", "", cls);
  const head = el("tr");
  for (const h of headers) {
    const th = el("th", h);
    th.scope = "col";
    head.append(th);
  }
  t.createTHead().append(head);
  const body = t.createTBody();
  if (rows.length) body.append(...rows);
  else {
    const tr = el("tr", "", "empty");
    const td = el("td", empty);
    td.colSpan = headers.length;
    tr.append(td);
    body.append(tr);
  }
  return t;
}

function row(cells: Array<[string, string]>): HTMLTableRowElement {
  const tr = el("tr");
  for (const [cls, text] of cells) tr.append(el("td", text, cls));
  return tr;
}

// --- the use chart: an SVG drawn here (no library; CSP allows it, no inline script or style) ---------------

const SVG_NS = "http://www.w3.org/2000/svg";
const MIN_SPAN_MS = 10 * 60 * 1000;
const CHART = { width: 640, height: 180, left: 36, right: 12, top: 10, bottom: 24 };

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
  text = "",
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

/** A ceiling for the y axis: at least 1, rounded up to 1, 2 or 5 times a power of ten. */
export function niceCeiling(value: number): number {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

function clock(t: number): string {
  return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * In use and leased over the last `HISTORY_HOURS` (or since the first sample, when that is more recent), from the
 * manager's minute samples plus the live figures at the right edge; a dashed line at the license total. Without
 * samples yet, a sentence says so.
 */
function usageChart(name: string, samples: UsagePoint[], live: PoolFigures): HTMLElement {
  const figure = el("figure", "", "usage");
  const caption = el("figcaption", `Use over the last ${HISTORY_HOURS} hours`);
  figure.append(caption);
  const points = samples
    .map((s) => ({ t: Date.parse(s.at), inUse: s.in_use, leased: s.leased }))
    .filter((p) => Number.isFinite(p.t))
    .sort((a, b) => a.t - b.t);
  if (!points.length) {
    figure.append(el("p", "No samples yet: use is recorded every minute.", "meta usage-empty"));
    return figure;
  }
  const end = Math.max(Date.now(), points[points.length - 1].t);
  const day = end - HISTORY_HOURS * 3600 * 1000;
  // A young installation has minutes of samples, not a day: draw those across the width rather than in a sliver.
  const start = Math.max(day, Math.min(points[0].t, end - MIN_SPAN_MS));
  if (start > day) caption.textContent = `Use since ${clock(start)} (the chart shows at most ${HISTORY_HOURS} hours)`;
  points.push({ t: end, inUse: live.in_use, leased: Object.values(live.leased).reduce((a, b) => a + b, 0) });
  const peakInUse = Math.max(...points.map((p) => p.inUse));
  const peakLeased = Math.max(...points.map((p) => p.leased));
  const top = niceCeiling(Math.max(peakInUse, peakLeased, live.total ?? 0));

  const { width, height, left, right, top: pad, bottom } = CHART;
  const plotW = width - left - right;
  const plotH = height - pad - bottom;
  const x = (t: number): number => left + ((Math.min(Math.max(t, start), end) - start) / (end - start)) * plotW;
  const y = (v: number): number => pad + plotH - (v / top) * plotH;

  const summary =
    `${name}, ${caption.textContent.toLowerCase()}: in use now ${live.in_use}, at most ${peakInUse}; ` +
    `leased at most ${peakLeased}` +
    (live.total === null ? "; the license does not limit this pool." : `; the license allows ${live.total}.`);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary });
  chart.setAttribute("class", "usage-chart");
  chart.append(svg("title", {}, summary));
  const across = (v: number, cls: string): SVGLineElement =>
    svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), class: cls });
  // Counts are whole: no half-way line when it would fall between two numbers.
  for (const v of top % 2 === 0 ? [0, top / 2, top] : [0, top]) {
    chart.append(across(v, "grid"), svg("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  const ticks: Array<[number, string, string]> = [
    [start, clock(start), "start"],
    [(start + end) / 2, clock((start + end) / 2), "middle"],
    [end, "now", "end"],
  ];
  for (const [t, label, anchor] of ticks) {
    chart.append(svg("text", { x: x(t), y: height - 6, "text-anchor": anchor }, label));
  }
  if (live.total !== null) chart.append(across(live.total, "line-total"));
  const line = (value: (p: (typeof points)[number]) => number, cls: string): SVGPolylineElement => {
    const coordinates = points.map((p) => `${x(p.t).toFixed(1)},${y(value(p)).toFixed(1)}`).join(" ");
    return svg("polyline", { points: coordinates, fill: "none", class: cls });
  };
  chart.append(line((p) => p.leased, "line-leased"), line((p) => p.inUse, "line-in-use"));
  const last = points[points.length - 1];
  for (const [v, cls] of [[last.leased, "line-leased"], [last.inUse, "line-in-use"]] as const) {
    chart.append(svg("circle", { cx: x(end), cy: y(v), r: 3, class: `${cls} now` }));
  }
  figure.append(chart);

  const legend = el("p", "", "legend");
  legend.setAttribute("aria-hidden", "true"); // the chart's label says it in words
  const key = (cls: string, text: string): void => {
    legend.append(el("span", "", `swatch ${cls}`), el("span", text, "legend-text"));
  };
  key("swatch-in-use", "In use");
  key("swatch-leased", "Leased by the servers");
  if (live.total !== null) key("swatch-total", "License total");
  figure.append(legend);
  return figure;
}

// --- the page ------------------------------------------------------------------------------------------------

class LicensePage {
  private readonly pools: HTMLElement;
  private readonly loadError: HTMLElement;
  private readonly none: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly warning: HTMLElement;
  private readonly form: HTMLFormElement;
  private readonly file: HTMLInputElement;
  private readonly installButton: HTMLButtonElement;
  private readonly result: HTMLElement;
  private names = new Map<string, string>();
  // Bumped by an install: a poll that started before it must not draw the older figures over the new ones.
  private generation = 0;

  constructor(
    private readonly root: HTMLElement,
    private readonly csrf: string,
  ) {
    this.pools = this.find("#license-pools");
    this.loadError = this.find("#license-load-error");
    this.none = this.find("#license-none");
    this.summary = this.find("#license-summary");
    this.warning = this.find("#license-warning");
    this.form = this.find("#license-form") as HTMLFormElement;
    this.file = this.find("#license-file") as HTMLInputElement;
    this.installButton = this.find("#license-install") as HTMLButtonElement;
    this.result = this.find("#license-install-result");
    this.form.addEventListener("submit", (event) => void this.install(event));
  }

  start(): void {
    const tick = async (): Promise<void> => {
      await this.refresh();
      setTimeout(() => void tick(), POLL_MS);
    };
    void tick();
  }

  private find(selector: string): HTMLElement {
    const node = this.root.querySelector(selector);
    if (!(node instanceof HTMLElement)) throw new Error(`the License page has no ${selector}`);
    return node;
  }

  private async refresh(): Promise<void> {
    const generation = this.generation;
    const [report] = await Promise.all([this.loadReport(), this.loadNames()]);
    if (report && generation === this.generation) this.render(report);
  }

  private async loadReport(): Promise<LicenseReport | null> {
    try {
      const response = await fetch(`/api/v1/license?hours=${HISTORY_HOURS}`, { credentials: "same-origin" });
      const payload = await response.json().catch(() => null);
      if (!response.ok) throw new Error(errorMessage(payload, response.status));
      this.loadError.hidden = true;
      return payload as LicenseReport;
    } catch (error) {
      // Keep the last figures on screen; say they are not current.
      const reason = error instanceof TypeError ? "the server could not be reached." : (error as Error).message;
      const text = `Cannot load the license figures: ${reason}`;
      if (this.loadError.textContent !== text) this.loadError.textContent = text;
      this.loadError.hidden = false;
      return null;
    }
  }

  /** Server names for the per-server rows; on failure the last names (or the ids) stay. */
  private async loadNames(): Promise<void> {
    try {
      const response = await fetch("/api/v1/servers", { credentials: "same-origin" });
      if (!response.ok) return;
      const servers = (await response.json()) as ServerName[];
      this.names = new Map(servers.map((s) => [s.id, s.name || s.id]));
    } catch {
      // the ids are shown instead
    }
  }

  private render(report: LicenseReport): void {
    const installed = report.organisation !== null;
    this.none.hidden = installed;
    this.summary.hidden = !installed;
    if (installed) {
      this.find("#license-organisation").textContent = report.organisation;
      this.find("#license-expires").textContent = `${report.expires ?? "—"} (the last valid day)`;
      this.find("#license-id").textContent = report.license_id ?? "—";
    }
    const warnings: string[] = [];
    if (report.expired) {
      warnings.push(
        `This license expired on ${report.expires}: no new connections are admitted. Install a renewal.`,
      );
    }
    if (report.problem) {
      warnings.push(
        `The license file in the data directory is refused: ${report.problem} ` +
          (installed ? "The license shown stays in force." : "Every pool stays unlimited."),
      );
    }
    // Rewritten only when it changes: an alert is read out again each time its text is replaced.
    const warning = warnings.join(" ");
    if (this.warning.textContent !== warning) this.warning.textContent = warning;
    this.warning.hidden = warnings.length === 0;

    const known = new Set(POOLS.map(([key]) => key));
    const order = [...POOLS, ...Object.keys(report.pools).filter((k) => !known.has(k)).map((k) => [k, k] as const)];
    const sections = order
      .filter(([key]) => report.pools[key] !== undefined)
      .map(([key, name]) => this.pool(key, name, report.pools[key], report.usage.filter((u) => u.pool === key)));
    this.pools.replaceChildren(...sections);
  }

  private serverName(id: string): string {
    return this.names.get(id) ?? id;
  }

  private pool(key: string, name: string, figures: PoolFigures, samples: UsagePoint[]): HTMLElement {
    const section = el("section", "", "card license-pool");
    section.id = `pool-${key}`;
    section.dataset.pool = key;
    const title = el("h2", name);
    title.id = `pool-${key}-title`;
    section.setAttribute("aria-labelledby", title.id);

    const totals = table(
      "pool-figures",
      ["Total", "In use", "Free", "Refused"],
      [
        row([
          ["col-total", limit(figures.total)],
          ["col-in-use", String(figures.in_use)],
          ["col-free", limit(figures.free)],
          ["col-refusals", String(figures.refusals)],
        ]),
      ],
      "",
    );
    const caption = totals.createCaption();
    caption.textContent = "Totals";
    caption.className = "visually-hidden";

    const silent = new Set(figures.silent);
    const ids = [...new Set([...Object.keys(figures.leased), ...Object.keys(figures.in_use_by_server)])].sort(
      (a, b) => this.serverName(a).localeCompare(this.serverName(b)),
    );
    const servers = table(
      "pool-servers",
      ["Server", "Leased", "In use", "Lease"],
      ids.map((id) => {
        const tr = row([
          ["col-server", this.serverName(id)],
          ["col-leased", String(figures.leased[id] ?? 0)],
          ["col-in-use", String(figures.in_use_by_server[id] ?? 0)],
          ["col-lease", silent.has(id) ? SILENT_NOTE : "renewing"],
        ]);
        tr.dataset.serverId = id;
        if (silent.has(id)) tr.classList.add("silent");
        return tr;
      }),
      "No server holds a lease of this pool.",
    );
    servers.createCaption().textContent = "By server";

    const regions = table(
      "pool-regions",
      ["Region", "In use"],
      Object.entries(figures.by_region)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([region, n]) => {
          const tr = row([
            ["col-region", region],
            ["col-in-use", String(n)],
          ]);
          tr.dataset.region = region;
          return tr;
        }),
      "No server reports this pool yet.",
    );
    regions.createCaption().textContent = "By region";

    const split = el("div", "", "pool-split");
    split.append(servers, regions);
    section.append(title, totals, split, usageChart(name, samples, figures));
    return section;
  }

  private async install(event: Event): Promise<void> {
    event.preventDefault();
    const file = this.file.files?.[0];
    if (!file) {
      this.say("Choose the license file first.", true);
      return;
    }
    if (file.size > MAX_LICENSE_BYTES) {
      this.say(`Not installed: ${file.name} is too large to be a license file (at most 64 KiB).`, true);
      return;
    }
    this.installButton.disabled = true;
    this.say(`Installing ${file.name}…`);
    try {
      const text = await file.text();
      const response = await fetch("/api/v1/license", {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "text/plain", "X-CSRF-Token": this.csrf },
        body: text,
      });
      const payload = await response.json().catch(() => null);
      if (!response.ok) {
        this.say(`Not installed: ${errorMessage(payload, response.status)} The license in use is unchanged.`, true);
        return;
      }
      const report = payload as LicenseReport;
      this.generation += 1;
      this.render(report);
      this.form.reset();
      this.say(`Installed: license of ${report.organisation} until ${report.expires}.`);
    } catch {
      this.say("Not installed: the server could not be reached. Try again.", true);
    } finally {
      this.installButton.disabled = false;
    }
  }

  private say(message: string, error = false): void {
    this.result.textContent = message;
    this.result.className = error ? "error" : "notice";
  }
}

const root = document.getElementById("veche-license");
if (root) new LicensePage(root, root.dataset.csrf ?? "").start();
