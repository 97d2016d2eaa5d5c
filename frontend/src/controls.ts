/**
 * The call controls: microphone, camera, screen share, devices, the side panel (narrow screens), leave.
 * `aria-pressed="true"` means on.
 */

import type { Page } from "./ui";

export interface ControlActions {
  toggleMic(): void;
  toggleCamera(): void;
  toggleScreen(): void;
  /** The devices panel was opened (`true`) or closed. */
  devicesOpened(open: boolean): void;
  leave(): void;
}

/**
 * How a microphone or camera button stands: `ready` (a device is captured: on or off as chosen), `missing`
 * (none could be captured: clicking tries again), `listener` (only speakers may send), `closed` (not in a call).
 */
export type DeviceButtonState = "ready" | "missing" | "listener" | "closed";

export class Controls {
  constructor(
    private readonly page: Page,
    private readonly actions: ControlActions,
  ) {
    page.micButton.addEventListener("click", () => actions.toggleMic());
    page.camButton.addEventListener("click", () => actions.toggleCamera());
    page.screenButton.addEventListener("click", () => actions.toggleScreen());
    page.leaveButton.addEventListener("click", () => actions.leave());
    page.stopPresenting.addEventListener("click", () => actions.toggleScreen());
    page.devicesButton.addEventListener("click", () => this.openDevices(page.devicePanel.hidden === true));
    page.sideButton.addEventListener("click", () => {
      const open = !page.call.classList.contains("side-open");
      page.call.classList.toggle("side-open", open);
      page.sideButton.setAttribute("aria-pressed", String(open));
    });
  }

  openDevices(open: boolean): void {
    this.page.devicePanel.hidden = !open;
    this.page.devicesButton.setAttribute("aria-pressed", String(open));
    this.actions.devicesOpened(open);
  }

  setMic(on: boolean, state: DeviceButtonState): void {
    const title =
      state === "missing" ? "No microphone is working — click to try again" : on ? "Mute microphone" : "Unmute microphone";
    setToggle(this.page.micButton, on && state === "ready", state, title);
  }

  setCamera(on: boolean, state: DeviceButtonState): void {
    const title =
      state === "missing" ? "No camera is working — click to try again" : on ? "Turn camera off" : "Turn camera on";
    setToggle(this.page.camButton, on && state === "ready", state, title);
  }

  /** While I share my screen: the button says so, and a banner with a Stop button is over the stage. */
  setScreen(on: boolean, available: boolean): void {
    const b = this.page.screenButton;
    b.setAttribute("aria-pressed", String(on));
    b.disabled = !available;
    b.title = on ? "Stop sharing the screen" : "Share the screen";
    b.classList.toggle("off", !on);
    this.page.presenting.hidden = !on;
  }

  /** Disables everything but nothing else (after leaving or being removed). */
  disableAll(): void {
    const page = this.page;
    for (const b of [page.micButton, page.camButton, page.screenButton, page.devicesButton, page.leaveButton]) {
      b.disabled = true;
    }
    page.presenting.hidden = true;
    page.devicePanel.hidden = true;
  }
}

function setToggle(button: HTMLButtonElement, pressed: boolean, state: DeviceButtonState, title: string): void {
  button.setAttribute("aria-pressed", String(pressed));
  // A missing device keeps its button: clicking it is how one tries again.
  button.disabled = state === "listener" || state === "closed";
  button.dataset.device = state;
  if (state !== "listener") button.title = title;
  button.classList.toggle("off", !pressed);
}
