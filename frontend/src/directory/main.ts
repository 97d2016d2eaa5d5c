/**
 * Entry point of the address book bundle (static/build/directory.js): the search on /directory with the caller's
 * "Ringing X…" (`#outgoing-call`), and the incoming-call banner wherever the page has `#incoming-calls` (home and
 * address book).
 */

import { IncomingCallsView, OutgoingCallView } from "./calls";
import { SearchView } from "./search";

function boot(): void {
  const directory = document.getElementById("directory");
  const input = document.getElementById("directory-search");
  const list = document.getElementById("directory-results");
  const status = document.getElementById("directory-status");
  if (directory && input instanceof HTMLInputElement && list instanceof HTMLUListElement && status) {
    const csrf = directory.dataset.csrf ?? "";
    const outgoing = document.getElementById("outgoing-call");
    const ringing = outgoing ? new OutgoingCallView(outgoing, csrf) : null;
    new SearchView({ input, list, status }, csrf, (contact, call) =>
      ringing ? ringing.start(call.conference_id, contact.display_name, call.url) : window.location.assign(call.url),
    ).start();
  }
  const calls = document.getElementById("incoming-calls");
  if (calls) new IncomingCallsView(calls, calls.dataset.csrf ?? "").start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
