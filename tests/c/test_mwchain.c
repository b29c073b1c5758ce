/* Unit tests for the middleware chain of an fr_app (middleware.h, end):
 * fr_app_use hooks (order, layering, early answers, head and body edits,
 * errors, bypass, state and end), the built-ins fr_app_use_cors / _gzip /
 * _trusted_host / _https_redirect on complete bodies, streams (inline and
 * from another thread), files and HEAD, through fr_dispatch and over a
 * real socket (fr_serve in a thread, raw HTTP/1.1 client).
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

typedef struct got {
    int status;
    int starts, bodies, done;
    char head[4096]; /* "name: value\n" per header, as given */
    fr_buf body;
} got;

static void got_start(void *ud, int status, const fr_header *h, size_t n) {
    got *g = (got *)ud;
    size_t i, at = strlen(g->head);
    g->status = status;
    g->starts++;
    for (i = 0; i < n; i++)
        at += (size_t)snprintf(g->head + at, sizeof g->head - at, "%.*s: %.*s\n", (int)h[i].name.len,
                               h[i].name.buf, (int)h[i].value.len, h[i].value.buf);
}

static int got_body(void *ud, const char *data, size_t len, int more) {
    got *g = (got *)ud;
    g->bodies++;
    if (len) fr_buf_append(&g->body, data, len);
    if (!more) g->done = 1;
    return 0;
}

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
    s.start = got_start;
    s.body = got_body;
    s.ud = g;
    rc = fr_dispatch(app, &d, &s);
    if (buf) frt_guarded_free(buf, hl);
    return rc;
}

#if FR_ENABLE_ZLIB
/* gunzip into out; 0 ok */
static int gunzip(const char *in, size_t n, fr_buf *out) {
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
        r = inflate(&z, Z_NO_FLUSH);
        if (r != Z_OK && r != Z_STREAM_END) {
            inflateEnd(&z);
            return -1;
        }
        fr_buf_append(out, tmp, sizeof tmp - z.avail_out);
    } while (r != Z_STREAM_END);
    inflateEnd(&z);
    return z.avail_in == 0 ? 0 : -1;
}
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
        s.start = got_start;
        s.body = got_body;
        s.ud = &g2;
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
    bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
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

static const frt_case frt_cases[] = {
    FRT(test_order_and_layering), FRT(test_early_answer), FRT(test_after_error_and_bypass),
    FRT(test_implicit_send),      FRT(test_body_filter),  FRT(test_filter_errors), FRT(test_cors),
    FRT(test_trusted_host_and_https), FRT(test_gzip),     FRT(test_cors_gzip_order),
    FRT(test_gzip_file),          FRT(test_use_errors),   FRT(test_live_socket),
    FRT(test_use_while_serving), FRT(test_session), FRT(test_request_id)};
FRT_MAIN()
