# The README's two commands: `make up` and `make test`. Each installs the Debian packages it
# needs when they are missing (scripts/deps.sh checks first), configures and builds.
BUILD ?= build
JOBS  ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

# ccache hits across checkout directories (TOOLCHAIN.md §4).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build test up bench clean

all: build

deps:
	@scripts/deps.sh

configure: deps
	@test -f $(BUILD)/build.ninja || cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 600

up: build
	$(BUILD)/cmd/kubeop/kubeop up --plugin-path $(BUILD)/plugins

bench: build
	@scripts/deps.sh bench
	scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
