"""Local fakes of NCMEC's hash sharing API v2 and StopNCII's API, served on loopback threads.

They follow the APIs as documented (and as python-threatexchange's clients and test data read
them): paging, timestamps, deletions, feedback, credentials. Every hash in them is invented.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlparse
from xml.sax.saxutils import escape

from lxml import etree

NS = "https://hashsharing.ncmec.org/hashsharing/v2"


@dataclass
class FakeState:
    url: str = ""
    requests: list[str] = field(default_factory=list)
    #: answer HTTP 500 to the Nth entries/FetchHashes request (1-based); 0: never
    fail_on: int = 0
    calls: int = 0


class _Handler(BaseHTTPRequestHandler):
    fake: Any

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.fake.state.requests.append(self.path)
        status, body, ctype = self.fake.get(self)
        self._send(status, body, ctype)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        data = self.rfile.read(length)
        self.fake.state.requests.append(self.path)
        status, body, ctype = self.fake.post(self, data)
        self._send(status, body, ctype)

    def do_PUT(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        data = self.rfile.read(length)
        self.fake.state.requests.append(f"PUT {self.path}")
        status, body, ctype = self.fake.put(self, data)
        self._send(status, body, ctype)


@contextmanager
def serve(fake: Any) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        fake.state.url = f"http://127.0.0.1:{server.server_address[1]}"
        yield fake.state.url
    finally:
        server.shutdown()
        server.server_close()


# --- StopNCII ----------------------------------------------------------------------------------


class FakeStopNcii:
    """``GET /v1/FetchHashes`` and ``POST /v1/SubmitFeedback`` with StopNCII's keys and shapes."""

    def __init__(self, subscription_key: str, fetch_key: str, feedback_key: str, page_size: int = 2) -> None:
        self.keys = (subscription_key, fetch_key, feedback_key)
        self.page_size = page_size
        self.records: list[dict[str, Any]] = []
        self.feedback: list[dict[str, Any]] = []
        self.state = FakeState()

    def add(self, ts: int, signal_type: str, value: str, status: str = "Active") -> None:
        self.records = [
            r for r in self.records if (r.get("signalType"), r.get("hashValue")) != (signal_type, value)
        ]
        self.records.append(
            {
                "lastModtimestamp": ts,
                "signalType": signal_type,
                "hashValue": value,
                "hashStatus": status,
                "caseNumbers": {"case-1": status},
                "CSPFeedbacks": [],
            }
        )

    def _authorised(self, h: BaseHTTPRequestHandler, function_key: str) -> bool:
        return (
            h.headers.get("ocp-apim-subscription-key") == self.keys[0]
            and h.headers.get("x-functions-key") == function_key
        )

    def get(self, h: BaseHTTPRequestHandler) -> tuple[int, bytes, str]:
        url = urlparse(h.path)
        if url.path != "/v1/FetchHashes":
            return 404, b"{}", "application/json"
        if not self._authorised(h, self.keys[1]):
            return 401, b'{"error": "unauthorised"}', "application/json"
        self.state.calls += 1
        if self.state.calls == self.state.fail_on:
            return 500, b"{}", "application/json"
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        start, size = int(q["startTimestamp"]), min(int(q.get("pageSize", 800)), self.page_size)
        chosen = sorted(
            (r for r in self.records if r.get("lastModtimestamp", 0) >= start),
            key=lambda r: (r.get("lastModtimestamp", 0), str(r.get("hashValue"))),
        )
        offset = int(base64.b64decode(q["nextPageToken"]).decode()) if q.get("nextPageToken") else 0
        page = chosen[offset : offset + size]
        more = offset + size < len(chosen)
        body = {
            "count": len(page),
            "nextPageToken": base64.b64encode(str(offset + size).encode()).decode() if more else None,
            "nextSetTimestamp": max((r.get("lastModtimestamp", 0) for r in chosen), default=start - 1) + 1,
            "hasMoreRecords": more,
            "hashRecords": page,
        }
        return 200, json.dumps(body).encode(), "application/json"

    def post(self, h: BaseHTTPRequestHandler, data: bytes) -> tuple[int, bytes, str]:
        if urlparse(h.path).path != "/v1/SubmitFeedback":
            return 404, b"{}", "application/json"
        if not self._authorised(h, self.keys[2]):
            return 401, b'{"error": "unauthorised"}', "application/json"
        body = json.loads(data)
        assert body["count"] == len(body["hashFeedbacks"])
        self.feedback.extend(body["hashFeedbacks"])
        return 200, b"{}", "application/json"


# --- NCMEC -------------------------------------------------------------------------------------


def _ts(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ts(text: str) -> int:
    return int(datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC).timestamp())


@dataclass
class NcmecEntry:
    id: str
    ts: int
    kind: str = "image"
    member: int = 42
    classification: str = "A1"
    fingerprints: dict[str, str] = field(default_factory=dict)
    deleted: bool = False

    def xml(self) -> str:
        tag = ("deleted" + self.kind.capitalize()) if self.deleted else self.kind
        parts = [
            f'<member id="{self.member}">Example Member</member>',
            f"<timestamp>{_ts(self.ts)}</timestamp>",
        ]
        parts.append(f"<id>{escape(self.id)}</id>")
        if not self.deleted:
            parts.append(f"<classification>{self.classification}</classification>")
            fps = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in self.fingerprints.items())
            parts.append(f"<fingerprints>{fps}</fingerprints><feedback />")
        return f"<{tag}>{''.join(parts)}</{tag}>"


