# trifecta: `make run` and `make test` are the whole set-up on a fresh Debian machine.

CARGO ?= cargo
NPM ?= npm
BIND ?= 127.0.0.1:3000
STORAGE ?= storage

# The front end is rebuilt only when its sources change; cargo embeds assets/dist.
ASSETS_SRC := $(shell find assets/src -type f 2>/dev/null) assets/vite.config.js assets/package.json
NODE_MODULES := assets/node_modules/.package-lock.json
MANIFEST := assets/dist/.vite/manifest.json

.PHONY: run build frontend chromium promtool pebble postgresql dist test test-js test-rust test-postgres test-dist test-browser test-browser-postgres fmt fmt-check lint doc ci bench soak clean

## Build everything needed, then serve on $(BIND) with storage in $(STORAGE).
run: build
	./target/release/trifecta --storage $(STORAGE) serve --bind $(BIND)

## The front end, then the release binary (which embeds it).
build: frontend
	$(CARGO) build --release --locked

## The Vite build of assets/ into assets/dist/.
frontend: $(MANIFEST)

$(NODE_MODULES): assets/package.json assets/package-lock.json
	$(NPM) ci --prefix assets --no-audit --no-fund
	@touch $@

$(MANIFEST): $(NODE_MODULES) $(ASSETS_SRC)
	$(NPM) run build --prefix assets

## Debian's Chromium for the browser tests (installed when missing).
chromium:
	@command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

## Debian's promtool (package `prometheus`), which checks `/metrics` in the tests.
promtool:
	@command -v promtool >/dev/null || (apt-get update && apt-get install -y prometheus)

## Debian's PostgreSQL server binaries (`initdb`, `postgres`): the tests start a throwaway
## cluster of their own unless TRIFECTA_TEST_DATABASE_URL names a server (installed when
## missing; the package's own cluster is not used).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update && apt-get install -y postgresql)

## Debian's pebble (the ACME test server) for the HTTPS tests (installed when missing).
pebble:
	@command -v pebble >/dev/null || (apt-get update && apt-get install -y pebble)

## The release binary for any x86-64 Linux with glibc $(DIST_GLIBC) or newer: linked by
## cargo-zigbuild with Zig from PyPI's `ziglang` (in a venv under target/), both installed
## when missing. Output: $(DIST_BIN).
DIST_TARGET ?= x86_64-unknown-linux-gnu
DIST_GLIBC ?= 2.17
DIST_BIN := target/dist/trifecta
ZIG_VENV := target/zig-venv
dist: frontend
	@command -v cargo-zigbuild >/dev/null || $(CARGO) install cargo-zigbuild --version 0.24.1 --locked
	@test -x $(ZIG_VENV)/bin/python3 || python3 -m venv $(ZIG_VENV)
	@$(ZIG_VENV)/bin/python3 -c 'import ziglang' 2>/dev/null || $(ZIG_VENV)/bin/pip install --quiet ziglang==0.17.1
	PATH="$(CURDIR)/$(ZIG_VENV)/bin:$$PATH" $(CARGO) zigbuild --release --locked --target $(DIST_TARGET).$(DIST_GLIBC)
	@mkdir -p $(dir $(DIST_BIN))
	cp target/$(DIST_TARGET)/release/trifecta $(DIST_BIN)

## Every check and test, as CI runs them (`.ci/run`): first the checks that take seconds
## (`make check`), then the front end's unit tests (vitest), Rust unit and integration tests,
## the glibc requirement of `make dist`'s binary, and the headless-browser tests against the
## release binary.
test: check test-js test-fuzz test-rust test-postgres test-dist test-browser test-browser-postgres

## The front end's unit tests (vitest): the cross-tab cable and the sync-marker debounce.
test-js: $(NODE_MODULES)
	$(NPM) test --prefix assets

## Every crate's tests; the engines' own tests (models included) run on both backends.
test-rust: frontend pebble promtool postgresql tests/js/node_modules/.package-lock.json
	$(CARGO) test --locked --workspace --all-targets

## The integration tests again with their stores on PostgreSQL (TRIFECTA_TEST_BACKEND=postgres:
## each in-process server and queue fixture gets a fresh database on a throwaway cluster the
## harness starts itself, or on TRIFECTA_TEST_DATABASE_URL, and the CLI and second servers a
## test starts on its storage dir use it too). The tests about SQLite files skip, saying so.
test-postgres: frontend pebble promtool postgresql tests/js/node_modules/.package-lock.json
	TRIFECTA_TEST_BACKEND=postgres $(CARGO) test --locked --test api

## The unmodified @rails/actioncable client and ws, for the Node test of /cable.
tests/js/node_modules/.package-lock.json: tests/js/package.json tests/js/package-lock.json
	$(NPM) ci --prefix tests/js --no-audit --no-fund
	@touch $@

