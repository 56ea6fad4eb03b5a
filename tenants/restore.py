"""Restoring an export archive (`lifecycle.tenant_archive_write`) into a new schema: the tenancy half of
`tenant import`. Knows no user: the workspace layer maps the shared rows (accounts, content types, permissions) and
re-links the memberships.

Three steps, none trusting the archive:

1. `archive_check` reads the archive once, streamed, and writes nothing but the dump into a scratch folder: the
   manifest must come first and be of this build's format; every other member must be a regular file that the
   manifest lists (schema.sql, files/…) with the size and SHA-256 it states; the dump's rows per table must be the
   manifest's counts. Path traversal, links, devices, extra or missing members, a truncated archive, more bytes
   uncompressed than TENANT_IMPORT_MAX_BYTES or a dump line longer than TENANT_IMPORT_LINE_MAX_BYTES (both counted
   while streaming, before the bytes are read): refused.
2. `schema_data_load` loads only the dump's data (its `COPY` blocks) into a schema provisioned by this build, whose
   migrations must be the archive's: the archive's DDL is never run. Ids are kept; sequences are set past them;
   foreign keys to public rows are mapped; storage keys are moved under the new schema's prefix, and a value that
   names storage anywhere else (another workspace's prefix or files, a key that climbs out) refuses the archive.
3. `archive_files_copy` streams the files into storage under the new prefix, checking each checksum again, and
   reports each key it wrote, so the caller can delete them if anything after fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import mimetypes
import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import psycopg
from django.conf import settings
from django.db import DatabaseError
from django.utils.translation import gettext

from shared_apps.core.jsonsafe import json_loads
from shared_apps.core.sql import quote
from shared_apps.storage.backends import files
from shared_apps.storage.fields import StorageKeyField, StoragePrefixField
from shared_apps.storage.keys import KeyRefused, key_check, key_in_workspace, prefix_check
from tenants.db import connection
from tenants.errors import TenantError
from tenants.lifecycle import ARCHIVE_FORMAT, DUMP_NAME, FILES_DIR, MANIFEST_NAME
from tenants.references import public_references, schema_apps, tables

MANIFEST_MAX_BYTES = 32 * 1024 * 1024
CHUNK = 1024 * 1024
_MIGRATIONS_TABLE = "django_migrations"
_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_COPY = re.compile(rf"^COPY ({_IDENT})\.({_IDENT}) \(((?:{_IDENT}, )*{_IDENT})\) FROM stdin;$")
_COLUMN = re.compile(_IDENT)

Progress = Callable[[str], None]


class ArchiveRefused(TenantError):
    """An archive that is not a complete, untouched export of this build's format: nothing was written."""


@dataclass(frozen=True)
class CheckedArchive:
    """An archive that passed `archive_check`: its manifest, and the dump copied into the scratch folder."""

    path: Path
    root: str
    manifest: dict[str, Any]
    dump: Path
    files: dict[str, tuple[int, str]] = field(default_factory=dict)  # path under files/ → (size, sha256)

    @property
    def source_schema(self) -> str:
        return str(self.manifest["tenant"]["schema"])

    @property
    def files_bytes(self) -> int:
        return sum(size for size, _ in self.files.values())


def _unquote(identifier: str) -> str:
    return identifier[1:-1].replace('""', '"') if identifier.startswith('"') else identifier


def _refuse(message: str) -> ArchiveRefused:
    return ArchiveRefused(gettext("Refused the archive: %(message)s. Nothing was imported.") % {"message": message})


# ---------------------------------------------------------------------------------------------------------------------
# 1. Check
# ---------------------------------------------------------------------------------------------------------------------


