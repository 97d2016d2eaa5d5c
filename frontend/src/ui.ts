/** The page skeleton inside `#veche-app`, and the status / error / notice areas. */

export type Status = "connecting…" | "connected" | "reconnecting…" | "left" | "removed";

export interface Page {
  root: HTMLElement;
  status: HTMLElement;
  error: HTMLElement;
  notice: HTMLElement;
  guestForm: HTMLFormElement;
  guestName: HTMLInputElement;
  guestJoin: HTMLButtonElement;
  call: HTMLElement;
  grid: HTMLElement;
  soundPrompt: HTMLButtonElement;
  micButton: HTMLButtonElement;
  camButton: HTMLButtonElement;
  screenButton: HTMLButtonElement;
  leaveButton: HTMLButtonElement;
  participants: HTMLUListElement;
  chatLog: HTMLElement;
  chatForm: HTMLFormElement;
  chatInput: HTMLInputElement;
  chatSend: HTMLButtonElement;
  ended: HTMLElement;
  /** The pre-join screen (prejoin.ts fills it). */
  prejoin: HTMLElement;
  /** Lasting messages about the call's devices (a device alert goes here). */
  callAlerts: HTMLElement;
  presenting: HTMLElement;
  stopPresenting: HTMLButtonElement;
  devicesButton: HTMLButtonElement;
  /** The call's device choice (camera, microphone, speaker), opened by `devicesButton`. */
  devicePanel: HTMLElement;
  /** On narrow screens: shows or hides the side panel (participants and chat). */
  sideButton: HTMLButtonElement;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function controlButton(id: string, label: string, pressed: boolean | null): HTMLButtonElement {
  const b = el("button", { id, type: "button", class: "control" }, label);
  if (pressed !== null) b.setAttribute("aria-pressed", String(pressed));
  return b;
}

export function buildPage(root: HTMLElement, conferenceName: string): Page {
  root.classList.add("veche");
  root.replaceChildren();
  // The conference page is an app: it fills the window, so the site's page around it must not scroll.
  document.documentElement.classList.add("veche-call-page");

  const header = el("header", { class: "veche-header" });
  const title = el("h1", { class: "veche-title" }, conferenceName || "Conference");
  const status = el("span", { id: "status", role: "status", "aria-live": "polite" }, "connecting…");
  status.hidden = true;
  header.append(title, status);

  const error = el("div", { id: "veche-error", role: "alert", class: "veche-error" });
  error.hidden = true;
  const notice = el("div", { id: "veche-notice", class: "veche-notice", role: "status", "aria-live": "polite" });
  notice.hidden = true;

  const guestForm = el("form", { class: "guest-form", "aria-labelledby": "guest-title" });
  const guestTitle = el("h2", { id: "guest-title" }, "Join as a guest");
  const guestLabel = el("label", { for: "guest-name" }, "Your name");
  const guestName = el("input", {
    id: "guest-name",
    name: "display_name",
    type: "text",
    autocomplete: "name",
    required: "",
    maxlength: "64",
  });
  const guestJoin = el("button", { id: "guest-join", type: "submit" }, "Join");
  guestForm.append(guestTitle, guestLabel, guestName, guestJoin);
  guestForm.hidden = true;

  const prejoin = el("section", { id: "prejoin", class: "prejoin", "aria-label": "Before joining" });
  prejoin.hidden = true;

  const call = el("div", { class: "veche-call" });
  call.hidden = true;
  const stage = el("section", { class: "veche-stage", "aria-label": "Video" });
  const grid = el("div", { id: "grid", class: "grid", "aria-label": "Participants' video" });
  const soundPrompt = el("button", { type: "button", class: "sound-prompt" }, "Turn on sound");
  soundPrompt.hidden = true;
  const presenting = el("div", { id: "presenting", class: "presenting", role: "status" });
  const stopPresenting = el("button", { id: "btn-stop-presenting", type: "button" }, "Stop presenting");
  presenting.append(el("span", { class: "presenting-text" }, "You are presenting your screen to everyone."), stopPresenting);
  presenting.hidden = true;
  const callAlerts = el("div", { class: "call-alerts" });
  stage.append(soundPrompt, callAlerts, presenting, grid);

  const controls = el("nav", { class: "veche-controls", "aria-label": "Call controls" });
  const micButton = controlButton("btn-mic", "Microphone", true);
  const camButton = controlButton("btn-cam", "Camera", true);
  const screenButton = controlButton("btn-screen", "Share screen", false);
  const leaveButton = controlButton("btn-leave", "Leave", null);
  leaveButton.classList.add("danger");
  const devicesButton = controlButton("btn-devices", "Devices", false);
  devicesButton.classList.add("plain");
  devicesButton.setAttribute("aria-controls", "device-panel");
  const sideButton = controlButton("btn-side", "Chat", false);
  sideButton.classList.add("plain");
  sideButton.setAttribute("aria-controls", "veche-side");
  controls.append(micButton, camButton, screenButton, devicesButton, sideButton, leaveButton);
  const devicePanel = el("section", { id: "device-panel", class: "device-panel", "aria-label": "Devices" });
  devicePanel.hidden = true;

  const side = el("aside", { id: "veche-side", class: "veche-side" });
  const peopleSection = el("section", { class: "panel", "aria-labelledby": "participants-title" });
  const participants = el("ul", { id: "participants", class: "participants" });
  peopleSection.append(el("h2", { id: "participants-title" }, "Participants"), participants);

  const chatSection = el("section", { class: "panel chat", "aria-labelledby": "chat-title" });
  const chatLog = el("div", { id: "chat-log", class: "chat-log", role: "log", "aria-live": "polite" });
  const chatForm = el("form", { class: "chat-form" });
  const chatLabel = el("label", { for: "chat-input", class: "visually-hidden" }, "Message");
  const chatInput = el("input", { id: "chat-input", type: "text", autocomplete: "off", placeholder: "Message" });
  const chatSend = el("button", { id: "chat-send", type: "submit" }, "Send");
  chatForm.append(chatLabel, chatInput, chatSend);
  chatSection.append(el("h2", { id: "chat-title" }, "Chat"), chatLog, chatForm);
  side.append(peopleSection, chatSection);

  call.append(stage, controls, side, devicePanel);

  const ended = el("div", { class: "veche-ended" });
  ended.hidden = true;

  root.append(header, error, notice, guestForm, prejoin, call, ended);
  return {
    root,
    status,
    error,
    notice,
    guestForm,
    guestName,
    guestJoin,
    call,
    grid,
    soundPrompt,
    micButton,
    camButton,
    screenButton,
    leaveButton,
    participants,
    chatLog,
    chatForm,
    chatInput,
    chatSend,
    ended,
    prejoin,
    callAlerts,
    presenting,
    stopPresenting,
    devicesButton,
    devicePanel,
    sideButton,
  };
}

export function setStatus(page: Page, status: Status): void {
  page.status.hidden = false;
  page.status.textContent = status;
  page.status.dataset.status = status.replace("…", "");
}

/** A refusal: the message alone, nothing of the call UI. */
export function showError(page: Page, message: string): void {
  page.error.textContent = message;
  page.error.hidden = false;
  page.call.hidden = true;
  page.guestForm.hidden = true;
  page.prejoin.hidden = true;
  page.status.hidden = true;
  page.notice.hidden = true;
}

let noticeTimer: ReturnType<typeof setTimeout> | null = null;

/** A passing message (a moderator muted you, a request failed, …); it fades after a while. */
export function showNotice(page: Page, message: string, durationMs = 10000): void {
  page.notice.textContent = message;
  page.notice.hidden = false;
  if (noticeTimer !== null) clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => {
    page.notice.hidden = true;
    noticeTimer = null;
  }, durationMs);
}

/** The call is over (left or removed): a closing message and a way back in. */
export function showEnded(page: Page, message: string): void {
  page.call.hidden = true;
  page.ended.replaceChildren();
  const text = el("p", {}, message);
  const again = el("button", { type: "button", class: "rejoin" }, "Join again");
  again.addEventListener("click", () => window.location.reload());
  page.ended.append(text, again);
  page.ended.hidden = false;
}
