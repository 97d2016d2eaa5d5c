"""A full sync of one source: every person, then every group, streamed page by page into the database.

The order is chosen so a failure leaves nothing half-applied:
1. connect and bind (unreachable servers and wrong service credentials fail here, before any write);
2. take the change cookie (changes made during the pass are replayed by the incremental sync afterwards);
3. people, a page at a time (each page one transaction, marked with this pass's generation);
4. groups with their direct members;
5. in one transaction: disable people not seen in this pass, drop groups not seen, resolve nested groups,
   roles and access levels, and mark the pass complete.
The checkpoint (generation + phase) makes an interrupted pass resume: the next run continues the same
generation, skipping the people phase if it was complete; unchanged people cost a fingerprint compare.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from veche.base.directory.server import DirectoryError, DirectoryServer
from veche.domain.clock import Clock
from veche.domain.directory import access_mask
from veche.storage.directory import DirectoryStore, UpsertCounts
from veche.storage.directory_groups import GroupRules

__all__ = ["FullSync", "SyncProgress", "SyncSummary"]

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY = 10_000  # people between checkpoints
ANALYZE_FIRST = 5_000  # refresh planner statistics at 5k, 20k, 80k, 320k... people


@dataclass(frozen=True)
class SyncProgress:
    source: str
    phase: str  # "people" | "groups" | "finishing"
    people: int
    groups: int
    expected_people: int  # from the last complete pass; 0 if unknown


@dataclass
class SyncSummary:
    source: str
    url: str
    resumed: bool
    people: UpsertCounts = field(default_factory=UpsertCounts)
    groups: int = 0
    disabled: int = 0
    groups_removed: int = 0
    seconds: float = 0.0


ProgressCallback = Callable[[SyncProgress], None]


class FullSync:
    def __init__(self, store: DirectoryStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def run(
        self, server: DirectoryServer, rules: GroupRules, *, progress: ProgressCallback | None = None
    ) -> SyncSummary:
        started = time.monotonic()
        name = server.source.name
        url = await server.check()
        cookie = await server.change_cookie()
        state = await self._store.begin_full_sync(name, self._clock())
        summary = SyncSummary(source=name, url=url, resumed=state.resumed)
        report = progress or (lambda _p: None)
        expected = state.last_full_count
        logger.info(
            "directory %s: full sync %s generation %d from %s",
            name,
            "resumes" if state.resumed else "starts",
            state.generation,
            url,
        )
        try:
            if state.phase == "users":
                done = 0
                since_checkpoint = 0
                analyze_at = ANALYZE_FIRST
                async for page in server.people():
                    counts, _ = await self._store.upsert_people(
                        page,
                        generation=state.generation,
                        default_access=access_mask([rules.default_access]),
                        now=self._clock(),
                    )
                    summary.people += counts
                    done += len(page)
                    since_checkpoint += len(page)
                    if since_checkpoint >= CHECKPOINT_EVERY:
                        await self._store.checkpoint(name, phase="users", users_done=done)
                        since_checkpoint = 0
                    if done >= analyze_at:
                        await self._store.refresh_statistics()
                        analyze_at *= 4
                    report(SyncProgress(name, "people", done, 0, expected))
                await self._store.checkpoint(name, phase="groups", users_done=done)
            groups = 0
            async for group_page in server.groups():
                await self._store.upsert_groups(group_page, generation=state.generation)
                groups += len(group_page)
                report(SyncProgress(name, "groups", summary.people.added + summary.people.updated, groups, expected))
            summary.groups = groups
            await self._store.refresh_statistics()
            report(SyncProgress(name, "finishing", expected, groups, expected))
            summary.disabled, summary.groups_removed = await self._store.finish_full_sync(
                name, state.generation, rules, self._clock()
            )
            await self._store.save_cookie(name, cookie)
            await self._store.tidy_search_index()
        except DirectoryError as e:
            await self._store.record_error(name, e.message)
            raise
        summary.seconds = time.monotonic() - started
        logger.info(
            "directory %s: full sync done in %.1f s: %d added, %d updated, %d unchanged, %d disabled, %d groups",
            name,
            summary.seconds,
            summary.people.added,
            summary.people.updated,
            summary.people.unchanged,
            summary.disabled,
            summary.groups,
        )
        return summary
