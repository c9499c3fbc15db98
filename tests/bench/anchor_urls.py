"""The benchmarks' URLconf: the portal's own URLs, plus the anchors of tests/bench/anchor_admin.py."""

from django.urls import path

from portal.urls import handler400, handler404  # noqa: F401 - the portal's handlers
from portal.urls import urlpatterns as portal_urls
from tests.bench import anchor_admin

urlpatterns = [
    *portal_urls,
    path("anchor-admin/", anchor_admin.site.urls),
    path("bench/plain-callback/<slug:code>/", anchor_admin.plain_callback, name="bench-plain-callback"),
]
