"""Statements compiled once and sent as the driver's own SQL.

A `Plan` is a module-level statement compiled once for a kind of database: its SQL, its
parameters in order, how each parameter and column value is converted (the columns' types, as
SQLAlchemy converts them), and a row type whose attributes are the statement's columns.

`rows` and `rowcount` send a plan on the asyncpg connection of a session's transaction, as
asyncpg's own coroutines: no greenlet (but on a failure), no ORM execution, no execution
context, no result metadata. Through `Session.execute` those cost more CPU than the driver and
the database together (docs/benchmarks.md, "Issue 11, ninth session"); the worker's claim and
finish are made of such statements. What SQLAlchemy does around a statement that callers rely
on is done here too: the transaction is begun where SQLAlchemy would begin it, the statement is
told to `RAW_STATEMENTS`' listeners and to the lost-commit check, and a failure is raised as
SQLAlchemy raises it, through the connection's own error handling (its `handle_error` events,
the pool's invalidation of a lost connection, a cancel left a cancel).
"""

import collections
import functools
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors
from sqlalchemy.util import await_, greenlet_spawn

from nuage.db import lost_commits

# Listeners told each statement sent past SQLAlchemy's events (`rows`, `rowcount`,
# `db.session.first_row_raw`), with its values; what counts statements listens to both.
RAW_STATEMENTS: list[Callable[[str, Sequence[Any]], None]] = []

Convert = Callable[[Any], Any]


@dataclass(frozen=True)
class Plan:
    """A statement compiled for one kind of database: its SQL, the names of its parameters in
    order, the values of those it holds itself (its constants, each value of a constant IN
    list), the columns' defaults SQLAlchemy computes in Python at each execution (`modified`'s
    `utcnow`), and the conversion of each parameter and column value (None: as they are)."""

    sql: str
    names: list[str]
    constants: dict[str, Any]
    defaults: dict[str, Callable[[], Any]]
    binds: Sequence[Convert | None] | None
    results: Sequence[Convert | None] | None
    row: Callable[..., Any]

    def values(self, params: dict[str, Any]) -> list[Any]:
        """The parameters in the SQL's order (the caller's, else its columns' defaults, else the
        statement's constants), converted."""
        if self.defaults:
            params = {**{k: make() for k, make in self.defaults.items()}, **params}
        values = [params[name] if name in params else self.constants[name] for name in self.names]
        if self.binds is None:
            return values
        return [v if c is None else c(v) for v, c in zip(values, self.binds, strict=True)]

    def make_row(self, found: Sequence[Any]) -> Any:
        if self.results is None:
            return self.row(*found)
        return self.row(
            *(v if c is None else c(v) for v, c in zip(found, self.results, strict=True))
        )


Statement = sa.Select[Any] | sa.Insert | sa.Update | sa.Delete
# Each statement's plans, kept while it lives (a statement of an LRU cache may be dropped).
_PLANS: "weakref.WeakKeyDictionary[Statement, dict[tuple[str, str, bool], Plan]]" = (
    weakref.WeakKeyDictionary()
)


def plan_of(statement: Statement, dialect: Dialect, *, typed: bool = True) -> Plan:
    """`statement` compiled for `dialect`, once for as long as `statement` lives: a statement
    built once (a module's constant, or one of a `functools` cache), not one built per call.
    Its parameters are single values (an IN of the caller's list is an array parameter on
    PostgreSQL: `= ANY(:ids)`); an IN of constants is expanded here, once. Not `typed`: the
    values go and come as they are, for a statement whose driver already gives its columns'
    Python types (as asyncpg does for a read of plain columns)."""
    plans = _PLANS.get(statement)
    if plans is None:
        plans = _PLANS[statement] = {}
    kind = (dialect.name, dialect.driver, typed)
    plan = plans.get(kind)
    if plan is None:
        plan = plans[kind] = _plan(statement, dialect, typed=typed)
    return plan


