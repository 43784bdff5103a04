"""Database helpers that Django's ORM lacks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models

_PG_TYPES = {
    "AutoField": "integer", "BigAutoField": "bigint", "IntegerField": "integer", "BigIntegerField": "bigint",
    "PositiveIntegerField": "integer", "CharField": "varchar", "TextField": "text", "BooleanField": "boolean",
    "DateTimeField": "timestamptz", "FloatField": "double precision",
}


def bulk_set(model: type[models.Model], objects: Sequence[models.Model], fields: Iterable[str], *,
             where: str = "", where_params: Sequence = (), batch_size: int = 1000) -> int:
    """Set ``fields`` of many rows to per-row values in one statement per batch:
    ``UPDATE t SET f = v.f FROM (VALUES ...) AS v WHERE t.id = v.id [AND where]``.

    Django's bulk_update builds a CASE expression per field, whose cost grows with the
    square of the batch; this stays linear. ``where`` is an extra SQL condition on the
    table's columns (e.g. a status check). Returns the number of rows updated."""
    fields = list(fields)
    if not objects:
        return 0
    if connection.vendor == "sqlite" and connection.Database.sqlite_version_info < (3, 33):
        # No UPDATE ... FROM before SQLite 3.33: one UPDATE per row, with the same condition.
        return sum(model.objects.filter(id=obj.id).extra(where=[where] if where else [], params=where_params)
                   .update(**{name: getattr(obj, name) for name in fields}) for obj in objects)
    meta = model._meta
    table = connection.ops.quote_name(meta.db_table)
    columns = [meta.get_field("id")] + [meta.get_field(name) for name in fields]
    names = [connection.ops.quote_name(f.column) for f in columns]
    postgres = connection.vendor == "postgresql"
    placeholders = ", ".join(
        f"%s::{_PG_TYPES[f.get_internal_type()]}" if postgres else "%s" for f in columns)
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    extra = f" AND ({where})" if where else ""
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch_size):
            batch = objects[start:start + batch_size]
            params: list = []
            for obj in batch:
                params.extend(f.get_db_prep_value(getattr(obj, f.attname), connection) for f in columns)
            values = ", ".join(f"({placeholders})" for _ in batch)
            if postgres:
                sql = (f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v({', '.join(names)}) "
                       f"WHERE {table}.{names[0]} = v.{names[0]}{extra}")
            else:  # SQLite 3.33+: VALUES columns are column1, column2, ...
                aliased = ", ".join(f"column{i + 1} AS {name}" for i, name in enumerate(names))
                sql = (f"UPDATE {table} SET {assignments} FROM (SELECT {aliased} FROM (VALUES {values})) AS v "
                       f"WHERE {table}.{names[0]} = v.{names[0]}{extra}")
            cursor.execute(sql, params + list(where_params))
            updated += cursor.rowcount
    return updated
