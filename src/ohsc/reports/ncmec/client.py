"""HTTP client of NCMEC's CyberTipline Reporting API (the "ISP web services", ``/ispws``).

The documented flow is ``POST /submit`` (the ``<report>``; answers a report id) -> ``POST
/upload`` per file (multipart ``id`` + ``file``; answers a file id and the MD5 it received) ->
``POST /fileinfo`` per file (``<fileDetails>``) -> ``POST /finish`` (form ``id``), or ``POST
/retract`` (form ``id``) to cancel an unfinished report. ``GET /status`` checks the connection and
credentials, ``GET /xsd`` returns the schema. HTTP Basic authentication throughout.

Every answer carries a ``responseCode``: 0 is success, anything else an error, even with HTTP 200.
This client turns them into :class:`DestinationUnavailableError` (try again later: server errors,
the network) or :class:`DestinationRejectedError` (will not succeed as is), both carrying the code.

NCMEC runs a separate test host; the base URL is a setting (``OHSC_NCMEC_BASE_URL``). Plain
``http://`` is only accepted for loopback addresses (the local fake server).
"""

from __future__ import annotations

import ipaddress
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ohsc.errors import (
    ConfigError,
    DestinationError,
    DestinationRejectedError,
    DestinationUnavailableError,
)
from ohsc.reports.ncmec.xml import MAX_RESPONSE_BYTES, Response, parse_response

if TYPE_CHECKING:
    import httpx

TEST_BASE_URL = "https://exttest.cybertip.org/ispws"
PRODUCTION_BASE_URL = "https://report.cybertip.org/ispws"

# Documented response codes (non-exhaustive, per the API documentation).
OK = 0
SERVER_ERROR = 1000
AUTHENTICATION_REQUIRED = 2000
NOT_AUTHORIZED = 3000
INVALID_REQUEST = 4000
VALIDATION_FAILED = 4100
MALFORMED_XML = 4110
MALFORMED_FILE = 4200
REPORT_DOES_NOT_EXIST = 5001
FILE_DOES_NOT_EXIST = 5002
REPORT_ALREADY_RETRACTED = 5101
REPORT_ALREADY_FINISHED = 5102

CODE_MESSAGES = {
    SERVER_ERROR: "server error",
    1100: "save failed",
    1110: "upload failed",
    1111: "file upload failed",
    1210: "resource not found",
    1300: "update failed",
    AUTHENTICATION_REQUIRED: "authentication required: check OHSC_NCMEC_USERNAME and OHSC_NCMEC_PASSWORD",
    NOT_AUTHORIZED: "this account is not authorised for the action",
    3100: "this account is not authorised to make submissions",
    3300: "this account is not authorised to make updates",
    INVALID_REQUEST: "invalid request",
    VALIDATION_FAILED: "validation failed: the document does not match NCMEC's schema",
    MALFORMED_XML: "malformed XML",
    MALFORMED_FILE: "malformed file submittal",
    REPORT_DOES_NOT_EXIST: "the report does not exist (never opened, expired or cancelled)",
    FILE_DOES_NOT_EXIST: "the file does not exist in this report",
    REPORT_ALREADY_RETRACTED: "the report was already retracted",
    REPORT_ALREADY_FINISHED: "the report was already finished",
}


def is_retryable(code: int) -> bool:
    """Server-side failures (1xxx) may succeed later; everything else will not as it stands."""
    return 1000 <= code < 2000


def error_for(code: int, description: str, step: str) -> DestinationError:
    meaning = CODE_MESSAGES.get(code, "unknown response code")
    said = f" ({description})" if description and description.lower() not in meaning.lower() else ""
    message = f"NCMEC {step}: {meaning}{said} [response code {code}]"
    cls = DestinationUnavailableError if is_retryable(code) else DestinationRejectedError
    return cls(message, response_code=code, detail={"step": step, "response_code": code})


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"OHSC_NCMEC_BASE_URL {url!r} is not an http(s) URL")
    if parts.scheme == "http":
        host = parts.hostname
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConfigError(
                "OHSC_NCMEC_BASE_URL must use https (plain http only for a loopback test server)"
            )
    return url.rstrip("/")


