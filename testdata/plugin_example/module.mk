# testdata/plugin_example/module.mk - the example plugin, built as a plugin outside the analyzer's tree is.
# Owns: build/testdata/plugin_example/hello.so from hello.c; neither installed nor loaded by default
# (GCA_PLUGIN_PATH=$PWD/build/testdata/plugin_example loads it). analyzer/test/test_host loads it.

GCA_EXAMPLE_PLUGIN := $(BUILD)/testdata/plugin_example/hello.so
GCA_EXAMPLE_OBJ := $(BUILD)/obj/testdata/plugin_example/hello.o
ALL_OBJS += $(GCA_EXAMPLE_OBJ)
ALL_TARGETS += $(GCA_EXAMPLE_PLUGIN)

# Only the public headers, position-independent, everything hidden but the entry point.
$(GCA_EXAMPLE_OBJ): EXTRA_CFLAGS := -fPIC -fvisibility=hidden
$(GCA_EXAMPLE_OBJ): MODULE_CPPFLAGS := -Ianalyzer

# Linked with nothing: the gca_* symbols stay undefined until gcanalyze loads it.
$(GCA_EXAMPLE_PLUGIN): $(GCA_EXAMPLE_OBJ)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) -shared $(ALL_LDFLAGS) -o $@ $<

$(analyzer_test_TESTS): $(GCA_EXAMPLE_PLUGIN)
