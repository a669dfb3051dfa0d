"""The administration index (``/admin``, admins only): one link per administration section.

A section is one line in :data:`ADMIN_SECTIONS`; the top bar's "Admin" link leads here."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ohsc.web.auth import AdminUser
from ohsc.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)


@dataclass(frozen=True, slots=True)
class AdminSection:
    title: str
    href: str
    summary: str


#: the administration sections, in the order the index lists them (one line each)
ADMIN_SECTIONS: list[AdminSection] = [
    AdminSection(
        "Banks",
        "/admin/banks",
        "Hash banks: create, settings, import and export lists, search entries, retract.",
    ),
]


@router.get("")
async def index(request: Request, _user: AdminUser) -> Response:
    return render(request, "admin/index.html", {"sections": ADMIN_SECTIONS})
