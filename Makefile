# Makefile - the one build of the project (GNU make, non-recursive).
# Owns: configuration, flags, top-level targets; each component adds its rules in DIR/module.mk.
#
#   make                 build libraries and programs into build/
#   make check           build, then run every test (runtime tests also under
#                        GCRT_HEAPVERIFY=1 and GCRT_GCSTRESS=1); TESTS=name filters
#   make demo            build everything and run scripts/demo.sh (heap, crash, dump)
#   make bench           build and run every program of bench/, then the workloads
#                        against the peer runtimes of bench/peers/ (BENCH_QUICK=1: minutes)
#   make install         PREFIX=/usr/local DESTDIR= ; make uninstall
#   make deps            check (as root: install) the Debian packages the build needs
#   make check-tsan      build the runtime and its tests with ThreadSanitizer
#                        (build-tsan/) and run the runtime suite under it
#   make fuzz            build the libFuzzer targets with clang (build-fuzz/) and run
#                        each for FUZZ_SECONDS (default 60) from its committed corpus
#   make clean           remove build/, build-san/, build-tsan/, build-fuzz/ and build-cov/
#   make help            this list, with the variables
#
# Variables: SANITIZE=1 (ASan+UBSan build in build-san/), TSAN=1
# (ThreadSanitizer build in build-tsan/), WERROR=1, V=1 (echo
# commands), TESTS="name ...", TEST_TIMEOUT=seconds, CC, CFLAGS, CPPFLAGS,
# LDFLAGS, PREFIX, DESTDIR, LIBDIR, BINDIR, INCLUDEDIR, MANDIR, LDCONFIG,
# BENCH_QUICK=1, BENCH_PEERS_ONLY=1 (and the BENCH_* of scripts/bench-peers.sh),
# FUZZ_SECONDS, FUZZ_CC, FUZZ=1 (libFuzzer build in build-fuzz/, used by make fuzz).

.DEFAULT_GOAL := all
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:
.DELETE_ON_ERROR:

# ----------------------------------------------------------------------
# Components, in dependency order (a fragment may use what an earlier one
# defined, e.g. testdata/ links libgcrt from runtime/). A directory joins the
# build by having a module.mk; those not written yet are skipped.
# ----------------------------------------------------------------------
MODULES := dumpfmt runtime analyzer plugins testdata testdata/dotnet testdata/plugin_example bench bench/dotnet

# ----------------------------------------------------------------------
# Build tree and flags
# ----------------------------------------------------------------------
SANITIZE ?= 0
TSAN ?= 0
FUZZ ?= 0
WERROR ?= 0
V ?= 0

ifeq ($(FUZZ),1)
# libFuzzer targets (make fuzz): clang, every object with coverage, ASan and UBSan.
BUILD ?= build-fuzz
FUZZ_CC ?= clang-14
CC := $(FUZZ_CC)
OPTFLAGS ?= -O1 -g
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),1)
BUILD ?= build-san
OPTFLAGS ?= -O1 -g
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Same defaults as .ci/run when make check runs the sanitized tests directly;
# values already in the environment win.
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
else ifeq ($(TSAN),1)
BUILD ?= build-tsan
OPTFLAGS ?= -O1 -g
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
# halt_on_error: a race fails the suite; values already in the environment win.
export TSAN_OPTIONS ?= halt_on_error=1:second_deadlock_stack=1
else
BUILD ?= build
OPTFLAGS ?= -O2 -g
SANFLAGS :=
endif

CFLAGS ?= $(OPTFLAGS)
WARNFLAGS := -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror)

# The project's own flags come first; the user's CPPFLAGS/CFLAGS/LDFLAGS may add to them.
# A module may narrow INCLUDE_DIRS for its objects (dumpfmt/ sees only itself).
INCLUDE_DIRS = -Iruntime -Idumpfmt
ALL_CPPFLAGS = -D_GNU_SOURCE $(INCLUDE_DIRS) $(MODULE_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS = -std=c11 $(WARNFLAGS) -pthread $(SANFLAGS) -MMD -MP $(EXTRA_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS)
BASE_LDLIBS := -lpthread -lm

AR ?= ar
INSTALL ?= install
# run after installing to the live system as root (LDCONFIG=true skips it)
LDCONFIG ?= ldconfig
SHELL := /bin/bash

ifeq ($(V),1)
Q :=
msg = @:
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2);
endif

# ----------------------------------------------------------------------
# Installation directories
# ----------------------------------------------------------------------
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PLUGINDIR ?= $(LIBDIR)/gcanalyze/plugins

