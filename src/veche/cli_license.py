"""`veche license keygen | issue | install`: the signing key, a signed license file, installing it.

The vendor side (keygen, issue) needs only the key file; install verifies against the keys this installation
trusts (``license.trusted_keys`` and ``--trust``) and leaves the installed license untouched when it refuses.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from veche.config.license import resolve_public_key
from veche.config.settings import VecheSettings
from veche.domain.license import License, LicenseError, generate_key, public_key_of, sign_license
from veche.domain.license_pools import POOL_NOUNS, Pool
from veche.manager.license_file import InstalledLicense, utc_today

__all__ = ["add_license_commands", "format_pools"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_pools(license: License) -> list[str]:
    """One line a pool: ``video connections: 200`` or ``guest connections: unlimited``."""
    lines = []
    for pool in Pool:
        total = license.total(pool)
        lines.append(f"{POOL_NOUNS[pool]}: {'unlimited' if total is None else f'{total:,}'}")
    return lines


def _refuse(command: str, message: str) -> int:
    print(f"veche license {command}: {message}", file=sys.stderr)
    return 2


def _expiry_date(value: str) -> date:
    try:
        if not _DATE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date written YYYY-MM-DD (e.g. 2027-12-31)") from None


def _pool_size(value: str) -> int:
    try:
        size = int(value)
    except ValueError:
        size = -1
    if size < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 0 or more (leave it out: unlimited)")
    return size


def cmd_keygen(args: argparse.Namespace) -> int:
    key_path = Path(args.out)
    pub_path = key_path.with_name(key_path.name + ".pub")
    for path in (key_path, pub_path):
        if path.exists():
            return _refuse("keygen", f"{path} already exists; it is not overwritten (choose another --out).")
    private_pem, public_text = generate_key()
    try:
        # Created with mode 0600 from the start, and never over an existing file (a key would be lost).
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _refuse("keygen", f"{key_path} already exists; it is not overwritten (choose another --out).")
    except OSError as e:
        return _refuse("keygen", f"cannot create {key_path}: {e.strerror}")
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(private_pem)
        pub_path.write_text(public_text + "\n", encoding="utf-8")
    except OSError as e:
        key_path.unlink(missing_ok=True)
        return _refuse("keygen", f"cannot write the key: {e}")
    print(f"Private key: {key_path} (mode 0600; keep it secret, it signs licenses)")
    print(f"Public key:  {pub_path}: {public_text}")
    print(f"  Installations trust it with `veche license install FILE --trust {pub_path}` or license.trusted_keys.")
    return 0


def cmd_issue(args: argparse.Namespace) -> int:
    organisation = args.org.strip()
    if not organisation:
        return _refuse("issue", "--org must name the organisation.")
    try:
        private_pem = Path(args.key).read_bytes()
    except OSError as e:
        return _refuse("issue", f"cannot read the key {args.key}: {e.strerror}")
    license = License(
        license_id=str(uuid.uuid4()),
        organisation=organisation,
        expires=args.expires,
        issued_at=datetime.now(UTC).replace(microsecond=0),
        pools={pool: getattr(args, pool.value) for pool in Pool},
    )
    try:
        text = sign_license(license, private_pem)
        public_text = public_key_of(private_pem)
    except LicenseError as e:
        return _refuse("issue", f"{args.key}: {e.message}")
    out = Path(args.out)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as e:
        return _refuse("issue", f"cannot write {out}: {e.strerror}")
    print(f"Issued license {license.license_id} to {organisation}, valid until {license.expires.isoformat()}:")
    for line in format_pools(license):
        print(f"  {line}")
    print(f"Written to {out}, signed by {public_text}.")
    if license.expired(utc_today()):
        print(f"Warning: it expired on {license.expires.isoformat()}; installations will refuse it.", file=sys.stderr)
    return 0


def cmd_install(args: argparse.Namespace, settings: VecheSettings) -> int:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return _refuse("install", f"cannot read the license file {path}: {e}")
    try:
        extra = [resolve_public_key(entry, where="--trust") for entry in args.trust]
        installed = InstalledLicense(settings.data_dir, settings.license.trusted_key_texts())
        license = installed.install(text, extra)
    except LicenseError as e:
        print(f"veche license install: {e.message}", file=sys.stderr)
        print("Nothing was installed; the license in use (if any) is unchanged.", file=sys.stderr)
        return 2
    print(f"Installed the license of {license.organisation}, valid until {license.expires.isoformat()}:")
    for line in format_pools(license):
        print(f"  {line}")
    print(f"  in {installed.license_path}")
    for key in extra:
        print(f"  trusting {key} (in {installed.trusted_path})")
    print("Running managers pick it up within a few seconds.")
    return 0


def add_license_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    settings_for: Callable[[argparse.Namespace], VecheSettings],
) -> None:
    """Register ``veche license``; ``settings_for`` loads the settings ``install`` needs (data dir, trusted keys)."""
    license = sub.add_parser("license", help="the license file: signing keys, issuing, installing")
    commands = license.add_subparsers(dest="license_command", required=True)

    keygen = commands.add_parser("keygen", help="create an Ed25519 signing key (KEYFILE, 0600) and KEYFILE.pub")
    keygen.add_argument("--out", required=True, metavar="KEYFILE", help="the private key file to create")
    keygen.set_defaults(func=cmd_keygen)

    issue = commands.add_parser("issue", help="write a license file signed with KEYFILE")
    issue.add_argument("--key", required=True, metavar="KEYFILE", help="the private key (from keygen)")
    issue.add_argument("--org", required=True, metavar="NAME", help="the licensed organisation")
    issue.add_argument("--expires", required=True, type=_expiry_date, metavar="YYYY-MM-DD", help="last valid day")
    for pool in Pool:  # --online-users, --video, --gateway, --guests
        issue.add_argument(
            f"--{pool.value.replace('_', '-')}",
            dest=pool.value,
            type=_pool_size,
            metavar="N",
            help=f"{POOL_NOUNS[pool]} (default: unlimited)",
        )
    issue.add_argument("--out", required=True, metavar="FILE", help="the license file to write")
    issue.set_defaults(func=cmd_issue)

    install = commands.add_parser("install", help="verify a license file and install it")
    install.add_argument("file", metavar="FILE")
    install.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="PUBKEYFILE",
        help="also trust this public key (a .pub file or ed25519:...); remembered in the data directory",
    )
    install.add_argument("--data-dir", help="the data directory (default: from the configuration)")
    install.add_argument("--config", help="TOML configuration file")
    install.set_defaults(func=lambda args: cmd_install(args, settings_for(args)))
