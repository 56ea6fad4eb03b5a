from typing import Any

from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    """The workspace product (tenant schema): projects, and the tasks, documents and comments that build on them."""

    name = "tenant_apps.projects"
    label = "projects"
    verbose_name = "Projects"

    def ready(self) -> None:

        from shared_apps.accounts.hooks import membership_ended  # noqa: PLC0415  (registered once the app registry is ready)
        from tenant_apps.projects.services import grants_revoke_departed  # noqa: PLC0415  (as above)

        def revoke(sender: Any, tenant: Any, user_id: int, **kwargs: Any) -> None:
            grants_revoke_departed(tenant=tenant, user_id=user_id)

        membership_ended.connect(revoke, weak=False, dispatch_uid="atrium.projects.revoke_departed")

        from shared_apps.storage.hooks import upload_abandoned  # noqa: PLC0415  (as above)
        from tenant_apps.projects.services import pending_upload_forget  # noqa: PLC0415  (as above)

        def forget(sender: Any, prefix: str, key: str, **kwargs: Any) -> None:
            pending_upload_forget(prefix=prefix, key=key)

        upload_abandoned.connect(forget, weak=False, dispatch_uid="atrium.projects.forget_abandoned_upload")
