"""A real OpenID Connect provider for tests: django-oauth-toolkit in its own tiny Django project.

It runs in a subprocess on 127.0.0.1 (`python -m tests.oidc_provider.serve`, see serve.py) with its own settings
(`tests.oidc_provider.settings`) and its own sqlite database, and never imports Atrium's settings. Tests reach it
through the `oidc_provider` fixture in `tests/oidc_fixtures.py`.
"""
