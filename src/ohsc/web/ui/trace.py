"""Trace an Object, the public side (no login): the gallery, the pictures and the tip form.

The tip form carries a signed single-use token; a small script (``/static/prevention/tip.js``,
no third-party code) solves the proof of work before sending. Errors are shown on the page;
too many tips from one connection get a friendly 429 page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ohsc.errors import ChallengeError, InvalidInputError, RateLimitedError, StateError
from ohsc.prevention.trace import PublicObject
from ohsc.store.types import ascii_int
from ohsc.web.auth import allow_anonymous, get_services
from ohsc.web.prevention import Prevention, prevention
from ohsc.web.templating import render
from ohsc.web.ui.help import page_context, page_locale

router = APIRouter(prefix="/trace", include_in_schema=False, dependencies=[Depends(allow_anonymous)])

FORM_LIMIT = 64 * 1024


def _image_response(data: bytes, mime: str) -> Response:
    return Response(data, media_type=mime, headers={"cache-control": "public, max-age=300"})


@router.get("")
async def gallery(request: Request) -> Response:
    p = prevention(get_services(request))
    locale = page_locale(request, p)
    category = (request.query_params.get("category") or "").strip()[:100] or None

    def load() -> dict[str, Any]:
        return {
            **page_context(p, locale),
            "objects": p.objects.public_list(category=category),
            "categories": p.objects.public_categories(),
            "category": category,
        }

    return render(request, "prevention/gallery.html", await run_in_threadpool(load))


@router.get("/img/{public_id}")
async def image(public_id: str, request: Request) -> Response:
    p = prevention(get_services(request))
    return _image_response(*await run_in_threadpool(p.objects.public_image, public_id))


@router.get("/img/{public_id}/thumb")
async def thumb(public_id: str, request: Request) -> Response:
    p = prevention(get_services(request))
    return _image_response(*await run_in_threadpool(lambda: p.objects.public_image(public_id, thumb=True)))


def _object_page(
    request: Request,
    p: Prevention,
    obj: PublicObject,
    *,
    locale: str,
    error: str = "",
    text: str = "",
    status: int = 200,
) -> Response:
    ctx: dict[str, Any] = {
        **page_context(p, locale),
        "obj": obj,
        "error": error,
        "text": text,
        "sent": request.query_params.get("sent") == "1",
        "max_chars": p.tips.settings.trace_tip_max_chars,
        "challenge": p.tips.challenge(obj.public_id) if not obj.identified else None,
    }
    return render(request, "prevention/object.html", ctx, status_code=status)


@router.get("/o/{public_id}")
async def object_page(public_id: str, request: Request) -> Response:
    p = prevention(get_services(request))
    obj = await run_in_threadpool(p.objects.public_get, public_id)
    return _object_page(request, p, obj, locale=page_locale(request, p))


@router.post("/o/{public_id}/tips")
async def send_tip(public_id: str, request: Request) -> Response:
    """The tip form's target. The tip text is stored as written and escaped wherever shown."""
    p = prevention(get_services(request))
    obj = await run_in_threadpool(p.objects.public_get, public_id)
    declared = ascii_int(request.headers.get("content-length"))
    if declared is not None and declared > FORM_LIMIT:
        raise InvalidInputError("the form is too large")
    form = await request.form(max_files=0, max_fields=20)
    field = {k: v for k, v in form.items() if isinstance(v, str)}
    locale = p.deterrence.catalogue.resolve(field.get("locale") or page_locale(request, p))
    t = p.deterrence.catalogue.strings(locale)
    text = field.get("tip", "")
    if not text.strip():
        return _object_page(request, p, obj, locale=locale, error=t["trace.empty"], status=422)
    if len(text.strip()) > p.tips.settings.trace_tip_max_chars:
        return _object_page(request, p, obj, locale=locale, error=t["trace.too_long"], text=text, status=422)
    address = request.client.host if request.client else None
    try:
        await run_in_threadpool(
            lambda: p.tips.submit(
                public_id,
                text,
                token=field.get("token", ""),
                pow_nonce=field.get("pow", ""),
                honeypot=field.get("website", ""),
                client_address=address,
                locale=locale,
            )
        )
    except RateLimitedError:
        response = render(
            request, "prevention/limited.html", {**page_context(p, locale), "obj": obj}, status_code=429
        )
        response.headers["Retry-After"] = "3600"
        return response
    except ChallengeError as exc:
        error = f"{t['trace.expired']} ({exc.message})"
        return _object_page(request, p, obj, locale=locale, error=error, text=text, status=422)
    except StateError:
        return _object_page(request, p, obj, locale=locale, error=t["trace.identified"], status=409)
    except InvalidInputError as exc:
        return _object_page(request, p, obj, locale=locale, error=exc.message, text=text, status=422)
    return RedirectResponse(f"/trace/o/{public_id}?sent=1&locale={locale}", status_code=303)
