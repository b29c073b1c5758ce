/* Unit tests for TLS listeners (src/tls.c + the I/O indirection in
 * src/server.c) over real sockets: an app serves fr_listen_tls on an
 * ephemeral 127.0.0.1 port from a thread and an OpenSSL client in this file
 * talks HTTPS to it. Handshake + ALPN + certificate check, GET, keep-alive
 * and pipelining, large bodies (memory, file, stream), a client that goes
 * away mid-response (SIGPIPE left at its default), plain HTTP on the TLS
 * port, garbage handshakes, a stalled handshake, certificate reload.
 * The certificates are made by the openssl CLI in a temporary directory.
 * Without FR_ENABLE_OPENSSL (the unamalgamated "src" variant builds src/ with
 * the defaults) every case checks instead that the API fails clearly.
 * Every socket has a timeout; every wait loop is bounded.
 *
 * FRT_CFLAGS: -DFR_ENABLE_OPENSSL=1
 * FRT_LIBS: -lssl -lcrypto
 */
#define FRT_NET 1
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv */

#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>

#if FR_ENABLE_OPENSSL

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#define BIG_LEN (3u << 20)
#define FILE_LEN (1u << 20)

static char dir[64];
static char cert_a[128], key_a[128], cert_b[128], key_b[128], cert[128], key[128], file_path[128];

static int sh(const char *cmd) { return system(cmd) == 0; }

static int copy_file(const char *from, const char *to) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s.tmp' && mv '%s.tmp' '%s'", from, to, to, to);
    return sh(cmd);
}

/* Two self-signed EC certificates (CN=a, CN=b) for 127.0.0.1; the served
 * pair (cert, key) starts as a copy of a. */
