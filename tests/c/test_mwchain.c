/* Unit tests for the middleware chain of an fr_app (middleware.h, end):
 * fr_app_use hooks (order, layering, early answers, head and body edits,
 * errors, bypass, state and end), the built-ins fr_app_use_cors / _gzip /
 * _trusted_host / _https_redirect on complete bodies, streams (inline and
 * from another thread), files and HEAD, through fr_dispatch and over a
 * real socket (fr_serve in a thread, raw HTTP/1.1 client); around layers
 * (FR_MW_AROUND, fr_mw_next, capture: order, short-circuit, capture + edits,
 * C middlewares inside and outside, bypass, streams, on_done); streamed
 * captures (capture_stream: the head before the body ends, fr_mw_pass,
 * fr_mw_take + wake with bounded holding, the owner's answer cancelling the
 * producer and waiting for its end, nesting, a live socket with the
 * producer's flow callback) and fr_mw_res_raw_headers.
 *
 * FRT_CFLAGS: -DFR_ENABLE_ZLIB=1
 * FRT_LIBS: -lz
 * (the src variant builds src/ without zlib: the gzip cases then check
 * that fr_app_use_gzip refuses and the rest still runs.) */
#define FRT_NET 1
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv */

#include <pthread.h>
#include <fcntl.h>
#include <strings.h>
#if FR_ENABLE_ZLIB
#include <zlib.h>
#endif

/* ------------------------------------------------------------------------ */
/* a response collected from an fr_sink (fr_dispatch) or a socket            */

typedef frt_got got;
static void got_free(got *g) { fr_buf_free(&g->body); }

/* the value of header `name` (case-insensitive), "" + 0 when absent */
static int got_hdr(const got *g, const char *name, char *out, size_t cap) {
    const char *p = g->head;
    size_t nl = strlen(name);
    out[0] = 0;
    while (*p) {
        const char *e = strchr(p, '\n');
        if (!e) break;
        if ((size_t)(e - p) > nl + 1 && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            size_t vl = (size_t)(e - p) - nl - 2;
            if (vl >= cap) vl = cap - 1;
            memcpy(out, p + nl + 2, vl);
            out[vl] = 0;
            return 1;
        }
        p = e + 1;
    }
    return 0;
}

/* headers "Name: value\n..." (may be NULL); the header bytes are placed
 * right before a guard page, so any over-read of the descriptor crashes */
static int dispatch(fr_app *app, const char *method, const char *target, const char *headers, got *g) {
    fr_header hv[16];
    size_t n = 0, hl = headers ? strlen(headers) : 0;
    char *buf = hl ? (char *)frt_guarded(headers, hl) : NULL;
    fr_request_desc d;
    fr_sink s;
    int rc;
    memset(g, 0, sizeof *g);
    memset(&d, 0, sizeof d);
    if (buf) {
        char *p = buf, *end = buf + hl;
        while (p < end && n < 16) {
            char *colon = (char *)memchr(p, ':', (size_t)(end - p));
            char *nl = (char *)memchr(p, '\n', (size_t)(end - p));
            if (!colon || !nl) break;
            hv[n].name.buf = p;
            hv[n].name.len = (size_t)(colon - p);
            hv[n].value.buf = colon + 2;
            hv[n].value.len = (size_t)(nl - colon - 2);
            n++;
            p = nl + 1;
        }
    }
    d.method = fr_str_c(method);
    d.target = fr_str_c(target);
    d.headers = hv;
    d.nheaders = n;
    s = frt_got_sink(g);
    rc = fr_dispatch(app, &d, &s);
    if (buf) frt_guarded_free(buf, hl);
    return rc;
}

#if FR_ENABLE_ZLIB
/* Inflate a gzip prefix into out: 1 = a complete stream, 0 = a valid
 * prefix (all of it decoded, no end yet), -1 = not gzip / trailing bytes. */
static int gunzip_part(const char *in, size_t n, fr_buf *out) {
    z_stream z;
    char tmp[16384];
    int r;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    do {
        z.next_out = (Bytef *)tmp;
        z.avail_out = sizeof tmp;
        r = inflate(&z, Z_SYNC_FLUSH);
        fr_buf_append(out, tmp, sizeof tmp - z.avail_out);
    } while (r == Z_OK && (z.avail_in || z.avail_out == 0));
    inflateEnd(&z);
    if (r == Z_STREAM_END) return z.avail_in == 0 ? 1 : -1;
    return (r == Z_OK || r == Z_BUF_ERROR) && z.avail_in == 0 ? 0 : -1;
}

/* gunzip into out; 0 ok */
static int gunzip(const char *in, size_t n, fr_buf *out) { return gunzip_part(in, n, out) == 1 ? 0 : -1; }
#endif

/* ------------------------------------------------------------------------ */
/* handlers                                                                  */

static char big_text[4000];
static void init_big(void) {
    size_t i;
    for (i = 0; i < sizeof big_text - 1; i++) big_text[i] = (char)('a' + (i * 7 + i / 13) % 26);
    big_text[sizeof big_text - 1] = 0;
}

static int is_big(const char *p, size_t n) {
    return n == sizeof big_text - 1 && memcmp(p, big_text, n) == 0;
}

static int h_text(fr_req *req, void *ud) {
    const char *s = (const char *)ud;
    return fr_res_text(req, 200, NULL, s, strlen(s));
}

static int h_json_ud(fr_req *req, void *ud) {
    const char *s = (const char *)ud;
    return fr_res_json(req, 200, s, strlen(s));
}

/* inline stream: pieces of big_text */
static int h_stream(fr_req *req, void *ud) {
    size_t i, step = ud ? (size_t)(uintptr_t)ud : 1000;
    fr_res_header(req, "content-type", "text/plain");
    fr_res_stream_begin(req);
    for (i = 0; i < sizeof big_text - 1; i += step) {
        size_t n = sizeof big_text - 1 - i < step ? sizeof big_text - 1 - i : step;
        fr_res_stream_write(req, big_text + i, n);
    }
    fr_res_stream_end(req);
    return FR_DONE;
}

static int h_stream_empty(fr_req *req, void *ud) {
    (void)ud;
    fr_res_header(req, "content-type", "text/plain");
    fr_res_stream_begin(req);
    fr_res_stream_end(req);
    return FR_DONE;
}

static void *stream_thread(void *arg) {
    fr_req *req = (fr_req *)arg;
    size_t i;
    for (i = 0; i < sizeof big_text - 1; i += 700) {
        size_t n = sizeof big_text - 1 - i < 700 ? sizeof big_text - 1 - i : 700;
        if (i == 0) fr_res_stream_begin(req);
        fr_res_stream_write(req, big_text + i, n);
    }
    fr_res_stream_end(req);
    return NULL;
}

/* the stream comes from another thread, the handler returns FR_PENDING */
static int h_stream_pending(fr_req *req, void *ud) {
    pthread_t t;
    (void)ud;
    fr_res_header(req, "content-type", "text/plain");
    if (pthread_create(&t, NULL, stream_thread, req) != 0) return fr_res_text(req, 500, NULL, "", 0);
    pthread_detach(t);
    return FR_PENDING;
}

static char file_path[64];
static int h_file(fr_req *req, void *ud) {
    int fd = open(file_path, O_RDONLY);
    (void)ud;
    if (fd < 0) return fr_res_text(req, 500, NULL, "open", 4);
    fr_res_header(req, "content-type", "text/plain; charset=utf-8");
    if (fr_res_file(req, fd, 0, (uint64_t)lseek(fd, 0, SEEK_END), 1) < 0) {
        close(fd);
        return fr_res_text(req, 500, NULL, "file", 4);
    }
    fr_res_send(req);
    return FR_DONE;
}

/* the response as built, FR_DONE without fr_res_send */
static int h_no_send(fr_req *req, void *ud) {
    (void)ud;
    fr_res_status(req, 201);
    fr_res_header(req, "content-type", "text/plain");
    fr_res_body(req, big_text, 1000);
    return FR_DONE;
}

/* an unhandled exception's 500: outside every middleware */
static int h_boom(fr_req *req, void *ud) {
    (void)ud;
    fr_mw_bypass(req);
    return fr_res_text(req, 500, NULL, "Internal Server Error", 21);
}

static int h_encoded(fr_req *req, void *ud) {
    (void)ud;
    fr_res_header(req, "content-encoding", "br");
    return fr_res_text(req, 200, NULL, big_text, 1000);
}

static int h_png(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_text(req, 200, "image/png", big_text, 1000);
}

static int handler_calls;
static int h_count(fr_req *req, void *ud) {
    (void)ud;
    handler_calls++;
    return fr_res_text(req, 200, NULL, "counted", 7);
}

/* ------------------------------------------------------------------------ */
/* user middlewares that log what runs                                       */

static char mlog[512];
static void mlogf(const char *s) { strncat(mlog, s, sizeof mlog - strlen(mlog) - 1); }

typedef struct tag {
    const char *name; /* "0", "1", ... */
    int answer;       /* before answers with 418 */
    int fail_after;   /* after returns FR_MW_ERROR */
    int ends;
    int freed;
} tag;

static int t_before(fr_req *req, void *state, void *ud) {
    tag *t = (tag *)ud;
    mlogf("b");
    mlogf(t->name);
    *(int *)state = 7;
    if (t->answer) {
        fr_res_header(req, "x-answered-by", t->name);
        fr_res_text(req, 418, NULL, "teapot", 6);
        return FR_MW_ANSWERED;
    }
    return FR_MW_NEXT;
}

static int t_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    tag *t = (tag *)ud;
    char name[16];
    (void)req;
    mlogf("a");
    mlogf(t->name);
    if (t->fail_after) return FR_MW_ERROR;
    snprintf(name, sizeof name, "x-after-%s", t->name);
    fr_hlist_append(&res->headers, fr_str_c(fr_arena_strdup(res->headers.arena, name, strlen(name))),
                    FR_STR("1"));
    fr_hlist_add_vary(&res->headers, fr_str_c(t->name));
    if (*(int *)state == 7) *(int *)state = 8;
    return 0;
}

static void t_end(fr_req *req, void *state, void *ud) {
    (void)req;
    if (*(int *)state) ((tag *)ud)->ends++;
}

static void t_free(void *ud) { ((tag *)ud)->freed++; }

static int use_tag(fr_app *app, tag *t) {
    fr_middleware m;
    memset(&m, 0, sizeof m);
    m.before = t_before;
    m.after = t_after;
    m.end = t_end;
    m.free_ud = t_free;
    m.state_size = sizeof(int);
    m.ud = t;
    return fr_app_use(app, &m);
}

/* a body filter that upper-cases every piece and prefixes the first with '<' */
typedef struct up_state {
    int pieces;
} up_state;

static int up_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    (void)req, (void)state, (void)ud;
    mlogf("aU");
    return res->status == 200 ? FR_MW_FILTER : 0;
}

static int up_body(fr_req *req, fr_mw_res *res, void *state, const void *data, size_t len, int more,
                   fr_buf *out, void *ud) {
    up_state *s = (up_state *)state;
    size_t i;
    (void)req, (void)ud;
    if (s->pieces++ == 0) {
        mlogf("fU");
        fr_hlist_set(&res->headers, FR_STR("x-upper"), FR_STR("yes"));
        fr_buf_append(out, "<", 1);
    }
    for (i = 0; i < len; i++) {
        char c = ((const char *)data)[i];
        fr_buf_append_char(out, (char)(c >= 'a' && c <= 'z' ? c - 32 : c));
    }
    if (!more) fr_buf_append(out, ">", 1);
    return 1;
}

static int use_upper(fr_app *app) {
    fr_middleware m;
    memset(&m, 0, sizeof m);
    m.after = up_after;
    m.body = up_body;
    m.state_size = sizeof(up_state);
    return fr_app_use(app, &m);
}

static fr_app *new_app(void) {
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1;
    cfg.server_name = "";
    init_big();
    return fr_app_new(&cfg);
}

/* ------------------------------------------------------------------------ */
/* hooks                                                                     */

