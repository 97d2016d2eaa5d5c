/**
 * Icons of the call's buttons (inline SVG, no font or image to load), and `iconizeControls`, which gives the
 * call controls an icon and a fixed accessible name (`aria-label`; the on/off state is `aria-pressed`, never
 * a changing name). Narrow windows show the icons alone (client.css).
 */

const ns = "http://www.w3.org/2000/svg";

/** An icon of one or more 24×24 paths, hidden from assistive technology (the button carries the name). */
export function svgIcon(paths: string | string[], className = "icon"): SVGSVGElement {
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", className);
  for (const d of typeof paths === "string" ? [paths] : paths) {
    const p = document.createElementNS(ns, "path");
    p.setAttribute("d", d);
    p.setAttribute("fill", "currentColor");
    svg.append(p);
  }
  return svg;
}

const SLASH = "M3.7 2.3 2.3 3.7l18 18 1.4-1.4z";
export const ICONS = {
  mic: "M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.9V21h2v-3.1a7 7 0 0 0 6-6.9z",
  camera: "M17 10.5V7a1 1 0 0 0-1-1H4a1 1 0 0 0-1 1v10a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1v-3.5l4 4v-11z",
  screen: "M3 4h18a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1h-7v2h3v2H7v-2h3v-2H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 2v9h16V6z",
  devices: "M3 6h11v2H3zm14-2h2v2h2v2h-2v2h-2zM3 16h4v2H3zm6-2h2v2h10v2H11v2H9z",
  chat: "M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H8l-5 4V5a1 1 0 0 1 1-1z",
  leave:
    "M12 9c-3.2 0-6.2.8-8.8 2.3a1 1 0 0 0-.5 1.2l.9 2.8a1 1 0 0 0 1.3.6l3-1.2a1 1 0 0 0 .6-.9v-2.2a13 13 0 0 1 7 0v2.2a1 1 0 0 0 .6.9l3 1.2a1 1 0 0 0 1.3-.6l.9-2.8a1 1 0 0 0-.5-1.2A17.7 17.7 0 0 0 12 9z",
  pin: "M16 3l5 5-3 1-4 4 1 5-2 2-4-4-5 5-1-1 5-5-4-4 2-2 5 1 4-4z",
  fullscreen: "M4 4h6v2H6v4H4zm10 0h6v6h-2V6h-4zM4 14h2v4h4v2H4zm14 0h2v6h-6v-2h4z",
  link: "M10.6 13.4a1 1 0 0 1 0-1.4l3.4-3.4a3 3 0 0 1 4.2 4.2l-2.3 2.3-1.4-1.4 2.3-2.3a1 1 0 0 0-1.4-1.4L12 13.4a1 1 0 0 1-1.4 0zM13.4 10.6a1 1 0 0 1 0 1.4L10 15.4a3 3 0 0 1-4.2-4.2l2.3-2.3 1.4 1.4-2.3 2.3a1 1 0 0 0 1.4 1.4L12 10.6a1 1 0 0 1 1.4 0z",
} as const;

/**
 * Puts an icon before the button's text (kept in a `.control-label` span) and names the button by that text.
 * `offPaths`: a second icon shown while `aria-pressed="false"` (a microphone with a slash).
 */
export function iconize(button: HTMLButtonElement, paths: string, offPaths?: string[]): void {
  if (button.querySelector(":scope > svg")) return;
  const text = (button.textContent ?? "").trim();
  const label = document.createElement("span");
  label.className = "control-label";
  label.textContent = text;
  button.replaceChildren(svgIcon(paths, offPaths ? "icon icon-on" : "icon"), label);
  if (offPaths) button.prepend(svgIcon(offPaths, "icon icon-off"));
  if (!button.hasAttribute("aria-label")) button.setAttribute("aria-label", text);
}

export interface ControlButtons {
  micButton: HTMLButtonElement;
  camButton: HTMLButtonElement;
  screenButton: HTMLButtonElement;
  leaveButton: HTMLButtonElement;
  devicesButton?: HTMLButtonElement;
  sideButton?: HTMLButtonElement;
}

export function iconizeControls(page: ControlButtons): void {
  iconize(page.micButton, ICONS.mic, [ICONS.mic, SLASH]);
  iconize(page.camButton, ICONS.camera, [ICONS.camera, SLASH]);
  iconize(page.screenButton, ICONS.screen);
  if (page.devicesButton) iconize(page.devicesButton, ICONS.devices);
  if (page.sideButton) iconize(page.sideButton, ICONS.chat);
  iconize(page.leaveButton, ICONS.leave);
}
