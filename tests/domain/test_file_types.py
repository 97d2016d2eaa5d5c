"""The type allow-list, the sniffing of obvious lies, names and sizes in words (pure)."""

from __future__ import annotations

import pytest

from veche.config.files import DEFAULT_ALLOWED_TYPES
from veche.domain.file_types import TypeRefusal, check_file_type, clean_file_name, describe_size, file_type_of

ALLOWED = list(DEFAULT_ALLOWED_TYPES)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
ZIP = b"PK\x03\x04\x14\x00\x06\x00"
ELF = b"\x7fELF\x02\x01\x01\x00"
PE = b"MZ\x90\x00\x03\x00\x00\x00"


@pytest.mark.parametrize(
    ("name", "head", "content_type"),
    [
        ("Minutes.pdf", PDF, "application/pdf"),
        ("photo.PNG", PNG, "image/png"),
        ("Budget.xlsx", ZIP, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("notes.txt", "Grüße aus Köln\n".encode(), "text/plain"),
        ("empty.txt", b"", "text/plain"),
        ("clip.mp4", b"\x00\x00\x00\x20ftypisom", "video/mp4"),
        ("talk.mp3", b"ID3\x04\x00", "audio/mpeg"),
        ("logs.tar", b"x" * 257 + b"ustar\x0000", "application/x-tar"),
    ],
)
def test_allowed_files_get_the_type_of_their_extension(name: str, head: bytes, content_type: str) -> None:
    assert check_file_type(name, head, ALLOWED).content_type == content_type


@pytest.mark.parametrize(
    ("name", "head", "says"),
    [
        ("setup.exe", PE, ".exe files may not be sent here"),
        ("README", b"hello", "Files without an extension may not be sent here"),
        ("page.html", b"<html>", ".html files may not be sent here"),
        ("report.pdf", PE, "is a program, not a PDF document"),
        ("photo.jpg", ELF, "is a program, not a JPEG image"),
        ("notes.txt", b"#!/bin/sh\nrm -rf ~", "is a program, not a text file"),
        ("report.pdf", b"<html><script>", "does not look like a PDF document"),
        ("Budget.docx", PNG, "does not look like a Word document"),
        ("notes.txt", b"abc\x00\x01\x02", "is binary data, not a text file"),
    ],
)
def test_refusals_name_the_file_and_the_reason(name: str, head: bytes, says: str) -> None:
    with pytest.raises(TypeRefusal, match=says):
        check_file_type(name, head, ALLOWED)


def test_mime_entries_and_wildcards_allow_types() -> None:
    assert check_file_type("a.png", PNG, ["image/*"]).content_type == "image/png"
    assert check_file_type("a.pdf", PDF, ["application/pdf"]).extension == ".pdf"
    with pytest.raises(TypeRefusal, match="Allowed: image/\\*"):
        check_file_type("a.pdf", PDF, ["image/*"])


def test_an_allowed_program_extension_may_carry_a_program() -> None:
    assert check_file_type("tool.exe", PE, [".exe"]).extension == ".exe"


def test_unknown_extensions_are_plain_bytes() -> None:
    assert file_type_of("data.xyz").content_type == "application/octet-stream"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\fakepath\\Quarterly report.pdf", "Quarterly report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("a\x00b\r\nc.txt", "a_b__c.txt"),
        ("", "file"),
        ("...", "file"),
        ("Отчёт.docx", "Отчёт.docx"),
    ],
)
def test_file_names_lose_directories_and_control_characters(raw: str, clean: str) -> None:
    assert clean_file_name(raw) == clean


def test_long_names_keep_their_extension() -> None:
    cleaned = clean_file_name("x" * 300 + ".pdf")
    assert len(cleaned) == 200 and cleaned.endswith(".pdf")


@pytest.mark.parametrize(
    ("size", "words"),
    [(0, "0 bytes"), (1, "1 byte"), (999, "999 bytes"), (1500, "1.5 kB"), (100_000_000, "100 MB"), (2 * 10**9, "2 GB")],
)
def test_sizes_in_words(size: int, words: str) -> None:
    assert describe_size(size) == words
