/**
 * Calls on the home and address book pages. The callee: "X is calling you — Join / Decline", the calls ringing for
 * the signed-in user. The caller: "Ringing X… — Cancel", then "X declined" / "X did not answer", or into the
 * conference once X answers. Each is one long poll at a time: the server answers when what it said changes.
 */

import {
  answerCall,
  ApiError,
  cancelCall,
  declineCall,
  isAbort,
  outgoingCall,
  ringingCalls,
  type CallState,
  type OutgoingCall,
  type RingingCall,
} from "./api";
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
    const join = this.button("Join", "join", () => void this.join(call, banner));
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

  /** Tells the caller's page I am coming (it follows me into the conference), then opens the conference. */
  private async join(call: RingingCall, banner: HTMLElement): Promise<void> {
    banner.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      await answerCall(call.conference_id, this.csrf);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this.remove(call.conference_id); // the caller hung up, or it rang out, meanwhile
        return;
      }
      // Anything else (the server briefly unreachable): join anyway; the caller sees me arrive.
    }
    window.location.assign(call.url);
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

/** What the caller reads while his call rings and once it ended. */
export function outgoingText(state: CallState, callee: string): string {
  switch (state) {
    case "ringing":
      return `Ringing ${callee}…`;
    case "answered":
      return `${callee} answered — joining the call…`;
    case "declined":
      return `${callee} declined`;
    case "unanswered":
      return `${callee} did not answer`;
    case "cancelled":
      return "Call cancelled";
  }
}

/**
 * My call (`#outgoing-call`): "Ringing Bob…" with Cancel while it rings; when Bob answers the page opens the
 * conference; when he declines or does not answer, it says so, with Close.
 */
export class OutgoingCallView {
  private readonly poll = new LatestRequest();
  private current: { conferenceId: number; callee: string; url: string } | null = null;
  private banner: HTMLElement | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly csrf: string,
  ) {}

  /** The call was placed (`POST .../call` answered): show it ringing and follow it. */
  start(conferenceId: number, callee: string, url: string): void {
    const previous = this.current;
    if (previous && previous.conferenceId !== conferenceId) {
      void cancelCall(previous.conferenceId, this.csrf).catch(() => undefined); // one call at a time
    }
    this.current = { conferenceId, callee, url };
    this.show("ringing");
    void this.follow(conferenceId);
  }

  private async follow(conferenceId: number): Promise<void> {
    let known: CallState | null = "ringing";
    let waitS = 0; // first, at once: it may have been answered already
    let backoff = 0;
    while (this.current?.conferenceId === conferenceId) {
      const signal = this.poll.start();
      try {
        const call: OutgoingCall = await outgoingCall(conferenceId, known, waitS, signal);
        if (this.current?.conferenceId !== conferenceId) return;
        backoff = 0;
        waitS = WAIT_S;
        known = call.state;
        this.current.url = call.url || this.current.url;
        if (call.state === "ringing") continue;
        this.ended(call.state);
        return;
      } catch (error) {
        if (isAbort(error)) return;
        if (error instanceof ApiError && (error.status === 404 || error.status === 401)) {
          this.ended("cancelled"); // forgotten by the server: nothing rings any more
          return;
        }
        backoff = nextBackoff(backoff);
        await sleep(backoff);
      } finally {
        this.poll.finish(signal);
      }
    }
  }

  private ended(state: CallState): void {
    const call = this.current;
    if (!call) return;
    if (state === "cancelled") {
      this.close();
      return;
    }
    this.show(state);
    if (state === "answered") window.location.assign(call.url);
  }

  private async cancel(): Promise<void> {
    const call = this.current;
    if (!call) return;
    this.banner?.querySelectorAll("button").forEach((b) => (b.disabled = true));
    try {
      const ended = await cancelCall(call.conferenceId, this.csrf);
      if (this.current !== call) return;
      this.poll.cancel();
      this.ended(ended.state); // "answered" if the answer came first: then we go to the call after all
    } catch (error) {
      if (this.current !== call) return;
      if (error instanceof ApiError && error.status === 404) {
        this.poll.cancel();
        this.close();
        return;
      }
      this.banner?.querySelectorAll("button").forEach((b) => (b.disabled = false));
      const problem = this.banner?.querySelector(".incoming-call-error");
      if (problem) problem.textContent = error instanceof ApiError ? error.message : String(error);
    }
  }

  private close(): void {
    this.poll.cancel();
    this.current = null;
    this.banner?.remove();
    this.banner = null;
  }

  private show(state: CallState): void {
    const call = this.current;
    if (!call) return;
    const banner = document.createElement("div");
    banner.className = "incoming-call outgoing-call";
    banner.dataset.conference = String(call.conferenceId);
    banner.dataset.state = state;
    banner.setAttribute("role", "group");
    const text = document.createElement("p");
    text.id = `outgoing-call-${call.conferenceId}`;
    text.className = "incoming-call-text outgoing-call-text";
    text.textContent = outgoingText(state, call.callee);
    banner.setAttribute("aria-labelledby", text.id);
    banner.append(text);
    if (state === "ringing") {
      banner.append(this.button("Cancel", "decline", `Cancel the call to ${call.callee}`, () => void this.cancel()));
    } else if (state !== "answered") {
      banner.append(this.button("Close", "close", "Close", () => this.close()));
    }
    const problem = document.createElement("span");
    problem.className = "error incoming-call-error";
    banner.append(problem);
    if (this.banner) this.banner.replaceWith(banner);
    else this.root.append(banner);
    this.banner = banner;
  }

  private button(text: string, cls: string, label: string, run: () => void): HTMLButtonElement {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.addEventListener("click", run);
    return b;
  }
}
