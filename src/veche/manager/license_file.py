"""The installed license: ``<data_dir>/license/license.json`` and the keys added with ``--trust``.

``trusted.keys`` holds one public key text a line (``#`` starts a comment). A file is installed only after it
verifies, and both files are replaced atomically, so a refused license leaves the installed one as it was and a
reader never sees half a file. The rules of verification are in ``veche.domain.license``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path

from veche.domain.license import (
    InvalidKey,
    License,
    format_public_key,
    parse_public_key,
    verify_license,
)

__all__ = ["InstalledLicense", "utc_today"]

LICENSE_FILE = "license.json"
TRUSTED_FILE = "trusted.keys"


def utc_today() -> date:
    return datetime.now(UTC).date()


class InstalledLicense:
    """The license installed in ``data_dir``, verified against ``trusted`` (configured) and ``trusted.keys``."""

    def __init__(self, data_dir: Path, trusted: Iterable[str], *, today: Callable[[], date] = utc_today) -> None:
        self.directory = data_dir / "license"
        self.license_path = self.directory / LICENSE_FILE
        self.trusted_path = self.directory / TRUSTED_FILE
        self._configured = _canonical_keys(trusted)
        self._today = today

    def load_trusted(self) -> list[str]:
        """Every key this installation trusts: the configured ones, then those in ``trusted.keys``."""
        return _merge(self._configured, self._file_keys())

    def install(self, text: str, extra_trust: Iterable[str] = ()) -> License:
        """Verify ``text`` (trusting ``extra_trust`` as well) and install it with the extra keys.

        Raises a :class:`~veche.domain.license.LicenseRefused` (or :class:`InvalidKey` for a bad extra key)
        before anything is written.
        """
        extra = _canonical_keys(extra_trust)
        trusted = self.load_trusted()
        license = verify_license(text, _merge(trusted, extra), self._today())
        added = [key for key in extra if key not in trusted]
        self.directory.mkdir(parents=True, exist_ok=True)
        if added:
            lines = [*self._file_keys(), *added]
            _write_atomically(self.trusted_path, "".join(f"{key}\n" for key in lines))
        _write_atomically(self.license_path, text)
        return license

    def current(self) -> License | None:
        """The installed license, expired or not (see ``License.expired``); ``None`` when none is installed.

        Raises the :class:`~veche.domain.license.LicenseRefused` if the installed file no longer verifies.
        """
        try:
            text = self.license_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return verify_license(text, self.load_trusted(), self._today(), check_expiry=False)

    def _file_keys(self) -> list[str]:
        try:
            lines = self.trusted_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        keys: list[str] = []
        for number, line in enumerate(lines, start=1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            try:
                keys.append(format_public_key(parse_public_key(line)))
            except InvalidKey as e:
                raise InvalidKey(f"{self.trusted_path}, line {number}: {e.message}") from None
        return keys


def _canonical_keys(keys: Iterable[str]) -> list[str]:
    return _merge([format_public_key(parse_public_key(key)) for key in keys])


def _merge(*lists: list[str]) -> list[str]:
    return list(dict.fromkeys(key for keys in lists for key in keys))


def _write_atomically(path: Path, text: str) -> None:
    # A temporary file in the same directory, then rename: readers see the old file or the new one.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fchmod(out.fileno(), 0o644)  # public: the license and public keys are not secrets
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
