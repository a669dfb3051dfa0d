"""Robust banks over the API: created and changed with ``robust``, pictures described when
uploaded, and /v1/match finding a cropped or bordered upload with how it was found."""

from __future__ import annotations

from svc_helpers import Env

from ohsc.demo.synth import bordered, cropped, jpeg_bytes, picture


def test_robust_bank_over_the_api(env: Env) -> None:
    created = env.bank("robust", robust=True)
    assert created["robust"] is True
    env.bank("plain")
    original = picture(61, (480, 360))
    r = env.client.post(
        "/v1/banks/robust/entries",
        files={"file": ("x.jpg", jpeg_bytes(original, 90))},
        data={"external_id": "pic-61"},
        headers=env.key(),
    )
    assert r.status_code == 200, r.text
    env.refresh()
    for copy in (bordered(original, 0.1), cropped(original, 0.05, 0.05, 0.05, 0.05)):
        body = env.match_image(0, data=jpeg_bytes(copy, 80))
        assert body["matched"] is True, body
        (m,) = body["matches"]
        assert m["external_id"] == "pic-61"
        assert m["method"] in {"pdq-trimmed", "region", "features"}
        assert set(m["robust"]) >= {"inliers", "region", "query_view", "entry_view"}
    assert env.match_image(62)["matched"] is False
    changed = env.client.patch("/v1/banks/plain", json={"robust": True}, headers=env.key())
    assert changed.status_code == 200 and changed.json()["robust"] is True
