/**
 * One conference session: joins over signaling, keeps the participants, chat and controls up to date,
 * captures camera and screen, and has the media session rebuild all media after a dropped socket or a
 * `media_reset`.
 */

import { CallDevices } from "./call_devices";
import { CallTools } from "./call_tools";
import { ChatView } from "./chat";
import { Controls } from "./controls";
import { HandControl } from "./hands";
import { Grid } from "./layout/grid";
import { Tile, tileKey } from "./layout/tile";
import { loadChoice } from "./devices";
import { captureCamera, captureScreen, captureTrack, stopStream, type DeviceProblem, type LocalMedia } from "./media";
import { MediaSession, type FeedFigures, type Outcome } from "./media_session";
import { ParticipantList } from "./participants";
import type { JoinSetup } from "./prejoin";
import type { OutboundFigures } from "./publisher";
import {
  DEFAULT_MEDIA_PLAN,
  PROTOCOL_VERSION,
  type ChatMessage,
  type Feed,
  type IncomingMessage,
  type JoinAnswer,
  type JoinedEvent,
  type ModerationAction,
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
  /** Public so the page layout can say when the chat panel is shown (`chat.setVisible`, `chat.attachBadge`). */
  readonly chat: ChatView;
  private readonly controls: Controls;
  private readonly media: MediaSession;
  private readonly tools: CallTools;
  private readonly hand: HandControl;
  private readonly devices: CallDevices;

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
  /** Why the camera / microphone is not captured (null: it is, or was never asked for). */
  private cameraProblem: DeviceProblem | null = null;
  private micProblem: DeviceProblem | null = null;
  private retryingDevices = false;
  /** Whether capture was tried (before that a missing device is not "missing" yet). */
  private captureTried = false;

  constructor(
    private readonly page: Page,
    private answer: JoinAnswer,
    transport?: TransportFactory,
    private readonly rejoin?: (failedServer: string) => Promise<JoinAnswer>,
    /** What the pre-join screen captured and chose (null: capture when publishing, as chosen last time). */
    private setup: JoinSetup | null = null,
  ) {
    this.micOn = setup?.micOn ?? true;
    this.camOn = setup?.camOn ?? true;
    this.devices = new CallDevices(page, setup?.choice ?? loadChoice(), {
      retry: () => void this.retryDevices(),
      switchDevice: (kind, deviceId) => void this.switchDevice(kind, deviceId),
      closePanel: () => this.controls.openDevices(false),
    });
    this.grid = new Grid(page.grid, (feed, layer) => void this.media.sendLayer(feed, layer));
    this.tools = new CallTools(page, this.grid);
    this.people = new ParticipantList(page.participants, {
      moderate: (p, action) => void this.moderate(p, action),
      handRaised: (p) => showNotice(this.page, `${p.display_name} raised a hand.`),
    });
    this.hand = new HandControl(page.screenButton, (raise) => void this.raiseHand(raise));
    this.chat = new ChatView(page.chatLog, page.chatForm, page.chatInput, page.chatSend, (text) => this.sendChat(text));
    this.tools.showUnread(this.chat);
    this.controls = new Controls(page, {
      toggleMic: () => this.setMic(!this.micOn),
      toggleCamera: () => this.setCamera(!this.camOn),
      toggleScreen: () => void (this.screen ? this.stopScreen() : this.startScreen()),
      devicesOpened: (open) => this.devices.panelOpened(open, this.camera),
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
      tileAdded: (tile) => this.devices.applySpeaker(tile.video),
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

  /** The labels of the tracks my camera feed sends (the end-to-end tests read which device it is). */
  cameraSenderLabels(): string[] {
    return this.media.senderLabels("camera");
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
    this.hand.setRaised(Boolean(this.people.get(joined.participant)?.hand_raised));
    this.chat.reset(joined.chat, joined.participant, joined.conference.id);
    this.tools.joined([joined.participant, ...joined.participants.map((p) => p.id)]);
    this.chat.setEnabled(true);
    this.page.call.hidden = false;
    for (const tile of this.grid.all()) if (tile.init.self) tile.setParticipant(joined.participant);
    if (!this.canPublish && this.setup) {
      stopStream(this.setup.stream); // a listener sends nothing: release the devices the pre-join screen opened
      this.setup = null;
    }
    this.refreshControls();
    void this.sendState(); // what the others see of my microphone and camera, from the start

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
    this.tools.disconnected();
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
        this.tools.headcount.remove(String(message.participant));
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
      case "role_changed":
        this.onRoleChanged(Boolean(message.can_publish), String(message.by ?? "A moderator"));
        break;
      default:
        break; // newer server events this client does not know
    }
  }

  private onParticipant(p: Participant): void {
    this.people.upsert(p);
    this.tools.headcount.add(p.id);
    if (p.id === this.selfId) this.hand.setRaised(Boolean(p.hand_raised));
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
    let media: LocalMedia;
    if (this.setup) {
      media = { stream: this.setup.stream, camera: this.setup.camera, microphone: this.setup.microphone };
      this.setup = null;
    } else {
      const want = { audio: true, video: true };
      media = await captureCamera(this.devices.choice, want, this.answer.client.video_max_height);
    }
    if (this.over) {
      stopStream(media.stream);
      return;
    }
    this.camera = media.stream;
    this.captureTried = true;
    this.cameraProblem = media.camera;
    this.micProblem = media.microphone;
    this.devices.showProblems(this.cameraProblem, this.micProblem);
    if (media.stream) {
      for (const track of media.stream.getAudioTracks()) track.enabled = this.micOn;
      for (const track of media.stream.getVideoTracks()) track.enabled = this.camOn;
      this.showSelf();
    }
    this.refreshControls();
    void this.sendState();
  }

  /** My own camera tile, showing what I capture now. */
  private showSelf(): void {
    if (!this.camera) return;
    const key = tileKey("", null, "camera", true);
    const tile =
      this.grid.get(key) ??
      this.grid.add(
        new Tile({ participant: this.selfId ?? "", feed: null, source: "camera", self: true, name: this.myName() }),
      );
    tile.video.srcObject = null; // the stream's tracks may have changed: show it afresh
    tile.attach(this.camera, () => undefined);
    tile.setAudio(this.micOn && this.hasTrack("audio"));
    tile.setVideo(this.camOn && this.hasTrack("video"));
  }

  /**
   * "Try again", or a click on the button of a missing device: capture what is missing and publish it (a kind
   * of track the camera feed did not have needs a new offer, so the camera is published again).
   */
  private async retryDevices(): Promise<void> {
    if (this.retryingDevices || this.over || !this.canPublish) return;
    this.retryingDevices = true;
    this.devices.setBusy(true);
    const want = { audio: !this.hasTrack("audio"), video: !this.hasTrack("video") };
    const media = await captureCamera(this.devices.choice, want, this.answer.client.video_max_height);
    this.retryingDevices = false;
    this.devices.setBusy(false);
    if (this.over || !this.canPublish) {
      stopStream(media.stream);
      return;
    }
    if (want.video) this.cameraProblem = media.camera;
    if (want.audio) this.micProblem = media.microphone;
    this.devices.showProblems(this.cameraProblem, this.micProblem);
    if (media.stream) {
      // A device one asked for again is meant to be on.
      if (media.stream.getAudioTracks().length) this.micOn = true;
      if (media.stream.getVideoTracks().length) this.camOn = true;
      if (this.camera) for (const track of media.stream.getTracks()) this.camera.addTrack(track);
      else this.camera = media.stream;
      this.cameraCaptured ??= Promise.resolve();
      this.showSelf();
      this.devices.tracksChanged(this.camera);
      if (this.media.isReady) this.media.track((epoch) => this.publishCamera(epoch));
    }
    this.refreshControls();
    void this.sendState();
  }

  /** Another camera or microphone: the published track is replaced in place (no new offer where it can be). */
  private async switchDevice(kind: "camera" | "microphone", deviceId: string): Promise<void> {
    const trackKind = kind === "camera" ? "video" : "audio";
    const { track, problem } = await captureTrack(trackKind, deviceId, this.answer.client.video_max_height);
    if (this.over) {
      track?.stop();
      return;
    }
    if (!track) {
      showNotice(this.page, `Could not switch the ${kind}: ${problem === "in_use" ? "it is in use by another application" : "it is not available"}.`);
      return;
    }
    track.enabled = trackKind === "audio" ? this.micOn : this.camOn;
    const stream = this.camera ?? new MediaStream();
    const old = trackKind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
    for (const t of old) {
      stream.removeTrack(t);
      t.stop();
    }
    stream.addTrack(track);
    this.camera = stream;
    this.cameraCaptured ??= Promise.resolve();
    if (kind === "camera") this.cameraProblem = null;
    else this.micProblem = null;
    this.devices.showProblems(this.cameraProblem, this.micProblem);
    this.showSelf();
    this.devices.tracksChanged(stream);
    this.refreshControls();
    if (!this.canPublish || !this.media.isReady) return;
    const replaced = await this.media.replaceTrack("camera", trackKind, track).catch(() => false);
    if (!replaced) this.media.track((epoch) => this.publishCamera(epoch));
    void this.sendState();
  }

  // --- local controls ------------------------------------------------------------------------

  private setMic(on: boolean): void {
    if (on && this.canPublish && !this.hasTrack("audio")) {
      void this.retryDevices(); // no microphone yet: clicking it asks for one again
      return;
    }
    this.micOn = on;
    for (const track of this.camera?.getAudioTracks() ?? []) track.enabled = on;
    this.grid.get(tileKey("", null, "camera", true))?.setAudio(on && this.hasTrack("audio"));
    this.refreshControls();
    void this.sendState();
  }

  private setCamera(on: boolean): void {
    if (on && this.canPublish && !this.hasTrack("video")) {
      void this.retryDevices();
      return;
    }
    this.camOn = on;
    for (const track of this.camera?.getVideoTracks() ?? []) track.enabled = on;
    this.grid.get(tileKey("", null, "camera", true))?.setVideo(on && this.hasTrack("video"));
    this.refreshControls();
    void this.sendState();
  }

  private async sendState(): Promise<void> {
    if (!this.signaling.isOpen || this.selfId === null) return;
    try {
      // Nobody is shown "mic on" without a microphone that sends: no device, no permission, or a listener.
      await this.signaling.request({
        type: "state",
        audio: this.canPublish && this.micOn && this.hasTrack("audio"),
        video: this.canPublish && this.camOn && this.hasTrack("video"),
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

  private async moderate(p: Participant, action: ModerationAction): Promise<void> {
    try {
      await this.signaling.request({ type: "moderate", participant: p.id, action });
    } catch (error) {
      const fallback = `Could not change ${p.display_name} (${action.replace("_", " ")}).`;
      showNotice(this.page, error instanceof SignalingError ? error.message : fallback);
    }
  }

  private async raiseHand(raise: boolean): Promise<void> {
    this.hand.setRaised(raise); // at once; the server's participant_updated confirms it
    try {
      await this.signaling.request({ type: "hand", raised: raise });
    } catch (error) {
      this.hand.setRaised(!raise);
      showNotice(this.page, error instanceof SignalingError ? error.message : "Your hand could not be raised.");
    }
  }

  /** A moderator made me a speaker (publish my camera and microphone) or a listener (stop sending). */
  private onRoleChanged(canPublish: boolean, by: string): void {
    this.canPublish = canPublish;
    if (canPublish) {
      showNotice(this.page, `${by} made you a speaker: the others can see and hear you now.`);
      if (this.media.isReady) this.publishAll();
    } else {
      showNotice(this.page, `${by} made you a listener: you can watch and listen, and raise your hand to ask.`);
      void this.stopScreen();
      void this.media.unpublish("camera");
      stopStream(this.camera); // the camera and microphone are released, as for a listener who joined
      this.camera = null;
      this.cameraCaptured = null;
      this.grid.remove(tileKey("", null, "camera", true));
    }
    this.refreshControls();
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
    this.tools.end();
    this.devices.close();
    stopStream(this.setup?.stream ?? null);
    this.hand.setEnabled(false);
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
    const state = (kind: "audio" | "video") =>
      this.selfId === null && this.camera === null
        ? "closed"
        : !this.canPublish
          ? "listener"
          : this.hasTrack(kind)
            ? "ready"
            : !this.captureTried
              ? "closed" // not captured yet
              : "missing";
    this.controls.setMic(this.micOn, state("audio"));
    this.controls.setCamera(this.camOn, state("video"));
    const screenAvailable = this.canPublish && Boolean(navigator.mediaDevices?.getDisplayMedia);
    this.controls.setScreen(this.screen !== null, screenAvailable);
    this.hand.setEnabled(this.selfId !== null);
    const { micButton, camButton, screenButton } = this.page;
    this.hand.setListener(this.selfId !== null && !this.canPublish, [micButton, camButton, screenButton]);
  }

  private hasTrack(kind: "audio" | "video"): boolean {
    const stream = this.camera ?? this.setup?.stream; // before publishing: what the pre-join screen captured
    const tracks = kind === "audio" ? stream?.getAudioTracks() : stream?.getVideoTracks();
    return (tracks?.length ?? 0) > 0;
  }

  private myName(): string {
    return (this.selfId && this.people.get(this.selfId)?.display_name) || "You";
  }
}
