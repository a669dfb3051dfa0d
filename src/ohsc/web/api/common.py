"""Helpers shared by the API routers: bodies, uploads, problem responses for the docs."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from ohsc.errors import FileTooLargeError, InvalidInputError
from ohsc.store.types import ascii_int
from ohsc.web.api.schemas import ProblemOut

PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": ProblemOut, "content": {"application/problem+json": {}}, "description": text}
    for status, text in (
        (401, "No or an invalid API key"),
        (403, "The key lacks a scope"),
        (404, "Not found"),
        (422, "Invalid input"),
        (429, "Rate limited (see Retry-After)"),
    )
}


def check_length(request: Request, limit: int) -> None:
    declared = ascii_int(request.headers.get("content-length"))
    if declared is not None and declared > limit + 64 * 1024:
        raise FileTooLargeError(f"the request is larger than {limit} bytes")


async def read_json(request: Request, model: type[BaseModel], limit: int = 16 * 1024 * 1024) -> Any:
    check_length(request, limit)
    body = await request.body()
    if len(body) > limit:
        raise FileTooLargeError(f"the request is larger than {limit} bytes")
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise InvalidInputError(f"invalid request: {problems}") from None


async def read_upload(request: Request, limit: int) -> tuple[bytes, dict[str, str]]:
    """The uploaded file (multipart field ``file``, or a raw body) and the other form fields."""
    check_length(request, limit)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=50) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInputError("send the file in a multipart field named 'file'")
            data = await upload.read(limit + 1)
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
            if upload.filename:
                fields.setdefault("filename", upload.filename[:200])
    else:
        data = await request.body()
        fields = dict(request.query_params)
    if len(data) > limit:
        raise FileTooLargeError(f"the upload is larger than {limit} bytes (OHSC_UPLOAD_MAX_BYTES)")
    if not data:
        raise InvalidInputError("the upload is empty")
    return data, fields


def is_upload(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type != "application/json" and not content_type.endswith("+json")


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")
