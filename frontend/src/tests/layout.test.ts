import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { absoluteWebSocketUrl } from "../api";
import { gridColumns, layerForWidth } from "../layout/grid";

describe("layerForWidth", () => {
  it("asks for 320x180 below 400 px, 640x360 below 800 px, else 1280x720", () => {
    assert.deepEqual([0, 399, 400, 799, 800, 1900].map(layerForWidth), [0, 0, 1, 1, 2, 2]);
  });
});

describe("gridColumns", () => {
  it("arranges tiles in a near square", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 9, 10].map((n) => gridColumns(n, 1200)), [1, 2, 2, 2, 3, 3, 4]);
  });

  it("uses one column on a narrow screen", () => {
    assert.equal(gridColumns(6, 400), 1);
  });
});

describe("absoluteWebSocketUrl", () => {
  it("keeps an absolute ws URL", () => {
    assert.equal(absoluteWebSocketUrl("ws://10.0.0.1:9000/ws/v1", "https://veche.test/c/1"), "ws://10.0.0.1:9000/ws/v1");
  });

  it("resolves a path against the page with the matching ws scheme", () => {
    assert.equal(absoluteWebSocketUrl("/ws/v1", "https://veche.test/c/1"), "wss://veche.test/ws/v1");
    assert.equal(absoluteWebSocketUrl("/ws/v1", "http://veche.test:8080/join/x"), "ws://veche.test:8080/ws/v1");
  });
});