static int make_certs(void) {
    static int done, ok;
    char cmd[1024];
    const char *names[2] = {"a", "b"};
    int i;
    if (done) return ok;
    done = 1;
    strcpy(dir, "/tmp/frtls.XXXXXX");
    if (!mkdtemp(dir)) return 0;
    snprintf(cert_a, sizeof cert_a, "%s/a.crt", dir);
    snprintf(key_a, sizeof key_a, "%s/a.key", dir);
    snprintf(cert_b, sizeof cert_b, "%s/b.crt", dir);
    snprintf(key_b, sizeof key_b, "%s/b.key", dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(file_path, sizeof file_path, "%s/file.bin", dir);
    for (i = 0; i < 2; i++) {
        snprintf(cmd, sizeof cmd,
                 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                 "-keyout %s/%s.key -out %s/%s.crt -days 2 -subj /CN=%s "
                 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
                 dir, names[i], dir, names[i], names[i]);
        if (!sh(cmd)) return 0;
    }
    ok = copy_file(cert_a, cert) && copy_file(key_a, key);
    if (ok) {
        FILE *f = fopen(file_path, "wb");
        unsigned k;
        if (!f) return ok = 0;
        for (k = 0; k < FILE_LEN; k++) fputc((int)('a' + k % 26), f);
        fclose(f);
    }
    return ok;
}

static void rm_certs(void) {
    char cmd[120];
    if (!dir[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    (void)!system(cmd);
}

/* ---- the app ---- */

static char *big;

static int h_root(fr_req *req, void *ud) {
    char buf[128];
    fr_str s = fr_req_scheme(req);
    int n = snprintf(buf, sizeof buf, "{\"scheme\":\"%.*s\"}", (int)s.len, s.buf);
    (void)ud;
    return fr_res_json(req, 200, buf, (size_t)n);
}

static int h_echo(fr_req *req, void *ud) {
    fr_str b = fr_req_body(req);
    (void)ud;
    return fr_res_text(req, 200, "application/octet-stream", b.buf, b.len);
}

static int h_big(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_text(req, 200, "application/octet-stream", big, BIG_LEN);
}

static int h_file(fr_req *req, void *ud) {
    int fd = open(file_path, O_RDONLY | O_CLOEXEC);
    (void)ud;
    if (fd < 0 || fr_res_file(req, fd, 0, FILE_LEN, 1) < 0) return fr_res_text(req, 500, "text/plain", "x", 1);
    return FR_DONE;
}

static int h_stream(fr_req *req, void *ud) {
    char part[10000];
    int i;
    (void)ud;
    memset(part, 's', sizeof part);
    if (fr_res_stream_begin(req) < 0) return FR_PENDING;
    for (i = 0; i < 100; i++)
        if (fr_res_stream_write(req, part, sizeof part) < 0) break;
    fr_res_stream_end(req);
    return FR_PENDING;
}

static int srv_start(frt_srv *s, int threads, int header_timeout_ms) {
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = threads;
    cfg.no_signals = 1;
    cfg.header_timeout_ms = header_timeout_ms;
    cfg.idle_timeout_ms = 60000; /* a closed stalled handshake is the handshake timer's work */
    if (!make_certs()) return 0;
    if (!big) {
        unsigned k;
        big = (char *)malloc(BIG_LEN);
        if (!big) return 0;
        for (k = 0; k < BIG_LEN; k++) big[k] = (char)('A' + k % 23);
    }
    s->app = fr_app_new(&cfg);
    if (!s->app) return 0;
    fr_route(s->app, "GET", "/", h_root, NULL);
    fr_route(s->app, "POST", "/echo", h_echo, NULL);
    fr_route(s->app, "GET", "/big", h_big, NULL);
    fr_route(s->app, "GET", "/file", h_file, NULL);
    fr_route(s->app, "GET", "/stream", h_stream, NULL);
    s->port = fr_listen_tls(s->app, "127.0.0.1", 0, cert, key);
    if (s->port <= 0) {
        fprintf(stderr, "fr_listen_tls: %s\n", fr_app_last_error(s->app));
        fr_app_free(s->app);
        return 0;
    }
    return frt_srv_run(s) == 0;
}

/* ---- the client ---- */

typedef struct tc {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
} tc;

/* Connect, handshake (verifying the server against `ca`, offering ALPN
 * h2 + http/1.1); 1 ok. */
static int tc_open_ex(tc *t, int port, const char *ca, const char *ccert, const char *ckey, int max_proto);
static int tc_open(tc *t, int port, const char *ca) { return tc_open_ex(t, port, ca, NULL, NULL, 0); }
static int tc_min_proto; /* the lowest TLS version the next clients offer (0: OpenSSL's) */

/* tc_open, presenting a client certificate (ccert/ckey, or none) and
 * offering TLS versions up to max_proto (0: any) */
static int tc_open_ex(tc *t, int port, const char *ca, const char *ccert, const char *ckey, int max_proto) {
    static const unsigned char alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    memset(t, 0, sizeof *t);
    t->fd = -1;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (!t->ctx) return 0;
    SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    if (SSL_CTX_load_verify_locations(t->ctx, ca, NULL) != 1) return 0;
    if (max_proto) SSL_CTX_set_max_proto_version(t->ctx, max_proto);
    if (tc_min_proto) SSL_CTX_set_min_proto_version(t->ctx, tc_min_proto);
    if (ccert && (SSL_CTX_use_certificate_file(t->ctx, ccert, SSL_FILETYPE_PEM) != 1 ||
                  SSL_CTX_use_PrivateKey_file(t->ctx, ckey, SSL_FILETYPE_PEM) != 1))
        return 0;
    SSL_CTX_set_alpn_protos(t->ctx, alpn, sizeof alpn);
    t->fd = frt_connect(port, 0);
    if (t->fd < 0) return 0;
    t->ssl = SSL_new(t->ctx);
    if (!t->ssl) return 0;
    SSL_set_fd(t->ssl, t->fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), "127.0.0.1");
    return SSL_connect(t->ssl) == 1;
}

static void tc_close(tc *t) {
    if (t->ssl) SSL_free(t->ssl);
    if (t->ctx) SSL_CTX_free(t->ctx);
    if (t->fd >= 0) close(t->fd);
    memset(t, 0, sizeof *t);
    t->fd = -1;
    ERR_clear_error();
}

static int tc_send(tc *t, const char *s, size_t n) {
    size_t put;
    while (n) {
        if (SSL_write_ex(t->ssl, s, n, &put) != 1) return 0;
        s += put;
        n -= put;
    }
    return 1;
}

static int tc_sends(tc *t, const char *s) { return tc_send(t, s, strlen(s)); }

/* One response: head + content-length body or chunked body. Returns the
 * status (0 on error); body (malloc'd) and its length; *closed = 1 when the
 * server sent close_notify / EOF right after it (not waited for). */
typedef struct resp {
    int status;
    char head[2048];
    char *body;
    size_t len;
} resp;

static char tc_buf[65536];
static size_t tc_have;

static int tc_fill(tc *t) {
    size_t got;
    if (tc_have == sizeof tc_buf) return 0;
    if (SSL_read_ex(t->ssl, tc_buf + tc_have, sizeof tc_buf - tc_have, &got) != 1) return 0;
    tc_have += got;
    return 1;
}

static void tc_take(size_t n) {
    memmove(tc_buf, tc_buf + n, tc_have - n);
    tc_have -= n;
}

static int body_add(resp *r, const char *p, size_t n) {
    char *nb = (char *)realloc(r->body, r->len + n + 1);
    if (!nb) return 0;
    r->body = nb;
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = 0;
    return 1;
}

static int tc_response(tc *t, resp *r) {
    char *e, *cl;
    size_t hl;
    memset(r, 0, sizeof *r);
    for (;;) {
        tc_buf[tc_have < sizeof tc_buf ? tc_have : sizeof tc_buf - 1] = 0;
        e = strstr(tc_buf, "\r\n\r\n");
        if (e) break;
        if (!tc_fill(t)) return 0;
    }
    hl = (size_t)(e - tc_buf) + 4;
    if (hl >= sizeof r->head) return 0;
    memcpy(r->head, tc_buf, hl);
    r->head[hl] = 0;
    tc_take(hl);
    r->status = atoi(r->head + 9);
    cl = strstr(r->head, "content-length: ");
    if (cl) {
        size_t want = (size_t)strtoul(cl + 16, NULL, 10);
        while (r->len < want) {
            size_t k;
            if (!tc_have && !tc_fill(t)) return 0;
            k = tc_have < want - r->len ? tc_have : want - r->len;
            if (!body_add(r, tc_buf, k)) return 0;
            tc_take(k);
        }
        return r->status;
    }
    if (strstr(r->head, "transfer-encoding: chunked")) {
        for (;;) {
            char *nl;
            size_t n;
            tc_buf[tc_have < sizeof tc_buf ? tc_have : sizeof tc_buf - 1] = 0;
            nl = strstr(tc_buf, "\r\n");
            if (!nl) {
                if (!tc_fill(t)) return 0;
                continue;
            }
            n = (size_t)strtoul(tc_buf, NULL, 16);
            while (tc_have < (size_t)(nl - tc_buf) + 2 + n + 2)
                if (!tc_fill(t)) return 0;
            if (!body_add(r, nl + 2, n)) return 0;
            tc_take((size_t)(nl - tc_buf) + 2 + n + 2);
            if (n == 0) return r->status;
        }
    }
    return r->status;
}

/* GET / on a new connection (trusting cert a): the status, 0 on failure. */
static int get_root(int port) {
    tc t;
    resp r;
    int st = 0;
    tc_have = 0;
    r.body = NULL;
    if (tc_open(&t, port, cert_a) && tc_sends(&t, "GET / HTTP/1.1\r\nhost: x\r\n\r\n"))
        st = tc_response(&t, &r);
    free(r.body);
    tc_close(&t);
    return st;
}

/* After the last response: the server's close_notify / EOF arrives. */
static int tc_eof(tc *t) {
    char b[256];
    size_t got;
    int r = SSL_read_ex(t->ssl, b, sizeof b, &got);
    return r != 1 && SSL_get_error(t->ssl, r) == SSL_ERROR_ZERO_RETURN;
}

/* The server certificate's CN ("a" / "b"), "" if none. */
static void tc_cn(tc *t, char *out, size_t cap) {
    X509 *x = SSL_get1_peer_certificate(t->ssl);
    out[0] = 0;
    if (!x) return;
    X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out, (int)cap);
    X509_free(x);
}

/* Read a raw socket until EOF: 1 = EOF or reset (closed), 0 = timed out. */
static int raw_closed(int fd, char *got, size_t cap, size_t *len) {
    size_t n = 0;
    for (;;) {
        ssize_t k = recv(fd, got + n, cap - 1 - n, 0);
        if (k > 0) {
            n += (size_t)k;
            if (n >= cap - 1) n = 0; /* keep reading; content beyond cap not needed */
            continue;
        }
        got[n] = 0;
        if (len) *len = n;
        if (k == 0) return 1;
        return errno == ECONNRESET;
    }
}

/* ---- cases ---- */

static void test_tls_bad_files(void) {
    fr_app *app = fr_app_new(NULL);
    char missing[160];
    REQ(app && make_certs());
    CHECK_EQ_INT(fr_tls_available(), 1);
    snprintf(missing, sizeof missing, "%s/nope.pem", dir);
    CHECK_EQ_INT(fr_listen_tls(app, "127.0.0.1", 0, missing, key_a), -1);
    CHECK(strstr(fr_app_last_error(app), "nope.pem") != NULL);
    CHECK_EQ_INT(fr_listen_tls(app, "127.0.0.1", 0, cert_a, key_b), -1); /* key of another cert */
    CHECK(strstr(fr_app_last_error(app), "does not match") != NULL);
    CHECK_EQ_INT(fr_listen_tls(app, "127.0.0.1", 0, NULL, key_a), -1);
    CHECK_EQ_INT(fr_tls_reload(app), 0); /* no TLS listener: nothing to do */
    fr_app_free(app);
}

static void test_tls_get(void) {
    frt_srv s;
    tc t;
    resp r;
    const unsigned char *proto = NULL;
    unsigned plen = 0;
    char cn[16];
    REQ(srv_start(&s, 1, 0));
    tc_have = 0;
    CHECK(tc_open(&t, s.port, cert_a));
    SSL_get0_alpn_selected(t.ssl, &proto, &plen);
    CHECK(plen == 8 && memcmp(proto, "http/1.1", 8) == 0);
    tc_cn(&t, cn, sizeof cn);
    CHECK(strcmp(cn, "a") == 0);
    CHECK(tc_sends(&t, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
    CHECK_EQ_INT(tc_response(&t, &r), 200);
    CHECK(r.body && strcmp(r.body, "{\"scheme\":\"https\"}") == 0);
    CHECK(tc_eof(&t)); /* close_notify, then FIN */
    free(r.body);
    tc_close(&t);
    frt_srv_stop(&s);
}

static void test_tls_keepalive_pipelined(void) {
    frt_srv s;
    tc t;
    resp r;
    int i;
    static const char two[] = "GET / HTTP/1.1\r\nhost: x\r\n\r\n"
                              "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello";
    REQ(srv_start(&s, 2, 0));
    tc_have = 0;
    REQ(tc_open(&t, s.port, cert_a));
    for (i = 0; i < 3; i++) { /* keep-alive: one connection, several requests */
        CHECK(tc_sends(&t, "GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
        CHECK_EQ_INT(tc_response(&t, &r), 200);
        CHECK(r.body && strstr(r.body, "https") != NULL);
        free(r.body);
    }
    CHECK(tc_send(&t, two, sizeof two - 1)); /* pipelined, in one record */
    CHECK_EQ_INT(tc_response(&t, &r), 200);
    free(r.body);
    CHECK_EQ_INT(tc_response(&t, &r), 200);
    CHECK(r.len == 5 && memcmp(r.body, "hello", 5) == 0);
    free(r.body);
    tc_close(&t);
    frt_srv_stop(&s);
}

static void test_tls_large_bodies(void) {
    frt_srv s;
    tc t;
    resp r;
    unsigned k, bad = 0;
    char *post;
    size_t plen = 600000;
    REQ(srv_start(&s, 1, 0));
    tc_have = 0;
    REQ(tc_open(&t, s.port, cert_a));
    CHECK(tc_sends(&t, "GET /big HTTP/1.1\r\nhost: x\r\n\r\n"));
    CHECK_EQ_INT(tc_response(&t, &r), 200);
    CHECK_EQ_INT(r.len, BIG_LEN);
    for (k = 0; k < r.len && k < BIG_LEN; k++) bad += r.body[k] != (char)('A' + k % 23);
    CHECK_EQ_INT(bad, 0);
    free(r.body);
    /* a file body: no sendfile on TLS, read + SSL_write */
    CHECK(tc_sends(&t, "GET /file HTTP/1.1\r\nhost: x\r\n\r\n"));
    CHECK_EQ_INT(tc_response(&t, &r), 200);
    CHECK_EQ_INT(r.len, FILE_LEN);
    for (k = 0, bad = 0; k < r.len; k++) bad += r.body[k] != (char)('a' + k % 26);
    CHECK_EQ_INT(bad, 0);
    free(r.body);
    /* a streamed (chunked) body */
    CHECK(tc_sends(&t, "GET /stream HTTP/1.1\r\nhost: x\r\n\r\n"));
    CHECK_EQ_INT(tc_response(&t, &r), 200);
    CHECK_EQ_INT(r.len, 100 * 10000);
    free(r.body);
    /* a large request body, echoed */
    post = (char *)malloc(plen + 100);
    REQ(post);
    k = (unsigned)snprintf(post, 100, "POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: %zu\r\n\r\n", plen);
    memset(post + k, 'p', plen);
    CHECK(tc_send(&t, post, k + plen));
    CHECK_EQ_INT(tc_response(&t, &r), 200);
    CHECK_EQ_INT(r.len, plen);
    CHECK(r.body && r.body[0] == 'p' && r.body[plen - 1] == 'p');
    free(r.body);
    free(post);
    tc_close(&t);
    frt_srv_stop(&s);
}

/* The client stops reading and resets mid-response: the server's write
 * fails with EPIPE/ECONNRESET, not SIGPIPE (left at its default here). */
static void test_tls_client_gone(void) {
    frt_srv s;
    tc t;
    struct linger lg;
    void (*old)(int) = signal(SIGPIPE, SIG_DFL);
    int i;
    REQ(srv_start(&s, 1, 0));
    for (i = 0; i < 3; i++) {
        tc_have = 0;
        REQ(tc_open(&t, s.port, cert_a));
        CHECK(tc_sends(&t, "GET /big HTTP/1.1\r\nhost: x\r\n\r\n"));
        CHECK(tc_fill(&t)); /* the response has started */
        lg.l_onoff = 1;
        lg.l_linger = 0;
        setsockopt(t.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg); /* close = RST */
        tc_close(&t);
    }
    frt_sleep_ms(50);
    CHECK_EQ_INT(get_root(s.port), 200); /* still alive and serving */
    frt_srv_stop(&s);
    signal(SIGPIPE, old);
}

static void test_tls_plain_http(void) {
    frt_srv s;
    char got[4096];
    size_t n = 0;
    int fd;
    REQ(srv_start(&s, 1, 0));
    fd = frt_connect(s.port, 0);
    REQ(fd >= 0);
    CHECK(send(fd, "GET / HTTP/1.1\r\nhost: x\r\n\r\n", 27, MSG_NOSIGNAL) == 27);
    CHECK(raw_closed(fd, got, sizeof got, &n));
    CHECK(strncmp(got, "HTTP/1.1 400 ", 13) == 0);
    CHECK(strstr(got, "connection: close") != NULL);
    close(fd);
    frt_srv_stop(&s);
}

static void test_tls_bad_handshake(void) {
    frt_srv s;
    tc t;
    char got[4096];
    static const char junk[] = "\x16\x03\x01\x00\x10garbage-garbage!\x16\x03\x01\x00\x05xxxxx";
    int fd;
    REQ(srv_start(&s, 1, 0));
    fd = frt_connect(s.port, 0); /* a handshake record with no ClientHello in it */
    REQ(fd >= 0);
    CHECK(send(fd, junk, sizeof junk - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof junk - 1));
    CHECK(raw_closed(fd, got, sizeof got, NULL));
    close(fd);
    fd = frt_connect(s.port, 0); /* binary noise */
    REQ(fd >= 0);
    CHECK(send(fd, "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c", 12, MSG_NOSIGNAL) == 12);
    CHECK(raw_closed(fd, got, sizeof got, NULL));
    close(fd);
    fd = frt_connect(s.port, 0); /* connect and leave at once */
    REQ(fd >= 0);
    close(fd);
    /* a client that does not trust the certificate aborts the handshake */
    tc_have = 0;
    CHECK(!tc_open(&t, s.port, cert_b));
    tc_close(&t);
    CHECK_EQ_INT(get_root(s.port), 200); /* the server still serves */
    frt_srv_stop(&s);
}

/* A client that opens a handshake and stalls is closed after
 * header_timeout_ms (here 300 ms; the idle timeout is 60 s). */
static void test_tls_stalled_handshake(void) {
    frt_srv s;
    char got[256];
    int fd, fd2;
    REQ(srv_start(&s, 1, 300));
    fd = frt_connect(s.port, 0); /* sends nothing */
    fd2 = frt_connect(s.port, 0); /* a record header promising 80 bytes, then nothing */
    REQ(fd >= 0 && fd2 >= 0);
    CHECK(send(fd2, "\x16\x03\x01\x00\x50", 5, MSG_NOSIGNAL) == 5);
    CHECK(raw_closed(fd, got, sizeof got, NULL));
    CHECK(raw_closed(fd2, got, sizeof got, NULL));
    close(fd);
    close(fd2);
    frt_srv_stop(&s);
}

static void test_tls_reload(void) {
    frt_srv s;
    tc old, t;
    resp r;
    char cn[16];
    REQ(srv_start(&s, 2, 0));
    tc_have = 0;
    REQ(tc_open(&old, s.port, cert_a));
    REQ(copy_file(cert_b, cert) && copy_file(key_b, key));
    CHECK_EQ_INT(fr_tls_reload(s.app), 0);
    REQ(tc_open(&t, s.port, cert_b)); /* new connections: the new certificate */
    tc_cn(&t, cn, sizeof cn);
    CHECK(strcmp(cn, "b") == 0);
    tc_close(&t);
    CHECK(tc_sends(&old, "GET / HTTP/1.1\r\nhost: x\r\n\r\n")); /* the old one lives on */
    CHECK_EQ_INT(tc_response(&old, &r), 200);
    free(r.body);
    tc_close(&old);
    /* a broken file: reload fails, the current certificate stays */
    {
        FILE *f = fopen(cert, "w");
        REQ(f);
        fputs("broken\n", f);
        fclose(f);
    }
    CHECK_EQ_INT(fr_tls_reload(s.app), -1);
    CHECK(strstr(fr_app_last_error(s.app), "cert.pem") != NULL);
    tc_have = 0;
    REQ(tc_open(&t, s.port, cert_b));
    tc_cn(&t, cn, sizeof cn);
    CHECK(strcmp(cn, "b") == 0);
    tc_close(&t);
    REQ(copy_file(cert_a, cert) && copy_file(key_a, key)); /* for the cases after */
    frt_srv_stop(&s);
}

/* ---- fr_tls_opts: an encrypted key, client certificates, ciphers ---- */

static char ca_crt[128], cl_crt[128], cl_key[128], enc_key[128];

/* a CA, a client certificate it signed (CN=client), key a encrypted */
static int make_opts_certs(void) {
    static int done, ok;
    char cmd[2048];
    if (done) return ok;
    done = 1;
    if (!make_certs()) return 0;
    snprintf(ca_crt, sizeof ca_crt, "%s/ca.crt", dir);
    snprintf(cl_crt, sizeof cl_crt, "%s/client.crt", dir);
    snprintf(cl_key, sizeof cl_key, "%s/client.key", dir);
    snprintf(enc_key, sizeof enc_key, "%s/a.enc.key", dir);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
             "-keyout ca.key -out ca.crt -days 2 -subj /CN=ca >/dev/null 2>&1 && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout client.key "
             "-out client.csr -subj /CN=client >/dev/null 2>&1 && "
             "openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
             "-out client.crt >/dev/null 2>&1 && "
             "openssl pkey -in a.key -aes256 -passout pass:s3cret -out a.enc.key >/dev/null 2>&1",
             dir);
    return ok = sh(cmd);
}

static fr_tls_opts opts_of(const char *pw, const char *ca, int reqs, const char *ciphers) {
    fr_tls_opts o;
    memset(&o, 0, sizeof o);
    o.cert_file = cert_a;
    o.key_file = enc_key;
    o.key_password = pw;
    o.ca_certs = ca;
    o.cert_reqs = reqs;
    o.ciphers = ciphers;
    return o;
}

static int opts_start(frt_srv *s, const fr_tls_opts *o) {
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1;
    s->app = fr_app_new(&cfg);
    if (!s->app) return 0;
    fr_route(s->app, "GET", "/", h_root, NULL);
    s->port = fr_listen_tls_ex(s->app, "127.0.0.1", 0, o);
    if (s->port <= 0) {
        fprintf(stderr, "fr_listen_tls_ex: %s\n", fr_app_last_error(s->app));
        fr_app_free(s->app);
        return 0;
    }
    return frt_srv_run(s) == 0;
}

/* GET / with that client certificate: the status, 0 when refused */
static int get_as(int port, const char *ccert, const char *ckey, int max_proto, char *cipher, size_t cap) {
    tc t;
    resp r;
    int st = 0;
    tc_have = 0;
    memset(&r, 0, sizeof r);
    if (tc_open_ex(&t, port, cert_a, ccert, ckey, max_proto) &&
        tc_sends(&t, "GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"))
        st = tc_response(&t, &r); /* TLS 1.3: a refused certificate shows here */
    if (cipher && t.ssl) snprintf(cipher, cap, "%s", SSL_get_cipher_name(t.ssl));
    free(r.body);
    tc_close(&t);
    return st;
}

static void test_tls_opts_errors(void) {
    fr_app *app = fr_app_new(NULL);
    fr_tls_opts o;
    char missing[160];
    REQ(app && make_opts_certs());
    o = opts_of(NULL, NULL, 0, NULL); /* an encrypted key, no passphrase: no prompt, an error */
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    CHECK(strstr(fr_app_last_error(app), "key_password") != NULL);
    o = opts_of("wrong", NULL, 0, NULL);
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    CHECK(strstr(fr_app_last_error(app), "wrong key_password") != NULL);
    o = opts_of("s3cret", NULL, 0, "NOPE-NO-CIPHER");
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    CHECK(strstr(fr_app_last_error(app), "no cipher matches") != NULL);
    o = opts_of("s3cret", NULL, 2, NULL);
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    CHECK(strstr(fr_app_last_error(app), "need ca_certs") != NULL);
    o = opts_of("s3cret", ca_crt, 3, NULL);
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    snprintf(missing, sizeof missing, "%s/nope-ca.pem", dir);
    o = opts_of("s3cret", missing, 2, NULL);
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    CHECK(strstr(fr_app_last_error(app), "nope-ca.pem") != NULL);
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, NULL), -1);
    o = opts_of("s3cret", NULL, 0, NULL);
    o.key_file = NULL; /* the key in the certificate file: a's has none */
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    o = opts_of("s3cret", NULL, 0, NULL);
    o.min_version = 0x0200; /* SSL 2: not a TLS version */
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    CHECK(strstr(fr_app_last_error(app), "min_version") != NULL);
    o.min_version = 0;
    o.max_version = 0x0305;
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    o.min_version = TLS1_3_VERSION;
    o.max_version = TLS1_2_VERSION;
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    CHECK(strstr(fr_app_last_error(app), "not above") != NULL);
    o = opts_of("s3cret", NULL, 0, NULL);
    CHECK(fr_listen_tls_ex(app, "127.0.0.1", 0, &o) > 0); /* the right passphrase */
    fr_app_free(app);
}

/* min_version / max_version: TLS 1.2 only and TLS 1.3 only (a TLS 1.3
 * suite's name starts "TLS_") */
static void test_tls_versions(void) {
    frt_srv s;
    fr_tls_opts o;
    char cipher[64];
    REQ(make_opts_certs());
    o = opts_of("s3cret", NULL, 0, NULL);
    o.min_version = o.max_version = TLS1_2_VERSION;
    REQ(opts_start(&s, &o));
    cipher[0] = 0;
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, 0, cipher, sizeof cipher), 200);
    CHECK(cipher[0] && strncmp(cipher, "TLS_", 4) != 0); /* offered 1.3, got 1.2 */
    tc_min_proto = TLS1_3_VERSION;
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, 0, NULL, 0), 0); /* a TLS 1.3-only client */
    tc_min_proto = 0;
    CHECK_EQ_INT(fr_tls_reload(s.app), 0); /* a reload keeps the versions */
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, 0, cipher, sizeof cipher), 200);
    CHECK(cipher[0] && strncmp(cipher, "TLS_", 4) != 0);
    frt_srv_stop(&s);
    o.min_version = TLS1_3_VERSION;
    o.max_version = 0; /* the highest */
    REQ(opts_start(&s, &o));
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, TLS1_2_VERSION, NULL, 0), 0); /* a TLS 1.2 client */
    cipher[0] = 0;
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, 0, cipher, sizeof cipher), 200);
    CHECK(strncmp(cipher, "TLS_", 4) == 0);
    frt_srv_stop(&s);
}

