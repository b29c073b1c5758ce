/* Bodies taken as they arrive: fr_route_opts.body_spool (a body over the
 * limit goes to an unlinked temp file, fr_req_body_file; a smaller one
 * stays in memory) and body_drop (a body over 64 KiB, or chunked, is
 * dropped; with body_unread a chunked one is never over the route's limit), on a socket (Content-Length and chunked, pipelined, limits,
 * a temp file that cannot be made) and through fr_dispatch_begin/feed/end.
 * The handler checks every byte (frt_pat); temp files are closed once the
 * request is finished (fds in /proc/self/fd; ASan covers the memory). */
#define FRT_NET 1
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv, frt_got */

#include <sys/stat.h>

static int g_calls;

/* "<where> <length> <intact>": where the body is (mem, file, none) */
static int describe(fr_req *req, void *ud) {
    static char buf[65536];
    char out[128];
    uint64_t flen = 0, off = 0;
    int fd = fr_req_body_file(req, &flen), good = 1;
    fr_str b = fr_req_body(req);
    (void)ud;
    g_calls++;
    if (fd >= 0) {
        ssize_t n;
        while ((n = pread(fd, buf, sizeof buf, (off_t)off)) > 0) {
            for (ssize_t k = 0; k < n; k++)
                if ((unsigned char)buf[k] != frt_pat((size_t)off + (size_t)k)) good = 0;
            off += (uint64_t)n;
        }
        good = good && off == flen && b.len == 0;
        snprintf(out, sizeof out, "file %llu %d", (unsigned long long)flen, good);
    } else {
        for (size_t k = 0; k < b.len; k++)
            if ((unsigned char)b.buf[k] != frt_pat(k)) good = 0;
        snprintf(out, sizeof out, "%s %zu %d", b.len ? "mem" : "none", b.len, good);
    }
    return fr_res_text(req, 200, "text/plain", out, strlen(out));
}

static char *pattern(size_t n) {
    char *p = (char *)malloc(n ? n : 1);
    for (size_t i = 0; p && i < n; i++) p[i] = (char)frt_pat(i);
    return p;
}

/* spool 1000 bytes on /spool (route limit 100000 on /spool-lim: 3000),
 * /unread drops (body_unread too, a route limit of 50000), /drop-lim drops
 * (not body_unread, the same limit), /drop drops (no route limit), /plain
 * reads as usual; the app's limit 200000 */
static fr_app *make_app(void) {
    fr_config cfg;
    fr_route_opts spool, lim, unread, drop, drop_any;
    fr_app *app;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1;
    cfg.max_body_bytes = 200000;
    app = fr_app_new(&cfg);
    if (!app) return NULL;
    memset(&spool, 0, sizeof spool);
    spool.body_spool = 1000;
    lim = spool;
    lim.limit_body = 1;
    lim.max_body = 3000;
    memset(&unread, 0, sizeof unread);
    unread.body_unread = unread.body_drop = 1;
    unread.limit_body = 1;
    unread.max_body = 50000;
    drop = unread;
    drop.body_unread = 0;
    memset(&drop_any, 0, sizeof drop_any);
    drop_any.body_drop = 1;
    if (fr_route_ex(app, "POST", "/spool", describe, NULL, &spool) < 0 ||
        fr_route_ex(app, "POST", "/spool-lim", describe, NULL, &lim) < 0 ||
        fr_route_ex(app, "POST", "/unread", describe, NULL, &unread) < 0 ||
        fr_route_ex(app, "POST", "/drop-lim", describe, NULL, &drop) < 0 ||
        fr_route_ex(app, "POST", "/drop", describe, NULL, &drop_any) < 0 ||
        fr_route(app, "POST", "/plain", describe, NULL) < 0 || fr_route(app, "GET", "/plain", describe, NULL) < 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

static int start(frt_srv *s) {
    s->app = make_app();
    if (!s->app) return 0;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0 || frt_srv_run(s) < 0) {
        fr_app_free(s->app);
        return 0;
    }
    return 1;
}

/* One request with an n-byte pattern body (chunked in 7000-byte chunks, or
 * with a Content-Length), connection: close; the whole response in out. */
static size_t post(int port, const char *path, size_t n, int chunked, char *out, size_t cap) {
    char head[256];
    char *body = pattern(n);
    int fd = frt_connect(port, 0);
    size_t got = 0;
    if (fd < 0 || !body) goto done;
    if (chunked)
        snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
                                    "transfer-encoding: chunked\r\n\r\n", path);
    else
        snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
                                    "content-length: %zu\r\n\r\n", path, n);
    if (frt_send_all(fd, head, strlen(head)) < 0) goto done;
    if (!chunked) {
        (void)frt_send_all(fd, body, n); /* a refused body may not all be taken */
    } else {
        size_t at = 0;
        while (at < n) {
            size_t k = n - at < 7000 ? n - at : 7000;
            char sz[32];
            snprintf(sz, sizeof sz, "%zx\r\n", k);
            if (frt_send_all(fd, sz, strlen(sz)) < 0 || frt_send_all(fd, body + at, k) < 0 ||
                frt_send_all(fd, "\r\n", 2) < 0)
                break;
            at += k;
        }
        (void)frt_send_all(fd, "0\r\n\r\n", 5);
    }
    got = frt_recv_all(fd, out, cap);
