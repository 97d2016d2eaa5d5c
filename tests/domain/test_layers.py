"""The layer a viewer receives: the tile's wish, one layer less while his downlink loses packets."""

from __future__ import annotations

import pytest

from veche.domain.layers import RECOVER_AFTER_S, STEP_DOWN_HOLD_S, LayerChoice


def test_the_tile_decides_while_the_downlink_is_quiet() -> None:
    choice = LayerChoice()
    assert choice.layer == 2 and not choice.capped
    assert choice.want(1) == 1 and choice.want(0) == 0
    with pytest.raises(ValueError, match="0..2"):
        choice.want(3)


def test_loss_steps_down_once_per_burst_then_recovers_one_layer_at_a_time() -> None:
    choice = LayerChoice()
    assert choice.on_packet_loss(100.0) and choice.layer == 1
    assert not choice.on_packet_loss(100.0 + STEP_DOWN_HOLD_S / 2)  # the same lossy burst
    assert choice.on_packet_loss(100.0 + STEP_DOWN_HOLD_S) and choice.layer == 0
    assert not choice.on_packet_loss(200.0)  # nothing below the lowest layer
    t = 200.0
    assert not choice.on_quiet(t + RECOVER_AFTER_S / 2)
    assert choice.on_quiet(t + RECOVER_AFTER_S) and choice.layer == 1
    assert not choice.on_quiet(t + RECOVER_AFTER_S + 1)  # the next step waits another quiet period
    assert choice.on_quiet(t + 2 * RECOVER_AFTER_S) and choice.layer == 2 and not choice.capped


def test_a_small_tile_is_not_moved_and_a_growing_tile_gets_the_cap() -> None:
    choice = LayerChoice()
    choice.want(0)
    assert not choice.on_packet_loss(10.0) and choice.layer == 0
    choice.want(2)
    assert choice.on_packet_loss(10.0) and choice.layer == 1 and choice.capped
    choice.want(2)  # the tile grows again while capped: the cap holds
    assert choice.layer == 1
    # Recovery that does not change what a small tile gets is not reported as a change.
    choice.want(0)
    assert not choice.on_quiet(10.0 + RECOVER_AFTER_S) and choice.layer == 0 and choice.cap == 2
