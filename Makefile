# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test test-slow lint bench deploy clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/kemala local up --demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/pytest -q -m "not slow"

test-slow: $(STAMP)
	$(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true
	$(BIN)/mypy layers/kemala/kemala cli/kemala_cli functions
	$(BIN)/cfn-lint template.yaml

# One script per figure (bench/aws_stub.py and bench/cold_start.py are their shared helpers).
BENCHES := webhook_cold_start webhook_hot_path router_cold_start api_cold_start authorizer_cold_start \
	classifier requests_per_ticket routing_crossval

bench: $(STAMP)
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

deploy:
	sam build && sam deploy --guided

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .aws-sam
