"""The outlet staff's decision file: export pending applications and fee changes, import decisions.

A file is planned row by row first (the preview), and applied only when no
row has an error, through the same services as the buttons, in one
transaction: a row that became invalid since the preview undoes the whole file.
"""
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from interception import rules, selectors, services
from interception.models import Contract, FeeAmendment
from portal.errors import DomainError
from portal.spreadsheets import unsafe_cell

APPLICATION, FEE_CHANGE = "application", "fee_change"
COLUMNS = ["kind", "id", "merchant", "merchant_name", "carrier", "outlet", "platform", "mode", "fee",
           "applied_at", "decision", "reason"]
REQUIRED = ["kind", "id", "merchant", "fee", "decision", "reason"]
APPROVE, REJECT, LEAVE, UNCHANGED = "approve", "reject", "leave", "unchanged"
DECISION_WORDS = {"approve": APPROVE, "approved": APPROVE, "通过": APPROVE, "同意": APPROVE,
                  "reject": REJECT, "rejected": REJECT, "驳回": REJECT, "拒绝": REJECT, "": LEAVE}
ACTION_LABELS = {APPROVE: _("approve"), REJECT: _("reject"), LEAVE: _("leave pending"),
                 UNCHANGED: _("already decided so: no change")}


def export_rows(user):
    """The user's pending applications and fee changes, oldest first, as file rows."""
    for c in selectors.contract_list(user).filter(state=Contract.State.PENDING).order_by("applied_at", "id"):
        yield [APPLICATION, c.pk, c.merchant.code, c.merchant.name, c.outlet.carrier.code, c.outlet.code,
               c.platform.code, c.settlement_mode, f"{c.fee:.2f}", _local(c.applied_at), "", ""]
    for a in selectors.amendment_list(user).filter(state=FeeAmendment.State.PENDING).order_by("requested_at", "id"):
        c = a.contract
        yield [FEE_CHANGE, a.pk, c.merchant.code, c.merchant.name, c.outlet.carrier.code, c.outlet.code,
               c.platform.code, c.settlement_mode, f"{a.new_fee:.2f}", _local(a.requested_at), "", ""]


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


@dataclass
class RowPlan:
    number: int
    kind: str = ""
    id: object = None
    obj: object = None
    action: str = LEAVE
    reason: str = ""
    errors: list = field(default_factory=list)  # (column, message)

    @property
    def action_label(self):
        return ACTION_LABELS[self.action]


@dataclass
class Plan:
    rows: list

    @property
    def errors(self):
        return [(r.number, column, message) for r in self.rows for column, message in r.errors]

    def count(self, action):
        return sum(1 for r in self.rows if r.action == action and not r.errors)


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(unsafe_cell(value)).strip()


