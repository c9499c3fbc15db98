"""django-import-export for the portal's lists: files read within our limits, rows refused with row and column.

What the library does as it is: the preview (a dry run in a transaction rolled back), rows matched on
`import_id_fields`, `skip_unchanged`, the confirmation. What this module adds, for every resource:

- the file is read by kernel.spreadsheets (size, unpacked XLSX size, zip bombs, UPLOAD_MAX_ROWS, UTF-8 or
  GB18030), never by tablib's own readers, which load anything whole;
- column names are translated, and a file is read in either language (the export of a colleague working
  in English imports as well);
- every error names the column as the file calls it; a value that cannot be stored (too long, a NUL) is
  refused, never shortened; a code that names nothing is refused, never created;
- exported text a spreadsheet would run as a formula is escaped (safe_cell: = + - @ tab CR), and read
  back unescaped.
"""

from decimal import Decimal

import tablib
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from import_export import resources, widgets
from import_export.formats import base_formats

from kernel import inputs, money
from kernel.errors import DomainError
from kernel.spreadsheets import read_rows, safe_cell, unsafe_cell

LANGUAGES = ("en", "zh-hans")
TRUE_WORDS = {"1", "true", "yes", "y", "是", "真"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "假"}


class HeaderError(ValueError):
    """The file's columns do not fit the list: refused before any row is read."""


def _cell(value):
    """A cell as the file holds it, as text: an XLSX number 1001.0 is the code "1001"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        return unsafe_cell(value).strip()
    return value


def _dataset(data):
    """A tablib Dataset of an uploaded file's bytes, read by kernel.spreadsheets; `sheet_rows` holds each
    row's number as the spreadsheet shows it (empty rows are dropped)."""
    headers, rows = read_rows(data)
    if not any(headers):
        raise DomainError("file_empty", _("The file has no column names in its first row."), status=400)
    seen = set()
    for header in headers:
        if header and header in seen:
            raise DomainError("column_twice", _("The column %(c)s appears twice.") % {"c": header[:100]}, status=400)
        seen.add(header)
    dataset, numbers, width = tablib.Dataset(headers=headers), [], len(headers)
    for number, row in enumerate(rows, start=2):
        values = [_cell(v) for v in tuple(row)[:width]]
        values += [""] * (width - len(values))
        if any(v != "" for v in values):
            dataset.append(values)
            numbers.append(number)
    dataset.sheet_rows = numbers
    return dataset


