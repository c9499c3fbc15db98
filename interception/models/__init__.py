from interception.models.network import (  # noqa: F401
    ApiClient,
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
from interception.models.contracts import (  # noqa: F401,E402
    Contract,
    ContractFee,
    FeeAmendment,
    InterceptionAgreement,
)
