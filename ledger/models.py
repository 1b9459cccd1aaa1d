"""The ledger's tables. Append-only: rows are inserted once and never updated (except the one head row).

Node storage scheme: every complete subtree of level >= ``LOWEST_STORED_LEVEL`` (4, i.e. 16 leaves and up) is
stored once, when it completes. Levels 0-3 are recomputed from at most one 16-leaf block read by primary-key
range. A proof therefore costs one query fetching <= log2(n) - 4 nodes plus <= 2 blocks of 16 leaf hashes, and
the node table holds ~n/8 rows instead of ~n, which keeps batched appends fast.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlmodel import Field, SQLModel

__all__ = [
    "LEDGER_TABLES",
    "LOWEST_STORED_LEVEL",
    "LedgerCheckpoint",
    "LedgerCosignature",
    "LedgerHead",
    "LedgerLeaf",
    "LedgerNode",
    "LedgerWitness",
]

LOWEST_STORED_LEVEL = 4

# On SQLite only ``INTEGER PRIMARY KEY`` is the rowid itself; ``BIGINT`` would add a second B-tree per table.
_Index = BigInteger().with_variant(Integer(), "sqlite")


class LedgerLeaf(SQLModel, table=True):
    """One entry: its index, the exact canonical bytes, and their RFC 9162 leaf hash."""

    __tablename__ = "ledger_leaves"

    idx: int = Field(sa_column=Column(_Index, primary_key=True, autoincrement=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    payload: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LedgerNode(SQLModel, table=True):
    """Hash of the complete subtree covering leaves ``[idx << level, (idx + 1) << level)``."""

    __tablename__ = "ledger_nodes"
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(sa_column=Column(SmallInteger(), primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class LedgerHead(SQLModel, table=True):
    """The single row (id 1) holding the size; appenders lock it first, which serialises them."""

    __tablename__ = "ledger_head"

    id: int = Field(sa_column=Column(Integer(), primary_key=True, autoincrement=False))
    size: int = Field(sa_column=Column(BigInteger(), nullable=False))


class LedgerCheckpoint(SQLModel, table=True):
    """A signed checkpoint (C2SP signed note) of the tree at ``size``."""

    __tablename__ = "ledger_checkpoints"

    size: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    root_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LedgerWitness(SQLModel, table=True):
    """A witness allowed to cosign checkpoints: its name and ``cosignature/v1`` verifier key."""

    __tablename__ = "ledger_witnesses"

    name: str = Field(sa_column=Column(String(255), primary_key=True))
    vkey: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LedgerCosignature(SQLModel, table=True):
    """A witness's cosignature line on one checkpoint (the latest one it sent)."""

    __tablename__ = "ledger_cosignatures"

    checkpoint_size: int = Field(
        sa_column=Column(
            BigInteger(), ForeignKey("ledger_checkpoints.size"), primary_key=True, autoincrement=False
        )
    )
    witness_name: str = Field(
        sa_column=Column(String(255), ForeignKey("ledger_witnesses.name"), primary_key=True)
    )
    timestamp: int = Field(sa_column=Column(BigInteger(), nullable=False))
    signature_line: str = Field(sa_column=Column(Text(), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel does not declare it
    return table


leaves = _table(LedgerLeaf)
nodes = _table(LedgerNode)
head = _table(LedgerHead)
checkpoints = _table(LedgerCheckpoint)
witnesses = _table(LedgerWitness)
cosignatures = _table(LedgerCosignature)
LEDGER_TABLES = (leaves, nodes, head, checkpoints, witnesses, cosignatures)
"""For ``SQLModel.metadata.create_all(conn, tables=LEDGER_TABLES)`` in tests and tools."""
