/* Unit tests for src/router.c: segment tree, parameter types, priority and
 * backtracking, 404/405/Allow, HEAD fallback, redirect_slashes, bad
 * patterns, 10,000 routes, allocation failure. Every matched path sits right
 * before a PROT_NONE page (frt_guarded) so an over-read crashes. */
#include "frtest.h"

/* Count and fail allocations. Effective in the amalgamated build only: the
 * unamalgamated src/ objects are compiled without these macros (there
 * FRT_HOOKED is 0 and test_alloc_failure checks less). */
static long frt_allocs_left = -1; /* -1 = never fail */
static long frt_live;
static void *frt_malloc(size_t n) {
    void *p;
    if (frt_allocs_left == 0) return NULL;
    if (frt_allocs_left > 0) frt_allocs_left--;
    p = malloc(n);
    if (p) frt_live++;
    return p;
}
static void *frt_realloc(void *q, size_t n) {
    void *p;
    if (frt_allocs_left == 0) return NULL;
    if (frt_allocs_left > 0) frt_allocs_left--;
    p = realloc(q, n);
    if (p && !q) frt_live++;
    return p;
}
static void frt_free(void *p) {
    if (p) frt_live--;
    free(p);
}
#define FR_MALLOC(n) frt_malloc(n)
#define FR_REALLOC(p, n) frt_realloc((p), (n))
#define FR_FREE(p) frt_free(p)

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#if defined(FASTRAPI_IMPLEMENTATION_DONE)
#define FRT_HOOKED 1 /* the router's FR_MALLOC is frt_malloc */
#else
#define FRT_HOOKED 0
#endif

/* ---- helpers ---- */

static char *frt_gpath, *frt_gmeth;
static size_t frt_gpath_len, frt_gmeth_len;

/* Match with method and path copied right before a guard page. The params
 * stay valid until the next call. */
static int M(const fr_router *r, const char *method, const char *path, fr_match *m) {
    if (frt_gpath) frt_guarded_free(frt_gpath, frt_gpath_len);
    if (frt_gmeth) frt_guarded_free(frt_gmeth, frt_gmeth_len);
    frt_gpath_len = strlen(path);
    frt_gmeth_len = strlen(method);
    frt_gpath = (char *)frt_guarded(path, frt_gpath_len);
    frt_gmeth = (char *)frt_guarded(method, frt_gmeth_len);
    {
        fr_str ms = {frt_gmeth, frt_gmeth_len}, ps = {frt_gpath, frt_gpath_len};
        return fr_router_match(r, ms, ps, m);
    }
}

static int add(fr_router *r, const char *method, const char *pattern, void *data) {
    fr_err e;
    return fr_router_add(r, method, pattern, data, &e);
}

static int tags[64]; /* distinct data pointers: &tags[i] */
#define T(i) ((void *)&tags[(i)])

/* param i has this name/value */
#define CHECK_PARAM(m, i, nm, val)                                          \
    do {                                                                    \
        REQUIRE((m).num_params > (size_t)(i));                              \
        CHECK_EQ_MEM((m).params[(i)].name.buf, (m).params[(i)].name.len, nm); \
        CHECK_EQ_MEM((m).params[(i)].value.buf, (m).params[(i)].value.len, val); \
    } while (0)

/* ---- tests ---- */

