"""Login storm benchmark: a running conference's signaling ping while N concurrent logins hit the server.

Run inside the test network namespace (Janus never uses loopback for media):

    scripts/netns-run .venv/bin/python bench/login_storm.py [--storms 0,10,50] [--seconds 15]

A real ``veche up`` with its Janus runs a conference of 4 synthetic participants (tests/support/signal_client.py),
each publishing a camera and subscribed to the three others. Each participant sends a signaling ``ping`` every
100 ms. For each N, N login clients in another process (so that their work does not delay this process's pings)
hammer POST /api/v1/auth/token for the window: half with the right password (each its own user, from its own
127/8 address: people at their desks), half with a wrong one for the administrator (each attempt from a new
127/8 address: a botnet the address throttle cannot stop). Printed per N: the logins answered by status, how many
were checked (200 and 401: a password hash each), and the ping p50/p99 next to N = 0's. Target: p99 at N = 50
within 2x that of N = 0. No assertions: the figures are for people (see bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import itertools
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests.support

from tests.support.net import MEDIA_NETWORK_REASON, has_media_network  # noqa: E402
from tests.support.server import VecheServer  # noqa: E402
from tests.support.signal_client import DecodeMode, SyntheticParticipant  # noqa: E402
from tests.support.synthetic_media import ReplayCamera, encode_clip  # noqa: E402

PARTICIPANTS = 4
PING_INTERVAL_S = 0.1
P99_TARGET_FACTOR = 2.0
MEMBER_PASSWORD = "member-password-1"
WRONG_PASSWORD = "not-the-password"
SETTLE_S = 3.0  # after a storm, before the next window


# -- the storm (a separate process: `login_storm.py --storm ...`) ---------------------------------------------


@dataclass
class Tally:
    """What the login clients got: answers by status (or error), and each attempt's time to its answer."""

    answers: collections.Counter[str] = field(default_factory=collections.Counter)
    latency_ms: list[float] = field(default_factory=list)


async def _right_logins(url: str, index: int, address: str, until: float, seen: Tally) -> None:
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=60.0) as client:
        while time.monotonic() < until:
            body = {"login": f"member-{index}", "password": MEMBER_PASSWORD}
            await _attempt(client, body, seen)


async def _wrong_logins(url: str, addresses: itertools.count[int], until: float, seen: Tally) -> None:
    while time.monotonic() < until:
        n = next(addresses)
        address = f"127.{64 + n // 65025 % 64}.{n // 255 % 255}.{n % 255 + 1}"
        transport = httpx.AsyncHTTPTransport(local_address=address)
        async with httpx.AsyncClient(base_url=url, transport=transport, timeout=60.0) as client:
            await _attempt(client, {"login": "admin", "password": WRONG_PASSWORD}, seen)


async def _attempt(client: httpx.AsyncClient, body: dict[str, str], seen: Tally) -> None:
    started = time.perf_counter()
    try:
        response = await client.post("/api/v1/auth/token", json=body)
        seen.answers[str(response.status_code)] += 1
    except httpx.HTTPError as e:
        seen.answers[type(e).__name__] += 1
    seen.latency_ms.append((time.perf_counter() - started) * 1000)


async def storm(url: str, n: int, seconds: float, phase: int) -> dict[str, object]:
    seen = Tally()
    print("go", flush=True)
    until = time.monotonic() + seconds
    addresses = itertools.count(phase * 100_000)
    workers = [
        _right_logins(url, i, f"127.{1 + phase}.0.{i + 1}", until, seen)
        if i % 2 == 0
        else _wrong_logins(url, addresses, until, seen)
        for i in range(n)
    ]
    await asyncio.gather(*workers)
    return {"answers": dict(seen.answers), "latency_ms": seen.latency_ms}


# -- the conference and its pings ------------------------------------------------------------------------------


@dataclass
class Phase:
    n: int
    pings_ms: list[float] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)
    login_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0


async def _conference(server: VecheServer) -> list[SyntheticParticipant]:
    """Four users in one conference, each publishing and subscribed to the others."""
    admin = server.admin_token
    created = server.api("POST", "/api/v1/conferences", admin, json={"name": "bench login storm"})
    created.raise_for_status()
    conference_id = created.json()["id"]
    clip = encode_clip(video_bitrate_bps=300_000)
    participants: list[SyntheticParticipant] = []
    for index in range(PARTICIPANTS):
        login = f"speaker-{index}"
        _create_user(server, login, MEMBER_PASSWORD)
        token = await asyncio.to_thread(server.login, login, MEMBER_PASSWORD)
        joined = await asyncio.to_thread(server.api, "POST", f"/api/v1/conferences/{conference_id}/join", token)
        joined.raise_for_status()
        participant = SyntheticParticipant(login, decode=DecodeMode.FIRST_FRAME)
        participants.append(participant)
        await participant.connect(joined.json()["signaling_url"], joined.json()["ticket"])
        await participant.publish_camera(ReplayCamera(clip))
    for participant in participants:
        await participant.wait_until(
            functools.partial(_sees_everyone, participant), 30.0, "video from every other participant"
        )
    return participants


def _sees_everyone(participant: SyntheticParticipant) -> bool:
    return sum(f.first_video_frame_at is not None for f in participant.feeds.values()) >= PARTICIPANTS - 1


