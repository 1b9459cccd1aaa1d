"""The two hot statements of the ledger, run at the driver level on the session's own connection.

Measured on SQLite at 200k leaves: composing the proof read as SQLAlchemy expressions cost ~3 ms a proof, and
SQLAlchemy's per-row bind processing capped batched appends near 30k leaves/s. Here the proof read is a fixed
SQL string per shape (one statement with array parameters on PostgreSQL), sent in one driver round trip
(aiosqlite ``execute_fetchall``, asyncpg ``fetch``), and appends go through ``exec_driver_sql`` executemany
with values the driver takes as they are. Other drivers fall back to plain SQLAlchemy. Same connection, same
transaction as every other statement of the session.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, DateTime, Table, insert, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.models import head, leaves, nodes

__all__ = ["bulk_insert", "sqlite_insert", "sqlite_subtree_rows", "subtree_rows"]


@functools.cache
def _subtree_sql(n_nodes: int, n_blocks: int, style: str) -> str:
    """Size, ``n_nodes`` stored nodes and ``n_blocks`` leaf ranges: a UNION ALL of primary-key lookups.

    Point lookups in a UNION ALL beat ``OR`` (SQLite's multi-index OR de-duplicates through a temp table)
    and row-value ``IN (VALUES ...)`` (a full scan on SQLite). Parameters: level, idx per node, then
    first, last per leaf range.
    """
    counter = iter(range(1, 2 * (n_nodes + n_blocks) + 1))

    def p() -> str:
        n = next(counter)
        return "?" if style == "qmark" else f":p{n}"

    # S608: only our own table names and placeholders are interpolated; every value is bound.
    parts = [f"SELECT -1 AS level, size AS idx, NULL AS hash FROM {head.name} WHERE id = 1"]  # noqa: S608  # nosec B608
    parts += [
        f"SELECT level, idx, hash FROM {nodes.name} WHERE level = {p()} AND idx = {p()}"  # noqa: S608  # nosec B608
        for _ in range(n_nodes)
    ]
    parts += [
        f"SELECT 0, idx, leaf_hash FROM {leaves.name} WHERE idx BETWEEN {p()} AND {p()}"  # noqa: S608  # nosec B608
        for _ in range(n_blocks)
    ]
    return " UNION ALL ".join(parts)


# PostgreSQL takes arrays, so one statement of one shape serves every proof: prepared once per connection,
# planned once (a nested loop of primary-key probes), instead of one UNION shape per proof shape.
_PG_SUBTREES = (
    f"SELECT -1 AS level, size AS idx, NULL::bytea AS hash FROM {head.name} WHERE id = 1"  # noqa: S608  # nosec B608
    f" UNION ALL SELECT n.level, n.idx, n.hash FROM {nodes.name} n"
    " JOIN unnest($1::int[], $2::bigint[]) AS k(level, idx) ON n.level = k.level AND n.idx = k.idx"
    f" UNION ALL SELECT 0, idx, leaf_hash FROM {leaves.name} WHERE idx = ANY($3::bigint[])"
)


async def subtree_rows(
    session: AsyncSession, node_keys: Sequence[tuple[int, int]], ranges: Sequence[tuple[int, int]]
) -> Iterable[Sequence[Any]]:
    """Rows ``(-1, size, None)``, ``(level, idx, hash)`` per stored node, ``(0, idx, leaf_hash)`` per leaf
    in the inclusive ``ranges``."""
    conn = await session.connection()
    driver = conn.dialect.driver
    if driver == "asyncpg":
        raw: Any = (await conn.get_raw_connection()).driver_connection
        levels = [level for level, _ in node_keys]
        indexes = [idx for _, idx in node_keys]
        leaf_indexes = [i for first, last in ranges for i in range(first, last + 1)]
        fetched: Iterable[Sequence[Any]] = await raw.fetch(_PG_SUBTREES, levels, indexes, leaf_indexes)
        return fetched
    params = [v for key in node_keys for v in key] + [v for r in ranges for v in r]
    if driver == "aiosqlite":
        raw = (await conn.get_raw_connection()).driver_connection
        rows: Iterable[Sequence[Any]] = await raw.execute_fetchall(
            _subtree_sql(len(node_keys), len(ranges), "qmark"), params
        )
        return rows
    sql = text(_subtree_sql(len(node_keys), len(ranges), "named"))
    result = await conn.execute(sql, {f"p{i}": v for i, v in enumerate(params, 1)})
    return result.all()


@functools.cache
def _insert_plan(dialect: Dialect, table: Table) -> tuple[str, tuple[tuple[int, Any], ...]] | None:
    """The dialect's positional INSERT of every column in table order, and the bind processors of its
    date-time columns (the only values our drivers do not take as is); None if the dialect is not positional.
    """
    compiled = insert(table).compile(dialect=dialect)
    if not dialect.positional or compiled.positiontup != [c.name for c in table.columns]:
        return None
    processors = tuple(
        (i, proc)
        for i, column in enumerate(table.columns)
        if isinstance(column.type, DateTime) and (proc := column.type.bind_processor(dialect)) is not None
    )
    return str(compiled), processors


async def bulk_insert(session: AsyncSession, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """executemany of plain Python rows in table column order (int, str, bytes, aware datetimes).

    On aiosqlite the rows go to the driver's thread in one hand-off (its ``executemany``) the moment this
    coroutine starts, so a caller can hash the next rows while SQLite writes these (``LedgerStore.append``).
    """
    conn = await session.connection()
    plan = _insert_plan(conn.dialect, table)
    if plan is None:
        names = [c.name for c in table.columns]
        await conn.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
        return
    sql, processors = plan
    rows = _processed(rows, processors)
    if conn.dialect.driver == "aiosqlite":
        raw: Any = (await conn.get_raw_connection()).driver_connection
        try:
            cursor = await raw.executemany(sql, rows)  # same connection, same transaction
        except sqlite3.Error as exc:  # as SQLAlchemy would raise it (IntegrityError, OperationalError, ...)
            raise DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc
        await cursor.close()
        return
    await conn.exec_driver_sql(sql, rows)  # type: ignore[arg-type]  # a list of tuples is an executemany


def _processed(
    rows: Sequence[tuple[Any, ...]], processors: tuple[tuple[int, Any], ...]
) -> Sequence[tuple[Any, ...]]:
    for i, proc in processors:
        # A batch shares one timestamp: convert each distinct value once, not once per row.
        seen: dict[Any, Any] = {}
        rows = [
            (
                *row[:i],
                seen[row[i]] if row[i] in seen else seen.setdefault(row[i], proc(row[i])),
                *row[i + 1 :],
            )
            for row in rows
        ]
    return rows


# -- the same statements on a synchronous SQLite connection (``LedgerStore.append_sync``) ----------------------
_SQLITE = sqlite.dialect()


def sqlite_subtree_rows(
    conn: Connection, node_keys: Sequence[tuple[int, int]], ranges: Sequence[tuple[int, int]]
) -> Iterable[Sequence[Any]]:
    params = tuple(v for key in node_keys for v in key) + tuple(v for r in ranges for v in r)
    return conn.exec_driver_sql(_subtree_sql(len(node_keys), len(ranges), "qmark"), params).all()


def sqlite_insert(conn: Connection, table: Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """``bulk_insert`` on a synchronous SQLite connection: one executemany, values converted as the dialect
    would."""
    plan = _insert_plan(_SQLITE, table)
    assert plan is not None  # SQLite's paramstyle is positional
    sql, processors = plan
    conn.exec_driver_sql(sql, list(_processed(rows, processors)))  # type: ignore[arg-type]
