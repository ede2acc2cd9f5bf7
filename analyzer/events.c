/* events.c - event subscriptions: static and instance fields of delegate type, their subscribers, what they retain.
 * Owns: gca_events, gca_events_holding, gca_events_free (gca_analysis.h). Nothing here recurses. */
#include "gca_analysis.h"
#include "anutil.h"

#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Small tools (bits and id arrays are in anutil.h): reading little-endian
 * words of the dump.
 * ====================================================================== */
static uint64_t ev_le64(const unsigned char *p)
{
    uint64_t x = 0;
    for (int i = 7; i >= 0; i--)
        x = x << 8 | p[i];
    return x;
}

static int ev_read64(gca_model *m, uint64_t addr, uint64_t *v)
{
    unsigned char b[8];
    if (gca_read(m, addr, b, 8) != GCA_OK)
        return -1;
    *v = ev_le64(b);
    return 0;
}

/* ======================================================================
 * The analysis state
 * ====================================================================== */
#define EV_NOFF UINT32_MAX

/* Where a delegate type keeps its fields (found by name, once per type). */
typedef struct ev_dlayout {
    int done;
    uint32_t target, list, method, count;
} ev_dlayout;

typedef struct ev_run {
    gca_model *m;
    uint64_t n;                  /* objects */
    size_t ntypes;
    unsigned char *is_deleg;     /* per type: GCA_TF_DELEGATE */
    ev_dlayout *dl;              /* per type */

    gca_event *ev;               /* the events found */
    size_t nev, evcap;

    /* Per event, the object whose reference to its delegate is the event
     * field: an instance event's publisher; a static's holder (the .NET
     * statics array the field lives in, from the root's field_address);
     * GCA_NONE otherwise. */
    gca_oid *holder;
    /* instance events sorted by publisher, and a bit per publisher */
    size_t *bypub;
    size_t nbypub;
    au_bits ispub;
    /* events with a holder sorted by it, and a bit per holder */
    size_t *byholder;
    size_t nbyholder;
    au_bits isholder;

    au_bits base;                /* B: reachable from the strong roots with every event field cut */
    uint32_t *stamp;             /* per object: 1 + the first event whose delegate reaches it outside B */
    unsigned char *overlap;      /* per event: another event reaches one of its objects */
    uint64_t *stamp_bytes, *stamp_count;

    /* gca_events_holding */
    gca_oid target;              /* GCA_NONE for gca_events */
    au_bits anc;                 /* objects that reach target (target included) */
    unsigned char *frees;        /* per event */
} ev_run;

static void ev_layout(ev_run *r, gca_tid t)
{
    ev_dlayout *d = &r->dl[t];
    if (d->done)
        return;
    d->done = 1;
    d->target = d->list = d->method = d->count = EV_NOFF;
    const gca_type *ty = gca_type_get(r->m, t);
    for (uint32_t i = 0; ty && i < ty->nfields; i++) {
        const gca_field *f = &ty->fields[i];
        if (!f->name)
            continue;
        if (!strcmp(f->name, "_target") && f->kind == GCA_KIND_REF)
            d->target = f->offset;
        else if (!strcmp(f->name, "_invocationList") && f->kind == GCA_KIND_REF)
            d->list = f->offset;
        else if (!strcmp(f->name, "_methodPtr"))
            d->method = f->offset;
        else if (!strcmp(f->name, "_invocationCount"))
            d->count = f->offset;
    }
}

static int ev_is_deleg(const ev_run *r, gca_oid o)
{
    if (o == GCA_NONE || o >= r->n)
        return 0;
    gca_tid t = gca_obj_type(r->m, o);
    return t < r->ntypes && r->is_deleg[t];
}

/* A field of a delegate: its value (0 when the type has no such field). */
static uint64_t ev_dfield(ev_run *r, gca_oid d, int which)
{
    gca_tid t = gca_obj_type(r->m, d);
    if (t >= r->ntypes)
        return 0;
    ev_layout(r, t);
    uint32_t off = which == 0 ? r->dl[t].target : which == 1 ? r->dl[t].list : which == 2 ? r->dl[t].method
                                                                                        : r->dl[t].count;
    uint64_t v;
    if (off == EV_NOFF || ev_read64(r->m, gca_obj_addr(r->m, d) + off, &v) != 0)
        return 0;
    return v;
}

static gca_event *ev_add(ev_run *r)
{
    if (r->nev == r->evcap) {
        size_t nc = r->evcap ? r->evcap * 2 : 32;
        gca_event *nv = realloc(r->ev, nc * sizeof *nv);
        if (!nv)
            return NULL;
        r->ev = nv;
        r->evcap = nc;
    }
    gca_event *e = &r->ev[r->nev++];
    memset(e, 0, sizeof *e);
    e->root = SIZE_MAX;
    e->publisher = GCA_NONE;
    e->publisher_root = SIZE_MAX;
    e->retained_exact = 1;
    return e;
}

