"""What other apps may react to, without the interception app knowing them (settlement records online fees)."""

from django.dispatch import Signal

# Sent inside the recording transaction with `order` (after its transition) and `result`.
result_recorded = Signal()

# Sent by every pass of deadlines_process with `now`: the apps above interception add their own steps by time
# (claims: the arbitration window opening). A receiver returns how many things it did.
deadlines_due = Signal()
