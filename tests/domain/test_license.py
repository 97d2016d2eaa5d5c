"""The signed license file: a round trip, and each refusal with the message an operator reads."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from veche.domain.license import (
    InvalidKey,
    License,
    LicenseExpired,
    LicenseMalformed,
    LicenseRefused,
    LicenseTampered,
    LicenseUntrusted,
    format_public_key,
    generate_key,
    parse_public_key,
    public_key_of,
    sign_license,
    verify_license,
)
from veche.domain.license_pools import Pool

TODAY = date(2026, 12, 1)
PRIVATE, PUBLIC = generate_key()


def make_license(**kw: Any) -> License:
    fields: dict[str, Any] = dict(
        license_id="lic-1",
        organisation="Ромашка Ltd",
        expires=date(2027, 12, 31),
        issued_at=datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
        pools={Pool.ONLINE_USERS: 500, Pool.VIDEO: 200, Pool.GATEWAY: None, Pool.GUESTS: 0},
    )
    fields.update(kw)
    return License(**fields)


def edited(text: str, change: Any) -> str:
    """The file with ``change`` applied to its parsed JSON, written back the way a person's editor might."""
    document = json.loads(text)
    change(document)
    return json.dumps(document, indent=4)


def test_a_signed_license_verifies_to_the_same_license() -> None:
    license = make_license()
    text = sign_license(license, PRIVATE)
    assert verify_license(text, [PUBLIC], TODAY) == license
    assert verify_license(text, [PUBLIC], TODAY).total(Pool.VIDEO) == 200


def test_the_file_is_readable_json_with_null_for_unlimited_pools() -> None:
    text = sign_license(make_license(), PRIVATE)
    document = json.loads(text)
    assert document["format"] == "veche-license/1"
    assert document["license"]["organisation"] == "Ромашка Ltd"  # not \u escapes
    assert "Ромашка" in text
    assert document["license"]["expires"] == "2027-12-31"
    assert document["license"]["issued_at"] == "2026-11-30T09:15:00Z"
    assert document["license"]["pools"] == {"online_users": 500, "video": 200, "gateway": None, "guests": 0}
    assert "ed25519:" + document["key"] == PUBLIC
    license = verify_license(text, [PUBLIC], TODAY)
    assert license.total(Pool.GATEWAY) is None
    assert license.total(Pool.GUESTS) == 0


def test_layout_may_change_but_not_values() -> None:
    text = sign_license(make_license(), PRIVATE)
    relaid = json.dumps(dict(reversed(json.loads(text).items())), separators=(",", ":"))
    assert verify_license(relaid, [PUBLIC], TODAY) == make_license()


def test_a_changed_pool_number_is_tampering() -> None:
    text = sign_license(make_license(), PRIVATE)
    assert '"video": 200' in text
    with pytest.raises(LicenseTampered) as refused:
        verify_license(text.replace('"video": 200', '"video": 2000'), [PUBLIC], TODAY)
    assert refused.value.message == "The license file was changed after it was signed: its signature does not match."


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["license"].update(organisation="Someone Else"),
        lambda d: d["license"].update(expires="2099-12-31"),
        lambda d: d["license"]["pools"].update(gateway=10),
        lambda d: d["license"]["pools"].update(video=None),
        lambda d: d.update(signature=sign_license(make_license(license_id="other"), PRIVATE).split('"')[-2]),
    ],
)
def test_any_changed_value_is_tampering(change: Any) -> None:
    with pytest.raises(LicenseTampered):
        verify_license(edited(sign_license(make_license(), PRIVATE), change), [PUBLIC], TODAY)


def test_a_key_nobody_trusts_is_refused_and_named() -> None:
    stranger_private, stranger_public = generate_key()
    text = sign_license(make_license(), stranger_private)
    with pytest.raises(LicenseUntrusted) as refused:
        verify_license(text, [PUBLIC], TODAY)
    assert refused.value.message == (
        f"The license is signed by a key this installation does not trust ({stranger_public}). "
        "Add it with --trust or license.trusted_keys."
    )
    with pytest.raises(LicenseUntrusted):
        verify_license(text, [], TODAY)
    assert verify_license(text, [PUBLIC, stranger_public], TODAY).organisation == "Ромашка Ltd"


def test_swapping_in_a_trusted_key_does_not_make_a_stranger_s_signature_valid() -> None:
    stranger_private, _ = generate_key()
    text = sign_license(make_license(), stranger_private)
    forged = edited(text, lambda d: d.update(key=PUBLIC.removeprefix("ed25519:")))
    with pytest.raises(LicenseTampered):
        verify_license(forged, [PUBLIC], TODAY)


def test_expired_means_after_the_last_day() -> None:
    license = make_license(expires=date(2026, 1, 1))
    assert not license.expired(date(2026, 1, 1))
    assert license.expired(date(2026, 1, 2))
    text = sign_license(license, PRIVATE)
    assert verify_license(text, [PUBLIC], date(2026, 1, 1)) == license
    with pytest.raises(LicenseExpired) as refused:
        verify_license(text, [PUBLIC], date(2026, 1, 2))
    assert refused.value.message == "The license of Ромашка Ltd expired on 2026-01-01."


def test_expiry_can_be_left_to_the_caller() -> None:
    text = sign_license(make_license(expires=date(2026, 1, 1)), PRIVATE)
    license = verify_license(text, [PUBLIC], TODAY, check_expiry=False)
    assert license.expired(TODAY)