/* ======================================================================
 * Finding the events
 * ====================================================================== */
static gca_rc ev_find_static(ev_run *r)
{
    for (size_t i = 0; i < gca_root_count(r->m); i++) {
        const gca_root *ro = gca_root_get(r->m, i);
        if (!ro || (ro->kind != GCA_ROOT_STATIC && ro->kind != GCA_ROOT_THREAD_STATIC))
            continue;
        if (!ev_is_deleg(r, ro->target))
            continue;
        gca_event *e = ev_add(r);
        if (!e)
            return GCA_E_NOMEM;
        e->is_static = 1;
        e->is_thread_static = ro->kind == GCA_ROOT_THREAD_STATIC;
        e->thread_id = ro->thread ? ro->thread->id : 0;
        e->owner = ro->owner ? ro->owner : "?";
        e->field = ro->field ? ro->field : "?";
        e->root = i;
        e->delegate = ro->target;
    }
    return GCA_OK;
}

/* Instance events: one look at every object's outgoing references; only
 * objects that refer to a delegate have their fields read. Linear. */
static gca_rc ev_find_instance(ev_run *r)
{
    for (gca_oid x = 0; x < r->n; x++) {
        gca_tid t = gca_obj_type(r->m, x);
        if (t >= r->ntypes || r->is_deleg[t] || gca_obj_is_free(r->m, x))
            continue;
        const gca_oid *out;
        uint64_t nout = gca_refs(r->m, x, &out), k;
        for (k = 0; k < nout; k++)
            if (ev_is_deleg(r, out[k]))
                break;
        if (k == nout)
            continue;
        if (!gca_obj_live(r->m, x))
            continue; /* a dead publisher keeps nothing alive */
        const gca_type *ty = gca_type_get(r->m, t);
        uint64_t base = gca_obj_addr(r->m, x);
        for (uint32_t f = 0; ty && f < ty->nfields; f++) {
            if (ty->fields[f].kind != GCA_KIND_REF)
                continue;
            uint64_t v;
            if (ev_read64(r->m, base + ty->fields[f].offset, &v) != 0 || v == 0)
                continue;
            gca_oid d = gca_find(r->m, v);
            if (!ev_is_deleg(r, d))
                continue;
            gca_event *e = ev_add(r);
            if (!e)
                return GCA_E_NOMEM;
            e->owner = ty->name ? ty->name : "?";
            e->field = ty->fields[f].name ? ty->fields[f].name : "?";
            e->publisher = x;
            e->delegate = d;
        }
    }
    return GCA_OK;
}

/* The subscribers of one event, from its delegate's invocation list. */
static gca_rc ev_subscribers(ev_run *r, gca_event *e)
{
    gca_model *m = r->m;
    uint64_t lv = ev_dfield(r, e->delegate, 1);
    gca_oid list = lv ? gca_find(m, lv) : GCA_NONE;
    const gca_type *lt = list != GCA_NONE ? gca_type_get(m, gca_obj_type(m, list)) : NULL;
    gca_oid *ds = NULL;
    size_t nd = 0;
    if (lt && (lt->flags & GCA_TF_ARRAY) && lt->element_kind == GCA_KIND_REF) {
        uint64_t len = gca_obj_length(m, list), cnt = ev_dfield(r, e->delegate, 3);
        /* .NET may over-allocate the list: _invocationCount says how much is used */
        uint64_t use = cnt > 0 && cnt <= len ? cnt : len;
        uint64_t room = gca_obj_size(m, list) > lt->base_size ? (gca_obj_size(m, list) - lt->base_size) / 8 : 0;
        if (use > room)
            use = room;
        unsigned char *raw = use ? malloc((size_t)use * 8) : NULL;
        ds = malloc((size_t)(use ? use : 1) * sizeof *ds);
        if ((use && !raw) || !ds) {
            free(raw);
            free(ds);
            return GCA_E_NOMEM;
        }
        if (use && gca_read(m, gca_obj_addr(m, list) + lt->base_size, raw, (size_t)use * 8) == GCA_OK) {
            for (uint64_t i = 0; i < use; i++) {
                gca_oid d = gca_find(m, ev_le64(raw + i * 8));
                if (ev_is_deleg(r, d))
                    ds[nd++] = d;
            }
        }
        free(raw);
    } else {
        if (!(ds = malloc(sizeof *ds)))
            return GCA_E_NOMEM;
        ds[nd++] = e->delegate;
    }
    e->subscribers = calloc(nd ? nd : 1, sizeof *e->subscribers);
    if (!e->subscribers) {
        free(ds);
        return GCA_E_NOMEM;
    }
    for (size_t i = 0; i < nd; i++) {
        gca_subscriber *s = &e->subscribers[i];
        s->delegate = ds[i];
        s->target_address = ev_dfield(r, ds[i], 0);
        s->target = s->target_address ? gca_find(m, s->target_address) : GCA_NONE;
        s->method = ev_dfield(r, ds[i], 2);
        const gca_method *me = s->method ? gca_method_by_address(m, s->method) : NULL;
        s->method_name = me ? me->name : NULL;
    }
    e->nsubscribers = nd;
    free(ds);
    return GCA_OK;
}

