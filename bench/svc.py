"""SVC benchmark: one VP9 SVC (L3T3_KEY) camera against the VP8 simulcast baseline, in real Chromium.

Run inside the test network namespace (Janus never uses loopback for media):

    scripts/netns-run .venv/bin/python bench/svc.py [--steady 20] [--warmup 10] [--settle 30]

Starts ``veche up`` with its Janus, then for each codec (vp8 first: the baseline, then vp9) creates a
conference with that ``video_codec`` and opens two headless Chromium instances: a publisher that only
publishes its fake 1280x720 camera, and a viewer that only watches (its getUserMedia refuses). The viewer's
window is made phone-sized (380x800: a tile under 400 px, layer 0) and then large (2000x1100: layer 2);
after the tile's layer arrived, a steady window measures the publisher's uplink (cameraOutbound bytesSent,
summed over encodings), the CPU of the publisher's whole Chromium process tree (psutil), and what the
viewer receives (inboundStats resolution and frame rate; downlink from the viewer's own RTCPeerConnections,
which an init script keeps reachable). Prints a table; no assertions (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from playwright.async_api import Playwright, ViewportSize, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.*

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, BrowserSession, Veche  # noqa: E402
from tests.support.net import MEDIA_NETWORK_REASON, has_media_network  # noqa: E402
from tests.support.server import VecheServer  # noqa: E402

TILES: list[tuple[str, ViewportSize, int]] = [  # name, viewer viewport, frameWidth the tile's layer has
    ("small", {"width": 380, "height": 800}, 320),
    ("large", {"width": 2000, "height": 1100}, 1280),
]

# Every page keeps its peer connections in window.__benchPcs (the hooks have no bytesReceived, no encodings).
TRACK_PCS = """
window.__benchPcs = [];
const BenchOriginalPc = window.RTCPeerConnection;
window.RTCPeerConnection = class extends BenchOriginalPc {
  constructor(...args) { super(...args); window.__benchPcs.push(this); }
};
"""
WATCH_ONLY = """
navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("bench viewer", "NotAllowedError"));
"""
RTP_BYTES = """async ([type, figure]) => {  // sums of one figure of every RTP stream of a type, by rid or kind
  const sums = {};
  for (const pc of window.__benchPcs.filter((pc) => pc.connectionState !== "closed")) {
    (await pc.getStats()).forEach((s) => {
      if (s.type === type) sums[s.rid || s.kind] = (sums[s.rid || s.kind] || 0) + (s[figure] || 0);
    });
  }
  return sums;
}"""
DOWN, RTX = ["inbound-rtp", "bytesReceived"], ["outbound-rtp", "retransmittedBytesSent"]
CAMERA_SETUP = """() => window.__benchPcs.flatMap((pc) => pc.getSenders()).filter((s) => s.track?.kind === "video")
  .map((s) => ({ capture: s.track.getSettings(), encodings: s.getParameters().encodings }))"""


NOTES = """\
layer after: viewport changed -> the viewer decodes frames of the tile's layer width (320 small, 1280 large).
received: the viewer's frameWidth x frameHeight and codec, sampled each second of the window (inboundStats).
down: the viewer's inbound video RTP payload (bytesReceived), read from its own RTCPeerConnections.
uplink: the publisher's camera video, bytesSent of every outbound stream (cameraOutbound), summed.
pub/view CPU: CPU seconds per minute of the whole Chromium instance (browser, renderer, GPU, utility processes).
sent: per outbound stream at the end of the window; 'limited by' counts qualityLimitationReason samples."""


def chromium_cpu(marker: str) -> dict[int, tuple[str, float]]:
    """pid -> (process type, user+system CPU s) of the browser process launched with ``marker`` (the lowest pid
    with it on its command line) and every process under it (zygote, renderers, GPU, utilities)."""
    roots = [p for p in psutil.process_iter(["cmdline"]) if marker in (p.info["cmdline"] or [])]
    found: dict[int, tuple[str, float]] = {}
    for process in [*roots[:1], *(roots[0].children(recursive=True) if roots else [])]:
        try:
            cmdline, cpu = process.cmdline(), process.cpu_times()
        except psutil.Error:
            continue
        kind = next((arg.removeprefix("--type=") for arg in cmdline if arg.startswith("--type=")), "browser")
        found[process.pid] = (kind.removesuffix("-process"), cpu.user + cpu.system)
    return found


def cpu_used(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per process type between two readings (a process started meanwhile counts whole)."""
    used: dict[str, float] = {}
    for pid, (kind, seconds) in after.items():
        used[kind] = used.get(kind, 0.0) + seconds - (before[pid][1] if pid in before else 0.0)
    return dict(sorted(used.items(), key=lambda item: -item[1]))


@dataclass
class Side:
    """One role's Chromium instance (found by the marker on its command line) and its page."""

    marker: str
    session: BrowserSession

    def cpu(self) -> dict[int, tuple[str, float]]:
        return chromium_cpu(self.marker)

    async def evaluate(self, script: str, arg: Any = None) -> Any:
        return await self.session.page.evaluate(script, arg)


