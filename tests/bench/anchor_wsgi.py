"""The portal's WSGI application answering the benchmarks' URLconf too (gunicorn tests.bench.anchor_wsgi)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
# Read on every request (BaseHandler.get_response), so the product's settings stay as they are.
settings.ROOT_URLCONF = "tests.bench.anchor_urls"
