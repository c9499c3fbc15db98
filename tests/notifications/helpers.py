from notifications.models import Audience, Channel
from tests import factories


def channel(kind, url="", secret="", *, audience=Audience.CUSTOMER_SERVICE, outlet=None, recipients="", name=None):
    if audience == Audience.OUTLET and outlet is None:
        outlet = factories.OutletFactory()
    c = Channel(name=name or f"{kind} robot", kind=kind, audience=audience, outlet=outlet, recipients=recipients)
    c.set_credentials({"url": url, "secret": secret})
    c.save()
    return c
