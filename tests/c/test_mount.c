/* Mount-style prefix routes and fr_app_match (src/server.c).
 *
 * A host that mounts another app under "/prefix" (the Python face's
 * app.mount(), Starlette's Mount) registers method "*" on
 * "/prefix/{path:path}": every method, and the rest of the path (maybe
 * empty) as the "path" parameter. fr_app_match tells the host, without a
 * request, which handler the router would pick, so it can send mounted paths
 * to the mounted app and keep every other request on its engine route.
 * Starlette's rules that must hold: "/prefix" alone is a 307 to "/prefix/",
 * "/prefixed" is not under the mount, a FOUND mount beats a 405 of a plain
 * route, and the same decisions come out of fr_dispatch. */
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

static int tag_a, tag_mount, tag_root;

static int h_route(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_text(req, 200, "text/plain", "route", 5);
}

/* answers "mount:<path param>" */
static int h_mount(fr_req *req, void *ud) {
    char out[128];
    fr_str p = fr_req_param(req, "path");
    int n = snprintf(out, sizeof out, "%s:%.*s", ud == &tag_root ? "root" : "mount", (int)p.len,
                     p.buf ? p.buf : "");
    return fr_res_text(req, 200, "text/plain", out, (size_t)n);
}

static fr_app *make_app(void) {
    fr_config cfg;
    fr_app *app;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_head_from_get = 1; /* like the Python face */
    app = fr_app_new(&cfg);
    if (!app) return NULL;
    if (fr_route(app, "GET", "/sub/special", h_route, &tag_a) < 0 ||
        fr_route(app, "*", "/sub/{path:path}", h_mount, &tag_mount) < 0 ||
        fr_route(app, "GET", "/items", h_route, &tag_a) < 0 ||
        fr_route(app, "*", "/users/{uid:int}/files/{path:path}", h_mount, &tag_mount) < 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

/* the path right before a guard page (an over-read crashes); kept until the
 * next call, since m's params point into it */
static int match(const fr_app *app, const char *method, const char *path, fr_match *m,
                 fr_handler *h, void **ud) {
    static char *last;
    static size_t last_n;
    size_t n = strlen(path);
    if (last) frt_guarded_free(last, last_n);
    last = (char *)frt_guarded(path, n);
    last_n = n;
    return fr_app_match(app, fr_str_c(method), (fr_str){last, n}, m, h, ud);
}

static void test_match_prefix_routes(void) {
    fr_app *app = make_app();
    fr_match m;
    fr_handler h;
    void *ud;
    REQ(app != NULL);
    /* under the mount, any method, the rest of the path as "path" */
    CHECK_EQ_INT(match(app, "GET", "/sub/a/b.txt", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(h == h_mount && ud == &tag_mount);
    CHECK_EQ_MEM(m.params[m.num_params - 1].value.buf, m.params[m.num_params - 1].value.len, "a/b.txt");
    CHECK_EQ_INT(match(app, "DELETE", "/sub/x", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(h == h_mount);
    CHECK_EQ_INT(match(app, "HEAD", "/sub/x", &m, &h, &ud), FR_MATCH_FOUND); /* "*" takes HEAD */
    CHECK(h == h_mount);
    /* the mount root: "/sub/" is the mounted app's "/" ... */
    CHECK_EQ_INT(match(app, "GET", "/sub/", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(h == h_mount);
    CHECK_EQ_INT(m.params[0].value.len, 0);
    /* ... and "/sub" redirects there, as Starlette's redirect_slashes does */
    CHECK_EQ_INT(match(app, "GET", "/sub", &m, &h, &ud), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(m.redirect_add_slash, 1);
    CHECK(h == NULL && ud == NULL);
    /* a plain route under the prefix keeps its method; other methods go to
     * the mount (FOUND beats 405, like Starlette's FULL over PARTIAL) */
    CHECK_EQ_INT(match(app, "GET", "/sub/special", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(h == h_route && ud == &tag_a);
    CHECK_EQ_INT(match(app, "POST", "/sub/special", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(h == h_mount);
    /* the prefix ends at a segment boundary */
    CHECK_EQ_INT(match(app, "GET", "/subway", &m, &h, &ud), FR_MATCH_NOT_FOUND);
    CHECK(h == NULL && ud == NULL);
    /* outside the mount: the app's own routes and answers */
    CHECK_EQ_INT(match(app, "GET", "/items", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(h == h_route);
    CHECK_EQ_INT(match(app, "POST", "/items", &m, &h, &ud), FR_MATCH_METHOD);
    CHECK_EQ_MEM(m.allow.buf, m.allow.len, "GET");
    CHECK(h == NULL);
    CHECK_EQ_INT(match(app, "GET", "/items/", &m, &h, &ud), FR_MATCH_REDIRECT);
    CHECK_EQ_INT(match(app, "GET", "/nope", &m, NULL, NULL), FR_MATCH_NOT_FOUND);
    /* a mount path with parameters */
    CHECK_EQ_INT(match(app, "PUT", "/users/7/files/a", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(h == h_mount);
    CHECK_EQ_INT(m.num_params, 2);
    CHECK_EQ_MEM(m.params[0].value.buf, m.params[0].value.len, "7");
    CHECK_EQ_MEM(m.params[1].value.buf, m.params[1].value.len, "a");
    CHECK_EQ_INT(match(app, "PUT", "/users/x/files/a", &m, &h, &ud), FR_MATCH_NOT_FOUND);
    CHECK_EQ_INT(match(app, "GET", "/users/7/files", &m, &h, &ud), FR_MATCH_REDIRECT);
    /* bad arguments */
    CHECK_EQ_INT(fr_app_match(NULL, fr_str_c("GET"), fr_str_c("/sub/x"), &m, &h, &ud), -1);
    CHECK(h == NULL && ud == NULL);
    CHECK_EQ_INT(fr_app_match(app, fr_str_c("GET"), fr_str_c("/sub/x"), NULL, &h, &ud), -1);
    CHECK_EQ_INT(match(app, "GET", "", &m, &h, &ud), FR_MATCH_NOT_FOUND); /* not a path */
    fr_app_free(app);
}

/* A mount at the root ("" + "/{path:path}") takes everything the app's
 * routes do not: unknown paths, "/", and "/items/" (no redirect: the mount
 * matches it, as Starlette's Mount("") registered last does). */
static void test_match_root_mount(void) {
    fr_config cfg;
    fr_app *app;
    fr_match m;
    fr_handler h;
    void *ud;
    memset(&cfg, 0, sizeof cfg);
    app = fr_app_new(&cfg);
    REQ(app != NULL);
    REQ(fr_route(app, "GET", "/items", h_route, &tag_a) == 0);
    REQ(fr_route(app, "*", "/{path:path}", h_mount, &tag_root) == 0);
    CHECK_EQ_INT(match(app, "GET", "/items", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(h == h_route);
    CHECK_EQ_INT(match(app, "POST", "/items", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(ud == &tag_root);
    CHECK_EQ_INT(match(app, "GET", "/items/", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(ud == &tag_root);
    CHECK_EQ_INT(match(app, "GET", "/", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK(ud == &tag_root);
    CHECK_EQ_INT(match(app, "GET", "/a/b/c", &m, &h, &ud), FR_MATCH_FOUND);
    CHECK_EQ_MEM(m.params[0].value.buf, m.params[0].value.len, "a/b/c");
    /* the same pattern twice is refused, a second method on it too */
    CHECK(fr_route(app, "*", "/{rest:path}", h_mount, &tag_root) < 0);
    fr_app_free(app);
}

/* ---- fr_dispatch takes the same decisions ---- */

typedef struct {
    int status;
    char head[512];
    size_t head_len;
    char body[512];
    size_t body_len;
} sink_t;

static void s_start(void *ud, int status, const fr_header *h, size_t n) {
    sink_t *t = ud;
    t->status = status;
    for (size_t i = 0; i < n; i++) {
        int k = snprintf(t->head + t->head_len, sizeof t->head - t->head_len, "%.*s: %.*s\n",
                         (int)h[i].name.len, h[i].name.buf, (int)h[i].value.len, h[i].value.buf);
        if (k > 0 && t->head_len + (size_t)k < sizeof t->head) t->head_len += (size_t)k;
    }
}

static int s_body(void *ud, const char *data, size_t len, int more) {
    sink_t *t = ud;
    (void)more;
    if (len && t->body_len + len < sizeof t->body) {
        memcpy(t->body + t->body_len, data, len);
        t->body_len += len;
    }
    return 0;
}

static int run(fr_app *app, const char *method, const char *target, sink_t *t) {
    fr_request_desc d;
    fr_sink s = {s_start, s_body, t};
    memset(t, 0, sizeof *t);
    memset(&d, 0, sizeof d);
    d.method = fr_str_c(method);
    d.target = fr_str_c(target);
    return fr_dispatch(app, &d, &s);
}

static void test_dispatch_prefix_routes(void) {
    fr_app *app = make_app();
    sink_t t;
    REQ(app != NULL);
    CHECK_EQ_INT(run(app, "GET", "/sub/a%20b/c?x=1", &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_MEM(t.body, t.body_len, "mount:a b/c"); /* the decoded rest of the path */
    CHECK_EQ_INT(run(app, "PATCH", "/sub/", &t), 0);
    CHECK_EQ_MEM(t.body, t.body_len, "mount:");
    CHECK_EQ_INT(run(app, "GET", "/sub/special", &t), 0);
    CHECK_EQ_MEM(t.body, t.body_len, "route");
    CHECK_EQ_INT(run(app, "GET", "/sub?q=1", &t), 0);
    CHECK_EQ_INT(t.status, 307);
    CHECK(strstr(t.head, "/sub/?q=1") != NULL);
    CHECK_EQ_INT(run(app, "GET", "/subway", &t), 0);
    CHECK_EQ_INT(t.status, 404);
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_match_prefix_routes),
    FRT(test_match_root_mount),
    FRT(test_dispatch_prefix_routes),
};
FRT_MAIN()
