// The address book page: instant search over /api/v1/directory/search, presence, and "Call".
// Plain JavaScript served as is (the TypeScript client in frontend/ is built separately).
"use strict";

(function () {
  const DEBOUNCE_MS = 120;
  const PRESENCE_MS = 30000;
  const LABELS = { offline: "offline", online: "online", in_conference: "in a conference" };

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  ready(function () {
    const root = document.querySelector(".directory");
    const input = document.getElementById("directory-search");
    const list = document.getElementById("directory-results");
    const status = document.getElementById("directory-status");
    if (!root || !input || !list || !status) return;
    const csrf = root.getAttribute("data-csrf") || "";
    let timer = 0;
    let latest = 0;

    function line(text) {
      const span = document.createElement("span");
      span.className = "meta";
      span.textContent = text;
      return span;
    }

    function render(contacts) {
      list.replaceChildren();
      for (const c of contacts) {
        const li = document.createElement("li");
        li.className = "contact";
        li.dataset.id = String(c.id);
        const dot = document.createElement("span");
        dot.className = "presence presence-" + c.presence;
        dot.title = LABELS[c.presence] || c.presence;
        const name = document.createElement("strong");
        name.textContent = c.display_name;
        li.append(dot, name, " ", line([c.title, c.department].filter(Boolean).join(" · ")));
        li.append(document.createElement("br"), line([c.login, c.email, c.phone].filter(Boolean).join(" · ")));
        const call = document.createElement("button");
        call.type = "button";
        call.textContent = "Call";
        call.addEventListener("click", function () { startCall(c.id, call); });
        li.append(" ", call);
        list.append(li);
      }
    }

    async function search() {
      const q = input.value.trim();
      const mine = ++latest;
      if (!q) { list.replaceChildren(); status.textContent = ""; return; }
      const response = await fetch("/api/v1/directory/search?q=" + encodeURIComponent(q), { credentials: "same-origin" });
      if (mine !== latest) return; // a newer query is on its way
      if (!response.ok) { status.textContent = "Search failed (" + response.status + ")."; return; }
      const contacts = await response.json();
      status.textContent = contacts.length ? "" : "Nobody found.";
      render(contacts);
    }

    async function startCall(id, button) {
      button.disabled = true;
      const response = await fetch("/api/v1/directory/contacts/" + id + "/call", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf },
      });
      if (response.ok) {
        const body = await response.json();
        window.location.href = body.url;
      } else {
        button.disabled = false;
        status.textContent = "Could not start the call (" + response.status + ").";
      }
    }

    function heartbeat() {
      fetch("/api/v1/directory/presence", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf } });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, DEBOUNCE_MS);
    });
    window.setInterval(heartbeat, PRESENCE_MS);
    window.setInterval(function () { if (input.value.trim()) search(); }, PRESENCE_MS / 3); // presence refresh
  });
})();