class CyberTiplineClient:
    """One connection to the Reporting API. Use as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError:  # pragma: no cover - only without the reports extra
            raise ConfigError("the NCMEC destination needs httpx: pip install 'ohsc[reports]'") from None
        self._httpx = httpx
        self.base_url = check_base_url(base_url)
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            auth=httpx.BasicAuth(username, password),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
            follow_redirects=False,
            headers={"User-Agent": "ohsc-reporting"},
            transport=transport,
        )

    def __enter__(self) -> CyberTiplineClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- transport ---------------------------------------------------------------------------

    def _call(self, method: str, path: str, step: str, **kwargs: Any) -> Response:
        httpx = self._httpx
        try:
            with self._http.stream(method, path, **kwargs) as resp:
                body = b""
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise DestinationRejectedError(
                            f"NCMEC {step}: answer larger than {MAX_RESPONSE_BYTES} bytes"
                        )
                status = resp.status_code
        except httpx.TimeoutException as exc:
            raise DestinationUnavailableError(
                f"NCMEC {step}: no answer in time ({type(exc).__name__})"
            ) from None
        except httpx.TransportError as exc:
            raise DestinationUnavailableError(
                f"NCMEC {step}: cannot connect ({type(exc).__name__}: {exc})"
            ) from None
        if status == 401:
            raise error_for(AUTHENTICATION_REQUIRED, "", step)
        if 300 <= status < 400:
            raise DestinationRejectedError(
                f"NCMEC {step}: unexpected redirect (HTTP {status}); check the base URL"
            )
        try:
            parsed = parse_response(body)
        except DestinationRejectedError:
            if status >= 500:
                raise DestinationUnavailableError(f"NCMEC {step}: HTTP {status}") from None
            if status >= 400:
                raise DestinationRejectedError(f"NCMEC {step}: HTTP {status}") from None
            raise
        if parsed.code != OK:
            raise error_for(parsed.code, parsed.description, step)
        if status >= 400:
            raise DestinationRejectedError(f"NCMEC {step}: HTTP {status} with response code 0")
        return parsed

    # --- the API -----------------------------------------------------------------------------

    def status(self) -> Response:
        """Check connectivity and credentials."""
        return self._call("GET", "status", "status")

    def xsd(self) -> bytes:
        """NCMEC's current report schema."""
        resp = self._http.get("xsd")
        if resp.status_code != 200:
            raise DestinationRejectedError(f"NCMEC xsd: HTTP {resp.status_code}")
        return resp.content

    def submit(self, report_xml: bytes) -> str:
        """Open a report; returns its id."""
        resp = self._call(
            "POST",
            "submit",
            "submit",
            content=report_xml,
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        if not resp.report_id:
            raise DestinationRejectedError("NCMEC submit: the answer has no report id")
        return resp.report_id

    def upload(
        self, report_id: str, file_name: str, data: bytes, media_type: str | None
    ) -> tuple[str, str | None]:
        """Add a file to an open report; returns NCMEC's file id and the MD5 it computed."""
        resp = self._call(
            "POST",
            "upload",
            "upload",
            data={"id": report_id},
            files={"file": (file_name, data, media_type or "application/octet-stream")},
        )
        if not resp.file_id:
            raise DestinationRejectedError("NCMEC upload: the answer has no file id")
        return resp.file_id, (resp.hash.lower() if resp.hash else None)

    def fileinfo(self, file_details_xml: bytes) -> None:
        self._call(
            "POST",
            "fileinfo",
            "fileinfo",
            content=file_details_xml,
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )

    def finish(self, report_id: str) -> Response:
        """Complete the report; afterwards nothing can be added and it cannot be cancelled."""
        return self._call("POST", "finish", "finish", data={"id": report_id})

    def retract(self, report_id: str) -> None:
        """Cancel a report that has not been finished."""
        self._call("POST", "retract", "retract", data={"id": report_id})
