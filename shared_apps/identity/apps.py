from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "shared_apps.identity"
    label = "identity"
    verbose_name = "Identity for organisations"

    def ready(self) -> None:
        from shared_apps.identity import receivers  # noqa: F401, PLC0415  (connected once the app registry is ready)
