"""The store: one SQLAlchemy engine, sessions, migrations and counters.

The embedded default is a SQLite file under the data directory; ``OHSC_DATABASE_URL`` selects
PostgreSQL (a plain ``postgresql://user@host:port/db`` URL works).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

from ohsc.errors import ConfigError, OhscError, StoreError
from ohsc.permissions import private_dir, private_file, secure_home
from ohsc.settings import Settings, load_settings
from ohsc.store.audit_keys import AuditKeyring, load_keyring, seal_unkeyed
from ohsc.store.models import Counter, MetaValue

#: Counters created with the schema.
COUNTERS = ("entry_seq", "audit_seq")
#: ``Session.info`` key of the store a session belongs to (its audit keys, its settings).
STORE_INFO = "ohsc.store"
#: ``Session.info`` key: how many audit events the session has written.
AUDITED_INFO = "ohsc.audit_events"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``postgres://`` URLs and pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        make_url(url)
    except Exception as exc:
        raise ConfigError(f"unusable database URL: {exc}") from exc
    return url


def prepare_sqlite_file(url: str) -> None:
    """Create a SQLite file's folder and the empty file owner-only before SQLite opens it (its
    ``-wal`` and ``-shm`` files take the database file's permissions)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        private_dir(path.parent)
        private_file(path)


#: SQLite's page cache per connection (KiB; the default is 2 MiB). A bulk writer (an import, an
#: exchange's pages) inserts hashes all over a bank's indexes; with 2 MiB the pages it changes
#: do not fit, so SQLite writes them out and reads them back within one transaction. The cache
#: grows only as pages are read, and goes with the connection (one per unit of work).
SQLITE_CACHE_KIB = 65536


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()


