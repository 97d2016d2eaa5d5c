/** Receiving one remote feed on its own peer connection (the server offers, the client answers). */

import type { Feed, SubscriptionOfferReply } from "./protocol";
import { completeLocalDescription, waitConnected } from "./rtc";
import type { SignalingClient } from "./signaling";

export interface InboundFigures {
  framesDecoded: number;
  audioPacketsReceived: number;
  frameWidth: number;
  frameHeight: number;
  /** The received video's codec ("vp8", "vp9"), "" before any video arrived. */
  videoCodec: string;
  /** Why this browser receives the feed's sound only, or null. */
  videoWithheld: string | null;
}

export class Subscription {
  readonly pc: RTCPeerConnection;
  /** Everything received so far, shown in the feed's tile. */
  readonly stream = new MediaStream();
  /** The simulcast layer last confirmed by the server (camera feeds). */
  sentLayer: number | null = null;
  established = false;
  closed = false;
  /** Why the server sends this feed's audio only (this browser cannot decode its video), or null. */
  videoWithheld: string | null = null;

  constructor(
    readonly feed: Feed,
    iceServers: RTCIceServer[],
    onTrack: (stream: MediaStream) => void,
  ) {
    this.pc = new RTCPeerConnection({ iceServers });
    this.pc.addEventListener("track", (event) => {
      if (!this.stream.getTracks().includes(event.track)) this.stream.addTrack(event.track);
      onTrack(this.stream);
    });
  }

  /** subscribe → offer → complete answer → subscription_answer; resolves when the media path is up (or timed out). */
  async establish(signaling: SignalingClient, connectTimeoutMs = 10000): Promise<boolean> {
    const offer = (await signaling.request({ type: "subscribe", feed: this.feed.feed })) as unknown as SubscriptionOfferReply;
    if (this.closed) return false;
    this.videoWithheld = typeof offer.video_withheld === "string" ? offer.video_withheld : null;
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    const answer = await completeLocalDescription(this.pc, "answer");
    if (this.closed) return false;
    await signaling.request({ type: "subscription_answer", feed: this.feed.feed, sdp: answer });
    this.established = true;
    return waitConnected(this.pc, connectTimeoutMs);
  }

  /** Sums the inbound RTP statistics of this connection. */
  async figures(): Promise<InboundFigures> {
    const figures: InboundFigures = {
      framesDecoded: 0,
      audioPacketsReceived: 0,
      frameWidth: 0,
      frameHeight: 0,
      videoCodec: "",
      videoWithheld: this.videoWithheld,
    };
    if (this.closed) return figures;
    const report = await this.pc.getStats();
    const codecs = new Map<string, string>();
    report.forEach((stat: { type?: string; id?: string; mimeType?: unknown }) => {
      if (stat.type === "codec" && stat.id) codecs.set(stat.id, String(stat.mimeType ?? "").split("/")[1] ?? "");
    });
    report.forEach((stat: { type?: string; kind?: string; [key: string]: unknown }) => {
      if (stat.type !== "inbound-rtp") return;
      if (stat.kind === "video") {
        figures.framesDecoded += Number(stat.framesDecoded ?? 0);
        figures.frameWidth = Math.max(figures.frameWidth, Number(stat.frameWidth ?? 0));
        figures.frameHeight = Math.max(figures.frameHeight, Number(stat.frameHeight ?? 0));
        const codec = codecs.get(String(stat.codecId ?? ""));
        if (codec) figures.videoCodec = codec.toLowerCase();
      } else if (stat.kind === "audio") {
        figures.audioPacketsReceived += Number(stat.packetsReceived ?? 0);
      }
    });
    return figures;
  }

  close(): void {
    this.closed = true;
    this.pc.close();
    for (const track of this.stream.getTracks()) track.stop();
  }
}
