/**
 * The console's Statistics page: the figures of the cluster, a region or a server for a range, by hour or by day,
 * as charts (uPlot, bundled; it draws on a canvas and sets styles through the CSSOM, which the pages' CSP allows).
 * Data from GET /api/v1/statistics; the arrangement (which charts, their order, lines or bars) from and to
 * GET/PUT /api/v1/statistics/layout; server and region choices from GET /api/v1/servers. Each chart exports its
 * points as CSV and itself as PNG. Pure logic: statistics_state.ts.
 */

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./statistics.css";

import {
  FIGURES,
  addChart,
  bucketLabel,
  chartCsv,
  defaultGranularity,
  exportName,
  figureInfo,
  figuresNotShown,
  humanBytes,
  isFigure,
  moveChart,
  rangeOf,
  readValue,
  removeChart,
  setKind,
  statisticsQuery,
  type ChartKind,
  type Figure,
  type Granularity,
  type Layout,
  type RangeChoice,
  type StatisticsAnswer,
  type TimeRange,
} from "./statistics_state";

interface ServerEntry {
  id: string;
  name: string;
  region: string;
}

const CHART_HEIGHT = 220;
// The range's totals shown above the charts (the API's `totals`).
const TOTALS: readonly Figure[] = [
  "conference_hours",
  "participants_avg",
  "peak_participants",
  "cpu_percent",
  "traffic_in_bytes",
  "traffic_out_bytes",
  "refusals",
  "coverage",
];
const COLORS = { line: "#3d8bfd", fill: "rgba(61, 139, 253, 0.55)", axis: "#93a4b8", grid: "#243141", bg: "#17212d" };

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = "", cls = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

