from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = "Tenants"

    def ready(self) -> None:
        # System checks and routing-cache invalidation, registered once the app registry is ready.
        from tenants import checks, signals  # noqa: F401, PLC0415
