"""Paths of named pages on a given kind of host.

Inside a request, `reverse()` and `{% url %}` answer from the current host's URLconf: the routing middleware sets
`request.urlconf` to the public URLconf on the root domain and to the workspace URLconf on a workspace host. A link
that crosses hosts (a workspace page pointing at the root's workspace list, the root handing a person to a workspace)
names the URLconf it belongs to through these functions, and so does code that runs outside a request (tasks, emails).
Prefix the path with `root_url()` or `tenant_url(host)` for an absolute URL.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse


def public_path(name: str, **kwargs: Any) -> str:
    """The path of a named page of the root domain (config/urls_public.py), e.g. "workspaces" → /workspaces/."""
    return reverse(name, urlconf=settings.PUBLIC_SCHEMA_URLCONF, kwargs=kwargs or None)


def workspace_path(name: str, **kwargs: Any) -> str:
    """The path of a named page of a workspace host (config/urls_tenants.py), e.g. "handoff_consume"."""
    return reverse(name, urlconf=settings.ROOT_URLCONF, kwargs=kwargs or None)
