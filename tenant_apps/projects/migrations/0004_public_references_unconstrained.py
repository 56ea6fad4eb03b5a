"""Tenant → public references without database constraints or single-column indexes (see tenant_apps.projects.models).

Besides this app's own columns, guardian's generic tables (in every tenant schema, unused by projects, which have
direct grant tables) lose their constraints: their names are Django's, the same in every schema.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


GUARDIAN_CONSTRAINTS = [  # (table, constraint, column, public table)
    (
        "guardian_groupobjectpermission",
        "guardian_groupobject_content_type_id_7ade36b8_fk_django_co",
        "content_type_id",
        "django_content_type",
    ),
    ("guardian_groupobjectpermission", "guardian_groupobject_group_id_4bbbfb62_fk_auth_grou", "group_id", "auth_group"),
    (
        "guardian_groupobjectpermission",
        "guardian_groupobject_permission_id_36572738_fk_auth_perm",
        "permission_id",
        "auth_permission",
    ),
    (
        "guardian_userobjectpermission",
        "guardian_userobjectp_content_type_id_2e892405_fk_django_co",
        "content_type_id",
        "django_content_type",
    ),
    (
        "guardian_userobjectpermission",
        "guardian_userobjectp_permission_id_71807bfc_fk_auth_perm",
        "permission_id",
        "auth_permission",
    ),
    ("guardian_userobjectpermission", "guardian_userobjectp_user_id_d5c1e964_fk_accounts_", "user_id", "accounts_user"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("projects", "0003_document"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="comment",
            name="author",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="document",
            name="uploaded_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="project",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="projectgroupobjectpermission",
            name="group",
            field=models.ForeignKey(
                db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to="auth.group"
            ),
        ),
        migrations.AlterField(
            model_name="projectgroupobjectpermission",
            name="permission",
            field=models.ForeignKey(
                db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to="auth.permission"
            ),
        ),
        migrations.AlterField(
            model_name="projectuserobjectpermission",
            name="permission",
            field=models.ForeignKey(
                db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, to="auth.permission"
            ),
        ),
        migrations.AlterField(
            model_name="projectuserobjectpermission",
            name="user",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="task",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunSQL(
            sql=[
                f"ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {name}"
                for table, name, _column, _target in GUARDIAN_CONSTRAINTS
            ],
            reverse_sql=[
                f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) REFERENCES public.{target} (id)"
                " DEFERRABLE INITIALLY DEFERRED"
                for table, name, column, target in GUARDIAN_CONSTRAINTS
            ],
        ),
    ]
