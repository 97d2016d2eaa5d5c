"""The `veche` command: `veche up`, `veche run ROLE`, `veche admin create-user`, `veche directory sync`,
`veche license keygen | issue | install`."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import os
import secrets
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from veche import __version__
from veche.config.settings import VecheSettings, load_settings
from veche.container import ALL_ROLES, Container
from veche.domain.errors import DomainError
from veche.node.tls import ServerCertificate, machine_names, server_certificate

__all__ = ["main"]

logger = logging.getLogger("veche")


def _settings(args: argparse.Namespace) -> VecheSettings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    http: dict[str, Any] = {}
    if getattr(args, "host", None):
        http["host"] = args.host
    if getattr(args, "http_port", None):
        http["port"] = args.http_port
    if getattr(args, "tls_cert", None) or getattr(args, "tls_key", None):
        if not (args.tls_cert and args.tls_key):
            raise ValueError("give --tls-cert and --tls-key together (the certificate and its key)")
        if args.no_tls:
            raise ValueError("--no-tls serves plain HTTP: leave out --tls-cert and --tls-key, or --no-tls")
        http.update(tls=True, tls_cert_file=Path(args.tls_cert), tls_key_file=Path(args.tls_key))
    elif getattr(args, "no_tls", False):
        http["tls"] = False
    config = Path(args.config) if getattr(args, "config", None) else None
    settings = load_settings(config, **overrides)
    if http:
        settings = settings.model_copy(update={"http": settings.http.model_copy(update=http)})
    if getattr(args, "sip_port", None) is not None:
        settings = settings.model_copy(update={"sip": settings.sip.model_copy(update={"port": args.sip_port})})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def _display_host(host: str) -> str:
    if host not in ("0.0.0.0", "::", ""):
        return host
    try:  # the address other machines reach us on (no packet is sent)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def _print_certificate(cert: ServerCertificate) -> None:
    names = ", ".join([*cert.dns_names, *(str(ip) for ip in cert.ip_addresses)])
    if cert.generated:
        made = "generated now" if cert.created_now else "generated on the first start"
        print(f"  HTTPS with a self-signed certificate ({made}) for {names}")
        print(f"    {cert.cert_file}")
        print(f"    SHA-256 fingerprint {cert.fingerprint_sha256}")
        print(
            "    Browsers warn until they trust it: compare the fingerprint with the one the browser shows, then accept"
        )
        print("    it, or import the certificate file into the browser's or system's trust store; or give your own")
        print('    with --tls-cert/--tls-key (docs/operations.md, "HTTPS").')
        missing = cert.missing(machine_names())
        if missing:
            print(f"    Warning: it does not cover {', '.join(missing)} (new since it was made); delete")
            print(f"    {cert.cert_file.parent} to generate a new one (its fingerprint changes).")
    else:
        print(f"  HTTPS with {cert.cert_file} (SHA-256 fingerprint {cert.fingerprint_sha256})")
    if cert.not_after <= datetime.datetime.now(datetime.UTC):
        print(f"    Warning: the certificate expired on {cert.not_after:%Y-%m-%d}; browsers refuse it.")


async def _ensure_first_admin(container: Container) -> Path | None:
    """On an empty database, create `admin` with a random password written to a 0600 file."""
    try:
        await container.get_database().migrate()
        if await container.get_user_store().count() > 0:
            return None
        password_file = container.settings.data_dir / "admin_password"
        password = secrets.token_urlsafe(12)
        password_file.touch(mode=0o600)
        password_file.write_text(password + "\n")
        await container.get_auth().create_user(
            login="admin", display_name="Administrator", email="", password=password, is_admin=True
        )
        return password_file
    finally:
        await container.get_database().close()


def _serve(settings: VecheSettings, roles: list[str], cert: ServerCertificate | None = None) -> int:
    """Serve the roles until SIGINT/SIGTERM or the manager's shutdown; re-exec this process on its restart."""
    import uvicorn

    from veche.app.signal_messages import MAX_MESSAGE_BYTES
    from veche.web.app import create_app

    container = Container(settings, roles)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container),
            host=settings.http.host,
            port=settings.http.port,
            log_level="warning",
            # Forwarding headers are handled inside the app (veche.web.app, from http.trusted_proxies), where the
            # tests see it; uvicorn's own handling would believe any local caller (its default 127.0.0.1, ::1).
            proxy_headers=False,
            # With `websockets` installed (a dependency) uvicorn serves WebSockets with it; it checks a frame's
            # announced length before reading the payload and closes with 1009 above the signaling protocol's
            # limit (uvicorn's default is 16 MiB a message). tests/web/test_transport_limits.py checks it.
            ws_max_size=MAX_MESSAGE_BYTES,
            ssl_certfile=str(cert.cert_file) if cert else None,
            ssl_keyfile=str(cert.key_file) if cert else None,
        )
    )
    requested: list[str] = []

    def lifecycle(action: str) -> None:
        requested.append(action)
        server.should_exit = True

    container.lifecycle = lifecycle
    server.run()
    if "restart" in requested:
        logger.warning("restarting as the manager asked")
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable, "-m", "veche", *sys.argv[1:]])
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    settings = _settings(args)
    cert = server_certificate(settings.http, settings.data_dir, datetime.datetime.now(datetime.UTC))
    password_file = asyncio.run(_ensure_first_admin(Container(settings, ALL_ROLES)))
    port = settings.http.port
    scheme = "https" if cert else "http"
    url = settings.http.public_url or f"{scheme}://{_display_host(settings.http.host)}:{port}"
    print(f"Veche {__version__} (all roles in one process) — data in {settings.data_dir.resolve()}")
    if cert:
        print(f"  Open {url}")
        _print_certificate(cert)
    else:
        print(f"  Open {url}  (plain HTTP: camera and microphone only at http://localhost:{port} on this machine)")
    if password_file is not None:
        print(f"  First login: user `admin`, password in {password_file.resolve()}")
    else:
        print("  Log in with an existing administrator (create one: veche admin create-user LOGIN --admin ...)")
    sys.stdout.flush()
    return _serve(settings, ALL_ROLES, cert)


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    roles = ALL_ROLES if args.role == "all" else [args.role]
    if roles != ALL_ROLES and not settings.bus.servers:
        print(f"veche run {args.role}: a cluster role needs `bus.url` (NATS) in {args.config}.", file=sys.stderr)
        return 2
    if {"manager", "base", "web"} & set(roles) and roles != ALL_ROLES and not settings.database.url:
        print(f"veche run {args.role}: this role needs `database.url` (PostgreSQL) in {args.config}.", file=sys.stderr)
        return 2
    cert = server_certificate(settings.http, settings.data_dir, datetime.datetime.now(datetime.UTC))
    if "app" in roles and roles != ALL_ROLES and not settings.signaling.public_url:
        # Clients reach this app server directly: advertise where (wss when it serves HTTPS).
        host = _display_host(settings.http.host)
        scheme = "wss" if cert else "ws"
        url = f"{scheme}://{host}:{settings.http.port}/ws/v1"
        settings = settings.model_copy(update={"signaling": settings.signaling.model_copy(update={"public_url": url})})
    scheme = "https" if cert else "http"
    print(
        f"Veche {__version__}: {args.role} on {scheme}://{settings.http.host}:{settings.http.port} (pid {os.getpid()})"
    )
    if cert:
        _print_certificate(cert)
    sys.stdout.flush()
    return _serve(settings, roles, cert)