static void test_tls_client_certs(void) {
    frt_srv s;
    fr_tls_opts o;
    REQ(make_opts_certs());
    o = opts_of("s3cret", ca_crt, 2, NULL); /* required */
    REQ(opts_start(&s, &o));
    CHECK_EQ_INT(get_as(s.port, cl_crt, cl_key, 0, NULL, 0), 200);
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, 0, NULL, 0), 0);                      /* none */
    CHECK_EQ_INT(get_as(s.port, cert_b, key_b, 0, NULL, 0), 0);                   /* another CA's */
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, TLS1_2_VERSION, NULL, 0), 0);         /* none, TLS 1.2 */
    CHECK_EQ_INT(get_as(s.port, cl_crt, cl_key, TLS1_2_VERSION, NULL, 0), 200);
    CHECK_EQ_INT(fr_tls_reload(s.app), 0); /* the passphrase is kept for reloads */
    CHECK_EQ_INT(get_as(s.port, cl_crt, cl_key, 0, NULL, 0), 200);
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, 0, NULL, 0), 0);
    frt_srv_stop(&s);
    o = opts_of("s3cret", ca_crt, 1, NULL); /* optional: verified when sent */
    REQ(opts_start(&s, &o));
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, 0, NULL, 0), 200);
    CHECK_EQ_INT(get_as(s.port, cl_crt, cl_key, 0, NULL, 0), 200);
    CHECK_EQ_INT(get_as(s.port, cert_b, key_b, 0, NULL, 0), 0);
    frt_srv_stop(&s);
}

