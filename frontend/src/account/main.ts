/**
 * Entry point of the account bundle (static/build/account.js) on /account: the profile (display name, time zone,
 * language, picture), notification preferences per kind (e-mail, push), and the private calendar feed address.
 */

import { MeetingsApi } from "../meetings/api";
import { disablePush, enablePush, type PushState, pushState } from "../push";
import { byId, el } from "../meetings/dom";
import { browserZone } from "../meetings/time";

interface Profile {
  display_name: string;
  time_zone: string;
  language: string;
}

type Preferences = { kinds: Record<string, { email: boolean; push: boolean }> };

const KIND_LABELS: Record<string, string> = {
  invitation: "Meeting invitations",
  reminder: "Reminders before meetings",
  meeting_changed: "Meetings changed",
  meeting_cancelled: "Meetings cancelled",
  missed_call: "Missed calls",
  message: "Chat messages",
};

function say(id: string, text: string): void {
  const node = document.getElementById(id);
  if (node) node.textContent = text;
}

async function profile(api: MeetingsApi, form: HTMLFormElement): Promise<void> {
  const zones = document.getElementById("zone-list");
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  if (zones && supported) for (const name of supported("timeZone")) zones.append(new Option(name, name));
  const field = (name: string): HTMLInputElement | HTMLSelectElement =>
    form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement;
  try {
    const current = await api.call<Profile>("GET", "/me/profile");
    field("display_name").value = current.display_name;
    field("time_zone").value = current.time_zone === "UTC" ? browserZone() : current.time_zone;
    field("language").value = current.language;
  } catch (e) {
    say("profile-status", e instanceof Error ? e.message : String(e));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      display_name: field("display_name").value.trim(),
      time_zone: field("time_zone").value.trim(),
      language: field("language").value,
    };
    try {
      await api.call<Profile>("PUT", "/me/profile", body);
      say("profile-status", "Saved.");
    } catch (e) {
      say("profile-status", e instanceof Error ? e.message : String(e));
    }
  });
}

async function preferences(api: MeetingsApi, table: HTMLTableElement): Promise<void> {
  let prefs: Preferences;
  try {
    prefs = await api.call<Preferences>("GET", "/me/notification-preferences");
  } catch (e) {
    say("prefs-status", e instanceof Error ? e.message : String(e));
    return;
  }
  const body = table.tBodies[0];
  body.replaceChildren();
  for (const [kind, pref] of Object.entries(prefs.kinds)) {
    const box = (channel: "email" | "push"): HTMLElement => {
      const label = `${KIND_LABELS[kind] ?? kind} by ${channel}`;
      const input = el("input", { type: "checkbox", "aria-label": label, "data-kind": kind, "data-channel": channel });
      input.checked = pref[channel];
      input.addEventListener("change", async () => {
        const wanted = { ...prefs.kinds[kind], [channel]: input.checked };
        try {
          prefs = await api.call<Preferences>("PUT", "/me/notification-preferences", { kinds: { [kind]: wanted } });
          say("prefs-status", "Saved.");
        } catch (e) {
          input.checked = !input.checked;
          say("prefs-status", e instanceof Error ? e.message : String(e));
        }
      });
      return el("td", {}, input);
    };
    body.append(el("tr", {}, el("td", {}, KIND_LABELS[kind] ?? kind), box("email"), box("push")));
  }
  table.hidden = false;
}

async function feed(api: MeetingsApi): Promise<void> {
  const state = await api.call<{ url: string | null; exists: boolean }>("GET", "/me/calendar-feed").catch(() => null);
  const exists = "You have a feed address. Make a new one to see it again (the old one stops working).";
  say("feed-status", state?.exists ? exists : "No feed address yet.");
  document.getElementById("feed-reset")?.addEventListener("click", async () => {
    try {
      const made = await api.call<{ url: string }>("POST", "/me/calendar-feed");
      say("feed-url", made.url);
      say("feed-status", "Your new feed address (copy it now: it is shown once):");
    } catch (e) {
      say("feed-status", e instanceof Error ? e.message : String(e));
    }
  });
}

const PUSH_TEXT: Record<PushState, string> = {
  unsupported: "This browser cannot receive push notifications.",
  denied: "This browser blocks notifications from Veche: allow them in its site settings.",
  disabled: "Push notifications are off in this browser.",
  enabled: "Push notifications are on in this browser.",
};

async function push(csrf: string, button: HTMLButtonElement): Promise<void> {
  const show = (state: PushState): void => {
    say("prefs-status", PUSH_TEXT[state]);
    button.hidden = state === "unsupported" || state === "denied";
    const on = state === "enabled";
    button.textContent = on ? "Turn push off in this browser" : "Enable push notifications in this browser";
    button.dataset.state = state;
  };
  show(await pushState().catch(() => "unsupported" as PushState));
  button.addEventListener("click", async () => {
    try {
      show(button.dataset.state === "enabled" ? await disablePush(csrf) : await enablePush(csrf));
    } catch (e) {
      say("prefs-status", e instanceof Error ? e.message : String(e));
    }
  });
}

function avatar(csrf: string, userImage: HTMLImageElement, input: HTMLInputElement): void {
  const reload = (): void => {
    userImage.src = `${userImage.src.split("?")[0]}?t=${Date.now()}`;
  };
  userImage.addEventListener("load", () => (userImage.hidden = false));
  userImage.addEventListener("error", () => (userImage.hidden = true));
  input.addEventListener("change", async () => {
    const file = input.files?.[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    const response = await fetch("/api/v1/me/avatar", {
      method: "PUT",
      headers: { "X-CSRF-Token": csrf, Accept: "application/json" },
      credentials: "same-origin",
      body,
    }).catch(() => null);
    const payload = (await response?.json().catch(() => null)) as { error?: { message?: string } } | null;
    say("avatar-status", response?.ok ? "Saved." : (payload?.error?.message ?? "The picture could not be saved."));
    input.value = "";
    if (response?.ok) reload();
  });
  document.getElementById("avatar-remove")?.addEventListener("click", async () => {
    const headers = { "X-CSRF-Token": csrf };
    await fetch("/api/v1/me/avatar", { method: "DELETE", headers, credentials: "same-origin" });
    userImage.hidden = true;
    say("avatar-status", "Removed.");
  });
}

function boot(): void {
  const root = document.getElementById("account-app");
  if (!root) return;
  const api = new MeetingsApi(root.dataset.csrf ?? "");
  const form = byId("profile-form", HTMLFormElement);
  if (form) void profile(api, form);
  const table = byId("prefs-table", HTMLTableElement);
  if (table) void preferences(api, table);
  void feed(api);
  const image = byId("avatar-image", HTMLImageElement);
  const file = byId("avatar-file", HTMLInputElement);
  if (image && file) avatar(root.dataset.csrf ?? "", image, file);
  const button = byId("push-enable", HTMLButtonElement);
  if (button) void push(root.dataset.csrf ?? "", button);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
