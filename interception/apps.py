from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InterceptionConfig(AppConfig):
    name = "interception"
    verbose_name = _("Interception")

    def ready(self):
        from django_fsm.signals import post_transition

        from interception import notify, signals
        from interception.models import AfterSale

        # Results reach customer service and merchants' webhooks from the recording transaction.
        signals.result_recorded.connect(notify.on_result, dispatch_uid="interception.notify.result")
        post_transition.connect(notify.on_aftersale_transition, sender=AfterSale, dispatch_uid="interception.notify.as")
