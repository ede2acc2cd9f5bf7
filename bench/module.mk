# bench/module.mk - build rules of the benchmarks.
# Owns: every bench/NAME.c -> build/bench/NAME, one program each, linked with libgcrt; run by `make bench`.

$(eval $(call gc_programs,bench,bench,bench,$(GCRT_LINK),-lzstd))
ALL_TARGETS += $(bench_PROGS)
BENCH_PROGS += $(bench_PROGS)
