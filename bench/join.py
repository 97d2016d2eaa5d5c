"""Join benchmark: N synthetic participants in one conference on a real ``veche up`` with its Janus.

Run inside the test network namespace (Janus never uses loopback for media):

    scripts/netns-run .venv/bin/python bench/join.py [--sizes 2,8,16] [--steady 20] [--idle 20]

For each N, participants join one at a time; each publishes a camera (640x360 VP8 + Opus) and subscribes
to every other feed. Printed per N: time from opening the WebSocket to the first decoded remote video
frame (and to the first frame of every feed already there), CPU seconds of veche and of Janus per
participant-minute in steady state, their RSS, and veche CPU / Janus CPU. An idle server is measured
first in the same run as the baseline. No assertions: the figures are for people (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support

from tests.support.net import MEDIA_NETWORK_REASON, has_media_network  # noqa: E402
from tests.support.server import VecheServer  # noqa: E402
from tests.support.signal_client import DecodeMode, SyntheticParticipant  # noqa: E402
from tests.support.synthetic_media import EncodedClip, ReplayCamera, encode_clip  # noqa: E402

VECHE_CPU_TARGET = 0.05  # veche CPU / Janus CPU in steady state
JOIN_TIMEOUT_S = 30.0

CLIENT_NOTE = """\
Synthetic clients (all in this process) are kept cheap so that 2 cores measure the server, not them:
  - publishers replay a VP8/Opus clip encoded once at start (640x360 at {kbps} kbit/s, keyframe each second,
    restarted at its keyframe on every PLI from Janus): real packets at a real rate, no encoder per client;
  - subscribers decode a feed only until its first video and audio frame (the moment that is timed); after
    that they count RTP packets and drop them unprocessed (aiortc would otherwise decode every frame of
    every subscription: ~5 % of a core each, and N=16 has 240 subscriptions)."""


@dataclass
class Usage:
    """CPU seconds and RSS of one group of processes over a window."""

    cpu_s: float
    rss_bytes: int


@dataclass
class Window:
    seconds: float
    veche: Usage
    janus: Usage
    clients: Usage


def _processes(server: VecheServer, janus_pid: int) -> tuple[list[psutil.Process], list[psutil.Process]]:
    """(veche's processes without Janus, Janus and its children)."""
    root = psutil.Process(server.process.pid)
    janus = psutil.Process(janus_pid)
    janus_tree = {janus.pid, *(p.pid for p in janus.children(recursive=True))}
    veche = [root, *(p for p in root.children(recursive=True) if p.pid not in janus_tree)]
    return veche, [psutil.Process(pid) for pid in janus_tree]


def _cpu(processes: list[psutil.Process]) -> dict[int, float]:
    times: dict[int, float] = {}
    for process in processes:
        try:
            cpu = process.cpu_times()
            times[process.pid] = cpu.user + cpu.system
        except psutil.NoSuchProcess:
            continue
    return times


def _rss(processes: list[psutil.Process]) -> int:
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


async def measure(server: VecheServer, seconds: float) -> Window:
    """CPU used by veche, Janus and this process during the next ``seconds``."""
    janus_pid = server.janus_pid()
    veche, janus = _processes(server, janus_pid)
    me = [psutil.Process()]
    before = [_cpu(group) for group in (veche, janus, me)]
    started = time.monotonic()
    await asyncio.sleep(seconds)
    elapsed = time.monotonic() - started
    after = [_cpu(group) for group in (veche, janus, me)]
    used = [sum(end[pid] - start[pid] for pid in end if pid in start) for start, end in zip(before, after, strict=True)]
    return Window(
        seconds=elapsed,
        veche=Usage(used[0], _rss(veche)),
        janus=Usage(used[1], _rss(janus)),
        clients=Usage(used[2], _rss(me)),
    )


@dataclass
class SizeResult:
    n: int
    first_frame_s: list[float]  # per joiner (2nd onwards): WebSocket opened -> first remote video frame
    all_feeds_s: list[float]  # per joiner: WebSocket opened -> first frame of every feed already there
    subscriptions_ok: int
    subscriptions_expected: int
    window: Window
    rates: list[tuple[float, float]]  # per subscription: (video, audio) RTP packets/s received in the window
    sent_video: list[float]  # per publisher: video RTP packets/s sent in the window
    errors: list[str]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def _decoded_feeds(participant: SyntheticParticipant) -> list[float]:
    return [f.first_video_frame_at for f in participant.feeds.values() if f.first_video_frame_at is not None]


def _describe_stuck(participant: SyntheticParticipant) -> str:
    """Where each feed without a decoded frame got to (for the report)."""
    opened = participant.ws_opened_at or 0.0

    def at(moment: float | None) -> str:
        return "never" if moment is None else f"+{moment - opened:.2f} s"

    stuck = [
        f"feed {f.feed}: answered {at(f.answered_at)}, connected {at(f.connected_at)}"
        for f in participant.feeds.values()
        if f.first_video_frame_at is None
    ]
    return f"{participant.name} waited {JOIN_TIMEOUT_S:.0f} s for " + "; ".join(stuck)


def _packets(participants: list[SyntheticParticipant]) -> dict[tuple[str, int], tuple[int, int]]:
    return {(p.name, f.feed): (f.video_packets, f.audio_packets) for p in participants for f in p.feeds.values()}


async def _sent(participants: list[SyntheticParticipant]) -> dict[str, int]:
    return {p.name: (await p.sent_packets()).get("video", 0) for p in participants}


def _has_decoded(participant: SyntheticParticipant, feeds: int) -> bool:
    return len(_decoded_feeds(participant)) >= feeds


async def run_size(server: VecheServer, n: int, clip: EncodedClip, steady_s: float) -> SizeResult:
    created = server.api(
        "POST",
        "/api/v1/conferences",
        token=server.admin_token,
        json={
            "name": f"bench join {n}",
            "type": "all_see_all",
            "max_participants": n + 2,
            "guests_allowed": True,
            "access": "open",
            "invited": [],
            "moderators": [],
        },
    )
    created.raise_for_status()
    invite = created.json()["invite_code"]
    participants: list[SyntheticParticipant] = []
    first_frame: list[float] = []
    all_feeds: list[float] = []
    stuck: list[str] = []
    try:
        for index in range(n):
            ticket = await asyncio.to_thread(
                server.api, "POST", f"/api/v1/invites/{invite}/join", None, {"display_name": f"bench {n}-{index}"}
            )
            ticket.raise_for_status()
            body = ticket.json()
            participant = SyntheticParticipant(f"p{n}-{index}", decode=DecodeMode.FIRST_FRAME)
            participants.append(participant)
            await participant.connect(body["signaling_url"], body["ticket"])
            await participant.publish_camera(ReplayCamera(clip))
            if index == 0:
                continue
            try:
                await participant.wait_until(
                    functools.partial(_has_decoded, participant, index),
                    JOIN_TIMEOUT_S,
                    f"first frames of the {index} feeds already published",
                )
            except AssertionError:
                stuck.append(_describe_stuck(participant))
            opened = participant.ws_opened_at or 0.0
            decoded = _decoded_feeds(participant)
            if decoded:
                first_frame.append(min(decoded) - opened)
            if len(decoded) >= index:
                all_feeds.append(max(decoded) - opened)

        # Everyone sees everyone (the earlier participants subscribed to the later ones meanwhile).
        expected = n * (n - 1)
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        while time.monotonic() < deadline and sum(len(_decoded_feeds(p)) for p in participants) < expected:
            await asyncio.sleep(0.2)
        ok = sum(len(_decoded_feeds(p)) for p in participants)
        await asyncio.sleep(3.0)  # let joins settle before the steady-state window
        before, sent_before = _packets(participants), await _sent(participants)
        window = await measure(server, steady_s)
        after, sent_after = _packets(participants), await _sent(participants)
        rates = [
            ((after[key][0] - video) / window.seconds, (after[key][1] - audio) / window.seconds)
            for key, (video, audio) in before.items()
            if key in after
        ]
        sent_video = [(sent_after[name] - sent_before[name]) / window.seconds for name in sent_before]
        errors = stuck + [f"{p.name}: {e}" for p in participants for e in p.errors]
        return SizeResult(n, first_frame, all_feeds, ok, expected, window, rates, sent_video, errors)
    finally:
        await asyncio.gather(*(p.close() for p in participants), return_exceptions=True)
        await asyncio.sleep(2.0)  # the server tears the room down


def _p50_p95(values: list[float]) -> str:
    return f"{_percentile(values, 50):.2f}/{_percentile(values, 95):.2f}"


def report(idle: Window, results: list[SizeResult], clip: EncodedClip, load_before: float) -> None:
    minutes = idle.seconds / 60
    print()
    print(
        f"Join benchmark: veche up + Janus on {psutil.cpu_count()} cores (1-min load average before the run:"
        f" {load_before:.1f}); one conference per N; participants join one at a time"
    )
    print(CLIENT_NOTE.format(kbps=clip.video_bitrate_bps // 1000))
    print()
    print(f"Baseline, idle server ({idle.seconds:.0f} s, no participants):")
    for name, usage in (("veche", idle.veche), ("Janus", idle.janus)):
        print(
            f"  {name:<5} {usage.cpu_s / minutes:.2f} CPU-s/min ({100 * usage.cpu_s / idle.seconds:.2f} % of a core),"
            f" RSS {usage.rss_bytes / 2**20:.0f} MB"
        )
    print()
    header = (
        f"{'N':>3} {'subs':>7} {'1st frame s':>12} {'all feeds s':>12} {'veche':>7} {'Janus':>7}"
        f" {'veche':>7} {'Janus':>7} {'veche/':>7} {'video pkt/s':>12} {'clients':>8}"
    )
    header2 = (
        f"{'':>3} {'ok':>7} {'p50/p95':>12} {'p50/p95':>12} {'CPU-s/pm':>7} {'CPU-s/pm':>7}"
        f" {'RSS MB':>7} {'RSS MB':>7} {'Janus':>7} {'sent/recv':>12} {'CPU':>8}"
    )
    print(header)
    print(header2)
    print("-" * len(header))
    for r in results:
        w = r.window
        participant_minutes = r.n * w.seconds / 60
        ratio = w.veche.cpu_s / w.janus.cpu_s if w.janus.cpu_s > 0 else float("inf")
        received = statistics.fmean(v for v, _ in r.rates) if r.rates else 0.0
        sent = statistics.fmean(r.sent_video) if r.sent_video else 0.0
        print(
            f"{r.n:>3} {f'{r.subscriptions_ok}/{r.subscriptions_expected}':>7}"
            f" {_p50_p95(r.first_frame_s):>12} {_p50_p95(r.all_feeds_s):>12}"
            f" {w.veche.cpu_s / participant_minutes:>7.3f} {w.janus.cpu_s / participant_minutes:>7.3f}"
            f" {w.veche.rss_bytes / 2**20:>7.0f} {w.janus.rss_bytes / 2**20:>7.0f}"
            f" {100 * ratio:>6.1f}% {f'{sent:.0f}/{received:.0f}':>12} {100 * w.clients.cpu_s / w.seconds:>7.0f}%"
        )
    print()
    print(
        "1st frame: WebSocket opened -> first decoded remote video frame (joiners 2..N); all feeds: -> first frame"
        " of every feed published before the joiner came."
    )
    print(
        "video pkt/s: RTP packets per second sent by one publisher / received by one subscription (means);"
        " received < sent means media was lost on the way (CPU saturation)."
    )
    window = f"{results[0].window.seconds:.0f} s" if results else "-"
    print(
        f"CPU-s/pm: CPU seconds per participant-minute in the steady-state window ({window}) after everyone"
        " joined; veche = all processes of `veche up` except Janus; clients CPU = this process, % of a core."
    )
    print(f"Target: veche CPU / Janus CPU < {100 * VECHE_CPU_TARGET:.0f} % in steady state.")
    for r in results:
        w = r.window
        net_veche = w.veche.cpu_s - idle.veche.cpu_s * w.seconds / idle.seconds
        net_janus = w.janus.cpu_s - idle.janus.cpu_s * w.seconds / idle.seconds
        meets = w.janus.cpu_s > 0 and w.veche.cpu_s / w.janus.cpu_s < VECHE_CPU_TARGET
        net = f"{100 * net_veche / net_janus:.1f} %" if net_janus > 0 else "n/a"
        print(f"  N={r.n}: {'meets' if meets else 'MISSES'} the target; net of the idle baseline veche/Janus = {net}")
        sent = statistics.fmean(r.sent_video) if r.sent_video else 0.0
        received = statistics.fmean(v for v, _ in r.rates) if r.rates else 0.0
        if sent > 0 and received < 0.9 * sent:
            print(
                f"    saturated: subscriptions received {100 * received / sent:.0f} % of the video sent; the cores"
                " could not carry this N, so its CPU figures are lower bounds and its join times are inflated"
            )
        for error in r.errors[:5]:
            print(f"    client problem: {error}")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="2,8,16", help="participant counts, comma-separated")
    parser.add_argument("--steady", type=float, default=20.0, help="steady-state window per size, seconds")
    parser.add_argument("--idle", type=float, default=20.0, help="idle baseline window, seconds")
    parser.add_argument("--bitrate", type=int, default=500_000, help="video bitrate of the replayed clip")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]

    if not has_media_network():
        print(f"cannot run: {MEDIA_NETWORK_REASON}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    clip = encode_clip(video_bitrate_bps=args.bitrate)
    print("starting veche up ...", file=sys.stderr)
    server = await asyncio.to_thread(VecheServer.start)
    try:
        print(f"idle baseline ({args.idle:.0f} s) ...", file=sys.stderr)
        idle = await measure(server, args.idle)
        results = []
        for n in sizes:
            print(f"N={n}: joining ...", file=sys.stderr)
            results.append(await run_size(server, n, clip, args.steady))
        report(idle, results, clip, load_before)
    finally:
        await asyncio.to_thread(server.stop)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
