"""HMA-compatible routes (``GET /m/lookup``, ``POST /h/hash``, ``GET /c/banks``) behind an API key.

A built-in extension (:mod:`ohsc.web.extensions`): the shapes are HMA's (see
:mod:`ohsc.exchanges.hma`); errors are OHSC's problem documents with HMA's status codes. A lookup
reads the indexes only: it records no content and opens no review item (use ``/v1/match`` for
that).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ohsc.accounts.model import ApiClient
from ohsc.accounts.roles import Scope
from ohsc.errors import FileTooLargeError, InvalidInputError
from ohsc.exchanges import hma
from ohsc.web.api.common import check_length
from ohsc.web.auth import MatchClient, get_services, require_any_api_key_scope
from ohsc.web.bodies import UPLOAD_ROUTES, UploadRoute
from ohsc.web.problems import MACHINE_PREFIXES
from ohsc.web.services import Services

router = APIRouter(tags=["hma"])
BanksClient = Annotated[ApiClient, Depends(require_any_api_key_scope(Scope.MATCH, Scope.BANK_ADMIN))]


@router.get("/m/lookup", summary="HMA: look up a hash")
async def lookup(
    request: Request, client: MatchClient, signal_type: str = "", signal: str = "", banks: str = ""
) -> dict[str, Any]:
    """``{"BANK": [{"bank_content_id": ID, "distance": "N"}]}``, as HMA answers it."""
    if not signal_type or not signal:
        raise InvalidInputError("Either url or both signal and signal_type are required")
    services = get_services(request)
    services.match_limit.take(client.prefix)
    wanted = {b for b in banks.split(",") if b} or None
    return hma.lookup(services.require_matcher(), signal_type, signal, wanted)


def _hash(services: Services, field: str, data: bytes) -> dict[str, str]:
    sig = services.content("api").hash_upload(data, dihedral=False)
    return hma.hash_answer(field, sig.signals())


@router.post("/h/hash", summary="HMA: hash an upload")
async def hash_upload(request: Request, client: MatchClient) -> dict[str, str]:
    """One file in a multipart field named for its content type (``photo`` or ``video``)."""
    services = get_services(request)
    services.match_limit.take(client.prefix)
    limit = services.settings.upload_read_limit()
    check_length(request, limit)
    async with request.form(max_files=1, max_fields=10) as form:
        uploads = [(k, v) for k, v in form.multi_items() if isinstance(v, UploadFile)]
        if len(uploads) != 1:
            raise InvalidInputError(
                "Missing multipart/form-data file upload" if not uploads else "Only one file"
            )
        field, upload = uploads[0]
        data = await upload.read(limit + 1)
    if len(data) > limit:
        raise FileTooLargeError(f"the upload is larger than {limit} bytes (OHSC_UPLOAD_MAX_BYTES)")
    return await run_in_threadpool(_hash, services, field, data)


@router.get("/c/banks", summary="HMA: list banks")
async def banks(request: Request, client: BanksClient) -> list[dict[str, Any]]:
    """``[{"name": NAME, "matching_enabled_ratio": 1.0}]``, as HMA answers it."""
    services = get_services(request)
    return await run_in_threadpool(hma.banks_index, services.banks(client.actor))


def install(app: FastAPI, services: Services) -> None:
    for prefix in ("/m/", "/h/", "/c/"):  # machine routes: problem documents, never the login page
        if prefix not in MACHINE_PREFIXES:
            MACHINE_PREFIXES.append(prefix)
    if not any(u.path == "/h/hash" for u in UPLOAD_ROUTES):
        UPLOAD_ROUTES.append(UploadRoute("/h/hash", lambda s: s.upload_read_limit(), "OHSC_UPLOAD_MAX_BYTES"))
    app.include_router(router)