class CheckedFormat:
    """A format whose import goes through kernel.spreadsheets: bytes in (binary, so GB18030 CSV reads too)."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, str):
            in_stream = in_stream.encode("utf-8")
        return _dataset(in_stream)


class CSV(CheckedFormat, base_formats.CSV):
    pass


class XLSX(CheckedFormat, base_formats.XLSX):
    pass


IMPORT_FORMATS = [CSV, XLSX]


# --- widgets ---------------------------------------------------------------------------------------------------------


class CodeWidget(widgets.ForeignKeyWidget):
    """A foreign key by its code: an unknown code is refused with a message naming it, never created.

    `scope` (name, column label) pairs add a lookup on another column of the row: an outlet's code is unique
    per carrier, so ("carrier__code", _("carrier")) reads the carrier column too.
    """

    def __init__(self, model, field="code", *, scope=(), **kwargs):
        self.scope = scope
        super().__init__(model, field=field, **kwargs)

    def get_lookup_kwargs(self, value, row, **kwargs):
        lookup = {self.field: value}
        for name, label in self.scope:
            lookup[name] = _cell((row or {}).get(str(label)))
        return lookup

    def clean(self, value, row=None, **kwargs):
        value = _cell(value)
        if value in ("", None):
            return None
        try:
            return super().clean(str(value), row=row, **kwargs)
        except self.model.DoesNotExist:
            raise ValueError(
                _("unknown %(what)s %(code)s") % {"what": self.model._meta.verbose_name, "code": str(value)[:100]}
            ) from None


class BooleanWidget(widgets.Widget):
    """Yes or no, in either language or as 1 / 0; anything else is refused (the library's reads it as no)."""

    def clean(self, value, row=None, **kwargs):
        word = str(_cell(value)).lower()
        if word in TRUE_WORDS or word == str(_("yes")).lower():
            return True
        if word in FALSE_WORDS or word == str(_("no")).lower():
            return False
        raise ValueError(_("not yes or no: write 是 or 否 (yes or no, 1 or 0)"))

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return str(_("yes") if value else _("no"))


class ChoiceWidget(widgets.Widget):
    """One of a field's choices, exported as its label in the reader's language (people read these columns, no
    machine keys rows on them) and read back from its label in either language or its code."""

    def __init__(self, choices, **kwargs):
        self.choices = choices
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        text = str(_cell(value))
        if text == "":
            return ""
        for code, label in self.choices:
            if text == code or any(text == _in(language, label) for language in LANGUAGES):
                return code
        raise ValueError(
            _("unknown value %(v)s: use one of %(c)s") % {"v": text[:40], "c": ", ".join(c for c, _l in self.choices)}
        )

    def render(self, value, obj=None, **kwargs):
        return next((str(label) for code, label in self.choices if code == value), value or "")


class MoneyWidget(widgets.Widget):
    """Decimal yuan, 2 places at most (an XLSX number goes through its shortest text, never binary)."""

    def clean(self, value, row=None, **kwargs):
        if value in ("", None):
            return None
        amount = money.parse_amount(value)
        if amount is None:
            raise ValueError(_("not an amount of yuan with at most 2 decimals"))
        return amount

    def render(self, value, obj=None, **kwargs):
        return f"{value:.2f}" if isinstance(value, Decimal) else ""


def _in(language, label):
    with translation.override(language):
        return str(label)


# --- resources -------------------------------------------------------------------------------------------------------


class PortalResource(resources.ModelResource):
    """A list's import and export; subclasses name every field (`fields` is a whitelist: nothing else, no
    secret, is ever read or written) and their `import_id_fields`, and give `selector` (user) -> QuerySet
    so that the rows a user may update are the rows they may see."""

    selector = None
    # Fields full_clean must leave alone: a protected state field refuses even the value it holds.
    clean_exclude = ()

    class Meta:
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
        use_transactions = True

    def __init__(self, user=None, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.aliases = {}  # any name a column may have in a file -> its name now
        for name, field in self.fields.items():
            label = field.column_name
            field.column_name = str(label)
            for alias in {name, field.column_name, *(_in(language, label) for language in LANGUAGES)}:
                self.aliases[alias.strip().lower()] = field.column_name

    def get_queryset(self):
        if self.selector is not None and self.user is not None:
            return type(self).selector(self.user)
        return super().get_queryset()

    def column(self, attribute):
        field = next((f for f in self.fields.values() if f.attribute == attribute), None)
        return field.column_name if field else attribute

    def row_error(self, errors):
        """A ValidationError of {attribute or column: messages}, keyed by the file's column names."""
        keyed = {}
        for key, messages in errors.items():
            keyed.setdefault(self.column(key) if key != "__all__" else key, []).extend(
                messages if isinstance(messages, list) else [messages]
            )
        return ValidationError(keyed)

    # Import ------------------------------------------------------------------------------------------------------

    def import_data(self, dataset, **kwargs):
        """The library's import once the file's columns fit: a missing key column refuses the file at once
        (the library would go on and refuse every row)."""
        dataset.headers = [self.aliases.get(str(h).strip().lower(), h) for h in dataset.headers]
        missing = [
            self.fields[name].column_name
            for name in self.get_import_id_fields()
            if self.fields[name].column_name not in dataset.headers
        ]
        if missing:
            result = self.get_result_class()()
            result.append_base_error(
                self.get_error_result_class()(
                    HeaderError(_("Columns missing: %(c)s (rows are matched on them).") % {"c": ", ".join(missing)})
                )
            )
        else:
            result = super().import_data(dataset, **kwargs)
        result.sheet_rows = getattr(dataset, "sheet_rows", None)
        return result

    def _check_import_id_fields(self, headers):
        pass  # import_data says it, translated and once

    def get_instance(self, instance_loader, row):
        errors, lookup = {}, {}
        for name in self.get_import_id_fields():
            field = self.fields[name]
            try:
                lookup[field.attribute] = field.clean(row)
            except (ValueError, KeyError) as exc:
                errors[field.column_name] = [str(exc.args[0]) if exc.args else str(exc)]
        if errors:
            raise ValidationError(errors)
        return self.get_queryset().filter(**lookup).first()

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        for column, value in row.items():
            if isinstance(value, str) and (char := inputs.bad_character(value)) is not None:
                errors[column] = [_("a character that cannot be stored (U+%(c)04X)") % {"c": ord(char)}]
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(self.column(key), []).extend(messages)
        if errors:
            raise ValidationError(errors)

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        # import_instance keyed its errors by column; full_clean keys by field: key everything by column.
        columns = {f.column_name: f.attribute for f in self.fields.values()}
        errors = {columns.get(k, k): v for k, v in (import_validation_errors or {}).items()}
        try:
            instance.full_clean(exclude=[*errors, *self.clean_exclude], validate_unique=validate_unique)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise self.row_error(errors)

    # Export ------------------------------------------------------------------------------------------------------

    def export_field(self, field, instance, **kwargs):
        return safe_cell(super().export_field(field, instance, **kwargs))
