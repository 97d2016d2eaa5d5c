/**
 * Entry point: reads the page's `#veche-app` element, shows the pre-join screen (devices, a guest's name) unless
 * this browser chose to join directly, obtains a join ticket and starts the conference.
 */

import { JoinRefused, requestJoin } from "./api";
import { Conference } from "./conference";
import { stopStream } from "./media";
import { PreJoin, skipsPreJoin, type JoinSetup } from "./prejoin";
import { installTestHooks } from "./testhooks";
import { buildPage, setStatus, showError, type Page } from "./ui";

function boot(): void {
  const root = document.getElementById("veche-app");
  if (!root) return;
  const { joinUrl = "", csrf = "", guest = "0", conferenceName = "", pinRequired = "0" } = root.dataset;
  const page = buildPage(root, conferenceName);
  let conference: Conference | null = null;
  installTestHooks(() => conference);

  let prejoin: PreJoin | null = null;
  const join = async (body: object, setup: JoinSetup | null = null): Promise<void> => {
    setStatus(page, "connecting…");
    try {
      const answer = await requestJoin(joinUrl, csrf, body);
      page.guestForm.hidden = true;
      // Asked before every reconnection: a fresh ticket (they live two minutes) for the same participant session.
      const rejoin = (failedServer: string) =>
        requestJoin(joinUrl, csrf, { ...body, failed_server: failedServer, session: answer.session });
      conference = new Conference(page, answer, undefined, rejoin, setup);
      conference.start();
    } catch (error) {
      const refusal = error instanceof JoinRefused ? error : new JoinRefused("error", String(error));
      stopStream(setup?.stream ?? null);
      showError(page, refusal.message);
      // A guest whose name (or the meeting's PIN) was refused may try again.
      if (guest === "1" && (refusal.status === 400 || refusal.status === 422 || refusal.code === "pin_required")) {
        if (prejoin) prejoin.show();
        else reopenGuestForm(page);
      }
    }
  };

  if (!skipsPreJoin() || (guest === "1" && pinRequired === "1")) {
    prejoin = new PreJoin(page.prejoin, {
      guest: guest === "1",
      pinRequired: guest === "1" && pinRequired === "1",
      onJoin: (setup, name, pin) =>
        void join(guest === "1" ? { display_name: name, ...(pin ? { pin } : {}) } : {}, setup),
    });
    prejoin.show();
  } else if (guest === "1") {
    page.guestForm.hidden = false;
    page.guestName.focus();
    page.guestForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const name = page.guestName.value.trim();
      if (!name) {
        page.guestName.setCustomValidity("Please enter your name.");
        page.guestName.reportValidity();
        return;
      }
      page.guestName.setCustomValidity("");
      page.guestJoin.disabled = true;
      void join({ display_name: name }).finally(() => {
        page.guestJoin.disabled = false;
      });
    });
    page.guestName.addEventListener("input", () => page.guestName.setCustomValidity(""));
  } else {
    void join({});
  }
}

function reopenGuestForm(page: Page): void {
  page.guestForm.hidden = false;
  page.guestName.focus();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
