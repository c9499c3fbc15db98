"""The interface every carrier adapter offers, and the words the portal and its adapters share.

An adapter speaks one service's protocol (kuaidi100, SF, the sandbox, our own format): it submits an
interception, queries its result, subscribes a parcel's tracking and reads the service's callbacks, answering
in the service's own format. Nothing outside interception/carriers/ knows a wire format; every result an
adapter reads is applied by the same services, whoever brings it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from interception.models import CarrierEvent, CarrierResult, EwaybillAccount, InterceptionMode
from kernel.errors import Problem


class CarrierUnavailable(Exception):
    """The service could not take the request now (busy, rate-limited, unreachable): it is asked again later."""


class CarrierRefused(Exception):
    """The service refused the request for a reason asking again will not change (bad signature or parameter,
    a parcel it cannot intercept, an adapter that does not exist): the attempt ends with its message."""

    def __init__(self, message, *, code=""):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class CarrierMessage:
    """A carrier's event in our terms."""

    event_id: str
    kind: str  # a CarrierEvent.Kind
    tracking_number: str
    occurred_at: datetime
    status: str = ""  # tracking: a LogisticsStatus
    text: str = ""  # the carrier's raw text
    place: str = ""  # tracking: where the scan happened, when the service says
    result: str = ""  # a CarrierResult: interception_result succeeded | failed; return_result returned | lost | damaged
    reason_code: str = ""
    reason_text: str = ""


@dataclass(frozen=True)
class TrackingNotice:
    """What a tracking service says about a parcel's subscription along with a push (kuaidi100's `status`).

    `subscription` is the Subscription the parcel goes to ("" leaves it), `resubscribe_after` when it is to be
    subscribed again (an aborted one); `trail`, when the push holds the parcel's whole trail again (updateall),
    is its entries as (occurred_at, text): events of the parcel not among them are dropped.
    """

    tracking_number: str
    subscription: str = ""
    resubscribe_after: timedelta | None = None
    message: str = ""
    trail: tuple | None = None


# Which results each kind of event may carry.
RESULTS = {
    CarrierEvent.Kind.TRACKING: set(),
    CarrierEvent.Kind.INTERCEPTION_RESULT: {CarrierResult.SUCCEEDED, CarrierResult.FAILED},
    CarrierEvent.Kind.RETURN_RESULT: {CarrierResult.RETURNED, CarrierResult.LOST, CarrierResult.DAMAGED},
}


@dataclass(frozen=True)
class CredentialField:
    """One credential an adapter needs, entered in the admin and sealed (kernel.secrets)."""

    name: str
    label: str
    secret: bool = True  # a secret is write-only; an identifier (a customer number) may be shown
    required: bool = True
    help_text: str = ""


@dataclass(frozen=True)
class Capabilities:
    modes: frozenset = frozenset({InterceptionMode.RETURN_TO_SENDER})
    query: bool = False  # can be asked for an interception's result
    tracking: bool = False  # subscribes parcels' tracking, which it then pushes to us


@dataclass(frozen=True)
class Incoming:
    """A request from a carrier's service, as the callback view received it."""

    body: bytes
    content_type: str = "application/json"
    headers: Mapping = field(default_factory=dict)  # HTTP headers by their usual names ("X-Signature")
    form: dict = field(default_factory=dict)  # form fields, when the service posts a form


@dataclass(frozen=True)
class Answer:
    """What the callback view answers the service, in the service's own format."""

    status: int
    content: bytes
    content_type: str = "application/json"


class CarrierAdapter:
    """One service's protocol. Subclasses set the class attributes and override what their service offers."""

    code = ""  # the name a carrier's *adapter* field holds
    label = ""
    capabilities = Capabilities()
    carrier_fields = ()  # CredentialFields of the carrier's service account
    # (how many, timedelta): subscriptions of one number the service takes in that time; None: no limit.
    subscription_limit = None
    account_fields = ()  # CredentialFields of an outlet's e-waybill account (per merchant)

    def config_problems(self, carrier):
        """Why `carrier` cannot use this adapter as configured (a credential missing), each naming its field."""
        have = carrier.credentials
        return [
            Problem("credential_missing", _("%(f)s is required for %(a)s.") % {"f": f.label, "a": self.label}, f.name)
            for f in self.carrier_fields
            if f.required and not have.get(f.name)
        ]

    def account_problems(self, account):
        """Why an outlet's e-waybill account cannot be used with this adapter (a credential missing)."""
        have = account.credentials
        return [
            Problem("credential_missing", _("%(f)s is required for %(a)s.") % {"f": f.label, "a": self.label}, f.name)
            for f in self.account_fields
            if f.required and not have.get(f.name)
        ]

    def account_for(self, order):
        """The e-waybill account the interception is made with (the merchant's at the parcel's outlet, R1), its
        credentials complete; without one the service cannot be asked, and asking again will not change that."""
        account = EwaybillAccount.objects.filter(
            merchant=order.merchant_id, outlet=order.outlet_id, platform=order.platform_id, active=True
        ).first()
        if account is None:
            raise CarrierRefused(_("The merchant has no active e-waybill account at this outlet."), code="no_account")
        if problems := self.account_problems(account):
            raise CarrierRefused(" ".join(str(p.message) for p in problems), code="account_incomplete")
        return account

    def submit(self, order, client):
        """Ask the service to intercept `order`; return its reference. Raise CarrierUnavailable to be asked
        again later, CarrierRefused to end the attempt. Safe to call twice (our order id is the client ref)."""
        raise CarrierRefused(_("%(a)s cannot submit interceptions.") % {"a": self.label}, code="not_supported")

    def query(self, order, client):
        """The service's current answer for an order as a CarrierMessage, or None while it has none."""
        return None

    def subscribe(self, parcel, client):
        """Subscribe the parcel's tracking at the service (capabilities.tracking)."""
        raise CarrierRefused(_("%(a)s does not push tracking.") % {"a": self.label}, code="not_supported")

    def read_callback(self, carrier, incoming, now):
        """The CarrierMessages of one request from the service, once its signature is verified (and any
        TrackingNotice about the parcels' subscriptions, applied after the messages). Raise
        DomainError (400 invalid_event, 401 bad_signature ...) to refuse it: `refusal` answers it."""
        raise NotImplementedError

    def answer(self, receipts):
        """The answer to an accepted callback, from the receipts of its messages (in their order)."""
        raise NotImplementedError

    def refusal(self, error):
        """The answer to a refused callback (a DomainError), in the service's format."""
        raise NotImplementedError


def callback_url(carrier):
    """The address the carrier's service posts its callbacks to (PORTAL_URL + the carrier's events URL)."""
    return settings.PORTAL_URL + reverse("carrier-events", kwargs={"code": carrier.code})
