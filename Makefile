.PHONY: run test lint bootstrap

run:
	@scripts/bootstrap.sh run
	@exec scripts/run.sh

test:
	@scripts/bootstrap.sh test
	@scripts/test.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
