/* Behind a proxy: fr_http_trusts / fr_http_forwarded (src/http.c; their
 * exhaustive comparison with uvicorn is tests/test_proxy_parity.py) and the
 * server knobs cfg.forwarded_allow_ips / cfg.root_path over real sockets:
 * fr_req_client_addr/port and fr_req_scheme report what a trusted proxy
 * says and only then, redirect_slashes locations carry the proxy's scheme
 * and the root path. Every socket has a timeout; every wait is bounded. */
#define FRT_NET 1
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv */

#include <pthread.h>

static fr_str S(const char *s) { return fr_str_c(s); }
static fr_str V(const char *p, size_t n) {
    fr_str v;
    v.buf = p;
    v.len = n;
    return v;
}

/* ------------------------------------------------------------------------ */
/* the pure functions                                                        */

static void test_trusts(void) {
    CHECK(fr_http_trusts(S("127.0.0.1"), S("127.0.0.1")));
    CHECK(!fr_http_trusts(S("127.0.0.1"), S("127.0.0.2")));
    CHECK(!fr_http_trusts(S("127.0.0.1"), S("")));
    CHECK(fr_http_trusts(S("*"), S("")));
    CHECK(!fr_http_trusts(S(" *"), S("1.2.3.4"))); /* only exactly "*" trusts all */
    CHECK(fr_http_trusts(S("10.0.0.0/8, ::1"), S("10.200.3.4")));
    CHECK(fr_http_trusts(S("10.0.0.0/8, ::1"), S("0:0::1")));
    CHECK(!fr_http_trusts(S("10.0.0.1/8"), S("10.0.0.1"))); /* host bits: a literal */
    CHECK(fr_http_trusts(S("10.0.0.1/8"), S("10.0.0.1/8")));
    CHECK(!fr_http_trusts(S("::ffff:127.0.0.1"), S("127.0.0.1")));
    CHECK(fr_http_trusts(S("/run/app.sock"), S("/run/app.sock")));
    CHECK(!fr_http_trusts(V(NULL, 0), S("127.0.0.1")));
}

static void test_trusts_guarded(void) {
    /* inputs right before a PROT_NONE page: any over-read crashes */
    static const char *const lists[] = {"10.0.0.0/8", "::", "fe80::%", "1.2.3.4/255.0.0.",
                                        "a,", ",", "1:2:3:4:5:6:7:8", "[::1]"};
    static const char *const hosts[] = {"10.1.1.1", "::", "fe80::1%e", "1.2.3.", "[", ""};
    size_t i, j;
    for (i = 0; i < sizeof lists / sizeof lists[0]; i++)
        for (j = 0; j < sizeof hosts / sizeof hosts[0]; j++) {
            size_t ln = strlen(lists[i]), hn = strlen(hosts[j]);
            char *l = (char *)frt_guarded(lists[i], ln), *h = (char *)frt_guarded(hosts[j], hn);
            fr_header xff;
            fr_forwarded fw;
            int r = fr_http_trusts(V(l, ln), V(h, hn));
            CHECK(r == 0 || r == 1);
            xff.name = S("x-forwarded-for");
            xff.value = V(h, hn);
            CHECK(fr_http_forwarded(V(l, ln), S("127.0.0.1"), &xff, 1, &fw) >= 0);
            xff.value = V(l, ln);
            CHECK(fr_http_forwarded(S("*"), V(h, hn), &xff, 1, &fw) == 1);
            frt_guarded_free(l, ln);
            frt_guarded_free(h, hn);
        }
}

