"""The four staff roles as code: groups and their permissions, synced after every migrate."""

from django.apps import apps as global_apps
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.management import create_contenttypes
from django.db import transaction
from django.utils.translation import gettext_lazy as _

CUSTOMER_SERVICE = "Customer service"
OUTLET_STAFF = "Outlet staff"
FINANCE = "Finance"
SUPERVISOR = "Supervisor"

ROLE_LABELS = {
    CUSTOMER_SERVICE: _("Customer service"),
    OUTLET_STAFF: _("Outlet staff"),
    FINANCE: _("Finance"),
    SUPERVISOR: _("Supervisor"),
}

NETWORK_VIEW = [
    "interception.view_platform",
    "interception.view_carrier",
    "interception.view_platformcarrier",
    "interception.view_outlet",
    "interception.view_merchant",
    "interception.view_ewaybillaccount",
]
CONTRACT_VIEW = [
    "interception.view_contract",
    "interception.view_contractfee",
    "interception.view_feeamendment",
    "interception.view_interceptionagreement",
]

PARCEL_VIEW = [
    "interception.view_parcel",
    "interception.view_goodsline",
    "interception.view_trackingevent",
]
INTERCEPTION_VIEW = PARCEL_VIEW + [
    "interception.view_aftersale",
    "interception.view_interceptionorder",
    "interception.export_interceptions",
]

# Every permission a role holds, by "app_label.codename". Supervisor holds every permission of our apps.
# Outlet staff alone lack "view_all_outlets": they see only their outlets (interception/selectors.py).
ROLE_PERMISSIONS = {
    CUSTOMER_SERVICE: NETWORK_VIEW
    + CONTRACT_VIEW
    + [
        "interception.view_all_outlets",
        "interception.view_outletmembership",
        "interception.apply_contract",
        "interception.close_contract",
        "interception.amend_contract_fee",
        "interception.sign_agreement",
        *INTERCEPTION_VIEW,
        "interception.view_carrierevent",
        "interception.view_carriercall",
        "interception.add_parcel",
        "interception.add_aftersale",
        "interception.start_interception",
        "interception.record_result",
        "interception.handle_aftersale",
    ],
    OUTLET_STAFF: [
        "interception.view_outlet",
        "interception.view_merchant",
        "interception.view_ewaybillaccount",
        "interception.view_outletmembership",
        "interception.view_contract",
        "interception.view_contractfee",
        "interception.view_feeamendment",
        "interception.decide_contract",
        # The outlet's own parcels and interceptions, to reconcile (R20); never the after-sales.
        *PARCEL_VIEW,
        "interception.view_interceptionorder",
        "interception.export_interceptions",
    ],
    FINANCE: NETWORK_VIEW + CONTRACT_VIEW + INTERCEPTION_VIEW + ["interception.view_all_outlets"],
    SUPERVISOR: [],
}
# API clients and their tokens (interception.view_apiclient, view_apitoken, manage_api_tokens) are the
# supervisor's alone: no other role may see a client's tokens or issue, rotate or revoke one.
SUPERVISOR_APPS = ["kernel", "notifications", "interception", "settlement", "claims"]
SUPERVISOR_EXTRA = [
    "auth.view_user",
    "auth.add_user",
    "auth.change_user",
    "auth.view_group",
    # Login lockouts: see them, and unlock by deleting the attempt.
    "axes.view_accessattempt",
    "axes.delete_accessattempt",
    "axes.view_accessfailurelog",
    "axes.view_accesslog",
]


