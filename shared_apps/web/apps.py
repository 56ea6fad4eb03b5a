from django.apps import AppConfig


class WebConfig(AppConfig):
    """The site's shell: the landing page, the template context every page gets, and the `atrium` template tags."""

    name = "shared_apps.web"
    label = "web"
    verbose_name = "Site"
