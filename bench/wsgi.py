"""WSGI entry point for the routing benchmark's gunicorn runs (settings from DJANGO_SETTINGS_MODULE)."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
