# dumpfmt/module.mk - build rules of libgcdump (the gcdump format's writer and reader, dumps from cores and live
# processes), heapdump and their tests.
# Owns: libgcdump.a/.so from dumpfmt/*.c (heapdump.c excepted), build/bin/heapdump, dumpfmt/test/test_*.c, gcdump.h,
# gcdump_remote.h, heapdump.1, GCD_LIBS, and build/test/dumpfmt/heap_pause_so (heap_pause linked with libgcrt.so).

# The version comes from the header, the one place it is written.
GCD_LIB_VERSION := $(shell sed -n 's/.*define GCD_LIB_VERSION "\(.*\)".*/\1/p' dumpfmt/gcdump.h)

# What a program linking libgcdump.a needs besides: zstd for the frames,
# libelf for core files and the executables' symbols (core.c).
GCD_LIBS := -lzstd -lelf

$(eval $(call gc_library,gcdump,$(filter-out dumpfmt/heapdump.c,$(wildcard dumpfmt/*.c)),$(GCD_LIBS),$(GCD_LIB_VERSION)))

# heapdump: prints and verifies dumps; writes them from core files, live processes and a core on a pipe.
$(eval $(call gc_program,heapdump,dumpfmt/heapdump.c,$(LIB_gcdump_A),$(GCD_LIBS)))

# Each dumpfmt/test/test_NAME.c is a cmocka binary build/test/dumpfmt/test_NAME.
# They do not touch the runtime, so there is no GCRT_* stress pass.
$(eval $(call gc_tests,dumpfmt_test,dumpfmt/test,test/dumpfmt,$(LIB_gcdump_A),$(GCD_LIBS)))

# test_remote runs build/testdata/heap_pause (a libgcrt.a program, built by
# `all`) and this copy linked with libgcrt.so, so that the descriptor is
# found in a shared object. The soname link lives next to it (never
# installed); the rpath finds it.
GCD_PAUSE_SO := $(BUILD)/test/dumpfmt/heap_pause_so
GCD_PAUSE_SO_LIB := $(BUILD)/test/dumpfmt/lib/libgcrt.so.0
$(GCD_PAUSE_SO_LIB): $(BUILD)/lib/libgcrt.so
	@mkdir -p $(@D)
	$(Q)ln -sf ../../../lib/libgcrt.so $@
$(GCD_PAUSE_SO): $(BUILD)/obj/testdata/heap_pause.o $(GCD_PAUSE_SO_LIB)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< -L$(@D)/lib -l:libgcrt.so.0 -Wl,-rpath,'$$ORIGIN/lib' $(BASE_LDLIBS)
$(BUILD)/test/dumpfmt/test_remote: | $(GCD_PAUSE_SO)

# ... and this one linked as a position-dependent executable (ET_EXEC: no
# load bias, the descriptor constant in the file). runtime/ comes later in
# MODULES, so its archives are named by path here.
GCD_PAUSE_NOPIE := $(BUILD)/test/dumpfmt/heap_pause_nopie
$(GCD_PAUSE_NOPIE): $(BUILD)/obj/testdata/heap_pause.o $(BUILD)/lib/libgcrt.a $(BUILD)/lib/libgcdump.a
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -no-pie -o $@ $^ $(GCD_LIBS) $(BASE_LDLIBS)
$(BUILD)/test/dumpfmt/test_remote: | $(GCD_PAUSE_NOPIE)

# Under SANITIZE=1 every program is an ASan build, and a core of an ASan
# process is tens of GiB (gdb writes ASan's reservations out). The tests
# that take a core (gcore, a kernel core) therefore run a plain build of
# heap_pause compiled here from the same sources, without sanitizers:
# build-san/test/dumpfmt/plain/heap_pause. The heapdump reading the core
# stays the sanitized one; the live-process tests run the ASan child.
ifeq ($(SANITIZE),1)
GCD_PLAIN := $(BUILD)/test/dumpfmt/plain/heap_pause
GCD_PLAIN_SRCS := testdata/heap_pause.c $(wildcard runtime/*.c) $(filter-out dumpfmt/heapdump.c,$(wildcard dumpfmt/*.c))
GCD_PLAIN_OBJS := $(patsubst %.c,$(BUILD)/obj-plain/%.o,$(GCD_PLAIN_SRCS))
ALL_OBJS += $(GCD_PLAIN_OBJS)
$(BUILD)/obj-plain/%.o: %.c | $(DEPS_STAMP)
	$(call msg,CCPLAIN,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CPPFLAGS) -std=c11 $(WARNFLAGS) -pthread -MMD -MP $(CFLAGS) -c -o $@ $<
$(GCD_PLAIN): $(GCD_PLAIN_OBJS)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -pthread $(LDFLAGS) -o $@ $^ $(GCD_LIBS) $(BASE_LDLIBS)
$(BUILD)/test/dumpfmt/test_remote: | $(GCD_PLAIN)
endif

INSTALL_HEADERS += dumpfmt/gcdump.h dumpfmt/gcdump_remote.h dumpfmt/gcrt_contract.h

# dumpfmt/ depends on nothing in runtime/: its objects do not see runtime/ headers.
$(BUILD)/obj/dumpfmt/%.o: INCLUDE_DIRS := -Idumpfmt
INSTALL_MAN1 += dumpfmt/heapdump.1

# ----------------------------------------------------------------------
# dumpfmt/dotnet: gcdump-dotnet, the .NET core-dump converter (C#, ClrMD from
# NuGet, docs/dotnet.md). Built when `dotnet` is on PATH, into
# $(BUILD)/lib/gcdump-dotnet/ (installed as $(LIBDIR)/gcdump-dotnet/); it
# loads libgcdump.so from the folder above its own. heapdump finds it
# relative to its own binary, or at GCD_DOTNET_DIR. Not under SANITIZE=1:
# an ASan libgcdump.so cannot be loaded into the dotnet host.
# ----------------------------------------------------------------------
DOTNET ?= $(shell command -v dotnet 2>/dev/null)
GCD_DOTNET_DIR := $(BUILD)/lib/gcdump-dotnet
GCD_DOTNET := $(GCD_DOTNET_DIR)/gcdump-dotnet.dll
GCD_DOTNET_SRCS := $(wildcard dumpfmt/dotnet/*.cs) dumpfmt/dotnet/gcdump-dotnet.csproj
$(BUILD)/obj/dumpfmt/heapdump.o: MODULE_CPPFLAGS := -DGCD_DOTNET_DIR='"$(LIBDIR)/gcdump-dotnet"'
ifeq ($(DOTNET)$(filter 1,$(SANITIZE)),$(DOTNET))
ifneq ($(DOTNET),)
HAVE_DOTNET := 1
ALL_TARGETS += $(GCD_DOTNET)
$(GCD_DOTNET): $(GCD_DOTNET_SRCS) $(LIB_gcdump_SO)
	$(call msg,DOTNET,$(GCD_DOTNET_DIR))
	@mkdir -p $(GCD_DOTNET_DIR)
	$(Q)DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
	    $(DOTNET) build dumpfmt/dotnet/gcdump-dotnet.csproj -nologo -v quiet -c Release \
	    -o $(GCD_DOTNET_DIR) --artifacts-path $(BUILD)/obj/dotnet >$(BUILD)/obj/dotnet-build.log 2>&1 \
	    || { cat $(BUILD)/obj/dotnet-build.log; exit 1; }
	@touch $@
install: install-dotnet
.PHONY: install-dotnet
install-dotnet: $(GCD_DOTNET)
	$(Q)$(INSTALL) -d "$(DESTDIR)$(LIBDIR)/gcdump-dotnet"
	$(Q)for f in $(GCD_DOTNET_DIR)/*; do [ -f "$$f" ] && $(INSTALL) -m 644 "$$f" "$(DESTDIR)$(LIBDIR)/gcdump-dotnet/"; done; \
	    chmod 755 "$(DESTDIR)$(LIBDIR)/gcdump-dotnet/gcdump-dotnet"; echo "  INSTALL $(DESTDIR)$(LIBDIR)/gcdump-dotnet/"
endif
endif
# uninstall removes it whether or not this build has dotnet
uninstall: uninstall-dotnet
.PHONY: uninstall-dotnet
uninstall-dotnet:
	$(Q)if [ -d "$(DESTDIR)$(LIBDIR)/gcdump-dotnet" ]; then echo "  RM      $(DESTDIR)$(LIBDIR)/gcdump-dotnet/"; \
	    rm -rf "$(DESTDIR)$(LIBDIR)/gcdump-dotnet"; fi
ifneq ($(HAVE_DOTNET),1)
ALL_TARGETS += dotnet-skipped
.PHONY: dotnet-skipped
dotnet-skipped:
	@echo "  SKIP    dumpfmt/dotnet: $(if $(DOTNET),not built under SANITIZE=1,no dotnet on PATH): .NET dumps not supported by this build"
endif

# test_allocfail: every allocation of libgcdump made to fail in turn (dumpfmt/test/allocfail.h wraps them).
AF_LDFLAGS := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup
$(BUILD)/test/dumpfmt/test_allocfail: private ALL_LDFLAGS += $(AF_LDFLAGS)
# ----------------------------------------------------------------------
# dumpfmt/fuzz: libFuzzer targets of the reader (raw, checksums repaired)
# and the ELF core reader; their corpora in dumpfmt/fuzz/corpus/NAME.
# `make fuzz` runs them, `make check` replays the corpora (mk/functions.mk
# gc_fuzz). harness.c is shared with analyzer/fuzz and plugins/fuzz.
# ----------------------------------------------------------------------
ALL_OBJS += $(FUZZ_HARNESS_OBJS)
$(eval $(call gc_fuzz,dumpfmt_fuzz,dumpfmt/fuzz,$(LIB_gcdump_A),$(GCD_LIBS)))
# fuzz_reader_repaired makes allocations fail when its input says so (allocfail.h).
$(BUILD)/fuzz/fuzz_reader_repaired $(BUILD)/test/fuzz/fuzz_reader_repaired: private ALL_LDFLAGS += $(AF_LDFLAGS)
# test_fuzz_harness checks the harness itself (it links harness.o).
$(BUILD)/test/dumpfmt/test_fuzz_harness: $(FUZZ_HARNESS_OBJS)
$(BUILD)/test/dumpfmt/test_fuzz_harness: LDFLAGS += $(FUZZ_HARNESS_OBJS)
# The seed maker's helper (scripts/fuzz-seeds.sh): never installed.
FUZZ_REPAIR_TOOL := $(BUILD)/fuzz-tools/repair_tool
ALL_OBJS += $(BUILD)/obj/dumpfmt/fuzz/repair_tool.o
$(FUZZ_REPAIR_TOOL): $(BUILD)/obj/dumpfmt/fuzz/repair_tool.o $(FUZZ_HARNESS_OBJS) $(LIB_gcdump_A)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(GCD_LIBS) $(BASE_LDLIBS)
