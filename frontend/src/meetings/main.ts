/**
 * Entry point of the meetings bundle (static/build/meetings.js) on /meetings and /meetings/<id>: the list and the
 * week/month calendar of the caller's meetings, the scheduling form, and one meeting's page.
 */

import { MeetingsApi } from "./api";
import { MeetingsOverview } from "./calendar";
import { MeetingDetail } from "./detail";
import { byId } from "./dom";
import { ScheduleForm } from "./schedule";
import { browserZone } from "./time";

function boot(): void {
  const root = document.getElementById("meetings-app");
  if (!root) return;
  const api = new MeetingsApi(root.dataset.csrf ?? "");
  const zone = root.dataset.timeZone || browserZone();
  const meetingId = Number(root.dataset.meetingId || "0");
  const zoneInput = document.querySelector<HTMLInputElement>("#schedule-form input[name=time_zone]");
  if (zoneInput && !zoneInput.value) zoneInput.value = zone;
  const zones = document.getElementById("zone-list");
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  if (zones && supported) {
    for (const name of supported("timeZone")) zones.append(new Option(name, name));
  }
  if (meetingId > 0) {
    const card = document.getElementById("meeting-detail");
    document.getElementById("meetings-overview")?.setAttribute("hidden", "");
    document.getElementById("schedule-card")?.setAttribute("hidden", "");
    if (card) void new MeetingDetail(api, card, zone, meetingId).start();
    return;
  }
  const list = byId("meetings-list", HTMLUListElement);
  const calendar = document.getElementById("meetings-calendar");
  const status = document.getElementById("meetings-status");
  const nav = document.getElementById("calendar-nav");
  const title = document.getElementById("calendar-title");
  if (list && calendar && status && nav && title) {
    new MeetingsOverview(api, zone, { list, calendar, status, nav, title }).start();
  }
  const form = byId("schedule-form", HTMLFormElement);
  const error = document.getElementById("schedule-error");
  if (form && error) new ScheduleForm(api, form, error).start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
