"""The report form's fields, as the browser posts them, turned into a draft patch.

Fields are named by their path in the draft (``incident.at``, ``accounts.0.ip_events.1.port``,
``files.0.uploaded_at``: files by position). Every save sends the whole form; a field whose value
is refused (:mod:`ohsc.reports.fields`: web addresses, IPs, ports, e-mails, times) is left as it
was saved (or, for a row of a list or a line of a one-per-line field, that row or line is left
out) while the rest is saved, and its message is shown next to it. When nothing can be saved the
form says so (``errors["draft"]``); an edit is never dropped silently. Blank rows (an IP event or
device with nothing filled in) are left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ohsc.errors import InvalidInputError
from ohsc.reports.draft import merge, parse_body, parse_file_facts
from ohsc.reports.snapshot import ReportSnapshot
from ohsc.reports.validation import Problem
from ohsc.store.types import ascii_int

LINES = frozenset({"urls", "profile_urls"})
DATETIMES = frozenset({"at", "uploaded_at"})
BOOLS = frozenset({"content_removed", "imminent_danger"})
INTS = frozenset({"port"})
#: Lists of rows that are left out when blank.
ROW_LISTS = frozenset({"ip_events", "device_ids"})
FILE_FIELDS = ("file_name", "uploaded_at", "industry_classification")


def slug(path: str) -> str:
    """An element id for a field path (``incident.at`` -> ``incident-at``)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", path)


def local_dt(value: datetime | None) -> str:
    """A ``datetime-local`` input value, in UTC."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if value else ""


def group_problems(problems: Iterable[Problem]) -> list[tuple[str, list[Problem]]]:
    """Completeness problems by destination (those for every destination first)."""
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.destination or "", []).append(p)
    return sorted(groups.items(), key=lambda kv: kv[0])


def _convert(name: str, raw: str) -> Any:
    value = raw.strip()
    if name == "jurisdictions":
        return [c for c in re.split(r"[\s,;]+", value) if c]
    if name in LINES:
        return [line.strip() for line in value.splitlines() if line.strip()]
    if value == "":
        return None
    if name in DATETIMES:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", value):
            return value + ":00+00:00"  # the form's times are UTC
        return value
    if name in BOOLS:
        return {"true": True, "false": False}.get(value, value)
    if name in INTS and (number := ascii_int(value)) is not None:
        return number
    return value


def _tree(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Dotted names to nested dicts (numeric segments stay keys until :func:`_lists`)."""
    root: dict[str, Any] = {}
    for name, raw in pairs:
        parts = name.split(".")
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = _convert(parts[-1], raw)  # the last value of a name wins
    return root


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(ascii_int(k) is not None for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node


def _blank(row: Any) -> bool:
    return isinstance(row, dict) and all(v in (None, "", []) for v in row.values())


@dataclass
class FormPatch:
    """What one save of the form changes, and the fields it refused (path -> message)."""

    body: dict[str, Any]
    files: dict[int, dict[str, Any]]
    errors: dict[str, str] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)


def _overlay(before: list[Any], rows: list[Any]) -> list[Any]:
    """Rows as edited, over the saved ones (keeping fields the form does not show)."""
    out = []
    for i, row in enumerate(rows):
        old = before[i] if i < len(before) and isinstance(before[i], dict) else {}
        out.append(merge(old, row) if isinstance(row, dict) else row)
    return out


