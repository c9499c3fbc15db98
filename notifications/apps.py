from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """The outbox: messages to group robots and e-mail, and merchants' webhooks; imports only the kernel."""

    name = "notifications"
    verbose_name = _("Notifications")
