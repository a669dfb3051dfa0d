"""The README's browser step, for tests/service/test_walkthrough.py: log in as admin on the live
server, take the next review item and confirm it (what pressing N, then C does).

Usage: python walkthrough_review.py BASE_URL PASSWORD
"""

from __future__ import annotations

import re
import sys

import httpx


def main(base: str, password: str) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        r = client.post("/login", data={"name": "admin", "password": password, "csrf_token": token[1]})
        assert r.status_code == 303, r.text[:500]
        queue = client.get("/review")
        csrf = re.search(r'data-csrf="([^"]+)"', queue.text)
        assert csrf, queue.text[:500]
        nxt = client.post("/review/next", data={"csrf_token": csrf[1]})
        assert nxt.status_code == 303 and "/review/items/" in nxt.headers["location"], nxt.text[:500]
        item = nxt.headers["location"].rsplit("/", 1)[1]
        decided = client.post(
            f"/review/items/{item}/decide", data={"csrf_token": csrf[1], "decision": "confirm"}
        )
        assert decided.status_code == 303, decided.text[:500]
        print(f"review item {item} confirmed in the browser step")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
