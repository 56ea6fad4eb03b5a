"""The catalog snapshot: a schema's DDL, seed rows and sequence positions read from pg_catalog, and the statements
that replay them into a new schema (sent one by one, in one round trip: `shared_apps.core.sql.execute_pipelined`).

`capture` describes tables, columns, identity columns and sequences, constraints, indexes, comments, the rows of
every non-empty table (`django_migrations`, typically: contenttypes and auth live in the public schema only) and
sequence positions. Same-schema names are written unqualified and resolve against the new schema when replayed;
references to public tables stay `public.…`. A schema holding an object kind the snapshot does not copy (views,
functions, triggers, policies, …) raises FastPathUnavailable instead, so the caller falls back to migrations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from shared_apps.core.sql import literal, quote
from tenants.db import connection
from tenants.provisioning.migration_state import fingerprint_of


class FastPathUnavailable(Exception):
    """The template cannot be copied right now (missing, behind the code, or holding unsupported objects)."""


@dataclass(frozen=True)
class Snapshot:
    fingerprint: str
    applied: frozenset[tuple[str, str]]
    statements: tuple[str, ...]  # for `search_path = <new schema>`; same-schema names unqualified; one each
    tables: int


_UNSUPPORTED_SQL = """
SELECT 'relation ' || relname || ' (relkind ' || relkind::text || ')' FROM pg_class
 WHERE relnamespace = %(nsp)s AND relkind NOT IN ('r', 'S', 'i')
UNION ALL SELECT 'table ' || relname || ' has row level security' FROM pg_class
 WHERE relnamespace = %(nsp)s AND relkind = 'r' AND (relrowsecurity OR relforcerowsecurity)
UNION ALL SELECT 'function ' || proname FROM pg_proc WHERE pronamespace = %(nsp)s
UNION ALL SELECT 'type ' || t.typname FROM pg_type t WHERE t.typnamespace = %(nsp)s AND t.typrelid = 0
 AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)
UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
 WHERE c.relnamespace = %(nsp)s AND NOT g.tgisinternal
UNION ALL SELECT 'rule ' || rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
 WHERE c.relnamespace = %(nsp)s
UNION ALL SELECT 'policy ' || polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
 WHERE c.relnamespace = %(nsp)s
UNION ALL SELECT 'inheritance of ' || c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE c.relnamespace = %(nsp)s
UNION ALL SELECT 'statistics ' || stxname FROM pg_statistic_ext WHERE stxnamespace = %(nsp)s
"""

_TABLES_SQL = """
SELECT c.oid, quote_ident(c.relname), c.relpersistence, array_to_string(c.reloptions, ', '),
       quote_literal(obj_description(c.oid, 'pg_class'))
  FROM pg_class c WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' ORDER BY c.oid
"""

_COLUMNS_SQL = """
SELECT a.attrelid, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
       (SELECT quote_ident(n.nspname) || '.' || quote_ident(co.collname) FROM pg_collation co
          JOIN pg_namespace n ON n.oid = co.collnamespace
         WHERE co.oid = a.attcollation AND a.attcollation <> t.typcollation),
       quote_literal(col_description(a.attrelid, a.attnum)),
       (SELECT quote_ident(nn.conname) FROM pg_constraint nn
         WHERE nn.conrelid = a.attrelid AND nn.contype = 'n' AND nn.conkey[1] = a.attnum)
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relnamespace = %(nsp)s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum
"""

_SEQUENCES_SQL = """
SELECT s.oid, quote_ident(s.relname), format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin,
       q.seqmax, q.seqcache, q.seqcycle, d.deptype, d.refobjid, quote_ident(a.attname), s.relpersistence,
       pg_sequence_last_value(s.oid)
  FROM pg_class s
  JOIN pg_sequence q ON q.seqrelid = s.oid
  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
       AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('i', 'a')
  LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
 WHERE s.relnamespace = %(nsp)s AND s.relkind = 'S'
 ORDER BY s.oid
"""

_CONSTRAINTS_SQL = """
SELECT conrelid, quote_ident(conname), contype, pg_get_constraintdef(oid)
  FROM pg_constraint
 WHERE connamespace = %(nsp)s AND conrelid <> 0 AND contype IN ('p', 'u', 'x', 'c', 'f')
 ORDER BY CASE contype WHEN 'p' THEN 0 WHEN 'u' THEN 1 WHEN 'x' THEN 2 WHEN 'c' THEN 3 ELSE 4 END, conrelid, conname
