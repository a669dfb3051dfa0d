"""``ohsc-feed``: subscribe to a bank another OHSC node publishes (``GET /v1/feeds/{bank}``).

The subscriber pins the publisher's public key when the exchange is added and refuses any page
whose signature, bank, cursor or sequence does not verify: such a page raises
:class:`~ohsc.errors.ExchangeVerificationError` before a single item of it is handed over.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx

from ohsc.errors import ExchangeError, ExchangeVerificationError, InvalidInputError
from ohsc.exchanges.http import fetch, http_client
from ohsc.exchanges.model import Exchange, ExchangeRecord, Feedback, FetchedPage
from ohsc.exchanges.signing import parse_public_key, verified_page


def check_page(page: Any, *, bank: str, after: int) -> str | None:
    """Why a (signature-checked) page does not continue the feed at ``after``; None when it does."""
    if not isinstance(page, dict):
        return "the page is not a JSON object"
    if page.get("bank") != bank:
        return f"the page is of another bank ({page.get('bank')!r})"
    if page.get("after") != after:
        return f"the page starts at cursor {page.get('after')!r}, not at the requested {after}"
    items, nxt = page.get("items"), page.get("next")
    if not isinstance(items, list) or not isinstance(nxt, int) or not isinstance(page.get("more"), bool):
        return "the page lacks its items, next cursor or more flag"
    last = after
    for item in items:
        seq = item.get("seq") if isinstance(item, dict) else None
        if not isinstance(seq, int) or seq <= last:
            return "the page's items are not in increasing sequence after the cursor"
        if not isinstance(item.get("id"), str) or not isinstance(item.get("withdrawn"), bool):
            return "an item lacks its id or withdrawn flag"
        last = seq
    if nxt != last:
        return f"the page's next cursor {nxt} is not its last item's sequence {last}"
    return None


def _record(item: dict[str, Any]) -> ExchangeRecord:
    if item["withdrawn"]:
        return ExchangeRecord(item["id"], withdrawn=True)
    labels = item.get("labels")
    category = item.get("category")
    return ExchangeRecord(
        item["id"],
        ((str(item.get("signal_type") or ""), str(item.get("value") or "")),),
        category if isinstance(category, str) else None,
        tuple(map(str, labels)) if labels and isinstance(labels, list) else (),
    )


class OhscFeedExchange(Exchange):
    kind = "ohsc-feed"
    secret_options = ("api_key",)
    required_options = ("url", "bank", "public_key", "api_key")
    records_change_signals = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = self.options["url"].rstrip("/")
        if not self.base.startswith(("http://", "https://")):
            raise InvalidInputError("the feed URL must be an http(s) URL (the publisher's base URL)")
        self.bank = self.options["bank"]
        self.trusted = parse_public_key(self.options["public_key"])
        self._http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = http_client(self.settings, authorization=f"Bearer {self.secrets['api_key']}")
        return self._http

    def _get(self, after: int) -> dict[str, Any]:
        url = f"{self.base}/v1/feeds/{quote(self.bank, safe='')}"
        what = f"feed {self.name!r}"
        status, body = fetch(self.http, "GET", url, what, params={"after": str(after)})
        if status != 200:
            raise ExchangeError(f"{what}: the publisher answered HTTP {status}")
        page, problem = verified_page(body, self.trusted)
        problem = problem or check_page(page, bank=self.bank, after=after)
        if problem or page is None:
            raise ExchangeVerificationError(f"feed {self.name!r} page after {after} refused: {problem}")
        return page

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchedPage]:
        after = int((checkpoint or {}).get("after", 0))
        while True:
            page = self._get(after)
            items: list[dict[str, Any]] = page["items"]
            yield FetchedPage(
                [_record(item) for item in items],
                {"after": page["next"]},
                facts={"after": after, "next": page["next"]},
            )
            if not page["more"] or page["next"] == after:
                return
            after = page["next"]

    @property
    def supports_feedback(self) -> bool:
        return True

    def send_feedback(self, items: Sequence[Feedback]) -> int:
        if not items:
            return 0
        url = f"{self.base}/v1/feeds/{quote(self.bank, safe='')}/feedback"
        body = {"feedback": [{"id": f.source_id, "verdict": str(f.verdict)} for f in items]}
        status, answer = fetch(self.http, "POST", url, f"feed {self.name!r}", json=body)
        if status != 200:
            raise ExchangeError(f"feed {self.name!r}: feedback refused with HTTP {status}")
        return int(json.loads(answer).get("recorded", 0))

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
