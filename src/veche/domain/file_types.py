"""Which files may be sent in a chat: names, the type allow-list, and content sniffing for the obvious lies.

Pure: the caller reads the first bytes of the file (:data:`SNIFF_BYTES`) and passes them in. The type a file is
stored and served with comes from its extension (this table), never from what the uploading browser claimed.
A file whose content contradicts its extension (an executable named ``report.pdf``, binary data named ``.txt``) is
refused; this is not an antivirus (that is the scan hook, base/files/scan.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = [
    "SNIFF_BYTES",
    "FileType",
    "TypeRefusal",
    "check_file_type",
    "clean_file_name",
    "describe_size",
    "file_type_of",
]

SNIFF_BYTES = 4096
MAX_NAME_CHARS = 200

# extension -> (MIME type, what people call it)
KNOWN_TYPES: dict[str, tuple[str, str]] = {
    ".doc": ("application/msword", "a Word document"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "a Word document"),
    ".xls": ("application/vnd.ms-excel", "an Excel workbook"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "an Excel workbook"),
    ".ppt": ("application/vnd.ms-powerpoint", "a PowerPoint presentation"),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "a PowerPoint file"),
    ".odt": ("application/vnd.oasis.opendocument.text", "an OpenDocument text"),
    ".ods": ("application/vnd.oasis.opendocument.spreadsheet", "an OpenDocument spreadsheet"),
    ".odp": ("application/vnd.oasis.opendocument.presentation", "an OpenDocument presentation"),
    ".rtf": ("application/rtf", "an RTF document"),
    ".csv": ("text/csv", "a CSV table"),
    ".pdf": ("application/pdf", "a PDF document"),
    ".png": ("image/png", "a PNG image"),
    ".jpg": ("image/jpeg", "a JPEG image"),
    ".jpeg": ("image/jpeg", "a JPEG image"),
    ".gif": ("image/gif", "a GIF image"),
    ".webp": ("image/webp", "a WebP image"),
    ".bmp": ("image/bmp", "a BMP image"),
    ".tif": ("image/tiff", "a TIFF image"),
    ".tiff": ("image/tiff", "a TIFF image"),
    ".heic": ("image/heic", "a HEIC image"),
    ".svg": ("image/svg+xml", "an SVG image"),
    ".txt": ("text/plain", "a text file"),
    ".md": ("text/markdown", "a text file"),
    ".log": ("text/plain", "a text file"),
    ".json": ("application/json", "a JSON file"),
    ".xml": ("application/xml", "an XML file"),
    ".html": ("text/html", "an HTML page"),
    ".htm": ("text/html", "an HTML page"),
    ".zip": ("application/zip", "a ZIP archive"),
    ".7z": ("application/x-7z-compressed", "a 7-Zip archive"),
    ".tar": ("application/x-tar", "a tar archive"),
    ".gz": ("application/gzip", "a gzip file"),
    ".tgz": ("application/gzip", "a gzip file"),
    ".bz2": ("application/x-bzip2", "a bzip2 file"),
    ".xz": ("application/x-xz", "an xz file"),
    ".rar": ("application/vnd.rar", "a RAR archive"),
    ".mp3": ("audio/mpeg", "an MP3 file"),
    ".wav": ("audio/wav", "a WAV file"),
    ".ogg": ("audio/ogg", "an Ogg file"),
    ".oga": ("audio/ogg", "an Ogg file"),
    ".opus": ("audio/ogg", "an Ogg file"),
    ".m4a": ("audio/mp4", "an MP4 audio file"),
    ".flac": ("audio/flac", "a FLAC file"),
    ".aac": ("audio/aac", "an AAC file"),
    ".mp4": ("video/mp4", "an MP4 video"),
    ".m4v": ("video/mp4", "an MP4 video"),
    ".mov": ("video/quicktime", "a QuickTime video"),
    ".webm": ("video/webm", "a WebM video"),
    ".mkv": ("video/x-matroska", "a Matroska video"),
    ".avi": ("video/x-msvideo", "an AVI video"),
    ".ogv": ("video/ogg", "an Ogg video"),
    ".exe": ("application/vnd.microsoft.portable-executable", "a program"),
    ".msi": ("application/x-msi", "an installer"),
    ".sh": ("text/x-shellscript", "a shell script"),
}
UNKNOWN_TYPE = "application/octet-stream"

# Extensions whose content is a program: such content is refused under any other extension.
PROGRAM_EXTENSIONS = frozenset({".exe", ".dll", ".msi", ".com", ".scr", ".sys", ".so", ".dylib", ".bin", ".sh"})
TEXT_EXTENSIONS = frozenset({".txt", ".md", ".log", ".csv", ".json", ".xml", ".svg", ".html", ".htm", ".sh"})


def _prefix(*magics: bytes) -> Callable[[bytes], bool]:
    return lambda head: any(head.startswith(m) for m in magics)


def _riff(form: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"RIFF" and head[8:12] == form


def _iso_media(head: bytes) -> bool:  # MP4, M4A, MOV, HEIC: a box whose type is at offset 4
    return head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def _mpeg_audio(head: bytes) -> bool:
    return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


_ZIP = _prefix(b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_OLE = _prefix(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_OGG = _prefix(b"OggS")
_MATROSKA = _prefix(b"\x1a\x45\xdf\xa3")

# What the first bytes of a file of each extension look like (extensions not listed are not checked).
SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    ".pdf": lambda head: b"%PDF-" in head[:1024],
    ".png": _prefix(b"\x89PNG\r\n\x1a\n"),
    ".jpg": _prefix(b"\xff\xd8\xff"),
    ".jpeg": _prefix(b"\xff\xd8\xff"),
    ".gif": _prefix(b"GIF87a", b"GIF89a"),
    ".webp": _riff(b"WEBP"),
    ".bmp": _prefix(b"BM"),
    ".tif": _prefix(b"II*\x00", b"MM\x00*"),
    ".tiff": _prefix(b"II*\x00", b"MM\x00*"),
    ".heic": _iso_media,
    ".doc": _OLE,
    ".xls": _OLE,
    ".ppt": _OLE,
    ".msi": _OLE,
    ".docx": _ZIP,
    ".xlsx": _ZIP,
    ".pptx": _ZIP,
    ".odt": _ZIP,
    ".ods": _ZIP,
    ".odp": _ZIP,
    ".zip": _ZIP,
    ".rtf": _prefix(b"{\\rtf"),
    ".7z": _prefix(b"7z\xbc\xaf\x27\x1c"),
    ".tar": lambda head: head[257:262] == b"ustar",
    ".gz": _prefix(b"\x1f\x8b"),
    ".tgz": _prefix(b"\x1f\x8b"),
    ".bz2": _prefix(b"BZh"),
    ".xz": _prefix(b"\xfd7zXZ\x00"),
    ".rar": _prefix(b"Rar!\x1a\x07"),
    ".mp3": _mpeg_audio,
    ".wav": _riff(b"WAVE"),
    ".avi": _riff(b"AVI "),
    ".ogg": _OGG,
    ".oga": _OGG,
    ".opus": _OGG,
    ".ogv": _OGG,
    ".flac": _prefix(b"fLaC"),
    ".aac": lambda head: head.startswith(b"ADIF") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0),
    ".m4a": _iso_media,
    ".mp4": _iso_media,
    ".m4v": _iso_media,
    ".mov": _iso_media,
    ".webm": _MATROSKA,
    ".mkv": _MATROSKA,
    ".exe": _prefix(b"MZ"),
}

_PROGRAM = _prefix(
    b"MZ",  # Windows PE
    b"\x7fELF",  # Linux, BSD
    b"\xfe\xed\xfa\xce",  # Mach-O (both byte orders, 32 and 64 bit, universal)
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",  # a script to be run
)


@dataclass(frozen=True)
class FileType:
    extension: str  # lower case with its dot, "" when the name has none
    content_type: str
    description: str


class TypeRefusal(Exception):
    """The file may not be sent; the message says why in words for the sender."""


def file_type_of(name: str) -> FileType:
    """The type a file is stored and served with, from its name's extension."""
    dot = name.rfind(".")
    extension = name[dot:].lower() if dot > 0 else ""
    content_type, description = KNOWN_TYPES.get(extension, (UNKNOWN_TYPE, "a file"))
    return FileType(extension, content_type, description)


