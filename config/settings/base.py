"""Settings shared by every environment. Environment-specific files import * from here and adjust.

Each concern is a module of `config.settings.parts` (the Django core, applications, tenancy, middleware, database,
caches, mail, accounts, workspaces, billing, the API, files, the content security policy, tasks, observability,
webhooks, live updates), gathered here; a part imports what it needs from other parts, never from here. Every value
that varies between machines is read through `config.env` and listed in docs/deployment.md's configuration table.
"""

import django_stubs_ext

from config.settings.parts.accounts import *  # noqa: F403
from config.settings.parts.api import *  # noqa: F403
from config.settings.parts.apps import *  # noqa: F403
from config.settings.parts.billing import *  # noqa: F403
from config.settings.parts.caches import *  # noqa: F403
from config.settings.parts.content_security import *  # noqa: F403
from config.settings.parts.core import *  # noqa: F403
from config.settings.parts.database import *  # noqa: F403
from config.settings.parts.files import *  # noqa: F403
from config.settings.parts.live import *  # noqa: F403
from config.settings.parts.mail import *  # noqa: F403
from config.settings.parts.middleware import *  # noqa: F403
from config.settings.parts.observability import *  # noqa: F403
from config.settings.parts.tasks import *  # noqa: F403
from config.settings.parts.tenancy import *  # noqa: F403
from config.settings.parts.webhooks import *  # noqa: F403
from config.settings.parts.workspaces import *  # noqa: F403

# Lets admin/model generics (`admin.ModelAdmin[Tenant]`) be subscripted at run time, as django-stubs types them.
django_stubs_ext.monkeypatch()