/* ======================================================================
 * Publishers: which instance events an object publishes
 * ====================================================================== */
static int ev_holder_cmp(const void *a, const void *b, void *ctx)
{
    const ev_run *r = ctx;
    gca_oid x = r->holder[*(const size_t *)a], y = r->holder[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

/* A plain insertion-merge sort with a context (qsort_r is not C11). */
static void ev_sort_idx(size_t *v, size_t n, int (*cmp)(const void *, const void *, void *), void *ctx)
{
    size_t *tmp = n > 1 ? malloc(n * sizeof *tmp) : NULL;
    if (!tmp) { /* tiny or no memory: insertion sort */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0 && cmp(&v[j - 1], &v[j], ctx) > 0; j--) {
                size_t t = v[j];
                v[j] = v[j - 1];
                v[j - 1] = t;
            }
        return;
    }
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = cmp(&v[j], &v[i], ctx) < 0 ? v[j++] : v[i++];
            while (i < mid)
                tmp[k++] = v[i++];
            while (j < hi)
                tmp[k++] = v[j++];
        }
        memcpy(v, tmp, n * sizeof *v);
    }
    free(tmp);
}

/* The object holding a static event's field: the heap object that
 * contains the field's address and holds the delegate there. */
static gca_oid ev_static_holder(ev_run *r, const gca_event *e)
{
    const gca_root *ro = gca_root_get(r->m, e->root);
    uint64_t v;
    if (!ro || !ro->field_address || ev_read64(r->m, ro->field_address, &v) != 0 || v != ro->address)
        return GCA_NONE;
    gca_oid c = gca_find_containing(r->m, ro->field_address);
    return c < r->n && c != e->delegate ? c : GCA_NONE;
}

static gca_rc ev_index_publishers(ev_run *r)
{
    if (au_bits_init(&r->ispub, r->n) != 0 || au_bits_init(&r->isholder, r->n) != 0)
        return GCA_E_NOMEM;
    size_t n = r->nev ? r->nev : 1;
    r->bypub = malloc(n * sizeof *r->bypub);
    r->byholder = malloc(n * sizeof *r->byholder);
    r->holder = malloc(n * sizeof *r->holder);
    if (!r->bypub || !r->byholder || !r->holder)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < r->nev; i++) {
        r->holder[i] = r->ev[i].is_static ? ev_static_holder(r, &r->ev[i]) : r->ev[i].publisher;
        if (!r->ev[i].is_static) {
            r->bypub[r->nbypub++] = i;
            au_bit_set(&r->ispub, r->ev[i].publisher);
        }
        if (r->holder[i] != GCA_NONE) {
            r->byholder[r->nbyholder++] = i;
            au_bit_set(&r->isholder, r->holder[i]);
        }
    }
    ev_sort_idx(r->bypub, r->nbypub, ev_holder_cmp, r);
    ev_sort_idx(r->byholder, r->nbyholder, ev_holder_cmp, r);
    return GCA_OK;
}

/* The range [*lo, *hi) of idx (n events sorted by holder) whose holder is x. */
static void ev_holder_range(const ev_run *r, const size_t *idx, size_t n, gca_oid x, size_t *lo, size_t *hi)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (r->holder[idx[mid]] < x)
            a = mid + 1;
        else
            b = mid;
    }
    size_t e = a;
    while (e < n && r->holder[idx[e]] == x)
        e++;
    *lo = a;
    *hi = e;
}

/* ======================================================================
 * B: what the strong roots reach when every event field is cut. Static
 * event roots are left out; a holder's references (a publisher's, or the
 * .NET statics array's) skip its event delegates (one reference per event
 * field: a delegate also held by an ordinary reference stays reachable).
 * ====================================================================== */

