# testdata/dotnet/module.mk - the .NET heap programs and the end-to-end tests that check gcanalyze against them and SOS.
# Owns: build/testdata/dotnet/heaps/ (testdata/dotnet/heaps), build/tools/dotnet/ (dotnet-dump from NuGet),
# and the test scripts testdata/dotnet/test_*.sh, copied to build/test/dotnet/test_* and run by `make check`.
#
# The tests are always run by `make check`; without dotnet (or without the converter,
# which SANITIZE=1 builds leave out) each prints SKIP and passes. With dotnet, `make
# check` builds the heap programs (one project, one build) and installs dotnet-dump,
# whose SOS the tests compare with, into the build tree: no global tool, so a fresh
# clone and CI need nothing but the SDK and NuGet. DOTNET and HAVE_DOTNET come from
# dumpfmt/module.mk.

DN_TOOLS_DIR := $(BUILD)/tools/dotnet
DN_DOTNET_DUMP := $(DN_TOOLS_DIR)/dotnet-dump
DN_DOTNET_DUMP_VERSION := 10.0.750501
DN_HEAPS_DIR := $(BUILD)/testdata/dotnet/heaps
DN_HEAPS := $(DN_HEAPS_DIR)/heaps.dll
DN_HEAPS_SRCS := $(wildcard testdata/dotnet/heaps/*.cs) testdata/dotnet/heaps/heaps.csproj
DN_TEST_DIR := $(BUILD)/test/dotnet
DN_TESTS := $(patsubst testdata/dotnet/%.sh,$(DN_TEST_DIR)/%,$(wildcard testdata/dotnet/test_*.sh))
DN_ENV := DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

TEST_BINS += $(DN_TESTS)

$(DN_TESTS): $(DN_TEST_DIR)/%: testdata/dotnet/%.sh $(DN_TEST_DIR)/dotnet-lib.sh $(DN_TEST_DIR)/known-bugs
	$(call msg,CP,$@)
	@mkdir -p $(@D)
	$(Q)cp $< $@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

$(DN_TEST_DIR)/dotnet-lib.sh $(DN_TEST_DIR)/known-bugs: $(DN_TEST_DIR)/%: testdata/dotnet/%
	@mkdir -p $(@D)
	$(Q)cp $< $@

ifeq ($(HAVE_DOTNET),1)
$(DN_TESTS): $(DN_HEAPS) $(DN_DOTNET_DUMP) $(PROG_heapdump) $(PROG_gcanalyze) $(GCD_DOTNET)

$(DN_HEAPS): $(DN_HEAPS_SRCS)
	$(call msg,DOTNET,$(DN_HEAPS_DIR))
	@mkdir -p $(DN_HEAPS_DIR) $(BUILD)/obj
	$(Q)$(DN_ENV) $(DOTNET) build testdata/dotnet/heaps/heaps.csproj -nologo -v quiet -c Release \
	    -o $(DN_HEAPS_DIR) --artifacts-path $(BUILD)/obj/dotnet-heaps >$(BUILD)/obj/dotnet-heaps.log 2>&1 \
	    || { cat $(BUILD)/obj/dotnet-heaps.log; exit 1; }
	@touch $@

# dotnet-dump (SOS) from NuGet, into the build tree.
$(DN_DOTNET_DUMP):
	$(call msg,NUGET,dotnet-dump $(DN_DOTNET_DUMP_VERSION))
	@rm -rf $(DN_TOOLS_DIR).tmp && mkdir -p $(BUILD)/tools $(BUILD)/obj
	$(Q)$(DN_ENV) $(DOTNET) tool install dotnet-dump --version $(DN_DOTNET_DUMP_VERSION) \
	    --tool-path $(DN_TOOLS_DIR).tmp >$(BUILD)/obj/dotnet-tools.log 2>&1 \
	    || { cat $(BUILD)/obj/dotnet-tools.log; rm -rf $(DN_TOOLS_DIR).tmp; exit 1; }
	$(Q)rm -rf $(DN_TOOLS_DIR) && mv $(DN_TOOLS_DIR).tmp $(DN_TOOLS_DIR)
endif
