"""The key-figure report inside the admin: the daily figures' list is the report page (docs/kpis.md)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _

from kernel.admin_base import PortalAdmin, ReadOnlyMixin
from kernel.errors import DomainError
from kernel.http import refusal
from kernel.spreadsheets import write_table
from kpi import reports, selectors
from kpi.models import DailyKpi

# Whoever may read the interception list may read its figures, scoped the same way (outlet staff: their outlets).
READ = "interception.view_interceptionorder"


@admin.register(DailyKpi)
class DailyKpiAdmin(ReadOnlyMixin, PortalAdmin):
    selector = selectors.daily_list

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.has_perm(READ)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            report = reports.parse(request.GET)
        except DomainError as refused:
            return refusal(request, refused.status, refused.code, refused.message)
        reports.build(request.user, report)
        file_format = request.GET.get("format")
        if file_format in ("csv", "xlsx"):
            header, rows = reports.export_rows(report)
            content, content_type = write_table(header, rows, file_format, title=_("Key figures"))
            response = HttpResponse(content, content_type=content_type)
            name = f"kpi-{report.by}-{report.first:%Y%m%d}-{report.last:%Y%m%d}.{file_format}"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        params = request.GET.copy()
        sorts = {}
        for key, _label in [("label", ""), *reports.COLUMNS]:
            params["sort"] = key if report.sort == f"-{key}" else f"-{key}"
            sorts[key] = params.urlencode()
        exports = {}
        for file_format in ("csv", "xlsx"):
            params = request.GET.copy()
            params["format"] = file_format
            exports[file_format] = params.urlencode()
        return self.render_page(
            request,
            "admin/kpi/report.html",
            title=_("Key figures"),
            report=report,
            columns=reports.COLUMNS,
            dimensions=[(key, label) for key, (label, _model, _param) in reports.DIMENSIONS.items()],
            grains=list(reports.GRAINS.items()),
            sorts=sorts,
            exports=exports,
        )