static gca_rc ev_mark_base(ev_run *r)
{
    gca_model *m = r->m;
    if (au_bits_init(&r->base, r->n) != 0)
        return GCA_E_NOMEM;
    au_bits evroot;
    if (au_bits_init(&evroot, gca_root_count(m) + 1) != 0)
        return GCA_E_NOMEM;
    for (size_t i = 0; i < r->nev; i++)
        if (r->ev[i].is_static)
            au_bit_set(&evroot, r->ev[i].root);
    au_oids st = {0}, skip = {0};
    gca_rc rc = GCA_OK;
    for (size_t i = 0; i < gca_root_count(m) && rc == GCA_OK; i++) {
        const gca_root *ro = gca_root_get(m, i);
        if (!ro || ro->target == GCA_NONE || ro->target >= r->n || !gca_root_is_strong(ro->kind) ||
            au_bit(&evroot, i) || au_bit(&r->base, ro->target))
            continue;
        au_bit_set(&r->base, ro->target);
        if (au_oids_push(&st, ro->target) != 0)
            rc = GCA_E_NOMEM;
    }
    au_csr csr;
    au_csr_of(m, &csr);
    gca_oid batch[AU_BATCH];
    size_t nb = 0, bi = 0;
    while ((bi < nb || st.n) && rc == GCA_OK) {
        if (bi == nb) { /* the next objects, in a batch (anutil.h): B is a set, any order makes it */
            nb = au_pop_batch(&st, &csr, batch, r->base.w, NULL);
            bi = 0;
        }
        gca_oid x = batch[bi++];
        skip.n = 0;
        if (au_bit(&r->isholder, x)) {
            size_t lo, hi;
            ev_holder_range(r, r->byholder, r->nbyholder, x, &lo, &hi);
            for (size_t k = lo; k < hi && rc == GCA_OK; k++)
                if (au_oids_push(&skip, r->ev[r->byholder[k]].delegate) != 0)
                    rc = GCA_E_NOMEM;
        }
        const gca_oid *out;
        uint64_t nout = gca_refs(m, x, &out);
        for (uint64_t k = 0; k < nout && rc == GCA_OK; k++) {
            gca_oid y = out[k];
            if (y >= r->n)
                continue;
            size_t s;
            for (s = 0; s < skip.n && skip.v[s] != y; s++)
                ;
            if (s < skip.n) {
                skip.v[s] = skip.v[--skip.n]; /* cut once */
                continue;
            }
            if (au_bit(&r->base, y))
                continue;
            au_bit_set(&r->base, y);
            if (au_oids_push(&st, y) != 0) {
                rc = GCA_E_NOMEM;
                break;
            }
        }
    }
    free(st.v);
    free(skip.v);
    au_bits_free(&evroot);
    return rc;
}

/* ======================================================================
 * Stamping: from each event's delegate, the objects outside B it reaches
 * that no earlier event reached. An event that meets another's object (or
 * whose objects another meets) overlaps; one that never does retains
 * exactly what it stamped. One visit per object for all events.
 * ====================================================================== */
static gca_rc ev_stamp(ev_run *r)
{
    gca_model *m = r->m;
    r->stamp = calloc((size_t)r->n + 1, sizeof *r->stamp);
    r->overlap = calloc(r->nev + 1, 1);
    r->stamp_bytes = calloc(r->nev + 1, sizeof *r->stamp_bytes);
    r->stamp_count = calloc(r->nev + 1, sizeof *r->stamp_count);
    if (!r->stamp || !r->overlap || !r->stamp_bytes || !r->stamp_count)
        return GCA_E_NOMEM;
    if (r->nev >= UINT32_MAX)
        return GCA_E_NOMEM;
    au_oids st = {0};
    au_csr csr;
    au_csr_of(m, &csr);
    gca_oid batch[AU_BATCH];
    for (size_t e = 0; e < r->nev; e++) {
        gca_oid d = r->ev[e].delegate;
        uint32_t me = (uint32_t)e + 1;
        if (au_bit(&r->base, d))
            continue;
        if (r->stamp[d]) {
            r->overlap[e] = r->overlap[r->stamp[d] - 1] = 1;
            continue;
        }
        r->stamp[d] = me;
        r->stamp_bytes[e] += gca_obj_size(m, d);
        r->stamp_count[e]++;
        if (au_oids_push(&st, d) != 0) {
            free(st.v);
            return GCA_E_NOMEM;
        }
        size_t nb = 0, bi = 0;
        while (bi < nb || st.n) {
            if (bi == nb) { /* in batches (anutil.h): what e reaches is a set */
                nb = au_pop_batch(&st, &csr, batch, r->base.w, r->stamp);
                bi = 0;
            }
            gca_oid x = batch[bi++];
            const gca_oid *out;
            uint64_t nout = gca_refs(m, x, &out);
            for (uint64_t k = 0; k < nout; k++) {
                gca_oid y = out[k];
                if (y >= r->n || au_bit(&r->base, y))
                    continue;
                if (r->stamp[y]) {
                    if (r->stamp[y] != me)
                        r->overlap[e] = r->overlap[r->stamp[y] - 1] = 1;
                    continue;
                }
                r->stamp[y] = me;
                r->stamp_bytes[e] += gca_obj_size(m, y);
                r->stamp_count[e]++;
                if (au_oids_push(&st, y) != 0) {
                    free(st.v);
                    return GCA_E_NOMEM;
                }
            }
        }
    }
    free(st.v);
    return GCA_OK;
}