done:
    if (fd >= 0) close(fd);
    free(body);
    return got;
}

/* the status and the body of a response */
static int answer(const char *resp, const char **body) {
    const char *b = strstr(resp, "\r\n\r\n");
    *body = b ? b + 4 : "";
    return strncmp(resp, "HTTP/1.1 ", 9) == 0 ? atoi(resp + 9) : -1;
}

#define CHECK_POST(path, n, chunked, st, want)                                     \
    do {                                                                           \
        static char out_[8192];                                                    \
        const char *b_;                                                            \
        post(s.port, path, n, chunked, out_, sizeof out_);                         \
        CHECK_EQ_INT(answer(out_, &b_), st);                                       \
        if (want) CHECK_EQ_MEM(b_, strlen(b_), (const char *)(want));              \
    } while (0)

static void wait_fds(int want) {
    for (int i = 0; i < 200 && frt_deleted_fds() != want; i++) frt_sleep_ms(10);
}

static void test_socket_spool(void) {
    frt_srv s;
    int base = frt_deleted_fds();
    REQ(start(&s));
    CHECK_POST("/spool", 500, 0, 200, "mem 500 1");
    CHECK_POST("/spool", 1000, 0, 200, "mem 1000 1");
    CHECK_POST("/spool", 1001, 0, 200, "file 1001 1");
    CHECK_POST("/spool", 150000, 0, 200, "file 150000 1");
    CHECK_POST("/spool", 900, 1, 200, "mem 900 1");     /* chunked, under the limit */
    CHECK_POST("/spool", 150000, 1, 200, "file 150000 1"); /* chunked: memory, then the file */
    CHECK_POST("/plain", 150000, 0, 200, "mem 150000 1"); /* no option: as before */
    wait_fds(base);
    CHECK_EQ_INT(frt_deleted_fds(), base); /* every temp file closed */
    frt_srv_stop(&s);
}

static void test_socket_limits(void) {
    frt_srv s;
    int base = frt_deleted_fds();
    REQ(start(&s));
    g_calls = 0;
    CHECK_POST("/spool-lim", 3000, 0, 200, "file 3000 1");
    CHECK_POST("/spool-lim", 3001, 0, 413, "Content Too Large");
    CHECK_POST("/spool-lim", 5000, 1, 413, "{\"detail\":\"Content Too Large\"}");
    CHECK_EQ_INT(g_calls, 1); /* the handler ran for the first only */
    CHECK_POST("/spool", 200001, 0, 413, NULL); /* the app's limit, by Content-Length */
    CHECK_POST("/spool", 260000, 1, 413, NULL); /* and while a chunked one arrives */
    CHECK_POST("/drop-lim", 200001, 0, 413, NULL);
    CHECK_EQ_INT(g_calls, 1);
    wait_fds(base);
    CHECK_EQ_INT(frt_deleted_fds(), base);
    frt_srv_stop(&s);
}

static void test_socket_dropped(void) {
    frt_srv s;
    REQ(start(&s));
    CHECK_POST("/unread", 100, 0, 200, "mem 100 1"); /* small: read as usual */
    CHECK_POST("/unread", 50000, 0, 200, "mem 50000 1");
    CHECK_POST("/unread", 50001, 0, 413, "Content Too Large"); /* a Content-Length over the limit */
    CHECK_POST("/unread", 150000, 1, 200, "none 0 1"); /* chunked: dropped, never over (unread) */
    CHECK_POST("/unread", 10, 1, 200, "none 0 1");      /* chunked: always dropped */
    CHECK_POST("/drop-lim", 150000, 1, 413, "{\"detail\":\"Content Too Large\"}"); /* counted */
    CHECK_POST("/drop-lim", 40000, 1, 200, "none 0 1");
    frt_srv_stop(&s);
}

