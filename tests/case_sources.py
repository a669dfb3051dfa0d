"""A case with one folder source, and an ingest's applier for it (the cases' tests)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ohsc.cases.ingest import Applier
from ohsc.cases.models import CaseRow, CaseSourceRow
from ohsc.cases.service import CaseService
from ohsc.settings import Settings
from ohsc.store.db import Store

ROOT = Path("/seized")


def case_with_source(store: Store, settings: Settings, name: str) -> tuple[CaseRow, int]:
    """A new case ``name`` and the id of a folder source of it (``/seized``)."""
    CaseService(store, settings, actor="test").create(name)
    with store.session() as s:
        case = s.scalars(select(CaseRow).where(CaseRow.name == name)).one()
        source = CaseSourceRow(case_id=case.id, kind="folder", path=str(ROOT))
        s.add(source)
        s.flush()
        s.expunge_all()
    return case, source.id


def new_applier(store: Store, settings: Settings, name: str) -> tuple[Applier, int]:
    """An ingest's applier for a new case ``name``, and its source's id."""
    case, source_id = case_with_source(store, settings, name)
    return Applier(store, settings, case, source_id, ROOT), source_id
