/** Publishing one local source (camera+microphone, or screen) on its own peer connection. */

import { DEFAULT_MEDIA_PLAN, type MediaPlan, type PublishedReply, type Source } from "./protocol";
import { CAMERA_SIMULCAST, canSendVp9Svc, completeLocalDescription, preferVideoCodec, waitConnected } from "./rtc";
import type { SignalingClient } from "./signaling";

export interface OutboundFigures {
  rid: string;
  bytesSent: number;
  frameWidth: number;
  frameHeight: number;
  framesEncoded: number;
  scalabilityMode: string;
  qualityLimitationReason: string;
  targetBitrate: number;
}

export class Publisher {
  readonly pc: RTCPeerConnection;
  feed: number | null = null;

  /** The SVC mode the camera's video is sent with (VP9), or null (VP8 simulcast, or a screen). */
  scalabilityMode: string | null = null;

  constructor(
    readonly source: Source,
    iceServers: RTCIceServer[],
    private readonly plan: MediaPlan = DEFAULT_MEDIA_PLAN,
  ) {
    this.pc = new RTCPeerConnection({ iceServers });
  }

  /**
   * Offers `stream` (send-only), sends the complete offer as `publish` and applies the answer. The camera's
   * video goes as one VP9 encoding with SVC layers when the conference asks for it and this browser can,
   * otherwise in three VP8 simulcast layers; a screen is one VP8 stream (every viewer can decode it). Resolves with the feed number once the media path is up
   * (or after `connectTimeoutMs` — the caller decides what a slow connection means).
   */
  async publish(
    signaling: SignalingClient,
    stream: MediaStream,
    connectTimeoutMs = 10000,
  ): Promise<{ feed: number; connected: boolean }> {
    for (const track of stream.getAudioTracks()) {
      this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
    }
    const svc = this.source === "camera" ? this.svcMode() : null;
    for (const track of stream.getVideoTracks()) {
      const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [stream] };
      if (svc) {
        init.sendEncodings = [{ scalabilityMode: svc, maxBitrate: CAMERA_SIMULCAST[0]?.maxBitrate } as RTCRtpEncodingParameters];
        preferVideoCodec(this.pc.addTransceiver(track, init), "video/VP9");
      } else {
        if (this.source === "camera") init.sendEncodings = CAMERA_SIMULCAST.map((e) => ({ ...e }));
        preferVideoCodec(this.pc.addTransceiver(track, init));
      }
    }
    const offer = await completeLocalDescription(this.pc, "offer");
    this.scalabilityMode = svc && this.sendsScalabilityMode(svc) ? svc : null;
    const request = { type: "publish" as const, source: this.source, sdp: offer };
    const reply = (await signaling.request(
      this.scalabilityMode ? { ...request, scalability_mode: this.scalabilityMode } : request,
    )) as unknown as PublishedReply;
    await this.pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    this.feed = reply.feed;
    const connected = await waitConnected(this.pc, connectTimeoutMs);
    return { feed: reply.feed, connected };
  }

  close(): void {
    this.pc.close();
  }

  /** Outbound video figures: what the encoder sends (one entry per simulcast stream, or the one SVC stream). */
  async figures(): Promise<OutboundFigures[]> {
    const report = await this.pc.getStats();
    const result: OutboundFigures[] = [];
    report.forEach((stat: { type?: string; kind?: string; [key: string]: unknown }) => {
      if (stat.type !== "outbound-rtp" || stat.kind !== "video") return;
      result.push({
        rid: String(stat.rid ?? ""),
        bytesSent: Number(stat.bytesSent ?? 0),
        frameWidth: Number(stat.frameWidth ?? 0),
        frameHeight: Number(stat.frameHeight ?? 0),
        framesEncoded: Number(stat.framesEncoded ?? 0),
        scalabilityMode: String(stat.scalabilityMode ?? ""),
        qualityLimitationReason: String(stat.qualityLimitationReason ?? ""),
        targetBitrate: Number(stat.targetBitrate ?? 0),
      });
    });
    return result;
  }

  private svcMode(): string | null {
    const mode = this.plan.scalability_mode;
    if (this.plan.video_codec !== "vp9" || !mode || !canSendVp9Svc(mode)) return null;
    return mode;
  }

  /** Whether the video sender really took `mode` (a browser may silently ignore it). */
  private sendsScalabilityMode(mode: string): boolean {
    return this.pc.getSenders().some((sender) => {
      if (sender.track?.kind !== "video") return false;
      const encodings = sender.getParameters().encodings ?? [];
      return encodings.length === 1 && (encodings[0] as { scalabilityMode?: string }).scalabilityMode === mode;
    });
  }
}
