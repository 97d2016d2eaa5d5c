/**
 * The video grid: lays tiles out in a responsive CSS grid and picks the simulcast layer each remote
 * camera tile needs from its rendered width.
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

export type LayerListener = (feed: number, layer: number) => void;

export class Grid {
  private readonly tiles = new Map<string, Tile>();
  private readonly pendingResize = new Set<Tile>();
  private resizeTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly observer: ResizeObserver;

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
    this.relayout();
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
    const columns = gridColumns(this.tiles.size, this.element.clientWidth);
    this.element.style.setProperty("--columns", String(columns));
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