static void test_forwarded(void) {
    fr_header h[3];
    fr_forwarded fw;
    h[0].name = S("X-Forwarded-For");
    h[0].value = S("198.51.100.7:5555, 10.0.0.3");
    h[1].name = S("x-forwarded-proto");
    h[1].value = S("https");
    h[2].name = S("X-Forwarded-For");
    h[2].value = S("10.0.0.2");
    REQ(fr_http_forwarded(S("127.0.0.1, 10.0.0.0/8"), S("127.0.0.1"), h, 3, &fw) == 1);
    CHECK_EQ_MEM(fw.client.buf, fw.client.len, "198.51.100.7");
    CHECK_EQ_INT(fw.client_port, 5555);
    CHECK_EQ_MEM(fw.scheme.buf, fw.scheme.len, "https");
    /* only the peer itself trusted: the last hop is the client */
    REQ(fr_http_forwarded(S("127.0.0.1"), S("127.0.0.1"), h, 3, &fw) == 1);
    CHECK_EQ_MEM(fw.client.buf, fw.client.len, "10.0.0.2");
    CHECK_EQ_INT(fw.client_port, 0);
    /* "*": the first entry */
    REQ(fr_http_forwarded(S("*"), S("203.0.113.1"), h, 3, &fw) == 1);
    CHECK_EQ_MEM(fw.client.buf, fw.client.len, "198.51.100.7");
    /* untrusted peer: nothing */
    CHECK(fr_http_forwarded(S("127.0.0.1"), S("203.0.113.1"), h, 3, &fw) == 0);
    CHECK(fw.client.len == 0 && fw.scheme.len == 0);
    /* bad arguments */
    CHECK(fr_http_forwarded(S("*"), S("x"), NULL, 1, &fw) == 0);
    CHECK(fr_http_forwarded(S("*"), S("x"), h, 3, NULL) == 0);
    /* a scheme outside http/https/ws/wss, an empty client: ignored */
    h[0].value = S(" , ");
    h[1].value = S("HTTPS");
    REQ(fr_http_forwarded(S("*"), S("127.0.0.1"), h, 2, &fw) == 1);
    CHECK(fw.client.len == 0 && fw.client_port == 0 && fw.scheme.len == 0);
}

/* ------------------------------------------------------------------------ */
/* over sockets                                                              */

static int h_who(fr_req *req, void *ud) {
    char b[256];
    fr_str a = fr_req_client_addr(req), s = fr_req_scheme(req), rp = fr_req_root_path(req);
    int n = snprintf(b, sizeof b, "%.*s|%d|%.*s|%.*s", (int)a.len, a.buf, fr_req_client_port(req),
                     (int)s.len, s.buf, (int)rp.len, rp.buf);
    (void)ud;
    return fr_res_text(req, 200, NULL, b, (size_t)n);
}

static int srv_start(frt_srv *s, const char *ips, const char *root_path) {
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1;
    cfg.forwarded_allow_ips = ips;
    cfg.root_path = root_path;
    s->app = fr_app_new(&cfg);
    if (!s->app) return -1;
    if (fr_route(s->app, "GET", "/who", h_who, NULL) < 0) return -1;
    if (fr_route(s->app, "GET", "/items/", h_who, NULL) < 0) return -1;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return frt_srv_run(s);
}

/* One request on a new connection; the whole response (connection: close)
 * into out. Returns its length or -1. */
static int roundtrip(int port, const char *request, char *out, size_t cap) {
    int fd = frt_connect(port, 0), n = -1;
    if (fd < 0) return -1;
    if (frt_send_all(fd, request, strlen(request)) == 0) n = (int)frt_recv_all(fd, out, cap);
    close(fd);
    return n;
}

static const char *body_of(const char *resp) {
    const char *b = strstr(resp, "\r\n\r\n");
    return b ? b + 4 : "";
}

#define GET_WHO(extra) "GET /who HTTP/1.1\r\nHost: h\r\nConnection: close\r\n" extra "\r\n"

