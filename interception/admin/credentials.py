"""Credential fields in admin forms: what an adapter declares, entered once, sealed, never shown again.

A secret's field is always empty on the page ("set on <date>" says it is there); leaving it empty keeps it.
An identifier (a customer number) is not secret and shows its value. The adapters' declarations
(carriers.CredentialField) decide the fields; the adapter itself says what is missing (config_problems).
"""

from django import forms
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from interception import carriers


def field_name(adapter, credential):
    return f"cred__{adapter.code}__{credential.name}"


def add_fields(form, adapters, declared, instance):
    """Add each adapter's credential fields (`declared(adapter)`) to `form`; returns {adapter code: names}."""
    have = instance.credentials if instance is not None and instance.pk else {}
    set_at = getattr(instance, "credentials_set_at", None)
    groups = {}
    for adapter in adapters:
        names = []
        for credential in declared(adapter):
            name = field_name(adapter, credential)
            is_set = bool(have.get(credential.name))
            help_text = credential.help_text
            if credential.secret:
                widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
                if is_set:
                    when = formats.date_format(timezone.localtime(set_at), "SHORT_DATETIME_FORMAT") if set_at else ""
                    help_text = format_html(
                        "{} {}", _("Set on %(d)s; leave empty to keep it.") % {"d": when}, help_text
                    )
                initial = None
            else:
                widget, initial = forms.TextInput(), have.get(credential.name, "")
            form.fields[name] = forms.CharField(
                label=f"{adapter.label} · {credential.label}",
                required=False,
                max_length=500,
                strip=True,
                widget=widget,
                initial=initial,
                help_text=help_text,
            )
            names.append(name)
        groups[adapter.code] = names
    return groups


def entered(form, adapter, declared):
    """The credentials typed for `adapter` (secrets left empty are not there: they keep their value)."""
    values = {}
    for credential in declared(adapter):
        value = form.cleaned_data.get(field_name(adapter, credential), "")
        if value or not credential.secret:
            values[credential.name] = value
    return values


def check(form, instance, adapter, declared, problems_of):
    """Refuse the form when the adapter, given what is set and what was typed, says a credential is missing."""
    # What the object will be once saved: the form's values (not yet on the instance) and the credentials.
    values = {f: form.cleaned_data[f] for f in form._meta.fields if f in form.cleaned_data}
    probe = type(instance)(sealed_credentials=instance.sealed_credentials, **values)
    probe.set_credentials(entered(form, adapter, declared))
    names = {c.name: field_name(adapter, c) for c in declared(adapter)}
    for problem in problems_of(adapter, probe):
        name = names.get(problem.field, problem.field)
        form.add_error(name if name in form.fields else None, problem.message)


def status(instance, adapter, declared):
    """What the page shows of the credentials: which are set, and when; never their values."""
    have = instance.credentials if instance and instance.pk else {}
    rows = [
        (c.label, _("set") if have.get(c.name) else _("not set"))
        for c in declared(adapter)
        if c.secret  # identifiers show their value in their own field
    ]
    if not rows:
        return _("This adapter needs no secret.")
    when = (
        formats.date_format(timezone.localtime(instance.credentials_set_at), "SHORT_DATETIME_FORMAT")
        if instance.credentials_set_at
        else "—"
    )
    return format_html(
        "{}<br>{}",
        format_html_join(", ", "{}: {}", rows),
        _("last changed %(d)s") % {"d": when},
    )


def adapter_classes():
    return list(carriers.ADAPTERS.values())
