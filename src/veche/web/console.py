"""What every page of the admin console shares: who may open it, its navigation, paging, and human words.

The pages themselves: admin_overview_page.py (/admin), admin_users_page.py, admin_conferences_page.py,
pages.py (/admin/servers), admin_components_page.py, admin_directory_page.py, license_page.py,
statistics_page.py. Each renders a template that includes templates/admin_nav.html with ``section`` set to
its own entry of :data:`SECTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from veche.domain.errors import Forbidden
from veche.domain.model import User
from veche.web.pages import _check_form_csrf, _csrf, _page_user, _render, templates

__all__ = [
    "ACCESS_LABELS",
    "PAGE_SIZE",
    "SECTIONS",
    "TYPE_LABELS",
    "Pager",
    "admin_form_user",
    "admin_page_user",
    "page_number",
    "render_console",
]

PAGE_SIZE = 50

# (section, path, label, element id): the console's navigation, in order. The ids are what tests and
# bookmarks of the older console (the "Also in the console" links) use.
SECTIONS: list[tuple[str, str, str, str]] = [
    ("overview", "/admin", "Overview", "link-overview"),
    ("users", "/admin/users", "Users", "link-users"),
    ("conferences", "/admin/conferences", "Conferences", "link-conferences"),
    ("servers", "/admin/servers", "Servers & settings", "link-servers"),
    ("components", "/admin/components", "Components", "link-components"),
    ("directory", "/admin/directory", "Directory", "link-directory-sources"),
    ("license", "/admin/license", "License", "link-license"),
    ("statistics", "/admin/statistics", "Statistics", "link-statistics"),
    ("history", "/admin/history", "History", "link-history"),
]

TYPE_LABELS = {"all_see_all": "Everyone sees everyone", "moderated": "Moderated (only speakers publish)"}
ACCESS_LABELS = {"open": "Every user of the organisation", "invited": "Invited users only"}
templates.env.globals["console_sections"] = SECTIONS
templates.env.filters["conference_type"] = lambda value: TYPE_LABELS.get(str(value), str(value))
templates.env.filters["conference_access"] = lambda value: ACCESS_LABELS.get(str(value), str(value))

NOT_ALLOWED = "Only administrators may open the console."


async def admin_page_user(request: Request) -> tuple[User, str] | Response:
    """The signed-in administrator and his session token; else the login page or a 403 page."""
    found = await _page_user(request)
    if not found:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    if not found[0].is_admin:
        return _render(request, "message.html", 403, title="Not allowed", message=NOT_ALLOWED)
    return found


async def admin_form_user(request: Request, csrf_token: str) -> tuple[User, str] | Response:
    """As :func:`admin_page_user`, for a form post: its CSRF token checked first."""
    found = await _page_user(request)
    if not found:
        return RedirectResponse("/login", status_code=303)
    _check_form_csrf(request, found[1], csrf_token)
    if not found[0].is_admin:
        raise Forbidden("Only administrators may do this.")
    return found


def render_console(
    request: Request, template: str, user: User, token: str, section: str, status: int = 200, **context: Any
) -> HTMLResponse:
    return _render(request, template, status, user=user, csrf=_csrf(request, token), section=section, **context)


@dataclass(frozen=True)
class Pager:
    """Which page of a long list is shown, and the links to its neighbours (the search kept)."""

    page: int
    total: int
    query: str
    path: str
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def first_shown(self) -> int:
        return min(self.total, self.offset + 1)

    @property
    def last_shown(self) -> int:
        return min(self.total, self.offset + self.size)

    def link(self, page: int) -> str:
        params = {"page": str(page)} | ({"q": self.query} if self.query else {})
        return f"{self.path}?{urlencode(params)}"

    @property
    def previous(self) -> str | None:
        return self.link(self.page - 1) if self.page > 1 else None

    @property
    def next(self) -> str | None:
        return self.link(self.page + 1) if self.page < self.pages else None


def page_number(raw: str) -> int:
    """The ``page`` query parameter: a small positive number; anything else is the first page."""
    return int(raw) if raw.isdigit() and 0 < len(raw) <= 6 and int(raw) > 0 else 1
