"""Verified domains: the TXT record proves ownership; a domain is verified by at most one workspace; hostile input is
refused with a message; every change is audited."""

from __future__ import annotations

import pytest

from shared_apps.accounts.models import Role, User
from shared_apps.accounts.permissions import NotAllowed
from shared_apps.identity import dns_client
from shared_apps.identity.errors import IdentityError, NotFound
from shared_apps.identity.models import VerifiedDomain
from shared_apps.identity.selectors import verified_domain_owner
from shared_apps.identity.services.domains import (
    domain_add,
    domain_check,
    domain_normalise,
    domain_remove,
    domains_check_all,
    record_name,
    record_value,
)
from shared_apps.identity.tasks import domains_check
from tenant_apps.audit.models import AuditEntry
from tenants.models import Tenant
from tests.dns_server import running_dns
from tests.factories import MembershipFactory
from tests.identity.conftest import FakeDns


def _publish(fake_dns: FakeDns, row: VerifiedDomain) -> None:
    fake_dns.records[record_name(row)] = ["v=spf1 -all", record_value(row)]


def _actions(in_tenant, tenant: Tenant) -> list[str]:
    with in_tenant(tenant):
        return list(AuditEntry.objects.filter(action__startswith="identity.").values_list("action", flat=True))


def test_a_domain_is_verified_by_its_txt_record_and_audited(tenant, owner, fake_dns, in_tenant) -> None:
    # given
    row = domain_add(tenant=tenant, domain="Acme.COM.", acting_user=owner)
    assert row.domain == "acme.com"
    assert not row.is_verified
    # when the record is not there yet
    row = domain_check(tenant=tenant, domain_id=row.pk, acting_user=owner)
    # then
    assert not row.is_verified
    assert "No TXT record" in row.last_check_error
    assert fake_dns.asked == ["_atrium-verification.acme.com"]
    # when it is published
    _publish(fake_dns, row)
    row = domain_check(tenant=tenant, domain_id=row.pk, acting_user=owner)
    assert row.is_verified
    assert row.last_check_error == ""
    assert verified_domain_owner(email="Someone@ACME.com") == tenant.pk
    assert _actions(in_tenant, tenant) == ["identity.domain_verified", "identity.domain_added"]


def test_a_domain_is_verified_by_one_workspace_only(tenant, owner, other_tenant, outsider, fake_dns) -> None:
    mine = domain_add(tenant=tenant, domain="acme.com", acting_user=owner)
    theirs = domain_add(tenant=other_tenant, domain="acme.com", acting_user=outsider)  # both may try
    _publish(fake_dns, mine)
    fake_dns.records[record_name(theirs)] = [record_value(mine), record_value(theirs)]
    assert domain_check(tenant=tenant, domain_id=mine.pk, acting_user=owner).is_verified
    theirs = domain_check(tenant=other_tenant, domain_id=theirs.pk, acting_user=outsider)
    assert not theirs.is_verified
    assert "another workspace" in theirs.last_check_error
    assert "Acme" not in theirs.last_check_error
    domain_remove(tenant=other_tenant, domain_id=theirs.pk, acting_user=outsider)
    with pytest.raises(IdentityError, match="another workspace"):
        domain_add(tenant=other_tenant, domain="ACME.com", acting_user=outsider)


def test_a_record_of_another_workspace_does_not_verify(tenant, owner, other_tenant, outsider, fake_dns) -> None:
    theirs = domain_add(tenant=other_tenant, domain="globex.com", acting_user=outsider)
    mine = domain_add(tenant=tenant, domain="globex.com", acting_user=owner)
    _publish(fake_dns, theirs)  # the record carries the other workspace's value only
    assert not domain_check(tenant=tenant, domain_id=mine.pk, acting_user=owner).is_verified


def test_the_daily_check_unverifies_a_domain_whose_record_is_gone(tenant, owner, fake_dns, in_tenant) -> None:
    row = domain_add(tenant=tenant, domain="acme.com", acting_user=owner)
    _publish(fake_dns, row)
    domain_check(tenant=tenant, domain_id=row.pk, acting_user=owner)
    fake_dns.records.clear()
    assert domains_check_all() >= 1
    row.refresh_from_db()
    assert not row.is_verified
    assert "identity.domain_unverified" in _actions(in_tenant, tenant)


