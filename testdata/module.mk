# testdata/module.mk - build rules of the test-data programs.
# Owns: every testdata/NAME.c -> build/testdata/NAME, one program each, linked with libgcrt.

$(eval $(call gc_programs,testdata,testdata,testdata,$(GCRT_LINK),-lzstd))
ALL_TARGETS += $(testdata_PROGS)
