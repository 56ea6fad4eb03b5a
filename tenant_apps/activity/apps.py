from django.apps import AppConfig


class ActivityConfig(AppConfig):
    """What happened in a workspace, read from its event stream: a project's activity and the workspace's feed. No
    models: the events are the record."""

    name = "tenant_apps.activity"
    label = "activity"
    verbose_name = "Activity"
