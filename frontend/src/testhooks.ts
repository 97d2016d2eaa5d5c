/** `window.vecheClient`: what the browser end-to-end tests read from a running page. */

import type { Conference } from "./conference";
import type { FeedFigures } from "./media_session";
import type { OutboundFigures } from "./publisher";

export interface VecheTestHooks {
  inboundStats(): Promise<FeedFigures[]>;
  cameraScalabilityMode(): string | null;
  cameraOutbound(): Promise<OutboundFigures[]>;
  participantId(): string | null;
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
  };
}
