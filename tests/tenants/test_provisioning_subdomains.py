"""Subdomain and custom-domain rules (tenants/validators.py): one validator, a clear message for each failure, used by
the services (signup, the command) and the admin."""

from __future__ import annotations

import pytest

from shared_apps.operators.admin.workspaces import DomainForm, SubdomainForm
from tenants.errors import DomainInvalid, SubdomainInvalid
from tenants.validators import RESERVED_SUBDOMAINS, validate_custom_domain, validate_subdomain


@pytest.mark.parametrize(
    ("value", "expected"),
    [("acme", "acme"), ("Acme-Inc", "acme-inc"), ("  abc  ", "abc"), ("a1b", "a1b"), ("x" * 40, "x" * 40)],
)
def test_valid_subdomains_come_back_normalised(value: str, expected: str) -> None:
    assert validate_subdomain(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Choose a subdomain."),
        ("ab", "Subdomains need at least 3 characters."),
        ("x" * 41, "Subdomains can have at most 40 characters."),
        ("acme_inc", "Use only lower-case letters a-z, digits and hyphens."),
        ("acmé", "Use only lower-case letters a-z, digits and hyphens."),
        ("acme.inc", "Use only lower-case letters a-z, digits and hyphens."),
        ("-acme", "A subdomain cannot start or end with a hyphen."),
        ("acme-", "A subdomain cannot start or end with a hyphen."),
        ("xn--acme", "Internationalised (xn--) subdomains are not supported."),
        ("ab--cd", "Hyphens in the third and fourth positions are reserved by DNS."),
        ("www", "“www” is reserved. Choose another subdomain."),
    ],
)
def test_each_bad_subdomain_gets_its_own_clear_message(value: str, message: str) -> None:
    with pytest.raises(SubdomainInvalid) as excinfo:
        validate_subdomain(value)
    assert excinfo.value.message == message


@pytest.mark.parametrize(
    "name",
    ["www", "app", "api", "admin", "mail", "smtp", "static", "media", "assets", "billing", "status", "help",
     "support", "docs", "blog", "template", "public"],
)  # fmt: skip
def test_the_reserved_list_covers_the_platforms_own_hosts(name: str) -> None:
    assert name in RESERVED_SUBDOMAINS
    with pytest.raises(SubdomainInvalid, match="reserved"):
        validate_subdomain(name.upper())


@pytest.mark.parametrize(
    ("value", "expected"),
    [("projects.acme.com", "projects.acme.com"), ("Acme.CO.uk.", "acme.co.uk"), ("a-b.example.org", "a-b.example.org")],
)
def test_valid_custom_domains(value: str, expected: str) -> None:
    assert validate_custom_domain(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter a domain name"),
        ("https://acme.com", "without a scheme, port or path"),
        ("acme.com:8000", "without a scheme, port or path"),
        ("localhost", "full domain name with a dot"),
        ("acme..com", "empty parts"),
        ("-acme.com", "no hyphen at the start or end"),
        ("acme_inc.com", "Use only letters"),
        ("xn--80ak6aa92e.com", "xn--"),
        ("10.0.0.1", "IP addresses"),
        ("acme.localhost", "are subdomains"),
        ("localhost.", "full domain name"),
        ("a" * 64 + ".com", "at most 63 characters"),
    ],
)
def test_each_bad_custom_domain_gets_a_clear_message(value: str, message: str) -> None:
    with pytest.raises(DomainInvalid, match=message):
        validate_custom_domain(value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("new_slug", "www", "is reserved"),
        ("new_slug", "ab", "at least 3"),
        ("domain", "bad_host.com", "Use only letters"),
    ],
)
def test_the_admin_domain_forms_use_the_same_validators(field: str, value: str, message: str) -> None:

    form = (SubdomainForm if field == "new_slug" else DomainForm)(data={field: value})

    assert not form.is_valid()
    assert message in " ".join(str(e) for e in form.errors[field])
