"""The administration index (``/admin``, admins only): one link per administration section.

A section is one line in :data:`ADMIN_SECTIONS`; the top bar's "Admin" link leads here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ohsc.web.auth import AdminUser
from ohsc.web.templating import render
from ohsc.web.ui.admin_common import ADMIN_SECTIONS

router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("")
async def index(request: Request, _user: AdminUser) -> Response:
    return render(request, "admin/index.html", {"sections": ADMIN_SECTIONS})
