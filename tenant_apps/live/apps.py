from django.apps import AppConfig


class LiveConfig(AppConfig):
    """Live updates: open pages hear of changes made by others (Server-Sent Events), fed by the workspace's event
    stream through the live bus (`shared_apps.core.live`). No models."""

    name = "tenant_apps.live"
    label = "live"
    verbose_name = "Live updates"

    def ready(self) -> None:
        from tenant_apps.audit.dispatch import consumer_register  # noqa: PLC0415  (registered once the app registry is ready)
        from tenant_apps.live.services import live_publish_for_events  # noqa: PLC0415  (as above)

        consumer_register("live", live_publish_for_events)
