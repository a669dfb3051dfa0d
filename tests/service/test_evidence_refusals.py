"""Every refused web request to evidence leaves an audit event naming the actor and the ids:
a role that may not, a CSRF token that does not match, an item or hold that does not exist, a
purged item, a hold that cannot be placed (docs/reporting.md: "every refused attempt")."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from svc_helpers import Env

from ohsc.actor import SYSTEM
from ohsc.evidence.service import EvidenceService
from ohsc.store.models import AuditEvent
from ohsc.store.types import utcnow


def _events(env: Env, action: str) -> list[AuditEvent]:
    with env.store.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def _preserve(env: Env, key: str) -> int:
    svc = EvidenceService(env.store, env.settings, SYSTEM, blobs=env.services.blobs)
    item = svc.preserve(
        source_key=key, subject_type="report", subject_id="1", kind="file", data=b"benign test bytes " + key.encode(),
        facts={}, jurisdictions=["US"],
    )  # fmt: skip
    return item.id


def _one(env: Env, action: str, actor: str, object_id: object, **details: Any) -> None:
    wanted = None if object_id is None else str(object_id)
    found = [e for e in _events(env, action) if e.actor == actor and e.object_id == wanted]
    assert len(found) == 1, (action, [(e.actor, e.object_id, e.details) for e in _events(env, action)])
    for key, value in details.items():
        assert found[0].details.get(key) == value, found[0].details


def test_refused_evidence_requests_are_audited(env: Env) -> None:
    item = _preserve(env, "file-1")
    purged = _preserve(env, "file-2")
    svc = EvidenceService(env.store, env.settings, SYSTEM, blobs=env.services.blobs)
    svc.purge(now=utcnow().replace(year=utcnow().year + 5))  # both purged...
    item = _preserve(env, "file-3")  # ...and a live one
    env.user("rita", "reviewer")
    env.user("cora", "evidence_custodian")

    with TestClient(env.app) as rita:
        csrf = env.login(rita, "rita")
        assert rita.get(f"/evidence/items/{item}/content").status_code == 403
        assert rita.get("/evidence").status_code == 403
        r = rita.post(f"/evidence/items/{item}/hold", data={"csrf_token": csrf, "reason": "court order"})
        assert r.status_code == 403
    _one(env, "evidence.read.denied", "user:rita", item, reason="forbidden")
    _one(env, "evidence.list.denied", "user:rita", None)
    _one(env, "evidence.hold.denied", "user:rita", item, reason="forbidden")

    with TestClient(env.app) as cora:
        csrf = env.login(cora, "cora")
        assert cora.get("/evidence/items/999999/content").status_code == 404
        assert cora.get(f"/evidence/items/{purged}/content").status_code == 409
        forged = cora.post(f"/evidence/items/{item}/hold", data={"csrf_token": "forged", "reason": "x"})
        assert forged.status_code == 403
        on_purged = cora.post(
            f"/evidence/items/{purged}/hold", data={"csrf_token": csrf, "reason": "court order"},
            follow_redirects=False,
        )  # fmt: skip
        assert on_purged.status_code == 303 and "purged" in on_purged.headers["location"]
        no_hold = cora.post(
            "/evidence/holds/424242/release",
            data={"csrf_token": csrf, "reason": "done"},
            follow_redirects=False,
        )
        assert no_hold.status_code == 303
        ok = cora.get(f"/evidence/items/{item}/content")
        assert ok.status_code == 200 and ok.content.startswith(b"benign test bytes")
    _one(env, "evidence.view.refused", "user:cora", 999999, reason="evidence_not_found")
    _one(env, "evidence.read.refused", "user:cora", purged, reason="conflict")
    _one(env, "evidence.hold.denied", "user:cora", item, reason="csrf")
    _one(env, "evidence.hold.refused", "user:cora", purged, reason="conflict")
    _one(env, "evidence.release.refused", "user:cora", 424242, reason="evidence_not_found")
    assert [e.actor for e in _events(env, "evidence.read")][-1] == "user:cora"  # the allowed read
