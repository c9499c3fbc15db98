"""Settings for the test suite: PostgreSQL on 127.0.0.1:5432 unless DATABASE_URL says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")

from portal.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; tests only
# The fake robot and webhook servers of tests/notifications listen on the loopback address.
NOTIFY_TEST_HOSTS = ["127.0.0.1"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
