import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";

import {
  ConnectionLost,
  SignalingClient,
  SignalingError,
  backoffDelay,
  type TransportFactory,
  type TransportHandlers,
} from "../signaling";
import type { IncomingMessage } from "../protocol";

/** An in-memory server end: records what the client sent, lets the test answer or drop the line. */
class FakeServer {
  connections: { url: string; handlers: TransportHandlers; sent: string[]; closed: boolean }[] = [];

  factory: TransportFactory = (url, handlers) => {
    const connection = { url, handlers, sent: [] as string[], closed: false };
    this.connections.push(connection);
    return {
      send: (text) => connection.sent.push(text),
      close: () => {
        connection.closed = true;
      },
    };
  };

  get last() {
    const connection = this.connections.at(-1);
    if (!connection) throw new Error("no connection");
    return connection;
  }

  lastSent(): IncomingMessage {
    return JSON.parse(this.last.sent.at(-1) ?? "null") as IncomingMessage;
  }

  reply(message: object): void {
    this.last.handlers.onMessage(JSON.stringify(message));
  }
}

interface Recorded {
  opens: number;
  events: IncomingMessage[];
  disconnects: number;
  refusals: string[];
}

function makeClient(server: FakeServer): { client: SignalingClient; seen: Recorded } {
  const seen: Recorded = { opens: 0, events: [], disconnects: 0, refusals: [] };
  const client = new SignalingClient(
    "ws://veche.test/ws/v1",
    {
      onOpen: () => seen.opens++,
      onEvent: (m) => seen.events.push(m),
      onDisconnected: () => seen.disconnects++,
      onRefused: (_code, reason) => seen.refusals.push(reason),
    },
    { transport: server.factory, requestTimeoutMs: 5000, pingIntervalMs: 60000 },
  );
  return { client, seen };
}

describe("backoffDelay", () => {
  it("doubles from 0.25 s up to 4 s", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(backoffDelay), [250, 500, 1000, 2000, 4000, 4000, 4000]);
  });
});

describe("SignalingClient", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "setInterval"] }));
  afterEach(() => mock.timers.reset());

  it("matches replies to requests by id and passes events through", async () => {
    const server = new FakeServer();
    const { client, seen } = makeClient(server);
    client.start();
    server.last.handlers.onOpen();
    assert.equal(seen.opens, 1);

    const reply = client.request({ type: "chat", text: "hello" });
    const sent = server.lastSent();
    assert.equal(sent.type, "chat");
    assert.equal(sent.text, "hello");
    server.reply({ type: "participant_left", participant: "p2" });
    server.reply({ type: "ok", id: sent.id });
    assert.equal((await reply).type, "ok");
    assert.deepEqual(seen.events.map((e) => e.type), ["participant_left"]);
  });

  it("rejects a request answered by an error with the server's code and message", async () => {
    const server = new FakeServer();
    const { client } = makeClient(server);
    client.start();
    server.last.handlers.onOpen();
    const reply = client.request({ type: "subscribe", feed: 7 });
    server.reply({ type: "error", id: server.lastSent().id, code: "unknown_feed", message: "No such feed" });
    await assert.rejects(reply, (e: unknown) => e instanceof SignalingError && e.code === "unknown_feed" && e.message === "No such feed");
  });

  it("resolves join with a joined event even when it carries no id", async () => {
    const server = new FakeServer();
    const { client } = makeClient(server);
    client.start();
    server.last.handlers.onOpen();
    const reply = client.request({ type: "join", v: 1, ticket: "T" });
    server.reply({ type: "joined", participant: "p1" });
    assert.equal((await reply).participant, "p1");
  });

  it("fails pending requests and reconnects with backoff when the socket drops", async () => {
    const server = new FakeServer();
    const { client, seen } = makeClient(server);
    client.start();
    server.last.handlers.onOpen();
    const reply = client.request({ type: "ping" });
    server.last.handlers.onClose(1006, "");
    await assert.rejects(reply, ConnectionLost);
    assert.equal(seen.disconnects, 1);
    assert.equal(server.connections.length, 1);

    mock.timers.tick(249);
    assert.equal(server.connections.length, 1);
    mock.timers.tick(1);
    assert.equal(server.connections.length, 2, "first retry after 250 ms");

    server.last.handlers.onClose(1006, ""); // the retry fails before opening
    mock.timers.tick(499);
    assert.equal(server.connections.length, 2);
    mock.timers.tick(1);
    assert.equal(server.connections.length, 3, "second retry after 500 ms");
    assert.equal(seen.disconnects, 1, "one outage is announced once");

    server.last.handlers.onOpen();
    assert.equal(seen.opens, 2);
  });

  it("does not reconnect after stop() or an application close code", () => {
    const server = new FakeServer();
    const { client, seen } = makeClient(server);
    client.start();
    server.last.handlers.onOpen();
    server.last.handlers.onClose(4403, "Not invited");
    mock.timers.tick(10000);
    assert.equal(server.connections.length, 1);
    assert.deepEqual(seen.refusals, ["Not invited"]);

    const second = new FakeServer();
    const { client: other } = makeClient(second);
    other.start();
    second.last.handlers.onOpen();
    other.stop();
    assert.equal(second.last.closed, true);
    mock.timers.tick(10000);
    assert.equal(second.connections.length, 1);
  });

  it("times out a request that gets no reply", async () => {
    const server = new FakeServer();
    const { client } = makeClient(server);
    client.start();
    server.last.handlers.onOpen();
    const reply = client.request({ type: "state", audio: true, video: false });
    mock.timers.tick(5000);
    await assert.rejects(reply, ConnectionLost);
  });
});
