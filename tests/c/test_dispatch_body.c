/* A body that arrives after its head: fr_dispatch_begin / fr_dispatch_feed /
 * fr_dispatch_end. The handler sees the whole body (or, on a
 * multipart_stream route, the form parsed as it arrived, a big file part in
 * a temp file) and runs only at the end; a body over max_body_bytes is
 * answered 413 during the feed that crosses it; a head the parser refuses
 * is answered at begin; a dropped request calls nothing and leaves no temp
 * file open (fds in /proc/self/fd; ASan covers the memory). */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_got */

#define BND FRT_BND

static int g_calls;        /* handler runs */
static int g_dones;        /* on_done calls */
static char g_seen[512];   /* what the handler saw */

static void on_done(fr_req *req, int ok, void *ud) {
    (void)req;
    (void)ud;
    (void)ok;
    g_dones++;
}

/* echo: the body back, and its length */
static int echo(fr_req *req, void *ud) {
    fr_str b = fr_req_body(req);
    (void)ud;
    g_calls++;
    fr_req_on_done(req, on_done, NULL);
    return fr_res_text(req, 200, "text/plain", b.buf, b.len);
}

/* upload: describe the form the engine streamed */
static int upload(fr_req *req, void *ud) {
    const fr_form *f = fr_req_form(req);
    size_t i, at = 0;
    (void)ud;
    g_calls++;
    g_seen[0] = 0;
    if (!f) {
        snprintf(g_seen, sizeof g_seen, "no form, body %zu", fr_req_body(req).len);
        return fr_res_text(req, 200, "text/plain", "plain", 5);
    }
    at += (size_t)snprintf(g_seen + at, sizeof g_seen - at, "err=%d body=%zu", fr_form_error(f), fr_req_body(req).len);
    for (i = 0; i < fr_form_count(f); i++) {
        const fr_form_part *p = fr_form_part_at(f, i);
        static char buf[65536];
        uint64_t off = 0;
        long n;
        int good = 1;
        while ((n = fr_form_part_read(p, off, buf, sizeof buf)) > 0) {
            for (long k = 0; k < n; k++)
                if ((unsigned char)buf[k] != frt_pat((size_t)off + (size_t)k)) good = 0;
            off += (uint64_t)n;
        }
        at += (size_t)snprintf(g_seen + at, sizeof g_seen - at, " %.*s:%llu:%s:%s", (int)p->name.len, p->name.buf,
                               (unsigned long long)p->size, p->fd >= 0 ? "disk" : "mem",
                               p->is_file ? (good ? "ok" : "bad") : "field");
    }
    return fr_res_text(req, 200, "text/plain", "ok", 2);
}

static fr_app *make_app(uint64_t max_body) {
    fr_config cfg;
    fr_app *app;
    fr_route_opts o;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_body_bytes = max_body;
    app = fr_app_new(&cfg);
    if (!app) return NULL;
    fr_route(app, "POST", "/echo", echo, NULL);
    memset(&o, 0, sizeof o);
    o.multipart_stream = 1;
    o.multipart_spool = 1024;
    fr_route_ex(app, "POST", "/up", upload, NULL, &o);
    o.limit_body = 1;
    o.max_body = 1000;
    fr_route_ex(app, "POST", "/small", upload, NULL, &o);
    g_calls = g_dones = 0;
    return app;
}

static fr_request_desc post(const char *target, const fr_header *h, size_t nh, const char *first, size_t n) {
    fr_request_desc d;
    memset(&d, 0, sizeof d);
    d.method = FR_STR("POST");
    d.target = fr_str_c(target);
    d.headers = h;
    d.nheaders = nh;
    d.body.buf = first;
    d.body.len = n;
    return d;
}

/* begin a POST of `first` to target with a fresh g; NULL if not pending */
static fr_req *begin_plain(fr_app *app, const char *target, frt_got *g, fr_sink *s, const char *first) {
    fr_req *req = NULL;
    fr_request_desc d = post(target, NULL, 0, first, first ? strlen(first) : 0);
    memset(g, 0, sizeof *g);
    *s = frt_got_sink(g);
    return fr_dispatch_begin(app, &d, s, NULL, &req) == 0 ? req : NULL;
}

