# Atrium: `make run` serves a working multi-tenant site; `make test` runs the whole suite.
# Without DATABASE_URL both use an embedded PostgreSQL under .data/pg; without REDIS_URL tasks run in-process.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000
STRIPE_LOCAL_PORT ?= 12111
AXE := tests/e2e/node_modules/axe-core/axe.min.js

.PHONY: install run test lint fmt lock messages db-stop clean help bench-routing bench-provisioning bench-migrate bench-billing bench-permissions bench-storage bench-metrics bench-api bench-load bench-pooler bench-scale bench-webhooks bench-scim bench-live proof e2e-deps

help:
	@echo "make run      set up everything and serve http://localhost:$(PORT) (demo at http://demo.localhost:$(PORT))"
	@echo "make test     run the whole test suite"
	@echo "make e2e-deps  install the browser tests' npm packages (axe-core) from tests/e2e/package-lock.json"
	@echo "make lint     ruff, mypy, the import-layer contracts, the docs' links and the missing-migrations check"
	@echo "make lock     re-resolve requirements.lock from pyproject.toml"
	@echo "make messages  update locale/*/LC_MESSAGES/*.po from the code and templates, compile the .mo (docs/i18n.md)"
	@echo "make db-stop  stop the embedded PostgreSQL"
	@echo "make bench-routing   routed request vs plain Django vs django-tenants (see docs/benchmarks.md)"
	@echo "make bench-billing   webhook ingest p50/p95 and the lag from a member change to Stripe's seat count"
	@echo "make bench-permissions  a member's project list vs guardian's generic tables (see docs/benchmarks.md)"
	@echo "make bench-storage   signing download URLs, and a documents page of 50 images, against S3 on loopback"
	@echo "make bench-metrics  the operators' metrics refresh over 1,000 workspaces vs one schema at a time"
	@echo "make bench-api       50 tasks through the API with a key vs a plain JSON view; key verification cost"
	@echo "make bench-load      a minute of mixed traffic over 50 workspaces: 5xx, cross-tenant answers, lost writes"
	@echo "make bench-pooler    API reads direct vs PgBouncer session vs transaction mode: cross-tenant answers, rps"
	@echo "make bench-scale     10,000 workspaces: page p95 at 10/1,000/10,000, routing cache, backend memory, no-op migrate"
	@echo "make bench-webhooks  10,000 events over 100 endpoints (10 % failing) on a loopback receiver: lost, p95, rate"
	@echo "make bench-scim      1,000 people and 50 groups provisioned through SCIM, then patched, listed and filtered"
	@echo "make bench-live      200 live streams over 20 workspaces, 50 changes a second: delivery p50/p95, cross-tenant, memory"
	@echo "make proof           load, fault tests, isolation sweep and scale, one after another (15-minute budget)"

$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit("Atrium needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements.lock
	@touch $@

install: $(VENV)/.installed

# Without STRIPE_SECRET_KEY, a Stripe-compatible server runs on loopback next to the site (TEST MODE), keeps its state
# in .data/stripe-local.json, and delivers signed webhooks to the site; it stops with the site.
run: install
	$(PY) manage.py migrate_schemas --noinput -v 0
	@if [ -z "$$STRIPE_SECRET_KEY" ]; then \
	  $(PY) -m devtools.stripe_local --port $(STRIPE_LOCAL_PORT) --state .data/stripe-local.json \
	    --webhook-url http://localhost:$(PORT)/billing/webhooks/stripe/ & pid=$$!; \
	  trap "kill $$pid 2>/dev/null" EXIT INT TERM; \
	  export STRIPE_LOCAL_PORT=$(STRIPE_LOCAL_PORT); \
	  for i in 1 2 3 4 5 6 7 8 9 10; do $(PY) -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$(STRIPE_LOCAL_PORT)/_local/health', timeout=1)" 2>/dev/null && break; sleep 0.3; done; \
	  $(PY) manage.py billing sync-plans && SITE_PORT=$(PORT) $(PY) manage.py seed_demo && \
	  SITE_PORT=$(PORT) $(PY) manage.py serve $(HOST):$(PORT); \
	else \
	  SITE_PORT=$(PORT) $(PY) manage.py seed_demo && SITE_PORT=$(PORT) $(PY) manage.py serve $(HOST):$(PORT); \
	fi

test: install $(AXE)
	$(PY) -m pytest $(PYTEST_ARGS)

# axe-core for the browser tests' accessibility run, pinned in tests/e2e/package-lock.json (which names no registry).
$(AXE): tests/e2e/package.json tests/e2e/package-lock.json
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

e2e-deps: $(AXE)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m devtools.check_links
	$(PY) -m devtools.check_gettext
	$(PY) -m devtools.check_messages
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

# The catalogues of every shipped language (locale/<lang>), from the code and templates; then the compiled .mo files,
# which are committed (make lint checks they match their .po).
messages: install
	$(PY) -m devtools.check_messages --update

fmt: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: install
	$(UV) pip compile --quiet pyproject.toml --extra dev --generate-hashes --no-header -o requirements.lock

bench-routing: install
	@command -v wrk >/dev/null || echo "(wrk not found: the gunicorn+wrk part is skipped; Debian: apt-get install wrk)"
	$(PY) bench/routing.py $(BENCH_ARGS)

bench-provisioning: install
	$(PY) bench/provisioning.py $(BENCH_ARGS)

bench-migrate: install
	$(PY) bench/migrate.py $(BENCH_ARGS)

bench-billing: install
	$(PY) bench/billing.py $(BENCH_ARGS)
bench-permissions: install
	$(PY) bench/permissions.py $(BENCH_ARGS)
bench-storage: install
	$(PY) bench/storage.py $(BENCH_ARGS)

bench-metrics: install
	$(PY) bench/metrics.py $(BENCH_ARGS)
bench-api: install
	@command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk"; exit 1; }
	$(PY) bench/api.py $(BENCH_ARGS)
bench-load: install
	$(PY) bench/load.py $(BENCH_ARGS)

bench-pooler: install
	@command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk"; exit 1; }
	$(PY) bench/pooler.py $(BENCH_ARGS)

bench-scale: install
	$(PY) bench/scale.py $(BENCH_ARGS)

bench-webhooks: install
	$(PY) bench/webhooks.py $(BENCH_ARGS)
bench-scim: install
	$(PY) bench/scim.py $(BENCH_ARGS)

bench-live: install
	$(PY) bench/live.py $(BENCH_ARGS)

proof: install
	$(PY) bench/proof.py

db-stop: install
	$(PY) -c "from config.embedded_db import stop; print('stopped' if stop() else 'not running')"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
