from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SettlementConfig(AppConfig):
    name = "settlement"
    verbose_name = _("Settlement")

    def ready(self):
        from interception.signals import result_recorded
        from portal import roles

        result_recorded.connect(_record_online_fee, dispatch_uid="settlement.online_fee")
        roles.extend(roles.FINANCE, [
            "settlement.view_statement", "settlement.view_statementline", "settlement.generate_statement",
            "settlement.issue_statement", "settlement.settle_statement", "settlement.export_statement",
            "settlement.reconcile_statement", "settlement.view_reconciliation", "settlement.view_difference",
            "settlement.view_onlinefee", "settlement.view_billformat",
        ])
        roles.extend(roles.OUTLET_STAFF, [
            "settlement.view_statement", "settlement.view_statementline", "settlement.answer_statement",
            "settlement.export_statement", "settlement.reconcile_statement", "settlement.view_reconciliation",
            "settlement.view_difference",
        ])


def _record_online_fee(sender, order, result, **kwargs):
    from settlement.services import online_fee_record

    online_fee_record(order=order)
