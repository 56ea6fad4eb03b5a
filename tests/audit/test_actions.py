"""The audit vocabulary is closed: every entry the code writes is an AuditAction with a label and a filter group."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from shared_apps.accounts.models import User
from shared_apps.core.context import RequestContext, bound
from shared_apps.workspaces import operators
from shared_apps.workspaces.services import STATUS_RULES
from tenant_apps.audit.actions import GROUPS, AuditAction, action_label
from tenant_apps.audit.models import AuditEntry
from tenant_apps.audit.services import UnknownAuditAction, audit_record
from tenants.models import PUBLIC_SCHEMA, Tenant

SOURCE_PACKAGES = ("config", "tenants", "shared_apps", "tenant_apps", "billing")


def _audit_calls() -> list[tuple[Path, int, ast.expr | None]]:
    root = Path(settings.BASE_DIR)
    calls = []
    for package in SOURCE_PACKAGES:
        for path in (root / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "audit_record",
                    "audit_record_many",
                ):
                    action = next((k.value for k in node.keywords if k.arg == "action"), None)
                    calls.append((path.relative_to(root), node.lineno, action))
    return calls


def test_every_audit_record_call_in_the_code_names_an_audit_action_member() -> None:
    calls = _audit_calls()
    assert len(calls) > 10  # the walk found the services

    for path, line, action in calls:
        if isinstance(action, ast.Name) and action.id == "action":
            continue  # a helper passing its own typed parameter along
        if isinstance(action, ast.Attribute) and isinstance(action.value, ast.Name) and action.value.id == "rule":
            continue  # a rule table's entry: checked below

        assert isinstance(action, ast.Attribute), f"{path}:{line} passes a bare value as the audit action"
        assert isinstance(action.value, ast.Name), f"{path}:{line}"
        assert action.value.id == "AuditAction", f"{path}:{line}"
        assert action.attr in AuditAction.__members__, f"{path}:{line}: AuditAction.{action.attr} does not exist"


def test_rule_tables_name_audit_actions() -> None:

    assert all(isinstance(rule.audit, AuditAction) for rule in STATUS_RULES.values())

    account_rules = [v for v in vars(operators).values() if isinstance(v, operators.AccountAction)]
    assert len(account_rules) == 6
    assert all(isinstance(rule.audit_action, AuditAction) for rule in account_rules)


def test_an_unknown_action_is_refused_and_nothing_is_written(tenant: Tenant, owner: User, in_tenant: Any) -> None:
    with in_tenant(tenant):
        before = AuditEntry.objects.count()
        with pytest.raises(UnknownAuditAction):
            audit_record(tenant=tenant, action="member.teleported", actor=owner)  # type: ignore[arg-type]
        assert AuditEntry.objects.count() == before


def test_every_action_has_a_label_and_a_filter_group() -> None:
    for action in AuditAction:
        assert action_label(action.value) != action.value
        assert action.value.split(".")[0] in GROUPS, action


def test_audit_record_writes_into_the_given_tenants_log_from_any_schema(
    tenant: Tenant, other_tenant: Tenant, owner: User, in_tenant: Any
) -> None:
    with in_tenant(other_tenant):
        audit_record(tenant=tenant, action=AuditAction.MEMBER_JOINED, actor=owner)
        assert not AuditEntry.objects.filter(action="member.joined").exists()
    audit_record(tenant=tenant, action=AuditAction.MEMBER_LEFT, actor=owner)  # from the public schema

    with in_tenant(tenant):
        assert set(AuditEntry.objects.values_list("action", flat=True)) >= {"member.joined", "member.left"}


def test_ip_and_user_agent_come_from_the_request_context(tenant: Tenant, owner: User, in_tenant: Any) -> None:

    with bound(RequestContext(request_id="r1", ip="203.0.113.9", user_agent="Probe/1.0")):
        entry = audit_record(tenant=tenant, action=AuditAction.AUTH_LOGIN, actor=owner)

    assert (entry.ip_address, entry.user_agent) == ("203.0.113.9", "Probe/1.0")


def test_the_public_schema_has_no_audit_log(owner: User) -> None:

    class Public:
        schema_name = PUBLIC_SCHEMA

    with pytest.raises(ValueError, match="public schema has no audit log"):
        audit_record(tenant=Public(), action=AuditAction.AUTH_LOGIN, actor=owner)