static void test_server_trusted_proxy(void) {
    frt_srv s;
    char r[2048];
    REQ(srv_start(&s, "127.0.0.1", NULL) == 0);
    /* no proxy headers: the peer */
    REQ(roundtrip(s.port, GET_WHO(""), r, sizeof r) > 0);
    CHECK(strncmp(body_of(r), "127.0.0.1|", 10) == 0);
    CHECK(strcmp(body_of(r), "127.0.0.1|0|http|") != 0); /* the peer's real port */
    CHECK(strstr(body_of(r), "|http|") != NULL);
    REQ(roundtrip(s.port, GET_WHO("X-Forwarded-For: 203.0.113.9:4242, 127.0.0.1\r\n"
                                  "X-Forwarded-Proto: https\r\n"), r, sizeof r) > 0);
    CHECK(strcmp(body_of(r), "203.0.113.9|4242|https|") == 0);
    REQ(roundtrip(s.port, GET_WHO("X-Forwarded-For: 2001:db8::1\r\n"), r, sizeof r) > 0);
    CHECK(strcmp(body_of(r), "2001:db8::1|0|http|") == 0);
    /* redirect_slashes: the location has the proxy's scheme */
    REQ(roundtrip(s.port, "GET /items?x=1 HTTP/1.1\r\nHost: api.example\r\nConnection: close\r\n"
                          "X-Forwarded-Proto: https\r\n\r\n", r, sizeof r) > 0);
    CHECK(strncmp(r, "HTTP/1.1 307", 12) == 0);
    CHECK(strstr(r, "\r\nlocation: https://api.example/items/?x=1\r\n") != NULL);
    frt_srv_stop(&s);
}

static void test_server_untrusted_or_off(void) {
    static const char *const lists[] = {"10.0.0.1, 192.168.0.0/16", "", NULL};
    size_t i;
    for (i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        frt_srv s;
        char r[2048];
        REQ(srv_start(&s, lists[i], NULL) == 0);
        REQ(roundtrip(s.port, GET_WHO("X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-Proto: https\r\n"),
                      r, sizeof r) > 0);
        CHECK(strncmp(body_of(r), "127.0.0.1|", 10) == 0);
        CHECK(strstr(body_of(r), "|http|") != NULL);
        frt_srv_stop(&s);
    }
}

static void test_server_star(void) {
    frt_srv s;
    char r[2048];
    REQ(srv_start(&s, "*", NULL) == 0);
    REQ(roundtrip(s.port, GET_WHO("X-Forwarded-For: 198.51.100.1, 198.51.100.2\r\n"
                                  "X-Forwarded-Proto: wss\r\n"), r, sizeof r) > 0);
    CHECK(strcmp(body_of(r), "198.51.100.1|0|wss|") == 0);
    frt_srv_stop(&s);
}

static void test_server_root_path(void) {
    frt_srv s;
    char r[2048];
    REQ(srv_start(&s, NULL, "/api/v1") == 0);
    REQ(roundtrip(s.port, GET_WHO(""), r, sizeof r) > 0);
    CHECK(strstr(body_of(r), "|http|/api/v1") != NULL);
    REQ(roundtrip(s.port, "GET /items HTTP/1.1\r\nHost: h:8000\r\nConnection: close\r\n\r\n", r,
                  sizeof r) > 0);
    CHECK(strncmp(r, "HTTP/1.1 307", 12) == 0);
    CHECK(strstr(r, "\r\nlocation: http://h:8000/api/v1/items/\r\n") != NULL);
    frt_srv_stop(&s);
    /* "" = none */
    REQ(srv_start(&s, NULL, "") == 0);
    REQ(roundtrip(s.port, GET_WHO(""), r, sizeof r) > 0);
    CHECK(strstr(body_of(r), "|http|") != NULL && body_of(r)[strlen(body_of(r)) - 1] == '|');
    frt_srv_stop(&s);
}

/* the engine keeps its own copies of the strings */
static void test_config_strings_copied(void) {
    frt_srv s;
    char ips[32], rp[32], r[2048];
    strcpy(ips, "127.0.0.1");
    strcpy(rp, "/p");
    REQ(srv_start(&s, ips, rp) == 0);
    memset(ips, 'x', sizeof ips - 1);
    memset(rp, 'x', sizeof rp - 1);
    REQ(roundtrip(s.port, GET_WHO("X-Forwarded-For: 192.0.2.1\r\n"), r, sizeof r) > 0);
    CHECK(strcmp(body_of(r), "192.0.2.1|0|http|/p") == 0);
    frt_srv_stop(&s);
}

static const frt_case frt_cases[] = {
    FRT(test_trusts),
    FRT(test_trusts_guarded),
    FRT(test_forwarded),
    FRT(test_server_trusted_proxy),
    FRT(test_server_untrusted_or_off),
    FRT(test_server_star),
    FRT(test_server_root_path),
    FRT(test_config_strings_copied),
};
FRT_MAIN()
