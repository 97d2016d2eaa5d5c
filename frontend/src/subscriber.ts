/** Receiving one remote feed on its own peer connection (the server offers, the client answers). */

import type { Feed, SubscriptionOfferReply } from "./protocol";
import { completeLocalDescription, waitConnected } from "./rtc";
import type { SignalingClient } from "./signaling";

export interface InboundFigures {
  framesDecoded: number;
  audioPacketsReceived: number;
  frameWidth: number;
}

export class Subscription {
  readonly pc: RTCPeerConnection;
  /** Everything received so far, shown in the feed's tile. */
  readonly stream = new MediaStream();
  /** The simulcast layer last confirmed by the server (camera feeds). */
  sentLayer: number | null = null;
  established = false;
  closed = false;

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
    await this.pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
    const answer = await completeLocalDescription(this.pc, "answer");
    if (this.closed) return false;
    await signaling.request({ type: "subscription_answer", feed: this.feed.feed, sdp: answer });
    this.established = true;
    return waitConnected(this.pc, connectTimeoutMs);
  }

  /** Sums the inbound RTP statistics of this connection. */
  async figures(): Promise<InboundFigures> {
    const figures: InboundFigures = { framesDecoded: 0, audioPacketsReceived: 0, frameWidth: 0 };
    if (this.closed) return figures;
    const report = await this.pc.getStats();
    report.forEach((stat: { type?: string; kind?: string; [key: string]: unknown }) => {
      if (stat.type !== "inbound-rtp") return;
      if (stat.kind === "video") {
        figures.framesDecoded += Number(stat.framesDecoded ?? 0);
        figures.frameWidth = Math.max(figures.frameWidth, Number(stat.frameWidth ?? 0));
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
