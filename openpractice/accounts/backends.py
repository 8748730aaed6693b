from django.contrib.auth.backends import ModelBackend

from openpractice.accounts.models import User
from openpractice.db import rows


class EmailBackend(ModelBackend):
    """Email login, case-insensitive."""

    def authenticate(self, request, username=None, password=None, email=None, **kwargs):
        email = (email or username or "").strip()
        if not email or password is None:
            return None
        try:
            user = User.objects.get(email__iexact=email)
        except User.DoesNotExist:
            User().set_password(password)  # same work either way: no timing oracle
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id):
        """The logged-in user of a request: one hand-written query (openpractice.db.rows), as it
        runs on every request; the same rule as ModelBackend (inactive users are not returned)."""
        found = rows.first(
            f"SELECT {rows.columns(User, 'u')} FROM {User._meta.db_table} u WHERE u.id = %s", [user_id], User
        )
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None
