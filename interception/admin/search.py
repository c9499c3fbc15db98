"""The search box's ways into rows that name a parcel or a merchant, for every app's lists (kernel.SearchMixin)."""

from django.db.models import Q

from interception.models import Merchant, Parcel
from kernel.search import Ids, tracking_number_q

# A term that matches more merchants or parcels than this is too vague to be worth a longer list.
MATCHES = 500


def merchants_matching(term):
    """Merchants by code (exact, any case) or by a part of their name: a small table, then the big one's index."""
    return Merchant.objects.filter(Q(code__iexact=term) | Q(name__contains=term)).values("pk")[:MATCHES]


def by_merchant(field="merchant"):
    return lambda request, term: Ids(field, merchants_matching(term))


def by_order_number(parcel="parcel"):
    """The order number (订单号), exact, on the parcels' order-number index."""
    if parcel is None:
        return lambda request, term: Q(order_number=term)
    return lambda request, term: Ids(parcel, Parcel.objects.filter(order_number=term).values("pk")[:MATCHES])


def by_parcel_tracking_number(parcel="parcel"):
    def way(request, term):
        parcels = Parcel.objects.filter(tracking_number_q(term.rstrip("*") + "*")).values("pk")[:MATCHES]
        return Ids(parcel, parcels)

    return way
