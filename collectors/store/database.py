"""The SQLite connection: WAL, one connection, a write lock, migrations by ``PRAGMA user_version``.

Every table lives in one database file. Reads may run at any time on the shared connection;
writes go through :meth:`Database.transaction`, which serialises writers so that a
multi-statement change is applied whole or not at all.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import pkgutil
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import aiosqlite

from collectors.store import migrations as migrations_package

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The database cannot be opened or written; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def discover_migrations(package: ModuleType = migrations_package) -> list[Migration]:
    """Every ``mNNNN_<name>.py`` module in the migrations package, in version order.

    A module defines ``SQL``; its version is the number in its file name. Versions are unique.
    """
    found: list[Migration] = []
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("m") or "_" not in info.name:
            continue
        number, _, name = info.name[1:].partition("_")
        if not number.isdigit():
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        found.append(Migration(int(number), name, module.SQL))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise StoreError(f"two migrations share a version number: {versions}")
    return found


class Database:
    """One aiosqlite connection shared by the whole process."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError("the database is not open; call initialize() first")
        return self._conn

    async def initialize(self, migrations: Iterable[Migration] | None = None) -> None:
        """Open (creating the file and its folder if needed) and bring the schema up to date."""
        if self._conn is not None:
            return
        if str(self.path) != ":memory:":
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder for the database {self.path}: {exc.strerror}. "
                    "Set COSMOS_DATABASE_PATH to a writable place."
                ) from exc
        try:
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {self.path}: {exc}") from exc
        conn.row_factory = aiosqlite.Row
        self._conn = conn
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute("PRAGMA busy_timeout=5000")
            await self._migrate(
                list(migrations) if migrations is not None else discover_migrations()
            )
        except sqlite3.DatabaseError as exc:
            await self.close()
            raise StoreError(f"the database {self.path} is not usable: {exc}") from exc

    async def schema_version(self) -> int:
        async with self.conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def _migrate(self, migrations: list[Migration]) -> None:
        current = await self.schema_version()
        for migration in migrations:
            if migration.version <= current:
                continue
            log.info("applying database migration %04d %s", migration.version, migration.name)
            async with self.transaction() as conn:
                for statement in _split_sql(migration.sql):
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version = {int(migration.version)}")
            current = migration.version

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Serialised write transaction: committed on success, rolled back on any error."""
        async with self._write_lock:
            conn = self.conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and _is_disk_full(exc):
                    raise StoreError(
                        f"the disk holding {self.path} is full: nothing of this change was "
                        "written and what was stored before is intact. Free some space; cosmos "
                        "goes on where it stopped."
                    ) from exc
                raise

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()

    async def __aenter__(self) -> Database:
        await self.initialize()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _is_disk_full(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_FULL or "full" in str(exc).lower()


def _split_sql(script: str) -> list[str]:
    """Split a migration script into complete statements (triggers and comments included)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
