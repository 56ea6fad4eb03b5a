from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    """The workspace product (tenant schema): projects, and the tasks, documents and comments that build on them."""

    name = "tenant_apps.projects"
    label = "projects"
    verbose_name = "Projects"
