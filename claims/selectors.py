"""Claims as each user may see them: outlet staff their outlets', a merchant's client its own."""

from claims.models import Claim, Evidence
from interception.selectors import scope_filter


def claim_list(user):
    qs = Claim.objects.select_related("merchant", "outlet", "carrier", "platform", "interception")
    if user is None:
        return qs
    return qs.filter(scope_filter(user, outlet="outlet", merchant="merchant", carrier="carrier"))


def evidence_list(user):
    qs = Evidence.objects.select_related("claim")
    if user is None:
        return qs
    return qs.filter(scope_filter(user, outlet="claim__outlet", merchant="claim__merchant", carrier="claim__carrier"))
