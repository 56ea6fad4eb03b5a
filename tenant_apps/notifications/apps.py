from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """In-app notifications (tenant schema): what concerns a person (assigned, mentioned, a comment on a task they
    follow, an invitation they sent accepted), made by a consumer of the workspace's event stream."""

    name = "tenant_apps.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from tenant_apps.audit.dispatch import consumer_register  # noqa: PLC0415  (registered once the app registry is ready)
        from tenant_apps.notifications.services import notifications_create_for_events  # noqa: PLC0415  (as above)

        consumer_register("notifications", notifications_create_for_events)
