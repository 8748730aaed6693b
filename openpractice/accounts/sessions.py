"""Django's database sessions, read with one hand-written query (openpractice.db.rows): the session
is loaded on every request, and the ORM took ~10x longer to build the lookup than to run it.
Same table, same expiry rule; everything else is Django's. settings.SESSION_ENGINE points here."""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.utils import timezone

from openpractice.db import rows, sql


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        model = self.model
        found = rows.first(
            f"SELECT {rows.columns(model, 's')} FROM {model._meta.db_table} s "
            "WHERE s.session_key = %s AND s.expire_date > %s",
            [self.session_key, sql.datetime_value(timezone.now())],
            model,
        )
        if found is None:
            self._session_key = None
            return None
        return found[0]
