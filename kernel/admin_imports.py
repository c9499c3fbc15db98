"""django-import-export's admin import and export, with the portal's upload rules.

The library's screens and steps are kept (upload, preview of a dry run, confirm); three things change:

- the upload is refused above the upload limit before anything reads it (the library reads it whole into
  memory first), and is parsed by kernel.spreadsheets (see kernel/imports.py);
- between the preview and the confirmation the file is kept by kernel.uploads (in the database, for the
  user who previewed it, for an hour, applied once), not in a temporary folder of one app host named by a
  form field;
- the confirmation reads and checks the file again and applies it in one transaction with
  `rollback_on_validation_errors`: a row that turned bad since the preview refuses the whole file, and the
  page lists every error by row and column instead of announcing "Import finished".
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportMixin
from import_export.forms import ImportForm, SelectableFieldsExportForm
from import_export.tmp_storages import BaseStorage

from kernel import inputs, uploads
from kernel.errors import DomainError
from kernel.imports import IMPORT_FORMATS, HeaderError
from kernel.spreadsheets import MAX_UPLOAD_BYTES, sheet_title


class CheckedImportForm(ImportForm):
    def clean_import_file(self):
        uploaded = self.cleaned_data["import_file"]
        if uploaded.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."), code="file_too_large")
        return uploaded


class ColumnsExportForm(SelectableFieldsExportForm):
    """The export's columns under the names the file gives them, in the reader's language; the library puts the
    field's English attribute name first ("Kind (类型)")."""

    def _get_field_label(self, resource, field_name):
        field = resource.fields.get(field_name)
        return str(field.column_name) if field is not None else field_name


class _Held(BaseStorage):
    """The uploaded bytes, held for the preview only (the confirmation finds the file in kernel.uploads)."""

    def save(self, data):
        self.data = data

    def read(self):
        return self.data

    def remove(self):
        self.data = b""


class PortalImportExportMixin(ImportExportMixin):
    import_template_name = "admin/portal/import.html"
    import_form_class = CheckedImportForm
    export_form_class = ColumnsExportForm
    import_formats = IMPORT_FORMATS
    to_encoding = "utf-8-sig"  # a CSV export Excel opens in Chinese
    # The import permission of a list whose rows a service creates (after-sales): the service's own.
    import_permission = None

    def has_import_permission(self, request):
        if self.import_permission and not request.user.has_perm(self.import_permission):
            return False
        return super().has_import_permission(request)

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        # The XLSX's sheet is named after the list, not tablib's "Tablib Dataset".
        data.title = sheet_title(self.opts.verbose_name_plural)
        return data

    def get_resource_kwargs(self, request, *args, **kwargs):
        return {**kwargs, "user": request.user}

    def get_import_data_kwargs(self, **kwargs):
        kwargs = super().get_import_data_kwargs(**kwargs)
        kwargs.pop("request", None)
        return {**kwargs, "rollback_on_validation_errors": True}

    def upload_purpose(self):
        return f"import:{self.opts.label_lower}"

    def write_to_tmp_storage(self, import_file, input_format):
        storage = _Held()
        import_file.seek(0)
        storage.save(import_file.read())  # at most MAX_UPLOAD_BYTES (CheckedImportForm)
        return storage

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, DomainError):
            form.add_error("import_file", e.message)
        else:
            super().add_data_read_fail_error_to_form(form, e)

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["import_file_name"] = uploads.stage(
                user=request.user, purpose=self.upload_purpose(), uploaded=import_form.cleaned_data["import_file"]
            )
        return initial

    def import_action(self, request, **kwargs):
        response = super().import_action(request, **kwargs)
        if isinstance(response, TemplateResponse) and response.context_data.get("result") is not None:
            response.context_data["problems"] = problems(response.context_data["result"])
        return response

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = self.create_confirm_form(request)
        formats = self.get_import_formats()
        if (
            not form.is_valid()
            or not inputs.is_id(form.cleaned_data["format"])
            or (int(form.cleaned_data["format"]) >= len(formats))
        ):
            return self._refused(request, _("Nothing was applied: upload the file again."))
        try:
            with transaction.atomic():
                staged = uploads.take(
                    user=request.user, purpose=self.upload_purpose(), token=form.cleaned_data["import_file_name"]
                )
                with staged:
                    dataset = formats[int(form.cleaned_data["format"])]().create_dataset(staged.read())
                result = self.process_dataset(dataset, form, request, **kwargs)
                refused = result.has_errors() or result.has_validation_errors()
                if refused:
                    transaction.set_rollback(True)
                else:
                    self.generate_log_entries(result, request)
        except DomainError as exc:
            return self._refused(request, exc.message)
        if refused:
            return self._refused(request, _("The file has errors; nothing was applied."), result=result)
        self.add_success_message(result, request)
        return self._changelist(request)

    def _changelist(self, request):
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))

    def _refused(self, request, message, result=None):
        messages.error(request, message)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Import"),
            "opts": self.opts,
            "form": self.create_import_form(request),
            "result": result,
            "problems": problems(result) if result is not None else [],
            "import_error_display": self.import_error_display,
        }
        return TemplateResponse(request, [self.import_template_name], context, status=400)

    def add_success_message(self, result, request):
        totals = result.totals
        messages.success(
            request,
            _("Imported %(list)s: %(new)s new, %(updated)s updated, %(skipped)s unchanged.")
            % {
                "list": self.opts.verbose_name_plural,
                "new": totals["new"],
                "updated": totals["update"],
                "skipped": totals["skip"],
            },
        )


def problems(result):
    """Every error of an import as (row as the spreadsheet numbers it, column, message), file order."""
    numbers = getattr(result, "sheet_rows", None) or []

    def sheet_row(number):
        return numbers[number - 1] if 0 < number <= len(numbers) else number + 1

    listed = []
    for error in result.base_errors:
        exc = error.error
        listed.append(("", "", exc.args[0] if isinstance(exc, HeaderError) and exc.args else str(exc)))
    for row in result.error_rows:
        for error in row.errors:
            listed.append((sheet_row(row.number), "", str(error.error)))
    for row in result.invalid_rows:
        for column, messages_ in row.error_dict.items():
            for message in messages_:
                listed.append((sheet_row(row.number), "" if column == "__all__" else column, message))
    listed.sort(key=lambda p: p[0] if isinstance(p[0], int) else 0)
    return listed
