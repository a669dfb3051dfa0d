"""Banks over HTTP: create, list, get, update, delete; entries; retract, restore; import, export."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ohsc.actions.rules import Policy
from ohsc.banks.formats import FORMATS, download_type, get_format
from ohsc.banks.model import Bank, BankEntry, EntryInput, EntrySource, ImportReport, MediaUpload
from ohsc.banks.service import BankService
from ohsc.errors import InvalidInputError
from ohsc.review.references import add_bank_media
from ohsc.web.api.common import PROBLEMS, is_upload, read_json, read_upload
from ohsc.web.api.schemas import (
    BankIn,
    BankPatch,
    EntriesChanged,
    EntriesIn,
    ImportReportOut,
    Page,
    PolicyIn,
    RetractIn,
)
from ohsc.web.auth import BankAdminClient, get_services
from ohsc.web.paging import clamp_limit, decode_cursor, page
from ohsc.web.services import Services

router = APIRouter(prefix="/banks", tags=["banks"], responses=PROBLEMS)


def _report(report: ImportReport, failed: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    return {
        **report.counts(),
        "errors": [{"line": e.line, "message": e.message} for e in report.errors[:1000]],
        "notes": report.notes[:1000],
        "failed_files": [{"line": None, "message": f"{name}: {why}"} for name, why in failed or []],
    }


@router.get("", response_model=Page[Bank], summary="List banks")
async def list_banks(
    request: Request,
    client: BankAdminClient,
    limit: int | None = Query(default=None, description="Page size (1-500, default 50)."),
    cursor: str | None = None,
) -> dict[str, Any]:
    size = clamp_limit(limit)
    after = decode_cursor(cursor) or 0
    banks = await run_in_threadpool(get_services(request).banks(client.actor).list_banks)
    ordered = sorted((b for b in banks if b.id > after), key=lambda b: b.id)
    return page(ordered[: size + 1], size, lambda b: b.id, lambda b: b)


@router.post("", response_model=Bank, status_code=201, summary="Create a bank")
async def create_bank(body: BankIn, request: Request, client: BankAdminClient) -> Bank:
    svc = get_services(request).banks(client.actor)
    bank = await run_in_threadpool(
        lambda: svc.create_bank(
            body.name,
            threshold=body.threshold,
            allowlist=body.allowlist,
            description=body.description,
            robust=body.robust,
        )
    )
    return bank


@router.get("/{bank}", response_model=Bank, summary="A bank (by name or id)")
async def get_bank(bank: str, request: Request, client: BankAdminClient) -> Bank:
    found = await run_in_threadpool(get_services(request).banks(client.actor).get_bank, bank)
    return found


@router.patch("/{bank}", response_model=Bank, summary="Change a bank")
async def update_bank(bank: str, body: BankPatch, request: Request, client: BankAdminClient) -> Bank:
    svc = get_services(request).banks(client.actor)
    changed = await run_in_threadpool(
        lambda: svc.update_bank(
            bank,
            name=body.name,
            threshold=body.threshold,
            clear_threshold=body.default_threshold,
            allowlist=body.allowlist,
            enabled=body.enabled,
            description=body.description,
            robust=body.robust,
        )
    )
    return changed


@router.delete("/{bank}", status_code=204, summary="Delete a bank and its entries")
async def delete_bank(bank: str, request: Request, client: BankAdminClient) -> Response:
    await run_in_threadpool(get_services(request).banks(client.actor).delete_bank, bank)
    return Response(status_code=204)


@router.get("/{bank}/entries", response_model=Page[BankEntry], summary="List a bank's entries")
async def list_entries(
    bank: str,
    request: Request,
    client: BankAdminClient,
    limit: int | None = None,
    cursor: str | None = None,
    include_retracted: bool = False,
) -> dict[str, Any]:
    size = clamp_limit(limit)
    after = decode_cursor(cursor) or 0
    svc = get_services(request).banks(client.actor)

    def fetch() -> list[Any]:
        return svc.page_entries(bank, after=after, limit=size + 1, include_retracted=include_retracted)

    entries = await run_in_threadpool(fetch)
    return page(entries, size, lambda e: e.id, lambda e: e)


def _add_hashes(svc: BankService, bank: str, body: EntriesIn) -> ImportReport:
    items = [
        EntryInput(
            signal_type=e.signal_type,
            value=e.value,
            category=e.category,
            labels=list(e.labels),
            external_id=e.external_id,
            note=e.note,
            quality=e.quality,
            line=i + 1,
        )
        for i, e in enumerate(body.entries)
    ]
    return svc.add_entries(bank, items, source=EntrySource.API, source_ref="api")


def _add_upload(
    services: Services, actor: str, bank: str, data: bytes, fields: dict[str, str]
) -> dict[str, Any]:
    """Hash an uploaded file as a bank reference (exact PDQ) and add its signals."""
    added = add_bank_media(
        services.store,
        services.settings,
        lambda: services.blobs,
        actor,
        bank,
        [MediaUpload(fields.get("filename") or "upload", data)],
        category=fields.get("category") or None,
        labels=[x.strip() for x in fields.get("labels", "").split(";") if x.strip()],
        note=fields.get("note") or None,
        external_id=fields.get("external_id") or None,
        source_ref=fields.get("filename") or "api-upload",
    )
    return _report(added.report)


@router.post(
    "/{bank}/entries",
    response_model=ImportReportOut,
    summary="Add entries (hashes, or an uploaded file to hash)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": EntriesIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "category": {"type": "string"},
                            "labels": {"type": "string", "description": "separated by ;"},
                            "note": {"type": "string"},
                            "external_id": {"type": "string"},
                        },
                    }
                },
            },
        }
    },
)
async def add_entries(bank: str, request: Request, client: BankAdminClient) -> dict[str, Any]:
    """Add hashes (JSON ``entries``), or upload a media file whose MD5, SHA-1, SHA-256 and PDQ are
    added. Invalid rows are reported with their position; the rest are added."""
    services = get_services(request)
    if is_upload(request):
        data, fields = await read_upload(request, services.settings.upload_read_limit())
        return await run_in_threadpool(_add_upload, services, client.actor, bank, data, fields)
    body: EntriesIn = await read_json(request, EntriesIn)
    report = await run_in_threadpool(_add_hashes, services.banks(client.actor), bank, body)
    return _report(report)


@router.post("/{bank}/entries/{ref}/retract", response_model=EntriesChanged, summary="Retract entries")
async def retract(
    bank: str, ref: str, body: RetractIn, request: Request, client: BankAdminClient
) -> dict[str, Any]:
    """Withdraw the entries named by ``ref``: an entry id, an external id (all its signals) or a hash."""
    svc = get_services(request).banks(client.actor)
    entries = await run_in_threadpool(svc.retract, bank, ref, body.reason)
    return {"entries": entries}


@router.post("/{bank}/entries/{ref}/restore", response_model=EntriesChanged, summary="Restore entries")
async def restore(bank: str, ref: str, request: Request, client: BankAdminClient) -> dict[str, Any]:
    svc = get_services(request).banks(client.actor)
    entries = await run_in_threadpool(svc.restore, bank, ref)
    return {"entries": entries}


@router.post(
    "/{bank}/import",
    response_model=ImportReportOut,
    summary="Import a hash list",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
                "text/csv": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def import_list(
    bank: str,
    request: Request,
    client: BankAdminClient,
    format: str = Query(description="csv, jsonl, vics, ncmec-xml (the CLI's formats)."),
    name: str = Query(default="api-upload", max_length=500, description="Source name, for provenance."),
) -> dict[str, Any]:
    """Import a hash-list file in one of the CLI's formats. Invalid rows are reported with their line."""
    services = get_services(request)
    reader = get_format(format)
    data, fields = await read_upload(request, services.settings.max_file_bytes)
    source_name = fields.get("name") or name

    def run() -> ImportReport:
        return services.banks(client.actor).import_stream(
            bank,
            io.BytesIO(data),
            fmt=reader.name,
            source_name=source_name,
            sha256=hashlib.sha256(data).hexdigest(),
        )

    return _report(await run_in_threadpool(run))


