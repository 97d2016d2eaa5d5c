/** Timing helpers of the address book, free of the DOM so they are tested in node. */

/** One request at a time for the newest input: starting another aborts the one in flight. */
export class LatestRequest {
  private controller: AbortController | null = null;

  /** A signal for a new request; the previous one, if still running, is aborted. */
  start(): AbortSignal {
    this.controller?.abort();
    this.controller = new AbortController();
    return this.controller.signal;
  }

  /** Abort the request in flight, if any. */
  cancel(): void {
    this.controller?.abort();
    this.controller = null;
  }

  /** Whether the request of `signal` is still the newest one (its answer should be shown). */
  isCurrent(signal: AbortSignal): boolean {
    return this.controller !== null && this.controller.signal === signal && !signal.aborted;
  }

  /** The request of `signal` ended; no longer in flight. */
  finish(signal: AbortSignal): void {
    if (this.controller?.signal === signal) this.controller = null;
  }

  get busy(): boolean {
    return this.controller !== null;
  }
}

export interface Timers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (run, ms) => globalThis.setTimeout(run, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** Runs `run` once input has been quiet for `delayMs`. */
export class Debouncer {
  private handle: unknown = null;

  constructor(
    private readonly delayMs: number,
    private readonly run: () => void,
    private readonly timers: Timers = realTimers,
  ) {}

  schedule(): void {
    this.cancel();
    this.handle = this.timers.setTimeout(() => {
      this.handle = null;
      this.run();
    }, this.delayMs);
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clearTimeout(this.handle);
    this.handle = null;
  }
}

/** The next wait after a failure: doubling from `firstMs`, at most `maxMs`. */
export function nextBackoff(previousMs: number, firstMs = 1000, maxMs = 30000): number {
  return previousMs <= 0 ? firstMs : Math.min(maxMs, previousMs * 2);
}
