"""What the administration pages share: the admin-only dependency, form reading, redirects with
a message, and the sub-navigation between the pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from ohsc.accounts.model import User
from ohsc.accounts.roles import Role
from ohsc.web.auth import require_user
from ohsc.web.templating import render

#: only admins (require_user always lets admins through; no other role is named)
AdminOnly = Annotated[User, Depends(require_user(Role.ADMIN))]


@dataclass(frozen=True, slots=True)
class AdminSection:
    title: str
    href: str
    summary: str


#: the administration sections, in the order the index (``/admin``) and the sub-navigation list
#: them (one line each)
ADMIN_SECTIONS: list[AdminSection] = [
    AdminSection(
        "Banks",
        "/admin/banks",
        "Hash banks: create, settings, import and export lists, search entries, retract.",
    ),
    AdminSection("Users", "/admin/users", "People: add, roles, disable, new password."),
    AdminSection("API keys", "/admin/keys", "Keys for machines: create (shown once), revoke."),
    AdminSection(
        "Rules and policies",
        "/admin/rules",
        "Action rules and per-bank review, flood and thumbnail policies.",
    ),
    AdminSection("Webhooks", "/admin/webhooks", "Webhooks, their delivery log, test events."),
    AdminSection("Exchanges", "/admin/exchanges", "Partners' feeds and exchanges, sync, published banks."),
]

#: the sub-navigation between administration pages (label, address)
ADMIN_PAGES: tuple[tuple[str, str], ...] = tuple((s.title, s.href) for s in ADMIN_SECTIONS)


async def form_fields(request: Request, max_fields: int = 40) -> dict[str, str]:
    """The text fields of a posted form (files refused); repeated names keep the last value."""
    form = await request.form(max_files=0, max_fields=max_fields)
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


async def form_lists(request: Request, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes)."""
    form = await request.form(max_files=0, max_fields=40)
    return [v for v in form.getlist(name) if isinstance(v, str)]


def back(path: str, message: str) -> RedirectResponse:
    """See ``path`` again, with ``message`` shown at the top (POST-redirect-GET)."""
    return RedirectResponse(f"{path}?msg={quote(message)}", status_code=303)


def checked(fields: dict[str, str], name: str) -> bool:
    return fields.get(name, "") in ("on", "true", "1", "yes")


def validation_messages(exc: ValidationError) -> list[str]:
    """Pydantic's errors as "field: what is wrong" lines people can read."""
    out: list[str] = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "form"
        out.append(f"{where.replace('_', ' ')}: {err.get('msg', 'invalid')}")
    return out


def admin_page(
    request: Request, name: str, here: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render an administration page with its sub-navigation and the ``msg`` of a redirect."""
    ctx: dict[str, Any] = {
        "admin_pages": ADMIN_PAGES,
        "admin_here": here,
        "message": request.query_params.get("msg", "")[:300],
    }
    ctx.update(context)
    return render(request, name, ctx, status_code=status_code)
