# jicai — two commands for a newcomer: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
STAMP := $(VENV)/.installed
B ?=

.PHONY: demo test test-pg bench install translations db clean-demo i18n

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	@$(VENV)/bin/pybabel compile -d app/translations -D messages >/dev/null

db: install
	$(FLASK) db upgrade

## make demo: install, migrate the SQLite database in instance/, seed the demo, serve on :5000
demo: db
	$(FLASK) demo seed --if-needed
	@echo "Serving jicai on http://127.0.0.1:5000 (Ctrl-C to stop)"
	$(FLASK) run --host 127.0.0.1 --port 5000

## make test: the whole suite on SQLite, plus the PostgreSQL and browser tests where this machine has them
test: install
	@bash .ci/system-deps.sh || true
	$(VENV)/bin/pytest -q tests

## make test-pg: the whole suite again with PostgreSQL as the database (CI runs it after make test)
test-pg: install
	JICAI_TEST_DATABASE_URL=$${JICAI_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/jicai_test_suite} \
		$(VENV)/bin/pytest -q tests

## make bench [B=name]: every benchmark in bench/, or only bench/NAME
bench: install
	@$(PY) bench/run_all.py $(B)

clean-demo:
	rm -f instance/jicai.sqlite3*

## make i18n: re-extract every gettext string and merge it into the zh_CN catalog
i18n: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output -o app/translations/messages.pot app
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations -l zh --no-fuzzy-matching
