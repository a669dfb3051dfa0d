"""Media and page links of a page, as the crawler reads them (lxml; nothing in the page runs)."""

from __future__ import annotations

from ohsc.removal.extract import MAX_LINKS, css_urls, extract, is_media_url, srcset_urls

BASE = "http://site.example/dir/page.html"


def test_every_kind_of_media_link() -> None:
    html = b"""<html><head><base href="/b/"><style>.x{background:url("bg.png")}</style></head><body>
    <img src="a.jpg" srcset="a-2x.jpg 2x, a-3x.jpg 3x" data-src="lazy.webp">
    <picture><source srcset="p.avif 1x,p2.avif 2x"><img src="p.jpg"></picture>
    <video src="v.mp4" poster="poster.jpg"><source src="v.webm"></video>
    <a href="full.JPEG?size=big#frag">picture</a> <a href="next.html#top">next</a>
    <div style="background-image: url('div.gif')"></div>
    <img src="data:image/png;base64,AAAA"> <a href="javascript:alert(1)">x</a> <a href="mailto:a@b">m</a>
    </body></html>"""
    links = extract(html, BASE)
    b = "http://site.example/b/"
    assert links.media == [
        b + "bg.png", b + "a.jpg", b + "lazy.webp", b + "a-2x.jpg", b + "a-3x.jpg", b + "p.avif", b + "p2.avif",
        b + "p.jpg", b + "v.mp4", b + "poster.jpg", b + "v.webm", b + "full.JPEG?size=big", b + "div.gif",
    ]  # fmt: skip
    assert links.pages == [b + "next.html"]


def test_helpers_and_bad_input() -> None:
    assert srcset_urls("a.jpg 1x, b.jpg 2x") == ["a.jpg", "b.jpg"]
    assert srcset_urls("") == []
    assert css_urls("url(a.png) url( 'b.png' ) url(\"c.png\")") == ["a.png", "b.png", "c.png"]
    assert is_media_url("http://x/y.MP4?z=1") and not is_media_url("http://x/y.html")
    assert extract(b"", BASE).media == [] and extract(b"\x00\xff", BASE).pages == []
    many = b"".join(b'<img src="%d.jpg">' % i for i in range(MAX_LINKS + 50))
    assert len(extract(many, BASE).media) == MAX_LINKS
