"""Django's database sessions, read with one hand-written query (openpractice.rows): the session is
loaded on every request, and the ORM took ~10x longer to build the lookup than to run it.
Same table, same expiry rule; everything else is Django's. settings.SESSION_ENGINE points here."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.db import connection
from django.utils import timezone

from openpractice import rows


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        model = self.model
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {rows.columns(model, 's')} FROM {model._meta.db_table} s "
                "WHERE s.session_key = %s AND s.expire_date > %s",
                [self.session_key, connection.ops.adapt_datetimefield_value(timezone.now())],
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return rows.instance(model, row)
