from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Outgoing webhooks (tenant schema): a workspace's endpoints, and the deliveries of its events to them."""

    name = "tenant_apps.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from tenant_apps.audit.dispatch import consumer_register  # noqa: PLC0415  (registered once the app registry is ready)
        from tenant_apps.webhooks.services import deliveries_create_for_events  # noqa: PLC0415  (as above)

        consumer_register("webhooks", deliveries_create_for_events)
