"""The call history store on SQLite and PostgreSQL: sessions grouped into calls, resends counted once, filters and
pages in SQL, the CSV walk, and the hourly usage figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

import veche.storage.call_history as call_history_module
from veche.domain.call_history import (
    CLOSED_BY_APP,
    CLOSED_BY_RESTART,
    CLOSED_BY_SERVER_DOWN,
    ClientKind,
    HistoryFilter,
    MediaCounters,
    SessionRecord,
)
from veche.storage.call_history import CallHistoryStore
from veche.storage.database import Database

T0 = 1_764_547_200_000  # 2025-12-01T00:00:00Z in ms
S = 1000
MIN = 60 * S


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def session(
    sid: str,
    joined: int,
    left: int | None,
    *,
    conference: int = 1,
    identity: str = "user:1",
    server: str = "app-1",
    kind: ClientKind = ClientKind.BROWSER,
    revision: int = 1,
) -> SessionRecord:
    return SessionRecord(
        session_id=sid,
        conference_id=conference,
        conference_name=f"Conference {conference}",
        identity=identity,
        display_name=identity.replace(":", " "),
        guest=identity.startswith("guest:"),
        kind=kind,
        user_agent="Mozilla/5.0" if kind is ClientKind.BROWSER else "python-websockets",
        server_id=server,
        joined_at_ms=T0 + joined,
        left_at_ms=None if left is None else T0 + left,
        revision=revision,
        media=MediaCounters(bytes_in=1000, packets_in=10, lost_in=1),
    )


@pytest.fixture
def store(database: Database) -> CallHistoryStore:
    return CallHistoryStore(database.sessions)


ALL = HistoryFilter()


async def test_overlapping_sessions_make_one_call_from_first_join_to_last_leave(store: CallHistoryStore) -> None:
    await store.record("app-1", "i1", T0, [session("a", 0, 60 * S), session("b", 10 * S, 90 * S, identity="guest:x")])
    page = await store.list_calls(ALL, limit=10, offset=0)
    assert page.total == 1
    (call,) = page.calls
    assert (call.started_at_ms, call.ended_at_ms) == (T0, T0 + 90 * S)
    assert [p.session_id for p in call.participants] == ["a", "b"]
    assert call.participants[0].user_id == 1 and call.participants[1].guest
    assert call.participants[0].media == MediaCounters(bytes_in=1000, packets_in=10, lost_in=1)
    assert call.participants[0].closed_by == CLOSED_BY_APP


async def test_a_resent_batch_is_no_second_entry_and_an_older_revision_changes_nothing(
    store: CallHistoryStore,
) -> None:
    closed = session("a", 0, 60 * S, revision=2)
    await store.record("app-1", "i1", T0, [session("a", 0, None), session("b", 0, 30 * S)])
    await store.record("app-1", "i1", T0, [closed])
    for _ in range(3):  # base restarted before its acknowledgements arrived: everything comes again
        await store.record("app-1", "i1", T0, [session("a", 0, None), closed, session("b", 0, 30 * S)])
    page = await store.list_calls(ALL, limit=10, offset=0)
    assert page.total == 1
    (call,) = page.calls
    assert len(call.participants) == 2
    assert call.ended_at_ms == T0 + 60 * S  # the open revision 1 sent again did not reopen it


async def test_a_session_after_the_last_leave_starts_a_new_call_newest_first_and_paged(
    store: CallHistoryStore,
) -> None:
    await store.record("app-1", "i1", T0, [session("a", 0, MIN)])
    await store.record("app-1", "i1", T0, [session("b", 2 * MIN, 3 * MIN)])
    await store.record("app-1", "i1", T0, [session("c", 4 * MIN, None)])
    page = await store.list_calls(ALL, limit=2, offset=0)
    assert page.total == 3
    assert [c.participants[0].session_id for c in page.calls] == ["c", "b"]
    assert page.calls[0].ended_at_ms is None  # still running
    rest = await store.list_calls(ALL, limit=2, offset=2)
    assert [c.participants[0].session_id for c in rest.calls] == ["a"]


async def test_a_late_session_spanning_two_calls_joins_them(store: CallHistoryStore) -> None:
    await store.record("app-1", "i1", T0, [session("a", 0, MIN), session("b", 2 * MIN, 3 * MIN)])
    assert (await store.list_calls(ALL, limit=10, offset=0)).total == 2
    await store.record("app-2", "j1", T0, [session("c", 30 * S, 150 * S, server="app-2")])
    page = await store.list_calls(ALL, limit=10, offset=0)
    assert page.total == 1
    (call,) = page.calls
    assert sorted(p.session_id for p in call.participants) == ["a", "b", "c"]
    assert (call.started_at_ms, call.ended_at_ms) == (T0, T0 + 3 * MIN)


async def test_a_new_incarnation_closes_what_the_previous_one_left_open(store: CallHistoryStore) -> None:
    await store.record("app-1", "old", T0, [session("a", 0, None), session("b", 0, None, identity="user:2")])
    await store.record("app-1", "new", T0 + MIN, [])
    (call,) = (await store.list_calls(ALL, limit=10, offset=0)).calls
    assert {(p.left_at_ms, p.closed_by) for p in call.participants} == {(T0 + MIN, CLOSED_BY_RESTART)}
    assert call.ended_at_ms == T0 + MIN


async def test_a_dead_servers_open_sessions_close_when_its_death_is_known(store: CallHistoryStore) -> None:
    await store.record("app-1", "i1", T0, [session("a", 0, None)])
    await store.record("app-2", "i2", T0, [session("b", 0, None, server="app-2", identity="user:2")])
    assert await store.servers_with_open_sessions() == ["app-1", "app-2"]
    assert await store.close_open_sessions("app-1", T0 + MIN, CLOSED_BY_SERVER_DOWN) == 1
    assert await store.servers_with_open_sessions() == ["app-2"]
    (call,) = (await store.list_calls(ALL, limit=10, offset=0)).calls
    by_id = {p.session_id: p for p in call.participants}
    assert (by_id["a"].left_at_ms, by_id["a"].closed_by) == (T0 + MIN, CLOSED_BY_SERVER_DOWN)
    assert by_id["b"].left_at_ms is None and call.ended_at_ms is None
    # The server was only cut off: what it says later (a higher revision) is the truth.
    await store.record("app-1", "i1", T0, [session("a", 0, 50 * S, revision=2)])
    (call,) = (await store.list_calls(ALL, limit=10, offset=0)).calls
    assert {p.session_id: p.left_at_ms for p in call.participants}["a"] == T0 + 50 * S


async def test_filters_are_applied_by_the_store(store: CallHistoryStore) -> None:
    await store.record(
        "app-1",
        "i1",
        T0,
        [
            session("a", 0, MIN, identity="user:1"),
            session("b", 0, MIN, identity="user:2", kind=ClientKind.API),
            session("c", 10 * MIN, 11 * MIN, identity="user:2", conference=2),
        ],
    )
    await store.record(
        "app-2", "i2", T0, [session("d", 20 * MIN, 21 * MIN, server="app-2", conference=3, identity="user:4")]
    )

    async def conferences(where: HistoryFilter) -> list[int]:
        return [c.conference_id for c in (await store.list_calls(where, limit=10, offset=0)).calls]

    assert await conferences(HistoryFilter(participant_user_id=1)) == [1]
    assert await conferences(HistoryFilter(participant_user_id=2)) == [2, 1]
    assert await conferences(HistoryFilter(participant_user_id=3)) == []
    assert await conferences(HistoryFilter(user_id=2, conference_id=2)) == [2]
    assert await conferences(HistoryFilter(server_id="app-2")) == [3]
    assert await conferences(HistoryFilter(kind=ClientKind.API)) == [1]
    assert await conferences(HistoryFilter(since=at(T0 + 5 * MIN))) == [3, 2]
    assert await conferences(HistoryFilter(until=at(T0 + 15 * MIN))) == [2, 1]
    assert await conferences(HistoryFilter(since=at(T0 + 5 * MIN), until=at(T0 + 15 * MIN))) == [2]
    first = (await store.list_calls(HistoryFilter(conference_id=1), limit=1, offset=0)).calls[0]
    assert await store.get_call(first.id, HistoryFilter(participant_user_id=2)) is not None
    assert await store.get_call(first.id, HistoryFilter(participant_user_id=3)) is None
    assert await store.get_call(first.id + 1000, ALL) is None


async def test_the_csv_walk_reads_every_participant_once_in_keyset_pages(
    store: CallHistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(call_history_module, "CSV_BATCH", 2)
    records = [session(f"s{n}", n * 10 * MIN, n * 10 * MIN + MIN, identity=f"user:{n % 2 + 1}") for n in range(5)]
    records.append(replace(session("s0b", 0, 30 * S), identity="guest:g"))
    await store.record("app-1", "i1", T0, records)
    rows = [(call.conference_name, p.session_id) async for call, p in store.participant_rows(ALL)]
    assert sorted(sid for _, sid in rows) == ["s0", "s0b", "s1", "s2", "s3", "s4"]
    assert [sid for _, sid in rows][:1] == ["s4"]  # newest call first
    mine = [p.session_id async for _, p in store.participant_rows(HistoryFilter(participant_user_id=1))]
    assert sorted(mine) == ["s0", "s0b", "s2", "s4"]  # his calls, with everybody in them


async def test_hourly_usage_sums_participant_minutes_and_counts_runs(store: CallHistoryStore) -> None:
    hour = 60 * MIN
    await store.record(
        "app-1",
        "i1",
        T0,
        [
            session("a", 30 * MIN, 90 * MIN),  # 30 min in hour 0, 30 in hour 1
            session("b", 40 * MIN, 50 * MIN, identity="user:2"),  # 10 min in hour 0, same call
            session("c", 2 * hour + 10 * MIN, None, conference=2),  # open: until now
        ],
    )
    await store.record("app-2", "i2", T0, [session("d", 10 * MIN, 20 * MIN, conference=3, server="app-2")])
    usage = await store.hourly_usage(at(T0), at(T0 + 3 * hour), now=at(T0 + 2 * hour + 40 * MIN))
    assert [(u.hour_ms - T0) // hour for u in usage] == [0, 1, 2]
    assert [u.participant_minutes for u in usage] == [50.0, 30.0, 30.0]
    assert [u.conference_runs for u in usage] == [2, 1, 1]
    one = await store.hourly_usage(at(T0), at(T0 + 3 * hour), now=at(T0 + 3 * hour), server_id="app-2")
    assert [(u.participant_minutes, u.conference_runs) for u in one] == [(10.0, 1), (0.0, 0), (0.0, 0)]


async def test_retention_deletes_calls_that_ended_before_the_cutoff_and_keeps_running_ones(
    store: CallHistoryStore,
) -> None:
    await store.record("app-1", "i1", T0, [session("old", 0, MIN), session("old-2", 10 * S, 50 * S, identity="user:2")])
    await store.record("app-1", "i1", T0, [session("recent", 10 * MIN, 11 * MIN)])
    await store.record("app-1", "i1", T0, [session("running", 5 * S, None, conference=2)])
    assert await store.delete_ended_before(T0 + 5 * MIN) == 1
    left = {c.participants[0].session_id for c in (await store.list_calls(ALL, limit=10, offset=0)).calls}
    assert left == {"recent", "running"}
    # The deleted call's sessions went with it.
    assert [p async for _, p in store.participant_rows(HistoryFilter(participant_user_id=2))] == []
