/**
 * One conference session: joins over signaling, keeps the participants, chat and controls up to date,
 * captures camera and screen, and has the media session rebuild all media after a dropped socket or a
 * `media_reset`.
 */

import { ChatView } from "./chat";
import { Controls } from "./controls";
import { Grid } from "./layout/grid";
import { Tile, tileKey } from "./layout/tile";
import { captureCamera, captureScreen, stopStream } from "./media";
import { MediaSession, type FeedFigures, type Outcome } from "./media_session";
import { ParticipantList } from "./participants";
import type { OutboundFigures } from "./publisher";
import {
  DEFAULT_MEDIA_PLAN,
  PROTOCOL_VERSION,
  type ChatMessage,
  type Feed,
  type IncomingMessage,
  type JoinAnswer,
  type JoinedEvent,
  type Participant,
} from "./protocol";
import { decodableVideoCodecs } from "./rtc";
import { SignalingClient, SignalingError, type TransportFactory } from "./signaling";
import { setStatus, showEnded, showError, showNotice, type Page, type Status } from "./ui";

/** Shown to a participant whose browser cannot decode the VP9 a conference runs on (`vp9_unsupported`). */
export const VP9_FALLBACK_NOTICE =
  "This meeting sends video as VP9, which this browser cannot play. You hear everyone and they see you, " +
  "but you see video only from participants whose browsers send VP8. Use a current Chrome, Edge or Firefox to see everyone.";

export class Conference {
  private readonly signaling: SignalingClient;
  private readonly grid: Grid;
  private readonly people: ParticipantList;
  private readonly chat: ChatView;
  private readonly controls: Controls;
  private readonly media: MediaSession;

  private selfId: string | null = null;
  private canPublish = false;
  private status: Status = "connecting…";
  private over = false;

  private camera: MediaStream | null = null;
  private cameraCaptured: Promise<void> | null = null;
  private screen: MediaStream | null = null;
  private micOn = true;
  private camOn = true;
  private toldFallback = false;

  constructor(
    private readonly page: Page,
    private answer: JoinAnswer,
    transport?: TransportFactory,
    private readonly rejoin?: (failedServer: string) => Promise<JoinAnswer>,
  ) {
    this.grid = new Grid(page.grid, (feed, layer) => void this.media.sendLayer(feed, layer));
    this.people = new ParticipantList(page.participants, {
      mute: (p) => void this.moderate(p, "mute"),
      remove: (p) => void this.moderate(p, "remove"),
    });
    this.chat = new ChatView(page.chatLog, page.chatForm, page.chatInput, page.chatSend, (text) => this.sendChat(text));
    this.controls = new Controls(page, {
      toggleMic: () => this.setMic(!this.micOn),
      toggleCamera: () => this.setCamera(!this.camOn),
      toggleScreen: () => void (this.screen ? this.stopScreen() : this.startScreen()),
      leave: () => this.leave(),
    });
    page.soundPrompt.addEventListener("click", () => this.enableSound());
    this.signaling = new SignalingClient(
      answer.signaling_url,
      {
        onOpen: () => void this.join(),
        onEvent: (message) => this.onEvent(message),
        onDisconnected: () => this.onDisconnected(),
        onRefused: (_code, reason) => this.fail(reason || "The server refused the connection."),
      },
      {
        ...(transport ? { transport } : {}),
        // Ask the web server where the conference runs now: if our app server died it moves to another.
        beforeReconnect: async () => {
          if (!this.rejoin) return null;
          this.answer = await this.rejoin(this.answer.server_id);
          return this.answer.signaling_url;
        },
      },
    );
    this.media = new MediaSession(this.signaling, this.grid, answer.ice_servers, {
      participant: (id) => this.people.get(id),
      notice: (message) => showNotice(this.page, message),
      settled: () => this.onMediaSettled(),
      retry: () => this.restartMedia(this.media.knownFeeds()),
      soundBlocked: () => (this.page.soundPrompt.hidden = false),
    });
    window.addEventListener("pagehide", () => this.leave());
  }

  start(): void {
    this.setStatus("connecting…");
    this.refreshControls();
    this.signaling.start();
  }

  participantId(): string | null {
    return this.selfId;
  }

  /** Inbound RTP figures per subscription (the end-to-end tests read them). */
  inboundStats(): Promise<FeedFigures[]> {
    return this.media.inboundStats();
  }

  cameraOutbound(): Promise<OutboundFigures[]> {
    return this.media.cameraOutbound();
  }

  /** The SVC mode my camera is sent with, or null for VP8 simulcast (the end-to-end tests read it). */
  cameraScalabilityMode(): string | null {
    return this.media.cameraScalabilityMode();
  }

  // --- joining -------------------------------------------------------------------------------

