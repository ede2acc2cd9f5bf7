/* heap_shop.c - test data: a shop whose static Shop.Registry.Customers holds customers with orders, some dropped.
 * Writes a dump to argv[1] (taken before any GC frees the dropped ones) and the known truths to argv[1].truth. */

#include "gcrt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * The heap. NCUST customers, customer i with 1 + i % 4 orders; the first
 * half is built, then collected once (gen1), the second half stays in
 * gen0. Then every customer with i % 5 == 0 is dropped from the registry:
 * it, its name, its orders array, its orders and their product strings
 * become garbage that the dump still holds.
 *
 * Truth lines (one fact each):
 *   obj ADDR TYPE SIZE live|dead     every object the program allocated,
 *                                    live/dead as the runtime's own full
 *                                    GC decided right after the dump
 *   count TYPE N                     objects of TYPE allocated
 *   order ADDR                       an order of a live customer
 *   path ADDR ADDR ADDR ADDR         registry array, customer, orders array, that order
 *   path_fields F F F                the fields of each hop (array indexes as [i])
 *   dead_order ADDR                  an order of a dropped customer
 *   customer ADDR                    that live customer
 *   order_amount X                   the order's amount field, as %.17g
 *   order_product ADDR TEXT          its product string
 *   registry ADDR                    the Shop.Customer[] the static holds
 *   live_bytes N                     bytes of the live objects
 * ====================================================================== */
#define NCUST 40
#define PICK 3   /* the customer whose order gcroot follows */
#define PICK_ORDER 1

typedef struct Order {
    gcrt_obj hdr;
    gcrt_obj *product; /* System.String */
    double amount;
    int64_t id;
    int32_t quantity;
    uint16_t code;
    uint8_t gift;
} Order;

typedef struct Customer {
    gcrt_obj hdr;
    gcrt_obj *name;   /* System.String */
    gcrt_obj *orders; /* Shop.Order[] */
    int64_t id;
} Customer;

typedef struct Registry {
    gcrt_obj hdr;
} Registry;

#define MAXOBJ 2048
typedef struct tracked {
    gcrt_handle *h;
    char type[64];
    uintptr_t addr;
    size_t size;
    int live;
} tracked;

typedef struct shop {
    gcrt_heap *heap;
    gcrt_thread *th;
    gcrt_type *order_t, *customer_t, *registry_t, *orders_t, *customers_t;
    gcrt_obj **customers; /* static Shop.Registry.Customers */
    tracked objs[MAXOBJ];
    size_t nobjs;
} shop;

static void die(const char *what)
{
    fprintf(stderr, "heap_shop: %s: %s\n", what, gcrt_last_error());
    exit(1);
}

/* Remember an object (through a weak handle, so the program's own GC can
 * say later whether it survived). */
static void track(shop *s, gcrt_obj *o)
{
    if (s->nobjs >= MAXOBJ)
        die("too many objects");
    tracked *t = &s->objs[s->nobjs++];
    if (!(t->h = gcrt_handle_new(s->heap, GCRT_HANDLE_WEAK_SHORT, o)))
        die("gcrt_handle_new");
    snprintf(t->type, sizeof t->type, "%s", gcrt_type_name(gcrt_typeof(o)));
}

