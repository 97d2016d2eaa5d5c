import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { unreadLabel } from "../chat";
import { peopleText } from "../headcount";
import { gridColumns, gridLayout, stripColumns } from "../layout/grid";
import { avatarHue, initials } from "../layout/tile";
import { shortcutText } from "../shortcuts";
import { levelOf, SPEAKING_LEVEL, SpeakingState } from "../speaking";

describe("initials", () => {
  it("takes the first letters of the first and last words", () => {
    assert.equal(initials("Ada Lovelace"), "AL");
    assert.equal(initials("ada king lovelace"), "AL");
    assert.equal(initials("Alice"), "A");
    assert.equal(initials("jean-luc picard"), "JP");
  });

  it("skips punctuation and keeps letters of any script whole", () => {
    assert.equal(initials("  «Élodie»  Durand (guest) "), "ÉG");
    assert.equal(initials("Анна Петрова"), "АП");
    assert.equal(initials("李小龙"), "李");
    assert.equal(initials("𝒜lpha 𝒵eta"), "𝒜𝒵");
  });

  it("gives a question mark for a name without letters", () => {
    assert.equal(initials(""), "?");
    assert.equal(initials("  -- . "), "?");
    assert.equal(initials("🙂"), "?");
  });
});

describe("avatarHue", () => {
  it("is stable per name and within the colour circle", () => {
    assert.equal(avatarHue("Alice"), avatarHue("Alice"));
    assert.notEqual(avatarHue("Alice"), avatarHue("Bob"));
    for (const name of ["", "Alice", "Ωmega", "a".repeat(500)]) {
      const hue = avatarHue(name);
      assert.ok(hue >= 0 && hue < 360, String(hue));
    }
  });
});

describe("gridLayout", () => {
  it("is the even grid without a pin", () => {
    assert.deepEqual(gridLayout(4, 1200, false), { columns: gridColumns(4, 1200), spotlight: false });
  });

  it("puts the others side by side in a strip under a pinned tile", () => {
    assert.deepEqual(gridLayout(7, 1200, true), { columns: 6, spotlight: true });
    // One or two others stay small: room for four in the strip.
    assert.deepEqual(gridLayout(2, 1200, true), { columns: 4, spotlight: true });
  });

  it("needs no spotlight for a single tile", () => {
    assert.deepEqual(gridLayout(1, 1200, true), { columns: 1, spotlight: false });
  });

  it("keeps strip tiles at least 160 px wide", () => {
    assert.equal(stripColumns(10, 800), 5);
    assert.equal(stripColumns(10, 100), 1);
    assert.equal(stripColumns(3, 390), 2);
    assert.equal(stripColumns(1, 944), 4);
  });
});

describe("levelOf", () => {
  it("maps the window's peak from -60 dBFS (0) to -12 dBFS (1)", () => {
    assert.equal(levelOf(new Float32Array(64)), 0);
    assert.equal(levelOf(new Float32Array([0, 0.0005, 0])), 0); // -66 dBFS: below the floor
    assert.equal(levelOf(new Float32Array([0, -0.5, 0.2])), 1); // -6 dBFS
    const middle = levelOf(new Float32Array([10 ** (-36 / 20)])); // -36 dBFS
    assert.ok(Math.abs(middle - 0.5) < 1e-6, String(middle));
  });
});

describe("SpeakingState", () => {
  it("speaks from a loud window on and holds over short pauses", () => {
    const state = new SpeakingState();
    assert.equal(state.update(0, 0), false);
    assert.equal(state.update(SPEAKING_LEVEL, 100), true);
    assert.equal(state.update(0, 900), true);
    assert.equal(state.update(0, 1300), true);
    assert.equal(state.update(0, 1400), false);
  });

  it("never speaks below the threshold", () => {
    const state = new SpeakingState();
    for (let t = 0; t < 5000; t += 50) assert.equal(state.update(SPEAKING_LEVEL - 0.01, t), false);
  });
});

describe("texts", () => {
  it("counts people and unread messages in words", () => {
    assert.deepEqual([1, 2, 12].map(peopleText), ["1 person", "2 people", "12 people"]);
    assert.deepEqual(unreadLabel(0), { text: "", label: "" });
    assert.deepEqual(unreadLabel(1), { text: "1", label: "1 unread message" });
    assert.deepEqual(unreadLabel(150), { text: "99+", label: "150 unread messages" });
  });

  it("names shortcuts as the platform does", () => {
    assert.equal(shortcutText("d", false), "Ctrl+D");
    assert.equal(shortcutText("e", true), "⌘E");
  });
});