def plan(user, dataset):
    """What each row of the file would do, or why it cannot; reads, never writes."""
    rows, seen = [], {}
    records = dataset.dict
    found = _fetch(user, records)
    for index, raw in enumerate(records, start=2):  # row 1 is the header
        row = RowPlan(number=index)
        rows.append(row)
        values = {k: _text(v) for k, v in raw.items()}
        if not any(values.values()):
            row.action = LEAVE
            continue
        row.kind = values.get("kind", "")
        if row.kind not in (APPLICATION, FEE_CHANGE):
            row.errors.append(("kind", _("unknown kind %(k)r: use application or fee_change") % {"k": row.kind}))
            continue
        try:
            row.id = int(values.get("id", ""))
        except ValueError:
            row.errors.append(("id", _("not a number")))
            continue
        if (row.kind, row.id) in seen:
            row.errors.append(("id", _("the same %(k)s appears again in row %(r)s") % {"k": row.kind, "r": seen[(row.kind, row.id)]}))
            continue
        seen[(row.kind, row.id)] = index
        what = _("application") if row.kind == APPLICATION else _("fee change")
        row.obj = found[row.kind]["mine"].get(row.id)
        if row.obj is None:
            if row.id in found[row.kind]["others"]:
                row.errors.append(("id", _("%(what)s %(id)s is not one of your outlets'") % {"what": what, "id": row.id}))
            else:
                row.errors.append(("id", _("unknown %(what)s id %(id)s") % {"what": what, "id": row.id}))
            continue
        contract = row.obj if row.kind == APPLICATION else row.obj.contract
        expected_fee = row.obj.fee if row.kind == APPLICATION else row.obj.new_fee
        if values.get("merchant", "") != contract.merchant.code:
            row.errors.append(("merchant", _("changed: the application is for merchant %(m)s")
                               % {"m": contract.merchant.code}))
        try:
            if Decimal(values.get("fee", "")) != expected_fee:
                row.errors.append(("fee", _("changed: the fee applied for is %(f)s") % {"f": expected_fee}))
        except InvalidOperation:
            row.errors.append(("fee", _("not an amount")))
        word = values.get("decision", "").lower()
        if word not in DECISION_WORDS:
            row.errors.append(("decision", _("unknown decision %(d)r: use approve, reject or leave it empty")
                               % {"d": values.get("decision")}))
            continue
        decision = DECISION_WORDS[word]
        row.reason = values.get("reason", "")
        if decision == LEAVE:
            row.action = LEAVE
            continue
        done_state = {APPROVE: ("active", "closed", "approved"), REJECT: ("rejected",)}[decision]
        if row.obj.state != "pending":
            if row.obj.state in done_state:
                row.action = UNCHANGED
            else:
                row.errors.append(("decision", _("not pending any more: it is %(s)s")
                                   % {"s": row.obj.get_state_display()}))
            continue
        if decision == REJECT:
            for problem in rules.reason_problems(row.reason, what=_("reject")):
                row.errors.append(("reason", problem.message))
        row.action = decision
    return Plan(rows)


def _fetch(user, records):
    """Every object the file names, in two queries per kind instead of one per row."""
    ids = {APPLICATION: set(), FEE_CHANGE: set()}
    for raw in records:
        kind, pk = _text(raw.get("kind")), _text(raw.get("id"))
        if kind in ids and pk.isdigit():
            ids[kind].add(int(pk))
    found = {}
    for kind, scoped, model in [(APPLICATION, selectors.contract_list(user), Contract),
                                (FEE_CHANGE, selectors.amendment_list(user), FeeAmendment)]:
        mine = scoped.in_bulk(ids[kind]) if ids[kind] else {}
        missing = ids[kind] - set(mine)
        others = set(model.objects.filter(pk__in=missing).values_list("pk", flat=True)) if missing else set()
        found[kind] = {"mine": mine, "others": others}
    return found


SERVICES = {
    (APPLICATION, APPROVE): lambda row, actor: services.contract_approve(contract_id=row.id, actor=actor,
                                                                         reason=row.reason),
    (APPLICATION, REJECT): lambda row, actor: services.contract_reject(contract_id=row.id, actor=actor,
                                                                       reason=row.reason),
    (FEE_CHANGE, APPROVE): lambda row, actor: services.amendment_approve(amendment_id=row.id, actor=actor,
                                                                         reason=row.reason),
    (FEE_CHANGE, REJECT): lambda row, actor: services.amendment_reject(amendment_id=row.id, actor=actor,
                                                                       reason=row.reason),
}


class ImportRefused(DomainError):
    pass


def apply(user, dataset):
    """Apply every decision of the file or none: returns the plan with what was done."""
    with transaction.atomic():
        result = plan(user, dataset)
        if result.errors:
            raise ImportRefused("import_invalid", _("The file has errors; nothing was applied."),
                                errors=_error_dicts(result.errors), status=400)
        failures = []
        for row in result.rows:
            if row.action in (APPROVE, REJECT):
                try:
                    with transaction.atomic():
                        SERVICES[(row.kind, row.action)](row, user)
                except DomainError as exc:
                    failures.append((row.number, "decision", exc.message))
        if failures:
            raise ImportRefused("import_invalid", _("The file has errors; nothing was applied."),
                                errors=_error_dicts(failures), status=409)
    return result


def _error_dicts(errors):
    return [{"code": "row_invalid", "row": number, "column": column, "message": message}
            for number, column, message in errors]
