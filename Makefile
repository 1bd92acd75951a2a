# Quire's entry points. `make` is on every Linux machine, gives the two commands short memorable
# names, and keeps the real logic in scripts/ (plain bash) where it can be read and run directly.

.PHONY: run test setup app e2e clean help
.DEFAULT_GOAL := help

# Extra flags for the relay, e.g. `make run ARGS="--log-level debug"`.
ARGS ?=

help:
	@echo "make run    install what is missing, build the app and the relay, serve on http://127.0.0.1:8080"
	@echo "make test   formatting, clippy (native + wasm32), cargo tests, browser tests, end-to-end suite"
	@echo "make setup  only install missing tools (for tests: make setup FOR=test)"
	@echo "make app    only build the app into dist/"
	@echo "make e2e    only the Playwright suite, in a private network namespace (needs dist/ and the relay)"

run:
	@bash scripts/run.sh $(ARGS)

test:
	@bash scripts/test.sh

setup:
	@bash scripts/setup.sh $(or $(FOR),run)

app:
	@bash scripts/build-app.sh

e2e:
	@cd tests && bash ../scripts/netns.sh npx --no-install playwright test $(E2E_ARGS)

clean:
	rm -rf dist tests/test-results tests/playwright-report
