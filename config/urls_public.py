"""URLs of the root domain: the public site, sign-up, accounts (allauth), the workspace switcher, operators' admin."""

from allauth.account import views as allauth_views
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog, set_language

from billing import views as billing_views
from shared_apps.accounts import invitation_views
from shared_apps.accounts import views as account_views
from shared_apps.signup import views as signup_views
from shared_apps.web import views

# `admin.site` is Atrium's operators' site (shared_apps/operators/site.py): staff with two-factor authentication
# only, signed in through allauth, the dashboard as its index.
urlpatterns = [
    path("", views.landing, name="landing"),
    # The scripts' strings in the page's language (static/js/*.js call gettext), and the footer's language switcher.
    path("i18n/js/", JavaScriptCatalog.as_view(), name="javascript_catalog"),
    path("i18n/language/", set_language, name="set_language"),
    path("i18n/time-zone/", account_views.time_zone_detect, name="time_zone_detect"),
    path("pricing/", billing_views.pricing, name="pricing"),
    path("billing/webhooks/stripe/", billing_views.stripe_webhook, name="stripe_webhook"),
    path("signup/", signup_views.start, name="signup"),
    path("signup/workspace/", signup_views.workspace, name="signup_workspace"),
    path("signup/check/", signup_views.check_subdomain, name="signup_check"),
    path("workspaces/", account_views.workspaces, name="workspaces"),
    path("workspaces/continue/", account_views.workspaces_continue, name="workspaces_continue"),
    path("workspaces/<slug:slug>/open/", account_views.workspace_open, name="workspace_open"),
    path("login/", allauth_views.login, name="login"),
    path("logout/", allauth_views.logout, name="logout"),
    path("logout/everywhere/", account_views.logout_everywhere, name="logout_everywhere"),
    # SAML sign-in through a workspace's identity provider, ahead of allauth's own SAML views at the same paths
    path("accounts/saml/<str:organization_slug>/", include("shared_apps.sso.saml_urls")),
    path("accounts/", include("allauth.urls")),
    # "Sign in with SSO": an email's verified domain → its workspace's identity provider
    path("sso/", include("shared_apps.sso.urls")),
    path("admin/", admin.site.urls),
    path("invitations/<str:token>/", invitation_views.invitation_landing, name="invitation_landing"),
    path("verify-email/<str:key>/", account_views.email_verify, name="email_verify"),
]

# JSON in the API's error shape on /api/ paths, the site's error pages elsewhere.
handler400 = "shared_apps.core.api.handler400"
handler403 = "shared_apps.core.api.handler403"
handler404 = "shared_apps.core.api.handler404"
handler500 = "shared_apps.core.api.handler500"
# allauth answers its rate limits through this (ROOT_URLCONF.handler429); Atrium's own limits too.
handler429 = "shared_apps.web.views.too_many_requests"
