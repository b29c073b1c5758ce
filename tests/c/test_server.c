/* Unit tests for src/server.c over real sockets: an app serves on an
 * ephemeral 127.0.0.1 port from a thread (fr_serve) or from the test thread
 * (fr_poll) and the test talks raw HTTP/1.1 to it. Keep-alive, pipelining,
 * byte-by-byte requests, chunked bodies, 100-continue, 404/405/307, HEAD,
 * every limit's status, max_connections, deferred and streamed responses
 * completed from other threads, client gone while pending, on_done order,
 * two apps at once, start/stop fd accounting, graceful stop, file bodies
 * (fr_res_file: sendfile and copy fallback, ranges, HEAD, slow reader,
 * client gone, deferred, fd ownership).
 * Every socket has a timeout; every wait loop is bounded. */
#define FRT_NET 1
#include "frtest.h"

/* Count the engine's allocations. Only effective in the amalgamated build
 * (FASTRAPI_IMPLEMENTATION_DONE set below); src/ objects use plain malloc. */
#include <stdatomic.h>
#if defined(__GNUC__)
#define FRT_UNUSED __attribute__((unused))
#else
#define FRT_UNUSED
#endif
static atomic_long frt_allocs;
static FRT_UNUSED void *frt_malloc(size_t n) {
    atomic_fetch_add(&frt_allocs, 1);
    return malloc(n);
}
static FRT_UNUSED void *frt_realloc(void *p, size_t n) {
    atomic_fetch_add(&frt_allocs, 1);
    return realloc(p, n);
}
#define FR_MALLOC(n) frt_malloc(n)
#define FR_REALLOC(p, n) frt_realloc((p), (n))
#define FR_FREE(p) free(p)

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <pthread.h>
#include <dirent.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>

/* ------------------------------------------------------------------------ */
/* helpers: time, background threads                                         */

static pthread_mutex_t bg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t bg_threads[256];
static int bg_count;

static void bg_start(void *(*fn)(void *), void *arg) {
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg) != 0) abort();
    pthread_mutex_lock(&bg_mu);
    if (bg_count < 256) bg_threads[bg_count++] = t;
    else pthread_detach(t);
    pthread_mutex_unlock(&bg_mu);
}

static void bg_join_all(void) {
    for (;;) {
        pthread_t t;
        pthread_mutex_lock(&bg_mu);
        if (bg_count == 0) {
            pthread_mutex_unlock(&bg_mu);
            return;
        }
        t = bg_threads[--bg_count];
        pthread_mutex_unlock(&bg_mu);
        pthread_join(t, NULL);
    }
}

/* shared state between handlers and tests */
static pthread_mutex_t st_mu = PTHREAD_MUTEX_INITIALIZER;
static fr_req *st_held;      /* /hold stores its request here */
static int st_done_calls, st_done_ok, st_free_calls, st_free_before_done;
static int st_log_calls, st_log_status;
static uint64_t st_log_bytes;

static void st_reset(void) {
    pthread_mutex_lock(&st_mu);
    st_held = NULL;
    st_done_calls = st_done_ok = st_free_calls = st_free_before_done = 0;
    st_log_calls = st_log_status = 0;
    st_log_bytes = 0;
    pthread_mutex_unlock(&st_mu);
}

static int st_get(int *v) {
    int r;
    pthread_mutex_lock(&st_mu);
    r = *v;
    pthread_mutex_unlock(&st_mu);
    return r;
}

/* wait (bounded) until *v >= want */
static int st_wait(int *v, int want) {
    int i;
    for (i = 0; i < 500; i++) {
        if (st_get(v) >= want) return 1;
        frt_sleep_ms(10);
    }
    return 0;
}

