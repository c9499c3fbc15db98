from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = _("Claims")

    def ready(self):
        from django_fsm.signals import post_transition

        from claims import notify
        from claims.models import Claim
        from interception import signals

        post_transition.connect(notify.on_transition, sender=Claim, dispatch_uid="claims.notify.transition")
        signals.deadlines_due.connect(notify.arbitration_windows_open, dispatch_uid="claims.notify.arbitration")
