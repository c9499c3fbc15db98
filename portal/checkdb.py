"""`python -m portal.checkdb`: say in one line whether the test database server can be reached."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings_test")

START_HINT = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def main():
    import django
    from django.db import connection

    django.setup()
    where = f"{connection.settings_dict.get('HOST') or 'local socket'}:{connection.settings_dict.get('PORT') or 5432}"
    if connection.vendor != "postgresql":
        print(f"portal: the test suite runs on PostgreSQL, but DATABASE_URL points to {connection.vendor}")
        return 1
    try:
        connection.ensure_connection()
    except Exception as exc:  # psycopg raises OperationalError; its message spans lines
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else exc.__class__.__name__
        if "does not exist" in first:
            return 0  # the server answers; pytest-django creates its own test database
        print(f"portal: PostgreSQL is not reachable at {where} ({first}); {START_HINT}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
