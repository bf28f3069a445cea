# Harvest: the two commands of the README.
#   make demo   install what is missing, build, run the main job
#   make test   install what is missing, build, run every test (ctest)
# Also: make build, make asan-test (ASan+UBSan build of the tests), make
# tsan-test (ThreadSanitizer build of the multi-threaded tests), make deps,
# make bench (needs ../shared/peers; see bench/README.md), make clean.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# the tests whose code runs on several threads at once: the server and its
# model slot, the top-n memo (test_score races it), auth's rate limits.
# Not test_util: its signal test loses signals to ThreadSanitizer's own
# delayed signal delivery (54 of 300 runs), never in the plain or ASan builds
TSAN_TESTS  = test_server test_modelslot test_score test_auth
JOBS       ?= $(shell nproc)
# make demo works in a folder of its own, re-created on every run, so that it
# never touches a home (./harvest-data) that holds the user's own data.
DEMO_HOME  ?= ./harvest-demo
CMAKE_FLAGS ?=

DEB_PACKAGES = build-essential cmake pkg-config git libsqlite3-dev \
  libjansson-dev libmicrohttpd-dev libsodium-dev libjwt-dev libopenblas-dev \
  libcurl4-gnutls-dev libzip-dev libgsl-dev libcmocka-dev

.PHONY: all deps build test asan-test tsan-test demo bench clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO=sudo; \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

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

# The whole loop on a fresh home (docs/retraining.md): synthetic data with a
# planted drift, tuning, Production, the server, a week-by-week replay through
# the HTTP API, monitoring, stateful retraining, promotion, hot swap.
demo: build
	rm -rf $(DEMO_HOME)
	./$(BUILD)/harvest --home $(DEMO_HOME) demo

bench: build
	bench/run_all.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD)
