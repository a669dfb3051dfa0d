"""NCMEC hash-sharing XML (API v2 entry documents). Import only.

What ``GET /v2/entries`` of NCMEC's hash-sharing API returns, saved to a file::

    <queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
      <images count="2" maxTimestamp="...">
        <image>
          <member id="42">Example Member</member>
          <timestamp>2017-10-24T15:00:00Z</timestamp>
          <id>image1</id>
          <classification>A1</classification>
          <fingerprints><md5>...</md5><sha1>...</sha1><pdna>...</pdna></fingerprints>
        </image>
        <deletedImage><member id="43">...</member><id>image4</id><timestamp>...</timestamp></deletedImage>
      </images>
      <videos>... <video>, <deletedVideo> ...</videos>
    </queryResult>

A single ``<image>`` or ``<video>`` document (``GET /v2/entries/{id}``) reads too. Each entry gives
one entry per usable fingerprint (md5, sha1, sha256, pdq) with ``external_id`` = the NCMEC entry
id and ``category`` = ``ncmec:<classification>``. A ``<deletedImage>``/``<deletedVideo>`` is a
tombstone: it names only the entry id, so it becomes a withdrawal by external id that retracts
every hash that entry brought. Fingerprints OHSC cannot match (PhotoDNA ``pdna``, links to large
video fingerprints) are skipped with a note.

Parsed with lxml ``iterparse`` (entities are not resolved, nothing is fetched), clearing each
entry once read: memory stays flat however long the file. Bad entries are reported with the
line of their start tag.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from ohsc.banks.formats.base import HashListFormat, ReadItem, Tally, clean_text
from ohsc.banks.model import EntryInput, ReadNote, RowError
from ohsc.errors import FormatError

if TYPE_CHECKING:
    from lxml import etree

NAMESPACE = "https://hashsharing.ncmec.org/hashsharing/v2"
CATEGORY_PREFIX = "ncmec:"
#: The industry classification NCMEC entries carry (``A1`` ... ``B2``); other values are kept as
#: ``ncmec:<value>`` too.
CLASSIFICATIONS = {
    "A1": "prepubescent minor, sex act",
    "A2": "prepubescent minor, lascivious exhibition",
    "B1": "pubescent minor, sex act",
    "B2": "pubescent minor, lascivious exhibition",
}

#: Entry element -> (media kind, is a deletion).
ENTRIES = {
    "image": ("image", False),
    "video": ("video", False),
    "deletedImage": ("image", True),
    "deletedVideo": ("video", True),
}
#: Root elements of documents we read.
ROOTS = {"queryResult", "images", "videos", *ENTRIES}
#: Fingerprint elements -> signal type.
FINGERPRINTS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "pdq": "pdq"}
#: Fingerprints we know but cannot use -> the name a note gives them.
UNUSABLE = {"pdna": "PhotoDNA", "photodna": "PhotoDNA", "tmk-pdqf": "TMK+PDQF", "videntifier": "Videntifier"}


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    return tag.rpartition("}")[2]


def _child(el: etree._Element, name: str) -> etree._Element | None:
    for child in el:
        if _local(child) == name:
            return child
    return None


def _text(el: etree._Element | None) -> str:
    return (el.text or "").strip() if el is not None else ""


class _Reader:
    def __init__(self) -> None:
        self.unusable = Tally()

    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        from lxml import etree

        parser = etree.iterparse(
            fh,
            events=("end",),
            tag=tuple(f"{{*}}{name}" for name in ENTRIES),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        produced = False
        try:
            for _event, el in parser:
                if not produced:
                    root = _local(el.getroottree().getroot())
                    if root not in ROOTS:
                        raise FormatError(f"not an NCMEC hash-sharing document (its root is <{root}>)")
                for item in self._entry(el, _local(el), el.sourceline or 0):
                    produced = True
                    yield item
                # keep memory flat: drop what has been read
                el.clear(keep_tail=True)
                parent = el.getparent()
                if parent is not None:
                    while el.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as exc:
            message = f"not well-formed XML: {str(exc.msg or exc).splitlines()[0][:200]}"
            if not produced:
                raise FormatError(message, detail={"line": exc.lineno}) from None
            yield RowError(exc.lineno, f"{message}; reading stopped here")
        if not produced:
            root_el = parser.root
            root = _local(root_el) if root_el is not None else ""
            if root not in ROOTS:
                raise FormatError(f"not an NCMEC hash-sharing document (its root is <{root}>)")
        if self.unusable:
            yield ReadNote(
                f"skipped fingerprints OHSC cannot match: {self.unusable.summary()} "
                "(it uses md5, sha1, sha256 and pdq)"
            )

    def _entry(self, el: etree._Element, name: str, line: int) -> Iterator[ReadItem]:
        kind, deleted = ENTRIES[name]
        try:
            entry_id = clean_text(_text(_child(el, "id")), 200)
        except ValueError as exc:
            yield RowError(line, f"<{name}> id: {exc}")
            return
        if entry_id is None:
            yield RowError(line, f"<{name}> without an <id>")
            return
        if deleted:
            when = _text(_child(el, "timestamp"))
            yield EntryInput(
                signal_type="",
                value="",
                external_id=entry_id,
                retract=True,
                retraction_reason=f"deleted in NCMEC hash sharing{f' at {when[:40]}' if when else ''}",
                line=line,
            )
            return
        member = _child(el, "member")
        member_id = (member.get("id") or "").strip() if member is not None else ""
        labels = [f"ncmec:{kind}"]
        if member_id.isdigit():
            labels.append(f"ncmec:member:{member_id}")
        try:
            classification = clean_text(_text(_child(el, "classification")), 100 - len(CATEGORY_PREFIX))
        except ValueError as exc:
            yield RowError(line, f"entry {entry_id}: classification {exc}")
            return
        category = f"{CATEGORY_PREFIX}{classification}" if classification else None
        fingerprints = _child(el, "fingerprints")
        if fingerprints is None or not len(fingerprints):
            yield RowError(line, f"entry {entry_id}: no fingerprints")
            return
        for fp in fingerprints:
            fp_name = _local(fp).lower()
            if not fp_name:
                continue
            signal_type = FINGERPRINTS.get(fp_name)
            if signal_type is None:  # PhotoDNA, links to large video fingerprints, ...
                self.unusable.add(UNUSABLE.get(fp_name, fp_name[:40]))
                continue
            value = _text(fp)
            if not value:
                yield RowError(line, f"entry {entry_id}: empty <{fp_name}>")
                continue
            yield EntryInput(
                signal_type=signal_type,
                value=value,
                category=category,
                labels=list(labels),
                external_id=entry_id,
                line=line,
            )


class NcmecXmlFormat(HashListFormat):
    name = "ncmec-xml"
    description = "NCMEC hash-sharing XML (API v2 entries; deletions retract). Import only"
    can_write = False

    def read(self, fh: BinaryIO) -> Iterator[ReadItem]:
        return _Reader().read(fh)
