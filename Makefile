# Bookstore backend. `make run` starts everything (embedded default), `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint format bench load sustained profile import venv clean fuzz client recommendations recommendations-eval docs-screenshot

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: venv            ## API, worker, beat and Flower (embedded PostgreSQL + Redis unless configured)
	$(BIN)/python run.py

test: venv           ## the whole suite against real PostgreSQL, RabbitMQ and Redis
	$(BIN)/python -m pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv          ## benchmark; writes var/bench/report.md
	$(BIN)/python -m tests.bench

load: venv           ## holiday spike: Locust ramps browse/search/checkout until p95 > 100 ms; var/bench/load.md + PNGs
	$(BIN)/python -m tests.bench.load

sustained: venv      ## orders at 80 % of the drain rate for 5 minutes: confirmation p95, backlog; var/bench/sustained.md + PNGs
	$(BIN)/python -m tests.bench.sustained

profile: venv        ## cProfile of one order through the worker and of one cached page; var/bench/profile.md
	$(BIN)/python -m tests.bench.profile_order

fuzz: venv           ## long schemathesis pass against a live app (make run first); FUZZ_URL, FUZZ_EXAMPLES
	$(BIN)/python -m tests.fuzz_live --url $(or $(FUZZ_URL),http://127.0.0.1:8000) --examples $(or $(FUZZ_EXAMPLES),100)

import: venv         ## (re)import the catalog into the configured database
	$(BIN)/python run.py --import-only

recommendations: venv ## (re)build the "readers also liked" table in the configured database
	$(BIN)/python run.py --recommendations-only

recommendations-eval: venv ## offline evaluation vs popularity; writes var/recommendations/evaluation.md
	$(BIN)/python -m flask --app wsgi recommendations evaluate --json --report var/recommendations/evaluation.md

docs-screenshot: venv ## /docs rendered by headless Chromium with no network -> docs/swagger-ui.png (DOCS_URL: a running app)
	$(BIN)/python -m tests.docs_screenshot $(if $(DOCS_URL),--url $(DOCS_URL))

client: venv        ## TypeScript types of the API (openapi-typescript via npm) in clients/typescript/
	PYTHONPATH=. LOG_LEVEL=WARNING $(BIN)/python clients/typescript/dump_openapi.py > clients/typescript/openapi.json
	cd clients/typescript && npm install --no-audit --no-fund --silent && npm run --silent generate && npm run --silent check

clean:
	rm -rf $(VENV) var/pgdata var/redis.* var/mail var/celerybeat-schedule*
