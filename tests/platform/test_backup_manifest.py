"""The backup manifest guards a restore: a dump that changed, went missing or is named
outside the backup directory is refused before any database is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devstack import backup as b


def make_backup(directory: Path) -> Path:
    """A backup directory as ``backup()`` leaves it, with small stand-in dumps."""
    directory.mkdir()
    databases = []
    for service in b.DUMP_ORDER:
        file = directory / f"{service}.dump"
        file.write_bytes(f"PGDMP {service}".encode())
        databases.append({"service": service, "database": f"eseal_{service}", "file": file.name,
                          "sha256": b.sha256_file(file), "bytes": file.stat().st_size,
                          "migrations": ["sql/0000_eventstore.sql"], "events": 0})
    (directory / b.MANIFEST).write_text(json.dumps({
        "format": b.FORMAT, "platform_version": "0.1.0", "started_at": "2026-12-04T13:00:00+00:00",
        "databases": databases}), encoding="utf-8")
    return directory


def test_an_intact_backup_is_accepted(tmp_path: Path) -> None:
    manifest = b.verify(make_backup(tmp_path / "ok"))
    assert [d["service"] for d in manifest["databases"]] == list(b.DUMP_ORDER)


def test_a_changed_byte_in_a_dump_is_refused(tmp_path: Path) -> None:
    d = make_backup(tmp_path / "tampered")
    dump = d / "certs.dump"
    data = bytearray(dump.read_bytes())
    data[-1] ^= 1  # same size, one bit flipped
    dump.write_bytes(bytes(data))
    with pytest.raises(b.BackupError, match="certs: certs.dump does not match its checksum"):
        b.verify(d)


def test_a_truncated_or_missing_dump_is_refused(tmp_path: Path) -> None:
    d = make_backup(tmp_path / "short")
    (d / "seals.dump").write_bytes(b"PGDMP")
    with pytest.raises(b.BackupError, match="seals.dump does not match"):
        b.verify(d)
    (d / "seals.dump").unlink()
    with pytest.raises(b.BackupError, match="seals.dump is missing"):
        b.verify(d)


def test_a_manifest_without_every_service_or_with_foreign_paths_is_refused(tmp_path: Path) -> None:
    d = make_backup(tmp_path / "odd")
    manifest = json.loads((d / b.MANIFEST).read_text())
    manifest["databases"] = [x for x in manifest["databases"] if x["service"] != "notify"]
    (d / b.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(b.BackupError, match="no dump of notify"):
        b.verify(d)
    manifest = json.loads((make_backup(tmp_path / "escape") / b.MANIFEST).read_text())
    manifest["databases"][0]["file"] = "/".join(["..", "..", "etc", "passwd"])  # climbs out
    (tmp_path / "escape" / b.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(b.BackupError, match="bad file name"):
        b.verify(tmp_path / "escape")
    (tmp_path / "escape" / b.MANIFEST).write_text("{not json")
    with pytest.raises(b.BackupError, match="no readable manifest.json"):
        b.verify(tmp_path / "escape")


def test_a_backup_from_newer_code_is_refused(tmp_path: Path) -> None:
    d = make_backup(tmp_path / "newer")
    manifest = json.loads((d / b.MANIFEST).read_text())
    manifest["databases"][2]["migrations"].append("0099_from_the_future.sql")
    (d / b.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(b.BackupError, match="0099_from_the_future.sql"):
        b.verify(d)


def test_secrets_are_never_written_next_to_the_dumps(tmp_path: Path) -> None:
    d = make_backup(tmp_path / "keys")
    env = {"ESEAL_MASTER_KEY": "a2V5", "ESEAL_KEYED_HASH_SECRET": "s" * 40}
    with pytest.raises(b.BackupError, match="must not be inside the backup directory"):
        b.write_secrets(d / "secrets.env", d, env)
    out = tmp_path / "vault" / "secrets.env"
    assert b.write_secrets(out, d, env) == ["ESEAL_MASTER_KEY", "ESEAL_KEYED_HASH_SECRET"]
    assert out.stat().st_mode & 0o777 == 0o600
    text = out.read_text()
    assert "ESEAL_MASTER_KEY=a2V5" in text and "# ESEAL_INTERNAL_SECRET is not set" in text
    with pytest.raises(FileExistsError):  # never overwrites an earlier copy
        b.write_secrets(out, d, env)


def test_with_a_passphrase_the_secrets_file_is_encrypted(tmp_path: Path) -> None:
    d = make_backup(tmp_path / "sealed")
    key = "bWFzdGVyLWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE="
    out = tmp_path / "vault" / "secrets.env.enc"
    b.write_secrets(out, d, {"ESEAL_MASTER_KEY": key, b.PASSPHRASE: "correct horse battery"})
    blob = out.read_bytes()
    assert key.encode() not in blob and blob.startswith(b.SECRETS_MAGIC)
    assert b.PASSPHRASE not in b.open_secrets(blob, "correct horse battery")  # never stored
    assert f"ESEAL_MASTER_KEY={key}" in b.open_secrets(blob, "correct horse battery")
    with pytest.raises(b.BackupError, match="wrong passphrase"):
        b.open_secrets(blob, "wrong horse")
    flipped = bytearray(blob)
    flipped[40] = ord("A") if flipped[40] != ord("A") else ord("B")
    with pytest.raises(b.BackupError, match="wrong passphrase, or the secrets file was changed"):
        b.open_secrets(bytes(flipped), "correct horse battery")
