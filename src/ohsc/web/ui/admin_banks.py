"""Bank administration (``/admin/banks``, admins only): list and create banks; a bank's settings
(threshold, allowlist, robust matching, enabled, description); import an uploaded hash list as
a background job whose progress the page shows; export downloads; browse and search entries by
id, hash or external id (paged); retract and restore entries with a reason; delete a bank after
a confirmation page (the bank's name typed again).

Every action is the :class:`~ohsc.banks.service.BankService` call that ``ohsc bank`` makes, with
the user as the actor, so each writes the same audit event as the CLI."""

from __future__ import annotations

import hashlib
import io
import tempfile
from pathlib import PurePath
from typing import IO, Annotated, Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ohsc.accounts.model import User
from ohsc.banks.formats import FORMATS, download_type, format_for, get_format
from ohsc.banks.service import BankService
from ohsc.errors import FileTooLargeError, InvalidInputError, NotFoundError, OhscError
from ohsc.store.types import ascii_int
from ohsc.web.auth import AdminUser, get_services
from ohsc.web.templating import render
from ohsc.web.ui.admin_common import admin_page

router = APIRouter(prefix="/admin/banks", include_in_schema=False)
PAGE = 50
#: the sub-navigation marks Banks on every bank page
HERE = "/admin/banks"
CHUNK = 1 << 20
Text = Annotated[str, Form(max_length=2000)]


def _svc(request: Request, user: User) -> BankService:
    return get_services(request).banks(user.actor)


def _back(bank_id: int | None, *, msg: str = "", error: str = "", anchor: str = "") -> RedirectResponse:
    query = urlencode({k: v for k, v in (("msg", msg), ("error", error)) if v})
    path = "/admin/banks" if bank_id is None else f"/admin/banks/{bank_id}"
    return RedirectResponse(f"{path}{'?' + query if query else ''}{anchor}", status_code=303)


def _notice(request: Request) -> dict[str, str]:
    return {
        "message": (request.query_params.get("msg") or "")[:500],
        "error": (request.query_params.get("error") or "")[:500],
    }


def _threshold(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    number = ascii_int(value)
    if number is None:
        raise InvalidInputError("the threshold is a whole number (or empty for the default)")
    return number


@router.get("")
async def banks(request: Request, user: AdminUser) -> Response:
    listed = await run_in_threadpool(_svc(request, user).list_banks)
    return admin_page(request, "admin/banks.html", HERE, {"banks": listed, **_notice(request)})


@router.post("")
async def create(
    request: Request,
    user: AdminUser,
    name: Annotated[str, Form(max_length=200)],
    threshold: Annotated[str, Form(max_length=10)] = "",
    allowlist: Annotated[str, Form(max_length=10)] = "",
    robust: Annotated[str, Form(max_length=10)] = "",
    description: Text = "",
) -> Response:
    svc = _svc(request, user)
    try:
        limit = _threshold(threshold)
        bank = await run_in_threadpool(
            lambda: svc.create_bank(
                name, threshold=limit, allowlist=bool(allowlist), robust=bool(robust), description=description
            )
        )
    except OhscError as exc:
        return _back(None, error=exc.message)
    return _back(bank.id, msg=f"Bank {bank.name} created.")


@router.get("/{bank_id}")
async def bank_page(request: Request, user: AdminUser, bank_id: int, q: str = "", after: int = 0) -> Response:
    svc = _svc(request, user)
    query = q.strip()[:500]

    def load() -> dict[str, Any]:
        bank = svc.get_bank(bank_id)
        entries = svc.page_entries(
            bank.id, query=query, after=max(0, after), limit=PAGE + 1, include_retracted=True
        )
        return {
            "bank": bank,
            "entries": entries[:PAGE],
            "next_after": entries[PAGE - 1].id if len(entries) > PAGE else None,
            "runs": svc.import_runs(bank.id, limit=10),
        }

    ctx = await run_in_threadpool(load)
    formats = sorted(FORMATS)
    writers = sorted(n for n, f in FORMATS.items() if f.can_write)
    more = {"q": query, "after": after, "formats": formats, "writers": writers, **_notice(request)}
    return admin_page(request, "admin/bank.html", HERE, {**ctx, **more})


@router.post("/{bank_id}/settings")
async def settings(
    request: Request,
    user: AdminUser,
    bank_id: int,
    name: Annotated[str, Form(max_length=200)],
    threshold: Annotated[str, Form(max_length=10)] = "",
    allowlist: Annotated[str, Form(max_length=10)] = "",
    robust: Annotated[str, Form(max_length=10)] = "",
    enabled: Annotated[str, Form(max_length=10)] = "",
    description: Text = "",
) -> Response:
    svc = _svc(request, user)
    try:
        limit = _threshold(threshold)
        await run_in_threadpool(
            lambda: svc.update_bank(
                bank_id,
                name=name,
                threshold=limit,
                clear_threshold=limit is None,
                allowlist=bool(allowlist),
                enabled=bool(enabled),
                robust=bool(robust),
                description=description,
            )
        )
    except OhscError as exc:
        return _back(bank_id, error=exc.message, anchor="#settings")
    return _back(bank_id, msg="Settings saved.", anchor="#settings")


async def _spool(upload: UploadFile, limit: int) -> tuple[IO[bytes], int, str]:
    """Copy the upload to a temporary file the background import reads: (file, size, SHA-256)."""
    spooled = tempfile.TemporaryFile()  # noqa: SIM115 - the import task closes it
    digest = hashlib.sha256()
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise FileTooLargeError(f"the file is larger than {limit} bytes (OHSC_MAX_FILE_BYTES)")
        digest.update(chunk)
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, size, digest.hexdigest()


def _import_task(svc: BankService, run_id: int, fh: IO[bytes], source: str) -> None:
    try:
        svc.run_import(run_id, cast(io.BufferedReader, fh), source=source)
    finally:
        fh.close()


@router.post("/{bank_id}/import")
async def import_list(request: Request, user: AdminUser, bank_id: int) -> Response:
    """Start importing an uploaded hash list in the background; answer with the run's page."""
    services = get_services(request)
    svc = _svc(request, user)
    async with request.form(max_files=1, max_fields=20) as form:
        upload = form.get("file")
        given = str(form.get("format") or "")
        source = str(form.get("source") or "").strip()[:100] or "import"
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _back(bank_id, error="Choose a hash-list file to import.", anchor="#import")
        name = PurePath(upload.filename.replace("\\", "/")).name[:200] or "upload"
        try:
            fmt = format_for(name, given or None)
            fh, size, sha256 = await _spool(upload, services.settings.max_file_bytes)
        except OhscError as exc:
            return _back(bank_id, error=exc.message, anchor="#import")
    try:
        run_id = await run_in_threadpool(
            lambda: svc.open_import(bank_id, fmt=fmt, source_name=name, sha256=sha256, size=size)
        )
    except BaseException:
        fh.close()
        raise
    services.tasks.start(f"import-{run_id}", lambda: _import_task(svc, run_id, fh, source))
    return RedirectResponse(f"/admin/banks/{bank_id}/imports/{run_id}", status_code=303)


async def _run_context(request: Request, user: AdminUser, bank_id: int, run_id: int) -> dict[str, Any]:
    svc = _svc(request, user)

    def load() -> dict[str, Any]:
        bank = svc.get_bank(bank_id)
        run = svc.import_run(run_id)
        if run.bank != bank.name:
            raise NotFoundError(f"bank {bank.name} has no import run {run_id}")
        return {"bank": bank, "run": run}

    return await run_in_threadpool(load)


@router.get("/{bank_id}/imports/{run_id}")
async def import_page(request: Request, user: AdminUser, bank_id: int, run_id: int) -> Response:
    return admin_page(request, "admin/import.html", HERE, await _run_context(request, user, bank_id, run_id))


@router.get("/{bank_id}/imports/{run_id}/progress")
async def import_progress(request: Request, user: AdminUser, bank_id: int, run_id: int) -> Response:
    """The progress fragment the import page polls while the run goes."""
    return render(request, "admin/_import_progress.html", await _run_context(request, user, bank_id, run_id))


@router.get("/{bank_id}/export")
async def export(
    request: Request, user: AdminUser, bank_id: int, format: str = "csv", retracted: str = ""
) -> Response:
    """The bank as a hash list (an audited export, as ``ohsc bank export``)."""
    writer = get_format(format)
    if not writer.can_write:
        raise InvalidInputError(f"{writer.name} is an import-only format")
    svc = _svc(request, user)

    def run() -> bytes:
        buf = io.BytesIO()
        svc.export(bank_id, buf, writer.name, include_retracted=bool(retracted))
        return buf.getvalue()

    data = await run_in_threadpool(run)
    media, ext = download_type(writer.name)
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="bank-{bank_id}.{ext}"',
            "Cache-Control": "no-store, private",
        },
    )


