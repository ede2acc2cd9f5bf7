/* testutil.h - helpers shared by the libgcrt cmocka tests (static inline only).
 * Owns: heap/thread setup, stress detection, seeded RNG, a small Node type, common checks. */
#ifndef GCRT_TESTUTIL_H
#define GCRT_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

#include "gcrt.h"

#define TU_KIB ((size_t)1024)
#define TU_MIB ((size_t)1024 * 1024)

/* ---------------------------------------------------------------- environment */

/* Is the heap running with GCRT_GCSTRESS (a collection at every allocation)? */
static inline int tu_env_flag(const char *name)
{
    const char *s = getenv(name);
    return s && *s && strcmp(s, "0") != 0;
}
static inline int tu_stress(void) { return tu_env_flag("GCRT_GCSTRESS"); }
static inline int tu_heapverify(void) { return tu_env_flag("GCRT_HEAPVERIFY"); }
/* Pick a loop count: the normal one, or a smaller one under GC stress. */
static inline size_t tu_scale(size_t normal, size_t stressed) { return tu_stress() ? stressed : normal; }

/* ---------------------------------------------------------------- seeded RNG */

/* The seed of a randomized test: GCRT_TEST_SEED if set, else from the clock.
 * Always printed, so a failure can be replayed. */
static inline uint64_t tu_seed(const char *test)
{
    uint64_t seed;
    const char *s = getenv("GCRT_TEST_SEED");
    if (s && *s) {
        seed = (uint64_t)strtoull(s, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec * 1000000007ull) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20);
    }
    printf("[ SEED     ] %s: seed %" PRIu64 " (replay with GCRT_TEST_SEED=%" PRIu64 ")\n", test, seed, seed);
    fflush(stdout);
    return seed;
}

typedef struct tu_rng { uint64_t s; } tu_rng;
static inline void tu_rng_init(tu_rng *r, uint64_t seed) { r->s = seed ? seed : 0x9e3779b97f4a7c15ull; }
/* splitmix64 */
static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint64_t tu_below(tu_rng *r, uint64_t n) { return n ? tu_next(r) % n : 0; }

/* ---------------------------------------------------------------- heap setup */

/* Defaults + environment (so GCRT_HEAPVERIFY / GCRT_GCSTRESS stay in force). */
static inline gcrt_config tu_config(void)
{
    gcrt_config c;
    gcrt_rc rc = gcrt_config_default(&c);
    if (rc != GCRT_OK)
        print_error("gcrt_config_default: %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
    assert_int_equal(rc, GCRT_OK);
    return c;
}

static inline gcrt_heap *tu_heap(const gcrt_config *cfg)
{
    gcrt_heap *h = NULL;
    gcrt_rc rc = gcrt_heap_create(cfg, &h);
    if (rc != GCRT_OK)
        print_error("gcrt_heap_create: %s: %s\n", gcrt_rc_name(rc), gcrt_last_error());
    assert_int_equal(rc, GCRT_OK);
    assert_non_null(h);
    return h;
}

static inline gcrt_thread *tu_attach(gcrt_heap *h, const char *name)
{
    gcrt_thread *th = gcrt_thread_attach(h, name);
    if (!th)
        print_error("gcrt_thread_attach: %s\n", gcrt_last_error());
    assert_non_null(th);
    return th;
}

static inline void tu_collect(gcrt_thread *th, int gen)
{
    gcrt_rc rc = gcrt_collect(th, gen);
    if (rc != GCRT_OK)
        print_error("gcrt_collect(%d): %s: %s\n", gen, gcrt_rc_name(rc), gcrt_last_error());
    assert_int_equal(rc, GCRT_OK);
}

static inline void tu_verify(gcrt_thread *th)
{
    size_t nerr = 12345;
    gcrt_rc rc = gcrt_heap_verify(th, &nerr);
    if (rc != GCRT_OK)
        print_error("gcrt_heap_verify: %s (%zu errors): %s\n", gcrt_rc_name(rc), nerr, gcrt_last_error());
    assert_int_equal(rc, GCRT_OK);
    assert_int_equal(nerr, 0);
}

/* Case-insensitive substring test. */
static inline int tu_contains_ci(const char *hay, const char *needle)
{
    if (!hay || !needle)
        return 0;
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i]) {
            char a = hay[i], b = needle[i];
            if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
            if (a != b)
                break;
            i++;
        }
        if (i == n)
            return 1;
    }
    return n == 0;
}

/* ---------------------------------------------------------------- a Node type */

/* A small class used by many tests: a reference, an id and a check word (~id). */
typedef struct tu_node {
    gcrt_obj hdr;
    gcrt_obj *next;
    int64_t id;
    int64_t check;
} tu_node;

static inline gcrt_type *tu_node_type(gcrt_heap *h)
{
    gcrt_type *t = gcrt_type_find(h, "Test.Node");
    if (t)
        return t;
    static const gcrt_field_desc f[] = {
        GCRT_FIELD_REF(tu_node, next, "Test.Node"),
        GCRT_FIELD(tu_node, id, GCRT_K_I64),
        GCRT_FIELD(tu_node, check, GCRT_K_I64),
    };
    t = gcrt_type_define(h, "Test.Node", sizeof(tu_node), f, 3, NULL, 0);
    if (!t)
        print_error("gcrt_type_define(Test.Node): %s\n", gcrt_last_error());
    assert_non_null(t);
    return t;
}

