# plugins/module.mk - build rules of the gcanalyze command plugins and their end-to-end tests.
# Owns: every plugins/NAME.c -> $(BUILD)/plugins/NAME.so (found by the host next to bin/), plugins/test/test_*.c.

# Each plugins/NAME.c is one shared object; the gca_* symbols come from the
# gcanalyze executable at load time. Shared helpers are headers (cmdutil.h).
$(eval $(call gc_plugins,plugins,plugins,))
$(plugins_OBJS): MODULE_CPPFLAGS := -Ianalyzer

# End-to-end tests: they run build/testdata/heap_* to write dumps, then
# build/bin/gcanalyze on them; `make check` builds everything (all) first.
$(eval $(call gc_tests,plugins_test,plugins/test,test/plugins,$(GCRT_LINK),-lzstd))
$(patsubst %.c,$(BUILD)/obj/%.o,$(plugins_test_SRCS)) $(plugins_test_HELPER_OBJS): MODULE_CPPFLAGS := -Ianalyzer
# (testdata/ comes later in MODULES: name its programs by path.)
$(plugins_test_TESTS): | $(plugins_PLUGINS) $(PROG_gcanalyze) \
    $(patsubst testdata/%.c,$(BUILD)/testdata/%,$(wildcard testdata/heap_*.c))
