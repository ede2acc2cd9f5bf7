# plugins/module.mk - build rules of the gcanalyze command plugins and their end-to-end tests.
# Owns: every plugins/NAME.c -> $(BUILD)/plugins/NAME.so (found by the host next to bin/), plugins/test/test_*.c.

# Each plugins/NAME.c is one shared object; the gca_* symbols come from the
# gcanalyze executable at load time. The helpers they share (plugins/util.c,
# declared in util.h) are compiled once into a static library, position-
# independent and hidden, and linked into each plugin: not a plugin itself,
# not installed.
PLUGUTIL_SRCS := plugins/util.c
PLUGUTIL_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(PLUGUTIL_SRCS))
PLUGUTIL_A := $(BUILD)/lib/libgcaplug.a
ALL_OBJS += $(PLUGUTIL_OBJS)
$(PLUGUTIL_OBJS): EXTRA_CFLAGS := -fPIC -fvisibility=hidden
$(PLUGUTIL_OBJS): MODULE_CPPFLAGS := -Ianalyzer
$(PLUGUTIL_A): $(PLUGUTIL_OBJS)
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(eval $(call gc_plugins,plugins,plugins,$(PLUGUTIL_A) -lm,$(PLUGUTIL_SRCS)))
$(plugins_OBJS): MODULE_CPPFLAGS := -Ianalyzer
$(plugins_PLUGINS): $(PLUGUTIL_A)
# sql.so alone reads through SQLite's virtual tables (Debian libsqlite3-dev).
PLUGIN_LDLIBS_sql := -lsqlite3

# End-to-end tests: they run build/testdata/heap_* to write dumps, then
# build/bin/gcanalyze on them; `make check` builds everything (all) first.
$(eval $(call gc_tests,plugins_test,plugins/test,test/plugins,$(GCRT_LINK),-lzstd))
$(patsubst %.c,$(BUILD)/obj/%.o,$(plugins_test_SRCS)) $(plugins_test_HELPER_OBJS): MODULE_CPPFLAGS := -Ianalyzer
# (testdata/ comes later in MODULES: name its programs by path.)
$(plugins_test_TESTS): | $(plugins_PLUGINS) $(PROG_gcanalyze) \
    $(patsubst testdata/%.c,$(BUILD)/testdata/%,$(wildcard testdata/heap_*.c))
# test_synth runs the dump synthesizer of bench/ (built later in MODULES: named by path).
$(BUILD)/test/plugins/test_synth: | $(BUILD)/bench/gcsynth

# plugins/fuzz: the libFuzzer target running every command over a fuzzed dump,
# corpus in plugins/fuzz/corpus/commands (mk/functions.mk gc_fuzz). It loads
# the plugins of $(BUILD)/plugins like gcanalyze, so it links libgca whole
# and exports the gca_* functions.
$(BUILD)/obj/plugins/fuzz/%.o: MODULE_CPPFLAGS := -Ianalyzer -Idumpfmt/fuzz
$(eval $(call gc_fuzz,plugins_fuzz,plugins/fuzz,$(LIB_gcdump_A),$(GCA_WHOLE_LIB) $(LIB_gcdump_A) -lzstd -lelf -ldl $(GCA_EXPORT_LDFLAGS)))
$(plugins_fuzz_BINS): $(LIB_gca_A) | $(plugins_PLUGINS)
