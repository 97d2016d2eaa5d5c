"""One full sync per source across processes, its progress and outcome in the database (SQLite and PostgreSQL),
and the base role's answer to "Sync now" when a cluster has several base servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from veche.base.directory.full_sync import FullSync
from veche.base.directory.memory import InMemoryDirectoryServer
from veche.base.directory.sync_requests import DirectorySyncRequests
from veche.base.directory.sync_service import DirectorySync, rules_for
from veche.base.directory.sync_status import (
    STALE_AFTER,
    SyncAlreadyRunning,
    SyncStatusReporter,
    is_following,
    source_state,
)
from veche.bus.inproc import InProcessBus
from veche.bus.messages import CommandResult, StartDirectorySync
from veche.config.directory import DirectoryConfig, DirectorySource
from veche.domain.clock import utc_now
from veche.domain.directory import DirectoryPerson
from veche.storage.database import Database
from veche.storage.directory import DirectoryStore
from veche.storage.directory_status import SyncStatus, SyncStatusStore

SOURCE = DirectorySource(name="corp", urls=["ldap://memory"], user_base_dns=["ou=people"], page_size=2)
PEOPLE = [DirectoryPerson("corp", f"id-{i}", f"uid=u{i},ou=people", f"u{i}", f"U {i}") for i in range(5)]
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


async def test_one_sync_per_source_until_it_ends_or_its_process_is_gone(database: Database) -> None:
    store = SyncStatusStore(database.sessions)
    assert await store.get("corp") is None
    assert await store.claim("corp", "run-a", trigger="console", now=T0, stale_before=T0 - STALE_AFTER) is None
    later = T0 + timedelta(seconds=5)
    assert await store.claim("corp", "run-b", trigger="command", now=later, stale_before=later - STALE_AFTER) == "run-a"
    await store.progress("corp", "run-a", phase="people", people=2, groups=0, expected=5, now=later)
    running = await store.get("corp")
    assert running is not None
    assert (running.run_id, running.trigger, running.phase, running.people_done, running.expected_people) == (
        "run-a",
        "console",
        "people",
        2,
        5,
    )
    assert running.beat_at == later and running.started_at == T0
    # Its process died: no beat for longer than STALE_AFTER, so the next sync may claim the source.
    gone = later + STALE_AFTER + timedelta(seconds=1)
    assert await store.claim("corp", "run-b", trigger="command", now=gone, stale_before=gone - STALE_AFTER) is None
    await store.finish("corp", "run-a", phase="complete", error=None, now=gone, people=5, groups=0, expected=5)
    taken = await store.get("corp")
    assert taken is not None and taken.run_id == "run-b"  # the late end of the dead run changes nothing
    await store.finish(
        "corp", "run-b", phase="failed", error="corp: no server answered", now=gone, people=0, groups=0, expected=5
    )
    failed = await store.get("corp")
    assert failed is not None and failed.run_id is None and failed.phase == "failed"
    assert (failed.last_error, failed.error_at, failed.ended_at) == ("corp: no server answered", gone, gone)
    assert source_state(failed, None, gone) == "failed"


async def test_following_and_errors_of_the_watcher(database: Database) -> None:
    store = SyncStatusStore(database.sessions)
    await store.record_error("corp", "corp: connection lost", T0)
    await store.following("corp", seen_at=T0, last_change_at=T0)
    status = await store.get("corp")
    assert status is not None and status.last_error is None  # following again: the connection error is over
    assert is_following(status, T0 + timedelta(seconds=10)) and not is_following(status, T0 + timedelta(seconds=20))
    await store.following("corp", seen_at=None, last_change_at=None)
    stopped = await store.get("corp")
    assert stopped is not None and stopped.last_change_at == T0 and not is_following(stopped, T0)
    assert (await store.all()).keys() == {"corp"}


def _status(**fields: Any) -> SyncStatus:
    values: dict[str, Any] = dict(
        source="corp",
        run_id=None,
        trigger="",
        phase="",
        people_done=0,
        groups_done=0,
        expected_people=0,
        started_at=None,
        beat_at=None,
        ended_at=None,
        last_error=None,
        error_at=None,
        following_seen_at=None,
        last_change_at=None,
    )
    values.update(fields)
    return SyncStatus(**values)


def test_source_state_in_words() -> None:
    assert source_state(None, None, T0) == "never synced"
    assert source_state(_status(phase="failed"), None, T0) == "failed"
    assert source_state(_status(run_id="r", beat_at=T0), None, T0 + timedelta(seconds=3)) == "syncing"
    assert source_state(_status(run_id="r", beat_at=T0), T0, T0 + timedelta(minutes=1)) == "interrupted"
    assert source_state(_status(phase="complete"), T0, T0) == "complete"
    assert source_state(None, T0, T0) == "complete"  # synced before this version recorded a status


async def test_a_second_sync_of_the_same_source_is_refused(database: Database) -> None:
    status = SyncStatusStore(database.sessions)
    reporter = SyncStatusReporter(status, utc_now)
    full_sync = FullSync(DirectoryStore(database.sessions), utc_now, reporter)
    server = InMemoryDirectoryServer(SOURCE, PEOPLE)
    held = await reporter.claim("corp", trigger="command")  # e.g. `veche directory sync` in another process
    with pytest.raises(SyncAlreadyRunning, match="corp: a full sync is already running"):
        await full_sync.run(server, rules_for(SOURCE))
    await held.finish("interrupted", "stopped")
    summary = await full_sync.run(server, rules_for(SOURCE))
    assert summary.people.added == 5
    done = await status.get("corp")
    assert done is not None
    assert (done.phase, done.trigger, done.people_done, done.last_error) == ("complete", "automatic", 5, None)


async def test_with_two_base_servers_exactly_one_runs_the_requested_sync(database: Database) -> None:
    def base() -> DirectorySyncRequests:
        sync = DirectorySync(
            DirectoryConfig(sources=[SOURCE]),
            {"corp": InMemoryDirectoryServer(SOURCE, PEOPLE)},
            DirectoryStore(database.sessions),
            utc_now,
            SyncStatusReporter(SyncStatusStore(database.sessions), utc_now),
        )
        return DirectorySyncRequests(InProcessBus(), sync)

    first, second = base(), base()
    ask = StartDirectorySync(source="corp", request_id="req-1")
    # Over NATS both receive the request: the one that claims it answers, the other stays silent.
    assert await first._handle(ask) == CommandResult(ok=True, code="started", message="Full sync of corp started.")
    assert await second._handle(ask) is None
    other = await second._handle(StartDirectorySync(source="corp", request_id="req-2"))
    assert isinstance(other, CommandResult) and other.code == "already_running"
    unknown = await first._handle(StartDirectorySync(source="hr", request_id="req-3"))
    assert isinstance(unknown, CommandResult) and unknown.code == "not_found"
    await first._sync.stop()
    await second._sync.stop()