/* ======================================================================
 * The exact pass for an event e that overlaps: mark what stays reachable
 * without e's field (B, plus what the other events' delegates reach from
 * B or from what they reach), then count what e's delegate reaches beyond
 * that. Only objects outside B are touched; `mark` is cleared afterwards.
 * @return objects visited (for the work limit), or UINT64_MAX on no memory.
 * ====================================================================== */
static uint64_t ev_exact(ev_run *r, size_t e, au_bits *mark, au_oids *touched, au_oids *st)
{
    gca_model *m = r->m;
    gca_event *ev = &r->ev[e];
    uint64_t work = 0;
    int nomem = 0;
    touched->n = st->n = 0;
#define EV_MARK(y)                                                          \
    do {                                                                    \
        au_bit_set(mark, (y));                                                 \
        if (au_oids_push(touched, (y)) != 0 || au_oids_push(st, (y)) != 0)          \
            nomem = 1;                                                      \
    } while (0)
    for (size_t f = 0; f < r->nev && !nomem; f++) {
        if (f == e)
            continue;
        gca_oid d = r->ev[f].delegate;
        if (au_bit(&r->base, d) || au_bit(mark, d))
            continue;
        if (!r->ev[f].is_static && !au_bit(&r->base, r->ev[f].publisher))
            continue; /* reached, if at all, through its publisher below */
        EV_MARK(d);
    }
    while (st->n && !nomem) {
        gca_oid x = st->v[--st->n];
        work++;
        int cut = x == ev->publisher;
        const gca_oid *out;
        uint64_t nout = gca_refs(m, x, &out);
        for (uint64_t k = 0; k < nout && !nomem; k++) {
            gca_oid y = out[k];
            if (y >= r->n)
                continue;
            if (cut && y == ev->delegate) {
                cut = 0;
                continue;
            }
            if (au_bit(&r->base, y) || au_bit(mark, y))
                continue;
            EV_MARK(y);
        }
    }
    /* what is left for e alone */
    uint64_t bytes = 0, count = 0;
    int frees = 0;
    gca_oid d = ev->delegate;
    if (!nomem && !au_bit(&r->base, d) && !au_bit(mark, d)) {
        EV_MARK(d);
        while (st->n && !nomem) {
            gca_oid x = st->v[--st->n];
            work++;
            bytes += gca_obj_size(m, x);
            count++;
            if (x == r->target)
                frees = 1;
            const gca_oid *out;
            uint64_t nout = gca_refs(m, x, &out);
            for (uint64_t k = 0; k < nout && !nomem; k++) {
                gca_oid y = out[k];
                if (y >= r->n || au_bit(&r->base, y) || au_bit(mark, y))
                    continue;
                EV_MARK(y);
            }
        }
    }
#undef EV_MARK
    for (size_t i = 0; i < touched->n; i++)
        au_bit_clr(mark, touched->v[i]);
    if (nomem)
        return UINT64_MAX;
    ev->retained = bytes;
    ev->retained_objects = count;
    ev->retained_exact = 1;
    if (r->frees)
        r->frees[e] = (unsigned char)frees;
    return work;
}

/* More stamped bytes first, then more subscribers, then event order. */
static int ev_stamp_cmp(const void *a, const void *b, void *ctx)
{
    const ev_run *r = ctx;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (r->stamp_bytes[x] != r->stamp_bytes[y])
        return r->stamp_bytes[x] > r->stamp_bytes[y] ? -1 : 1;
    if (r->ev[x].nsubscribers != r->ev[y].nsubscribers)
        return r->ev[x].nsubscribers > r->ev[y].nsubscribers ? -1 : 1;
    return x < y ? -1 : x > y;
}

