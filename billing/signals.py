"""What billing announces to the layers above it (which connect in their AppConfig.ready).

`subscription_synced(account, previous_status, previous_plan, now)`: the account was just read back from Stripe (or its
grace period was checked at `now`), inside the transaction that saved it. The workspace layer turns the subscription's
status into the workspace's state there; a receiver that raises rolls the sync back, so the event that caused it stays
unprocessed and is retried.
"""

from django.dispatch import Signal

subscription_synced = Signal()
