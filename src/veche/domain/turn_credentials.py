"""TURN credentials for one participant, valid for a while: nobody gets a password that works for everyone.

A TURN server entry (in the shared settings' ``turn_servers`` or ``signaling.ice_servers``) that carries a
``secret`` — the ``static-auth-secret`` of coturn's ``use-auth-secret`` mode (the "TURN REST API" that Jitsi and
BigBlueButton use) — is given to each client as ``username = "<expiry unix time>:<opaque id>"`` and
``credential = base64(HMAC-SHA1(secret, username))``; the secret itself never leaves the server. Entries with a fixed
``username``/``credential`` are passed as they are (every client then shares them: docs/configuration.md says why
not to). Pure: time is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

__all__ = ["TURN_CREDENTIAL_TTL_S", "client_ice_servers"]

TURN_CREDENTIAL_TTL_S = 12 * 3600  # a long call keeps working; a leaked credential is worthless by tomorrow


def client_ice_servers(
    servers: list[dict[str, Any]], identity: str, now_s: float, ttl_s: int = TURN_CREDENTIAL_TTL_S
) -> list[dict[str, Any]]:
    """The RTCIceServer objects for ``identity``'s client: time-limited credentials wherever a secret is set."""
    expiry = int(now_s) + ttl_s
    opaque = hashlib.sha256(identity.encode()).hexdigest()[:16]  # the TURN server's logs do not name the person
    given = []
    for server in servers:
        entry = {k: v for k, v in server.items() if k != "secret"}
        secret = server.get("secret")
        if isinstance(secret, str) and secret:
            username = f"{expiry}:{opaque}"
            digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
            entry["username"], entry["credential"] = username, base64.b64encode(digest).decode()
        given.append(entry)
    return given
