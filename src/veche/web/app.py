"""The ASGI application of one process: REST API, pages, static client and (with the app role) signaling."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request, Response, WebSocket
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from veche import __version__
from veche.container import Container
from veche.web.admin_components_page import router as admin_components_page_router
from veche.web.admin_conferences_page import router as admin_conferences_page_router
from veche.web.admin_directory_page import router as admin_directory_page_router
from veche.web.admin_overview_page import router as admin_overview_page_router
from veche.web.admin_users_page import router as admin_users_page_router
from veche.web.api import account as account_api
from veche.web.api import auth, conferences, directory, directory_sources, health, servers, users
from veche.web.api import chats as chats_api
from veche.web.api import components as components_api
from veche.web.api import files as files_api
from veche.web.api import history as history_api
from veche.web.api import license as license_api
from veche.web.api import meetings as meetings_api
from veche.web.api import notifications as notifications_api
from veche.web.api import statistics as statistics_api
from veche.web.api import statistics_layout as statistics_layout_api
from veche.web.chats_page import router as chats_page_router
from veche.web.directory_page import router as directory_page_router
from veche.web.errors import install_error_handlers
from veche.web.history_page import router as history_page_router
from veche.web.license_page import router as license_page_router
from veche.web.meetings_page import router as meetings_page_router
from veche.web.metrics import HttpLatency
from veche.web.metrics import router as metrics_router
from veche.web.openapi_errors import document_errors
from veche.web.pages import router as pages_router
from veche.web.service_worker import router as service_worker_router
from veche.web.statistics_page import router as statistics_page_router

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), microphone=(self), display-capture=(self)",
}
# On HTML pages. Scripts and styles come only from /static (the templates have no inline ones; the client sets
# style properties through the CSSOM, which CSP does not govern). Signaling may go to another app server of the
# cluster (its signaling URL, see web/api/conferences.py), so connect-src allows ws:/wss: to any host. WebRTC media
# is not governed by CSP.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self' ws: wss:",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def create_app(container: Container) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await container.start()
        try:
            yield
        finally:
            await container.stop()

    app = FastAPI(
        title="Veche",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        # No Swagger UI / ReDoc pages: FastAPI loads them from a public CDN, which a closed network does not reach.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.container = container
    install_error_handlers(app)
    document_errors(app)  # every API operation's error responses, in the one error shape

    api = APIRouter(prefix="/api/v1")
    api.include_router(health.router)
    if "web" in container.roles:
        for module in (auth, users, conferences, directory, directory_sources, servers, license_api, statistics_api):
            api.include_router(module.router)
        api.include_router(statistics_layout_api.router)  # GET/PUT /statistics/layout
        api.include_router(meetings_api.router)  # /meetings (docs/meetings.md)
        api.include_router(account_api.router)  # /me/profile, /me/calendar-feed (docs/meetings.md)
        api.include_router(chats_api.router)  # /chats: persistent chats (docs/chat.md)
        api.include_router(files_api.router)  # /chats/{chat}/files, /files/{id}: files in chats (docs/files.md)
        api.include_router(history_api.router)  # /history, /history.csv: the call history (docs/call-history.md)
        api.include_router(notifications_api.router)  # /notifications, /push/*, /me/notification-preferences
        api.include_router(components_api.router)  # GET /components: the cluster's components (admins)
    app.include_router(api)
    app.include_router(metrics_router)  # every role: GET /metrics (Prometheus)
    if "web" in container.roles:
        app.include_router(pages_router)
        app.include_router(meetings_page_router)  # /meetings, /account (docs/meetings.md)
        app.include_router(history_page_router)  # /history, /admin/history (docs/call-history.md)
        app.include_router(directory_page_router)
        app.include_router(chats_page_router)  # /chats
        app.include_router(service_worker_router)  # /sw.js: shows Web Push notifications
        app.include_router(admin_directory_page_router)
        app.include_router(license_page_router)
        app.include_router(statistics_page_router)
        app.include_router(admin_components_page_router)  # /admin/components
        for console_page in (admin_overview_page_router, admin_users_page_router, admin_conferences_page_router):
            app.include_router(console_page)
        app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")

    if "app" in container.roles:
        from veche.app.signaling import serve_signaling

        @app.websocket("/ws/v1")
        async def signaling(websocket: WebSocket) -> None:
            await serve_signaling(websocket, container.get_app_service(), container.get_secret_key())

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if response.headers.get("content-type", "").startswith("text/html"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(HttpLatency, histogram=container.get_metrics().http)  # veche_http_request_duration_seconds

    trusted_proxies = container.settings.http.trusted_proxies
    if trusted_proxies:
        # Outermost, so everything after it (the login throttle's address, the Secure cookie) sees the client's
        # address and scheme as the proxy gave them; from any other caller the headers are ignored.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))

    return app
