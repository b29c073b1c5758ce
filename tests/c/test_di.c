/* Unit tests for src/di.c: resolution order, caching (shared, no_cache,
 * FR_DI_FRESH and FastAPI's re-walk of uncached sub-dependencies), cycles
 * named in the error, teardown order on success and failure, failing
 * teardowns not hiding the original error, step-driven resolution with
 * skips (skipped providers still NEEDed) and FastAPI's cache rules step by
 * step, teardown scopes (function / request) and the scope rule,
 * host-driven teardown (fr_di_ctx_pop_cleanup), overrides, deep chains,
 * diamond lattices, 1000 providers and allocation failures (registry and
 * per-request arena). */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

/* ---- a scriptable provider ---- */

static char g_trace[1 << 16];
static size_t g_trace_len;
static long g_counter; /* values are "how many provide() calls so far" like len(calls) */
static char g_log[4096];
static int g_log_calls;
static int g_r; /* REQUIRE evaluates its argument twice: no side effects in it */

static void trace(const char *fmt, const char *name, int n) {
    int w = snprintf(g_trace + g_trace_len, sizeof g_trace - g_trace_len, fmt, name, n);
    if (w > 0 && g_trace_len + (size_t)w < sizeof g_trace) g_trace_len += (size_t)w;
}

static void reset(void) {
    g_trace[0] = 0;
    g_trace_len = 0;
    g_counter = 0;
    g_log[0] = 0;
    g_log_calls = 0;
}

static void capture_log(void *ud, const char *msg) {
    (void)ud;
    g_log_calls++;
    snprintf(g_log + strlen(g_log), sizeof g_log - strlen(g_log), "%s|", msg);
}

typedef struct tp {
    const char *name;
    int fail;    /* provide() returns this */
    int td_rc;   /* teardown returns this */
    int quiet;   /* no trace */
    int calls;
    void *args[8];
} tp;

static int tp_provide(fr_di_ctx *ctx, void *ud, void **out) {
    tp *t = (tp *)ud;
    size_t i;
    t->calls++;
    for (i = 0; i < 8; i++) t->args[i] = fr_di_arg(ctx, i);
    if (!t->quiet) trace("%s ", t->name, 0);
    if (t->fail) return t->fail;
    *out = (void *)(intptr_t)++g_counter;
    return 0;
}

static int tp_teardown(void *value, int failed, void *ud) {
    tp *t = (tp *)ud;
    (void)value;
    if (!t->quiet) trace("~%s:%d ", t->name, failed);
    return t->td_rc;
}

static int add(fr_di *di, tp *t, const int *deps, size_t n, int teardown) {
    fr_di_provider p;
    memset(&p, 0, sizeof p);
    p.name = t->name;
    p.deps = deps;
    p.ndeps = n;
    p.provide = tp_provide;
    p.teardown = teardown ? tp_teardown : NULL;
    p.userdata = t;
    return fr_di_add(di, &p);
}

#define V(x) ((void *)(intptr_t)(x))

/* ---- tests ---- */

static void test_order_and_values(void) {
    tp a = {"a", 0, 0, 0, 0, {0}}, b = {"b", 0, 0, 0, 0, {0}}, c = {"c", 0, 0, 0, 0, {0}},
       d = {"d", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ia, ib, ic, id, order[4];
    void *v = NULL;
    REQUIRE(di);
    reset();
    ia = add(di, &a, NULL, 0, 0);
    {
        int deps_b[] = {ia};
        ib = add(di, &b, deps_b, 1, 0);
    }
    {
        int deps_c[] = {ia, ib};
        ic = add(di, &c, deps_c, 2, 0);
    }
    {
        int deps_d[] = {ic, ib};
        id = add(di, &d, deps_d, 2, 0);
    }
    CHECK(ia == 0 && ib == 1 && ic == 2 && id == 3);
    CHECK_EQ_INT(fr_di_count(di), 4);
    CHECK_EQ_INT(fr_di_find(di, "c"), 2);
    CHECK_EQ_INT(fr_di_find(di, "zz"), -1);
    CHECK(strcmp(fr_di_name(di, 1), "b") == 0);
    CHECK(fr_di_name(di, 4) == NULL && fr_di_name(di, -1) == NULL);
    CHECK_EQ_INT(fr_di_order(di, order, 4), 4);
    CHECK(order[0] == ia && order[3] == id);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, id, &v), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b c d ");
    CHECK(v == V(4));
    /* each consumer got the shared values */
    CHECK(b.args[0] == V(1));
    CHECK(c.args[0] == V(1) && c.args[1] == V(2));
    CHECK(d.args[0] == V(3) && d.args[1] == V(2) && d.args[2] == NULL);
    CHECK(fr_di_get(ctx, ia) == V(1) && fr_di_get(ctx, id) == V(4));
    CHECK(fr_di_has(ctx, ic) && !fr_di_has(ctx, 99) && !fr_di_has(ctx, -1));
    /* after a resolution fr_di_arg reads the resolved provider's deps */
    CHECK(fr_di_arg(ctx, 0) == V(3) && fr_di_arg(ctx, 1) == V(2) && fr_di_arg(ctx, 2) == NULL);
    CHECK(fr_di_result(ctx) == V(4));
    /* resolving again in the same request: all cached, nothing runs */
    CHECK_EQ_INT(fr_di_resolve(ctx, ib, &v), 0);
    CHECK(v == V(2));
    CHECK_EQ_INT(a.calls + b.calls + c.calls + d.calls, 4);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    /* finished contexts refuse work */
    CHECK_EQ_INT(fr_di_resolve(ctx, ia, &v), -1);
    CHECK(strstr(fr_di_ctx_error(ctx), "finished") != NULL);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* diamond: db used by two consumers runs once */
static void test_cache_shared(void) {
    tp db = {"db", 0, 0, 0, 0, {0}}, s1 = {"s1", 0, 0, 0, 0, {0}}, s2 = {"s2", 0, 0, 0, 0, {0}},
       h = {"h", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int idb, is1, is2, ih, deps[2];
    REQUIRE(di);
    reset();
    idb = add(di, &db, NULL, 0, 1);
    deps[0] = idb;
    is1 = add(di, &s1, deps, 1, 1);
    is2 = add(di, &s2, deps, 1, 1);
    deps[0] = is1;
    deps[1] = is2;
    ih = add(di, &h, deps, 2, 0);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ih, NULL), 0);
    CHECK_EQ_INT(db.calls, 1);
    CHECK(s1.args[0] == s2.args[0] && s1.args[0] == V(1));
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "db s1 s2 h ~s2:0 ~s1:0 ~db:0 ");
    /* a second request gets its own values */
    fr_arena_reset(&ar);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ih, NULL), 0);
    CHECK_EQ_INT(db.calls, 2);
    fr_di_ctx_finish(ctx, 0);
    fr_arena_free(&ar);
    fr_di_free(di);
}

static void test_no_cache_provider(void) {
    tp x = {"x", 0, 0, 0, 0, {0}}, h = {"h", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_di_provider p;
    fr_arena ar;
    fr_di_ctx *ctx;
    int ix, ih, deps[3];
    REQUIRE(di);
    reset();
    memset(&p, 0, sizeof p);
    p.name = "x";
    p.no_cache = 1;
    p.provide = tp_provide;
    p.teardown = tp_teardown;
    p.userdata = &x;
    ix = fr_di_add(di, &p);
    deps[0] = deps[1] = deps[2] = ix;
    ih = add(di, &h, deps, 3, 0);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ih, NULL), 0);
    CHECK_EQ_INT(x.calls, 3);
    CHECK(h.args[0] == V(1) && h.args[1] == V(2) && h.args[2] == V(3));
    CHECK(fr_di_get(ctx, ix) == V(1)); /* the first value is the cached one */
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "x x x h ~x:0 ~x:0 ~x:0 ");
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* Exactly what FastAPI 0.165 does for
 *   def b(); def a(x=Depends(b, use_cache=False)); def c(y=Depends(b))
 *   def h(p=Depends(a), q=Depends(a), r=Depends(c),
 *         s=Depends(b, use_cache=False), t=Depends(b))
 * calls: ['b', 'a', 'b', 'c', 'b'], values [1, 1, 1, 5, 1] where each call
 * returns len(calls) (checked with fastapi.testclient). */