class Store:
    """Access to the database. Use :meth:`session` for a unit of work."""

    def __init__(
        self,
        url: str,
        *,
        auto_migrate: bool = True,
        bind: Connection | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.url = normalise_url(url)
        self.dialect = make_url(self.url).get_backend_name()
        #: where the audit keys come from; None: the OHSC_* environment
        self.settings = settings
        self._keyring: AuditKeyring | None = None
        info = {STORE_INFO: self}
        if bind is not None:
            self.engine: Engine = bind.engine
            self._bind: Connection | None = bind
            self._sessions = sessionmaker(
                bind=bind, expire_on_commit=False, join_transaction_mode="create_savepoint", info=info
            )
        else:
            self.engine = self._create_engine(self.url)
            self._bind = None
            self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False, info=info)
        self._store_id: str | None = None
        #: kept connections for :meth:`reading` (a SQLite file store) and the process they are of
        self._reader: tuple[int, Engine] | None = None
        self._reader_lock = threading.Lock()
        if auto_migrate:
            self.migrate()

    @classmethod
    def from_settings(cls, settings: Settings) -> Store:
        secure_home(settings.home)
        return cls(settings.effective_database_url(), auto_migrate=settings.auto_migrate, settings=settings)

    @staticmethod
    def _create_engine(url: str) -> Engine:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            prepare_sqlite_file(url)
            engine = create_engine(url, poolclass=NullPool if parsed.database else None)
            event.listen(engine, "connect", _sqlite_pragmas)
            return engine
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)

    # --- units of work -----------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends and rolls back on any exception."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except OhscError:
            session.rollback()
            raise
        except (OperationalError, ProgrammingError) as exc:
            session.rollback()
            raise StoreError(f"database error: {exc.orig.__class__.__name__}: {exc.orig}") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @property
    def bound(self) -> bool:
        """Bound to one connection its caller gave (its units of work are savepoints of that
        connection's transaction; it takes statements from one thread at a time)."""
        return self._bind is not None

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for one short read (Core statements; each statement sees everything
        committed before it began, and nothing is held after the block). A SQLite file store keeps
        its reading connections open between blocks (a pool of its own), as opening one costs about
        1 ms with its PRAGMAs (the units of work of :meth:`session` open one each); elsewhere this
        is a connection of the store's own pool or binding."""
        try:
            if self._bind is not None:
                with self.session() as s:
                    yield s.connection()
            else:
                with self._reading_engine().connect() as conn:
                    yield conn
        except (OperationalError, ProgrammingError) as exc:
            raise StoreError(f"database error: {exc.orig.__class__.__name__}: {exc.orig}") from exc

    def _reading_engine(self) -> Engine:
        if self.dialect != "sqlite" or not isinstance(self.engine.pool, NullPool):
            return self.engine  # already pooled (PostgreSQL, a server's SQLite store)
        pid = os.getpid()
        reader = self._reader
        if reader is not None and reader[0] == pid:
            return reader[1]
        with self._reader_lock:
            if self._reader is None or self._reader[0] != pid:  # never a connection of a parent process
                if self._reader is not None:
                    self._reader[1].dispose(close=False)
                engine = create_engine(self.url, poolclass=QueuePool, pool_size=4, max_overflow=-1)
                event.listen(engine, "connect", _sqlite_pragmas)
                self._reader = (pid, engine)
            return self._reader[1]

    def dispose(self) -> None:
        if self._bind is None:
            self.engine.dispose()
        if self._reader is not None:
            self._reader[1].dispose()
            self._reader = None

    def analyze(self, *tables: str) -> None:
        """Refresh PostgreSQL's statistics of these tables (a no-op on SQLite). A bulk writer
        calls it as a table grows: until autovacuum gets to it, a table filled in one go keeps
        the planner's idea of an empty table, and a lookup of a page of hashes then filters the
        whole bank row by row instead of probing its unique index (seconds per page at 100,000
        entries)."""
        if self.dialect != "postgresql":
            return
        preparer = self.engine.dialect.identifier_preparer
        names = ", ".join(preparer.quote(t) for t in tables)
        with self.session() as s:  # ANALYZE runs in a transaction too (a store bound to one)
            s.connection().exec_driver_sql(f"ANALYZE {names}")

    @contextmanager
    def held_open(self) -> Iterator[None]:
        """Keep one idle connection open for the block, for a writer that commits many units of
        work in a row (an exchange's pages). With SQLite's WAL, closing the last connection
        checkpoints the database (an fsync); the connection per unit of work of this store would
        otherwise do that at every commit. The idle connection holds no lock."""
        if self.dialect != "sqlite" or self._bind is not None:
            yield
            return
        with self.engine.connect():
            yield

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Held around a bulk writer's transaction; a no-op here (see ``ServerStore``)."""
        yield

    # --- schema ------------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema to the newest revision (Alembic) and create counters and store id."""
        from ohsc.store.migrate import up_to_date, upgrade

        def run(conn: Connection) -> None:
            if up_to_date(conn):
                return
            unkeyed = _has_unkeyed_audit_table(conn)
            upgrade(conn)
            if unkeyed:  # this upgrade keys the chain: seal what was written before, in its transaction
                seal_unkeyed(conn, self.audit_keyring)

        try:
            if self._bind is not None:
                run(self._bind)
            else:
                with self.engine.begin() as conn:
                    run(conn)
        except OperationalError as exc:
            raise StoreError(f"cannot open the store at {self.display_url}: {exc.orig}") from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate the store at {self.display_url}: {exc}") from exc
        with self.session() as s:
            for name in COUNTERS:
                if s.get(Counter, name) is None:
                    s.add(Counter(name=name, value=0))
            if s.get(MetaValue, "store_id") is None:
                s.add(MetaValue(key="store_id", value=uuid.uuid4().hex))

    @property
    def audit_keyring(self) -> AuditKeyring:
        """The audit chain's keys (loaded once; the key file is created on first use)."""
        if self._keyring is None:
            self._keyring = load_keyring(self.settings or load_settings())
        return self._keyring

    def use_audit_keyring(self, keyring: AuditKeyring) -> None:
        """Write with ``keyring`` from now on (after a key rotation)."""
        self._keyring = keyring

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    @property
    def store_id(self) -> str:
        """A random id fixed when the store was created (index files remember it)."""
        if self._store_id is None:
            with self.session() as s:
                row = s.get(MetaValue, "store_id")
                if row is None:
                    raise StoreError("store has no id: run migrations")
                self._store_id = row.value
        return self._store_id


def _has_unkeyed_audit_table(conn: Connection) -> bool:
    """The audit table exists from before the chain was keyed (no ``key_id`` column yet)."""
    inspector = inspect(conn)
    if not inspector.has_table("audit_events"):
        return False
    return "key_id" not in {c["name"] for c in inspector.get_columns("audit_events")}


def audit_keyring_of(session: Session) -> AuditKeyring:
    """The audit keys of the store ``session`` belongs to (else those of the OHSC_* environment)."""
    store = session.info.get(STORE_INFO)
    if isinstance(store, Store):
        return store.audit_keyring
    return load_keyring(load_settings())


def audit_events_in(session: Session) -> int:
    """How many audit events ``session`` has written (``ohsc.audit.record`` counts them)."""
    return int(session.info.get(AUDITED_INFO, 0))


def next_seq(session: Session, name: str, n: int = 1) -> int:
    """Reserve ``n`` values of counter ``name``; returns the last. Locks the counter until commit."""
    value = session.execute(
        update(Counter).where(Counter.name == name).values(value=Counter.value + n).returning(Counter.value)
    ).scalar_one_or_none()
    if value is None:
        session.execute(insert(Counter).values(name=name, value=n))
        return n
    return int(value)


def current_seq(session: Session, name: str) -> int:
    value = session.execute(select(Counter.value).where(Counter.name == name)).scalar_one_or_none()
    return int(value or 0)
