# The README's two commands: `make serve` and `make test`. Both set up a fresh Debian 12
# machine (as root) and are idempotent: a second run reuses what the first made.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
SYSTEM_PACKAGES := postgresql-15-postgis-3 chromium gdal-bin poppler-utils wrk fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0
STAMP := $(VENV)/.installed

.PHONY: serve test setup system venv lint format bench db-stop lock vendor

serve: setup  ## serve the app on http://127.0.0.1:8000 with the sample district loaded
	$(BIN)/wangge serve

test: setup  ## ruff, then the whole pytest suite against a real PostGIS
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
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

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,bench,sample]'
	touch $@

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup  ## print the benchmark figures
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

db-stop:
	$(BIN)/wangge db stop

lock:  ## re-pin every dependency after changing pyproject.toml
	$(BIN)/pip freeze --exclude-editable | grep -v '^wangge' > constraints.txt

vendor:  ## refresh maps/static/vendor (committed) from the npm packages pinned in package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	sh maps/static/vendor.sh
