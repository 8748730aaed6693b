#!/usr/bin/env python
"""OpenPractice management commands."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openpractice.settings")
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except OperationalError as exc:
        from django.conf import settings

        db = settings.DATABASES["default"]
        where = db.get("HOST") and f"{db.get('HOST')}:{db.get('PORT') or 5432}/{db.get('NAME')}" or db.get("NAME")
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        sys.exit(f"OpenPractice cannot use the database {where}: {reason}. Check DATABASE_URL.")


if __name__ == "__main__":
    main()
