"""A full sync of one source: every person, then every group, streamed page by page into the database.

The order is chosen so a failure leaves nothing half-applied:
1. connect and bind (unreachable servers and wrong service credentials fail here, before any write);
2. take the change cookie (changes made during the pass are replayed by the incremental sync afterwards);
3. people, a page at a time (each page one transaction, written while the next page is read and mapped; who
   was seen is kept in memory and checkpointed); a first sync into a small address book loads them without the
   search indexes and builds those afterwards (:mod:`veche.storage.directory_indexes`);
4. groups with their direct members;
5. in one transaction: disable people not seen in this pass, drop groups not seen, resolve nested groups,
   roles and access levels, and mark the pass complete.
The checkpoint (generation + phase) makes an interrupted pass resume: the next run continues the same
generation, skipping the people phase if it was complete; unchanged people cost a fingerprint compare.
Before all that the source is claimed (one full sync per source in the whole cluster) and, while the pass runs,
its progress and then its outcome are written for the console (:mod:`veche.base.directory.sync_status`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from veche.base.directory.server import DirectoryError, DirectoryServer
from veche.base.directory.sync_status import SyncStatusReporter
from veche.domain.clock import Clock
from veche.domain.directory import DirectoryPerson, access_mask
from veche.storage.directory import DirectoryStore, UpsertCounts
from veche.storage.directory_groups import GroupRules
from veche.storage.directory_seen import PassChanges, SeenPeople

__all__ = ["FullSync", "SyncProgress", "SyncSummary"]

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY = 10_000  # people between checkpoints
ANALYZE_FIRST = 5_000  # refresh planner statistics at 5k, 20k, 80k, 320k... people


@dataclass(frozen=True)
class SyncProgress:
    source: str
    phase: str  # "people" | "indexing" | "groups" | "finishing"
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
    def __init__(self, store: DirectoryStore, clock: Clock, status: SyncStatusReporter | None = None) -> None:
        self._store = store
        self._clock = clock
        self._status = status or SyncStatusReporter(None, clock)

    async def run(
        self,
        server: DirectoryServer,
        rules: GroupRules,
        *,
        progress: ProgressCallback | None = None,
        trigger: str = "automatic",
        run_id: str | None = None,
    ) -> SyncSummary:
        """One full pass. ``run_id`` names a run claimed beforehand (the console's); otherwise the source is
        claimed here, and :class:`SyncAlreadyRunning` raised if another sync of it runs."""
        name = server.source.name
        if run_id is None:
            run = await self._status.claim(name, trigger=trigger)
        else:
            run = self._status.run(name, run_id)
        run.start()

        def report(p: SyncProgress) -> None:
            run.update(phase=p.phase, people=p.people, groups=p.groups, expected=p.expected_people)
            if progress is not None:
                progress(p)

        try:
            summary = await self._pass(server, rules, report)
        except DirectoryError as e:
            await run.finish("failed", e.message)
            raise
        except asyncio.CancelledError:
            await run.finish("interrupted", "The sync was stopped before it finished; the next sync resumes it.")
            raise
        except Exception as e:
            await run.finish("failed", f"The sync failed unexpectedly ({type(e).__name__}: {e}); see the base log.")
            raise
        await run.finish("complete")
        return summary

    async def _pass(self, server: DirectoryServer, rules: GroupRules, report: ProgressCallback) -> SyncSummary:
        started = time.monotonic()
        name = server.source.name
        url = await server.check()
        cookie = await server.change_cookie()
        state = await self._store.begin_full_sync(name, self._clock())
        summary = SyncSummary(source=name, url=url, resumed=state.resumed)
        expected = state.last_full_count
        done = state.users_done  # people stored by an interrupted pass whose people phase was complete
        logger.info(
            "directory %s: full sync %s generation %d from %s",
            name,
            "resumes" if state.resumed else "starts",
            state.generation,
            url,
        )
        try:
            seen_people = SeenPeople(state.seen_people if state.phase == "groups" else None)
            changes = PassChanges()
            if state.resumed:  # what the interrupted run changed is not known
                changes.all()
            if state.phase == "users":
                if not state.resumed:
                    await self._store.indexes.defer_for_first_load(name)
                load = _PeopleLoad(self._store, name, rules, self._clock, seen_people, changes, summary)
                await load.run(server, lambda n: report(SyncProgress(name, "people", n, 0, expected)))
                done = load.done
                await self._store.checkpoint(name, phase="groups", users_done=done, seen=seen_people)
            # The indexes deferred for the load are built while the groups are read and resolved; only the
            # finishing step's update of access levels waits for them (PostgreSQL's locks order the two).
            building = (
                asyncio.ensure_future(self._store.indexes.build()) if await self._store.indexes.pending() else None
            )
            try:
                groups = 0
                seen_groups: set[int] = set()
                async for group_page in server.groups():
                    seen_groups.update(await self._store.upsert_groups(group_page, changes=changes))
                    groups += len(group_page)
                    report(SyncProgress(name, "groups", done, groups, expected))
                summary.groups = groups
                await self._store.refresh_statistics(people=building is None)
                report(SyncProgress(name, "finishing", done, groups, expected))
                summary.disabled, summary.groups_removed = await self._store.finish_full_sync(
                    name, rules, self._clock(), seen_people=seen_people, seen_groups=seen_groups, changes=changes
                )
                if building is not None and not building.done():
                    report(SyncProgress(name, "indexing", done, groups, expected))
            except asyncio.CancelledError:
                if building is not None:
                    building.cancel()
                    await asyncio.gather(building, return_exceptions=True)
                raise
            except BaseException:
                if building is not None:  # the address book keeps its indexes whatever stopped the pass
                    await asyncio.gather(building, return_exceptions=True)
                raise
            if building is not None:
                await building
            await self._store.save_cookie(name, cookie)
            await self._store.tidy_after_full_sync()
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


class _PeopleLoad:
    """The people phase: each page is written while the next one is read from the directory and mapped (the
    database and the directory work at the same time), pages still written one after another, in order, and the
    progress reported as each is stored."""

    def __init__(
        self,
        store: DirectoryStore,
        source: str,
        rules: GroupRules,
        clock: Clock,
        seen: SeenPeople,
        changes: PassChanges,
        summary: SyncSummary,
    ) -> None:
        self._store = store
        self._source = source
        self._access = access_mask([rules.default_access])
        self._clock = clock
        self._seen = seen
        self._changes = changes
        self._summary = summary
        self.done = 0
        self._since_checkpoint = 0
        self._analyze_at = ANALYZE_FIRST

    async def run(self, server: DirectoryServer, progress: Callable[[int], None]) -> None:
        pages = server.people()
        try:
            await self._load(pages, progress)
        finally:  # a reader process ends with the load, not whenever the generator is collected
            close = getattr(pages, "aclose", None)
            if close is not None:
                await close()

    async def _load(self, pages: AsyncIterator[list[DirectoryPerson]], progress: Callable[[int], None]) -> None:
        # One page waits in the queue while one is written; the reader fetches the next meanwhile. A directory
        # error is queued after the pages read before it: those are stored, then the error is raised.
        queue: asyncio.Queue[list[DirectoryPerson] | BaseException | None] = asyncio.Queue(maxsize=1)

        async def read() -> None:
            try:
                async for page in pages:
                    await queue.put(page)
            except Exception as e:
                await queue.put(e)
            else:
                await queue.put(None)

        reader = asyncio.ensure_future(read())
        try:
            while (page := await queue.get()) is not None:
                if isinstance(page, BaseException):
                    raise page
                result = await self._store.upsert_people(
                    page, default_access=self._access, now=self._clock(), seen=self._seen
                )
                await self._written(result, len(page))
                progress(self.done)
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    async def _written(self, result: tuple[UpsertCounts, list[int]], size: int) -> None:
        counts, touched = result
        self._summary.people += counts
        self._changes.people_changed(touched)
        self.done += size
        self._since_checkpoint += size
        if self._since_checkpoint >= CHECKPOINT_EVERY:
            await self._store.checkpoint(self._source, phase="users", users_done=self.done)
            self._since_checkpoint = 0
        if self.done >= self._analyze_at:
            await self._store.refresh_statistics()
            self._analyze_at *= 4
