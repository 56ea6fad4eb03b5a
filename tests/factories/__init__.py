from tests.factories.accounts import MembershipFactory, UserFactory
from tests.factories.projects import CommentFactory, ProjectFactory, TaskFactory

__all__ = ["CommentFactory", "MembershipFactory", "ProjectFactory", "TaskFactory", "UserFactory"]
