/** One video tile: a participant's camera or screen (or my own preview). */

import type { Source } from "../protocol";

export interface TileInit {
  participant: string;
  feed: number | null;
  source: Source;
  self: boolean;
  name: string;
}

export class Tile {
  readonly element: HTMLDivElement;
  readonly video: HTMLVideoElement;
  private readonly nameLabel: HTMLSpanElement;
  private readonly mutedBadge: HTMLSpanElement;
  private readonly cameraOff: HTMLDivElement;
  private readonly withheld: HTMLDivElement;
  /** The simulcast layer this tile's size calls for (camera feeds only). */
  desiredLayer: number | null = null;

  constructor(readonly init: TileInit) {
    const el = document.createElement("div");
    el.className = init.self ? "tile self" : "tile";
    el.dataset.participant = init.participant;
    if (init.feed !== null) el.dataset.feed = String(init.feed);
    el.dataset.source = init.source;
    el.setAttribute("role", "group");

    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    if (init.self) {
      video.muted = true;
      video.setAttribute("muted", "");
    }

    const cameraOff = document.createElement("div");
    cameraOff.className = "tile-camera-off";
    cameraOff.textContent = "Camera off";
    cameraOff.hidden = true;

    const withheld = document.createElement("div");
    withheld.className = "tile-withheld";
    withheld.hidden = true;

    const caption = document.createElement("div");
    caption.className = "tile-caption";
    const nameLabel = document.createElement("span");
    nameLabel.className = "tile-name";
    const mutedBadge = document.createElement("span");
    mutedBadge.className = "tile-muted";
    mutedBadge.textContent = "muted";
    mutedBadge.hidden = true;
    caption.append(nameLabel, mutedBadge);

    el.append(video, cameraOff, withheld, caption);
    this.element = el;
    this.video = video;
    this.nameLabel = nameLabel;
    this.mutedBadge = mutedBadge;
    this.cameraOff = cameraOff;
    this.withheld = withheld;
    this.setName(init.name);
  }

  get key(): string {
    return tileKey(this.init.participant, this.init.feed, this.init.source, this.init.self);
  }

  /** My own tiles keep their element across reconnections, where my participant id changes. */
  setParticipant(participant: string): void {
    this.element.dataset.participant = participant;
  }

  setName(name: string): void {
    const suffix = this.init.source === "screen" ? " (screen)" : "";
    const label = (this.init.self ? `${name} (you)` : name) + suffix;
    this.nameLabel.textContent = label;
    this.element.setAttribute("aria-label", label);
  }

  /** Shows whether the participant's microphone is muted (camera tiles only). */
  setAudio(on: boolean): void {
    this.mutedBadge.hidden = on || this.init.source === "screen";
    this.element.classList.toggle("muted", !on);
  }

  setVideo(on: boolean): void {
    this.cameraOff.hidden = on || this.init.source === "screen";
  }

  /** Says in the tile why its video cannot be shown here (null: it can). */
  setVideoWithheld(message: string | null): void {
    this.withheld.textContent = message ?? "";
    this.withheld.hidden = message === null;
    this.element.classList.toggle("video-withheld", message !== null);
  }

  /** Shows a stream; when the browser refuses to autoplay sound, plays muted and reports it. */
  attach(stream: MediaStream, onSoundBlocked: () => void): void {
    if (this.video.srcObject === stream) return; // a further track of the same stream: already playing
    this.video.srcObject = stream;
    this.video.play().catch((error: unknown) => {
      if (this.video.muted || !(error instanceof DOMException) || error.name !== "NotAllowedError") return;
      this.video.muted = true;
      this.video.play().catch(() => undefined);
      onSoundBlocked();
    });
  }

  detach(): void {
    this.video.srcObject = null;
    this.element.remove();
  }
}

export function tileKey(participant: string, feed: number | null, source: Source, self: boolean): string {
  return self ? `self:${source}` : `feed:${feed ?? participant}`;
}
