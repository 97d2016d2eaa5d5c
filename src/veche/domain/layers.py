"""Which video layer a viewer receives: what his tile needs, lowered while his downlink loses packets.

A viewer asks for layer 0, 1 or 2 by the size of the tile (the browser client measures it). The media engine
reports when the viewer's connection loses packets (Janus's ``slowlink`` on the viewer's handle); then the
viewer gets one layer less than he receives now, at most once per :data:`STEP_DOWN_HOLD_S`, and after
:data:`RECOVER_AFTER_S` without trouble one layer more, up to what the tile needs. The same rule serves VP8
simulcast streams and VP9 SVC spatial layers. Pure: time is passed in (monotonic seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RECOVER_AFTER_S", "STEP_DOWN_HOLD_S", "TOP_LAYER", "LayerChoice"]

TOP_LAYER = 2
# A lossy second brings several slowlink events: one step down per burst, not three.
STEP_DOWN_HOLD_S = 3.0
# Try one layer up again after this long without a slowlink (Meet and Zoom probe upwards as slowly).
RECOVER_AFTER_S = 15.0


@dataclass
class LayerChoice:
    """The layer one viewer wants (by tile size) and the cap his downlink imposes for now."""

    wanted: int = TOP_LAYER
    cap: int = TOP_LAYER
    last_step: float = float("-inf")  # when the cap last moved
    last_loss: float = float("-inf")  # when the downlink last lost packets

    @property
    def layer(self) -> int:
        """What the viewer should receive now."""
        return min(self.wanted, self.cap)

    def want(self, layer: int) -> int:
        """The tile now needs ``layer``; returns the layer to receive."""
        if not 0 <= layer <= TOP_LAYER:
            raise ValueError(f"layer must be 0..{TOP_LAYER}, not {layer}")
        self.wanted = layer
        return self.layer

    def on_packet_loss(self, now: float) -> bool:
        """The viewer's downlink loses packets; True when the layer to receive went down."""
        self.last_loss = now
        if self.layer == 0 or now - self.last_step < STEP_DOWN_HOLD_S:
            return False
        self.cap = self.layer - 1
        self.last_step = now
        return True

    def on_quiet(self, now: float) -> bool:
        """Time passed; True when the layer to receive went one up (the downlink was quiet long enough)."""
        if self.cap >= TOP_LAYER or now - max(self.last_loss, self.last_step) < RECOVER_AFTER_S:
            return False
        self.cap += 1
        self.last_step = now
        return self.cap <= self.wanted

    @property
    def capped(self) -> bool:
        """Whether the downlink holds the viewer below what his tile needs."""
        return self.cap < self.wanted
