/**
 * "X is calling you — Join / Decline": the calls ringing for the signed-in user, on the home and address book
 * pages. One long poll at a time: the server answers when the ringing calls change.
 */

import { ApiError, declineCall, isAbort, ringingCalls, type RingingCall } from "./api";
import { LatestRequest, nextBackoff } from "./requests";

const WAIT_S = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => window.setTimeout(resolve, ms));
}

export class IncomingCallsView {
  private readonly poll = new LatestRequest();
  private readonly shown = new Map<number, HTMLElement>();
  private readonly declined = new Set<number>();
  private readonly expiry = new Map<number, number>();
  private heard: number[] = []; // conference ids of the calls the server last said are ringing

  constructor(
    private readonly root: HTMLElement,
    private readonly csrf: string,
  ) {}

  start(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    let backoff = 0;
    let waitS = 0; // the first answer at once: calls already ringing
    for (;;) {
      const signal = this.poll.start();
      try {
        this.render(await ringingCalls(this.heard, waitS, signal));
        backoff = 0;
        waitS = WAIT_S;
      } catch (error) {
        if (isAbort(error)) return;
        if (error instanceof ApiError && error.status === 401) return; // logged out: nothing rings here
        backoff = nextBackoff(backoff);
        await sleep(backoff);
      } finally {
        this.poll.finish(signal);
      }
    }
  }

  private render(calls: RingingCall[]): void {
    this.heard = calls.map((c) => c.conference_id);
    const ringing = new Set<number>();
    for (const call of calls) {
      if (this.declined.has(call.conference_id)) continue;
      ringing.add(call.conference_id);
      if (!this.shown.has(call.conference_id)) this.add(call);
    }
    for (const id of [...this.shown.keys()]) if (!ringing.has(id)) this.remove(id);
    for (const id of [...this.declined]) if (!this.heard.includes(id)) this.declined.delete(id);
  }

  private add(call: RingingCall): void {
    const id = call.conference_id;
    const banner = document.createElement("div");
    banner.className = "incoming-call";
    banner.dataset.conference = String(id);
    banner.setAttribute("role", "group");
    const text = document.createElement("p");
    text.id = `incoming-call-${id}`;
    text.className = "incoming-call-text";
    text.textContent = `${call.caller.display_name} is calling you`;
    banner.setAttribute("aria-labelledby", text.id);
    const join = this.button("Join", "join", () => window.location.assign(call.url));
    const decline = this.button("Decline", "decline", () => void this.decline(id, banner));
    const problem = document.createElement("span");
    problem.className = "error incoming-call-error";
    banner.append(text, join, decline, problem);
    this.root.append(banner);
    this.shown.set(id, banner);
    // Stop ringing on time even if the server cannot be reached.
    this.expiry.set(id, window.setTimeout(() => this.remove(id), Math.max(1, call.expires_in_s) * 1000));
  }

  private button(label: string, cls: string, run: () => void): HTMLButtonElement {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.addEventListener("click", run);
    return b;
  }

  private remove(id: number): void {
    this.shown.get(id)?.remove();
    this.shown.delete(id);
    window.clearTimeout(this.expiry.get(id));
    this.expiry.delete(id);
  }

  private async decline(id: number, banner: HTMLElement): Promise<void> {
    const buttons = banner.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    try {
      await declineCall(id, this.csrf);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) {
        // 404: it stopped ringing meanwhile. Anything else: say so and let the user try again.
        buttons.forEach((b) => (b.disabled = false));
        const problem = banner.querySelector(".incoming-call-error");
        if (problem) problem.textContent = error instanceof ApiError ? error.message : String(error);
        return;
      }
    }
    this.declined.add(id);
    this.remove(id);
  }
}
