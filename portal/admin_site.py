"""The portal's admin site: the index is the role's dashboard."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _


class PortalAdminSite(admin.AdminSite):
    site_header = site_title = _("Express interception portal")
    index_title = _("Dashboard")
    index_template = "admin/portal/dashboard.html"

    def index(self, request, extra_context=None):
        from portal import dashboard

        return super().index(request, {"dashboard": dashboard.build(request.user), **(extra_context or {})})

    def get_urls(self):
        from django.urls import path

        from portal.changes import changes_view

        return [path("changes/", self.admin_view(changes_view), name="portal_changes"), *super().get_urls()]
