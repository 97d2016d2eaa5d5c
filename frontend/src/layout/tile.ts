/**
 * One video tile: a participant's camera or screen (or my own preview), with the name, a muted badge,
 * initials while the camera is off, an audio level meter and a ring while the person speaks, and buttons
 * to pin the tile (the grid then gives it the big area) or show it full screen.
 */

import { ICONS, svgIcon } from "../icons";
import type { Source } from "../protocol";

export interface TileInit {
  participant: string;
  feed: number | null;
  source: Source;
  self: boolean;
  name: string;
}

/** Up to two letters for a person's avatar: the first letters of the first and last words ("Ada Lovelace" → "AL"). */
export function initials(name: string): string {
  const words = name
    .normalize("NFC")
    .split(/[\s\-_.,;:()[\]{}"'“”«»]+/u)
    .filter((word) => /[\p{L}\p{N}]/u.test(word));
  if (words.length === 0) return "?";
  const first = firstLetter(words[0] as string);
  if (words.length === 1) return first;
  return first + firstLetter(words[words.length - 1] as string);
}

/** The first letter or digit of a word, upper-cased (whole code point: not half a surrogate pair). */
function firstLetter(word: string): string {
  const letter = Array.from(word).find((ch) => /[\p{L}\p{N}]/u.test(ch)) ?? "?";
  return letter.toLocaleUpperCase();
}

/** A stable hue (0–359) for a name, so a person's avatar keeps its colour. */
export function avatarHue(name: string): number {
  let hash = 0;
  for (const ch of name) hash = (hash * 31 + (ch.codePointAt(0) ?? 0)) >>> 0;
  return hash % 360;
}

export class Tile {
  readonly element: HTMLDivElement;
  readonly video: HTMLVideoElement;
  readonly pinButton: HTMLButtonElement;
  readonly fullscreenButton: HTMLButtonElement;
  private readonly nameLabel: HTMLSpanElement;
  private readonly mutedBadge: HTMLSpanElement;
  private readonly level: HTMLSpanElement;
  private readonly cameraOff: HTMLDivElement;
  private readonly avatar: HTMLSpanElement;
  private readonly withheld: HTMLDivElement;
  private label = "";
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

    // Camera off: the person's initials on a coloured disc, as the other products do, not a black box.
    const cameraOff = document.createElement("div");
    cameraOff.className = "tile-camera-off";
    cameraOff.hidden = true;
    const avatar = document.createElement("span");
    avatar.className = "tile-avatar";
    avatar.setAttribute("aria-hidden", "true");
    const offText = document.createElement("span");
    offText.className = "visually-hidden";
    offText.textContent = "Camera off";
    cameraOff.append(avatar, offText);

    const withheld = document.createElement("div");
    withheld.className = "tile-withheld";
    withheld.hidden = true;

    const caption = document.createElement("div");
    caption.className = "tile-caption";
    const level = document.createElement("span");
    level.className = "tile-level";
    level.setAttribute("aria-hidden", "true");
    level.dataset.level = "0";
    for (let i = 0; i < 3; i += 1) level.append(document.createElement("i"));
    const nameLabel = document.createElement("span");
    nameLabel.className = "tile-name";
    const mutedBadge = document.createElement("span");
    mutedBadge.className = "tile-muted";
    mutedBadge.textContent = "muted";
    mutedBadge.hidden = true;
    caption.append(level, nameLabel, mutedBadge);
    if (init.source === "screen") level.hidden = true;

    const actions = document.createElement("div");
    actions.className = "tile-actions";
    const pinButton = tileButton("tile-pin", ICONS.pin);
    pinButton.setAttribute("aria-pressed", "false");
    const fullscreenButton = tileButton("tile-fullscreen", ICONS.fullscreen);
    fullscreenButton.addEventListener("click", () => void this.toggleFullscreen());
    actions.append(pinButton, fullscreenButton);

    el.append(video, cameraOff, withheld, caption, actions);
    this.element = el;
    this.video = video;
    this.pinButton = pinButton;
    this.fullscreenButton = fullscreenButton;
    this.nameLabel = nameLabel;
    this.mutedBadge = mutedBadge;
    this.level = level;
    this.cameraOff = cameraOff;
    this.avatar = avatar;
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
    this.label = (this.init.self ? `${name} (you)` : name) + suffix;
    this.nameLabel.textContent = this.label;
    this.element.setAttribute("aria-label", this.label);
    this.avatar.textContent = initials(name);
    this.avatar.style.setProperty("--avatar-hue", String(avatarHue(name)));
    this.fullscreenButton.setAttribute("aria-label", `Show ${this.label} full screen`);
    this.fullscreenButton.title = "Full screen";
    this.setPinned(this.isPinned);
  }

  /** Shows whether the participant's microphone is muted (camera tiles only). */
  setAudio(on: boolean): void {
    this.mutedBadge.hidden = on || this.init.source === "screen";
    this.element.classList.toggle("muted", !on);
  }

  setVideo(on: boolean): void {
    this.cameraOff.hidden = on || this.init.source === "screen";
    this.element.classList.toggle("camera-off", !this.cameraOff.hidden);
  }

  get isPinned(): boolean {
    return this.element.classList.contains("pinned");
  }

  /** Marks the tile as the one in the big area (the grid decides; this shows it). */
  setPinned(pinned: boolean): void {
    this.element.classList.toggle("pinned", pinned);
    this.pinButton.setAttribute("aria-pressed", String(pinned));
    this.pinButton.setAttribute("aria-label", pinned ? `Unpin ${this.label}` : `Pin ${this.label}`);
    this.pinButton.title = pinned ? "Unpin" : "Pin to the big area";
  }

  /** The sound level heard from this tile (0–1) and whether the person counts as speaking now. */
  setLevel(level: number, speaking: boolean): void {
    const step = String(Math.min(3, Math.round(level * 3)));
    if (this.level.dataset.level !== step) this.level.dataset.level = step;
    this.level.style.setProperty("--level", level.toFixed(2));
    this.element.classList.toggle("speaking", speaking);
  }

  /** The audio track heard in this tile (a remote participant's microphone, or mine on my preview), if any. */
  audioTrack(): MediaStreamTrack | null {
    const stream = this.video.srcObject;
    if (!(stream instanceof MediaStream)) return null;
    return stream.getAudioTracks().find((t) => t.readyState === "live") ?? null;
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
    if (document.fullscreenElement === this.element) void document.exitFullscreen().catch(() => undefined);
    this.video.srcObject = null;
    this.element.remove();
  }

  private async toggleFullscreen(): Promise<void> {
    try {
      if (document.fullscreenElement === this.element) await document.exitFullscreen();
      else await this.element.requestFullscreen();
    } catch (error) {
      console.warn("full screen refused", error);
    }
  }
}

export function tileKey(participant: string, feed: number | null, source: Source, self: boolean): string {
  return self ? `self:${source}` : `feed:${feed ?? participant}`;
}

/** A small icon button on the tile; its accessible name is set by the tile (aria-label). */
function tileButton(className: string, iconPath: string): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.className = `tile-button ${className}`;
  b.append(svgIcon(iconPath));
  return b;
}
