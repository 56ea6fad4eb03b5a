"""The Content Security Policy: what it allows, that every host sends it, the report-only switch, nonces, and that no
template needs what it forbids (inline scripts, inline event handlers, style attributes)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.test import RequestFactory, override_settings

from config import csp
from tests.conftest import HostClient
from tests.core.test_settings import PROD_ENV

HEADER = "Content-Security-Policy"
REPORT_ONLY = "Content-Security-Policy-Report-Only"


def directives(header: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


# The policy's parts --------------------------------------------------------------------------------------------------
def test_the_policy_allows_the_own_origin_only_and_forbids_inline_code_framing_and_plugins() -> None:
    policy = csp.policy(site=["http://localhost:8000"], stripe=["http://127.0.0.1:12111"], storage="")

    assert policy["default-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in str(policy)
    assert "'unsafe-eval'" not in str(policy)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert policy["connect-src"] == ["'self'"]
    assert policy["form-action"] == ["'self'", "http://localhost:8000", "http://127.0.0.1:12111"]
    assert "report-uri" not in policy


def test_the_policy_names_the_storage_endpoint_for_uploads_and_thumbnails_only() -> None:
    policy = csp.policy(site=[], stripe=[], storage="https://files.example.net", report_uri="/csp-reports")

    assert policy["connect-src"] == ["'self'", "https://files.example.net"]
    assert "https://files.example.net" in policy["img-src"]
    assert "https://files.example.net" not in policy["form-action"]
    assert "https://files.example.net" not in policy["script-src"]
    assert policy["report-uri"] == "/csp-reports"


def test_site_origins_are_the_root_and_the_workspace_hosts_with_the_port() -> None:
    assert csp.site_origins(scheme="http", base_domain="localhost", port="8000") == [
        "http://localhost:8000",
        "http://*.localhost:8000",
    ]
    assert csp.site_origins(scheme="https", base_domain="example.com", port="") == [
        "https://example.com",
        "https://*.example.com",
    ]


def test_stripe_origins_are_the_hosted_pages_with_a_key_and_the_local_server_without() -> None:
    assert csp.stripe_origins(secret_key="sk_live_x", api_base="", local_port=12111) == [
        "https://checkout.stripe.com",
        "https://billing.stripe.com",
    ]
    assert csp.stripe_origins(secret_key="", api_base="", local_port=12111) == ["http://127.0.0.1:12111"]
    assert csp.stripe_origins(secret_key="", api_base="http://127.0.0.1:5999/", local_port=12111) == [
        "http://127.0.0.1:5999"
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"location": "media"}, ""),  # filesystem: the app serves the files itself
        (
            {"bucket_name": "media", "endpoint_url": "http://127.0.0.1:5000", "addressing_style": "path"},
            "http://127.0.0.1:5000",
        ),
        ({"bucket_name": "media", "region_name": "eu-west-1"}, "https://media.s3.eu-west-1.amazonaws.com"),
        (
            {
                "bucket_name": "media",
                "endpoint_url": "http://minio:9000",
                "user_content_url": "https://files.example.net",
            },
            "https://files.example.net",
        ),
    ],
)
def test_the_storage_origin_is_where_the_storage_signs_browser_urls_for(options: dict[str, str], expected: str) -> None:
    assert csp.storage_origin({"BACKEND": "x", "OPTIONS": options}) == expected


def test_origin_keeps_scheme_host_and_port_and_refuses_the_rest() -> None:
    assert csp.origin("HTTP://Example.COM:8443/path?q=1") == "http://example.com:8443"
    assert csp.origin("javascript:alert(1)") == ""
    assert csp.origin("/relative") == ""
    assert csp.origin("") == ""


def test_the_policy_goes_in_exactly_one_header_setting() -> None:
    policy = csp.policy(site=[], stripe=[], storage="")

    assert csp.csp_settings(directives=policy, report_only=False) == ({"DIRECTIVES": policy}, None)
    assert csp.csp_settings(directives=policy, report_only=True) == (None, {"DIRECTIVES": policy})


# The settings, from the environment -------------------------------------------------------------------------------
def settings_in_subprocess(**env: str) -> dict[str, object]:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps("
        "{'enforced': s.CONTENT_SECURITY_POLICY, 'report_only': s.CONTENT_SECURITY_POLICY_REPORT_ONLY}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return loaded


def test_production_settings_enforce_the_policy_with_https_hosts_stripe_and_the_bucket() -> None:
    loaded = settings_in_subprocess(**PROD_ENV)

    assert loaded["report_only"] is None
    policy = loaded["enforced"]["DIRECTIVES"]  # type: ignore[index]
    assert policy["form-action"] == [
        "'self'",
        "https://atrium.example.com",
        "https://*.atrium.example.com",
        "https://checkout.stripe.com",
        "https://billing.stripe.com",
    ]
    assert policy["connect-src"] == ["'self'", "https://atrium-media.s3.us-east-1.amazonaws.com"]


def test_csp_report_only_moves_the_policy_to_the_report_only_setting() -> None:
    loaded = settings_in_subprocess(**PROD_ENV, CSP_REPORT_ONLY="1", CSP_REPORT_URI="https://reports.example.net/csp")

    assert loaded["enforced"] is None
    policy = loaded["report_only"]["DIRECTIVES"]  # type: ignore[index]
    assert policy["default-src"] == ["'self'"]
    assert policy["report-uri"] == "https://reports.example.net/csp"


# The header on every host --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/login/", "/pricing/", "/no-such-page/"])
def test_the_root_sends_the_enforced_policy(public_client: HostClient, path: str) -> None:
    response = public_client.get(path)

    sent = directives(response[HEADER])
    assert sent["default-src"] == ["'self'"]
    assert sent["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response[HEADER]
    assert REPORT_ONLY not in response


@pytest.mark.parametrize("path", ["/", "/login/", "/api/docs/", "/api/docs/?script="])
def test_workspace_hosts_send_the_enforced_policy(tenant_client: HostClient, path: str) -> None:
    response = tenant_client.get(path)

    sent = directives(response[HEADER])
    assert sent["object-src"] == ["'none'"]
    assert sent["base-uri"] == ["'self'"]
    assert f"{settings.SITE_SCHEME}://*.{settings.BASE_DOMAIN}" in " ".join(sent["form-action"])
    assert REPORT_ONLY not in response


def test_with_report_only_the_same_policy_is_only_reported(public_client: HostClient) -> None:
    policy = settings.CONTENT_SECURITY_POLICY
    with override_settings(CONTENT_SECURITY_POLICY=None, CONTENT_SECURITY_POLICY_REPORT_ONLY=policy):
        response = public_client.get("/login/")

    assert HEADER not in response
    assert directives(response[REPORT_ONLY])["frame-ancestors"] == ["'none'"]


# Nonces ---------------------------------------------------------------------------------------------------------------
def test_a_nonce_is_fresh_per_request_and_only_sent_when_a_page_uses_one() -> None:

    template = engines["django"].from_string('<script nonce="{{ request.csp_nonce }}">1</script>')

    def with_inline_script(request: HttpRequest) -> HttpResponse:
        return HttpResponse(template.render({}, request))

    def without(request: HttpRequest) -> HttpResponse:
        return HttpResponse("plain")

    nonces = []
    for _ in range(2):
        response = cast(HttpResponse, CSPMiddleware(with_inline_script)(RequestFactory().get("/")))
        (nonce,) = re.findall(r'nonce="([^"]+)"', response.content.decode())
        assert f"'nonce-{nonce}'" in directives(response[HEADER])["script-src"]
        nonces.append(nonce)
    plain = cast(HttpResponse, CSPMiddleware(without)(RequestFactory().get("/")))

    assert nonces[0] != nonces[1]
    assert "nonce-" not in plain[HEADER]


# Templates ------------------------------------------------------------------------------------------------------------
TEMPLATE_DIRS = [Path(settings.BASE_DIR) / "templates"]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
TEMPLATE_COMMENT = re.compile(r"\{#.*?#\}|\{% comment %\}.*?\{% endcomment %\}", re.DOTALL)


def page_templates() -> list[Path]:
    """Every template a browser renders as a page (emails are not pages: mail clients want inline styles)."""
    found = []
    for root in TEMPLATE_DIRS:
        for path in root.rglob("*.html"):
            if "email" in path.relative_to(root).parts:
                continue
            found.append(path)
    return found


def test_no_page_template_has_inline_scripts_event_handlers_or_styles() -> None:
    offenders = []
    for path in page_templates():
        text = TEMPLATE_COMMENT.sub("", path.read_text())
        for pattern in (INLINE_SCRIPT, EVENT_HANDLER, STYLE):
            offenders += [f"{path}: {m.group(0)!r}" for m in pattern.finditer(text)]

    assert len(page_templates()) > 50
    assert offenders == []