# ----------------------------------------------------------------------
# Tests under stress. `make check` runs the runtime test binaries three times:
# plain, with GCRT_HEAPVERIFY=1 and with GCRT_GCSTRESS=1; the whole runtime
# suite must pass all three. The ONLY way to leave a binary out of a stress
# pass is to name it here (basename, e.g. test_threads) with a comment saying
# why. Both lists are empty: every runtime test runs under both.
# ----------------------------------------------------------------------
HEAPVERIFY_SKIP :=
GCSTRESS_SKIP :=

# Seconds one test binary may run before it counts as failed (0: no limit).
TEST_TIMEOUT ?= 900

# ----------------------------------------------------------------------
# Lists the fragments append to
# ----------------------------------------------------------------------
# built by `make all`
ALL_TARGETS :=
# every object (for the dependency files)
ALL_OBJS :=
# every test binary, run once by `make check`
TEST_BINS :=
# test binaries also run under GCRT_HEAPVERIFY=1 and GCRT_GCSTRESS=1
STRESS_TEST_BINS :=
# run by `make bench`
BENCH_PROGS :=
# libFuzzer targets (FUZZ=1), and BIN:CORPUS for each (mk/functions.mk gc_fuzz)
FUZZ_TARGETS :=
FUZZ_PAIRS :=
# what `make install` copies: headers -> $(INCLUDEDIR), static libraries -> $(LIBDIR)
INSTALL_HEADERS :=
INSTALL_STATIC_LIBS :=
# shared libraries -> $(LIBDIR); entries BUILD/lib/libNAME.so:MAJOR:X.Y.Z, installed as
# libNAME.so.X.Y.Z with the links libNAME.so.MAJOR (the soname) and libNAME.so
INSTALL_SHARED_LIBS :=
# -> $(BINDIR) (future: gcanalyze, heapdump)
INSTALL_PROGRAMS :=
# -> $(PLUGINDIR) (future: plugins/*.so)
INSTALL_PLUGINS :=
# generated .pc files -> $(PKGCONFIGDIR)
INSTALL_PKGCONFIG :=
# -> $(MANDIR)/man1 and $(MANDIR)/man3
INSTALL_MAN1 :=
INSTALL_MAN3 :=

DEPS_STAMP := $(BUILD)/.deps-ok

include mk/functions.mk
include $(wildcard $(addsuffix /module.mk,$(MODULES)))
include mk/pkgconfig.mk

# ----------------------------------------------------------------------
# Compilation: one rule for every object; fragments set EXTRA_CFLAGS and
# MODULE_CPPFLAGS as target-specific variables where they need more.
# ----------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# The packages are checked once per build tree; rerun when the script changes.
$(DEPS_STAMP): scripts/deps.sh
	$(Q)$(SHELL) scripts/deps.sh
	@mkdir -p $(@D)
	@touch $@

-include $(ALL_OBJS:.o=.d)

# ----------------------------------------------------------------------
# Top-level targets
# ----------------------------------------------------------------------
.PHONY: all tests check check-tsan tsan-run fuzz fuzz-build fuzz-run demo bench deps install uninstall clean help FORCE
FORCE:

all: $(ALL_TARGETS)

# Build the test binaries without running them.
tests: $(TEST_BINS)

deps:
	$(Q)$(SHELL) scripts/deps.sh
	@mkdir -p $(BUILD)
	@touch $(DEPS_STAMP)

# TESTS="heap test_roots" keeps the binaries named NAME or test_NAME.
ifneq ($(strip $(TESTS)),)
select_tests = $(foreach t,$(TESTS),$(filter %/$(t) %/test_$(t),$(1)))
CHECK_BINS := $(sort $(call select_tests,$(TEST_BINS)))
ifeq ($(CHECK_BINS),)
$(if $(filter check,$(MAKECMDGOALS)),$(error TESTS=$(TESTS) matches no test binary; known: $(notdir $(TEST_BINS))))
endif
else
CHECK_BINS := $(TEST_BINS)
endif
HEAPVERIFY_BINS := $(filter-out $(addprefix %/,$(HEAPVERIFY_SKIP)),$(filter $(STRESS_TEST_BINS),$(CHECK_BINS)))
GCSTRESS_BINS := $(filter-out $(addprefix %/,$(GCSTRESS_SKIP)),$(filter $(STRESS_TEST_BINS),$(CHECK_BINS)))
# The tests that compare the analyzer's answers with known truths run again
# on models re-opened from their persisted index (GCA_INDEX=reopen, with the
# indexes in a cache folder of the build tree: analyzer/index.c).
INDEX_TESTS := test_model test_dominators test_host test_clr test_demo test_e2e test_sos test_examples test_triage test_ci test_crash_matrix
INDEX_BINS := $(filter $(addprefix %/,$(INDEX_TESTS)),$(CHECK_BINS))
INDEX_CACHE := $(abspath $(BUILD))/index-cache
# And on models whose big arrays are files (GCA_SPILL=on: analyzer/store.c), as when memory is short,
# with the incoming references built in ranges of 32K targets (GCA_IN_PART: refs.c).
SPILL_TESTS := test_model test_dominators test_synth
SPILL_BINS := $(filter $(addprefix %/,$(SPILL_TESTS)),$(CHECK_BINS))

