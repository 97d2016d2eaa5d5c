/** `window.vecheClient`: what the browser end-to-end tests read from a running page. */

import type { Conference } from "./conference";
import type { FeedFigures } from "./media_session";
import type { OutboundFigures } from "./publisher";

export interface VecheTestHooks {
  inboundStats(): Promise<FeedFigures[]>;
  cameraScalabilityMode(): string | null;
  cameraOutbound(): Promise<OutboundFigures[]>;
  participantId(): string | null;
  /** The labels of the tracks my camera feed sends now (which camera and microphone the others get). */
  cameraSenderLabels(): string[];
}

declare global {
  interface Window {
    vecheClient?: VecheTestHooks;
  }
}

export function installTestHooks(current: () => Conference | null): void {
  window.vecheClient = {
    inboundStats: async () => (await current()?.inboundStats()) ?? [],
    cameraScalabilityMode: () => current()?.cameraScalabilityMode() ?? null,
    cameraOutbound: async () => (await current()?.cameraOutbound()) ?? [],
    participantId: () => current()?.participantId() ?? null,
    cameraSenderLabels: () => current()?.cameraSenderLabels() ?? [],
  };
}