def _manifest_parse(raw: bytes) -> dict[str, Any]:
    try:
        manifest = json_loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _refuse("its manifest is not JSON") from exc
    if not isinstance(manifest, dict):
        raise _refuse("its manifest is not a JSON object")
    version = manifest.get("format")
    if version != ARCHIVE_FORMAT:
        raise _refuse(f"it is of format {version!r}; this build reads format {ARCHIVE_FORMAT}")
    tenant = manifest.get("tenant")
    database = manifest.get("database")
    if not isinstance(tenant, dict) or not isinstance(database, dict):
        raise _refuse("its manifest has no tenant or database section")
    try:
        prefix_check(str(tenant.get("schema")))  # an opaque schema name: t_ and letters and digits
    except KeyRefused as exc:
        raise _refuse("its manifest names no valid source schema") from exc
    if not isinstance(tenant.get("name"), str) or not tenant["name"].strip():
        raise _refuse("its manifest has no workspace name")
    tables = database.get("tables")
    if not isinstance(tables, dict) or not all(
        isinstance(k, str) and type(v) is int and v >= 0 for k, v in tables.items()
    ):
        raise _refuse("its manifest has no row counts")
    if not isinstance(database.get("sha256"), str) or not isinstance(database.get("migrations"), list):
        raise _refuse("its manifest has no dump checksum or migration list")
    listed = manifest.get("files")
    if not isinstance(listed, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("path"), str)
        and type(f.get("size")) is int
        and f["size"] >= 0
        and isinstance(f.get("sha256"), str)
        for f in listed
    ):
        raise _refuse("its manifest does not list its files with sizes and checksums")
    members = manifest.get("members", [])
    if not isinstance(members, list) or not all(
        isinstance(m, dict) and isinstance(m.get("email"), str) and isinstance(m.get("role"), str) for m in members
    ):
        raise _refuse("its manifest's member list is malformed")
    references = manifest.get("references", {})
    if not isinstance(references, dict) or not all(
        isinstance(v, dict) and all(isinstance(i, str) and isinstance(n, str) for i, n in v.items())
        for v in references.values()
    ):
        raise _refuse("its manifest's references are malformed")
    return manifest


def _file_path_check(path: str, schema: str) -> str:
    """A file's path under files/ must make a valid storage key under the workspace's prefix."""
    try:
        key_check(f"{schema}/{path}", prefix=schema)
    except KeyRefused as exc:
        raise _refuse(f"it holds a file named {path[:80]!r}, which is not a safe storage key") from exc
    return path


_BROKEN = (tarfile.TarError, EOFError, zlib.error)


def _read(source: IO[bytes], size: int) -> bytes:
    try:
        return source.read(size)
    except _BROKEN as exc:
        raise _refuse(f"it is truncated or corrupt ({exc})") from exc


def _hash_copy(source: IO[bytes], size: int, sink: IO[bytes] | None, *, max_line: int | None = None) -> str:
    """SHA-256 of the next `size` bytes of `source`, copied to `sink`, a chunk at a time; with `max_line`, refused as
    soon as a line runs longer (so a huge line is never held whole)."""
    digest = hashlib.sha256()
    remaining = size
    run = 0  # bytes since the last newline
    while remaining > 0:
        chunk = _read(source, min(CHUNK, remaining))
        if not chunk:
            raise _refuse("it is truncated")
        if max_line is not None:
            parts = chunk.split(b"\n")
            longest = max([run + len(parts[0]), *(len(p) for p in parts[1:])])
            run = run + len(chunk) if len(parts) == 1 else len(parts[-1])
            if longest > max_line:
                raise _refuse(f"its database dump has a line longer than {max_line} bytes")
        digest.update(chunk)
        if sink is not None:
            sink.write(chunk)
        remaining -= len(chunk)
    return digest.hexdigest()


def _members(archive: Path) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    """The archive's members in order, streamed; a broken or truncated archive is refused."""
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for member in tar:
                yield tar, member
    except ArchiveRefused:
        raise
    except (*_BROKEN, OSError) as exc:
        if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
            raise TenantError(
                gettext("Cannot read %(archive)s: %(strerror)s.") % {"archive": archive, "strerror": exc.strerror}
            ) from exc
        raise _refuse(f"it is not a readable .tar.gz archive or it is truncated ({exc})") from exc


