"""The term lists in force, reloaded when their files change (no restart needed).

:class:`TermListRegistry` watches a directory (or a fixed set of files). At most every
``check_seconds`` it compares the files' names, sizes and modification times with what it loaded;
on a change it reads and compiles everything again and swaps the result in atomically. A file that
fails to load is reported in :meth:`status` (file and line, never the listed terms) and the
previous compiled lists stay in force, so a typo never switches deterrence off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ohsc.errors import TermListError
from ohsc.prevention.matcher import CompiledLists
from ohsc.prevention.termlists import TermList, is_list_file, load_file

log = logging.getLogger(__name__)

Signature = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True, slots=True)
class RegistryStatus:
    lists: tuple[TermList, ...]
    errors: tuple[str, ...]
    loaded_at: float | None
    generation: int
    sources: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "generation": self.generation,
            "loaded_at": self.loaded_at,
            "sources": list(self.sources),
            "lists": [
                {
                    "name": tl.name,
                    "language": tl.language,
                    "format": tl.format,
                    "source": tl.source,
                    "enabled": tl.enabled,
                    "description": tl.description,
                    **tl.counts,
                }
                for tl in self.lists
            ],
            "errors": list(self.errors),
        }


class TermListRegistry:
    """Compiled lists from a directory of ``*.txt`` and ``*.toml`` files, or from given files."""

    def __init__(
        self,
        *,
        directory: Path | None = None,
        files: Sequence[Path] = (),
        check_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if directory is None and not files:
            raise ValueError("a registry needs a directory or files")
        self.directory = directory
        self.files = tuple(files)
        self.check_seconds = check_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._compiled = CompiledLists(())
        self._signature: Signature | None = None
        self._checked_at = float("-inf")
        self._status = RegistryStatus((), (), None, 0)
        self._good: dict[str, TermList] = {}

    def _paths(self) -> list[Path]:
        if self.directory is not None:
            if not self.directory.is_dir():
                return []
            return sorted(p for p in self.directory.iterdir() if is_list_file(p))
        return list(self.files)

    def _signature_now(self) -> Signature:
        sig = []
        for path in self._paths():
            try:
                st = path.stat()
            except OSError:
                sig.append((str(path), -1, -1))
                continue
            sig.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(sig)

    def _load(self, signature: Signature) -> None:
        lists: list[TermList] = []
        errors: list[str] = []
        names: set[str] = set()
        good: dict[str, TermList] = {}
        for path_str, _, _ in signature:
            path = Path(path_str)
            try:
                tl = load_file(path)
            except TermListError as exc:
                errors.append(exc.message)
                previous = self._good.get(path_str)
                if previous is None:
                    continue
                tl = previous  # the file's last good version stays in force
            if tl.name in names:
                errors.append(f"{path.name}: another file already defines the list {tl.name!r}")
                continue
            names.add(tl.name)
            good[path_str] = tl
            lists.append(tl)
        if self.files and not self.directory:
            errors.extend(f"{p.name}: no such file" for p in self.files if not p.is_file())
        for message in errors:
            log.warning("term list problem: %s", message)
        compiled = CompiledLists(lists)
        self._compiled = compiled
        self._good = good
        self._signature = signature
        generation = self._status.generation + 1
        self._status = RegistryStatus(
            tuple(lists), tuple(errors), time.time(), generation, tuple(Path(s).name for s, _, _ in signature)
        )
        log.info(
            "term lists loaded: %d lists, %d keys (generation %d)", len(lists), compiled.size, generation
        )

    def compiled(self) -> CompiledLists:
        """The lists in force, reloading first if a file changed since the last look."""
        now = self._clock()
        if now - self._checked_at >= self.check_seconds:
            with self._lock:
                if now - self._checked_at >= self.check_seconds:
                    self._checked_at = now
                    signature = self._signature_now()
                    if signature != self._signature:
                        self._load(signature)
        return self._compiled

    def reload(self) -> RegistryStatus:
        """Read every file again now, changed or not."""
        with self._lock:
            self._checked_at = self._clock()
            self._load(self._signature_now())
        return self._status

    def status(self) -> RegistryStatus:
        self.compiled()
        return self._status
