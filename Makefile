.PHONY: run test check lint bootstrap

run:
	@scripts/bootstrap.sh run
	@exec scripts/run.sh

test:
	@scripts/bootstrap.sh test
	@scripts/test.sh

# The inner loop: everything but tests marked slow (tiny pipelines, child-process studios)
# or e2e (the browser). `make test` (and CI) still runs the whole suite.
check:
	@scripts/bootstrap.sh test
	@scripts/test.sh -m "not slow and not e2e" $(ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
