"""Executing the SQL the simulator's query services receive (Athena, CloudTrail Lake).

AWS runs both on Trino. The simulator parses the statement with sqlglot's Trino dialect,
resolves its table names against the service's own catalog, writes it out as duckdb SQL and
runs it in duckdb over the records the service holds. What Trino and duckdb do differently is
bridged here (or in the caller, for a service's own syntax) and listed in docs/simulator.md.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError


class QueryError(Exception):
    """The statement did not parse or run; ``message`` is what the service reports."""

    def __init__(self, message: str, *, kind: str = "USER") -> None:
        super().__init__(message)
        self.message = message
        # PARSE: not one SELECT in Trino's grammar; TABLE: a table it names is not there;
        # USER: it failed while running.
        self.kind = kind


@dataclass(frozen=True)
class Table:
    """One table of a service's catalog: its duckdb name and the columns that let the service
    prune what it reads (Athena's partition columns, Lake's eventTime)."""

    name: str
    prune_columns: frozenset[str]


@dataclass(frozen=True)
class Result:
    columns: tuple[tuple[str, str], ...]  # (name, duckdb type)
    rows: tuple[tuple[Any, ...], ...]
    bytes_scanned: int
    rows_scanned: int


# (database or None, table name) -> the catalog's table, or None when it does not exist.
Resolver = Callable[[str | None, str], Table | None]


def _position(node: exp.Table, sql: str) -> str:
    """Trino's 'line L:C' of a table name (sqlglot keeps the offsets of identifiers)."""
    ident = node.this
    start = ident.meta.get("start") if isinstance(ident, exp.Identifier) else None
    if not isinstance(start, int):
        return "line 1:1"
    before = sql[:start]
    return f"line {before.count(chr(10)) + 1}:{start - before.rfind(chr(10))}"


