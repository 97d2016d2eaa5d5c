/**
 * The media side of a conference: my publishers, one subscription per remote feed, and the count of
 * work still under way, so the page can say "connected" once everything of the current epoch is up.
 *
 * Every teardown (dropped socket, `media_reset`, leaving) bumps `epoch`; asynchronous work started in
 * an older epoch notices it and discards itself.
 */

import type { Grid } from "./layout/grid";
import { Tile, tileKey } from "./layout/tile";
import { DEFAULT_MEDIA_PLAN, type Feed, type MediaPlan, type Participant, type Source } from "./protocol";
import { Publisher, type OutboundFigures } from "./publisher";
import { ConnectionLost, SignalingError, type SignalingClient } from "./signaling";
import { Subscription, type InboundFigures } from "./subscriber";

/** How a piece of media work ended: `unavailable` means the engine is restarting (wait for media_reset). */
export type Outcome = "ok" | "failed" | "unavailable" | "stale";

/** How long to wait for `media_reset` after `media_unavailable` before retrying anyway. */
const MEDIA_RETRY_MS = 8000;
/** When to repeat a new subscription's first substream choice (see subscribe()). */
const LAYER_REPEAT_MS = 2500;
/** Pause before repairing a connection whose ICE failed. */
const REPAIR_DELAY_MS = 1000;

export interface FeedFigures extends InboundFigures {
  feed: number;
  participant: string;
  source: Source;
}

/** What the media session needs from the page around it. */
export interface MediaHost {
  participant(id: string): Participant | undefined;
  notice(message: string): void;
  /** All work of the current epoch is done and the engine is up. */
  settled(): void;
  /** The engine stayed unavailable and no media_reset came: start over. */
  retry(): void;
  /** A remote tile could not play sound without a click. */
  soundBlocked(): void;
  /** A remote tile was put on the stage (the page sends its sound to the chosen speaker). */
  tileAdded?(tile: Tile): void;
}

export class MediaSession {
  private epoch = 0;
  private inFlight = 0;
  private ready = false;
  private unavailable = false;
  private selfId: string | null = null;
  private plan: MediaPlan = DEFAULT_MEDIA_PLAN;
  private readonly publishers = new Map<Source, Publisher>();
  private readonly subscriptions = new Map<number, Subscription>();
  /** Remote feeds announced in this epoch (subscribed or being subscribed). */
  private readonly feeds = new Map<number, Feed>();

  constructor(
    private readonly signaling: SignalingClient,
    private readonly grid: Grid,
    private readonly iceServers: RTCIceServer[],
    private readonly host: MediaHost,
  ) {}

  /** A new epoch begins for participant `selfId`: feeds may be added and sources published as `plan` says. */
  begin(selfId: string, plan: MediaPlan = this.plan): void {
    this.selfId = selfId;
    this.plan = plan;
    this.ready = true;
  }

  /** What my camera's encoder sends (the end-to-end tests and benchmarks read it). */
  async cameraOutbound(): Promise<OutboundFigures[]> {
    return (await this.publishers.get("camera")?.figures()) ?? [];
  }

