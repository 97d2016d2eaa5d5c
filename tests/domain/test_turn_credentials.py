"""TURN REST credentials: per participant, time-limited, checkable by coturn with the shared secret."""

from __future__ import annotations

import base64
import hashlib
import hmac

from veche.domain.turn_credentials import client_ice_servers

SERVERS = [
    {"urls": ["turn:turn.example.org:3478?transport=udp"], "secret": "s3cret"},
    {"urls": "stun:stun.example.org:3478"},
    {"urls": "turn:old.example.org", "username": "fixed", "credential": "shared"},
]


def test_each_participant_gets_his_own_expiring_credential_and_never_the_secret() -> None:
    anna = client_ice_servers(SERVERS, "guest:abc", now_s=1_000_000.0, ttl_s=3600)
    boris = client_ice_servers(SERVERS, "guest:def", now_s=1_000_000.0, ttl_s=3600)
    assert all("secret" not in server for server in anna)
    expiry, _, opaque = anna[0]["username"].partition(":")
    assert int(expiry) == 1_003_600 and opaque and "guest" not in anna[0]["username"]
    # What coturn computes from the username with its static-auth-secret:
    expected = base64.b64encode(hmac.new(b"s3cret", anna[0]["username"].encode(), hashlib.sha1).digest()).decode()
    assert anna[0]["credential"] == expected
    assert anna[0]["credential"] != boris[0]["credential"]
    assert anna[1] == {"urls": "stun:stun.example.org:3478"}  # no credentials where none are needed
    assert anna[2]["username"] == "fixed"  # a fixed pair is passed as configured