#: NCMEC's reasons for a negative vote, per fingerprint type (invented GUIDs and names)
NCMEC_REASONS = {
    "MD5": {"00000000-0000-4000-8000-00000000000a": "Placeholder reason A"},
    "SHA1": {"00000000-0000-4000-8000-00000000000a": "Placeholder reason A"},
    "PDQ": {
        "00000000-0000-4000-8000-00000000000b": "Placeholder reason B",
        "00000000-0000-4000-8000-00000000000c": "Placeholder reason C",
    },
}


@dataclass
class NcmecVote:
    member: int
    entry: str
    fingerprint_type: str
    vote: str  # affirmative | negative
    reason: str | None = None


class FakeNcmec:
    """``GET /v2/status``, ``GET /v2/entries`` (from/to windows, start/size/max paging),
    ``GET /v2/feedback/{type}/reasons`` and ``PUT /v2/entries/{member}/{entry}/{type}/feedback``
    (a ``<feedbackSubmission>`` with ``<affirmative/>`` or ``<negative>`` and a reason GUID)."""

    def __init__(self, username: str, password: str, page_size: int = 2) -> None:
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.page_size = page_size
        self.entries: list[NcmecEntry] = []
        self.state = FakeState()
        self.windows: list[tuple[int, int]] = []
        #: votes as NCMEC keeps them: one per (member, entry, fingerprint type), the last wins
        self.votes: dict[tuple[int, str, str], NcmecVote] = {}

    def get(self, h: BaseHTTPRequestHandler) -> tuple[int, bytes, str]:
        if h.headers.get("authorization") != self.auth:
            return 401, b"", "text/plain"
        url = urlparse(h.path)
        xml_type = "application/xml"
        if url.path == "/v2/status":
            body = f'<status xmlns="{NS}"><username>u</username><member id="1">Tester</member></status>'
            return 200, body.encode(), xml_type
        parts = url.path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["v2", "feedback"] and parts[3] == "reasons":
            reasons = NCMEC_REASONS.get(parts[2])
            if reasons is None:
                return 404, b"", "text/plain"
            inner = "".join(
                f'<reason guid="{g}" name="{escape(n)}" type="{parts[2]}"/>' for g, n in reasons.items()
            )
            body = f'<feedbackReasons xmlns="{NS}"><availableFeedbackReasons>{inner}</availableFeedbackReasons></feedbackReasons>'
            return 200, body.encode(), xml_type
        if url.path != "/v2/entries":
            return 404, b"", "text/plain"
        self.state.calls += 1
        if self.state.calls == self.state.fail_on:
            return 500, b"", "text/plain"
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        start_ts, end_ts = _parse_ts(q["from"]), _parse_ts(q["to"])
        self.windows.append((start_ts, end_ts))
        # NCMEC does not answer in time order: newest first here
        chosen = sorted((e for e in self.entries if start_ts <= e.ts < end_ts), key=lambda e: -e.ts)
        first = int(q.get("start", 1))
        page = chosen[first - 1 : first - 1 + self.page_size]
        groups = []
        for kind in ("image", "video"):
            items = [e for e in page if e.kind == kind]
            if items:
                top = _ts(max(e.ts for e in items))
                inner = "".join(e.xml() for e in items)
                groups.append(f'<{kind}s count="{len(items)}" maxTimestamp="{top}">{inner}</{kind}s>')
        paging = ""
        if first - 1 + self.page_size < len(chosen):
            nxt = "/v2/entries?" + urlencode(
                {
                    "from": q["from"],
                    "to": q["to"],
                    "start": first + self.page_size,
                    "size": self.page_size,
                    "max": len(chosen),
                }
            )
            paging = f"<paging><next>{escape(nxt)}</next></paging>"
        body = f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{NS}">{"".join(groups)}{paging}</queryResult>'
        return 200, body.encode(), xml_type

    def post(self, h: BaseHTTPRequestHandler, data: bytes) -> tuple[int, bytes, str]:
        return 405, b"", "text/plain"

    def put(self, h: BaseHTTPRequestHandler, data: bytes) -> tuple[int, bytes, str]:
        if h.headers.get("authorization") != self.auth:
            return 401, b"", "text/plain"
        parts = urlparse(h.path).path.strip("/").split("/")
        if len(parts) != 6 or parts[:2] != ["v2", "entries"] or parts[5] != "feedback":
            return 404, b"", "text/plain"
        member, entry_id, fp_type = parts[2], unquote(parts[3]), parts[4]
        if not (h.headers.get("content-type") or "").startswith("application/xml"):
            return 415, b"", "text/plain"
        entry = next((e for e in self.entries if e.id == entry_id and str(e.member) == member), None)
        if entry is None or entry.deleted or fp_type.lower() not in entry.fingerprints:
            return 404, b"", "text/plain"  # no such entry of that member, or no such fingerprint
        vote = _read_vote(data, fp_type)
        if vote is None:
            return 400, b"", "text/plain"
        kind, reason = vote
        self.votes[(int(member), entry_id, fp_type)] = NcmecVote(int(member), entry_id, fp_type, kind, reason)
        return 200, b"", "text/plain"


def _read_vote(data: bytes, fp_type: str) -> tuple[str, str | None] | None:
    """(vote, reason GUID) of a ``<feedbackSubmission>``; None when it is not one NCMEC takes."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError:
        return None
    if root.tag != f"{{{NS}}}feedbackSubmission" or len(root) != 1:
        return None
    vote = root[0]
    if vote.tag == f"{{{NS}}}affirmative":
        return "affirmative", None
    guids = [g.text for g in vote.iter(f"{{{NS}}}guid")]
    if vote.tag != f"{{{NS}}}negative" or len(guids) != 1 or guids[0] not in NCMEC_REASONS.get(fp_type, {}):
        return None  # a negative vote names exactly one of the reasons offered for the type
    return "negative", guids[0]
