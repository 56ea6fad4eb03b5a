from django.apps import AppConfig


class SignupConfig(AppConfig):
    name = "shared_apps.signup"
    label = "signup"
    verbose_name = "Organization sign-up"
