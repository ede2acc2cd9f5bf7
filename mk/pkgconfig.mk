# mk/pkgconfig.mk - the pkg-config files of the installed libraries other than libgcrt (runtime/ makes gcrt.pc).
# Owns: BUILD/pkgconfig/gcdump.pc and gca.pc from dumpfmt/gcdump.pc.in and analyzer/gca.pc.in.
#
# Each .pc puts -Wl,-rpath,${libdir} in Libs: a program built with
# `cc app.c $(pkg-config --cflags --libs gcrt)` finds the library where it
# was installed, without LD_LIBRARY_PATH and without ldconfig. Included
# after the modules (it uses GCD_LIB_VERSION and GCA_VERSION).

# Regenerated on every build and install: PREFIX and LIBDIR may differ from the last run.
# $(call gc_pc_subst,VERSION) is the sed that fills a .pc.in.
gc_pc_subst = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
                  -e 's|@PLUGINDIR@|$(PLUGINDIR)|g' -e 's|@VERSION@|$(1)|g'

$(BUILD)/pkgconfig/gcdump.pc: dumpfmt/gcdump.pc.in dumpfmt/gcdump.h FORCE
	@mkdir -p $(@D)
	$(Q)$(call gc_pc_subst,$(GCD_LIB_VERSION)) dumpfmt/gcdump.pc.in > $@

$(BUILD)/pkgconfig/gca.pc: analyzer/gca.pc.in analyzer/gca.h FORCE
	@mkdir -p $(@D)
	$(Q)$(call gc_pc_subst,$(GCA_VERSION)) analyzer/gca.pc.in > $@

INSTALL_PKGCONFIG += $(BUILD)/pkgconfig/gcdump.pc $(BUILD)/pkgconfig/gca.pc
