"""Resolving what a user typed into the entries it names."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from ohsc.banks.records import PLACEHOLDER_IDS
from ohsc.errors import AmbiguousReferenceError, InvalidInputError, OhscError
from ohsc.signals import get_signal_type
from ohsc.store.models import EntryRow, EntrySourceRow
from ohsc.store.types import ascii_int


def find_entries(s: Session, bank_id: int, ref: str) -> list[EntryRow]:
    """The entries of a bank that ``ref`` names: an entry id (``12``, ``#12``), ``TYPE:VALUE``,
    an external id (all its entries), or a bare value (an error when several signal types have it)."""
    ref = ref.strip()
    if ref.startswith("#") and ascii_int(ref[1:]) is not None:
        ref = ref[1:]
    if (entry_id := ascii_int(ref)) is not None:
        row = s.get(EntryRow, entry_id)
        if row is not None and row.bank_id == bank_id:
            return [row]
    if ":" in ref:
        st_name, _, value = ref.partition(":")
        try:
            st = get_signal_type(st_name)
            norm = st.validate(value)
        except OhscError:
            pass
        else:
            return list(
                s.scalars(
                    select(EntryRow).where(
                        EntryRow.bank_id == bank_id,
                        EntryRow.signal_type == st.name,
                        EntryRow.value == norm,
                    )
                )
            )
    rows = list(s.scalars(select(EntryRow).where(EntryRow.bank_id == bank_id, EntryRow.external_id == ref)))
    if rows:
        return rows
    rows = _by_record(s, bank_id, ref)
    if rows:
        return rows
    rows = list(s.scalars(select(EntryRow).where(EntryRow.bank_id == bank_id, EntryRow.value == ref.lower())))
    if len(rows) > 1:
        types = ", ".join(sorted(r.signal_type for r in rows))
        raise AmbiguousReferenceError(
            f"{ref!r} is a value of several signal types ({types}); write it as TYPE:VALUE or use an entry id"
        )
    return rows


def _by_record(s: Session, bank_id: int, external_id: str) -> list[EntryRow]:
    ids = select(EntrySourceRow.entry_id).where(
        EntrySourceRow.bank_id == bank_id, EntrySourceRow.external_id == external_id
    )
    return list(s.scalars(select(EntryRow).where(EntryRow.id.in_(ids))))


def find_targets(s: Session, bank_id: int, ref: str) -> tuple[list[EntryRow], list[EntrySourceRow] | None]:
    """What a retraction or restore of ``ref`` acts on: the entries, and the source records when
    ``ref`` is an external id (only those records; None: every record of the entries).

    External id ``0`` names no record (NIST's NSRL/CAID VICS files give every record MediaID 0)."""
    ref = ref.strip()
    rows = find_entries(s, bank_id, ref)
    by_entry_ref = ascii_int(ref.removeprefix("#")) is not None and any(
        str(r.id) == ref.removeprefix("#") for r in rows
    )
    if by_entry_ref:
        return rows, None
    records = list(
        s.scalars(
            select(EntrySourceRow).where(EntrySourceRow.bank_id == bank_id, EntrySourceRow.external_id == ref)
        )
    )
    if not records:
        return rows, None
    if ref in PLACEHOLDER_IDS:
        raise InvalidInputError(f"external id {ref!r} names no record: give the hash or the entry id")
    ids = {r.entry_id for r in records}
    return list(s.scalars(select(EntryRow).where(EntryRow.id.in_(ids)))), records


def search_condition(bank_id: int, query: str) -> ColumnElement[bool]:
    """Entries of a bank that a search names: an entry id, a hash (``VALUE`` or ``TYPE:VALUE``,
    of any signal type), or an external id (the entry's or one of its source records')."""
    query = query.strip()
    value = query.lower()
    options: list[ColumnElement[bool]] = [
        EntryRow.value == value,
        EntryRow.external_id == query,
        EntryRow.id.in_(
            select(EntrySourceRow.entry_id).where(
                EntrySourceRow.bank_id == bank_id, EntrySourceRow.external_id == query
            )
        ),
    ]
    if (entry_id := ascii_int(query.removeprefix("#"))) is not None:
        options.append(EntryRow.id == entry_id)
    st_name, sep, typed = query.partition(":")
    if sep:
        try:
            st = get_signal_type(st_name)
            options.append(and_(EntryRow.signal_type == st.name, EntryRow.value == st.validate(typed)))
        except OhscError:
            pass
    return and_(EntryRow.bank_id == bank_id, or_(*options))
