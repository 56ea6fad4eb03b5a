from django.apps import AppConfig


class OnboardingConfig(AppConfig):
    """A guided start (tenant schema): the home page's checklist that ticks itself until dismissed, and the trial's
    days left in the sidebar for owners. Both are fragments a page loads after it renders."""

    name = "tenant_apps.onboarding"
    label = "onboarding"
    verbose_name = "Guided start"
