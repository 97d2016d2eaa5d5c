/** Small WebRTC helpers shared by publishers and subscriptions. */

/**
 * The camera's simulcast layers. Janus reads the `a=simulcast` rids as high-to-low by default
 * ("hml"), so the full-resolution layer comes first: substream 2 = f (1280x720), 1 = h, 0 = q.
 */
export const CAMERA_SIMULCAST: RTCRtpEncodingParameters[] = [
  { rid: "f", active: true, scaleResolutionDownBy: 1, maxBitrate: 1_500_000 },
  { rid: "h", active: true, scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: "q", active: true, scaleResolutionDownBy: 4, maxBitrate: 150_000 },
];

/** The video codecs this browser can decode, as the protocol names them ("vp8", "vp9", "h264", "av1"). */
export function decodableVideoCodecs(): string[] {
  const known = new Set(["vp8", "vp9", "h264", "av1"]);
  const codecs = RTCRtpReceiver.getCapabilities?.("video")?.codecs ?? [];
  const names = codecs.map((c) => c.mimeType.split("/")[1]?.toLowerCase() ?? "").filter((n) => known.has(n));
  return [...new Set(names)];
}

/** Whether this browser can send VP9 with `mode` (e.g. "L3T3_KEY") in one encoding. */
export function canSendVp9Svc(mode: string): boolean {
  const codecs = RTCRtpSender.getCapabilities?.("video")?.codecs ?? [];
  const vp9 = codecs.filter((c) => c.mimeType.toLowerCase() === "video/vp9");
  if (vp9.length === 0) return false;
  // Chromium lists the modes each codec supports; a browser that does not say is tried (and checked after).
  const modes = vp9.flatMap((c) => (c as { scalabilityModes?: string[] }).scalabilityModes ?? []);
  return modes.length === 0 || modes.includes(mode);
}

/** Resolves when ICE gathering is complete, or after `timeoutMs` with whatever was gathered. */
export function waitIceGathering(pc: RTCPeerConnection, timeoutMs = 2000): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = (): void => {
      if (pc.iceGatheringState === "complete") done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

/** Resolves true once the connection is up, false if it failed, closed or took longer than `timeoutMs`. */
export function waitConnected(pc: RTCPeerConnection, timeoutMs: number): Promise<boolean> {
  if (pc.connectionState === "connected") return Promise.resolve(true);
  return new Promise((resolve) => {
    const finish = (ok: boolean): void => {
      clearTimeout(timer);
      pc.removeEventListener("connectionstatechange", check);
      resolve(ok);
    };
    const check = (): void => {
      if (pc.connectionState === "connected") finish(true);
      else if (pc.connectionState === "failed" || pc.connectionState === "closed") finish(false);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    pc.addEventListener("connectionstatechange", check);
  });
}

/** Restricts a video transceiver to one codec (plus its retransmission format). */
export function preferVideoCodec(transceiver: RTCRtpTransceiver, mimeType = "video/VP8"): void {
  const sources = [
    () => RTCRtpSender.getCapabilities?.("video"),
    () => RTCRtpReceiver.getCapabilities?.("video"),
  ];
  for (const capabilities of sources) {
    const codecs = capabilities()?.codecs ?? [];
    const wanted = codecs.filter((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase());
    if (wanted.length === 0) continue;
    const rtx = codecs.filter((c) => c.mimeType.toLowerCase() === "video/rtx");
    try {
      transceiver.setCodecPreferences([...wanted, ...rtx]);
      return;
    } catch (error) {
      console.warn("setCodecPreferences failed", error);
    }
  }
}

/** Creates the local SDP (offer or answer), waits for ICE candidates and returns the complete SDP. */
export async function completeLocalDescription(
  pc: RTCPeerConnection,
  kind: "offer" | "answer",
): Promise<string> {
  const description = kind === "offer" ? await pc.createOffer() : await pc.createAnswer();
  await pc.setLocalDescription(description);
  await waitIceGathering(pc);
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new Error("no local description");
  return sdp;
}
