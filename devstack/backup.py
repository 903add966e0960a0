"""Backup and restore of the platform's state: ``make backup`` and ``make restore``.

``python -m devstack.backup backup [--dir DIR] [--secrets-file FILE]`` writes one
``pg_dump --format=custom`` per service database into a new timestamped directory, with a
``manifest.json`` (sha256 and size of each dump, database names, applied migrations, event
counts, platform version, times). The secrets that unwrap the keys in those dumps
(``ESEAL_MASTER_KEY`` first) are written only when ``--secrets-file`` asks for it (encrypted
when ``ESEAL_BACKUP_PASSPHRASE`` is set), and never into the dump directory: an operator
keeps the two apart (docs/OPERATIONS.md, "Backup and restore").

``python -m devstack.backup restore DIR [--prefix P] [--force]`` checks every dump against
the manifest before touching anything, refuses to restore over a database that has tables
(unless ``--force``, which drops it), restores each dump into a fresh database named
``prefix + service``, and then prepares each event store for its new cluster (see
``_PREPARE_EVENT_STORE``). Consistency across the six dumps is explained in the docs: dumps
are taken consumers first, producers last, and after a restore every relay republishes its
whole event store (consumers skip what they already applied, by ``event_id``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

ROOT = Path(__file__).resolve().parent.parent
FORMAT = "eseal-backup/1"
MANIFEST = "manifest.json"
# Consumers before their producers, callers before the services they call: a dump never
# holds the effect of an event (or a reference to a row) that a later-dumped service lacks,
# as far as the graph allows (docs/OPERATIONS.md explains the one cycle, agents ↔ identity).
DUMP_ORDER = ("notify", "stamping", "seals", "identity", "certs", "agents")
# On a new broker a consumer's queue exists only once it has started: start each service
# after the ones consuming its events, so the relays' republished history finds the queues.
START_ORDER = (*DUMP_ORDER, "gateway")
# The values that unwrap or check what the dumps hold; written only on request, elsewhere.
SECRETS = ("ESEAL_MASTER_KEY", "ESEAL_KEYED_HASH_SECRET", "ESEAL_INTERNAL_SECRET",
           "ESEAL_STAMPING_CLIENT_TOKEN_SECRET")
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432"
# Set, it encrypts the secrets file (and is needed to read it back); never stored anywhere.
PASSPHRASE = "ESEAL_BACKUP_PASSPHRASE"  # noqa: S105 - the name of the variable
SECRETS_MAGIC = b"eseal-secrets/1"

# Restored events carry transaction ids of the *old* cluster. Readers order events by
# (xact_id, position) and read only below the current cluster's oldest running xid, so on a
# new cluster (xids start low again) old events would sit above the horizon and new events
# would sort before them: the relay would stall. Renumber the restored history into the
# order it had, below any real xid (1), and move every checkpoint with it; then drop the
# relay's checkpoint so it republishes everything (consumers deduplicate by event_id).
_PREPARE_EVENT_STORE = """
CREATE TEMP TABLE restored_order ON COMMIT DROP AS
    SELECT position AS old_position, xact_id AS old_xact,
           row_number() OVER (ORDER BY xact_id, position) AS new_position
    FROM events;
UPDATE checkpoints c SET xact_id = '1'::xid8, position = COALESCE(
    (SELECT max(r.new_position) FROM restored_order r
     WHERE (r.old_xact, r.old_position) <= (c.xact_id, c.position)), 0);
UPDATE events e SET position = -r.new_position FROM restored_order r
    WHERE e.position = r.old_position;
UPDATE events SET position = -position, xact_id = '1'::xid8;
SELECT setval(pg_get_serial_sequence('events', 'position'),
              GREATEST((SELECT max(position) FROM events), 1));
"""
_REPUBLISH = "DELETE FROM checkpoints WHERE name = 'relay'"


class BackupError(Exception):
    """A backup or restore that must not go on; the message says why."""


@dataclass(frozen=True)
class Target:
    pg_url: str
    prefix: str

    def database(self, service: str) -> str:
        return self.prefix + service

    def url(self, service: str) -> str:
        return f"{self.pg_url.rstrip('/')}/{self.database(service)}"

    def server(self) -> str:
        return f"{self.pg_url.rstrip('/')}/postgres"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def platform_version() -> str:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True, check=False).stdout.strip()
    return f"{version}+{rev}" if rev else str(version)


def known_migrations(service: str) -> set[str]:
    """Migration names as ``schema_migrations`` records them, for this checkout's code."""
    from shared.db import SHARED_SQL, migration_files

    return {name for name, _ in migration_files(SHARED_SQL, ROOT / "services" / service / "migrations")}


# backup ---------------------------------------------------------------------------------


async def _describe(target: Target, service: str) -> dict[str, Any]:
    conn = await asyncpg.connect(target.url(service))
    try:
        migrations = [r["name"] for r in await conn.fetch(
            "SELECT name FROM schema_migrations ORDER BY name")]
        events = await conn.fetchval("SELECT count(*) FROM events")
        return {"migrations": migrations, "events": int(events)}
    finally:
        await conn.close()


