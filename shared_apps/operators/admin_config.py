"""The admin app's configuration, with Atrium's site (in a module of its own: Django picks an app's default
AppConfig from its apps.py, which must hold one)."""

from django.contrib.admin.apps import AdminConfig


class OperatorsAdminConfig(AdminConfig):
    """Django's admin with Atrium's site as `admin.site`: the dashboard as its index, staff with two-factor
    authentication only (`shared_apps.operators.site`)."""

    default_site = "shared_apps.operators.site.OperatorsAdminSite"
