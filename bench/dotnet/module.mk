# bench/dotnet/module.mk - the .NET benchmark: gcanalyze against SOS on a .NET heap of 10 million objects.
# Owns: build/bench/dotnet/ (dotnet-bench: the heap program and ClrMD's bare walk) and build/bench/dotnet-bench,
# the script `make bench` runs. Only with dotnet (HAVE_DOTNET, dumpfmt/module.mk); not built by `make all`.

ifeq ($(HAVE_DOTNET),1)
DNB_DIR := $(BUILD)/bench/dotnet
DNB_DLL := $(DNB_DIR)/dotnet-bench.dll
DNB_SRCS := $(wildcard bench/dotnet/*.cs) bench/dotnet/dotnet-bench.csproj
DNB_SCRIPT := $(BUILD)/bench/dotnet-bench

$(DNB_DLL): $(DNB_SRCS)
	$(call msg,DOTNET,$(DNB_DIR))
	@mkdir -p $(DNB_DIR) $(BUILD)/obj
	$(Q)$(DN_ENV) $(DOTNET) build bench/dotnet/dotnet-bench.csproj -nologo -v quiet -c Release \
	    -o $(DNB_DIR) --artifacts-path $(BUILD)/obj/dotnet-bench >$(BUILD)/obj/dotnet-bench.log 2>&1 \
	    || { cat $(BUILD)/obj/dotnet-bench.log; exit 1; }
	@touch $@

$(DNB_SCRIPT): bench/dotnet/dotnet-bench.sh $(DNB_DLL) $(DN_DOTNET_DUMP) $(PROG_heapdump) $(PROG_gcanalyze) $(GCD_DOTNET)
	$(call msg,CP,$@)
	@mkdir -p $(@D)
	$(Q)cp $< $@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

BENCH_PROGS += $(DNB_SCRIPT)
endif
