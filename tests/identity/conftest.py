"""Identity tests: a DNS resolver the test controls (no test asks the real DNS)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared_apps.identity import dns_client


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
    dns_client.resolver_set(resolver)
    try:
        yield resolver
    finally:
        dns_client.resolver_set(None)
