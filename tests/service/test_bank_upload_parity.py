"""One library call for a bank upload (issue 12.2): the same picture added through ``ohsc bank
add`` and through ``POST /v1/banks/{bank}/entries`` leaves the same audit events (actions and
subjects), thumbnails and robust descriptors included."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from svc_helpers import Env, image

from ohsc.cli import main
from ohsc.review.models import EntryThumbnailRow
from ohsc.store.models import AuditEvent


def _events_after(env: Env, seq: int) -> list[tuple[str, str | None, str | None]]:
    with env.store.session() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq))
        return [(e.action, e.object_type, e.object_id) for e in rows]


def _last_seq(env: Env) -> int:
    with env.store.session() as s:
        return int(s.scalar(select(func.max(AuditEvent.seq))) or 0)


def _bank_with_thumbnails(env: Env, name: str) -> str:
    bank_id = str(env.bank(name, robust=True)["id"])
    r = env.client.put(f"/v1/banks/{name}/policy", json={"keep_thumbnails": True}, headers=env.key())
    assert r.status_code == 200, r.text
    return bank_id


def test_cli_and_api_bank_uploads_leave_the_same_audit_events(env: Env, tmp_path: Path) -> None:
    via_cli = _bank_with_thumbnails(env, "via-cli")
    via_api = _bank_with_thumbnails(env, "via-api")
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(image(41))

    before = _last_seq(env)
    runner = CliRunner(
        env={"OHSC_HOME": str(env.settings.home), "OHSC_DATABASE_URL": env.settings.effective_database_url()}
    )
    result = runner.invoke(main, ["bank", "add", "via-cli", str(photo)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    cli_events = _events_after(env, before)

    before = _last_seq(env)
    report = env.add_image("via-api", 41)
    assert report["added"] == 4
    api_events = _events_after(env, before)

    expected = ["bank.entries.add", "bank.entries.describe", "bank.thumbnail.add"]
    assert [(a, t) for a, t, _ in cli_events] == [(a, "bank") for a in expected]
    assert [(a, t) for a, t, _ in api_events] == [(a, t) for a, t, _ in cli_events]
    assert {i for _, _, i in cli_events} == {via_cli}
    assert {i for _, _, i in api_events} == {via_api}
    with env.store.session() as s:
        assert s.scalar(select(func.count(EntryThumbnailRow.entry_id))) == 8  # 4 signals in each bank