def _create_user(server: VecheServer, login: str, password: str) -> None:
    body = {"login": login, "display_name": login.title(), "email": "", "password": password, "is_admin": False}
    server.api("POST", "/api/v1/users", server.admin_token, json=body).raise_for_status()


async def _ping(participant: SyntheticParticipant, until: float, into: list[float]) -> None:
    while time.monotonic() < until:
        started = time.perf_counter()
        await participant.ping()
        into.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(PING_INTERVAL_S)


async def run_phase(
    server: VecheServer, participants: list[SyntheticParticipant], n: int, seconds: float, k: int
) -> Phase:
    phase = Phase(n)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--storm",
        server.url,
        str(n),
        str(seconds),
        str(k),
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    ready = await process.stdout.readline()
    assert ready.strip() == b"go", ready
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(*(_ping(p, until, phase.pings_ms) for p in participants))
    phase.seconds = time.monotonic() - started
    output, _ = await process.communicate()
    tally = json.loads(output.decode().strip().splitlines()[-1])
    phase.answers, phase.login_ms = tally["answers"], tally["latency_ms"]
    return phase


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def report(phases: list[Phase], load_before: float, seconds: float) -> None:
    baseline = phases[0]
    base_p50, base_p99 = _percentile(baseline.pings_ms, 50), _percentile(baseline.pings_ms, 99)
    print()
    print(
        f"Login storm: veche up + Janus on {psutil.cpu_count()} cores (1-min load average before the run:"
        f" {load_before:.1f}); a conference of {PARTICIPANTS} synthetic participants (publishing, each subscribed"
        f" to the others) pings every {PING_INTERVAL_S * 1000:.0f} ms while N login clients run for {seconds:.0f} s"
    )
    print()
    header = (
        f"{'N':>3} {'logins':>7} {'200':>6} {'401':>6} {'429':>6} {'other':>6} {'checked/s':>10}"
        f" {'login p50 s':>12} {'pings':>6} {'ping p50 ms':>12} {'ping p99 ms':>12} {'p99 / N=0':>10}"
    )
    print(header)
    print("-" * len(header))
    for phase in phases:
        answers = dict(phase.answers)
        ok, wrong, throttled = (answers.pop(code, 0) for code in ("200", "401", "429"))
        other = sum(answers.values())
        p50, p99 = _percentile(phase.pings_ms, 50), _percentile(phase.pings_ms, 99)
        ratio = p99 / base_p99 if base_p99 > 0 else float("nan")
        checked = (ok + wrong) / phase.seconds if phase.seconds else 0.0
        print(
            f"{phase.n:>3} {ok + wrong + throttled + other:>7} {ok:>6} {wrong:>6} {throttled:>6} {other:>6}"
            f" {checked:>10.1f} {_percentile(phase.login_ms, 50) / 1000:>12.2f}"
            f" {len(phase.pings_ms):>6} {p50:>12.2f} {p99:>12.2f} {ratio:>9.2f}x"
        )
        if other:
            print(f"    other answers: {answers}")
    print()
    print(
        "logins: attempts answered in the window (right passwords: half the clients, each its own user and address;"
        " wrong ones: the other half, for admin, each attempt from a new address); checked/s: 200 + 401 per"
        " second, a password hash each; 429: refused by the login throttle before any hash; login p50: time to"
        " an answer."
    )
    print(f"ping: signaling ping -> pong round trip seen by the participants; N = 0: p50 {base_p50:.2f} ms.")
    last = phases[-1]
    if last.n:
        ratio = _percentile(last.pings_ms, 99) / base_p99 if base_p99 > 0 else float("nan")
        verdict = "meets" if ratio <= P99_TARGET_FACTOR else "MISSES"
        print(f"Target: ping p99 at N = {last.n} within {P99_TARGET_FACTOR:.0f}x of N = 0: {verdict} ({ratio:.2f}x).")


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storms", default="0,10,50", help="concurrent login clients per window, comma-separated")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each window")
    args = parser.parse_args()
    storms = [int(n) for n in args.storms.split(",") if n]
    if storms[0] != 0:
        storms.insert(0, 0)  # the baseline, in the same run
    if not has_media_network():
        print(f"cannot run: {MEDIA_NETWORK_REASON}", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    print("starting veche up ...", file=sys.stderr)
    server = await asyncio.to_thread(VecheServer.start)
    participants: list[SyntheticParticipant] = []
    try:
        for index in range(max(storms) // 2 + 1):
            _create_user(server, f"member-{2 * index}", MEMBER_PASSWORD)
        print(f"{PARTICIPANTS} participants joining ...", file=sys.stderr)
        participants = await _conference(server)
        phases = []
        for k, n in enumerate(storms):
            print(f"N={n}: {args.seconds:.0f} s ...", file=sys.stderr)
            phases.append(await run_phase(server, participants, n, args.seconds, k))
            await asyncio.sleep(SETTLE_S)
        report(phases, load_before, args.seconds)
    finally:
        await asyncio.gather(*(p.close() for p in participants), return_exceptions=True)
        await asyncio.to_thread(server.stop)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--storm":
        url, n, seconds, phase = sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(asyncio.run(storm(url, n, seconds, phase))), flush=True)
        sys.exit(0)
    sys.exit(asyncio.run(main()))
