/* Unit tests for per-route body limits (fr_route_ex / fr_route_opts, FastAPI's
 * max_body_size), driven through fr_dispatch: a Content-Length over the
 * route's limit answers 413 text/plain before the handler, a chunked body
 * over it 413 {"detail":...}; the limit may be larger than the app's or 0. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

typedef struct {
    int status;
    char head[512];
    size_t head_len;
    char body[256];
    size_t body_len;
} sink_t;

static int calls;

static void s_start(void *ud, int status, const fr_header *h, size_t n) {
    sink_t *t = (sink_t *)ud;
    size_t i;
    t->status = status;
    for (i = 0; i < n; i++) {
        int k = snprintf(t->head + t->head_len, sizeof t->head - t->head_len, "%.*s: %.*s\n",
                         (int)h[i].name.len, h[i].name.buf, (int)h[i].value.len, h[i].value.buf);
        if (k > 0 && t->head_len + (size_t)k < sizeof t->head) t->head_len += (size_t)k;
    }
}

static int s_body(void *ud, const char *data, size_t len, int more) {
    sink_t *t = (sink_t *)ud;
    (void)more;
    if (len && t->body_len + len < sizeof t->body) {
        memcpy(t->body + t->body_len, data, len);
        t->body_len += len;
    }
    return 0;
}

static int echo(fr_req *req, void *ud) {
    char out[64];
    (void)ud;
    calls++;
    snprintf(out, sizeof out, "len=%zu", fr_req_body(req).len);
    return fr_res_text(req, 200, "text/plain", out, strlen(out));
}

/* body of n bytes sent with a Content-Length (chunked 0) or as if de-chunked */
static int post(fr_app *app, const char *target, size_t n, int chunked, sink_t *t) {
    static char body[4096];
    char cl[32];
    int rc;
    fr_header h[1];
    fr_request_desc d;
    fr_sink s;
    s.start = s_start;
    s.body = s_body;
    s.ud = t;
    memset(body, 'x', sizeof body);
    memset(t, 0, sizeof *t);
    memset(&d, 0, sizeof d);
    snprintf(cl, sizeof cl, "%zu", n);
    h[0].name = fr_str_c(chunked ? "transfer-encoding" : "content-length");
    h[0].value = fr_str_c(chunked ? "chunked" : cl);
    d.method = fr_str_c("POST");
    d.target = fr_str_c(target);
    d.headers = h;
    d.nheaders = 1;
    d.body.buf = (const char *)frt_guarded(body, n); /* any over-read crashes */
    d.body.len = n;
    rc = fr_dispatch(app, &d, &s);
    frt_guarded_free((void *)(uintptr_t)d.body.buf, n);
    return rc;
}