static void test_body_in_pieces(void) {
    fr_app *app = make_app(0);
    frt_got g;
    fr_sink s;
    fr_req *req;
    REQUIRE(app);
    req = begin_plain(app, "/echo", &g, &s, "ab");
    REQUIRE(req);
    CHECK_EQ_INT(fr_dispatch_feed(req, "cd", 2), 0);
    CHECK_EQ_INT(fr_dispatch_feed(req, NULL, 0), 0);
    CHECK_EQ_INT(fr_dispatch_feed(req, "efg", 3), 0);
    CHECK_EQ_INT(g_calls, 0); /* nothing runs before the end */
    CHECK_EQ_INT(g.starts, 0);
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0);
    CHECK_EQ_INT(g_calls, 1);
    CHECK_EQ_INT(g_dones, 1);
    CHECK_EQ_INT(g.status, 200);
    CHECK(g.done);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "abcdefg");
    CHECK(strstr(g.head, "content-length: 7\n") != NULL);
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_empty_and_big_body(void) {
    fr_app *app = make_app(0);
    frt_got g;
    fr_sink s;
    fr_req *req;
    static char piece[4096];
    size_t i;
    REQUIRE(app);
    req = begin_plain(app, "/echo", &g, &s, NULL);
    REQUIRE(req);
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0); /* no body at all */
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_INT(g.body.len, 0);
    fr_buf_free(&g.body);
    req = begin_plain(app, "/echo", &g, &s, NULL);
    REQUIRE(req);
    for (i = 0; i < 240; i++) { /* 960 KiB (the default limit is 1 MiB) in 4 KiB pieces */
        memset(piece, 'a' + (int)(i % 26), sizeof piece);
        CHECK_EQ_INT(fr_dispatch_feed(req, piece, sizeof piece), 0);
    }
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0);
    CHECK_EQ_INT(g.body.len, 240 * 4096);
    for (i = 0; i < 240 && g.body.len == 240 * 4096; i++)
        CHECK(g.body.buf[i * 4096] == 'a' + (int)(i % 26) && g.body.buf[i * 4096 + 4095] == 'a' + (int)(i % 26));
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_head_refused_at_begin(void) {
    fr_app *app = make_app(0);
    frt_got g;
    fr_sink s;
    fr_req *req = (fr_req *)&g; /* overwritten */
    fr_request_desc d = post("/echo with space", NULL, 0, "x", 1);
    REQUIRE(app);
    memset(&g, 0, sizeof g);
    s = frt_got_sink(&g);
    CHECK_EQ_INT(fr_dispatch_begin(app, &d, &s, NULL, &req), 0);
    CHECK(req == NULL);
    CHECK_EQ_INT(g.status, 400);
    CHECK_EQ_INT(g.starts, 1);
    CHECK(g.done);
    CHECK_EQ_INT(g_calls, 0);
    fr_buf_free(&g.body);
    /* bad calls: nothing done */
    CHECK_EQ_INT(fr_dispatch_begin(app, &d, &s, NULL, NULL), -1);
    d = post("/echo", NULL, 0, NULL, 3); /* NULL with a length */
    CHECK_EQ_INT(fr_dispatch_begin(app, &d, &s, NULL, &req), -1);
    CHECK(req == NULL);
    CHECK_EQ_INT(fr_dispatch_feed(NULL, "a", 1), -1);
    CHECK_EQ_INT(fr_dispatch_end(NULL, 1), -1);
    req = begin_plain(app, "/echo", &g, &s, NULL);
    REQUIRE(req);
    CHECK_EQ_INT(fr_dispatch_feed(req, NULL, 5), -1);
    CHECK_EQ_INT(fr_dispatch_end(req, 0), 0);
    CHECK_EQ_INT(g.starts, 0); /* the drop called nothing */
    fr_app_free(app);
}