static fr_req *st_take_held(void) {
    int i;
    for (i = 0; i < 500; i++) {
        fr_req *r;
        pthread_mutex_lock(&st_mu);
        r = st_held;
        st_held = NULL;
        pthread_mutex_unlock(&st_mu);
        if (r) return r;
        frt_sleep_ms(10);
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* handlers                                                                  */

static int h_hello(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_json(req, 200, "{\"message\":\"Hello World\"}", 25);
}

static int h_num(fr_req *req, void *ud) {
    char b[64];
    int n = snprintf(b, sizeof b, "{\"i\":%lld}", (long long)fr_req_param_int(req, "i"));
    (void)ud;
    return fr_res_json(req, 200, b, (size_t)n);
}

static int h_echo(fr_req *req, void *ud) {
    fr_str b = fr_req_body(req);
    (void)ud;
    return fr_res_text(req, 200, "application/octet-stream", b.buf, b.len);
}

/* echoes decoded path, query values, a cookie, a header and the client
 * address */
static int h_info(fr_req *req, void *ud) {
    char b[512];
    fr_str a = {"", 0}, bb = {"", 0}, sid = {"", 0}, path = fr_req_path(req);
    fr_str ua = fr_req_header(req, "x-test"), ip = fr_req_client_addr(req);
    int n, missing = !fr_req_query_get(req, "nope", NULL) + !fr_req_cookie_get(req, "nope", NULL);
    (void)ud;
    fr_req_query_get(req, "a", &a);
    fr_req_query_get(req, "b c", &bb);
    fr_req_cookie_get(req, "sid", &sid);
    n = snprintf(b, sizeof b, "path=%.*s|a=%.*s|bc=%.*s|sid=%.*s|x=%.*s|ip=%.*s|missing=%d|port=%d",
                 (int)path.len, path.buf, (int)a.len, a.buf, (int)bb.len, bb.buf, (int)sid.len, sid.buf,
                 (int)ua.len, ua.buf ? ua.buf : "", (int)ip.len, ip.buf, missing,
                 fr_req_client_port(req) > 0);
    return fr_res_text(req, 200, NULL, b, (size_t)n);
}

static void on_done_rec(fr_req *req, int ok, void *ud) {
    (void)req;
    (void)ud;
    pthread_mutex_lock(&st_mu);
    st_done_calls++;
    st_done_ok = ok;
    pthread_mutex_unlock(&st_mu);
}

static int h_hold(fr_req *req, void *ud) {
    (void)ud;
    fr_req_on_done(req, on_done_rec, NULL);
    pthread_mutex_lock(&st_mu);
    st_held = req;
    pthread_mutex_unlock(&st_mu);
    return FR_PENDING;
}

static void *slow_worker(void *arg) {
    fr_req *req = (fr_req *)arg;
    frt_sleep_ms(30);
    fr_res_header(req, "x-deferred", "yes");
    fr_res_json(req, 201, "{\"slow\":true}", 13);
    return NULL;
}

static int h_slow(fr_req *req, void *ud) {
    (void)ud;
    bg_start(slow_worker, req);
    return FR_PENDING;
}

#define STREAM_PARTS 400
#define STREAM_PART_LEN 65536 /* 400 x 64 KiB = 25 MiB: more than socket buffers hold */

static void *stream_worker(void *arg) {
    fr_req *req = (fr_req *)arg;
    static char part[STREAM_PART_LEN];
    int i;
    fr_res_header(req, "content-type", "text/plain");
    if (fr_res_stream_begin(req) < 0) abort();
    for (i = 0; i < STREAM_PARTS; i++) {
        memset(part, 'a' + i % 26, sizeof part);
        if (fr_res_stream_write(req, part, sizeof part) < 0) break;
    }
    fr_res_stream_end(req);
    return NULL;
}

static int h_stream(fr_req *req, void *ud) {
    (void)ud;
    fr_req_on_done(req, on_done_rec, NULL);
    bg_start(stream_worker, req);
    return FR_PENDING;
}

/* streamed inline from the handler (loop thread), three chunks */
static int h_stream_inline(fr_req *req, void *ud) {
    (void)ud;
    fr_res_stream_begin(req);
    fr_res_stream_write(req, "one,", 4);
    fr_res_stream_write(req, "two,", 4);
    fr_res_stream_write(req, "three", 5);
    fr_res_stream_end(req);
    return FR_DONE;
}

#define BIG_LEN (32u << 20)

static void big_free(void *ud, const void *data) {
    (void)ud;
    pthread_mutex_lock(&st_mu);
    st_free_calls++;
    st_free_before_done = st_done_calls == 0;
    pthread_mutex_unlock(&st_mu);
    free((void *)(uintptr_t)data);
}

static int h_big(fr_req *req, void *ud) {
    char *p = (char *)malloc(BIG_LEN);
    (void)ud;
    if (!p) return fr_res_json(req, 500, "{}", 2);
    memset(p, 'z', BIG_LEN);
    fr_req_on_done(req, on_done_rec, NULL);
    fr_res_status(req, 200);
    fr_res_header(req, "content-type", "application/octet-stream");
    fr_res_body_take(req, p, BIG_LEN, big_free, NULL);
    return FR_DONE;
}

static int h_nocontent(fr_req *req, void *ud) {
    (void)ud;
    fr_res_status(req, 204); /* (refused header values: test_invalid_response_*) */
    CHECK(fr_res_send(req) == 0);
    CHECK(fr_res_send(req) == -1); /* twice: refused */
    return FR_DONE;
}

/* 205 with a body set: none goes out (RFC 9110 15.3.6), content-length: 0 */
static int h_reset(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_text(req, 205, NULL, "dropped", 7);
}

static int h_fallback(fr_req *req, void *ud) {
    (void)ud;
    if (fr_req_match_status(req) == FR_MATCH_NOT_FOUND) return fr_res_json(req, 404, "{\"custom\":1}", 12);
    return fr_res_default(req);
}

static void access_rec(fr_req *req, int status, uint64_t bytes, double ms, void *ud) {
    (void)req;
    (void)ud;
    (void)ms;
    pthread_mutex_lock(&st_mu);
    st_log_calls++;
    st_log_status = status;
    st_log_bytes = bytes;
    pthread_mutex_unlock(&st_mu);
}

static int mk_signals; /* 1: let fr_serve handle SIGINT/SIGTERM */

static fr_app *make_app(const fr_config *cfg) {
    fr_config c;
    fr_app *app;
    if (cfg) c = *cfg;
    else memset(&c, 0, sizeof c);
    c.no_signals = !mk_signals;
    app = fr_app_new(&c);
    if (!app) return NULL;
    if (fr_route(app, "GET", "/hello", h_hello, NULL) < 0 || fr_route(app, "PUT", "/hello", h_hello, NULL) < 0 ||
        fr_route(app, "GET", "/n/{i:int}", h_num, NULL) < 0 || fr_route(app, "POST", "/echo", h_echo, NULL) < 0 ||
        fr_route(app, "GET", "/info/{rest:path}", h_info, NULL) < 0 ||
        fr_route(app, "GET", "/hold", h_hold, NULL) < 0 || fr_route(app, "GET", "/slow", h_slow, NULL) < 0 ||
        fr_route(app, "GET", "/stream", h_stream, NULL) < 0 ||
        fr_route(app, "GET", "/stream-inline", h_stream_inline, NULL) < 0 ||
        fr_route(app, "GET", "/big", h_big, NULL) < 0 || fr_route(app, "GET", "/nocontent", h_nocontent, NULL) < 0 ||
        fr_route(app, "GET", "/reset", h_reset, NULL) < 0 ||
        fr_route(app, "GET", "/dir/", h_hello, NULL) < 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

/* ------------------------------------------------------------------------ */
/* server in a thread                                                        */

typedef struct srv {
    fr_app *app;
    pthread_t thr;
    int port, rc, running;
} srv;

static void *serve_main(void *arg) {
    srv *s = (srv *)arg;
    s->rc = fr_serve(s->app);
    return NULL;
}

static int srv_start_app(srv *s, fr_app *app) {
    memset(s, 0, sizeof *s);
    s->app = app;
    s->rc = -99;
    if (!app) return -1;
    s->port = fr_listen(app, "127.0.0.1", 0);
    if (s->port <= 0) {
        fr_app_free(app);
        s->app = NULL;
        return -1;
    }
    if (pthread_create(&s->thr, NULL, serve_main, s) != 0) return -1;
    s->running = 1;
    return 0;
}

static int srv_start(srv *s, const fr_config *cfg) {
    st_reset();
    return srv_start_app(s, make_app(cfg));
}

static void srv_stop(srv *s) {
    if (s->running) {
        fr_stop(s->app);
        pthread_join(s->thr, NULL);
        s->running = 0;
    }
    bg_join_all();
    fr_app_free(s->app);
    s->app = NULL;
}

/* ------------------------------------------------------------------------ */
/* client                                                                    */

typedef struct cli {
    int fd;
    char *buf;
    size_t len, cap;
} cli;

typedef struct resp {
    int status;
    char head[8192];
    char *body;
    size_t body_len;
    int chunked;
} resp;

static int cli_open(cli *c, int port) {
    int one = 1;
    memset(c, 0, sizeof *c);
    c->fd = frt_connect(port, 0);
    if (c->fd < 0) return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->cap = 1 << 16;
    c->buf = (char *)malloc(c->cap);
    return c->buf ? 0 : -1;
}

static void cli_close(cli *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
}

/* close with RST (SO_LINGER 0) */
static void cli_reset(cli *c) {
    struct linger lg;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    cli_close(c);
}

static int cli_send(cli *c, const char *data, size_t n) {
    while (n) {
        ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

static int cli_sends(cli *c, const char *s) { return cli_send(c, s, strlen(s)); }

/* read more bytes into the buffer: 1 got some, 0 EOF, -1 error/timeout */
static int cli_fill(cli *c) {
    ssize_t n;
    if (c->len == c->cap) {
        char *p = (char *)realloc(c->buf, c->cap * 2);
        if (!p) return -1;
        c->buf = p;
        c->cap *= 2;
    }
    n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n > 0) {
        c->len += (size_t)n;
        return 1;
    }
    return n == 0 ? 0 : -1;
}

static void cli_consume(cli *c, size_t n) {
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static const char *find_crlf2(const char *p, size_t n) {
    size_t i;
    for (i = 0; i + 3 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n' && p[i + 2] == '\r' && p[i + 3] == '\n') return p + i;
    return NULL;
}

/* header value from a response head (case-insensitive name); "" if absent */
static int hdr(const resp *r, const char *name, char *out, size_t outsz) {
    const char *p = strstr(r->head, "\r\n");
    size_t nl = strlen(name);
    out[0] = 0;
    while (p && p[2]) {
        const char *line = p + 2, *end = strstr(line, "\r\n");
        if (!end) break;
        if ((size_t)(end - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
            const char *v = line + nl + 1;
            size_t vl;
            while (*v == ' ') v++;
            vl = (size_t)(end - v);
            if (vl >= outsz) vl = outsz - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return 1;
        }
        p = end;
    }
    return 0;
}

static void resp_free(resp *r) {
    free(r->body);
    r->body = NULL;
}

/* Read one response. head_only: the request was HEAD (no body follows).
 * 0 ok, -1 error / EOF before a complete response. */
static int cli_read(cli *c, resp *r, int head_only) {
    const char *e;
    size_t hl;
    char v[64];
    memset(r, 0, sizeof *r);
    while (!(e = find_crlf2(c->buf, c->len)))
        if (cli_fill(c) <= 0) return -1;
    hl = (size_t)(e - c->buf) + 4;
    if (hl >= sizeof r->head) return -1;
    memcpy(r->head, c->buf, hl);
    r->head[hl] = 0;
    cli_consume(c, hl);
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1) return -1;
    if (head_only || r->status == 204 || r->status == 304 || r->status < 200) {
        r->body = (char *)malloc(1);
        return 0;
    }
    if (hdr(r, "transfer-encoding", v, sizeof v) && strcmp(v, "chunked") == 0) {
        size_t cap = 1024;
        r->chunked = 1;
        r->body = (char *)malloc(cap);
        for (;;) {
            const char *le;
            unsigned long sz;
            while (!(le = (const char *)memchr(c->buf, '\n', c->len)))
                if (cli_fill(c) <= 0) return -1;
            sz = strtoul(c->buf, NULL, 16);
            cli_consume(c, (size_t)(le - c->buf) + 1);
            while (c->len < sz + 2)
                if (cli_fill(c) <= 0) return -1;
            if (r->body_len + sz + 1 > cap) {
                while (r->body_len + sz + 1 > cap) cap *= 2;
                r->body = (char *)realloc(r->body, cap);
            }
            memcpy(r->body + r->body_len, c->buf, sz);
            r->body_len += sz;
            cli_consume(c, sz + 2);
            if (sz == 0) break;
        }
        r->body[r->body_len] = 0;
        return 0;
    }
    if (hdr(r, "content-length", v, sizeof v)) {
        size_t n = (size_t)strtoull(v, NULL, 10);
        while (c->len < n)
            if (cli_fill(c) <= 0) return -1;
        r->body = (char *)malloc(n + 1);
        memcpy(r->body, c->buf, n);
        r->body[n] = 0;
        r->body_len = n;
        cli_consume(c, n);
        return 0;
    }
    /* close-delimited */
    for (;;) {
        int k = cli_fill(c);
        if (k == 0) break;
        if (k < 0) return -1;
    }
    r->body = (char *)malloc(c->len + 1);
    memcpy(r->body, c->buf, c->len);
    r->body[c->len] = 0;
    r->body_len = c->len;
    cli_consume(c, c->len);
    return 0;
}

/* 1 when the server closed the connection (EOF or reset) with no further
 * bytes, 0 otherwise (data or timeout). */
static int cli_closed(cli *c) {
    char b;
    ssize_t n = recv(c->fd, &b, 1, 0);
    if (n == 0) return 1;
    if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) return 1;
    return 0;
}

/* request + response on a fresh connection */
static int roundtrip(int port, const char *req, resp *r) {
    cli c;
    int rc;
    if (cli_open(&c, port) < 0) return -1;
    rc = cli_sends(&c, req) == 0 ? cli_read(&c, r, 0) : -1;
    cli_close(&c);
    return rc;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\n\r\n"

/* ------------------------------------------------------------------------ */
/* tests                                                                     */

static void test_simple_get(void) {
    srv s;
    resp r;
    char v[128];
    REQ(srv_start(&s, NULL) == 0);
    CHECK(roundtrip(s.port, GET("/hello"), &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"message\":\"Hello World\"}");
    CHECK(hdr(&r, "content-type", v, sizeof v) && strcmp(v, "application/json") == 0);
    CHECK(hdr(&r, "server", v, sizeof v) && strcmp(v, "fastrapi") == 0);
    CHECK(hdr(&r, "date", v, sizeof v) && strlen(v) == 29);
    CHECK(hdr(&r, "content-length", v, sizeof v) && strcmp(v, "25") == 0);
    CHECK(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    resp_free(&r);
    CHECK(roundtrip(s.port, GET("/n/12345"), &r) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":12345}");
    resp_free(&r);
    srv_stop(&s);
}

/* fr_route while serving: a route added from another thread is served by
 * the next request, requests in flight on a keep-alive connection keep
 * being answered while the table is replaced, and the usual errors still
 * come back (duplicate, bad pattern). */
typedef struct hammer {
    int port, n, ok;
} hammer;

static void *hammer_main(void *arg) {
    hammer *h = (hammer *)arg;
    cli c;
    int i;
    if (cli_open(&c, h->port) < 0) return NULL;
    for (i = 0; i < h->n; i++) {
        resp r;
        if (cli_sends(&c, GET("/hello")) < 0 || cli_read(&c, &r, 0) < 0) break;
        if (r.status == 200) h->ok++;
        resp_free(&r);
    }
    cli_close(&c);
    return NULL;
}

static void test_route_while_serving(void) {
    srv s;
    resp r;
    hammer hm;
    pthread_t t;
    char path[64], req[128];
    int i, added = 0, served = 0;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 2;
    REQ(srv_start(&s, &cfg) == 0);
    CHECK(roundtrip(s.port, GET("/late/0"), &r) == 0);
    CHECK_EQ_INT(r.status, 404);
    resp_free(&r);
    hm.port = s.port;
    hm.n = 3000;
    hm.ok = 0;
    REQ(pthread_create(&t, NULL, hammer_main, &hm) == 0);
    for (i = 0; i < 100; i++) {
        snprintf(path, sizeof path, "/late/%d", i);
        if (fr_route(s.app, "GET", path, h_hello, NULL) == 0) added++;
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
        if (roundtrip(s.port, req, &r) == 0) {
            if (r.status == 200 && r.body_len == 25) served++;
            resp_free(&r);
        }
    }
    pthread_join(t, NULL);
    CHECK_EQ_INT(added, 100);
    CHECK_EQ_INT(served, 100);
    CHECK_EQ_INT(hm.ok, 3000);
    /* the older routes are all still there, the table was not cut */
    CHECK(roundtrip(s.port, GET("/n/7"), &r) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":7}");
    resp_free(&r);
    CHECK(fr_route(s.app, "GET", "/late/3", h_hello, NULL) == -1); /* duplicate */
    CHECK(strstr(fr_app_last_error(s.app), "/late/3") != NULL);
    CHECK(fr_route(s.app, "GET", "/bad/{x", h_hello, NULL) == -1);
    CHECK(roundtrip(s.port, GET("/late/99"), &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    srv_stop(&s);
}

static void test_keepalive(void) {
    srv s;
    cli c;
    int i;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 2;
    REQ(srv_start(&s, &cfg) == 0);
    REQ(cli_open(&c, s.port) == 0);
    for (i = 0; i < 20; i++) {
        resp r;
        char req[128], want[64];
        snprintf(req, sizeof req, "GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        snprintf(want, sizeof want, "{\"i\":%d}", i);
        CHECK(cli_sends(&c, req) == 0);
        CHECK(cli_read(&c, &r, 0) == 0);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_MEM(r.body, r.body_len, want);
        resp_free(&r);
    }
    cli_close(&c);
    srv_stop(&s);
}

static void test_pipelined(void) {
    srv s;
    cli c;
    resp r;
    int i;
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/n/1") GET("/n/2") "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" GET(
                            "/n/4") "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" GET("/n/6")) == 0);
    for (i = 1; i <= 6; i++) {
        char want[32];
        CHECK(cli_read(&c, &r, i == 5) == 0);
        CHECK_EQ_INT(r.status, 200);
        if (i == 3) {
            CHECK_EQ_MEM(r.body, r.body_len, "hello");
        } else if (i != 5) {
            snprintf(want, sizeof want, "{\"i\":%d}", i);
            CHECK_EQ_MEM(r.body, r.body_len, want);
        }
        resp_free(&r);
    }
    CHECK_EQ_INT(c.len, 0); /* nothing extra (HEAD sent no body) */
    cli_close(&c);
    srv_stop(&s);
}

/* a deep pipeline in one write, with a deferred and a streamed request in
 * the middle: every answer arrives, in order */
static void test_deep_pipeline(void) {
    srv s;
    cli c;
    fr_buf all = {NULL, 0, 0};
    int i, ok = 1;
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    for (i = 0; i < 300; i++) {
        char line[96];
        if (i == 100) snprintf(line, sizeof line, GET("/slow"));
        else if (i == 200) snprintf(line, sizeof line, GET("/stream-inline"));
        else if (i == 250) snprintf(line, sizeof line, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz");
        else snprintf(line, sizeof line, "GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
        fr_buf_append_str(&all, line);
    }
    CHECK(cli_send(&c, all.buf, all.len) == 0);
    fr_buf_free(&all);
    for (i = 0; i < 300 && ok; i++) {
        resp r;
        char want[32];
        if (cli_read(&c, &r, 0) < 0) {
            ok = 0;
            break;
        }
        if (i == 100) ok &= r.status == 201;
        else if (i == 200) ok &= r.body_len == 13 && memcmp(r.body, "one,two,three", 13) == 0;
        else if (i == 250) ok &= r.body_len == 3 && memcmp(r.body, "xyz", 3) == 0;
        else {
            snprintf(want, sizeof want, "{\"i\":%d}", i);
            ok &= r.status == 200 && r.body_len == strlen(want) && memcmp(r.body, want, r.body_len) == 0;
        }
        resp_free(&r);
    }
    CHECK(ok);
    CHECK_EQ_INT(i, 300);
    cli_close(&c);
    srv_stop(&s);
}

static void test_split_bytes(void) {
    srv s;
    cli c;
    resp r;
    size_t i;
    const char *req = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world";
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    for (i = 0; req[i]; i++) {
        CHECK(cli_send(&c, req + i, 1) == 0);
        if (i % 8 == 0) frt_sleep_ms(1);
    }
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_MEM(r.body, r.body_len, "hello world");
    resp_free(&r);
    /* the connection is still usable afterwards */
    CHECK(cli_sends(&c, GET("/hello")) == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    cli_close(&c);
    srv_stop(&s);
}

static void test_chunked_echo(void) {
    srv s;
    cli c;
    resp r;
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
    CHECK(cli_sends(&c, "5\r\nhello\r\n") == 0);
    frt_sleep_ms(5);
    CHECK(cli_sends(&c, "1;ext=1\r\n \r\n6\r\nwor") == 0);
    frt_sleep_ms(5);
    CHECK(cli_sends(&c, "ld!\r\n0\r\nX-Trailer: 1\r\n\r\n" GET("/n/9")) == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_MEM(r.body, r.body_len, "hello world!");
    resp_free(&r);
    CHECK(cli_read(&c, &r, 0) == 0); /* pipelined right after the chunked body */
    CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":9}");
    resp_free(&r);
    /* a large chunked body (grows the read buffer; head views re-parsed) */
    {
        static char big[200000];
        char line[32];
        size_t i;
        for (i = 0; i < sizeof big; i++) big[i] = (char)('A' + i % 23);
        CHECK(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n") == 0);
        for (i = 0; i < sizeof big; i += 10000) {
            snprintf(line, sizeof line, "%x\r\n", 10000);
            CHECK(cli_sends(&c, line) == 0);
            CHECK(cli_send(&c, big + i, 10000) == 0);
            CHECK(cli_sends(&c, "\r\n") == 0);
        }
        CHECK(cli_sends(&c, "0\r\n\r\n") == 0);
        CHECK(cli_read(&c, &r, 0) == 0);
        CHECK_EQ_INT(r.body_len, sizeof big);
        CHECK(r.body_len == sizeof big && memcmp(r.body, big, sizeof big) == 0);
        resp_free(&r);
    }
    /* malformed chunk size: 400 and close */
    CHECK(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n") == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 400);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"detail\":\"Bad Request\"}");
    resp_free(&r);
    CHECK(cli_closed(&c));
    cli_close(&c);
    srv_stop(&s);
}

static void test_expect_continue(void) {
    srv s;
    cli c;
    resp r;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_body_bytes = 100;
    REQ(srv_start(&s, &cfg) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n") == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 100);
    CHECK(strcmp(r.head, "HTTP/1.1 100 Continue\r\n\r\n") == 0);
    resp_free(&r);
    CHECK(cli_sends(&c, "abcde") == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_MEM(r.body, r.body_len, "abcde");
    resp_free(&r);
    /* too large: 413 at once, no 100, connection closed */
    CHECK(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 101\r\n\r\n") ==
          0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 413);
    resp_free(&r);
    CHECK(cli_closed(&c));
    cli_close(&c);
    srv_stop(&s);
}

static void test_not_found_method_redirect(void) {
    srv s;
    resp r;
    char v[256];
    REQ(srv_start(&s, NULL) == 0);
    CHECK(roundtrip(s.port, GET("/nope"), &r) == 0);
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"detail\":\"Not Found\"}");
    CHECK(hdr(&r, "content-type", v, sizeof v) && strcmp(v, "application/json") == 0);
    resp_free(&r);
    CHECK(roundtrip(s.port, "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r) == 0);
    CHECK_EQ_INT(r.status, 405);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"detail\":\"Method Not Allowed\"}");
    CHECK(hdr(&r, "allow", v, sizeof v) && strcmp(v, "GET, PUT") == 0);
    resp_free(&r);
    CHECK(roundtrip(s.port, "GET /hello/?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", &r) == 0);
    CHECK_EQ_INT(r.status, 307);
    CHECK(hdr(&r, "location", v, sizeof v) && strcmp(v, "http://example.com:8080/hello?x=1&y=%20") == 0);
    CHECK_EQ_INT(r.body_len, 0);
    resp_free(&r);
    CHECK(roundtrip(s.port, GET("/dir"), &r) == 0);
    CHECK_EQ_INT(r.status, 307);
    CHECK(hdr(&r, "location", v, sizeof v) && strcmp(v, "http://t/dir/") == 0);
    resp_free(&r);
    /* percent-decoded path routing, query decoding (a repeated key gives
     * its LAST value, as Starlette's query_params[key]), cookies (the last
     * "sid" over every Cookie header, as Starlette 1.x merges them; the
     * first line's is unquoted when no later line has one), headers,
     * client address */
    CHECK(roundtrip(s.port,
                    "GET /info/a%20b/%2Fc?a=1+2%21&b+c=%E2%82%AC&a=second+%2B HTTP/1.1\r\nHost: t\r\n"
                    "Cookie: sid=1; x=2; sid=\"a\\\"b\\101\"\r\nCookie: sid=other\r\nX-Test: yes\r\n\r\n",
                    &r) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_MEM(r.body, r.body_len,
                 "path=/info/a b//c|a=second +|bc=\xE2\x82\xAC|sid=other|x=yes|ip=127.0.0.1|missing=2|port=1");
    resp_free(&r);
    CHECK(roundtrip(s.port,
                    "GET /info/x HTTP/1.1\r\nHost: t\r\nCookie: other=1\r\n"
                    "Cookie: sid=1; x=2; sid=\"a\\\"b\\101\"\r\nCookie: nope2=3\r\n\r\n",
                    &r) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "path=/info/x|a=|bc=|sid=a\"bA|x=|ip=127.0.0.1|missing=2|port=1");
    resp_free(&r);
    CHECK(roundtrip(s.port, GET("/info/plain"), &r) == 0); /* no query, no cookie */
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_MEM(r.body, r.body_len, "path=/info/plain|a=|bc=|sid=|x=|ip=127.0.0.1|missing=2|port=1");
    resp_free(&r);
    /* 204: no body, no content-length */
    CHECK(roundtrip(s.port, GET("/nocontent"), &r) == 0);
    CHECK_EQ_INT(r.status, 204);
    CHECK(!hdr(&r, "content-length", v, sizeof v));
    CHECK(!hdr(&r, "x-bad", v, sizeof v));
    resp_free(&r);
    /* 205: no body either, but framed by content-length: 0; the connection goes on */
    {
        cli c;
        int k;
        REQ(cli_open(&c, s.port) == 0);
        REQ(cli_sends(&c, "GET /reset HTTP/1.1\r\nHost: x\r\n\r\nGET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
        for (k = 0; k < 2; k++) {
            CHECK(cli_read(&c, &r, 0) == 0);
            CHECK_EQ_INT(r.status, k ? 204 : 205);
            if (!k) CHECK(hdr(&r, "content-length", v, sizeof v) && strcmp(v, "0") == 0);
            CHECK_EQ_INT((int)r.body_len, 0);
            resp_free(&r);
        }
        cli_close(&c);
    }
    srv_stop(&s);
}

static void test_fallback_and_server_name(void) {
    srv s;
    resp r;
    fr_config cfg;
    fr_app *app;
    char v[64];
    memset(&cfg, 0, sizeof cfg);
    cfg.server_name = "";
    st_reset();
    app = make_app(&cfg);
    REQ(app != NULL);
    fr_app_set_fallback(app, h_fallback, NULL);
    REQ(srv_start_app(&s, app) == 0);
    CHECK(roundtrip(s.port, GET("/nope"), &r) == 0);
    CHECK_EQ_INT(r.status, 404);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"custom\":1}");
    CHECK(!hdr(&r, "server", v, sizeof v));
    resp_free(&r);
    CHECK(roundtrip(s.port, "POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", &r) == 0);
    CHECK_EQ_INT(r.status, 405);
    resp_free(&r);
    srv_stop(&s);
}

static void test_head(void) {
    srv s;
    cli c;
    resp r;
    char v[64];
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cli_read(&c, &r, 1) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(hdr(&r, "content-length", v, sizeof v) && strcmp(v, "25") == 0);
    resp_free(&r);
    CHECK(cli_sends(&c, "HEAD /stream-inline HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    CHECK(cli_read(&c, &r, 1) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    CHECK(cli_sends(&c, GET("/n/3")) == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":3}"); /* no stray body bytes before it */
    resp_free(&r);
    cli_close(&c);
    srv_stop(&s);
}

static void test_http10(void) {
    srv s;
    cli c;
    resp r;
    char v[64];
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, "GET /hello HTTP/1.0\r\n\r\n") == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(strncmp(r.head, "HTTP/1.0 200", 12) == 0);
    resp_free(&r);
    CHECK(cli_closed(&c));
    cli_close(&c);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK(hdr(&r, "connection", v, sizeof v) && strcmp(v, "keep-alive") == 0);
    resp_free(&r);
    CHECK(cli_sends(&c, "GET /stream-inline HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
    CHECK(cli_read(&c, &r, 0) == 0); /* 1.0 cannot do chunked: close-delimited */
    CHECK_EQ_INT(r.chunked, 0);
    CHECK_EQ_MEM(r.body, r.body_len, "one,two,three");
    resp_free(&r);
    cli_close(&c);
    srv_stop(&s);
}

static void expect_status_close(int port, const char *req, int status) {
    cli c;
    resp r;
    char want[96];
    if (cli_open(&c, port) < 0) {
        CHECK(!"connect");
        return;
    }
    CHECK(cli_sends(&c, req) == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, status);
    snprintf(want, sizeof want, "{\"detail\":\"%s\"}", fr_http_reason(status));
    CHECK_EQ_MEM(r.body ? r.body : "", r.body_len, want);
    resp_free(&r);
    CHECK(cli_closed(&c));
    cli_close(&c);
}

static void test_limits(void) {
    srv s;
    fr_config cfg;
    char big[2048];
    memset(&cfg, 0, sizeof cfg);
    cfg.max_header_bytes = 512;
    cfg.max_headers = 5;
    cfg.max_uri_bytes = 64;
    cfg.max_body_bytes = 100;
    REQ(srv_start(&s, &cfg) == 0);
    /* 431: head bytes */
    memset(big, 'v', sizeof big);
    big[1000] = 0;
    {
        char req[2200];
        snprintf(req, sizeof req, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\n\r\n", big);
        expect_status_close(s.port, req, 431);
    }
    /* 431: header count */
    expect_status_close(s.port,
                        "GET /hello HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n", 431);
    /* 414 */
    {
        char req[2200];
        memset(big, 'a', 200);
        big[200] = 0;
        snprintf(req, sizeof req, "GET /%s HTTP/1.1\r\nHost: t\r\n\r\n", big);
        expect_status_close(s.port, req, 414);
    }
    /* 413 by Content-Length (body never sent) */
    expect_status_close(s.port, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n", 413);
    /* 413 by chunked total */
    expect_status_close(s.port,
                        "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n"
                        "40\r\n0123456789012345678901234567890123456789012345678901234567890123\r\n0\r\n\r\n",
                        413);
    /* exactly at the limit is fine */
    {
        resp r;
        char req[2200];
        memset(big, 'b', 100);
        big[100] = 0;
        snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n%s", big);
        CHECK(roundtrip(s.port, req, &r) == 0);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_INT(r.body_len, 100);
        resp_free(&r);
    }
    /* 431 for a head dribbled in small pieces without line ends */
    {
        cli c;
        resp r;
        int i;
        REQ(cli_open(&c, s.port) == 0);
        CHECK(cli_sends(&c, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Long: ") == 0);
        for (i = 0; i < 60; i++)
            if (cli_sends(&c, "aaaaaaaaaa") < 0) break;
        CHECK(cli_read(&c, &r, 0) == 0);
        CHECK_EQ_INT(r.status, 431);
        resp_free(&r);
        cli_close(&c);
    }
    /* 400: garbage, 505: bad version */
    expect_status_close(s.port, "GARBAGE\r\n\r\n", 400);
    expect_status_close(s.port, "GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
    expect_status_close(s.port, "GET /hello HTTP/1.1\r\n\r\n", 400); /* no Host */
    srv_stop(&s);
}

static void test_timeouts(void) {
    srv s;
    cli c;
    resp r;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.header_timeout_ms = 150;
    cfg.body_timeout_ms = 150;
    cfg.idle_timeout_ms = 150;
    REQ(srv_start(&s, &cfg) == 0);
    /* slow head: 408 then close */
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, "GET /hello HTTP/1.1\r\n") == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 408);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"detail\":\"Request Timeout\"}");
    resp_free(&r);
    CHECK(cli_closed(&c));
    cli_close(&c);
    /* slow body: 408 then close */
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc") == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 408);
    resp_free(&r);
    CHECK(cli_closed(&c));
    cli_close(&c);
    /* idle: closed without a byte */
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_closed(&c));
    CHECK_EQ_INT(c.len, 0);
    cli_close(&c);
    /* idle after a keep-alive response: closed silently too */
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/hello")) == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    CHECK(cli_closed(&c));
    CHECK_EQ_INT(c.len, 0);
    cli_close(&c);
    srv_stop(&s);
}

static void test_max_connections(void) {
    srv s;
    cli a, b, x;
    resp r;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = 2;
    cfg.threads = 1;
    REQ(srv_start(&s, &cfg) == 0);
    REQ(cli_open(&a, s.port) == 0);
    REQ(cli_open(&b, s.port) == 0);
    CHECK(cli_sends(&a, GET("/hello")) == 0 && cli_read(&a, &r, 0) == 0 && r.status == 200);
    resp_free(&r);
    CHECK(cli_sends(&b, GET("/hello")) == 0 && cli_read(&b, &r, 0) == 0 && r.status == 200);
    resp_free(&r);
    REQ(cli_open(&x, s.port) == 0); /* over the cap: 503 (uvicorn's --limit-concurrency), closed */
    CHECK(cli_read(&x, &r, 0) == 0 && r.status == 503);
    resp_free(&r);
    CHECK(cli_closed(&x));
    cli_close(&x);
    /* the held connections still work */
    CHECK(cli_sends(&a, GET("/n/1")) == 0 && cli_read(&a, &r, 0) == 0 && r.status == 200);
    resp_free(&r);
    cli_close(&b);
    /* a slot frees up (bounded retry: the close is noticed asynchronously) */
    {
        int i, ok = 0;
        for (i = 0; i < 100 && !ok; i++) {
            REQ(cli_open(&x, s.port) == 0);
            if (cli_sends(&x, GET("/hello")) == 0 && cli_read(&x, &r, 0) == 0) {
                ok = r.status == 200;
                resp_free(&r);
            }
            cli_close(&x);
            if (!ok) frt_sleep_ms(10);
        }
        CHECK(ok);
    }
    cli_close(&a);
    srv_stop(&s);
}

static void test_deferred(void) {
    srv s;
    cli c;
    resp r;
    char v[32];
    int i;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 2;
    REQ(srv_start(&s, &cfg) == 0);
    REQ(cli_open(&c, s.port) == 0);
    for (i = 0; i < 3; i++) {
        /* pipelined behind a deferred one: answered in order */
        CHECK(cli_sends(&c, GET("/slow") GET("/n/7")) == 0);
        CHECK(cli_read(&c, &r, 0) == 0);
        CHECK_EQ_INT(r.status, 201);
        CHECK_EQ_MEM(r.body, r.body_len, "{\"slow\":true}");
        CHECK(hdr(&r, "x-deferred", v, sizeof v) && strcmp(v, "yes") == 0);
        resp_free(&r);
        CHECK(cli_read(&c, &r, 0) == 0);
        CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":7}");
        resp_free(&r);
    }
    cli_close(&c);
    /* many concurrent deferred requests */
    {
        cli cs[16];
        for (i = 0; i < 16; i++) {
            REQ(cli_open(&cs[i], s.port) == 0);
            CHECK(cli_sends(&cs[i], GET("/slow")) == 0);
        }
        for (i = 0; i < 16; i++) {
            CHECK(cli_read(&cs[i], &r, 0) == 0);
            CHECK_EQ_INT(r.status, 201);
            resp_free(&r);
            cli_close(&cs[i]);
        }
    }
    srv_stop(&s);
}

/* GET /quick: answered at once by a completer thread, so completions land
 * while the loop is busy with the other connections' requests (it then
 * takes them without a wake-up) and while it waits (then it must be woken).
 * A lost wake-up hangs a client until its read times out. */
#define QK_CONNS 8
#define QK_ROUNDS 200
static pthread_mutex_t qk_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qk_cv = PTHREAD_COND_INITIALIZER;
static fr_req *qk_queue[QK_CONNS];
static int qk_n, qk_stop;

static int h_quick(fr_req *req, void *ud) {
    (void)ud;
    pthread_mutex_lock(&qk_mu);
    qk_queue[qk_n++] = req; /* one per connection at a time: never more than QK_CONNS */
    pthread_cond_signal(&qk_cv);
    pthread_mutex_unlock(&qk_mu);
    return FR_PENDING;
}

static void *qk_completer(void *arg) {
    (void)arg;
    pthread_mutex_lock(&qk_mu);
    for (;;) {
        while (qk_n == 0 && !qk_stop) pthread_cond_wait(&qk_cv, &qk_mu);
        if (qk_n == 0) break;
        fr_req *req = qk_queue[--qk_n];
        pthread_mutex_unlock(&qk_mu);
        fr_res_json(req, 200, "{\"quick\":1}", 11);
        pthread_mutex_lock(&qk_mu);
    }
    pthread_mutex_unlock(&qk_mu);
    return NULL;
}

static void test_completions_busy_loop(void) {
    srv s;
    cli cs[QK_CONNS];
    resp r;
    pthread_t comp;
    fr_config cfg;
    int i, k, bad = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    st_reset();
    fr_app *app = make_app(&cfg);
    REQ(app && fr_route(app, "GET", "/quick", h_quick, NULL) == 0);
    REQ(srv_start_app(&s, app) == 0);
    qk_n = qk_stop = 0;
    REQ(pthread_create(&comp, NULL, qk_completer, NULL) == 0);
    for (i = 0; i < QK_CONNS; i++) REQ(cli_open(&cs[i], s.port) == 0);
    for (k = 0; k < QK_ROUNDS && !bad; k++) {
        for (i = 0; i < QK_CONNS; i++) /* odd connections: an inline answer first, pipelined */
            if (cli_sends(&cs[i], i & 1 ? GET("/n/7") GET("/quick") : GET("/quick")) != 0) bad = 1;
        for (i = 0; i < QK_CONNS && !bad; i++) {
            if (i & 1) {
                if (cli_read(&cs[i], &r, 0) != 0 || r.status != 200) bad = 1;
                resp_free(&r);
                if (bad) break;
            }
            if (cli_read(&cs[i], &r, 0) != 0 || r.status != 200 || r.body_len != 11 ||
                memcmp(r.body, "{\"quick\":1}", 11) != 0)
                bad = 1;
            resp_free(&r);
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(k, QK_ROUNDS);
    for (i = 0; i < QK_CONNS; i++) cli_close(&cs[i]);
    pthread_mutex_lock(&qk_mu);
    qk_stop = 1;
    pthread_cond_signal(&qk_cv);
    pthread_mutex_unlock(&qk_mu);
    pthread_join(comp, NULL);
    srv_stop(&s);
}

static void test_deferred_client_gone(void) {
    srv s;
    cli c;
    fr_req *held;
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/hold")) == 0);
    held = st_take_held();
    REQ(held != NULL);
    cli_reset(&c); /* RST: the server sees the connection die */
    frt_sleep_ms(100);
    CHECK_EQ_INT(st_get(&st_done_calls), 0); /* not done until released */
    /* the request is still readable and completable */
    CHECK_EQ_MEM(fr_req_path(held).buf, fr_req_path(held).len, "/hold");
    CHECK(fr_res_json(held, 200, "{\"late\":1}", 10) == FR_DONE);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
    /* same with a plain close (FIN) */
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/hold")) == 0);
    held = st_take_held();
    REQ(held != NULL);
    cli_close(&c);
    frt_sleep_ms(100);
    CHECK(fr_res_send(held) == 0);
    CHECK(st_wait(&st_done_calls, 2));
#if !(defined(FR_USE_POLL) && FR_USE_POLL) /* poll() cannot see a FIN while a request is pending */
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
#endif
    srv_stop(&s);
}

static void test_streaming(void) {
    srv s;
    cli c;
    resp r;
    char v[64];
    int i, ok = 1;
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/stream")) == 0);
    /* read the head, then let the producer hit the backpressure mark */
    while (!find_crlf2(c.buf, c.len))
        if (cli_fill(&c) <= 0) break;
    frt_sleep_ms(100);
    CHECK_EQ_INT(st_get(&st_done_calls), 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(r.chunked);
    CHECK(hdr(&r, "content-type", v, sizeof v) && strcmp(v, "text/plain") == 0);
    CHECK_EQ_INT(r.body_len, (size_t)STREAM_PARTS * STREAM_PART_LEN);
    for (i = 0; i < STREAM_PARTS && r.body_len == (size_t)STREAM_PARTS * STREAM_PART_LEN; i++)
        if (r.body[(size_t)i * STREAM_PART_LEN] != 'a' + i % 26 ||
            r.body[(size_t)i * STREAM_PART_LEN + STREAM_PART_LEN - 1] != 'a' + i % 26)
            ok = 0;
    CHECK(ok);
    resp_free(&r);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 1);
    /* inline stream on the same connection */
    CHECK(cli_sends(&c, GET("/stream-inline")) == 0);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "one,two,three");
    resp_free(&r);
    cli_close(&c);
    /* client gone mid-stream: the producer gets -1 and on_done ok = 0 */
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/stream")) == 0);
    while (!find_crlf2(c.buf, c.len))
        if (cli_fill(&c) <= 0) break;
    cli_reset(&c);
    CHECK(st_wait(&st_done_calls, 2));
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
    srv_stop(&s);
}

static void test_on_done_order(void) {
    srv s;
    cli c;
    size_t got = 0;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.access_log = access_rec;
    REQ(srv_start(&s, &cfg) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/big")) == 0);
    while (!find_crlf2(c.buf, c.len))
        if (cli_fill(&c) <= 0) break;
    frt_sleep_ms(100);
    /* 32 MiB cannot sit in socket buffers: not written yet, so not done */
    CHECK_EQ_INT(st_get(&st_done_calls), 0);
    CHECK_EQ_INT(st_get(&st_free_calls), 0);
    got = c.len - (size_t)(find_crlf2(c.buf, c.len) + 4 - c.buf);
    c.len = 0;
    while (got < BIG_LEN) {
        ssize_t n = recv(c.fd, c.buf, c.cap, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    CHECK_EQ_INT(got, BIG_LEN);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 1);
    CHECK(st_wait(&st_free_calls, 1));
    CHECK_EQ_INT(st_get(&st_free_before_done), 0); /* body released after on_done */
    CHECK(st_wait(&st_log_calls, 1));
    CHECK_EQ_INT(st_get(&st_log_status), 200);
    pthread_mutex_lock(&st_mu);
    CHECK(st_log_bytes > BIG_LEN);
    pthread_mutex_unlock(&st_mu);
    cli_close(&c);
    srv_stop(&s);
}

/* fr_poll mode: the test thread is the loop; clients run in a thread */
typedef struct poll_client {
    int port, done, ok1, ok2;
} poll_client;

static void *poll_client_main(void *arg) {
    poll_client *pc = (poll_client *)arg;
    resp r;
    if (roundtrip(pc->port, GET("/hello"), &r) == 0) {
        pc->ok1 = r.status == 200 && r.body_len == 25;
        resp_free(&r);
    }
    if (roundtrip(pc->port, GET("/slow"), &r) == 0) {
        pc->ok2 = r.status == 201;
        resp_free(&r);
    }
    pthread_mutex_lock(&st_mu);
    pc->done = 1;
    pthread_mutex_unlock(&st_mu);
    return NULL;
}

static void test_poll_mode(void) {
    fr_app *app;
    poll_client pc;
    pthread_t t;
    int i, rc = 0;
    st_reset();
    app = make_app(NULL);
    REQ(app != NULL);
    memset(&pc, 0, sizeof pc);
    pc.port = fr_listen(app, "127.0.0.1", 0);
    REQ(pc.port > 0);
    REQ(pthread_create(&t, NULL, poll_client_main, &pc) == 0);
    for (i = 0; i < 2000 && !st_get(&pc.done); i++) {
        rc = fr_poll(app, 10);
        if (rc < 0) break;
    }
    CHECK(rc >= 0);
    pthread_join(t, NULL);
    CHECK(pc.ok1);
    CHECK(pc.ok2);
    CHECK_EQ_INT(fr_serve(app), -1); /* never mixed */
    fr_stop(app);
    for (i = 0; i < 1000; i++)
        if (fr_poll(app, 10) < 0) break;
    CHECK(i < 1000);
    CHECK_EQ_INT(fr_poll(app, 0), -1);
    bg_join_all();
    fr_app_free(app);
}

static void test_two_apps(void) {
    srv s1, s2;
    resp r;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.server_name = "one";
    REQ(srv_start(&s1, &cfg) == 0);
    cfg.server_name = "two";
    REQ(srv_start_app(&s2, make_app(&cfg)) == 0);
    CHECK(s1.port != s2.port);
    {
        /* an address in use is refused even though the loops share the
         * port with SO_REUSEPORT internally */
        fr_config one;
        fr_app *a3 = make_app(NULL), *a4;
        CHECK(a3 != NULL && fr_listen(a3, "127.0.0.1", s1.port) == -1);
        fr_app_free(a3);
        memset(&one, 0, sizeof one);
        one.threads = 1;
        a4 = make_app(&one);
        CHECK(a4 != NULL && fr_listen(a4, "127.0.0.1", s2.port) == -1);
        fr_app_free(a4);
    }
    {
        char v[32];
        CHECK(roundtrip(s1.port, GET("/hello"), &r) == 0);
        CHECK(hdr(&r, "server", v, sizeof v) && strcmp(v, "one") == 0);
        resp_free(&r);
        CHECK(roundtrip(s2.port, GET("/hello"), &r) == 0);
        CHECK(hdr(&r, "server", v, sizeof v) && strcmp(v, "two") == 0);
        resp_free(&r);
    }
    srv_stop(&s1);
    CHECK(roundtrip(s2.port, GET("/n/2"), &r) == 0); /* the other keeps serving */
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    srv_stop(&s2);
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_start_stop_fds(void) {
    int before = count_fds(), after, i;
    for (i = 0; i < 20; i++) {
        srv s;
        resp r;
        fr_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.threads = 1 + i % 3;
        REQ(srv_start(&s, &cfg) == 0);
        CHECK(roundtrip(s.port, GET("/hello"), &r) == 0);
        CHECK_EQ_INT(r.status, 200);
        resp_free(&r);
        srv_stop(&s);
    }
    /* the same app served, stopped and served again */
    {
        srv s;
        resp r;
        REQ(srv_start(&s, NULL) == 0);
        for (i = 0; i < 3; i++) {
            int k, rc = -1;
            /* a stop closes the listening socket (new clients are refused, not
             * reset); the next fr_serve binds it again: bounded retry */
            for (k = 0; k < 200 && (rc = roundtrip(s.port, GET("/hello"), &r)) != 0; k++) frt_sleep_ms(10);
            CHECK(rc == 0);
            CHECK_EQ_INT(r.status, 200);
            resp_free(&r);
            fr_stop(s.app);
            pthread_join(s.thr, NULL);
            CHECK_EQ_INT(s.rc, 0);
            REQ(pthread_create(&s.thr, NULL, serve_main, &s) == 0);
        }
        srv_stop(&s);
    }
    after = count_fds();
    CHECK_EQ_INT(after, before);
}

static void test_stop_before_serve(void) {
    fr_app *app = make_app(NULL);
    (void)frt_guarded; /* the harness helpers are not needed here */
    (void)frt_guarded_free;
    REQ(app != NULL);
    CHECK(fr_listen(app, "127.0.0.1", 0) > 0);
    fr_stop(app); /* a stop requested before serving makes fr_serve return at once */
    CHECK_EQ_INT(fr_serve(app), 0);
    CHECK(fr_listen(app, "127.0.0.1", 70000) == -1);
    CHECK(fr_listen(app, "not-an-address.invalid", 0) == -1);
    CHECK(fr_route(app, "GET", "/bad/{x:nope}", h_hello, NULL) == -1);
    CHECK(strlen(fr_app_last_error(app)) > 0);
    CHECK(fr_route(app, "GET", "/hello", h_hello, NULL) == -1); /* duplicate */
    fr_app_free(app);
    fr_app_free(NULL);
    fr_stop(NULL);
    CHECK_EQ_INT(fr_poll(NULL, 0), -1);
}

static void test_graceful_stop(void) {
    srv s;
    cli c, idle;
    resp r;
    fr_req *held;
    char v[32];
    REQ(srv_start(&s, NULL) == 0);
    REQ(cli_open(&idle, s.port) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&idle, GET("/hello")) == 0 && cli_read(&idle, &r, 0) == 0);
    resp_free(&r);
    CHECK(cli_sends(&c, GET("/hold")) == 0);
    held = st_take_held();
    REQ(held != NULL);
    fr_stop(s.app);
    CHECK(cli_closed(&idle)); /* idle keep-alive connection closed at once */
    frt_sleep_ms(50);
    CHECK_EQ_INT(s.rc, -99); /* still draining: fr_serve has not returned */
    CHECK(fr_res_json(held, 200, "{\"finished\":1}", 14) == FR_DONE);
    CHECK(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"finished\":1}");
    CHECK(hdr(&r, "connection", v, sizeof v) && strcmp(v, "close") == 0);
    resp_free(&r);
    CHECK(cli_closed(&c));
    pthread_join(s.thr, NULL);
    s.running = 0;
    CHECK_EQ_INT(s.rc, 0);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 1);
    cli_close(&c);
    cli_close(&idle);
    srv_stop(&s);
}

/* drain timeout: a request never released is abandoned after the deadline;
 * fr_app_free then runs its on_done(ok = 0) and frees it */
static void test_drain_timeout(void) {
    srv s;
    cli c;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.drain_timeout_ms = 100;
    REQ(srv_start(&s, &cfg) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/hold")) == 0);
    REQ(st_take_held() != NULL);
    fr_stop(s.app);
    pthread_join(s.thr, NULL);
    s.running = 0;
    CHECK_EQ_INT(s.rc, 0);
    CHECK(cli_closed(&c));
    CHECK_EQ_INT(st_get(&st_done_calls), 0);
    cli_close(&c);
    srv_stop(&s);
    CHECK_EQ_INT(st_get(&st_done_calls), 1);
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
}

/* out of file descriptors: the server pauses accepting (no spin) and
 * recovers once fds are available again */
static void test_emfile(void) {
    srv s;
    cli cs[64];
    struct rlimit old, lim;
    int n = 0, i, ok = 0;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    REQ(srv_start(&s, &cfg) == 0);
    {
        resp r; /* make sure the loop is set up before fds run out */
        CHECK(roundtrip(s.port, GET("/hello"), &r) == 0);
        resp_free(&r);
    }
    REQ(getrlimit(RLIMIT_NOFILE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)count_fds() + 6;
    REQ(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    for (i = 0; i < 64; i++) {
        if (cli_open(&cs[n], s.port) < 0) break;
        n++;
    }
    frt_sleep_ms(250); /* the server runs into EMFILE on the remaining backlog */
    for (i = 0; i < n; i++) cli_close(&cs[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    CHECK(n > 0 && n < 64);
    for (i = 0; i < 100 && !ok; i++) {
        resp r;
        if (roundtrip(s.port, GET("/hello"), &r) == 0) {
            ok = r.status == 200;
            resp_free(&r);
        }
        if (!ok) frt_sleep_ms(20);
    }
    CHECK(ok);
    srv_stop(&s);
}

static void prev_term_handler(int sig) { (void)sig; }

/* SIGTERM stops a serving app; the previous handler is restored after */
static void test_signals(void) {
    srv s;
    resp r;
    struct sigaction sa, old, now;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = prev_term_handler;
    sigemptyset(&sa.sa_mask);
    REQ(sigaction(SIGTERM, &sa, &old) == 0);
    mk_signals = 1;
    REQ(srv_start(&s, NULL) == 0);
    mk_signals = 0;
    CHECK(roundtrip(s.port, GET("/hello"), &r) == 0); /* serving: handlers installed */
    resp_free(&r);
    CHECK(sigaction(SIGTERM, NULL, &now) == 0 && now.sa_handler != prev_term_handler);
    kill(getpid(), SIGTERM);
    pthread_join(s.thr, NULL);
    s.running = 0;
    CHECK_EQ_INT(s.rc, 0);
    CHECK(sigaction(SIGTERM, NULL, &now) == 0 && now.sa_handler == prev_term_handler);
    sigaction(SIGTERM, &old, NULL);
    srv_stop(&s);
}

/* ------------------------------------------------------------------------ */
/* file bodies (fr_res_file)                                                 */

#include <fcntl.h>
#include <sys/stat.h>

#define FT_SIZE (5u * 1024u * 1024u)
static char ft_path[64];
static unsigned char *ft_data;
static int ft_bad_results[6]; /* /file-bad: fr_res_file's answers to bad input */
static int ft_held_fd = -1;   /* /file-hold: fd opened by the handler */

static void ft_cleanup(void) {
    if (ft_path[0]) unlink(ft_path);
    ft_path[0] = 0;
    free(ft_data);
    ft_data = NULL;
}

static int ft_make(void) {
    int fd, i;
    size_t off = 0;
    uint32_t x = 2463534242u;
    if (ft_data) return 0;
    ft_data = (unsigned char *)malloc(FT_SIZE);
    if (!ft_data) return -1;
    atexit(ft_cleanup);
    for (i = 0; i < (int)FT_SIZE; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        ft_data[i] = (unsigned char)(x >> 24);
    }
    snprintf(ft_path, sizeof ft_path, "/tmp/fr_test_file_XXXXXX");
    fd = mkstemp(ft_path);
    if (fd < 0) return -1;
    while (off < FT_SIZE) {
        ssize_t n = write(fd, ft_data + off, FT_SIZE - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    close(fd);
    return 0;
}

static uint64_t ft_q(fr_req *req, const char *key, uint64_t def) {
    fr_str v;
    char tmp[32];
    if (!fr_req_query_get(req, key, &v) || v.len == 0 || v.len >= sizeof tmp) return def;
    memcpy(tmp, v.buf, v.len);
    tmp[v.len] = 0;
    return (uint64_t)strtoull(tmp, NULL, 10);
}

/* GET /file?off=&len= : that range of the test file; the engine closes fd */
static int h_file(fr_req *req, void *ud) {
    int fd = open(ft_path, O_RDONLY);
    uint64_t off = ft_q(req, "off", 0), len = ft_q(req, "len", FT_SIZE - off);
    (void)ud;
    fr_req_on_done(req, on_done_rec, NULL);
    fr_res_header(req, "content-type", "application/octet-stream");
    fr_res_body(req, "replaced", 8); /* fr_res_file replaces it */
    if (fd < 0 || fr_res_file(req, fd, off, len, 1) < 0) {
        if (fd >= 0) close(fd);
        return fr_res_json(req, 500, "{}", 2);
    }
#if defined(FASTRAPI_IMPLEMENTATION_DONE)
    if (ft_q(req, "copy", 0)) req->rfd_nosf = 1; /* white-box: the pread fallback */
#endif
    return FR_DONE;
}

/* GET /pipe?len= : a pipe (sendfile refuses it: the copy fallback) */
static int h_pipe(fr_req *req, void *ud) {
    int p[2];
    size_t len = (size_t)ft_q(req, "len", 50000), off = 0;
    (void)ud;
    if (len > 60000 || pipe(p) < 0) return fr_res_json(req, 500, "{}", 2);
    while (off < len) {
        ssize_t n = write(p[1], ft_data + off, len - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    close(p[1]);
    fr_req_on_done(req, on_done_rec, NULL);
    if (fr_res_file(req, p[0], 0, len, 1) < 0) {
        close(p[0]);
        return fr_res_json(req, 500, "{}", 2);
    }
    return FR_DONE;
}

/* GET /file-bad : every kind of bad argument is refused; then a later
 * fr_res_body replaces an accepted file (whose fd is closed) */
static int h_file_bad(fr_req *req, void *ud) {
    int dfd = open("/tmp", O_RDONLY), wfd = open(ft_path, O_WRONLY), rfd = open(ft_path, O_RDONLY);
    (void)ud;
    ft_bad_results[0] = fr_res_file(req, -1, 0, 1, 1);
    ft_bad_results[1] = fr_res_file(req, dfd, 0, 1, 0);
    ft_bad_results[2] = fr_res_file(req, wfd, 0, 1, 0);
    ft_bad_results[3] = fr_res_file(req, rfd, (uint64_t)1 << 63, 1, 0);
    ft_bad_results[4] = fr_res_file(req, rfd, 10, UINT64_MAX - 5, 0);
    ft_bad_results[5] = fr_res_file(NULL, rfd, 0, 1, 0);
    if (dfd >= 0) close(dfd);
    if (wfd >= 0) close(wfd);
    if (rfd >= 0 && fr_res_file(req, rfd, 0, 100, 1) < 0) close(rfd);
    return fr_res_text(req, 200, "text/plain", "text wins", 9);
}

/* GET /file-hold : opens the file, hands the request to the test thread */
static int h_file_hold(fr_req *req, void *ud) {
    (void)ud;
    fr_req_on_done(req, on_done_rec, NULL);
    pthread_mutex_lock(&st_mu);
    ft_held_fd = open(ft_path, O_RDONLY);
    st_held = req;
    pthread_mutex_unlock(&st_mu);
    return FR_PENDING;
}

static int ft_srv_start(srv *s, const fr_config *cfg) {
    fr_app *app;
    st_reset();
    if (ft_make() < 0) return -1;
    app = make_app(cfg);
    if (!app) return -1;
    if (fr_route(app, "GET", "/file", h_file, NULL) < 0 || fr_route(app, "GET", "/pipe", h_pipe, NULL) < 0 ||
        fr_route(app, "GET", "/file-bad", h_file_bad, NULL) < 0 ||
        fr_route(app, "GET", "/file-hold", h_file_hold, NULL) < 0) {
        fr_app_free(app);
        return -1;
    }
    return srv_start_app(s, app);
}

/* wait (bounded) until the process has `want` open fds */
static int ft_wait_fds(int want) {
    int i;
    for (i = 0; i < 500; i++) {
        if (count_fds() == want) return 1;
        frt_sleep_ms(10);
    }
    return 0;
}

static int ft_same(const resp *r, uint64_t off, uint64_t len) {
    return r->body_len == len && off + len <= FT_SIZE && memcmp(r->body, ft_data + off, (size_t)len) == 0;
}

static void test_file_body(void) {
    srv s;
    cli c;
    resp r;
    char v[64];
    int base;
    REQ(ft_srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/hello")) == 0); /* the server has accepted */
    REQ(cli_read(&c, &r, 0) == 0);
    resp_free(&r);
    base = count_fds();
    /* whole 5 MB file, byte for byte */
    CHECK(cli_sends(&c, GET("/file")) == 0);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(hdr(&r, "content-length", v, sizeof v) && strcmp(v, "5242880") == 0);
    CHECK(hdr(&r, "content-type", v, sizeof v) && strcmp(v, "application/octet-stream") == 0);
    CHECK(!hdr(&r, "transfer-encoding", v, sizeof v));
    CHECK(ft_same(&r, 0, FT_SIZE));
    resp_free(&r);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 1);
    /* keep-alive: a subrange on the same connection */
    CHECK(cli_sends(&c, GET("/file?off=123457&len=99999")) == 0);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(ft_same(&r, 123457, 99999));
    resp_free(&r);
    /* empty range, and the file's last byte */
    CHECK(cli_sends(&c, GET("/file?off=5&len=0") GET("/file?off=5242879&len=1")) == 0);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK(hdr(&r, "content-length", v, sizeof v) && strcmp(v, "0") == 0);
    CHECK_EQ_INT((int)r.body_len, 0);
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK(ft_same(&r, FT_SIZE - 1, 1));
    resp_free(&r);
    /* HEAD: the length, no body bytes (the next answer follows at once) */
    CHECK(cli_sends(&c, "HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n" GET("/hello")) == 0);
    REQ(cli_read(&c, &r, 1) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(hdr(&r, "content-length", v, sizeof v) && strcmp(v, "5242880") == 0);
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"message\":\"Hello World\"}");
    resp_free(&r);
    /* the pread + send fallback (forced in the amalgamated build) */
    CHECK(cli_sends(&c, GET("/file?copy=1") GET("/file?copy=1&off=70000&len=100001")) == 0);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK(ft_same(&r, 0, FT_SIZE));
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK(ft_same(&r, 70000, 100001));
    resp_free(&r);
    /* pipelined around file answers: in order */
    CHECK(cli_sends(&c, GET("/file?off=1000&len=300000") GET("/n/1") GET("/file?off=7&len=10") GET("/n/2")
                            GET("/pipe?len=50000") GET("/n/3")) == 0);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK(ft_same(&r, 1000, 300000));
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":1}");
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK(ft_same(&r, 7, 10));
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":2}");
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK(ft_same(&r, 0, 50000)); /* pipe: copied, not sendfile'd */
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":3}");
    resp_free(&r);
    /* every fd the handlers opened was closed by the engine */
    CHECK(ft_wait_fds(base));
    cli_close(&c);
    srv_stop(&s);
}

static void test_file_bad_input(void) {
    srv s;
    cli c;
    resp r;
    int base, i;
    REQ(ft_srv_start(&s, NULL) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/hello")) == 0); /* the server has accepted */
    REQ(cli_read(&c, &r, 0) == 0);
    resp_free(&r);
    base = count_fds();
    CHECK(cli_sends(&c, GET("/file-bad")) == 0);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK_EQ_MEM(r.body, r.body_len, "text wins");
    resp_free(&r);
    for (i = 0; i < 6; i++) CHECK_EQ_INT(ft_bad_results[i], -1);
    CHECK(ft_wait_fds(base));
    /* a file shorter than promised: the bytes there are, then the
     * connection is closed and on_done reports failure */
    CHECK(cli_sends(&c, GET("/file?off=5242000&len=1000")) == 0);
    REQ(cli_read(&c, &r, 1) == 0);
    CHECK_EQ_INT(r.status, 200);
    resp_free(&r);
    while (c.len < 880 && cli_fill(&c) > 0) {
    }
    CHECK_EQ_INT((int)c.len, 880);
    CHECK(c.len == 880 && memcmp(c.buf, ft_data + 5242000, 880) == 0);
    c.len = 0;
    CHECK(cli_closed(&c));
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
    cli_close(&c);
    CHECK(ft_wait_fds(base - 2)); /* both ends of the connection are gone */
    srv_stop(&s);
}

/* open a client whose receive buffer is tiny (set before connect) */
static int ft_cli_small(cli *c, int port) {
    memset(c, 0, sizeof *c);
    c->fd = frt_connect(port, 4096);
    if (c->fd < 0) return -1;
    c->cap = 1 << 16;
    c->buf = (char *)malloc(c->cap);
    return c->buf ? 0 : -1;
}

static void test_file_slow_reader(void) {
    srv s;
    cli c;
    resp r;
    int base, round;
    REQ(ft_srv_start(&s, NULL) == 0);
    REQ(ft_cli_small(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/hello")) == 0); /* the server has accepted */
    REQ(cli_read(&c, &r, 0) == 0);
    resp_free(&r);
    base = count_fds();
    for (round = 0; round < 3; round++) {
        /* read the head and the body in small pieces, pausing often: the
         * server's socket fills up (EAGAIN) many times */
        const char *e;
        size_t got = 0, hl;
        unsigned char *body = (unsigned char *)malloc(FT_SIZE);
        int reads = 0, ok = 1;
        REQ(body != NULL);
        CHECK(cli_sends(&c, round == 1   ? GET("/file") "HEAD /file HTTP/1.1\r\nHost: t\r\n\r\n"
                            : round == 2 ? GET("/file?copy=1")
                                         : GET("/file")) == 0);
        while (!(e = find_crlf2(c.buf, c.len)))
            if (cli_fill(&c) <= 0) break;
        REQ(e != NULL);
        hl = (size_t)(e - c.buf) + 4;
        CHECK(strncmp(c.buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
        cli_consume(&c, hl);
        got = c.len < FT_SIZE ? c.len : FT_SIZE;
        memcpy(body, c.buf, got);
        cli_consume(&c, got);
        while (got < FT_SIZE) {
            size_t want = FT_SIZE - got < 2048 ? FT_SIZE - got : 2048;
            ssize_t n = recv(c.fd, body + got, want, 0);
            if (n <= 0) {
                ok = 0;
                break;
            }
            got += (size_t)n;
            if (++reads % 64 == 0) frt_sleep_ms(1);
        }
        CHECK(ok);
        CHECK(got == FT_SIZE && memcmp(body, ft_data, FT_SIZE) == 0);
        free(body);
        if (round == 1) { /* the pipelined HEAD after the slow file */
            REQ(cli_read(&c, &r, 1) == 0);
            CHECK_EQ_INT(r.status, 200);
            resp_free(&r);
        }
    }
    CHECK(st_wait(&st_done_calls, 4));
    CHECK_EQ_INT(st_get(&st_done_ok), 1);
    CHECK(ft_wait_fds(base));
    cli_close(&c);
    srv_stop(&s);
}

static void test_file_client_gone(void) {
    srv s;
    cli p;
    resp r;
    int base, i;
    REQ(ft_srv_start(&s, NULL) == 0);
    REQ(cli_open(&p, s.port) == 0); /* the loop is up and has accepted */
    CHECK(cli_sends(&p, GET("/hello")) == 0);
    REQ(cli_read(&p, &r, 0) == 0);
    resp_free(&r);
    base = count_fds();
    for (i = 0; i < 4; i++) {
        cli c;
        char tmp[8192];
        REQ(ft_cli_small(&c, s.port) == 0);
        CHECK(cli_sends(&c, GET("/file")) == 0);
        CHECK(recv(c.fd, tmp, sizeof tmp, 0) > 0); /* the transfer has begun */
        frt_sleep_ms(20);                               /* the server blocks on a full socket */
        if (i % 2) cli_reset(&c);                   /* RST */
        else cli_close(&c);                         /* close with unread data */
        CHECK(st_wait(&st_done_calls, i + 1));
        CHECK_EQ_INT(st_get(&st_done_ok), 0);
        CHECK(ft_wait_fds(base)); /* file fd and socket both closed */
    }
    cli_close(&p);
    srv_stop(&s);
}

static void test_file_deferred(void) {
    srv s;
    cli c;
    resp r;
    fr_req *held;
    int base, fd, base0 = count_fds();
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 2;
    cfg.drain_timeout_ms = 100;
    REQ(ft_srv_start(&s, &cfg) == 0);
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/hello")) == 0); /* the server has accepted */
    REQ(cli_read(&c, &r, 0) == 0);
    resp_free(&r);
    base = count_fds();
    /* completed from this thread; a pipelined request waits behind it */
    CHECK(cli_sends(&c, GET("/file-hold") GET("/n/5")) == 0);
    held = st_take_held();
    REQ(held != NULL);
    pthread_mutex_lock(&st_mu);
    fd = ft_held_fd;
    pthread_mutex_unlock(&st_mu);
    REQ(fd >= 0);
    CHECK(fr_res_file(held, fd, 4096, 2000000, 1) == 0);
    CHECK(fr_res_send(held) == 0);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_INT(r.status, 200);
    CHECK(ft_same(&r, 4096, 2000000));
    resp_free(&r);
    REQ(cli_read(&c, &r, 0) == 0);
    CHECK_EQ_MEM(r.body, r.body_len, "{\"i\":5}");
    resp_free(&r);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 1);
    CHECK(ft_wait_fds(base));
    /* the client goes away while the request is pending: the file set
     * afterwards is still closed when the request is released */
    CHECK(cli_sends(&c, GET("/file-hold")) == 0);
    held = st_take_held();
    REQ(held != NULL);
    cli_reset(&c);
    frt_sleep_ms(50);
    pthread_mutex_lock(&st_mu);
    fd = ft_held_fd;
    pthread_mutex_unlock(&st_mu);
    CHECK(fr_res_file(held, fd, 0, FT_SIZE, 1) == 0);
    CHECK(fr_res_send(held) == 0);
    CHECK(st_wait(&st_done_calls, 2));
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
    CHECK(ft_wait_fds(base - 2)); /* both ends of the connection, and the file */
    /* never sent: the app is stopped and freed with the file set */
    REQ(cli_open(&c, s.port) == 0);
    CHECK(cli_sends(&c, GET("/file-hold")) == 0);
    held = st_take_held();
    REQ(held != NULL);
    pthread_mutex_lock(&st_mu);
    fd = ft_held_fd;
    pthread_mutex_unlock(&st_mu);
    CHECK(fr_res_file(held, fd, 0, 10, 1) == 0);
    cli_close(&c);
    srv_stop(&s);
    CHECK_EQ_INT(st_get(&st_done_calls), 3);
    CHECK(ft_wait_fds(base0)); /* no sockets, no loop fds, no file fd */
}

/* sendfile(2) to a peer that is gone raises SIGPIPE (it has no
 * MSG_NOSIGNAL): the engine must swallow it and leave the mask as it was.
 * White-box (amalgamated build only, Linux). */
static void test_file_sigpipe(void) {
#if defined(FASTRAPI_IMPLEMENTATION_DONE) && defined(FR__SENDFILE)
    int sv[2], fd;
    uint64_t off = 0;
    ssize_t n;
    sigset_t before, after, pend;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL; /* a real SIGPIPE would kill the test */
    sigemptyset(&sa.sa_mask);
    REQ(sigaction(SIGPIPE, &sa, &old) == 0);
    REQ(ft_make() == 0);
    REQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fd = open(ft_path, O_RDONLY);
    REQ(fd >= 0);
    close(sv[1]);
    pthread_sigmask(SIG_SETMASK, NULL, &before);
    n = fr__sendfile(sv[0], fd, &off, 100);
    CHECK(n < 0 && errno == EPIPE);
    CHECK(off == 0);
    pthread_sigmask(SIG_SETMASK, NULL, &after);
    CHECK(sigismember(&after, SIGPIPE) == sigismember(&before, SIGPIPE));
    sigpending(&pend);
    CHECK(!sigismember(&pend, SIGPIPE));
    close(sv[0]);
    /* and to a live peer it sends, advancing the offset */
    REQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    off = 10;
    n = fr__sendfile(sv[0], fd, &off, 100);
    CHECK(n == 100 && off == 110);
    {
        unsigned char got[100];
        CHECK(recv(sv[1], got, sizeof got, MSG_WAITALL) == 100 && memcmp(got, ft_data + 10, 100) == 0);
    }
    close(sv[0]);
    close(sv[1]);
    close(fd);
    sigaction(SIGPIPE, &old, NULL);
#endif
}

/* keep-alive steady state: no allocation per request */
static void test_no_alloc_per_request(void) {
#if defined(FASTRAPI_IMPLEMENTATION_DONE)
    srv s;
    cli c;
    int i, ok = 1;
    long before = 0;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    REQ(srv_start(&s, &cfg) == 0);
    REQ(cli_open(&c, s.port) == 0);
    for (i = 0; i < 600; i++) {
        resp r;
        if (i == 100) before = atomic_load(&frt_allocs);
        if (cli_sends(&c, i % 2 ? GET("/hello") : GET("/n/42")) < 0 || cli_read(&c, &r, 0) < 0) {
            ok = 0;
            break;
        }
        ok &= r.status == 200;
        resp_free(&r);
    }
    CHECK(ok);
    CHECK_EQ_INT(atomic_load(&frt_allocs), before);
    cli_close(&c);
    srv_stop(&s);
#endif
}

/* ------------------------------------------------------------------------ */
/* requests from memory (fr_dispatch) and their sinks                        */

/* A sink that records everything it is given and checks the order of
 * calls: start once before any body, nothing after more = 0 or a -1. */
typedef struct tsink {
    pthread_mutex_t mu;
    int starts, bodies, more_bodies, finals, order_bad, status;
    int fail_at; /* return -1 from the fail_at-th body call (1-based); 0 never */
    int full_at; /* return FR_STREAM_FULL from the full_at-th body call; 0 never */
    int failed;
    size_t max_piece;
    char head[4096]; /* "name: value\r\n" per header, as given to start */
    size_t head_len;
    fr_buf body;
    pthread_t start_thr, final_thr;
} tsink;

static void ts_init(tsink *t) {
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
}

static void ts_free(tsink *t) {
    fr_buf_free(&t->body);
    pthread_mutex_destroy(&t->mu);
}

static void ts_start(void *ud, int status, const fr_header *h, size_t n) {
    tsink *t = (tsink *)ud;
    size_t i;
    pthread_mutex_lock(&t->mu);
    if (t->starts || t->bodies || t->failed) t->order_bad = 1;
    t->starts++;
    t->status = status;
    t->start_thr = pthread_self();
    for (i = 0; i < n; i++) {
        int k = snprintf(t->head + t->head_len, sizeof t->head - t->head_len, "%.*s: %.*s\r\n",
                         (int)h[i].name.len, h[i].name.buf, (int)h[i].value.len,
                         h[i].value.buf ? h[i].value.buf : "");
        if (k > 0 && (size_t)k < sizeof t->head - t->head_len) t->head_len += (size_t)k;
    }
    pthread_mutex_unlock(&t->mu);
}

static int ts_body(void *ud, const char *data, size_t len, int more) {
    tsink *t = (tsink *)ud;
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    if (!t->starts || t->finals || t->failed || (len && !data)) t->order_bad = 1;
    t->bodies++;
    if (len > t->max_piece) t->max_piece = len;
    if (len) fr_buf_append(&t->body, data, len);
    if (more) {
        t->more_bodies++;
    } else {
        t->finals++;
        t->final_thr = pthread_self();
    }
    if (t->fail_at && t->bodies == t->fail_at) {
        t->failed = 1;
        rc = -1;
    }
    if (t->full_at && t->bodies == t->full_at) rc = FR_STREAM_FULL;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static int ts_get(tsink *t, int *v) {
    int r;
    pthread_mutex_lock(&t->mu);
    r = *v;
    pthread_mutex_unlock(&t->mu);
    return r;
}

/* bounded wait until the sink got its last call (or failed) */
static int ts_wait(tsink *t) {
    int i;
    for (i = 0; i < 500; i++) {
        if (ts_get(t, &t->finals) || ts_get(t, &t->failed)) return 1;
        frt_sleep_ms(10);
    }
    return 0;
}

/* the value of header `name` as given to start ("" when absent: 0) */
static int ts_hdr(const tsink *t, const char *name, char *out, size_t outsz) {
    resp r;
    memset(&r, 0, sizeof r);
    snprintf(r.head, sizeof r.head, "HTTP/1.1 %d X\r\n%.*s\r\n", t->status, (int)t->head_len, t->head);
    return hdr(&r, name, out, outsz);
}

/* Split a raw request ("GET /x HTTP/1.1\r\nName: v\r\n\r\nbody") into a
 * descriptor. Views into `raw`; hs has room for 64 fields. */
static void desc_from_raw(const char *raw, fr_request_desc *d, fr_header *hs) {
    const char *p = raw, *sp, *le, *end = raw + strlen(raw);
    memset(d, 0, sizeof *d);
    sp = strchr(p, ' ');
    d->method.buf = p;
    d->method.len = (size_t)(sp - p);
    p = sp + 1;
    sp = strchr(p, ' ');
    d->target.buf = p;
    d->target.len = (size_t)(sp - p);
    d->http10 = strncmp(sp + 1, "HTTP/1.0", 8) == 0;
    p = strstr(sp, "\r\n") + 2;
    d->headers = hs;
    while (p < end && !(p[0] == '\r' && p[1] == '\n')) {
        const char *colon = strchr(p, ':'), *v = colon + 1;
        le = strstr(p, "\r\n");
        while (*v == ' ') v++;
        hs[d->nheaders].name.buf = p;
        hs[d->nheaders].name.len = (size_t)(colon - p);
        hs[d->nheaders].value.buf = v;
        hs[d->nheaders].value.len = (size_t)(le - v);
        if (d->nheaders < 63) d->nheaders++;
        p = le + 2;
    }
    p += 2;
    d->body.buf = p;
    d->body.len = (size_t)(end - p);
    d->client_addr = FR_STR("127.0.0.1");
    d->client_port = 40000;
}

/* dispatch a raw request to a fresh sink and wait (bounded) for its end */
static int dispatch_raw(fr_app *app, const char *raw, tsink *t) {
    fr_request_desc d;
    fr_header hs[64];
    fr_sink s;
    int rc;
    desc_from_raw(raw, &d, hs);
    s.start = ts_start;
    s.body = ts_body;
    s.ud = t;
    rc = fr_dispatch(app, &d, &s);
    if (rc == 0 && !ts_wait(t)) rc = -2;
    return rc;
}

/* The socket answer without date/server/connection lines: the header lines
 * after the status line, as a sink would get them. */
static void strip_socket_head(const resp *r, char *out, size_t outsz) {
    const char *p = strstr(r->head, "\r\n") + 2;
    size_t n = 0;
    while (*p && !(p[0] == '\r' && p[1] == '\n')) {
        const char *le = strstr(p, "\r\n") + 2;
        if (strncmp(p, "date:", 5) != 0 && strncmp(p, "server:", 7) != 0 && strncmp(p, "connection:", 11) != 0 &&
            n + (size_t)(le - p) < outsz) {
            memcpy(out + n, p, (size_t)(le - p));
            n += (size_t)(le - p);
        }
        p = le;
    }
    out[n] = 0;
}

/* CHECK_EQ_MEM for a long expected text held in an array */
static void check_mem_line(int line, const char *got, size_t gl, const char *want) {
    if (gl == strlen(want) && (gl == 0 || memcmp(got, want, gl) == 0)) return;
    if (!frt__failed)
        snprintf(frt__msg, sizeof frt__msg, "line %d: got \"%.*s\" want \"%.200s\"", line,
                 (int)(gl > 200 ? 200 : gl), got ? got : "", want);
    frt__failed = 1;
}
#define CHECK_MEM_LONG(got, gl, want) check_mem_line(__LINE__, (got), (gl), (want))

/* the same raw request over a socket and through fr_dispatch: same
 * status, same headers (minus date/server/connection), same body bytes */
static void same_both_ways(int port, fr_app *app, const char *raw) {
    resp r;
    tsink t;
    char want[4096];
    int head = strncmp(raw, "HEAD ", 5) == 0;
    cli c;
    ts_init(&t);
    if (cli_open(&c, port) < 0 || cli_sends(&c, raw) < 0 || cli_read(&c, &r, head) < 0) {
        snprintf(frt__msg, sizeof frt__msg, "socket request failed: %.60s", raw);
        frt__failed = 1;
        cli_close(&c);
        ts_free(&t);
        return;
    }
    cli_close(&c);
    strip_socket_head(&r, want, sizeof want);
    CHECK_EQ_INT(dispatch_raw(app, raw, &t), 0);
    CHECK_EQ_INT(t.status, r.status);
    CHECK_MEM_LONG(t.head, t.head_len, want);
    CHECK_EQ_INT(t.body.len, r.body_len);
    CHECK(r.body_len == 0 || (t.body.buf && memcmp(t.body.buf, r.body, r.body_len) == 0));
    CHECK_EQ_INT(t.starts, 1);
    CHECK_EQ_INT(t.finals, 1);
    CHECK_EQ_INT(t.order_bad, 0);
    if (frt__failed && !strstr(frt__msg, "raw=")) {
        size_t l = strlen(frt__msg);
        snprintf(frt__msg + l, sizeof frt__msg - l, " raw=%.60s", raw);
    }
    resp_free(&r);
    ts_free(&t);
}

/* GET /headers : every request header as "name=value;" (names as given),
 * HTTP minor, scheme, and with ?port=1 the client port */
static int h_headers(fr_req *req, void *ud) {
    char b[1024];
    size_t i, n = 0;
    fr_str name, value;
    (void)ud;
    for (i = 0; fr_req_header_at(req, i, &name, &value) == 0 && n < 900; i++)
        n += (size_t)snprintf(b + n, sizeof b - n, "%.*s=%.*s;", (int)name.len, name.buf, (int)value.len,
                              value.buf);
    n += (size_t)snprintf(b + n, sizeof b - n, "minor=%d;scheme=%.*s", fr_req_http_minor(req),
                          (int)fr_req_scheme(req).len, fr_req_scheme(req).buf);
    if (fr_req_query_get(req, "port", NULL))
        n += (size_t)snprintf(b + n, sizeof b - n, ";port=%d", fr_req_client_port(req));
    fr_res_status(req, 202);
    fr_res_header(req, "X-Custom", "Mixed");
    fr_res_header(req, "content-type", "text/plain");
    fr_res_body(req, b, n);
    return FR_DONE; /* no fr_res_send: the engine sends on return */
}

/* streamed from a worker thread: 3 writes; results kept for the test */
static int sw_results[5];

static void *stream3_worker(void *arg) {
    fr_req *req = (fr_req *)arg;
    int r0 = fr_res_stream_begin(req), r1, r2, r3, r4;
    r1 = fr_res_stream_write(req, "alpha,", 6);
    r2 = fr_res_stream_write(req, "", 0); /* nothing: no sink call */
    r2 |= fr_res_stream_write(req, "beta,", 5);
    r3 = fr_res_stream_write(req, "gamma", 5);
    r4 = fr_res_stream_end(req);
    pthread_mutex_lock(&st_mu);
    sw_results[0] = r0;
    sw_results[1] = r1;
    sw_results[2] = r2;
    sw_results[3] = r3;
    sw_results[4] = r4;
    pthread_mutex_unlock(&st_mu);
    return NULL;
}

static int h_stream3(fr_req *req, void *ud) {
    (void)ud;
    fr_req_on_done(req, on_done_rec, NULL);
    fr_res_header(req, "content-type", "text/plain");
    bg_start(stream3_worker, req);
    return FR_PENDING;
}

/* on_done that checks the sink's last call came first */
static tsink *od_sink;
static int od_after_final, od_calls, od_ok;

static void on_done_order(fr_req *req, int ok, void *ud) {
    (void)req;
    (void)ud;
    pthread_mutex_lock(&st_mu);
    od_calls++;
    od_ok = ok;
    od_after_final = od_sink && ts_get(od_sink, &od_sink->finals) == 1;
    pthread_mutex_unlock(&st_mu);
}

static int h_order(fr_req *req, void *ud) {
    (void)ud;
    fr_req_on_done(req, on_done_order, NULL);
    return fr_res_json(req, 200, "{\"ok\":1}", 8);
}

static int h_order_pending(fr_req *req, void *ud) {
    (void)ud;
    fr_req_on_done(req, on_done_order, NULL);
    pthread_mutex_lock(&st_mu);
    st_held = req;
    pthread_mutex_unlock(&st_mu);
    return FR_PENDING;
}

/* GET /nested : a socket handler that dispatches GET /hello on its own app */
static int h_nested(fr_req *req, void *ud) {
    tsink t;
    fr_request_desc d;
    fr_sink s;
    int rc;
    (void)ud;
    ts_init(&t);
    memset(&d, 0, sizeof d);
    d.method = FR_STR("GET");
    d.target = FR_STR("/hello");
    s.start = ts_start;
    s.body = ts_body;
    s.ud = &t;
    rc = fr_dispatch(fr_req_app(req), &d, &s);
    if (rc != 0 || t.finals != 1) rc = fr_res_json(req, 500, "{}", 2);
    else rc = fr_res_text(req, 200, "application/json", t.body.buf, t.body.len);
    ts_free(&t);
    return rc;
}

static fr_app *make_dispatch_app(const fr_config *cfg) {
    fr_app *app;
    st_reset();
    if (ft_make() < 0) return NULL;
    app = make_app(cfg);
    if (!app) return NULL;
    if (fr_route(app, "GET", "/headers", h_headers, NULL) < 0 || fr_route(app, "GET", "/stream3", h_stream3, NULL) < 0 ||
        fr_route(app, "GET", "/order", h_order, NULL) < 0 ||
        fr_route(app, "GET", "/order-pending", h_order_pending, NULL) < 0 ||
        fr_route(app, "GET", "/nested", h_nested, NULL) < 0 || fr_route(app, "GET", "/file", h_file, NULL) < 0 ||
        fr_route(app, "GET", "/pipe", h_pipe, NULL) < 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

static void test_dispatch_inline(void) {
    fr_app *app = make_dispatch_app(NULL); /* never listens nor serves */
    tsink t;
    char v[128];
    REQ(app != NULL);
    /* JSON helper */
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, GET("/hello"), &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_MEM(t.head, t.head_len, "content-type: application/json\r\ncontent-length: 25\r\n");
    CHECK_EQ_MEM(t.body.buf, t.body.len, "{\"message\":\"Hello World\"}");
    CHECK_EQ_INT(t.bodies, 1); /* one call, more = 0 */
    CHECK_EQ_INT(t.finals, 1);
    CHECK(pthread_equal(t.start_thr, pthread_self()) && pthread_equal(t.final_thr, pthread_self()));
    ts_free(&t);
    /* path params */
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, GET("/n/77"), &t), 0);
    CHECK_EQ_MEM(t.body.buf, t.body.len, "{\"i\":77}");
    ts_free(&t);
    /* decoded path, query (last value of a repeated key), cookie, a header
     * sent as "X-TeSt", the client address of the descriptor */
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app,
                              "GET /info/a%20b/%2Fc?a=1+2%21&b+c=%E2%82%AC&a=second+%2B HTTP/1.1\r\nHost: t\r\n"
                              "Cookie: sid=1; x=2; sid=\"a\\\"b\\101\"\r\nX-TeSt: yes\r\n\r\n",
                              &t),
                 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_MEM(t.body.buf, t.body.len,
                 "path=/info/a b//c|a=second +|bc=\xE2\x82\xAC|sid=a\"bA|x=yes|ip=127.0.0.1|missing=2|port=1");
    ts_free(&t);
    /* headers kept as given (names in any case), FR_DONE without
     * fr_res_send, response headers as set, HTTP/1.0, scheme */
    {
        fr_header hs[3] = {{FR_STR("HoSt"), FR_STR("example.com")},
                           {FR_STR("x-lower"), FR_STR("  padded\t")},
                           {FR_STR("X-UPPER"), FR_STR("")}};
        fr_request_desc d;
        fr_sink s = {ts_start, ts_body, NULL};
        memset(&d, 0, sizeof d);
        d.method = FR_STR("GET");
        d.target = FR_STR("/headers?port=1");
        d.headers = hs;
        d.nheaders = 3;
        d.http10 = 1;
        d.scheme = FR_STR("https");
        d.client_port = 1234;
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.finals, 1);
        CHECK_EQ_INT(t.status, 202);
        CHECK_EQ_MEM(t.body.buf, t.body.len,
                     "HoSt=example.com;x-lower=padded;X-UPPER=;minor=0;scheme=https;port=1234");
        CHECK(ts_hdr(&t, "X-Custom", v, sizeof v) && strcmp(v, "Mixed") == 0);
        CHECK(strstr(t.head, "X-Custom: Mixed\r\n") != NULL); /* name as set */
        CHECK(ts_hdr(&t, "content-length", v, sizeof v) && (size_t)atoi(v) == t.body.len);
        ts_free(&t);
    }
    /* body echo; a body with NUL bytes is copied whole */
    ts_init(&t);
    {
        static const char raw[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhe\0lo";
        fr_request_desc d;
        fr_header hs[64];
        fr_sink s = {ts_start, ts_body, NULL};
        desc_from_raw(raw, &d, hs);
        d.body.len = 5; /* strlen stopped at the NUL */
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.body.len, 5);
        CHECK(t.body.buf && memcmp(t.body.buf, "he\0lo", 5) == 0);
    }
    ts_free(&t);
    /* no Host header: accepted (an ASGI scope may have none); redirect
     * location is then relative; the https scheme in an absolute one */
    {
        fr_request_desc d;
        fr_sink s = {ts_start, ts_body, NULL};
        fr_header hs[1] = {{FR_STR("host"), FR_STR("example.com:8443")}};
        memset(&d, 0, sizeof d);
        d.method = FR_STR("GET");
        d.target = FR_STR("/dir?q=1");
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.status, 307);
        CHECK(ts_hdr(&t, "location", v, sizeof v) && strcmp(v, "/dir/?q=1") == 0);
        ts_free(&t);
        d.headers = hs;
        d.nheaders = 1;
        d.scheme = FR_STR("https");
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK(ts_hdr(&t, "location", v, sizeof v) && strcmp(v, "https://example.com:8443/dir/?q=1") == 0);
        ts_free(&t);
        d.headers = NULL;
        d.nheaders = 0;
        d.target = FR_STR("/headers?port=1");
        d.scheme.len = 0;
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_MEM(t.body.buf, t.body.len, "minor=1;scheme=http;port=0"); /* no host shows */
        ts_free(&t);
    }
    /* bad descriptors: -1 and the sink is never called */
    {
        fr_request_desc d;
        fr_sink s = {ts_start, ts_body, NULL}, nostart = {NULL, ts_body, NULL};
        fr_header bad[1] = {{{NULL, 3}, FR_STR("v")}};
        ts_init(&t);
        s.ud = &t;
        memset(&d, 0, sizeof d);
        d.method = FR_STR("GET");
        d.target = FR_STR("/hello");
        CHECK_EQ_INT(fr_dispatch(NULL, &d, &s), -1);
        CHECK_EQ_INT(fr_dispatch(app, NULL, &s), -1);
        CHECK_EQ_INT(fr_dispatch(app, &d, NULL), -1);
        CHECK_EQ_INT(fr_dispatch(app, &d, &nostart), -1);
        d.nheaders = 1; /* headers NULL */
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), -1);
        d.headers = bad;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), -1);
        d.nheaders = 0;
        d.body.len = 4; /* buf NULL */
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), -1);
        CHECK_EQ_INT(t.starts + t.bodies, 0);
        /* an empty method or target is a request the parser refuses: 400 */
        d.body.len = 0;
        d.method.len = 0;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.status, 400);
        CHECK_EQ_MEM(t.body.buf, t.body.len, "{\"detail\":\"Bad Request\"}");
        ts_free(&t);
    }
    fr_app_free(app);
}

/* header fields and lines a request line could not carry: 400, never a
 * second header or request smuggled through */
static void test_dispatch_bad_bytes(void) {
    fr_app *app = make_dispatch_app(NULL);
    static const struct {
        const char *name, *value, *method, *target;
    } cases[] = {
        {"x-a", "1\r\nx-injected: 1", "GET", "/headers"},
        {"x-a", "1\nx", "GET", "/headers"},
        {"x-a:b", "1", "GET", "/headers"},
        {"x-a", "1", "GET /hello HTTP/1.1\r\nHost: t\r\n\r\nGET", "/headers"},
        {"x-a", "1", "GET", "/headers HTTP/1.1"},
        {"x a", "1", "GET", "/headers"},
        {"x-a", "1", "GET", "/hel\001lo"},
    };
    size_t i;
    REQ(app != NULL);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tsink t;
        fr_header hs[2];
        fr_request_desc d;
        fr_sink s = {ts_start, ts_body, NULL};
        memset(&d, 0, sizeof d);
        hs[0].name = FR_STR("host");
        hs[0].value = FR_STR("t");
        hs[1].name = fr_str_c(cases[i].name);
        hs[1].value = fr_str_c(cases[i].value);
        d.method = fr_str_c(cases[i].method);
        d.target = fr_str_c(cases[i].target);
        d.headers = hs;
        d.nheaders = 2;
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.status, 400);
        CHECK_EQ_MEM(t.head, t.head_len, "content-type: application/json\r\ncontent-length: 24\r\n");
        CHECK_EQ_MEM(t.body.buf, t.body.len, "{\"detail\":\"Bad Request\"}");
        ts_free(&t);
        if (frt__failed) {
            size_t l = strlen(frt__msg);
            snprintf(frt__msg + l, sizeof frt__msg - l, " (case %d)", (int)i);
            break;
        }
    }
    /* a header value with a NUL: 400 too */
    {
        tsink t;
        fr_header hs[2] = {{FR_STR("host"), FR_STR("t")}, {FR_STR("x-a"), {"a\0b", 3}}};
        fr_request_desc d;
        fr_sink s = {ts_start, ts_body, NULL};
        memset(&d, 0, sizeof d);
        d.method = FR_STR("GET");
        d.target = FR_STR("/headers");
        d.headers = hs;
        d.nheaders = 2;
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.status, 400);
        ts_free(&t);
    }
    fr_app_free(app);
}

/* the same requests over a socket and through fr_dispatch give the same
 * status, headers and body bytes */
/* fr_req_sink: NULL for a socket request, the (copied) sink of a dispatched
 * one, with the caller's userdata. */
static int h_sinkp(fr_req *req, void *ud) {
    const fr_sink *sk = fr_req_sink(req);
    (void)ud;
    if (!sk) return fr_res_text(req, 200, "text/plain", "socket", 6);
    return fr_res_text(req, 200, "text/plain", sk->start == ts_start && sk->ud ? "sink" : "bad", 4);
}

static void test_dispatch_req_sink(void) {
    srv s;
    fr_app *app = make_dispatch_app(NULL);
    tsink t;
    resp r;
    cli c;
    REQ(app != NULL);
    REQ(fr_route(app, "GET", "/sinkp", h_sinkp, NULL) == 0);
    REQ(srv_start_app(&s, app) == 0);
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(s.app, GET("/sinkp"), &t), 0);
    CHECK_EQ_MEM(t.body.buf, t.body.len, "sink");
    ts_free(&t);
    if (cli_open(&c, s.port) == 0 && cli_sends(&c, GET("/sinkp")) == 0 && cli_read(&c, &r, 0) == 0) {
        CHECK_EQ_MEM(r.body, r.body_len, "socket");
        resp_free(&r);
    } else {
        CHECK(!"socket request failed");
    }
    cli_close(&c);
    srv_stop(&s);
}

static void test_dispatch_same_as_socket(void) {
    srv s;
    fr_config cfg;
    char big[1200], req[1600];
    static const char *const raws[] = {
        GET("/hello"),
        GET("/n/7"),
        GET("/nope"),
        "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /hello/?x=1&y=%20 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
        GET("/dir"),
        "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n",
        "HEAD /nope HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789",
        GET("/nocontent"),
        GET("/headers"),
        "GET /info/x%2Fy?a=1&a=2 HTTP/1.1\r\nHost: t\r\nX-Test: Yes\r\n\r\n",
        GET("/stream-inline") /* chunked on the socket; the sink gets the bytes */,
        GET("/file?off=1000&len=70000"),
        "GET /hello HTTP/1.0\r\n\r\n",
        /* engine-made answers under the limits below */
        "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "GET /hello HTTP/1.1\r\nHost: bad host\r\n\r\n",
    };
    size_t i;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_header_bytes = 512;
    cfg.max_headers = 5;
    cfg.max_uri_bytes = 64;
    cfg.max_body_bytes = 100;
    REQ(srv_start_app(&s, make_dispatch_app(&cfg)) == 0);
    for (i = 0; i < sizeof raws / sizeof raws[0] && !frt__failed; i++) {
        if (strstr(raws[i], "/stream-inline")) continue; /* compared below */
        same_both_ways(s.port, s.app, raws[i]);
    }
    /* 431 by head bytes, 414 by target length */
    memset(big, 'v', sizeof big);
    big[600] = 0;
    snprintf(req, sizeof req, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: %s\r\n\r\n", big);
    same_both_ways(s.port, s.app, req);
    big[100] = 0;
    snprintf(req, sizeof req, "GET /%s HTTP/1.1\r\nHost: t\r\n\r\n", big);
    same_both_ways(s.port, s.app, req);
    /* exactly at the limits is fine both ways: 5 headers, 512 head bytes */
    {
        char pad[600];
        size_t base = strlen("GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: \r\n\r\n");
        memset(pad, 'p', sizeof pad);
        pad[512 - base] = 0;
        snprintf(req, sizeof req, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: %s\r\n\r\n", pad);
        CHECK_EQ_INT(strlen(req), 512);
        same_both_ways(s.port, s.app, req);
        pad[512 - base + 1] = 'p';
        pad[512 - base + 1] = 0;
        snprintf(req, sizeof req, "GET /hello HTTP/1.1\r\nHost: t\r\nX-Pad: %s\r\n\r\n", pad);
        same_both_ways(s.port, s.app, req); /* 513: 431 */
        same_both_ways(s.port, s.app, "GET /hello HTTP/1.1\r\nHost: t\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
    }
    /* a stream: the socket's chunked framing is the server's business; the
     * sink gets the same head (no transfer-encoding) and the same bytes */
    {
        tsink t;
        resp r;
        char want[1024];
        ts_init(&t);
        CHECK(roundtrip(s.port, GET("/stream-inline"), &r) == 0);
        strip_socket_head(&r, want, sizeof want);
        CHECK(strstr(want, "transfer-encoding: chunked\r\n") != NULL);
        *strstr(want, "transfer-encoding: chunked\r\n") = 0;
        CHECK_EQ_INT(dispatch_raw(s.app, GET("/stream-inline"), &t), 0);
        CHECK_MEM_LONG(t.head, t.head_len, want);
        CHECK_EQ_MEM(t.body.buf, t.body.len, "one,two,three");
        CHECK_EQ_MEM(r.body, r.body_len, "one,two,three");
        CHECK_EQ_INT(t.more_bodies, 3);
        CHECK_EQ_INT(t.finals, 1);
        resp_free(&r);
        ts_free(&t);
    }
    srv_stop(&s);
}

static void test_dispatch_head(void) {
    fr_app *app = make_dispatch_app(NULL);
    tsink t;
    char v[64];
    REQ(app != NULL);
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n", &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK(ts_hdr(&t, "content-length", v, sizeof v) && strcmp(v, "25") == 0);
    CHECK_EQ_INT(t.bodies, 1); /* body(NULL, 0, 0) once */
    CHECK_EQ_INT(t.body.len, 0);
    CHECK_EQ_INT(t.order_bad, 0);
    ts_free(&t);
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, "HEAD /stream-inline HTTP/1.1\r\nHost: t\r\n\r\n", &t), 0);
    CHECK_EQ_INT(t.status, 200);
    CHECK_EQ_INT(t.bodies, 1);
    CHECK_EQ_INT(t.body.len, 0);
    ts_free(&t);
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, "HEAD /file?off=10&len=100000 HTTP/1.1\r\nHost: t\r\n\r\n", &t), 0);
    CHECK(ts_hdr(&t, "content-length", v, sizeof v) && strcmp(v, "100000") == 0);
    CHECK_EQ_INT(t.bodies, 1);
    CHECK_EQ_INT(t.body.len, 0);
    ts_free(&t);
    /* 204: no content-length, no body bytes */
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, GET("/nocontent"), &t), 0);
    CHECK_EQ_INT(t.status, 204);
    CHECK(!ts_hdr(&t, "content-length", v, sizeof v));
    CHECK_EQ_INT(t.bodies, 1);
    ts_free(&t);
    CHECK(st_wait(&st_done_calls, 1)); /* the file request's on_done */
    fr_app_free(app);
}

/* FR_PENDING: completed from another thread, which then calls the sink */
static void test_dispatch_pending(void) {
    fr_app *app = make_dispatch_app(NULL);
    tsink t;
    fr_req *held;
    char v[64];
    REQ(app != NULL);
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, GET("/slow"), &t), 0); /* waits (bounded) for the end */
    CHECK_EQ_INT(t.status, 201);
    CHECK(ts_hdr(&t, "x-deferred", v, sizeof v) && strcmp(v, "yes") == 0);
    CHECK_EQ_MEM(t.body.buf, t.body.len, "{\"slow\":true}");
    CHECK(!pthread_equal(t.final_thr, pthread_self())); /* the worker's thread */
    CHECK(pthread_equal(t.start_thr, t.final_thr));
    ts_free(&t);
    bg_join_all();
    /* held by the test thread, finished after fr_dispatch returned */
    {
        fr_request_desc d;
        fr_header hs[64];
        fr_sink s = {ts_start, ts_body, NULL};
        ts_init(&t);
        s.ud = &t;
        desc_from_raw(GET("/hold"), &d, hs);
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.starts, 0);
        held = st_take_held();
        REQ(held != NULL);
        CHECK_EQ_MEM(fr_req_path(held).buf, fr_req_path(held).len, "/hold");
        CHECK_EQ_MEM(fr_req_client_addr(held).buf, fr_req_client_addr(held).len, "127.0.0.1");
        CHECK_EQ_INT(fr_req_client_port(held), 40000);
        CHECK_EQ_INT(st_get(&st_done_calls), 0);
        fr_res_json(held, 200, "{\"late\":1}", 10);
        CHECK_EQ_INT(t.finals, 1); /* delivered inside fr_res_send */
        CHECK_EQ_MEM(t.body.buf, t.body.len, "{\"late\":1}");
        CHECK_EQ_INT(st_get(&st_done_calls), 1);
        CHECK_EQ_INT(st_get(&st_done_ok), 1);
        ts_free(&t);
    }
    /* a request never finished is finished by fr_app_free: on_done(ok = 0) */
    {
        fr_request_desc d;
        fr_header hs[64];
        fr_sink s = {ts_start, ts_body, NULL};
        ts_init(&t);
        s.ud = &t;
        desc_from_raw(GET("/hold"), &d, hs);
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK(st_take_held() != NULL);
        fr_app_free(app);
        CHECK_EQ_INT(st_get(&st_done_calls), 2);
        CHECK_EQ_INT(st_get(&st_done_ok), 0);
        CHECK_EQ_INT(t.starts + t.bodies, 0);
        ts_free(&t);
    }
}

/* a stream written from a worker: start on begin, one body per write,
 * body(NULL, 0, 0) on end; on_done after it */
static void test_dispatch_stream(void) {
    fr_app *app = make_dispatch_app(NULL);
    tsink t;
    char v[64];
    REQ(app != NULL);
    ts_init(&t);
    memset(sw_results, 0x55, sizeof sw_results);
    CHECK_EQ_INT(dispatch_raw(app, GET("/stream3"), &t), 0);
    bg_join_all();
    CHECK_EQ_INT(t.starts, 1);
    CHECK_EQ_INT(t.more_bodies, 3);
    CHECK_EQ_INT(t.finals, 1);
    CHECK_EQ_INT(t.order_bad, 0);
    CHECK_EQ_MEM(t.body.buf, t.body.len, "alpha,beta,gamma");
    CHECK(ts_hdr(&t, "content-type", v, sizeof v) && strcmp(v, "text/plain") == 0);
    CHECK(!ts_hdr(&t, "content-length", v, sizeof v));
    CHECK(!ts_hdr(&t, "transfer-encoding", v, sizeof v));
    CHECK(!pthread_equal(t.start_thr, pthread_self()));
    pthread_mutex_lock(&st_mu);
    CHECK(sw_results[0] == 0 && sw_results[1] == 0 && sw_results[2] == 0 && sw_results[3] == 0 &&
          sw_results[4] == 0);
    pthread_mutex_unlock(&st_mu);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 1);
    ts_free(&t);
    fr_app_free(app);
}

/* a sink behind its consumer: the write that made the body call returns
 * FR_STREAM_FULL to its producer; nothing is lost, the others return 0, the
 * response ends well (a FULL from the last call is as 0) */
static void test_dispatch_sink_full(void) {
    int at;
    for (at = 2; at <= 4; at++) {
        fr_app *app = make_dispatch_app(NULL);
        tsink t;
        REQ(app != NULL);
        ts_init(&t);
        t.full_at = at; /* the second write, the third, the end */
        memset(sw_results, 0x55, sizeof sw_results);
        CHECK_EQ_INT(dispatch_raw(app, GET("/stream3"), &t), 0);
        bg_join_all();
        CHECK(st_wait(&st_done_calls, 1));
        CHECK_EQ_INT(st_get(&st_done_ok), 1);
        CHECK_EQ_MEM(t.body.buf, t.body.len, "alpha,beta,gamma");
        CHECK_EQ_INT(t.finals, 1);
        CHECK_EQ_INT(t.order_bad, 0);
        pthread_mutex_lock(&st_mu);
        CHECK_EQ_INT(sw_results[0], 0);
        CHECK_EQ_INT(sw_results[1], 0);
        CHECK_EQ_INT(sw_results[2], at == 2 ? FR_STREAM_FULL : 0);
        CHECK_EQ_INT(sw_results[3], at == 3 ? FR_STREAM_FULL : 0);
        CHECK_EQ_INT(sw_results[4], 0);
        pthread_mutex_unlock(&st_mu);
        ts_free(&t);
        fr_app_free(app);
    }
}

/* the sink goes away mid-stream: later writes and end fail, the sink is
 * not called again, on_done gets ok = 0 */
static void test_dispatch_sink_gone(void) {
    fr_app *app = make_dispatch_app(NULL);
    tsink t;
    REQ(app != NULL);
    ts_init(&t);
    t.fail_at = 2; /* the second write */
    memset(sw_results, 0x55, sizeof sw_results);
    CHECK_EQ_INT(dispatch_raw(app, GET("/stream3"), &t), 0);
    bg_join_all();
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
    CHECK_EQ_INT(t.bodies, 2);
    CHECK_EQ_INT(t.finals, 0);
    CHECK_EQ_INT(t.order_bad, 0);
    CHECK_EQ_MEM(t.body.buf, t.body.len, "alpha,beta,");
    pthread_mutex_lock(&st_mu);
    CHECK(sw_results[0] == 0 && sw_results[1] == 0 && sw_results[2] == -1 && sw_results[3] == -1 &&
          sw_results[4] == -1);
    pthread_mutex_unlock(&st_mu);
    ts_free(&t);
    /* a complete body the sink refuses: on_done ok = 0 too */
    st_reset();
    ts_init(&t);
    t.fail_at = 1;
    CHECK_EQ_INT(dispatch_raw(app, GET("/file?off=0&len=10"), &t), 0);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
    ts_free(&t);
    /* a file the sink refuses half way: no more reads, no more calls */
    st_reset();
    ts_init(&t);
    t.fail_at = 2;
    CHECK_EQ_INT(dispatch_raw(app, GET("/file?off=0&len=1000000"), &t), 0);
    CHECK(st_wait(&st_done_calls, 1));
    CHECK_EQ_INT(st_get(&st_done_ok), 0);
    CHECK_EQ_INT(t.bodies, 2);
    CHECK_EQ_INT(t.order_bad, 0);
    ts_free(&t);
    fr_app_free(app);
}

/* fr_res_file: read in <= 64 KiB pieces, offset/length honoured, fd closed */
static void test_dispatch_file(void) {
    fr_app *app = make_dispatch_app(NULL);
    int base;
    static const uint64_t ranges[][2] = {{0, FT_SIZE}, {1, 65536}, {12345, 65537}, {FT_SIZE - 7, 7}, {100, 0}};
    size_t i;
    char v[64];
    REQ(app != NULL);
    base = count_fds();
    for (i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        tsink t;
        char target[128];
        uint64_t off = ranges[i][0], len = ranges[i][1];
        snprintf(target, sizeof target, "GET /file?off=%llu&len=%llu HTTP/1.1\r\nHost: t\r\n\r\n",
                 (unsigned long long)off, (unsigned long long)len);
        st_reset();
        ts_init(&t);
        CHECK_EQ_INT(dispatch_raw(app, target, &t), 0);
        CHECK_EQ_INT(t.status, 200);
        CHECK(ts_hdr(&t, "content-length", v, sizeof v) && strtoull(v, NULL, 10) == len);
        CHECK(ts_hdr(&t, "content-type", v, sizeof v) && strcmp(v, "application/octet-stream") == 0);
        CHECK_EQ_INT(t.body.len, len);
        CHECK(len == 0 || memcmp(t.body.buf, ft_data + off, (size_t)len) == 0);
        CHECK(t.max_piece <= 65536);
        CHECK_EQ_INT(t.bodies, len ? (len + 65535) / 65536 : 1);
        CHECK_EQ_INT(t.finals, 1);
        CHECK_EQ_INT(t.order_bad, 0);
        CHECK_EQ_INT(st_get(&st_done_calls), 1);
        CHECK_EQ_INT(st_get(&st_done_ok), 1);
        CHECK_EQ_INT(count_fds(), base); /* the engine closed it */
        ts_free(&t);
    }
    /* an unseekable fd (pipe): read instead of pread */
    {
        tsink t;
        st_reset();
        ts_init(&t);
        CHECK_EQ_INT(dispatch_raw(app, GET("/pipe?len=50000"), &t), 0);
        CHECK_EQ_INT(t.body.len, 50000);
        CHECK(t.body.buf && memcmp(t.body.buf, ft_data, 50000) == 0);
        CHECK_EQ_INT(st_get(&st_done_ok), 1);
        CHECK_EQ_INT(count_fds(), base);
        ts_free(&t);
    }
    /* a file shorter than promised: the body ends early, on_done ok = 0 */
    {
        tsink t;
        char target[128];
        st_reset();
        ts_init(&t);
        snprintf(target, sizeof target, "GET /file?off=%u&len=200000 HTTP/1.1\r\nHost: t\r\n\r\n", FT_SIZE - 100000);
        CHECK_EQ_INT(dispatch_raw(app, target, &t), 0);
        CHECK_EQ_INT(t.body.len, 100000);
        CHECK_EQ_INT(t.finals, 1);
        CHECK_EQ_INT(t.order_bad, 0);
        CHECK_EQ_INT(st_get(&st_done_calls), 1);
        CHECK_EQ_INT(st_get(&st_done_ok), 0);
        CHECK_EQ_INT(count_fds(), base);
        ts_free(&t);
    }
    fr_app_free(app);
}

static void test_dispatch_limits(void) {
    fr_config cfg;
    fr_app *app;
    tsink t;
    char body[200];
    memset(&cfg, 0, sizeof cfg);
    cfg.max_headers = 5;
    cfg.max_body_bytes = 100;
    cfg.max_header_bytes = 512;
    app = make_dispatch_app(&cfg);
    REQ(app != NULL);
    memset(body, 'b', sizeof body);
    /* body over max_body_bytes (no Content-Length header at all): 413 */
    {
        fr_request_desc d;
        fr_sink s = {ts_start, ts_body, NULL};
        memset(&d, 0, sizeof d);
        d.method = FR_STR("POST");
        d.target = FR_STR("/echo");
        d.body.buf = body;
        d.body.len = 101;
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.status, 413);
        CHECK_EQ_MEM(t.head, t.head_len, "content-type: application/json\r\ncontent-length: 37\r\n");
        CHECK_EQ_MEM(t.body.buf, t.body.len, "{\"detail\":\"Request Entity Too Large\"}");
        ts_free(&t);
        d.body.len = 100; /* at the limit */
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.status, 200);
        CHECK_EQ_INT(t.body.len, 100);
        ts_free(&t);
    }
    /* max_headers without a Host header: the hidden Host does not count */
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, "GET /hello HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", &t), 0);
    CHECK_EQ_INT(t.status, 200);
    ts_free(&t);
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, "GET /hello HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\n\r\n", &t),
                 0);
    CHECK_EQ_INT(t.status, 431);
    CHECK_EQ_MEM(t.body.buf, t.body.len, "{\"detail\":\"Request Header Fields Too Large\"}");
    ts_free(&t);
    /* a huge header list is refused without being copied whole */
    {
        fr_header *hs = (fr_header *)malloc(100000 * sizeof *hs);
        fr_request_desc d;
        fr_sink s = {ts_start, ts_body, NULL};
        size_t i;
        REQ(hs != NULL);
        for (i = 0; i < 100000; i++) {
            hs[i].name = FR_STR("x-many");
            hs[i].value = FR_STR("value");
        }
        memset(&d, 0, sizeof d);
        d.method = FR_STR("GET");
        d.target = FR_STR("/hello");
        d.headers = hs;
        d.nheaders = 100000;
        ts_init(&t);
        s.ud = &t;
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        CHECK_EQ_INT(t.status, 431);
        ts_free(&t);
        free(hs);
    }
    fr_app_free(app);
}

/* on_done runs after the sink's last call: inline, pending and stream */
static void test_dispatch_on_done_order(void) {
    fr_config cfg;
    fr_app *app;
    tsink t;
    memset(&cfg, 0, sizeof cfg);
    cfg.access_log = access_rec;
    app = make_dispatch_app(&cfg);
    REQ(app != NULL);
    ts_init(&t);
    pthread_mutex_lock(&st_mu);
    od_sink = &t;
    od_calls = od_after_final = 0;
    pthread_mutex_unlock(&st_mu);
    CHECK_EQ_INT(dispatch_raw(app, GET("/order"), &t), 0);
    pthread_mutex_lock(&st_mu);
    CHECK_EQ_INT(od_calls, 1);
    CHECK_EQ_INT(od_after_final, 1);
    CHECK_EQ_INT(od_ok, 1);
    pthread_mutex_unlock(&st_mu);
    CHECK_EQ_INT(st_get(&st_log_calls), 1);
    CHECK_EQ_INT(st_get(&st_log_status), 200);
    pthread_mutex_lock(&st_mu);
    CHECK_EQ_INT(st_log_bytes, 8); /* body bytes */
    pthread_mutex_unlock(&st_mu);
    ts_free(&t);
    /* pending, finished from another thread after fr_dispatch returned */
    {
        fr_request_desc d;
        fr_header hs[64];
        fr_sink s = {ts_start, ts_body, NULL};
        fr_req *held;
        ts_init(&t);
        s.ud = &t;
        pthread_mutex_lock(&st_mu);
        od_sink = &t;
        od_calls = od_after_final = 0;
        pthread_mutex_unlock(&st_mu);
        desc_from_raw(GET("/order-pending"), &d, hs);
        CHECK_EQ_INT(fr_dispatch(app, &d, &s), 0);
        held = st_take_held();
        REQ(held != NULL);
        bg_start(slow_worker, held);
        CHECK(ts_wait(&t));
        bg_join_all();
        pthread_mutex_lock(&st_mu);
        CHECK_EQ_INT(od_calls, 1);
        CHECK_EQ_INT(od_after_final, 1);
        pthread_mutex_unlock(&st_mu);
        CHECK_EQ_INT(st_get(&st_log_calls), 2);
        CHECK_EQ_INT(st_get(&st_log_status), 201);
        ts_free(&t);
    }
    /* engine-made answers: no handler, no on_done, no access log */
    ts_init(&t);
    CHECK_EQ_INT(dispatch_raw(app, "GET /order HTTP/1.1\r\nHost: a b\r\n\r\n", &t), 0);
    CHECK_EQ_INT(t.status, 400);
    CHECK_EQ_INT(st_get(&st_log_calls), 2);
    ts_free(&t);
    pthread_mutex_lock(&st_mu);
    od_sink = NULL;
    pthread_mutex_unlock(&st_mu);
    fr_app_free(app);
}

/* ---- many dispatches from several threads ---- */

#define MT_THREADS 4
#define MT_PER_THREAD 250

static atomic_int mt_starts, mt_finals, mt_bad, mt_dispatched;

typedef struct mt_ud {
    int kind, starts, status;
    fr_buf body;
} mt_ud;

static void mt_start(void *ud, int status, const fr_header *h, size_t n) {
    mt_ud *u = (mt_ud *)ud;
    (void)h;
    (void)n;
    if (u->starts++) atomic_fetch_add(&mt_bad, 1);
    u->status = status;
    atomic_fetch_add(&mt_starts, 1);
}

/* the last call checks the answer and frees ud (the engine is done with it) */
static int mt_body(void *ud, const char *data, size_t len, int more) {
    mt_ud *u = (mt_ud *)ud;
    static const char *const want[] = {"{\"message\":\"Hello World\"}", "{\"i\":5}", "echo-me", "{\"detail\":\"Not Found\"}",
                                       "one,two,three", "{\"slow\":true}"};
    static const int wstatus[] = {200, 200, 200, 404, 200, 201};
    if (!u->starts) atomic_fetch_add(&mt_bad, 1);
    if (len) fr_buf_append(&u->body, data, len);
    if (!more) {
        if (u->status != wstatus[u->kind] || u->body.len != strlen(want[u->kind]) ||
            memcmp(u->body.buf, want[u->kind], u->body.len) != 0)
            atomic_fetch_add(&mt_bad, 1);
        fr_buf_free(&u->body);
        free(u);
        atomic_fetch_add(&mt_finals, 1);
    }
    return 0;
}

/* GET /defer : finished by one of the completer threads */
static pthread_mutex_t mt_mu = PTHREAD_MUTEX_INITIALIZER;
static fr_req *mt_queue[MT_THREADS * MT_PER_THREAD];
static int mt_qhead, mt_qtail, mt_stop;

static int h_defer(fr_req *req, void *ud) {
    (void)ud;
    pthread_mutex_lock(&mt_mu);
    mt_queue[mt_qtail++ % (MT_THREADS * MT_PER_THREAD)] = req;
    pthread_mutex_unlock(&mt_mu);
    return FR_PENDING;
}

static void *mt_completer(void *arg) {
    (void)arg;
    for (;;) {
        fr_req *req = NULL;
        int stop;
        pthread_mutex_lock(&mt_mu);
        if (mt_qhead < mt_qtail) req = mt_queue[mt_qhead++ % (MT_THREADS * MT_PER_THREAD)];
        stop = mt_stop;
        pthread_mutex_unlock(&mt_mu);
        if (req) {
            fr_res_json(req, 201, "{\"slow\":true}", 13);
            continue;
        }
        if (stop) return NULL;
        frt_sleep_ms(1);
    }
}

static void *mt_dispatcher(void *arg) {
    fr_app *app = (fr_app *)arg;
    int i;
    for (i = 0; i < MT_PER_THREAD; i++) {
        static const char *const targets[] = {"/hello", "/n/5", "/echo", "/nope", "/stream-inline", "/defer"};
        fr_header hs[2] = {{FR_STR("Host"), FR_STR("t")}, {FR_STR("content-length"), FR_STR("7")}};
        fr_request_desc d;
        fr_sink s;
        mt_ud *u = (mt_ud *)calloc(1, sizeof *u);
        if (!u) abort();
        u->kind = i % 6;
        memset(&d, 0, sizeof d);
        d.method = u->kind == 2 ? FR_STR("POST") : FR_STR("GET");
        d.target = fr_str_c(targets[u->kind]);
        d.headers = hs;
        d.nheaders = u->kind == 2 ? 2 : 1;
        if (u->kind == 2) d.body = FR_STR("echo-me");
        s.start = mt_start;
        s.body = mt_body;
        s.ud = u;
        if (fr_dispatch(app, &d, &s) != 0) {
            atomic_fetch_add(&mt_bad, 1);
            free(u);
            continue;
        }
        atomic_fetch_add(&mt_dispatched, 1);
    }
    return NULL;
}

static void test_dispatch_threads(void) {
    fr_config cfg;
    fr_app *app;
    pthread_t th[MT_THREADS], comp[2];
    int i;
    memset(&cfg, 0, sizeof cfg);
    cfg.access_log = access_rec;
    app = make_dispatch_app(&cfg);
    REQ(app != NULL);
    REQ(fr_route(app, "GET", "/defer", h_defer, NULL) == 0);
    atomic_store(&mt_starts, 0);
    atomic_store(&mt_finals, 0);
    atomic_store(&mt_bad, 0);
    atomic_store(&mt_dispatched, 0);
    mt_qhead = mt_qtail = mt_stop = 0;
    for (i = 0; i < 2; i++) REQ(pthread_create(&comp[i], NULL, mt_completer, NULL) == 0);
    for (i = 0; i < MT_THREADS; i++) REQ(pthread_create(&th[i], NULL, mt_dispatcher, app) == 0);
    for (i = 0; i < MT_THREADS; i++) pthread_join(th[i], NULL);
    for (i = 0; i < 500 && atomic_load(&mt_finals) < MT_THREADS * MT_PER_THREAD; i++) frt_sleep_ms(10);
    pthread_mutex_lock(&mt_mu);
    mt_stop = 1;
    pthread_mutex_unlock(&mt_mu);
    for (i = 0; i < 2; i++) pthread_join(comp[i], NULL);
    CHECK_EQ_INT(atomic_load(&mt_dispatched), MT_THREADS * MT_PER_THREAD);
    CHECK_EQ_INT(atomic_load(&mt_starts), MT_THREADS * MT_PER_THREAD);
    CHECK_EQ_INT(atomic_load(&mt_finals), MT_THREADS * MT_PER_THREAD);
    CHECK_EQ_INT(atomic_load(&mt_bad), 0);
    CHECK(st_wait(&st_log_calls, MT_THREADS * MT_PER_THREAD)); /* every request finished */
    CHECK_EQ_INT(st_get(&st_log_calls), MT_THREADS * MT_PER_THREAD);
#if defined(FASTRAPI_IMPLEMENTATION_DONE)
    pthread_mutex_lock(&app->sink_mu);
    CHECK(app->sinks == NULL); /* nothing left for fr_app_free */
    pthread_mutex_unlock(&app->sink_mu);
#endif
    fr_app_free(app); /* leaks, if any, show under ASan at exit */
}

/* dispatch while the same app serves sockets, also from inside one of its
 * handlers; then stop it and dispatch to the stopped app */
static void test_dispatch_while_serving(void) {
    srv s;
    fr_config cfg;
    int i, ok = 1;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 2;
    REQ(srv_start_app(&s, make_dispatch_app(&cfg)) == 0);
    for (i = 0; i < 50 && ok; i++) {
        resp r;
        tsink t;
        char want[32];
        snprintf(want, sizeof want, "{\"i\":%d}", i);
        ts_init(&t);
        {
            char raw[64];
            snprintf(raw, sizeof raw, "GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
            ok &= dispatch_raw(s.app, raw, &t) == 0 && t.body.len == strlen(want) &&
                  memcmp(t.body.buf, want, t.body.len) == 0;
            ok &= roundtrip(s.port, raw, &r) == 0 && r.body_len == strlen(want) &&
                  memcmp(r.body, want, r.body_len) == 0;
        }
        resp_free(&r);
        ts_free(&t);
    }
    CHECK(ok);
    {
        resp r;
        CHECK(roundtrip(s.port, GET("/nested"), &r) == 0);
        CHECK_EQ_INT(r.status, 200);
        CHECK_EQ_MEM(r.body, r.body_len, "{\"message\":\"Hello World\"}");
        resp_free(&r);
    }
    /* a deferred dispatched request finished after a socket one */
    {
        tsink t;
        ts_init(&t);
        CHECK_EQ_INT(dispatch_raw(s.app, GET("/slow"), &t), 0);
        CHECK_EQ_INT(t.status, 201);
        ts_free(&t);
    }
    fr_stop(s.app);
    pthread_join(s.thr, NULL);
    s.running = 0;
    {
        tsink t;
        ts_init(&t);
        CHECK_EQ_INT(dispatch_raw(s.app, GET("/hello"), &t), 0); /* not serving any more */
        CHECK_EQ_INT(t.status, 200);
        ts_free(&t);
    }
    srv_stop(&s);
}


/* ------------------------------------------------------------------------ */
/* a handler that builds an invalid response: 500 + one error-log line      */

static char badlog[256];
static atomic_int badlog_n;

static void bad_log(const char *msg, void *ud) {
    (void)ud;
    snprintf(badlog, sizeof badlog, "%s", msg);
    atomic_fetch_add(&badlog_n, 1);
}

static int h_bad_status(fr_req *req, void *ud) {
    (void)ud;
    fr_res_status(req, 42);
    return fr_res_text(req, 42, "text/plain", "never", 5);
}

/* which header: "n" = a name with a space, "v" = a value with CR LF, "t" = a
 * value with a TAB (valid), "c" = a value with a bare control byte */
static int h_bad_header(fr_req *req, void *ud) {
    const char *which = (const char *)ud;
    int rc;
    fr_res_header(req, "x-ok", "1");
    if (which[0] == 'n') rc = fr_res_header(req, "bad name", "v");
    else if (which[0] == 'v') rc = fr_res_header(req, "x-bad", "a\r\nset-cookie: evil=1");
    else if (which[0] == 'c') rc = fr_res_header(req, "x-bad", "a\x01");
    else rc = fr_res_header(req, "x-tab", "a\tb");
    CHECK_EQ_INT(rc, which[0] == 't' ? 0 : -1); /* refused, and the response is now invalid */
    fr_res_header(req, "x-rc", rc == 0 ? "0" : "-1");
    return fr_res_text(req, 201, "text/plain", "body", 4);
}

static int h_bad_stream(fr_req *req, void *ud) {
    (void)ud;
    fr_res_header(req, "x\x7f", "v");
    if (fr_res_stream_begin(req) == 0) { /* must not happen */
        fr_res_stream_write(req, "streamed", 8);
        fr_res_stream_end(req);
    }
    return FR_DONE;
}

static fr_app *bad_app(void) {
    fr_config cfg;
    fr_app *app;
    memset(&cfg, 0, sizeof cfg);
    cfg.error_log = bad_log;
    app = fr_app_new(&cfg);
    if (!app) return NULL;
    if (fr_route(app, "GET", "/status", h_bad_status, NULL) < 0 ||
        fr_route(app, "GET", "/name", h_bad_header, (void *)"n") < 0 ||
        fr_route(app, "GET", "/value", h_bad_header, (void *)"v") < 0 ||
        fr_route(app, "GET", "/ctl", h_bad_header, (void *)"c") < 0 ||
        fr_route(app, "GET", "/tab", h_bad_header, (void *)"t") < 0 ||
        fr_route(app, "GET", "/stream", h_bad_stream, NULL) < 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

static void test_invalid_response_is_500_and_logged(void) {
    static const char *const paths[] = {"/status", "/name", "/value", "/ctl", "/stream"};
    srv s;
    resp r;
    char v[64];
    size_t i;
    atomic_store(&badlog_n, 0);
    REQ(srv_start_app(&s, bad_app()) == 0);
    for (i = 0; i < sizeof paths / sizeof *paths; i++) {
        char req[128];
        int before = atomic_load(&badlog_n);
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i]);
        REQ(roundtrip(s.port, req, &r) == 0);
        CHECK_EQ_INT(r.status, 500);
        CHECK_EQ_MEM(r.body, r.body_len, "Internal Server Error");
        CHECK(hdr(&r, "content-type", v, sizeof v) && strcmp(v, "text/plain; charset=utf-8") == 0);
        CHECK(!hdr(&r, "x-ok", v, sizeof v));     /* nothing of the bad response leaks */
        CHECK(!hdr(&r, "set-cookie", v, sizeof v)); /* no header injection */
        CHECK(strstr(r.head, "streamed") == NULL);
        CHECK_EQ_INT(atomic_load(&badlog_n), before + 1);
        CHECK(strstr(badlog, paths[i]) != NULL && strstr(badlog, "answered 500") != NULL);
        resp_free(&r);
    }
    CHECK(strstr(badlog, "GET /stream") != NULL);
    /* a TAB in a value is valid: answered as built */
    REQ(roundtrip(s.port, GET("/tab"), &r) == 0);
    CHECK_EQ_INT(r.status, 201);
    CHECK(hdr(&r, "x-tab", v, sizeof v) && strcmp(v, "a\tb") == 0);
    CHECK(hdr(&r, "x-rc", v, sizeof v) && strcmp(v, "0") == 0);
    resp_free(&r);
    /* the connection and server keep working after an invalid response */
    REQ(roundtrip(s.port, GET("/status"), &r) == 0);
    CHECK_EQ_INT(r.status, 500);
    resp_free(&r);
    srv_stop(&s);
}

typedef struct {
    int status;
    char body[64];
    size_t body_len;
    int saw_x_ok;
} bad_sink_t;

static void bad_sink_start(void *ud, int status, const fr_header *h, size_t n) {
    bad_sink_t *t = (bad_sink_t *)ud;
    size_t i;
    t->status = status;
    for (i = 0; i < n; i++)
        if (h[i].name.len == 4 && memcmp(h[i].name.buf, "x-ok", 4) == 0) t->saw_x_ok = 1;
}

static int bad_sink_body(void *ud, const char *data, size_t len, int more) {
    bad_sink_t *t = (bad_sink_t *)ud;
    (void)more;
    if (len && t->body_len + len < sizeof t->body) {
        memcpy(t->body + t->body_len, data, len);
        t->body_len += len;
    }
    return 0;
}

/* fr_dispatch (the ASGI face) takes the same decision */
static void test_invalid_response_dispatch(void) {
    static const char *const paths[] = {"/status", "/value", "/stream"};
    fr_app *app = bad_app();
    size_t i;
    REQ(app != NULL);
    for (i = 0; i < sizeof paths / sizeof *paths; i++) {
        bad_sink_t t;
        fr_request_desc d;
        fr_sink sk;
        int before = atomic_load(&badlog_n);
        memset(&t, 0, sizeof t);
        memset(&d, 0, sizeof d);
        sk.start = bad_sink_start;
        sk.body = bad_sink_body;
        sk.ud = &t;
        d.method = fr_str_c("GET");
        d.target = fr_str_c(paths[i]);
        CHECK_EQ_INT(fr_dispatch(app, &d, &sk), 0);
        CHECK_EQ_INT(t.status, 500);
        CHECK_EQ_MEM(t.body, t.body_len, "Internal Server Error");
        CHECK(!t.saw_x_ok);
        CHECK_EQ_INT(atomic_load(&badlog_n), before + 1);
    }
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_invalid_response_is_500_and_logged),
    FRT(test_invalid_response_dispatch),
    FRT(test_simple_get),
    FRT(test_route_while_serving),
    FRT(test_keepalive),
    FRT(test_pipelined),
    FRT(test_deep_pipeline),
    FRT(test_split_bytes),
    FRT(test_chunked_echo),
    FRT(test_expect_continue),
    FRT(test_not_found_method_redirect),
    FRT(test_fallback_and_server_name),
    FRT(test_head),
    FRT(test_http10),
    FRT(test_limits),
    FRT(test_timeouts),
    FRT(test_max_connections),
    FRT(test_deferred),
    FRT(test_completions_busy_loop),
    FRT(test_deferred_client_gone),
    FRT(test_streaming),
    FRT(test_on_done_order),
    FRT(test_poll_mode),
    FRT(test_two_apps),
    FRT(test_start_stop_fds),
    FRT(test_stop_before_serve),
    FRT(test_graceful_stop),
    FRT(test_drain_timeout),
    FRT(test_emfile),
    FRT(test_signals),
    FRT(test_no_alloc_per_request),
    FRT(test_file_body),
    FRT(test_file_bad_input),
    FRT(test_file_slow_reader),
    FRT(test_file_client_gone),
    FRT(test_file_deferred),
    FRT(test_file_sigpipe),
    FRT(test_dispatch_inline),
    FRT(test_dispatch_bad_bytes),
    FRT(test_dispatch_same_as_socket),
    FRT(test_dispatch_req_sink),
    FRT(test_dispatch_head),
    FRT(test_dispatch_pending),
    FRT(test_dispatch_stream),
    FRT(test_dispatch_sink_full),
    FRT(test_dispatch_sink_gone),
    FRT(test_dispatch_file),
    FRT(test_dispatch_limits),
    FRT(test_dispatch_on_done_order),
    FRT(test_dispatch_threads),
    FRT(test_dispatch_while_serving),
};
FRT_MAIN()