static gca_rc ev_retained(ev_run *r)
{
    gca_rc rc = ev_mark_base(r);
    if (rc == GCA_OK)
        rc = ev_stamp(r);
    if (rc != GCA_OK)
        return rc;
    /* disjoint events first: exact already */
    size_t nover = 0;
    for (size_t e = 0; e < r->nev; e++) {
        gca_event *ev = &r->ev[e];
        if (r->overlap[e]) {
            nover++;
            continue;
        }
        ev->retained = r->stamp_bytes[e];
        ev->retained_objects = r->stamp_count[e];
        ev->retained_exact = 1;
        if (r->frees && r->target != GCA_NONE)
            r->frees[e] = r->stamp[r->target] == (uint32_t)e + 1 && !au_bit(&r->base, r->target);
    }
    if (!nover)
        return GCA_OK;
    /* the others while the work limit lasts, those that reached the most
     * bytes first: the events left with an estimate are the small ones */
    size_t *order = malloc(nover * sizeof *order), k = 0;
    if (!order)
        return GCA_E_NOMEM;
    for (size_t e = 0; e < r->nev; e++)
        if (r->overlap[e])
            order[k++] = e;
    ev_sort_idx(order, nover, ev_stamp_cmp, r);
    au_bits mark;
    au_oids touched = {0}, st = {0};
    if (au_bits_init(&mark, r->n) != 0) {
        free(order);
        return GCA_E_NOMEM;
    }
    uint64_t spent = 0;
    for (size_t i = 0; i < nover && rc == GCA_OK; i++) {
        size_t e = order[i];
        if (spent < GCA_EVENTS_WORK_LIMIT) {
            uint64_t w = ev_exact(r, e, &mark, &touched, &st);
            if (w == UINT64_MAX)
                rc = GCA_E_NOMEM;
            else
                spent += w + r->nev / 64;
        } else {
            /* an estimate: what this event reached first */
            r->ev[e].retained = r->stamp_bytes[e];
            r->ev[e].retained_objects = r->stamp_count[e];
            r->ev[e].retained_exact = 0;
        }
    }
    free(order);
    free(touched.v);
    free(st.v);
    au_bits_free(&mark);
    return rc;
}

/* ======================================================================
 * Publishers kept alive by statics: from each STATIC / THREAD_STATIC root
 * in turn, the objects no earlier static reached; a publisher met is
 * rooted by that static.
 * ====================================================================== */
static gca_rc ev_static_publishers(ev_run *r)
{
    if (!r->nbypub)
        return GCA_OK;
    gca_model *m = r->m;
    au_bits seen;
    if (au_bits_init(&seen, r->n) != 0)
        return GCA_E_NOMEM;
    au_oids st = {0};
    au_csr csr;
    au_csr_of(m, &csr);
    gca_oid batch[AU_BATCH];
    size_t left = r->nbypub;
    gca_rc rc = GCA_OK;
    for (size_t i = 0; i < gca_root_count(m) && left && rc == GCA_OK; i++) {
        const gca_root *ro = gca_root_get(m, i);
        if (!ro || (ro->kind != GCA_ROOT_STATIC && ro->kind != GCA_ROOT_THREAD_STATIC) || ro->target == GCA_NONE ||
            ro->target >= r->n || au_bit(&seen, ro->target))
            continue;
        au_bit_set(&seen, ro->target);
        if (au_oids_push(&st, ro->target) != 0)
            rc = GCA_E_NOMEM;
        size_t nb = 0, bi = 0;
        while ((bi < nb || st.n) && rc == GCA_OK && left) {
            if (bi == nb) { /* in batches (anutil.h): what root i reaches is a set */
                nb = au_pop_batch(&st, &csr, batch, seen.w, NULL);
                bi = 0;
            }
            gca_oid x = batch[bi++];
            if (au_bit(&r->ispub, x)) {
                size_t lo, hi;
                ev_holder_range(r, r->bypub, r->nbypub, x, &lo, &hi);
                for (size_t k = lo; k < hi; k++) {
                    gca_event *e = &r->ev[r->bypub[k]];
                    if (!e->publisher_rooted_by_static) {
                        e->publisher_rooted_by_static = 1;
                        e->publisher_root = i;
                        left--;
                    }
                }
            }
            const gca_oid *out;
            uint64_t nout = gca_refs(m, x, &out);
            for (uint64_t k = 0; k < nout; k++) {
                gca_oid y = out[k];
                if (y >= r->n || au_bit(&seen, y))
                    continue;
                au_bit_set(&seen, y);
                if (au_oids_push(&st, y) != 0) {
                    rc = GCA_E_NOMEM;
                    break;
                }
            }
        }
        st.n = 0;
    }
    free(st.v);
    au_bits_free(&seen);
    return rc;
}