def parse_select(sql: str) -> exp.Query:
    """One SELECT statement in Trino's dialect, or QueryError worded as Trino words it."""
    if "`" in sql:
        # Trino (so Athena DML and Lake) has no backquoted identifiers; sqlglot's Trino
        # dialect would read them as MySQL does.
        offset = sql.index("`")
        line = sql[:offset].count("\n") + 1
        col = offset - sql[:offset].rfind("\n")
        raise QueryError(f"line {line}:{col}: backquoted identifiers are not supported; use "
                         "double quotes to quote identifiers", kind="PARSE")
    try:
        statements = [s for s in sqlglot.parse(sql, read="trino") if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        raise QueryError(f"line {first.get('line', 1)}:{first.get('col', 1)}: "
                         f"{first.get('description') or exc}", kind="PARSE") from None
    except SqlglotError as exc:
        raise QueryError(f"line 1:1: {exc}", kind="PARSE") from None
    if len(statements) != 1:
        raise QueryError(f"Only one sql statement is allowed. Got: {len(statements)}",
                         kind="PARSE")
    statement = statements[0]
    if not isinstance(statement, exp.Query):
        raise QueryError(f"line 1:1: only SELECT queries are supported here, not "
                         f"{statement.key.upper()}", kind="PARSE")
    return statement


def _conjuncts(where: exp.Expression | None) -> list[exp.Expression]:
    if where is None:
        return []
    return [e for e in where.flatten() if isinstance(e, exp.Expression)] \
        if isinstance(where, exp.And) else [where]


class SqlEngine:
    """A duckdb database of a service's tables, and the statements run over them."""

    def __init__(self) -> None:
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()

    def load(self, name: str, columns: Mapping[str, str], rows: Iterable[Mapping[str, Any]],
             sizes: Iterable[tuple[str, int]]) -> None:
        """(Re)create table ``name`` with ``columns`` (duckdb types) from ``rows`` (JSON
        objects whose nested objects become STRUCTs or MAPs as the type says). ``sizes``: per
        row, the unit the service bills reading it as (a log file, or the row) and its bytes."""
        fd, path = tempfile.mkstemp(suffix=".json")
        meta: list[tuple[int, str, int]] = []
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                for i, (row, (unit, size)) in enumerate(zip(rows, sizes, strict=True)):
                    out.write(json.dumps(row, separators=(",", ":")))
                    out.write("\n")
                    meta.append((i, unit, size))
            spec = "{" + ", ".join(f"'{c}': '{t}'" for c, t in columns.items()) + "}"
            # Table names are the simulator's own constants, never a request's text.
            with self._lock:
                self._con.execute(f'DROP TABLE IF EXISTS "{name}"')
                self._con.execute(f'DROP TABLE IF EXISTS "{name}$meta"')
                create = (f'CREATE TABLE "{name}" AS SELECT * FROM read_json(?, '  # noqa: S608
                          f"format='newline_delimited', columns={spec})")
                self._con.execute(create, [path])
                self._con.execute(f'CREATE TABLE "{name}$meta" (n BIGINT, unit VARCHAR, '
                                  "bytes BIGINT)")
                if meta:
                    self._con.executemany(
                        f'INSERT INTO "{name}$meta" VALUES (?, ?, ?)', meta)  # noqa: S608
        finally:
            os.unlink(path)

    def run(self, sql: str, resolve: Resolver) -> Result:
        """Run one SELECT. Every table it names must resolve; a statement that does not
        parse, names an unknown table or fails in the engine raises QueryError."""
        query = parse_select(sql)
        tables: list[Table] = []
        for node in list(query.find_all(exp.Table)):
            if not node.name:
                continue
            table = resolve(node.db or None, node.name)
            if table is None:
                qualified = ".".join(p for p in (node.db, node.name) if p)
                raise QueryError(f"{_position(node, sql)}: Table '{qualified}' does not exist",
                                 kind="TABLE")
            tables.append(table)
            node.replace(exp.to_table(f'"{table.name}"', dialect="duckdb")
                         .as_(node.alias_or_name, quoted=True))
        try:
            text = query.sql(dialect="duckdb")
        except SqlglotError as exc:
            raise QueryError(f"line 1:1: {exc}") from None
        with self._lock:
            try:
                cursor = self._con.execute(text)
                description = cursor.description or []
                rows = cursor.fetchall()
            except duckdb.Error as exc:
                raise QueryError(str(exc).splitlines()[0]) from None
            scanned, read = self._scanned(query, tables)
        columns = tuple((str(d[0]), str(d[1])) for d in description)
        return Result(columns, tuple(rows), scanned, read)

    def _scanned(self, query: exp.Query, tables: Sequence[Table]) -> tuple[int, int]:
        """What the service would have read: the billing units of the rows its pruning
        columns admit (the WHERE's conjuncts that name only those columns). Called locked."""
        if len(tables) != 1 or not isinstance(query, exp.Select):
            total = 0
            rows = 0
            for t in tables:
                got = self._con.execute(
                    f'SELECT coalesce(sum(bytes), 0), count(*) FROM "{t.name}$meta"'  # noqa: S608
                ).fetchone()
                total += int(got[0]) if got else 0
                rows += int(got[1]) if got else 0
            return total, rows
        table = tables[0]
        where = query.args.get("where")
        kept: list[str] = []
        for c in _conjuncts(where.this if isinstance(where, exp.Where) else None):
            names = {col.name.lower() for col in c.find_all(exp.Column)}
            if names and names <= table.prune_columns and not c.find(exp.Subquery):
                bare = c.copy()
                for col in bare.find_all(exp.Column):
                    col.set("table", None)
                kept.append(bare.sql(dialect="duckdb"))
        condition = " AND ".join(kept) or "TRUE"
        # The pruning conjuncts are the request's own SQL, which this engine exists to run.
        hit = (f'WITH hit AS (SELECT DISTINCT m.unit, m.bytes FROM "{table.name}" '  # noqa: S608
               f'JOIN "{table.name}$meta" m ON m.n = "{table.name}".rowid WHERE {condition}) '
               "SELECT coalesce(sum(bytes), 0), count(*) FROM hit")
        got = self._con.execute(hit).fetchone()
        return (int(got[0]), int(got[1])) if got else (0, 0)


def varchar(value: Any) -> str | None:
    """A value as Trino prints it (Athena's VarCharValue, Lake's result cells)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={varchar(v) if v is not None else 'null'}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(varchar(v) or "null" for v in value) + "]"
    return str(value)


__all__ = ["QueryError", "Result", "SqlEngine", "Table", "parse_select", "varchar"]
