"""Async engine and sessions: SQLite (WAL, foreign keys on) by default, PostgreSQL at scale.

Services receive an ``AsyncSession`` and own their transaction (commit at the end of a write), so a domain
change and its ledger leaf commit together or not at all.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import os
import sqlite3
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import anyio.to_thread
from sqlalchemy import Connection, Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection, Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql import Executable

from sesame.settings import Settings

#: The largest row id every table holds on every database (PostgreSQL ``integer``): an id past it cannot exist,
#: and must not reach a driver (asyncpg and sqlite3 raise on out-of-range parameters).
MAX_ID = 2_147_483_647

T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.database_url
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 10}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One session per request; rolled back if the handler did not commit."""
    async with factory() as session:
        try:
            yield session
        finally:
            if session.in_transaction():
                await session.rollback()


# -- reads on the event loop (SQLite) ---------------------------------------------------------------------------
class LoopReads:
    """Short indexed reads on a SQLite file, run on the event loop with the stdlib driver.

    aiosqlite runs every statement in a thread of its own and wakes the loop when it is done: for a read that
    SQLite answers in tens of microseconds, the two thread switches and the GIL hand-offs cost far more than the
    read (measured: ``GET /health``, one ``SELECT 1``, is 8x slower than a constant endpoint). The hot paths
    (the token's account, a company's read of a vault) read here instead.

    Each statement is compiled once by SQLAlchemy's SQLite dialect, then run straight on ``sqlite3`` with the
    dialect's own bind and result processors for each column's type: the same SQL and the same Python values
    as on the async session, without SQLAlchemy's per-execution machinery (which cost 4x the read itself).
    Statements this cannot take as they are (expanding ``IN`` parameters, duplicate column names, anything but
    a ``SELECT``) answer ``None``: the caller asks its session, as when the database is busy.

    Reads only (``PRAGMA query_only``), each in its own implicit transaction that ends with the statement, so
    no snapshot lingers; WAL readers never wait for the writer. A busy or broken database answers ``None`` after
    50 ms and the caller falls back to its async session, so nothing here can fail a request that would have
    succeeded. A database file replaced under a running server (a restore) is noticed by its inode, and
    reopened.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._file: tuple[int, int] | None = None  # (device, inode) the open connection reads
        self._raw: sqlite3.Connection | None = None
        self._prepared: dict[int, _Prepared | None] = {}

    def rows(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Any] | None:
        """All rows of ``statement`` (attribute access by column key, as ``Row``), or ``None`` if SQLite could
        not answer at once or the statement is not one this takes (use the session then)."""
        try:
            found = os.stat(self._path)
            if self._file != (found.st_dev, found.st_ino):  # first read, or the file was replaced (restore)
                self.close()
                self._file = (found.st_dev, found.st_ino)
            key = id(statement)
            try:
                prepared = self._prepared[key]
            except KeyError:
                prepared = self._prepared[key] = _Prepared.of(statement, _SQLITE)
            if prepared is None:
                return None
            raw = self._raw
            if raw is None:
                # autocommit: each SELECT is its own read transaction, over once its rows are fetched
                raw = sqlite3.connect(self._path, timeout=0.05, check_same_thread=False, isolation_level=None)
                raw.execute("PRAGMA query_only = ON")
                self._raw = raw
            return prepared.run(raw, params or {})
        except (OperationalError, sqlite3.Error, OSError):
            return None

    def close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            raw.close()


class _Prepared:
    """One ``SELECT`` compiled for SQLite: its SQL, where each parameter comes from, how each value converts."""

    __slots__ = ("_binds", "_results", "_row", "_sql", "statement")

    def __init__(
        self,
        statement: Executable,
        sql: str,
        binds: list[tuple[str, Any, Callable[[Any], Any] | None]],
        row: type[tuple[Any, ...]],
        results: list[tuple[int, Callable[[Any], Any]]],
    ) -> None:
        self.statement = statement  # kept alive, so its id() (the cache key) is never reused
        self._sql = sql
        self._binds = binds
        self._row = row
        self._results = results

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect) -> _Prepared | None:
        columns = getattr(statement, "selected_columns", None)
        if columns is None:
            return None
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        keys = list(columns.keys())
        positions = compiled.positiontup
        if positions is None:
            return None
        binds: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
        for name in positions:
            bind = compiled.binds[name]
            if bind.expanding or bind.literal_execute or bind.callable is not None:
                return None
            default = _REQUIRED if bind.required else bind.effective_value
            binds.append((bind.key, default, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        results = []
        for index, column in enumerate(columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((index, process))
        try:
            row = collections.namedtuple("Row", keys)  # type: ignore[misc]
        except ValueError:
            return None  # names a row class refuses (duplicates, a leading underscore, a keyword): the session answers
        return cls(statement, compiled.string, binds, row, results)

    def run(self, connection: sqlite3.Connection, params: dict[str, Any]) -> list[Any]:
        values = []
        for key, default, process in self._binds:
            value = params[key] if default is _REQUIRED else params.get(key, default)
            values.append(value if process is None else process(value))
        fetched = connection.execute(self._sql, values).fetchall()
        make, results = self._row._make, self._results  # type: ignore[attr-defined]
        if not results:
            return [make(r) for r in fetched]
        out = []
        for r in fetched:
            converted = list(r)
            for index, process in results:
                converted[index] = process(converted[index])
            out.append(make(converted))
        return out


_REQUIRED = object()
_SQLITE = sqlite.dialect()  # the stdlib driver's dialect: its SQL, its converters


def _sqlite_file(sync_engine: Engine) -> str | None:
    """The path of the SQLite file behind ``sync_engine``; ``None`` for PostgreSQL and in-memory SQLite."""
    url = sync_engine.url
    path = url.database if url.get_backend_name() == "sqlite" else None
    return path if path and path != ":memory:" and not path.startswith("file:") else None


_loop_reads: weakref.WeakKeyDictionary[Engine, LoopReads | None] = weakref.WeakKeyDictionary()


def loop_reads(bind: Any) -> LoopReads | None:
    """The ``LoopReads`` of the SQLite file behind ``bind`` (an ``AsyncEngine``), or ``None`` (PostgreSQL,
    in-memory SQLite): one per engine and process, made on first use, so after Granian has forked."""
    return _one_per_file(_loop_reads, bind, LoopReads)


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


def _one_per_file(
    registry: weakref.WeakKeyDictionary[Engine, C | None], bind: Any, make: Callable[[str], C]
) -> C | None:
    """``make(path)`` once per engine and process for the SQLite file behind ``bind``; ``None`` where there is
    none. Closed when the engine is disposed."""
    sync_engine = getattr(bind, "sync_engine", None)
    if sync_engine is None:
        return None
    try:
        return registry[sync_engine]
    except KeyError:
        pass
    path = _sqlite_file(sync_engine)
    made = make(path) if path is not None else None
    registry[sync_engine] = made
    if made is not None:
        # Its connections go whenever the engine's do: an open connection would keep SQLite from folding the
        # WAL back into the main file when the engine's last connection closes.
        # Not a weakref.finalize: the collector may run a finalizer in any thread at any moment, and
        # disposing takes the logging module's lock (a deadlock found in CI). An engine dropped without
        # dispose takes these with it, and sqlite3 closes a connection when it is freed.
        event.listen(sync_engine, "engine_disposed", lambda _engine: made.close())
    return made


async def read_rows(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> Sequence[Any]:
    """Rows of a read-only ``statement``: on the loop for SQLite files, else (or if busy) on ``session``.

    The loop read is taken only while ``session`` has no transaction open, so it can never miss what the
    session wrote and has not committed yet; later reads of a request go through the session.
    Hot paths build ``statement`` once, with ``bindparam``s filled from ``params``: building a SQLAlchemy
    statement costs more than SQLite's answer to it.
    """
    reads = loop_reads(session.bind)
    if reads is not None and not session.in_transaction():
        found = reads.rows(statement, params)
        if found is not None:
            return found
    return (await session.execute(statement, params)).all()


# -- whole write transactions in one thread hand-off (SQLite) ----------------------------------------------------
class SqliteWrites:
    """Write transactions on a SQLite file, each run whole in one worker-thread hand-off on the stdlib driver.

    Through aiosqlite every statement is a round trip to its thread (cursor, execute, fetch, close: several
    switches each), and a hot group commit of ten statements paid for dozens of them: measured, 37 % of a
    company's read of a vault went to its receipt batch. Here the transaction is a plain function of a
    synchronous SQLAlchemy ``Connection`` (same statements, same types), run in a worker thread inside the
    writer gate, begun and committed there: one hand-off per transaction. The event loop never blocks on it.

    A database file replaced under a running server (a restore) is noticed by its inode, and reopened, so no
    write ever lands in the file that was replaced.
    """

    def __init__(self, path: str, gate: WriterGate) -> None:
        self._path = path
        self._gate = gate
        self._file: tuple[int, int] | None = None
        self._engine: Engine = create_sync_engine(
            f"sqlite:///{path}", connect_args={"timeout": 10, "check_same_thread": False}
        )
        event.listen(self._engine, "connect", _sqlite_pragmas)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in one transaction, committed if it returns, rolled back if it raises.

        The gate is held until the thread is done, even if the caller is cancelled meanwhile (a thread cannot
        be interrupted, so the awaiting is shielded): no other writer starts while this one may still commit.
        """
        async with self._gate:
            return await anyio.to_thread.run_sync(self._transaction, work)

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        found = os.stat(self._path)
        if self._file != (found.st_dev, found.st_ino):
            self._engine.dispose()
            self._file = (found.st_dev, found.st_ino)
        with self._engine.begin() as conn:
            return work(conn)

    def close(self) -> None:
        self._engine.dispose()


