# analyzer/module.mk - build rules of libgca (heap model, plugin host, output layer), gcanalyze and their tests.
# Owns: libgca.a/.so from analyzer/*.c (gcanalyze.c excepted), build/bin/gcanalyze, analyzer/test/test_*.c,
# the test plugins analyzer/test/plugins/*.c, and the installed gca.h, gca_plugin.h, gcanalyze.1.

# The version comes from the header, the one place it is written.
GCA_VERSION := $(shell sed -n 's/.*define GCA_VERSION_STRING "\(.*\)".*/\1/p' analyzer/gca.h)

# Everything under analyzer/ includes the headers by name (test/ and test/plugins/ too).
$(BUILD)/obj/analyzer/%.o: MODULE_CPPFLAGS := -Ianalyzer

# libgca reads dumps through libgcdump and loads plugins with dlopen.
$(eval $(call gc_library,gca,$(filter-out analyzer/gcanalyze.c,$(wildcard analyzer/*.c)),$(LIB_gcdump_A) -lzstd -lelf -ldl,$(GCA_VERSION)))
$(LIB_gca_SO): $(LIB_gcdump_A)

# gcanalyze: plugins resolve the gca_* functions against the program, so
#   - libgca is linked whole (--whole-archive): a static archive otherwise
#     gives only the objects the program itself uses, and a plugin calling
#     any other GCA_API function would fail to load;
#   - the program exports exactly the gca_* symbols to the dynamic symbol
#     table: like -rdynamic, but without libgcdump's gcd_* API, which plugins
#     must not use (they know the analyzer only through gca_plugin.h).
#     libgca's internals (gcaH_, gcaO_, mdl_...) are hidden anyway: its
#     objects are compiled with -fvisibility=hidden. Check: nm -D --defined-only.
GCA_EXPORT_LDFLAGS := -Wl,--export-dynamic-symbol='gca_*'
GCA_WHOLE_LIB = -Wl,--whole-archive $(LIB_gca_A) -Wl,--no-whole-archive
$(eval $(call gc_program,gcanalyze,analyzer/gcanalyze.c,,$(GCA_WHOLE_LIB) $(LIB_gcdump_A) -lzstd -lelf -ldl -ledit $(GCA_EXPORT_LDFLAGS)))
$(PROG_gcanalyze): $(LIB_gca_A) $(LIB_gcdump_A)
$(PROG_gcanalyze_OBJS): EXTRA_CFLAGS := -fvisibility=hidden

# Each analyzer/test/test_NAME.c is a cmocka binary build/test/analyzer/test_NAME
# (other .c files of analyzer/test/ are helpers linked into each). The tests
# load plugins, so they link libgca whole and export the gca_* functions like
# the program does. They make dumps with libgcrt but do not exercise the
# collector: no stress pass.
$(eval $(call gc_tests,analyzer_test,analyzer/test,test/analyzer,,$(GCA_WHOLE_LIB) $(GCRT_LINK) -lzstd -lelf -ledit -ldl $(GCA_EXPORT_LDFLAGS)))
$(analyzer_test_TESTS): $(LIB_gca_A) $(GCRT_LINK)

# Test plugins (a good one, a wrong ABI, a duplicate name, no entry point, ...):
# build/test/analyzer/plugins/NAME.so, never installed nor found by default.
GCA_TEST_PLUGIN_SRCS := $(wildcard analyzer/test/plugins/*.c)
GCA_TEST_PLUGIN_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(GCA_TEST_PLUGIN_SRCS))
GCA_TEST_PLUGINS := $(patsubst analyzer/test/plugins/%.c,$(BUILD)/test/analyzer/plugins/%.so,$(GCA_TEST_PLUGIN_SRCS))
ALL_OBJS += $(GCA_TEST_PLUGIN_OBJS)
$(GCA_TEST_PLUGIN_OBJS): EXTRA_CFLAGS := -fPIC -fvisibility=hidden

$(GCA_TEST_PLUGINS): $(BUILD)/test/analyzer/plugins/%.so: $(BUILD)/obj/analyzer/test/plugins/%.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -shared $(ALL_LDFLAGS) -o $@ $<

# test_host loads the test plugins and runs the program itself.
$(analyzer_test_TESTS): $(GCA_TEST_PLUGINS) $(PROG_gcanalyze)

INSTALL_HEADERS += analyzer/gca.h analyzer/gca_plugin.h analyzer/gca_analysis.h
INSTALL_MAN1 += analyzer/gcanalyze.1

# test_allocfail: every allocation of the load made to fail in turn (dumpfmt/test/allocfail.h; AF_LDFLAGS in dumpfmt/module.mk).
$(BUILD)/test/analyzer/test_allocfail: private ALL_LDFLAGS += $(AF_LDFLAGS)
# analyzer/fuzz: the libFuzzer target of the model and its analyses, corpus in
# analyzer/fuzz/corpus/model (mk/functions.mk gc_fuzz; `make fuzz`, `make check`).
$(BUILD)/obj/analyzer/fuzz/%.o: MODULE_CPPFLAGS := -Ianalyzer -Idumpfmt/fuzz
$(eval $(call gc_fuzz,analyzer_fuzz,analyzer/fuzz,$(LIB_gca_A) $(LIB_gcdump_A),-lzstd -lelf -ldl))
# fuzz_model makes allocations fail when its input says so (allocfail.h).
$(BUILD)/fuzz/fuzz_model $(BUILD)/test/fuzz/fuzz_model: private ALL_LDFLAGS += $(AF_LDFLAGS)