static void test_fastapi_use_cache_semantics(void) {
    tp a = {"a", 0, 0, 0, 0, {0}}, b = {"b", 0, 0, 0, 0, {0}}, c = {"c", 0, 0, 0, 0, {0}},
       h = {"h", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ib, ia, ic, ih;
    REQUIRE(di);
    reset();
    ib = add(di, &b, NULL, 0, 0);
    {
        int d[] = {FR_DI_FRESH(ib)};
        ia = add(di, &a, d, 1, 0);
    }
    {
        int d[] = {ib};
        ic = add(di, &c, d, 1, 0);
    }
    {
        int d[] = {ia, ia, ic, FR_DI_FRESH(ib), ib};
        ih = add(di, &h, d, 5, 0);
    }
    REQUIRE(ih >= 0);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ih, NULL), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "b a b c b h ");
    /* our values: b=1, a=2 (a returns its own count), b=3, c=4, b=5 */
    CHECK(h.args[0] == V(2) && h.args[1] == V(2)); /* a cached both times */
    CHECK(h.args[2] == V(4));                       /* c */
    CHECK(h.args[3] == V(5));                       /* fresh b */
    CHECK(h.args[4] == V(1));                       /* cached b = the first value */
    CHECK(c.args[0] == V(1));
    CHECK(a.args[0] == V(1)); /* a ran once, with the first b */
    CHECK_EQ_INT(a.calls, 1);
    CHECK_EQ_INT(b.calls, 3);
    fr_di_ctx_finish(ctx, 0);
    fr_arena_free(&ar);
    fr_di_free(di);
}

static void test_cycles_named(void) {
    tp a = {"db", 0, 0, 0, 0, {0}}, b = {"session", 0, 0, 0, 0, {0}}, c = {"user", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ia, ib, ic, d[2];
    void *v;
    REQUIRE(di);
    reset();
    ia = add(di, &a, NULL, 0, 0);
    d[0] = ia;
    ib = add(di, &b, d, 1, 0);
    d[0] = ib;
    ic = add(di, &c, d, 1, 0);
    /* db -> user closes db -> user -> session -> db */
    d[0] = ic;
    CHECK_EQ_INT(fr_di_set_deps(di, ia, d, 1), -1);
    CHECK(strcmp(fr_di_error(di), "cycle: db -> user -> session -> db") == 0);
    /* two-node cycle */
    d[0] = ib;
    CHECK_EQ_INT(fr_di_set_deps(di, ia, d, 1), -1);
    CHECK(strcmp(fr_di_error(di), "cycle: db -> session -> db") == 0);
    /* self-dependency, at registration and later */
    d[0] = ia;
    CHECK_EQ_INT(fr_di_set_deps(di, ia, d, 1), -1);
    CHECK(strcmp(fr_di_error(di), "cycle: db -> db") == 0);
    {
        tp s = {"self", 0, 0, 0, 0, {0}};
        int self[] = {3};
        CHECK_EQ_INT(add(di, &s, self, 1, 0), -1);
        CHECK(strcmp(fr_di_error(di), "cycle: self -> self") == 0);
        CHECK_EQ_INT(fr_di_count(di), 3);
    }
    /* an override that would close a cycle is refused too */
    {
        fr_di_provider p;
        int dd[] = {ic};
        memset(&p, 0, sizeof p);
        p.name = "db2";
        p.deps = dd;
        p.ndeps = 1;
        CHECK_EQ_INT(fr_di_override(di, ia, &p), -1);
        CHECK(strcmp(fr_di_error(di), "cycle: db2 -> user -> session -> db2") == 0);
        CHECK(strcmp(fr_di_name(di, ia), "db") == 0);
    }
    /* the graph is unchanged and still works */
    CHECK_EQ_INT(fr_di_compile(di), 0);
    CHECK(fr_di_error(di)[0] == 0);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ic, &v), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "db session user ");
    fr_di_ctx_finish(ctx, 0);
    /* a legal rewiring (forward reference) is accepted */
    {
        tp e = {"e", 0, 0, 0, 0, {0}};
        int ie = add(di, &e, NULL, 0, 0), dd[] = {ie};
        CHECK_EQ_INT(fr_di_set_deps(di, ia, dd, 1), 0);
        fr_arena_reset(&ar);
        reset();
        ctx = fr_di_ctx_new(di, &ar);
        REQUIRE(ctx);
        CHECK_EQ_INT(fr_di_resolve(ctx, ic, &v), 0);
        CHECK_EQ_MEM(g_trace, g_trace_len, "e db session user ");
        fr_di_ctx_finish(ctx, 0);
        {
            int order[8], pos[8], i;
            size_t n = fr_di_order(di, order, 8);
            REQUIRE(n == 4);
            for (i = 0; i < 4; i++) pos[order[i]] = i;
            CHECK(pos[ie] < pos[ia] && pos[ia] < pos[ib] && pos[ib] < pos[ic]);
        }
    }
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* a long cycle through many providers is named in full (truncated politely) */
static void test_long_cycle_message(void) {
    fr_di *di = fr_di_new(NULL);
    tp t = {"p", 0, 0, 1, 0, {0}};
    char name[32];
    int i, prev = -1, first;
    REQUIRE(di);
    for (i = 0; i < 100; i++) {
        fr_di_provider p;
        memset(&p, 0, sizeof p);
        snprintf(name, sizeof name, "provider_number_%d", i);
        p.name = name;
        p.deps = prev >= 0 ? &prev : NULL;
        p.ndeps = prev >= 0;
        p.provide = tp_provide;
        p.userdata = &t;
        prev = fr_di_add(di, &p);
        REQUIRE(prev == i);
    }
    first = 0;
    CHECK_EQ_INT(fr_di_set_deps(di, first, &prev, 1), -1);
    CHECK(strncmp(fr_di_error(di), "cycle: provider_number_0 -> provider_number_99 -> ", 50) == 0);
    CHECK(strlen(fr_di_error(di)) < 256);
    CHECK(strcmp(fr_di_error(di) + strlen(fr_di_error(di)) - 3, "...") == 0);
    fr_di_free(di);
}

static void test_bad_registration(void) {
    fr_di *di = fr_di_new(NULL);
    tp a = {"a", 0, 0, 0, 0, {0}};
    fr_di_provider p;
    fr_arena ar;
    fr_di_ctx *ctx;
    int bad[] = {7}, neg[] = {-3}, ia;
    REQUIRE(di);
    CHECK_EQ_INT(add(di, &a, bad, 1, 0), -1);
    CHECK(strcmp(fr_di_error(di), "provider 'a': unknown dependency id 7") == 0);
    CHECK_EQ_INT(add(di, &a, neg, 1, 0), -1);
    CHECK(strstr(fr_di_error(di), "invalid dependency id -3") != NULL);
    CHECK_EQ_INT(add(di, &a, NULL, 2, 0), -1);
    CHECK(strstr(fr_di_error(di), "deps is NULL") != NULL);
    CHECK_EQ_INT(fr_di_add(di, NULL), -1);
    CHECK_EQ_INT(fr_di_add(NULL, NULL), -1);
    CHECK_EQ_INT(fr_di_count(di), 0);
    /* unnamed providers get "#id" */
    memset(&p, 0, sizeof p);
    ia = fr_di_add(di, &p);
    CHECK_EQ_INT(ia, 0);
    CHECK(strcmp(fr_di_name(di, ia), "#0") == 0);
    CHECK_EQ_INT(fr_di_set_deps(di, 5, NULL, 0), -1);
    CHECK_EQ_INT(fr_di_override(di, 5, NULL), -1);
    CHECK_EQ_INT(fr_di_override(di, ia, NULL), 0); /* nothing to restore: fine */
    CHECK_EQ_INT(fr_di_set_deps(di, ia, bad, 1), -1);
    /* names and deps are copied: the caller's memory may go away (an access
     * to the unmapped copy would crash) */
    {
        char *gname = (char *)frt_guarded("guarded", 8);
        int *gdeps = (int *)frt_guarded(&ia, sizeof ia);
        p.name = gname;
        p.deps = gdeps;
        p.ndeps = 1;
        CHECK_EQ_INT(fr_di_add(di, &p), 1);
        frt_guarded_free(gname, 8);
        frt_guarded_free(gdeps, sizeof ia);
        CHECK(strcmp(fr_di_name(di, 1), "guarded") == 0);
        CHECK_EQ_INT(fr_di_find(di, "guarded"), 1);
        CHECK_EQ_INT(fr_di_compile(di), 0);
    }
    /* a provider without provide() yields NULL */
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    {
        void *v = V(1);
        CHECK_EQ_INT(fr_di_resolve(ctx, ia, &v), 0);
        CHECK(v == NULL && fr_di_has(ctx, ia));
        CHECK_EQ_INT(fr_di_resolve(ctx, 2, &v), -1);
        CHECK_EQ_INT(fr_di_resolve(ctx, -1, &v), -1);
        CHECK(strstr(fr_di_ctx_error(ctx), "unknown") != NULL);
    }
    CHECK(fr_di_ctx_new(NULL, &ar) == NULL);
    CHECK(fr_di_ctx_new(di, NULL) == NULL);
    CHECK_EQ_INT(fr_di_resolve(NULL, 0, NULL), -1);
    fr_di_ctx_finish(ctx, 0);
    fr_arena_free(&ar);
    fr_di_free(di);
    fr_di_free(NULL);
}

