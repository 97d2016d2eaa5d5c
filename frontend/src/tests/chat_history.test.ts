import assert from "node:assert/strict";
import { describe, it } from "node:test";

describe("historyUrl", () => {
  it("finds the conference's stored history from the page's join URL", async () => {
    const { historyUrl } = await import("../chat");
    assert.equal(historyUrl("/api/v1/conferences/12/join"), "/api/v1/chats/conferences/12/messages");
    assert.equal(historyUrl("/api/v1/invites/AbC-9_x/join"), "/api/v1/chats/invites/AbC-9_x/messages");
    assert.equal(historyUrl(""), null);
    assert.equal(historyUrl("/api/v1/conferences/12/join/../x"), null);
  });
});