@dataclass
class Window:
    tile: str
    seconds: float = 0.0
    layer_after_s: float | None = None  # viewport changed -> the tile's layer arrived (None: it never did)
    uplink_kbps: float = 0.0
    encodings: list[str] = field(default_factory=list)  # per outbound stream, for the detail lines
    publisher_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per Chromium process type
    viewer_cpu_s: float = 0.0
    received: Counter[str] = field(default_factory=Counter)  # "WxH codec" -> samples
    received_fps: float = 0.0
    downlink_kbps: float = 0.0


@dataclass
class CodecRun:
    codec: str
    chromium: str = ""
    scalability_mode: str | None = None
    setup: list[dict[str, Any]] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)


async def join(helper: Veche, marker: str, name: str, conference: int, script: str) -> Side:
    session = await helper.user_in_conference(helper.create_user(name), conference, init_script=script)
    await session.wait_status("connected")
    return Side(marker, session)


async def outbound(publisher: Side) -> dict[str, dict[str, Any]]:
    stats: list[dict[str, Any]] = await publisher.evaluate("() => window.vecheClient.cameraOutbound()")
    return {entry["rid"] or "video": entry for entry in stats}


async def wait_layer(viewer: BrowserSession, participant: str, width: int, timeout: float) -> float | None:
    """Seconds until the viewer receives frames ``width`` wide (None: not within ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        figures = await viewer.feed_figures(participant)
        if figures and figures["frameWidth"] == width:
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    return None


async def measure(window: Window, publisher: Side, viewer: Side, participant: str, seconds: float) -> Window:
    """One steady window: publisher uplink and CPU, what the viewer receives (sampled every second)."""
    pub_cpu, view_cpu, out = publisher.cpu(), viewer.cpu(), await outbound(publisher)
    decoded = (await viewer.session.feed_figures(participant) or {}).get("framesDecoded", 0)
    downlink, rtx = await viewer.evaluate(RTP_BYTES, DOWN), await publisher.evaluate(RTP_BYTES, RTX)
    started = time.monotonic()
    limitations: defaultdict[str, Counter[str]] = defaultdict(Counter)
    while time.monotonic() - started < seconds:
        await asyncio.sleep(1.0)
        now = await viewer.session.feed_figures(participant) or {}
        window.received[f"{now.get('frameWidth', 0)}x{now.get('frameHeight', 0)} {now.get('videoCodec') or '-'}"] += 1
        for rid, entry in (await outbound(publisher)).items():
            limitations[rid][entry["qualityLimitationReason"]] += 1
    out_end, now = await outbound(publisher), await viewer.session.feed_figures(participant) or {}
    downlink_end, rtx_end = await viewer.evaluate(RTP_BYTES, DOWN), await publisher.evaluate(RTP_BYTES, RTX)
    window.seconds = elapsed = time.monotonic() - started
    window.publisher_cpu = cpu_used(pub_cpu, publisher.cpu())
    window.viewer_cpu_s = sum(cpu_used(view_cpu, viewer.cpu()).values())
    window.received_fps = (now.get("framesDecoded", 0) - decoded) / elapsed
    window.downlink_kbps = (downlink_end.get("video", 0) - downlink.get("video", 0)) * 8 / 1000 / elapsed
    for rid, end in out_end.items():
        start = out.get(rid, {"bytesSent": 0, "framesEncoded": 0})
        kbps = (end["bytesSent"] - start["bytesSent"]) * 8 / 1000 / elapsed
        window.uplink_kbps += kbps
        fps = (end["framesEncoded"] - start["framesEncoded"]) / elapsed
        resent = (rtx_end.get(rid, 0) - rtx.get(rid, 0)) * 8 / 1000 / elapsed
        reasons = "/".join(f"{reason}:{n}" for reason, n in limitations[rid].most_common())
        window.encodings.append(
            f"{rid:>5} {end['frameWidth']}x{end['frameHeight']} {fps:.0f} fps {kbps:.0f} kbit/s (resent {resent:.0f})"
            f" (target {end['targetBitrate'] / 1000:.0f}) {end['scalabilityMode'] or '-'} limited by {reasons or '-'}"
        )
    return window


async def run_codec(server: VecheServer, playwright: Playwright, codec: str, args: argparse.Namespace) -> CodecRun:
    run, markers = CodecRun(codec), [f"--veche-bench={os.getpid()}-{codec}-{role}" for role in ("pub", "view")]
    browsers = [
        await playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, marker], headless=True)
        for marker in markers
    ]
    run.chromium = browsers[0].version
    pub_side, view_side = Veche(server, browsers[0]), Veche(server, browsers[1])
    try:
        conference = pub_side.create_conference(name=f"bench svc {codec}", video_codec=codec)["id"]
        publisher = await join(pub_side, markers[0], "Publisher", conference, TRACK_PCS)
        participant = await publisher.session.participant_id()
        assert participant
        viewer = await join(view_side, markers[1], "Viewer", conference, TRACK_PCS + WATCH_ONLY)
        watching = viewer.session
        await watching.wait_figure_growth(participant, "framesDecoded", by=30)
        run.scalability_mode = await publisher.evaluate("() => window.vecheClient.cameraScalabilityMode()")
        run.setup = await publisher.evaluate(CAMERA_SETUP)
        print(f"{codec}: publishing; warming up {args.warmup:.0f} s ...", file=sys.stderr)
        await asyncio.sleep(args.warmup)  # bandwidth estimation ramps the encoder up to its cap
        for tile, viewport, width in TILES:
            await watching.page.set_viewport_size(viewport)
            window = Window(tile, layer_after_s=await wait_layer(watching, participant, width, args.settle))
            print(f"{codec}: {tile} tile (layer after {window.layer_after_s}); measuring ...", file=sys.stderr)
            run.windows.append(await measure(window, publisher, viewer, participant, args.steady))
    finally:
        await asyncio.gather(pub_side.close(), view_side.close(), return_exceptions=True)
        await asyncio.gather(*(browser.close() for browser in browsers), return_exceptions=True)
        await asyncio.sleep(2.0)  # the server tears the room down
    return run


def describe_setup(run: CodecRun) -> str:
    """The publisher's capture and encodings as its video sender really has them."""
    parts = []
    for sender in run.setup:
        capture, encodings = sender["capture"], sender["encodings"]
        layers = ", ".join(
            f"{e.get('rid') or '-'} max {e.get('maxBitrate', 0) // 1000} kbit/s /{e.get('scaleResolutionDownBy', 1):g}"
            for e in encodings
        )
        size, fps = f"{capture.get('width')}x{capture.get('height')}", capture.get("frameRate", 0)
        parts.append(f"capture {size} @ {fps:.0f} fps; {layers}")
    return "; ".join(parts) or "no video sender found"


