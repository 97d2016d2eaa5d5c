/**
 * Local capture: camera + microphone from the devices the person chose, and the screen. A failed capture says
 * why, per device (none found, not allowed, in use), so the page can tell how to fix it (see devices.ts).
 */

const AUDIO_CONSTRAINTS: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Why a camera or microphone could not be used. */
export type DeviceProblem = "not_found" | "not_allowed" | "in_use" | "insecure" | "failed";

/** The devices to capture; "" means the browser's default. */
export interface DeviceChoice {
  camera: string;
  microphone: string;
  speaker: string;
}

/** Camera constraints for a capture height (the cluster's shared setting; 720 by default), 16:9. */
export function cameraConstraints(maxHeight = 720, deviceId = ""): MediaTrackConstraints {
  const height = Math.max(180, Math.min(maxHeight, 1080));
  const video: MediaTrackConstraints = {
    width: { ideal: Math.round((height * 16) / 9) },
    height: { ideal: height },
    frameRate: { ideal: 30 },
  };
  if (deviceId) video.deviceId = { exact: deviceId };
  return video;
}

export function microphoneConstraints(deviceId = ""): MediaTrackConstraints {
  return deviceId ? { ...AUDIO_CONSTRAINTS, deviceId: { exact: deviceId } } : { ...AUDIO_CONSTRAINTS };
}

export interface LocalMedia {
  /** What could be captured (camera and/or microphone tracks), or null for nothing. */
  stream: MediaStream | null;
  /** Why the camera is missing from `stream` (null: captured, or not asked for). */
  camera: DeviceProblem | null;
  /** Why the microphone is missing from `stream`. */
  microphone: DeviceProblem | null;
}

/** Maps a getUserMedia failure to what the person can do about it. */
export function classifyCaptureError(error: unknown): DeviceProblem {
  const name = error instanceof DOMException || error instanceof Error ? error.name : "";
  switch (name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return "not_allowed";
    case "NotFoundError":
    case "OverconstrainedError":
    case "DevicesNotFoundError":
      return "not_found";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "in_use";
    default:
      return "failed";
  }
}

/**
 * Captures the chosen camera and microphone (each only when `want` says so). Asks for both at once (one
 * permission prompt); when that fails, asks for each alone to learn which one is the problem. A chosen device
 * that is gone falls back to the default one.
 */
export async function captureCamera(
  choice: DeviceChoice,
  want: { audio: boolean; video: boolean },
  maxHeight = 720,
): Promise<LocalMedia> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { stream: null, camera: want.video ? "insecure" : null, microphone: want.audio ? "insecure" : null };
  }
  if (!want.audio && !want.video) return { stream: null, camera: null, microphone: null };
  try {
    const stream = await getUserMedia({
      audio: want.audio ? microphoneConstraints(choice.microphone) : false,
      video: want.video ? cameraConstraints(maxHeight, choice.camera) : false,
    });
    return { stream, camera: null, microphone: null };
  } catch (error) {
    console.warn("camera and microphone unavailable together", error);
    if (!(want.audio && want.video)) {
      const problem = classifyCaptureError(error);
      return { stream: null, camera: want.video ? problem : null, microphone: want.audio ? problem : null };
    }
  }
  const tracks: MediaStreamTrack[] = [];
  let camera: DeviceProblem | null = null;
  let microphone: DeviceProblem | null = null;
  try {
    tracks.push(...(await getUserMedia({ video: cameraConstraints(maxHeight, choice.camera) })).getTracks());
  } catch (error) {
    camera = classifyCaptureError(error);
  }
  try {
    tracks.push(...(await getUserMedia({ audio: microphoneConstraints(choice.microphone) })).getTracks());
  } catch (error) {
    microphone = classifyCaptureError(error);
  }
  return { stream: tracks.length ? new MediaStream(tracks) : null, camera, microphone };
}

/** Captures one kind of device alone (switching devices during a call). */
export async function captureTrack(
  kind: "audio" | "video",
  deviceId: string,
  maxHeight = 720,
): Promise<{ track: MediaStreamTrack | null; problem: DeviceProblem | null }> {
  if (!navigator.mediaDevices?.getUserMedia) return { track: null, problem: "insecure" };
  try {
    const constraints =
      kind === "audio" ? { audio: microphoneConstraints(deviceId) } : { video: cameraConstraints(maxHeight, deviceId) };
    const stream = await getUserMedia(constraints);
    return { track: (kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks())[0] ?? null, problem: null };
  } catch (error) {
    return { track: null, problem: classifyCaptureError(error) };
  }
}

/** getUserMedia, retrying without a chosen device that is no longer there. */
async function getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream> {
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    if (classifyCaptureError(error) !== "not_found" || !hasExactDevice(constraints)) throw error;
    return navigator.mediaDevices.getUserMedia(withoutDevice(constraints));
  }
}

function hasExactDevice(constraints: MediaStreamConstraints): boolean {
  return [constraints.audio, constraints.video].some((c) => typeof c === "object" && c !== null && "deviceId" in c);
}

function withoutDevice(constraints: MediaStreamConstraints): MediaStreamConstraints {
  const strip = (c: boolean | MediaTrackConstraints | undefined): boolean | MediaTrackConstraints | undefined => {
    if (typeof c !== "object" || c === null) return c;
    const rest = { ...c };
    delete rest.deviceId;
    return rest;
  };
  return { audio: strip(constraints.audio) ?? false, video: strip(constraints.video) ?? false };
}

/** Asks the user which screen or window to share; null when they cancel. */
export async function captureScreen(): Promise<MediaStream | null> {
  if (!navigator.mediaDevices?.getDisplayMedia) return null;
  try {
    const stream = await navigator.mediaDevices.getDisplayMedia({
      video: { frameRate: { ideal: 15 } },
      audio: false,
    });
    for (const track of stream.getVideoTracks()) track.contentHint = "detail";
    return stream;
  } catch (error) {
    console.warn("screen capture refused", error);
    return null;
  }
}

export function stopStream(stream: MediaStream | null): void {
  for (const track of stream?.getTracks() ?? []) track.stop();
}
