from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterceptionConfig(AppConfig):
    name = "interception"
    verbose_name = _("Interception")

    def ready(self):
        from interception import notify, signals

        # Results reach customer service and merchants' webhooks from the recording transaction.
        signals.result_recorded.connect(notify.on_result, dispatch_uid="interception.notify.result")
