"""Links in a page: media (img, srcset, picture/source, video/source, links to media files, CSS
backgrounds) and pages to follow (``a href``). lxml's HTML parser reads broken markup as
browsers do; nothing in the page is run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

MEDIA_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".avif", ".heic",
        ".mp4", ".m4v", ".webm", ".mov", ".avi", ".mkv", ".3gp", ".mpg", ".mpeg", ".wmv", ".flv",
    }
)  # fmt: skip
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]+))\s*\)""", re.IGNORECASE)
#: most links kept per page (a hostile page cannot flood the frontier)
MAX_LINKS = 2000


@dataclass(slots=True)
class PageLinks:
    media: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)


def is_media_url(url: str) -> bool:
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return dot >= 0 and path[dot:] in MEDIA_EXTENSIONS


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset`` (``a.jpg 1x, b.jpg 2x``; URLs may contain commas only when the
    descriptor follows, as the HTML standard's parser reads them)."""
    out: list[str] = []
    for candidate in re.split(r",\s+|,(?=\S+\s+\d)", value.strip()):
        url = candidate.strip().split()[0] if candidate.strip() else ""
        if url:
            out.append(url.rstrip(","))
    return out


def css_urls(text: str) -> list[str]:
    return [next(g for g in m.groups() if g is not None) for m in _CSS_URL.finditer(text)]


def extract(html: bytes, base_url: str, *, encoding: str | None = None) -> PageLinks:
    """Media and page links of an HTML document, absolute, in document order, without repeats."""
    links = PageLinks()
    if not html.strip():
        return links
    try:
        parser = lxml.html.HTMLParser(encoding=encoding) if encoding else None
        root = lxml.html.document_fromstring(html, parser=parser)
    except (etree.ParserError, ValueError, LookupError):
        return links
    base = base_url
    for b in root.iter("base"):
        href = b.get("href")
        if href:
            base = urljoin(base_url, href.strip())
        break
    media: dict[str, None] = {}
    pages: dict[str, None] = {}

    def add(bucket: dict[str, None], raw: str | None) -> None:
        if not raw or len(bucket) >= MAX_LINKS:
            return
        raw = raw.strip()
        if raw.startswith(("data:", "javascript:", "mailto:", "#", "blob:")):
            return
        url = urljoin(base, raw).split("#", 1)[0]
        if url.startswith(("http://", "https://")):
            bucket.setdefault(url, None)

    for el in root.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag == "img":
            add(media, el.get("src"))
            add(media, el.get("data-src"))
            for u in srcset_urls(el.get("srcset") or ""):
                add(media, u)
        elif tag == "source":
            add(media, el.get("src"))
            for u in srcset_urls(el.get("srcset") or ""):
                add(media, u)
        elif tag == "video":
            add(media, el.get("src"))
            add(media, el.get("poster"))
        elif tag in ("a", "area"):
            href = el.get("href")
            if href and is_media_url(urljoin(base, href.strip())):
                add(media, href)
            else:
                add(pages, href)
        elif tag == "style" and el.text:
            for u in css_urls(el.text):
                add(media, u)
        style = el.get("style") if tag else None
        if style:
            for u in css_urls(style):
                add(media, u)
    links.media = list(media)
    links.pages = [p for p in pages if p not in media]
    return links
