/**
 * Devices during the call: the lasting message when the camera or microphone cannot be used (with "Try again"),
 * and the device panel (`#device-panel`: camera, microphone, speaker, a microphone level meter). The conference
 * (conference.ts) captures and swaps the tracks; this view only shows and asks.
 */

import { DeviceAlert, DevicePicker, applySpeaker, deviceOf, saveChoice } from "./devices";
import { LevelMeter } from "./level_meter";
import type { DeviceChoice, DeviceProblem } from "./media";
import { setSkipPreJoin, skipsPreJoin } from "./prejoin";
import type { Page } from "./ui";

export interface CallDeviceActions {
  /** "Try again": capture what is missing. */
  retry(): void;
  /** Another camera or microphone was chosen. */
  switchDevice(kind: "camera" | "microphone", deviceId: string): void;
  /** The panel's close button. */
  closePanel(): void;
}

export class CallDevices {
  private readonly alert: DeviceAlert;
  private readonly picker: DevicePicker;
  private readonly meter = new LevelMeter("call-level");

  constructor(
    private readonly page: Page,
    public choice: DeviceChoice,
    actions: CallDeviceActions,
  ) {
    this.alert = new DeviceAlert({ retry: () => actions.retry(), withoutCamera: () => this.alert.hide() }, "Continue without camera");
    page.callAlerts.append(this.alert.element);
    this.picker = new DevicePicker("call", (kind, deviceId) => {
      this.choice = { ...this.choice, [kind]: deviceId };
      saveChoice(this.choice);
      if (kind === "speaker") this.applySpeakerToAll();
      else actions.switchDevice(kind, deviceId);
    });
    const title = document.createElement("h2");
    title.textContent = "Devices";
    const level = document.createElement("div");
    level.className = "device-level";
    level.append("Microphone level ", this.meter.element);
    const close = document.createElement("button");
    close.type = "button";
    close.className = "device-panel-close";
    close.textContent = "Close";
    close.addEventListener("click", () => actions.closePanel());
    // Who once chose to join directly gets the pre-join screen back here.
    const again = document.createElement("label");
    again.className = "prejoin-skip";
    const showPreJoin = document.createElement("input");
    showPreJoin.type = "checkbox";
    showPreJoin.id = "call-show-prejoin";
    showPreJoin.checked = !skipsPreJoin();
    showPreJoin.addEventListener("change", () => setSkipPreJoin(!showPreJoin.checked));
    again.append(showPreJoin, " Check devices before joining next time");
    page.devicePanel.replaceChildren(title, this.picker.element, level, again, close);
  }

  /** Shows (or, with nulls, removes) the lasting message about the devices that do not work. */
  showProblems(camera: DeviceProblem | null, microphone: DeviceProblem | null): void {
    this.alert.show(camera, microphone);
  }

  setBusy(busy: boolean): void {
    this.alert.setBusy(busy);
  }

  /** The panel opened (fill the lists, follow the microphone) or closed. */
  panelOpened(open: boolean, stream: MediaStream | null): void {
    if (!open) {
      this.meter.detach();
      return;
    }
    void this.picker.refresh({
      camera: deviceOf(stream?.getVideoTracks()[0]) || this.choice.camera,
      microphone: deviceOf(stream?.getAudioTracks()[0]) || this.choice.microphone,
      speaker: this.choice.speaker,
    });
    this.meter.attach(stream?.getAudioTracks()[0] ?? null);
  }

  /** The captured tracks changed: the panel, when open, shows them. */
  tracksChanged(stream: MediaStream | null): void {
    if (!this.page.devicePanel.hidden) this.panelOpened(true, stream);
  }

  /** Plays a remote tile through the chosen speaker. */
  applySpeaker(video: HTMLVideoElement): void {
    if (this.choice.speaker) void applySpeaker(video, this.choice.speaker);
  }

  private applySpeakerToAll(): void {
    for (const video of this.page.grid.querySelectorAll<HTMLVideoElement>(".tile:not(.self) video")) {
      void applySpeaker(video, this.choice.speaker);
    }
  }

  close(): void {
    this.meter.close();
    this.alert.hide();
  }
}