@router.get("/{bank}/export", summary="Export a bank as a hash list", response_class=StreamingResponse)
async def export(
    bank: str,
    request: Request,
    client: BankAdminClient,
    format: str = Query(default="csv", description="csv, jsonl, vics, ..."),
    include_retracted: bool = False,
) -> Response:
    """The bank in a hash-list format (an audited export)."""
    reader = get_format(format)
    if not reader.can_write:
        raise InvalidInputError(f"{reader.name} is an import-only format")
    svc = get_services(request).banks(client.actor)

    def run() -> bytes:
        buf = io.BytesIO()
        svc.export(bank, buf, reader.name, include_retracted=include_retracted)
        return buf.getvalue()

    data = await run_in_threadpool(run)
    media, ext = download_type(reader.name)
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="bank-export.{ext}"'},
    )


@router.get("/{bank}/policy", response_model=Policy, summary="The bank's review and flood policy")
async def get_policy(bank: str, request: Request, client: BankAdminClient) -> Policy:
    return await run_in_threadpool(get_services(request).actions(client.actor).get_policy, bank)


@router.put("/{bank}/policy", response_model=Policy, summary="Set the bank's review and flood policy")
async def set_policy(bank: str, body: PolicyIn, request: Request, client: BankAdminClient) -> Policy:
    """Two-person confirmation, flood limits (matches of one entry per window before auto-blocking
    stops) and whether reference thumbnails of uploaded entries are kept."""
    svc = get_services(request).actions(client.actor)
    policy = await run_in_threadpool(
        lambda: svc.set_policy(
            bank,
            two_person_review=body.two_person_review,
            flood_max_matches=body.flood_max_matches,
            flood_window_seconds=body.flood_window_seconds,
            keep_thumbnails=body.keep_thumbnails,
            clear_flood=body.default_flood,
        )
    )
    return policy


__all__ = ["FORMATS", "router"]
