"""Money reads ¥1,234.50 where the admin shows a field's own value: read-only fields and list cells (issue 19)."""

import pytest

from portal import roles
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_interception_page_shows_its_fee_and_the_after_sale_its_amount_in_yuan(client):
    order = factories.started(fee="1234.50")
    client.force_login(factories.user("cs", roles.CUSTOMER_SERVICE))
    page = client.get(f"/admin/interception/interceptionorder/{order.pk}/change/").content.decode()
    assert "¥1,234.50" in page and ">1234.50<" not in page
    page = client.get(f"/admin/interception/aftersale/{order.after_sale_id}/change/").content.decode()
    assert "¥99.00" in page  # the refund amount


def test_money_columns_named_by_their_field_read_yuan_in_lists(client):
    client.force_login(factories.user("boss", roles.SUPERVISOR))
    page = client.get("/admin/interception/platform/").content.decode()
    assert "¥3.00" in page and "¥500.00" in page  # the online fee and Kuaishou's refund cap (R10, R19)
