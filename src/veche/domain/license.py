"""The signed license file: what it says, how it is signed (Ed25519) and why a file is refused.

A license file is JSON, readable by people::

    {
      "format": "veche-license/1",
      "license": {"license_id": "...", "organisation": "...", "expires": "2027-12-31",
                  "issued_at": "2026-12-01T10:00:00Z",
                  "pools": {"online_users": 500, "video": 200, "gateway": null, "guests": null}},
      "key": "<base64 of the raw 32-byte Ed25519 public key>",
      "signature": "<base64 Ed25519 signature of the canonical JSON of the license object>"
    }

The canonical JSON is the ``license`` object with sorted keys, compact separators, UTF-8; so whitespace and key
order may change without breaking the signature, but no value may. ``null`` in ``pools`` means unlimited.
Public keys are written ``ed25519:<base64>`` (one line: what a ``.pub`` file holds and ``license.trusted_keys``
lists). This module does no I/O: the installed file lives in ``veche.manager.license_file``, the commands in
``veche.cli_license``, the pools in ``veche.domain.license_pools``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from veche.domain.errors import DomainError
from veche.domain.license_pools import Pool

__all__ = [
    "FORMAT",
    "KEY_PREFIX",
    "InvalidKey",
    "License",
    "LicenseError",
    "LicenseExpired",
    "LicenseMalformed",
    "LicenseRefused",
    "LicenseTampered",
    "LicenseUntrusted",
    "format_public_key",
    "generate_key",
    "parse_public_key",
    "public_key_of",
    "sign_license",
    "verify_license",
]

FORMAT = "veche-license/1"
KEY_PREFIX = "ed25519:"
_KEY_BYTES = 32
_SIGNATURE_BYTES = 64
_LICENSE_FIELDS = ("license_id", "organisation", "expires", "issued_at", "pools")


class LicenseError(DomainError):
    """Base of this module's errors: a license or a key that cannot be used, with a message for the operator."""

    code = "license_error"


class InvalidKey(LicenseError):
    """A public or private key that is not an Ed25519 key in the expected form."""

    code = "invalid_key"


class LicenseRefused(LicenseError):
    """The license file is not accepted; an installed license stays as it was."""

    code = "license_refused"


class LicenseMalformed(LicenseRefused):
    code = "license_malformed"

    def __init__(self, detail: str) -> None:
        super().__init__(f"The license file is not a Veche license: {detail}")
        self.detail = detail


class LicenseUntrusted(LicenseRefused):
    code = "license_untrusted"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"The license is signed by a key this installation does not trust ({key}). "
            "Add it with --trust or license.trusted_keys."
        )
        self.key = key


class LicenseTampered(LicenseRefused):
    code = "license_tampered"

    def __init__(self) -> None:
        super().__init__("The license file was changed after it was signed: its signature does not match.")


class LicenseExpired(LicenseRefused):
    code = "license_expired"

    def __init__(self, organisation: str, expires: date) -> None:
        super().__init__(f"The license of {organisation} expired on {expires.isoformat()}.")
        self.organisation = organisation
        self.expires = expires


@dataclass(frozen=True)
class License:
    """What a license grants: pool sizes (``None``: unlimited; every pool present) until ``expires`` inclusive."""

    license_id: str
    organisation: str
    expires: date
    issued_at: datetime
    pools: dict[Pool, int | None]

    def __post_init__(self) -> None:
        if not self.license_id.strip():
            raise ValueError("license_id must not be empty")
        if not self.organisation.strip():
            raise ValueError("organisation must not be empty")
        if self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must carry a time zone (UTC)")
        if set(self.pools) != set(Pool):
            raise ValueError(f"pools must name every pool exactly: {', '.join(Pool)}")
        for pool, size in self.pools.items():
            if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
                raise ValueError(f"pool {pool} must be a non-negative integer or None, got {size!r}")

    def total(self, pool: Pool) -> int | None:
        """The pool's size; ``None`` when it is unlimited."""
        return self.pools[pool]

    def expired(self, today: date) -> bool:
        """True from the day after ``expires``: the last day is still licensed."""
        return today > self.expires

    def to_json(self) -> dict[str, Any]:
        """The ``license`` object of the file (what is signed)."""
        issued = self.issued_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return {
            "license_id": self.license_id,
            "organisation": self.organisation,
            "expires": self.expires.isoformat(),
            "issued_at": issued,
            "pools": {pool.value: self.pools[pool] for pool in Pool},
        }


