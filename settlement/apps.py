from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementConfig(AppConfig):
    name = "settlement"
    verbose_name = _("Settlement")

    def ready(self):
        from interception.signals import result_recorded

        result_recorded.connect(_record_online_fee, dispatch_uid="settlement.online_fee")


def _record_online_fee(sender, order, result, **kwargs):
    from settlement.services import online_fee_record

    online_fee_record(order=order)
