"""Migrations: ordered files, each applied exactly once, safe when processes start together."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from shared.db import SHARED_SQL, migrate, migration_files


@pytest.fixture
def service_migrations(tmp_path: Path) -> Path:
    """Two service files that would fail if applied twice (no IF NOT EXISTS)."""
    (tmp_path / "0001_things.sql").write_text(
        "CREATE TABLE things (id integer PRIMARY KEY, note text);\n"
        "INSERT INTO things VALUES (1, 'applied');\n")
    (tmp_path / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN extra integer;\n")
    return tmp_path


async def test_migrations_are_applied_in_order_and_only_once(blank_dsn: str,
                                                             service_migrations: Path) -> None:
    expected = [name for name, _ in migration_files(SHARED_SQL, service_migrations)]
    assert expected == ["sql/0000_eventstore.sql", "0001_things.sql", "0002_more.sql"]
    assert await migrate(blank_dsn, service_migrations) == expected
    assert await migrate(blank_dsn, service_migrations) == []
    conn = await asyncpg.connect(blank_dsn)
    try:
        rows = await conn.fetch("SELECT name FROM schema_migrations ORDER BY applied_at")
        assert [r["name"] for r in rows] == expected
        assert await conn.fetchval("SELECT count(*) FROM things") == 1
    finally:
        await conn.close()


async def test_two_concurrent_migrations_on_a_fresh_database_both_succeed_and_apply_each_file_once(
        blank_dsn: str, service_migrations: Path) -> None:
    first, second = await asyncio.gather(migrate(blank_dsn, service_migrations),
                                         migrate(blank_dsn, service_migrations))
    expected = [name for name, _ in migration_files(SHARED_SQL, service_migrations)]
    assert sorted(first + second) == sorted(expected)  # each file applied by exactly one of them
    conn = await asyncpg.connect(blank_dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(expected)
        assert await conn.fetchval("SELECT count(*) FROM things") == 1
    finally:
        await conn.close()


async def test_a_failing_migration_is_rolled_back_and_not_recorded(blank_dsn: str, tmp_path: Path) -> None:
    (tmp_path / "0001_bad.sql").write_text("CREATE TABLE half (id int);\nSELECT no_such_function();\n")
    with pytest.raises(asyncpg.UndefinedFunctionError):
        await migrate(blank_dsn, tmp_path)
    conn = await asyncpg.connect(blank_dsn)
    try:
        rows = await conn.fetch("SELECT name FROM schema_migrations")
        assert [r["name"] for r in rows] == ["sql/0000_eventstore.sql"]
        assert await conn.fetchval("SELECT to_regclass('half')") is None
    finally:
        await conn.close()
    (tmp_path / "0001_bad.sql").write_text("CREATE TABLE half (id int);\n")  # fixed: applies now
    assert await migrate(blank_dsn, tmp_path) == ["0001_bad.sql"]
