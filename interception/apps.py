from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterceptionConfig(AppConfig):
    name = "interception"
    verbose_name = _("Interception")
