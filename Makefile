# The README's two commands: `make serve` and `make test`. Both set up a fresh Debian 12
# machine (as root) and are idempotent: a second run reuses what the first made.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := postgresql-15-postgis-3 chromium gdal-bin poppler-utils wrk fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# The interpreter the lock is resolved for (Python 3.11 as on the machines; see DEVELOPERS.md).
LOCK_PYTHON := 3.11.7

.PHONY: serve test setup system venv lint format bench db-stop lock vendor

serve: setup  ## serve the app on http://127.0.0.1:8000 with the sample district loaded
	$(BIN)/wangge serve

test: setup  ## ruff and mypy, then the whole pytest suite against a real PostGIS
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

setup: system venv

system:  ## Debian packages: PostGIS, Chromium for browser tests, GDAL, poppler, wrk, CJK fonts
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(STAMP)

# Exactly what CI tested: every package pinned with its hashes, then the project itself.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install -q --no-deps -e .
	touch $@

lint:  ## ruff and mypy (the settings are in pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup  ## print the benchmark figures
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

db-stop:
	$(BIN)/wangge db stop

lock:  ## re-resolve requirements.lock (pins + hashes) after changing pyproject.toml
	$(BIN)/pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --all-extras --generate-hashes \
	  --python-version $(LOCK_PYTHON) -o $(LOCK)

vendor:  ## refresh maps/static/vendor (committed) from the npm packages pinned in package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	sh maps/static/vendor.sh
