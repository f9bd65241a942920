# One entry point for people and CI. `make test` is what .ci/run runs.
.PHONY: test demo vet fmt fuzz

test:
	./scripts/test.sh

demo: npm
	go run ./cmd/crr local demo

# npm installs the ASL runner (aws-local-stepfunctions) and Node 22 that the demo's hub
# stand-in needs; npm ci runs only when node_modules is missing or older than
# package-lock.json (npm ci writes node_modules/.package-lock.json last).
.PHONY: npm
npm: node_modules/.package-lock.json

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# Fuzzes every Fuzz* target for FUZZ_SECONDS (30) each; crashers land in testdata/fuzz.
FUZZ_SECONDS ?= 30
fuzz:
	./scripts/fuzz.sh $(FUZZ_SECONDS)

vet:
	go vet ./...

fmt:
	gofmt -l .