.PHONY: test-fuzz fuzz

## The committed fuzz corpus (fuzz/corpus/, fuzz/regressions/) replayed through every fuzz
## target's checks, on stable, in seconds.
test-fuzz: frontend
	$(CARGO) test --locked -p trifecta-fuzz --test replay

## Every fuzz target for FUZZ_SECONDS (libFuzzer, nightly; both installed when missing),
## starting from the committed corpus and growing a working copy in target/fuzz-corpus/;
## crashes land in fuzz/artifacts/. Then FUZZ_EXTRA, longer runs of the other randomized
## tests: by default the engines' model tests with MODEL_CASES sequences each, and the crash
## checker for CRASH_SECONDS under each --on-dead-process mode.
FUZZ_SECONDS ?= 600
MODEL_CASES ?= 5000
CRASH_SECONDS ?= 600
FUZZ_EXTRA ?= PROPTEST_CASES=$(MODEL_CASES) $(CARGO) test --locked -p trifecta-queue -p trifecta-cache -p trifecta-cable --test model && \
  CRASH_SECONDS=$(CRASH_SECONDS) $(CARGO) test --locked --test api crash::jobs -- --nocapture && \
  CRASH_SECONDS=$(CRASH_SECONDS) CRASH_ON_DEAD_PROCESS=fail $(CARGO) test --locked --test api crash::jobs -- --nocapture
FUZZ_TARGETS := $(basename $(notdir $(wildcard fuzz/fuzz_targets/*.rs)))
# The release profile's thin LTO would make linking each target the longest part of the build,
# and its stripped symbols would leave a crash without a backtrace.
FUZZ_RUN := CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_STRIP=false \
  $(CARGO) +nightly fuzz run --sanitizer none --features libfuzzer --codegen-units 16
fuzz: frontend
	@rustup run nightly rustc --version >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz --version 0.13.2
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p target/fuzz-corpus/$$t && \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s" && \
	  $(FUZZ_RUN) $$t target/fuzz-corpus/$$t fuzz/corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done
	$(FUZZ_EXTRA)

## Reads the symbol versions `make dist`'s binary requires against what README promises.
test-dist: dist
	TRIFECTA_DIST_BIN=$(DIST_BIN) $(CARGO) test --locked --test dist -- --ignored

## --test-force-exit: a test that failed half-way must not keep its file (and CI) running.
test-browser: build chromium
	node --test --test-force-exit tests/browser/

## The browser tests again with every server's stores on PostgreSQL (a throwaway cluster).
test-browser-postgres: build chromium postgresql
	tests/browser/with-postgres.sh

fmt:
	$(CARGO) fmt --all

fmt-check:
	$(CARGO) fmt --all --check

.PHONY: lint-rust lint-js tracked check

## Clippy over every crate and target, and ESLint (with the Rules of Hooks) over assets/src.
lint: lint-js lint-rust

lint-rust: frontend
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

lint-js: $(NODE_MODULES)
	$(NPM) run lint --prefix assets

## The API docs of every crate, failing on a broken link or a missing doc.
doc: frontend
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --locked --workspace --no-deps

## Fails, listing them, when git tracks a generated or vendored file: installed packages,
## build output, caches of the front end's tools, or a database.
GENERATED := (^|/)node_modules/|^assets/dist/|(^|/)target/|(^|/)\.vite/|(^|/)\.vitest/|(^|/)coverage/|\.tsbuildinfo$$|\.eslintcache$$|\.sqlite3(-[a-z]+)?$$
tracked:
	@found=$$(git ls-files | grep -E '$(GENERATED)' || true); \
	if [ -n "$$found" ]; then \
	  echo "generated or vendored files are tracked (git rm --cached them):" >&2; \
	  echo "$$found" >&2; \
	  exit 1; \
	fi

## The house style, cheapest first: no generated file tracked, formatting, ESLint, clippy,
## the API docs.
check: tracked fmt-check lint-js lint-rust doc

## What CI runs (the same as `make test`).
ci: test

## Benchmarks against the release binary: one Markdown report on stdout, the figures in
## target/bench/latest.json, a latency CDF in target/bench/latency-cdf.svg. QUICK=1: ~1 minute.
## PostgreSQL (for its part beside SQLite) is installed when missing.
QUICK ?=
bench: build postgresql
	$(CARGO) bench --locked --no-run
	BENCH_QUICK=$(QUICK) $(CARGO) bench --locked --bench report

## Ten minutes of mixed traffic, hostile sockets and a kill -9 every 30 s against the release
## binary; fails unless no acknowledged write is lost, integrity_check is ok, no broadcast is
## left and RSS stays within 20 %. SOAK_SECS / SOAK_KILL_EVERY change the lengths.
soak: build
	$(CARGO) bench --locked --bench soak

clean:
	$(CARGO) clean
	rm -rf assets/dist assets/node_modules
