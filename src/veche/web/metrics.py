"""``GET /metrics`` (Prometheus text format) on every role's HTTP port, and the HTTP latency it reports.

Who may scrape: a caller showing the metrics token as a bearer token (``metrics.token_file``, by default the
cluster's join token), or one from an address in ``metrics.allow_from``; anyone else gets 401. The figures name no
conference, user or server in any case (veche.metrics), so an address list is a fair choice on a closed network.
"""

from __future__ import annotations

import hmac
import time

from fastapi import APIRouter, Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from veche.config.metrics import MetricsConfig
from veche.domain.errors import AuthenticationFailed
from veche.metrics import CONTENT_TYPE, DurationHistogram

__all__ = ["HttpLatency", "router"]

router = APIRouter()

# Anything else (a made-up method) is counted as "other": a caller cannot create series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of a request no route took (a 404): never the raw path


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    container = request.app.state.container
    if not _may_scrape(request, container.settings.metrics, container.get_metrics_token()):
        raise AuthenticationFailed('Metrics need the metrics token as a bearer token (docs/operations.md, "Metrics").')
    return Response(await container.get_metrics().render(), media_type=CONTENT_TYPE)


def _may_scrape(request: Request, config: MetricsConfig, token: str) -> bool:
    """A token, when one is shown, must be the right one; without a token, the caller's address must be allowed."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return hmac.compare_digest(value.strip().encode(), token.encode())
    address = request.client.host if request.client is not None else ""
    return config.allows(address)


class HttpLatency:
    """ASGI middleware: the time each HTTP request takes, by method and the template of the route that served it
    (``/api/v1/conferences/{conference_id}/join``, not the path asked for)."""

    def __init__(self, app: ASGIApp, histogram: DurationHistogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root_path = scope.get("root_path", "")
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.histogram.observe((method, route_template(scope, root_path)), time.perf_counter() - started)


def route_template(scope: Scope, root_path: str = "") -> str:
    """The template of the route the router chose, from what it wrote into the scope, or :data:`UNMATCHED`.

    A route of an included router knows its own part only (``/conferences/{conference_id}``): its routers'
    prefixes, literal in Veche, are the leading segments of the path it matched. A mount (``/static``) extends
    the scope's ``root_path``.
    """
    template = getattr(scope.get("route"), "path_format", None)
    if isinstance(template, str) and template.startswith("/"):
        own = template.strip("/").split("/") if template != "/" else []
        path = scope.get("path", "").strip("/").split("/")
        prefix = path[: max(len(path) - len(own), 0)]
        return "/" + "/".join([*prefix, *own])
    mounted = scope.get("root_path", "")
    if isinstance(mounted, str) and len(mounted) > len(root_path) and mounted.startswith(root_path):
        return mounted[len(root_path) :] + "/{path}"
    return UNMATCHED