def _run(cmd: list[str]) -> None:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise BackupError(f"{cmd[0]} failed ({out.returncode}): {out.stderr.strip()[-1000:]}")


def seal_secrets(text: str, passphrase: str) -> bytes:
    """``text`` encrypted under ``passphrase`` (scrypt → AES-256-GCM), as one ASCII line."""
    salt, nonce = os.urandom(16), os.urandom(12)
    box = AESGCM(_passphrase_key(passphrase, salt)).encrypt(nonce, text.encode(), SECRETS_MAGIC)
    return b"%s %s\n" % (SECRETS_MAGIC, base64.b64encode(salt + nonce + box))


def open_secrets(blob: bytes, passphrase: str) -> str:
    """The text ``seal_secrets`` encrypted; BackupError on a wrong passphrase or damage."""
    magic, _, body = blob.strip().partition(b" ")
    if magic != SECRETS_MAGIC:
        raise BackupError("not an encrypted eseal secrets file")
    raw = base64.b64decode(body)
    salt, nonce, box = raw[:16], raw[16:28], raw[28:]
    try:
        return AESGCM(_passphrase_key(passphrase, salt)).decrypt(nonce, box, SECRETS_MAGIC).decode()
    except InvalidTag:
        raise BackupError("wrong passphrase, or the secrets file was changed") from None


def _passphrase_key(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(passphrase.encode())


def write_secrets(path: Path, backup_dir: Path, env: dict[str, str]) -> list[str]:
    """The secrets of ``env`` as an env file (0600), outside ``backup_dir``; names written.

    Encrypted when ``ESEAL_BACKUP_PASSPHRASE`` is set in ``env`` (read it back with
    ``python -m devstack.backup secrets FILE``).
    """
    path = path.resolve()
    if path.is_relative_to(backup_dir.resolve()):
        raise BackupError("the secrets file must not be inside the backup directory: keep the "
                          "master key apart from the dumps")
    present = [name for name in SECRETS if env.get(name)]
    lines = [f"# eseal secrets for the backup {backup_dir.name}; keep apart from the dumps"]
    lines += [f"{name}={env[name]}" for name in present]
    lines += [f"# {name} is not set: the development default is in use"
              for name in SECRETS if name not in present]
    text = "\n".join(lines) + "\n"
    passphrase = env.get(PASSPHRASE, "")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(seal_secrets(text, passphrase) if passphrase else text.encode())
    return present


def backup(target: Target, parent: Path, *, secrets_file: Path | None = None,
           env: dict[str, str] | None = None, now: datetime | None = None) -> Path:
    """Dump every service database into a new directory under ``parent``; returns it."""
    started = now or datetime.now(UTC)
    directory = parent / f"eseal-{started:%Y%m%dT%H%M%SZ}"
    directory.mkdir(parents=True, exist_ok=False)
    directory.chmod(0o700)  # the dumps hold wrapped keys and personal data
    databases = []
    for service in DUMP_ORDER:
        file = directory / f"{service}.dump"
        described = asyncio.run(_describe(target, service))
        dumped_at = datetime.now(UTC)
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
              f"--file={file}", f"--dbname={target.url(service)}"])
        databases.append({"service": service, "database": target.database(service),
                          "file": file.name, "sha256": sha256_file(file),
                          "bytes": file.stat().st_size, "dumped_at": dumped_at.isoformat(),
                          **described})
    manifest: dict[str, Any] = {
        "format": FORMAT, "platform_version": platform_version(),
        "started_at": started.isoformat(), "finished_at": datetime.now(UTC).isoformat(),
        "db_prefix": target.prefix, "dump_order": list(DUMP_ORDER), "databases": databases,
        "secrets": "written separately" if secrets_file else "not included",
    }
    if secrets_file is not None:
        manifest["secret_names"] = write_secrets(secrets_file, directory,
                                                 env if env is not None else dict(os.environ))
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    return directory


# restore --------------------------------------------------------------------------------