def generate_key() -> tuple[bytes, str]:
    """A new signing key: the private key as unencrypted PKCS#8 PEM, and its public key text."""
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem, _public_text(private.public_key())


def public_key_of(private_pem: bytes) -> str:
    """The public key text (``ed25519:...``) of a private key in PEM."""
    return _public_text(_load_private(private_pem).public_key())


def format_public_key(raw: bytes) -> str:
    """``ed25519:<base64>`` for a raw 32-byte public key."""
    if len(raw) != _KEY_BYTES:
        raise InvalidKey(f"An Ed25519 public key is {_KEY_BYTES} bytes, not {len(raw)}.")
    return KEY_PREFIX + base64.b64encode(raw).decode("ascii")


def parse_public_key(text: str) -> bytes:
    """The raw 32 bytes of a public key text ``ed25519:<base64>``; :class:`InvalidKey` if it is not one."""
    value = text.strip()
    shown = value if len(value) <= 80 else value[:77] + "..."
    if not value.startswith(KEY_PREFIX):
        raise InvalidKey(f"Not a Veche public key (it should start with {KEY_PREFIX!r}): {shown!r}")
    raw = _b64(value[len(KEY_PREFIX) :])
    if raw is None or len(raw) != _KEY_BYTES:
        raise InvalidKey(f"Not a Veche public key ({KEY_PREFIX} and {_KEY_BYTES} bytes in base64): {shown!r}")
    return raw