_sqlite_writes: weakref.WeakKeyDictionary[Engine, SqliteWrites | None] = weakref.WeakKeyDictionary()


def sqlite_writes(bind: Any) -> SqliteWrites | None:
    """The ``SqliteWrites`` of the SQLite file behind ``bind`` (an ``AsyncEngine``), or ``None`` (PostgreSQL,
    in-memory SQLite): one per engine and process, made on first use, closed when the engine is disposed."""
    return _one_per_file(_sqlite_writes, bind, lambda path: SqliteWrites(path, writer_gate(bind)))


# -- one writer at a time on a SQLite file ------------------------------------------------------------------------
class WriterGate:
    """Writers to one SQLite file take turns: an ``asyncio.Lock`` within the process, an ``flock`` between them.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (1, 2, 5 ... 100 ms, up to
    ``busy_timeout``), so under concurrent commits a waiting writer mostly sleeps past the moment the lock was
    freed: the tails of every write path (hundreds of ms at a few hundred writes/s, measured on checkouts). A
    kernel file lock wakes the next writer the moment the previous one lets go. PostgreSQL and in-memory SQLite
    need none: entering then does nothing. Enter it through ``write_turn``, which keeps the two rules that make
    it deadlock-free.
    """

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._fd: int | None = None
        # the kernel lock belongs to the process, so coroutines of one loop queue on an asyncio lock first
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def __aenter__(self) -> None:
        if self._path is None:
            return
        lock = self._lock()
        await lock.acquire()
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            try:  # free (the usual case): taken at once, no thread hand-off
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # another process is writing: wait for it in a thread
                await anyio.to_thread.run_sync(fcntl.flock, self._fd, fcntl.LOCK_EX)
        except BaseException:
            lock.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        if self._path is None:
            return
        try:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._lock().release()


