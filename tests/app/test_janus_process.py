"""The Janus child: generated configuration, API secret, readiness, restarts and stop."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import time
from pathlib import Path

import psutil
import pytest
from pydantic import ValidationError

from veche.app.janus.client import JanusClient, JanusError, fetch_server_info
from veche.app.janus.config_files import render_janus_config
from veche.app.janus.process import JanusProcess, JanusStartError
from veche.app.janus.version import MIN_JANUS_VERSION, parse_version
from veche.config.janus import JanusConfig

pytestmark = pytest.mark.usefixtures("no_leaked_janus")

# --------------------------------------------------------------------------- config (no Janus needed)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rtp_port_range", "40000-20000", "min <= max"),
        ("rtp_port_range", "20000", "must look like"),
        ("nat_1_1_mapping", "1.2.3.4,example.com", "'example.com' is not one"),
        ("ws_url", "http://127.0.0.1:8188", "must start with ws://"),
        ("ice_interfaces", ["eth0", 'bad"name'], "not an interface name"),
        ("debug_level", 9, "less than or equal to 7"),
        ("api_secret_file", "/nonexistent/secret", "does not exist"),
    ],
)
def test_config_is_checked_at_load(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JanusConfig.model_validate({field: value})


def test_rendered_config_keeps_janus_on_loopback_and_quiet(tmp_path: Path) -> None:
    config = JanusConfig(
        ice_interfaces=["veche0"],
        ice_ignore_list=["docker"],
        nat_1_1_mapping="203.0.113.7",
        rtp_port_range="30000-30100",
    )
    files = render_janus_config(config, conf_dir=tmp_path, ws_port=12345, api_secret="s3cret")
    assert set(files) == {"janus.jcfg", "janus.transport.websockets.jcfg", "janus.plugin.videoroom.jcfg"}
    core, ws, videoroom = (
        files["janus.jcfg"],
        files["janus.transport.websockets.jcfg"],
        files["janus.plugin.videoroom.jcfg"],
    )
    assert 'api_secret = "s3cret"' in core
    assert 'ice_enforce_list = "veche0"' in core and 'ice_ignore_list = "docker"' in core
    assert 'nat_1_1_mapping = "203.0.113.7"' in core and 'rtp_port_range = "30000-30100"' in core
    assert "full_trickle = false" in core and "stun_server" not in core
    assert "broadcast = false" in core and "slowlink_threshold = 4" in core
    # Every installed module but the WebSocket transport and VideoRoom is disabled by name.
    folders = dict(re.findall(r'(plugins|transports)_folder = "([^"]+)"', core))
    installed = {kind: sorted(p.name for p in Path(folder).glob("*.so")) for kind, folder in folders.items()}
    assert "libjanus_http.so" in installed["transports"] and "libjanus_sip.so" in installed["plugins"]
    for module in installed["transports"] + installed["plugins"]:
        if module not in ("libjanus_videoroom.so", "libjanus_websockets.so"):
            assert module in core
    assert "libjanus_videoroom.so" not in core and "libjanus_websockets.so" not in core
    assert 'ws_ip = "127.0.0.1"' in ws and "ws_port = 12345" in ws
    assert "admin_ws = false" in ws and "wss = false" in ws
    assert "room-" not in videoroom  # no demo rooms that could collide with Veche's room ids


async def test_missing_binary_fails_with_a_clear_error(tmp_path: Path) -> None:
    process = JanusProcess(JanusConfig(binary=str(tmp_path / "no-such-janus")), tmp_path)
    with pytest.raises(JanusStartError, match="cannot run Janus"):
        await process.start()
    assert process.pid is None


async def test_janus_that_exits_reports_its_log(tmp_path: Path) -> None:
    fake = tmp_path / "fake-janus"
    fake.write_text("#!/bin/sh\necho 'fatal: pretend configuration error'\nexit 3\n")
    fake.chmod(0o755)
    process = JanusProcess(JanusConfig(binary=str(fake)), tmp_path)
    with pytest.raises(JanusStartError, match="(?s)exited with status 3.*pretend configuration error"):
        await process.start()


async def test_janus_that_never_answers_times_out_and_is_killed(tmp_path: Path) -> None:
    fake = tmp_path / "mute-janus"
    fake.write_text("#!/bin/sh\necho 'hanging forever'\nexec sleep 30\n")
    fake.chmod(0o755)
    process = JanusProcess(JanusConfig(binary=str(fake), start_timeout_s=0.5, stop_timeout_s=1.0), tmp_path)
    started = time.monotonic()
    with pytest.raises(JanusStartError, match="(?s)did not answer .* within 0.5 s.*hanging forever"):
        await process.start()
    assert time.monotonic() - started < 3
    assert not [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]


# --------------------------------------------------------------------------- real Janus


@pytest.mark.janus
async def test_a_relative_data_dir_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`veche up` in a checkout keeps its data in ./.veche: Janus, started in its own directory, must find it."""
    monkeypatch.chdir(tmp_path)
    process = JanusProcess(JanusConfig(), Path(".veche"))
    await process.start()
    try:
        info = await fetch_server_info(process.ws_url, api_secret=process.api_secret, timeout=2)
        assert (parse_version(info["version_string"]) or (0, 0, 0)) >= MIN_JANUS_VERSION
    finally:
        await process.stop()