static void test_teardown_reverse_order(void) {
    tp a = {"a", 0, 0, 0, 0, {0}}, b = {"b", 0, 0, 0, 0, {0}}, c = {"c", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ia, ib, ic, d[1];
    REQUIRE(di);
    reset();
    ia = add(di, &a, NULL, 0, 1);
    d[0] = ia;
    ib = add(di, &b, d, 1, 1);
    d[0] = ib;
    ic = add(di, &c, d, 1, 1);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ic, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_defer(ctx, tp_teardown, NULL, &a), 0); /* extra cleanup, runs first */
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b c ");
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b c ~a:0 ~c:0 ~b:0 ~a:0 ");
    /* a second finish runs nothing */
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b c ~a:0 ~c:0 ~b:0 ~a:0 ");
    CHECK_EQ_INT(fr_di_ctx_defer(ctx, tp_teardown, NULL, &a), -1);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* a provider fails: later providers don't run, earlier teardowns still run
 * and see the failure code */
static void test_teardown_on_provider_failure(void) {
    tp a = {"a", 0, 0, 0, 0, {0}}, b = {"b", 503, 0, 0, 0, {0}}, c = {"c", 0, 0, 0, 0, {0}},
       e = {"e", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ia, ib, ic, ie, d[3];
    void *v = V(9);
    REQUIRE(di);
    reset();
    ia = add(di, &a, NULL, 0, 1);
    ib = add(di, &b, NULL, 0, 1);
    ie = add(di, &e, NULL, 0, 1);
    d[0] = ia;
    d[1] = ib;
    d[2] = ie;
    ic = add(di, &c, d, 3, 1);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ic, &v), 503);
    CHECK(v == NULL);
    CHECK_EQ_INT(fr_di_ctx_failed_id(ctx), ib);
    CHECK_EQ_INT(c.calls + e.calls, 0);
    CHECK(!fr_di_has(ctx, ib) && !fr_di_has(ctx, ic));
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 503);
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b ~a:503 ");
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* the handler fails after its dependencies resolved */
static void test_teardown_on_handler_failure(void) {
    tp a = {"a", 0, 0, 0, 0, {0}}, b = {"b", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ia, ib;
    REQUIRE(di);
    reset();
    ia = add(di, &a, NULL, 0, 1);
    ib = add(di, &b, &ia, 1, 1);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ib, NULL), 0);
    fr_di_ctx_set_failed(ctx, 500);
    fr_di_ctx_set_failed(ctx, 418); /* first code wins */
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 500);
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b ~b:500 ~a:500 ");
    /* the code passed to finish wins over set_failed */
    reset();
    fr_arena_reset(&ar);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ib, NULL), 0);
    fr_di_ctx_set_failed(ctx, 500);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 499), 499);
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b ~b:499 ~a:499 ");
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* a teardown that fails is logged; the original error stays; the other
 * teardowns still run */
static void test_teardown_error_does_not_hide(void) {
    tp a = {"a", 0, 0, 0, 0, {0}}, b = {"b", 0, 77, 0, 0, {0}}, c = {"c", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ia, ib, ic, d[2];
    REQUIRE(di);
    fr_di_set_log(di, capture_log, NULL);
    reset();
    ia = add(di, &a, NULL, 0, 1);
    ib = add(di, &b, NULL, 0, 1);
    d[0] = ia;
    d[1] = ib;
    ic = add(di, &c, d, 2, 1);
    fr_arena_init(&ar, NULL);
    /* with an original failure */
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ic, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 503), 503);
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b c ~c:503 ~b:503 ~a:503 ");
    CHECK_EQ_INT(g_log_calls, 1);
    CHECK(strstr(g_log, "teardown of dependency 'b' failed with code 77") != NULL);
    CHECK(strstr(g_log, "503") != NULL);
    /* without one: the teardown's code is reported and seen by the outer ones */
    reset();
    fr_arena_reset(&ar);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ic, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 77);
    CHECK_EQ_MEM(g_trace, g_trace_len, "a b c ~c:0 ~b:0 ~a:77 ");
    CHECK_EQ_INT(g_log_calls, 1);
    /* a failing provider + a failing teardown: the provider's code wins */
    {
        tp f = {"f", 409, 0, 0, 0, {0}};
        int d2[] = {ib, 0};
        int iff = add(di, &f, NULL, 0, 0), ig;
        tp g = {"g", 0, 0, 0, 0, {0}};
        d2[1] = iff;
        ig = add(di, &g, d2, 2, 1);
        reset();
        fr_arena_reset(&ar);
        ctx = fr_di_ctx_new(di, &ar);
        REQUIRE(ctx);
        CHECK_EQ_INT(fr_di_resolve(ctx, ig, NULL), 409);
        CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 409);
        CHECK_EQ_MEM(g_trace, g_trace_len, "b f ~b:409 ");
        CHECK_EQ_INT(g_log_calls, 1);
    }
    /* silenced log: still returns the code */
    fr_di_set_log(di, NULL, NULL);
    reset();
    fr_arena_reset(&ar);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ic, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 77);
    CHECK_EQ_INT(g_log_calls, 0);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* p0 <- p1 <- ... <- p999 */
static void test_deep_chain(void) {
    static tp t[1000];
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int i, prev = -1, order[1000];
    void *v;
    REQUIRE(di);
    reset();
    for (i = 0; i < 1000; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].name = "p";
        t[i].quiet = 1;
        g_r = add(di, &t[i], prev >= 0 ? &prev : NULL, prev >= 0, 1);
        REQUIRE(g_r == i);
        prev = i;
    }
    CHECK_EQ_INT(fr_di_order(di, order, 1000), 1000);
    for (i = 0; i < 1000; i++) CHECK(order[i] == i);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, 999, &v), 0);
    CHECK(v == V(1000));
    for (i = 0; i < 1000; i++) {
        CHECK_EQ_INT(t[i].calls, 1);
        CHECK(fr_di_get(ctx, i) == V(i + 1));
        if (i) CHECK(t[i].args[0] == V(i));
    }
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    fr_arena_free(&ar);
    /* the same graph wired backwards with set_deps: p999 <- ... <- p0 */
    for (i = 0; i < 999; i++) CHECK_EQ_INT(fr_di_set_deps(di, i + 1, NULL, 0), 0);
    for (i = 0; i < 999; i++) {
        int dep = i + 1;
        CHECK_EQ_INT(fr_di_set_deps(di, i, &dep, 1), 0);
    }
    /* closing the loop names all 1000 (truncated) */
    {
        int dep = 0;
        CHECK_EQ_INT(fr_di_set_deps(di, 999, &dep, 1), -1);
        CHECK(strncmp(fr_di_error(di), "cycle: p -> p -> ", 17) == 0);
    }
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    g_counter = 0;
    CHECK_EQ_INT(fr_di_resolve(ctx, 0, &v), 0);
    CHECK(v == V(1000));
    CHECK(fr_di_get(ctx, 999) == V(1));
    fr_di_ctx_finish(ctx, 0);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* one consumer of 1000 independent providers */
