from tests.factories.accounts import MembershipFactory, UserFactory
from tests.factories.projects import CommentFactory, DocumentFactory, ProjectFactory, TaskFactory

__all__ = ["CommentFactory", "DocumentFactory", "MembershipFactory", "ProjectFactory", "TaskFactory", "UserFactory"]