def verify(directory: Path) -> dict[str, Any]:
    """The manifest, once every dump it names is present and unchanged; else BackupError."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"no readable {MANIFEST} in {directory}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"not an {FORMAT} manifest")
    entries = {d.get("service"): d for d in manifest.get("databases", []) if isinstance(d, dict)}
    missing = sorted(set(DUMP_ORDER) - set(entries))
    if missing:
        raise BackupError(f"the backup has no dump of {', '.join(missing)}")
    for service in DUMP_ORDER:
        entry = entries[service]
        name = str(entry.get("file", ""))
        if not name or Path(name).name != name:
            raise BackupError(f"{service}: bad file name {name!r} in the manifest")
        file = directory / name
        if not file.is_file():
            raise BackupError(f"{service}: {name} is missing")
        if file.stat().st_size != entry.get("bytes") or sha256_file(file) != entry.get("sha256"):
            raise BackupError(f"{service}: {name} does not match its checksum in the manifest")
        unknown = sorted(set(entry.get("migrations", [])) - known_migrations(service))
        if unknown:
            raise BackupError(f"{service}: the backup has migrations this code does not know "
                              f"({', '.join(unknown)}): restore with the version that made it")
    return manifest


async def _has_tables(target: Target, service: str) -> bool | None:
    """None when the database does not exist, else whether it holds any table."""
    server = await asyncpg.connect(target.server())
    try:
        if not await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1",
                                     target.database(service)):
            return None
    finally:
        await server.close()
    conn = await asyncpg.connect(target.url(service))
    try:
        return bool(await conn.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"))
    finally:
        await conn.close()


async def _fresh_database(target: Target, service: str, *, drop: bool) -> None:
    server = await asyncpg.connect(target.server())
    try:
        name = target.database(service)
        if drop:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await server.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()


async def prepare_event_store(target: Target, service: str, *, republish: bool) -> None:
    conn = await asyncpg.connect(target.url(service))
    try:
        async with conn.transaction():
            await conn.execute(_PREPARE_EVENT_STORE)
            if republish:
                await conn.execute(_REPUBLISH)
    finally:
        await conn.close()


def restore(directory: Path, target: Target, *, force: bool = False,
            republish: bool = True) -> dict[str, Any]:
    """Restore every dump of ``directory`` into ``target``'s databases; returns the manifest."""
    manifest = verify(directory)
    for service in DUMP_ORDER:
        if name := _valid_name(target.database(service)):
            raise BackupError(name)
    occupied = [target.database(s) for s in DUMP_ORDER if asyncio.run(_has_tables(target, s))]
    if occupied and not force:
        raise BackupError(f"not empty: {', '.join(occupied)} (use --force to drop and replace them)")
    entries = {d["service"]: d for d in manifest["databases"]}
    for service in DUMP_ORDER:
        asyncio.run(_fresh_database(target, service, drop=force))
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
              f"--dbname={target.url(service)}", str(directory / entries[service]["file"])])
        asyncio.run(prepare_event_store(target, service, republish=republish))
    return dict(manifest)


def _valid_name(name: str) -> str | None:
    ok = name.replace("_", "").isalnum() and name.isascii() and len(name) <= 63
    return None if ok else f"bad database name {name!r} (letters, digits and _ only)"


# command line ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack.backup", description=__doc__.split("\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("ESEAL_PG_URL", DEFAULT_PG_URL))
    parser.add_argument("--prefix", default=os.environ.get("ESEAL_DB_PREFIX", "eseal_"),
                        help="database name prefix (default ESEAL_DB_PREFIX or eseal_)")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("backup", help="dump every service database with a manifest")
    b.add_argument("--dir", type=Path, default=ROOT / "backups",
                   help="parent directory; a new eseal-<time> directory is made in it")
    b.add_argument("--secrets-file", type=Path, default=None,
                   help="also write the ESEAL_* secrets of this environment to FILE (0600, "
                        "outside the backup directory)")
    r = sub.add_parser("restore", help="restore a backup directory into fresh databases")
    r.add_argument("directory", type=Path)
    r.add_argument("--force", action="store_true", help="drop and replace databases that have tables")
    r.add_argument("--no-republish", dest="republish", action="store_false",
                   help="keep the relays' positions (no catch-up of consumers)")
    v = sub.add_parser("verify", help="check a backup directory against its manifest")
    v.add_argument("directory", type=Path)
    sp = sub.add_parser("secrets", help=f"print an encrypted secrets file (needs {PASSPHRASE})")
    sp.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    target = Target(args.pg_url, args.prefix)
    try:
        if args.command == "backup":
            directory = backup(target, args.dir, secrets_file=args.secrets_file)
            print(f"eseal: backup written to {directory}")
            if args.secrets_file is None:
                print("eseal: secrets not included: keep ESEAL_MASTER_KEY and ESEAL_KEYED_HASH_SECRET "
                      "in your secret store (or use --secrets-file, stored apart)")
        elif args.command == "secrets":
            if not os.environ.get(PASSPHRASE):
                raise BackupError(f"{PASSPHRASE} is not set")
            sys.stdout.write(open_secrets(args.file.read_bytes(), os.environ[PASSPHRASE]))
        elif args.command == "verify":
            manifest = verify(args.directory)
            print(f"eseal: {args.directory} is intact ({manifest['platform_version']}, "
                  f"{manifest['started_at']})")
        else:
            restore(args.directory, target, force=args.force, republish=args.republish)
            print(f"eseal: restored {args.directory} into {target.prefix}* — start the services "
                  "with the same ESEAL_MASTER_KEY and ESEAL_KEYED_HASH_SECRET")
    except (BackupError, OSError, asyncpg.PostgresError) as exc:
        print(f"eseal: {args.command} failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
