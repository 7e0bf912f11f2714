# deposit-tiering: `make demo` to see it work, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# the benchmark's Quix Streams peer, inside the project's environment
PEER := $(VENV)/peer

.PHONY: install up down migrate demo test lint unit integration bench clean browser fonts messages k8s-policy

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11+" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[test,dev]'
	touch $@

up:
	bash deploy/local/up.sh

down:
	bash deploy/local/down.sh

migrate: install up
	$(BIN)/tiering db migrate

demo: install
	bash deploy/local/demo.sh

lint: install
	$(BIN)/ruff check tiering tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache --no-logo

unit: install fonts
	$(BIN)/pytest tests/unit -q

browser:
	bash deploy/local/chromium.sh

# Debian's fonts-noto-cjk: `tiering report` draws its Chinese charts in Noto Sans CJK
fonts:
	bash deploy/local/fonts.sh

test: install up browser fonts
	$(BIN)/tiering db migrate
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -q

# Not part of `make test`: minutes of load on the real local Kafka; writes bench/results and
# docs/benchmarks.md. Smaller: make bench BENCH_ARGS="--postings 200000 --customers 20000 --big 200000"
bench: install up $(PEER)/.installed
	$(BIN)/python -m bench $(BENCH_ARGS)

# The benchmark's Quix Streams peer, in an environment of its own (bench/peer/requirements.txt)
$(PEER)/.installed: bench/peer/requirements.txt
	$(PYTHON) -m venv $(PEER)
	$(PEER)/bin/pip install --quiet -r bench/peer/requirements.txt
	touch $@

# Extract every domain's messages (tiering/i18n/mapping/*.cfg) into its template and update each
# language's catalog; then translate what is new or empty in tiering/i18n/catalogs/*/LC_MESSAGES.
CATALOGS := tiering/i18n/catalogs
messages: install
	@for cfg in tiering/i18n/mapping/*.cfg; do \
	  domain=$$(basename $$cfg .cfg); \
	  $(BIN)/pybabel -q extract --no-location --sort-output --width=100 -F $$cfg -o $(CATALOGS)/$$domain.pot \
	    --project=deposit-tiering --copyright-holder=deposit-tiering --msgid-bugs-address= . || exit 1; \
	  for lang in zh_Hans_CN zh_Hant en; do \
	    $(BIN)/pybabel -q update --init-missing --no-fuzzy-matching --ignore-obsolete --width=100 \
	      -i $(CATALOGS)/$$domain.pot -d $(CATALOGS) -D $$domain -l $$lang || exit 1; \
	  done; \
	done

# The Kubernetes policy ConfigMap carries the packaged default policy: write it again from
# tiering/core/default_policy.toml after changing the policy (tests/deploy/test_k8s.py checks).
POLICY_CONFIGMAP := deploy/k8s/policy-configmap.yaml
k8s-policy:
	@{ sed '/^  policy.toml: |$$/q' $(POLICY_CONFIGMAP); \
	   sed 's/^\(.\)/    \1/' tiering/core/default_policy.toml; } > $(POLICY_CONFIGMAP).new
	@mv $(POLICY_CONFIGMAP).new $(POLICY_CONFIGMAP)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
