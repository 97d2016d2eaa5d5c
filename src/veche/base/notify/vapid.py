"""The VAPID key pair (RFC 8292) that signs Web Push requests: read from a PEM file, generated (mode 0600) on first
start. Web servers hand browsers the public key; base servers sign with the private key, so in a cluster both
read the same file (``push.vapid_private_key_file``)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid, b64urlencode

__all__ = ["VapidKeys", "load_or_create_vapid"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VapidKeys:
    vapid: Vapid
    public_key: str  # base64url of the uncompressed P-256 point: the browser's applicationServerKey


def _of(private: ec.EllipticCurvePrivateKey) -> VapidKeys:
    point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return VapidKeys(Vapid(private_key=private), b64urlencode(point))


def load_or_create_vapid(path: Path) -> VapidKeys:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError(f"{path} is not a P-256 private key (VAPID needs one)")
        return _of(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(pem)
    logger.info("generated the Web Push (VAPID) key %s", path)
    return _of(private)
