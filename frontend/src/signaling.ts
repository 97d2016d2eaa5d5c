/**
 * The signaling connection: one WebSocket to the app server, request/response matching by `id`,
 * a heartbeat, and reconnection with exponential backoff (0.25 s doubling up to 4 s).
 */

import type { ClientRequest, IncomingMessage } from "./protocol";

/** A failed request: the server's `error` reply. `message` is meant for people. */
export class SignalingError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "SignalingError";
  }
}

/** The socket closed (or the request timed out) before the reply arrived. */
export class ConnectionLost extends Error {
  constructor(message = "the signaling connection was lost") {
    super(message);
    this.name = "ConnectionLost";
  }
}

/** Close code after which the client reconnects with a new ticket (docs/protocol.md, "Close codes"). */
export const CLOSE_ASK_AGAIN = 4010;

/** The delay before reconnection attempt number `attempt` (0-based), in milliseconds. */
export function backoffDelay(attempt: number): number {
  return Math.min(4000, 250 * 2 ** Math.max(0, attempt));
}

export interface TransportHandlers {
  onOpen(): void;
  onMessage(text: string): void;
  onClose(code: number, reason: string): void;
}

/** The I/O edge: a text message pipe. The browser uses a WebSocket; tests use an in-memory one. */
export interface Transport {
  send(text: string): void;
  close(): void;
}

export type TransportFactory = (url: string, handlers: TransportHandlers) => Transport;

export const webSocketTransport: TransportFactory = (url, handlers) => {
  const ws = new WebSocket(url);
  ws.onopen = () => handlers.onOpen();
  ws.onmessage = (ev: MessageEvent) => {
    if (typeof ev.data === "string") handlers.onMessage(ev.data);
  };
  ws.onclose = (ev: CloseEvent) => handlers.onClose(ev.code, ev.reason);
  return {
    send: (text) => ws.send(text),
    close: () => ws.close(1000),
  };
};

export interface SignalingHandlers {
  /** The socket is open: the owner sends `join` now. */
  onOpen(): void;
  /** A server event (a message that answers no pending request). */
  onEvent(message: IncomingMessage): void;
  /** The connection dropped; a reconnection is scheduled. Called once per outage. */
  onDisconnected(): void;
  /** The server closed the socket with an application code (4000-4999): no reconnection. */
  onRefused(code: number, reason: string): void;
}

export interface SignalingOptions {
  transport?: TransportFactory;
  /**
   * Called before each reconnection: may return a new URL (the conference moved to another app server
   * because this one died). Failures and `null` keep the current URL.
   */
  beforeReconnect?: () => Promise<string | null>;
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
}

interface Pending {
  resolve(message: IncomingMessage): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
  isJoin: boolean;
}

export class SignalingClient {
  private transport: Transport | null = null;
  private open = false;
  private wasConnected = false;
  private stopped = false;
  private attempt = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private readonly factory: TransportFactory;
  private readonly requestTimeoutMs: number;
  private readonly pingIntervalMs: number;

  private readonly beforeReconnect: (() => Promise<string | null>) | null;

  constructor(
    private url: string,
    private readonly handlers: SignalingHandlers,
    options: SignalingOptions = {},
  ) {
    this.factory = options.transport ?? webSocketTransport;
    this.beforeReconnect = options.beforeReconnect ?? null;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 20000;
    this.pingIntervalMs = options.pingIntervalMs ?? 20000;
  }

  get isOpen(): boolean {
    return this.open;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Sends a request with a fresh `id`; resolves with the reply, rejects with SignalingError or ConnectionLost. */
  request(message: ClientRequest): Promise<IncomingMessage> {
    if (!this.open || !this.transport) return Promise.reject(new ConnectionLost());
    const id = this.nextId++;
    const transport = this.transport;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ConnectionLost(`no reply to ${message.type} in time`));
      }, this.requestTimeoutMs);
      this.pending.set(id, { resolve, reject, timer, isJoin: message.type === "join" });
      transport.send(JSON.stringify({ ...message, id }));
    });
  }

  /** Sends a message that expects no reply (`leave`). */
  send(message: { type: string }): void {
    if (this.open && this.transport) this.transport.send(JSON.stringify(message));
  }

  /** The session is established (joined): the next outage starts again from the shortest delay. */
  markJoined(): void {
    this.attempt = 0;
  }

  /** Closes the socket for good: no reconnection, pending requests fail. */
  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.dropTransport();
  }

  /** Closes the current socket and reconnects (used when the heartbeat gets no answer). */
  restart(): void {
    if (!this.stopped && this.transport) this.lost(this.transport);
  }

  private connect(): void {
    this.reconnectTimer = null;
    if (this.stopped) return;
    const transport: Transport = this.factory(this.url, {
      onOpen: () => {
        if (this.transport !== transport) return;
        this.open = true;
        this.wasConnected = true;
        this.startHeartbeat();
        this.handlers.onOpen();
      },
      onMessage: (text) => {
        if (this.transport === transport) this.dispatch(text);
      },
      onClose: (code, reason) => {
        if (this.transport !== transport) return;
        // 4010: the ticket is stale or expired (the conference moved): reconnect, asking for a new one first.
        if (code >= 4000 && code < 5000 && code !== CLOSE_ASK_AGAIN) {
          this.stop();
          this.handlers.onRefused(code, reason);
          return;
        }
        this.lost(transport);
      },
    });
    this.transport = transport;
  }

  private lost(transport: Transport): void {
    if (this.transport !== transport) return;
    const announce = this.wasConnected;
    this.wasConnected = false;
    this.dropTransport();
    if (this.stopped) return;
    if (announce) this.handlers.onDisconnected();
    const delay = backoffDelay(this.attempt++);
    this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
  }

  private async reconnect(): Promise<void> {
    if (this.beforeReconnect) {
      try {
        const url = await this.beforeReconnect();
        if (url) this.url = url;
      } catch {
        // The web server is unreachable too: try the app server we know.
      }
    }
    if (!this.stopped && this.transport === null) this.connect();
  }

  private dropTransport(): void {
    const transport = this.transport;
    this.transport = null;
    this.open = false;
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new ConnectionLost());
      this.pending.delete(id);
    }
    transport?.close();
  }

  private startHeartbeat(): void {
    this.pingTimer = setInterval(() => {
      this.request({ type: "ping" }).catch((error: unknown) => {
        if (error instanceof ConnectionLost) this.restart();
      });
    }, this.pingIntervalMs);
  }

  private dispatch(text: string): void {
    let message: IncomingMessage;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || typeof (parsed as { type?: unknown }).type !== "string") {
        return;
      }
      message = parsed as IncomingMessage;
    } catch {
      return;
    }
    const pending = this.takePending(message);
    if (!pending) {
      this.handlers.onEvent(message);
      return;
    }
    clearTimeout(pending.timer);
    if (message.type === "error") {
      pending.reject(new SignalingError(String(message.code ?? "error"), String(message.message ?? "request failed")));
    } else {
      pending.resolve(message);
    }
  }

  /** The pending request this message answers: by `id`, or a `joined`/`error` without id answering `join`. */
  private takePending(message: IncomingMessage): Pending | undefined {
    if (typeof message.id === "number") {
      const pending = this.pending.get(message.id);
      if (pending) this.pending.delete(message.id);
      return pending;
    }
    if (message.type !== "joined" && message.type !== "error") return undefined;
    for (const [id, pending] of this.pending) {
      if (pending.isJoin) {
        this.pending.delete(id);
        return pending;
      }
    }
    return undefined;
  }
}
