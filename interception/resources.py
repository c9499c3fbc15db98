"""The outlet staff's decision file: export pending applications and fee changes, import decisions.

A file is planned row by row first (the preview), and applied only when no
row has an error, through the set-based service the buttons and bulk actions use too, in one
transaction: a row that became invalid since the preview refuses the whole file.
"""

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from interception import rules, selectors, services
from interception.models import Contract, FeeAmendment
from kernel import inputs, uploads
from kernel.spreadsheets import FileErrors, FileRefused, read_table, unsafe_cell
from kernel.transitions import reason_problems

APPLICATION, FEE_CHANGE = services.APPLICATION, services.FEE_CHANGE
COLUMNS = [
    "kind",
    "id",
    "merchant",
    "merchant_name",
    "carrier",
    "outlet",
    "platform",
    "mode",
    "fee",
    "return_shipping",
    "applied_at",
    "decision",
    "reason",
]
REQUIRED = ["kind", "id", "merchant", "fee", "decision", "reason"]
# The file's column names as people read them; a file with either these or the codes above is read.
HEADERS = {
    "kind": _("kind"),
    "id": _("number"),
    "merchant": _("merchant code"),
    "merchant_name": _("merchant name"),
    "carrier": _("carrier"),
    "outlet": _("outlet code"),
    "platform": _("platform"),
    "mode": _("settlement mode"),
    "fee": _("fee (yuan)"),
    "return_shipping": _("return shipping"),
    "applied_at": _("applied at"),
    "decision": _("decision"),
    "reason": _("reason"),
}
HEADER_LANGUAGES = ("zh-hans", "en")


def headers():
    return [str(HEADERS[c]) for c in COLUMNS]


def header_aliases():
    """Each column's names in every language of the portal (a file exported in one is read in the other)."""
    aliases = {}
    for language in HEADER_LANGUAGES:
        with translation.override(language):
            for column, label in HEADERS.items():
                aliases.setdefault(column, []).append(str(label))
    return aliases


def column_for(header):
    """The code of a column from any of its names."""
    for column, names in header_aliases().items():
        if header == column or header in names:
            return column
    return header


PREVIEW_ROWS = 200  # the preview shows these and counts the rest
BATCH = 5000
UPLOAD_PURPOSE = "contract_decisions"
APPROVE, REJECT = services.APPROVE, services.REJECT
LEAVE, UNCHANGED = "leave", "unchanged"
DECISION_WORDS = {
    "approve": APPROVE,
    "approved": APPROVE,
    "通过": APPROVE,
    "同意": APPROVE,
    "reject": REJECT,
    "rejected": REJECT,
    "驳回": REJECT,
    "拒绝": REJECT,
    "": LEAVE,
}
ACTION_LABELS = {
    APPROVE: _("approve"),
    REJECT: _("reject"),
    LEAVE: _("leave pending"),
    UNCHANGED: _("already decided so: no change"),
}


def export_rows(user):
    """The user's pending applications and fee changes, oldest first, as file rows."""
    for c in selectors.contract_list(user).filter(state=Contract.State.PENDING).order_by("applied_at", "id"):
        yield [
            APPLICATION,
            c.pk,
            c.merchant.code,
            c.merchant.name,
            c.outlet.carrier.code,
            c.outlet.code,
            c.platform.code,
            c.settlement_mode,
            f"{c.fee:.2f}",
            str(c.return_shipping),
            _local(c.applied_at),
            "",
            "",
        ]
    for a in selectors.amendment_list(user).filter(state=FeeAmendment.State.PENDING).order_by("requested_at", "id"):
        c = a.contract
        yield [
            FEE_CHANGE,
            a.pk,
            c.merchant.code,
            c.merchant.name,
            c.outlet.carrier.code,
            c.outlet.code,
            c.platform.code,
            c.settlement_mode,
            f"{a.new_fee:.2f}",
            str(c.return_shipping),
            _local(a.requested_at),
            "",
            "",
        ]


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%d %H:%M")