  private async join(): Promise<void> {
    let joined: JoinedEvent;
    try {
      const reply = await this.signaling.request({
        type: "join",
        v: PROTOCOL_VERSION,
        ticket: this.answer.ticket,
        video_codecs: decodableVideoCodecs(),
      });
      joined = reply as unknown as JoinedEvent;
    } catch (error) {
      if (error instanceof SignalingError) this.fail(error.message);
      return; // ConnectionLost: the signaling client reconnects and we join again.
    }
    this.signaling.markJoined();
    this.selfId = joined.participant;
    this.canPublish = joined.can_publish;
    this.people.reset(joined.participants, joined.participant, joined.role === "moderator");
    this.chat.reset(joined.chat);
    this.chat.setEnabled(true);
    this.page.call.hidden = false;
    for (const tile of this.grid.all()) if (tile.init.self) tile.setParticipant(joined.participant);
    this.refreshControls();

    const plan = joined.media ?? DEFAULT_MEDIA_PLAN;
    if (plan.fallback === "vp9_unsupported" && !this.toldFallback) {
      this.toldFallback = true;
      showNotice(this.page, VP9_FALLBACK_NOTICE, 30000);
    }
    this.media.begin(joined.participant, plan);
    this.publishAll();
    for (const feed of joined.feeds) this.media.addFeed(feed);
    this.media.checkSettled();
  }

  private onDisconnected(): void {
    if (this.over) return;
    this.media.reset();
    this.selfId = null;
    this.chat.setEnabled(false);
    this.setStatus("reconnecting…");
  }

  /** Join refused or ticket no longer valid: show why, stop everything. */
  private fail(message: string): void {
    this.end();
    stopStream(this.camera);
    showError(this.page, message);
  }

  // --- server events -------------------------------------------------------------------------

  private onEvent(message: IncomingMessage): void {
    if (this.over) return;
    if (message.type === "error") {
      showNotice(this.page, String(message.message ?? "Something went wrong."));
      return;
    }
    if (this.selfId === null) return; // events of a session that is not joined (yet)
    switch (message.type) {
      case "participant_joined":
      case "participant_updated":
        this.onParticipant(message.participant as Participant);
        break;
      case "participant_left":
        this.people.remove(String(message.participant));
        break;
      case "feed_added":
        this.media.addFeed(message.feed as Feed);
        break;
      case "feed_removed":
        this.media.removeFeed(Number(message.feed));
        break;
      case "chat":
        this.chat.add(message.message as ChatMessage);
        break;
      case "force_muted":
        this.setMic(false);
        showNotice(this.page, `${String(message.by ?? "A moderator")} muted your microphone.`);
        break;
      case "session_ended":
        this.end("left");
        showEnded(this.page, String(message.message ?? "Your session ended."));
        break;
      case "removed":
        this.end("removed");
        showEnded(this.page, `${String(message.by ?? "A moderator")} removed you from the conference.`);
        break;
      case "media_reset":
        this.restartMedia([]);
        break;
      default:
        break; // newer server events this client does not know
    }
  }

  private onParticipant(p: Participant): void {
    this.people.upsert(p);
    for (const tile of this.grid.forParticipant(p.id)) {
      tile.setName(p.display_name);
      tile.setAudio(p.audio);
      tile.setVideo(p.video);
    }
  }

  /**
   * The engine restarted (`media_reset`): every connection is gone. Publish again; the remote feeds
   * follow as `feed_added` (or are `feeds` we knew, when retrying without a media_reset).
   */
  private restartMedia(feeds: Feed[]): void {
    if (this.selfId === null) return;
    this.media.reset();
    this.setStatus("reconnecting…");
    this.media.begin(this.selfId);
    this.publishAll();
    for (const feed of feeds) this.media.addFeed(feed);
    this.media.checkSettled();
  }

  private onMediaSettled(): void {
    if (!this.over && this.status !== "connected") this.setStatus("connected");
  }

  // --- my sources ----------------------------------------------------------------------------

  /** Publishes what I have (camera, and the screen while shared) in the media session's current epoch. */
  private publishAll(): void {
    if (!this.canPublish) return;
    this.media.track((epoch) => this.publishCamera(epoch));
    if (this.screen) {
      const screen = this.screen;
      this.media.track((epoch) => this.media.publish("screen", screen, epoch));
    }
  }

  private async publishCamera(epoch: number): Promise<Outcome> {
    this.cameraCaptured ??= this.captureCamera();
    await this.cameraCaptured;
    if (!this.media.isCurrent(epoch)) return "stale";
    if (!this.camera) return "ok";
    const outcome = await this.media.publish("camera", this.camera, epoch);
    if (outcome === "ok") void this.sendState();
    return outcome;
  }

