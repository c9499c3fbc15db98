"""Running manage.py in a child process, with none of this process's portal settings leaking in."""

import os
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).resolve().parents[1]
PORTAL_VARIABLES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "PORTAL_MODE",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)  # the last is set while the browser tests' Playwright session runs


def manage(*args, env, cwd=BASE):
    clean = {k: v for k, v in os.environ.items() if k not in PORTAL_VARIABLES}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=cwd, env=clean, capture_output=True, text=True, timeout=120
    )
