/**
 * The pre-join screen (`#prejoin`): camera preview, choice of camera, microphone and speaker, a microphone level
 * meter, "join muted" / "camera off", and what to do when a device cannot be used. Joining hands the captured
 * stream to the conference (conference.ts), which publishes it as it is.
 */

import { DeviceAlert, DevicePicker, deviceOf, loadChoice, saveChoice, type DeviceKind } from "./devices";
import { LevelMeter } from "./level_meter";
import { captureCamera, captureTrack, stopStream, type DeviceChoice, type DeviceProblem } from "./media";

const SKIP_KEY = "veche.prejoin";

/** Whether this browser was told to join directly, without the pre-join screen. */
export function skipsPreJoin(): boolean {
  try {
    return localStorage.getItem(SKIP_KEY) === "skip";
  } catch {
    return false;
  }
}

/** Remembers in this browser whether to join directly next time (false: show the pre-join screen). */
export function setSkipPreJoin(skip: boolean): void {
  try {
    if (skip) localStorage.setItem(SKIP_KEY, "skip");
    else localStorage.removeItem(SKIP_KEY);
  } catch {
    // not remembered: the default (the screen) applies next time
  }
}

/** What the person chose before joining. */
export interface JoinSetup {
  stream: MediaStream | null;
  micOn: boolean;
  camOn: boolean;
  choice: DeviceChoice;
  camera: DeviceProblem | null;
  microphone: DeviceProblem | null;
}

export interface PreJoinOptions {
  guest: boolean;
  /** A scheduled meeting's guests give its PIN (the join checks it). */
  pinRequired?: boolean;
  onJoin(setup: JoinSetup, displayName: string, pin: string): void;
}

export class PreJoin {
  private stream: MediaStream | null = null;
  private choice: DeviceChoice = loadChoice();
  private camera: DeviceProblem | null = null;
  private microphone: DeviceProblem | null = null;
  private micOn = true;
  private camOn = true;
  private acquiring: Promise<void> | null = null;

  private readonly video: HTMLVideoElement;
  private readonly cameraOff: HTMLDivElement;
  private readonly micButton: HTMLButtonElement;
  private readonly camButton: HTMLButtonElement;
  private readonly meter = new LevelMeter("prejoin-level");
  private readonly alert: DeviceAlert;
  private readonly picker: DevicePicker;
  private readonly name: HTMLInputElement | null;
  private readonly pin: HTMLInputElement | null;
  private readonly skip: HTMLInputElement;
  private readonly joinButton: HTMLButtonElement;

