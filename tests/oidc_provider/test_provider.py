"""The loopback OpenID Connect provider works, driven the way allauth's openid_connect provider drives it.

No Atrium code and no database: discovery, authorization code with PKCE S256 (sign-in and consent by
`login_and_consent`), token exchange with client_secret_post, ID token verified against the JWKS, userinfo, and the
refusals a relying party must be able to rely on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from jwcrypto import jwk, jwt

pytest.register_assert_rewrite("tests.oidc_fixtures")

from tests.oidc_fixtures import OIDCFlowError, OIDCProvider  # noqa: E402

# Until the root conftest registers the plugin; a plugin is loaded once, so this stays harmless after.
pytest_plugins = ["tests.oidc_fixtures"]


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize_url(provider: OIDCProvider, *, redirect_uri: str | None = None, **extra: str) -> str:
    params = {
        "response_type": "code",
        "client_id": provider.client_id,
        "redirect_uri": redirect_uri or provider.callback_url(),
        "scope": "openid profile email",  # allauth's default scope for openid_connect
        **extra,
    }
    return f"{provider.discovery()['authorization_endpoint']}?{urlencode(params)}"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _exchange(provider: OIDCProvider, code: str, verifier: str, redirect_uri: str | None = None) -> requests.Response:
    # client_secret_post, as allauth does whenever discovery lists it.
    return provider.session().post(
        provider.discovery()["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or provider.callback_url(),
            "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "code_verifier": verifier,
        },
        timeout=10,
    )


def _sign_in(provider: OIDCProvider, **extra: str) -> tuple[str, str, dict[str, str]]:
    """A full authorization with PKCE; returns (code, verifier, callback query)."""
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(16)
    location = provider.login_and_consent(
        _authorize_url(provider, state=state, code_challenge=challenge, code_challenge_method="S256", **extra)
    )
    assert location.startswith(provider.callback_url() + "?"), location
    query = _query(location)
    assert query["state"] == state
    return query["code"], verifier, query


def test_discovery_document_is_what_allauth_reads(oidc_provider: OIDCProvider) -> None:
    config = oidc_provider.discovery()
    base = oidc_provider.base_url

    assert config["issuer"] == oidc_provider.server_url == f"{base}/o"
    assert config["authorization_endpoint"] == f"{base}/o/authorize/"
    assert config["token_endpoint"] == f"{base}/o/token/"
    assert config["userinfo_endpoint"] == f"{base}/o/userinfo/"
    assert config["jwks_uri"] == f"{base}/o/.well-known/jwks.json"
    assert "client_secret_post" in config["token_endpoint_auth_methods_supported"]
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert {"sub", "email", "email_verified", "name"} <= set(config["claims_supported"])
    assert {"openid", "email", "profile"} <= set(config["scopes_supported"])
    # allauth appends /.well-known/openid-configuration to server_url; the trailing-slash form is served too.
    assert oidc_provider.session().get(f"{oidc_provider.discovery_url}/", timeout=10).status_code == 200


def test_authorization_code_flow_yields_a_signed_id_token_and_userinfo(oidc_provider: OIDCProvider) -> None:
    nonce = secrets.token_urlsafe(16)
    code, verifier, _ = _sign_in(oidc_provider, nonce=nonce)

    response = _exchange(oidc_provider, code, verifier)
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"
    assert set(tokens["scope"].split()) == {"openid", "profile", "email"}

    config = oidc_provider.discovery()
    keys = jwk.JWKSet.from_json(oidc_provider.session().get(config["jwks_uri"], timeout=10).text)
    header = json.loads(base64.urlsafe_b64decode(tokens["id_token"].split(".")[0] + "=="))
    assert header["alg"] == "RS256"
    assert keys.get_key(header["kid"]) is not None
    # jwcrypto checks the signature, exp and nbf, and the claims given in check_claims.
    id_token = jwt.JWT(
        jwt=tokens["id_token"],
        key=keys,
        algs=["RS256"],
        check_claims={"iss": config["issuer"], "aud": oidc_provider.client_id, "exp": None},
    )
    claims: dict[str, Any] = json.loads(id_token.claims)
    assert claims["nonce"] == nonce
    assert claims["email"] == oidc_provider.user_email
    assert claims["email_verified"] is True
    assert claims["name"] == oidc_provider.user_name
    assert [claims["given_name"], claims["family_name"]] == oidc_provider.user_name.split(" ", 1)
    assert claims["sub"]

    userinfo = oidc_provider.session().get(
        config["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
    )
    assert userinfo.status_code == 200, userinfo.text
    assert userinfo.json() == {
        "sub": claims["sub"],
        "email": oidc_provider.user_email,
        "email_verified": True,
        "name": oidc_provider.user_name,
        "given_name": claims["given_name"],
        "family_name": claims["family_name"],
    }

    # A code is good once.
    again = _exchange(oidc_provider, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_claims_follow_the_granted_scopes(oidc_provider: OIDCProvider) -> None:
    code, verifier, _ = _sign_in(oidc_provider, scope="openid")
    tokens = _exchange(oidc_provider, code, verifier).json()
    userinfo = oidc_provider.session().get(
        oidc_provider.discovery()["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert set(userinfo.json()) == {"sub"}


def test_a_wrong_code_verifier_or_client_secret_is_refused(oidc_provider: OIDCProvider) -> None:
    code, verifier, _ = _sign_in(oidc_provider)
    wrong_verifier = _exchange(oidc_provider, code, _pkce()[0])
    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json()["error"] == "invalid_grant"

    code, verifier, _ = _sign_in(oidc_provider)
    wrong_secret = oidc_provider.session().post(
        oidc_provider.discovery()["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": oidc_provider.callback_url(),
            "client_id": oidc_provider.client_id,
            "client_secret": "not-the-secret",
            "code_verifier": verifier,
        },
        timeout=10,
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"


def test_pkce_is_required(oidc_provider: OIDCProvider) -> None:
    location = oidc_provider.login_and_consent(_authorize_url(oidc_provider, state="s"))
    assert location.startswith(oidc_provider.callback_url() + "?")
    assert _query(location)["error"] == "invalid_request"


def test_denying_consent_sends_access_denied(oidc_provider: OIDCProvider) -> None:
    _, challenge = _pkce()
    location = oidc_provider.login_and_consent(
        _authorize_url(oidc_provider, state="s", code_challenge=challenge, code_challenge_method="S256"),
        allow=False,
    )
    assert _query(location) == {"error": "access_denied", "state": "s"}


def test_callbacks_on_any_loopback_port_match_but_other_callbacks_do_not(oidc_provider: OIDCProvider) -> None:
    _, challenge = _pkce()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    browser_callback = oidc_provider.callback_url(port=8123)  # a live server on an ephemeral port
    location = oidc_provider.login_and_consent(_authorize_url(oidc_provider, redirect_uri=browser_callback, **pkce))
    assert location.startswith(browser_callback + "?code=")

    for foreign in (
        oidc_provider.callback_url(host="evil.test"),
        "http://localhost/accounts/oidc/another-provider/login/callback/",
        oidc_provider.callback_url() + "?next=/admin/",
    ):
        with pytest.raises(OIDCFlowError, match="Error: invalid_request Mismatching redirect URI"):
            oidc_provider.login_and_consent(_authorize_url(oidc_provider, redirect_uri=foreign, **pkce))


def test_a_wrong_password_stops_at_the_login_page(oidc_provider: OIDCProvider) -> None:
    with pytest.raises(OIDCFlowError, match="refused the sign-in"):
        oidc_provider.login_and_consent(_authorize_url(oidc_provider), password="wrong")
