"""Which server process runs the jobs that must run once per deployment, not once per process.

Retention, evidence purge, webhook delivery, report resumption and saving compacted index files
act on the shared store; with ``ohsc serve --workers N`` (or several servers on one store) every
process used to run them, so N processes polled, purged and wrote the same rows at once and
contended with the requests (issue 10, item 10). One process, the leader, runs them now:

* **PostgreSQL**: a session advisory lock (``pg_try_advisory_lock``) on a connection the leader
  keeps, keyed by database and schema; it is released when that connection ends, so a leader
  that dies or loses its connection hands over.
* **SQLite**: an exclusive ``flock`` on ``OHSC_HOME/leader.lock``, released when the process ends.

The others try again every few seconds (:data:`ELECTION_SECONDS`) and take over when the
leader goes away.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, text

from ohsc.settings import Settings
from ohsc.store.db import Store

log = logging.getLogger(__name__)

#: how often a process that is not the leader tries to become it (and the leader checks its lock)
ELECTION_SECONDS = 5.0
LOCK_FILE = "leader.lock"
_KEY = "hashtextextended('ohsc-leader:' || current_database() || ':' || current_schema(), 0)"


class Leadership(Protocol):
    def try_acquire(self) -> bool:
        """True when this process is the leader (now, or already): cheap when already held."""
        ...

    def release(self) -> None: ...


class FileLeadership:
    """An exclusive lock on a file (one machine; the SQLite store)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class AdvisoryLeadership:
    """A PostgreSQL session advisory lock on a connection kept for as long as it is held."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            try:  # still ours while the session lives
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return True
            except Exception:
                log.warning("the leader's database connection was lost; standing for election again")
                self._drop()
        conn = self.store.engine.connect()
        try:
            got = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({_KEY})")).scalar())
            conn.commit()  # the lock is the session's: no transaction is left open
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def release(self) -> None:
        conn = self._conn
        if conn is None:
            return
        with contextlib.suppress(Exception):
            conn.execute(text(f"SELECT pg_advisory_unlock({_KEY})"))
            conn.commit()
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.invalidate()  # really closed: back in the pool, its session would keep the lock


def leadership_for(store: Store, settings: Settings) -> Leadership:
    if store.dialect == "postgresql":
        return AdvisoryLeadership(store)
    return FileLeadership(settings.home / LOCK_FILE)