static void test_thousand_providers(void) {
    static tp t[1001];
    static int deps[1000];
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int i, root;
    REQUIRE(di);
    reset();
    for (i = 0; i < 1000; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].name = "leaf";
        t[i].quiet = 1;
        deps[i] = add(di, &t[i], NULL, 0, 1);
        REQUIRE(deps[i] == i);
    }
    memset(&t[1000], 0, sizeof t[1000]);
    t[1000].name = "root";
    t[1000].quiet = 1;
    root = add(di, &t[1000], deps, 1000, 0);
    REQUIRE(root == 1000);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, root, NULL), 0);
    for (i = 0; i < 1000; i++) {
        CHECK_EQ_INT(t[i].calls, 1);
        CHECK(fr_di_arg(ctx, (size_t)i) == V(i + 1));
    }
    CHECK(fr_di_arg(ctx, 1000) == NULL);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* 40 layers of width 2, each node depending on both nodes of the layer
 * below: 2^40 paths, 80 providers. Cached walks must stay linear. */
static void test_diamond_lattice(void) {
    static tp t[81];
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int i, root, d[2];
    REQUIRE(di);
    reset();
    for (i = 0; i < 80; i++) {
        memset(&t[i], 0, sizeof t[i]);
        t[i].name = "n";
        t[i].quiet = 1;
        if (i < 2) {
            g_r = add(di, &t[i], NULL, 0, 1);
            REQUIRE(g_r == i);
        } else {
            d[0] = (i / 2 - 1) * 2;
            d[1] = d[0] + 1;
            g_r = add(di, &t[i], d, 2, 1);
            REQUIRE(g_r == i);
        }
    }
    memset(&t[80], 0, sizeof t[80]);
    t[80].name = "root";
    t[80].quiet = 1;
    d[0] = 78;
    d[1] = 79;
    root = add(di, &t[80], d, 2, 0);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, root, NULL), 0);
    for (i = 0; i < 81; i++) CHECK_EQ_INT(t[i].calls, 1);
    /* dependency order: every node ran after both of its dependencies */
    for (i = 2; i < 80; i++) {
        intptr_t me = (intptr_t)fr_di_get(ctx, i);
        CHECK(me > (intptr_t)fr_di_get(ctx, (i / 2 - 1) * 2));
        CHECK(me > (intptr_t)fr_di_get(ctx, (i / 2 - 1) * 2 + 1));
    }
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* random DAGs: topological order is respected and each provider runs once */
static void test_random_dags(void) {
    static tp t[200];
    uint32_t x = 99;
    int round;
    for (round = 0; round < 20; round++) {
        fr_di *di = fr_di_new(NULL);
        fr_arena ar;
        fr_di_ctx *ctx;
        int i, n = 200, order[200], pos[200];
        REQUIRE(di);
        for (i = 0; i < n; i++) {
            int deps[6], nd = 0, k;
            x = x * 1664525u + 1013904223u;
            if (i) {
                nd = (int)(x >> 28) % 6;
                for (k = 0; k < nd; k++) {
                    x = x * 1664525u + 1013904223u;
                    deps[k] = (int)((x >> 8) % (uint32_t)i);
                }
            }
            memset(&t[i], 0, sizeof t[i]);
            t[i].name = "r";
            t[i].quiet = 1;
            g_r = add(di, &t[i], deps, (size_t)nd, 0);
            REQUIRE(g_r == i);
        }
        CHECK_EQ_INT(fr_di_order(di, order, 200), n);
        for (i = 0; i < n; i++) pos[order[i]] = i;
        fr_arena_init(&ar, NULL);
        ctx = fr_di_ctx_new(di, &ar);
        REQUIRE(ctx);
        for (i = n - 1; i >= 0; i -= 7) CHECK_EQ_INT(fr_di_resolve(ctx, i, NULL), 0);
        for (i = 0; i < n; i++) {
            size_t k;
            CHECK(t[i].calls <= 1);
            for (k = 0; k < 6 && t[i].calls; k++) {
                /* each argument was produced before i */
                if (t[i].args[k]) CHECK((intptr_t)t[i].args[k] < (intptr_t)fr_di_get(ctx, i));
            }
        }
        (void)pos;
        fr_di_ctx_finish(ctx, 0);
        fr_arena_free(&ar);
        fr_di_free(di);
    }
}

/* step-driven resolution with FastAPI's "collect errors" skip */
static void test_step_api_skip(void) {
    tp dummy = {"x", 0, 0, 1, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ix, ia, ib, ih, d[2], need = -1, st;
    char seen[64] = "";
    REQUIRE(di);
    ix = add(di, &dummy, NULL, 0, 1);  /* x: has parameter errors */
    ia = add(di, &dummy, &ix, 1, 1);   /* a(x) */
    ib = add(di, &dummy, NULL, 0, 1);  /* b */
    d[0] = ia;
    d[1] = ib;
    ih = add(di, &dummy, d, 2, 0);     /* h(a, b) */
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_begin(ctx, ih), 0);
    CHECK_EQ_INT(fr_di_begin(ctx, ih), -1); /* already resolving */
    while ((st = fr_di_next(ctx, &need)) == FR_DI_NEED) {
        snprintf(seen + strlen(seen), sizeof seen - strlen(seen), "%d%s ", need,
                 fr_di_need_skipped(ctx) ? "*" : "");
        CHECK_EQ_INT(fr_di_next(ctx, &need), -1); /* must answer first */
        if (need == ix) {
            fr_di_skip(ctx);
        } else if (fr_di_need_skipped(ctx)) {
            /* supplying a value for a skipped provider is refused; the NEED
             * stays pending until it is answered with fr_di_skip */
            CHECK_EQ_INT(fr_di_supply(ctx, V(1)), -1);
            CHECK(strstr(fr_di_ctx_error(ctx), "skipped") != NULL);
            CHECK_EQ_INT(fr_di_need_skipped(ctx), 1);
            if (need == ih) CHECK(fr_di_arg(ctx, 0) == NULL && fr_di_arg(ctx, 1) == V(102));
            if (need == ia) CHECK(fr_di_arg(ctx, 0) == NULL);
            fr_di_skip(ctx);
            CHECK_EQ_INT(fr_di_need_skipped(ctx), 0);
        } else {
            CHECK_EQ_INT(fr_di_supply(ctx, V(100 + need)), 0);
        }
    }
    CHECK_EQ_INT(st, FR_DI_RESOLVED);
    /* x asked, skipped; b still asked. Changed with the 422-collection
     * rework: a and h (whose dependency was skipped) used to be skipped
     * silently; they are now asked too, marked "skipped" (*), because FastAPI
     * still validates their own parameters to report every error at once.
     * fr_di_skipped counts them as well: 3 instead of 1. */
    CHECK(strcmp(seen, "0 1* 2 3* ") == 0);
    CHECK_EQ_INT(fr_di_skipped(ctx), 3);
    CHECK(fr_di_result(ctx) == NULL);
    CHECK(!fr_di_has(ctx, ix) && !fr_di_has(ctx, ia) && fr_di_has(ctx, ib) && !fr_di_has(ctx, ih));
    CHECK_EQ_INT(fr_di_supply(ctx, NULL), -1); /* nothing pending */
    fr_di_fail(ctx, 1);                         /* ignored: nothing pending */
    fr_di_skip(ctx);
    CHECK_EQ_INT(fr_di_skipped(ctx), 3);
    CHECK_EQ_INT(fr_di_need_skipped(ctx), 0);
    CHECK_EQ_INT(fr_di_need_skipped(NULL), 0);
    reset();
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_INT(dummy.calls, 0); /* no provide() was called by the step API */
    fr_arena_free(&ar);

    /* step-driven failure */
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_begin(ctx, ih), 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_NEED);
    CHECK_EQ_INT(need, ix);
    CHECK_EQ_INT(fr_di_supply(ctx, V(5)), 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_NEED);
    CHECK_EQ_INT(need, ia);
    CHECK(fr_di_arg(ctx, 0) == V(5));
    fr_di_fail(ctx, 401);
    CHECK_EQ_INT(fr_di_next(ctx, &need), 401);
    CHECK_EQ_INT(fr_di_ctx_failed_id(ctx), ia);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 401);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* ---- scopes, host-driven teardown, FastAPI's cache rules step by step ---- */