  constructor(
    private readonly container: HTMLElement,
    private readonly options: PreJoinOptions,
  ) {
    const form = document.createElement("form");
    form.className = "prejoin-form";
    form.setAttribute("aria-labelledby", "prejoin-title");
    const title = document.createElement("h2");
    title.id = "prejoin-title";
    title.textContent = "Ready to join?";

    const preview = document.createElement("div");
    preview.className = "prejoin-preview";
    this.video = document.createElement("video");
    this.video.id = "prejoin-video";
    this.video.autoplay = true;
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.setAttribute("aria-label", "Your camera");
    this.cameraOff = document.createElement("div");
    this.cameraOff.className = "prejoin-camera-off";
    preview.append(this.video, this.cameraOff);

    this.micButton = toggle("prejoin-mic", () => this.setMic(!this.micOn));
    this.camButton = toggle("prejoin-cam", () => this.setCamera(!this.camOn));
    const toggles = document.createElement("div");
    toggles.className = "prejoin-toggles";
    toggles.append(this.micButton, this.camButton, this.meter.element);

    this.alert = new DeviceAlert(
      { retry: () => void this.acquire(), withoutCamera: () => this.join(false) },
      "Join without camera",
    );
    this.picker = new DevicePicker("prejoin", (kind, id) => void this.choose(kind, id));

    // Side by side on a wide screen (the preview, what to join with), one above the other on a phone.
    const look = document.createElement("div");
    look.className = "prejoin-look";
    look.append(preview, this.alert.element, toggles);
    const settings = document.createElement("div");
    settings.className = "prejoin-settings";
    settings.append(this.picker.element);
    form.append(title, look, settings);
    if (options.guest) {
      const label = document.createElement("label");
      label.htmlFor = "prejoin-name";
      label.textContent = "Your name";
      this.name = document.createElement("input");
      Object.assign(this.name, { id: "prejoin-name", type: "text", autocomplete: "name", required: true, maxLength: 64 });
      this.name.addEventListener("input", () => this.name?.setCustomValidity(""));
      settings.append(label, this.name);
    } else {
      this.name = null;
    }
    if (options.pinRequired) {
      const label = document.createElement("label");
      label.htmlFor = "prejoin-pin";
      label.textContent = "Meeting PIN (from the invitation)";
      this.pin = document.createElement("input");
      Object.assign(this.pin, {
        id: "prejoin-pin",
        type: "password",
        inputMode: "numeric",
        autocomplete: "off",
        required: true,
        maxLength: 12,
        pattern: "[0-9]{4,12}",
      });
      this.pin.addEventListener("input", () => this.pin?.setCustomValidity(""));
      settings.append(label, this.pin);
    } else {
      this.pin = null;
    }
    const skipLabel = document.createElement("label");
    skipLabel.className = "prejoin-skip";
    this.skip = document.createElement("input");
    this.skip.type = "checkbox";
    this.skip.id = "prejoin-skip";
    skipLabel.append(this.skip, " Next time, join directly without this screen");
    this.joinButton = document.createElement("button");
    this.joinButton.type = "submit";
    this.joinButton.id = "prejoin-join";
    this.joinButton.textContent = "Join now";
    settings.append(skipLabel, this.joinButton);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.join(this.camOn);
    });
    container.replaceChildren(form);
  }

  /** Shows the screen and starts the preview. */
  show(): void {
    this.container.hidden = false;
    this.joinButton.disabled = false;
    this.render();
    void this.acquire();
    // After a refused PIN the name is there already: the PIN is what to fix.
    const unnamed = this.name !== null && !this.name.value.trim();
    (unnamed ? this.name : (this.pin ?? this.name ?? this.joinButton))?.focus();
  }

  hide(): void {
    this.container.hidden = true;
  }

  /** (Re)captures camera and microphone, replacing what was captured. */
  private acquire(): Promise<void> {
    this.acquiring ??= (async () => {
      this.alert.setBusy(true);
      stopStream(this.stream);
      this.stream = null;
      const media = await captureCamera(this.choice, { audio: true, video: true });
      this.stream = media.stream;
      this.camera = media.camera;
      this.microphone = media.microphone;
      this.alert.setBusy(false);
      this.applyEnabled();
      this.video.srcObject = this.stream;
      this.meter.attach(this.stream?.getAudioTracks()[0] ?? null);
      await this.picker.refresh(this.current());
      this.render();
    })().finally(() => {
      this.acquiring = null;
    });
    return this.acquiring;
  }

  /** A device picked from a list: capture it instead of the one in use. */
  private async choose(kind: DeviceKind, deviceId: string): Promise<void> {
    this.choice = { ...this.choice, [kind]: deviceId };
    saveChoice(this.choice);
    if (kind === "speaker") return;
    const trackKind = kind === "camera" ? "video" : "audio";
    const { track, problem } = await captureTrack(trackKind, deviceId);
    if (kind === "camera") this.camera = problem;
    else this.microphone = problem;
    if (track) {
      const stream = this.stream ?? new MediaStream();
      for (const old of trackKind === "video" ? stream.getVideoTracks() : stream.getAudioTracks()) {
        old.stop();
        stream.removeTrack(old);
      }
      stream.addTrack(track);
      this.stream = stream;
      this.video.srcObject = stream;
      if (trackKind === "audio") this.meter.attach(track);
    }
    this.applyEnabled();
    this.render();
  }

  private setMic(on: boolean): void {
    this.micOn = on;
    this.applyEnabled();
    this.render();
  }

  private setCamera(on: boolean): void {
    this.camOn = on;
    this.applyEnabled();
    this.render();
  }

  private applyEnabled(): void {
    for (const track of this.stream?.getAudioTracks() ?? []) track.enabled = this.micOn;
    for (const track of this.stream?.getVideoTracks() ?? []) track.enabled = this.camOn;
  }

  private current(): DeviceChoice {
    return {
      camera: deviceOf(this.stream?.getVideoTracks()[0]) || this.choice.camera,
      microphone: deviceOf(this.stream?.getAudioTracks()[0]) || this.choice.microphone,
      speaker: this.choice.speaker,
    };
  }

  private render(): void {
    const hasVideo = (this.stream?.getVideoTracks().length ?? 0) > 0;
    const hasAudio = (this.stream?.getAudioTracks().length ?? 0) > 0;
    setToggle(this.micButton, this.micOn && hasAudio, hasAudio ? (this.micOn ? "Microphone on" : "Microphone off") : "No microphone");
    setToggle(this.camButton, this.camOn && hasVideo, hasVideo ? (this.camOn ? "Camera on" : "Camera off") : "No camera");
    this.micButton.disabled = !hasAudio;
    this.camButton.disabled = !hasVideo;
    this.cameraOff.hidden = hasVideo && this.camOn;
    this.cameraOff.textContent = hasVideo ? "Your camera is off" : "No camera";
    this.alert.show(this.camera, this.microphone);
  }

  private join(withCamera: boolean): void {
    if (this.name) {
      const name = this.name.value.trim();
      if (!name) {
        this.name.setCustomValidity("Please enter your name.");
        this.name.reportValidity();
        return;
      }
    }
    if (this.pin && !/^[0-9]{4,12}$/.test(this.pin.value.trim())) {
      this.pin.setCustomValidity("Enter the meeting's PIN: 4 to 12 digits.");
      this.pin.reportValidity();
      return;
    }
    if (!withCamera) this.setCamera(false);
    if (this.skip.checked) setSkipPreJoin(true);
    this.joinButton.disabled = true;
    this.meter.close();
    this.hide();
    const stream = this.stream;
    this.stream = null; // the conference owns it now
    this.options.onJoin(
      {
        stream,
        micOn: this.micOn,
        camOn: this.camOn && withCamera,
        choice: this.current(),
        camera: this.camera,
        microphone: this.microphone,
      },
      this.name?.value.trim() ?? "",
      this.pin?.value.trim() ?? "",
    );
  }
}

function toggle(id: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.id = id;
  b.className = "control";
  b.addEventListener("click", onClick);
  return b;
}

function setToggle(button: HTMLButtonElement, pressed: boolean, text: string): void {
  button.setAttribute("aria-pressed", String(pressed));
  button.textContent = text;
  button.classList.toggle("off", !pressed);
}