/* Build customer i into registry slot i. */
static void make_customer(shop *s, int i)
{
    struct { gcrt_obj *c, *orders, *o, *str; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(s->th, F, "Shop.Customer.Create", L, "customer,orders,order,str");
    char buf[64];
    int n = 1 + i % 4;
    if (!(L.c = gcrt_alloc(s->th, s->customer_t)))
        die("alloc customer");
    track(s, L.c);
    ((Customer *)(void *)L.c)->id = 1000 + i;
    snprintf(buf, sizeof buf, "customer-%d", i);
    if (!(L.str = gcrt_string_from_cstr(s->th, buf)))
        die("alloc name");
    track(s, L.str);
    GCRT_SET(L.c, Customer, name, L.str);
    if (!(L.orders = gcrt_alloc_array(s->th, s->orders_t, (uint64_t)n)))
        die("alloc orders");
    track(s, L.orders);
    GCRT_SET(L.c, Customer, orders, L.orders);
    for (int k = 0; k < n; k++) {
        if (!(L.o = gcrt_alloc(s->th, s->order_t)))
            die("alloc order");
        track(s, L.o);
        Order *o = (Order *)(void *)L.o;
        o->amount = i * 10.0 + k + 0.25;
        o->id = (1000 + i) * 8 + k;
        o->quantity = k + 1;
        o->code = (uint16_t)('A' + k);
        o->gift = (uint8_t)(k & 1);
        if (k == PICK_ORDER || n == 1) {
            snprintf(buf, sizeof buf, "sku-%d-%d", i, k);
            if (!(L.str = gcrt_string_from_cstr(s->th, buf)))
                die("alloc product");
            track(s, L.str);
            GCRT_SET(L.o, Order, product, L.str);
        }
        gcrt_array_set(L.orders, (uint64_t)k, L.o);
    }
    gcrt_array_set(*s->customers, (uint64_t)i, L.c);
    GCRT_FRAME_POP(s->th, F);
}

static uintptr_t addr_of(gcrt_obj *o) { return (uintptr_t)o; }

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: heap_shop DUMP (writes DUMP and DUMP.truth)\n");
        return 2;
    }
    static shop S;
    shop *s = &S;
    gcrt_config cfg;
    if (gcrt_config_default(&cfg) != GCRT_OK)
        die("gcrt_config_default");
    cfg.gc_stress = 0;          /* the dump must hold the garbage: no GC but ours */
    cfg.gen0_budget = 4u << 20;
    cfg.finalizer_thread = -1;
    if (gcrt_heap_create(&cfg, &s->heap) != GCRT_OK)
        die("gcrt_heap_create");
    if (!(s->th = gcrt_thread_attach(s->heap, "main")))
        die("gcrt_thread_attach");

    gcrt_field_desc order_f[] = {
        GCRT_FIELD_REF(Order, product, "System.String"),
        GCRT_FIELD(Order, amount, GCRT_K_F64),
        GCRT_FIELD(Order, id, GCRT_K_I64),
        GCRT_FIELD(Order, quantity, GCRT_K_I32),
        GCRT_FIELD(Order, code, GCRT_K_CHAR),
        GCRT_FIELD(Order, gift, GCRT_K_BOOL),
    };
    gcrt_field_desc customer_f[] = {
        GCRT_FIELD_REF(Customer, name, "System.String"),
        GCRT_FIELD_REF(Customer, orders, "Shop.Order[]"),
        GCRT_FIELD(Customer, id, GCRT_K_I64),
    };
    s->order_t = gcrt_type_define(s->heap, "Shop.Order", sizeof(Order), order_f, 6, NULL, 0);
    s->customer_t = gcrt_type_define(s->heap, "Shop.Customer", sizeof(Customer), customer_f, 3, NULL, 0);
    s->registry_t = gcrt_type_define(s->heap, "Shop.Registry", sizeof(Registry), NULL, 0, NULL, 0);
    if (!s->order_t || !s->customer_t || !s->registry_t)
        die("gcrt_type_define");
    s->orders_t = gcrt_type_array_of(s->heap, s->order_t);
    s->customers_t = gcrt_type_array_of(s->heap, s->customer_t);
    if (!s->orders_t || !s->customers_t)
        die("gcrt_type_array_of");
    if (!(s->customers = gcrt_static_define(s->heap, s->registry_t, "Customers", "Shop.Customer[]")))
        die("gcrt_static_define");

    struct { gcrt_obj *banner, *tmp; } L = {0};
    gcrt_frame F;
    GCRT_FRAME_PUSH(s->th, F, "Shop.Program.Main", L, "banner,tmp");
    if (!(L.banner = gcrt_string_from_cstr(s->th, "Shop v1")))
        die("alloc banner");
    track(s, L.banner);
    gcrt_obj *reg = gcrt_alloc_array(s->th, s->customers_t, NCUST);
    if (!reg)
        die("alloc registry");
    *s->customers = reg;
    track(s, reg);

    for (int i = 0; i < NCUST / 2; i++)
        make_customer(s, i);
    if (gcrt_collect(s->th, 1) != GCRT_OK) /* the first half moves to gen1 */
        die("gcrt_collect");
    for (int i = NCUST / 2; i < NCUST; i++)
        make_customer(s, i);
    for (int i = 0; i < NCUST; i += 5) /* drop every fifth customer: garbage */
        gcrt_array_set(*s->customers, (uint64_t)i, NULL);

    /* Addresses as the dump sees them: no allocation from here to the dump. */
    for (size_t k = 0; k < s->nobjs; k++) {
        gcrt_obj *o = gcrt_handle_get(s->objs[k].h);
        s->objs[k].addr = addr_of(o);
        s->objs[k].size = gcrt_object_size(o);
    }
    gcrt_obj *arr = *s->customers;
    gcrt_obj *cust = gcrt_array_get(arr, PICK);
    gcrt_obj *orders = GCRT_GET(cust, Customer, orders);
    gcrt_obj *order = gcrt_array_get(orders, PICK_ORDER);
    gcrt_obj *product = GCRT_GET(order, Order, product);
    double amount = GCRT_GET(order, Order, amount);
    uintptr_t dead_order = 0;
    for (size_t k = 0; k < s->nobjs && !dead_order; k++)
        if (!strcmp(s->objs[k].type, "Shop.Order")) {
            /* orders of customer 0 (dropped) come first */
            dead_order = s->objs[k].addr;
        }
    uintptr_t a_arr = addr_of(arr), a_cust = addr_of(cust), a_orders = addr_of(orders), a_order = addr_of(order),
              a_product = addr_of(product);
    char product_text[64];
    snprintf(product_text, sizeof product_text, "%s", gcrt_string_chars(product));

    gcrt_rc rc = gcrt_dump(s->th, argv[1], NULL);
    if (rc != GCRT_OK)
        die("gcrt_dump");

    /* The runtime's own verdict: a full GC, then which weak handles survived. */
    if (gcrt_collect(s->th, 2) != GCRT_OK)
        die("gcrt_collect(2)");
    uint64_t live_bytes = 0;
    for (size_t k = 0; k < s->nobjs; k++) {
        s->objs[k].live = gcrt_handle_get(s->objs[k].h) != NULL;
        if (s->objs[k].live)
            live_bytes += s->objs[k].size;
    }

    char path[4096];
    snprintf(path, sizeof path, "%s.truth", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return 1;
    }
    const char *types[] = {"Shop.Customer", "Shop.Order", "Shop.Order[]", "Shop.Customer[]", "System.String"};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        size_t n = 0;
        for (size_t k = 0; k < s->nobjs; k++)
            n += !strcmp(s->objs[k].type, types[t]);
        fprintf(f, "count %s %zu\n", types[t], n);
    }
    for (size_t k = 0; k < s->nobjs; k++)
        fprintf(f, "obj 0x%" PRIxPTR " %s %zu %s\n", s->objs[k].addr, s->objs[k].type, s->objs[k].size,
                s->objs[k].live ? "live" : "dead");
    fprintf(f, "registry 0x%" PRIxPTR "\n", a_arr);
    fprintf(f, "customer 0x%" PRIxPTR "\n", a_cust);
    fprintf(f, "order 0x%" PRIxPTR "\n", a_order);
    fprintf(f, "order_amount %.17g\n", amount);
    fprintf(f, "order_product 0x%" PRIxPTR " %s\n", a_product, product_text);
    fprintf(f, "path 0x%" PRIxPTR " 0x%" PRIxPTR " 0x%" PRIxPTR " 0x%" PRIxPTR "\n", a_arr, a_cust, a_orders,
            a_order);
    fprintf(f, "path_fields [%d] orders [%d]\n", PICK, PICK_ORDER);
    fprintf(f, "dead_order 0x%" PRIxPTR "\n", dead_order);
    fprintf(f, "live_bytes %" PRIu64 "\n", live_bytes);
    if (fclose(f) != 0) {
        perror(path);
        return 1;
    }
    printf("heap_shop: %zu objects, dump %s, truth %s\n", s->nobjs, argv[1], path);

    for (size_t k = 0; k < s->nobjs; k++)
        gcrt_handle_free(s->objs[k].h);
    GCRT_FRAME_POP(s->th, F);
    gcrt_heap_destroy(s->heap);
    return 0;
}