static void test_order_and_layering(void) {
    tag t0 = {"0", 0, 0, 0, 0}, t1 = {"1", 0, 0, 0, 0}, t2 = {"2", 0, 0, 0, 0};
    fr_app *app = new_app();
    got g;
    char v[256];
    REQ(app);
    REQ(fr_route(app, "GET", "/", h_text, (void *)"hello") == 0);
    REQ(use_tag(app, &t0) == 0 && use_tag(app, &t1) == 0 && use_tag(app, &t2) == 0);
    CHECK_EQ_INT(fr_app_num_middleware(app), 3);
    mlog[0] = 0;
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK_EQ_INT(g.status, 200);
    CHECK(strcmp(mlog, "b0b1b2a2a1a0") == 0); /* first added is outermost */
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "2, 1, 0") == 0);
    CHECK(got_hdr(&g, "x-after-0", v, sizeof v) && got_hdr(&g, "x-after-2", v, sizeof v));
    CHECK_EQ_MEM(g.body.buf, g.body.len, "hello");
    CHECK(g.done);
    got_free(&g);
    /* unmatched requests go through the chain too (the default 404) */
    mlog[0] = 0;
    REQ(dispatch(app, "GET", "/nope", NULL, &g) == 0);
    CHECK_EQ_INT(g.status, 404);
    CHECK(strcmp(mlog, "b0b1b2a2a1a0") == 0);
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "2, 1, 0") == 0);
    got_free(&g);
    CHECK_EQ_INT(t0.ends, 2);
    CHECK_EQ_INT(t2.ends, 2);
    fr_app_free(app);
    CHECK(t0.freed == 1 && t1.freed == 1 && t2.freed == 1);
}

static void test_early_answer(void) {
    tag t0 = {"0", 0, 0, 0, 0}, t1 = {"1", 1, 0, 0, 0}, t2 = {"2", 0, 0, 0, 0};
    fr_app *app = new_app();
    got g;
    char v[256];
    REQ(app);
    REQ(fr_route(app, "GET", "/", h_count, NULL) == 0);
    REQ(use_tag(app, &t0) == 0 && use_tag(app, &t1) == 0 && use_tag(app, &t2) == 0);
    handler_calls = 0;
    mlog[0] = 0;
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK_EQ_INT(handler_calls, 0);
    CHECK_EQ_INT(g.status, 418);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "teapot");
    CHECK(strcmp(mlog, "b0b1a0") == 0); /* only the middleware outside the answer */
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "0") == 0);
    CHECK(got_hdr(&g, "x-answered-by", v, sizeof v) && strcmp(v, "1") == 0);
    CHECK(!got_hdr(&g, "x-after-1", v, sizeof v) && !got_hdr(&g, "x-after-2", v, sizeof v));
    got_free(&g);
    fr_app_free(app);
}

static void test_after_error_and_bypass(void) {
    tag t0 = {"0", 0, 0, 0, 0}, t1 = {"1", 0, 1, 0, 0};
    fr_app *app = new_app();
    got g;
    char v[256];
    REQ(app);
    REQ(fr_route(app, "GET", "/", h_text, (void *)"hello") == 0);
    REQ(fr_route(app, "GET", "/boom", h_boom, NULL) == 0);
    REQ(use_tag(app, &t0) == 0 && use_tag(app, &t1) == 0);
    mlog[0] = 0;
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK_EQ_INT(g.status, 500); /* a failing hook: ServerErrorMiddleware's answer */
    CHECK_EQ_MEM(g.body.buf, g.body.len, "Internal Server Error");
    CHECK(!got_hdr(&g, "vary", v, sizeof v));
    CHECK(got_hdr(&g, "content-type", v, sizeof v) && strcmp(v, "text/plain; charset=utf-8") == 0);
    got_free(&g);
    mlog[0] = 0;
    REQ(dispatch(app, "GET", "/boom", NULL, &g) == 0);
    CHECK_EQ_INT(g.status, 500);
    CHECK(strcmp(mlog, "b0b1") == 0); /* no after hook saw the bypassed answer */
    CHECK(!got_hdr(&g, "vary", v, sizeof v));
    got_free(&g);
    fr_app_free(app);
}

static void test_implicit_send(void) {
    tag t0 = {"0", 0, 0, 0, 0};
    fr_app *app = new_app();
    got g;
    char v[256];
    REQ(app);
    REQ(fr_route(app, "GET", "/", h_no_send, NULL) == 0);
    REQ(use_tag(app, &t0) == 0);
    mlog[0] = 0;
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK_EQ_INT(g.status, 201);
    CHECK(strcmp(mlog, "b0a0") == 0);
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "0") == 0);
    CHECK_EQ_INT(g.body.len, 1000);
    got_free(&g);
    fr_app_free(app);
}

static void test_body_filter(void) {
    tag t0 = {"0", 0, 0, 0, 0}, t2 = {"2", 0, 0, 0, 0};
    fr_app *app = new_app();
    got g;
    char v[256];
    REQ(app);
    REQ(fr_route(app, "GET", "/", h_text, (void *)"hello") == 0);
    REQ(fr_route(app, "GET", "/stream", h_stream, (void *)(uintptr_t)1500) == 0);
    REQ(fr_route(app, "GET", "/nf", h_json_ud, (void *)"{}") == 0);
    /* outer tag, the filter, inner tag */
    REQ(use_tag(app, &t0) == 0 && use_upper(app) == 0 && use_tag(app, &t2) == 0);
    mlog[0] = 0;
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "<HELLO>");
    /* the inner after, then the filter's after and first piece, then the outer after */
    CHECK(strcmp(mlog, "b0b2a2aUfUa0") == 0);
    CHECK(got_hdr(&g, "x-upper", v, sizeof v) && strcmp(v, "yes") == 0);
    CHECK(got_hdr(&g, "content-length", v, sizeof v) && strcmp(v, "7") == 0);
    got_free(&g);
    /* a stream: the head is held until the first piece, then every piece */
    mlog[0] = 0;
    REQ(dispatch(app, "GET", "/stream", NULL, &g) == 0);
    CHECK(strcmp(mlog, "b0b2a2aUfUa0") == 0);
    CHECK_EQ_INT(g.starts, 1);
    CHECK(got_hdr(&g, "x-upper", v, sizeof v) && got_hdr(&g, "x-after-0", v, sizeof v));
    CHECK(!got_hdr(&g, "content-length", v, sizeof v));
    REQ(g.body.len == sizeof big_text - 1 + 2);
    CHECK(g.body.buf[0] == '<' && g.body.buf[g.body.len - 1] == '>');
    CHECK(g.body.buf[1] == big_text[0] - 32 && g.done);
    got_free(&g);
    fr_app_free(app);
}

/* a body filter that fails on its first piece (FR_MW_ERROR) */
static int bad_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    (void)req, (void)state, (void)ud;
    *(int *)state = res->kind + 1; /* remembers what it saw */
    return FR_MW_FILTER;
}

static int bad_body(fr_req *req, fr_mw_res *res, void *state, const void *data, size_t len, int more,
                    fr_buf *out, void *ud) {
    (void)req, (void)res, (void)state, (void)data, (void)len, (void)more, (void)out, (void)ud;
    return FR_MW_ERROR;
}

static int bad_kind;
static void bad_end(fr_req *req, void *state, void *ud) {
    (void)req, (void)ud;
    bad_kind = *(int *)state;
}

static void test_filter_errors(void) {
    tag t0 = {"0", 0, 0, 0, 0};
    fr_middleware m;
    fr_app *app = new_app();
    got g;
    char v[256];
    REQ(app);
    REQ(fr_route(app, "GET", "/", h_text, (void *)"hello") == 0);
    REQ(fr_route(app, "GET", "/stream", h_stream, NULL) == 0);
    memset(&m, 0, sizeof m);
    m.after = bad_after;
    m.body = bad_body;
    m.end = bad_end;
    m.state_size = sizeof(int);
    REQ(use_tag(app, &t0) == 0 && fr_app_use(app, &m) == 0);
    bad_kind = 0;
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK_EQ_INT(g.status, 500);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "Internal Server Error");
    CHECK(!got_hdr(&g, "vary", v, sizeof v)); /* outside every middleware */
    CHECK_EQ_INT(bad_kind, FR_MW_RES_BODY + 1);
    got_free(&g);
    /* a stream: the head was still held, so the answer is a 500 too */
    bad_kind = 0;
    REQ(dispatch(app, "GET", "/stream", NULL, &g) == 0);
    CHECK_EQ_INT(g.status, 500);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "Internal Server Error");
    CHECK(g.done && g.starts == 1);
    CHECK_EQ_INT(bad_kind, FR_MW_RES_STREAM + 1);
    got_free(&g);
    fr_app_free(app);
}

/* ------------------------------------------------------------------------ */
/* built-ins                                                                 */

static void test_cors(void) {
    static const fr_str origins[] = {{"https://a.example", 17}};
    static const fr_str methods[] = {{"GET", 3}, {"POST", 4}};
    static const fr_str hdrs[] = {{"x-custom", 8}};
    static const fr_str expose[] = {{"x-order", 7}};
    fr_cors_config cc;
    fr_app *app = new_app();
    fr_err err;
    got g;
    char v[256];
    REQ(app);
    memset(&cc, 0, sizeof cc);
    cc.allow_origins = origins;
    cc.num_allow_origins = 1;
    cc.allow_methods = methods;
    cc.num_allow_methods = 2;
    cc.allow_headers = hdrs;
    cc.num_allow_headers = 1;
    cc.expose_headers = expose;
    cc.num_expose_headers = 1;
    cc.allow_credentials = 1;
    REQ(fr_route(app, "GET", "/", h_count, NULL) == 0);
    REQ(fr_app_use_cors(app, &cc, &err) == 0);
    handler_calls = 0;
    /* accepted preflight: answered by the middleware */
    REQ(dispatch(app, "OPTIONS", "/",
                 "Origin: https://a.example\nAccess-Control-Request-Method: POST\n"
                 "Access-Control-Request-Headers: X-Custom\n", &g) == 0);
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "OK");
    CHECK_EQ_INT(handler_calls, 0);
    CHECK(got_hdr(&g, "access-control-allow-origin", v, sizeof v) && strcmp(v, "https://a.example") == 0);
    CHECK(got_hdr(&g, "access-control-allow-methods", v, sizeof v) && strcmp(v, "GET, POST") == 0);
    CHECK(got_hdr(&g, "access-control-allow-credentials", v, sizeof v) && strcmp(v, "true") == 0);
    CHECK(got_hdr(&g, "access-control-max-age", v, sizeof v) && strcmp(v, "600") == 0);
    CHECK(got_hdr(&g, "vary", v, sizeof v) &&
          strcmp(v, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
                    "Access-Control-Request-Private-Network") == 0);
    CHECK(got_hdr(&g, "content-length", v, sizeof v) && strcmp(v, "2") == 0);
    got_free(&g);
    /* rejected preflight */
    REQ(dispatch(app, "OPTIONS", "/",
                 "Origin: https://evil.example\nAccess-Control-Request-Method: DELETE\n", &g) == 0);
    CHECK_EQ_INT(g.status, 400);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "Disallowed CORS origin, method");
    CHECK(!got_hdr(&g, "access-control-allow-origin", v, sizeof v));
    got_free(&g);
    /* simple request with an allowed origin */
    REQ(dispatch(app, "GET", "/", "Origin: https://a.example\n", &g) == 0);
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_INT(handler_calls, 1);
    CHECK(got_hdr(&g, "access-control-allow-origin", v, sizeof v) && strcmp(v, "https://a.example") == 0);
    CHECK(got_hdr(&g, "access-control-expose-headers", v, sizeof v) && strcmp(v, "x-order") == 0);
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "Origin") == 0);
    got_free(&g);
    /* another origin: no allow-origin, still Vary; no origin: Vary too */
    REQ(dispatch(app, "GET", "/", "Origin: https://b.example\n", &g) == 0);
    CHECK(!got_hdr(&g, "access-control-allow-origin", v, sizeof v));
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "Origin") == 0);
    got_free(&g);
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "Origin") == 0);
    CHECK(!got_hdr(&g, "access-control-allow-credentials", v, sizeof v));
    got_free(&g);
    /* an OPTIONS without Access-Control-Request-Method reaches the app (405 here) */
    REQ(dispatch(app, "OPTIONS", "/", "Origin: https://a.example\n", &g) == 0);
    CHECK_EQ_INT(g.status, 405);
    CHECK(got_hdr(&g, "access-control-allow-origin", v, sizeof v));
    got_free(&g);
    fr_app_free(app);
    /* a refused regex is reported, nothing is added */
    app = new_app();
    REQ(app);
    cc.allow_origin_regex = FR_STR("(?i)x");
    CHECK(fr_app_use_cors(app, &cc, &err) == -1);
    CHECK(err.msg != NULL);
    CHECK_EQ_INT(fr_app_num_middleware(app), 0);
    fr_app_free(app);
}

