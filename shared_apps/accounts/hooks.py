"""Where a higher layer plugs into accounts without accounts importing it.

- The seat limit: the plan decides it, and plans live in billing, a layer above. Billing registers its entitlement
  function here (`seat_limit_source_set`, from its AppConfig.ready); without one, TENANT_DEFAULT_SEAT_LIMIT applies.
- Seat changes: the member and invitation services send `seats_changed` after their transaction commits; billing
  listens to push the new quantity to Stripe.
- A membership ending (removed, or left): `membership_ended` is sent inside the transaction that deletes it, so what
  the person held in the workspace (the product's per-project grants) goes in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction
from django.dispatch import Signal

SeatLimitSource = Callable[[int], int]

# Sent after commit whenever the seats a workspace uses may have changed: `tenant_id`.
seats_changed = Signal()
# Sent inside the transaction that ends a membership: `tenant` (the Tenant row), `user_id`.
membership_ended = Signal()

_seat_limit_source: list[SeatLimitSource] = []


def seat_limit_source_set(source: SeatLimitSource | None) -> None:
    """Register the function that answers "how many seats may workspace N have" (None: back to the setting)."""
    _seat_limit_source.clear()
    if source is not None:
        _seat_limit_source.append(source)


def seat_limit_source() -> SeatLimitSource | None:
    return _seat_limit_source[0] if _seat_limit_source else None


def seats_changed_on_commit(tenant_id: int) -> None:
    """Announce a seat change once the caller's transaction commits (at once outside one)."""
    transaction.on_commit(lambda: seats_changed.send(sender=None, tenant_id=tenant_id), robust=True)
