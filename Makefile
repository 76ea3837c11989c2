# Two commands: `make run` serves Onramp with demo data; `make test` runs every test.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app:create_app
HOST ?= 127.0.0.1
PORT ?= 5000
CHROMIUM ?= /usr/bin/chromium
export HOST PORT
export ONRAMP_PUBLIC_URL ?= http://$(HOST):$(PORT)

.PHONY: ffmpeg install serve-deps run test test-sqlite test-postgres test-cluster haproxy prometheus uat chromium lint format migrate bench bench-load bench-million bench-hostile clean

# What serving needs (`make run`): the app's own dependencies and assets, none of the test
# tools (pytest, Playwright, ruff, mypy, schemathesis: pyproject's `dev` group).
serve-deps: $(VENV)/.synced-app static/vendor/.copied static/.digested app/translations/.compiled

# Everything, test tools included: what `make test`, `make lint` and the benches need.
install: $(VENV)/.synced serve-deps

# uv lives in its own small virtualenv so that `uv sync` can manage .venv exactly.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# --inexact: a checkout that also runs the tests keeps its test tools when it serves.
$(VENV)/.synced-app: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --no-dev --inexact --python $(PYTHON)
	touch $@

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --python $(PYTHON)
	touch $@ $(VENV)/.synced-app

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Third-party browser files come from npm and are served from static/vendor/ (git-ignored).
# The platforms' logos: only those app/platforms.yaml names, from simple-icons (CC0-1.0),
# each filled with a colour that keeps its contrast (app/platform_icons.py).
static/vendor/.copied: node_modules/.installed app/platforms.yaml app/platform_icons.py | $(VENV)/.synced-app
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
	rm -rf static/vendor/icons
	$(BIN)/python -m app.platform_icons node_modules/simple-icons static/vendor/icons
	touch $@

# Static files under a name with their content's hash, cached by browsers for a year, and
# gzip and brotli copies of each (app/static_files.py); made again when a file changes.
STATIC_SOURCES = $(shell find static -type f ! -path 'static/vendor/*' ! -name '.*' ! -name '*.gz' \
	! -name '*.br' ! -name cache_manifest.json ! -regex '.*-[0-9a-f]\{32\}\.[^/]*' 2>/dev/null)
static/.digested: static/vendor/.copied $(STATIC_SOURCES) | $(VENV)/.synced-app
	$(FLASK) digest clean >/dev/null
	$(FLASK) digest compile >/dev/null
	touch $@

# Onramp's own UI strings (see app/translations/README.md). `make translations` refreshes
# messages.pot from the code and merges it into every catalogue; translate, then `make install`.
.PHONY: translations
translations: $(VENV)/.synced-app
	$(BIN)/pybabel extract -F babel.cfg -k _l -o app/translations/messages.pot . && $(BIN)/pybabel update -i app/translations/messages.pot -d app/translations

