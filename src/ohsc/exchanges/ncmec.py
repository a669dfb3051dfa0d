"""``ncmec``: NCMEC's hash sharing API v2 (``GET /v2/entries``, XML, HTTP basic auth).

As NCMEC documents it and python-threatexchange's client reads it: ``/v2/entries?from=&to=``
answers ``<queryResult>`` with ``<images>`` and ``<videos>``, each holding ``<image>``/``<video>``
entries (``<id>``, ``<member>``, ``<classification>``, ``<fingerprints>``) and
``<deletedImage>``/``<deletedVideo>`` tombstones that name only the entry id; more pages follow
through ``<paging><next>`` (a path relative to the environment's base URL). Entries do not come
in time order, so a time window counts as fetched only once its last page is in: the window's
``to`` is fixed when a pass starts and kept in the checkpoint with the next page's path, and a
resumed pass uses exactly that window.

Checkpoint: ``{"from": T}`` between passes; ``{"from": T, "to": U, "next": PATH}`` inside one.

Feedback (as python-threatexchange's client speaks it): a vote on one fingerprint of one entry,
``PUT /v2/entries/{member id}/{entry id}/{fingerprint type}/feedback`` with a
``<feedbackSubmission>`` holding ``<affirmative/>`` (a confirmed match) or ``<negative>`` with
the ``<reasonIds><guid>`` of one of the reasons ``GET /v2/feedback/{fingerprint type}/reasons``
lists (a disputed match). The member id is the one that listed the entry (the record's
``ncmec:member:<id>`` label).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from lxml import etree

from ohsc.errors import ExchangeError, InvalidInputError
from ohsc.exchanges.http import fetch, http_client
from ohsc.exchanges.model import Exchange, ExchangeRecord, Feedback, FetchedPage, Verdict

BASE_URL = "https://report.cybertip.org/hashsharing"
NS = "https://hashsharing.ncmec.org/hashsharing/v2"
FINGERPRINTS = {"md5": "md5", "sha1": "sha1", "sha256": "sha256", "pdq": "pdq"}
ENTRIES = {
    "image": ("image", False),
    "video": ("video", False),
    "deletedImage": ("image", True),
    "deletedVideo": ("video", True),
}
#: OHSC signal types NCMEC takes feedback on, as its fingerprint types (its API has no SHA-256 vote)
FEEDBACK_TYPES = {"md5": "MD5", "sha1": "SHA1", "pdq": "PDQ"}
MEMBER_LABEL = "ncmec:member:"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


def _time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _child_text(el: etree._Element, name: str) -> str:
    for child in el:
        if _local(child) == name:
            return (child.text or "").strip()
    return ""


def parse_entries(xml: bytes) -> tuple[list[ExchangeRecord], list[str], str]:
    """Records, notes and the next page's path of one ``/v2/entries`` answer."""
    try:
        root = etree.fromstring(xml, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise ExchangeError(f"NCMEC answered XML that does not parse (line {exc.lineno})") from None
    records: list[ExchangeRecord] = []
    notes: list[str] = []
    unusable: dict[str, int] = {}
    next_path = ""
    for group in root:
        name = _local(group)
        if name == "paging":
            next_path = _child_text(group, "next")
            continue
        for el in group:
            kind_deleted = ENTRIES.get(_local(el))
            if kind_deleted is None:
                continue
            kind, deleted = kind_deleted
            entry_id = _child_text(el, "id")
            if not entry_id:
                notes.append(f"an {_local(el)} without its id skipped")
                continue
            if deleted:
                records.append(ExchangeRecord(entry_id, withdrawn=True))
                continue
            member = next((c for c in el if _local(c) == "member"), None)
            labels = [f"ncmec:{kind}"]
            member_id = (member.get("id") or "").strip() if member is not None else ""
            if member_id.isdigit():
                labels.append(f"ncmec:member:{member_id}")
            classification = _child_text(el, "classification")
            signals: list[tuple[str, str]] = []
            for fingerprints in (c for c in el if _local(c) == "fingerprints"):
                for fp in fingerprints:
                    fp_name = _local(fp).lower()
                    if fp_name in FINGERPRINTS and (fp.text or "").strip():
                        signals.append((FINGERPRINTS[fp_name], (fp.text or "").strip()))
                    elif fp_name:
                        unusable[fp_name] = unusable.get(fp_name, 0) + 1
            records.append(
                ExchangeRecord(
                    entry_id,
                    tuple(signals),
                    category=f"ncmec:{classification}" if classification else None,
                    labels=tuple(labels),
                )
            )
    for fp_name, n in sorted(unusable.items()):
        notes.append(f"{n} {fp_name} fingerprint(s) OHSC cannot match were left out")
    return records, notes, next_path


class NcmecExchange(Exchange):
    kind = "ncmec"
    secret_options = ("password",)
    required_options = ("username", "password")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = (self.options.get("url") or BASE_URL).rstrip("/")
        if not self.base.startswith(("http://", "https://")):
            raise InvalidInputError("the NCMEC URL must be an http(s) URL (the environment's base)")
        self._http: httpx.Client | None = None
        self._reasons: dict[str, dict[str, str]] = {}

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = http_client(self.settings)
            self._http.auth = httpx.BasicAuth(self.options["username"], self.secrets["password"])
        return self._http

    def _get(self, url: str, params: dict[str, str] | None = None) -> bytes:
        what = f"NCMEC {self.name!r}"
        status, body = fetch(self.http, "GET", url, what, params=params)
        if status != 200:
            raise ExchangeError(f"{what}: /v2/entries answered HTTP {status}")
        return body

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchedPage]:
        cp = dict(checkpoint or {})
        start = int(cp.get("from", 0))
        end = int(cp.get("to") or time.time())
        next_path = str(cp.get("next") or "")
        while True:
            if next_path:
                if not next_path.startswith("/"):
                    raise ExchangeError(
                        f"NCMEC {self.name!r}: a next page outside the API ({next_path[:80]!r})"
                    )
                xml = self._get(self.base + next_path)
            else:
                xml = self._get(f"{self.base}/v2/entries", {"from": _time(start), "to": _time(end)})
            records, notes, next_path = parse_entries(xml)
            after = {"from": start, "to": end, "next": next_path} if next_path else {"from": end}
            yield FetchedPage(records, after, notes, facts={"from": start, "to": end})
            if not next_path:
                return

    # --- feedback ------------------------------------------------------------------------

    @property
    def supports_feedback(self) -> bool:
        return True

    def send_feedback(self, items: Sequence[Feedback]) -> int:
        """One vote per fingerprint that matched; the number sent. A fingerprint NCMEC takes no
        vote on (SHA-256) or a record without its member is left out. A vote NCMEC refuses
        raises :class:`ExchangeError` (the verdicts are offered again later; a vote sent twice
        replaces itself)."""
        sent = 0
        for item in items:
            fp_type = FEEDBACK_TYPES.get(item.signal_type)
            member = next((x[len(MEMBER_LABEL) :] for x in item.labels if x.startswith(MEMBER_LABEL)), "")
            if fp_type is None or not member.isdigit():
                continue
            url = f"{self.base}/v2/entries/{member}/{quote(item.source_id, safe='')}/{fp_type}/feedback"
            what = f"NCMEC {self.name!r}"
            status, _ = fetch(
                self.http,
                "PUT",
                url,
                what,
                content=self._vote(item.verdict, fp_type),
                headers={"Content-Type": "application/xml; charset=utf-8"},
            )
            if status not in (200, 201, 204):
                raise ExchangeError(
                    f"{what}: feedback on entry {item.source_id!r} refused with HTTP {status}"
                )
            sent += 1
        return sent

    def _vote(self, verdict: Verdict, fp_type: str) -> bytes:
        root = etree.Element("feedbackSubmission", nsmap={None: NS})
        if verdict == Verdict.CONFIRMED:
            etree.SubElement(root, "affirmative")
        else:
            negative = etree.SubElement(root, "negative")
            reasons = etree.SubElement(negative, "reasonIds")
            etree.SubElement(reasons, "guid").text = self._dispute_reason(fp_type)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    def _dispute_reason(self, fp_type: str) -> str:
        """The reason GUID of a disputed vote: the option ``dispute_reason`` (a GUID or a name
        among NCMEC's reasons for this fingerprint type), or NCMEC's only reason."""
        if fp_type not in self._reasons:
            what = f"NCMEC {self.name!r}"
            status, body = fetch(self.http, "GET", f"{self.base}/v2/feedback/{fp_type}/reasons", what)
            if status != 200:
                raise ExchangeError(f"{what}: /v2/feedback/{fp_type}/reasons answered HTTP {status}")
            try:
                root = etree.fromstring(body, _PARSER)
            except etree.XMLSyntaxError:
                raise ExchangeError(f"{what}: the feedback reasons do not parse") from None
            self._reasons[fp_type] = {
                el.get("guid", ""): el.get("name", "") for el in root.iter() if _local(el) == "reason"
            }
        reasons = {g: n for g, n in self._reasons[fp_type].items() if g}
        wanted = (self.options.get("dispute_reason") or "").strip()
        chosen = [g for g, n in reasons.items() if wanted and wanted in (g, n)]
        if not wanted and len(reasons) == 1:
            chosen = list(reasons)
        if len(chosen) != 1:
            names = "; ".join(f"{g} ({n})" for g, n in sorted(reasons.items()))
            raise ExchangeError(
                f"NCMEC {self.name!r}: a disputed {fp_type} match needs one of NCMEC's reasons, "
                f"named when the exchange is added: --set dispute_reason=GUID ({names or 'none offered'})"
            )
        return chosen[0]

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
