"""The login throttle's counters in the database, so that every web server counts the same failures.

The rules are :mod:`veche.domain.login_throttle`'s; this store reads an attempt's three counters, and applies an
outcome to them in one transaction with the rows locked (inserting the missing ones first, then ``SELECT ... FOR
UPDATE`` on PostgreSQL; the insert takes SQLite's one write lock), so two web servers failing at once both count.
Counters that hold nothing any more are deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from veche.domain.login_throttle import CounterState
from veche.storage.cluster_tables import LoginThrottleRow

__all__ = ["LoginThrottleStore"]

NO_SYNC = {"synchronize_session": False}


def _state(row: LoginThrottleRow) -> CounterState:
    return CounterState(tuple(row.failures), row.strikes, row.locked_until, row.last_failure)


class LoginThrottleStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def load(self, keys: Sequence[str]) -> dict[str, CounterState]:
        async with self._sessions() as session:
            rows = await session.scalars(select(LoginThrottleRow).where(LoginThrottleRow.key.in_(keys)))
            return {row.key: _state(row) for row in rows}

    async def update(
        self,
        keys: Sequence[str],
        change: Callable[[Mapping[str, CounterState]], Mapping[str, CounterState]],
        *,
        now: datetime,
        forget_idle_after: timedelta,
    ) -> None:
        """Apply ``change`` to the stored counters of ``keys`` (missing ones: empty), under a lock of their rows."""
        row = LoginThrottleRow
        ordered = sorted(set(keys))  # one order for every server: no deadlock between two
        async with self._sessions.begin() as session:
            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            # Write first: the missing rows exist to be locked, and SQLite takes its write lock before reading
            # (a read first would fail to write if another server wrote meanwhile).
            blank = [
                dict(key=k, failures=[], strikes=0, locked_until=0.0, last_failure=0.0, updated_at=now) for k in ordered
            ]
            await session.execute(dialect.insert(row).on_conflict_do_nothing(), blank)
            found = await session.scalars(select(row).where(row.key.in_(ordered)).order_by(row.key).with_for_update())
            stored = {r.key: _state(r) for r in found}
            after = change(stored)
            gone = [k for k, state in after.items() if state.idle]
            kept = [
                dict(
                    key=k,
                    failures=list(state.failures),
                    strikes=state.strikes,
                    locked_until=state.locked_until,
                    last_failure=max(state.last_failure, 0.0),  # -inf (never failed) is not a number in JSON/SQL
                    updated_at=now,
                )
                for k, state in after.items()
                if not state.idle
            ]
            if gone:
                await session.execute(delete(row).where(row.key.in_(gone)), execution_options=NO_SYNC)
            if kept:
                insert = dialect.insert(row)
                await session.execute(
                    insert.on_conflict_do_update(
                        index_elements=[row.key],
                        set_={name: getattr(insert.excluded, name) for name in kept[0] if name != "key"},
                    ),
                    kept,
                )
            # Counters nobody touched for longer than any lock or back-off lasts hold nothing any more.
            await session.execute(
                delete(row).where(row.updated_at < now - forget_idle_after), execution_options=NO_SYNC
            )