# The compiled .mo catalogues are build output (git-ignored), remade when a .po changes.
app/translations/.compiled: $(wildcard app/translations/*/LC_MESSAGES/messages.po) | $(VENV)/.synced-app
	$(BIN)/pybabel compile -d app/translations
	touch $@

# As the tables' owner when MIGRATION_DATABASE_URL is set; everything else connects with
# DATABASE_URL, as a role that owns nothing (docs/database-roles.md).
migrate: serve-deps
	$(FLASK) db upgrade

run: serve-deps migrate
	@$(FLASK) demo
	$(BIN)/gunicorn --config python:app.gunicorn_conf 'app:create_app()'

# Browser tests launch Debian's Chromium by path; Playwright's own download can't be reached here.
chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			$(BIN)/playwright install chromium; \
		fi; \
	fi

# promtool checks and unit-tests the shipped alert rules (deploy/prometheus); it comes with
# Debian's prometheus package, installed as root like Chromium. Only promtool is used: where
# systemd runs, the package's postinst also enables and starts a Prometheus server.
prometheus:
	@if ! command -v promtool >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus; \
		else \
			echo "promtool is missing: sudo apt-get install prometheus" >&2; exit 1; \
		fi; \
	fi

# Unit, integration and the project's own browser tests, on SQLite then PostgreSQL (and, on
# PostgreSQL, two instances behind HAProxy: make test-cluster); then the UAT catalogue once,
# in parallel, against a server it starts itself (make uat).
test: install chromium prometheus
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		$(MAKE) --no-print-directory test-postgres && $(MAKE) --no-print-directory test-cluster; \
	fi
	$(MAKE) --no-print-directory uat

# Two at a time (pytest-xdist): each worker has its own SQLite files, PostgreSQL schemas
# and live servers. TEST_WORKERS=0 runs them one by one.
TEST_WORKERS ?= 2
test-sqlite:
	@echo "== tests on SQLite"
	env -u TEST_DATABASE_URL $(BIN)/pytest --ignore=e2e/uat --ignore=tests/cluster -n $(TEST_WORKERS)

test-postgres:
	@echo "== tests on $$(echo $$TEST_DATABASE_URL | sed 's|//[^@]*@|//|')"
	$(BIN)/pytest --ignore=e2e/uat --ignore=tests/cluster -n $(TEST_WORKERS)

# Two Onramp instances on PostgreSQL (TEST_DATABASE_URL, a superuser: it makes a database of
# its own) and Redis (TEST_REDIS_URL) behind Debian's HAProxy running deploy/haproxy.cfg; one
# is killed mid-journey (tests/cluster, docs/deployment.md). Ports 5200-5205 (CLUSTER_PORT_BASE).
test-cluster: install haproxy
	@echo "== two instances behind HAProxy"
	$(BIN)/pytest tests/cluster -n 0 -p no:cacheprovider

# The load balancer of the cluster test, from Debian's packages (installed as root, like Chromium).
haproxy:
	@if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy; \
		else \
			echo "HAProxy is missing: sudo apt-get install haproxy" >&2; exit 1; \
		fi; \
	fi

# The UAT scenarios (e2e/uat, see e2e/README.md). `make uat BASE_URL=https://uat.example.com`
# (with ONRAMP_UAT_API_KEY set) runs them against that environment; without BASE_URL the
# suite starts its own server. The HTML report, traces and videos land in test-results/.
BASE_URL ?=
UAT_WORKERS ?= 2
# Videos of failed scenarios when Playwright's video recorder is there (see `ffmpeg`);
# UAT_VIDEO=off (or on) overrides.
UAT_VIDEO ?=
PLAYWRIGHT_FFMPEG = $(HOME)/.cache/ms-playwright/ffmpeg-*/ffmpeg-linux
uat: install chromium ffmpeg
	@echo "== UAT scenarios against $(if $(BASE_URL),$(BASE_URL),a server of their own)"
	@video="$(UAT_VIDEO)"; \
	if [ -z "$$video" ]; then \
		if ls $(PLAYWRIGHT_FFMPEG) >/dev/null 2>&1; then video=retain-on-failure; else video=off; fi; \
	fi; \
	set -x; $(BIN)/pytest e2e/uat -p no:cacheprovider -n $(UAT_WORKERS) \
		$(if $(BASE_URL),--base-url $(BASE_URL)) \
		--tracing retain-on-failure --screenshot only-on-failure --video $$video \
		--output test-results/artifacts --html=test-results/uat-report.html --self-contained-html

# Playwright records videos with its own ffmpeg build, whose download can't be reached here:
# as root, Debian's ffmpeg is put where Playwright looks for it. Without it, no videos.
ffmpeg: install
	@revision=$$($(BIN)/python -c 'import json, pathlib, playwright; \
		listed = pathlib.Path(playwright.__file__).parent / "driver/package/browsers.json"; \
		print(next(b["revision"] for b in json.loads(listed.read_text())["browsers"] if b["name"] == "ffmpeg"))'); \
	target="$(HOME)/.cache/ms-playwright/ffmpeg-$$revision/ffmpeg-linux"; \
	if [ ! -x "$$target" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			{ command -v ffmpeg >/dev/null || { apt-get update -qq && \
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg; }; } && \
			mkdir -p "$$(dirname "$$target")" && ln -sf "$$(command -v ffmpeg)" "$$target"; \
		else \
			$(BIN)/playwright install ffmpeg; \
		fi || echo "No video recorder: failed UAT scenarios keep their traces and screenshots only."; \
	fi

bench: install
	$(BIN)/python bench/page_speed.py
	$(BIN)/python bench/journey_steps.py
	$(BIN)/python bench/consent_export.py
	$(MAKE) --no-print-directory bench-million
	$(MAKE) --no-print-directory bench-load

# The load test (bench/README.md): LOAD_USERS simulated customers walk whole journeys for
# LOAD_RUN_TIME against gunicorn on a fresh PostgreSQL database and Redis; it prints the
# percentiles per step and fails when the consents in the database differ from those given.
LOAD_USERS ?= 200
LOAD_SPAWN_RATE ?= 20
LOAD_RUN_TIME ?= 5m
bench-load: install
	$(BIN)/python bench/load/run.py --users $(LOAD_USERS) --spawn-rate $(LOAD_SPAWN_RATE) \
		--run-time $(LOAD_RUN_TIME)

# A million consent records on PostgreSQL (bench/README.md): seeded, then the
# ledger's pages, `flask consents verify` and the exports measured. MILLION=100000 for a
# shorter run; MILLION_DATABASE_URL names the database, which is emptied first.
MILLION ?= 1000000
bench-million: install
	MILLION=$(MILLION) $(BIN)/python bench/million/run.py

# The hostile-input suite's targets with far more inputs than CI sends (bench/README.md);
# on PostgreSQL with TEST_DATABASE_URL set. HOSTILE_INPUTS=20000 for a shorter run.
HOSTILE_INPUTS ?= 200000
bench-hostile: install
	$(BIN)/python bench/hostile.py --total $(HOSTILE_INPUTS)

lint: install
	$(BIN)/ruff check app tests e2e bench
	$(BIN)/ruff format --check app tests e2e bench
	$(BIN)/mypy app

format: install
	$(BIN)/ruff format app tests e2e
	$(BIN)/ruff check --fix app tests e2e

clean:
	rm -rf $(VENV) $(TOOLS) node_modules static/vendor .pytest_cache
	-find static \( -name '*.gz' -o -name '*.br' -o -regex '.*-[0-9a-f]\{32\}\.[^/]*' \) -delete
	rm -f static/cache_manifest.json static/.digested
