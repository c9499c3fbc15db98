"""Single-row statements for the hottest write path, without the ORM's query building on every call.

Each carrier callback runs five statements. Building one with the QuerySet API costs the worker about
0.9 M CPU instructions, several times what PostgreSQL spends running it; at hundreds of callbacks a
second that decides the throughput. These helpers build each statement's SQL once per shape from the
model's metadata and pass every value through its field, as the ORM would, so the same code runs on
PostgreSQL and on the demo's SQLite. What they leave out: no model signals and no field defaults
(pass every column), and nothing beyond equality in a lookup.

`update_rows` is the set-based services' counterpart: a whole set of changed rows in a few statements.
"""

from collections import defaultdict
from datetime import datetime
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import CharField, DateTimeField, Field, TextField

IN_BATCH = 10_000  # ids per `IN (...)` list


def get(model, fields, **equals):
    """The row where every `equals` column holds its value, as `model` with only `fields` loaded; None if none.

    A lookup for a unique key: with several matches, which one comes back is undefined.
    """
    found = _fetch(model, tuple(fields), equals)
    if found is None:
        return None
    db, columns, values = found
    return model.from_db(db.alias, [column.target.attname for column in columns], values)


def value(model, field, **equals):
    """One column of the row `get` would find, or None: no model instance is built (a callback needs only
    its parcel's id, and building a Parcel costs more than the query)."""
    found = _fetch(model, (field,), equals)
    return None if found is None else found[2][0]


def _fetch(model, fields, equals):
    db = _db()
    sql, columns, keys, preps = _select(model, fields, tuple(equals))
    cursor = _cursor(db)
    cursor.execute(sql, [prep(equals[field.name], db) for field, prep in zip(keys, preps)])
    row = cursor.fetchone()
    if row is None:
        return None
    # The ORM's own conversions of what the driver returns (SQLite's datetimes come as text, say), looked up
    # once per shape and connection.
    known = db.__dict__.setdefault("kernel_sql_converters", {})
    if (converters := known.get(sql)) is None:
        converters = known[sql] = [db.ops.get_db_converters(c) + c.get_db_converters(db) for c in columns]
    values = []
    for value, column, converts in zip(row, columns, converters):
        for convert in converts:
            value = convert(value, column, db)
        values.append(value)
    return db, columns, values


def insert(model, **values):
    """Insert one row of `model` with these field values (every column the table needs)."""
    db = _db()
    _cursor(db).execute(*_insert_statement(model, values, db))


def update_unless_newer(model, pk, time_field, **values):
    """Set `values` on row `pk` unless its `time_field` is later than the new one (events arriving out of
    order must not undo a newer state). `values` includes `time_field`. Returns whether the row changed."""
    db = _db()
    cursor = _cursor(db)
    cursor.execute(*_update_statement(model, pk, time_field, values, db))
    return cursor.rowcount > 0


def insert_and_update_unless_newer(model, values, target, pk, time_field, **changes):
    """`insert(model, **values)`, then `update_unless_newer(target, pk, time_field, **changes)`; returns whether
    the row changed. On PostgreSQL they are one statement (the insert in a data-modifying WITH, which runs whether
    or not the UPDATE reads it): a callback's tracking event and its parcel's status cost one round trip, not two,
    and a round trip costs the worker more than either statement's Python. Elsewhere (the demo's SQLite), two."""
    db = _db()
    if db.vendor != "postgresql":
        insert(model, **values)
        return update_unless_newer(target, pk, time_field, **changes)
    insert_sql, insert_params = _insert_statement(model, values, db)
    update_sql, update_params = _update_statement(target, pk, time_field, changes, db)
    cursor = _cursor(db)
    cursor.execute(f"WITH _inserted AS ({insert_sql}) {update_sql}", insert_params + update_params)
    return cursor.rowcount > 0


def _insert_statement(model, values, db):
    sql, fields, preps = _insert(model, tuple(values))
    return sql, [prep(values[field.name], db) for field, prep in zip(fields, preps)]


def _update_statement(model, pk, time_field, values, db):
    sql, fields, time, preps = _update(model, tuple(values), time_field)
    params = [prep(values[field.name], db) for field, prep in zip(fields, preps)]
    params += [model._meta.pk.get_db_prep_value(pk, db), time.get_db_prep_value(values[time.name], db)]
    return sql, params


