/** Local capture: camera + microphone, and the screen. */

const AUDIO_CONSTRAINTS: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/** Camera constraints for a capture height (the cluster's shared setting; 720 by default), 16:9. */
export function cameraConstraints(maxHeight = 720): MediaStreamConstraints {
  const height = Math.max(180, Math.min(maxHeight, 1080));
  return {
    audio: AUDIO_CONSTRAINTS,
    video: { width: { ideal: Math.round((height * 16) / 9) }, height: { ideal: height }, frameRate: { ideal: 30 } },
  };
}

export interface LocalMedia {
  stream: MediaStream | null;
  /** Why capture (partly) failed, for a notice; null when all went well. */
  problem: string | null;
}

/** Camera and microphone; falls back to the microphone alone, then to nothing (listen only). */
export async function captureCamera(maxHeight = 720): Promise<LocalMedia> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return { stream: null, problem: "This browser cannot use a camera or microphone here (a secure page is needed)." };
  }
  try {
    return { stream: await navigator.mediaDevices.getUserMedia(cameraConstraints(maxHeight)), problem: null };
  } catch (error) {
    console.warn("camera and microphone unavailable", error);
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: AUDIO_CONSTRAINTS });
    return { stream, problem: "The camera is unavailable; you take part with your microphone only." };
  } catch (error) {
    console.warn("microphone unavailable", error);
  }
  return { stream: null, problem: "Camera and microphone are unavailable; you can watch and listen." };
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
