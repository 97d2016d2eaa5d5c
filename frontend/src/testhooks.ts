/** `window.vecheClient`: what the browser end-to-end tests read from a running page. */

import type { Conference } from "./conference";
import type { FeedFigures } from "./media_session";

export interface VecheTestHooks {
  inboundStats(): Promise<FeedFigures[]>;
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
    participantId: () => current()?.participantId() ?? null,
  };
}
