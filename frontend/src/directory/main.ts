/**
 * Entry point of the address book bundle (static/build/directory.js): the search on /directory, and the
 * incoming-call banner wherever the page has `#incoming-calls` (home and address book).
 */

import { IncomingCallsView } from "./calls";
import { SearchView } from "./search";

function boot(): void {
  const directory = document.getElementById("directory");
  const input = document.getElementById("directory-search");
  const list = document.getElementById("directory-results");
  const status = document.getElementById("directory-status");
  if (directory && input instanceof HTMLInputElement && list instanceof HTMLUListElement && status) {
    new SearchView({ input, list, status }, directory.dataset.csrf ?? "").start();
  }
  const calls = document.getElementById("incoming-calls");
  if (calls) new IncomingCallsView(calls, calls.dataset.csrf ?? "").start();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
