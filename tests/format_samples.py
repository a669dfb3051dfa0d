"""Sample hash-list documents for the format tests, built from benign generated pictures.

Every hash here is the MD5 / SHA-1 / SHA-256 / PDQ of an ``ohsc.demo.synth`` picture (shapes over
colour fields) or arbitrary hex: nothing refers to real material.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

from PIL import Image

from ohsc.banks.model import BankEntry
from ohsc.demo.synth import jpeg_bytes, picture
from ohsc.signals.pdq import hash_image

VICS_1_3_CASES = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Cases"
VICS_1_3_MEDIA = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media"
VICS_2_0_MEDIA = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media"
VICS_2_0_CASES = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases"
NCMEC_NS = "https://hashsharing.ncmec.org/hashsharing/v2"
#: 192 base64 characters, the shape of a PhotoDNA hash (arbitrary content).
PHOTODNA = "QUJD" * 48


@dataclass(frozen=True)
class Pic:
    md5: str
    sha1: str
    sha256: str
    pdq: str


@functools.cache
def pic(seed: int) -> Pic:
    data = jpeg_bytes(picture(seed, (320, 240)))
    pdq = hash_image(Image.open(io.BytesIO(data)), mode="exact").hex
    return Pic(
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        pdq=pdq,
    )


def fake_md5(i: object) -> str:
    return hashlib.md5(f"sample-{i}".encode(), usedforsecurity=False).hexdigest()


def media(seed: int, media_id: object = None, category: object = 1, **extra: Any) -> dict[str, Any]:
    """A VICS media record for picture ``seed`` (upper-case hex, as Project VIC writes it)."""
    p = pic(seed)
    rec: dict[str, Any] = {
        "MediaID": seed if media_id is None else media_id,
        "Category": category,
        "MD5": p.md5.upper(),
        "SHA1": p.sha1.upper(),
        "MediaSize": str(1000 + seed),
        "IsPrecategorized": "true",
    }
    rec.update(extra)
    return rec


def vics(
    value: list[Any], context: str | None = VICS_2_0_MEDIA, key: str = "@odata.context"
) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if context is not None:
        doc[key] = context
    doc["value"] = value
    return doc


def one_per_line(doc: dict[str, Any]) -> bytes:
    """A VICS document with each value item on its own line: item ``i`` is on line ``i + 3``."""
    head = {k: v for k, v in doc.items() if k != "value"}
    lines = ["{"]
    lines += [f"{json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    lines.append('"value": [')
    items = [json.dumps(item) for item in doc["value"]]
    lines += [item + ("," if i < len(items) - 1 else "") for i, item in enumerate(items)]
    lines += ["]", "}"]
    return ("\n".join(lines) + "\n").encode()


def line_of(text: bytes, needle: str) -> int:
    """1-based line number of the first line containing ``needle``."""
    for number, line in enumerate(text.decode().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the document")


def ncmec_image(
    entry_id: str,
    seed: int | None = None,
    classification: str | None = "A1",
    member: int = 42,
    extra: str = "",
    md5: str | None = None,
) -> str:
    p = pic(seed) if seed is not None else None
    md5 = md5 if md5 is not None else (p.md5 if p else fake_md5(entry_id))
    sha1 = f"<sha1>{p.sha1}</sha1>" if p else ""
    cls = f"<classification>{classification}</classification>" if classification else ""
    return f"""        <image>
            <member id="{member}">Example Member</member>
            <timestamp>2017-10-24T15:00:00Z</timestamp>
            <id>{entry_id}</id>
            {cls}
            <fingerprints>
                <md5>{md5}</md5>
                {sha1}
                <pdna>{PHOTODNA}</pdna>{extra}
            </fingerprints>
        </image>
"""


def ncmec_deleted(entry_id: str, kind: str = "Image", member: int = 42) -> str:
    return f"""        <deleted{kind}>
            <member id="{member}">Example Member</member>
            <id>{entry_id}</id>
            <timestamp>2017-10-25T15:10:00Z</timestamp>
        </deleted{kind}>
"""


def ncmec(images: str = "", videos: str = "") -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>', f'<queryResult xmlns="{NCMEC_NS}">']
    if images:
        parts.append(f'    <images count="1" maxTimestamp="2017-10-24T15:10:00Z">\n{images}    </images>')
    if videos:
        parts.append(f'    <videos count="1" maxTimestamp="2017-10-24T15:20:00Z">\n{videos}    </videos>')
    parts.append("</queryResult>")
    return ("\n".join(parts) + "\n").encode()


def keyed(entries: list[BankEntry]) -> dict[tuple[str, str], BankEntry]:
    return {(e.signal_type, e.value): e for e in entries}
