/**
 * The video grid: lays tiles out in a responsive CSS grid, or with one pinned tile in the big area and
 * the others in a strip under it, and picks the simulcast layer each remote camera tile needs from its
 * rendered width (a pinned tile grows, so it asks for a higher layer by itself).
 */

import { Tile } from "./tile";

/** Simulcast layer for a tile this many CSS pixels wide: 0 (320x180) < 400 px, 1 (640x360) < 800 px, else 2. */
export function layerForWidth(width: number): number {
  if (width < 400) return 0;
  if (width < 800) return 1;
  return 2;
}

/** Number of grid columns for `count` tiles: a near-square arrangement, one column on narrow screens. */
export function gridColumns(count: number, containerWidth: number): number {
  if (count <= 1 || containerWidth < 560) return 1;
  const columns = Math.ceil(Math.sqrt(count));
  return Math.min(columns, Math.max(1, Math.floor(containerWidth / 200)));
}

/**
 * Columns of the strip under a pinned tile: the others side by side, each at least ~160 px wide, and room
 * for at least four, so that one or two others stay small tiles instead of stretching to the full width.
 */
export function stripColumns(others: number, containerWidth: number): number {
  return Math.max(1, Math.min(Math.max(others, 4), Math.floor(containerWidth / 160)));
}

/** How the grid is laid out: `columns` of the CSS grid, and whether a pinned tile spans the first row. */
export interface GridLayout {
  columns: number;
  spotlight: boolean;
}

/** The layout for `count` tiles of which one may be pinned (a single tile needs no spotlight). */
export function gridLayout(count: number, containerWidth: number, pinned: boolean): GridLayout {
  if (!pinned || count <= 1) return { columns: gridColumns(count, containerWidth), spotlight: false };
  return { columns: stripColumns(count - 1, containerWidth), spotlight: true };
}

export type LayerListener = (feed: number, layer: number) => void;

export class Grid {
  private readonly tiles = new Map<string, Tile>();
  private readonly pendingResize = new Set<Tile>();
  private resizeTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly observer: ResizeObserver;
  private pinned: string | null = null;

  constructor(
    readonly element: HTMLElement,
    private readonly onLayer: LayerListener,
    private readonly debounceMs = 300,
  ) {
    this.observer = new ResizeObserver((entries) => {
      for (const entry of entries) {
        const tile = this.byElement(entry.target);
        if (tile) this.pendingResize.add(tile);
      }
      this.relayout();
      this.scheduleLayers();
    });
    this.observer.observe(element);
  }

  add(tile: Tile): Tile {
    this.tiles.get(tile.key)?.detach();
    this.tiles.set(tile.key, tile);
    // Screens go first: they are what people look at.
    if (tile.init.source === "screen") this.element.prepend(tile.element);
    else this.element.append(tile.element);
    tile.pinButton.addEventListener("click", () => this.pin(this.pinned === tile.key ? null : tile.key));
    tile.setPinned(this.pinned === tile.key);
    if (!tile.init.self && tile.init.source === "camera" && tile.init.feed !== null) {
      this.observer.observe(tile.element);
    }
    this.relayout();
    return tile;
  }

  get(key: string): Tile | undefined {
    return this.tiles.get(key);
  }

  remove(key: string): void {
    const tile = this.tiles.get(key);
    if (!tile) return;
    this.observer.unobserve(tile.element);
    this.pendingResize.delete(tile);
    tile.detach();
    this.tiles.delete(key);
    if (this.pinned === key) this.pinned = null;
    this.relayout();
  }

  /** Puts the tile `key` in the big area, the others in a strip (null: back to the even grid). */
  pin(key: string | null): void {
    this.pinned = key !== null && this.tiles.has(key) ? key : null;
    for (const tile of this.tiles.values()) tile.setPinned(tile.key === this.pinned);
    this.relayout();
  }

  get pinnedKey(): string | null {
    return this.pinned;
  }

  /** Removes every remote tile (own previews stay). */
  clearRemote(): void {
    for (const tile of [...this.tiles.values()]) {
      if (!tile.init.self) this.remove(tile.key);
    }
  }

  /** Removes every tile, my previews included (the call is over). */
  clear(): void {
    for (const tile of [...this.tiles.values()]) this.remove(tile.key);
  }

  all(): Tile[] {
    return [...this.tiles.values()];
  }

  forParticipant(participant: string): Tile[] {
    return this.all().filter((t) => !t.init.self && t.init.participant === participant);
  }

  /** The layer a remote camera tile needs right now (measured immediately). */
  measureLayer(tile: Tile): number {
    tile.desiredLayer = layerForWidth(tile.element.getBoundingClientRect().width);
    return tile.desiredLayer;
  }

  private relayout(): void {
    const layout = gridLayout(this.tiles.size, this.element.clientWidth, this.pinned !== null);
    this.element.style.setProperty("--columns", String(layout.columns));
    this.element.classList.toggle("spotlight", layout.spotlight);
  }

  private scheduleLayers(): void {
    if (this.pendingResize.size === 0) return;
    if (this.resizeTimer !== null) clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      this.resizeTimer = null;
      for (const tile of this.pendingResize) {
        const before = tile.desiredLayer;
        const layer = this.measureLayer(tile);
        if (layer !== before && tile.init.feed !== null) this.onLayer(tile.init.feed, layer);
      }
      this.pendingResize.clear();
    }, this.debounceMs);
  }

  private byElement(element: Element): Tile | undefined {
    for (const tile of this.tiles.values()) if (tile.element === element) return tile;
    return undefined;
  }
}
