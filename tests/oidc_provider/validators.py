"""The claims the provider asserts about its user: sub (the default), email, email_verified, name, given/family name.

`get_additional_claims` takes no request, so django-oauth-toolkit calls each value with the request at issue time
and lists the claims in discovery's `claims_supported`. Claims are released per scope (`email` → email and
email_verified, `profile` → the names), as `OAuth2Validator.oidc_claim_scope` says.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator


def _email_verified(request: Any) -> bool:
    # OIDC_PROVIDER_USER_EMAIL_VERIFIED=0 lets a test see what a relying party does with an unverified address.
    return os.environ.get("OIDC_PROVIDER_USER_EMAIL_VERIFIED", "1").strip().lower() in {"1", "true", "yes", "on"}


class ClaimsValidator(OAuth2Validator):
    def get_additional_claims(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "email": lambda request: request.user.email,
            "email_verified": _email_verified,
            "name": lambda request: request.user.get_full_name() or request.user.email,
            "given_name": lambda request: request.user.first_name,
            "family_name": lambda request: request.user.last_name,
        }