static int add_scoped(fr_di *di, tp *t, const int *deps, size_t n, int teardown, int scope) {
    fr_di_provider p;
    memset(&p, 0, sizeof p);
    p.name = t->name;
    p.deps = deps;
    p.ndeps = n;
    p.provide = tp_provide;
    p.teardown = teardown ? tp_teardown : NULL;
    p.userdata = t;
    p.scope = scope;
    return fr_di_add(di, &p);
}

static void *g_need_arg0[32]; /* fr_di_arg(ctx, 0) seen at the last NEED of each id */

/* A step-driven host like the Python glue: answers the n-th supplied NEED
 * with V(++g_counter), skips the ids in skip_mask and (as it must) every
 * provider whose dependency was skipped, fails fail_id with fail_code.
 * Traces "name " per NEED ("name* " when fr_di_need_skipped). */
static int host_walk(fr_di_ctx *ctx, const fr_di *di, int root, unsigned skip_mask, int fail_id,
                     int fail_code) {
    int st, need = -1;
    if (fr_di_begin(ctx, root) < 0) return -1;
    while ((st = fr_di_next(ctx, &need)) == FR_DI_NEED) {
        int sk = fr_di_need_skipped(ctx);
        trace(sk ? "%s* " : "%s ", fr_di_name(di, need), 0);
        if (need >= 0 && need < 32) g_need_arg0[need] = fr_di_arg(ctx, 0);
        if (sk || ((skip_mask >> need) & 1u)) fr_di_skip(ctx);
        else if (need == fail_id) fr_di_fail(ctx, fail_code);
        else if (fr_di_supply(ctx, V(++g_counter)) < 0) return -1;
    }
    return st;
}

/* The cache rules the Python face relies on, driven step by step. */
static void test_step_cache_semantics(void) {
    tp b = {"b", 0, 0, 0, 0, {0}}, a = {"a", 0, 0, 0, 0, {0}}, c = {"c", 0, 0, 0, 0, {0}},
       h1 = {"h1", 0, 0, 0, 0, {0}}, h2 = {"h2", 0, 0, 0, 0, {0}}, h2b = {"h2b", 0, 0, 0, 0, {0}},
       h3 = {"h3", 0, 0, 0, 0, {0}}, h4 = {"h4", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ib, ia, ic, ih1, ih2, ih2b, ih3, ih4, id;
    void *v;
    REQUIRE(di);
    ib = add(di, &b, NULL, 0, 1);
    {
        int d[] = {FR_DI_FRESH(ib)};
        ia = add(di, &a, d, 1, 1); /* a(Depends(b, use_cache=False)) */
    }
    ic = add(di, &c, &ib, 1, 0); /* c(Depends(b)) */
    {
        int d1[] = {ib, ib};
        int d2[] = {FR_DI_FRESH(ib), ib, FR_DI_FRESH(ib), ib};
        int d2b[] = {ib, FR_DI_FRESH(ib), ib};
        int d3[] = {ia, ia, ic};
        int d4[] = {ia, ic};
        ih1 = add(di, &h1, d1, 2, 0);
        ih2 = add(di, &h2, d2, 4, 0);
        ih2b = add(di, &h2b, d2b, 3, 0);
        ih3 = add(di, &h3, d3, 3, 0);
        ih4 = add(di, &h4, d4, 2, 0);
    }
    REQUIRE(ih4 >= 0);
    fr_arena_init(&ar, NULL);

    /* (a) a cached use twice: runs once, both consumers share the value;
     * (d) the root is NEEDed last and its value is the result */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(host_walk(ctx, di, ih1, 0, -1, 0), FR_DI_RESOLVED);
    CHECK_EQ_MEM(g_trace, g_trace_len, "b h1 ");
    CHECK(fr_di_arg(ctx, 0) == V(1) && fr_di_arg(ctx, 1) == V(1));
    CHECK(fr_di_result(ctx) == V(2) && fr_di_get(ctx, ih1) == V(2));
    CHECK_EQ_INT(fr_di_skipped(ctx), 0);
    fr_di_ctx_finish(ctx, 0);
    fr_arena_reset(&ar);

    /* (b) FRESH runs again; the first value produced (even by a FRESH use)
     * is the cached one for later plain uses. FastAPI 0.165:
     * h(x=Depends(b, use_cache=False), y=Depends(b)) calls b once. */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(host_walk(ctx, di, ih2, 0, -1, 0), FR_DI_RESOLVED);
    CHECK_EQ_MEM(g_trace, g_trace_len, "b b h2 ");
    CHECK(fr_di_arg(ctx, 0) == V(1) && fr_di_arg(ctx, 1) == V(1));
    CHECK(fr_di_arg(ctx, 2) == V(2) && fr_di_arg(ctx, 3) == V(1));
    CHECK(fr_di_get(ctx, ib) == V(1) && fr_di_result(ctx) == V(3));
    /* one cleanup per produced value: the fresh one too */
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, &v, &id), 1);
    CHECK(v == V(2) && id == ib);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, &v, &id), 1);
    CHECK(v == V(1) && id == ib);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, &v, &id), 0);
    fr_di_ctx_finish(ctx, 0);
    fr_arena_reset(&ar);
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(host_walk(ctx, di, ih2b, 0, -1, 0), FR_DI_RESOLVED);
    CHECK_EQ_MEM(g_trace, g_trace_len, "b b h2b ");
    CHECK(fr_di_arg(ctx, 0) == V(1) && fr_di_arg(ctx, 1) == V(2) && fr_di_arg(ctx, 2) == V(1));
    fr_di_ctx_finish(ctx, 0);
    fr_arena_reset(&ar);

    /* (c) reaching cached a again re-walks its FRESH b (b runs, a does not);
     * c's plain b is the first b */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(host_walk(ctx, di, ih3, 0, -1, 0), FR_DI_RESOLVED);
    CHECK_EQ_MEM(g_trace, g_trace_len, "b a b c h3 ");
    CHECK(g_need_arg0[ia] == V(1)); /* a ran once, with the first b */
    CHECK(g_need_arg0[ic] == V(1));
    CHECK(fr_di_arg(ctx, 0) == V(2) && fr_di_arg(ctx, 1) == V(2) && fr_di_arg(ctx, 2) == V(4));
    CHECK(fr_di_result(ctx) == V(5));
    /* cleanups: b(1), a(2), b(3) registered; popped in reverse */
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, FR_DI_SCOPE_REQUEST, &v, &id), 1);
    CHECK(v == V(3) && id == ib);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, FR_DI_SCOPE_REQUEST, &v, &id), 1);
    CHECK(v == V(2) && id == ia);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, FR_DI_SCOPE_REQUEST, &v, &id), 1);
    CHECK(v == V(1) && id == ib);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, FR_DI_SCOPE_REQUEST, &v, &id), 0);
    CHECK(v == NULL && id == -1);
    fr_di_ctx_finish(ctx, 0);
    fr_arena_reset(&ar);

    /* (e) a failure: the walk returns the code (every later next too), the
     * values supplied so far keep their cleanups, for the host to unwind */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(host_walk(ctx, di, ih4, 0, ic, 409), 409);
    CHECK_EQ_MEM(g_trace, g_trace_len, "b a c ");
    CHECK_EQ_INT(fr_di_next(ctx, &id), 409);
    CHECK_EQ_INT(fr_di_ctx_failed_id(ctx), ic);
    CHECK(fr_di_result(ctx) == NULL);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, &v, &id), 1);
    CHECK(v == V(2) && id == ia);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, NULL, &id), 1);
    CHECK(id == ib);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, &v, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 409);
    CHECK_EQ_MEM(g_trace, g_trace_len, "b a c "); /* popped: never run by finish */
    /* the same failure left to finish: the teardowns run with the code */
    fr_arena_reset(&ar);
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(host_walk(ctx, di, ih4, 0, ic, 409), 409);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 409);
    CHECK_EQ_MEM(g_trace, g_trace_len, "b a c ~a:409 ~b:409 ");
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* A skipped dependency wins over the cache, and a skipped provider may
 * still be failed by the host. */
