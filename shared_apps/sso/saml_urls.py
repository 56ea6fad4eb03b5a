"""allauth's SAML paths on the root domain (`/accounts/saml/<organization_slug>/…`), answered by Atrium's views:
included ahead of allauth's URLs, so allauth's own SAML views are never reached."""

from django.urls import path

from shared_apps.sso import saml_views

urlpatterns = [
    path("login/", saml_views.login, name="saml_login"),
    path("acs/", saml_views.acs, name="saml_acs"),
    path("acs/finish/", saml_views.finish_acs, name="saml_finish_acs"),
    path("metadata/", saml_views.metadata, name="saml_metadata"),
    path("sls/", saml_views.not_offered, name="saml_sls"),
]
