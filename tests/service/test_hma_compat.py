"""HMA-compatible routes, called the way HMA's own tests and UI call HMA (``/m/lookup`` with
``signal_type`` and ``signal`` query parameters, ``/h/hash`` with the file in a multipart field
named for its content type, ``/c/banks``), with an OHSC API key added."""

from __future__ import annotations

import hashlib

from svc_helpers import Env, image


def test_hma_lookup_hash_and_banks(env: Env) -> None:
    env.bank("TEST_BANK")
    env.bank("OFF_BANK")
    env.add_image("TEST_BANK", 3)
    ids = {e.signal_type: e.id for e in env.services.banks("test").iter_entries("TEST_BANK")}
    env.client.patch("/v1/banks/OFF_BANK", json={"enabled": False}, headers=env.key())
    headers = env.key("match")

    r = env.client.post("/h/hash", files={"photo": ("p.jpg", image(3), "image/jpeg")}, headers=headers)
    assert r.status_code == 200, r.text
    hashes = r.json()
    assert set(hashes) == {"pdq"} and len(hashes["pdq"]) == 64

    r = env.client.get(f"/m/lookup?signal_type=pdq&signal={hashes['pdq']}", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"TEST_BANK": [{"bank_content_id": ids["pdq"], "distance": "0"}]}

    r = env.client.get("/m/lookup", params={"signal_type": "pdq", "signal": "5" * 64}, headers=headers)
    assert r.status_code == 200 and r.json() == {}
    r = env.client.get(
        "/m/lookup", params={"signal_type": "pdq", "signal": "5" * 64, "banks": "OFF_BANK"}, headers=headers
    )
    assert r.json() == {}

    md5 = hashlib.md5(image(3)).hexdigest()
    r = env.client.post("/h/hash", files={"video": ("v.mp4", image(3), "video/mp4")}, headers=headers)
    assert r.json() == {"video_md5": md5}
    r = env.client.get("/m/lookup", params={"signal_type": "video_md5", "signal": md5}, headers=headers)
    assert r.json() == {"TEST_BANK": [{"bank_content_id": ids["md5"], "distance": "0"}]}

    r = env.client.get("/c/banks", headers=headers)
    assert r.status_code == 200
    assert r.json() == [
        {"name": "OFF_BANK", "matching_enabled_ratio": 0.0},
        {"name": "TEST_BANK", "matching_enabled_ratio": 1.0},
    ]


def test_hma_routes_need_a_key_with_the_scope(env: Env) -> None:
    assert env.client.get("/m/lookup?signal_type=pdq&signal=" + "5" * 64).status_code == 401
    assert env.client.get("/c/banks").status_code == 401
    assert env.client.post("/h/hash", files={"photo": ("p.jpg", image(1))}).status_code == 401
    review_only = env.key("review")
    assert (
        env.client.get("/m/lookup?signal_type=pdq&signal=" + "5" * 64, headers=review_only).status_code == 403
    )
    r = env.client.get("/m/lookup?signal_type=tmk&signal=00", headers=env.key("match"))
    assert r.status_code == 422
