"""Who may take a transition: one function shared by django-fsm `permission=` and the services.

`actor` is a user, an API client's user, or None for the system (automation,
migrations of state by deadlines), which may do everything.
"""

# What an API client may do, by kind of owner; staff users have Django permissions instead.
CLIENT_PERMISSIONS = {
    "merchant": {
        "interception.apply_contract",
        "interception.sign_agreement",
        "interception.add_aftersale",
        "interception.add_parcel",
        "interception.start_interception",
        "claims.add_claim",
        "settlement.export_statement",
    },
    "carrier": {"interception.record_result", "settlement.export_statement"},
}


def actor_may(actor, perm):
    if actor is None:
        return True
    if not getattr(actor, "is_active", False):
        return False
    # A missing reverse one-to-one raises an AttributeError subclass, so getattr's default covers it.
    client = getattr(actor, "api_client", None)
    if client is not None:
        kind = "merchant" if client.merchant_id else "carrier"
        return perm in CLIENT_PERMISSIONS[kind]
    return actor.has_perm(perm)


def requires(perm):
    """A django-fsm `permission=` callable."""

    def check(instance, user):
        return actor_may(user, perm)

    check.perm = perm
    return check
