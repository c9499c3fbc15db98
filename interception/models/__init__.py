from interception.models.carriers import CarrierCall  # noqa: F401
from interception.models.contracts import (  # noqa: F401
    RETURN_SHIPPING,
    Contract,
    ContractFee,
    FeeAmendment,
    InterceptionAgreement,
    return_shipping_label,
)
from interception.models.network import (  # noqa: F401
    ApiClient,
    ApiToken,
    Carrier,
    EwaybillAccount,
    GoodsCategory,
    Merchant,
    Outlet,
    OutletMembership,
    Platform,
    PlatformCarrier,
    SettlementMode,
)
from interception.models.orders import (  # noqa: F401
    CarrierEvent,
    CarrierResult,
    InterceptionMode,
    InterceptionOrder,
)
from interception.models.parcels import (  # noqa: F401
    AfterSale,
    GoodsLine,
    LogisticsStatus,
    Parcel,
    Subscription,
    TrackingEvent,
)
