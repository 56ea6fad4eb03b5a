from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "shared_apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from shared_apps.accounts import (  # noqa: F401, PLC0415  (registered once the app registry is ready)
            receivers,  # security events (sign-in, MFA, password, email) into the audit log
            sessions,  # binds each session to its host at login
        )
