"""Jinja2 templates of the UI. Extensions add their own folders with :func:`add_template_dir`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse, Response
from starlette.templating import Jinja2Templates

from ohsc.web import labels

TEMPLATES_DIR = Path(__file__).with_name("templates")

_loaders: list[FileSystemLoader] = [FileSystemLoader(str(TEMPLATES_DIR))]
_env = Environment(
    loader=ChoiceLoader(_loaders), autoescape=select_autoescape(default=True), enable_async=False
)
templates = Jinja2Templates(env=_env)


def filesize(n: int | None) -> str:
    """1234567 -> "1.2 MB" (decimal units, as file managers show them)."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover


_env.filters["filesize"] = filesize
_env.filters["duration"] = labels.duration
_env.filters["stat_label"] = labels.stat_label
_env.filters["action_label"] = labels.action_label
_env.filters["audit_details"] = labels.details
_env.globals["audit_sentence"] = labels.sentence
_env.globals["stat_value"] = labels.stat_value


@dataclass(frozen=True, slots=True)
class NavLink:
    """A link in the top bar; ``roles`` limits who sees it (empty: everyone logged in)."""

    label: str
    href: str
    roles: tuple[str, ...] = ()


#: the top bar; extensions append their own links
NAV_LINKS: list[NavLink] = [
    NavLink("Review queue", "/review", ("admin", "reviewer", "reporter")),
    NavLink("Cases", "/cases", ("admin", "reviewer", "reporter")),
    NavLink("Audit log", "/audit", ("admin", "auditor")),
    NavLink("Reports", "/reports", ("admin", "reviewer", "reporter", "evidence_custodian")),
    NavLink("Evidence", "/evidence", ("admin", "evidence_custodian")),
    NavLink("API docs", "/docs"),
    NavLink("Prevention", "/prevention", ("admin", "prevention_admin")),
    NavLink("Trace an Object", "/investigate", ("admin", "investigator")),
    NavLink("Removal", "/removal", ("admin", "reviewer", "reporter", "auditor")),
    NavLink("Matches", "/matches", ("admin",)),
    NavLink("Dashboard", "/dashboard", ("admin", "auditor")),
    NavLink("Transparency", "/transparency", ("admin", "auditor")),
    NavLink("Admin", "/admin", ("admin",)),  # sections: ohsc.web.ui.admin.ADMIN_SECTIONS
]


def add_template_dir(path: Path) -> None:
    """Let templates of another package be found (searched after OHSC's own)."""
    loader = FileSystemLoader(str(path))
    if all(existing.searchpath != loader.searchpath for existing in _loaders):
        _loaders.append(loader)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    session = getattr(request.state, "web_session", None)
    user = session.user if session is not None else None
    ctx: dict[str, Any] = {
        "user": user,
        "csrf_token": session.csrf_token if session is not None else "",
        "nav": [n for n in NAV_LINKS if user is not None and (not n.roles or user.role.value in n.roles)],
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def render_error(request: Request, status: int, code: str, detail: str, headers: dict[str, str]) -> Response:
    response = render(
        request, "error.html", {"status": status, "code": code, "detail": detail}, status_code=status
    )
    response.headers.update(headers)
    return response
