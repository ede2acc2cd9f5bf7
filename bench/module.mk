# bench/module.mk - build rules of the benchmarks.
# Owns: every bench/NAME.c -> build/bench/NAME, one program each, linked with libgcrt and libgca; run by `make bench`.

# libgca first: it needs libgcdump, which GCRT_LINK ends with.
$(eval $(call gc_programs,bench,bench,bench,$(LIB_gca_A) $(GCRT_LINK),-lzstd -lelf -ldl))
# bench programs that run gcanalyze need it built
$(bench_PROGS): | $(PROG_gcanalyze)
ALL_TARGETS += $(bench_PROGS)
# gcsynth is a tool the benchmarks run (it writes synthetic dumps), not a benchmark
BENCH_PROGS += $(filter-out $(BUILD)/bench/gcsynth,$(bench_PROGS))
# scale_open runs gcsynth
$(BUILD)/bench/scale_open: | $(BUILD)/bench/gcsynth