check: all $(CHECK_BINS)
	$(Q)rm -rf $(INDEX_CACHE)
	$(Q)TEST_TIMEOUT=$(TEST_TIMEOUT) $(SHELL) scripts/run-tests.sh \
	    $(CHECK_BINS) \
	    --env GCRT_HEAPVERIFY=1 $(HEAPVERIFY_BINS) \
	    --env GCRT_GCSTRESS=1 $(GCSTRESS_BINS) \
	    --env "GCA_INDEX=reopen XDG_CACHE_HOME=$(INDEX_CACHE)" $(INDEX_BINS) \
	    --env "GCA_SPILL=on GCA_SPILL_DIR=$(abspath $(BUILD)) GCA_IN_PART=262144" $(SPILL_BINS)

# The runtime suite under ThreadSanitizer, in its own build tree. Only the
# runtime's tests (the threaded code) and only the plain pass: TSan makes
# them several times slower, and the stress passes add no new interleavings.
check-tsan:
	$(Q)$(MAKE) --no-print-directory TSAN=1 SANITIZE=0 tsan-run

tsan-run: $(runtime_test_TESTS)
	$(Q)TEST_TIMEOUT=$(TEST_TIMEOUT) $(SHELL) scripts/run-tests.sh $(runtime_test_TESTS)

# The fuzz targets (mk/functions.mk gc_fuzz) built with clang's libFuzzer in
# build-fuzz/, each run FUZZ_SECONDS from its committed corpus
# (scripts/fuzz.sh; docs/reliability.md). `make check` replays the corpora
# with a plain driver instead.
FUZZ_SECONDS ?= 60
fuzz:
	$(Q)$(SHELL) scripts/deps.sh --fuzz
	$(Q)$(MAKE) --no-print-directory FUZZ=1 SANITIZE=0 TSAN=0 fuzz-run

fuzz-build: $(FUZZ_TARGETS)

fuzz-run: fuzz-build
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) $(SHELL) scripts/fuzz.sh $(BUILD) $(FUZZ_PAIRS)

# The whole story: the heap at work, a crash that leaves a dump, the dump read back.
demo: all
	$(Q)scripts/demo.sh $(BUILD)

# BENCH_PEERS_ONLY=1 runs only the peer comparison (scripts/bench-peers.sh,
# which rewrites docs/perf.md's peer section); its variables are listed there.
bench: $(BENCH_PROGS)
	$(Q)rc=0; \
	if [ "$(BENCH_PEERS_ONLY)" != 1 ]; then $(SHELL) scripts/run-bench.sh $(BENCH_PROGS) || rc=1; fi; \
	$(SHELL) scripts/bench-peers.sh $(BUILD) || rc=1; \
	exit $$rc