static void test_step_skip_cached_and_fail(void) {
    tp x = {"x", 0, 0, 1, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    int ix, ia, ih, d[2], need, st, nx = 0;
    REQUIRE(di);
    ix = add(di, &x, NULL, 0, 0);
    d[0] = FR_DI_FRESH(ix);
    ia = add(di, &x, d, 1, 0); /* a(Depends(x, use_cache=False)) */
    d[0] = d[1] = ia;
    ih = add(di, &x, d, 2, 0); /* h(a, a) */
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    reset();
    /* the second x (re-walked below the cached a) is skipped: a is NEEDed
     * again though cached, marked skipped, then h */
    CHECK_EQ_INT(fr_di_begin(ctx, ih), 0);
    while ((st = fr_di_next(ctx, &need)) == FR_DI_NEED) {
        char num[16];
        snprintf(num, sizeof num, "%d", need);
        trace(fr_di_need_skipped(ctx) ? "%s* " : "%s ", num, 0);
        if (need == ix && nx++ == 1) fr_di_skip(ctx);
        else if (fr_di_need_skipped(ctx)) fr_di_skip(ctx);
        else CHECK_EQ_INT(fr_di_supply(ctx, V(10 + need)), 0);
    }
    CHECK_EQ_INT(st, FR_DI_RESOLVED);
    CHECK_EQ_MEM(g_trace, g_trace_len, "0 1 0 1* 2* ");
    CHECK_EQ_INT(fr_di_skipped(ctx), 3);
    CHECK(fr_di_get(ctx, ia) == V(11)); /* the cached value itself stays */
    CHECK(!fr_di_has(ctx, ih) && fr_di_result(ctx) == NULL);
    fr_di_ctx_finish(ctx, 0);
    fr_arena_reset(&ar);
    /* fr_di_fail is a valid answer to a skipped NEED */
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_begin(ctx, ih), 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_NEED);
    CHECK_EQ_INT(need, ix);
    fr_di_skip(ctx);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_NEED);
    CHECK(need == ia && fr_di_need_skipped(ctx));
    CHECK(fr_di_arg(ctx, 0) == NULL);
    fr_di_fail(ctx, 400);
    CHECK_EQ_INT(fr_di_need_skipped(ctx), 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), 400);
    CHECK_EQ_INT(fr_di_ctx_failed_id(ctx), ia);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 400);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/*  h(r, f, r2, f2, r3): r, r3 request-scoped with teardowns, f, f2
 *  function-scoped with teardowns, r2(f) request-scoped without one,
 *  f2(r). Registration order of the cleanups: r f f2 r3. */
typedef struct scoped_graph {
    tp r, f, r2, f2, r3, h;
    int ir, iff, ir2, if2, ir3, ih;
} scoped_graph;

static int scoped_build(fr_di *di, scoped_graph *g) {
    static const tp zero = {NULL, 0, 0, 0, 0, {0}};
    int d[5];
    g->r = g->f = g->r2 = g->f2 = g->r3 = g->h = zero;
    g->r.name = "r";
    g->f.name = "f";
    g->r2.name = "r2";
    g->f2.name = "f2";
    g->r3.name = "r3";
    g->h.name = "h";
    g->ir = add_scoped(di, &g->r, NULL, 0, 1, FR_DI_SCOPE_REQUEST);
    g->iff = add_scoped(di, &g->f, NULL, 0, 1, FR_DI_SCOPE_FUNCTION);
    g->ir2 = add_scoped(di, &g->r2, &g->iff, 1, 0, FR_DI_SCOPE_REQUEST);
    g->if2 = add_scoped(di, &g->f2, &g->ir, 1, 1, FR_DI_SCOPE_FUNCTION);
    g->ir3 = add_scoped(di, &g->r3, NULL, 0, 1, FR_DI_SCOPE_REQUEST);
    d[0] = g->ir;
    d[1] = g->iff;
    d[2] = g->ir2;
    d[3] = g->if2;
    d[4] = g->ir3;
    g->ih = add_scoped(di, &g->h, d, 5, 0, FR_DI_SCOPE_REQUEST);
    return g->ih;
}