static void test_static(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/users", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/users/list", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/a/b/c", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/user", T(4)), 0);
    CHECK_EQ_INT(add(r, "GET", "/usert", T(5)), 0);

    CHECK_EQ_INT(M(r, "GET", "/", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_EQ_MEM(m.pattern.buf, m.pattern.len, "/");
    CHECK_EQ_INT(m.num_params, 0);
    CHECK_EQ_INT(M(r, "GET", "/users", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_EQ_INT(M(r, "GET", "/users/list", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
    CHECK_EQ_MEM(m.pattern.buf, m.pattern.len, "/users/list");
    CHECK_EQ_INT(M(r, "GET", "/a/b/c", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(3));
    CHECK_EQ_INT(M(r, "GET", "/user", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(4));
    CHECK_EQ_INT(M(r, "GET", "/usert", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(5));

    CHECK_EQ_INT(M(r, "GET", "/use", &m), FR_MATCH_NOT_FOUND);
    CHECK(m.data == NULL);
    CHECK_EQ_INT(M(r, "GET", "/users/lis", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/users/list/x", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/a/b", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/A/b/c", &m), FR_MATCH_NOT_FOUND); /* case-sensitive */
    CHECK_EQ_INT(M(r, "GET", "/zzz", &m), FR_MATCH_NOT_FOUND);
    fr_router_free(r);
}

static void test_param_types(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/s/{name}", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/t/{name:str}", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/i/{n:int}", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/f/{v:float}", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/u/{id:uuid}", T(4)), 0);
    CHECK_EQ_INT(add(r, "GET", "/p/{rest:path}", T(5)), 0);
    CHECK_EQ_INT(add(r, "GET", "/two/{a}/and/{b:int}", T(6)), 0);

    CHECK_EQ_INT(M(r, "GET", "/s/hello", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_EQ_INT(m.num_params, 1);
    CHECK_PARAM(m, 0, "name", "hello");
    CHECK_EQ_INT(m.params[0].type, FR_PARAM_STR);
    CHECK_EQ_INT(M(r, "GET", "/t/x", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_PARAM(m, 0, "name", "x");
    CHECK_EQ_INT(m.params[0].type, FR_PARAM_STR);

    CHECK_EQ_INT(M(r, "GET", "/i/0123", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
    CHECK_PARAM(m, 0, "n", "0123");
    CHECK_EQ_INT(m.params[0].type, FR_PARAM_INT);
    /* [0-9]+ whose value fits int64_t (router.h; unbounded_ints: any run) */
    CHECK_EQ_INT(M(r, "GET", "/i/99999999999999999999999", &m), FR_MATCH_NOT_FOUND);

    CHECK_EQ_INT(M(r, "GET", "/f/1.5", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(3));
    CHECK_PARAM(m, 0, "v", "1.5");
    CHECK_EQ_INT(m.params[0].type, FR_PARAM_FLOAT);
    CHECK_EQ_INT(M(r, "GET", "/f/7", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "v", "7");

    CHECK_EQ_INT(M(r, "GET", "/u/123e4567-e89b-12d3-a456-426614174000", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(4));
    CHECK_EQ_INT(m.params[0].type, FR_PARAM_UUID);
    CHECK_PARAM(m, 0, "id", "123e4567-e89b-12d3-a456-426614174000");

    CHECK_EQ_INT(M(r, "GET", "/p/a/b/c.txt", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(5));
    CHECK_PARAM(m, 0, "rest", "a/b/c.txt");
    CHECK_EQ_INT(m.params[0].type, FR_PARAM_PATH);
    CHECK_EQ_INT(M(r, "GET", "/p/", &m), FR_MATCH_FOUND); /* .* may be empty */
    CHECK_PARAM(m, 0, "rest", "");
    CHECK_EQ_INT(M(r, "GET", "/p/a//b/", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "rest", "a//b/");

    CHECK_EQ_INT(M(r, "GET", "/two/x/and/5", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(6));
    CHECK_EQ_INT(m.num_params, 2);
    CHECK_PARAM(m, 0, "a", "x");
    CHECK_PARAM(m, 1, "b", "5");
    CHECK_EQ_INT(m.params[1].type, FR_PARAM_INT);
    CHECK_EQ_MEM(m.pattern.buf, m.pattern.len, "/two/{a}/and/{b:int}");
    /* values are views into the path, names views into the router */
    CHECK(m.params[0].value.buf == frt_gpath + 5);
    fr_router_free(r);
}

static void test_typed_mismatch(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/items/{id:int}", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/items/{name}", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/only/{n:int}", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/fl/{v:float}", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/uu/{v:uuid}", T(4)), 0);

    CHECK_EQ_INT(M(r, "GET", "/items/42", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_PARAM(m, 0, "id", "42");
    CHECK_EQ_INT(M(r, "GET", "/items/abc", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_PARAM(m, 0, "name", "abc");
    CHECK_EQ_INT(M(r, "GET", "/items/4x", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));

    /* int: [0-9]+ only */
    CHECK_EQ_INT(M(r, "GET", "/only/x", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/only/-1", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/only/+1", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/only/1.5", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/only/1 ", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/only/1", &m), FR_MATCH_FOUND);
    /* float: [0-9]+(\.[0-9]+)? */
    CHECK_EQ_INT(M(r, "GET", "/fl/1.", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/fl/.5", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/fl/1.2.3", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/fl/1e5", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/fl/-1.5", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/fl/inf", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/fl/10.25", &m), FR_MATCH_FOUND);
    /* uuid: Starlette 1.x's regex, hex 8-4-4-4-12 in any case, each dash optional */
    CHECK_EQ_INT(M(r, "GET", "/uu/123E4567-E89B-12d3-a456-426614174000", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "v", "123E4567-E89B-12d3-a456-426614174000");
    CHECK_EQ_INT(M(r, "GET", "/uu/123e4567e89b12d3a456426614174000", &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/uu/123e4567e89b-12d3-a456426614174000", &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/uu/123e4567e89b-12d3-a456-426614174000x", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/uu/123e4567-e89b-12d3-a456-42661417400", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/uu/123e4567e89b12d3a45642661417400", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/uu/123e4567--e89b-12d3-a456-426614174000", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/uu/-123e4567-e89b-12d3-a456-42661417400", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/uu/123g4567-e89b-12d3-a456-426614174000", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/uu/123e4567-e89b-12d3-a456-426614174000", &m), FR_MATCH_FOUND);
    /* str needs a non-empty segment */
    CHECK_EQ_INT(M(r, "GET", "/items/", &m), FR_MATCH_NOT_FOUND);
    fr_router_free(r);
}

static void test_priority(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    /* registration order deliberately the reverse of priority */
    CHECK_EQ_INT(add(r, "GET", "/k/{d:path}", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/k/{c}", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/k/{u:uuid}", T(5)), 0);
    CHECK_EQ_INT(add(r, "GET", "/k/{b:float}", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/k/{a:int}", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/k/me", T(4)), 0);
    CHECK_EQ_INT(add(r, "GET", "/k/{x}.json", T(6)), 0);

    CHECK_EQ_INT(M(r, "GET", "/k/me", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(4));
    CHECK_EQ_INT(m.num_params, 0);
    CHECK_EQ_INT(M(r, "GET", "/k/12", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(3));
    CHECK_EQ_INT(M(r, "GET", "/k/1.5", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
    CHECK_EQ_INT(M(r, "GET", "/k/123e4567-e89b-12d3-a456-426614174000", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(5));
    CHECK_EQ_INT(M(r, "GET", "/k/data.json", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(6));
    CHECK_PARAM(m, 0, "x", "data");
    CHECK_EQ_INT(M(r, "GET", "/k/mee", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_PARAM(m, 0, "c", "mee");
    CHECK_EQ_INT(M(r, "GET", "/k/a/b", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_PARAM(m, 0, "d", "a/b");
    CHECK_EQ_INT(M(r, "GET", "/k/", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_PARAM(m, 0, "d", "");
    fr_router_free(r);
}

static void test_backtracking(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/users/me/x", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/users/{id}/y", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/files/a/b", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/files/{p:path}", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/{a:int}/{b}/z", T(4)), 0);
    CHECK_EQ_INT(add(r, "GET", "/{c}/{d}/w", T(5)), 0);
    CHECK_EQ_INT(add(r, "GET", "/q/{n:int}/{m:int}/end", T(6)), 0);
    CHECK_EQ_INT(add(r, "GET", "/q/{s}/{t}/{u}", T(7)), 0);

    CHECK_EQ_INT(M(r, "GET", "/users/me/y", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_EQ_INT(m.num_params, 1);
    CHECK_PARAM(m, 0, "id", "me");
    CHECK_EQ_INT(M(r, "GET", "/users/me/x", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_EQ_INT(m.num_params, 0);
    CHECK_EQ_INT(M(r, "GET", "/users/you/x", &m), FR_MATCH_NOT_FOUND);

    CHECK_EQ_INT(M(r, "GET", "/files/a/b", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
    CHECK_EQ_INT(M(r, "GET", "/files/a/c", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(3));
    CHECK_PARAM(m, 0, "p", "a/c");
    CHECK_EQ_INT(M(r, "GET", "/files/a/b/c", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(3));
    CHECK_PARAM(m, 0, "p", "a/b/c");

    /* captures from a failed branch must be dropped */
    CHECK_EQ_INT(M(r, "GET", "/1/2/w", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(5));
    CHECK_EQ_INT(m.num_params, 2);
    CHECK_PARAM(m, 0, "c", "1");
    CHECK_PARAM(m, 1, "d", "2");
    CHECK_EQ_INT(M(r, "GET", "/1/2/z", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(4));
    CHECK_PARAM(m, 0, "a", "1");
    CHECK_PARAM(m, 1, "b", "2");
    CHECK_EQ_INT(M(r, "GET", "/q/1/2/zz", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(7));
    CHECK_EQ_INT(m.num_params, 3);
    CHECK_PARAM(m, 0, "s", "1");
    CHECK_PARAM(m, 1, "t", "2");
    CHECK_PARAM(m, 2, "u", "zz");
    CHECK_EQ_INT(M(r, "GET", "/q/1/2/end", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(6));
    CHECK_PARAM(m, 1, "m", "2");
    fr_router_free(r);
}

static void test_404_405(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/items", T(0)), 0);
    CHECK_EQ_INT(add(r, "post", "/items", T(1)), 0); /* upper-cased like Starlette */
    CHECK_EQ_INT(add(r, "DELETE", "/items", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/one", T(3)), 0);

    CHECK_EQ_INT(M(r, "POST", "/items", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_EQ_INT(M(r, "DELETE", "/items", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
    CHECK_EQ_INT(M(r, "PUT", "/items", &m), FR_MATCH_METHOD);
    CHECK(m.data == NULL);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET, POST, DELETE");
    CHECK_EQ_INT(M(r, "get", "/items", &m), FR_MATCH_METHOD); /* methods are case-sensitive */
    CHECK_EQ_INT(M(r, "", "/items", &m), FR_MATCH_METHOD);
    CHECK_EQ_INT(M(r, "POST", "/one", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET");
    CHECK_EQ_INT(M(r, "GET", "/nothing", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(m.allow.len, 0);

    /* a FOUND match anywhere beats a 405 on a higher-priority branch */
    CHECK_EQ_INT(add(r, "GET", "/users/me", T(4)), 0);
    CHECK_EQ_INT(add(r, "POST", "/users/{id}", T(5)), 0);
    CHECK_EQ_INT(M(r, "POST", "/users/me", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(5));
    CHECK_PARAM(m, 0, "id", "me");
    CHECK_EQ_INT(M(r, "DELETE", "/users/me", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET"); /* the highest-priority node's */
    CHECK_EQ_INT(M(r, "DELETE", "/users/you", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "POST");
    /* {p:path} routes report 405 too, and their capture is dropped */
    CHECK_EQ_INT(add(r, "PUT", "/up/{p:path}", T(6)), 0);
    CHECK_EQ_INT(add(r, "PATCH", "/up/{p:path}", T(7)), 0);
    CHECK_EQ_INT(M(r, "GET", "/up/a/b", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "PUT, PATCH");
    CHECK_EQ_INT(m.num_params, 0);
    CHECK_EQ_INT(M(r, "PATCH", "/up/a/b", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(7));
    CHECK_PARAM(m, 0, "p", "a/b");
    fr_router_free(r);
}

static void test_head(void) {
    fr_router *r = fr_router_new(NULL);
    fr_router_opts o = {0};
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/a", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/b", T(1)), 0);
    CHECK_EQ_INT(add(r, "HEAD", "/b", T(2)), 0);
    CHECK_EQ_INT(add(r, "*", "/c", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/c", T(4)), 0);
    CHECK_EQ_INT(add(r, "POST", "/d", T(5)), 0);

    CHECK_EQ_INT(M(r, "HEAD", "/a", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_EQ_INT(M(r, "PUT", "/a", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET"); /* HEAD is not added */
    CHECK_EQ_INT(M(r, "HEAD", "/b", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2)); /* explicit HEAD wins */
    CHECK_EQ_INT(M(r, "HEAD", "/c", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(4)); /* GET before "*" */
    CHECK_EQ_INT(M(r, "HEAD", "/d", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "POST");
    fr_router_free(r);

    o.no_head_from_get = 1;
    r = fr_router_new(&o);
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/a", T(0)), 0);
    CHECK_EQ_INT(add(r, "*", "/c", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/c", T(4)), 0);
    CHECK_EQ_INT(M(r, "HEAD", "/a", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET");
    CHECK_EQ_INT(M(r, "GET", "/a", &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(M(r, "HEAD", "/c", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(3));
    fr_router_free(r);
}

static void test_star_method(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    fr_err e;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "*", "/any", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/any", T(1)), 0);
    CHECK_EQ_INT(M(r, "GET", "/any", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_EQ_INT(M(r, "POST", "/any", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_EQ_INT(M(r, "BREW", "/any", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_EQ_INT(M(r, "", "/any", &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(fr_router_add(r, "*", "/any", T(2), &e), -1);
    CHECK_EQ_INT(e.code, FR_ROUTER_E_DUPLICATE);
    CHECK_EQ_INT(fr_router_add(r, "G*T", "/any", T(2), &e), -1);
    CHECK_EQ_INT(e.code, FR_ROUTER_E_ARG);
    CHECK_EQ_INT(fr_router_add(r, "**", "/any", T(2), &e), -1);
    fr_router_free(r);
}

static void test_redirect(void) {
    fr_router *r = fr_router_new(NULL);
    fr_router_opts o = {0};
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/a", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/b/", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/c", T(2)), 0);
    CHECK_EQ_INT(add(r, "POST", "/c/", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/u/{id}", T(4)), 0);
    CHECK_EQ_INT(add(r, "GET", "/files/{p:path}", T(5)), 0);
    CHECK_EQ_INT(add(r, "GET", "/n/{v:int}/", T(6)), 0);

    CHECK_EQ_INT(M(r, "GET", "/a/", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 0);
    CHECK(m.data == NULL);
    CHECK_EQ_INT(m.num_params, 0);
    CHECK_EQ_INT(M(r, "GET", "/a//", &m), FR_MATCH_REDIRECT); /* rstrip("/") */
    CHECK_EQ_INT(m.redirect_add_slash, 0);
    CHECK_EQ_INT(M(r, "GET", "/b", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 1);
    CHECK_EQ_INT(M(r, "GET", "/b//", &m), FR_MATCH_NOT_FOUND); /* "/b" doesn't match either */
    CHECK_EQ_INT(M(r, "GET", "/u/5/", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 0);
    CHECK_EQ_INT(M(r, "GET", "/files", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 1);
    CHECK_EQ_INT(M(r, "GET", "/n/5", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 1);
    CHECK_EQ_INT(M(r, "GET", "/n/x", &m), FR_MATCH_NOT_FOUND);
    /* Starlette redirects when the other form matches with any method */
    CHECK_EQ_INT(M(r, "DELETE", "/a/", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 0);
    /* a 405 on the path itself beats the redirect */
    CHECK_EQ_INT(M(r, "GET", "/c/", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "POST");
    CHECK_EQ_INT(M(r, "POST", "/c", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET");
    CHECK_EQ_INT(M(r, "GET", "/c", &m), FR_MATCH_FOUND);
    /* "/" never redirects; "//" strips to "" which never matches */
    CHECK_EQ_INT(M(r, "GET", "/", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "//", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/zz", &m), FR_MATCH_NOT_FOUND);
    fr_router_free(r);

    /* root: "/" is registered, "" is not a path; "//" does not redirect */
    r = fr_router_new(NULL);
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/", T(0)), 0);
    CHECK_EQ_INT(M(r, "GET", "//", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/", &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(M(r, "GET", "", &m), FR_MATCH_NOT_FOUND);
    fr_router_free(r);

    o.no_redirect_slashes = 1;
    r = fr_router_new(&o);
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/a", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/b/", T(1)), 0);
    CHECK_EQ_INT(M(r, "GET", "/a/", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/b", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/b/", &m), FR_MATCH_FOUND);
    fr_router_free(r);
}

static void test_mixed_segments(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/files/{name}.{ext}", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/v{n:int}/x", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/v{s}/x", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/r/{a:int}-{b:int}", T(3)), 0);
    CHECK_EQ_INT(add(r, "GET", "/r/{f:float}x", T(4)), 0);
    CHECK_EQ_INT(add(r, "GET", "/r/{u:uuid}.txt", T(5)), 0);
    CHECK_EQ_INT(add(r, "GET", "/r/pre-{a}-post", T(6)), 0);
    CHECK_EQ_INT(add(r, "GET", "/r/{s}", T(7)), 0);

    CHECK_EQ_INT(M(r, "GET", "/files/report.pdf", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_EQ_INT(m.num_params, 2);
    CHECK_PARAM(m, 0, "name", "report");
    CHECK_PARAM(m, 1, "ext", "pdf");
    CHECK_EQ_INT(M(r, "GET", "/files/a.b.c", &m), FR_MATCH_FOUND); /* greedy like the regex */
    CHECK_PARAM(m, 0, "name", "a.b");
    CHECK_PARAM(m, 1, "ext", "c");
    CHECK_EQ_INT(M(r, "GET", "/files/.c", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/files/c.", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/files/abc", &m), FR_MATCH_NOT_FOUND);

    CHECK_EQ_INT(M(r, "GET", "/v2/x", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_PARAM(m, 0, "n", "2");
    CHECK_EQ_INT(m.params[0].type, FR_PARAM_INT);
    CHECK_EQ_INT(M(r, "GET", "/vbeta/x", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
    CHECK_PARAM(m, 0, "s", "beta");
    CHECK_EQ_INT(M(r, "GET", "/v/x", &m), FR_MATCH_NOT_FOUND);

    CHECK_EQ_INT(M(r, "GET", "/r/12-34", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(3));
    CHECK_PARAM(m, 0, "a", "12");
    CHECK_PARAM(m, 1, "b", "34");
    CHECK_EQ_INT(M(r, "GET", "/r/12-x", &m), FR_MATCH_FOUND); /* falls to {s} */
    CHECK(m.data == T(7));
    CHECK_EQ_INT(M(r, "GET", "/r/1.5x", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(4));
    CHECK_PARAM(m, 0, "f", "1.5");
    CHECK_EQ_INT(M(r, "GET", "/r/123e4567-e89b-12d3-a456-426614174000.txt", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(5));
    CHECK_EQ_INT(M(r, "GET", "/r/123E4567E89B12D3A456426614174000.txt", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(5));
    CHECK_PARAM(m, 0, "u", "123E4567E89B12D3A456426614174000");
    CHECK_EQ_INT(M(r, "GET", "/r/pre-mid-dle-post", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(6));
    CHECK_PARAM(m, 0, "a", "mid-dle");
    CHECK_EQ_INT(M(r, "GET", "/r/pre--post", &m), FR_MATCH_FOUND); /* {a} would be empty */
    CHECK(m.data == T(7));
    fr_router_free(r);

    /* typed parameters backtrack like [0-9]+ and [0-9]+(\.[0-9]+)? */
    r = fr_router_new(NULL);
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/a/{f:float}.{e}", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/b/{n:int}5{s}", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/c/{x}.{f:float}", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/d/{u:uuid}-{v}", T(3)), 0);
    CHECK_EQ_INT(M(r, "GET", "/a/1.5.x", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "f", "1.5");
    CHECK_PARAM(m, 1, "e", "x");
    CHECK_EQ_INT(M(r, "GET", "/a/1.5", &m), FR_MATCH_FOUND); /* f gives back ".5" */
    CHECK_PARAM(m, 0, "f", "1");
    CHECK_PARAM(m, 1, "e", "5");
    CHECK_EQ_INT(M(r, "GET", "/a/12.34.56", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "f", "12.34");
    CHECK_PARAM(m, 1, "e", "56");
    CHECK_EQ_INT(M(r, "GET", "/a/x.5", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/b/1555x", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "n", "155");
    CHECK_PARAM(m, 1, "s", "x");
    CHECK_EQ_INT(M(r, "GET", "/b/155", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "n", "1");
    CHECK_PARAM(m, 1, "s", "5");
    CHECK_EQ_INT(M(r, "GET", "/b/15", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/c/a.b.1.5", &m), FR_MATCH_FOUND); /* x is greedy */
    CHECK_PARAM(m, 0, "x", "a.b.1");
    CHECK_PARAM(m, 1, "f", "5");
    CHECK_EQ_INT(M(r, "GET", "/d/123e4567-e89b-12d3-a456-426614174000-zz", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 1, "v", "zz");
    CHECK_EQ_INT(M(r, "GET", "/d/123e4567-e89b-12d3-a456-426614174000-", &m), FR_MATCH_NOT_FOUND);
    /* no dashes: the uuid is 32 bytes, the text after it is v's */
    CHECK_EQ_INT(M(r, "GET", "/d/123e4567e89b12d3a456426614174000-e89b", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "u", "123e4567e89b12d3a456426614174000");
    CHECK_PARAM(m, 1, "v", "e89b");
    CHECK_EQ_INT(M(r, "GET", "/d/123e4567e89b12d3a45642661417400-x", &m), FR_MATCH_NOT_FOUND);
    fr_router_free(r);
}

static void test_empty_segments(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/a/b", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/x//y", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/p/{v}/q", T(2)), 0);
    CHECK_EQ_INT(M(r, "GET", "/a//b", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "//a/b", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/x//y", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_EQ_INT(M(r, "GET", "/x/y", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/p//q", &m), FR_MATCH_NOT_FOUND); /* {v} is non-empty */
    CHECK_EQ_INT(M(r, "GET", "/p/v/q", &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(M(r, "GET", "a/b", &m), FR_MATCH_NOT_FOUND); /* no leading '/' */
    fr_router_free(r);
}

static void test_bad_patterns(void) {
    static const struct {
        const char *pattern, *msg;
        size_t pos;
    } bad[] = {
        {"", "must start with '/'", 0},
        {"users", "must start with '/'", 0},
        {"/a/{id", "unbalanced '{'", 3},
        {"/a/{id/x}", "unbalanced '{'", 3},
        {"/a/id}", "unbalanced '}'", 5},
        {"/a/{}", "empty parameter name", 3},
        {"/a/{:int}", "empty parameter name", 3},
        {"/a/{1x}", "invalid parameter name", 4},
        {"/a/{a-b}", "invalid parameter name", 5},
        {"/a/{a b}", "invalid parameter name", 5},
        {"/a/{a{b}}", "nested '{'", 5},
        {"/a/{x:bool}", "unknown parameter type", 6},
        {"/a/{x:}", "unknown parameter type", 6},
        {"/a/{x:INT}", "unknown parameter type", 6},
        {"/a/{x}/{x:int}", "duplicate parameter name", 7},
        {"/a/{p:path}/x", "must be the whole last segment", 3},
        {"/a/{p:path}/", "must be the whole last segment", 3},
        {"/a/x{p:path}", "must be the whole last segment", 3},
        {"/a/{a}{b}", "adjacent parameters", 6},
        {"/a/{a:int}{b:int}", "adjacent parameters", 10},
    };
    fr_router *r = fr_router_new(NULL);
    fr_err e;
    size_t i;
    fr_router_stats st;
    REQUIRE(r);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.code = 0;
        e.msg = NULL;
        CHECK_EQ_INT(fr_router_add(r, "GET", bad[i].pattern, T(0), &e), -1);
        CHECK_EQ_INT(e.code, FR_ROUTER_E_PATTERN);
        REQUIRE(e.msg != NULL);
        if (!strstr(e.msg, bad[i].msg)) {
            printf("  pattern %s: msg %s\n", bad[i].pattern, e.msg);
            CHECK(strstr(e.msg, bad[i].msg) != NULL);
        }
        if (e.pos != bad[i].pos) printf("  pattern %s: pos %zu\n", bad[i].pattern, e.pos);
        CHECK_EQ_INT(e.pos, bad[i].pos);
        CHECK_EQ_INT(fr_router_add(r, "GET", bad[i].pattern, T(0), NULL), -1); /* err optional */
    }
    /* too many parameters */
    {
        char pat[1024];
        size_t n = 0;
        int k;
        for (k = 0; k <= FR_MAX_ROUTE_PARAMS; k++) n += (size_t)sprintf(pat + n, "/{p%d}", k);
        CHECK_EQ_INT(fr_router_add(r, "GET", pat, T(0), &e), -1);
        CHECK(e.msg && strstr(e.msg, "too many parameters"));
        /* exactly the maximum is fine, all captured */
        n = 0;
        for (k = 0; k < FR_MAX_ROUTE_PARAMS; k++) n += (size_t)sprintf(pat + n, "/{p%d}", k);
        CHECK_EQ_INT(fr_router_add(r, "GET", pat, T(1), &e), 0);
        {
            fr_match m;
            char path[256];
            n = 0;
            for (k = 0; k < FR_MAX_ROUTE_PARAMS; k++) n += (size_t)sprintf(path + n, "/v%d", k);
            CHECK_EQ_INT(M(r, "GET", path, &m), FR_MATCH_FOUND);
            CHECK_EQ_INT(m.num_params, FR_MAX_ROUTE_PARAMS);
            {
                char nm[16], val[16];
                sprintf(nm, "p%d", FR_MAX_ROUTE_PARAMS - 1);
                sprintf(val, "v%d", FR_MAX_ROUTE_PARAMS - 1);
                CHECK_PARAM(m, FR_MAX_ROUTE_PARAMS - 1, nm, val);
            }
        }
    }
    /* bad arguments */
    CHECK_EQ_INT(fr_router_add(NULL, "GET", "/x", T(0), &e), -1);
    CHECK_EQ_INT(e.code, FR_ROUTER_E_ARG);
    CHECK_EQ_INT(fr_router_add(r, NULL, "/x", T(0), &e), -1);
    CHECK_EQ_INT(fr_router_add(r, "GET", NULL, &e, &e), -1);
    CHECK_EQ_INT(fr_router_add(r, "", "/x", T(0), &e), -1);
    CHECK(e.msg && strstr(e.msg, "route method"));
    CHECK_EQ_INT(fr_router_add(r, "GE T", "/x", T(0), &e), -1);
    CHECK_EQ_INT(fr_router_add(r, "GET\r\n", "/x", T(0), &e), -1);
    CHECK_EQ_INT(fr_router_add(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "/x", T(0), &e), -1);
    /* nothing was added by the failures */
    CHECK_EQ_INT(fr_router_get_stats(r, &st), 0);
    CHECK_EQ_INT(st.routes, 1);
    CHECK_EQ_INT(fr_router_get_stats(NULL, &st), -1);
    CHECK_EQ_INT(fr_router_get_stats(r, NULL), -1);
    /* a good add clears err */
    e.code = 99;
    CHECK_EQ_INT(fr_router_add(r, "GET", "/ok", T(0), &e), 0);
    CHECK_EQ_INT(e.code, 0);
    fr_router_free(r);
}

static void test_duplicates(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    fr_err e;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/a", T(0)), 0);
    CHECK_EQ_INT(fr_router_add(r, "GET", "/a", T(1), &e), -1);
    CHECK_EQ_INT(e.code, FR_ROUTER_E_DUPLICATE);
    CHECK(e.msg && strstr(e.msg, "duplicate route"));
    CHECK_EQ_INT(fr_router_add(r, "get", "/a", T(1), &e), -1); /* same after upper-casing */
    CHECK_EQ_INT(add(r, "POST", "/a", T(1)), 0);

    /* same shape, other names: one per method, names per route */
    CHECK_EQ_INT(add(r, "GET", "/p/{x}", T(2)), 0);
    CHECK_EQ_INT(fr_router_add(r, "GET", "/p/{y}", T(3), &e), -1);
    CHECK_EQ_INT(e.code, FR_ROUTER_E_DUPLICATE);
    CHECK_EQ_INT(fr_router_add(r, "GET", "/p/{x:str}", T(3), &e), -1);
    CHECK_EQ_INT(add(r, "POST", "/p/{y}", T(4)), 0);
    CHECK_EQ_INT(add(r, "GET", "/p/{z:int}", T(5)), 0); /* other type: other node */
    CHECK_EQ_INT(M(r, "GET", "/p/abc", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
    CHECK_PARAM(m, 0, "x", "abc");
    CHECK_EQ_INT(M(r, "POST", "/p/abc", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(4));
    CHECK_PARAM(m, 0, "y", "abc");
    CHECK_EQ_MEM(m.pattern.buf, m.pattern.len, "/p/{y}");
    CHECK_EQ_INT(M(r, "GET", "/p/7", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(5));
    CHECK_EQ_INT(M(r, "POST", "/p/7", &m), FR_MATCH_FOUND); /* int node has no POST: falls to str */
    CHECK(m.data == T(4));
    CHECK_EQ_INT(M(r, "PUT", "/p/7", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET");
    CHECK_EQ_INT(M(r, "PUT", "/p/x", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET, POST");

    /* mixed segments: same shape, other names */
    CHECK_EQ_INT(add(r, "GET", "/f/{a}.{b}", T(6)), 0);
    CHECK_EQ_INT(fr_router_add(r, "GET", "/f/{c}.{d}", T(7), &e), -1);
    CHECK_EQ_INT(e.code, FR_ROUTER_E_DUPLICATE);
    CHECK_EQ_INT(add(r, "PUT", "/f/{c}.{d}", T(7)), 0);
    CHECK_EQ_INT(add(r, "GET", "/f/{a}.{b:int}", T(8)), 0);
    CHECK_EQ_INT(M(r, "PUT", "/f/x.y", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(7));
    CHECK_PARAM(m, 1, "d", "y");
    CHECK_EQ_INT(M(r, "GET", "/f/x.1", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(6)); /* mixed shapes try in registration order */
    fr_router_free(r);
}

static void test_unicode(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/caf\xc3\xa9/{name}", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/\xe6\x97\xa5\xe6\x9c\xac", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/\xff\xfe", T(2)), 0);
    CHECK_EQ_INT(M(r, "GET", "/caf\xc3\xa9/\xc3\xbc\xf0\x9f\x98\x80", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_PARAM(m, 0, "name", "\xc3\xbc\xf0\x9f\x98\x80");
    CHECK_EQ_INT(M(r, "GET", "/cafe/x", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/caf\xc3\xa8/x", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/\xe6\x97\xa5\xe6\x9c\xac", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_EQ_INT(M(r, "GET", "/\xe6\x97\xa5", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/\xff\xfe", &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
    /* a decoded path may hold a NUL byte: it is just a byte */
    {
        static const char p[] = "/caf\xc3\xa9/a\0b";
        fr_str ps = {p, sizeof p - 1};
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), ps, &m), FR_MATCH_FOUND);
        CHECK_EQ_INT(m.params[0].value.len, 3);
    }
    fr_router_free(r);
}

static void test_long_paths(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    size_t n = 200000, i;
    char *p = (char *)malloc(n + 1), *pat = (char *)malloc(4 * 600 + 16);
    REQUIRE(r && p && pat);
    CHECK_EQ_INT(add(r, "GET", "/s/{v}", T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/p/{v:path}", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/i/{v:int}", T(2)), 0);
#if FR_MAX_ROUTE_PARAMS >= 4
    CHECK_EQ_INT(add(r, "GET", "/m/{a}.{b}.{c}.{d}!", T(3)), 0);
#endif

    memcpy(p, "/s/", 3);
    memset(p + 3, 'x', n - 3);
    p[n] = 0;
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_FOUND);
    CHECK(m.data == T(0));
    CHECK_EQ_INT(m.params[0].value.len, n - 3);
    for (i = 3; i < n; i += 2) p[i] = '/';
    p[n - 1] = 'x';
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_NOT_FOUND);
    p[1] = 'p';
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_FOUND);
    CHECK(m.data == T(1));
    CHECK_EQ_INT(m.params[0].value.len, n - 3);
    memcpy(p, "/i/", 3);
    memset(p + 3, '7', n - 3);
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_NOT_FOUND); /* overflows int64_t */
    memset(p + 3, '0', n - 4); /* leading zeros: the value 7 fits */
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_FOUND);
    CHECK(m.data == T(2));
#if FR_MAX_ROUTE_PARAMS >= 4 /* builds with shrunk limits skip this part */
    /* mixed segments: hostile input stays linear, greedy like the regex */
    memcpy(p, "/m/", 3);
    for (i = 0; i < 1024; i++) p[3 + i] = (i & 1) ? '.' : 'a';
    p[1027] = 0; /* 1024-byte segment "a.a.a...a." with no '!' */
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_NOT_FOUND);
    p[1026] = '!';
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_FOUND);
    CHECK(m.data == T(3));
    CHECK_EQ_INT(m.params[0].value.len, 1024 - 7);
    CHECK_PARAM(m, 1, "b", "a");
    CHECK_PARAM(m, 3, "d", "a");
    p[1026] = '.';
    p[1027] = '!'; /* 1025 bytes: longer than a mixed segment may be */
    p[1028] = 0;
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_NOT_FOUND);
    memset(p + 3, '.', 1023);
    p[1026] = '!';
    p[1027] = 0;
    CHECK_EQ_INT(M(r, "GET", p, &m), FR_MATCH_FOUND); /* '.' is text for {str} too */
    CHECK_EQ_INT(m.params[0].value.len, 1023 - 6);
    CHECK_PARAM(m, 3, "d", ".");
    CHECK_EQ_INT(M(r, "GET", "/m/......!", &m), FR_MATCH_NOT_FOUND); /* 6 dots: too short */
    CHECK_EQ_INT(M(r, "GET", "/m/.......!", &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/m/a.b.c.d!", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 3, "d", "d");
    CHECK_PARAM(m, 0, "a", "a");
    CHECK_PARAM(m, 1, "b", "b");
    CHECK_PARAM(m, 2, "c", "c");

#endif
    /* a deep pattern: 600 segments */
    {
        size_t k = 0;
        for (i = 0; i < 600; i++) k += (size_t)sprintf(pat + k, "/s%d", (int)(i % 10));
        CHECK_EQ_INT(add(r, "GET", pat, T(4)), 0);
        CHECK_EQ_INT(M(r, "GET", pat, &m), FR_MATCH_FOUND);
        CHECK(m.data == T(4));
        pat[k - 1] = 'x';
        CHECK_EQ_INT(M(r, "GET", pat, &m), FR_MATCH_NOT_FOUND);
    }
    free(p);
    free(pat);
    fr_router_free(r);
}

static void test_many_routes(void) {
    enum { N = 10000 };
    fr_router *r = fr_router_new(NULL), *small = fr_router_new(NULL);
    static int data[N];
    char pat[128], path[128];
    fr_match m;
    fr_router_stats st;
    size_t i, visits_big[3], visits_small = 0;
    static const size_t probe[3] = {0, N / 2, N - 1};
    REQUIRE(r && small);
    for (i = 0; i < N; i++) {
        int rc;
        sprintf(pat, "/api/res%zu/{id:int}", i);
        rc = add(r, "GET", pat, &data[i]); /* REQUIRE evaluates its argument twice */
        REQUIRE(rc == 0);
        sprintf(pat, "/api/res%zu/{id:int}/sub", i);
        rc = add(r, "POST", pat, &data[i]);
        REQUIRE(rc == 0);
    }
    CHECK_EQ_INT(add(small, "GET", "/api/res0/{id:int}", &data[0]), 0);
    CHECK_EQ_INT(fr_router_get_stats(r, &st), 0);
    CHECK_EQ_INT(st.routes, 2 * N);
    CHECK_EQ_INT(st.max_depth, 4);
    CHECK(st.nodes > 3 * N);
    for (i = 0; i < 3; i++) {
        size_t k = probe[i];
        fr_str ps;
        sprintf(path, "/api/res%zu/%zu", k, k * 7);
        ps = fr_str_c(path);
        CHECK_EQ_INT(fr_router_match_ex(r, FR_STR("GET"), ps, &m, &visits_big[i]), FR_MATCH_FOUND);
        CHECK(m.data == &data[k]);
        REQUIRE(m.num_params == 1);
        CHECK_EQ_INT(strtol(m.params[0].value.buf, NULL, 10), (long)(k * 7));
        sprintf(path, "/api/res%zu/1/sub", k);
        CHECK_EQ_INT(M(r, "POST", path, &m), FR_MATCH_FOUND);
        CHECK(m.data == &data[k]);
        CHECK_EQ_INT(M(r, "GET", path, &m), FR_MATCH_METHOD);
        CHECK_EQ_MEM(m.allow.buf, m.allow.len, "POST");
    }
    CHECK_EQ_INT(M(r, "GET", "/api/res10000/1", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/api/res5000/x", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(fr_router_match_ex(small, FR_STR("GET"), FR_STR("/api/res0/5"), &m, &visits_small),
                 FR_MATCH_FOUND);
    /* the same node visits whatever the number of routes */
    CHECK_EQ_INT(visits_big[0], visits_small);
    CHECK_EQ_INT(visits_big[1], visits_small);
    CHECK_EQ_INT(visits_big[2], visits_small);
    CHECK(visits_small <= 4);
    fr_router_free(r);
    fr_router_free(small);
}

/* Wide nodes switch from a scan to a hash index: every child stays
 * reachable across the switch and the index growth, "" included. */
static void test_wide_node(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    char pat[64];
    int i, j, rc;
    REQUIRE(r);
    rc = add(r, "GET", "/w/", T(1)); /* the empty segment "" under "w" */
    CHECK_EQ_INT(rc, 0);
    for (i = 0; i < 300; i++) {
        sprintf(pat, "/w/%c%d", 'a' + i % 26, i);
        rc = add(r, "GET", pat, T(0));
        REQUIRE(rc == 0);
        for (j = 0; j <= i; j += 1 + i / 7) { /* all earlier ones still match */
            sprintf(pat, "/w/%c%d", 'a' + j % 26, j);
            CHECK_EQ_INT(M(r, "GET", pat, &m), FR_MATCH_FOUND);
        }
        CHECK_EQ_INT(M(r, "GET", "/w/", &m), FR_MATCH_FOUND);
        CHECK(m.data == T(1));
    }
    CHECK_EQ_INT(M(r, "GET", "/w/a1", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/w/a0x", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/w/b1", &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/w/b1/", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(M(r, "GET", "/w", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 1);
    fr_router_free(r);
}

static void test_null_inputs(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    fr_str nul = {NULL, 0};
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", "/", T(0)), 0);
    CHECK_EQ_INT(add(r, "*", "/star", T(1)), 0);
    CHECK_EQ_INT(fr_router_match(NULL, FR_STR("GET"), FR_STR("/"), &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/"), NULL), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), nul, &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(fr_router_match(r, nul, FR_STR("/star"), &m), FR_MATCH_FOUND);
    CHECK_EQ_INT(fr_router_match(r, nul, FR_STR("/"), &m), FR_MATCH_METHOD);
    CHECK_EQ_INT(fr_router_match_ex(r, FR_STR("GET"), FR_STR("/"), &m, NULL), FR_MATCH_FOUND);
    fr_router_free(r);
    fr_router_free(NULL);
    /* an empty router */
    r = fr_router_new(NULL);
    REQUIRE(r);
    CHECK_EQ_INT(M(r, "GET", "/", &m), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(M(r, "GET", "/a/", &m), FR_MATCH_NOT_FOUND);
    fr_router_free(r);
}

/* Every single-byte path under a guard page, and every prefix of a longer
 * one: nothing reads past the end. */
static void test_guarded_prefixes(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    static const char full[] = "/api/v1/files/{name}.{ext}";
    static const char req[] = "/api/v1/files/report.final.pdf/";
    size_t i;
    int c;
    REQUIRE(r);
    CHECK_EQ_INT(add(r, "GET", full, T(0)), 0);
    CHECK_EQ_INT(add(r, "GET", "/api/{v:int}/{rest:path}", T(1)), 0);
    CHECK_EQ_INT(add(r, "GET", "/api/v1/{x:float}", T(2)), 0);
    CHECK_EQ_INT(add(r, "GET", "/api/v1/", T(3)), 0);
    for (i = 0; i <= sizeof req - 1; i++) {
        char buf[64];
        memcpy(buf, req, i);
        buf[i] = 0;
        (void)M(r, "GET", buf, &m);
        CHECK(m.status == FR_MATCH_FOUND || m.status == FR_MATCH_NOT_FOUND ||
              m.status == FR_MATCH_REDIRECT);
    }
    CHECK_EQ_INT(M(r, "GET", "/api/v1/files/report.final.pdf", &m), FR_MATCH_FOUND);
    CHECK_PARAM(m, 0, "name", "report.final");
    CHECK_EQ_INT(M(r, "GET", "/api/v1/files/report.final.pdf/", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(M(r, "GET", "/api/v1", &m), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 1);
    for (c = 0; c < 256; c++) {
        char one[3] = {'/', (char)c, 0};
        fr_str ps = {NULL, 2};
        char *g = (char *)frt_guarded(one, 2);
        ps.buf = g;
        (void)fr_router_match(r, FR_STR("GET"), ps, &m);
        CHECK_EQ_INT(m.status, FR_MATCH_NOT_FOUND);
        frt_guarded_free(g, 2);
    }
    fr_router_free(r);
}

/* Fail the k-th allocation of a series of adds for every k: each failing
 * add returns -1/E_NOMEM, leaves the router usable, and nothing leaks. */
static void test_alloc_failure(void) {
    static const char *pats[] = {"/a/b", "/a/{x:int}", "/a/{y}.{z}", "/f/{p:path}", "/a/b",
                                 "/w/0", "/w/1", "/w/2", "/w/3", "/w/4", "/w/5", "/w/6",
                                 "/w/7", "/w/8", "/w/9", "/w/10"}; /* 11 children: hash index */
    static const char *meths[] = {"GET", "GET", "GET", "GET", "POST", "GET", "GET", "GET",
                                  "GET", "GET", "GET", "GET", "GET", "GET", "GET", "GET"};
    long k;
    int saw_fail = 0, saw_ok = 0;
    for (k = 0; k < 120; k++) {
        fr_router *r;
        fr_match m;
        size_t i;
        int failed = 0;
        frt_live = 0;
        frt_allocs_left = k;
        r = fr_router_new(NULL);
        if (!r) {
            CHECK_EQ_INT(frt_live, 0);
            continue;
        }
        for (i = 0; i < sizeof pats / sizeof pats[0]; i++) {
            fr_err e;
            if (fr_router_add(r, meths[i], pats[i], T(i), &e) != 0) {
                CHECK_EQ_INT(e.code, FR_ROUTER_E_NOMEM);
                failed = 1;
            }
        }
        frt_allocs_left = -1;
        if (failed) saw_fail = 1;
        else saw_ok = 1;
        /* what was added still matches, the rest is absent or a clean 404 */
        (void)fr_router_match(r, FR_STR("GET"), FR_STR("/a/5"), &m);
        CHECK(m.status == FR_MATCH_FOUND || m.status == FR_MATCH_NOT_FOUND);
        if (!failed) {
            CHECK_EQ_INT(fr_router_match(r, FR_STR("POST"), FR_STR("/a/b"), &m), FR_MATCH_FOUND);
            CHECK(m.data == T(4));
            CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/w/10"), &m), FR_MATCH_FOUND);
            CHECK(m.data == T(15));
        }
        /* the router stays usable after a failure */
        CHECK_EQ_INT(add(r, "PUT", "/later/{q}", T(9)), 0);
        CHECK_EQ_INT(fr_router_match(r, FR_STR("PUT"), FR_STR("/later/x"), &m), FR_MATCH_FOUND);
        fr_router_free(r);
        CHECK_EQ_INT(frt_live, 0);
    }
    CHECK(saw_ok);
    CHECK(saw_fail == FRT_HOOKED);
    { /* the hooks themselves */
        void *p = frt_malloc(8);
        frt_free(frt_realloc(p, 16));
        CHECK_EQ_INT(frt_live, 0);
    }
}


/* fr_router_add_group: a path's 405 allow names group-0 routes and the
 * first group's methods (Starlette's first matching route) */
static void test_allow_groups(void) {
    fr_router *r = fr_router_new(NULL);
    fr_match m;
    fr_err err;
    REQUIRE(r);
    /* two groups on one path: GET first, then POST + PUT */
    CHECK_EQ_INT(fr_router_add_group(r, "GET", "/items", T(0), 7, &err), 0);
    CHECK_EQ_INT(fr_router_add_group(r, "POST", "/items", T(1), 9, &err), 0);
    CHECK_EQ_INT(fr_router_add_group(r, "PUT", "/items", T(2), 9, &err), 0);
    CHECK_EQ_INT(M(r, "DELETE", "/items", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET");
    CHECK_EQ_INT(M(r, "PUT", "/items", &m), FR_MATCH_FOUND); /* matching is unchanged */
    CHECK(m.data == T(2));
    /* one group of several methods, registered one by one */
    CHECK_EQ_INT(fr_router_add_group(r, "PATCH", "/one/{x}", T(3), 4, &err), 0);
    CHECK_EQ_INT(fr_router_add_group(r, "PUT", "/one/{y}", T(4), 4, &err), 0);
    CHECK_EQ_INT(fr_router_add_group(r, "GET", "/one/{z}", T(5), 5, &err), 0);
    CHECK_EQ_INT(M(r, "DELETE", "/one/1", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "PATCH, PUT");
    /* group 0 (fr_router_add) is always listed, before or after a group */
    CHECK_EQ_INT(fr_router_add(r, "OPTIONS", "/mixed", T(6), &err), 0);
    CHECK_EQ_INT(fr_router_add_group(r, "POST", "/mixed", T(7), 2, &err), 0);
    CHECK_EQ_INT(fr_router_add_group(r, "PUT", "/mixed", T(8), 3, &err), 0);
    CHECK_EQ_INT(fr_router_add(r, "DELETE", "/mixed", T(9), &err), 0);
    CHECK_EQ_INT(M(r, "GET", "/mixed", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "OPTIONS, POST, DELETE");
    /* a later group never replaces the first one */
    CHECK_EQ_INT(fr_router_add_group(r, "PUT", "/late", T(10), 2, &err), 0);
    CHECK_EQ_INT(fr_router_add_group(r, "GET", "/late", T(11), 1, &err), 0);
    CHECK_EQ_INT(M(r, "POST", "/late", &m), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "PUT");
    /* duplicates are still refused across groups */
    CHECK_EQ_INT(fr_router_add_group(r, "GET", "/late", T(12), 3, &err), -1);
    CHECK_EQ_INT(err.code, FR_ROUTER_E_DUPLICATE);
    fr_router_free(r);
}

static const frt_case frt_cases[] = {
    FRT(test_allow_groups),
    FRT(test_static),
    FRT(test_param_types),
    FRT(test_typed_mismatch),
    FRT(test_priority),
    FRT(test_backtracking),
    FRT(test_404_405),
    FRT(test_head),
    FRT(test_star_method),
    FRT(test_redirect),
    FRT(test_mixed_segments),
    FRT(test_empty_segments),
    FRT(test_bad_patterns),
    FRT(test_duplicates),
    FRT(test_unicode),
    FRT(test_long_paths),
    FRT(test_many_routes),
    FRT(test_wide_node),
    FRT(test_null_inputs),
    FRT(test_guarded_prefixes),
    FRT(test_alloc_failure),
};
FRT_MAIN()
