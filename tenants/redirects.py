"""Old subdomains redirect to the new one for a grace period after a rename (`tenant rename-subdomain`).

A renamed-away host stays a Domain of its tenant (not primary, `redirect_until` set), so nobody else can take it
during the grace period. Routing carries `redirect_until` in the host's cached Route, and `TenantRoutingMiddleware`
answers such a host with a redirect to the same path on the primary host: no extra lookup, no extra cache.
"""

from __future__ import annotations

from tenants import routing


def forget(hosts: list[str]) -> None:
    """Drop the cached routes of hosts whose redirect changed through a bulk update (which sends no signals)."""
    routing.invalidate(hosts)
