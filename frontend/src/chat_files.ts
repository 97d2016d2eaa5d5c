/**
 * Files in chats, for any chat view (the conference page's chat, the /chats page): an attach button that sends a
 * file to a chat, and the rendering of a message's attachment as a download link.
 *
 * The server checks everything (members only, size, type, quota, virus scan) and answers in words; the button
 * shows that answer. The size limit and the quota are also checked here first, so a file that cannot be sent is
 * not uploaded in vain. File names are only ever set as textContent.
 */

/** A file as the API describes it (POST /api/v1/chats/{chat}/files, and a chat message's `attachment`). */
export interface ChatAttachment {
  file_id: string;
  name: string;
  size: number;
  content_type: string;
  url: string;
}

export interface AttachOptions {
  /** The chat, as the API names it: "conference:12" or "chat:7". */
  chat: string;
  /** The page's CSRF token (cookie sessions); empty for guests. */
  csrf: string;
  /** A guest's invite code: guests have no account, their invite link lets them in. */
  invite?: string;
  /** A guest's display name, shown with his file. */
  guestName?: string;
  /** The text sent with the file (e.g. what is typed in the chat input); read when the file is chosen. */
  text?: () => string;
  /** Called once the file is in the chat (the message itself arrives as every message does). */
  onSent?: (attachment: ChatAttachment) => void;
}

interface Limits {
  max_size_bytes: number;
  quota_bytes: number | null;
  used_bytes: number;
}

/** A size in words, as the server says it: "512 bytes", "2.5 MB". */
export function describeSize(size: number): string {
  if (size < 1000) return size === 1 ? "1 byte" : `${size} bytes`;
  for (const [unit, factor] of [
    ["GB", 1e9],
    ["MB", 1e6],
    ["kB", 1e3],
  ] as const) {
    if (size >= factor) return `${Number((size / factor).toFixed(1))} ${unit}`;
  }
  return `${size} bytes`;
}

function withInvite(url: string, invite: string | undefined): string {
  return invite ? `${url}${url.includes("?") ? "&" : "?"}invite=${encodeURIComponent(invite)}` : url;
}

/** Why a file cannot be sent, before sending it; null if it may be tried. */
export function refusalBeforeSending(file: { name: string; size: number }, limits: Limits | null): string | null {
  if (!limits) return null;
  if (file.size > limits.max_size_bytes) {
    return `The file is larger than the limit of ${describeSize(limits.max_size_bytes)}; it was not sent.`;
  }
  if (limits.quota_bytes !== null && limits.used_bytes + file.size > limits.quota_bytes) {
    return (
      `Your files take ${describeSize(limits.used_bytes)} of your ${describeSize(limits.quota_bytes)} quota; ` +
      `this one (${describeSize(file.size)}) does not fit.`
    );
  }
  return null;
}

async function fetchLimits(invite: string | undefined): Promise<Limits | null> {
  try {
    const response = await fetch(withInvite("/api/v1/files/limits", invite), { credentials: "same-origin" });
    return response.ok ? ((await response.json()) as Limits) : null;
  } catch {
    return null; // the server decides anyway
  }
}

function errorMessage(status: number, body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: { message?: unknown } }).error;
    if (typeof error?.message === "string" && error.message) return error.message;
  } catch {
    // not the API's error shape (a proxy's page): say what happened
  }
  if (status === 413) return "The file is too large to be sent.";
  return status ? `The file could not be sent (HTTP ${status}).` : "The server could not be reached; try again.";
}

/** Sends `file` to the chat with upload progress; resolves with the attachment or rejects with a message. */
export function sendFile(
  file: File,
  options: AttachOptions,
  onProgress: (fraction: number) => void,
): Promise<ChatAttachment> {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("file", file, file.name);
    const text = options.text?.().trim();
    if (text) form.append("text", text);
    const request = new XMLHttpRequest();
    let url = withInvite(`/api/v1/chats/${encodeURIComponent(options.chat)}/files`, options.invite);
    if (options.invite && options.guestName) url += `&guest_name=${encodeURIComponent(options.guestName)}`;
    request.open("POST", url);
    request.withCredentials = true;
    if (options.csrf) request.setRequestHeader("X-CSRF-Token", options.csrf);
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      if (request.status === 201) resolve(JSON.parse(request.responseText) as ChatAttachment);
      else reject(new Error(errorMessage(request.status, request.responseText)));
    });
    request.addEventListener("error", () => reject(new Error(errorMessage(request.status, request.responseText))));
    request.send(form);
  });
}

/**
 * An attach button for a chat: put it next to the chat's send button. Choosing a file sends it at once; the
 * status next to the button says how far it is, or why it was refused. Returns the element holding both.
 */
export function attachButton(options: AttachOptions): HTMLElement {
  const wrapper = document.createElement("span");
  wrapper.className = "chat-attach";
  const input = document.createElement("input");
  input.type = "file";
  input.hidden = true;
  input.className = "chat-attach-input";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "chat-attach-button";
  button.textContent = "Attach file";
  button.title = "Send a file to this chat";
  const status = document.createElement("span");
  status.className = "chat-attach-status";
  status.setAttribute("role", "status");
  let limits: Limits | null = null;

  button.addEventListener("click", () => {
    input.click();
    void fetchLimits(options.invite).then((fetched) => {
      limits = fetched;
    });
  });
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    input.value = "";
    if (!file) return;
    const early = refusalBeforeSending(file, limits);
    if (early) {
      status.dataset.state = "error";
      status.textContent = early;
      return;
    }
    button.disabled = true;
    status.dataset.state = "sending";
    status.textContent = `Sending ${file.name}…`;
    sendFile(file, options, (fraction) => {
      status.textContent = `Sending ${file.name}… ${Math.floor(fraction * 100)} %`;
    })
      .then((attachment) => {
        status.dataset.state = "sent";
        status.textContent = `Sent ${attachment.name}.`;
        if (limits) limits.used_bytes += attachment.size;
        options.onSent?.(attachment);
      })
      .catch((error: unknown) => {
        status.dataset.state = "error";
        status.textContent = error instanceof Error ? error.message : "The file could not be sent.";
      })
      .finally(() => {
        button.disabled = false;
      });
  });
  wrapper.append(input, button, status);
  return wrapper;
}

const PREVIEWED = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

/**
 * A message's attachment: a download link with the file's name and size (and a small preview for images).
 * Guests pass their invite code: their downloads carry it.
 */
export function renderAttachment(attachment: ChatAttachment, options: { invite?: string } = {}): HTMLElement {
  const box = document.createElement("div");
  box.className = "chat-attachment";
  const href = withInvite(attachment.url || `/api/v1/files/${encodeURIComponent(attachment.file_id)}`, options.invite);
  const link = document.createElement("a");
  link.className = "chat-attachment-link";
  link.href = href;
  link.download = attachment.name;
  link.rel = "noopener";
  const name = document.createElement("span");
  name.className = "chat-attachment-name";
  name.textContent = attachment.name;
  const size = document.createElement("span");
  size.className = "chat-attachment-size";
  size.textContent = describeSize(attachment.size);
  link.append(name, " ", size);
  if (PREVIEWED.has(attachment.content_type)) {
    const preview = document.createElement("img");
    preview.className = "chat-attachment-preview";
    preview.src = href;
    preview.alt = "";
    preview.loading = "lazy";
    // Sized here so any page's chat can use it (styles through the CSSOM: the pages' CSP has no inline styles).
    preview.style.display = "block";
    preview.style.maxWidth = "min(240px, 100%)";
    preview.style.maxHeight = "160px";
    link.prepend(preview);
  }
  box.append(link);
  return box;
}
