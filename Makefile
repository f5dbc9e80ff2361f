# trifecta: `make run` and `make test` are the whole set-up on a fresh Debian machine.

CARGO ?= cargo
BIND ?= 127.0.0.1:3000
STORAGE ?= storage

.PHONY: run build test fmt fmt-check lint doc ci bench clean

## Build everything needed, then serve on $(BIND) with storage in $(STORAGE).
run: build
	./target/release/trifecta --storage $(STORAGE) serve --bind $(BIND)

## The release binary.
build:
	$(CARGO) build --release --locked

## Every test (installs the Node packages of tests/js first when its lock changed).
test: tests/js/node_modules/.package-lock.json
	$(CARGO) test --locked --all-targets

## The unmodified @rails/actioncable client and ws, for the Node test of /cable.
tests/js/node_modules/.package-lock.json: tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all --check

lint:
	$(CARGO) clippy --locked --all-targets -- -D warnings

doc:
	RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --locked --no-deps

## What CI runs, plus formatting, lints and docs.
ci: fmt-check lint test doc

## Benchmarks against the release binary.
bench: build
	$(CARGO) bench --locked

clean:
	$(CARGO) clean