static void test_scope_function(void) {
    static scoped_graph g;
    tp dd = {"dd", 0, 0, 0, 0, {0}}, r3f = {"r3f", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    REQUIRE(di);
    fr_di_set_log(di, capture_log, NULL);
    g_r = scoped_build(di, &g);
    REQUIRE(g_r >= 0);
    fr_arena_init(&ar, NULL);

    /* success: function-scoped at end_function_scope, the rest at finish */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ");
    CHECK_EQ_INT(fr_di_ctx_defer(ctx, tp_teardown, NULL, &dd), 0); /* request-scoped */
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:0 ~f:0 ");
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 0), 0); /* nothing left to run */
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:0 ~f:0 ");
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:0 ~f:0 ~dd:0 ~r3:0 ~r:0 ");
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 7), 0); /* finished: finish's code */
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(NULL, 0), -1);
    fr_arena_reset(&ar);

    /* never ended (the handler failed): finish runs the function-scoped ones
     * first although r was registered before them and r3 after */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 500), 500);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:500 ~f:500 ~r3:500 ~r:500 ");
    fr_arena_reset(&ar);

    /* the handler failed: end_function_scope passes the code on, and the
     * request-scoped teardowns see it too */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 500), 500);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 500);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:500 ~f:500 ~r3:500 ~r:500 ");
    fr_arena_reset(&ar);
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    fr_di_ctx_set_failed(ctx, 503);
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 0), 503);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 503);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:503 ~f:503 ~r3:503 ~r:503 ");
    fr_arena_reset(&ar);

    /* a function-scoped teardown fails: logged like in finish, returned,
     * and seen by the request-scoped ones (FastAPI: the error raised by the
     * function-scoped exit reaches the request-scoped exit stack) */
    reset();
    g.f.td_rc = 77;
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 0), 77);
    CHECK_EQ_INT(g_log_calls, 1);
    CHECK(strstr(g_log, "teardown of dependency 'f' failed with code 77|") != NULL);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 77);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:0 ~f:0 ~r3:77 ~r:77 ");
    CHECK_EQ_INT(g_log_calls, 1);
    g.f.td_rc = 0;
    fr_arena_reset(&ar);

    /* the scope belongs to the provider, so to an override's replacement */
    {
        fr_di_provider p;
        memset(&p, 0, sizeof p);
        p.name = "r3f";
        p.provide = tp_provide;
        p.teardown = tp_teardown;
        p.userdata = &r3f;
        p.scope = FR_DI_SCOPE_FUNCTION;
        CHECK_EQ_INT(fr_di_override(di, g.ir3, &p), 0);
    }
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3f h ~r3f:0 ~f2:0 ~f:0 ");
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3f h ~r3f:0 ~f2:0 ~f:0 ~r:0 ");
    CHECK_EQ_INT(fr_di_override(di, g.ir3, NULL), 0);
    fr_arena_reset(&ar);

    /* set_deps keeps the scope */
    CHECK_EQ_INT(fr_di_set_deps(di, g.if2, NULL, 0), 0);
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:0 ~f:0 ");
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:0 ~f:0 ~r3:0 ~r:0 ");
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* FastAPI's DependencyScopeError, and invalid scopes */
static void test_scope_rule(void) {
    tp t = {"t", 0, 0, 1, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_di_provider p;
    int ifn, ip0, irq, d[1];
    REQUIRE(di);
    memset(&p, 0, sizeof p);
    p.name = "bad";
    p.scope = 2;
    CHECK_EQ_INT(fr_di_add(di, &p), -1);
    CHECK(strcmp(fr_di_error(di), "provider 'bad': invalid scope 2") == 0);
    p.scope = -1;
    CHECK_EQ_INT(fr_di_add(di, &p), -1);
    CHECK_EQ_INT(fr_di_count(di), 0);
    t.name = "fn";
    ifn = add_scoped(di, &t, NULL, 0, 1, FR_DI_SCOPE_FUNCTION);
    t.name = "p0";
    ip0 = add_scoped(di, &t, NULL, 0, 1, FR_DI_SCOPE_REQUEST);
    REQUIRE(ifn == 0 && ip0 == 1);
    /* request-scoped with a teardown -> function-scoped: refused */
    t.name = "rq";
    CHECK_EQ_INT(add_scoped(di, &t, &ifn, 1, 1, FR_DI_SCOPE_REQUEST), -1);
    CHECK(strcmp(fr_di_error(di), "provider 'rq' has request scope and a teardown: it cannot "
                                  "depend on 'fn', which has function scope") == 0);
    CHECK_EQ_INT(fr_di_count(di), 2);
    /* allowed: no teardown (FastAPI: not a generator), or function-scoped */
    CHECK_EQ_INT(add_scoped(di, &t, &ifn, 1, 0, FR_DI_SCOPE_REQUEST), 2);
    CHECK_EQ_INT(add_scoped(di, &t, &ifn, 1, 1, FR_DI_SCOPE_FUNCTION), 3);
    CHECK_EQ_INT(add_scoped(di, &t, &ip0, 1, 1, FR_DI_SCOPE_FUNCTION), 4);
    t.name = "rq";
    irq = add_scoped(di, &t, &ip0, 1, 1, FR_DI_SCOPE_REQUEST);
    REQUIRE(irq == 5);
    /* rewiring it to the function-scoped one: refused, deps kept */
    d[0] = ifn;
    CHECK_EQ_INT(fr_di_set_deps(di, irq, d, 1), -1);
    CHECK(strstr(fr_di_error(di), "'rq' has request scope") != NULL);
    CHECK_EQ_INT(fr_di_compile(di), 0);
    /* overriding its dependency with a function-scoped replacement: refused */
    memset(&p, 0, sizeof p);
    p.name = "p0f";
    p.scope = FR_DI_SCOPE_FUNCTION;
    CHECK_EQ_INT(fr_di_override(di, ip0, &p), -1);
    CHECK(strstr(fr_di_error(di), "cannot depend on 'p0f'") != NULL);
    CHECK(strcmp(fr_di_name(di, ip0), "p0") == 0);
    /* once the consumer is overridden by one without a teardown it is fine,
     * and then restoring the consumer is what gets refused */
    {
        fr_di_provider q;
        memset(&q, 0, sizeof q);
        q.name = "rq_plain";
        q.deps = &ip0;
        q.ndeps = 1;
        CHECK_EQ_INT(fr_di_override(di, irq, &q), 0);
    }
    CHECK_EQ_INT(fr_di_override(di, ip0, &p), 0);
    CHECK_EQ_INT(fr_di_override(di, irq, NULL), -1);
    CHECK(strstr(fr_di_error(di), "'rq' has request scope") != NULL);
    CHECK(strcmp(fr_di_name(di, irq), "rq_plain") == 0);
    CHECK_EQ_INT(fr_di_override(di, ip0, NULL), 0);
    CHECK_EQ_INT(fr_di_override(di, irq, NULL), 0);
    CHECK(strcmp(fr_di_name(di, irq), "rq") == 0);
    CHECK_EQ_INT(fr_di_compile(di), 0);
    fr_di_free(di);
}

/* host-driven teardown: popping yields finish's order, and nothing popped
 * runs again */
/* fr_di_supply_cleanup: consumers see the value, the teardown (popped or
 * run by finish) gets the cleanup handle; plain fr_di_supply is both. */
static int g_td_value;
static int td_record(void *value, int failed, void *ud) {
    (void)failed; (void)ud;
    g_td_value = (int)(intptr_t)value;
    return 0;
}

static void test_supply_cleanup_value(void) {
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    fr_di_provider p;
    int dep, root, id, need;
    void *v;
    REQUIRE(di);
    memset(&p, 0, sizeof p);
    p.name = "gen";
    p.teardown = td_record;
    dep = fr_di_add(di, &p);
    p.name = "endpoint";
    p.teardown = NULL;
    p.deps = &dep;
    p.ndeps = 1;
    root = fr_di_add(di, &p);
    REQUIRE(dep >= 0 && root >= 0);
    fr_arena_init(&ar, NULL);
    /* popped by the host */
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx && fr_di_begin(ctx, root) == 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_NEED);
    CHECK_EQ_INT(need, dep);
    CHECK_EQ_INT(fr_di_supply_cleanup(ctx, V(10), V(99)), 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_NEED);
    CHECK_EQ_INT(need, root);
    CHECK(fr_di_arg(ctx, 0) == V(10)); /* the consumer sees the value */
    CHECK(fr_di_get(ctx, dep) == V(10));
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, &v, &id), 1);
    CHECK(v == V(99) && id == dep); /* the teardown gets the handle */
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, &v, &id), 0);
    fr_arena_reset(&ar);
    /* run by finish */
    g_td_value = 0;
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx && fr_di_begin(ctx, root) == 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_NEED);
    CHECK_EQ_INT(fr_di_supply_cleanup(ctx, V(11), V(77)), 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_NEED);
    CHECK_EQ_INT(fr_di_supply(ctx, V(12)), 0);
    CHECK_EQ_INT(fr_di_next(ctx, &need), FR_DI_RESOLVED);
    CHECK(fr_di_result(ctx) == V(12));
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_INT(g_td_value, 77);
    /* no step pending: refused */
    CHECK_EQ_INT(fr_di_supply_cleanup(ctx, V(1), V(2)), -1);
    fr_arena_free(&ar);
    fr_di_free(di);
}

static void test_pop_cleanup(void) {
    static scoped_graph g;
    tp dd = {"dd", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    void *v;
    int id, i, ids[8], n;
    void *vals[8];
    REQUIRE(di);
    g_r = scoped_build(di, &g);
    REQUIRE(g_r >= 0);
    fr_arena_init(&ar, NULL);
    /* reference: what finish runs */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_defer(ctx, tp_teardown, V(77), &dd), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f2:0 ~f:0 ~dd:0 ~r3:0 ~r:0 ");
    fr_arena_reset(&ar);
    /* popping everything: the same order, no teardown called */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_defer(ctx, tp_teardown, V(77), &dd), 0);
    for (n = 0; n < 8 && fr_di_ctx_pop_cleanup(ctx, -1, &vals[n], &ids[n]); n++) {
    }
    CHECK_EQ_INT(n, 5);
    CHECK(ids[0] == g.if2 && ids[1] == g.iff && ids[2] == -1 && ids[3] == g.ir3 &&
          ids[4] == g.ir);
    for (i = 0; i < n; i++)
        CHECK(vals[i] == (ids[i] < 0 ? V(77) : fr_di_get(ctx, ids[i])));
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ");
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 0), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ");
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -1, &v, &id), 0);
    fr_arena_reset(&ar);
    /* per scope, mixed with fr_di running the rest */
    reset();
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, g.ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_defer(ctx, tp_teardown, V(77), &dd), 0);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, FR_DI_SCOPE_REQUEST, &v, &id), 1);
    CHECK(v == V(77) && id == -1);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, FR_DI_SCOPE_FUNCTION, &v, &id), 1);
    CHECK(id == g.if2 && v == fr_di_get(ctx, g.if2));
    CHECK_EQ_INT(fr_di_ctx_end_function_scope(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f:0 ");
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, FR_DI_SCOPE_FUNCTION, &v, &id), 0);
    CHECK(v == NULL && id == -1);
    /* bad arguments: nothing popped */
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, 2, &v, &id), 0);
    CHECK(strstr(fr_di_ctx_error(ctx), "scope") != NULL);
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(ctx, -2, NULL, NULL), 0);
    v = V(1);
    id = 5;
    CHECK_EQ_INT(fr_di_ctx_pop_cleanup(NULL, -1, &v, &id), 0);
    CHECK(v == NULL && id == -1);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "r f r2 f2 r3 h ~f:0 ~r3:0 ~r:0 ");
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* FastAPI's dependency_overrides */
static void test_override(void) {
    tp db = {"db", 0, 0, 0, 0, {0}}, fake = {"fake_db", 0, 0, 0, 0, {0}}, cfg = {"cfg", 0, 0, 0, 0, {0}},
       h = {"h", 0, 0, 0, 0, {0}};
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    fr_di_provider p;
    int idb, icfg, ih;
    REQUIRE(di);
    reset();
    idb = add(di, &db, NULL, 0, 1);
    icfg = add(di, &cfg, NULL, 0, 0);
    ih = add(di, &h, &idb, 1, 0);
    memset(&p, 0, sizeof p);
    p.name = "fake_db";
    p.deps = &icfg;
    p.ndeps = 1;
    p.provide = tp_provide;
    p.teardown = tp_teardown;
    p.userdata = &fake;
    CHECK_EQ_INT(fr_di_override(di, idb, &p), 0);
    CHECK(strcmp(fr_di_name(di, idb), "fake_db") == 0);
    CHECK_EQ_INT(fr_di_find(di, "db"), -1);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "cfg fake_db h ~fake_db:0 ");
    /* override again (replaces the replacement), then restore */
    p.name = "fake2";
    p.ndeps = 0;
    CHECK_EQ_INT(fr_di_override(di, idb, &p), 0);
    CHECK(strcmp(fr_di_name(di, idb), "fake2") == 0);
    CHECK_EQ_INT(fr_di_override(di, idb, NULL), 0);
    CHECK(strcmp(fr_di_name(di, idb), "db") == 0);
    reset();
    fr_arena_reset(&ar);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    CHECK_EQ_INT(fr_di_resolve(ctx, ih, NULL), 0);
    CHECK_EQ_INT(fr_di_ctx_finish(ctx, 0), 0);
    CHECK_EQ_MEM(g_trace, g_trace_len, "db h ~db:0 ");
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* a provider may not start a nested resolution on its own context */
static int nested_provide(fr_di_ctx *ctx, void *ud, void **out) {
    int *rc = (int *)ud;
    *rc = fr_di_resolve(ctx, 0, NULL);
    *out = NULL;
    return 0;
}

