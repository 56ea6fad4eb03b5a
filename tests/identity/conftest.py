"""Identity tests: a DNS resolver the test controls (no test asks the real DNS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared_apps.identity import dns_client
from shared_apps.identity.services.domains import domain_add, domain_check, record_name, record_value
from shared_apps.identity.services.scim_tokens import scim_token_create


class FakeDns:
    """TXT records by name; `down` makes every lookup fail as an unreachable DNS would."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.down = False
        self.asked: list[str] = []

    def txt(self, name: str) -> list[str]:
        self.asked.append(name)
        if self.down:
            raise dns_client.DnsUnavailable("timeout")
        return list(self.records.get(name, []))


@pytest.fixture
def fake_dns() -> Iterator[FakeDns]:
    resolver = FakeDns()
    previous = dns_client.current_resolver()
    dns_client.resolver_set(resolver)
    try:
        yield resolver
    finally:
        dns_client.resolver_set(previous)


@pytest.fixture
def verified(tenant, owner, fake_dns):
    """acme.com verified by the tenant (through its TXT record, as in production)."""
    row = domain_add(tenant=tenant, domain="acme.com", acting_user=owner)
    fake_dns.records[record_name(row)] = [record_value(row)]
    return domain_check(tenant=tenant, domain_id=row.pk, acting_user=owner)


@pytest.fixture
def scim_secret(tenant, owner) -> str:
    return scim_token_create(tenant=tenant, name="Okta", acting_user=owner)[1]


@pytest.fixture
def scim(tenant_client, scim_secret):
    """The tenant's client carrying its SCIM token."""
    tenant_client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {scim_secret}"
    return tenant_client
