# mk/functions.mk - rule templates the DIR/module.mk fragments instantiate with $(eval $(call ...)).
# Owns: how a library, a directory of programs, a directory of tests and a directory of plugins are built.
#
# Objects go to $(BUILD)/obj/<source path>.o and are compiled by the single
# pattern rule in the Makefile. Every template appends its objects to
# ALL_OBJS so their -MMD dependency files are included.

# ----------------------------------------------------------------------
# gc_library NAME, SOURCES, EXTRA_LDLIBS, VERSION
#   $(BUILD)/lib/libNAME.a and $(BUILD)/lib/libNAME.so (soname
#   libNAME.so.MAJOR) from SOURCES, compiled once with -fPIC
#   -fvisibility=hidden: only symbols marked with the header's API macro
#   are exported by the .so; the .a links everything as usual.
#   EXTRA_LDLIBS are what the .so itself needs (e.g. -lzstd); programs
#   linking the .a must name them too. Defines LIB_NAME_A, LIB_NAME_SO,
#   LIB_NAME_OBJS, and registers both libraries for `make all` and install.
# ----------------------------------------------------------------------
define gc_library
LIB_$(1)_OBJS := $$(patsubst %.c,$$(BUILD)/obj/%.o,$(2))
LIB_$(1)_A := $$(BUILD)/lib/lib$(1).a
LIB_$(1)_SO := $$(BUILD)/lib/lib$(1).so
LIB_$(1)_MAJOR := $$(firstword $$(subst ., ,$(4)))
ALL_OBJS += $$(LIB_$(1)_OBJS)
ALL_TARGETS += $$(LIB_$(1)_A) $$(LIB_$(1)_SO)
INSTALL_STATIC_LIBS += $$(LIB_$(1)_A)
INSTALL_SHARED_LIBS += $$(LIB_$(1)_SO):$$(LIB_$(1)_MAJOR):$(4)

$$(LIB_$(1)_OBJS): EXTRA_CFLAGS := -fPIC -fvisibility=hidden

$$(LIB_$(1)_A): $$(LIB_$(1)_OBJS)
	$$(call msg,AR,$$@)
	@mkdir -p $$(@D)
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^

$$(LIB_$(1)_SO): $$(LIB_$(1)_OBJS)
	$$(call msg,LD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) -shared -Wl,-soname,lib$(1).so.$$(LIB_$(1)_MAJOR) -Wl,-z,defs \
	    $$(ALL_LDFLAGS) -o $$@ $$^ $(3) $$(BASE_LDLIBS)
endef

