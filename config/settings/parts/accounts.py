"""Authentication: the user model, passwords, allauth (email login, verification by code, rate limits on global keys,
social providers from the environment, MFA), the client's address behind proxies, the login handoff, and guardian."""

from __future__ import annotations

from typing import Any

from config.env import env
from config.settings.parts.core import SITE_SCHEME

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
    "guardian.backends.ObjectPermissionBackend",
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# allauth. Email is the login; verification is mandatory and done inline with a code, which is what lets
# signup, password reset and login-by-code answer identically for known and unknown addresses (one email each).
# accounts' adapter plus capture: single sign-on required for a workspace's verified domain (shared_apps/identity)
ACCOUNT_ADAPTER = "shared_apps.identity.capture.AccountAdapter"
# accounts' adapter plus each workspace's own OpenID Connect provider (shared_apps/identity)
SOCIALACCOUNT_ADAPTER = "shared_apps.identity.adapter.SocialAccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_SIGNUP_FORM_CLASS = "shared_apps.accounts.forms.SignupNameForm"  # asks the person's name too
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
# The code page offers "Resend code" (twice; each send still counts against "confirm_email" below, so the page shows
# a countdown until the next one is allowed) and "Wrong email? Change it" (twice).
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_RESEND = True
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_CHANGE = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Atrium] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = SITE_SCHEME
# allauth's defaults, spelled out: they count per IP and per email on the "default" cache, whose allauth keys are
# global (tenants.cache.make_key), so trying more subdomains does not buy more attempts.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "request_login_code": "20/m/ip,3/m/key",
    # Atrium's own: creating a workspace (a schema each), per account and per IP.
    "workspace_create": env.str("WORKSPACE_CREATE_RATE_LIMIT", default="3/10m/user,10/h/ip"),
}
SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # an email the provider verified may sign in to the matching account…
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True  # …and connects it; unverified emails never link
SOCIALACCOUNT_EMAIL_VERIFICATION = "mandatory"
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_PROVIDERS: dict[str, dict[str, Any]] = {}
for _provider, _prefix in (("google", "GOOGLE"), ("github", "GITHUB"), ("microsoft", "MICROSOFT")):
    _client_id, _secret = env.str(f"{_prefix}_CLIENT_ID", default=""), env.str(f"{_prefix}_CLIENT_SECRET", default="")
    if _client_id and _secret:
        SOCIALACCOUNT_PROVIDERS[_provider] = {
            "APPS": [{"client_id": _client_id, "secret": _secret, "settings": {}}],
            "SCOPE": ["user:email"] if _provider == "github" else ["openid", "email", "profile"],
            "EMAIL_AUTHENTICATION": True,
        }
if env.str("OIDC_CLIENT_ID", default="") and env.str("OIDC_SERVER_URL", default=""):
    SOCIALACCOUNT_PROVIDERS["openid_connect"] = {
        "APPS": [
            {
                "provider_id": env.str("OIDC_PROVIDER_ID", default="oidc"),
                "name": env.str("OIDC_NAME", default="Single sign-on"),
                "client_id": env.str("OIDC_CLIENT_ID"),
                "secret": env.str("OIDC_CLIENT_SECRET", default=""),
                "settings": {"server_url": env.str("OIDC_SERVER_URL"), "oauth_pkce_enabled": True},
            }
        ],
        "EMAIL_AUTHENTICATION": True,
    }
# The client's address behind a reverse proxy, for per-IP rate limits, the sessions list and audit entries (all read
# it the same way, through allauth). TRUSTED_PROXY_COUNT: how many proxies append to X-Forwarded-For in front of the
# app (the compose nginx: 1); or TRUSTED_CLIENT_IP_HEADER: one header the edge sets (e.g. CF-Connecting-IP). With
# neither, REMOTE_ADDR is the client, and X-Forwarded-For is ignored (a client could write anything there).
ALLAUTH_TRUSTED_PROXY_COUNT: int = env.int("TRUSTED_PROXY_COUNT", default=0)
ALLAUTH_TRUSTED_CLIENT_IP_HEADER: str | None = env.str("TRUSTED_CLIENT_IP_HEADER", default="") or None
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "Atrium"
# Passkeys (WebAuthn): a second factor, and "Sign in with a passkey" with no password. Their relying-party id is the
# root domain (shared_apps/accounts/passkeys.py), so one passkey serves the root and every <slug>.<BASE_DOMAIN> host.
MFA_ADAPTER = "shared_apps.accounts.passkeys.MFAAdapter"
MFA_PASSKEY_LOGIN_ENABLED = True
# Names are checked (length, control characters) and a rename is audited, like any other security change.
MFA_FORMS = {
    "add_webauthn": "shared_apps.accounts.passkeys.PasskeyAddForm",
    "edit_webauthn": "shared_apps.accounts.passkeys.PasskeyRenameForm",
}
USERSESSIONS_TRACK_ACTIVITY = False
# Login handoff from the root domain to a workspace: signed, single use, short-lived, bound to the browser that asked.
LOGIN_HANDOFF_MAX_AGE: int = env.int("LOGIN_HANDOFF_MAX_AGE", default=30)


# Seconds a re-entered password or second-factor code counts as recent (allauth's setting, spelled out): for members
# changing their account security, and for operators starting an impersonation or allowing changes in one.
ACCOUNT_REAUTHENTICATION_TIMEOUT: int = env.int("REAUTHENTICATION_SECONDS", default=300)


# guardian: no anonymous user row (our User has no username); anonymous visitors simply hold no object permission.
ANONYMOUS_USER_NAME = None

# A workspace's identity provider must be served over https; development and tests also accept one on loopback over
# plain http (the test suite's own OpenID Connect provider).
IDENTITY_LOOPBACK_IDP_ALLOWED = False
# The DNS server that verified domains' TXT records are asked of ("host:port"; empty: the system's resolvers). The
# browser tests point their server at a DNS server of their own on loopback.
IDENTITY_DNS_NAMESERVER = env.str("IDENTITY_DNS_NAMESERVER", default="")
