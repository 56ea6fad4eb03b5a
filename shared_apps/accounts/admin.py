from __future__ import annotations

from typing import ClassVar

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from shared_apps.accounts.models import Membership, User
from shared_apps.core.admin import ReadOnlyTabularInline


class MembershipInline(ReadOnlyTabularInline[Membership, User]):
    """Read-only: memberships change on the workspace's own settings pages, through the services that keep the
    last-owner rule, the seat limit and the audit log."""

    model = Membership
    fields = ("tenant", "role", "created_at")


PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("-date_joined",)
    list_display = ("email", "name", "workspaces", "is_active", "is_staff", "last_login", "date_joined")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined")
    search_fields = ("email", "name")
    readonly_fields = ("last_login", "date_joined")
    inlines: ClassVar = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        ("Platform permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).annotate(workspace_count=Count("memberships"))

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        """Platform rights (staff, superuser, groups, permissions) are given by superusers only, and never by
        anyone to themselves: a staff account allowed to edit users cannot make itself, or anyone, more powerful."""
        fields = list(super().get_readonly_fields(request, obj))
        acting = request.user
        if obj is not None and (not getattr(acting, "is_superuser", False) or obj.pk == acting.pk):
            fields += [f for f in PRIVILEGE_FIELDS if f not in fields]
        return fields

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Only a superuser may edit a superuser (their email and password are the keys to the whole platform).
        if obj is not None and obj.is_superuser and not getattr(request.user, "is_superuser", False):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        """Nobody deletes an account: workspaces' rows keep the ids of the people who made them (in schemas this
        page cannot reach, without database constraints: tenants.references), so an account is deactivated instead
        and its name stays on what it did."""
        return False

    @admin.display(description="Workspaces", ordering="workspace_count")
    def workspaces(self, obj: User) -> int:
        return int(getattr(obj, "workspace_count", 0))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    """Who belongs where, for operators to look up. Read-only: see MembershipInline."""

    list_display = ("user", "tenant", "role", "created_at")
    list_filter = ("role", "created_at")
    search_fields = ("user__email", "user__name", "tenant__name", "tenant__domains__domain")
    list_select_related = ("user", "tenant")
    readonly_fields = ("user", "tenant", "role", "created_at")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        return False


# allauth's sessions list searches `user__username`, a field an email-login account does not have: every search there
# ended in an error. Registered here first (its module imported now), then replaced.
from allauth.usersessions import admin as _allauth_usersessions_admin  # noqa: E402
from allauth.usersessions.models import UserSession  # noqa: E402

admin.site.unregister(UserSession)


@admin.register(UserSession)
class UserSessionAdmin(_allauth_usersessions_admin.UserSessionAdmin):
    search_fields = ["user__email", "ip"]