/* Allocate a node with an id (next = NULL). Returns a fresh pointer; any
 * other unrooted pointer of the caller is stale afterwards. */
static inline gcrt_obj *tu_new_node(gcrt_thread *th, gcrt_type *t, int64_t id)
{
    gcrt_obj *o = gcrt_alloc(th, t);
    if (!o)
        print_error("gcrt_alloc(Test.Node): %s\n", gcrt_last_error());
    assert_non_null(o);
    tu_node *n = (tu_node *)(void *)o;
    assert_null(n->next);
    assert_int_equal(n->id, 0);
    n->id = id;
    n->check = ~id;
    return o;
}

static inline int64_t tu_node_id(const gcrt_obj *o) { return ((const tu_node *)(const void *)o)->id; }
static inline int tu_node_sane(const gcrt_obj *o, gcrt_type *t)
{
    const tu_node *n = (const tu_node *)(const void *)o;
    return o && gcrt_typeof(o) == t && n->check == ~n->id;
}

/* A weak short handle used as an observer: NULL once the target was found dead. */
static inline gcrt_handle *tu_weak(gcrt_heap *h, gcrt_obj *o)
{
    gcrt_handle *w = gcrt_handle_new(h, GCRT_HANDLE_WEAK_SHORT, o);
    assert_non_null(w);
    assert_ptr_equal(gcrt_handle_get(w), o);
    return w;
}
static inline gcrt_handle *tu_handle(gcrt_heap *h, gcrt_handle_kind k, gcrt_obj *o)
{
    gcrt_handle *w = gcrt_handle_new(h, k, o);
    if (!w)
        print_error("gcrt_handle_new: %s\n", gcrt_last_error());
    assert_non_null(w);
    assert_ptr_equal(gcrt_handle_get(w), o);
    assert_int_equal(gcrt_handle_kind_of(w), k);
    return w;
}

/* A byte array of exactly len elements (non-NULL). */
static inline gcrt_obj *tu_bytes(gcrt_thread *th, uint64_t len)
{
    gcrt_obj *a = gcrt_alloc_array(th, gcrt_builtin_type(gcrt_thread_heap(th), GCRT_T_U8_ARRAY), len);
    if (!a)
        print_error("gcrt_alloc_array(u8, %" PRIu64 "): %s\n", len, gcrt_last_error());
    assert_non_null(a);
    return a;
}

/* The expected heap size of an array: 16-byte header + elements, 8-aligned, at least 24. */
static inline size_t tu_array_size(uint64_t len, size_t comp)
{
    size_t n = 16 + (size_t)len * comp;
    n = (n + 7) & ~(size_t)7;
    return n < 24 ? 24 : n;
}

/* ---------------------------------------------------------------- child processes */

/* A check inside a forked child (cmocka's asserts belong to the parent):
 * on failure, one line on stderr and exit status 3. */
#define TU_CHILD_CHECK(cond)                                                                      \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "child check failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, #cond, \
                    gcrt_last_error());                                                           \
            _exit(3);                                                                             \
        }                                                                                         \
    } while (0)

/* Run fn(arg) in a forked child whose stderr is captured into err (NUL-
 * terminated, truncated to cap) and which is killed by SIGALRM after
 * timeout_s seconds, so a hang fails the test instead of hanging it. The
 * child exits 0 when fn returns. @return the child's wait status. Fork
 * only while the process has no other threads (no heap alive). */
static inline int tu_run_child(void (*fn)(void *), void *arg, unsigned timeout_s, char *err, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        close(fds[1]);
        signal(SIGALRM, SIG_DFL);
        alarm(timeout_s);
        fn(arg);
        fflush(stderr);
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    for (;;) {
        char buf[4096];
        ssize_t r = read(fds[0], buf, sizeof buf);
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            if (n + 1 < cap)
                err[n++] = buf[i];
    }
    if (cap)
        err[n] = 0;
    close(fds[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    return st;
}

/* Describe a wait status, for failure messages. */
static inline const char *tu_status_str(int st, char *buf, size_t cap)
{
    if (WIFEXITED(st))
        snprintf(buf, cap, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "killed by signal %d%s", WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (hung: timed out)" : "");
    else
        snprintf(buf, cap, "status %#x", st);
    return buf;
}

/* The child ran to its end (exit 0); else print what it said and fail. */
static inline void tu_expect_clean_exit(int st, const char *err)
{
    char b[64];
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        print_error("child: %s; its stderr:\n%s\n", tu_status_str(st, b, sizeof b), err);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The child died of SIGABRT (a fatal report) and its stderr names the mistake. */
static inline void tu_expect_report(int st, const char *err, const char *needle1, const char *needle2)
{
    char b[64];
    int ok = WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && tu_contains_ci(err, needle1) &&
             (!needle2 || tu_contains_ci(err, needle2));
    if (!ok)
        print_error("child: %s, expected a fatal report naming \"%s\"%s%s%s; its stderr:\n%s\n",
                    tu_status_str(st, b, sizeof b), needle1, needle2 ? " and \"" : "", needle2 ? needle2 : "",
                    needle2 ? "\"" : "", err);
    assert_true(ok);
}

#endif /* GCRT_TESTUTIL_H */
