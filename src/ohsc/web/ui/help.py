"""Public help pages (no login): the interstitial a platform sends people to after a deterrence
check, the embeddable widget (``/help/widget.js`` and the framed ``/help/widget``) and the help
directory (``/help``), all localised from the message catalogue and working without scripts."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ohsc.prevention.deterrence import Resource
from ohsc.prevention.messages import CONTEXTS, normalise_locale
from ohsc.prevention.service_fields import AUDIENCES
from ohsc.web.auth import allow_anonymous, get_services
from ohsc.web.prevention import Prevention, prevention
from ohsc.web.templating import render

WIDGET_JS = Path(__file__).parent.parent.joinpath("static", "prevention", "widget.js")

router = APIRouter(prefix="/help", include_in_schema=False, dependencies=[Depends(allow_anonymous)])


def page_locale(request: Request, p: Prevention) -> str:
    """The catalogue locale of a public page: ``?locale=``, else the browser's languages."""
    catalogue = p.deterrence.catalogue
    asked = normalise_locale(request.query_params.get("locale"))
    if asked is not None:
        return catalogue.resolve(asked)
    return catalogue.negotiate(request.headers.get("accept-language"))


def page_context(p: Prevention, locale: str) -> dict[str, Any]:
    catalogue = p.deterrence.catalogue
    return {
        "lang": locale,
        "dir": catalogue.direction(locale),
        "t": catalogue.strings(locale),
        "locales": catalogue.locales,
    }


def _country(value: str | None) -> str | None:
    cc = (value or "").strip().upper()
    return cc if len(cc) == 2 and cc.isascii() and cc.isalpha() else None


def _context(value: str | None) -> str | None:
    ctx = (value or "").strip().lower()
    return ctx if ctx in CONTEXTS else None


def _message_and_resources(request: Request, p: Prevention, kind: str) -> dict[str, Any]:
    locale = page_locale(request, p)
    country = _country(request.query_params.get("country"))
    service = p.deterrence
    message = service.catalogue.message(locale, None, _context(request.query_params.get("context")))
    found = service.resources.resources_for(
        country=country, locale=message.locale, audience="self", limit=service.max_resources
    )
    resources = [Resource.of(svc, service.click_path) for svc in found]
    service.view(kind, locale=locale)
    query = urlencode({k: v for k, v in (("locale", locale), ("country", country or "")) if v})
    return {
        **page_context(p, locale),
        "message": message,
        "resources": resources,
        "locale_query": f"locale={locale}",
        "directory_url": f"/help?{query}",
    }


@router.get("/deterrence")
async def interstitial(request: Request) -> Response:
    """The page shown instead of results: ``?locale=de&country=DE&context=search``."""
    p = prevention(get_services(request))
    ctx = await run_in_threadpool(_message_and_resources, request, p, "interstitial")
    return render(request, "prevention/interstitial.html", ctx)


@router.get("/widget")
async def widget(request: Request) -> Response:
    """The help box for other sites' pages (framed by ``/help/widget.js``)."""
    services = get_services(request)
    p = prevention(services)
    ctx = await run_in_threadpool(_message_and_resources, request, p, "widget")
    response = render(request, "prevention/widget.html", ctx)
    ancestors = services.settings.help_widget_frame_ancestors.strip() or "'none'"
    response.headers["content-security-policy"] = (
        "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
        f"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
    )
    return response


@router.get("/widget.js")
async def widget_js(request: Request) -> Response:
    """The script a platform puts on its page; it frames ``/help/widget`` (see docs/prevention.md)."""
    return Response(
        WIDGET_JS.read_bytes(),
        media_type="text/javascript",
        headers={
            # other sites load it with <script src>: it must be readable across origins
            "cross-origin-resource-policy": "cross-origin",
            "cache-control": "public, max-age=3600",
        },
    )


def _directory(request: Request, p: Prevention) -> dict[str, Any]:
    params = request.query_params
    locale = page_locale(request, p)
    country = _country(params.get("country"))
    language = normalise_locale(params.get("language"))
    audience = params.get("audience") if params.get("audience") in AUDIENCES else None
    query = (params.get("q") or "").strip()[:100] or None
    services = p.directory.search(country=country, language=language, audience=audience, query=query)
    p.deterrence.view("directory", locale=locale)
    names = p.deterrence.catalogue.locales
    return {
        **page_context(p, locale),
        "services": services,
        "countries": p.directory.countries(),
        "languages": [(tag, names.get(tag, tag)) for tag in p.directory.languages()],
        "audiences": AUDIENCES,
        "chosen": {"country": country, "language": language, "audience": audience, "q": query or ""},
        "click_path": p.deterrence.click_path,
    }


@router.get("")
async def directory(request: Request) -> Response:
    """Help services by country, language and audience (a plain form: works without scripts)."""
    p = prevention(get_services(request))
    return render(request, "prevention/directory.html", await run_in_threadpool(_directory, request, p))
