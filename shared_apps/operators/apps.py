from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    """The operators' console: its `admin` package registers every model's admin (after allauth's, which it
    replaces), its commands are the operators' tools."""

    name = "shared_apps.operators"
    label = "operators"
    verbose_name = "Operators"