def _plan(statement: Statement, dialect: Dialect, *, typed: bool) -> Plan:
    # SQLAlchemy's own steps at each execution, taken once: the constant IN lists expanded
    # (`_process_parameters_for_postcompile`), the Python-side defaults found (the prefetch
    # columns, under the names the execution context gives them).
    compiled: Any = statement.compile(dialect=dialect)
    asked = {name for name, bind in compiled.binds.items() if bind.required}
    for name in asked:
        bind = compiled.binds[name]
        if bind.expanding or bind.literal_execute:  # its value would be frozen into the SQL
            raise ValueError(f"{name}: a plan's parameters are single values (an array for a list)")
    defaults: dict[str, Callable[[], Any]] = {}
    if compiled.update_prefetch or compiled.insert_prefetch:
        key_of = compiled._within_exec_param_key_getter
        defaults = {key_of(c): _default(c.onupdate) for c in compiled.update_prefetch}
        defaults |= {key_of(c): _default(c.default) for c in compiled.insert_prefetch}
    if len(defaults) != _python_side_defaults(statement):
        # SQLAlchemy computes a nested write's defaults only while it is the last one compiled
        raise ValueError(
            "a write of this statement leaves a column's Python-side default to SQLAlchemy, "
            "which a plan does not see: give that column's value as a parameter"
        )
    expanded = compiled._process_parameters_for_postcompile(
        compiled.construct_params(dict.fromkeys(asked | defaults.keys()))
    )
    names = list(expanded.positiontup or [])
    constants = {
        name: value
        for name, value in expanded.parameters.items()
        if name not in asked and name not in defaults
    }
    binds: list[Convert | None] | None = None
    results: list[Convert | None] | None = None
    if typed:
        processors = {**compiled._bind_processors, **expanded.processors}
        binds = [processors.get(name) for name in names]
        results = [
            c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in _columns(statement)
        ]
    row = collections.namedtuple("Row", _columns(statement).keys())  # type: ignore[misc]
    return Plan(expanded.statement, names, constants, defaults, _none_if_idle(binds),
                _none_if_idle(results), row)  # fmt: skip


def _python_side_defaults(statement: Statement) -> int:
    """How many column values the writes of `statement` (its own, and its CTEs') leave to a
    Python-side default (`onupdate` for an UPDATE, `default` for an INSERT)."""
    count = 0
    seen: set[int] = set()
    for node in visitors.iterate(statement):
        if id(node) in seen or not isinstance(node, sa.Update | sa.Insert):
            continue
        seen.add(id(node))
        given = {getattr(key, "key", key) for key in node._values or ()}
        given |= set(getattr(node, "_select_names", None) or ())
        for column in node.table.c:
            default = column.onupdate if isinstance(node, sa.Update) else column.default
            python_side = default is not None and (default.is_callable or default.is_scalar)
            count += python_side and column.key not in given
    return count


def _default(default: Any) -> Callable[[], Any]:
    """A column's Python-side default as a function of nothing (nuage's take no execution
    context: `utcnow`, `uuid4`, constants)."""
    if default is not None and default.is_callable:
        return functools.partial(default.arg, None)
    if default is not None and default.is_scalar:
        return functools.partial(lambda value: value, default.arg)
    raise ValueError(f"a default SQLAlchemy computes at execution: {default!r}")


def _columns(statement: Statement) -> Any:
    """What a row of `statement` holds: a SELECT's columns, a write's RETURNING."""
    if isinstance(statement, sa.Select):
        return statement.selected_columns
    return statement.exported_columns


def _none_if_idle(converts: list[Convert | None] | None) -> list[Convert | None] | None:
    return None if converts is None or all(c is None for c in converts) else converts


async def rows(session: AsyncSession, plan: Plan, params: dict[str, Any]) -> list[Any]:
    """The rows of `plan` run in `session`'s transaction (PostgreSQL), as its row type."""
    found, _ = await run(await _connection(session), plan, params)
    return [plan.make_row(row) for row in found]


