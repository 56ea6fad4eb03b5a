"""Workspaces: the orchestration layer, one module per concern. A workspace is a tenant (schema, hosts, status) plus
its people and its log.

Every function in this package checks who may act (`authorization.authorize`: the permission matrix for members, a
Django model permission for platform operators, nobody else), runs the tenancy core's change and its audit entry in
one transaction, and queues side effects after commit. Signup, the `tenant` command, the admin, the workspace's own
pages (and, later, the superadmin and billing) all call these, so none of them can skip a rule or an audit entry.

`acting_user=None` is the platform itself: the command line and scheduled tasks.
"""

from shared_apps.workspaces.services.archive_export import workspace_export
from shared_apps.workspaces.services.archive_import import ImportResult, workspace_import
from shared_apps.workspaces.services.authorization import OperatorPermission, is_operator_with
from shared_apps.workspaces.services.billing_state import (
    PlanChange,
    workspace_billing_state_apply,
    workspace_plan_change,
    workspace_usage,
)
from shared_apps.workspaces.services.creation import WorkspaceLimitReached, workspace_create
from shared_apps.workspaces.services.deletion import (
    workspace_delete,
    workspace_purge,
    workspace_restore,
    workspace_schedule_deletion,
    workspaces_purge_due,
)
from shared_apps.workspaces.services.domains import (
    domains_expire_redirects,
    workspace_domain_add,
    workspace_domain_remove,
    workspace_language_set,
    workspace_rename,
    workspace_rename_subdomain,
)
from shared_apps.workspaces.services.operator_log import (
    REASON_MAX,
    ReasonRequired,
    operator_log_record,
    operator_reason,
)
from shared_apps.workspaces.services.status import (
    STATUS_RULES,
    workspace_resume,
    workspace_suspend,
)

__all__ = [
    "REASON_MAX",
    "STATUS_RULES",
    "ImportResult",
    "OperatorPermission",
    "PlanChange",
    "ReasonRequired",
    "WorkspaceLimitReached",
    "domains_expire_redirects",
    "is_operator_with",
    "operator_log_record",
    "operator_reason",
    "workspace_billing_state_apply",
    "workspace_create",
    "workspace_delete",
    "workspace_domain_add",
    "workspace_domain_remove",
    "workspace_export",
    "workspace_import",
    "workspace_language_set",
    "workspace_plan_change",
    "workspace_purge",
    "workspace_rename",
    "workspace_rename_subdomain",
    "workspace_restore",
    "workspace_resume",
    "workspace_schedule_deletion",
    "workspace_suspend",
    "workspace_usage",
    "workspaces_purge_due",
]