def test_every_refusal_is_a_license_refused() -> None:
    for error in (LicenseMalformed, LicenseUntrusted, LicenseTampered, LicenseExpired):
        assert issubclass(error, LicenseRefused)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("", "it is not JSON"),
        ("hello", "it is not JSON"),
        ("[1, 2]", "it is not a JSON object."),
        ('{"format": "veche-license/1"}', "it has no 'license', 'key', 'signature'."),
        ('{"format": "other/2", "license": {}, "key": "", "signature": ""}', "\"format\" is 'other/2'"),
        ('{"format": "veche-license/1", "format": "veche-license/1"}', "the key 'format' appears twice."),
    ],
)
def test_what_is_not_a_license_file_says_why(text: str, detail: str) -> None:
    with pytest.raises(LicenseMalformed) as refused:
        verify_license(text, [PUBLIC], TODAY)
    assert refused.value.message.startswith("The license file is not a Veche license: ")
    assert detail in refused.value.message


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda d: d.update(key="not base64!"), '"key" is not a base64 Ed25519 public key'),
        (lambda d: d.update(key="AAAA"), '"key" is not a base64 Ed25519 public key'),
        (lambda d: d.update(signature="AAAA"), '"signature" is not a base64 Ed25519 signature'),
        (lambda d: d.update(extra=1), "unknown field(s) 'extra'."),
        (lambda d: d.update(license=[]), '"license" is not a JSON object.'),
    ],
)
def test_a_broken_envelope_is_malformed(change: Any, detail: str) -> None:
    with pytest.raises(LicenseMalformed) as refused:
        verify_license(edited(sign_license(make_license(), PRIVATE), change), [PUBLIC], TODAY)
    assert detail in refused.value.message


def signed_payload(change: Any) -> str:
    """A file whose payload was changed, then signed again as the format says: issued wrong, not edited."""
    document = json.loads(sign_license(make_license(), PRIVATE))
    change(document["license"])
    canonical = json.dumps(document["license"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = serialization.load_pem_private_key(PRIVATE, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    document["signature"] = base64.b64encode(key.sign(canonical.encode("utf-8"))).decode("ascii")
    return json.dumps(document)


def test_the_signature_is_over_the_canonical_json_of_the_license_object() -> None:
    assert verify_license(signed_payload(lambda p: None), [PUBLIC], TODAY) == make_license()


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda p: p["pools"].update(rooms=5), "unknown pool(s) 'rooms'"),
        (lambda p: p["pools"].pop("guests"), "pool(s) 'guests' missing (null means unlimited)."),
        (lambda p: p["pools"].update(video=-1), 'pool "video" must be a non-negative integer or null, got -1.'),
        (lambda p: p["pools"].update(video=1.5), 'pool "video" must be a non-negative integer or null, got 1.5.'),
        (lambda p: p["pools"].update(video="10"), "pool \"video\" must be a non-negative integer or null, got '10'."),
        (lambda p: p["pools"].update(video=True), 'pool "video" must be a non-negative integer or null, got True.'),
        (lambda p: p.update(pools=[]), '"pools" is not a JSON object.'),
        (lambda p: p.update(expires="31.12.2027"), "\"expires\" is not a date (YYYY-MM-DD): '31.12.2027'."),
        (lambda p: p.update(issued_at="2026-11-30T09:15:00"), '"issued_at" has no time zone'),
        (lambda p: p.update(organisation=""), '"organisation" must be a non-empty string.'),
        (lambda p: p.pop("license_id"), "the license has no 'license_id'."),
        (lambda p: p.update(seats=3), "unknown license field(s) 'seats'."),
    ],
)
def test_a_well_signed_but_wrong_payload_is_malformed(change: Any, detail: str) -> None:
    with pytest.raises(LicenseMalformed) as refused:
        verify_license(signed_payload(change), [PUBLIC], TODAY)
    assert detail in refused.value.message


def test_public_key_texts() -> None:
    raw = parse_public_key(PUBLIC)
    assert len(raw) == 32
    assert format_public_key(raw) == PUBLIC
    assert parse_public_key(f"  {PUBLIC}\n") == raw
    assert public_key_of(PRIVATE) == PUBLIC
    for bad in ("", "ssh-ed25519 AAAA", "ed25519:", "ed25519:AAAA", "ed25519:!!!"):
        with pytest.raises(InvalidKey) as error:
            parse_public_key(bad)
        assert "Not a Veche public key" in error.value.message
    with pytest.raises(InvalidKey):
        verify_license(sign_license(make_license(), PRIVATE), ["ed25519:AAAA"], TODAY)


def test_a_private_key_that_is_not_one_is_refused() -> None:
    with pytest.raises(InvalidKey) as error:
        public_key_of(b"not a key")
    assert "Not a private key in PEM" in error.value.message
    with pytest.raises(InvalidKey):
        sign_license(make_license(), b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_a_license_holds_every_pool_and_sane_values() -> None:
    with pytest.raises(ValueError, match="every pool"):
        make_license(pools={Pool.VIDEO: 1})
    with pytest.raises(ValueError, match="non-negative"):
        make_license(pools={pool: -1 for pool in Pool})
    with pytest.raises(ValueError, match="time zone"):
        make_license(issued_at=datetime(2026, 11, 30))
    with pytest.raises(ValueError, match="organisation"):
        make_license(organisation=" ")
