import factory

from tenant_apps.projects.models import Project


class ProjectFactory(factory.django.DjangoModelFactory[Project]):
    """Creates the project in whatever tenant schema the connection is on (use `in_tenant`)."""

    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    description = "A project"
