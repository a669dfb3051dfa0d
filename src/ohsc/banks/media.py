"""Bank entries from media files (paths or uploaded bytes): digests, exact PDQ of images, vPDQ of videos."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ohsc.banks.model import EntryInput, HashedMedia, MediaUpload
from ohsc.settings import Settings
from ohsc.signals.files import FileSignals, HashOptions, hash_path, hash_upload
from ohsc.signals.sniff import MediaKind


def entries_from_signals(
    settings: Settings, sig: FileSignals, *, label: str, **common: Any
) -> tuple[list[EntryInput], list[str]]:
    """Bank entries for one hashed file, and notes on what was left out.

    A perceptual hash without the detail to match (PDQ quality below the floor, a video whose
    frames all are) is left out with a note; the file's digests are always added.
    ``common``: category, labels, note, external_id for every entry.
    """
    items: list[EntryInput] = []
    notes: list[str] = []
    for st, value in (("md5", sig.md5), ("sha1", sig.sha1), ("sha256", sig.sha256)):
        if value is not None:
            items.append(EntryInput(signal_type=st, value=value, **common))
    if sig.pdq is not None:
        quality = sig.pdq_quality or 0
        if quality < settings.pdq_quality_min:
            notes.append(
                f"{label}: PDQ quality {quality} below {settings.pdq_quality_min}; "
                "PDQ not added (too little detail to match reliably)"
            )
        else:
            items.append(EntryInput(signal_type="pdq", value=sig.pdq, quality=quality, **common))
    if sig.vpdq:
        qualities = [int(f.quality) for f in sig.vpdq]
        if not any(q >= settings.vpdq_quality_min for q in qualities):
            notes.append(
                f"{label}: no video frame reaches PDQ quality {settings.vpdq_quality_min}; vPDQ not added"
            )
        else:
            mean = round(sum(qualities) / len(qualities))
            items.append(EntryInput(signal_type="vpdq", value=sig.signals()["vpdq"], quality=mean, **common))
    if sig.kind not in (MediaKind.IMAGE, MediaKind.VIDEO) and not sig.error:
        what = {MediaKind.EMPTY: " (an empty file)", MediaKind.ARCHIVE: " (an archive: not looked inside)"}
        notes.append(f"{label}: not a picture or video{what.get(sig.kind, '')}; only its file digests added")
    if sig.error:
        perceptual = sig.pdq is not None or bool(sig.vpdq)
        notes.append(f"{label}: {sig.error}" + ("" if perceptual else "; only file digests added"))
    return items, notes


def hash_media(
    settings: Settings, files: Sequence[Path | MediaUpload], **common: Any
) -> tuple[list[HashedMedia], list[tuple[Path | MediaUpload, str]]]:
    """Hash files as bank references (exact PDQ, every video frame: banks are references).
    Returns the hashed files and the unusable ones with reasons. ``common``: category, labels,
    note, external_id for every entry."""
    options = HashOptions.from_settings(settings, mode="exact")
    hashed: list[HashedMedia] = []
    failed: list[tuple[Path | MediaUpload, str]] = []
    for source in files:
        if isinstance(source, MediaUpload):
            sig, label = hash_upload(source.data, settings, mode="exact"), source.name
        else:
            sig, label = hash_path(source, options), str(source)
        if sig.md5 is None:
            failed.append((source, sig.error or "unreadable"))
            continue
        items, notes = entries_from_signals(settings, sig, label=label, **common)
        hashed.append(HashedMedia(source, items, notes))
    return hashed, failed
