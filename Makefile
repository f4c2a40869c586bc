# The two commands of the quick start, and a few more for developers.
#   make demo   install, build a release binary, load the demo consortium, serve on 127.0.0.1:8080
#   make test   install, build, run every test with ctest (browser tests included)

DB ?= var/onedoor.db
LISTEN ?= 127.0.0.1:8080
JOBS ?= $(shell nproc)
# Where the machine's Node.js is older than 20.19 (Debian 12's), scripts/install-deps.sh puts a newer
# one here; every command below then finds it first.
export PATH := $(CURDIR)/tools/node/bin:$(PATH)

.PHONY: deps build release demo test test-asan test-sanitize bench bench-postgres bench-identity bench-eligibility bench-gate bench-notices bench-directory bench-queue bench-scorecard bench-person-view bench-match fuzz format clean

deps:
	@./scripts/install-deps.sh

release: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target onedoor

build: deps
	@cmake --preset dev >/dev/null
	@cmake --build --preset dev -j $(JOBS)

demo: release
	@mkdir -p $(dir $(DB))
	@ONEDOOR_DB=$(DB) ./build/release/onedoor migrate
	@ONEDOOR_DB=$(DB) ./build/release/onedoor demo-data
	@echo
	@echo "  onedoor demo: open http://$(LISTEN)/ and sign in with one of these (password demo-password-1):"
	@echo "    caseworker.city    caseworker, City Social Services Department"
	@echo "    frontdesk.city     front desk, City Social Services Department"
	@echo "    manager.city       manager, City Social Services Department"
	@echo "    caseworker.state   caseworker, State Benefits Agency"
	@echo "    caseworker.health  caseworker, Regional Health Authority"
	@echo "    caseworker.ngo     caseworker, Harbour Community Trust"
	@echo "    admin.city         administrator (staff and API tokens; no client records)"
	@echo "    governance.city    governance: decides sharing agreements (one is waiting)"
	@echo "  Stop the server with Ctrl-C."
	@echo
	@ONEDOOR_DB=$(DB) ONEDOOR_LISTEN=$(LISTEN) ONEDOOR_SECURE_COOKIES=false exec ./build/release/onedoor serve

test: build
	@ctest --preset dev

test-asan: deps
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build --preset asan-ubsan -j $(JOBS)
	@ctest --test-dir build/asan-ubsan --output-on-failure -j 2 -LE browser

# The C++ suites under the sanitizers, as CI runs them after `make test`: every unit and storage
# test (SQLite and PostgreSQL) under AddressSanitizer and UndefinedBehaviorSanitizer, then the
# concurrency-heavy ones under ThreadSanitizer. A finding fails the run.
SANITIZE_UNIT = core_test access_test audit_test exchange_test accounts_test registry_test eligibility_test \
	eligibility_registry_test sharing_test cases_test directory_test frontoffice_test metrics_test portal_test \
	http_test identity_test identity_registry_test storage_conformance_test openapi_test db_copy_test
SANITIZE_THREADS = storage_conformance_test audit_test exchange_test frontoffice_test sharing_test eligibility_test \
	identity_test identity_registry_test
test-sanitize: deps
	@cmake --preset asan-ubsan >/dev/null
	@cmake --build --preset asan-ubsan -j $(JOBS) --target $(SANITIZE_UNIT)
	@ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build/asan-ubsan --output-on-failure -j 2 -L 'unit|storage'
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS) --target $(SANITIZE_THREADS)
	@TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build/tsan --output-on-failure -j 2 -L 'unit|storage'

bench: release
	@cmake --build --preset release -j $(JOBS) --target bare_server person_benchmark
	@./bench/run.sh

bench-postgres: release
	@./bench/run_postgres.sh

bench-identity: release
	@cmake --build --preset release -j $(JOBS) --target identity_benchmark
	@./bench/febrl.sh
	@./build/release/src/identity_benchmark --benchmark_filter=ClientIndex

bench-eligibility: release
	@cmake --build --preset release -j $(JOBS) --target eligibility_benchmark
	@./bench/eligibility.sh

bench-gate: release
	@cmake --build --preset release -j $(JOBS) --target gate_benchmark
	@./build/release/bench/gate_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

bench-notices: release
	@cmake --build --preset release -j $(JOBS) --target notice_delivery_benchmark
	@./build/release/bench/notice_delivery_benchmark 5000 10

bench-directory: release
	@cmake --build --preset release -j $(JOBS) --target directory_benchmark
	@./build/release/bench/directory_benchmark --services 50000 --queries 2000

bench-queue: release
	@cmake --build --preset release -j $(JOBS) --target queue_benchmark
	@./build/release/bench/queue_benchmark --counters 50 --seconds 10 --rate 400

bench-match: release
	@cmake --build --preset release -j $(JOBS) --target match_refresh_benchmark
	@./build/release/bench/match_refresh_benchmark --persons 1000000 --changes 10

bench-person-view: release
	@node bench/person_view.mjs --requests 500 --entries 500

bench-scorecard: release
	@cmake --build --preset release -j $(JOBS) --target scorecard_benchmark
	@./bench/scorecard.sh 1000000 100000

fuzz: deps
	@for target in rules csv json hsds config; do ./fuzz/run.sh 600 $$target || exit 1; done

format:
	@clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	@rm -rf build
