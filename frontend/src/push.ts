/**
 * Web Push in this browser: registers the service worker (/sw.js, scope "/"), subscribes with the server's VAPID
 * key and hands the subscription to the server (POST /api/v1/push/subscriptions). The account page calls
 * `pushState()` to show where things stand and `enablePush()` / `disablePush()` from its buttons.
 */

export type PushState = "unsupported" | "denied" | "disabled" | "enabled";

const WORKER = "/sw.js";

async function call<T>(csrf: string, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrf;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const payload = (await response.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (!response.ok) throw new Error(payload?.error?.message ?? `Request failed (HTTP ${response.status}).`);
  return payload as T;
}

/** The bytes of a base64url string (the VAPID public key). */
export function base64UrlBytes(value: string): Uint8Array<ArrayBuffer> {
  const padded = value.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (value.length % 4)) % 4);
  const binary = atob(padded);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function supported(): boolean {
  return (
    typeof navigator !== "undefined" &&
    "serviceWorker" in navigator &&
    typeof window !== "undefined" &&
    "PushManager" in window &&
    "Notification" in window
  );
}

function sameKey(subscription: PushSubscription, key: Uint8Array): boolean {
  const current = subscription.options.applicationServerKey;
  if (!current) return false;
  const bytes = new Uint8Array(current);
  return bytes.length === key.length && bytes.every((b, i) => b === key[i]);
}

async function currentSubscription(): Promise<PushSubscription | null> {
  const registration = await navigator.serviceWorker.getRegistration("/");
  return registration ? registration.pushManager.getSubscription() : null;
}

/** Where push stands in this browser: not possible here, refused by the person, off, or on. */
export async function pushState(): Promise<PushState> {
  if (!supported()) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  if (Notification.permission !== "granted") return "disabled";
  return (await currentSubscription()) ? "enabled" : "disabled";
}

/** Ask for permission, subscribe and register the subscription with the server. */
export async function enablePush(csrf: string): Promise<PushState> {
  if (!supported()) return "unsupported";
  const permission = await Notification.requestPermission();
  if (permission !== "granted") return permission === "denied" ? "denied" : "disabled";
  await navigator.serviceWorker.register(WORKER, { scope: "/" });
  const registration = await navigator.serviceWorker.ready;
  const { public_key } = await call<{ public_key: string }>(csrf, "GET", "/push/key");
  const key = base64UrlBytes(public_key);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, key)) {
    await subscription.unsubscribe(); // made with another server key: it would never be delivered
    subscription = null;
  }
  subscription ??= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await call(csrf, "POST", "/push/subscriptions", subscription.toJSON());
  return "enabled";
}

/** Stop pushes to this browser: the server forgets the subscription, the browser drops it. */
export async function disablePush(csrf: string): Promise<PushState> {
  if (!supported()) return "unsupported";
  const subscription = await currentSubscription();
  if (subscription) {
    // Registering again answers the subscription's id (the same one), which is what DELETE takes.
    const { id } = await call<{ id: number }>(csrf, "POST", "/push/subscriptions", subscription.toJSON());
    await call(csrf, "DELETE", `/push/subscriptions/${id}`);
    await subscription.unsubscribe();
  }
  return "disabled";
}