@dataclass(slots=True)
class RowPlan:
    number: int
    kind: str = ""
    id: object = None
    action: str = LEAVE
    reason: str = ""
    label: str = ""

    @property
    def action_label(self):
        return ACTION_LABELS[self.action]


@dataclass
class Plan:
    """What a file will do, kept small whatever its size: per action a count, the changes to apply as tuples,
    the first PREVIEW_ROWS rows to show, and the first errors with their total."""

    rows: int = 0
    preview: list = field(default_factory=list)
    changes: list = field(default_factory=list)  # (row number, kind, id, action, reason)
    counts: dict = field(default_factory=dict)
    errors: FileErrors = field(default_factory=FileErrors)

    def count(self, action):
        return self.counts.get(action, 0)

    @property
    def more_rows(self):
        return self.rows - len(self.preview)


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(unsafe_cell(value)).strip()


def plan(user, table):
    """What each row of the file would do, or why it cannot; reads, never writes.

    Reads the file in batches of BATCH rows with two queries per kind each, so that neither the file nor the
    applications it names are ever in memory whole.
    """
    result, seen = Plan(), {APPLICATION: {}, FEE_CHANGE: {}}
    for batch in _batches(table, BATCH):
        found = _fetch(user, batch)
        for number, raw in batch:
            row, errors = _plan_row(number, raw, found, seen)
            result.rows += 1
            for column, message in errors:
                result.errors.add({"code": "row_invalid", "row": number, "column": column, "message": message})
            if not errors:
                result.counts[row.action] = result.counts.get(row.action, 0) + 1
                if row.action in (APPROVE, REJECT):
                    result.changes.append((number, row.kind, row.id, row.action, row.reason))
            if len(result.preview) < PREVIEW_ROWS:
                result.preview.append(row)
    _label(user, result.preview)
    return result


def _plan_row(number, raw, found, seen):
    """(RowPlan, [(column, message)]) of one row."""
    row, errors = RowPlan(number=number), []
    values = {k: _text(v) for k, v in raw.items()}
    if not any(values.values()):
        return row, errors
    row.kind = values["kind"]
    if row.kind not in (APPLICATION, FEE_CHANGE):
        return row, [("kind", _("unknown kind %(k)r: use application or fee_change") % {"k": row.kind[:40]})]
    if not inputs.is_id(values["id"]):  # int() would read "١٢" as 12
        return row, [("id", _("not a number"))]
    row.id = int(values["id"])
    if row.id in seen[row.kind]:
        return row, [
            ("id", _("the same %(k)s appears again in row %(r)s") % {"k": row.kind, "r": seen[row.kind][row.id]})
        ]
    seen[row.kind][row.id] = number
    what = _("application") if row.kind == APPLICATION else _("fee change")
    target = found[row.kind]["mine"].get(row.id)
    if target is None:
        if row.id in found[row.kind]["others"]:
            return row, [("id", _("%(what)s %(id)s is not one of your outlets'") % {"what": what, "id": row.id})]
        return row, [("id", _("unknown %(what)s id %(id)s") % {"what": what, "id": row.id})]
    state, expected_fee, merchant = target
    if values["merchant"] != merchant:
        errors.append(("merchant", _("changed: the application is for merchant %(m)s") % {"m": merchant}))
    try:
        if Decimal(values["fee"]) != expected_fee:
            errors.append(("fee", _("changed: the fee applied for is %(f)s") % {"f": expected_fee}))
    except InvalidOperation:
        errors.append(("fee", _("not an amount")))
    word = values["decision"].lower()
    if word not in DECISION_WORDS:
        errors.append(
            (
                "decision",
                _("unknown decision %(d)r: use approve, reject or leave it empty") % {"d": values["decision"][:40]},
            )
        )
        return row, errors
    decision = DECISION_WORDS[word]
    row.reason = values["reason"]
    if decision == LEAVE:
        return row, errors
    model = Contract if row.kind == APPLICATION else FeeAmendment
    effect = rules.decision_effect(model, state, decision)
    if effect == "unchanged":
        row.action = UNCHANGED
        return row, errors
    if effect is None:
        errors.append(("decision", _("not pending any more: it is %(s)s") % {"s": model.State(state).label}))
        return row, errors
    if decision == REJECT:
        for problem in reason_problems(row.reason, what=_("reject")):
            errors.append(("reason", problem.message))
    row.action = decision
    return row, errors


