from interception.services.contracts import (  # noqa: F401
    agreement_sign,
    amendment_approve,
    amendment_reject,
    contract_amend_fee,
    contract_apply,
    contract_approve,
    contract_close,
    contract_reject,
)
