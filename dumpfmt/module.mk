# dumpfmt/module.mk - build rules of libgcdump (the gcdump format's writer and reader), heapdump and their tests.
# Owns: libgcdump.a/.so from dumpfmt/*.c (heapdump.c excepted), build/bin/heapdump, dumpfmt/test/test_*.c, gcdump.h, heapdump.1.

# The version comes from the header, the one place it is written.
GCD_LIB_VERSION := $(shell sed -n 's/.*define GCD_LIB_VERSION "\(.*\)".*/\1/p' dumpfmt/gcdump.h)

$(eval $(call gc_library,gcdump,$(filter-out dumpfmt/heapdump.c,$(wildcard dumpfmt/*.c)),-lzstd,$(GCD_LIB_VERSION)))

# heapdump: prints and verifies dumps (core files and live processes come later).
$(eval $(call gc_program,heapdump,dumpfmt/heapdump.c,$(LIB_gcdump_A),-lzstd))

# Each dumpfmt/test/test_NAME.c is a cmocka binary build/test/dumpfmt/test_NAME.
# They do not touch the runtime, so there is no GCRT_* stress pass.
$(eval $(call gc_tests,dumpfmt_test,dumpfmt/test,test/dumpfmt,$(LIB_gcdump_A),-lzstd))

INSTALL_HEADERS += dumpfmt/gcdump.h
INSTALL_MAN1 += dumpfmt/heapdump.1
