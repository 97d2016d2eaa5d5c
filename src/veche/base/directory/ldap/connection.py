"""Opening an LDAP connection to a source: its URLs in order (failover), LDAPS or StartTLS, a bind.

Blocking (ldap3); callers run it in a thread. Errors become the directory's named errors with a message that
names the source and every URL tried.
"""

from __future__ import annotations

import logging
import re
import ssl
from typing import Any

import ldap3
from ldap3.core import exceptions as lx

from veche.base.directory.ldap.lean_decoder import install_lean_decoder
from veche.base.directory.server import (
    AccountDisabled,
    DirectoryBindRejected,
    DirectoryUnavailable,
    InvalidCredentials,
)
from veche.config.directory import DirectorySource

__all__ = ["CONNECTION_ERRORS", "open_connection", "open_user_connection"]

logger = logging.getLogger(__name__)

# Failures of the transport (the server is down, the network broke, TLS failed): try the next URL.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    lx.LDAPSocketOpenError,
    lx.LDAPSocketReceiveError,
    lx.LDAPSocketSendError,
    lx.LDAPSessionTerminatedByServerError,
    lx.LDAPCommunicationError,
    lx.LDAPStartTLSError,
    lx.LDAPSSLConfigurationError,
    lx.LDAPUnavailableResult,
    lx.LDAPBusyResult,
    lx.LDAPServerPoolError,
    lx.LDAPResponseTimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)

# Active Directory explains a refused bind in the message: "... data 533" = disabled, 775 = locked out.
_AD_DISABLED = ("data 533", "data 775")


# "... certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1006)" -> the reason.
_VERIFY_FAILED = re.compile(r"certificate verify failed: ([^(')\"]+)")
_SSL_REASON = re.compile(r"\[SSL: [A-Z0-9_]+\] ([^(')\"]+)")


def _tls_failure(source: DirectorySource, e: BaseException) -> str | None:
    """Why TLS with the server failed, in one line; None if ``e`` is not a TLS failure.

    ldap3 re-raises ssl errors as its own classes (merged with the ssl class) whose text nests the original
    message in tuple reprs; the reason is taken from that text.
    """
    text = str(e)
    against = f"ca_file {source.ca_file}" if source.ca_file else "the system's CA certificates"
    if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
        match = _VERIFY_FAILED.search(text)
        reason = match.group(1).strip() if match else "the server's certificate is not trusted"
        return f"TLS certificate verification failed: {reason} (checked against {against})"
    if isinstance(e, lx.LDAPCertificateError) or "doesn't match any name" in text:
        return "TLS certificate verification failed: the server's certificate is not issued for this host name"
    if isinstance(e, ssl.SSLError) or "socket ssl wrapping error" in text or isinstance(e, lx.LDAPStartTLSError):
        match = _SSL_REASON.search(text)
        return f"TLS failed: {match.group(1).strip() if match else text}"
    return None


def _failure(source: DirectorySource, url: str, e: Exception) -> str:
    return f"{url}: {_tls_failure(source, e) or e}"


def _tls(source: DirectorySource) -> ldap3.Tls | None:
    if not (source.start_tls or any(u.startswith("ldaps://") for u in source.urls)):
        return None
    if source.ca_file is not None and not source.ca_file.is_file():
        # ldap3 would only say "invalid CA public key file".
        raise lx.LDAPSSLConfigurationError(f"ca_file {source.ca_file} does not exist or is not a file")
    return ldap3.Tls(
        validate=ssl.CERT_REQUIRED if source.tls_verify else ssl.CERT_NONE,
        ca_certs_file=str(source.ca_file) if source.ca_file else None,
    )


def _connect(source: DirectorySource, url: str, user: str, password: str, strategy: str) -> ldap3.Connection:
    server = ldap3.Server(url, get_info=ldap3.NONE, connect_timeout=source.timeout_s, tls=_tls(source))
    kwargs: dict[str, Any] = {
        "user": user or None,
        "password": password or None,
        "client_strategy": strategy,
        "raise_exceptions": True,
        "auto_referrals": False,
        "read_only": True,
        "check_names": False,
        "return_empty_attributes": False,
    }
    if strategy == ldap3.SYNC:
        kwargs["receive_timeout"] = int(max(1, source.timeout_s * 6))  # a page of a large search may take a while
    connection = ldap3.Connection(server, **kwargs)
    install_lean_decoder(connection)
    try:
        connection.open()
        if source.start_tls:
            try:
                connection.start_tls()
            except lx.LDAPOperationResult as e:
                # A server without TLS answers the extended operation with an error result, not a TLS error.
                raise lx.LDAPStartTLSError(f"the server refused StartTLS ({e.description} {e.message})") from e
        if not connection.bind():
            raise lx.LDAPInvalidCredentialsResult(result=49, description="invalidCredentials")
    except BaseException:
        try:
            connection.unbind()
        except Exception:  # noqa: BLE001 - closing a half-open connection
            pass
        raise
    return connection


def open_connection(source: DirectorySource, *, strategy: str = ldap3.SYNC) -> tuple[ldap3.Connection, str]:
    """A connection bound as the source's service account, to the first URL that answers."""
    errors: list[str] = []
    for url in source.urls:
        try:
            return _connect(source, url, source.bind_dn, source.bind_password(), strategy), url
        except lx.LDAPInvalidCredentialsResult as e:
            raise DirectoryBindRejected(
                f"Directory source {source.name}: {url} refused the bind as {source.bind_dn or 'anonymous'!r} "
                f"({e.description}). Check bind_dn and bind_password_file."
            ) from e
        except lx.LDAPOperationResult as e:
            errors.append(f"{url}: {e.description} {e.message or ''}".strip())
        except CONNECTION_ERRORS as e:
            errors.append(_failure(source, url, e))
        logger.warning("directory %s: %s", source.name, errors[-1])
    raise DirectoryUnavailable(
        f"Directory source {source.name}: no server answered ({'; '.join(errors)}). "
        "Check the URLs, the network and TLS settings."
    )


def open_user_connection(source: DirectorySource, dn: str, password: str) -> ldap3.Connection:
    """Bind as a person (his password is checked by the directory, never stored)."""
    if not password:
        # An empty password would be an unauthenticated bind, which LDAP servers accept: never a login.
        raise InvalidCredentials("empty password")
    errors: list[str] = []
    for url in source.urls:
        try:
            return _connect(source, url, dn, password, ldap3.SYNC)
        except lx.LDAPInvalidCredentialsResult as e:
            if any(code in (e.message or "") for code in _AD_DISABLED):
                raise AccountDisabled(dn) from e
            raise InvalidCredentials(dn) from e
        except lx.LDAPOperationResult as e:
            if e.result in (19, 50, 53):  # constraintViolation (ppolicy lock), insufficientAccess, unwillingToPerform
                raise AccountDisabled(dn) from e
            errors.append(f"{url}: {e.description}")
        except CONNECTION_ERRORS as e:
            errors.append(_failure(source, url, e))
    raise DirectoryUnavailable(f"Directory source {source.name}: no server answered ({'; '.join(errors)}).")
