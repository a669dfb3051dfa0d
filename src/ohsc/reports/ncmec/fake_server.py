"""A local fake of NCMEC's CyberTipline Reporting API, for tests and development. Loopback only.

It implements the documented flow (``/submit`` -> ``/upload`` -> ``/fileinfo`` -> ``/finish`` or
``/retract``, ``/status``, ``/xsd``) with HTTP Basic authentication and the documented response
codes, and refuses what the real service refuses: malformed XML (4110), documents that do not
validate against its schema (4100: ``fake_ispws.xsd``, or NCMEC's own XSD when given one), steps on reports that do not exist
(5001), unknown files (5002), retracted (5101) or finished (5102) reports.

It also refuses things the real service may accept but a correct client must never do, and lists
them in :attr:`FakeCyberTipline.violations`: a file uploaded twice into one report, finishing a
report whose files were not all described, and finishing a second report identical to a finished
one (a duplicate filing). Tests assert that list is empty.

Tests can make it stop at a step (:meth:`FakeCyberTipline.pause`): *before* handling the n-th call
to an endpoint, or *after* handling it but before answering, so the client can be killed at
exactly that point. It keeps identifiers and hashes of what it receives, never file contents.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import ipaddress
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from lxml import etree

from ohsc.reports.ncmec.xml import parse_xml

SCHEMA_PATH = Path(__file__).with_name("fake_ispws.xsd")
MAX_REQUEST_BYTES = 64 * 1024 * 1024
FIRST_REPORT_ID = 1000


@dataclass
class FakeFile:
    file_id: str
    name: str
    md5: str
    size: int
    details: int = 0
    details_sha256: str | None = None


@dataclass
class FakeReport:
    report_id: int
    report_sha256: str
    state: str = "open"  # open | finished | retracted | expired
    files: dict[str, FakeFile] = field(default_factory=dict)
    opened_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "report_id": self.report_id,
            "report_sha256": self.report_sha256,
            "state": self.state,
            "opened_at": self.opened_at,
            "finished_at": self.finished_at,
            "files": [
                {"file_id": f.file_id, "name": f.name, "md5": f.md5, "size": f.size, "details": f.details}
                for f in self.files.values()
            ],
        }


class Pause:
    """A stop at one call: :attr:`reached` is set when the call gets there; :meth:`release` goes on."""

    def __init__(self, endpoint: str, nth: int, when: str) -> None:
        self.endpoint = endpoint
        self.nth = nth
        self.when = when
        self.reached = threading.Event()
        #: Set when the paused call has been answered (or its client was gone).
        self.done = threading.Event()
        self._go = threading.Event()

    def release(self) -> None:
        self._go.set()

    def wait(self, timeout: float = 60.0) -> None:
        self.reached.set()
        self._go.wait(timeout)


class _ReplyError(Exception):
    def __init__(self, code: int, description: str, http_status: int = 200) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.http_status = http_status


def _response(tag: str, code: int, description: str, **values: Any) -> bytes:
    root = etree.Element(tag)
    etree.SubElement(root, "responseCode").text = str(code)
    if tag == "reportResponse":
        etree.SubElement(root, "responseDescription").text = description
    for key, value in values.items():
        if key == "files":
            files = etree.SubElement(root, "files")
            for fid in value:
                etree.SubElement(files, "fileId").text = fid
        elif value is not None:
            etree.SubElement(root, key).text = str(value)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


class FakeCyberTipline:
    """The fake service. Use as a context manager; :attr:`url` is its base URL."""

    def __init__(
        self,
        *,
        username: str = "ohsc-test",
        password: str = "ohsc-test",  # noqa: S107 - a local test service
        host: str = "127.0.0.1",
        port: int = 0,
        schema_path: Path | None = None,
    ) -> None:
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError("the fake CyberTipline only listens on loopback addresses")
        self.username = username
        self.password = password
        #: The schema documents are validated with: NCMEC's own when given (``GET /xsd``), else
        #: OHSC's hand-written fake (``fake_ispws.xsd``).
        self.schema_path = schema_path or SCHEMA_PATH
        self.schema = etree.XMLSchema(etree.parse(str(self.schema_path)))
        self.schema_bytes = self.schema_path.read_bytes()
        self.reports: dict[int, FakeReport] = {}
        self.violations: list[str] = []
        self.calls: list[str] = []
        self._next_id = FIRST_REPORT_ID
        self._counts: dict[str, int] = {}
        self._pauses: list[Pause] = []
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/ispws"

    def start(self) -> FakeCyberTipline:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-cybertipline", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        for p in self._pauses:
            p.release()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeCyberTipline:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test controls -------------------------------------------------------------------------

    def pause(self, endpoint: str, nth: int = 1, when: str = "before") -> Pause:
        """Stop the ``nth`` call to ``endpoint`` (``submit``, ``upload``, ...) ``before`` handling it
        or ``after`` handling it (the effect happened, the answer has not been sent)."""
        if when not in ("before", "after"):
            raise ValueError("when is 'before' or 'after'")
        p = Pause(endpoint, nth, when)
        with self._lock:
            self._pauses.append(p)
        return p

    def release_all(self) -> None:
        with self._lock:
            for p in self._pauses:
                p.release()
            self._pauses.clear()

    def expire(self, report_id: int) -> None:
        """Do what NCMEC does to an unfinished report left alone too long."""
        with self._lock:
            self.reports[report_id].state = "expired"

    def finished(self) -> list[FakeReport]:
        with self._lock:
            return [r for r in self.reports.values() if r.state == "finished"]

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "reports": [r.to_dict() for r in self.reports.values()],
                "violations": list(self.violations),
                "calls": list(self.calls),
            }

    def _pause_for(self, endpoint: str, when: str, nth: int) -> Pause | None:
        with self._lock:
            for p in self._pauses:
                if p.endpoint == endpoint and p.when == when and p.nth == nth:
                    return p
        return None

    # --- the API -------------------------------------------------------------------------------

    def _validate(self, data: bytes, root_tag: str) -> etree._Element:
        try:
            doc = parse_xml(data)
        except (ValueError, etree.XMLSyntaxError) as exc:
            raise _ReplyError(4110, f"Malformed XML submittal: {exc}") from None
        if doc.tag != root_tag:
            raise _ReplyError(4100, f"Validation failed: expected <{root_tag}>, got <{doc.tag!s}>")
        if not self.schema.validate(doc):
            errors = "; ".join(f"line {e.line}: {e.message}" for e in list(self.schema.error_log)[:3])
            raise _ReplyError(4100, f"Validation failed: {errors}")
        return doc

    def _report(self, report_id: str | None, *, for_change: bool = True) -> FakeReport:
        try:
            rid = int(report_id or "")
        except ValueError:
            raise _ReplyError(4000, "Invalid request: report id is not a number") from None
        report = self.reports.get(rid)
        if report is None or report.state == "expired":
            raise _ReplyError(5001, "Report does not exist")
        if for_change and report.state == "retracted":
            raise _ReplyError(5101, "Report already retracted")
        if for_change and report.state == "finished":
            raise _ReplyError(5102, "Report already finished")
        return report

    def submit(self, data: bytes) -> bytes:
        self._validate(data, "report")
        with self._lock:
            rid = self._next_id
            self._next_id += 1
            self.reports[rid] = FakeReport(rid, hashlib.sha256(data).hexdigest())
        return _response("reportResponse", 0, "Success", reportId=rid)

    def upload(self, fields: dict[str, Any]) -> bytes:
        if "id" not in fields or "file" not in fields:
            raise _ReplyError(4200, "Malformed file submittal: the form needs 'id' and 'file'")
        name, content = fields["file"]
        with self._lock:
            report = self._report(fields["id"])
            md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
            if any(f.md5 == md5 for f in report.files.values()):
                self.violations.append(f"report {report.report_id}: file with MD5 {md5} uploaded twice")
                raise _ReplyError(
                    4000, "Invalid request: this file is already in the report (fake-server guard)"
                )
            fid = secrets.token_hex(8)
            report.files[fid] = FakeFile(fid, name or "", md5, len(content))
        return _response("reportResponse", 0, "Success", reportId=report.report_id, fileId=fid, hash=md5)

    def fileinfo(self, data: bytes) -> bytes:
        doc = self._validate(data, "fileDetails")
        with self._lock:
            report = self._report(doc.findtext("reportId"))
            f = report.files.get(doc.findtext("fileId") or "")
            if f is None:
                raise _ReplyError(5002, "File does not exist")
            f.details += 1
            f.details_sha256 = hashlib.sha256(data).hexdigest()
        return _response("reportResponse", 0, "Success", reportId=report.report_id)

    def finish(self, fields: dict[str, str]) -> bytes:
        with self._lock:
            report = self._report(fields.get("id"))
            undescribed = [f.file_id for f in report.files.values() if not f.details]
            if undescribed:
                self.violations.append(f"report {report.report_id}: finished before describing {undescribed}")
                raise _ReplyError(4000, "Invalid request: files without file details (fake-server guard)")
            fingerprint = (report.report_sha256, sorted(f.md5 for f in report.files.values()))
            for other in self.reports.values():
                if (
                    other.state == "finished"
                    and (
                        other.report_sha256,
                        sorted(f.md5 for f in other.files.values()),
                    )
                    == fingerprint
                ):
                    self.violations.append(
                        f"report {report.report_id} duplicates finished report {other.report_id}"
                    )
                    raise _ReplyError(
                        4000, "Invalid request: duplicate of a finished report (fake-server guard)"
                    )
            report.state = "finished"
            report.finished_at = datetime.now(UTC).isoformat()
            files = list(report.files)
        return _response("reportDoneResponse", 0, "Success", reportId=report.report_id, files=files)

    def retract(self, fields: dict[str, str]) -> bytes:
        with self._lock:
            report = self._report(fields.get("id"))
            report.state = "retracted"
        return _response("reportResponse", 0, "Success", reportId=report.report_id)

    # --- HTTP ----------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"fake": self})


class _Handler(BaseHTTPRequestHandler):
    """The fake's HTTP side; each server gets a subclass naming its self.fake."""

    fake: FakeCyberTipline
    protocol_version = "HTTP/1.1"
    server_version = "FakeCyberTipline/1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, ctype: str = "application/xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorised(self) -> bool:
        expected = base64.b64encode(f"{self.fake.username}:{self.fake.password}".encode()).decode()
        return self.headers.get("Authorization", "") == f"Basic {expected}"

    def _endpoint(self) -> str | None:
        path = self.path.split("?", 1)[0]
        if not path.startswith("/ispws/"):
            return None
        return path[len("/ispws/") :]

    def do_GET(self) -> None:
        endpoint = self._endpoint()
        if endpoint == "_fake/state":
            self._send(200, json.dumps(self.fake.state(), indent=1).encode(), "application/json")
            return
        if not self._authorised():
            self._send(401, _response("reportResponse", 2000, "Authentication required"))
            return
        if endpoint == "status":
            self._send(200, _response("reportResponse", 0, "Success"))
        elif endpoint == "xsd":
            self._send(200, self.fake.schema_bytes)
        else:
            self._send(404, _response("reportResponse", 1210, "Resource not found"))

    def do_POST(self) -> None:
        endpoint = self._endpoint() or ""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._send(413, _response("reportResponse", 4000, "Request too large"))
            self.close_connection = True
            return
        body = self.rfile.read(length)
        if not self._authorised():
            self._send(401, _response("reportResponse", 2000, "Authentication required"))
            return
        handlers = {"submit", "upload", "fileinfo", "finish", "retract"}
        if endpoint not in handlers:
            self._send(404, _response("reportResponse", 1210, "Resource not found"))
            return
        with self.fake._lock:
            self.fake._counts[endpoint] = self.fake._counts.get(endpoint, 0) + 1
            nth = self.fake._counts[endpoint]
            self.fake.calls.append(endpoint)
        before = self.fake._pause_for(endpoint, "before", nth)
        if before is not None:
            before.wait()
        try:
            reply = self._handle(endpoint, body)
            status = 200
        except _ReplyError as r:
            reply, status = _response("reportResponse", r.code, r.description), r.http_status
        after = self.fake._pause_for(endpoint, "after", nth)
        if after is not None:
            after.wait()
        try:
            self._send(status, reply)
        except OSError:  # the client is gone (killed while we were paused)
            self.close_connection = True
        for p in (before, after):
            if p is not None:
                p.done.set()

    def _handle(self, endpoint: str, body: bytes) -> bytes:
        ctype = self.headers.get("Content-Type", "")
        if endpoint == "submit":
            return self.fake.submit(body)
        if endpoint == "fileinfo":
            return self.fake.fileinfo(body)
        if endpoint == "upload":
            return self.fake.upload(_multipart(ctype, body))
        if ctype.startswith("multipart/form-data"):
            form = {k: v for k, v in _multipart(ctype, body).items() if isinstance(v, str)}
        else:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        return self.fake.finish(form) if endpoint == "finish" else self.fake.retract(form)


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """``{"id": "123", "file": (name, bytes)}`` from a multipart/form-data body."""
    if not content_type.startswith("multipart/form-data"):
        raise _ReplyError(4200, "Malformed file submittal: expected multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, Any] = {}
    if not msg.is_multipart():
        raise _ReplyError(4200, "Malformed file submittal")
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name == "file":
            fields["file"] = (part.get_filename(), data)
        elif isinstance(name, str):
            fields[name] = data.decode("utf-8", "replace").strip()
    return fields
