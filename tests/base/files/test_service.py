"""The file service end to end on real parts (SQLite, a directory, the EICAR scanner script) with the chat side
faked: what a sender and a reader notice — refusals in words, files posted, downloads for members only, quota
freed by retention."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.base.files.eicar_scanner import EICAR
from tests.base.files.fakes import FakeChats
from veche.base.files.errors import FileTooLarge, Infected, QuotaExceeded, ScanFailed, TypeNotAllowed
from veche.base.files.filesystem_blobs import FilesystemBlobStore
from veche.base.files.retention import ChatFileRetention
from veche.base.files.scan import CommandScanner
from veche.base.files.service import ChatFiles, FilePolicy
from veche.domain.chat_access import ChatRef, Reader
from veche.domain.errors import NotFound
from veche.domain.model import ConferenceAccess, ConferenceType
from veche.storage.chat_files import ChatFileStore
from veche.storage.conferences import ConferenceStore
from veche.storage.database import Database
from veche.storage.users import UserStore

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
SCANNER = [sys.executable, str(Path(__file__).with_name("eicar_scanner.py")), "{path}"]
ALICE = Reader(user_id=1, display_name="Alice")
BOB = Reader(user_id=2, display_name="Bob")
MALLORY = Reader(user_id=3, display_name="Mallory")
CHAT = ChatRef("conference", 1)  # the fixture's conference


@dataclass
class Setup:
    files: ChatFiles
    retention: ChatFileRetention
    chats: FakeChats
    root: Path
    now: list[datetime]
    database: Database


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'veche.db'}")
    await database.migrate()
    assert await _conference(database) == CHAT.id
    chats = FakeChats(members={CHAT.key: {"user:1", "user:2"}})
    now = [NOW]
    blobs = FilesystemBlobStore(tmp_path / "files")
    files = ChatFiles(
        ChatFileStore(database.sessions),
        blobs,
        CommandScanner(SCANNER, timeout_s=30),
        chats,
        chats,
        FilePolicy(max_size_bytes=10_000, allowed_types=(".pdf", ".txt", "image/*"), quota_bytes=25_000),
        temp_dir=tmp_path / "incoming",
        clock=lambda: now[0],
    )
    retention = ChatFileRetention(
        ChatFileStore(database.sessions), blobs, retention=timedelta(days=90), clock=lambda: now[0]
    )
    yield Setup(files, retention, chats, tmp_path / "files", now, database)
    await database.close()


async def _conference(database: Database) -> int:
    owner = await UserStore(database.sessions).create(
        login="owner", display_name="Owner", email="", password_hash="h", is_admin=False, now=NOW
    )
    conference = await ConferenceStore(database.sessions).create(
        name="Files",
        owner_id=owner.id,
        type=ConferenceType.ALL_SEE_ALL,
        max_participants=5,
        guests_allowed=False,
        access=ConferenceAccess.OPEN,
        invite_code="files-code",
        slug="files",
        invited=set(),
        moderators=set(),
        now=NOW,
    )
    return conference.id


async def _send(files: ChatFiles, reader: Reader, name: str, data: bytes, text: str = "") -> str:
    async with files.incoming(name) as upload:
        for start in range(0, len(data), 1000):
            await upload.write(data[start : start + 1000])
        await upload.finish()
        return (await files.send(reader, CHAT, upload, text)).file_id


async def _download(files: ChatFiles, reader: Reader, file_id: str) -> bytes:
    file = await files.file_for(reader, file_id)
    return b"".join([chunk async for chunk in await files.content(file)])


async def test_a_member_sends_a_file_and_another_member_downloads_it(setup: Setup) -> None:
    data = b"%PDF-1.7 the minutes " * 100
    file_id = await _send(setup.files, ALICE, "C:\\fakepath\\Minutes.pdf", data, "for Thursday")
    (reader, chat, attachment, text) = setup.chats.posted[-1]
    assert (reader, chat, text) == (ALICE, CHAT, "for Thursday")
    assert (attachment.name, attachment.size, attachment.content_type) == ("Minutes.pdf", len(data), "application/pdf")
    assert await _download(setup.files, BOB, file_id) == data
    assert not list((setup.root.parent / "incoming").iterdir())  # the temporary file is gone


async def test_a_non_member_cannot_send_nor_download_and_hears_not_found(setup: Setup) -> None:
    file_id = await _send(setup.files, ALICE, "a.txt", b"hello")
    with pytest.raises(NotFound) as unknown:
        await setup.files.file_for(MALLORY, "x" * 43)
    with pytest.raises(NotFound) as hidden:
        await setup.files.file_for(MALLORY, file_id)
    assert hidden.value.message == unknown.value.message
    with pytest.raises(NotFound):
        await _send(setup.files, MALLORY, "b.txt", b"hello")


async def test_a_file_over_the_limit_is_refused_while_it_arrives(setup: Setup) -> None:
    async with setup.files.incoming("big.pdf") as upload:
        await upload.write(b"%PDF-" + b"x" * 9_995)
        with pytest.raises(FileTooLarge, match="larger than the limit of 10 kB"):
            await upload.write(b"x")
    assert setup.chats.posted == []


async def test_types_outside_the_list_and_lies_are_refused(setup: Setup) -> None:
    with pytest.raises(TypeNotAllowed, match=r"\.exe files may not be sent"):
        await _send(setup.files, ALICE, "setup.exe", b"MZ\x90\x00")
    with pytest.raises(TypeNotAllowed, match="is a program, not a PDF document"):
        await _send(setup.files, ALICE, "report.pdf", b"MZ\x90\x00")
    assert setup.chats.posted == []


async def test_the_eicar_file_is_refused_by_the_scan(setup: Setup) -> None:
    with pytest.raises(Infected, match="“eicar.txt” was refused by the virus scan"):
        await _send(setup.files, ALICE, "eicar.txt", EICAR)
    assert setup.chats.posted == [] and not list(setup.root.rglob("*"))


async def test_a_broken_scanner_fails_the_upload(setup: Setup, tmp_path: Path) -> None:
    setup.files._scanner = CommandScanner([sys.executable, "-c", "raise SystemExit(3)", "{path}"], timeout_s=30)
    with pytest.raises(ScanFailed, match="could not be checked for viruses"):
        await _send(setup.files, ALICE, "a.txt", b"hello")
    assert setup.chats.posted == []


async def test_the_quota_names_use_and_quota_and_retention_frees_it(setup: Setup) -> None:
    for _ in range(2):
        await _send(setup.files, ALICE, "a.txt", b"a" * 10_000)
    with pytest.raises(QuotaExceeded) as full:
        await _send(setup.files, ALICE, "b.txt", b"b" * 6_000)
    assert full.value.message.startswith("Your files take 20 kB of your 25 kB quota; this one (6 kB) does not fit.")
    assert (await setup.files.usage_of(ALICE)).used_bytes == 20_000
    await _send(setup.files, BOB, "b.txt", b"b" * 6_000)  # Bob's quota is his own

    assert await setup.retention.purge(NOW + timedelta(days=89)) == 0
    setup.now[0] = NOW + timedelta(days=91)
    assert await setup.retention.purge(setup.now[0]) == 3
    assert (await setup.files.usage_of(ALICE)).used_bytes == 0
    assert not [p for p in setup.root.rglob("*") if p.is_file()]
    await _send(setup.files, ALICE, "b.txt", b"b" * 6_000)


async def test_a_deleted_chat_takes_its_files(setup: Setup) -> None:
    file_id = await _send(setup.files, ALICE, "a.txt", b"hello")
    assert await setup.retention.delete_chat(CHAT) == 1
    with pytest.raises(NotFound):
        await setup.files.file_for(ALICE, file_id)
    assert (await setup.files.usage_of(ALICE)).used_bytes == 0


async def test_when_posting_fails_the_file_is_not_kept(setup: Setup) -> None:
    setup.chats.fail_posting = True
    with pytest.raises(RuntimeError):
        await _send(setup.files, ALICE, "a.txt", b"hello")
    assert (await setup.files.usage_of(ALICE)).used_bytes == 0
    assert not [p for p in setup.root.rglob("*") if p.is_file()]


async def test_uploads_left_by_a_crashed_process_are_cleared_but_not_those_in_progress(setup: Setup) -> None:
    incoming = setup.root.parent / "incoming"
    incoming.mkdir(exist_ok=True)
    left, fresh = incoming / "upload-left", incoming / "upload-fresh"
    left.write_bytes(b"half a file")
    fresh.write_bytes(b"being written")
    os.utime(left, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    await _send(setup.files, ALICE, "a.txt", b"hello")
    assert not left.exists() and fresh.exists()


async def test_the_files_of_a_deleted_conference_go_at_the_next_check(setup: Setup) -> None:
    await _send(setup.files, ALICE, "a.txt", b"hello")
    assert await setup.retention.purge(NOW) == 0
    assert await ConferenceStore(setup.database.sessions).delete(CHAT.id)
    assert await setup.retention.purge(NOW) == 1
    assert (await setup.files.usage_of(ALICE)).used_bytes == 0
    assert not [p for p in setup.root.rglob("*") if p.is_file()]
