// Veche's service worker (served at /sw.js, scope "/"): shows Web Push notifications and opens their page on click.
// The payload is the JSON the base role's push sender makes: {id, kind, title, body, url}.
"use strict";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let notice = { title: "Veche", body: "", url: "/", kind: "", id: 0 };
  try {
    notice = { ...notice, ...(event.data ? event.data.json() : {}) };
  } catch (_error) {
    notice.body = event.data ? event.data.text() : "";
  }
  const url = typeof notice.url === "string" && notice.url.startsWith("/") ? notice.url : "/";
  event.waitUntil(
    self.registration.showNotification(notice.title, {
      body: notice.body,
      tag: notice.id ? `veche-${notice.id}` : undefined,
      icon: "/static/favicon.svg",
      data: { url },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin).href;
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        if (client.url === url && "focus" in client) return client.focus();
      }
      return self.clients.openWindow(url);
    })(),
  );
});