async def rowcount(session: AsyncSession, plan: Plan, params: dict[str, Any]) -> int:
    """How many rows `plan` (a write without RETURNING) changed in `session`'s transaction."""
    return (await run(await _connection(session), plan, params))[1]


def rows_in_greenlet(connection: Connection, plan: Plan, params: dict[str, Any]) -> list[Any]:
    """`rows` for a caller of SQLAlchemy's synchronous API in its greenlet (a session's commit
    hook), on `connection`, in its transaction."""
    found, _ = await_(run(connection, plan, params))
    return [plan.make_row(row) for row in found]


_CONNECTION = "nuage.driver_sql.connection"  # in a session's `info`: (its transaction, connection)


async def _connection(session: AsyncSession) -> Connection:
    """The connection of `session`'s transaction. Asked of the session once per transaction:
    each ask is a trip through a greenlet, which cost a tenth of the statement's CPU. A
    transaction that can no longer be used (a failed flush) is asked again, and the session
    refuses it as it would refuse any statement."""
    sync = session.sync_session
    transaction = sync.get_transaction()
    known = sync.info.get(_CONNECTION)
    if known is not None and transaction is not None and known[0] is transaction:
        connection: Connection = known[1]
        if transaction.is_active and not connection.closed and connection.in_transaction():
            return connection
    found = (await session.connection()).sync_connection
    assert found is not None  # a session's connection is always begun on its engine
    remember_connection(sync, found)
    return found


def remember_connection(session: Session, connection: Connection) -> None:
    """`connection` is the one of `session`'s transaction, as `rows` would ask it (a caller
    that asked it already, in a greenlet, spares `rows` a trip through another)."""
    session.info[_CONNECTION] = (session.get_transaction(), connection)


_COUNT = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")


async def run(connection: Connection, plan: Plan, params: dict[str, Any]) -> tuple[list[Any], int]:
    """`plan` on `connection`'s asyncpg connection, in its transaction (begun if it was not):
    the driver's rows and the count of rows its status reports."""
    sql = plan.sql
    values = plan.values(params)
    for listener in RAW_STATEMENTS:
        listener(sql, values)
    lost_commits.statement_sent(connection, sql)
    adapted: Any = connection.connection.dbapi_connection
    dialect: Any = connection.dialect
    try:
        async with adapted._execute_mutex:
            if adapted._transaction is None:
                await adapted._start_transaction()
            prepared, _ = await adapted._prepare(sql, dialect._invalidate_schema_cache_asof)
            found = await prepared.fetch(*values)
            status = prepared.get_statusmsg()
    except BaseException as error:
        await greenlet_spawn(_raise_as_sqlalchemy, connection, error, sql, values)
        raise  # not reached: the connection raises
    counted = _COUNT.match(status or "")
    return found, int(counted.group(1)) if counted else -1


def _raise_as_sqlalchemy(
    connection: Connection, error: BaseException, sql: str, values: Any
) -> None:
    """Raise `error` as SQLAlchemy would have for this statement: the driver's error made the
    DBAPI's (as SQLAlchemy's adapter of asyncpg makes it), then the connection's handling, which
    runs the `handle_error` events, invalidates a lost connection and wraps the error; a cancel
    stays a cancel. Raised here first: the connection's handling re-raises the exception being
    handled, and this greenlet began handling none."""
    adapted: Any = connection.connection.dbapi_connection
    dbapi = adapted.dbapi
    try:
        if isinstance(error, Exception) and not isinstance(error, dbapi.Error):
            adapted._handle_exception(error)  # raises the DBAPI's error
        raise error
    except BaseException as raised:
        if isinstance(raised, dbapi.InvalidCachedStatementError | dbapi.InternalServerError):
            # A prepared statement outdated by a schema change (as SQLAlchemy's execution
            # context does): every connection prepares its statements again.
            dialect: Any = connection.dialect
            dialect._invalidate_schema_cache()
        connection._handle_dbapi_exception(raised, sql, values, None, None)
