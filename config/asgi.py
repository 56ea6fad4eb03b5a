"""What uvicorn serves (the `stream` service: live updates): Django's ASGI handler, each request's thread released
while its response streams (shared_apps/core/asgi.py)."""

import os

from shared_apps.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_asgi_application()
