from interception.models.contracts import (  # noqa: F401,E402
    Contract,
    ContractFee,
    FeeAmendment,
    InterceptionAgreement,
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
from interception.models.orders import (  # noqa: F401,E402
    CarrierEvent,
    CarrierResult,
    InterceptionOrder,
)
from interception.models.parcels import (  # noqa: F401,E402
    AfterSale,
    GoodsLine,
    LogisticsStatus,
    Parcel,
    TrackingEvent,
)
