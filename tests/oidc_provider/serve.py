"""Start the loopback OpenID Connect provider: migrate its sqlite database, create its user and client, serve.

    DJANGO_SETTINGS_MODULE=tests.oidc_provider.settings python -m tests.oidc_provider.serve

(the settings module is forced to `tests.oidc_provider.settings` either way: Atrium's settings are never imported).

Environment (prefixed OIDC_PROVIDER_ so they never mix with Atrium's own OIDC_* relying-party settings):

    OIDC_PROVIDER_PORT                 port on 127.0.0.1 (required); the issuer is http://127.0.0.1:<port>/o
    OIDC_PROVIDER_DB                   sqlite file (default: in a new temporary directory)
    OIDC_PROVIDER_CLIENT_ID            the relying party's client id (required)
    OIDC_PROVIDER_CLIENT_SECRET        its secret (required); the client is confidential, authorization-code, RS256
    OIDC_PROVIDER_REDIRECT_URIS        space-separated callback URIs, matched exactly, except that the port of an
                                       http://localhost or http://127.0.0.1 one is free (RFC 8252 loopback rule)
    OIDC_PROVIDER_USER_EMAIL           the one user: signs in with this email as the username ...
    OIDC_PROVIDER_USER_PASSWORD        ... and this password
    OIDC_PROVIDER_USER_NAME            "Given Family": the `name` claim, split into `given_name` and `family_name`
    OIDC_PROVIDER_USER_EMAIL_VERIFIED  "1" (default) or "0": the `email_verified` claim
    OIDC_PROVIDER_PKCE_REQUIRED        "1" (default) or "0"; S256 is the only accepted method either way
"""

from __future__ import annotations

import contextlib
import os
import sys


def _require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        sys.exit(f"oidc provider: {name} is required")
    return value


def bootstrap() -> None:
    """Idempotent: the user and the application are updated in place when they already exist."""
    from django.contrib.auth.models import User  # this project's user model, not Atrium's
    from oauth2_provider.models import get_application_model

    email = _require("OIDC_PROVIDER_USER_EMAIL")
    given, _, family = os.environ.get("OIDC_PROVIDER_USER_NAME", "").strip().partition(" ")
    user, _ = User.objects.get_or_create(username=email)
    user.email = email
    user.first_name = given
    user.last_name = family
    user.set_password(_require("OIDC_PROVIDER_USER_PASSWORD"))
    user.save()

    application_model = get_application_model()
    client_id = _require("OIDC_PROVIDER_CLIENT_ID")
    application = application_model.objects.filter(client_id=client_id).first() or application_model(
        client_id=client_id
    )
    application.name = "Atrium (tests)"
    application.user = user
    application.client_type = application_model.CLIENT_CONFIDENTIAL
    application.authorization_grant_type = application_model.GRANT_AUTHORIZATION_CODE
    application.algorithm = application_model.RS256_ALGORITHM
    application.client_secret = _require("OIDC_PROVIDER_CLIENT_SECRET")  # hashed on save
    application.redirect_uris = " ".join(os.environ.get("OIDC_PROVIDER_REDIRECT_URIS", "").split())
    application.skip_authorization = False  # the consent page is always shown and submitted
    application.full_clean(exclude=["client_secret"])
    application.save()


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    port = int(_require("OIDC_PROVIDER_PORT"))

    import django

    django.setup()

    from django.core.management import call_command
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", interactive=False, verbosity=0)
    bootstrap()
    print(f"oidc provider: serving http://127.0.0.1:{port}/o", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        run("127.0.0.1", port, get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main()