static void test_over_max_body_during_feed(void) {
    fr_app *app = make_app(10);
    frt_got g;
    fr_sink s;
    fr_req *req;
    fr_request_desc d;
    REQUIRE(app);
    req = begin_plain(app, "/echo", &g, &s, "1234");
    REQUIRE(req);
    CHECK_EQ_INT(fr_dispatch_feed(req, "567890", 6), 0); /* exactly the limit */
    CHECK_EQ_INT(g.starts, 0);
    CHECK_EQ_INT(fr_dispatch_feed(req, "x", 1), 1); /* over: answered now */
    CHECK_EQ_INT(g.status, 413);
    CHECK(g.done);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "{\"detail\":\"Request Entity Too Large\"}"); /* as fr_dispatch */
    CHECK_EQ_INT(fr_dispatch_feed(req, "more", 4), 1);
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0); /* releases only */
    CHECK_EQ_INT(g_calls, 0);
    CHECK_EQ_INT(g_dones, 0);
    CHECK_EQ_INT(g.starts, 1);
    CHECK_EQ_INT(g.bodies, 1);
    fr_buf_free(&g.body);
    /* first bytes over the limit: answered at begin */
    memset(&g, 0, sizeof g);
    s = frt_got_sink(&g);
    d = post("/echo", NULL, 0, "12345678901", 11);
    req = (fr_req *)&g;
    CHECK_EQ_INT(fr_dispatch_begin(app, &d, &s, NULL, &req), 0);
    CHECK(req == NULL);
    CHECK_EQ_INT(g.status, 413);
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_content_length_over_max(void) {
    fr_app *app = make_app(10);
    static const fr_header h[] = {{{"Content-Length", 14}, {"100", 3}}};
    frt_got g;
    fr_sink s;
    fr_req *req = (fr_req *)&g;
    fr_request_desc d = post("/echo", h, 1, NULL, 0);
    REQUIRE(app);
    memset(&g, 0, sizeof g);
    s = frt_got_sink(&g);
    CHECK_EQ_INT(fr_dispatch_begin(app, &d, &s, NULL, &req), 0);
    CHECK(req == NULL);
    CHECK_EQ_INT(g.status, 413);
    CHECK_EQ_INT(g_calls, 0);
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_dropped_calls_nothing(void) {
    fr_app *app = make_app(0);
    frt_got g;
    fr_sink s;
    fr_req *req;
    REQUIRE(app);
    req = begin_plain(app, "/echo", &g, &s, "abc");
    REQUIRE(req);
    CHECK_EQ_INT(fr_dispatch_feed(req, "def", 3), 0);
    CHECK_EQ_INT(fr_dispatch_end(req, 0), 0);
    CHECK_EQ_INT(g.starts + g.bodies, 0);
    CHECK_EQ_INT(g_calls, 0);
    CHECK_EQ_INT(g_dones, 0);
    fr_app_free(app);
}

/* upload()'s digest of frt_form_body(100000) */
static const char want_form[] = "err=0 body=0 a:5:mem:field f:100000:disk:ok b:1:mem:field";

static const fr_header form_h[] = {{{"content-type", 12}, {"multipart/form-data; boundary=" BND, 41}}};

/* feed body in pieces of `step` bytes after `first` bytes at begin */
static fr_req *begin_form(fr_app *app, const char *target, frt_got *g, fr_sink *s, const char *body, size_t len,
                          size_t first, size_t step) {
    fr_req *req = NULL;
    fr_request_desc d = post(target, form_h, 1, body, first);
    size_t at;
    *s = frt_got_sink(g);
    if (fr_dispatch_begin(app, &d, s, NULL, &req) != 0 || !req) return NULL;
    for (at = first; at < len; at += step)
        if (fr_dispatch_feed(req, body + at, len - at < step ? len - at : step) != 0) return NULL;
    return req;
}

static void test_form_streamed_to_disk(void) {
    fr_app *app = make_app(64); /* max_body_bytes: not for a streamed form */
    size_t len = 0;
    char *body = frt_form_body(100000, &len);
    frt_got g;
    fr_sink s;
    fr_req *req;
    int fds0 = frt_deleted_fds();
    REQUIRE(app && body);
    memset(&g, 0, sizeof g);
    req = begin_form(app, "/up", &g, &s, body, len, 5, 7);
    REQUIRE(req);
    CHECK_EQ_INT(frt_deleted_fds(), fds0 + 1); /* the file part is on disk already */
    CHECK_EQ_INT(g_calls, 0);
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0);
    CHECK_EQ_INT(g_calls, 1);
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_MEM(g_seen, strlen(g_seen), want_form);
    CHECK_EQ_INT(frt_deleted_fds(), fds0); /* closed with the request */
    fr_buf_free(&g.body);
    free(body);
    fr_app_free(app);
}

/* a Content-Length over max_body_bytes: 413 at begin, but not for a form
 * a multipart_stream route streams (as on a socket) */
