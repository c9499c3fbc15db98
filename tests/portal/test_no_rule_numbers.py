"""Issue 19: no rule numbers (R14, R15, R21) in anything a person reads, stored timeline reasons included.

The numbers stay in the code's comments; people read what happened in words."""

import importlib
import re
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.utils import timezone, translation

from interception import services
from kernel import timeline
from kernel.models import TimelineEntry
from settlement import services as settlement_services
from settlement.models import Difference, Reconciliation
from tests import factories

RULE_NUMBER = re.compile(r"\bR\d{1,2}\b")
CATALOGUE = Path(__file__).resolve().parents[2] / "locale/zh_Hans/LC_MESSAGES/django.po"


def test_no_message_of_the_catalogue_names_a_rule_number():
    named = [e.msgid for e in polib.pofile(str(CATALOGUE)) if RULE_NUMBER.search(e.msgid + e.msgstr)]
    assert named == []


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_r14_the_automatic_refund_on_the_timeline_reads_without_its_rule_number(language):
    order = factories.started()
    services.interception_record_result(order_id=order.pk, actor=None, result="succeeded", source="callback")
    with translation.override(language):
        html = timeline.render(order.after_sale)
    assert not RULE_NUMBER.search(html)
    assert ("refunded automatically" if language == "en" else "拦截成功：自动退款") in html


@pytest.mark.django_db
def test_r14_r15_reasons_stored_with_their_rule_numbers_are_rewritten_and_read_in_chinese():
    after_sale = factories.after_sale_for(factories.parcel_for(factories.active_contract()))
    for reason in (
        "interception succeeded: refunded automatically (R14)",
        "handling window ended without a decision: refunded automatically (R15)",
    ):
        timeline.record(after_sale, actor=None, transition="refund", reason=reason)
    people = timeline.record(after_sale, actor=None, transition="refuse", reason="买家说 (R14) 不对")
    migration = importlib.import_module("interception.migrations.0019_reasons_without_rule_numbers")

    migration.rewrite(apps, None)

    reasons = list(TimelineEntry.objects.filter(transition="refund").values_list("reason", flat=True))
    assert sorted(reasons) == [
        "handling window ended without a decision: refunded automatically",
        "interception succeeded: refunded automatically",
    ]
    assert TimelineEntry.objects.get(pk=people.pk).reason == "买家说 (R14) 不对", "a person's words stay as typed"
    with translation.override("zh-hans"):
        html = timeline.render(after_sale)
    assert "处理时限截止仍未处理：自动退款" in html and "拦截成功：自动退款" in html


@pytest.mark.django_db
def test_r21_a_stored_not_chargeable_difference_is_rewritten_without_its_rule_number():
    contract = factories.active_contract()
    factories.intercepted(contract)  # a statement needs a chargeable line
    failed = factories.intercepted(contract, result="failed")
    today = timezone.localdate()
    statement = settlement_services.statement_generate(
        actor=None, merchant=failed.merchant, outlet=failed.outlet, period_start=today, period_end=today
    ).statement
    reconciliation = Reconciliation.objects.create(statement=statement, file_name="bill.csv")
    old = Difference.objects.create(
        reconciliation=reconciliation,
        kind=Difference.Kind.NOT_CHARGEABLE,
        tracking_number=failed.tracking_number,
        detail=f"interception #{failed.pk} is failed: not chargeable under the contract (R21)",
    )
    migration = importlib.import_module("settlement.migrations.0003_details_without_rule_numbers")

    migration.rewrite(apps, None)

    old.refresh_from_db()
    assert old.detail == f"interception #{failed.pk} is failed: not chargeable under the contract"