/* ======================================================================
 * gca_events_holding: the objects that reach the target (a backward
 * search over incoming references), then paths from subscriber targets.
 * ====================================================================== */
static gca_rc ev_ancestors(ev_run *r)
{
    gca_model *m = r->m;
    if (au_bits_init(&r->anc, r->n) != 0)
        return GCA_E_NOMEM;
    au_oids st = {0};
    au_bit_set(&r->anc, r->target);
    if (au_oids_push(&st, r->target) != 0)
        return GCA_E_NOMEM;
    while (st.n) {
        gca_oid x = st.v[--st.n];
        const gca_oid *in;
        uint64_t nin = gca_refs_in(m, x, &in);
        for (uint64_t k = 0; k < nin; k++) {
            gca_oid y = in[k];
            if (y >= r->n || au_bit(&r->anc, y))
                continue;
            au_bit_set(&r->anc, y);
            if (au_oids_push(&st, y) != 0) {
                free(st.v);
                return GCA_E_NOMEM;
            }
        }
    }
    free(st.v);
    return GCA_OK;
}

/* A shortest path from `from` to the target inside the ancestors
 * (breadth first; each queue entry remembers the entry that found it). */
typedef struct ev_qent { gca_oid o; size_t parent; } ev_qent;

static gca_rc ev_path(ev_run *r, gca_oid from, au_bits *seen, gca_subscriber *s)
{
    gca_model *m = r->m;
    ev_qent *q = malloc(64 * sizeof *q);
    size_t qn = 0, qcap = 64, found = SIZE_MAX;
    gca_rc rc = GCA_OK;
    if (!q)
        return GCA_E_NOMEM;
    q[qn++] = (ev_qent){from, SIZE_MAX};
    au_bit_set(seen, from);
    for (size_t h = 0; h < qn && found == SIZE_MAX && rc == GCA_OK; h++) {
        gca_oid x = q[h].o;
        if (x == r->target) {
            found = h;
            break;
        }
        const gca_oid *out;
        uint64_t nout = gca_refs(m, x, &out);
        for (uint64_t k = 0; k < nout; k++) {
            gca_oid y = out[k];
            if (y >= r->n || !au_bit(&r->anc, y) || au_bit(seen, y))
                continue;
            au_bit_set(seen, y);
            if (qn == qcap) {
                ev_qent *nq = realloc(q, qcap * 2 * sizeof *nq);
                if (!nq) {
                    rc = GCA_E_NOMEM;
                    break;
                }
                q = nq;
                qcap *= 2;
            }
            q[qn++] = (ev_qent){y, h};
        }
    }
    if (rc == GCA_OK && found != SIZE_MAX) {
        size_t len = 0;
        for (size_t h = found; h != SIZE_MAX; h = q[h].parent)
            len++;
        if (!(s->path = malloc(len * sizeof *s->path))) {
            rc = GCA_E_NOMEM;
        } else {
            s->npath = len;
            size_t i = len;
            for (size_t h = found; h != SIZE_MAX; h = q[h].parent)
                s->path[--i] = q[h].o;
        }
    }
    for (size_t i = 0; i < qn; i++)
        au_bit_clr(seen, q[i].o);
    free(q);
    return rc;
}

static gca_rc ev_holding_paths(ev_run *r, gca_event *e)
{
    au_bits seen;
    if (au_bits_init(&seen, r->n) != 0)
        return GCA_E_NOMEM;
    gca_rc rc = GCA_OK;
    size_t npaths = 0;
    for (size_t i = 0; i < e->nsubscribers && rc == GCA_OK; i++) {
        gca_subscriber *s = &e->subscribers[i];
        if (s->target == GCA_NONE || s->target >= r->n || !au_bit(&r->anc, s->target))
            continue;
        s->leads = 1;
        e->nleading++;
        if (npaths < GCA_EVENTS_MAX_PATHS) {
            rc = ev_path(r, s->target, &seen, s);
            npaths++;
        }
    }
    au_bits_free(&seen);
    return rc;
}

/* ======================================================================
 * The entry points
 * ====================================================================== */
static int ev_order(const void *a, const void *b)
{
    const gca_event *x = a, *y = b;
    if (x->retained != y->retained)
        return x->retained < y->retained ? 1 : -1;
    if (x->nsubscribers != y->nsubscribers)
        return x->nsubscribers < y->nsubscribers ? 1 : -1;
    if (x->is_static != y->is_static)
        return x->is_static ? -1 : 1;
    int c = strcmp(x->owner, y->owner);
    if (c)
        return c;
    c = strcmp(x->field, y->field);
    if (c)
        return c;
    return x->delegate < y->delegate ? -1 : x->delegate > y->delegate;
}

