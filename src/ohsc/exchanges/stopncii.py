"""``stopncii``: hashes people submitted to StopNCII.org (the REST API ``/v1/FetchHashes``).

Following the API as python-threatexchange's client documents it: every request carries the
``Ocp-Apim-Subscription-Key`` and the endpoint's ``x-functions-key``; ``FetchHashes`` takes
``startTimestamp`` and ``pageSize`` (and ``nextPageToken`` to continue), and answers
``hashRecords``, ``nextPageToken``, ``hasMoreRecords`` and ``nextSetTimestamp``. A record is the
current state of one hash (``signalType`` + ``hashValue``): a later record replaces it, and a
``hashStatus`` of ``Withdrawn`` or ``Deleted`` withdraws it. ``SubmitFeedback`` takes verdicts
(``Blocked`` for a confirmed match, ``NotBlocked`` for a disputed one).

Checkpoint: ``{"start": T}`` between passes; ``{"start": T, "page": TOKEN}`` inside one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from ohsc.errors import ExchangeError, InvalidInputError
from ohsc.exchanges.http import fetch, http_client
from ohsc.exchanges.model import Exchange, ExchangeRecord, Feedback, FetchedPage, Verdict

BASE_URL = "https://api.stopncii.org/v1"
PAGE_SIZE = 800
#: StopNCII signal types OHSC matches, and its names for them
SIGNALS = {"ImagePDQ": "pdq", "VideoMD5": "md5"}
WITHDRAWN = {"Withdrawn", "Deleted"}
CATEGORY = "ncii"
FEEDBACK = {Verdict.CONFIRMED: "Blocked", Verdict.DISPUTED: "NotBlocked"}


def record_from(raw: Any) -> ExchangeRecord | str:
    """A record, or why it cannot be used."""
    if not isinstance(raw, dict):
        return "a hash record that is not an object"
    signal_type, value, status = raw.get("signalType"), raw.get("hashValue"), raw.get("hashStatus")
    if not isinstance(signal_type, str) or not isinstance(value, str) or not value:
        return "a hash record without its signalType or hashValue"
    source_id = f"{signal_type}:{value}"
    if status in WITHDRAWN:
        return ExchangeRecord(source_id, withdrawn=True)
    ours = SIGNALS.get(signal_type)
    if ours is None:
        return f"record {source_id[:60]!r} skipped: OHSC does not match StopNCII {signal_type!r} hashes"
    return ExchangeRecord(source_id, ((ours, value),), category=CATEGORY, labels=("stopncii",))


class StopNciiExchange(Exchange):
    kind = "stopncii"
    secret_options = ("subscription_key", "fetch_key", "feedback_key")
    required_options = ("subscription_key", "fetch_key")
    records_change_signals = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = (self.options.get("url") or BASE_URL).rstrip("/")
        if not self.base.startswith(("http://", "https://")):
            raise InvalidInputError("the StopNCII URL must be an http(s) URL")
        self._http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = http_client(
                self.settings, **{"ocp-apim-subscription-key": self.secrets["subscription_key"]}
            )
        return self._http

    def _call(self, method: str, endpoint: str, key: str, **kwargs: Any) -> dict[str, Any]:
        what = f"StopNCII {self.name!r}"
        url = f"{self.base}/{endpoint}"
        status, raw = fetch(self.http, method, url, what, headers={"x-functions-key": key}, **kwargs)
        if status != 200:
            raise ExchangeError(f"{what}: {endpoint} answered HTTP {status}")
        try:
            body = json.loads(raw)
        except ValueError:
            raise ExchangeError(f"{what}: {endpoint} did not answer JSON") from None
        if not isinstance(body, dict):
            raise ExchangeError(f"{what}: {endpoint} did not answer a JSON object")
        return body

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchedPage]:
        start = int((checkpoint or {}).get("start", 0))
        token = str((checkpoint or {}).get("page") or "")
        while True:
            params: dict[str, Any] = {"startTimestamp": start, "pageSize": PAGE_SIZE}
            if token:
                params["nextPageToken"] = token
            body = self._call("GET", "FetchHashes", self.secrets["fetch_key"], params=params)
            records: list[ExchangeRecord] = []
            notes: list[str] = []
            raw_records = body.get("hashRecords") or []
            for raw in raw_records if isinstance(raw_records, list) else []:
                got = record_from(raw)
                if isinstance(got, ExchangeRecord):
                    records.append(got)
                else:
                    notes.append(got)
            more = body.get("hasMoreRecords") is True and bool(body.get("nextPageToken"))
            if more:
                token = str(body["nextPageToken"])
                checkpoint_after: dict[str, Any] = {"start": start, "page": token}
            else:
                next_start = body.get("nextSetTimestamp")
                checkpoint_after = {"start": int(next_start) if isinstance(next_start, int) else start}
            yield FetchedPage(records, checkpoint_after, notes, facts={"start": start})
            if not more:
                return

    @property
    def supports_feedback(self) -> bool:
        return bool(self.secrets.get("feedback_key"))

    def send_feedback(self, items: Sequence[Feedback]) -> int:
        mine = [f for f in items if f.signal_type in SIGNALS.values()]
        if not mine or not self.supports_feedback:
            return 0
        body = {
            "count": len(mine),
            "hashFeedbacks": [
                {
                    "hashValue": f.source_id.partition(":")[2] or f.value,
                    "feedbackValue": FEEDBACK[f.verdict],
                    "tags": [],
                }
                for f in mine
            ],
        }
        self._call("POST", "SubmitFeedback", self.secrets["feedback_key"], json=body)
        return len(mine)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