function errorMessage(payload: unknown, status: number): string {
  const message = (payload as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === "string" && message ? message : `The server answered HTTP ${status}.`;
}

function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = el("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function button(text: string, cls: string, label: string, onClick: () => void): HTMLButtonElement {
  const b = el("button", text, cls);
  b.type = "button";
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

/** The time axis in UTC, 24-hour: "14:00" within a day, the date ("11-24") at each midnight. */
function utcTicks(_u: uPlot, ticks: number[]): string[] {
  return ticks.map((t) => {
    const iso = new Date(t * 1000).toISOString();
    return iso.slice(11, 16) === "00:00" ? iso.slice(5, 10) : iso.slice(11, 16);
  });
}

/** One chart: a card with its title, its controls, the uPlot canvas and a readout of the hovered bucket. */
class Chart {
  readonly card: HTMLElement;
  private plot: uPlot | null = null;
  private readonly area: HTMLElement;
  private readonly readout: HTMLElement;

  constructor(
    private readonly page: StatisticsPage,
    readonly figure: Figure,
    readonly kind: ChartKind,
    private readonly answer: StatisticsAnswer,
    private readonly range: TimeRange,
    index: number,
    count: number,
  ) {
    const info = figureInfo(figure);
    this.card = el("section", "", "card stats-chart");
    this.card.dataset.figure = figure;
    this.card.dataset.kind = kind;
    const title = el("h2", info.label + (info.unit && !info.bytes ? ` (${info.unit})` : ""));
    title.id = `chart-${figure}-title`;
    this.card.setAttribute("aria-labelledby", title.id);

    const tools = el("div", "", "stats-chart-tools");
    const up = button("↑", "move-up", `Move “${info.label}” up`, () =>
      page.change(moveChart(page.layout, figure, -1)),
    );
    const down = button("↓", "move-down", `Move “${info.label}” down`, () =>
      page.change(moveChart(page.layout, figure, 1)),
    );
    up.disabled = index === 0;
    down.disabled = index === count - 1;
    const other: ChartKind = kind === "line" ? "bar" : "line";
    const otherName = other === "bar" ? "bars" : "a line";
    const toggle = button(other === "bar" ? "Bars" : "Line", "kind", `Show “${info.label}” as ${otherName}`, () =>
      page.change(setKind(page.layout, figure, other)),
    );
    const csv = button("CSV", "export-csv", `Download the data of “${info.label}” as CSV`, () => this.exportCsv());
    const png = button("PNG", "export-png", `Download the chart “${info.label}” as a PNG image`, () =>
      this.exportPng(),
    );
    const remove = button("Remove", "remove", `Remove the chart “${info.label}”`, () =>
      page.change(removeChart(page.layout, figure)),
    );
    tools.append(up, down, toggle, csv, png, remove);

    this.area = el("div", "", "stats-plot");
    this.area.setAttribute("role", "img");
    this.area.setAttribute("aria-label", this.summary());
    this.readout = el("p", "Point at the chart to read a bucket's value.", "stats-readout meta");
    this.readout.setAttribute("aria-live", "off");
    this.card.append(title, tools, this.area, this.readout);
  }

  /** Draw once the card is in the page (uPlot measures its container). */
  draw(): void {
    const info = figureInfo(this.figure);
    const points = this.answer.points;
    const xs = points.map((p) => Date.parse(p.at) / 1000);
    const ys = points.map((p) => p[this.figure]);
    // Room of half a bucket at each end for bars (and a lone point), so the first and last are whole.
    const pad = this.kind === "bar" || xs.length < 2 ? (this.answer.by === "hour" ? 3600 : 86_400) / 2 : 0;
    const series: uPlot.Series = {
      label: info.label,
      stroke: COLORS.line,
      width: 2,
      spanGaps: false, // a bucket without samples is a gap, not a zero
      points: { show: points.length <= 200, size: 5, fill: COLORS.line },
    };
    if (this.kind === "bar") {
      series.fill = COLORS.fill;
      series.paths = uPlot.paths.bars?.({ size: [0.7, 60] });
      series.points = { show: false };
    }
    const axisValues = info.bytes
      ? (_u: uPlot, ticks: number[]): string[] => ticks.map((t) => humanBytes(t))
      : undefined;
    const options: uPlot.Options = {
      width: Math.max(280, this.area.clientWidth),
      height: CHART_HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 8 } },
      scales: {
        // A bar is centred on its bucket's start, where the cursor snaps to it.
        x: { time: true, range: () => [(xs[0] ?? 0) - pad, (xs[xs.length - 1] ?? 0) + pad] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        { stroke: COLORS.axis, grid: { stroke: COLORS.grid }, ticks: { stroke: COLORS.grid }, values: utcTicks },
        {
          stroke: COLORS.axis,
          grid: { stroke: COLORS.grid },
          ticks: { stroke: COLORS.grid },
          size: info.bytes ? 70 : 55,
          ...(axisValues ? { values: axisValues } : {}),
        },
      ],
      series: [{}, series],
      hooks: { setCursor: [(u) => this.read(u.cursor.idx ?? null)] },
    };
    this.plot = new uPlot(options, [xs, ys], this.area);
  }

  resize(): void {
    this.plot?.setSize({ width: Math.max(280, this.area.clientWidth), height: CHART_HEIGHT });
  }

  destroy(): void {
    this.plot?.destroy();
    this.plot = null;
  }

  private read(index: number | null): void {
    const point = index === null ? undefined : this.answer.points[index];
    if (!point) return; // the last bucket read stays until another is pointed at
    const value = point[this.figure];
    this.readout.textContent = `${bucketLabel(point.at, this.answer.by)}: ${readValue(this.figure, value)}`;
    this.readout.dataset.at = point.at;
    this.readout.dataset.value = value === null ? "" : String(value);
  }

  private summary(): string {
    const info = figureInfo(this.figure);
    const values = this.answer.points.map((p) => p[this.figure]);
    const known = values.filter((v): v is number => v !== null);
    const gaps = values.length - known.length;
    const by = this.answer.by === "hour" ? "by hour" : "by day";
    if (!known.length) return `${info.label} ${by}: no samples in this range.`;
    const top = Math.max(...known);
    return (
      `${info.label} ${by}, ${values.length} buckets` +
      (gaps ? `, ${gaps} without samples` : "") +
      `: highest ${readValue(this.figure, top)}.`
    );
  }

  private exportCsv(): void {
    const text = chartCsv(this.answer.points, this.figure);
    download(new Blob([text], { type: "text/csv" }), exportName(this.page.scope, this.figure, this.range, "csv"));
  }

  private exportPng(): void {
    const source = this.plot?.ctx.canvas;
    if (!source) return;
    // The chart's canvas is transparent: paint the card's background under it, so the image reads on its own.
    const canvas = document.createElement("canvas");
    canvas.width = source.width;
    canvas.height = source.height;
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.fillStyle = COLORS.bg;
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(source, 0, 0);
    canvas.toBlob((blob) => {
      if (blob) download(blob, exportName(this.page.scope, this.figure, this.range, "png"));
    }, "image/png");
  }
}

class StatisticsPage {
  layout: Layout = { charts: [] };
  scope = "";
  private answer: StatisticsAnswer | null = null;
  private range: TimeRange | null = null;
  private charts: Chart[] = [];
  private generation = 0;
  private saving: Promise<void> = Promise.resolve();
  private readonly scopeSelect: HTMLSelectElement;
  private readonly rangeSelect: HTMLSelectElement;
  private readonly bySelect: HTMLSelectElement;
  private readonly fromInput: HTMLInputElement;
  private readonly toInput: HTMLInputElement;
  private readonly status: HTMLElement;
  private readonly error: HTMLElement;
  private readonly totals: HTMLElement;
  private readonly chartList: HTMLElement;
  private readonly addFigure: HTMLSelectElement;
  private readonly addKind: HTMLSelectElement;
  private readonly layoutStatus: HTMLElement;

  constructor(
    private readonly root: HTMLElement,
    private readonly csrf: string,
  ) {
    this.scopeSelect = this.find("#stats-scope") as HTMLSelectElement;
    this.rangeSelect = this.find("#stats-range") as HTMLSelectElement;
    this.bySelect = this.find("#stats-by") as HTMLSelectElement;
    this.fromInput = this.find("#stats-from") as HTMLInputElement;
    this.toInput = this.find("#stats-to") as HTMLInputElement;
    this.status = this.find("#stats-status");
    this.error = this.find("#stats-error");
    this.totals = this.find("#stats-totals");
    this.chartList = this.find("#stats-charts");
    this.addFigure = this.find("#stats-add-figure") as HTMLSelectElement;
    this.addKind = this.find("#stats-add-kind") as HTMLSelectElement;
    this.layoutStatus = this.find("#stats-layout-status");

    const today = new Date().toISOString().slice(0, 10);
    const weekAgo = new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10);
    this.fromInput.value = weekAgo;
    this.toInput.value = today;
    this.bySelect.value = defaultGranularity(this.rangeSelect.value as RangeChoice);
    this.rangeSelect.addEventListener("change", () => {
      const choice = this.rangeSelect.value as RangeChoice;
      for (const label of this.root.querySelectorAll<HTMLElement>(".stats-custom")) {
        label.hidden = choice !== "custom";
      }
      if (choice !== "custom") {
        this.bySelect.value = defaultGranularity(choice);
        void this.load();
      }
    });
    for (const control of [this.scopeSelect, this.bySelect]) {
      control.addEventListener("change", () => void this.load());
    }
    this.find("#stats-form").addEventListener("submit", (event) => {
      event.preventDefault();
      void this.load();
    });
    this.find("#stats-add").addEventListener("submit", (event) => {
      event.preventDefault();
      const figure = this.addFigure.value;
      if (isFigure(figure)) this.change(addChart(this.layout, figure, this.addKind.value === "bar" ? "bar" : "line"));
    });
    let resizing = 0;
    window.addEventListener("resize", () => {
      cancelAnimationFrame(resizing);
      resizing = requestAnimationFrame(() => this.charts.forEach((c) => c.resize()));
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.loadLayout(), this.loadServers()]);
    await this.load();
  }

  /** A new arrangement: drawn at once, then saved for this administrator (saves run one after another). */
  change(layout: Layout): void {
    // The charts are drawn anew: keep the keyboard on the same control of the same chart (it may have moved).
    const focused = document.activeElement;
    const figure = focused?.closest<HTMLElement>(".stats-chart")?.dataset.figure;
    const control = focused instanceof HTMLButtonElement ? focused.className : "";
    this.layout = layout;
    this.drawCharts();
    if (figure && control) {
      const card = `.stats-chart[data-figure="${figure}"]`;
      const again = this.chartList.querySelector<HTMLButtonElement>(`${card} button.${control}`);
      if (again && !again.disabled) again.focus();
      else this.chartList.querySelector<HTMLButtonElement>(`${card} button:not(:disabled)`)?.focus();
    }
    const body = JSON.stringify(layout);
    this.layoutStatus.textContent = "Saving the arrangement…";
    this.saving = this.saving.then(() => this.saveLayout(body));
  }

  private find(selector: string): HTMLElement {
    const node = this.root.querySelector(selector);
    if (!(node instanceof HTMLElement)) throw new Error(`the Statistics page has no ${selector}`);
    return node;
  }

  private async loadLayout(): Promise<void> {
    try {
      const response = await fetch("/api/v1/statistics/layout", { credentials: "same-origin" });
      const payload = await response.json().catch(() => null);
      if (!response.ok) throw new Error(errorMessage(payload, response.status));
      this.layout = payload as Layout;
    } catch (error) {
      this.layoutStatus.textContent = `Cannot load your arrangement of the charts: ${(error as Error).message}`;
      this.layout = { charts: FIGURES.slice(0, 4).map(([figure]) => ({ figure, kind: "line" as const })) };
    }
  }

  private async saveLayout(body: string): Promise<void> {
    try {
      const response = await fetch("/api/v1/statistics/layout", {
        method: "PUT",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": this.csrf },
        body,
      });
      const payload = await response.json().catch(() => null);
      if (!response.ok) throw new Error(errorMessage(payload, response.status));
      this.layoutStatus.textContent = "Arrangement saved: it is kept for your account.";
    } catch (error) {
      const reason = error instanceof TypeError ? "the server could not be reached." : (error as Error).message;
      this.layoutStatus.textContent = `The arrangement was not saved: ${reason}`;
    }
  }

  /** The scope choices: the cluster, each region, each server (by name); on failure only the cluster. */
  private async loadServers(): Promise<void> {
    let servers: ServerEntry[] = [];
    try {
      const response = await fetch("/api/v1/servers", { credentials: "same-origin" });
      if (response.ok) servers = (await response.json()) as ServerEntry[];
    } catch {
      // the whole cluster stays choosable
    }
    const regions = [...new Set(servers.map((s) => s.region).filter(Boolean))].sort();
    const options: HTMLElement[] = [new Option("The whole cluster", "")];
    if (regions.length) {
      const group = el("optgroup");
      group.label = "Regions";
      group.append(...regions.map((r) => new Option(`Region ${r}`, `region:${r}`)));
      options.push(group);
    }
    if (servers.length) {
      const group = el("optgroup");
      group.label = "Servers";
      const sorted = [...servers].sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id));
      const label = (s: ServerEntry): string => (s.name && s.name !== s.id ? `${s.name} (${s.id})` : s.id);
      group.append(...sorted.map((s) => new Option(label(s), `server:${s.id}`)));
      options.push(group);
    }
    this.scopeSelect.replaceChildren(...options);
  }

  private async load(): Promise<void> {
    const choice = this.rangeSelect.value as RangeChoice;
    const by = this.bySelect.value as Granularity;
    const range = rangeOf(choice, by, new Date(), this.fromInput.value, this.toInput.value);
    if (!range) {
      this.showError("Choose both dates, the first not after the second.");
      return;
    }
    const generation = ++this.generation;
    const scope = this.scopeSelect.value;
    this.status.textContent = "Loading…";
    try {
      const response = await fetch(`/api/v1/statistics?${statisticsQuery(range, by, scope)}`, {
        credentials: "same-origin",
      });
      const payload = await response.json().catch(() => null);
      if (!response.ok) throw new Error(errorMessage(payload, response.status));
      if (generation !== this.generation) return; // a newer choice is loading
      this.answer = payload as StatisticsAnswer;
      this.range = range;
      this.scope = scope;
      this.error.hidden = true;
      const label = this.scopeSelect.selectedOptions[0]?.textContent ?? "The whole cluster";
      const first = bucketLabel(this.answer.points[0]?.at ?? this.answer.from, by);
      const last = bucketLabel(this.answer.points[this.answer.points.length - 1]?.at ?? this.answer.to, by);
      this.status.textContent = `${label}, ${first} to ${last}, by ${by}: ${this.answer.points.length} buckets.`;
      this.drawTotals();
      this.drawCharts();
    } catch (error) {
      if (generation !== this.generation) return;
      const reason = error instanceof TypeError ? "the server could not be reached." : (error as Error).message;
      this.showError(`Cannot load the statistics: ${reason}`);
    }
  }

  private showError(text: string): void {
    this.status.textContent = "";
    this.error.textContent = text;
    this.error.hidden = false;
  }

  private drawTotals(): void {
    const totals = this.answer?.totals;
    if (!totals) return;
    const entries: HTMLElement[] = [];
    for (const figure of TOTALS) {
      const dt = el("dt", figureInfo(figure).label);
      const dd = el("dd", readValue(figure, totals[figure]));
      dd.dataset.figure = figure;
      entries.push(dt, dd);
    }
    this.totals.replaceChildren(...entries);
    this.totals.hidden = false;
  }

  private drawCharts(): void {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
    const options = figuresNotShown(this.layout).map((f) => new Option(figureInfo(f).label, f));
    this.addFigure.replaceChildren(...options);
    (this.find("#stats-add-button") as HTMLButtonElement).disabled = options.length === 0;
    if (!this.answer || !this.range) {
      this.chartList.replaceChildren();
      return;
    }
    const count = this.layout.charts.length;
    this.charts = this.layout.charts.map(
      (c, i) => new Chart(this, c.figure, c.kind, this.answer as StatisticsAnswer, this.range as TimeRange, i, count),
    );
    if (!count) {
      this.chartList.replaceChildren(el("p", "No charts chosen: add one below.", "card meta stats-empty"));
      return;
    }
    this.chartList.replaceChildren(...this.charts.map((c) => c.card));
    for (const chart of this.charts) chart.draw();
  }
}

const root = document.getElementById("veche-statistics");
if (root) void new StatisticsPage(root, root.dataset.csrf ?? "").start();
