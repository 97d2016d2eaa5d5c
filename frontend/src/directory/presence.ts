/** How presence reads on the page: a coloured dot and the same words for everyone (screen readers included). */

import type { Presence } from "./api";

export const PRESENCE_LABELS: Record<Presence, string> = {
  offline: "offline",
  online: "online",
  in_conference: "in a conference",
};

export function presenceLabel(presence: string): string {
  return PRESENCE_LABELS[presence as Presence] ?? presence;
}

/** The dot (decorative) and the text of one contact's presence, kept in one element. */
export function presenceBadge(presence: Presence): HTMLElement {
  const badge = document.createElement("span");
  badge.className = "presence-badge";
  const dot = document.createElement("span");
  dot.className = "presence";
  dot.setAttribute("aria-hidden", "true");
  const text = document.createElement("span");
  text.className = "presence-text";
  badge.append(dot, text);
  showPresence(badge, presence);
  return badge;
}

export function showPresence(badge: HTMLElement, presence: Presence): void {
  if (badge.dataset.presence === presence) return;
  badge.dataset.presence = presence;
  const dot = badge.querySelector(".presence");
  if (dot) dot.className = `presence presence-${presence}`;
  const text = badge.querySelector(".presence-text");
  if (text) text.textContent = presenceLabel(presence);
}
