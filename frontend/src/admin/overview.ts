/**
 * The console's Overview (/admin): the cluster at a glance, polled every 2 s from the same APIs as the
 * Servers, License and Directory pages; figures and alerts come from overview_state.ts.
 */

import { type Alert, type OverviewLicense, type OverviewServer, type OverviewSource, summarize } from "./overview_state";

const POLL_MS = 2000;

async function getJson(url: string): Promise<{ ok: boolean; status: number; body: unknown }> {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  return { ok: response.ok, status: response.status, body: await response.json().catch(() => null) };
}

function errorMessage(body: unknown, fallback: string): string {
  const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof message === "string" && message ? message : fallback;
}

class OverviewPage {
  constructor(private readonly root: HTMLElement) {}

  start(): void {
    void this.refresh();
    setInterval(() => void this.refresh(), POLL_MS);
  }

  private find(selector: string): HTMLElement {
    return this.root.querySelector(selector) as HTMLElement;
  }

  private set(selector: string, text: string): void {
    const node = this.find(selector);
    if (node.textContent !== text) node.textContent = text;
  }

  private async refresh(): Promise<void> {
    let servers: OverviewServer[];
    try {
      const answer = await getJson("/api/v1/servers");
      if (!answer.ok) throw new Error(errorMessage(answer.body, `HTTP ${answer.status}`));
      servers = answer.body as OverviewServer[];
    } catch (error) {
      this.set("#overview-error", `Cannot load the servers: ${error instanceof Error ? error.message : String(error)}`);
      this.find("#overview-error").hidden = false;
      return;
    }
    this.find("#overview-error").hidden = true;
    let license: OverviewLicense | null = null;
    let licenseError: string | null = null;
    let sources: OverviewSource[] = [];
    const [licenseAnswer, sourcesAnswer] = await Promise.allSettled([
      getJson("/api/v1/license?hours=0"),
      getJson("/api/v1/directory/sources"),
    ]);
    if (licenseAnswer.status === "fulfilled" && licenseAnswer.value.ok) {
      license = licenseAnswer.value.body as OverviewLicense;
    } else {
      const body = licenseAnswer.status === "fulfilled" ? licenseAnswer.value.body : null;
      licenseError = errorMessage(body, "The license cannot be read now.");
    }
    if (sourcesAnswer.status === "fulfilled" && sourcesAnswer.value.ok) {
      sources = sourcesAnswer.value.body as OverviewSource[];
    }
    this.render(summarize(servers, license, licenseError, sources, new Date()), license, sources.length);
  }

  private render(overview: ReturnType<typeof summarize>, license: OverviewLicense | null, sourceCount: number): void {
    this.set("#overview-servers-up", String(overview.serversUp));
    this.set("#overview-servers-down", String(overview.serversDown));
    this.set(
      "#overview-servers-other",
      overview.serversOther ? `${overview.serversOther} waiting for approval or draining` : "",
    );
    this.set("#overview-participants", String(overview.participants));
    this.set("#overview-conferences", String(overview.conferences));
    const licenseText =
      license === null
        ? "—"
        : license.organisation
          ? `${license.organisation}, valid until ${license.expires ?? "—"}`
          : "No license installed: every pool is unlimited.";
    this.set("#overview-license", licenseText);
    const uses = this.find("#overview-license-use");
    const usesText = overview.licenseUse.join("\n");
    if (uses.dataset.shown !== usesText) {
      uses.dataset.shown = usesText;
      uses.replaceChildren(...overview.licenseUse.map((line) => Object.assign(document.createElement("li"), { textContent: line })));
    }
    this.set(
      "#overview-directory",
      sourceCount === 0 ? "No directory sources configured." : `${sourceCount} source${sourceCount === 1 ? "" : "s"}.`,
    );
    this.renderAlerts(overview.alerts);
  }

  private renderAlerts(alerts: Alert[]): void {
    const list = this.find("#overview-alerts");
    const key = JSON.stringify(alerts);
    if (list.dataset.shown === key) return; // unchanged: leave what a screen reader already read alone
    list.dataset.shown = key;
    this.find("#overview-no-alerts").hidden = alerts.length > 0;
    list.replaceChildren(
      ...alerts.map((alert) => {
        const item = document.createElement("li");
        item.className = `alert alert-${alert.level}`;
        const link = document.createElement("a");
        link.href = alert.link;
        link.textContent = alert.text;
        item.append(link);
        return item;
      }),
    );
  }
}

const root = document.getElementById("veche-overview");
if (root) new OverviewPage(root).start();