static fr_app *make_app(void) {
    fr_config cfg;
    fr_route_opts small, zero, big, unread;
    fr_app *app;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_body_bytes = 100;
    app = fr_app_new(&cfg);
    if (!app) return NULL;
    memset(&small, 0, sizeof small);
    small.limit_body = 1;
    small.max_body = 10;
    zero = small;
    zero.max_body = 0;
    big = small;
    big.max_body = 1000;
    unread = small;
    unread.body_unread = 1;
    if (fr_route(app, "POST", "/plain", echo, NULL) < 0 ||
        fr_route_ex(app, "POST", "/small", echo, NULL, &small) < 0 ||
        fr_route_ex(app, "POST", "/zero", echo, NULL, &zero) < 0 ||
        fr_route_ex(app, "POST", "/big", echo, NULL, &big) < 0 ||
        fr_route_ex(app, "POST", "/nullopts", echo, NULL, NULL) < 0 ||
        fr_route_ex(app, "POST", "/unread", echo, NULL, &unread) < 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

static void test_content_length_over(void) {
    fr_app *app = make_app();
    sink_t t;
    REQUIRE(app != NULL);
    calls = 0;
    CHECK_EQ_INT(post(app, "/small", 10, 0, &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_MEM(t.body, t.body_len, "len=10");
    CHECK_EQ_INT(post(app, "/small", 11, 0, &t), 0);
    CHECK_EQ_INT(t.status, 413);
    CHECK_EQ_MEM(t.body, t.body_len, "Content Too Large");
    CHECK(strstr(t.head, "text/plain; charset=utf-8") != NULL);
    CHECK_EQ_INT(calls, 1); /* the handler did not run for the 413 */
    fr_app_free(app);
}

static void test_chunked_over(void) {
    fr_app *app = make_app();
    sink_t t;
    REQUIRE(app != NULL);
    CHECK_EQ_INT(post(app, "/small", 10, 1, &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_INT(post(app, "/small", 11, 1, &t), 0);
    CHECK_EQ_INT(t.status, 413);
    CHECK_EQ_MEM(t.body, t.body_len, "{\"detail\":\"Content Too Large\"}");
    CHECK(strstr(t.head, "application/json") != NULL);
    fr_app_free(app);
}

static void test_body_unread(void) {
    fr_app *app = make_app();
    sink_t t;
    REQUIRE(app != NULL);
    CHECK_EQ_INT(post(app, "/unread", 50, 1, &t), 0); /* chunked: not refused */
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_INT(post(app, "/unread", 11, 0, &t), 0); /* a Content-Length still is */
    CHECK_EQ_INT(t.status, 413);
    CHECK_EQ_MEM(t.body, t.body_len, "Content Too Large");
    fr_app_free(app);
}

static void test_zero_and_defaults(void) {
    fr_app *app = make_app();
    sink_t t;
    REQUIRE(app != NULL);
    CHECK_EQ_INT(post(app, "/zero", 0, 0, &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_INT(post(app, "/zero", 1, 0, &t), 0);
    CHECK_EQ_INT(t.status, 413);
    /* no route limit: the app's max_body_bytes (100) only */
    CHECK_EQ_INT(post(app, "/plain", 100, 0, &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_INT(post(app, "/nullopts", 100, 1, &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_INT(post(app, "/plain", 101, 0, &t), 0);
    CHECK_EQ_INT(t.status, 413);
    /* a route limit above the app's does not lift the app's */
    CHECK_EQ_INT(post(app, "/big", 101, 0, &t), 0);
    CHECK_EQ_INT(t.status, 413);
    CHECK_EQ_INT(post(app, "/big", 50, 0, &t), 0);
    CHECK_EQ_INT(t.status, 200);
    fr_app_free(app);
}

static void test_unmatched(void) {
    fr_app *app = make_app();
    fr_route_opts o;
    sink_t t;
    REQUIRE(app != NULL);
    CHECK_EQ_INT(post(app, "/nothere", 20, 0, &t), 0);
    CHECK_EQ_INT(t.status, 404);
    memset(&o, 0, sizeof o);
    o.limit_body = 1;
    o.max_body = 10;
    fr_app_set_unmatched_opts(app, &o);
    CHECK_EQ_INT(post(app, "/nothere", 10, 0, &t), 0);
    CHECK_EQ_INT(t.status, 404);
    CHECK_EQ_INT(post(app, "/nothere", 11, 0, &t), 0);
    CHECK_EQ_INT(t.status, 413);
    CHECK_EQ_MEM(t.body, t.body_len, "Content Too Large");
    CHECK_EQ_INT(post(app, "/nothere", 11, 1, &t), 0); /* chunked: not read, the 404 */
    CHECK_EQ_INT(t.status, 404);
    CHECK_EQ_INT(post(app, "/small", 11, 0, &t), 0); /* routes keep their own */
    CHECK_EQ_INT(t.status, 413);
    CHECK_EQ_INT(post(app, "/plain", 50, 0, &t), 0); /* matched routes ignore it */
    CHECK_EQ_INT(t.status, 200);
    fr_app_set_unmatched_opts(app, NULL);
    CHECK_EQ_INT(post(app, "/nothere", 11, 0, &t), 0);
    CHECK_EQ_INT(t.status, 404);
    fr_app_set_unmatched_opts(NULL, &o); /* tolerated */
    fr_app_free(app);
}

static void test_bad_args(void) {
    fr_app *app = make_app();
    fr_route_opts o;
    REQUIRE(app != NULL);
    memset(&o, 0, sizeof o);
    CHECK(fr_route_ex(NULL, "GET", "/a", echo, NULL, &o) == -1);
    CHECK(fr_route_ex(app, "GET", "/a", NULL, NULL, &o) == -1);
    CHECK(fr_route_ex(app, "POST", "/small", echo, NULL, &o) == -1); /* duplicate */
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_content_length_over), FRT(test_chunked_over), FRT(test_zero_and_defaults), FRT(test_unmatched),
    FRT(test_body_unread),
    FRT(test_bad_args),
};
FRT_MAIN()
