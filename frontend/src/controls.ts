/** The call controls: microphone, camera, screen share, leave. `aria-pressed="true"` means on. */

import type { Page } from "./ui";

export interface ControlActions {
  toggleMic(): void;
  toggleCamera(): void;
  toggleScreen(): void;
  leave(): void;
}

export class Controls {
  constructor(
    private readonly page: Page,
    actions: ControlActions,
  ) {
    page.micButton.addEventListener("click", () => actions.toggleMic());
    page.camButton.addEventListener("click", () => actions.toggleCamera());
    page.screenButton.addEventListener("click", () => actions.toggleScreen());
    page.leaveButton.addEventListener("click", () => actions.leave());
  }

  setMic(on: boolean, available: boolean): void {
    setToggle(this.page.micButton, on && available, available, on ? "Mute microphone" : "Unmute microphone");
  }

  setCamera(on: boolean, available: boolean): void {
    setToggle(this.page.camButton, on && available, available, on ? "Turn camera off" : "Turn camera on");
  }

  setScreen(on: boolean, available: boolean): void {
    setToggle(this.page.screenButton, on, available, on ? "Stop sharing the screen" : "Share the screen");
  }

  /** Disables everything but nothing else (after leaving or being removed). */
  disableAll(): void {
    for (const b of [this.page.micButton, this.page.camButton, this.page.screenButton, this.page.leaveButton]) {
      b.disabled = true;
    }
  }
}

function setToggle(button: HTMLButtonElement, pressed: boolean, enabled: boolean, title: string): void {
  button.setAttribute("aria-pressed", String(pressed));
  button.disabled = !enabled;
  button.title = title;
  button.classList.toggle("off", !pressed);
}