def archive_check(archive: Path, *, workdir: Path, progress: Progress | None = None) -> CheckedArchive:
    """Check the archive end to end (see the module's docstring) and copy its dump into `workdir`. Writes nothing
    else. Raises ArchiveRefused with the reason."""
    say = progress or (lambda _line: None)
    manifest: dict[str, Any] | None = None
    root = ""
    dump_target = workdir / DUMP_NAME
    dump_seen = False
    listed: dict[str, tuple[int, str]] = {}
    seen: set[str] = set()
    cap, unpacked = int(settings.TENANT_IMPORT_MAX_BYTES), 0
    for tar, member in _members(archive):
        name = member.name
        unpacked += max(member.size, 0)  # from the member's header, before its bytes are read
        if unpacked > cap:
            raise _refuse(f"it holds more than {cap} bytes uncompressed (TENANT_IMPORT_MAX_BYTES)")
        if manifest is None:
            parts = PurePosixPath(name).parts
            if len(parts) != 2 or parts[1] != MANIFEST_NAME or not member.isreg():
                raise _refuse(f"its first member must be <folder>/{MANIFEST_NAME}, not {name[:80]!r}")
            if member.size > MANIFEST_MAX_BYTES:
                raise _refuse("its manifest is too large")
            root = parts[0]
            stream = tar.extractfile(member)
            assert stream is not None  # noqa: S101  (a regular file)
            manifest = _manifest_parse(_read(stream, member.size))
            schema = str(manifest["tenant"]["schema"])
            for f in manifest["files"]:
                listed[_file_path_check(f["path"], schema)] = (f["size"], f["sha256"])
            if len(listed) != len(manifest["files"]):
                raise _refuse("its manifest lists a file twice")
            if sum(size for size, _sha in listed.values()) > cap:
                raise _refuse(f"its files come to more than {cap} bytes uncompressed (TENANT_IMPORT_MAX_BYTES)")
            say(f"Manifest: {manifest['tenant']['name']} ({schema}), {len(listed)} file(s), format {ARCHIVE_FORMAT}")
            continue
        if not member.isreg():
            raise _refuse(f"{name[:80]!r} is not a regular file (links and devices are refused)")
        if not name.startswith(root + "/"):
            raise _refuse(f"{name[:80]!r} lies outside the archive's folder")
        inner = name[len(root) + 1 :]
        stream = tar.extractfile(member)
        assert stream is not None  # noqa: S101
        if inner == DUMP_NAME and not dump_seen:
            dump_seen = True
            with dump_target.open("wb") as sink:
                digest = _hash_copy(stream, member.size, sink, max_line=int(settings.TENANT_IMPORT_LINE_MAX_BYTES))
            if digest != manifest["database"]["sha256"]:
                raise _refuse("the database dump does not match the manifest's checksum")
            say(f"Database dump: {member.size} bytes, checksum ok")
            continue
        path = inner.removeprefix(FILES_DIR + "/")
        if not inner.startswith(FILES_DIR + "/") or path not in listed or path in seen:
            raise _refuse(f"it holds {name[:80]!r}, which the manifest does not list")
        size, sha = listed[path]
        if member.size != size or _hash_copy(stream, member.size, None) != sha:
            raise _refuse(f"the file {path[:80]!r} does not match the manifest's size or checksum")
        seen.add(path)
    if manifest is None:
        raise _refuse("it is empty")
    if not dump_seen:
        raise _refuse("it holds no database dump")
    missing = sorted(set(listed) - seen)
    if missing:
        raise _refuse(f"{len(missing)} file(s) the manifest lists are missing (first: {missing[0][:80]!r})")
    counts = dump_row_counts(dump_target, schema=str(manifest["tenant"]["schema"]))
    if counts != manifest["database"]["tables"]:
        differ = sorted(
            t
            for t in set(counts) | set(manifest["database"]["tables"])
            if counts.get(t) != manifest["database"]["tables"].get(t)
        )
        raise _refuse(f"the dump's row counts differ from the manifest's ({', '.join(differ[:5])})")
    say(f"Files: {len(seen)} checked; rows: {sum(counts.values())} in {len(counts)} tables")
    return CheckedArchive(path=archive, root=root, manifest=manifest, dump=dump_target, files=listed)


