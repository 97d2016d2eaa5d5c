"""Reads a ``multipart/form-data`` upload as it arrives: one file part, streamed into an :class:`IncomingFile`
(which refuses it once past the size limit, before the rest is read), and an optional short ``text`` field.

Starlette's own form parsing spools whole files before the handler sees them; this does not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from veche.base.files.incoming import IncomingFile
from veche.domain.errors import InvalidInput

__all__ = ["ReceivedUpload", "receive_upload"]

TEXT_MAX_CHARS = 4000  # a chat message's limit (app/signal_messages.py)
FILE_FIELD = "file"
TEXT_FIELD = "text"


@dataclass
class ReceivedUpload:
    file: IncomingFile
    text: str


@dataclass
class _Part:
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    field_name: str = ""
    file: IncomingFile | None = None
    data: bytearray = field(default_factory=bytearray)


def _decode(value: bytes) -> str:
    return value.decode("utf-8", "replace")


class _UploadParser:
    def __init__(self, make_file: Callable[[str, str], IncomingFile]) -> None:
        self._make_file = make_file
        self._part = _Part()
        self._header_name = b""
        self._header_value = b""
        self._pending: list[bytes] = []  # file bytes the callbacks saw, written (awaited) after each chunk
        self.file: IncomingFile | None = None
        self.text = ""

    def on_part_begin(self) -> None:
        self._part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._part.headers.append((self._header_name.lower(), self._header_value))
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        headers = dict(self._part.headers)
        _, options = parse_options_header(headers.get(b"content-disposition", b""))
        name = _decode(options.get(b"name", b""))
        self._part.field_name = name
        if name == FILE_FIELD:
            if self.file is not None:
                raise InvalidInput("Send one file per request.")
            if b"filename" not in options:
                raise InvalidInput('The "file" part needs a file name (Content-Disposition filename).')
            declared, _ = parse_options_header(headers.get(b"content-type", b""))
            self.file = self._part.file = self._make_file(_decode(options[b"filename"]), _decode(declared))
        elif name != TEXT_FIELD:
            raise InvalidInput(f'Unexpected form field "{name[:40]}": send "file" and optionally "text".')

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part.file is not None:
            self._pending.append(data[start:end])
            return
        self._part.data += data[start:end]
        if len(self._part.data) > 4 * TEXT_MAX_CHARS:
            raise InvalidInput(f"The text is longer than {TEXT_MAX_CHARS} characters.")

    def on_part_end(self) -> None:
        if self._part.field_name == TEXT_FIELD:
            self.text = _decode(bytes(self._part.data)).strip()
            if len(self.text) > TEXT_MAX_CHARS:
                raise InvalidInput(f"The text is longer than {TEXT_MAX_CHARS} characters.")

    async def write_pending(self) -> None:
        chunks, self._pending = self._pending, []
        if self.file is not None:
            for chunk in chunks:
                await self.file.write(chunk)


async def receive_upload(request: Request, make_file: Callable[[str, str], IncomingFile]) -> ReceivedUpload:
    """The request's file, completely written (``make_file(name, declared type)`` makes where it goes), and its
    text. On any error the partial file is removed; otherwise the caller discards it (``async with``)."""
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidInput('Send the file as multipart/form-data with a "file" part.')
    upload = _UploadParser(make_file)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": upload.on_part_begin,
            "on_header_field": upload.on_header_field,
            "on_header_value": upload.on_header_value,
            "on_header_end": upload.on_header_end,
            "on_headers_finished": upload.on_headers_finished,
            "on_part_data": upload.on_part_data,
            "on_part_end": upload.on_part_end,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
            await upload.write_pending()
        parser.finalize()
        if upload.file is None:
            raise InvalidInput('The upload has no "file" part.')
        await upload.file.finish()
    except FormParserError:
        if upload.file is not None:
            upload.file.discard()
        raise InvalidInput("The upload is not valid multipart/form-data.") from None
    except BaseException:
        if upload.file is not None:
            upload.file.discard()
        raise
    return ReceivedUpload(upload.file, upload.text)
