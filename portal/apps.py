from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        from portal import roles

        post_migrate.connect(roles.sync_after_migrate, dispatch_uid="portal.roles.sync")
