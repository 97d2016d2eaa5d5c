/** Publishing one local source (camera+microphone, or screen) on its own peer connection. */

import type { PublishedReply, Source } from "./protocol";
import { CAMERA_SIMULCAST, completeLocalDescription, preferVideoCodec, waitConnected } from "./rtc";
import type { SignalingClient } from "./signaling";

export class Publisher {
  readonly pc: RTCPeerConnection;
  feed: number | null = null;

  constructor(
    readonly source: Source,
    iceServers: RTCIceServer[],
  ) {
    this.pc = new RTCPeerConnection({ iceServers });
  }

  /**
   * Offers `stream` (send-only; the camera's video in three VP8 simulcast layers), sends the complete
   * offer as `publish` and applies the answer. Resolves with the feed number once the media path is up
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
    for (const track of stream.getVideoTracks()) {
      const init: RTCRtpTransceiverInit = { direction: "sendonly", streams: [stream] };
      if (this.source === "camera") init.sendEncodings = CAMERA_SIMULCAST.map((e) => ({ ...e }));
      preferVideoCodec(this.pc.addTransceiver(track, init));
    }
    const offer = await completeLocalDescription(this.pc, "offer");
    const reply = (await signaling.request({ type: "publish", source: this.source, sdp: offer })) as unknown as PublishedReply;
    await this.pc.setRemoteDescription({ type: "answer", sdp: reply.sdp });
    this.feed = reply.feed;
    const connected = await waitConnected(this.pc, connectTimeoutMs);
    return { feed: reply.feed, connected };
  }

  close(): void {
    this.pc.close();
  }
}
