"""Carrier integrations: one adapter per service, chosen by configuration (Carrier.adapter).

base.py holds the interface; each service has its module beside it and is registered here.
"""

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from interception.carriers.base import (  # noqa: F401 - what the services use
    RESULTS,
    Answer,
    Capabilities,
    CarrierAdapter,
    CarrierMessage,
    CarrierRefused,
    CarrierUnavailable,
    CredentialField,
    Incoming,
    TrackingNotice,
)
from interception.carriers.kuaidi100 import Kuaidi100Adapter
from interception.carriers.sandbox import SandboxAdapter
from interception.carriers.sf import SfAdapter
from interception.carriers.standard import StandardAdapter, parse_standard, sign, verify  # noqa: F401

ADAPTERS = {adapter.code: adapter for adapter in (SandboxAdapter, StandardAdapter, Kuaidi100Adapter, SfAdapter)}


def adapter_class(name):
    return ADAPTERS.get(name)


def adapter_for(carrier):
    """The carrier's adapter; one that does not exist refuses (asking again would not make it exist)."""
    name = carrier.adapter or settings.CARRIER_ADAPTER
    adapter = ADAPTERS.get(name)
    if adapter is None:
        raise CarrierRefused(_("There is no carrier adapter named %(a)s.") % {"a": name}, code="adapter_unknown")
    return adapter()