  /** The SVC mode my camera is sent with, or null (VP8 simulcast): the end-to-end tests read it. */
  cameraScalabilityMode(): string | null {
    return this.publishers.get("camera")?.scalabilityMode ?? null;
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** Closes every peer connection and remote tile (local capture is not ours). */
  reset(): void {
    this.epoch += 1;
    this.inFlight = 0;
    this.ready = false;
    this.unavailable = false;
    for (const publisher of this.publishers.values()) publisher.close();
    this.publishers.clear();
    this.feeds.clear();
    for (const subscription of this.subscriptions.values()) subscription.close();
    this.subscriptions.clear();
    this.grid.clearRemote();
  }

  knownFeeds(): Feed[] {
    return [...this.feeds.values()];
  }

  /** Counts `work` as part of this epoch's set-up; reports `settled` when nothing is left. */
  track(work: (epoch: number) => Promise<Outcome>): void {
    const epoch = this.epoch;
    this.inFlight += 1;
    void work(epoch)
      .catch((error: unknown): Outcome => {
        console.warn("media setup failed", error);
        return "failed";
      })
      .then((outcome) => {
        if (epoch !== this.epoch) return;
        this.inFlight -= 1;
        if (outcome === "unavailable" && !this.unavailable) {
          this.unavailable = true;
          setTimeout(() => {
            if (epoch === this.epoch && this.unavailable) this.host.retry();
          }, MEDIA_RETRY_MS);
        }
        this.checkSettled();
      });
  }

  /** Says `settled` if no work of the current epoch is pending. */
  checkSettled(): void {
    if (this.ready && this.inFlight === 0 && !this.unavailable) this.host.settled();
  }

  isCurrent(epoch: number): boolean {
    return epoch === this.epoch;
  }

  // --- publishing ----------------------------------------------------------------------------

  /** Publishes `stream` as `source` on a new peer connection (replacing an earlier one). */
  async publish(source: Source, stream: MediaStream, epoch: number): Promise<Outcome> {
    if (epoch !== this.epoch) return "stale";
    const publisher = new Publisher(source, this.iceServers, this.plan);
    this.publishers.get(source)?.close();
    this.publishers.set(source, publisher);
    publisher.pc.addEventListener("connectionstatechange", () => {
      if (publisher.pc.connectionState === "failed") this.republish(publisher, stream, epoch);
    });
    try {
      const { connected } = await publisher.publish(this.signaling, stream);
      if (epoch !== this.epoch || this.publishers.get(source) !== publisher) return "stale";
      if (!connected) this.host.notice("The media connection is slow to establish; others may not see you yet.");
      return "ok";
    } catch (error) {
      if (this.publishers.get(source) === publisher) this.publishers.delete(source);
      publisher.close();
      return this.outcomeOf(error, source === "camera" ? "publish your camera" : "share your screen", epoch);
    }
  }

  /**
   * Sends `track` instead of the `kind` track `source` sends now (another camera or microphone), on the same
   * connection: no renegotiation, the others see no new feed. False when `source` sends no such track.
   */
  async replaceTrack(source: Source, kind: "audio" | "video", track: MediaStreamTrack): Promise<boolean> {
    const publisher = this.publishers.get(source);
    const transceiver = publisher?.pc.getTransceivers().find((t) => t.receiver.track.kind === kind);
    if (!transceiver) return false;
    await transceiver.sender.replaceTrack(track);
    return true;
  }

  /** The labels of the tracks `source` sends now (its devices' names). */
  senderLabels(source: Source): string[] {
    const publisher = this.publishers.get(source);
    return (publisher?.pc.getSenders() ?? []).flatMap((s) => (s.track ? [s.track.label] : []));
  }

  /** Stops publishing `source` and tells the server. */
  async unpublish(source: Source): Promise<void> {
    const publisher = this.publishers.get(source);
    if (!publisher) return;
    this.publishers.delete(source);
    publisher.close();
    if (this.signaling.isOpen) {
      await this.signaling.request({ type: "unpublish", source }).catch(() => undefined);
    }
  }

  /** A publisher whose ICE failed while the engine lives on is published again. */
  private republish(publisher: Publisher, stream: MediaStream, epoch: number): void {
    setTimeout(() => {
      if (epoch !== this.epoch || this.publishers.get(publisher.source) !== publisher) return;
      this.track(() => this.publish(publisher.source, stream, epoch));
    }, REPAIR_DELAY_MS);
  }

  // --- subscribing ---------------------------------------------------------------------------

  /** Shows a tile for a remote feed and subscribes to it (my own feeds and known ones are ignored). */
  addFeed(feed: Feed): void {
    if (!this.ready || feed.participant === this.selfId || this.subscriptions.has(feed.feed)) return;
    this.feeds.set(feed.feed, feed);
    const who = this.host.participant(feed.participant);
    const tile = new Tile({
      participant: feed.participant,
      feed: feed.feed,
      source: feed.source,
      self: false,
      name: who?.display_name ?? "…",
    });
    if (who) {
      tile.setAudio(who.audio);
      tile.setVideo(who.video);
    }
    this.grid.add(tile);
    this.host.tileAdded?.(tile);
    const subscription = new Subscription(feed, this.iceServers, (stream) =>
      tile.attach(stream, () => this.host.soundBlocked()),
    );
    this.subscriptions.set(feed.feed, subscription);
    const epoch = this.epoch;
    subscription.pc.addEventListener("connectionstatechange", () => {
      if (subscription.pc.connectionState === "failed") this.resubscribe(subscription, epoch);
    });
    this.track(() => this.subscribe(subscription, tile, epoch));
  }

  /** The feed is gone (feed_removed): forget it and close its subscription. */
  removeFeed(feed: number): void {
    this.feeds.delete(feed);
    this.dropSubscription(feed);
  }

  private async subscribe(subscription: Subscription, tile: Tile, epoch: number): Promise<Outcome> {
    try {
      await subscription.establish(this.signaling);
    } catch (error) {
      if (subscription.closed) return "stale";
      if (error instanceof SignalingError && error.code === "unknown_feed") {
        this.removeFeed(subscription.feed.feed); // it went away meanwhile
        return "stale";
      }
      return this.outcomeOf(error, `receive ${tile.init.source === "screen" ? "a screen" : "a participant"}`, epoch);
    }
    if (subscription.closed || epoch !== this.epoch) return "stale";
    if (subscription.videoWithheld !== null) {
      tile.setVideoWithheld(withheldText(subscription.videoWithheld));
      return "ok";
    }
    if (subscription.feed.source === "camera") {
      void this.sendLayer(subscription.feed.feed, tile.desiredLayer ?? this.grid.measureLayer(tile));
      // Janus may take a substream choice made while it still sets up the media, then forget it: say it again.
      setTimeout(() => {
        if (!subscription.closed && tile.desiredLayer !== null) {
          void this.sendLayer(subscription.feed.feed, tile.desiredLayer, true);
        }
      }, LAYER_REPEAT_MS);
    }
    return "ok";
  }

  /** A subscription whose ICE failed while the engine lives on is made again. */
  private resubscribe(subscription: Subscription, epoch: number): void {
    const feed = subscription.feed;
    if (epoch !== this.epoch || this.subscriptions.get(feed.feed) !== subscription) return;
    this.dropSubscription(feed.feed);
    setTimeout(() => {
      if (epoch === this.epoch && this.feeds.delete(feed.feed)) this.addFeed(feed);
    }, REPAIR_DELAY_MS);
  }

  private dropSubscription(feed: number): void {
    const subscription = this.subscriptions.get(feed);
    if (!subscription) return;
    subscription.close();
    this.subscriptions.delete(feed);
    this.grid.remove(tileKey(subscription.feed.participant, feed, subscription.feed.source, false));
    if (subscription.established && this.signaling.isOpen) {
      this.signaling.request({ type: "unsubscribe", feed }).catch(() => undefined);
    }
  }

  /** Asks for simulcast layer `layer` of a camera feed, unless that is already what we receive. */
  async sendLayer(feed: number, layer: number, force = false): Promise<void> {
    const subscription = this.subscriptions.get(feed);
    if (!subscription?.established || subscription.feed.source !== "camera" || subscription.videoWithheld !== null) return;
    if (subscription.sentLayer === layer && !force) return;
    try {
      await this.signaling.request({ type: "substream", feed, substream: layer });
      subscription.sentLayer = layer;
    } catch (error) {
      console.warn("substream change refused", error);
    }
  }

  /** Inbound RTP figures per subscription (the end-to-end tests read them). */
  async inboundStats(): Promise<FeedFigures[]> {
    const subscriptions = [...this.subscriptions.values()];
    const figures = await Promise.all(subscriptions.map((s) => s.figures()));
    return subscriptions.map((s, i) => ({
      feed: s.feed.feed,
      participant: s.feed.participant,
      source: s.feed.source,
      ...(figures[i] as InboundFigures),
    }));
  }

  private outcomeOf(error: unknown, what: string, epoch: number): Outcome {
    if (epoch !== this.epoch || error instanceof ConnectionLost) return "stale";
    if (error instanceof SignalingError && error.code === "media_unavailable") return "unavailable";
    const detail = error instanceof Error ? error.message : String(error);
    this.host.notice(`Could not ${what}: ${detail}`);
    return "failed";
  }
}

/** What a tile says when the server sends only the feed's sound to this browser. */
export function withheldText(reason: string): string {
  if (reason === "vp9_unsupported") return "Video not shown: this browser cannot play VP9 video. You can hear them.";
  return "Video not shown: this browser cannot play it. You can hear them.";
}