def cmd_dev_cluster(args: argparse.Namespace) -> int:
    from veche.dev.cluster import DevCluster

    root = Path(args.data_dir or ".veche-cluster").resolve()
    if args.admin_password_file:
        password = Path(args.admin_password_file).read_text().strip()
    else:
        password = secrets.token_urlsafe(12)
    apps = args.apps if args.apps is not None else (2 if args.ha else 3)
    cluster = DevCluster(
        root=root,
        apps=apps,
        http_port=args.http_port,
        admin_password=password,
        database_url=args.database_url or "",
        nats_url=args.nats_url or "",
        auto_approve=not args.no_auto_approve,
        ha=args.ha,
    )
    if args.ha:
        print(f"Veche dev cluster in {root}: 2 managers, 2 base, 2 web, {apps} app server(s), Patroni, 3 NATS nodes")
    else:
        print(f"Veche dev cluster in {root}: manager, base, web and {apps} app server(s)")

    def stop_on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM / SIGHUP stop everything as Ctrl-C does (the `finally` below)

    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGHUP, stop_on_signal)
    try:
        cluster.start()
        if args.ha:
            print("\n".join(cluster.describe()))
        print(f"  Open {cluster.web_url} — user `admin`, password in {root / 'admin_password'}")
        print("  Ctrl-C stops everything.")
        sys.stdout.flush()
        while args.ha or all(p.alive() for p in cluster.processes if p.role != "app"):  # with --ha: until Ctrl-C
            time.sleep(0.5)
        print("a core process exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as e:
        print(f"veche dev cluster: {e}", file=sys.stderr)
        return 1
    finally:
        print("stopping …")
        cluster.stop()


def cmd_create_user(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        password = Path(args.password_file).read_text().strip()
    except OSError as e:
        print(f"Cannot read the password file: {e}", file=sys.stderr)
        return 2

    async def create() -> None:
        container = Container(settings, ["base"])
        try:
            await container.get_database().migrate()
            user = await container.get_auth().create_user(
                login=args.login,
                display_name=args.display_name or args.login,
                email=args.email or "",
                password=password,
                is_admin=args.admin,
            )
            print(f"Created {'administrator' if user.is_admin else 'user'} {user.login} (id {user.id}).")
        finally:
            await container.get_database().close()

    try:
        asyncio.run(create())
    except DomainError as e:
        print(e.message, file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="veche", description="Veche video conferencing server.")
    parser.add_argument("--version", action="version", version=f"veche {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run every role in one process on embedded defaults")
    up.add_argument("--data-dir", help="where the database, secrets and Janus config live (default ./.veche)")
    up.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    up.add_argument("--http-port", type=int, help="HTTP(S) port (default 8080)")
    up.add_argument("--sip-port", type=int, help="SIP port, UDP and TCP (default 5060; docs/sip.md)")
    up.add_argument("--tls-cert", metavar="FILE", help="PEM certificate (then any chain) to serve HTTPS with")
    up.add_argument("--tls-key", metavar="FILE", help="its PEM private key (unencrypted)")
    up.add_argument(
        "--no-tls", action="store_true", help="plain HTTP (behind a TLS proxy); default: HTTPS, generated certificate"
    )
    up.add_argument("--config", help="TOML configuration file")
    up.set_defaults(func=cmd_up)

    run = sub.add_parser("run", help="run one role with a configuration file")
    run.add_argument("role", choices=["all", "manager", "base", "web", "app"])
    run.add_argument("--config", required=True, help="TOML configuration file")
    run.set_defaults(func=cmd_run)

    admin = sub.add_parser("admin", help="administration commands").add_subparsers(dest="admin_command", required=True)
    create = admin.add_parser("create-user", help="create a local user")
    create.add_argument("login")
    create.add_argument("--password-file", required=True, help="file whose first line is the password")
    create.add_argument("--admin", action="store_true", help="make the user an administrator")
    create.add_argument("--display-name")
    create.add_argument("--email")
    create.add_argument("--data-dir")
    create.add_argument("--config", help="TOML configuration file")
    create.set_defaults(func=cmd_create_user)

    dev = sub.add_parser("dev", help="development helpers").add_subparsers(dest="dev_command", required=True)
    cluster = dev.add_parser("cluster", help="run a whole cluster on this machine (throwaway PostgreSQL and NATS)")
    cluster.add_argument("--apps", type=int, help="number of app servers, each with its Janus (default 3; --ha: 2)")
    cluster.add_argument(
        "--ha", action="store_true", help="two of each role, PostgreSQL primary + standby under Patroni, 3 NATS nodes"
    )
    cluster.add_argument("--data-dir", help="where everything lives (default ./.veche-cluster)")
    cluster.add_argument("--http-port", type=int, default=8080, help="the web server's port")
    cluster.add_argument("--admin-password-file", help="password of the admin `admin` (default: generated)")
    cluster.add_argument("--database-url", help="use this PostgreSQL instead of a throwaway one")
    cluster.add_argument("--nats-url", help="use this NATS instead of a throwaway one")
    cluster.add_argument("--no-auto-approve", action="store_true", help="new servers wait for an admin's approval")
    cluster.set_defaults(func=cmd_dev_cluster)

    from veche.cli_directory import add_directory_commands

    add_directory_commands(sub, _settings)

    from veche.cli_license import add_license_commands

    add_license_commands(sub, _settings)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("VECHE_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (FileNotFoundError, ValueError) as e:
        print(f"veche: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