def _copy_blocks(dump: Path, *, schema: str) -> Iterator[tuple[str, list[str], Iterator[bytes]]]:
    """(table, columns, data lines) for each `COPY <schema>.<table> (…) FROM stdin;` block of a plain pg_dump.
    A block that names another schema, or ends before its `\\.`, is refused."""
    with dump.open("rb") as fh:
        for raw in fh:
            if not raw.startswith(b"COPY "):
                continue
            match = _COPY.match(raw.decode("utf-8", "replace").rstrip("\n"))
            if match is None or _unquote(match.group(1)) != schema:
                raise _refuse("its dump holds a COPY statement this build does not read")
            table = _unquote(match.group(2))
            columns = [_unquote(c) for c in _COLUMN.findall(match.group(3))]
            ended = False

            def lines() -> Iterator[bytes]:
                nonlocal ended
                for line in fh:
                    if line == b"\\.\n":
                        ended = True
                        return
                    yield line

            block = lines()
            yield table, columns, block
            for _rest in block:  # whatever the consumer left unread
                pass
            if not ended:
                raise _refuse("its dump is truncated")


def dump_row_counts(dump: Path, *, schema: str) -> dict[str, int]:
    return {table: sum(1 for _ in rows) for table, _columns, rows in _copy_blocks(dump, schema=schema)}


# ---------------------------------------------------------------------------------------------------------------------
# 2. Data
# ---------------------------------------------------------------------------------------------------------------------