static void test_nested_resolve_refused(void) {
    fr_di *di = fr_di_new(NULL);
    fr_arena ar;
    fr_di_ctx *ctx;
    fr_di_provider p;
    int rc = 0;
    REQUIRE(di);
    memset(&p, 0, sizeof p);
    p.name = "leaf";
    g_r = fr_di_add(di, &p);
    REQUIRE(g_r == 0);
    p.name = "nest";
    p.provide = nested_provide;
    p.userdata = &rc;
    g_r = fr_di_add(di, &p);
    REQUIRE(g_r == 1);
    fr_arena_init(&ar, NULL);
    ctx = fr_di_ctx_new(di, &ar);
    REQUIRE(ctx);
    fr_di_ctx_set_userdata(ctx, &rc);
    CHECK(fr_di_ctx_userdata(ctx) == &rc);
    CHECK_EQ_INT(fr_di_resolve(ctx, 1, NULL), 0);
    CHECK_EQ_INT(rc, -1);
    fr_di_ctx_finish(ctx, 0);
    fr_arena_free(&ar);
    fr_di_free(di);
}

/* ---- allocation failures ---- */

static long g_allocs_left = -1; /* -1 = never fail */
static long g_live;

static void *fail_malloc(void *ctx, size_t n) {
    void *p;
    (void)ctx;
    if (g_allocs_left == 0) return NULL;
    if (g_allocs_left > 0) g_allocs_left--;
    p = malloc(n);
    if (p) g_live++;
    return p;
}
static void *fail_realloc(void *ctx, void *ptr, size_t old, size_t n) {
    (void)ctx;
    (void)ptr;
    (void)old;
    (void)n;
    return NULL; /* unused by di.c and the arena */
}
static void fail_free(void *ctx, void *p) {
    (void)ctx;
    if (p) g_live--;
    free(p);
}

static const fr_allocator g_fail_alc = {fail_malloc, fail_realloc, fail_free, NULL};

static void test_registry_oom(void) {
    long k;
    int completed = 0;
    for (k = 0; k < 200 && !completed; k++) {
        fr_di *di;
        int i, ok = 1, prev = -1;
        g_live = 0;
        g_allocs_left = k;
        di = fr_di_new(&g_fail_alc);
        if (!di) {
            CHECK_EQ_INT(g_live, 0);
            continue;
        }
        for (i = 0; i < 40 && ok; i++) {
            fr_di_provider p;
            memset(&p, 0, sizeof p);
            p.name = "x";
            p.deps = prev >= 0 ? &prev : NULL;
            p.ndeps = prev >= 0;
            prev = fr_di_add(di, &p);
            if (prev < 0) {
                CHECK(strstr(fr_di_error(di), "out of memory") != NULL);
                CHECK_EQ_INT(fr_di_count(di), i); /* nothing half-added */
                ok = 0;
            }
        }
        if (ok) {
            int d = 39;
            /* set_deps and override need allocations too; a cycle check
             * failing for OOM must leave the graph intact */
            int r1 = fr_di_set_deps(di, 0, NULL, 0);
            int r2 = fr_di_set_deps(di, 0, &d, 1); /* a cycle: always refused */
            CHECK_EQ_INT(r2, -1);
            if (r1 == 0) {
                fr_di_provider p;
                memset(&p, 0, sizeof p);
                p.name = "o";
                if (fr_di_override(di, 5, &p) == 0) {
                    CHECK(strcmp(fr_di_name(di, 5), "o") == 0);
                    completed = fr_di_override(di, 5, NULL) == 0;
                }
            }
        }
        fr_di_free(di);
        CHECK_EQ_INT(g_live, 0);
    }
    g_allocs_left = -1;
    CHECK(completed);
}

/* values own heap memory that only their teardown frees: under every
 * arena OOM point, fr_di_ctx_finish must still free all of it (ASan's
 * leak checker proves it). */
static int heap_provide(fr_di_ctx *ctx, void *ud, void **out) {
    (void)ctx;
    (void)ud;
    *out = malloc(32);
    return *out ? 0 : 500;
}
static int heap_teardown(void *value, int failed, void *ud) {
    (void)failed;
    (*(int *)ud)++;
    free(value);
    return 0;
}

static void test_request_arena_oom(void) {
    fr_di *di = fr_di_new(NULL);
    int freed = 0, i, prev = -1, completed = 0, deps[8];
    long k;
    REQUIRE(di);
    fr_di_set_log(di, NULL, NULL);
    /* a chain of 30 plus a root with 8 deps */
    for (i = 0; i < 30; i++) {
        fr_di_provider p;
        memset(&p, 0, sizeof p);
        p.name = "heap";
        p.deps = prev >= 0 ? &prev : NULL;
        p.ndeps = prev >= 0;
        p.provide = heap_provide;
        p.teardown = heap_teardown;
        p.userdata = &freed;
        prev = fr_di_add(di, &p);
        REQUIRE(prev == i);
    }
    for (i = 0; i < 8; i++) deps[i] = 29 - i * 3;
    {
        fr_di_provider p;
        memset(&p, 0, sizeof p);
        p.name = "root";
        p.deps = deps;
        p.ndeps = 8;
        g_r = fr_di_add(di, &p);
        REQUIRE(g_r == 30);
    }
    for (k = 0; k < 200 && !completed; k++) {
        fr_arena ar;
        fr_di_ctx *ctx;
        int rc;
        fr_arena_init(&ar, &g_fail_alc);
        ar.chunk_size = 64; /* many small chunks: many OOM points */
        g_live = 0;
        g_allocs_left = k;
        ctx = fr_di_ctx_new(di, &ar);
        if (ctx) {
            freed = 0;
            rc = fr_di_resolve(ctx, 30, NULL);
            CHECK(rc == 0 || rc == -1);
            if (rc == -1) CHECK(strstr(fr_di_ctx_error(ctx), "memory") != NULL);
            fr_di_ctx_finish(ctx, rc);
            if (rc == 0) {
                CHECK_EQ_INT(freed, 30);
                completed = 1;
            }
        }
        fr_arena_free(&ar);
        CHECK_EQ_INT(g_live, 0);
    }
    g_allocs_left = -1;
    CHECK(completed);
    fr_di_free(di);
}

static const frt_case frt_cases[] = {
    FRT(test_order_and_values),
    FRT(test_cache_shared),
    FRT(test_no_cache_provider),
    FRT(test_fastapi_use_cache_semantics),
    FRT(test_cycles_named),
    FRT(test_long_cycle_message),
    FRT(test_bad_registration),
    FRT(test_teardown_reverse_order),
    FRT(test_teardown_on_provider_failure),
    FRT(test_teardown_on_handler_failure),
    FRT(test_teardown_error_does_not_hide),
    FRT(test_deep_chain),
    FRT(test_thousand_providers),
    FRT(test_diamond_lattice),
    FRT(test_random_dags),
    FRT(test_step_api_skip),
    FRT(test_step_cache_semantics),
    FRT(test_step_skip_cached_and_fail),
    FRT(test_scope_function),
    FRT(test_scope_rule),
    FRT(test_pop_cleanup),
    FRT(test_supply_cleanup_value),
    FRT(test_override),
    FRT(test_nested_resolve_refused),
    FRT(test_registry_oom),
    FRT(test_request_arena_oom),
};
FRT_MAIN()
