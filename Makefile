# Harvest: the two commands of the README.
#   make demo   install what is missing, build, run the main job
#   make test   install what is missing, build, run every test (ctest)
# Also: make build, make asan-test (ASan+UBSan build of the tests), make
# tsan-test (ThreadSanitizer build of the multi-threaded tests), make fuzz
# (every libFuzzer target for FUZZ_SECONDS, clang), make fuzz-ci (30 s each,
# as CI runs them), make deps, make docker (the image: docs/deploy.md), make bench (needs ../shared/peers; see
# bench/README.md), make clean.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
# seconds each fuzz target runs (make fuzz; make fuzz-ci uses 30)
FUZZ_SECONDS ?= 300
# the fuzz build: clang with libFuzzer, ASan and UBSan (tests/fuzz/README.md)
FUZZ_CC    ?= clang
# the tests whose code runs on several threads at once: the server and its
# model slot, the top-n memo (test_score races it), auth's rate limits, the
# policy table and the guards (servers under concurrent clients), and the
# fault injection (writer threads against a server killed mid-write).
# Not test_util: its signal test loses signals to ThreadSanitizer's own
# delayed signal delivery (54 of 300 runs), never in the plain or ASan builds.
# Not test_dist: its ranks are separate single-threaded processes under
# mpirun, and Open MPI's uninstrumented progress threads only give TSan
# false reports (it runs in the plain and ASan builds).
TSAN_TESTS  = test_server test_modelslot test_score test_auth \
  test_policy_table test_serve_guard test_faults
JOBS       ?= $(shell nproc)
# make demo works in a folder of its own, re-created on every run, so that it
# never touches a home (./harvest-data) that holds the user's own data.
DEMO_HOME  ?= ./harvest-demo
CMAKE_FLAGS ?=

# prometheus: its promtool checks /metrics in test_server (skipped without it)
# python3-flasgger: its Swagger UI 3.x files make /docs interactive
# (serve --swagger-ui; a plain page without them); chromium: the browser
# tests (test_ui_browser, test_docs; skipped without it); openmpi-bin and
# libopenmpi-dev: data-parallel training (harvest train --distributed,
# mpirun; test_dist runs two ranks; built and skipped without them)
DEB_PACKAGES = build-essential cmake pkg-config git libsqlite3-dev \
  libjansson-dev libmicrohttpd-dev libsodium-dev libjwt-dev libopenblas-dev \
  libcurl4-gnutls-dev libzip-dev libgsl-dev libcmocka-dev \
  prometheus libpq-dev postgresql-15 python3-flasgger chromium \
  openmpi-bin libopenmpi-dev
FUZZ_DEB_PACKAGES = clang libclang-rt-dev

# make docker: the base image made by deploy/base-image.sh (debootstrap; no
# registry is reachable here) when it is missing, then the Dockerfile
DOCKER_BASE  ?= harvest-base:bookworm
DOCKER_IMAGE ?= harvest:latest

.PHONY: docker all deps fuzz-deps install-missing build test asan-test tsan-test fuzz-build fuzz fuzz-ci demo \
  bench clean

all: build

deps:
	@$(MAKE) --no-print-directory install-missing INSTALL_PACKAGES="$(DEB_PACKAGES)"

# the compiler of the fuzz build and its libFuzzer/sanitizer runtimes
fuzz-deps: deps
	@$(MAKE) --no-print-directory install-missing INSTALL_PACKAGES="$(FUZZ_DEB_PACKAGES)"

install-missing:
	@missing=""; for p in $(INSTALL_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

docker:
	@docker image inspect $(DOCKER_BASE) >/dev/null 2>&1 || deploy/base-image.sh $(DOCKER_BASE)
	docker build --network host --build-arg BASE=$(DOCKER_BASE) \
	  --build-arg HV_GIT_VERSION=$$(git describe --always --dirty --tags 2>/dev/null || echo unknown) \
	  -t $(DOCKER_IMAGE) .

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan-test: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHV_ASAN=ON \
	  -DHV_UBSAN=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

tsan-test: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DHV_TSAN=ON \
	  $(CMAKE_FLAGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target harvest $(TSAN_TESTS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS=halt_on_error=1 \
	  ctest --output-on-failure -R '^($(shell echo $(TSAN_TESTS) | tr ' ' '|'))$$'

# libFuzzer targets (tests/fuzz/fuzz_*.c) built with clang, ASan and UBSan;
# each runs from its seeds for FUZZ_SECONDS and prints executions and
# crashes (tests/fuzz/run.sh); a crash fails the target.
fuzz-build: fuzz-deps
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=$(FUZZ_CC) -DHV_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

fuzz-ci: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) 30

# The whole loop on a fresh home (docs/retraining.md): synthetic data with a
# planted drift, tuning, Production, the server, a week-by-week replay through
# the HTTP API, monitoring, stateful retraining, promotion, hot swap.
demo: build
	rm -rf $(DEMO_HOME)
	./$(BUILD)/harvest --home $(DEMO_HOME) demo

bench: build
	bench/run_all.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