def _tables_and_columns(schema: str) -> dict[str, set[str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
            " WHERE n.nspname = %s AND c.relkind = 'r'",
            [schema],
        )
        found: dict[str, set[str]] = {}
        for table, column in cursor.fetchall():
            found.setdefault(table, set()).add(column)
    return found


def _migrations(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {quote(schema)}.django_migrations ORDER BY app, name")  # noqa: S608
        return [f"{app}.{name}" for app, name in cursor.fetchall()]


@dataclass(frozen=True)
class StorageColumn:
    """A column of a tenant table that names storage (a `StorageKeyField`): the prefix itself, or a key under it."""

    table: str
    column: str
    is_prefix: bool
    blank: bool


def storage_columns() -> list[StorageColumn]:
    """Every column of the tenant tables that names storage, read from the models."""
    tenant_apps, _public = schema_apps()
    return [
        StorageColumn(
            table=model._meta.db_table,
            column=field.column,
            is_prefix=isinstance(field, StoragePrefixField),
            blank=bool(field.blank),
        )
        for model in tables(tenant_apps)
        for field in model._meta.local_fields
        if isinstance(field, StorageKeyField)
    ]


def schema_data_load(
    *,
    checked: CheckedArchive,
    schema: str,
    remaps: dict[str, dict[int, int | None]],
    progress: Progress | None = None,
) -> dict[str, int]:
    """Load the archive's rows into `schema` (freshly provisioned, in the caller's transaction). `remaps` maps, per
    public table, the archive's ids to this database's (None: no such row here; a nullable reference becomes NULL,
    a row that cannot exist without it is left out); a public table absent from `remaps` has none of its ids here.
    Storage columns (`storage_columns`) are moved from the source prefix to `schema`'s, and must then name
    `schema`'s prefix or a key under it. Returns the rows loaded per table."""
    say = progress or (lambda _line: None)
    source = checked.source_schema
    prefix_check(schema)
    if sorted(checked.manifest["database"]["migrations"]) != _migrations(schema):
        raise _refuse(
            "its schema is at another migration state than this build; import it with the build that exported it, "
            "or export it again after `migrate_schemas`"
        )
    tables = _tables_and_columns(schema)
    loadable = [t for t in checked.manifest["database"]["tables"] if t != _MIGRATIONS_TABLE]
    unknown = [t for t in loadable if t not in tables]
    if unknown:
        raise _refuse(f"its dump holds tables this build does not have ({', '.join(sorted(unknown)[:5])})")
    q = quote(schema)
    with connection.cursor() as cursor:
        emptied = [t for t in tables if t != _MIGRATIONS_TABLE]
        if emptied:
            cursor.execute("TRUNCATE " + ", ".join(f"{q}.{quote(t)}" for t in sorted(emptied)))
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        loaded: dict[str, int] = {}
        for table, columns, rows in _copy_blocks(checked.dump, schema=source):
            if table == _MIGRATIONS_TABLE:
                continue
            if not set(columns) <= tables[table]:
                raise _refuse(f"its dump has columns {table} does not have here")
            column_list = ", ".join(quote(c) for c in columns)
            with _rows_refused(table), cursor.copy(f"COPY {q}.{quote(table)} ({column_list}) FROM STDIN") as copy:
                count = 0
                for line in rows:
                    copy.write(line)
                    count += 1
            loaded[table] = count
            say(f"  {table}: {count} row(s)")
        _public_references_remap(cursor, schema=schema, remaps=remaps)
        stored = storage_columns()
        _keys_move(cursor, schema=schema, source=source, columns=stored)
        _keys_check(cursor, schema=schema, columns=stored)
        with _rows_refused("its tables"):  # the deferred foreign keys, checked now rather than at the commit
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _sequences_reset(cursor, schema=schema)
    return loaded


@contextlib.contextmanager
def _rows_refused(table: str) -> Iterator[None]:
    """A row PostgreSQL refuses (not a number, too few columns, a NUL, a reference to nothing, a duplicate id) refuses
    the archive in one line; the caller's transaction rolls back everything loaded."""
    try:
        yield
    except (DatabaseError, psycopg.Error) as exc:  # Django's, or psycopg's own from `cursor.copy`
        cause = exc.__cause__ or exc
        detail = str(getattr(getattr(cause, "diag", None), "message_primary", None) or cause).splitlines()[0]
        raise _refuse(f"its dump has a row {table} cannot hold ({detail[:200]})") from exc


def _public_references_remap(cursor: Any, *, schema: str, remaps: dict[str, dict[int, int | None]]) -> None:
    q = quote(schema)
    for fk in public_references():
        # A public table the archive names no rows of: none of its ids is trusted (an id is only a number here).
        mapping = remaps.get(fk.target, {})
        col, table = quote(fk.column), f"{q}.{quote(fk.table)}"
        known = [src for src, dst in mapping.items() if dst is not None]
        # First what has no counterpart here (by the archive's ids), then the ids that do: one statement each, so
        # an archive id equal to another account's id here is never mapped twice.
        if fk.nullable:
            cursor.execute(
                f"UPDATE {table} SET {col} = NULL WHERE {col} IS NOT NULL AND NOT ({col} = ANY(%s))",  # noqa: S608
                [known],
            )
        else:
            cursor.execute(f"DELETE FROM {table} WHERE NOT ({col} = ANY(%s))", [known])  # noqa: S608
        pairs = [(src, dst) for src, dst in mapping.items() if dst is not None and src != dst]
        if pairs:
            cursor.execute(
                f"UPDATE {table} AS x SET {col} = m.dst FROM unnest(%s::bigint[], %s::bigint[]) AS m(src, dst)"  # noqa: S608
                f" WHERE x.{col} = m.src",
                [[p[0] for p in pairs], [p[1] for p in pairs]],
            )


def _keys_move(cursor: Any, *, schema: str, source: str, columns: list[StorageColumn]) -> None:
    """A value that is the source prefix itself, or a key under it, moves under the new schema's prefix."""
    q = quote(schema)
    for c in columns:
        col = quote(c.column)
        cursor.execute(
            f"UPDATE {q}.{quote(c.table)} SET {col} = %s || substr({col}, %s)"  # noqa: S608
            f" WHERE {col} = %s OR left({col}, %s) = %s",
            [schema, len(source) + 1, source, len(source) + 1, source + "/"],
        )


def _keys_check(cursor: Any, *, schema: str, columns: list[StorageColumn]) -> None:
    """After the move, every storage column names `schema`'s own prefix (prefix columns) or a key under it that
    obeys the key rules; anything else — another workspace's prefix or files, a key that climbs out of the prefix,
    a malformed one — refuses the archive. Blank only where the field allows it."""
    q = quote(schema)
    for c in columns:
        col = quote(c.column)
        skip_blank = f" AND {col} <> ''" if c.blank else ""
        cursor.execute(
            f"SELECT DISTINCT {col} FROM {q}.{quote(c.table)} WHERE {col} <> %s{skip_blank}",  # noqa: S608
            [schema if c.is_prefix else ""],
        )
        while batch := cursor.fetchmany(1000):
            for (value,) in batch:
                try:
                    if c.is_prefix or key_in_workspace(value, workspace=schema) != value:
                        raise KeyRefused(value)
                except KeyRefused as exc:
                    raise _refuse(
                        f"its rows name storage outside the workspace's own prefix ({c.table}.{c.column}: "
                        f"{str(value)[:80]!r})"
                    ) from exc


def _sequences_reset(cursor: Any, *, schema: str) -> None:
    """Every serial or identity column's sequence is set past the largest id loaded."""
    cursor.execute(
        "SELECT c.relname, a.attname, pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname),"
        " a.attname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " WHERE n.nspname = %s AND c.relkind = 'r'",
        [schema],
    )
    for table, column, sequence in cursor.fetchall():
        if sequence is None:
            continue
        # Two statements, the maximum read first: on Citus a `setval` whose argument reads a table is sent whole to
        # the worker holding the schema, where the sequence's range differs ("value … is out of bounds").
        cursor.execute(f"SELECT COALESCE(max({quote(column)}), 0) FROM {quote(schema)}.{quote(table)}")  # noqa: S608
        largest = int(cursor.fetchone()[0])
        cursor.execute("SELECT setval(%s, %s, false)", [sequence, largest + 1])


# ---------------------------------------------------------------------------------------------------------------------
# 3. Files
# ---------------------------------------------------------------------------------------------------------------------


class _Hashing:
    """A read-only stream that hashes what is read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        chunk = _read(self.raw, CHUNK if size is None or size < 0 or size > CHUNK else size)
        self.digest.update(chunk)
        self.read_bytes += len(chunk)
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


def archive_files_copy(
    *, checked: CheckedArchive, schema: str, written: list[str], progress: Progress | None = None
) -> int:
    """Stream the archive's files into storage under `schema/`; each key written is appended to `written` as soon as
    it exists (the caller deletes them if anything fails). Returns the bytes copied."""
    say = progress or (lambda _line: None)
    prefix_check(schema)
    storage = files()
    copied = 0
    total = len(checked.files)
    done = 0
    for tar, member in _members(checked.path):
        name = member.name
        inner = name[len(checked.root) + 1 :] if name.startswith(checked.root + "/") else ""
        path = inner.removeprefix(FILES_DIR + "/")
        if not member.isreg() or not inner.startswith(FILES_DIR + "/"):
            continue
        if path not in checked.files:
            raise _refuse(f"it changed since it was checked ({path[:80]!r})")
        key = key_check(f"{schema}/{path}", prefix=schema)
        stream = tar.extractfile(member)
        assert stream is not None  # noqa: S101
        hashing = _Hashing(stream)
        content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        written.append(key)
        storage.put(key, hashing, content_type=content_type)  # type: ignore[arg-type]
        size, sha = checked.files[path]
        if hashing.read_bytes != size or hashing.digest.hexdigest() != sha:
            raise _refuse(f"it changed since it was checked ({path[:80]!r})")
        copied += size
        done += 1
        say(f"  files: {done}/{total}, {copied} bytes")
    if done != total:
        raise _refuse("it changed since it was checked (files are missing)")
    return copied
