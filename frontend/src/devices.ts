/**
 * Cameras, microphones and speakers: the person's choice (kept in this browser), the pickers that change it
 * (pre-join screen and the call's device panel), and the lasting message when a device cannot be used.
 */

import type { DeviceChoice, DeviceProblem } from "./media";

const CHOICE_KEY = "veche.devices";

export function loadChoice(): DeviceChoice {
  try {
    const saved = JSON.parse(localStorage.getItem(CHOICE_KEY) ?? "{}") as Partial<DeviceChoice>;
    return {
      camera: typeof saved.camera === "string" ? saved.camera : "",
      microphone: typeof saved.microphone === "string" ? saved.microphone : "",
      speaker: typeof saved.speaker === "string" ? saved.speaker : "",
    };
  } catch {
    return { camera: "", microphone: "", speaker: "" };
  }
}

export function saveChoice(choice: DeviceChoice): void {
  try {
    localStorage.setItem(CHOICE_KEY, JSON.stringify(choice));
  } catch {
    // Storage may be off (private mode): the choice lasts for this page only.
  }
}

/** Whether this browser can send a page's sound to a chosen speaker. */
export function canChooseSpeaker(): boolean {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

/** Sends `media`'s sound to speaker `deviceId` ("" = the default), where the browser can. */
export async function applySpeaker(media: HTMLMediaElement, deviceId: string): Promise<void> {
  const element = media as HTMLMediaElement & { setSinkId?: (id: string) => Promise<void> };
  if (!element.setSinkId) return;
  try {
    await element.setSinkId(deviceId);
  } catch (error) {
    console.warn("speaker choice refused", error);
  }
}

function noun(camera: boolean, microphone: boolean): string {
  if (camera && microphone) return "camera and microphone";
  return camera ? "camera" : "microphone";
}

/** What to tell the person about one problem with `what` ("camera", "microphone", "camera and microphone"). */
export function problemText(problem: DeviceProblem, what: string): string {
  switch (problem) {
    case "not_found":
      return `No ${what.replace(" and ", " or ")} was found. Connect one (and check that it is switched on), then click “Try again”.`;
    case "not_allowed":
      return (
        `This site is not allowed to use your ${what}. Allow it in the browser (the camera icon in the address bar, ` +
        `or the site's settings), then click “Try again”.`
      );
    case "in_use":
      return `Your ${what} is in use by another application. Close the other app or call using it, then click “Try again”.`;
    case "insecure":
      return `The browser gives the ${what} only to secure pages. Open the conference through its https:// address.`;
    case "failed":
      return `Your ${what} could not be started. Check it, then click “Try again”.`;
  }
}

/** The whole message for the devices that failed, or null when none did. */
export function problemMessage(camera: DeviceProblem | null, microphone: DeviceProblem | null): string | null {
  if (camera && microphone && camera === microphone) return problemText(camera, noun(true, true));
  const parts: string[] = [];
  if (camera) parts.push(problemText(camera, "camera"));
  if (microphone) parts.push(problemText(microphone, "microphone"));
  return parts.length ? parts.join(" ") : null;
}

export interface DeviceAlertActions {
  retry(): void;
  withoutCamera(): void;
}

/** A message about unusable devices that stays until they work, with "Try again" and "… without camera". */
export class DeviceAlert {
  readonly element: HTMLDivElement;
  private readonly text: HTMLParagraphElement;
  private readonly retryButton: HTMLButtonElement;
  private readonly withoutButton: HTMLButtonElement;

  constructor(actions: DeviceAlertActions, withoutLabel: string) {
    this.element = document.createElement("div");
    this.element.className = "device-problem";
    this.element.setAttribute("role", "alert");
    this.element.hidden = true;
    this.text = document.createElement("p");
    this.text.className = "device-problem-text";
    this.retryButton = document.createElement("button");
    this.retryButton.type = "button";
    this.retryButton.className = "btn-devices-retry";
    this.retryButton.textContent = "Try again";
    this.retryButton.addEventListener("click", () => actions.retry());
    this.withoutButton = document.createElement("button");
    this.withoutButton.type = "button";
    this.withoutButton.className = "btn-without-camera";
    this.withoutButton.textContent = withoutLabel;
    this.withoutButton.addEventListener("click", () => actions.withoutCamera());
    const buttons = document.createElement("div");
    buttons.className = "device-problem-actions";
    buttons.append(this.retryButton, this.withoutButton);
    this.element.append(this.text, buttons);
  }

  /** Shows the problems (or hides the message when there are none); `problem` data says which, for styling and tests. */
  show(camera: DeviceProblem | null, microphone: DeviceProblem | null): void {
    const message = problemMessage(camera, microphone);
    this.element.hidden = message === null;
    this.text.textContent = message ?? "";
    this.element.dataset.camera = camera ?? "";
    this.element.dataset.microphone = microphone ?? "";
    this.withoutButton.hidden = camera === null;
  }

  hide(): void {
    this.element.hidden = true;
  }

  setBusy(busy: boolean): void {
    this.retryButton.disabled = busy;
    this.retryButton.textContent = busy ? "Trying…" : "Try again";
  }
}

export type DeviceKind = "camera" | "microphone" | "speaker";

const KIND_OF: Record<MediaDeviceKind, DeviceKind> = {
  videoinput: "camera",
  audioinput: "microphone",
  audiooutput: "speaker",
};

const LABELS: Record<DeviceKind, string> = { camera: "Camera", microphone: "Microphone", speaker: "Speaker" };

/** Three selects (camera, microphone, speaker) filled from the browser's device list. */
export class DevicePicker {
  readonly element: HTMLDivElement;
  private readonly selects = new Map<DeviceKind, HTMLSelectElement>();

  constructor(
    idPrefix: string,
    private readonly onChange: (kind: DeviceKind, deviceId: string) => void,
  ) {
    this.element = document.createElement("div");
    this.element.className = "device-picker";
    for (const kind of ["camera", "microphone", "speaker"] as DeviceKind[]) {
      const id = `${idPrefix}-${kind}`;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.className = "device-choice";
      label.textContent = LABELS[kind];
      const select = document.createElement("select");
      select.id = id;
      select.addEventListener("change", () => this.onChange(kind, select.value));
      label.append(select);
      if (kind === "speaker" && !canChooseSpeaker()) label.hidden = true;
      this.selects.set(kind, select);
      this.element.append(label);
    }
    navigator.mediaDevices?.addEventListener?.("devicechange", () => void this.refresh());
  }

  private current: DeviceChoice = { camera: "", microphone: "", speaker: "" };

  /** Fills the lists again; `current` are the devices in use (shown as selected). */
  async refresh(current: DeviceChoice = this.current): Promise<void> {
    this.current = current;
    const devices = (await navigator.mediaDevices?.enumerateDevices?.().catch(() => [])) ?? [];
    const counts: Record<DeviceKind, number> = { camera: 0, microphone: 0, speaker: 0 };
    const options = new Map<DeviceKind, HTMLOptionElement[]>([
      ["camera", []],
      ["microphone", []],
      ["speaker", []],
    ]);
    for (const device of devices) {
      const kind = KIND_OF[device.kind];
      if (!kind || !device.deviceId) continue; // no ids before permission is given
      counts[kind] += 1;
      const option = document.createElement("option");
      option.value = device.deviceId;
      option.textContent = device.label || `${LABELS[kind]} ${counts[kind]}`;
      options.get(kind)?.push(option);
    }
    for (const [kind, select] of this.selects) {
      const list = options.get(kind) ?? [];
      if (list.length === 0) {
        const none = document.createElement("option");
        none.value = "";
        none.textContent = kind === "speaker" ? "Default" : `No ${LABELS[kind].toLowerCase()} available`;
        list.push(none);
      }
      select.replaceChildren(...list);
      const wanted = current[kind];
      if (wanted && list.some((o) => o.value === wanted)) select.value = wanted;
      select.disabled = list.length === 1 && list[0]?.value === "";
    }
  }
}

/** The device a track captures, for showing it as chosen. */
export function deviceOf(track: MediaStreamTrack | undefined): string {
  return track?.getSettings().deviceId ?? "";
}
