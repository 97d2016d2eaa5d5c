"""The app role's SIP listener (docs/sip.md): the transport, the server transactions and the dial-in decision.

When the port is taken (another Veche, a PBX on this machine) Veche logs one warning and runs without SIP, so
several servers on one machine all start; the listener's ``port`` is then None.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

from veche.app.sip.dial_in import DialIn
from veche.app.sip.transactions import ServerTransactions
from veche.app.sip.transport import SipTransport
from veche.config.sip import SipConfig

__all__ = ["SipListener"]

logger = logging.getLogger(__name__)


class SipListener:
    def __init__(
        self,
        config: SipConfig,
        dial_in: DialIn,
        *,
        host: str,
        certificate: tuple[Path, Path] | None = None,
        t1_s: float = 0.5,
    ) -> None:
        """``certificate``: (certificate chain, key) PEM files for SIP over TLS when ``sip.tls_port`` is set."""
        self._config = config
        self._certificate = certificate
        self._host = config.host or host
        self.transactions = ServerTransactions(dial_in, t1_s=t1_s, max_message_bytes=config.max_message_bytes)
        self._transport = SipTransport(
            self.transactions.receive,
            self.transactions.receive_unframed,
            max_message_bytes=config.max_message_bytes,
        )
        self.port: int | None = None
        self.tls_port: int | None = None

    async def start(self) -> None:
        if not self._config.enabled:
            return
        try:
            await self._transport.start(self._host, self._config.port)
        except OSError as e:
            logger.warning(
                "SIP is off on this server: port %s (UDP and TCP) on %s cannot be had (%s). "
                "Set sip.port (or veche up --sip-port) to a free port to take calls.",
                self._config.port,
                self._host,
                e.strerror or e,
            )
            return
        self.port = self._transport.port
        logger.info("SIP listening on %s:%s (UDP and TCP)", self._host, self.port)
        if self._config.tls_port is not None:
            await self._start_tls(self._config.tls_port)

    async def _start_tls(self, port: int) -> None:
        if self._certificate is None:
            logger.warning("SIP over TLS is off: there is no server certificate (http.tls_cert_file, docs/sip.md)")
            return
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self._certificate[0]), str(self._certificate[1]))
        try:
            self.tls_port = await self._transport.start_tls(self._host, port, context)
        except OSError as e:
            logger.warning("SIP over TLS is off: port %s on %s cannot be had (%s)", port, self._host, e.strerror or e)
            return
        logger.info("SIP over TLS listening on %s:%s", self._host, self.tls_port)

    async def stop(self) -> None:
        await self._transport.stop()
        await self.transactions.close()
