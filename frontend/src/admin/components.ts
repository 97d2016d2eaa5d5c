/**
 * The console's Components page (/admin/components): every component of the cluster, a table per segment,
 * polled every 2 s from GET /api/v1/components; grouping and words in components_state.ts.
 */

import { type Component, type Segment, segments } from "./components_state";

const POLL_MS = 2000;

function cell(text: string, cls: string): HTMLTableCellElement {
  const td = document.createElement("td");
  td.textContent = text;
  td.className = cls;
  return td;
}

class ComponentsPage {
  private readonly tables: HTMLElement;
  private readonly error: HTMLElement;
  private shown = "";

  constructor(root: HTMLElement) {
    this.tables = root.querySelector("#components-segments") as HTMLElement;
    this.error = root.querySelector("#components-error") as HTMLElement;
  }

  start(): void {
    void this.refresh();
    setInterval(() => void this.refresh(), POLL_MS);
  }

  private async refresh(): Promise<void> {
    try {
      const response = await fetch("/api/v1/components", { credentials: "same-origin" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.error.hidden = true;
      this.render(segments((await response.json()) as Component[]));
    } catch (error) {
      this.error.textContent = `Cannot load the components: ${error instanceof Error ? error.message : String(error)}`;
      this.error.hidden = false;
    }
  }

  private render(groups: Segment[]): void {
    const key = JSON.stringify(groups);
    if (key === this.shown) return; // unchanged: keep what a screen reader already read
    this.shown = key;
    this.tables.replaceChildren(...groups.map((group) => this.table(group)));
  }

  private table(group: Segment): HTMLElement {
    const section = document.createElement("section");
    section.className = "components-segment";
    section.dataset.segment = group.key;
    const title = document.createElement("h2");
    title.textContent = group.title;
    const table = document.createElement("table");
    table.className = "components";
    const head = document.createElement("thead");
    const headRow = document.createElement("tr");
    for (const label of ["Component", "Name", "Address", "State", "Active", "Details"]) {
      const th = document.createElement("th");
      th.textContent = label;
      headRow.append(th);
    }
    head.append(headRow);
    const body = document.createElement("tbody");
    for (const row of group.rows) {
      const tr = document.createElement("tr");
      tr.dataset.key = row.key;
      tr.dataset.state = row.state;
      const state = cell(row.state, "col-state");
      state.classList.add(`status-${row.state}`);
      tr.append(
        cell(row.kind, "col-kind"),
        cell(row.name, "col-name"),
        cell(row.address, "col-address"),
        state,
        cell(row.active, "col-active"),
        cell(row.detail, "col-detail"),
      );
      body.append(tr);
    }
    table.append(head, body);
    section.append(title, table);
    return section;
  }
}

const root = document.getElementById("veche-components");
if (root) new ComponentsPage(root).start();