/* a body_drop route without a limit: over 64 KiB dropped */
static void test_socket_dropped_big(void) {
    frt_srv s;
    REQ(start(&s));
    CHECK_POST("/drop", 65536, 0, 200, "mem 65536 1");
    CHECK_POST("/drop", 65537, 0, 200, "none 0 1"); /* dropped as it came */
    CHECK_POST("/drop", 150000, 0, 200, "none 0 1");
    frt_srv_stop(&s);
}

/* keep-alive: a spooled body, a dropped one and a GET in one write; each
 * answered in order, the bytes after a body are the next request's */
static void test_socket_pipelined(void) {
    frt_srv s;
    static char req[400000], out[16384];
    size_t n = 0;
    char *body = pattern(150000);
    int fd;
    REQ(body && start(&s));
    n += (size_t)snprintf(req + n, sizeof req - n, "POST /spool HTTP/1.1\r\nhost: x\r\ncontent-length: 150000\r\n\r\n");
    memcpy(req + n, body, 150000);
    n += 150000;
    n += (size_t)snprintf(req + n, sizeof req - n, "POST /drop HTTP/1.1\r\nhost: x\r\ncontent-length: 100000\r\n\r\n");
    memcpy(req + n, body, 100000);
    n += 100000;
    n += (size_t)snprintf(req + n, sizeof req - n, "GET /plain HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    fd = frt_connect(s.port, 0);
    REQ(fd >= 0);
    CHECK_EQ_INT(frt_send_all(fd, req, n), 0);
    frt_recv_all(fd, out, sizeof out);
    close(fd);
    {
        const char *a = strstr(out, "file 150000 1"), *b = strstr(out, "none 0 1");
        const char *c = b ? strstr(b, "HTTP/1.1 200") : NULL; /* the GET's answer follows */
        CHECK(a != NULL && b != NULL && a < b);
        CHECK(c != NULL && strstr(c, "\r\n\r\nnone 0 1") != NULL);
    }
    free(body);
    frt_srv_stop(&s);
}

/* a temp file that cannot be made: the spooled body is answered 500, one
 * in memory is not touched */
static void test_socket_spool_fails(void) {
    frt_srv s;
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", "/nonexistent-fastrapi-dir", 1);
    REQ(start(&s));
    g_calls = 0;
    CHECK_POST("/spool", 5000, 0, 500, "{\"detail\":\"Internal Server Error\"}");
    CHECK_POST("/spool", 5000, 1, 500, "{\"detail\":\"Internal Server Error\"}");
    CHECK_POST("/spool", 500, 0, 200, "mem 500 1");
    CHECK_EQ_INT(g_calls, 1);
    frt_srv_stop(&s);
    if (saved) setenv("TMPDIR", saved, 1);
    else unsetenv("TMPDIR");
    free(saved);
}

/* unrouted requests go by fr_app_set_unmatched_opts: a fallback handler
 * that reads big bodies from the file (an ASGI bridge), or none */
static void test_unmatched(void) {
    frt_srv s;
    fr_route_opts o;
    int kind;
    for (kind = 0; kind < 2; kind++) {
        s.app = make_app();
        REQ(s.app);
        memset(&o, 0, sizeof o);
        if (kind == 0) o.body_spool = 1000;
        else o.body_drop = 1;
        fr_app_set_unmatched_opts(s.app, &o);
        fr_app_set_fallback(s.app, describe, NULL);
        s.port = fr_listen(s.app, "127.0.0.1", 0);
        REQ(s.port > 0 && frt_srv_run(&s) == 0);
        CHECK_POST("/nowhere", 900, 0, 200, "mem 900 1");
        CHECK_POST("/nowhere", 150000, 0, 200, kind == 0 ? "file 150000 1" : "none 0 1");
        CHECK_POST("/nowhere", 150000, 1, 200, kind == 0 ? "file 150000 1" : "none 0 1");
        CHECK_POST("/spool", 5000, 0, 200, "file 5000 1"); /* routes keep their own */
        CHECK_POST("/plain", 150000, 0, 200, "mem 150000 1");
        frt_srv_stop(&s);
    }
}

/* fr_dispatch_begin / feed / end: the same decisions, the body fed in
 * pieces (an ASGI server's messages) */
static void fed(fr_app *app, const char *path, size_t n, size_t piece, int chunked, frt_got *g) {
    fr_request_desc d;
    fr_sink sink;
    fr_header h[1];
    char cl[32];
    char *body = pattern(n);
    fr_req *req = NULL;
    size_t at = 0;
    memset(g, 0, sizeof *g);
    memset(&d, 0, sizeof d);
    sink = frt_got_sink(g);
    snprintf(cl, sizeof cl, "%zu", n);
    h[0].name = chunked ? fr_str_c("transfer-encoding") : fr_str_c("content-length");
    h[0].value = chunked ? fr_str_c("chunked") : fr_str_c(cl);
    d.method = fr_str_c("POST");
    d.target = fr_str_c(path);
    d.headers = h;
    d.nheaders = 1;
    if (fr_dispatch_begin(app, &d, &sink, NULL, &req) != 0 || !req) {
        free(body);
        return; /* answered at begin (g has it) */
    }
    while (at < n) {
        size_t k = n - at < piece ? n - at : piece;
        if (fr_dispatch_feed(req, body + at, k) != 0) break;
        at += k;
    }
    fr_dispatch_end(req, 1);
    free(body);
}

#define CHECK_FED(path, n, piece, chunked, st, want)                                  \
    do {                                                                              \
        frt_got g_;                                                                   \
        fed(app, path, n, piece, chunked, &g_);                                       \
        CHECK_EQ_INT(g_.status, st);                                                  \
        if (want) CHECK_EQ_MEM(g_.body.buf, g_.body.len, (const char *)(want));       \
        fr_buf_free(&g_.body);                                                        \
    } while (0)

static void test_dispatch_fed(void) {
    fr_app *app = make_app();
    int base = frt_deleted_fds();
    REQ(app);
    CHECK_FED("/spool", 800, 100, 0, 200, "mem 800 1");
    CHECK_FED("/spool", 150000, 4096, 0, 200, "file 150000 1");
    CHECK_FED("/spool", 150000, 1, 1, 200, "file 150000 1"); /* one byte at a time, no length */
    CHECK_FED("/spool", 999, 7, 1, 200, "mem 999 1");
    CHECK_FED("/spool-lim", 3001, 1000, 0, 413, "Content Too Large");
    CHECK_FED("/spool-lim", 3001, 1000, 1, 413, "{\"detail\":\"Content Too Large\"}");
    CHECK_FED("/spool", 200001, 65536, 1, 413, NULL); /* the app's limit during the feed */
    CHECK_FED("/unread", 100, 10, 0, 200, "none 0 1");  /* fed: nobody reads it, none kept */
    CHECK_FED("/unread", 150000, 4096, 1, 200, "none 0 1");
    CHECK_FED("/drop-lim", 150000, 4096, 1, 413, NULL);
    CHECK_FED("/plain", 150000, 4096, 0, 200, "mem 150000 1");
    CHECK_EQ_INT(frt_deleted_fds(), base);
    fr_app_free(app);
}

/* a request dropped halfway (the client left) closes its temp file */
static void test_dispatch_dropped(void) {
    fr_app *app = make_app();
    fr_request_desc d;
    fr_header h = {{"content-length", 14}, {"150000", 6}};
    frt_got g;
    fr_sink sink;
    fr_req *req = NULL;
    char *body = pattern(150000);
    int base = frt_deleted_fds();
    REQ(app && body);
    memset(&g, 0, sizeof g);
    memset(&d, 0, sizeof d);
    sink = frt_got_sink(&g);
    d.method = fr_str_c("POST");
    d.target = fr_str_c("/spool");
    d.headers = &h;
    d.nheaders = 1;
    g_calls = 0;
    REQ(fr_dispatch_begin(app, &d, &sink, NULL, &req) == 0 && req);
    CHECK_EQ_INT(fr_dispatch_feed(req, body, 70000), 0);
    CHECK_EQ_INT(frt_deleted_fds(), base + 1); /* on disk already */
    fr_dispatch_end(req, 0);
    CHECK_EQ_INT(frt_deleted_fds(), base);
    CHECK_EQ_INT(g_calls, 0);
    CHECK_EQ_INT(g.starts, 0);
    free(body);
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_socket_spool),       FRT(test_socket_limits),   FRT(test_socket_dropped),
    FRT(test_socket_dropped_big), FRT(test_unmatched),
    FRT(test_socket_pipelined),   FRT(test_socket_spool_fails), FRT(test_dispatch_fed),
    FRT(test_dispatch_dropped),
};
FRT_MAIN()
