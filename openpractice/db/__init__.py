"""The fast database paths, in one place: set-based writes and reads that the ORM makes slow, and
the few places where SQLite and PostgreSQL need different statements.

- `arrays`: a list of values as one parameter (`field__anyof=`, `chunks`).
- `bulk`: many rows at once (insert by COPY or executemany, update by unnest or executemany,
  update_fields, reserve_ids, and what goes around a large import).
- `rows`: single rows by hand for what every request runs (session, user, membership, read log).
- `sql`: running an app's own hand-written statements; which database this is.
- `reconnect`: closing broken connections, checking the database answers again.

Apps keep their own queries and call these; nothing here knows a domain or imports an
openpractice app (only Django, psycopg through Django, and the standard library).
Importing this package registers the `__anyof` lookup.
"""

from openpractice.db import arrays  # noqa: F401  (registers the __anyof lookup on every field)