static void test_trusted_host_and_https(void) {
    static const fr_str hosts[] = {{"example.com", 11}, {"*.example.org", 13}};
    static const fr_str www[] = {{"www.example.org", 15}};
    fr_trusted_host_config tc;
    fr_app *app = new_app();
    fr_err err;
    got g;
    char v[256];
    REQ(app);
    memset(&tc, 0, sizeof tc);
    tc.allowed_hosts = hosts;
    tc.num_allowed_hosts = 2;
    REQ(fr_route(app, "GET", "/p", h_count, NULL) == 0);
    REQ(fr_app_use_trusted_host(app, &tc, &err) == 0);
    handler_calls = 0;
    REQ(dispatch(app, "GET", "/p", "Host: evil.com\n", &g) == 0);
    CHECK_EQ_INT(g.status, 400);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "Invalid host header");
    got_free(&g);
    REQ(dispatch(app, "GET", "/p", "Host: a.example.org:8000\n", &g) == 0);
    CHECK_EQ_INT(g.status, 200);
    got_free(&g);
    REQ(dispatch(app, "GET", "/p?x=1", "Host: www.example.com\n", &g) == 0);
    CHECK_EQ_INT(g.status, 400); /* "www." + allowed is not the redirect case */
    got_free(&g);
    CHECK_EQ_INT(handler_calls, 1);
    fr_app_free(app);
    /* www_redirect: example.org -> www.example.org when "www." + host is listed */
    app = new_app();
    REQ(app);
    tc.allowed_hosts = www;
    tc.num_allowed_hosts = 1;
    REQ(fr_route(app, "GET", "/p", h_count, NULL) == 0);
    REQ(fr_app_use_trusted_host(app, &tc, &err) == 0);
    REQ(dispatch(app, "GET", "/p?q=1", "Host: example.org\n", &g) == 0);
    CHECK_EQ_INT(g.status, 307);
    CHECK(got_hdr(&g, "location", v, sizeof v) && strcmp(v, "http://www.example.org/p?q=1") == 0);
    got_free(&g);
    fr_app_free(app);
    /* HTTPSRedirect, inside a CORS middleware (the redirect gets Vary) */
    app = new_app();
    REQ(app);
    REQ(fr_route(app, "GET", "/p", h_count, NULL) == 0);
    REQ(fr_app_use_cors(app, NULL, &err) == 0);
    REQ(fr_app_use_https_redirect(app) == 0);
    REQ(dispatch(app, "GET", "/p?a=b", "Host: example.com:80\n", &g) == 0);
    CHECK_EQ_INT(g.status, 307);
    CHECK(got_hdr(&g, "location", v, sizeof v) && strcmp(v, "https://example.com/p?a=b") == 0);
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "Origin") == 0);
    got_free(&g);
    {
        fr_request_desc d;
        fr_sink s;
        got g2;
        memset(&d, 0, sizeof d);
        memset(&g2, 0, sizeof g2);
        d.method = FR_STR("GET");
        d.target = FR_STR("/p");
        d.scheme = FR_STR("https");
        s = frt_got_sink(&g2);
        handler_calls = 0;
        REQ(fr_dispatch(app, &d, &s) == 0);
        CHECK_EQ_INT(g2.status, 200); /* already https */
        CHECK_EQ_INT(handler_calls, 1);
        got_free(&g2);
    }
    fr_app_free(app);
}

static void test_gzip(void) {
    fr_gzip_config gc;
    fr_app *app = new_app();
    fr_err err;
    got g;
    char v[256];
    REQ(app);
    init_big();
    memset(&gc, 0, sizeof gc);
    gc.minimum_size = 100;
    REQ(fr_route(app, "GET", "/big", h_text, big_text) == 0);
    REQ(fr_route(app, "GET", "/small", h_text, (void *)"tiny") == 0);
    REQ(fr_route(app, "GET", "/stream", h_stream, NULL) == 0);
    REQ(fr_route(app, "GET", "/empty", h_stream_empty, NULL) == 0);
    REQ(fr_route(app, "GET", "/br", h_encoded, NULL) == 0);
    REQ(fr_route(app, "GET", "/png", h_png, NULL) == 0);
    if (!fr_gzip_available()) {
        CHECK(fr_app_use_gzip(app, &gc, &err) == -1);
        CHECK_EQ_INT(fr_app_num_middleware(app), 0);
        fr_app_free(app);
        return;
    }
    REQ(fr_app_use_gzip(app, &gc, &err) == 0);
#if FR_ENABLE_ZLIB
    {
        fr_buf plain = {NULL, 0, 0}, expect = {NULL, 0, 0};
        REQ(dispatch(app, "GET", "/big", "Accept-Encoding: gzip, deflate\n", &g) == 0);
        CHECK_EQ_INT(g.status, 200);
        CHECK(got_hdr(&g, "content-encoding", v, sizeof v) && strcmp(v, "gzip") == 0);
        CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "Accept-Encoding") == 0);
        CHECK(got_hdr(&g, "content-length", v, sizeof v) && (size_t)atol(v) == g.body.len);
        CHECK(g.body.len < 1000);
        CHECK(gunzip(g.body.buf, g.body.len, &plain) == 0);
        CHECK(is_big(plain.buf, plain.len));
        /* byte for byte what Starlette's zlib.compressobj(9, ..., 31) gives */
        CHECK(fr_gzip_compress(big_text, strlen(big_text), 9, &expect) == 0);
        CHECK(expect.len == g.body.len && memcmp(expect.buf, g.body.buf, expect.len) == 0);
        fr_buf_free(&plain);
        fr_buf_free(&expect);
        got_free(&g);
        /* a stream: compressed piece by piece, no length, chunked */
        REQ(dispatch(app, "GET", "/stream", "Accept-Encoding: gzip\n", &g) == 0);
        CHECK(got_hdr(&g, "content-encoding", v, sizeof v));
        CHECK(!got_hdr(&g, "content-length", v, sizeof v));
        CHECK(g.bodies > 2);
        CHECK(gunzip(g.body.buf, g.body.len, &plain) == 0);
        CHECK(is_big(plain.buf, plain.len));
        fr_buf_free(&plain);
        got_free(&g);
    }
