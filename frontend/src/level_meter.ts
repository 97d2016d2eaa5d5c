/** A sound level meter for the microphone: a `<meter>` whose value (0–1) follows the track's loudness. */

const SAMPLE_MS = 100;

export class LevelMeter {
  readonly element: HTMLMeterElement;
  private context: AudioContext | null = null;
  private source: MediaStreamAudioSourceNode | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(id: string) {
    this.element = document.createElement("meter");
    this.element.id = id;
    this.element.className = "level-meter";
    this.element.min = 0;
    this.element.max = 1;
    this.element.low = 0.05;
    this.element.value = 0;
    this.element.setAttribute("aria-label", "Microphone level");
    // Browsers start an AudioContext only after a gesture on some pages: resume on the first one.
    const resume = (): void => void this.context?.resume().catch(() => undefined);
    document.addEventListener("pointerdown", resume, { capture: true });
    document.addEventListener("keydown", resume, { capture: true });
  }

  /** Follows `track` (null: shows silence). */
  attach(track: MediaStreamTrack | null): void {
    this.detach();
    if (!track || typeof AudioContext === "undefined") return;
    this.context ??= new AudioContext();
    void this.context.resume().catch(() => undefined);
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 512;
    this.source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      // Speech is roughly 0.01–0.3 RMS: a square root spreads it over the bar.
      const level = track.enabled && track.readyState === "live" ? Math.min(1, Math.sqrt(rms) * 1.6) : 0;
      this.element.value = level;
    }, SAMPLE_MS);
  }

  detach(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.source?.disconnect();
    this.source = null;
    this.element.value = 0;
  }

  close(): void {
    this.detach();
    void this.context?.close().catch(() => undefined);
    this.context = null;
  }
}