# Settlement (R19-R22) and claims (R23-R26): the project names every app's permissions here, at the top.
CLAIM_VIEW = ["claims.view_claim", "claims.view_claimgoodsline", "claims.view_evidence"]
ROLE_PERMISSIONS[CUSTOMER_SERVICE] += [
    *CLAIM_VIEW,
    "claims.add_claim",
    "claims.negotiate_claim",
    "claims.escalate_claim",
    "claims.withdraw_claim",
]
ROLE_PERMISSIONS[OUTLET_STAFF] += [
    "settlement.view_statement",
    "settlement.view_statementline",
    "settlement.answer_statement",
    "settlement.export_statement",
    "settlement.reconcile_statement",
    "settlement.view_reconciliation",
    "settlement.view_difference",
    *CLAIM_VIEW,
    "claims.negotiate_claim",
]
ROLE_PERMISSIONS[FINANCE] += [
    "settlement.view_statement",
    "settlement.view_statementline",
    "settlement.generate_statement",
    "settlement.issue_statement",
    "settlement.settle_statement",
    "settlement.export_statement",
    "settlement.reconcile_statement",
    "settlement.view_reconciliation",
    "settlement.view_difference",
    "settlement.view_onlinefee",
    "settlement.view_billformat",
    *CLAIM_VIEW,
    "claims.pay_claim",
]

# Notification channels: outlet staff manage their own outlets' (scoped in the admin); the team channels,
# merchants' webhooks and the delivery log are the supervisor's.
ROLE_PERMISSIONS[OUTLET_STAFF] += [
    "notifications.view_channel",
    "notifications.add_channel",
    "notifications.change_channel",
    "notifications.delete_channel",
    "notifications.view_notification",
]


def permissions_for(role):
    if role == SUPERVISOR:
        names = list(SUPERVISOR_EXTRA)
        qs = Permission.objects.filter(content_type__app_label__in=SUPERVISOR_APPS)
        found = list(qs)
        extra = _lookup(names)
        return found + extra
    return _lookup(ROLE_PERMISSIONS[role])


def _lookup(names):
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = [
        p for p in Permission.objects.select_related("content_type") if (p.content_type.app_label, p.codename) in wanted
    ]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        raise LookupError(f"roles name unknown permissions: {sorted('.'.join(m) for m in missing)}")
    return found


@transaction.atomic
def sync_roles():
    """Create or update the groups; idempotent."""
    for role in ROLE_PERMISSIONS:
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions_for(role))


def sync_after_migrate(sender, using="default", plan=None, **kwargs):
    # post_migrate fires once per app; do the work once, after making sure every
    # app's content types and permissions exist (they are created app by app).
    if sender.label != "portal":
        return
    for app_config in global_apps.get_app_configs():
        create_contenttypes(app_config, verbosity=0, using=using)
        create_permissions(app_config, verbosity=0, using=using)
    sync_roles()


# Django stores permission names once, in English ("Can view after-sale"); people read them in their language.
_DEFAULT_ACTIONS = {
    "add": _("Can add %(m)s"),
    "change": _("Can change %(m)s"),
    "delete": _("Can delete %(m)s"),
    "view": _("Can view %(m)s"),
}


def role_label(name):
    return ROLE_LABELS.get(name, name)


def permission_label(permission):
    """A permission as people read it: the model's name and what it allows, translated."""
    from django.utils.translation import gettext

    model = permission.content_type.model_class()
    verbose = model._meta.verbose_name if model is not None else permission.content_type.model
    action, _sep, rest = permission.codename.partition("_")
    if action in _DEFAULT_ACTIONS and model is not None and rest == model._meta.model_name:
        text = _DEFAULT_ACTIONS[action] % {"m": verbose}
    else:
        text = gettext(permission.name)
    return f"{verbose} | {text}"


class PermissionsBackend(ModelBackend):
    """Django's ModelBackend, reading a user's own and their groups' permissions in one query instead of two:
    every admin page and API request asks for them once (staff get theirs through the role groups)."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            names = ("content_type__app_label", "codename")
            if user_obj.is_superuser:
                rows = Permission.objects.values_list(*names)
            else:
                own = Permission.objects.filter(user=user_obj).values_list(*names).order_by()
                rows = own.union(Permission.objects.filter(group__user=user_obj).values_list(*names).order_by())
            user_obj._perm_cache = {f"{app}.{codename}" for app, codename in rows}
        return user_obj._perm_cache
