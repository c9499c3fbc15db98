"""What other apps may react to, without the interception app knowing them (settlement records online fees)."""

from django.dispatch import Signal

# Sent inside the recording transaction with `order` (after its transition) and `result`.
result_recorded = Signal()