@contextlib.asynccontextmanager
async def write_turn(session: AsyncSession) -> AsyncIterator[None]:
    """Wait for this process's and this database's turn to write, then write and commit inside the block.

    Two rules make the gate deadlock-free, so both are kept here: the session holds its pooled connection
    *before* it queues (a turn holder never waits for a connection that a queued session holds), and the caller
    enters before its transaction's first write (a turn holder never waits for SQLite's lock held by a queued
    session). Taking the connection starts no SQLite transaction: the driver begins one at the first write.
    """
    await session.connection()
    async with writer_gate(session.bind):
        yield


_writer_gates: weakref.WeakKeyDictionary[Engine, WriterGate] = weakref.WeakKeyDictionary()


def writer_gate(bind: Any) -> WriterGate:
    """The ``WriterGate`` of the database behind ``bind`` (an ``AsyncEngine`` or a session's bind): one per
    engine and process, made on first use (after Granian has forked, so each worker opens its own lock file)."""
    sync_engine: Engine | None = getattr(bind, "sync_engine", None)
    if sync_engine is None:
        return WriterGate(None)
    gate = _writer_gates.get(sync_engine)
    if gate is None:
        path = _sqlite_file(sync_engine)
        gate = _writer_gates[sync_engine] = WriterGate(Path(f"{path}.writer-lock") if path else None)
    return gate
