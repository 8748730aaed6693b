"""Array parameters: a list of values sent to the database as ONE parameter.

- `field__anyof=values`: membership in a list (PostgreSQL `IN (SELECT unnest(array))`, SQLite
  `IN (SELECT value FROM json_each(json))`). Django's `__in` prepares every value through the
  field and binds one parameter each, which caps a query at a few hundred values on SQLite and
  was a tenth of the remittance posting time at 100,000 lines. Registered on every field and
  relation when `openpractice.db` is imported (`invoice_id__anyof` too).
- `chunks(values)`: the values in bounded pieces (`ANYOF_CHUNK`), one query each.
- `array_literal(values)`: a PostgreSQL array literal, also used by `bulk.update_rows`.

Values must already be database values (ints, str); None never matches.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.db.models import Field, ForeignObject, Lookup

ANYOF_CHUNK = 20_000  # values per query: bounded so one statement stays a few hundred kB


class Values:
    """A chunk of values for `__anyof`. Not a list on purpose: Django walks every item of a list
    or tuple looking for expressions before a lookup sees it (half a second per 100,000 values)."""

    __slots__ = ("items",)

    def __init__(self, items):
        self.items = list(items)

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)


def array_literal(values) -> str:
    """A PostgreSQL array literal, cast in the statement (`%s::bigint[]`): one string joined in C
    instead of psycopg adapting each item (a tenth of the posting time at 100,000 lines)."""
    if all(type(v) is int or type(v) is Decimal for v in values):  # numbers need no quotes
        return "{" + ",".join(map(str, values)) + "}"
    quoted: dict = {}  # a column often repeats a few values (a status, an outcome)
    for v in values:
        if v not in quoted:
            quoted[v] = "NULL" if v is None else '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "{" + ",".join([quoted[v] for v in values]) + "}"


@Field.register_lookup
class AnyOf(Lookup):
    lookup_name = "anyof"
    prepare_rhs = False
    can_use_none_as_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [v for v in self.rhs if v is not None]
        if connection.vendor == "postgresql":
            if not values:
                return "FALSE", []
            # A semi-join on unnest, not `= ANY(array)`: the planner sizes unnest by the array, so it
            # reads the rows by key; with `= ANY` and fresh statistics it filtered every row of the
            # practice against the array (16 s per 20,000 ids at 100,000 invoices).
            kind = "bigint" if all(type(v) is int for v in values) else "text"
            return f"{lhs} IN (SELECT unnest(%s::{kind}[]))", [*lhs_params, array_literal(values)]
        return f"{lhs} IN (SELECT value FROM json_each(%s))", [*lhs_params, json.dumps(values)]


ForeignObject.register_lookup(AnyOf)  # relations keep their own lookup table: `invoice_id__anyof` too


def chunks(values, size: int | None = None):
    """Values (for `__anyof`) of at most `size` items each."""
    values = list(values)
    size = size or ANYOF_CHUNK  # read at call time: tests shrink it to cross chunk boundaries
    for start in range(0, len(values), size):
        yield Values(values[start : start + size])
