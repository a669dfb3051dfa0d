"""Report ids are never given out twice, even after a draft is discarded (issue 10, item 9)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy import create_engine, text

from ohsc.store.db import Store
from ohsc.store.migrate import MIGRATIONS, downgrade
from tests.reporting_support import body, make_settings, service


def test_a_discarded_drafts_id_is_not_given_again(store: Store, tmp_path: Path) -> None:
    svc = service(store, make_settings(tmp_path))
    first = svc.create_draft(body()).report.id
    second = svc.create_draft(body()).report.id
    svc.discard(second)
    third = svc.create_draft(body()).report.id
    assert third not in (first, second)
    assert third > second


def _before_counter() -> str:
    """The revision the counter's migration builds on (whatever the chain is re-chained to)."""
    path = MIGRATIONS / "versions" / "0009_report_ids_never_reused.py"
    spec = importlib.util.spec_from_file_location("report_ids_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.down_revision)


def test_the_counter_starts_above_existing_and_discarded_ids(tmp_path: Path) -> None:
    """A store from before the counter: reports 1-2 kept, 3 discarded (only the audit log knows it)."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = Store(url)
    svc = service(store, make_settings(tmp_path))
    for _ in range(3):
        svc.create_draft(body())
    svc.discard(3)
    store.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:  # back to the schema before the counter (later migrations undone)
        downgrade(conn, _before_counter())
        conn.execute(text("DELETE FROM ohsc_counters WHERE name = 'report_id'"))
    engine.dispose()
    store = Store(url)  # migrates
    assert service(store, make_settings(tmp_path)).create_draft(body()).report.id == 4
    store.dispose()