def sign_license(license: License, private_pem: bytes) -> str:
    """The license file's text, signed with ``private_pem``."""
    private = _load_private(private_pem)
    payload = license.to_json()
    signature = private.sign(_canonical(payload))
    document = {
        "format": FORMAT,
        "license": payload,
        "key": base64.b64encode(_raw_public(private.public_key())).decode("ascii"),
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def verify_license(text: str, trusted: Iterable[str], today: date, *, check_expiry: bool = True) -> License:
    """The license in ``text`` if it is well formed, signed by a ``trusted`` key, unchanged and (if
    ``check_expiry``) not expired on ``today``; otherwise the matching :class:`LicenseRefused`.

    ``trusted`` holds public key texts; a malformed one raises :class:`InvalidKey`.
    """
    trusted_raw = {parse_public_key(key) for key in trusted}
    document = _parse_document(text)
    payload = document["license"]
    raw_key = _b64(document["key"])
    if raw_key is None or len(raw_key) != _KEY_BYTES:
        raise LicenseMalformed(f'"key" is not a base64 Ed25519 public key ({_KEY_BYTES} bytes).')
    signature = _b64(document["signature"])
    if signature is None or len(signature) != _SIGNATURE_BYTES:
        raise LicenseMalformed(f'"signature" is not a base64 Ed25519 signature ({_SIGNATURE_BYTES} bytes).')
    if raw_key not in trusted_raw:
        raise LicenseUntrusted(format_public_key(raw_key))
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(signature, _canonical(payload))
    except InvalidSignature:
        raise LicenseTampered() from None
    # Fields are checked after the signature: a signed file with a bad field was issued wrong, not edited.
    license = _license_from(payload)
    if check_expiry and license.expired(today):
        raise LicenseExpired(license.organisation, license.expires)
    return license


def _canonical(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _public_text(key: Ed25519PublicKey) -> str:
    return format_public_key(_raw_public(key))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _load_private(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as e:
        raise InvalidKey(f"Not a private key in PEM without a passphrase: {e}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidKey(f"The private key is not an Ed25519 key but {type(key).__name__}.")
    return key


def _b64(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of repeated keys; a file that says two things is refused rather than read one way.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise LicenseMalformed(f"the key {key!r} appears twice.")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise LicenseMalformed(f"{name} is not a number a license may hold.")


def _parse_document(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except json.JSONDecodeError as e:
        raise LicenseMalformed(f"it is not JSON ({e.msg} at line {e.lineno}, column {e.colno}).") from None
    except RecursionError:
        raise LicenseMalformed("it is nested too deeply.") from None
    if not isinstance(document, dict):
        raise LicenseMalformed("it is not a JSON object.")
    missing = [name for name in ("format", "license", "key", "signature") if name not in document]
    if missing:
        raise LicenseMalformed(f"it has no {', '.join(repr(name) for name in missing)}.")
    if document["format"] != FORMAT:
        raise LicenseMalformed(f'"format" is {document["format"]!r}, expected {FORMAT!r}.')
    unknown = sorted(set(document) - {"format", "license", "key", "signature"})
    if unknown:
        raise LicenseMalformed(f"unknown field(s) {', '.join(repr(name) for name in unknown)}.")
    if not isinstance(document["license"], dict):
        raise LicenseMalformed('"license" is not a JSON object.')
    return document


def _license_from(payload: dict[str, Any]) -> License:
    missing = [name for name in _LICENSE_FIELDS if name not in payload]
    if missing:
        raise LicenseMalformed(f"the license has no {', '.join(repr(name) for name in missing)}.")
    unknown = sorted(set(payload) - set(_LICENSE_FIELDS))
    if unknown:
        raise LicenseMalformed(f"unknown license field(s) {', '.join(repr(name) for name in unknown)}.")
    for name in ("license_id", "organisation", "expires", "issued_at"):
        if not isinstance(payload[name], str) or not payload[name].strip():
            raise LicenseMalformed(f'"{name}" must be a non-empty string.')
    try:
        expires = date.fromisoformat(payload["expires"])
    except ValueError:
        raise LicenseMalformed(f'"expires" is not a date (YYYY-MM-DD): {payload["expires"]!r}.') from None
    try:
        issued_at = datetime.fromisoformat(payload["issued_at"])
    except ValueError:
        raise LicenseMalformed(f'"issued_at" is not a date and time: {payload["issued_at"]!r}.') from None
    if issued_at.utcoffset() is None:
        raise LicenseMalformed(f'"issued_at" has no time zone: {payload["issued_at"]!r}.')
    return License(
        license_id=payload["license_id"],
        organisation=payload["organisation"],
        expires=expires,
        issued_at=issued_at.astimezone(UTC),
        pools=_pools_from(payload["pools"]),
    )


def _pools_from(value: object) -> dict[Pool, int | None]:
    if not isinstance(value, dict):
        raise LicenseMalformed('"pools" is not a JSON object.')
    known = {pool.value for pool in Pool}
    unknown = sorted(set(value) - known)
    if unknown:
        raise LicenseMalformed(
            f"unknown pool(s) {', '.join(repr(name) for name in unknown)} (known: {', '.join(sorted(known))})."
        )
    # Every pool is written explicitly (null for unlimited), so a pool missing from a file is not read as unlimited.
    missing = [pool.value for pool in Pool if pool.value not in value]
    if missing:
        raise LicenseMalformed(f"pool(s) {', '.join(repr(name) for name in missing)} missing (null means unlimited).")
    pools: dict[Pool, int | None] = {}
    for pool in Pool:
        size = value[pool.value]
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise LicenseMalformed(f'pool "{pool.value}" must be a non-negative integer or null, got {size!r}.')
        pools[pool] = size
    return pools