static void test_tls_ciphers(void) {
    frt_srv s;
    fr_tls_opts o;
    char cipher[64];
    REQ(make_opts_certs());
    o = opts_of("s3cret", NULL, 0, "ECDHE-ECDSA-CHACHA20-POLY1305");
    REQ(opts_start(&s, &o));
    cipher[0] = 0;
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, TLS1_2_VERSION, cipher, sizeof cipher), 200);
    CHECK(strcmp(cipher, "ECDHE-ECDSA-CHACHA20-POLY1305") == 0);
    CHECK_EQ_INT(get_as(s.port, NULL, NULL, 0, NULL, 0), 200); /* TLS 1.3: OpenSSL's suites */
    frt_srv_stop(&s);
}

#else /* built without FR_ENABLE_OPENSSL: the API says so */

static void check_disabled(void) {
    fr_app *app = fr_app_new(NULL);
    REQ(app);
    CHECK_EQ_INT(fr_tls_available(), 0);
    CHECK_EQ_INT(fr_listen_tls(app, "127.0.0.1", 0, "cert.pem", "key.pem"), -1);
    CHECK(strstr(fr_app_last_error(app), "FR_ENABLE_OPENSSL") != NULL);
    CHECK_EQ_INT(fr_tls_reload(app), -1);
    CHECK(strstr(fr_app_last_error(app), "FR_ENABLE_OPENSSL") != NULL);
    CHECK_EQ_INT(fr_listen(app, "127.0.0.1", 0) > 0, 1); /* plain listeners unaffected */
    fr_app_free(app);
}
static void test_tls_bad_files(void) { check_disabled(); }
static void test_tls_get(void) { check_disabled(); }
static void test_tls_keepalive_pipelined(void) { check_disabled(); }
static void test_tls_large_bodies(void) { check_disabled(); }
static void test_tls_client_gone(void) { check_disabled(); }
static void test_tls_plain_http(void) { check_disabled(); }
static void test_tls_bad_handshake(void) { check_disabled(); }
static void test_tls_stalled_handshake(void) { check_disabled(); }
static void test_tls_reload(void) { check_disabled(); }
static void test_tls_opts_errors(void) {
    fr_app *app = fr_app_new(NULL);
    fr_tls_opts o;
    REQ(app);
    memset(&o, 0, sizeof o);
    o.cert_file = "cert.pem";
    CHECK_EQ_INT(fr_listen_tls_ex(app, "127.0.0.1", 0, &o), -1);
    CHECK(strstr(fr_app_last_error(app), "FR_ENABLE_OPENSSL") != NULL);
    CHECK_EQ_INT(fr_listen_fd_tls_ex(app, 0, &o), -1);
    fr_app_free(app);
}
static void test_tls_client_certs(void) { check_disabled(); }
static void test_tls_ciphers(void) { check_disabled(); }
static void test_tls_versions(void) { check_disabled(); }
static void rm_certs(void) {}
static char *big;
#endif

static const frt_case frt_cases[] = {
    FRT(test_tls_bad_files),      FRT(test_tls_get),           FRT(test_tls_keepalive_pipelined),
    FRT(test_tls_large_bodies),   FRT(test_tls_client_gone),   FRT(test_tls_plain_http),
    FRT(test_tls_bad_handshake),  FRT(test_tls_stalled_handshake), FRT(test_tls_reload),
    FRT(test_tls_opts_errors),    FRT(test_tls_client_certs),  FRT(test_tls_ciphers),
    FRT(test_tls_versions),
};

static void cleanup(void) {
    rm_certs();
    free(big);
    big = NULL;
    (void)frt_guarded;
    (void)frt_guarded_free;
}

int main(int argc, char **argv) {
    atexit(cleanup);
    return frt_main(argc, argv, frt_cases, sizeof frt_cases / sizeof frt_cases[0]);
}