@pytest.mark.janus
async def test_only_websocket_on_loopback_and_secret_required(tmp_path: Path) -> None:
    process = JanusProcess(JanusConfig(), tmp_path)
    await process.start()
    try:
        assert process.pid is not None and process.ws_url.startswith("ws://127.0.0.1:")
        listening = [c for c in psutil.Process(process.pid).net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        # The Janus API, and the admin API the call history reads media counters from (same secret).
        assert process.admin_ws_url is not None
        ports = sorted(int(url.rsplit(":", 1)[1]) for url in (process.ws_url, process.admin_ws_url))
        assert sorted((c.laddr.ip, c.laddr.port) for c in listening) == [("127.0.0.1", port) for port in ports]

        info = await fetch_server_info(process.ws_url, api_secret=process.api_secret, timeout=2)
        assert (parse_version(info["version_string"]) or (0, 0, 0)) >= MIN_JANUS_VERSION
        assert list(info["transports"]) == ["janus.transport.websockets"]
        assert list(info["plugins"]) == ["janus.plugin.videoroom"]
        assert info["api_secret"] is True

        for wrong in (None, "not-the-secret"):
            client = JanusClient(process.ws_url, api_secret=wrong)
            await client.connect()
            try:
                with pytest.raises(JanusError) as refused:
                    await client.request({"janus": "create"})
                assert refused.value.code == 403
            finally:
                await client.close()
    finally:
        await process.stop()
    assert process.pid is None


@pytest.mark.janus
async def test_secret_is_private_stable_and_never_logged(tmp_path: Path) -> None:
    # Level 5 makes Janus print its configuration, secret included: the log must still not contain it.
    process = JanusProcess(JanusConfig(debug_level=5), tmp_path)
    await process.start()
    await process.stop()
    secret_file = tmp_path / "janus" / "api_secret"
    secret = secret_file.read_text().strip()
    assert len(secret) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "janus" / "conf" / "janus.jcfg").stat().st_mode) == 0o600
    log = (tmp_path / "janus" / "janus.log").read_text()
    assert "api_secret: ***" in log and secret not in log

    again = JanusProcess(JanusConfig(), tmp_path)
    assert again.api_secret == secret


@pytest.mark.janus
async def test_configured_secret_file_is_used(tmp_path: Path) -> None:
    secret_file = tmp_path / "given-secret"
    secret_file.write_text("given-secret-value\n")
    process = JanusProcess(JanusConfig(api_secret_file=secret_file), tmp_path / "data")
    await process.start()
    try:
        info = await fetch_server_info(process.ws_url, api_secret="given-secret-value", timeout=2)
        assert info["api_secret"] is True
        assert not (tmp_path / "data" / "janus" / "api_secret").exists()
    finally:
        await process.stop()


@pytest.mark.janus
async def test_killed_janus_is_restarted_with_a_new_epoch(tmp_path: Path) -> None:
    restarted: asyncio.Queue[int] = asyncio.Queue()
    exits: list[float] = []

    async def on_restart(epoch: int) -> None:
        await restarted.put(epoch)

    process = JanusProcess(
        JanusConfig(), tmp_path, on_exit=lambda: exits.append(time.monotonic()), on_restart=on_restart
    )
    await process.start()
    try:
        assert process.epoch == 1
        first_pid = process.pid
        assert first_pid is not None
        killed_at = time.monotonic()
        os.kill(first_pid, signal.SIGKILL)
        assert await asyncio.wait_for(restarted.get(), 5) == 2
        assert exits and exits[0] - killed_at < 0.5
        assert process.epoch == 2 and process.up
        assert process.pid not in (None, first_pid)
        assert time.monotonic() - killed_at < 2  # 0.2 s backoff + start
        await fetch_server_info(process.ws_url, api_secret=process.api_secret, timeout=2)
    finally:
        await process.stop()
    assert process.pid is None
