from django.apps import AppConfig


class BureausConfig(AppConfig):
    name = "openpractice.bureaus"
    label = "bureaus"
    verbose_name = "Bureaus"
    # No nav_entries: "Bureau" is shown to bureau staff only, which no capability says
    # (bureaus.context_processors.bureau, read by base.html).

    def ready(self) -> None:
        # "Is bureau staff", read with every request's memberships (practices.selectors), so the
        # shell's Bureau entry costs nothing for a person who is not (permissions.staff_for).
        from django.db import connection

        from openpractice.bureaus.models import BureauStaff
        from openpractice.practices.selectors import register_user_flag

        quote = connection.ops.quote_name
        table = quote(BureauStaff._meta.db_table)
        register_user_flag(
            BUREAU_STAFF_FLAG,
            f"EXISTS (SELECT 1 FROM {table} s WHERE s.{quote('user_id')} = u.id AND s.{quote('is_active')})",
        )


BUREAU_STAFF_FLAG = "bureau_staff"
