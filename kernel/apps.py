from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KernelConfig(AppConfig):
    """What every app shares (errors, the timeline, transitions, inputs, files, the admin's base); imports no app."""

    name = "kernel"
    verbose_name = _("Common")
