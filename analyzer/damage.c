/* damage.c - whether a loaded dump describes the whole heap, and why not: the one place that decides it.
 * Owns: gca_damage and gca_damage_reasons (from completeness, the inconsistent flag and flagged ranges, load warnings,
 * the deep check), gca_damage_check (the source's checksums and libgcdump's gcd_check_heap, once per model). */

#include "model_int.h"

#include "gcdump.h"

/* ======================================================================
 * Each source of damage is one entry here: a new header flag from the
 * writer (say, "allocation contexts not sealed") becomes one more bit in
 * gca.h, one more field the loader copies into gca_info, and one more
 * line in d_flags() and d_reasons(). Nothing else changes: every command,
 * the JSON "warnings" and check's refusal follow from these two functions.
 * ====================================================================== */

/* Whether the heap was changing where it matters. An allocation in flight
 * is not damage: the writer finished the object in its copy (header
 * written under the heap lock, body zeroed, as the allocating thread would
 * have), and the program had not received it yet, so the heap walks and
 * nothing refers to it. The range stays listed (verifyheap, --info). A GC
 * in progress, a range of any other reason, or the flag with no ranges at
 * all (a 1.0 writer: the whole heap) is damage. */
static int d_untrusted(const gca_model *m)
{
    if (!m->info.inconsistent)
        return 0;
    if (m->nflagged == 0)
        return 1;
    for (size_t i = 0; i < m->nflagged; i++)
        if (m->flagged[i].reason != GCD_FR_ALLOC_IN_FLIGHT)
            return 1;
    return 0;
}

static unsigned d_flags(const gca_model *m)
{
    unsigned f = 0;
    if (!m->info.complete)
        f |= GCA_DAMAGE_TRUNCATED;
    if (d_untrusted(m))
        f |= GCA_DAMAGE_INCONSISTENT;
    /* the loader's warnings are all about the dump: memory that is
     * missing, a segment that cannot be walked, metadata that disagrees,
     * references to no object. On a truncated dump they are mostly the
     * consequences of the cut, already said by TRUNCATED. */
    if ((m->nwarn_load > 0 && m->info.complete) || m->deep_why)
        f |= GCA_DAMAGE_CONTENT;
    return f;
}

gca_rc gca_damage_check(gca_model *m)
{
    if (!m)
        return GCA_E_INVAL;
    if (m->deep_checked || d_flags(m) || !m->src || !m->src->check)
        return m->deep_why ? GCA_E_FORMAT : GCA_OK;
    char why[512] = "";
    gca_rc rc = m->src->check(m->src_ctx, why, sizeof why);
    if (rc == GCA_E_NOMEM)
        return rc; /* not checked: may be asked again */
    m->deep_checked = 1;
    if (rc == GCA_OK)
        return GCA_OK;
    char line[600];
    snprintf(line, sizeof line, "the dump contradicts itself: %s", why[0] ? why : "a check failed");
    if (!(m->deep_why = mdl_strdup(m, line)))
        return GCA_E_NOMEM;
    return GCA_E_FORMAT;
}

unsigned gca_damage(const gca_model *m) { return m ? d_flags(m) : 0; }

size_t gca_damage_reasons(const gca_model *m, const char **out, size_t cap)
{
    if (!m)
        return 0;
    size_t n = 0;
#define D_ADD(s)                                                                                                     \
    do {                                                                                                             \
        if (n < cap && out)                                                                                          \
            out[n] = (s);                                                                                            \
        n++;                                                                                                         \
    } while (0)
    unsigned f = d_flags(m);
    if (m->deep_why)
        D_ADD(m->deep_why);
    /* the loader's own words first: they name the offset, chunk and segment */
    for (size_t i = 0; i < m->nwarn_load && i < m->nwarn; i++)
        D_ADD(m->warnings[i]);
    if ((f & GCA_DAMAGE_TRUNCATED) && m->nwarn_load == 0)
        D_ADD("dump truncated: its index and trailer are missing");
    if (f & GCA_DAMAGE_INCONSISTENT)
        D_ADD(m->nflagged ? "the writer flagged ranges of the heap it could not trust (a GC in progress; verifyheap "
                            "lists them): objects and references there may disagree"
                          : "dump written while the heap was changing (during a garbage collection): objects and "
                            "references may disagree");
#undef D_ADD
    return n;
}