# ----------------------------------------------------------------------
# gc_programs ID, SRCDIR, OUTDIR, LIBFILES, EXTRA_LDLIBS
#   Every SRCDIR/NAME.c is one program $(BUILD)/OUTDIR/NAME, linked with
#   LIBFILES (static libraries, in link order), EXTRA_LDLIBS, -lpthread -lm.
#   Files added later are found by the wildcard. Defines ID_PROGS; the
#   fragment decides which list (ALL_TARGETS, BENCH_PROGS, ...) gets them.
# ----------------------------------------------------------------------
define gc_programs
$(1)_SRCS := $$(wildcard $(2)/*.c)
$(1)_PROGS := $$(patsubst $(2)/%.c,$$(BUILD)/$(3)/%,$$($(1)_SRCS))
ALL_OBJS += $$(patsubst %.c,$$(BUILD)/obj/%.o,$$($(1)_SRCS))

$$($(1)_PROGS): $$(BUILD)/$(3)/%: $$(BUILD)/obj/$(2)/%.o $(4)
	$$(call msg,LD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$< $(4) $(5) $$(BASE_LDLIBS)
endef

# ----------------------------------------------------------------------
# gc_program NAME, SOURCES, LIBFILES, EXTRA_LDLIBS
#   One installed program $(BUILD)/bin/NAME from several SOURCES (e.g.
#   gcanalyze, heapdump), linked with LIBFILES, EXTRA_LDLIBS, -lpthread -lm.
#   Defines PROG_NAME and registers it for `make all` and install (BINDIR).
# ----------------------------------------------------------------------
define gc_program
PROG_$(1) := $$(BUILD)/bin/$(1)
PROG_$(1)_OBJS := $$(patsubst %.c,$$(BUILD)/obj/%.o,$(2))
ALL_OBJS += $$(PROG_$(1)_OBJS)
ALL_TARGETS += $$(PROG_$(1))
INSTALL_PROGRAMS += $$(PROG_$(1))

$$(PROG_$(1)): $$(PROG_$(1)_OBJS) $(3)
	$$(call msg,LD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$(PROG_$(1)_OBJS) $(3) $(4) $$(BASE_LDLIBS)
endef

# ----------------------------------------------------------------------
# gc_tests ID, SRCDIR, OUTDIR, LIBFILES, EXTRA_LDLIBS, STRESS
#   Every SRCDIR/test_NAME.c is one cmocka test binary
#   $(BUILD)/OUTDIR/test_NAME. Other .c files in SRCDIR are shared helpers,
#   linked into every test binary of the directory. Links LIBFILES,
#   -lcmocka, EXTRA_LDLIBS, -lpthread -lm. Appends to TEST_BINS; with
#   STRESS=stress also to STRESS_TEST_BINS (run again under GCRT_HEAPVERIFY=1
#   and GCRT_GCSTRESS=1). Defines ID_TESTS.
# ----------------------------------------------------------------------
define gc_tests
$(1)_SRCS := $$(wildcard $(2)/test_*.c)
$(1)_HELPER_OBJS := $$(patsubst %.c,$$(BUILD)/obj/%.o,$$(filter-out $(2)/test_%.c,$$(wildcard $(2)/*.c)))
$(1)_TESTS := $$(patsubst $(2)/%.c,$$(BUILD)/$(3)/%,$$($(1)_SRCS))
ALL_OBJS += $$(patsubst %.c,$$(BUILD)/obj/%.o,$$($(1)_SRCS)) $$($(1)_HELPER_OBJS)
TEST_BINS += $$($(1)_TESTS)
ifeq ($(6),stress)
STRESS_TEST_BINS += $$($(1)_TESTS)
endif

$$($(1)_TESTS): $$(BUILD)/$(3)/%: $$(BUILD)/obj/$(2)/%.o $$($(1)_HELPER_OBJS) $(4)
	$$(call msg,LD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$< $$($(1)_HELPER_OBJS) $(4) -lcmocka $(5) $$(BASE_LDLIBS)
endef

# ----------------------------------------------------------------------
# gc_plugins ID, SRCDIR, EXTRA_LDLIBS, EXCLUDE
#   Every SRCDIR/NAME.c (but the files in EXCLUDE) is one shared object $(BUILD)/plugins/NAME.so
#   (linked with EXTRA_LDLIBS and PLUGIN_LDLIBS_NAME, the libraries that plugin alone needs)
#   (-fPIC -fvisibility=hidden; the plugin marks its entry point visible).
#   Symbols of the host program stay undefined until load time; libm and
#   libpthread are named (BASE_LDLIBS) so a plugin that calls, say, trunc
#   does not depend on the program happening to link them. Defines
#   ID_PLUGINS and registers them for `make all` and install (PLUGINDIR).
# ----------------------------------------------------------------------
define gc_plugins
$(1)_SRCS := $$(filter-out $(4),$$(wildcard $(2)/*.c))
$(1)_OBJS := $$(patsubst %.c,$$(BUILD)/obj/%.o,$$($(1)_SRCS))
$(1)_PLUGINS := $$(patsubst $(2)/%.c,$$(BUILD)/plugins/%.so,$$($(1)_SRCS))
ALL_OBJS += $$($(1)_OBJS)
ALL_TARGETS += $$($(1)_PLUGINS)
INSTALL_PLUGINS += $$($(1)_PLUGINS)

$$($(1)_OBJS): EXTRA_CFLAGS := -fPIC -fvisibility=hidden

$$($(1)_PLUGINS): $$(BUILD)/plugins/%.so: $$(BUILD)/obj/$(2)/%.o
	$$(call msg,LD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) -shared $$(ALL_LDFLAGS) -o $$@ $$< $(3) $$(PLUGIN_LDLIBS_$$*) $$(BASE_LDLIBS)
endef

# ----------------------------------------------------------------------
# gc_fuzz ID, SRCDIR, LIBFILES, EXTRA_LDLIBS
#   Every SRCDIR/fuzz_NAME.c is one libFuzzer target (it defines
#   LLVMFuzzerTestOneInput) whose committed corpus is SRCDIR/corpus/NAME
#   (regressions/ in it: inputs that once failed). Linked with
#   dumpfmt/fuzz/harness.c, LIBFILES, EXTRA_LDLIBS, -lpthread -lm.
#   FUZZ=1 (`make fuzz`, clang): $(BUILD)/fuzz/fuzz_NAME with libFuzzer's
#   main, listed in FUZZ_TARGETS (as BIN:CORPUS in FUZZ_PAIRS).
#   Otherwise: $(BUILD)/test/fuzz/fuzz_NAME with the replay driver
#   (dumpfmt/fuzz/driver.c, compiled per target with its corpus folder),
#   a test binary `make check` runs: every corpus file, once.
#   Defines ID_BINS.
# ----------------------------------------------------------------------
FUZZ_HARNESS_OBJS = $(BUILD)/obj/dumpfmt/fuzz/harness.o
define gc_fuzz
$(1)_SRCS := $$(wildcard $(2)/fuzz_*.c)
$(1)_NAMES := $$(patsubst $(2)/fuzz_%.c,%,$$($(1)_SRCS))
ALL_OBJS += $$(patsubst %.c,$$(BUILD)/obj/%.o,$$($(1)_SRCS))
ifeq ($(FUZZ),1)
$(1)_BINS := $$(patsubst %,$$(BUILD)/fuzz/fuzz_%,$$($(1)_NAMES))
FUZZ_TARGETS += $$($(1)_BINS)
FUZZ_PAIRS += $$(foreach n,$$($(1)_NAMES),$$(BUILD)/fuzz/fuzz_$$(n):$(2)/corpus/$$(n))
$$($(1)_BINS): $$(BUILD)/fuzz/fuzz_%: $$(BUILD)/obj/$(2)/fuzz_%.o $$(FUZZ_HARNESS_OBJS) $(3)
	$$(call msg,LD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -fsanitize=fuzzer -o $$@ $$< $$(FUZZ_HARNESS_OBJS) $(3) $(4) $$(BASE_LDLIBS)
else
$(1)_BINS := $$(patsubst %,$$(BUILD)/test/fuzz/fuzz_%,$$($(1)_NAMES))
$(1)_DRIVER_OBJS := $$(patsubst %,$$(BUILD)/obj/fuzz-driver/$(2)/%.o,$$($(1)_NAMES))
ALL_OBJS += $$($(1)_DRIVER_OBJS)
TEST_BINS += $$($(1)_BINS)
$$($(1)_BINS): $$(BUILD)/test/fuzz/fuzz_%: $$(BUILD)/obj/$(2)/fuzz_%.o $$(BUILD)/obj/fuzz-driver/$(2)/%.o $$(FUZZ_HARNESS_OBJS) $(3)
	$$(call msg,LD,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) $$(ALL_LDFLAGS) -o $$@ $$< $$(BUILD)/obj/fuzz-driver/$(2)/$$*.o $$(FUZZ_HARNESS_OBJS) $(3) $(4) $$(BASE_LDLIBS)
$$($(1)_DRIVER_OBJS): $$(BUILD)/obj/fuzz-driver/$(2)/%.o: dumpfmt/fuzz/driver.c | $$(DEPS_STAMP)
	$$(call msg,CC,$$@)
	@mkdir -p $$(@D)
	$$(Q)$$(CC) -Idumpfmt/fuzz $$(ALL_CFLAGS) -DFUZZ_CORPUS_DIR='"$$(CURDIR)/$(2)/corpus/$$*"' -c -o $$@ $$<
endif
endef
