# runtime/module.mk - build rules of libgcrt (the managed heap) and its tests.
# Owns: libgcrt.a/.so from runtime/*.c, runtime/test/test_*.c, gcrt.h, gcrt.pc, gcrt.3.

# The version comes from the header, the one place it is written.
GCRT_VERSION := $(shell sed -n 's/.*define GCRT_VERSION_STRING "\(.*\)".*/\1/p' runtime/gcrt.h)

# libgcrt writes dumps through libgcdump: the .so carries its objects, and
# programs linking libgcrt.a name both archives and zstd (GCRT_LINK).
$(eval $(call gc_library,gcrt,$(wildcard runtime/*.c),$(LIB_gcdump_A) -lzstd,$(GCRT_VERSION)))
GCRT_LINK := $(LIB_gcrt_A) $(LIB_gcdump_A)
$(LIB_gcrt_SO): $(LIB_gcdump_A)

# Each runtime/test/test_NAME.c is a cmocka binary build/test/runtime/test_NAME;
# the runtime suite also runs under GCRT_HEAPVERIFY=1 and GCRT_GCSTRESS=1.
$(eval $(call gc_tests,runtime_test,runtime/test,test/runtime,$(GCRT_LINK),-lzstd,stress))

INSTALL_HEADERS += runtime/gcrt.h
INSTALL_MAN3 += runtime/gcrt.3
INSTALL_PKGCONFIG += $(BUILD)/pkgconfig/gcrt.pc

# Regenerated on every install: PREFIX and LIBDIR may differ from the last run.
$(BUILD)/pkgconfig/gcrt.pc: runtime/gcrt.pc.in runtime/gcrt.h FORCE
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(GCRT_VERSION)|g' \
	    runtime/gcrt.pc.in > $@
