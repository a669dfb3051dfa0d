"""POST /v1/hash and /v1/match: uploads, hash-only, idempotency, allowlists, problems."""

from __future__ import annotations

from svc_helpers import Env, image

from ohsc.demo.synth import jpeg_bytes, picture, resized


def test_hash_returns_signals_and_keeps_nothing(env: Env) -> None:
    r = env.client.post("/v1/hash", files={"file": ("a.jpg", image(1))}, headers=env.key("match"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["signals"]) == {"md5", "sha1", "sha256", "pdq"}
    assert body["kind"] == "image"
    assert body["format"] == "jpeg"
    assert body["pdq_quality"] >= 50
    assert env.services.blobs is not None
    assert not (env.settings.blobs_dir / "review").exists()


def test_upload_match_goes_to_review_with_media_and_record(env: Env) -> None:
    env.bank("known")
    env.add_image("known", 7, category="placeholder-a")
    body = env.match_image(7, content_id="upload-7")
    assert body["matched"] is True
    assert body["verdict"] == "review"  # the default verdict
    assert body["content"]["content_id"] == "upload-7"
    assert body["review_item_id"] is not None
    first = body["matches"][0]
    assert {"bank", "entry_id", "distance", "category", "source", "labels", "verdict"} <= set(first)
    assert first["bank"] == "known"
    assert first["category"] == "placeholder-a"
    assert first["source"] == "file"
    item = env.client.get(f"/v1/review-items/{body['review_item_id']}", headers=env.key("review")).json()
    assert item["media"]["held"] is True
    assert item["content"]["content_id"] == "upload-7"


def test_near_duplicate_matches_by_pdq(env: Env) -> None:
    env.bank("known")
    env.add_image("known", 11)
    altered = jpeg_bytes(resized(picture(11, (320, 240)), 0.6), quality=70)
    body = env.match_image(0, data=altered)
    assert body["matched"] is True
    assert [m["signal_type"] for m in body["matches"]] == ["pdq"]
    assert 0 < body["matches"][0]["distance"] <= 31


def test_hash_only_mode(env: Env) -> None:
    env.bank("known")
    added = env.client.post(
        "/v1/banks/known/entries",
        json={
            "entries": [{"signal_type": "md5", "value": "5d41402abc4b2a76b9719d911017c592", "category": "x"}]
        },
        headers=env.key(),
    )
    assert added.json()["added"] == 1
    env.refresh()
    r = env.client.post(
        "/v1/match", json={"signals": {"md5": "5D41402ABC4B2A76B9719D911017C592"}}, headers=env.key("match")
    )
    body = r.json()
    assert body["matched"] is True
    assert body["matches"][0]["category"] == "x"
    item = env.client.get(f"/v1/review-items/{body['review_item_id']}", headers=env.key("review")).json()
    assert item["media"]["held"] is False  # nothing was sent, nothing is kept


def test_no_match_keeps_no_hashes(env: Env) -> None:
    body = env.match_image(3, content_id="plain")
    assert body["verdict"] == "none"
    assert body["matches"] == []
    assert body["review_item_id"] is None
    from ohsc.content.models import ContentRow

    with env.store.session() as s:
        row = s.get(ContentRow, body["content"]["id"])
        assert row is not None
        assert row.signals == {}
        assert row.media_blob_id is None


def test_content_id_is_idempotent(env: Env) -> None:
    env.bank("known")
    env.add_image("known", 5)
    first = env.match_image(5, content_id="same")
    again = env.match_image(5, content_id="same")
    assert again["replayed"] is True
    assert again["content"] == first["content"]
    assert again["review_item_id"] == first["review_item_id"]
    other = env.client.post(
        "/v1/match",
        files={"file": ("u.jpg", image(6))},
        data={"content_id": "same"},
        headers=env.key("match"),
    )
    assert other.status_code == 409
    assert other.json()["code"] == "content_id_conflict"


def test_allowlist_suppresses(env: Env) -> None:
    env.bank("known")
    env.bank("ok-list", allowlist=True)
    env.add_image("known", 9)
    env.add_image("ok-list", 9)
    body = env.match_image(9)
    assert body["verdict"] == "allow"
    assert body["matches"] == []
    assert body["suppressed"] > 0
    assert body["allowlisted"]
    assert body["review_item_id"] is None


def test_rules_decide_the_verdict(env: Env) -> None:
    env.bank("known")
    env.add_image("known", 21, category="cat-b")
    r = env.client.post("/v1/rules", json={"bank": "known", "verdict": "block"}, headers=env.key())
    assert r.status_code == 201, r.text
    assert env.match_image(21)["verdict"] == "block"
    r = env.client.post(
        "/v1/rules", json={"bank": "known", "category": "cat-b", "verdict": "allow"}, headers=env.key()
    )
    assert r.status_code == 201
    body = env.match_image(21)
    assert body["verdict"] == "allow"
    assert body["review_item_id"] is None


def test_problems_are_rfc9457(env: Env) -> None:
    r = env.client.post("/v1/match", json={"signals": {"md5": "zz"}}, headers=env.key("match"))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "urn:ohsc:problem:invalid_signal"
    assert {"title", "status", "detail", "instance"} <= set(body)
    r = env.client.post("/v1/match", json={"nonsense": 1}, headers=env.key("match"))
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input"
    r = env.client.post(
        "/v1/match",
        json={"signals": {"md5": "5d41402abc4b2a76b9719d911017c592"}, "url": "http://x"},
        headers=env.key("match"),
    )
    assert r.status_code == 422
    r = env.client.get("/v1/nowhere", headers=env.key())
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    r = env.client.post("/v1/match", content=b"", headers={**env.key("match"), "Content-Type": "image/jpeg"})
    assert r.status_code == 422


def test_scopes_are_enforced(env: Env) -> None:
    r = env.client.get("/v1/banks", headers=env.key("match"))
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
    r = env.client.post(
        "/v1/match", json={"signals": {"md5": "5d41402abc4b2a76b9719d911017c592"}}, headers=env.key("review")
    )
    assert r.status_code == 403
    r = env.client.post(
        "/v1/match", json={"signals": {}}, headers={"Authorization": "Bearer ohsc_wrongwrongwrongwrongwrong"}
    )
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_raw_body_upload_and_content_record(env: Env) -> None:
    r = env.client.post(
        "/v1/match?content_id=raw-1",
        content=image(4),
        headers={**env.key("match"), "Content-Type": "image/jpeg"},
    )
    assert r.status_code == 200, r.text
    content_id = r.json()["content"]["id"]
    got = env.client.get(f"/v1/content/{content_id}", headers=env.key("match")).json()
    assert got["content_id"] == "raw-1"
    assert got["verdict"] == "none"
    assert got["media_held"] is False


def test_match_rate_limit(tmp_path: object) -> None:
    from pathlib import Path

    from svc_helpers import make_env

    from ohsc.settings import load_settings

    settings = load_settings(home=Path(str(tmp_path)) / "home", match_rate_per_minute=60)
    for env in make_env(settings):
        codes = [
            env.client.post(
                "/v1/match",
                json={"signals": {"md5": "5d41402abc4b2a76b9719d911017c592"}},
                headers=env.key("match"),
            ).status_code
            for _ in range(15)
        ]
        assert 429 in codes
        limited = env.client.post(
            "/v1/match",
            json={"signals": {"md5": "5d41402abc4b2a76b9719d911017c592"}},
            headers=env.key("match"),
        )
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1


def test_hash_only_content_id_replays_on_the_fast_path(env: Env) -> None:
    query = {"signals": {"md5": "0" * 31 + "1"}, "content_id": "fast-1"}
    first = env.client.post("/v1/match", json=query, headers=env.key("match")).json()
    again = env.client.post("/v1/match", json=query, headers=env.key("match")).json()
    assert first["replayed"] is False
    assert again["replayed"] is True
    assert again["content"] == first["content"]
    other = env.client.post(
        "/v1/match",
        json={"signals": {"md5": "0" * 31 + "2"}, "content_id": "fast-1"},
        headers=env.key("match"),
    )
    assert other.status_code == 409


def test_record_writer_batches_and_isolates_bad_rows(env: Env) -> None:
    import asyncio

    from ohsc.content.writer import RecordWriter
    from ohsc.store.types import utcnow

    writer = RecordWriter(env.store)

    def values(ref: str | None) -> dict[str, object]:
        return {
            "client_ref": ref,
            "api_key_id": None,
            "source": "signals",
            "submitted_at": utcnow(),
            "signals": {},
            "verdict": "none",
            "matched": False,
            "result": {},
        }

    async def many() -> list[object]:
        jobs = [writer.insert_async(values(f"w-{i}")) for i in range(50)]
        jobs.append(writer.insert_async(values("w-3")))  # a repeated content_id
        return await asyncio.gather(*jobs, return_exceptions=True)

    try:
        results = asyncio.run(many())
        ids = [r for r in results if isinstance(r, int)]
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(ids) == 50
        assert len(set(ids)) == 50
        assert len(errors) == 1
        assert writer.insert(values(None)) > max(ids)
    finally:
        writer.close()
