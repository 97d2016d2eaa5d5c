/**
 * Who is speaking: the sound level of every tile's audio, measured in this browser with the Web Audio API
 * (an AnalyserNode per audio track: the remote participants' received microphones, and my own on my
 * preview), shown as a level meter on the tile and a ring around the tiles of people speaking now.
 *
 * Why an AnalyserNode: it measures the audio as decoded here, whatever the server forwards. Chromium fills
 * `RTCRtpReceiver.getSynchronizationSources().audioLevel` only from the ssrc-audio-level RTP header extension
 * (it does not compute it on the receiving side: w3c/webrtc-pc#2046), for the last packet alone, and
 * `getStats()` per connection several times a second costs more. Chromium feeds a remote WebRTC track to Web
 * Audio only while a media element plays it, which the tile's <video> does. Measured every 50 ms over a ~43 ms
 * window (the windows nearly touch), so even a short sound, such as the test devices' beeps, is seen.
 */

import type { Grid } from "./layout/grid";
import type { Tile } from "./layout/tile";

const TICK_MS = 50;
/** A tile counts as speaking while its level was above this within the last HOLD_MS. */
export const SPEAKING_LEVEL = 0.25;
const HOLD_MS = 1200;
/** The level meter's range, in dBFS of the window's peak. */
const FLOOR_DB = -60;
const CEILING_DB = -12;

/** The level (0–1) of a window of samples: its peak in dBFS mapped onto FLOOR_DB..CEILING_DB. */
export function levelOf(samples: Float32Array): number {
  let peak = 0;
  for (const sample of samples) peak = Math.max(peak, Math.abs(sample));
  if (peak <= 0) return 0;
  const db = 20 * Math.log10(peak);
  return Math.min(1, Math.max(0, (db - FLOOR_DB) / (CEILING_DB - FLOOR_DB)));
}

/** Speaking with a hold: a level above SPEAKING_LEVEL keeps the ring on for HOLD_MS (pauses between words). */
export class SpeakingState {
  private lastLoudMs = Number.NEGATIVE_INFINITY;

  update(level: number, nowMs: number): boolean {
    if (level >= SPEAKING_LEVEL) this.lastLoudMs = nowMs;
    return nowMs - this.lastLoudMs <= HOLD_MS;
  }
}

interface Meter {
  track: MediaStreamTrack;
  source: MediaStreamAudioSourceNode;
  analyser: AnalyserNode;
  samples: Float32Array<ArrayBuffer>;
  state: SpeakingState;
  shown: number;
}

export class AudioLevels {
  private context: AudioContext | null = null;
  private readonly meters = new Map<Tile, Meter>();
  /** Tracks Web Audio refused: not tried again every tick. */
  private readonly refused = new WeakSet<MediaStreamTrack>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly resume = (): void => void this.context?.resume().catch(() => undefined);

  constructor(private readonly grid: Grid) {}

  start(): void {
    if (this.timer !== null || typeof AudioContext === "undefined") return;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    // An AudioContext made without a user gesture may start suspended: the first click or key resumes it.
    document.addEventListener("pointerdown", this.resume, true);
    document.addEventListener("keydown", this.resume, true);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const tile of [...this.meters.keys()]) this.drop(tile);
    document.removeEventListener("pointerdown", this.resume, true);
    document.removeEventListener("keydown", this.resume, true);
    void this.context?.close().catch(() => undefined);
    this.context = null;
  }

  private tick(): void {
    const now = performance.now();
    const tiles = new Set(this.grid.all());
    for (const tile of [...this.meters.keys()]) if (!tiles.has(tile)) this.drop(tile);
    for (const tile of tiles) {
      if (tile.init.source !== "camera") continue;
      const track = tile.audioTrack();
      let meter = this.meters.get(tile);
      if (meter && meter.track !== track) {
        this.drop(tile);
        meter = undefined;
      }
      if (!track) {
        tile.setLevel(0, false);
        continue;
      }
      if (this.refused.has(track)) continue;
      meter ??= this.meter(tile, track);
      if (!meter) continue;
      meter.analyser.getFloatTimeDomainData(meter.samples);
      // A muted track still plays silence; its level is 0 anyway, but say so without measuring noise.
      const level = track.enabled && !track.muted ? levelOf(meter.samples) : 0;
      const speaking = meter.state.update(level, now);
      // The meter falls back smoothly rather than flickering between syllables.
      meter.shown = Math.max(level, meter.shown * 0.8);
      tile.setLevel(meter.shown, speaking);
    }
  }

  private meter(tile: Tile, track: MediaStreamTrack): Meter | undefined {
    try {
      this.context ??= new AudioContext();
      const source = this.context.createMediaStreamSource(new MediaStream([track]));
      const analyser = this.context.createAnalyser();
      analyser.fftSize = 2048;
      source.connect(analyser); // not to the destination: the tile's <video> plays the sound
      const meter: Meter = {
        track,
        source,
        analyser,
        samples: new Float32Array(analyser.fftSize),
        state: new SpeakingState(),
        shown: 0,
      };
      this.meters.set(tile, meter);
      return meter;
    } catch (error) {
      console.warn("audio level unavailable", error);
      this.refused.add(track);
      return undefined;
    }
  }

  private drop(tile: Tile): void {
    const meter = this.meters.get(tile);
    if (!meter) return;
    meter.source.disconnect();
    this.meters.delete(tile);
    tile.setLevel(0, false);
  }
}