static void test_form_content_length_over_app_limit(void) {
    fr_app *app = make_app(64);
    size_t len = 0;
    char *body = frt_form_body(100000, &len);
    char cl[32];
    fr_header h[2];
    frt_got g;
    fr_sink s;
    fr_req *req = NULL;
    fr_request_desc d;
    REQUIRE(app && body);
    snprintf(cl, sizeof cl, "%zu", len);
    h[0] = form_h[0];
    h[1].name = fr_str_c("content-length");
    h[1].value = fr_str_c(cl);
    d = post("/up", h, 2, body, 10);
    memset(&g, 0, sizeof g);
    s = frt_got_sink(&g);
    REQUIRE(fr_dispatch_begin(app, &d, &s, NULL, &req) == 0 && req);
    CHECK_EQ_INT(fr_dispatch_feed(req, body + 10, len - 10), 0);
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0);
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_MEM(g_seen, strlen(g_seen), want_form);
    fr_buf_free(&g.body);
    d = post("/echo", h + 1, 1, "x", 1); /* the same length to a plain route */
    memset(&g, 0, sizeof g);
    s = frt_got_sink(&g);
    req = (fr_req *)&g;
    CHECK_EQ_INT(fr_dispatch_begin(app, &d, &s, NULL, &req), 0);
    CHECK(req == NULL);
    CHECK_EQ_INT(g.status, 413);
    CHECK_EQ_INT(g.starts, 1);
    fr_buf_free(&g.body);
    free(body);
    fr_app_free(app);
}

static void test_form_dropped_mid_upload(void) {
    fr_app *app = make_app(0);
    size_t len = 0;
    char *body = frt_form_body(200000, &len);
    frt_got g;
    fr_sink s;
    fr_req *req;
    int fds0 = frt_deleted_fds();
    REQUIRE(app && body);
    memset(&g, 0, sizeof g);
    req = begin_form(app, "/up", &g, &s, body, len / 2, 0, 4096); /* half of it */
    REQUIRE(req);
    CHECK_EQ_INT(frt_deleted_fds(), fds0 + 1);
    CHECK_EQ_INT(fr_dispatch_end(req, 0), 0);
    CHECK_EQ_INT(frt_deleted_fds(), fds0);
    CHECK_EQ_INT(g_calls, 0);
    CHECK_EQ_INT(g.starts, 0);
    free(body);
    fr_app_free(app);
}

static void test_form_route_limit_at_end(void) {
    fr_app *app = make_app(0);
    size_t len = 0;
    char *body = frt_form_body(5000, &len);
    frt_got g;
    fr_sink s;
    fr_req *req;
    REQUIRE(app && body);
    memset(&g, 0, sizeof g);
    req = begin_form(app, "/small", &g, &s, body, len, 0, 999);
    REQUIRE(req);
    CHECK_EQ_INT(g.starts, 0); /* route limits run at the end, as on a socket */
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0);
    CHECK_EQ_INT(g.status, 413);
    CHECK_EQ_INT(g_calls, 0);
    CHECK(strstr(g.body.buf ? g.body.buf : "", "Content Too Large") != NULL);
    fr_buf_free(&g.body);
    free(body);
    fr_app_free(app);
}

static void test_plain_body_to_form_route(void) {
    fr_app *app = make_app(0);
    frt_got g;
    fr_sink s;
    fr_req *req;
    REQUIRE(app);
    req = begin_plain(app, "/up", &g, &s, "not");
    REQUIRE(req);
    CHECK_EQ_INT(fr_dispatch_feed(req, " a form", 7), 0);
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0);
    CHECK_EQ_MEM(g_seen, strlen(g_seen), "no form, body 10");
    fr_buf_free(&g.body);
    req = begin_plain(app, "/up", &g, &s, NULL); /* no body at all: no form, as on a socket */
    REQUIRE(req);
    CHECK_EQ_INT(fr_dispatch_end(req, 1), 0);
    CHECK_EQ_MEM(g_seen, strlen(g_seen), "no form, body 0");
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_body_in_pieces),          FRT(test_empty_and_big_body),
    FRT(test_head_refused_at_begin),   FRT(test_over_max_body_during_feed),
    FRT(test_content_length_over_max), FRT(test_dropped_calls_nothing),
    FRT(test_form_streamed_to_disk),   FRT(test_form_dropped_mid_upload),
    FRT(test_form_route_limit_at_end), FRT(test_plain_body_to_form_route),
    FRT(test_form_content_length_over_app_limit),
};
FRT_MAIN()
