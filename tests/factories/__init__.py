from tests.factories.accounts import MembershipFactory, UserFactory
from tests.factories.projects import ProjectFactory

__all__ = ["MembershipFactory", "ProjectFactory", "UserFactory"]
