# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
DEMO_ADDR ?= 127.0.0.1:8000
SMOKE_DB := $(CURDIR)/var/demo-smoke.sqlite3

# $(call apt_ensure,<test>,<Debian packages>,<what happens without them>): install with apt when the
# test fails and we are root; otherwise one line saying what is missing.
apt_ensure = @$(1) || \
	( [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2)) >/dev/null 2>&1 ) || \
	echo "make: could not install $(2); $(3)"

.PHONY: demo test lint fuzz demo-smoke bench bench-db messages clean test-tools

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*; touch $(STAMP)

demo: $(STAMP)
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py seed_demo
	$(PY) manage.py run_demo $(DEMO_ADDR)

# The browser tests drive Debian's Chromium; a Chinese font makes their screenshots readable.
BROWSER_PACKAGES := chromium fonts-wqy-zenhei
# The translation test extracts the messages again with GNU gettext.
test-tools:
	$(call apt_ensure,test -x /usr/bin/chromium && fc-list :lang=zh | grep -q .,$(BROWSER_PACKAGES),browser tests will be skipped)
	$(call apt_ensure,command -v xgettext >/dev/null,gettext,the translation test will fail)

test: $(STAMP) test-tools
	$(PY) -m portal.checkdb
	$(PY) -m pytest $(PYTEST_ARGS)

# Lint and format (ruff) and the layers of DESIGN.md (import-linter: no upward import, no cycle); CI runs it.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The property-based tests (schemathesis on every API operation, hypothesis on the callback parser) with a long
# budget: rounds with random seeds and FUZZ_EXAMPLES examples per operation for FUZZ_MINUTES (tests/fuzz.py).
FUZZ_MINUTES ?= 10
FUZZ_EXAMPLES ?= 100
fuzz: $(STAMP)
	$(PY) -m portal.checkdb
	FUZZ_MINUTES=$(FUZZ_MINUTES) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) tests/fuzz.py

# The demo path on a fresh SQLite file: migrate, seed (twice: idempotent), log in, open the admin.
demo-smoke: $(STAMP)
	mkdir -p var; rm -f $(SMOKE_DB)*
	DATABASE_URL=sqlite:///$(SMOKE_DB) $(PY) manage.py migrate --noinput -v 0
	DATABASE_URL=sqlite:///$(SMOKE_DB) $(PY) manage.py seed_demo --quiet
	DATABASE_URL=sqlite:///$(SMOKE_DB) $(PY) manage.py seed_demo --quiet
	DATABASE_URL=sqlite:///$(SMOKE_DB) $(PY) manage.py process_deadlines
	DATABASE_URL=sqlite:///$(SMOKE_DB) SANDBOX_DELAY_SECONDS=0 $(PY) manage.py sandbox_carrier
	DATABASE_URL=sqlite:///$(SMOKE_DB) $(PY) manage.py update_kpis
	DATABASE_URL=sqlite:///$(SMOKE_DB) $(PY) manage.py demo_smoke

# Benchmarks run against a database filled by `manage.py scale_data` (docs/benchmarks.md).
# The callback benchmark's load comes from wrk (C, off the GIL), installed with apt when missing.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal_bench
bench: $(STAMP)
	$(call apt_ensure,command -v wrk >/dev/null,wrk,the callback benchmark will say so)
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) tests/bench/run.py

# A new benchmark database of BENCH_ROWS interceptions (COPY: 1M in about 1 min, 10M in about 12 min and 14 GB):
#   make bench-db BENCH_ROWS=10000000 BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench10m
BENCH_ROWS ?= 1000000
bench-db: $(STAMP)
	psql -d "$(dir $(BENCH_DATABASE_URL))postgres" -c 'CREATE DATABASE "$(notdir $(BENCH_DATABASE_URL))"'
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py migrate --noinput -v 0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py seed_demo --quiet
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) manage.py scale_data --rows $(BENCH_ROWS)
	psql -d "$(BENCH_DATABASE_URL)" -c "VACUUM ANALYZE"

messages: $(STAMP)
	$(PY) manage.py makemessages -l zh_Hans --ignore=.venv --ignore=var --no-obsolete
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) var db.sqlite3*
