from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = _("Claims")

    def ready(self):
        from portal import roles

        view = ["claims.view_claim", "claims.view_claimgoodsline", "claims.view_evidence"]
        roles.extend(roles.CUSTOMER_SERVICE, view + [
            "claims.add_claim", "claims.negotiate_claim", "claims.escalate_claim", "claims.withdraw_claim"])
        roles.extend(roles.OUTLET_STAFF, view + ["claims.negotiate_claim"])
        roles.extend(roles.FINANCE, view + ["claims.pay_claim"])