  private async captureCamera(): Promise<void> {
    const media = await captureCamera(this.answer.client.video_max_height);
    if (this.over) {
      stopStream(media.stream);
      return;
    }
    this.camera = media.stream;
    if (media.problem) showNotice(this.page, media.problem);
    if (media.stream) {
      for (const track of media.stream.getAudioTracks()) track.enabled = this.micOn;
      for (const track of media.stream.getVideoTracks()) track.enabled = this.camOn;
      const tile = this.grid.add(
        new Tile({ participant: this.selfId ?? "", feed: null, source: "camera", self: true, name: this.myName() }),
      );
      tile.attach(media.stream, () => undefined);
      tile.setAudio(this.micOn && this.hasTrack("audio"));
      tile.setVideo(this.camOn && this.hasTrack("video"));
    }
    this.refreshControls();
  }

  // --- local controls ------------------------------------------------------------------------

  private setMic(on: boolean): void {
    this.micOn = on;
    for (const track of this.camera?.getAudioTracks() ?? []) track.enabled = on;
    this.grid.get(tileKey("", null, "camera", true))?.setAudio(on && this.hasTrack("audio"));
    this.refreshControls();
    void this.sendState();
  }

  private setCamera(on: boolean): void {
    this.camOn = on;
    for (const track of this.camera?.getVideoTracks() ?? []) track.enabled = on;
    this.grid.get(tileKey("", null, "camera", true))?.setVideo(on && this.hasTrack("video"));
    this.refreshControls();
    void this.sendState();
  }

  private async sendState(): Promise<void> {
    if (!this.signaling.isOpen || this.selfId === null || !this.canPublish) return;
    try {
      await this.signaling.request({
        type: "state",
        audio: this.micOn && this.hasTrack("audio"),
        video: this.camOn && this.hasTrack("video"),
      });
    } catch (error) {
      if (error instanceof SignalingError) showNotice(this.page, error.message);
    }
  }

  private async startScreen(): Promise<void> {
    if (!this.canPublish || this.screen) return;
    const stream = await captureScreen();
    if (!stream || this.over) {
      stopStream(stream);
      return;
    }
    this.screen = stream;
    for (const track of stream.getVideoTracks()) track.addEventListener("ended", () => void this.stopScreen());
    this.refreshControls();
    if (this.media.isReady) {
      this.media.track(async (epoch) => {
        const outcome = await this.media.publish("screen", stream, epoch);
        if (outcome === "failed") await this.stopScreen();
        return outcome;
      });
    }
  }

  private async stopScreen(): Promise<void> {
    if (!this.screen) return;
    stopStream(this.screen);
    this.screen = null;
    this.refreshControls();
    await this.media.unpublish("screen");
  }

  private async sendChat(text: string): Promise<void> {
    try {
      await this.signaling.request({ type: "chat", text });
    } catch (error) {
      showNotice(this.page, error instanceof SignalingError ? error.message : "The message could not be sent.");
      throw error;
    }
  }

  private async moderate(p: Participant, action: "mute" | "remove"): Promise<void> {
    try {
      await this.signaling.request({ type: "moderate", participant: p.id, action });
    } catch (error) {
      showNotice(this.page, error instanceof SignalingError ? error.message : `Could not ${action} ${p.display_name}.`);
    }
  }

  private enableSound(): void {
    for (const tile of this.grid.all()) {
      if (tile.init.self) continue;
      tile.video.muted = false;
      tile.video.play().catch(() => undefined);
    }
    this.page.soundPrompt.hidden = true;
  }

  private leave(): void {
    if (this.over) return;
    this.signaling.send({ type: "leave" });
    this.end("left");
    showEnded(this.page, "You left the conference.");
  }

  /** Stops signaling, media and capture for good. */
  private end(status?: Status): void {
    this.over = true;
    this.signaling.stop();
    this.media.reset();
    this.grid.clear();
    stopStream(this.camera);
    stopStream(this.screen);
    this.screen = null;
    this.controls.disableAll();
    this.chat.setEnabled(false);
    if (status) this.setStatus(status);
  }

  // --- helpers -------------------------------------------------------------------------------

  private setStatus(status: Status): void {
    this.status = status;
    setStatus(this.page, status);
  }

  private refreshControls(): void {
    if (this.over) return;
    this.controls.setMic(this.micOn, this.canPublish && this.hasTrack("audio"));
    this.controls.setCamera(this.camOn, this.canPublish && this.hasTrack("video"));
    const screenAvailable = this.canPublish && Boolean(navigator.mediaDevices?.getDisplayMedia);
    this.controls.setScreen(this.screen !== null, screenAvailable);
  }

  private hasTrack(kind: "audio" | "video"): boolean {
    const tracks = kind === "audio" ? this.camera?.getAudioTracks() : this.camera?.getVideoTracks();
    return (tracks?.length ?? 0) > 0;
  }

  private myName(): string {
    return (this.selfId && this.people.get(this.selfId)?.display_name) || "You";
  }
}
