# One entry point for people and CI. `make test` is what .ci/run runs.
.PHONY: test demo vet fmt

test:
	./scripts/test.sh

demo:
	go run ./cmd/crr local demo

vet:
	go vet ./...

fmt:
	gofmt -l .