def update_rows(model, rows, fields):
    """Write `fields` of `rows` (instances of `model`) with one UPDATE per distinct set of values, not one per
    row: a set-based service changes thousands of rows to a few shapes (every approval the same state,
    decider and time). `QuerySet.update` bypasses the state machine: call it only with rows whose
    transitions the machine has taken in memory."""
    groups = defaultdict(list)
    attnames = [model._meta.get_field(name).attname for name in fields]
    for row in rows:
        groups[tuple(getattr(row, attname) for attname in attnames)].append(row.pk)
    for values, pks in groups.items():
        for start in range(0, len(pks), IN_BATCH):
            model._base_manager.filter(pk__in=pks[start : start + IN_BATCH]).update(**dict(zip(attnames, values)))


def _db():
    """This thread's connection itself: each attribute read through `django.db.connection` (a proxy) looks the
    connection up again in a thread-local, and a statement's values read it a dozen times."""
    return connections[DEFAULT_DB_ALIAS]


def _cursor(db):
    """One cursor for these statements per database connection: opening one per statement (Django's wrapper,
    the health check, psycopg's own) cost a callback's five statements a tenth of the worker's time. A new
    connection (one that failed its health check included), or a change to whether queries are logged (Django
    picks the logging wrapper when it opens a cursor), opens a new one; every statement still goes through the
    connection's execute wrappers."""
    db.close_if_health_check_failed()  # once a request, as Django's own cursor() does (CONN_HEALTH_CHECKS)
    held = db.__dict__.get("kernel_sql_cursor")
    if held is None or held[0] is not db.connection or held[1] != db.queries_logged:
        if db.connection is None:
            db.ensure_connection()
        held = db.__dict__["kernel_sql_cursor"] = (db.connection, db.queries_logged, db.cursor())
    return held[2]


def _prep(field, *, save=True):
    """How a value reaches the driver for `field`: its get_db_prep_save (or _value, for a lookup), except a text
    for a plain text column, which that would hand back unchanged (CharField.to_python keeps a str) after a
    dozen calls; the hottest statements pass half a dozen texts each."""
    prep = field.get_db_prep_save if save else field.get_db_prep_value
    kind = type(field)
    if kind is DateTimeField:
        # An aware datetime goes through to_python unchanged and raises no naive-time warning: what is left of
        # get_db_prep_value is the backend's adaptation (SQLite's text).
        def aware_or_prep(value, db):
            if type(value) is datetime and value.utcoffset() is not None:
                return db.ops.adapt_datetimefield_value(value)
            return prep(value, db)

        return aware_or_prep
    plain_text = (
        kind.get_prep_value in (CharField.get_prep_value, TextField.get_prep_value)
        and kind.to_python in (CharField.to_python, TextField.to_python)
        and kind.get_db_prep_value is Field.get_db_prep_value
        and kind.get_db_prep_save is Field.get_db_prep_save
    )
    if not plain_text:
        return prep

    def text_or_prep(value, db):
        return value if type(value) is str else prep(value, db)

    return text_or_prep


def _quote(name):
    return connection.ops.quote_name(name)


@cache
def _select(model, names, keys):
    table = model._meta.db_table
    # In the model's own field order: Model.from_db hands values to the concrete fields in that order.
    order = {field.name: index for index, field in enumerate(model._meta.concrete_fields)}
    columns = [model._meta.get_field(name).get_col(table) for name in sorted(names, key=order.__getitem__)]
    key_fields = [model._meta.get_field(key) for key in keys]
    # Names come from the model's metadata, quoted; every value is a parameter.
    sql = "SELECT {} FROM {} WHERE {} LIMIT 1".format(  # noqa: S608
        ", ".join(_quote(column.target.column) for column in columns),
        _quote(table),
        " AND ".join(f"{_quote(field.column)} = %s" for field in key_fields),
    )
    return sql, columns, key_fields, [_prep(field, save=False) for field in key_fields]


@cache
def _insert(model, names):
    fields = [model._meta.get_field(name) for name in names]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the metadata, values as parameters
        _quote(model._meta.db_table),
        ", ".join(_quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    return sql, fields, [_prep(field) for field in fields]


@cache
def _update(model, names, time_name):
    fields = [model._meta.get_field(name) for name in names]
    time_field = model._meta.get_field(time_name)
    time = _quote(time_field.column)
    sql = "UPDATE {} SET {} WHERE {} = %s AND ({} IS NULL OR {} <= %s)".format(  # noqa: S608 - as above
        _quote(model._meta.db_table),
        ", ".join(f"{_quote(field.column)} = %s" for field in fields),
        _quote(model._meta.pk.column),
        time,
        time,
    )
    return sql, fields, time_field, [_prep(field) for field in fields]
