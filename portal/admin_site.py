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

    def get_app_list(self, request, app_label=None):
        """Built once a request: every page's context lists the apps for the sidebar, and the index lists them
        again (each list checks every model's permissions and reverses its URLs)."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        built = getattr(request, "_portal_app_list", None)
        if built is None:
            built = request._portal_app_list = super().get_app_list(request)
        return built

    def get_urls(self):
        from django.urls import path

        from portal.changes import changes_view

        return [path("changes/", self.admin_view(changes_view), name="portal_changes"), *super().get_urls()]