def _build_body(tree: dict[str, Any], before: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """The body patch, and for each compacted row list the form index of each kept row."""
    body: dict[str, Any] = {k: v for k, v in tree.items() if k not in ("files", "version", "csrf_token")}
    body.pop("accounts", None)
    maps: dict[str, list[int]] = {}
    if "accounts" in tree:
        saved = before.get("accounts") or []
        accounts = _overlay(saved, tree["accounts"] if isinstance(tree["accounts"], list) else [])
        for a, acc in enumerate(accounts):
            if not isinstance(acc, dict):
                continue
            old = saved[a] if a < len(saved) and isinstance(saved[a], dict) else {}
            for key in ROW_LISTS:
                edited = tree["accounts"][a].get(key) if isinstance(tree["accounts"][a], dict) else None
                if not isinstance(edited, list):
                    continue
                rows = _overlay(old.get(key) or [], edited)
                kept = [(i, r) for i, r in enumerate(rows) if not _blank(edited[i])]
                acc[key] = [r for _i, r in kept]
                maps[f"accounts.{a}.{key}"] = [i for i, _r in kept]
        body["accounts"] = accounts
    return body, maps


def _to_form_path(path: str, maps: dict[str, list[int]]) -> str:
    parts = path.split(".")
    for n in range(len(parts) - 1):
        prefix = ".".join(parts[: n + 1])
        index = ascii_int(parts[n + 1])
        if prefix in maps and index is not None and index < len(maps[prefix]):
            parts[n + 1] = str(maps[prefix][index])
    return ".".join(parts)


def _get(node: Any, parts: list[str]) -> tuple[bool, Any]:
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and (index := ascii_int(part)) is not None and index < len(node):
            node = node[index]
        else:
            return False, None
    return True, node


def _drop(body: dict[str, Any], before: dict[str, Any], path: str) -> None:
    """Leave a refused value out: a row of a list goes, a value goes back to what was saved."""
    parts = path.split(".")
    # the innermost list element on the path (a row, or an item of a list of values)
    for n in range(len(parts) - 1, 0, -1):
        index = ascii_int(parts[n])
        if index is not None and (parts[n - 1] in ROW_LISTS or n == len(parts) - 1):
            found, parent = _get(body, parts[:n])
            if found and isinstance(parent, list) and index < len(parent):
                del parent[index]
                return
    found, parent = _get(body, parts[:-1])
    if not found or not isinstance(parent, dict):
        return
    had, old = _get(before, parts)
    if had:
        parent[parts[-1]] = old
    else:
        parent.pop(parts[-1], None)


def _fields(exc: InvalidInputError) -> dict[str, str]:
    detail = exc.detail if isinstance(exc.detail, dict) else {}
    found = detail.get("fields")
    if not isinstance(found, dict):
        return {"draft": exc.message}
    return {str(k): str(v) for k, v in found.items()}


def _path_key(path: str) -> tuple[tuple[int, str], ...]:
    """Sort key: list indexes as numbers (rows are dropped from the last one up)."""
    return tuple((int(p), "") if p.isascii() and p.isdigit() else (-1, p) for p in path.split("."))


def _note(errors: dict[str, str], path: str, message: str) -> None:
    """Record a refusal; an item of a one-per-line field is shown next to the field itself."""
    parts = path.split(".")
    if len(parts) > 1 and parts[-2] in LINES and ascii_int(parts[-1]) is not None:
        path = ".".join(parts[:-1])
    if path in errors and message not in errors[path]:
        errors[path] = f"{errors[path]}; {message}"
    else:
        errors.setdefault(path, message)


def _valid_part(
    body: dict[str, Any], before: dict[str, Any], maps: dict[str, list[int]], errors: dict[str, str]
) -> dict[str, Any]:
    """``body`` without the refused values. Each round drops at least one value; when a round can
    drop nothing (a value saved earlier is refused) nothing is saved, and ``errors["draft"]`` says
    why: an edit is never dropped without a word."""
    while True:
        try:
            parse_body(merge(before, body))
            return body
        except InvalidInputError as exc:
            refused = _fields(exc)
        was = json.dumps(body, sort_keys=True, default=str)
        for path in sorted(refused, key=_path_key, reverse=True):
            _note(errors, _to_form_path(path, maps), refused[path])
            _drop(body, before, path)
        if json.dumps(body, sort_keys=True, default=str) == was:
            listed = "; ".join(f"{k}: {v}" for k, v in refused.items())
            errors["draft"] = f"nothing was saved: fix these first: {listed}"
            return {}


def _valid_file_part(
    saved: dict[str, Any], patch: dict[str, Any], pos: int, errors: dict[str, str]
) -> dict[str, Any]:
    """A file's edited facts without the refused ones (each put back as saved). When a round can
    put nothing back (a fact saved earlier is refused), nothing of the file is saved and each of its
    edited fields says so: an edit is never dropped without a word."""
    edited = {k for k, v in patch.items() if v != saved.get(k)}
    while True:
        try:
            parse_file_facts(merge(saved, patch), prefix=f"files.{pos}.")
            return patch
        except InvalidInputError as exc:
            refused = _fields(exc)
        was = dict(patch)
        for path, message in refused.items():
            errors.setdefault(path, message)
            key = path.split(".")[2] if path.count(".") >= 2 else ""
            if key in patch:
                patch[key] = saved.get(key)
        if patch == was:
            listed = "; ".join(f"{k}: {v}" for k, v in refused.items())
            for key in sorted(edited):
                errors.setdefault(f"files.{pos}.{key}", f"not saved: fix these first: {listed}")
            return {}


def build_patch(pairs: list[tuple[str, str]], snap: ReportSnapshot) -> FormPatch:
    """The form as posted -> the patch to save (valid values only) and messages for the others."""
    tree = _lists(_tree(pairs))
    before = snap.body.model_dump(mode="json", exclude_none=True)
    body, maps = _build_body(tree, before)
    errors: dict[str, str] = {}
    body = _valid_part(body, before, maps, errors)
    files: dict[int, dict[str, Any]] = {}
    edited_files = tree.get("files") if isinstance(tree.get("files"), list) else []
    by_position = {f.position: f for f in snap.files}
    for pos, edited in enumerate(edited_files or []):
        f = by_position.get(pos)
        if f is None or not isinstance(edited, dict):
            continue
        saved = f.facts.model_dump(mode="json", exclude_none=True)
        patch = {k: edited[k] for k in FILE_FIELDS if k in edited}
        patch = _valid_file_part(saved, patch, pos, errors)
        if patch:
            files[f.id] = patch
    names = [name for name, _v in pairs if name not in ("csrf_token", "version")]
    return FormPatch(body=body, files=files, errors=errors, fields=sorted(set(names)))
