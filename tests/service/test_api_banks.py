"""Banks over HTTP: CRUD, entries, retract/restore, import/export, paging, policies."""

from __future__ import annotations

from svc_helpers import Env

MD5S = [f"{i:032x}" for i in range(1, 8)]


def test_bank_crud_and_paging(env: Env) -> None:
    for name in ("b1", "b2", "b3"):
        env.bank(name, description=f"about {name}")
    r = env.client.get("/v1/banks?limit=2", headers=env.key("bank-admin"))
    page1 = r.json()
    assert [b["name"] for b in page1["items"]] == ["b1", "b2"]
    assert page1["next_cursor"]
    page2 = env.client.get(f"/v1/banks?limit=2&cursor={page1['next_cursor']}", headers=env.key()).json()
    assert [b["name"] for b in page2["items"]] == ["b3"]
    assert page2["next_cursor"] is None
    assert env.client.get("/v1/banks?cursor=garbage", headers=env.key()).status_code == 422
    r = env.client.patch("/v1/banks/b1", json={"threshold": 20, "name": "renamed"}, headers=env.key())
    assert r.status_code == 200
    assert r.json()["threshold"] == 20
    assert r.json()["name"] == "renamed"
    assert env.client.get("/v1/banks/renamed", headers=env.key()).json()["description"] == "about b1"
    assert env.client.post("/v1/banks", json={"name": "b2"}, headers=env.key()).status_code == 409
    assert env.client.delete("/v1/banks/b2", headers=env.key()).status_code == 204
    r = env.client.get("/v1/banks/b2", headers=env.key())
    assert r.status_code == 404
    assert r.json()["code"] == "bank_not_found"


def test_entries_add_list_retract_restore(env: Env) -> None:
    env.bank("known")
    entries = [{"signal_type": "md5", "value": v, "external_id": f"ext-{i}"} for i, v in enumerate(MD5S)]
    entries.append({"signal_type": "md5", "value": "not-hex"})
    r = env.client.post("/v1/banks/known/entries", json={"entries": entries}, headers=env.key())
    report = r.json()
    assert report["added"] == 7
    assert report["invalid"] == 1
    assert report["errors"][0]["line"] == 8
    listed = env.client.get("/v1/banks/known/entries?limit=5", headers=env.key()).json()
    assert len(listed["items"]) == 5
    assert listed["next_cursor"]
    rest = env.client.get(f"/v1/banks/known/entries?cursor={listed['next_cursor']}", headers=env.key()).json()
    assert len(rest["items"]) == 2
    env.refresh()
    query = {"signals": {"md5": MD5S[0]}}
    assert env.client.post("/v1/match", json=query, headers=env.key("match")).json()["matched"]
    r = env.client.post(
        "/v1/banks/known/entries/ext-0/retract", json={"reason": "withdrawn"}, headers=env.key()
    )
    assert r.status_code == 200
    assert r.json()["entries"][0]["retracted"] is True
    env.refresh()
    assert not env.client.post("/v1/match", json=query, headers=env.key("match")).json()["matched"]
    r = env.client.post("/v1/banks/known/entries/ext-0/restore", headers=env.key())
    assert r.json()["entries"][0]["retracted"] is False
    env.refresh()
    assert env.client.post("/v1/match", json=query, headers=env.key("match")).json()["matched"]
    assert (
        env.client.post(
            "/v1/banks/known/entries/nope/retract", json={"reason": "x"}, headers=env.key()
        ).status_code
        == 404
    )


def test_import_and_export(env: Env) -> None:
    env.bank("imported")
    csv_text = (
        "signal_type,value,category,external_id,note\n"
        + "".join(f"md5,{v},cat,e{i},\n" for i, v in enumerate(MD5S))
        + "md5,bad,cat,e99,\n"
    )
    r = env.client.post(
        "/v1/banks/imported/import?format=csv&name=list.csv",
        content=csv_text.encode(),
        headers={**env.key(), "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["added"] == 7
    assert r.json()["invalid"] == 1
    r = env.client.post(
        "/v1/banks/imported/import?format=csv",
        files={"file": ("list.csv", csv_text.encode())},
        headers=env.key(),
    )
    assert r.json()["unchanged"] == 7
    assert (
        env.client.post("/v1/banks/imported/import?format=nope", content=b"x", headers=env.key()).status_code
        == 422
    )
    r = env.client.get("/v1/banks/imported/export?format=csv", headers=env.key())
    assert r.status_code == 200
    assert r.text.count("\n") == 8
    from ohsc import audit
    from ohsc.store.models import AuditEvent

    with env.store.session() as s:
        actions = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.seq)]
        assert "bank.export" in actions
        assert audit.verify(s).ok


def test_upload_entry_with_reference_thumbnail(env: Env) -> None:
    env.bank("refs")
    r = env.client.put(
        "/v1/banks/refs/policy", json={"keep_thumbnails": True, "two_person_review": True}, headers=env.key()
    )
    assert r.status_code == 200
    assert r.json()["keep_thumbnails"] is True
    report = env.add_image("refs", 31, category="c", external_id="case-1")
    assert report["added"] == 4
    body = env.match_image(31)
    detail = env.client.get(f"/v1/review-items/{body['review_item_id']}", headers=env.key("review")).json()
    assert detail["two_person"] is True
    assert all(m["reference_thumbnail"] for m in detail["matches"])


def test_policy_flood_limits(env: Env) -> None:
    env.bank("hot")
    r = env.client.put(
        "/v1/banks/hot/policy", json={"flood_max_matches": 2, "flood_window_seconds": 60}, headers=env.key()
    )
    assert r.json()["flood_max_matches"] == 2
    env.client.post("/v1/rules", json={"bank": "hot", "verdict": "block"}, headers=env.key())
    env.client.post(
        "/v1/banks/hot/entries",
        json={"entries": [{"signal_type": "md5", "value": MD5S[0]}]},
        headers=env.key(),
    )
    env.refresh()
    verdicts = [
        env.client.post("/v1/match", json={"signals": {"md5": MD5S[0]}}, headers=env.key("match")).json()
        for _ in range(4)
    ]
    assert [v["verdict"] for v in verdicts] == ["block", "block", "review", "review"]
    assert verdicts[2]["flood_controlled"] is True
    items = env.client.get("/v1/review-items?reason=flood", headers=env.key("review")).json()["items"]
    assert len(items) == 2
    assert items[0]["priority"] == 3