"""

_INDEXES_SQL = """
SELECT i.indrelid, pg_get_indexdef(i.indexrelid), quote_ident(%(schema)s) || '.' || quote_ident(t.relname),
       quote_ident(t.relname), quote_literal(obj_description(i.indexrelid, 'pg_class')), quote_ident(ic.relname)
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
 WHERE ic.relnamespace = %(nsp)s
   AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid
                   AND k.contype IN ('p', 'u', 'x'))
 ORDER BY i.indexrelid
"""


def capture(schema: str) -> Snapshot:
    """Describe `schema` from the catalogs as statements that rebuild it under another name.

    Runs with `search_path` set to the schema alone (transaction-local), so that the server's own deparsers
    (`pg_get_constraintdef`, `pg_get_expr`, `format_type`) write same-schema names unqualified and public ones
    qualified. No lock is taken (a signup must not queue behind a template migration, nor the other way round):
    the recorded migrations are read first and again last, and a migration commits its DDL and its row together,
    so equal reads mean no migration committed in between and the catalogs read are the state those rows describe.
    """
    q = quote(schema)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT app, name FROM {q}.django_migrations")  # noqa: S608
        applied = {(a, n) for a, n in cursor.fetchall()}
        cursor.execute(
            "SELECT set_config('atrium.search_path_before', current_setting('search_path'), true),"
            " set_config('search_path', %s, true)",
            [q],
        )
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        nsp = cursor.fetchone()[0]
        p = {"nsp": nsp, "schema": schema}
        cursor.execute(_UNSUPPORTED_SQL, p)
        unsupported = [row[0] for row in cursor.fetchall()]
        if unsupported:
            raise FastPathUnavailable(
                f"the template holds objects the fast path does not copy: {', '.join(unsupported[:5])}"
            )
        cursor.execute(_TABLES_SQL, p)
        tables = cursor.fetchall()
        cursor.execute(_COLUMNS_SQL, p)
        columns = cursor.fetchall()
        cursor.execute(_SEQUENCES_SQL, p)
        sequences = cursor.fetchall()
        cursor.execute(_CONSTRAINTS_SQL, p)
        constraints = cursor.fetchall()
        cursor.execute(_INDEXES_SQL, p)
        indexes = cursor.fetchall()
        seed = _seed_rows(cursor, q, tables, columns)
        owned_max = _owned_sequence_positions(cursor, q, tables, sequences)
        cursor.execute("SELECT set_config('search_path', current_setting('atrium.search_path_before'), true)")
        cursor.execute(f"SELECT app, name FROM {q}.django_migrations")  # noqa: S608
        if {(a, n) for a, n in cursor.fetchall()} != applied:
            raise FastPathUnavailable("the template was migrated during the capture")
    statements = _render(tables, columns, sequences, constraints, indexes, seed, owned_max)
    return Snapshot(
        fingerprint=fingerprint_of(applied), applied=frozenset(applied), statements=statements, tables=len(tables)
    )


def _seed_rows(cursor: Any, q: str, tables: list[Any], columns: list[Any]) -> list[str]:
    """INSERT statements for every non-empty table of the template (its django_migrations rows, typically)."""
    if not tables:
        return []
    cursor.execute(
        " UNION ALL ".join(
            f"SELECT {oid}::oid, EXISTS (SELECT 1 FROM {q}.{name})"  # noqa: S608
            for oid, name, *_ in tables
        )
    )
    non_empty = {oid for oid, has_rows in cursor.fetchall() if has_rows}
    statements = []
    for oid, name, *_ in tables:
        if oid not in non_empty:
            continue
        insertable = [col[1] for col in columns if col[0] == oid and not col[6]]
        cols = ", ".join(insertable)
        cursor.execute(f"SELECT quote_literal(json_agg(t)::text) FROM {q}.{name} t")  # noqa: S608
        payload = cursor.fetchone()[0]
        statements.append(  # names and payload quoted by the server (quote_ident, quote_literal)
            f"INSERT INTO {name} ({cols}) OVERRIDING SYSTEM VALUE"  # noqa: S608
            f" SELECT {cols} FROM json_populate_recordset(NULL::{name}, {payload})"
        )
    return statements


def _owned_sequence_positions(cursor: Any, q: str, tables: list[Any], sequences: list[Any]) -> dict[int, int | None]:
    """For sequences owned by a column (identity, serial): the column's largest value in the template's rows.

    That, not the sequence's own position, is what a freshly migrated schema has: nextval() is not transactional,
    so anything once inserted into the template and rolled back (a failed migration, a test) has moved the template's
    sequences without leaving a row.
    """
    table_names = {oid: name for oid, name, *_ in tables}
    owned = [(seq[0], seq[10], seq[11]) for seq in sequences if seq[9] in ("i", "a") and seq[10] in table_names]
    if not owned:
        return {}
    cursor.execute(
        " UNION ALL ".join(
            f"SELECT {oid}::oid, max({column})::numeric FROM {q}.{table_names[rel]}"  # noqa: S608  (quoted names)
            for oid, rel, column in owned
        )
    )
    return {oid: (int(value) if value is not None else None) for oid, value in cursor.fetchall()}


def _render(
    tables: list[Any],
    columns: list[Any],
    sequences: list[Any],
    constraints: list[Any],
    indexes: list[Any],
    seed: list[str],
    owned_max: dict[int, int | None],
) -> tuple[str, ...]:
    table_names = {oid: name for oid, name, *_ in tables}
    identity: dict[tuple[int, str], Any] = {}
    out: list[str] = []
    owned: list[str] = []
    positions: list[str] = []
    for seq in sequences:
        (oid, name, typ, start, inc, mn, mx, cache, cycle, deptype, refobjid, attname, persistence, last) = seq
        if oid in owned_max:
            last = owned_max[oid]
        options = (
            f"INCREMENT BY {inc} MINVALUE {mn} MAXVALUE {mx} START WITH {start} CACHE {cache}"
            f" {'CYCLE' if cycle else 'NO CYCLE'}"
        )
        if deptype == "i":  # the column's type is the sequence's
            identity[(refobjid, attname)] = f"SEQUENCE NAME {name} {options}"
        else:
            unlogged = "UNLOGGED " if persistence == "u" else ""
            out.append(f"CREATE {unlogged}SEQUENCE {name} AS {typ} {options}")
            if deptype == "a":
                owned.append(f"ALTER SEQUENCE {name} OWNED BY {table_names[refobjid]}.{attname}")
        if last is not None:
            positions.append(f"SELECT setval({literal(name)}, {last}, true)")
    comments: list[str] = []
    for oid, name, persistence, reloptions, comment in tables:
        defs = []
        for col in columns:
            if col[0] != oid:
                continue
            _rel, attname, typ, notnull, default, ident, generated, collation, col_comment, nn_name = col
            parts = [attname, typ]
            if collation:
                parts.append(f"COLLATE {collation}")
            if generated == "s":
                parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
            elif default is not None:
                parts.append(f"DEFAULT {default}")
            if notnull:
                parts.append(f"CONSTRAINT {nn_name} NOT NULL" if nn_name else "NOT NULL")
            if ident:
                kind = "ALWAYS" if ident == "a" else "BY DEFAULT"
                parts.append(f"GENERATED {kind} AS IDENTITY ({identity[(oid, attname)]})")
            defs.append(" ".join(parts))
            if col_comment:
                comments.append(f"COMMENT ON COLUMN {name}.{attname} IS {col_comment}")
        unlogged = "UNLOGGED " if persistence == "u" else ""
        with_options = f" WITH ({reloptions})" if reloptions else ""
        out.append(f"CREATE {unlogged}TABLE {name} ({', '.join(defs)}){with_options}")
        if comment:
            comments.append(f"COMMENT ON TABLE {name} IS {comment}")
    out.extend(owned)
    foreign_keys: list[str] = []
    for conrelid, conname, contype, definition in constraints:
        statement = f"ALTER TABLE {table_names[conrelid]} ADD CONSTRAINT {conname} {definition}"
        (foreign_keys if contype == "f" else out).append(statement)
    out.extend(seed)  # before the foreign keys: seed rows may reference each other in any order
    out.extend(foreign_keys)
    for _indrelid, definition, qualified, bare, index_comment, index_name in indexes:
        rewritten = definition.replace(f" ON {qualified} ", f" ON {bare} ", 1).replace(
            f" ON ONLY {qualified} ", f" ON ONLY {bare} ", 1
        )
        if rewritten == definition and f" ON {bare} " not in definition:
            raise FastPathUnavailable(f"cannot rewrite the index definition {definition!r}")
        out.append(rewritten)
        if index_comment:
            comments.append(f"COMMENT ON INDEX {index_name} IS {index_comment}")
    out.extend(comments)
    out.extend(positions)
    return tuple(out)


def replay_statements(schema: str, snapshot: Snapshot) -> list[str]:
    """Create `schema` on its own (a plain `CREATE SCHEMA`, never `CREATE SCHEMA … CREATE TABLE`, which Citus does
    not distribute), then rebuild the template in it, one statement each. search_path is changed
    transaction-locally and restored at the end, so the connection's own idea of its search_path stays true."""
    q = quote(schema)
    return [
        "SELECT set_config('atrium.search_path_before', current_setting('search_path'), true)",
        f"CREATE SCHEMA {q}",
        f"SELECT set_config('search_path', {literal(q)}, true)",
        *snapshot.statements,
        "SELECT set_config('search_path', current_setting('atrium.search_path_before'), true)",
    ]