# Shared libraries are installed as NAME.so.X.Y.Z with the links NAME.so.X
# (the soname) and NAME.so; INSTALL_SHARED_LIBS holds build/lib/NAME.so:X:X.Y.Z.
#
# Running without LD_LIBRARY_PATH: gcanalyze and heapdump link libgca and
# libgcdump statically, so they run from any prefix (plugins are found at
# BINDIR/../lib/gcanalyze/plugins). Programs built against the installed
# libraries get an rpath to $(LIBDIR) from the .pc files
# (`pkg-config --libs gcrt` has -Wl,-rpath,$(LIBDIR)). Installing to the
# live system (no DESTDIR) as root also runs ldconfig, so that programs
# linked without pkg-config find the libraries in a system prefix.
#
# `make uninstall` removes the files and the directories install created:
# install records each directory it had to make (without DESTDIR), deepest
# last, in $(LIBDIR)/gcanalyze/installed-dirs; uninstall removes those that
# are empty.
GC_DIRS_RECORD = $(DESTDIR)$(LIBDIR)/gcanalyze/installed-dirs
install: all $(INSTALL_HEADERS) $(INSTALL_PKGCONFIG) $(INSTALL_MAN1) $(INSTALL_MAN3)
	$(Q)set -e; \
	made=(); \
	mkd() { local d=$$1 up=(); \
	        while [ ! -d "$$d" ]; do up=("$$d" "$${up[@]}"); d=$${d%/*}; [ -n "$$d" ] || break; done; \
	        $(INSTALL) -d "$$1"; made+=("$${up[@]}"); }; \
	inst() { mode=$$1 dir=$$2; shift 2; [ $$# -gt 0 ] || return 0; \
	         mkd "$(DESTDIR)$$dir"; \
	         for f in "$$@"; do echo "  INSTALL $(DESTDIR)$$dir/$${f##*/}"; \
	             $(INSTALL) -m $$mode "$$f" "$(DESTDIR)$$dir/"; done; }; \
	mkd "$(DESTDIR)$(LIBDIR)/gcanalyze"; \
	inst 644 $(INCLUDEDIR) $(INSTALL_HEADERS); \
	inst 644 $(LIBDIR) $(INSTALL_STATIC_LIBS); \
	for spec in $(INSTALL_SHARED_LIBS); do \
	    IFS=: read -r so major full <<<"$$spec"; base=$${so##*/}; \
	    mkd "$(DESTDIR)$(LIBDIR)"; \
	    echo "  INSTALL $(DESTDIR)$(LIBDIR)/$$base.$$full"; \
	    $(INSTALL) -m 755 "$$so" "$(DESTDIR)$(LIBDIR)/$$base.$$full"; \
	    ln -sf "$$base.$$full" "$(DESTDIR)$(LIBDIR)/$$base.$$major"; \
	    ln -sf "$$base.$$major" "$(DESTDIR)$(LIBDIR)/$$base"; \
	done; \
	inst 755 $(BINDIR) $(INSTALL_PROGRAMS); \
	inst 755 $(PLUGINDIR) $(INSTALL_PLUGINS); \
	inst 644 $(PKGCONFIGDIR) $(INSTALL_PKGCONFIG); \
	inst 644 $(MANDIR)/man1 $(INSTALL_MAN1); \
	inst 644 $(MANDIR)/man3 $(INSTALL_MAN3); \
	if [ $${#made[@]} -gt 0 ]; then printf '%s\n' "$${made[@]#"$(DESTDIR)"}" >> "$(GC_DIRS_RECORD)"; fi; \
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v $(firstword $(LDCONFIG)) >/dev/null 2>&1; then \
	    echo "  LDCONFIG"; $(LDCONFIG) || true; fi

uninstall:
	$(Q)set -e; \
	rmf() { dir=$$1; shift; for f in "$$@"; do \
	            [ -e "$(DESTDIR)$$dir/$${f##*/}" ] || [ -L "$(DESTDIR)$$dir/$${f##*/}" ] || continue; \
	            echo "  RM      $(DESTDIR)$$dir/$${f##*/}"; rm -f "$(DESTDIR)$$dir/$${f##*/}"; done; }; \
	rmf $(INCLUDEDIR) $(INSTALL_HEADERS); \
	rmf $(LIBDIR) $(INSTALL_STATIC_LIBS); \
	for spec in $(INSTALL_SHARED_LIBS); do \
	    IFS=: read -r so major full <<<"$$spec"; base=$${so##*/}; \
	    rmf $(LIBDIR) "$$base" "$$base.$$major" "$$base.$$full"; \
	done; \
	rmf $(BINDIR) $(INSTALL_PROGRAMS); \
	rmf $(PLUGINDIR) $(INSTALL_PLUGINS); \
	rmf $(PKGCONFIGDIR) $(INSTALL_PKGCONFIG); \
	rmf $(MANDIR)/man1 $(INSTALL_MAN1); \
	rmf $(MANDIR)/man3 $(INSTALL_MAN3); \
	if [ -f "$(GC_DIRS_RECORD)" ]; then \
	    mapfile -t made < "$(GC_DIRS_RECORD)"; rm -f "$(GC_DIRS_RECORD)"; \
	    for ((i = $${#made[@]} - 1; i >= 0; i--)); do \
	        d="$(DESTDIR)$${made[i]}"; \
	        if [ -d "$$d" ] && rmdir "$$d" 2>/dev/null; then echo "  RMDIR   $$d"; fi; \
	    done; \
	fi; \
	rmdir "$(DESTDIR)$(PLUGINDIR)" "$(DESTDIR)$(LIBDIR)/gcanalyze" 2>/dev/null || true

clean:
	rm -rf build build-san build-tsan build-fuzz build-cov

help:
	@sed -n '3,24p' Makefile | sed 's/^# \{0,1\}//'
	@echo
	@echo "BUILD=$(BUILD)  test binaries: $(notdir $(TEST_BINS))"
	@echo "stress skips: HEAPVERIFY_SKIP=($(HEAPVERIFY_SKIP)) GCSTRESS_SKIP=($(GCSTRESS_SKIP))"