static void ev_run_free(ev_run *r)
{
    free(r->is_deleg);
    free(r->dl);
    free(r->bypub);
    au_bits_free(&r->ispub);
    free(r->byholder);
    free(r->holder);
    au_bits_free(&r->isholder);
    au_bits_free(&r->base);
    au_bits_free(&r->anc);
    free(r->stamp);
    free(r->overlap);
    free(r->stamp_bytes);
    free(r->stamp_count);
    free(r->frees);
}

void gca_events_free(gca_event *ev, size_t n)
{
    if (!ev)
        return;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ev[i].nsubscribers; k++)
            free(ev[i].subscribers[k].path);
        free(ev[i].subscribers);
    }
    free(ev);
}

static gca_rc ev_analyze(gca_model *m, gca_oid target, gca_event **out, size_t *nout)
{
    if (!m || !out || !nout)
        return GCA_E_INVAL;
    *out = NULL;
    *nout = 0;
    ev_run r;
    memset(&r, 0, sizeof r);
    r.m = m;
    r.n = gca_object_count(m);
    r.ntypes = gca_type_count(m);
    r.target = target;
    if (target != GCA_NONE && (target >= r.n || gca_obj_is_free(m, target)))
        return GCA_E_NOTFOUND;
    r.is_deleg = calloc(r.ntypes + 1, 1);
    r.dl = calloc(r.ntypes + 1, sizeof *r.dl);
    if (!r.is_deleg || !r.dl) {
        ev_run_free(&r);
        return GCA_E_NOMEM;
    }
    int any = 0;
    for (size_t t = 0; t < r.ntypes; t++) {
        const gca_type *ty = gca_type_get(m, (gca_tid)t);
        r.is_deleg[t] = ty && (ty->flags & GCA_TF_DELEGATE) && !(ty->flags & GCA_TF_FREE);
        any |= r.is_deleg[t] && ty->count;
    }
    gca_rc rc = GCA_OK;
    if (!any) /* no delegate in the heap: no event */
        goto done;
    rc = ev_find_static(&r);
    if (rc == GCA_OK)
        rc = ev_find_instance(&r);
    for (size_t i = 0; i < r.nev && rc == GCA_OK; i++)
        rc = ev_subscribers(&r, &r.ev[i]);
    if (rc != GCA_OK)
        goto done;
    {
        /* only events with subscribers (a list of no delegates has none) */
        size_t w = 0;
        for (size_t i = 0; i < r.nev; i++) {
            if (r.ev[i].nsubscribers)
                r.ev[w++] = r.ev[i];
            else
                free(r.ev[i].subscribers);
        }
        r.nev = w;
    }
    if (!r.nev)
        goto done;
    if (target != GCA_NONE) {
        rc = ev_ancestors(&r);
        if (rc == GCA_OK && !(r.frees = calloc(r.nev, 1)))
            rc = GCA_E_NOMEM;
    }
    if (rc == GCA_OK)
        rc = ev_index_publishers(&r);
    if (rc == GCA_OK)
        rc = ev_retained(&r);
    if (rc == GCA_OK)
        rc = ev_static_publishers(&r);
    if (rc != GCA_OK)
        goto done;
    if (target != GCA_NONE) {
        /* keep the events whose delegate reaches the target */
        size_t w = 0;
        for (size_t i = 0; i < r.nev; i++) {
            if (au_bit(&r.anc, r.ev[i].delegate)) {
                gca_event e = r.ev[i];
                e.frees_object = r.frees[i];
                r.ev[w++] = e;
            } else {
                free(r.ev[i].subscribers);
            }
        }
        r.nev = w;
        for (size_t i = 0; i < r.nev && rc == GCA_OK; i++)
            rc = ev_holding_paths(&r, &r.ev[i]);
        if (rc != GCA_OK)
            goto done;
    }
    qsort(r.ev, r.nev, sizeof *r.ev, ev_order);
done:
    if (rc != GCA_OK) {
        gca_events_free(r.ev, r.nev);
        r.ev = NULL;
        r.nev = 0;
    }
    if (r.ev && !r.nev) {
        free(r.ev);
        r.ev = NULL;
    }
    *out = r.ev;
    *nout = r.nev;
    ev_run_free(&r);
    return rc;
}

gca_rc gca_events(gca_model *m, gca_event **out, size_t *n) { return ev_analyze(m, GCA_NONE, out, n); }

gca_rc gca_events_holding(gca_model *m, gca_oid o, gca_event **out, size_t *n)
{
    if (o == GCA_NONE)
        return GCA_E_NOTFOUND;
    return ev_analyze(m, o, out, n);
}