@router.post("/{bank_id}/retract")
async def retract(
    request: Request, user: AdminUser, bank_id: int, ref: Annotated[str, Form(max_length=500)], reason: Text
) -> Response:
    svc = _svc(request, user)
    try:
        entries = await run_in_threadpool(lambda: svc.retract(bank_id, ref, reason))
    except OhscError as exc:
        return _back(bank_id, error=exc.message, anchor="#entries")
    return _back(
        bank_id, msg=f"Retracted {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}.", anchor="#entries"
    )


@router.post("/{bank_id}/restore")
async def restore(
    request: Request, user: AdminUser, bank_id: int, ref: Annotated[str, Form(max_length=500)], reason: Text
) -> Response:
    svc = _svc(request, user)
    try:
        if not reason.strip():
            raise InvalidInputError("a restore needs a reason")
        entries = await run_in_threadpool(lambda: svc.restore(bank_id, ref, reason))
    except OhscError as exc:
        return _back(bank_id, error=exc.message, anchor="#entries")
    return _back(
        bank_id, msg=f"Restored {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}.", anchor="#entries"
    )


@router.get("/{bank_id}/delete")
async def delete_page(request: Request, user: AdminUser, bank_id: int) -> Response:
    """The confirmation step: what deleting removes, and the bank's name to type again."""
    bank = await run_in_threadpool(_svc(request, user).get_bank, bank_id)
    return admin_page(request, "admin/bank_delete.html", HERE, {"bank": bank, **_notice(request)})


@router.post("/{bank_id}/delete")
async def delete(
    request: Request, user: AdminUser, bank_id: int, confirm_name: Annotated[str, Form(max_length=200)] = ""
) -> Response:
    """Delete the bank and its entries (``ohsc bank delete``'s call, audited as ``bank.delete``),
    only when the name typed matches."""
    svc = _svc(request, user)
    bank = await run_in_threadpool(svc.get_bank, bank_id)
    if confirm_name.strip() != bank.name:
        query = urlencode({"error": f"Type the bank's name, {bank.name}, to delete it."})
        return RedirectResponse(f"/admin/banks/{bank_id}/delete?{query}", status_code=303)
    await run_in_threadpool(svc.delete_bank, bank_id)
    return _back(
        None, msg=f"Bank {bank.name} deleted with its {bank.active_entries + bank.retracted_entries} entries."
    )