#endif
    /* not accepted: Vary only */
    REQ(dispatch(app, "GET", "/big", "Accept-Encoding: br\n", &g) == 0);
    CHECK(!got_hdr(&g, "content-encoding", v, sizeof v));
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "Accept-Encoding") == 0);
    CHECK(is_big(g.body.buf, g.body.len));
    got_free(&g);
    /* below minimum_size: untouched */
    REQ(dispatch(app, "GET", "/small", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(!got_hdr(&g, "content-encoding", v, sizeof v) && !got_hdr(&g, "vary", v, sizeof v));
    CHECK_EQ_MEM(g.body.buf, g.body.len, "tiny");
    got_free(&g);
    /* an empty stream: one empty final piece, below minimum_size */
    REQ(dispatch(app, "GET", "/empty", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(!got_hdr(&g, "content-encoding", v, sizeof v) && g.body.len == 0 && g.done);
    got_free(&g);
    /* never twice, excluded types */
    REQ(dispatch(app, "GET", "/br", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(got_hdr(&g, "content-encoding", v, sizeof v) && strcmp(v, "br") == 0);
    CHECK(!got_hdr(&g, "vary", v, sizeof v) && g.body.len == 1000);
    got_free(&g);
    REQ(dispatch(app, "GET", "/png", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(!got_hdr(&g, "content-encoding", v, sizeof v) && g.body.len == 1000);
    got_free(&g);
    fr_app_free(app);
}

/* CORS outside GZip and the other way round: Starlette's Vary order */
static void test_cors_gzip_order(void) {
    fr_app *app;
    fr_err err;
    got g;
    char v[256];
    int k;
    init_big();
    if (!fr_gzip_available()) return;
    for (k = 0; k < 2; k++) {
        app = new_app();
        REQ(app);
        REQ(fr_route(app, "GET", "/big", h_text, big_text) == 0);
        if (k == 0) {
            REQ(fr_app_use_cors(app, NULL, &err) == 0);
            REQ(fr_app_use_gzip(app, NULL, &err) == 0);
        } else {
            REQ(fr_app_use_gzip(app, NULL, &err) == 0);
            REQ(fr_app_use_cors(app, NULL, &err) == 0);
        }
        REQ(dispatch(app, "GET", "/big", "Accept-Encoding: gzip\nOrigin: https://x\n", &g) == 0);
        CHECK(got_hdr(&g, "vary", v, sizeof v));
        CHECK(strcmp(v, k == 0 ? "Accept-Encoding, Origin" : "Origin, Accept-Encoding") == 0);
        CHECK(got_hdr(&g, "content-encoding", v, sizeof v));
        got_free(&g);
        fr_app_free(app);
    }
}

static void test_gzip_file(void) {
    fr_app *app;
    fr_err err;
    fr_gzip_config gc;
    got g;
    char v[256];
    int fd, k;
    static char data[150000];
    init_big();
    if (!fr_gzip_available()) return;
    for (k = 0; k < (int)sizeof data; k++) data[k] = big_text[k % 3000];
    snprintf(file_path, sizeof file_path, "/tmp/frt_mwchain_%d", (int)getpid());
    memset(&gc, 0, sizeof gc);
    gc.minimum_size = 100;
    for (k = 0; k < 4; k++) {
        /* a small file (one piece), an exact 64 KiB one, a big one (a stream), a tiny one */
        size_t sizes[4] = {5000, 65536, sizeof data, 50};
        size_t n = sizes[k];
        fd = open(file_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        REQ(fd >= 0);
        REQ(write(fd, data, n) == (ssize_t)n);
        close(fd);
        app = new_app();
        REQ(app);
        REQ(fr_route(app, "GET", "/f", h_file, NULL) == 0);
        REQ(fr_route(app, "HEAD", "/f", h_file, NULL) == 0);
        REQ(fr_app_use_gzip(app, &gc, &err) == 0);
        REQ(dispatch(app, "GET", "/f", "Accept-Encoding: gzip\n", &g) == 0);
        CHECK_EQ_INT(g.status, 200);
        CHECK(g.done);
        if (k == 3) {
            CHECK(!got_hdr(&g, "content-encoding", v, sizeof v));
            CHECK(g.body.len == n && memcmp(g.body.buf, data, n) == 0);
        } else {
            CHECK(got_hdr(&g, "content-encoding", v, sizeof v) && strcmp(v, "gzip") == 0);
            /* one piece: a complete body with its length; more: a stream */
            CHECK(got_hdr(&g, "content-length", v, sizeof v) == (k == 0));
#if FR_ENABLE_ZLIB
            {
                fr_buf plain = {NULL, 0, 0};
                CHECK(gunzip(g.body.buf, g.body.len, &plain) == 0);
                CHECK(plain.len == n && memcmp(plain.buf, data, n) == 0);
                fr_buf_free(&plain);
            }
#endif
        }
        got_free(&g);
        /* HEAD: Starlette's FileResponse sends an empty body: nothing to compress */
        REQ(dispatch(app, "HEAD", "/f", "Accept-Encoding: gzip\n", &g) == 0);
        CHECK(!got_hdr(&g, "content-encoding", v, sizeof v));
        CHECK(got_hdr(&g, "content-length", v, sizeof v) && (size_t)atol(v) == n);
        CHECK(g.body.len == 0 && g.done);
        got_free(&g);
        fr_app_free(app);
    }
    unlink(file_path);
}

static int refuse_before(fr_req *req, void *state, void *ud) {
    (void)req, (void)state, (void)ud;
    return FR_MW_NEXT;
}

static int t_free_calls;
static void count_free(void *ud) {
    (void)ud;
    t_free_calls++;
}

static void test_use_errors(void) {
    fr_middleware m;
    fr_app *app = new_app();
    REQ(app);
    memset(&m, 0, sizeof m);
    m.before = refuse_before;
    m.free_ud = count_free;
    t_free_calls = 0;
    CHECK(fr_app_use(NULL, &m) == -1);
    CHECK_EQ_INT(t_free_calls, 1); /* refused: its ud is released */
    CHECK(fr_app_use(app, NULL) == -1);
    CHECK(fr_app_use_cors(NULL, NULL, NULL) == -1);
    CHECK(fr_app_use_https_redirect(NULL) == -1);
    CHECK_EQ_INT(fr_app_num_middleware(NULL), 0);
    fr_mw_bypass(NULL);
    CHECK(fr_app_use(app, &m) == 0);
    fr_app_free(app);
    CHECK_EQ_INT(t_free_calls, 2);
}

/* ------------------------------------------------------------------------ */
/* over a socket                                                             */

static int srv_start(frt_srv *s, fr_app *app) {
    s->app = app;
    s->port = fr_listen(app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return frt_srv_run(s);
}

/* one request on a fresh connection, the whole answer (Connection: close) */
static int http(int port, const char *req, fr_buf *out) {
    char tmp[8192];
    int fd = frt_connect(port, 0);
    ssize_t n;
    if (fd < 0) return -1;
    if (frt_send_all(fd, req, strlen(req)) < 0) {
        close(fd);
        return -1;
    }
    while ((n = recv(fd, tmp, sizeof tmp, 0)) > 0) fr_buf_append(out, tmp, (size_t)n);
    close(fd);
    return n == 0 ? 0 : -1;
}

/* split a raw answer: head (NUL-terminated in place), body; de-chunks */
static int split(fr_buf *raw, char **head, fr_buf *body) {
    char *e;
    fr_buf_append_char(raw, 0);
    raw->len--;
    e = strstr(raw->buf, "\r\n\r\n");
    if (!e) return -1;
    *e = 0;
    *head = raw->buf;
    e += 4;
    if (strcasestr(*head, "transfer-encoding: chunked")) {
        for (;;) {
            unsigned long sz = strtoul(e, &e, 16);
            e = strstr(e, "\r\n");
            if (!e) return -1;
            e += 2;
            if (!sz) break;
            fr_buf_append(body, e, sz);
            e += sz + 2;
        }
    } else {
        fr_buf_append(body, e, (size_t)(raw->buf + raw->len - e));
    }
    return 0;
}

static void test_live_socket(void) {
    fr_cors_config cc;
    fr_gzip_config gc;
    static const fr_str any[] = {{"*", 1}};
    fr_app *app = new_app();
    fr_err err;
    frt_srv s;
    int k;
    REQ(app);
    init_big();
    memset(&cc, 0, sizeof cc);
    cc.allow_origins = any;
    cc.num_allow_origins = 1;
    memset(&gc, 0, sizeof gc);
    REQ(fr_route(app, "GET", "/big", h_text, big_text) == 0);
    REQ(fr_route(app, "GET", "/stream", h_stream_pending, NULL) == 0);
    REQ(fr_app_use_cors(app, &cc, &err) == 0);
    if (fr_gzip_available()) REQ(fr_app_use_gzip(app, &gc, &err) == 0);
    REQ(srv_start(&s, app) == 0);
    for (k = 0; k < 3; k++) {
        fr_buf raw = {NULL, 0, 0}, body = {NULL, 0, 0};
        char *head = NULL;
        const char *reqs[3] = {
            "GET /big HTTP/1.1\r\nHost: t\r\nOrigin: https://o.example\r\nAccept-Encoding: gzip\r\n"
            "Connection: close\r\n\r\n",
            "GET /stream HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
            "OPTIONS /big HTTP/1.1\r\nHost: t\r\nOrigin: https://o.example\r\n"
            "Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n"};
        REQ(http(s.port, reqs[k], &raw) == 0);
        REQ(split(&raw, &head, &body) == 0);
        if (k == 2) {
            CHECK(strncmp(head, "HTTP/1.1 200", 12) == 0);
            CHECK(strstr(head, "access-control-allow-origin: *") != NULL);
            CHECK(body.len == 2 && memcmp(body.buf, "OK", 2) == 0);
        } else {
            CHECK(strncmp(head, "HTTP/1.1 200", 12) == 0);
            CHECK(strstr(head, k == 0 ? "vary: Accept-Encoding, Origin" : "vary: Accept-Encoding") ||
                  !fr_gzip_available());
            if (k == 0) CHECK(strstr(head, "access-control-allow-origin: *") != NULL);
            if (k == 1) CHECK(strcasestr(head, "transfer-encoding: chunked") != NULL);
#if FR_ENABLE_ZLIB
            {
                fr_buf plain = {NULL, 0, 0};
                CHECK(strstr(head, "content-encoding: gzip") != NULL);
                CHECK(gunzip(body.buf, body.len, &plain) == 0);
                CHECK(is_big(plain.buf, plain.len));
                fr_buf_free(&plain);
            }
#else
            CHECK(is_big(body.buf, body.len));
#endif
        }
        fr_buf_free(&raw);
        fr_buf_free(&body);
    }
    frt_srv_stop(&s);
}

/* ------------------------------------------------------------------------ */
/* SessionMiddleware: fr_app_use_session, fr_req_session, fr_req_session_set */

static int sess_seen;    /* fr_req_session's return in the last handler */
static int sess_set_rc; /* fr_req_session_set's */

/* the handler reads the session and answers its JSON ("{}" when empty);
 * ud: the flags to report, and for a write the new session's JSON */
typedef struct sess_act {
    int flags;
    const char *json;
} sess_act;

static int h_sess(fr_req *req, void *ud) {
    const sess_act *a = (const sess_act *)ud;
    fr_str json;
    sess_seen = fr_req_session(req, &json);
    sess_set_rc = a && a->flags >= 0
                      ? fr_req_session_set(req, a->flags, fr_str_c(a->json ? a->json : ""))
                      : 0;
    if (sess_seen == 1) return fr_res_text(req, 200, NULL, json.buf, json.len);
    return fr_res_text(req, 200, NULL, "{}", 2);
}

/* a cookie signed now (or `age` seconds ago) with the app's secret */
static void sess_cookie(const char *json, int64_t age, char *out, size_t cap) {
    fr_session_config c;
    fr_session *s;
    fr_buf b = {NULL, 0, 0};
    memset(&c, 0, sizeof c);
    c.secret_key = fr_str_c("k");
    s = fr_session_new(&c, NULL);
    REQ(s && fr_session_sign(s, fr_str_c(json), (int64_t)time(NULL) - age, &b) == 0);
    snprintf(out, cap, "Cookie: a=1; session=%.*s\n", (int)b.len, b.buf);
    fr_buf_free(&b);
    fr_session_free(s);
}

static void test_session(void) {
    static const sess_act read = {FR_SESSION_ACCESSED, NULL};
    static const sess_act write = {FR_SESSION_ACCESSED | FR_SESSION_MODIFIED | FR_SESSION_NONEMPTY,
                                   "{\"user\": \"bob\"}"};
    static const sess_act clear = {FR_SESSION_ACCESSED | FR_SESSION_MODIFIED, NULL};
    static const sess_act fail = {FR_SESSION_ERROR, NULL};
    static const sess_act none = {-1, NULL};
    fr_session_config sc;
    fr_app *app = new_app(), *bare = new_app();
    fr_err err;
    got g;
    char v[512], ck[512], bad[512];
    REQ(app && bare);
    memset(&sc, 0, sizeof sc);
    sc.secret_key = fr_str_c("k");
    sc.max_age = 60;
    sc.domain = fr_str_c("example.com");
    REQ(fr_route(app, "GET", "/read", h_sess, (void *)&read) == 0);
    REQ(fr_route(app, "GET", "/write", h_sess, (void *)&write) == 0);
    REQ(fr_route(app, "GET", "/clear", h_sess, (void *)&clear) == 0);
    REQ(fr_route(app, "GET", "/fail", h_sess, (void *)&fail) == 0);
    REQ(fr_route(app, "GET", "/none", h_sess, (void *)&none) == 0);
    REQ(fr_app_use_session(app, &sc, &err) == 0);
    CHECK_EQ_INT(fr_app_num_middleware(app), 1);

    /* no cookie: an empty session; reading adds Vary only */
    REQ(dispatch(app, "GET", "/read", NULL, &g) == 0);
    CHECK_EQ_INT(sess_seen, 0);
    CHECK_EQ_INT(g.status, 200);
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "Cookie") == 0);
    CHECK(!got_hdr(&g, "set-cookie", v, sizeof v));
    got_free(&g);
    /* a valid cookie loads; untouched: no header at all */
    sess_cookie("{\"user\": \"amy\"}", 0, ck, sizeof ck);
    REQ(dispatch(app, "GET", "/none", ck, &g) == 0);
    CHECK_EQ_INT(sess_seen, 1);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "{\"user\": \"amy\"}");
    CHECK(!got_hdr(&g, "vary", v, sizeof v) && !got_hdr(&g, "set-cookie", v, sizeof v));
    got_free(&g);
    /* a write signs the reported JSON */
    REQ(dispatch(app, "GET", "/write", ck, &g) == 0);
    CHECK_EQ_INT(sess_set_rc, 0);
    CHECK(got_hdr(&g, "set-cookie", v, sizeof v));
    CHECK(strncmp(v, "session=eyJ1c2VyIjogImJvYiJ9.", 29) == 0);
    CHECK(strstr(v, "; path=/; Max-Age=60; httponly; samesite=lax; domain=example.com") != NULL);
    got_free(&g);
    /* emptied: the clearing cookie only when one had loaded */
    REQ(dispatch(app, "GET", "/clear", ck, &g) == 0);
    CHECK(got_hdr(&g, "set-cookie", v, sizeof v) &&
          strcmp(v, "session=null; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; "
                    "samesite=lax; domain=example.com") == 0);
    got_free(&g);
    REQ(dispatch(app, "GET", "/clear", NULL, &g) == 0);
    CHECK(!got_hdr(&g, "set-cookie", v, sizeof v));
    CHECK(got_hdr(&g, "vary", v, sizeof v));
    got_free(&g);
    /* expired, tampered, other secret: empty */
    sess_cookie("{\"user\": \"amy\"}", 61, bad, sizeof bad);
    REQ(dispatch(app, "GET", "/read", bad, &g) == 0);
    CHECK_EQ_INT(sess_seen, 0);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "{}");
    got_free(&g);
    snprintf(bad, sizeof bad, "%s", ck);
    /* the signature's first character: its last one carries unused base64 bits
     * and can decode to the same signature */
    {
        char *sig = strrchr(bad, '.') + 1;
        *sig = *sig == 'A' ? 'B' : 'A';
    }
    REQ(dispatch(app, "GET", "/read", bad, &g) == 0);
    CHECK_EQ_INT(sess_seen, 0);
    got_free(&g);
    REQ(dispatch(app, "GET", "/read", "Cookie: session=garbage\n", &g) == 0);
    CHECK_EQ_INT(g.status, 200);
    CHECK_EQ_INT(sess_seen, 0);
    got_free(&g);
    /* validly signed but not a JSON object: Starlette raises -> 500, no handler */
    sess_seen = 7;
    sess_cookie("[1, 2]", 0, bad, sizeof bad);
    REQ(dispatch(app, "GET", "/read", bad, &g) == 0);
    CHECK_EQ_INT(g.status, 500);
    CHECK_EQ_INT(sess_seen, 7);
    got_free(&g);
    sess_cookie("not json", 0, bad, sizeof bad);
    REQ(dispatch(app, "GET", "/read", bad, &g) == 0);
    CHECK_EQ_INT(g.status, 500);
    got_free(&g);
    /* the unmatched 404 passes through it too (bad payload: 500 first) */
    REQ(dispatch(app, "GET", "/nope", ck, &g) == 0);
    CHECK_EQ_INT(g.status, 404);
    CHECK(!got_hdr(&g, "set-cookie", v, sizeof v));
    got_free(&g);
    /* the session could not be encoded: ServerErrorMiddleware's 500 */
    REQ(dispatch(app, "GET", "/fail", ck, &g) == 0);
    CHECK_EQ_INT(g.status, 500);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "Internal Server Error");
    CHECK(!got_hdr(&g, "set-cookie", v, sizeof v));
    got_free(&g);
    /* without a session middleware: -1 both ways */
    REQ(fr_route(bare, "GET", "/read", h_sess, (void *)&none) == 0);
    REQ(dispatch(bare, "GET", "/read", ck, &g) == 0);
    CHECK_EQ_INT(sess_seen, -1);
    got_free(&g);
    CHECK_EQ_INT(fr_req_session(NULL, NULL), -1);
    CHECK_EQ_INT(fr_req_session_set(NULL, 0, fr_str_c("")), -1);
    /* refused configuration */
    memset(&sc, 0, sizeof sc);
    sc.path.len = 3; /* a length without text */
    CHECK(fr_app_use_session(app, &sc, &err) == -1);
    CHECK_EQ_INT(fr_app_num_middleware(app), 1);
    CHECK(fr_app_use_session(NULL, NULL, &err) == -1);
    fr_app_free(app);
    fr_app_free(bare);
}

/* ------------------------------------------------------------------------ */
/* request id and a fixed header: outer middlewares (500s carry them too)    */

static char rid_seen[64];
static int h_rid(fr_req *req, void *ud) {
    fr_str id = fr_req_id(req);
    snprintf(rid_seen, sizeof rid_seen, "%.*s", (int)id.len, id.buf ? id.buf : "");
    return fr_res_text(req, 200, NULL, ud ? (const char *)ud : "ok", ud ? strlen((const char *)ud) : 2);
}

static int is_uuid4_hex(const char *v) {
    size_t i;
    if (strlen(v) != 32) return 0;
    for (i = 0; i < 32; i++)
        if (!strchr("0123456789abcdef", v[i])) return 0;
    return v[12] == '4' && strchr("89ab", v[16]) != NULL;
}

static void test_request_id(void) {
    fr_request_id_config rc;
    fr_app *app = new_app(), *app2 = new_app();
    fr_err err;
    got g;
    char v[256], first[64];
    tag t0 = {"0", 0, 0, 0, 0};
    size_t i;
    char u[32 + 1];
    REQ(app && app2);
    memset(&rc, 0, sizeof rc);
    rc.header = fr_str_c("X-Req-Id");
    rc.max_len = 8;
    REQ(fr_route(app, "GET", "/", h_rid, NULL) == 0);
    REQ(fr_route(app, "GET", "/boom", h_boom, NULL) == 0);
    REQ(fr_route(app, "GET", "/stream", h_stream, NULL) == 0);
    REQ(fr_app_use_request_id(app, &rc, &err) == 0);
    REQ(fr_app_use_response_header(app, fr_str_c("X-Powered-By"), fr_str_c("FastrAPI"), &err) == 0);
    REQ(use_tag(app, &t0) == 0);
    /* generated: uuid4 hex, echoed (lowercased name), the handler sees it */
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK(got_hdr(&g, "x-req-id", v, sizeof v) && is_uuid4_hex(v));
    CHECK(strcmp(v, rid_seen) == 0);
    CHECK(got_hdr(&g, "x-powered-by", v, sizeof v) && strcmp(v, "FastrAPI") == 0);
    snprintf(first, sizeof first, "%s", rid_seen);
    got_free(&g);
    REQ(dispatch(app, "GET", "/", NULL, &g) == 0);
    CHECK(strcmp(first, rid_seen) != 0); /* a new one per request */
    got_free(&g);
    /* propagated when valid; replaced when too long, with a space or a control */
    REQ(dispatch(app, "GET", "/", "X-Req-Id: ab-12_x\n", &g) == 0);
    CHECK(got_hdr(&g, "x-req-id", v, sizeof v) && strcmp(v, "ab-12_x") == 0);
    got_free(&g);
    REQ(dispatch(app, "GET", "/", "X-Req-Id: 123456789\n", &g) == 0);
    CHECK(got_hdr(&g, "x-req-id", v, sizeof v) && is_uuid4_hex(v));
    got_free(&g);
    REQ(dispatch(app, "GET", "/", "X-Req-Id: a b\n", &g) == 0);
    CHECK(got_hdr(&g, "x-req-id", v, sizeof v) && is_uuid4_hex(v));
    got_free(&g);
    REQ(dispatch(app, "GET", "/", "X-Req-Id: \n", &g) == 0);
    CHECK(got_hdr(&g, "x-req-id", v, sizeof v) && is_uuid4_hex(v));
    got_free(&g);
    /* the server-error layer's 500 (bypassing the tag middleware) carries both */
    REQ(dispatch(app, "GET", "/boom", "X-Req-Id: e1\n", &g) == 0);
    CHECK_EQ_INT(g.status, 500);
    CHECK(got_hdr(&g, "x-req-id", v, sizeof v) && strcmp(v, "e1") == 0);
    CHECK(got_hdr(&g, "x-powered-by", v, sizeof v));
    CHECK(!got_hdr(&g, "x-after-0", v, sizeof v));
    got_free(&g);
    /* streams and the default 404 too */
    REQ(dispatch(app, "GET", "/stream", NULL, &g) == 0);
    CHECK(got_hdr(&g, "x-req-id", v, sizeof v) && is_uuid4_hex(v));
    got_free(&g);
    REQ(dispatch(app, "GET", "/nope", "X-Req-Id: n4\n", &g) == 0);
    CHECK_EQ_INT(g.status, 404);
    CHECK(got_hdr(&g, "x-req-id", v, sizeof v) && strcmp(v, "n4") == 0);
    got_free(&g);
    /* no_propagate: always generated; default name */
    memset(&rc, 0, sizeof rc);
    rc.no_propagate = 1;
    REQ(fr_route(app2, "GET", "/", h_rid, NULL) == 0);
    REQ(fr_app_use_request_id(app2, &rc, &err) == 0);
    REQ(dispatch(app2, "GET", "/", "X-Request-Id: mine\n", &g) == 0);
    CHECK(got_hdr(&g, "x-request-id", v, sizeof v) && is_uuid4_hex(v));
    got_free(&g);
    /* refused names and values */
    rc.header = fr_str_c("bad name");
    CHECK(fr_app_use_request_id(app2, &rc, &err) == -1);
    rc.header = fr_str_c("");
    CHECK(fr_app_use_request_id(app2, &rc, &err) == -1);
    CHECK(fr_app_use_response_header(app2, fr_str_c("X-A"), fr_str_c("a\r\nb: c"), &err) == -1);
    CHECK(fr_app_use_response_header(app2, fr_str_c("X:A"), fr_str_c("v"), &err) == -1);
    CHECK(fr_app_use_response_header(NULL, fr_str_c("X-A"), fr_str_c("v"), &err) == -1);
    CHECK_EQ_INT(fr_app_num_middleware(app2), 1);
    CHECK(fr_req_id(NULL).buf == NULL);
    /* uuid4s are well formed and differ */
    u[32] = 0;
    for (i = 0; i < 100; i++) {
        fr_uuid4_hex(u);
        CHECK(is_uuid4_hex(u));
        CHECK(strcmp(u, first) != 0);
    }
    fr_app_free(app);
    fr_app_free(app2);
}

static void test_use_while_serving(void) {
    fr_app *app = new_app();
    fr_middleware m;
    frt_srv s;
    int i;
    REQ(app);
    REQ(fr_route(app, "GET", "/", h_text, (void *)"x") == 0);
    REQ(srv_start(&s, app) == 0);
    memset(&m, 0, sizeof m);
    m.before = refuse_before;
    for (i = 0; i < 200 && fr_app_use(app, &m) == 0; i++) usleep(5000); /* until serving began */
    CHECK(fr_app_use(app, &m) == -1);
    frt_srv_stop(&s);
}

/* ------------------------------------------------------------------------ */
/* around layers (middleware.h, AROUND LAYERS): a before hook returning    */
/* FR_MW_AROUND, fr_mw_next, the capture, the owner answering outward;     */
/* the owner acts from the test's thread                                    */

typedef struct around {
    const char *name;
    fr_req *req;    /* the request waiting at this layer */
    int captured, status, bypass;
    char body[256];
    char acao[64];  /* access-control-allow-origin seen in the capture */
} around;

static int ar_before(fr_req *req, void *state, void *ud) {
    around *a = (around *)ud;
    (void)state;
    a->req = req;
    mlogf("b");
    mlogf(a->name);
    return FR_MW_AROUND;
}

static void ar_capture(fr_req *req, const fr_mw_res *res, void *state, void *ud) {
    around *a = (around *)ud;
    fr_str o = fr_hlist_get(&res->headers, FR_STR("access-control-allow-origin"));
    (void)req, (void)state;
    a->captured++;
    a->status = res->status;
    a->bypass = res->bypass;
    snprintf(a->body, sizeof a->body, "%.*s", (int)res->body.len, res->body.buf ? res->body.buf : "");
    snprintf(a->acao, sizeof a->acao, "%.*s", (int)o.len, o.buf ? o.buf : "");
    mlogf("c");
    mlogf(a->name);
}

static int use_around(fr_app *app, around *a, const char *name) {
    fr_middleware m;
    memset(a, 0, sizeof *a);
    a->name = name;
    memset(&m, 0, sizeof m);
    m.before = ar_before;
    m.capture = ar_capture;
    m.ud = a;
    return fr_app_use(app, &m);
}

static int ar_handled;
static int ar_h_hello(fr_req *req, void *ud) {
    (void)ud;
    ar_handled++;
    mlogf("H");
    fr_res_header(req, "content-type", "text/plain");
    return fr_res_text(req, 200, "text/plain", "hello", 5);
}

static int ar_h_stream(fr_req *req, void *ud) {
    (void)ud;
    ar_handled++;
    fr_res_header(req, "content-type", "text/plain");
    fr_res_stream_begin(req);
    fr_res_stream_write(req, "ab", 2);
    fr_res_stream_write(req, "cd", 2);
    fr_res_stream_end(req);
    return FR_PENDING;
}

static int ar_h_raise(fr_req *req, void *ud) {
    (void)ud;
    ar_handled++;
    fr_mw_bypass(req); /* the server-error layer's 500 */
    return fr_res_text(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
}

static char ar_done_log[64];
static void ar_done_cb(fr_req *req, int ok, void *ud) {
    (void)req;
    strncat(ar_done_log, ok ? (const char *)ud : "x", sizeof ar_done_log - strlen(ar_done_log) - 1);
}

static int ar_h_done(fr_req *req, void *ud) {
    (void)ud;
    ar_handled++;
    fr_req_on_done(req, ar_done_cb, (void *)"i");
    return fr_res_text(req, 200, "text/plain", "d", 1);
}

static fr_app *ar_new_app(void) {
    fr_app *app = fr_app_new(NULL);
    fr_route(app, "GET", "/hello", ar_h_hello, NULL);
    fr_route(app, "GET", "/stream", ar_h_stream, NULL);
    fr_route(app, "GET", "/raise", ar_h_raise, NULL);
    fr_route(app, "GET", "/done", ar_h_done, NULL);
    return app;
}

static void ar_reset(void) {
    mlog[0] = 0;
    ar_done_log[0] = 0;
    ar_handled = 0;
}

/* ------------------------------------------------------------------------ */

static void test_next_capture_edit(void) {
    fr_app *app = ar_new_app();
    around a;
    got g;
    char v[64];
    ar_reset();
    CHECK(use_around(app, &a, "A") == 0);
    CHECK(dispatch(app, "GET", "/hello", NULL, &g) == 0);
    CHECK(a.req != NULL);
    CHECK(g.starts == 0 && ar_handled == 0); /* pending at the layer */
    CHECK(fr_mw_capturing(a.req, NULL) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(fr_mw_next(a.req) == -1); /* once */
    CHECK(ar_handled == 1 && a.captured == 1);
    CHECK(a.status == 200 && strcmp(a.body, "hello") == 0 && !a.bypass);
    CHECK(g.starts == 0); /* captured, not written */
    /* the owner edits the head and sends it outward */
    fr_res_status(a.req, 201);
    fr_res_header(a.req, "x-process-time", "0.1");
    CHECK(fr_res_send(a.req) == 0);
    CHECK(g.done && g.status == 201);
    CHECK(got_hdr(&g, "x-process-time", v, sizeof v) && strcmp(v, "0.1") == 0);
    CHECK(got_hdr(&g, "content-length", v, sizeof v) && strcmp(v, "5") == 0);
    CHECK(g.body.len == 5 && memcmp(g.body.buf, "hello", 5) == 0);
    CHECK(strcmp(mlog, "bAHcA") == 0);
    got_free(&g);
    /* replaced head and body */
    ar_reset();
    CHECK(dispatch(app, "GET", "/hello", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    fr_mw_headers_clear(a.req);
    fr_res_header(a.req, "content-type", "application/json");
    fr_res_body(a.req, "{}", 2);
    fr_res_send(a.req);
    CHECK(g.done && g.status == 200 && g.body.len == 2);
    CHECK(got_hdr(&g, "content-type", v, sizeof v) && strcmp(v, "application/json") == 0);
    CHECK(!strstr(g.head, "text/plain"));
    got_free(&g);
    fr_app_free(app);
}

static void test_short_circuit(void) {
    fr_app *app = ar_new_app();
    around a;
    got g;
    ar_reset();
    CHECK(use_around(app, &a, "A") == 0);
    CHECK(dispatch(app, "GET", "/hello", NULL, &g) == 0);
    CHECK(g.starts == 0);
    fr_res_text(a.req, 401, "application/json", "{\"detail\":\"no\"}", 15);
    CHECK(g.done && g.status == 401 && ar_handled == 0 && a.captured == 0);
    got_free(&g);
    /* unmatched: the default 404 is captured like a handler's answer */
    ar_reset();
    CHECK(dispatch(app, "GET", "/nope", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 1 && a.status == 404 && strstr(a.body, "Not Found"));
    fr_res_send(a.req);
    CHECK(g.done && g.status == 404);
    got_free(&g);
    fr_app_free(app);
}

static void test_nesting_order(void) {
    fr_app *app = ar_new_app();
    around a, b;
    got g;
    ar_reset();
    CHECK(use_around(app, &a, "A") == 0); /* outermost */
    CHECK(use_around(app, &b, "B") == 0);
    CHECK(dispatch(app, "GET", "/hello", NULL, &g) == 0);
    CHECK(strcmp(mlog, "bA") == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(strcmp(mlog, "bAbB") == 0 && ar_handled == 0);
    CHECK(fr_mw_next(b.req) == 0);
    CHECK(strcmp(mlog, "bAbBHcB") == 0 && a.captured == 0);
    fr_res_header(b.req, "x-b", "1");
    fr_res_send(b.req); /* B's answer is A's captured response */
    CHECK(a.captured == 1 && g.starts == 0);
    CHECK(strcmp(mlog, "bAbBHcBcA") == 0);
    fr_res_header(a.req, "x-a", "1");
    fr_res_send(a.req);
    CHECK(g.done && g.status == 200 && strstr(g.head, "x-b: 1") && strstr(g.head, "x-a: 1"));
    CHECK(strstr(g.head, "x-b") < strstr(g.head, "x-a"));
    got_free(&g);
    fr_app_free(app);
}

static void test_stream_and_bypass(void) {
    fr_app *app = ar_new_app();
    around a;
    got g;
    ar_reset();
    CHECK(use_around(app, &a, "A") == 0);
    CHECK(dispatch(app, "GET", "/stream", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 1 && strcmp(a.body, "abcd") == 0 && a.status == 200);
    fr_res_send(a.req);
    CHECK(g.done && g.body.len == 4 && memcmp(g.body.buf, "abcd", 4) == 0);
    got_free(&g);
    /* the server-error layer's answer reaches the layer flagged */
    ar_reset();
    a.captured = 0;
    CHECK(dispatch(app, "GET", "/raise", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 1 && a.bypass == 1 && a.status == 500);
    fr_mw_bypass(a.req);
    fr_res_send(a.req);
    CHECK(g.done && g.status == 500);
    got_free(&g);
    fr_app_free(app);
}

static void test_cors_inside_and_outside(void) {
    static const fr_str origins[] = {{"*", 1}};
    fr_cors_config cc;
    fr_err err;
    around a;
    got g;
    char v[64];
    fr_app *app = ar_new_app();
    memset(&cc, 0, sizeof cc);
    cc.allow_origins = origins;
    cc.num_allow_origins = 1;
    /* CORS outside the around layer: applied after the owner answers */
    ar_reset();
    CHECK(fr_app_use_cors(app, &cc, &err) == 0);
    CHECK(use_around(app, &a, "A") == 0);
    CHECK(dispatch(app, "GET", "/hello", "Origin: http://x.test\n", &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 1 && a.acao[0] == 0); /* not yet */
    fr_mw_headers_clear(a.req);
    fr_res_header(a.req, "x-own", "1");
    fr_res_send(a.req);
    CHECK(got_hdr(&g, "access-control-allow-origin", v, sizeof v) && strcmp(v, "*") == 0);
    CHECK(got_hdr(&g, "x-own", v, sizeof v));
    got_free(&g);
    /* a preflight is answered by the outer CORS: the layer never sees it */
    memset(&a, 0, sizeof a);
    a.name = "A";
    CHECK(dispatch(app, "OPTIONS", "/hello",
                   "Origin: http://x.test\nAccess-Control-Request-Method: GET\n", &g) == 0);
    CHECK(g.done && g.status == 200 && a.req == NULL);
    got_free(&g);
    fr_app_free(app);
    /* CORS inside: the captured response already has its headers */
    app = ar_new_app();
    ar_reset();
    CHECK(use_around(app, &a, "A") == 0);
    CHECK(fr_app_use_cors(app, &cc, &err) == 0);
    /* ... and its preflight answer is captured too, not sent past the layer */
    CHECK(dispatch(app, "OPTIONS", "/hello",
                   "Origin: http://x.test\nAccess-Control-Request-Method: GET\n", &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 1 && a.status == 200 && strcmp(a.body, "OK") == 0 && g.starts == 0);
    fr_res_header(a.req, "x-own", "1");
    fr_res_send(a.req);
    CHECK(g.done && g.status == 200 && got_hdr(&g, "x-own", v, sizeof v));
    got_free(&g);
    memset(&a, 0, sizeof a);
    a.name = "A";
    CHECK(dispatch(app, "GET", "/hello", "Origin: http://x.test\n", &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 1 && strcmp(a.acao, "*") == 0);
    fr_mw_headers_clear(a.req); /* the owner drops them: nothing outside adds them back */
    fr_res_send(a.req);
    CHECK(g.done && !got_hdr(&g, "access-control-allow-origin", v, sizeof v));
    got_free(&g);
    fr_app_free(app);
}

static void test_on_done_order(void) {
    fr_app *app = ar_new_app();
    around a;
    got g;
    ar_reset();
    CHECK(use_around(app, &a, "A") == 0);
    CHECK(dispatch(app, "GET", "/done", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 1 && ar_done_log[0] == 0);
    CHECK(fr_req_on_done(a.req, ar_done_cb, (void *)"o") == 0); /* the inner one was kept aside */
    fr_res_send(a.req);
    CHECK(g.done && strcmp(ar_done_log, "io") == 0);
    got_free(&g);
    fr_app_free(app);
}

/* STREAMED CAPTURE: the layer sees a live stream's head before its body
 * ends; the owner passes it, reads it, or answers itself (the producer is
 * cancelled and the answer waits for its end). The producer is the test. */

typedef struct scap {
    fr_req *req;    /* the request waiting at the layer */
    int captured, streaming, status, wakes;
    int has_cl;     /* the captured head has a content-length */
    char ct[64], ce[32], vary[64];
} scap;

static fr_req *sc_prod; /* the handler's request, written by the test */

static int sc_before(fr_req *req, void *state, void *ud) {
    (void)state;
    ((scap *)ud)->req = req;
    return FR_MW_AROUND;
}

static void sc_capture(fr_req *req, const fr_mw_res *res, void *state, void *ud) {
    scap *a = (scap *)ud;
    fr_str ct = fr_hlist_get(&res->headers, FR_STR("content-type"));
    (void)req, (void)state;
    a->captured++;
    a->streaming = res->streaming;
    a->status = res->status;
    snprintf(a->ct, sizeof a->ct, "%.*s", (int)ct.len, ct.buf ? ct.buf : "");
    ct = fr_hlist_get(&res->headers, FR_STR("content-encoding"));
    snprintf(a->ce, sizeof a->ce, "%.*s", (int)ct.len, ct.buf ? ct.buf : "");
    ct = fr_hlist_get(&res->headers, FR_STR("vary"));
    snprintf(a->vary, sizeof a->vary, "%.*s", (int)ct.len, ct.buf ? ct.buf : "");
    a->has_cl = fr_hlist_get(&res->headers, FR_STR("content-length")).buf != NULL;
}

static void sc_wake(fr_req *req, void *state, void *ud) {
    (void)req, (void)state;
    ((scap *)ud)->wakes++;
}

static int sc_h_live(fr_req *req, void *ud) {
    (void)ud;
    sc_prod = req;
    fr_res_status(req, 201);
    fr_res_header(req, "content-type", "text/event-stream");
    CHECK(fr_res_stream_begin(req) == 0);
    CHECK(fr_res_stream_write(req, "e1", 2) == 0);
    return FR_PENDING; /* the test goes on producing */
}

static fr_app *sc_new_app(scap *a, int capture_stream) {
    fr_app *app = fr_app_new(NULL);
    fr_middleware m;
    memset(a, 0, sizeof *a);
    memset(&m, 0, sizeof m);
    m.before = sc_before;
    m.capture = sc_capture;
    m.wake = sc_wake;
    m.capture_stream = capture_stream;
    m.ud = a;
    CHECK(fr_app_use(app, &m) == 0);
    fr_route(app, "GET", "/live", sc_h_live, NULL);
    fr_route(app, "GET", "/hello", ar_h_hello, NULL);
    return app;
}

static int sc_body_is(const got *g, const char *s) {
    return g->body.len == strlen(s) && memcmp(g->body.buf, s, g->body.len) == 0;
}

static void test_streamed_capture_pass(void) {
    scap a;
    got g;
    char v[64];
    fr_app *app = sc_new_app(&a, 1);
    CHECK(dispatch(app, "GET", "/live", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    /* the head is here, the body has not ended */
    CHECK(a.captured == 1 && a.streaming == 1 && a.status == 201);
    CHECK(strcmp(a.ct, "text/event-stream") == 0 && g.starts == 0);
    CHECK(fr_res_stream_write(sc_prod, "e2", 2) == 0); /* held */
    CHECK(g.starts == 0);
    fr_res_header(a.req, "x-mw", "1");
    CHECK(fr_mw_pass(a.req) == 0);
    CHECK(fr_mw_pass(a.req) == -1); /* once */
    CHECK(g.starts == 1 && g.status == 201 && got_hdr(&g, "x-mw", v, sizeof v) && strcmp(v, "1") == 0);
    CHECK(sc_body_is(&g, "e1e2") && !g.done);
    CHECK(fr_res_stream_write(sc_prod, "e3", 2) == 0); /* now straight through */
    CHECK(sc_body_is(&g, "e1e2e3") && !g.done);
    CHECK(fr_res_stream_end(sc_prod) == 0);
    CHECK(g.done && sc_body_is(&g, "e1e2e3"));
    got_free(&g);
    /* a complete response keeps the whole capture; a layer without
     * capture_stream collects the stream as before */
    CHECK(dispatch(app, "GET", "/hello", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 2 && a.streaming == 0 && fr_mw_pass(a.req) == -1);
    fr_res_send(a.req);
    CHECK(g.done && sc_body_is(&g, "hello"));
    got_free(&g);
    fr_app_free(app);
    app = sc_new_app(&a, 0);
    CHECK(dispatch(app, "GET", "/live", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 0);
    CHECK(fr_res_stream_end(sc_prod) == 0);
    CHECK(a.captured == 1 && a.streaming == 0);
    fr_res_send(a.req);
    CHECK(g.done && sc_body_is(&g, "e1"));
    got_free(&g);
    fr_app_free(app);
}

static void test_streamed_capture_take(void) {
    static char big[20000];
    scap a;
    got g;
    fr_buf out;
    fr_app *app = sc_new_app(&a, 1);
    memset(big, 'x', sizeof big);
    memset(&out, 0, sizeof out);
    CHECK(dispatch(app, "GET", "/live", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0 && a.streaming == 1);
    CHECK(fr_mw_take(a.req, &out) == 1 && out.len == 2 && memcmp(out.buf, "e1", 2) == 0);
    CHECK(fr_mw_take(a.req, &out) == 0 && a.wakes == 0); /* nothing yet: wake armed */
    CHECK(fr_res_stream_write(sc_prod, "e2", 2) == 0 && a.wakes == 1);
    CHECK(fr_res_stream_write(sc_prod, "e3", 2) == 0 && a.wakes == 1); /* once per arming */
    CHECK(fr_res_stream_write(sc_prod, big, sizeof big) == FR_STREAM_FULL); /* held, bounded */
    CHECK(fr_mw_take(a.req, &out) == 1 && out.len == 6 + sizeof big);
    CHECK(fr_mw_take(a.req, &out) == 0);
    CHECK(fr_res_stream_end(sc_prod) == 0 && a.wakes == 2 && g.starts == 0);
    CHECK(fr_mw_take(a.req, &out) == 2);
    /* the owner answers with its own stream of what it read */
    fr_res_header(a.req, "x-wrapped", "1");
    CHECK(fr_res_stream_begin(a.req) == 0);
    CHECK(fr_mw_stream_write(a.req, out.buf, 6) == 0);
    CHECK(fr_mw_stream_end(a.req) == 0);
    CHECK(g.done && g.status == 201 && sc_body_is(&g, "e1e2e3"));
    fr_buf_free(&out);
    got_free(&g);
    fr_app_free(app);
}

static void test_streamed_capture_replace(void) {
    scap a;
    got g;
    fr_app *app = sc_new_app(&a, 1);
    /* a complete answer while the producer runs: it waits for its end */
    CHECK(dispatch(app, "GET", "/live", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0 && a.streaming == 1);
    fr_mw_headers_clear(a.req);
    CHECK(fr_res_text(a.req, 200, "text/plain", "mine", 4) == FR_DONE);
    CHECK(g.starts == 0);                                 /* not under the producer */
    CHECK(fr_res_stream_write(sc_prod, "e2", 2) == -1);   /* cancelled */
    CHECK(fr_mw_take(a.req, NULL) == -1 && fr_mw_pass(a.req) == -1);
    CHECK(fr_res_stream_end(sc_prod) == 0);
    CHECK(g.done && g.status == 200 && sc_body_is(&g, "mine"));
    got_free(&g);
    /* the owner's own stream while the producer runs: its pieces go out, the
     * producer's stay held; its end waits for the producer's */
    CHECK(dispatch(app, "GET", "/live", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0 && a.streaming == 1);
    CHECK(fr_res_stream_begin(a.req) == 0 && g.starts == 1);
    CHECK(fr_mw_stream_write(a.req, "Z", 1) == 0);
    CHECK(fr_res_stream_write(sc_prod, "e2", 2) == 0); /* held, not out */
    CHECK(sc_body_is(&g, "Z"));
    CHECK(fr_mw_stream_end(a.req) == 0 && !g.done);
    CHECK(fr_res_stream_write(sc_prod, "e3", 2) == -1);
    CHECK(fr_res_stream_end(sc_prod) == 0);
    CHECK(g.done && sc_body_is(&g, "Z"));
    got_free(&g);
    fr_app_free(app);
}

/* Two streamed layers: the inner one holds the handler's stream, the outer
 * one gets what the inner owner answers whole; after the producer's end,
 * the stream calls on the request are the outer owner's. */
static void test_streamed_capture_nested(void) {
    scap outer, inner;
    got g;
    int k;
    for (k = 0; k < 2; k++) { /* the producer ends before the pass, or after it */
        fr_app *app = fr_app_new(NULL);
        fr_middleware m;
        fr_buf out;
        memset(&outer, 0, sizeof outer);
        memset(&inner, 0, sizeof inner);
        memset(&out, 0, sizeof out);
        memset(&m, 0, sizeof m);
        m.before = sc_before;
        m.capture = sc_capture;
        m.capture_stream = 1;
        m.ud = &outer;
        CHECK(fr_app_use(app, &m) == 0);
        m.ud = &inner;
        CHECK(fr_app_use(app, &m) == 0);
        fr_route(app, "GET", "/live", sc_h_live, NULL);
        CHECK(dispatch(app, "GET", "/live", NULL, &g) == 0);
        CHECK(fr_mw_next(outer.req) == 0 && outer.req == inner.req);
        CHECK(fr_mw_next(inner.req) == 0 && inner.streaming == 1 && outer.captured == 0);
        if (k == 0) CHECK(fr_res_stream_end(sc_prod) == 0);
        CHECK(fr_mw_pass(inner.req) == 0);
        if (k == 1) {
            CHECK(fr_res_stream_write(sc_prod, "e2", 2) == 0);
            CHECK(fr_res_stream_end(sc_prod) == 0);
        }
        CHECK(outer.captured == 1 && outer.streaming == 0 && g.starts == 0);
        CHECK(fr_mw_take(outer.req, &out) == -1); /* the held stream is over */
        /* the outer owner re-sends the captured body as a stream of its own */
        CHECK(fr_res_stream_begin(outer.req) == 0);
        CHECK(fr_res_stream_write(outer.req, "o", 1) == 0);
        CHECK(fr_res_stream_end(outer.req) == 0);
        CHECK(g.done && g.status == 201 && sc_body_is(&g, "o"));
        got_free(&g);
        fr_app_free(app);
    }
}

/* A GZip inside the streamed layer (added after it: inner): the stream is
 * still captured at its head -- the head GZip decided (content-encoding,
 * vary, no length) --, the producer's pieces are compressed as they come
 * (held for fr_mw_take or passed), its end flushes the gzip tail. */
#if FR_ENABLE_ZLIB
static int gz_h_live(fr_req *req, void *ud) {
    (void)ud;
    sc_prod = req;
    fr_res_header(req, "content-type", "text/plain");
    CHECK(fr_res_stream_begin(req) == 0);
    CHECK(fr_res_stream_write(req, "piece-0;", 8) == 0);
    return FR_PENDING; /* the test goes on producing */
}

static fr_app *gz_new_app(scap *a) {
    fr_gzip_config gc;
    fr_err err;
    fr_app *app = sc_new_app(a, 1);
    memset(&gc, 0, sizeof gc);
    gc.minimum_size = 10000; /* a stream is compressed whatever its size (Starlette) */
    CHECK(fr_app_use_gzip(app, &gc, &err) == 0);
    fr_route(app, "GET", "/gz", gz_h_live, NULL);
    return app;
}

/* the decoded text of a gzip prefix equals s (complete: also its end) */
static int gz_is(const char *in, size_t n, const char *s, int complete) {
    fr_buf plain = {NULL, 0, 0};
    int r = gunzip_part(in, n, &plain);
    int ok = r == complete && plain.len == strlen(s) && memcmp(plain.buf ? plain.buf : "", s, plain.len) == 0;
    fr_buf_free(&plain);
    return ok;
}
#endif

static void test_streamed_capture_gzip(void) {
#if FR_ENABLE_ZLIB
    static char noise[20000]; /* incompressible: its gzip output is held above 16 KiB */
    static char expect[20100];
    scap a;
    got g;
    fr_buf out;
    char v[64];
    uint32_t x = 12345;
    size_t i;
    fr_app *app;
    if (!fr_gzip_available()) return;
    for (i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (char)('!' + (x >> 16) % 90);
    }
    app = gz_new_app(&a);
    memset(&out, 0, sizeof out);
    /* fr_mw_take: compressed pieces before the end, bounded holding */
    CHECK(dispatch(app, "GET", "/gz", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(fr_mw_next(a.req) == 0);
    CHECK(a.captured == 1 && a.streaming == 1 && a.status == 200);
    CHECK(strcmp(a.ce, "gzip") == 0 && strcmp(a.vary, "Accept-Encoding") == 0 && !a.has_cl);
    CHECK(fr_mw_take(a.req, &out) == 1 && gz_is(out.buf, out.len, "piece-0;", 0)); /* not collected */
    CHECK(fr_mw_take(a.req, &out) == 0 && a.wakes == 0);
    CHECK(fr_res_stream_write(sc_prod, "piece-1;", 8) == 0 && a.wakes == 1);
    CHECK(fr_mw_take(a.req, &out) == 1 && gz_is(out.buf, out.len, "piece-0;piece-1;", 0));
    CHECK(fr_res_stream_write(sc_prod, noise, sizeof noise) == FR_STREAM_FULL); /* held, bounded */
    CHECK(fr_mw_take(a.req, &out) == 1);
    CHECK(fr_res_stream_write(sc_prod, "end;", 4) == 0);
    CHECK(fr_res_stream_end(sc_prod) == 0 && g.starts == 0);
    CHECK(fr_mw_take(a.req, &out) == 2); /* the tail the end flushed */
    memcpy(expect, "piece-0;piece-1;", 16);
    memcpy(expect + 16, noise, sizeof noise);
    memcpy(expect + 16 + sizeof noise, "end;", 5);
    CHECK(gz_is(out.buf, out.len, expect, 1));
    fr_mw_headers_clear(a.req);
    CHECK(fr_res_text(a.req, 200, "text/plain", "read", 4) == FR_DONE);
    CHECK(g.done && sc_body_is(&g, "read"));
    got_free(&g);
    /* fr_mw_pass: the client gets one valid gzip stream with the layer's header */
    out.len = 0;
    CHECK(dispatch(app, "GET", "/gz", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(fr_mw_next(a.req) == 0 && a.streaming == 1);
    CHECK(fr_res_stream_write(sc_prod, "piece-1;", 8) == 0); /* held */
    fr_res_header(a.req, "x-mw", "1");
    CHECK(fr_mw_pass(a.req) == 0 && g.starts == 1);
    CHECK(got_hdr(&g, "content-encoding", v, sizeof v) && strcmp(v, "gzip") == 0);
    CHECK(got_hdr(&g, "vary", v, sizeof v) && strcmp(v, "Accept-Encoding") == 0);
    CHECK(got_hdr(&g, "x-mw", v, sizeof v) && !got_hdr(&g, "content-length", v, sizeof v));
    CHECK(gz_is(g.body.buf, g.body.len, "piece-0;piece-1;", 0) && !g.done);
    CHECK(fr_res_stream_write(sc_prod, "piece-2;", 8) == 0); /* compressed, straight through */
    CHECK(gz_is(g.body.buf, g.body.len, "piece-0;piece-1;piece-2;", 0) && !g.done);
    CHECK(fr_res_stream_end(sc_prod) == 0);
    CHECK(g.done && gz_is(g.body.buf, g.body.len, "piece-0;piece-1;piece-2;", 1));
    got_free(&g);
    /* the producer ends before the pass: the held tail goes out too */
    CHECK(dispatch(app, "GET", "/gz", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(fr_mw_next(a.req) == 0 && a.streaming == 1);
    CHECK(fr_res_stream_end(sc_prod) == 0 && g.starts == 0);
    CHECK(fr_mw_pass(a.req) == 0);
    CHECK(g.done && gz_is(g.body.buf, g.body.len, "piece-0;", 1));
    got_free(&g);
    /* the producer fails (fr_res_stream_abort) after the pass: the body ends
     * without the gzip end, as Starlette's GZip never sees more_body=False */
    CHECK(dispatch(app, "GET", "/gz", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(fr_mw_next(a.req) == 0 && fr_mw_pass(a.req) == 0);
    CHECK(fr_res_stream_write(sc_prod, "piece-1;", 8) == 0);
    fr_res_stream_abort(sc_prod);
    CHECK(fr_res_stream_end(sc_prod) == 0);
    CHECK(g.done && gz_is(g.body.buf, g.body.len, "piece-0;piece-1;", 0));
    got_free(&g);
    /* the owner's own answer: the producer is cancelled, no gzip tail follows */
    CHECK(dispatch(app, "GET", "/gz", "Accept-Encoding: gzip\n", &g) == 0);
    CHECK(fr_mw_next(a.req) == 0 && a.streaming == 1);
    fr_mw_headers_clear(a.req);
    CHECK(fr_res_text(a.req, 203, "text/plain", "mine", 4) == FR_DONE && g.starts == 0);
    CHECK(fr_res_stream_write(sc_prod, "piece-1;", 8) == -1);
    CHECK(fr_res_stream_end(sc_prod) == 0);
    CHECK(g.done && g.status == 203 && sc_body_is(&g, "mine"));
    CHECK(!got_hdr(&g, "content-encoding", v, sizeof v));
    got_free(&g);
    /* no Accept-Encoding: the plain stream, held at its head, Vary only */
    CHECK(dispatch(app, "GET", "/gz", NULL, &g) == 0);
    CHECK(fr_mw_next(a.req) == 0 && a.streaming == 1);
    CHECK(a.ce[0] == 0 && strcmp(a.vary, "Accept-Encoding") == 0);
    CHECK(fr_res_stream_write(sc_prod, "piece-1;", 8) == 0);
    CHECK(fr_mw_pass(a.req) == 0 && sc_body_is(&g, "piece-0;piece-1;") && !g.done);
    CHECK(fr_res_stream_end(sc_prod) == 0);
    CHECK(g.done && sc_body_is(&g, "piece-0;piece-1;"));
    got_free(&g);
    fr_buf_free(&out);
    fr_app_free(app);
#endif
}

/* call_next's raw headers in Starlette's order */
static void test_mw_res_raw_headers(void) {
    fr_header hs[3], out[4];
    fr_mw_res r;
    char num[24];
    hs[0].name = FR_STR("x-a"), hs[0].value = FR_STR("1");
    hs[1].name = FR_STR("content-type"), hs[1].value = FR_STR("text/plain");
    hs[2].name = FR_STR("x-b"), hs[2].value = FR_STR("2");
    memset(&r, 0, sizeof r);
    r.status = 200;
    r.headers.items = hs;
    r.headers.len = r.headers.cap = 3;
    r.kind = FR_MW_RES_BODY;
    r.body = FR_STR("hello");
    CHECK(fr_mw_res_raw_headers(&r, out, 4, num) == 4);
    CHECK(fr_str_eq_c(out[0].name, "x-a") && fr_str_eq_c(out[1].name, "content-length"));
    CHECK(fr_str_eq_c(out[1].value, "5") && fr_str_eq_c(out[2].name, "content-type"));
    CHECK(fr_str_eq_c(out[3].name, "x-b"));
    CHECK(fr_mw_res_raw_headers(&r, out, 3, num) == 0); /* no room */
    r.headers.len = 1;                                   /* no content-type: last */
    CHECK(fr_mw_res_raw_headers(&r, out, 4, num) == 2 && fr_str_eq_c(out[1].name, "content-length"));
    r.headers.len = 3;
    r.status = 204; /* no body allowed: none */
    CHECK(fr_mw_res_raw_headers(&r, out, 4, num) == 3 && fr_str_eq_c(out[1].name, "content-type"));
    r.status = 200;
    r.kind = FR_MW_RES_STREAM; /* a stream has none */
    CHECK(fr_mw_res_raw_headers(&r, out, 3, num) == 3 && fr_str_eq_c(out[1].name, "content-type"));
}

/* The same over a real socket, with the producer on a thread of its own
 * and its flow callback: passed, the endless stream reaches the client with
 * the layer's header and stops when the client leaves; replaced, the
 * producer is told FR_STREAM_GONE and the owner's answer goes out after its
 * end. The owner is a thread of the test too. */

typedef struct sn {
    int replace, gz;
    fr_req *req;              /* the layer's (set on the loop thread) */
    int gone_ev, drained_ev, ended, writes;
    pthread_t prod;
} sn;

static sn sn_t;

static int sn_get(int *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static void sn_set(int *p, int v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }

static int sn_before(fr_req *req, void *state, void *ud) {
    (void)state, (void)ud;
    __atomic_store_n(&sn_t.req, req, __ATOMIC_SEQ_CST);
    return FR_MW_AROUND;
}

static void sn_flow(fr_req *req, int ev, void *ud) {
    (void)req, (void)ud;
    if (ev == FR_STREAM_GONE) sn_set(&sn_t.gone_ev, 1);
    if (ev == FR_STREAM_DRAINED) sn_set(&sn_t.drained_ev, 1);
}

static void *sn_producer(void *arg) {
    fr_req *req = (fr_req *)arg;
    int i;
    for (i = 0; i < 20000 && !sn_get(&sn_t.gone_ev); i++) {
        int r = fr_res_stream_write(req, "data: x\n\n", 9);
        if (r < 0) break;
        sn_set(&sn_t.writes, i + 1);
        frt_sleep_ms(1);
    }
    fr_res_stream_end(req);
    sn_set(&sn_t.ended, 1);
    return NULL;
}

static int sn_h(fr_req *req, void *ud) {
    (void)ud;
    fr_res_stream_on_drain(req, sn_flow, NULL); /* before the begin: the capture takes it */
    fr_res_status(req, 201);
    /* (GZip leaves text/event-stream alone) */
    fr_res_header(req, "content-type", sn_t.gz ? "text/plain" : "text/event-stream");
    fr_res_stream_begin(req);
    fr_res_stream_write(req, "data: 0\n\n", 9);
    pthread_create(&sn_t.prod, NULL, sn_producer, req);
    return FR_PENDING;
}

static void *sn_owner(void *arg) {
    int i;
    fr_req *req = NULL;
    (void)arg;
    for (i = 0; i < 5000 && !(req = __atomic_load_n(&sn_t.req, __ATOMIC_SEQ_CST)); i++) frt_sleep_ms(1);
    if (!req) return NULL;
    fr_mw_next(req); /* the handler runs here; its stream is captured at its head */
    if (sn_t.replace) {
        fr_mw_headers_clear(req);
        fr_res_header(req, "connection", "close");
        fr_res_text(req, 203, "text/plain", "mine", 4);
    } else {
        fr_res_header(req, "x-mw", "1");
        fr_mw_pass(req);
    }
    return NULL;
}

/* gz: a GZip inside the layer and a client that accepts it; *nread: how
 * many bytes were read into out */
static void sn_run_gz(int replace, int gz, char *out, size_t cap, size_t *nread) {
    fr_app *app = fr_app_new(NULL);
    fr_middleware m;
    frt_srv s;
    pthread_t owner;
    int fd, i;
    size_t got = 0;
    memset(&sn_t, 0, sizeof sn_t);
    sn_t.replace = replace;
    sn_t.gz = gz;
    memset(&m, 0, sizeof m);
    m.before = sn_before;
    m.capture_stream = 1;
    REQ(fr_app_use(app, &m) == 0);
    if (gz) {
        fr_gzip_config gc;
        fr_err err;
        memset(&gc, 0, sizeof gc);
        REQ(fr_app_use_gzip(app, &gc, &err) == 0);
    }
    REQ(fr_route(app, "GET", "/sn", sn_h, NULL) == 0);
    REQ(srv_start(&s, app) == 0);
    REQ(pthread_create(&owner, NULL, sn_owner, NULL) == 0);
    fd = frt_connect(s.port, 0);
    CHECK(fd >= 0);
    if (gz) CHECK(frt_send_all(fd, "GET /sn HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n", 53) == 0);
    else CHECK(frt_send_all(fd, "GET /sn HTTP/1.1\r\nHost: t\r\n\r\n", 29) == 0);
    out[0] = 0;
    while (got + 1 < cap) { /* passed: the head and three events; replaced: to the close */
        ssize_t n = recv(fd, out + got, cap - 1 - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
        out[got] = 0;
        if (!replace && gz && got >= 2000) break; /* the head and compressed events */
        if (!replace && !gz) {
            char *b = strstr(out, "\r\n\r\n");
            int ev = 0;
            while (b && (b = strstr(b + 1, "data: ")) != NULL) ev++;
            if (ev >= 3) break;
        }
    }
    close(fd); /* the client leaves */
    pthread_join(owner, NULL);
    for (i = 0; i < 5000 && !sn_get(&sn_t.ended); i++) frt_sleep_ms(1);
    CHECK(sn_get(&sn_t.ended) == 1); /* the producer stopped and ended */
    if (sn_get(&sn_t.ended)) pthread_join(sn_t.prod, NULL);
    frt_srv_stop(&s);
    *nread = got;
}

static void sn_run(int replace, char *out, size_t cap) {
    size_t n = 0;
    sn_run_gz(replace, 0, out, cap, &n);
}

#if FR_ENABLE_ZLIB
/* The chunked body after the head of out[0..n) (the last chunk may be cut
 * short) appended to body. */
static void sn_dechunk(const char *out, size_t n, fr_buf *body) {
    const char *p = strstr(out, "\r\n\r\n"), *end = out + n;
    if (!p) return;
    p += 4;
    while (p < end) {
        char *e;
        unsigned long len = strtoul(p, &e, 16);
        if (e == p || e + 2 > end || e[0] != '\r' || len == 0) return;
        p = e + 2;
        if ((size_t)(end - p) < len) len = (unsigned long)(end - p);
        fr_buf_append(body, p, len);
        p += len + 2;
    }
}
#endif

static void test_streamed_capture_socket(void) {
    static char out[65536];
    sn_run(0, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 201", 12) == 0 && strstr(out, "x-mw: 1\r\n") != NULL);
    CHECK(strcasestr(out, "transfer-encoding: chunked") != NULL && strstr(out, "data: 0") != NULL);
    CHECK(sn_get(&sn_t.writes) < 20000); /* stopped by the client leaving, not by the bound */
    sn_run(1, out, sizeof out);
    CHECK(strncmp(out, "HTTP/1.1 203", 12) == 0 && strstr(out, "\r\n\r\nmine") != NULL);
    CHECK(strstr(out, "data:") == NULL);
    CHECK(sn_get(&sn_t.gone_ev) == 1); /* the producer was told to stop */
#if FR_ENABLE_ZLIB
    if (fr_gzip_available()) { /* GZip inside the layer: the client gets a gzip stream */
        fr_buf body = {NULL, 0, 0}, plain = {NULL, 0, 0};
        size_t n = 0;
        sn_run_gz(0, 1, out, sizeof out, &n);
        CHECK(strncmp(out, "HTTP/1.1 201", 12) == 0 && strstr(out, "x-mw: 1\r\n") != NULL);
        CHECK(strstr(out, "content-encoding: gzip\r\n") != NULL);
        CHECK(strcasestr(out, "transfer-encoding: chunked") != NULL);
        CHECK(sn_get(&sn_t.writes) < 20000);
        sn_dechunk(out, n, &body);
        CHECK(body.len > 0 && gunzip_part(body.buf, body.len, &plain) == 0);
        CHECK(plain.len >= 9 && memcmp(plain.buf, "data: 0\n\ndata: x\n\n", plain.len < 18 ? plain.len : 18) == 0);
        fr_buf_free(&body);
        fr_buf_free(&plain);
    }
#endif
}

static const frt_case frt_cases[] = {
    FRT(test_order_and_layering), FRT(test_early_answer), FRT(test_after_error_and_bypass),
    FRT(test_implicit_send),      FRT(test_body_filter),  FRT(test_filter_errors), FRT(test_cors),
    FRT(test_trusted_host_and_https), FRT(test_gzip),     FRT(test_cors_gzip_order),
    FRT(test_gzip_file),          FRT(test_use_errors),   FRT(test_live_socket),
    FRT(test_use_while_serving), FRT(test_session), FRT(test_request_id),
    FRT(test_next_capture_edit), FRT(test_short_circuit), FRT(test_nesting_order),
    FRT(test_stream_and_bypass), FRT(test_cors_inside_and_outside), FRT(test_on_done_order),
    FRT(test_streamed_capture_pass), FRT(test_streamed_capture_take),
    FRT(test_streamed_capture_replace), FRT(test_streamed_capture_nested), FRT(test_mw_res_raw_headers),
    FRT(test_streamed_capture_socket), FRT(test_streamed_capture_gzip)};
FRT_MAIN()