def test_an_unreachable_dns_changes_nothing(tenant, owner, fake_dns) -> None:
    row = domain_add(tenant=tenant, domain="acme.com", acting_user=owner)
    _publish(fake_dns, row)
    domain_check(tenant=tenant, domain_id=row.pk, acting_user=owner)
    fake_dns.down = True
    row = domain_check(tenant=tenant, domain_id=row.pk, acting_user=owner)
    assert row.is_verified
    assert "did not answer" in row.last_check_error


@pytest.mark.parametrize(
    "raw",
    [
        "",
        " ",
        "localhost",
        "acme",
        "a..com",
        "-acme.com",
        "acme-.com",
        "acme.com/path",
        "bob@acme.com",
        "acme .com",
        "acme\x00.com",
        "acme\u202e.com",
        "a" * 64 + ".com",
        ("a" * 60 + ".") * 5 + "com",
        "gmail.com",
        "1.2.3.4",
        "under_score.com",
        "\ud800.com",
    ],
)
def test_hostile_domains_are_refused_with_a_message(raw: str) -> None:
    with pytest.raises(IdentityError) as caught:
        domain_normalise(raw)
    assert caught.value.message


def test_the_platforms_own_domain_is_refused(settings) -> None:
    with pytest.raises(IdentityError, match="own domain"):
        domain_normalise("acme." + settings.BASE_DOMAIN + ".")


def test_an_internationalised_domain_is_kept_as_punycode() -> None:
    assert domain_normalise("bücher.de") == "xn--bcher-kva.de"


def test_members_cannot_manage_domains_and_nothing_changes(tenant, member, fake_dns) -> None:
    with pytest.raises(NotAllowed):
        domain_add(tenant=tenant, domain="acme.com", acting_user=member)
    assert not VerifiedDomain.objects.filter(tenant_id=tenant.pk).exists()


def test_admins_can_manage_domains(tenant, fake_dns) -> None:
    admin: User = MembershipFactory.create(tenant=tenant, role=Role.ADMIN).user
    row = domain_add(tenant=tenant, domain="acme.com", acting_user=admin)
    domain_remove(tenant=tenant, domain_id=row.pk, acting_user=admin)
    assert not VerifiedDomain.objects.filter(tenant_id=tenant.pk).exists()


def test_another_workspaces_domain_cannot_be_checked_or_removed(
    tenant, owner, other_tenant, outsider, fake_dns
) -> None:
    theirs = domain_add(tenant=other_tenant, domain="globex.com", acting_user=outsider)
    with pytest.raises(NotFound):
        domain_check(tenant=tenant, domain_id=theirs.pk, acting_user=owner)
    with pytest.raises(NotFound):
        domain_remove(tenant=tenant, domain_id=theirs.pk, acting_user=owner)
    assert VerifiedDomain.objects.filter(pk=theirs.pk).exists()
    assert fake_dns.asked == []


def test_the_daily_task_is_scheduled_and_checks_every_domain(tenant, owner, fake_dns, settings) -> None:
    row = domain_add(tenant=tenant, domain="acme.com", acting_user=owner)
    _publish(fake_dns, row)
    assert domains_check.run() >= 1
    row.refresh_from_db()
    assert row.is_verified
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "identity.domains_check" in scheduled


def test_the_dns_server_asked_can_be_set(settings) -> None:
    """IDENTITY_DNS_NAMESERVER sends the TXT questions to that server (the browser tests' server asks one of theirs)."""
    previous = dns_client.current_resolver()
    dns_client.resolver_set(None)  # the real client, not the suite's stand-in
    try:
        with running_dns() as server:
            settings.IDENTITY_DNS_NAMESERVER = server.nameserver
            server.records["_atrium-verification.acme.com"] = ["atrium-verification=abc"]
            assert dns_client.txt_records("_atrium-verification.acme.com") == ["atrium-verification=abc"]
            assert dns_client.txt_records("_atrium-verification.other.com") == []
            assert server.asked == ["_atrium-verification.acme.com", "_atrium-verification.other.com"]
    finally:
        dns_client.resolver_set(previous)
