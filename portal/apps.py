# The other apps' configs are reached through their modules: a config class imported by name would count as
# a candidate for this module's default config.
from axes import apps as axes_apps
from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    default = True
    name = "portal"
    verbose_name = _("Portal")

    def ready(self):
        from portal import roles

        post_migrate.connect(roles.sync_after_migrate, dispatch_uid="portal.roles.sync")
        _show_money_as_yuan()


def _show_money_as_yuan():
    """Money fields read ¥1,234.50 wherever the admin shows a field's value itself (read-only fields of change
    pages, list cells): the two modules that call display_for_field get the money-aware one."""
    from django.contrib.admin import helpers
    from django.contrib.admin.templatetags import admin_list

    from kernel.money import admin_display

    for module in (helpers, admin_list):
        if not getattr(module.display_for_field, "shows_money", False):
            module.display_for_field = admin_display(module.display_for_field)
            module.display_for_field.shows_money = True


class PortalAdminConfig(admin_apps.AdminConfig):
    default = False  # named in INSTALLED_APPS in place of django.contrib.admin; PortalConfig stays this app's
    default_site = "portal.admin_site.PortalAdminSite"


class PortalAxesConfig(axes_apps.AppConfig):
    """django-axes under a name the supervisor understands, in the portal's language."""

    default = False
    verbose_name = _("Login lockouts")
