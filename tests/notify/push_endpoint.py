"""A local stand-in for a browser's push service, and the browser's own keys: it receives Web Push requests,
checks the VAPID JWT's ES256 signature against the key the request names (and that it is the server's), decrypts
the aes128gcm body with the browser's private key and auth secret (http_ece), and answers as told."""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from http_ece import decrypt

from tests.support.net import free_tcp_port

__all__ = ["PushEndpoint", "Received"]


def _b64d(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _b64e(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).rstrip(b"=").decode()


@dataclass(frozen=True)
class Received:
    path: str
    payload: dict[str, Any]  # the decrypted JSON
    claims: dict[str, Any]  # the verified VAPID JWT's claims
    vapid_key: str  # the k= of the Authorization header
    ttl: int


@dataclass
class PushEndpoint:
    """Subscriptions are paths ``/push/<name>``; :meth:`subscription` gives the browser's PushSubscription JSON."""

    port: int = field(default_factory=free_tcp_port)
    received: list[Received] = field(default_factory=list)
    answers: dict[str, list[int]] = field(default_factory=dict)  # name -> status codes to answer, in turn
    refused: list[str] = field(default_factory=list)  # why requests were refused (a bad signature, …)
    _keys: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def subscription(self, name: str) -> dict[str, Any]:
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        self._keys[name] = (private, auth)
        point = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.origin}/push/{name}",
            "expirationTime": None,
            "keys": {"p256dh": _b64e(point), "auth": _b64e(auth)},
        }

    async def start(self) -> PushEndpoint:
        app = web.Application()
        app.router.add_post("/push/{name}", self._push)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _verified_claims(self, authorization: str) -> tuple[dict[str, Any], str]:
        scheme, _, params = authorization.partition(" ")
        if scheme != "vapid":
            raise ValueError(f"not a VAPID authorization: {authorization[:20]!r}")
        fields = dict(part.strip().split("=", 1) for part in params.split(","))
        token, key = fields["t"], fields["k"]
        header, payload, signature = token.split(".")
        if json.loads(_b64d(header)) != {"typ": "JWT", "alg": "ES256"}:
            raise ValueError("the JWT is not ES256")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64d(key))
        raw = _b64d(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public.verify(der, f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
        return json.loads(_b64d(payload)), key

    async def _push(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            claims, key = self._verified_claims(request.headers.get("Authorization", ""))
        except (ValueError, KeyError, InvalidSignature) as e:
            self.refused.append(f"{type(e).__name__}: {e}")
            return web.Response(status=403, text="bad VAPID")
        if claims.get("aud") != self.origin or not time.time() < claims.get("exp", 0) <= time.time() + 86400:
            self.refused.append(f"bad claims {claims}")
            return web.Response(status=403, text="bad claims")
        if request.headers.get("Content-Encoding") != "aes128gcm" or name not in self._keys:
            self.refused.append(f"not aes128gcm or unknown {name}")
            return web.Response(status=400)
        answers = self.answers.get(name)
        status = answers.pop(0) if answers else 201
        if status >= 300:
            return web.Response(status=status)
        private, auth = self._keys[name]
        body = decrypt(await request.read(), private_key=private, auth_secret=auth, version="aes128gcm")
        self.received.append(
            Received(f"/push/{name}", json.loads(body), claims, key, int(request.headers.get("TTL", "-1")))
        )
        return web.Response(status=201)
