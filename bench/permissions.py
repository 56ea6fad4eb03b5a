"""Permissions benchmark (`make bench-permissions`): a member's project list, Atrium's way and guardian's generic way,
on the same data in the same run.

In a throwaway database (`atrium_bench_permissions`) on the server DATABASE_URL names (the embedded development
server when it is unset), dropped at the end: one workspace with 10,000 private projects and 50,000 grants (`view`
on a project for one of 1,000 members). The measured member holds 50 of them, so their list page shows 50 projects.
The same grants are written twice: into Atrium's direct-FK table (`ProjectUserObjectPermission`, an integer
foreign key to the project) and into guardian's default generic table (`guardian_userobjectpermission`, the
project's id as `object_pk` varchar).

  atrium   `project_page_for_user`, what the list page runs (one query: a semi-join on the grant tables, creators,
           task counts and the viewer's grants on each project; its statement compiled once per process), for the
           first page of 50, then the page's permission checks (`ProjectAccess.prefetch`: answered from the grants
           the same query read, no query)
  generic  guardian's `get_objects_for_user(member, "projects.view_project", Project)`, called with its defaults
           (global permissions count too, as its documentation describes), over its generic tables (the direct-FK
           models switched off for the run); the same page of 50 with the same creators and task counts, then
           guardian's `ObjectPermissionChecker.prefetch_perms` for the page's checks (its best case: one query
           for the page instead of one per object)

Both return the same 50 projects (checked). Rounds interleave the two ways; the medians are compared. Last line:

  permissions: projects=10000 grants=50000 list_ms=… generic_ms=… speedup=…x list_queries=…
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import bench_workspace, log, recreate_database, server_url, with_database  # noqa: E402

BENCH_DB = "atrium_bench_permissions"
PAGE = 50
UNUSABLE = "!"  # an unusable password hash: nobody signs in as these members


@dataclass
class DataSet:
    users: list[Any]
    me: Any
    projects: list[Any]
    mine: list[Any]
    pairs: set[tuple[int, int]]


def data_set(tenant: Any, *, members: int, projects: int, grants: int) -> DataSet:
    """Members, private projects, and `grants` view grants in both Atrium's tables and guardian's generic ones: the
    first member holds PAGE of them."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import UserObjectPermission

    from shared_apps.accounts.models import Membership, Role, User
    from tenant_apps.projects.models import Project, ProjectUserObjectPermission, Visibility
    from tenants.db import connection

    rng = random.Random(42)  # noqa: S311 (a fixed data set, not a secret)
    users = User.objects.bulk_create(
        User(email=f"member{i}@bench.test", name=f"Member {i:04d}", password=UNUSABLE) for i in range(members)
    )
    Membership.objects.bulk_create(Membership(user=u, tenant=tenant, role=Role.MEMBER) for u in users)
    me = users[0]
    connection.set_tenant(tenant)
    made = Project.objects.bulk_create(
        (
            Project(name=f"Project {i:05d}", visibility=Visibility.PRIVATE, created_by=users[i % len(users)])
            for i in range(projects)
        ),
        batch_size=5_000,
    )
    view = Permission.objects.get(content_type__app_label="projects", codename="view_project")
    ctype = ContentType.objects.get_for_model(Project)
    mine = rng.sample(made, PAGE)
    pairs = {(me.pk, p.pk) for p in mine}
    others = users[1:]
    while len(pairs) < grants:
        pairs.add((rng.choice(others).pk, rng.choice(made).pk))
    ProjectUserObjectPermission.objects.bulk_create(
        (ProjectUserObjectPermission(user_id=u, content_object_id=p, permission=view) for u, p in pairs),
        batch_size=10_000,
    )
    UserObjectPermission.objects.bulk_create(
        (UserObjectPermission(user_id=u, object_pk=str(p), content_type=ctype, permission=view) for u, p in pairs),
        batch_size=10_000,
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # the steady state autovacuum keeps: statistics and visibility maps
    return DataSet(users=users, me=me, projects=made, mine=mine, pairs=pairs)


def list_ways(me: Any) -> dict[str, Callable[[], list[int]]]:
    """The member's first page of projects with their access levels: Atrium's way, and guardian's generic one."""
    from guardian.core import ObjectPermissionChecker
    from guardian.shortcuts import get_objects_for_user

    from shared_apps.accounts.models import Role
    from tenant_apps.projects import selectors
    from tenant_apps.projects.models import Project, ProjectGroupObjectPermission, ProjectUserObjectPermission
    from tenant_apps.projects.permissions import ProjectAccess, Viewer

    viewer = Viewer(user=me, role=Role.MEMBER)

    def atrium() -> list[int]:
        page = selectors.project_page_for_user(viewer, limit=PAGE)
        access = ProjectAccess(viewer).prefetch(page)
        for project in page:
            access.level(project)
            project.created_by.get_full_name()  # type: ignore[union-attr]
        return [p.pk for p in page]

    def generic() -> list[int]:
        direct: tuple[Any, ...] = (ProjectUserObjectPermission, ProjectGroupObjectPermission)
        for model in direct:
            model.enabled = False  # guardian then reads its generic varchar tables
        try:
            user = copy(me)  # as each request's user: no permission cache carried between rounds
            visible = get_objects_for_user(user, "projects.view_project", klass=Project)
            page = list(selectors.with_task_counts(visible.select_related("created_by")).order_by("name", "id")[:PAGE])
            checker = ObjectPermissionChecker(user)
            checker.prefetch_perms(page)  # type: ignore[arg-type]  # any iterable of objects works
            for project in page:
                checker.get_perms(project)
                project.created_by.get_full_name()  # type: ignore[union-attr]
            return [p.pk for p in page]
        finally:
            for model in direct:
                model.enabled = True

    return {"atrium": atrium, "generic": generic}


def timed_rounds(
    ways: dict[str, Callable[[], list[int]]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Each way `rounds` times (after 5 warm-up rounds), alternating which goes first: milliseconds per call, and of
    those the milliseconds spent waiting on the database."""
    from tenants.db import connection

    timings: dict[str, list[float]] = {way: [] for way in ways}
    in_database: dict[str, list[float]] = {way: [] for way in ways}
    spent: list[float] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(time.perf_counter() - t)

    for round_ in range(rounds + 5):
        order = list(ways) if round_ % 2 == 0 else list(reversed(ways))
        for way in order:
            spent.clear()
            with connection.execute_wrapper(timed):
                t = time.perf_counter()
                ways[way]()
                elapsed = time.perf_counter() - t
            if round_ >= 5:
                timings[way].append(elapsed * 1000)
                in_database[way].append(sum(spent) * 1000)
    return timings, in_database


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=10_000)
    parser.add_argument("--grants", type=int, default=50_000)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds per way (after 5 warm-up rounds)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    base_url = server_url()
    recreate_database(base_url, BENCH_DB)
    os.environ["DATABASE_URL"] = with_database(base_url, BENCH_DB)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    from tenants.db import connection

    try:
        log(f"database {BENCH_DB} (PostgreSQL {connection.pg_version // 10000}); {os.cpu_count()} cores")
        t0 = time.perf_counter()
        tenant = bench_workspace()
        log(f"migrated and made a workspace in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        data = data_set(tenant, members=args.members, projects=args.projects, grants=args.grants)
        log(
            f"{len(data.projects):,} projects, {len(data.pairs):,} grants in each table, {len(data.users):,} members "
            f"in {time.perf_counter() - t0:.1f}s"
        )
        ways = list_ways(data.me)
        expected = [p.pk for p in sorted(data.mine, key=lambda p: (p.name, p.pk))]
        assert ways["atrium"]() == expected, "Atrium's list is not the member's 50 projects"
        assert ways["generic"]() == expected, "guardian's list is not the member's 50 projects"
        queries: dict[str, int] = {}
        for way, run in ways.items():
            with CaptureQueriesContext(connection) as captured:
                run()
            queries[way] = len(captured)

        timings, in_database = timed_rounds(ways, args.rounds)
        list_ms = statistics.median(timings["atrium"])
        generic_ms = statistics.median(timings["generic"])
        for way in ("atrium", "generic"):
            values = sorted(timings[way])
            log(
                f"{way:8} median {statistics.median(values):7.2f} ms   p10..p90 "
                f"{values[len(values) // 10]:.2f}..{values[len(values) * 9 // 10]:.2f} ms   "
                f"queries {queries[way]}   "
                f"of which waiting on the database {statistics.median(in_database[way]):.2f} ms"
            )
        log(
            f"permissions: projects={len(data.projects)} grants={len(data.pairs)} list_ms={list_ms:.2f} "
            f"generic_ms={generic_ms:.2f} speedup={generic_ms / list_ms:.1f}x list_queries={queries['atrium']}"
        )
        return 0
    finally:
        connection.set_schema_to_public()
        connections.close_all()
        if not args.keep:
            recreate_database(base_url, BENCH_DB, drop_only=True)


if __name__ == "__main__":
    sys.exit(main())