def _batches(table, size):
    """Lists of (row number, {column: value}) of `size` rows."""
    batch = []
    for number, values in table:
        batch.append((number, dict(zip(table.columns, values))))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _fetch(user, batch):
    """(state, fee applied for, merchant code) of every object the batch names, in two queries per kind."""
    ids = {APPLICATION: set(), FEE_CHANGE: set()}
    for _number, raw in batch:
        kind, pk = _text(raw["kind"]), _text(raw["id"])
        if kind in ids and inputs.is_id(pk):
            ids[kind].add(int(pk))
    found = {}
    for kind, scoped, model, fields in [
        (APPLICATION, selectors.contract_list(user), Contract, ("state", "fee", "merchant__code")),
        (FEE_CHANGE, selectors.amendment_list(user), FeeAmendment, ("state", "new_fee", "contract__merchant__code")),
    ]:
        mine = {}
        if ids[kind]:
            mine = {pk: tuple(values) for pk, *values in scoped.filter(pk__in=ids[kind]).values_list("pk", *fields)}
        missing = ids[kind] - set(mine)
        others = set(model.objects.filter(pk__in=missing).values_list("pk", flat=True)) if missing else set()
        found[kind] = {"mine": mine, "others": others}
    return found


def _label(user, rows):
    """The object each previewed row names, as its page calls it (only the user's own)."""
    for kind, queryset in [
        (APPLICATION, selectors.contract_list(user).select_related("merchant", "outlet")),
        (FEE_CHANGE, selectors.amendment_list(user)),
    ]:
        wanted = {r.id for r in rows if r.kind == kind and isinstance(r.id, int)}
        labels = {obj.pk: str(obj) for obj in queryset.filter(pk__in=wanted)} if wanted else {}
        for r in rows:
            if r.kind == kind:
                r.label = labels.get(r.id, "")


class ImportRefused(FileRefused):
    pass


def apply(user, table):
    """Apply every decision of the file or none: returns the plan with what was done."""
    with transaction.atomic():
        result = plan(user, table)
        if result.errors:
            raise ImportRefused(
                "import_invalid", _("The file has errors; nothing was applied."), errors=result.errors, status=400
            )
        decisions = [
            services.Decision(kind, pk, action, reason, key=number)
            for number, kind, pk, action, reason in result.changes
        ]
        try:
            services.decisions_apply(decisions=decisions, actor=user, all_or_nothing=True)
        except services.DecisionsRefused as refused:
            # Decided otherwise (or closed) since the plan read them: the file is refused as a whole.
            failures = FileErrors()
            for decision, error in refused.refusals:
                failures.add(
                    {"code": "row_invalid", "row": decision.key, "column": "decision", "message": error.message}
                )
            raise ImportRefused(
                "import_invalid", _("The file has errors; nothing was applied."), errors=failures, status=409
            ) from None
    return result


def preview(user, uploaded):
    """The plan of an uploaded file; when it can be applied the file is kept for the confirmation, named by the
    returned token (None otherwise)."""
    result = plan(user, read_table(uploaded, required_columns=REQUIRED, aliases=header_aliases()))
    token = None
    if not result.errors and result.changes:
        token = uploads.stage(user=user, purpose=UPLOAD_PURPOSE, uploaded=uploaded)
    return result, token


def confirm(user, token):
    """Apply the file previewed under `token`: it is read and checked again, and applied, in one transaction,
    which also deletes it. Returns (plan, file name)."""
    with transaction.atomic():
        staged = uploads.take(user=user, purpose=UPLOAD_PURPOSE, token=token)
        with staged:  # a temporary file
            return apply(user, read_table(staged, required_columns=REQUIRED, aliases=header_aliases())), staged.name