def _allowed(kind: FileType, allowed: Sequence[str]) -> bool:
    major = kind.content_type.split("/", 1)[0]
    for entry in allowed:
        if entry.startswith("."):
            if entry == kind.extension:
                return True
        elif entry == kind.content_type or entry == f"{major}/*":
            return True
    return False


def check_file_type(name: str, head: bytes, allowed: Sequence[str]) -> FileType:
    """The file's type if ``name`` is of an allowed type and ``head`` (its first bytes) agrees; else
    :class:`TypeRefusal` with a message naming the file."""
    kind = file_type_of(name)
    if not _allowed(kind, allowed):
        what = f"{kind.extension} files" if kind.extension else "Files without an extension"
        raise TypeRefusal(f"{what} may not be sent here (“{name}”). Allowed: {_summary(allowed)}.")
    if _PROGRAM(head) and kind.extension not in PROGRAM_EXTENSIONS:
        raise TypeRefusal(f"“{name}” is a program, not {kind.description}; it was not sent.")
    signature = SIGNATURES.get(kind.extension)
    if signature is not None and not signature(head):
        raise TypeRefusal(f"“{name}” does not look like {kind.description}; it was not sent.")
    if kind.extension in TEXT_EXTENSIONS and b"\x00" in head:
        raise TypeRefusal(f"“{name}” is binary data, not {kind.description}; it was not sent.")
    return kind


def _summary(allowed: Sequence[str], most: int = 12) -> str:
    shown = ", ".join(allowed[:most])
    return shown + (f" and {len(allowed) - most} more" if len(allowed) > most else "")


_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')


def clean_file_name(raw: str) -> str:
    """The name to keep and show: no directories (a browser may send "C:\\fakepath\\x"), no control or
    path characters, at most :data:`MAX_NAME_CHARS` characters keeping the extension."""
    base = re.split(r"[/\\]", raw)[-1]
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip().strip(".")
    if not name:
        return "file"
    if len(name) > MAX_NAME_CHARS:
        dot = name.rfind(".")
        extension = name[dot:] if 0 < dot and len(name) - dot <= 16 else ""
        name = name[: MAX_NAME_CHARS - len(extension)] + extension
    return name


def describe_size(size: int) -> str:
    """A size in words: "512 bytes", "2.5 MB", "1 GB" (decimal units, as the limits are configured)."""
    if size < 1000:
        return f"{size} bytes" if size != 1 else "1 byte"
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    raise AssertionError("unreachable")
