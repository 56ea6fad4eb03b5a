from tests.factories.accounts import MembershipFactory, UserFactory
from tests.factories.workspace import ProjectFactory

__all__ = ["MembershipFactory", "ProjectFactory", "UserFactory"]