def report(runs: list[CodecRun], args: argparse.Namespace, load_before: float) -> None:
    print()
    print(
        f"SVC benchmark: veche up + Janus, Chromium {runs[0].chromium if runs else '?'} headless on"
        f" {psutil.cpu_count()} cores (1-min load average before: {load_before:.1f}); one publisher and one viewer"
        f" browser per codec, one codec after the other; {args.steady:.0f} s windows after {args.warmup:.0f} s warm-up"
    )
    for run in runs:
        print(f"  {run.codec}: camera scalability mode {run.scalability_mode}; {describe_setup(run)}")
    print()
    header = (
        f"{'codec':<6} {'tile':<6} {'layer':>7} {'received (samples)':<28} {'recv':>5} {'down':>7} {'uplink':>7}"
        f" {'pub CPU':>8} {'view CPU':>8}"
    )
    print(header)
    print(f"{'':<6} {'':<6} {'after s':>7} {'':<28} {'fps':>5} {'kbit/s':>7} {'kbit/s':>7} {'s/min':>8} {'s/min':>8}")
    print("-" * len(header))
    for run in runs:
        for w in run.windows:
            received = ", ".join(f"{res} ({n})" for res, n in w.received.most_common())
            layer = "never" if w.layer_after_s is None else f"{w.layer_after_s:.1f}"
            print(
                f"{run.codec:<6} {w.tile:<6} {layer:>7} {received:<28} {w.received_fps:>5.0f} {w.downlink_kbps:>7.0f}"
                f" {w.uplink_kbps:>7.0f} {60 * sum(w.publisher_cpu.values()) / w.seconds:>8.1f}"
                f" {60 * w.viewer_cpu_s / w.seconds:>8.1f}"
            )
    print()
    for run in runs:
        for w in run.windows:
            cpu = ", ".join(f"{kind} {60 * s / w.seconds:.1f}" for kind, s in w.publisher_cpu.items())
            print(f"{run.codec} {w.tile} tile: publisher CPU-s/min by process: {cpu}")
            for encoding in w.encodings:
                print(f"    sent {encoding}")
    print()
    print(NOTES)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steady", type=float, default=20.0, help="steady window per tile size, seconds")
    parser.add_argument("--warmup", type=float, default=10.0, help="after the first frames, before measuring")
    parser.add_argument("--settle", type=float, default=30.0, help="longest wait for a tile's layer, seconds")
    parser.add_argument("--codecs", default="vp8,vp9", help="conference video codecs in order (vp8 = baseline)")
    args = parser.parse_args()
    if not has_media_network():
        print(f"cannot run: {MEDIA_NETWORK_REASON}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    print("starting veche up ...", file=sys.stderr)
    server = await asyncio.to_thread(VecheServer.start)
    try:
        async with async_playwright() as playwright:
            runs = [await run_codec(server, playwright, codec, args) for codec in args.codecs.split(",") if codec]
        report(runs, args, load_before)
    finally:
        await asyncio.to_thread(server.stop)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
