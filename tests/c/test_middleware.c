/* Unit tests for src/middleware.c: Starlette's CORS, TrustedHost,
 * HTTPSRedirect, GZip and Session middlewares as C decisions.
 *
 * Expected values were produced by Starlette 1.10 / itsdangerous 2.2 /
 * CPython's zlib (tests/test_middleware_parity.py compares against the real
 * classes at scale). Request-side inputs are placed right before a guard
 * page (frt_guarded) so an over-read crashes.
 *
 * FRT_CFLAGS: -DFR_ENABLE_ZLIB=1
 * FRT_LIBS: -lz
 * (the gcc and asan variants compile gzip in; the src variant builds src/
 * with the defaults, so it checks the zlib-less stubs instead.) */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

/* A guarded view of a C string (the bytes end right before a PROT_NONE
 * page). The mappings are released by gfree() at the end of each test. */
static struct {
    void *p;
    size_t n;
} guards[512];
static size_t nguards;

static void gfree(void) {
    while (nguards) {
        nguards--;
        frt_guarded_free(guards[nguards].p, guards[nguards].n);
    }
}

static fr_str G(const char *s) {
    size_t n = strlen(s);
    fr_str r;
    if (nguards == sizeof guards / sizeof guards[0]) abort();
    r.buf = (const char *)frt_guarded(s, n);
    r.len = n;
    guards[nguards].p = (void *)r.buf;
    guards[nguards++].n = n;
    return r;
}

static const fr_str NONE = {NULL, 0};

static int hl_is(const fr_hlist *h, size_t i, const char *name, const char *value) {
    return i < h->len && fr_str_eq_c(h->items[i].name, name) && fr_str_eq_c(h->items[i].value, value);
}

/* ---- header list ---- */

static void test_hlist_semantics(void) {
    fr_arena a;
    fr_hlist h;
    fr_arena_init(&a, NULL);
    fr_hlist_init(&h, &a);
    REQUIRE(fr_hlist_append(&h, FR_STR("Vary"), FR_STR("a")) == 0);
    REQUIRE(fr_hlist_append(&h, FR_STR("x-one"), FR_STR("1")) == 0);
    REQUIRE(fr_hlist_append(&h, FR_STR("vary"), FR_STR("b")) == 0);
    CHECK(hl_is(&h, 0, "vary", "a")); /* names are stored lowercased, like Starlette's */
    CHECK(fr_str_eq_c(fr_hlist_get(&h, FR_STR("VARY")), "a"));
    CHECK(fr_hlist_get(&h, FR_STR("absent")).buf == NULL);
    /* add_vary joins every vary value, then __setitem__: first place kept, dups gone */
    REQUIRE(fr_hlist_add_vary(&h, FR_STR("Origin")) == 0);
    CHECK_EQ_INT(h.len, 2);
    CHECK(hl_is(&h, 0, "vary", "a, b, Origin"));
    CHECK(hl_is(&h, 1, "x-one", "1"));
    REQUIRE(fr_hlist_set(&h, FR_STR("X-New"), FR_STR("n")) == 0);
    CHECK(hl_is(&h, 2, "x-new", "n"));
    CHECK_EQ_INT(fr_hlist_remove(&h, FR_STR("VARY")), 1);
    CHECK_EQ_INT(h.len, 2);
    CHECK(hl_is(&h, 0, "x-one", "1"));
    /* Latin-1 letters lowercase too (Python's str.lower) */
    REQUIRE(fr_hlist_append(&h, FR_STR("\xc9T\xc9"), FR_STR("v")) == 0);
    CHECK(hl_is(&h, 2, "\xe9t\xe9", "v"));
    CHECK(fr_hlist_add_vary(NULL, FR_STR("x")) == FR_MW_ERROR);
    CHECK(fr_hlist_append(&h, NONE, FR_STR("v")) == 0); /* an empty name is allowed */
    {
        fr_str bad = {NULL, 3};
        CHECK(fr_hlist_set(&h, bad, FR_STR("v")) == FR_MW_ERROR);
    }
    fr_arena_free(&a);
    gfree();
}

/* ---- CORS ---- */

static fr_cors *cors_regex(const char *pattern, fr_err *err) {
    fr_cors_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.allow_origin_regex = fr_str_c(pattern);
    return fr_cors_new(&cfg, err);
}

static void test_cors_regex(void) {
    fr_err err = {0, NULL, 0};
    fr_cors *c = cors_regex("https://.*\\.example\\.org", &err);
    REQUIRE(c != NULL);
    CHECK(fr_cors_origin_allowed(c, G("https://api.example.org")) == 1);
    CHECK(fr_cors_origin_allowed(c, G("https://example.org")) == 0);
    CHECK(fr_cors_origin_allowed(c, G("https://a.example.org.evil.com")) == 0); /* fullmatch */
    CHECK(fr_cors_origin_allowed(c, G("https://a.example.org\n")) == 0);
    CHECK(fr_cors_origin_allowed(c, G("")) == 0);
    fr_cors_free(c);
    /* Python's '$' also matches before a final newline -- but fullmatch must
     * consume it, so only a pattern that matches the "\n" itself accepts it */
    c = cors_regex("^https://a\\.com$\n", &err);
    REQUIRE(c != NULL);
    CHECK(fr_cors_origin_allowed(c, G("https://a.com\n")) == 1);
    CHECK(fr_cors_origin_allowed(c, G("https://a.com")) == 0);
    fr_cors_free(c);
    c = cors_regex("http://localhost(:\\d{2,5})?|https://(?:www|api)\\.x\\.io", &err);
    REQUIRE(c != NULL);
    CHECK(fr_cors_origin_allowed(c, G("http://localhost")) == 1);
    CHECK(fr_cors_origin_allowed(c, G("http://localhost:8000")) == 1);
    CHECK(fr_cors_origin_allowed(c, G("http://localhost:8")) == 0);
    CHECK(fr_cors_origin_allowed(c, G("https://api.x.io")) == 1);
    CHECK(fr_cors_origin_allowed(c, G("https://cdn.x.io")) == 0);
    fr_cors_free(c);
    /* \w is Unicode: Latin-1 letters count; a literal U+00E9 in the pattern
     * matches the header byte 0xE9 */
    c = cors_regex("\\w+\xc3\xa9", &err);
    REQUIRE(c != NULL);
    CHECK(fr_cors_origin_allowed(c, G("\xe0z\xe9")) == 1);
    CHECK(fr_cors_origin_allowed(c, G("-\xe9")) == 0);
    fr_cors_free(c);
    /* backtracking bombs are linear here */
    c = cors_regex("(a*)*b", &err);
    REQUIRE(c != NULL);
    {
        char s[4001];
        memset(s, 'a', 4000);
        s[4000] = 0;
        CHECK(fr_cors_origin_allowed(c, G(s)) == 0);
        s[3999] = 'b';
        CHECK(fr_cors_origin_allowed(c, G(s)) == 1);
    }
    fr_cors_free(c);
    gfree();
}

static void test_cors_regex_refused(void) {
    static const char *const bad[] = {"(?i)a", "a**", "*", "(a", "a)", "[a", "\\1", "(?P<n>x)",
                                      "(?=a)", "a*+", "\\b", "a{2,1}", "\\q", "^*", "a{1001}",
                                      "\\N{DIGIT ONE}", "[z-a]", "\xff"};
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fr_err err = {0, NULL, 0};
        fr_cors *c = cors_regex(bad[i], &err);
        CHECK(c == NULL);
        CHECK(err.code == 400 && err.msg != NULL);
        fr_cors_free(c);
    }
    {
        fr_err err = {0, NULL, 0};
        CHECK(cors_regex("ab(?i)", &err) == NULL);
        CHECK_EQ_INT(err.pos, 2);
    }
    gfree();
}

static fr_cors *cors_example(int creds) {
    static const fr_str origins[] = {{"https://a.com", 13}};
    static const fr_str methods[] = {{"GET", 3}, {"POST", 4}};
    static const fr_str headers[] = {{"X-Token", 7}};
    static const fr_str expose[] = {{"X-Total", 7}};
    fr_cors_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.allow_origins = origins, cfg.num_allow_origins = 1;
    cfg.allow_methods = methods, cfg.num_allow_methods = 2;
    cfg.allow_headers = headers, cfg.num_allow_headers = 1;
    cfg.expose_headers = expose, cfg.num_expose_headers = 1;
    cfg.allow_credentials = creds;
    cfg.max_age = FR_STR("60");
    return fr_cors_new(&cfg, NULL);
}

#define PREFLIGHT_VARY \
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, " \
    "Access-Control-Request-Private-Network"

static void test_cors_preflight(void) {
    fr_arena a;
    fr_mw_answer ans;
    fr_cors *c = cors_example(1);
    REQUIRE(c != NULL);
    fr_arena_init(&a, NULL);
    CHECK_EQ_INT(fr_cors_classify(FR_STR("OPTIONS"), G("https://a.com"), 1), FR_CORS_PREFLIGHT);
    CHECK_EQ_INT(fr_cors_classify(FR_STR("options"), G("https://a.com"), 1), FR_CORS_SIMPLE);
    CHECK_EQ_INT(fr_cors_classify(FR_STR("OPTIONS"), G("https://a.com"), 0), FR_CORS_SIMPLE);
    CHECK_EQ_INT(fr_cors_classify(FR_STR("OPTIONS"), NONE, 1), FR_CORS_NONE);
    REQUIRE(fr_cors_preflight(c, G("https://a.com"), G("POST"), G("x-token, content-type"), NONE,
                              &a, &ans) == 0);
    CHECK_EQ_INT(ans.status, 200);
    CHECK_EQ_MEM(ans.body.buf, ans.body.len, "OK");
    CHECK_EQ_INT(ans.headers.len, 8);
    CHECK(hl_is(&ans.headers, 0, "vary", PREFLIGHT_VARY));
    CHECK(hl_is(&ans.headers, 1, "access-control-allow-methods", "GET, POST"));
    CHECK(hl_is(&ans.headers, 2, "access-control-max-age", "60"));
    CHECK(hl_is(&ans.headers, 3, "access-control-allow-headers",
                "Accept, Accept-Language, Content-Language, Content-Type, X-Token"));
    CHECK(hl_is(&ans.headers, 4, "access-control-allow-credentials", "true"));
    CHECK(hl_is(&ans.headers, 5, "access-control-allow-origin", "https://a.com"));
    CHECK(hl_is(&ans.headers, 6, "content-length", "2"));
    CHECK(hl_is(&ans.headers, 7, "content-type", "text/plain; charset=utf-8"));
    /* every failure, in Starlette's order */
    REQUIRE(fr_cors_preflight(c, G("https://b.com"), G("PUT"), G("x-other"), G("true"), &a,
                              &ans) == 0);
    CHECK_EQ_INT(ans.status, 400);
    CHECK_EQ_MEM(ans.body.buf, ans.body.len,
                 "Disallowed CORS origin, method, headers, private-network");
    CHECK_EQ_INT(ans.headers.len, 7);
    CHECK(hl_is(&ans.headers, 5, "content-length", "56"));
    /* "" asks for the empty header name: not allowed */
    REQUIRE(fr_cors_preflight(c, G("https://a.com"), G("GET"), G(""), NONE, &a, &ans) == 0);
    CHECK_EQ_MEM(ans.body.buf, ans.body.len, "Disallowed CORS headers");
    CHECK(fr_cors_preflight(c, NONE, G("GET"), NONE, NONE, &a, &ans) == FR_MW_ERROR);
    fr_cors_free(c);
    fr_arena_free(&a);
    gfree();
}

static void test_cors_simple(void) {
    static const fr_str any[] = {{"*", 1}};
    fr_arena a;
    fr_hlist h;
    fr_cors_config cfg;
    fr_cors *c = cors_example(1);
    REQUIRE(c != NULL);
    fr_arena_init(&a, NULL);
    fr_hlist_init(&h, &a);
    REQUIRE(fr_cors_simple(c, G("https://a.com"), &h) == 0);
    CHECK_EQ_INT(h.len, 4);
    CHECK(hl_is(&h, 0, "access-control-allow-credentials", "true"));
    CHECK(hl_is(&h, 1, "access-control-expose-headers", "X-Total"));
    CHECK(hl_is(&h, 2, "access-control-allow-origin", "https://a.com"));
    CHECK(hl_is(&h, 3, "vary", "Origin"));
    /* no Origin at all: Starlette 1.10 still appends Origin to Vary */
    fr_hlist_init(&h, &a);
    fr_hlist_append(&h, FR_STR("vary"), FR_STR("Accept-Encoding"));
    REQUIRE(fr_cors_simple(c, NONE, &h) == 0);
    CHECK_EQ_INT(h.len, 1);
    CHECK(hl_is(&h, 0, "vary", "Accept-Encoding, Origin"));
    fr_cors_free(c);
    /* "*" without credentials: "*" and no echo; with credentials: the origin */
    memset(&cfg, 0, sizeof cfg);
    cfg.allow_origins = any, cfg.num_allow_origins = 1;
    c = fr_cors_new(&cfg, NULL);
    REQUIRE(c != NULL);
    fr_hlist_init(&h, &a);
    REQUIRE(fr_cors_simple(c, G("https://z.org"), &h) == 0);
    CHECK(hl_is(&h, 0, "access-control-allow-origin", "*"));
    CHECK(hl_is(&h, 1, "vary", "Origin"));
    fr_cors_free(c);
    cfg.allow_credentials = 1;
    c = fr_cors_new(&cfg, NULL);
    REQUIRE(c != NULL);
    fr_hlist_init(&h, &a);
    REQUIRE(fr_cors_simple(c, G("https://z.org"), &h) == 0);
    CHECK(hl_is(&h, 0, "access-control-allow-origin", "https://z.org"));
    CHECK(hl_is(&h, 1, "access-control-allow-credentials", "true"));
    CHECK(hl_is(&h, 2, "vary", "Origin"));
    fr_cors_free(c);
    fr_arena_free(&a);
    gfree();
}

static void test_cors_defaults(void) {
    fr_arena a;
    fr_mw_answer ans;
    fr_cors *c = fr_cors_new(NULL, NULL); /* zeroed config = Starlette's defaults */
    REQUIRE(c != NULL);
    fr_arena_init(&a, NULL);
    REQUIRE(fr_cors_preflight(c, G("https://a.com"), G("GET"), NONE, NONE, &a, &ans) == 0);
    CHECK_EQ_INT(ans.status, 400);
    CHECK_EQ_MEM(ans.body.buf, ans.body.len, "Disallowed CORS origin");
    CHECK(hl_is(&ans.headers, 1, "access-control-allow-methods", "GET"));
    CHECK(hl_is(&ans.headers, 2, "access-control-max-age", "600"));
    fr_cors_free(c);
    fr_arena_free(&a);
    gfree();
}

/* ---- hosts, URLs, TrustedHost, HTTPSRedirect ---- */

static void test_parse_host(void) {
    static const char *const good[] = {"example.com", "EXAMPLE.com:8080", "[::1]", "[::1]:443",
                                       "[v1.fe80::a+en1]", "a%41:0", "[::ffff:1.2.3.4]",
                                       "-._~!$&'()*+,;=", "[1:2:3:4:5:6:7::]"};
    static const char *const bad[] = {"", "a b", "example.com:", "[::1", "[1.2.3.4]",
                                      "[gg::1]", "[1::2::3]", "\xe9.com", "a:1:2",
                                      "[::01.2.3.4]", "[V1.x]", "a\n", "[:1::]"};
    size_t i;
    fr_str host, port;
    for (i = 0; i < sizeof good / sizeof good[0]; i++) CHECK(fr_mw_parse_host(G(good[i]), NULL, NULL));
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK(!fr_mw_parse_host(G(bad[i]), NULL, NULL));
    REQUIRE(fr_mw_parse_host(G("[::1]:8080"), &host, &port));
    CHECK_EQ_MEM(host.buf, host.len, "[::1]");
    CHECK_EQ_MEM(port.buf, port.len, "8080");
    REQUIRE(fr_mw_parse_host(G("h"), &host, &port));
    CHECK(port.buf == NULL);
    CHECK(!fr_mw_parse_host(NONE, &host, &port));
    gfree();
}

static fr_mw_scope scope(const char *scheme, const char *host, const char *srv, int port,
                         const char *path, const char *query) {
    fr_mw_scope s;
    s.scheme = fr_str_c(scheme);
    s.host = host ? G(host) : NONE;
    s.server_host = srv ? fr_str_c(srv) : NONE;
    s.server_port = port;
    s.path = G(path);
    s.query = G(query);
    return s;
}

static void url_is(fr_mw_scope s, const char *want) {
    fr_buf b = {NULL, 0, 0};
    CHECK(fr_mw_url(&s, &b) == 0);
    CHECK_EQ_MEM(b.buf ? b.buf : "", b.len, want);
    fr_buf_free(&b);
}

static void test_url_from_scope(void) {
    fr_buf b = {NULL, 0, 0};
    fr_mw_scope s;
    url_is(scope("http", "example.com", "srv", 80, "/a?b#c\\d", "x=1"),
           "http://example.com/a%3Fb%23c%5Cd?x=1");
    url_is(scope("https", NULL, "::1", 443, "/", ""), "https://[::1]/");
    url_is(scope("https", "bad host", "10.0.0.1", 8443, "/p", ""), "https://10.0.0.1:8443/p");
    url_is(scope("http", "h:99999", "s", 80, "/", ""), "http://s/"); /* port > 65535: server */
    url_is(scope("http", NULL, NULL, 0, "//evil.com", "q"), "/%2Fevil.com?q");
    url_is(scope("http", "h", NULL, 0, "rel", ""), "http://h/rel");
    s = scope("http", "h", NULL, 0, "/", "caf\xc3");
    CHECK(fr_mw_url(&s, &b) == FR_MW_RAISES); /* query_string.decode() raises */
    fr_buf_free(&b);
    gfree();
}

static void answer_is(int rc, const fr_mw_answer *a, int status, const char *location) {
    CHECK_EQ_INT(rc, 1);
    CHECK_EQ_INT(a->status, status);
    if (location) {
        CHECK_EQ_INT(a->headers.len, 2);
        CHECK(hl_is(&a->headers, 0, "content-length", "0"));
        CHECK(a->headers.len > 1 && fr_str_eq_c(a->headers.items[1].name, "location"));
        if (a->headers.len > 1)
            CHECK_EQ_MEM(a->headers.items[1].value.buf, a->headers.items[1].value.len, location);
    } else {
        CHECK_EQ_MEM(a->body.buf, a->body.len, "Invalid host header");
        CHECK(hl_is(&a->headers, 0, "content-length", "19"));
        CHECK(hl_is(&a->headers, 1, "content-type", "text/plain; charset=utf-8"));
    }
}

static void test_https_redirect(void) {
    fr_arena a;
    fr_mw_answer ans;
    fr_mw_scope s;
    fr_arena_init(&a, NULL);
    s = scope("http", "Example.COM:80", "srv", 80, "/p q/caf\xc3\xa9", "a=\"1\"");
    answer_is(fr_https_redirect(&s, &a, &ans), &ans, 307,
              "https://example.com/p%20q/caf%C3%A9?a=%221%22");
    s = scope("http", "Example.COM:8080", "srv", 80, "/", "");
    answer_is(fr_https_redirect(&s, &a, &ans), &ans, 307, "https://Example.COM:8080/");
    s = scope("ws", "[::1]:80", NULL, 0, "/t\tab", "");
    answer_is(fr_https_redirect(&s, &a, &ans), &ans, 307, "wss://::1/tab"); /* as urllib does */
    s = scope("http", NULL, NULL, 0, "/", "");
    answer_is(fr_https_redirect(&s, &a, &ans), &ans, 400, NULL);
    s = scope("https", NULL, NULL, 0, "/", "");
    CHECK_EQ_INT(fr_https_redirect(&s, &a, &ans), 0);
    s = scope("http", "h", NULL, 0, "/", "\xff");
    CHECK_EQ_INT(fr_https_redirect(&s, &a, &ans), FR_MW_RAISES);
    s = scope("http", NULL, "a:b", 80, "/", ""); /* "[a:b]" is no IP address: urlsplit raises */
    CHECK_EQ_INT(fr_https_redirect(&s, &a, &ans), FR_MW_RAISES);
    fr_arena_free(&a);
    gfree();
}

static void test_trusted_host(void) {
    static const fr_str hosts[] = {{"www.example.com", 15}, {"*.api.io", 8}, {"LOCALHOST", 9}};
    static const fr_str bad1[] = {{"ex*ample.com", 12}}, bad2[] = {{"*example.com", 12}};
    fr_trusted_host_config cfg;
    fr_trusted_host *t;
    fr_arena a;
    fr_mw_answer ans;
    fr_mw_scope s;
    fr_err err = {0, NULL, 0};
    memset(&cfg, 0, sizeof cfg);
    cfg.allowed_hosts = bad1, cfg.num_allowed_hosts = 1;
    CHECK(fr_trusted_host_new(&cfg, &err) == NULL && err.code == 400);
    cfg.allowed_hosts = bad2;
    CHECK(fr_trusted_host_new(&cfg, &err) == NULL);
    cfg.allowed_hosts = hosts, cfg.num_allowed_hosts = 3;
    t = fr_trusted_host_new(&cfg, &err);
    REQUIRE(t != NULL);
    fr_arena_init(&a, NULL);
    s = scope("http", "www.example.com", NULL, 0, "/", "");
    CHECK_EQ_INT(fr_trusted_host_check(t, &s, &a, &ans), 0);
    s = scope("http", "localhost:8000", NULL, 0, "/", "");
    CHECK_EQ_INT(fr_trusted_host_check(t, &s, &a, &ans), 0);
    s = scope("http", "v1.API.io", NULL, 0, "/", "");
    CHECK_EQ_INT(fr_trusted_host_check(t, &s, &a, &ans), 0);
    s = scope("http", "api.io", NULL, 0, "/", ""); /* "*.api.io" needs a subdomain */
    answer_is(fr_trusted_host_check(t, &s, &a, &ans), &ans, 400, NULL);
    s = scope("http", "example.com:8000", NULL, 0, "/p q", "a=1");
    answer_is(fr_trusted_host_check(t, &s, &a, &ans), &ans, 307,
              "http://www.example.com:8000/p%20q?a=1");
    s = scope("http", NULL, "example.com", 80, "/", "");
    answer_is(fr_trusted_host_check(t, &s, &a, &ans), &ans, 400, NULL);
    fr_trusted_host_free(t);
    cfg.no_www_redirect = 1;
    t = fr_trusted_host_new(&cfg, &err);
    REQUIRE(t != NULL);
    s = scope("http", "example.com", NULL, 0, "/", "");
    answer_is(fr_trusted_host_check(t, &s, &a, &ans), &ans, 400, NULL);
    fr_trusted_host_free(t);
    /* NULL list = ["*"]: nothing is checked, not even a missing Host */
    t = fr_trusted_host_new(NULL, NULL);
    REQUIRE(t != NULL);
    s = scope("http", NULL, NULL, 0, "/", "");
    CHECK_EQ_INT(fr_trusted_host_check(t, &s, &a, &ans), 0);
    fr_trusted_host_free(t);
    fr_arena_free(&a);
    gfree();
}

/* ---- GZip ---- */

static void test_gzip_decisions(void) {
    CHECK(fr_gzip_accepts(G("gzip")));
    CHECK(fr_gzip_accepts(G("deflate, gzip;q=0"))); /* a substring test, q ignored */
    CHECK(fr_gzip_accepts(G("x-gzip")));
    CHECK(!fr_gzip_accepts(G("GZIP")));
    CHECK(!fr_gzip_accepts(G("gzi")));
    CHECK(!fr_gzip_accepts(NONE));
#if FR_ENABLE_ZLIB
    {
        static const fr_str ex[] = {{" Text/*; q=1", 12}, {"application/json", 16}};
        fr_gzip_config cfg;
        fr_gzip *g = fr_gzip_new(NULL, NULL);
        REQUIRE(g != NULL);
        CHECK(fr_gzip_excluded(g, G("text/event-stream")));
        CHECK(fr_gzip_excluded(g, G(" IMAGE/PNG ; x=1")));
        CHECK(fr_gzip_excluded(g, G("audio/ogg")));
        CHECK(fr_gzip_excluded(g, G("application/grpc+proto")));
        CHECK(!fr_gzip_excluded(g, G("application/grpc-web")));
        CHECK(!fr_gzip_excluded(g, G("text/plain")));
        CHECK(!fr_gzip_excluded(g, NONE));
        fr_gzip_free(g);
        memset(&cfg, 0, sizeof cfg);
        cfg.exclude_content_types = ex, cfg.num_exclude_content_types = 2;
        g = fr_gzip_new(&cfg, NULL);
        REQUIRE(g != NULL);
        CHECK(fr_gzip_excluded(g, G("text/html")));
        CHECK(fr_gzip_excluded(g, G("APPLICATION/JSON;charset=utf-8")));
        CHECK(!fr_gzip_excluded(g, G("image/png")));
        fr_gzip_free(g);
        cfg.compresslevel = 10;
        CHECK(fr_gzip_new(&cfg, NULL) == NULL);
    }
#else
    {
        fr_err err = {0, NULL, 0};
        fr_buf b = {NULL, 0, 0};
        fr_gzip_encoder e;
        CHECK(!fr_gzip_available());
        CHECK(fr_gzip_new(NULL, &err) == NULL && err.msg != NULL);
        CHECK(fr_gzip_compress("x", 1, 9, &b) == FR_MW_ERROR && b.len == 0);
        CHECK(fr_gzip_encoder_init(&e, 9, NULL) == FR_MW_ERROR);
        fr_gzip_encoder_free(&e);
    }
#endif
    gfree();
}

static int hex_eq(const fr_buf *b, size_t from, const char *hex) {
    size_t i, n = strlen(hex) / 2;
    if (b->len - from != n) return 0;
    for (i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || (unsigned char)b->buf[from + i] != v) return 0;
    }
    return 1;
}

static void test_gzip_bytes(void) {
    /* CPython: zlib.compressobj(9, DEFLATED, 31): compress(x) + flush() */
    fr_buf b = {NULL, 0, 0};
    fr_gzip_encoder e;
    size_t mark;
    char *hello;
    int i;
    if (!FR_ENABLE_ZLIB) { /* built without zlib: nothing compresses */
        CHECK(fr_gzip_compress("abc", 3, 9, &b) == FR_MW_ERROR && b.len == 0);
        return;
    }
    hello = (char *)malloc(600);
    REQUIRE(hello != NULL);
    CHECK(fr_gzip_available());
    for (i = 0; i < 50; i++) memcpy(hello + 12 * i, "hello world ", 12);
    {
        void *gh = frt_guarded(hello, 600);
        REQUIRE(fr_gzip_compress(gh, 600, 0, &b) == 0);
        frt_guarded_free(gh, 600);
    }
    CHECK(hex_eq(&b, 0, "1f8b0800000000000203cb48cdc9c95728cf2fca4951c818658fb2a9c406000d2ead2558020000"));
    b.len = 0;
    REQUIRE(fr_gzip_compress("", 0, 9, &b) == 0);
    CHECK(hex_eq(&b, 0, "1f8b080000000000020303000000000000000000"));
    b.len = 0;
    REQUIRE(fr_gzip_compress("a", 1, FR_GZIP_LEVEL_0, &b) == 0);
    CHECK(hex_eq(&b, 0, "1f8b0800000000000403010100feff6143beb7e801000000"));
    /* streaming: compress + flush(Z_SYNC_FLUSH) per message, flush() last;
     * an empty message still emits an empty stored block */
    for (i = 0; i < 200; i++) memcpy(hello + 3 * i, "abc", 3);
    REQUIRE(fr_gzip_encoder_init(&e, 9, NULL) == 0);
    b.len = 0;
    REQUIRE(fr_gzip_encoder_write(&e, hello, 600, 0, &b) == 0);
    CHECK(hex_eq(&b, 0, "1f8b08000000000002034a4c4a4e1c45a388da08000000ffff"));
    mark = b.len;
    REQUIRE(fr_gzip_encoder_write(&e, "", 0, 0, &b) == 0);
    CHECK(hex_eq(&b, mark, "000000ffff"));
    mark = b.len;
    REQUIRE(fr_gzip_encoder_write(&e, "xyz", 3, 1, &b) == 0);
    CHECK(hex_eq(&b, mark, "aba8ac02002dff92fb5b020000"));
    CHECK(fr_gzip_encoder_write(&e, "x", 1, 1, &b) == FR_MW_ERROR); /* finished */
    fr_gzip_encoder_free(&e);
    fr_gzip_encoder_free(&e); /* twice is harmless */
    free(hello);
    fr_buf_free(&b);
    gfree();
}

static void test_gzip_responder(void) {
    fr_arena a;
    fr_hlist h;
    fr_gzip_stream st;
    fr_buf out = {NULL, 0, 0};
    fr_gzip *g = fr_gzip_new(NULL, NULL);
    char big[600];
    if (!FR_ENABLE_ZLIB) {
        CHECK(g == NULL);
        return;
    }
    REQUIRE(g != NULL);
    memset(big, 'z', sizeof big);
    fr_arena_init(&a, NULL);
    /* whole body >= 500: Vary, Content-Encoding, Content-Length replaced */
    fr_hlist_init(&h, &a);
    fr_hlist_append(&h, FR_STR("content-type"), FR_STR("text/plain"));
    fr_hlist_append(&h, FR_STR("content-length"), FR_STR("600"));
    CHECK_EQ_INT(fr_gzip_start(&st, g, 1, 200, &h), 0);
    CHECK_EQ_INT(fr_gzip_body(&st, &h, big, sizeof big, 0, 0, &out), 1);
    fr_gzip_stream_end(&st);
    CHECK_EQ_INT(h.len, 4);
    CHECK(hl_is(&h, 0, "content-type", "text/plain"));
    CHECK(h.len == 4 && fr_str_eq_c(h.items[1].name, "content-length"));
    CHECK(hl_is(&h, 2, "vary", "Accept-Encoding"));
    CHECK(hl_is(&h, 3, "content-encoding", "gzip"));
    {
        char n[24];
        snprintf(n, sizeof n, "%zu", out.len);
        CHECK(fr_str_eq_c(h.items[1].value, n));
    }
    /* too small: untouched, no Vary */
    fr_hlist_init(&h, &a);
    out.len = 0;
    CHECK_EQ_INT(fr_gzip_start(&st, g, 1, 200, &h), 0);
    CHECK_EQ_INT(fr_gzip_body(&st, &h, big, 499, 0, 0, &out), 0);
    fr_gzip_stream_end(&st);
    CHECK_EQ_INT(h.len, 0);
    /* client without gzip: Vary anyway for a big body */
    CHECK_EQ_INT(fr_gzip_start(&st, g, 0, 200, &h), 0);
    CHECK_EQ_INT(fr_gzip_body(&st, &h, big, 600, 0, 0, &out), 0);
    fr_gzip_stream_end(&st);
    CHECK(hl_is(&h, 0, "vary", "Accept-Encoding"));
    /* streaming: Content-Length removed, every message compressed */
    fr_hlist_init(&h, &a);
    fr_hlist_append(&h, FR_STR("content-length"), FR_STR("3"));
    CHECK_EQ_INT(fr_gzip_start(&st, g, 1, 200, &h), 0);
    CHECK_EQ_INT(fr_gzip_body(&st, &h, "a", 1, 1, 0, &out), 1);
    CHECK_EQ_INT(fr_gzip_body(&st, &h, "bc", 2, 0, 0, &out), 1);
    fr_gzip_stream_end(&st);
    CHECK_EQ_INT(h.len, 2);
    CHECK(hl_is(&h, 0, "vary", "Accept-Encoding"));
    CHECK(hl_is(&h, 1, "content-encoding", "gzip"));
    /* passthrough: 206, an encoding already, an excluded type */
    fr_hlist_init(&h, &a);
    CHECK_EQ_INT(fr_gzip_start(&st, g, 1, 206, &h), 1);
    CHECK_EQ_INT(fr_gzip_body(&st, &h, big, 600, 0, 0, &out), 0);
    fr_gzip_stream_end(&st);
    fr_hlist_append(&h, FR_STR("Content-Encoding"), FR_STR("br"));
    CHECK_EQ_INT(fr_gzip_start(&st, g, 1, 200, &h), 1);
    fr_gzip_stream_end(&st);
    fr_hlist_init(&h, &a);
    fr_hlist_append(&h, FR_STR("content-type"), FR_STR("image/webp"));
    CHECK_EQ_INT(fr_gzip_start(&st, g, 1, 200, &h), 1);
    fr_gzip_stream_end(&st);
    CHECK_EQ_INT(h.len, 1);
    fr_gzip_free(g);
    fr_buf_free(&out);
    fr_arena_free(&a);
    gfree();
}

/* ---- Session ---- */

static fr_session *session(const char *secret, int64_t max_age) {
    fr_session_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.secret_key = fr_str_c(secret);
    cfg.max_age = max_age;
    return fr_session_new(&cfg, NULL);
}

static void test_session_sign_known_answer(void) {
    /* itsdangerous.TimestampSigner("secret") at t=1700000000 and t=0 */
    fr_buf b = {NULL, 0, 0};
    fr_session *s = session("secret", 0);
    REQUIRE(s != NULL);
    REQUIRE(fr_session_sign(s, FR_STR("{\"user\": \"alice\"}"), 1700000000, &b) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "eyJ1c2VyIjogImFsaWNlIn0=.ZVPxAA.XWOfJiyiEaGsEkpNfu08orwe8fA");
    b.len = 0;
    REQUIRE(fr_session_sign(s, FR_STR("{}"), 0, &b) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "e30=..uZmO2jio5e_3cGBgQ16Xsy2D44E");
    CHECK(fr_session_sign(s, FR_STR("{}"), -1, &b) == FR_MW_ERROR);
    CHECK_EQ_MEM(fr_session_cookie_name(s).buf, fr_session_cookie_name(s).len, "session");
    fr_session_free(s);
    fr_buf_free(&b);
    gfree();
}

static void test_session_unsign(void) {
    static const char good[] = "eyJ1c2VyIjogImFsaWNlIn0=.ZVPxAA.XWOfJiyiEaGsEkpNfu08orwe8fA";
    fr_arena a;
    fr_str json;
    fr_session *s = session("secret", 0), *forever = session("secret", FR_SESSION_NO_MAX_AGE);
    REQUIRE(s != NULL && forever != NULL);
    fr_arena_init(&a, NULL);
    CHECK_EQ_INT(fr_session_unsign(s, G(good), 1700000000 + 5, &a, &json), 1);
    CHECK_EQ_MEM(json.buf, json.len, "{\"user\": \"alice\"}");
    /* the last 2 bits of the signature's last character are not used, and
     * characters outside the alphabet are skipped: itsdangerous accepts these */
    CHECK_EQ_INT(fr_session_unsign(s, G("eyJ1c2VyIjogImFsaWNlIn0=.ZVPxAA.XWOfJiyiEaGsEkpNfu08orwe8fB"),
                                   1700000000, &a, &json), 1);
    CHECK_EQ_INT(fr_session_unsign(s, G("eyJ1c2VyIjogImFsaWNlIn0=.ZVPxAA.XWOfJiyiEaGsEkpNfu08orwe8fA!!"),
                                   1700000000, &a, &json), 1);
    /* ... but the '=' padding itsdangerous adds is counted on the raw length:
     * one junk character leaves 28 characters, no padding, "Incorrect padding" */
    CHECK_EQ_INT(fr_session_unsign(s, G("eyJ1c2VyIjogImFsaWNlIn0=.ZVPxAA.XWOfJiyiEaGsEkpNfu08orwe8fA!"),
                                   1700000000, &a, &json), 0);
    /* expired (age > 14 days), from the future, tampered, wrong key, garbage */
    CHECK_EQ_INT(fr_session_unsign(s, G(good), 1700000000 + 14 * 86400 + 1, &a, &json), 0);
    CHECK_EQ_INT(fr_session_unsign(s, G(good), 1700000000 + 14 * 86400, &a, &json), 1);
    CHECK_EQ_INT(fr_session_unsign(s, G(good), 1700000000 - 1, &a, &json), 0);
    CHECK(json.buf == NULL);
    CHECK_EQ_INT(fr_session_unsign(forever, G(good), 1, &a, &json), 1);
    CHECK_EQ_INT(fr_session_unsign(s, G("eyJ1c2VyIjogImFsaWNlIn1=.ZVPxAA.XWOfJiyiEaGsEkpNfu08orwe8fA"),
                                   1700000000, &a, &json), 0);
    CHECK_EQ_INT(fr_session_unsign(s, G("eyJ1c2VyIjogImFsaWNlIn0=.ZVPxAA.XWOfJiyiEaGsEkpNfu08orwe8f"),
                                   1700000000, &a, &json), 0);
    CHECK_EQ_INT(fr_session_unsign(s, G(""), 1, &a, &json), 0);
    CHECK_EQ_INT(fr_session_unsign(s, G("...."), 1, &a, &json), 0);
    CHECK_EQ_INT(fr_session_unsign(s, G("no dots"), 1, &a, &json), 0);
    fr_session_free(forever);
    forever = session("other", 0);
    REQUIRE(forever != NULL);
    CHECK_EQ_INT(fr_session_unsign(forever, G(good), 1700000000, &a, &json), 0);
    /* from the Cookie header: the last "session" cookie wins, quotes removed */
    CHECK_EQ_INT(fr_session_load(s, G("a=1; session=old; session=\"eyJ1c2VyIjogImFsaWNlIn0=.ZVPxAA."
                                      "XWOfJiyiEaGsEkpNfu08orwe8fA\""), 1700000000, &a, &json), 1);
    CHECK_EQ_INT(fr_session_load(s, G("sessions=x"), 1700000000, &a, &json), 0);
    CHECK_EQ_INT(fr_session_load(s, NONE, 1700000000, &a, &json), 0);
    fr_session_free(forever);
    fr_session_free(s);
    fr_arena_free(&a);
    gfree();
}

static void test_session_bad_payload_raises(void) {
    /* a valid signature over text that is not base64: Starlette's
     * b64decode raises (500), it is no BadSignature */
    fr_session *s = session("k", FR_SESSION_NO_MAX_AGE);
    fr_buf b = {NULL, 0, 0};
    fr_arena a;
    fr_str json;
    REQUIRE(s != NULL);
    fr_arena_init(&a, NULL);
    REQUIRE(fr_session_sign(s, FR_STR("x"), 5, &b) == 0); /* "eA==.BQ.<sig>" */
    CHECK_EQ_INT(fr_session_unsign(s, fr_str_c("eA==.BQ.x"), 5, &a, &json), 0);
    /* itsdangerous.TimestampSigner("k").sign(b"e") at t=5: a valid
     * signature, but one base64 character is "Incorrect padding" */
    CHECK_EQ_INT(fr_session_unsign(s, G("e.BQ.rWeXC30YHc4xVKZCAtOW50bWdO8"), 5, &a, &json),
                 FR_MW_RAISES);
    fr_session_free(s);
    fr_buf_free(&b);
    fr_arena_free(&a);
    gfree();
}

static void test_session_commit(void) {
    fr_session_config cfg;
    fr_session *s;
    fr_arena a;
    fr_hlist h;
    memset(&cfg, 0, sizeof cfg);
    cfg.secret_key = FR_STR("secret");
    cfg.session_cookie = FR_STR("sid");
    cfg.path = FR_STR("/app");
    cfg.same_site = FR_STR("strict");
    cfg.https_only = 1;
    cfg.domain = FR_STR("example.com");
    cfg.partitioned = 1;
    cfg.max_age = 3600;
    s = fr_session_new(&cfg, NULL);
    REQUIRE(s != NULL);
    fr_arena_init(&a, NULL);
    fr_hlist_init(&h, &a);
    REQUIRE(fr_session_commit(s, &h, FR_SESSION_MODIFIED | FR_SESSION_NONEMPTY,
                              FR_STR("{\"user\": \"alice\"}"), 1700000000) == 0);
    CHECK_EQ_INT(h.len, 2);
    CHECK(hl_is(&h, 0, "vary", "Cookie"));
    CHECK(hl_is(&h, 1, "set-cookie",
                "sid=eyJ1c2VyIjogImFsaWNlIn0=.ZVPxAA.XWOfJiyiEaGsEkpNfu08orwe8fA; path=/app; "
                "Max-Age=3600; httponly; samesite=strict; secure; domain=example.com; partitioned"));
    /* cleared after a loaded cookie: the "null" cookie expiring in 1970 */
    fr_hlist_init(&h, &a);
    REQUIRE(fr_session_commit(s, &h, FR_SESSION_MODIFIED | FR_SESSION_LOADED, FR_STR("{}"), 1) == 0);
    CHECK(hl_is(&h, 1, "set-cookie",
                "sid=null; path=/app; expires=Thu, 01 Jan 1970 00:00:00 GMT; httponly; "
                "samesite=strict; secure; domain=example.com; partitioned"));
    /* cleared without a cookie, or only read: no Set-Cookie */
    fr_hlist_init(&h, &a);
    REQUIRE(fr_session_commit(s, &h, FR_SESSION_MODIFIED, FR_STR("{}"), 1) == 0);
    CHECK_EQ_INT(h.len, 1);
    fr_hlist_init(&h, &a);
    REQUIRE(fr_session_commit(s, &h, FR_SESSION_ACCESSED, NONE, 1) == 0);
    CHECK_EQ_INT(h.len, 1);
    fr_hlist_init(&h, &a);
    REQUIRE(fr_session_commit(s, &h, 0, NONE, 1) == 0);
    CHECK_EQ_INT(h.len, 0);
    fr_session_free(s);
    /* defaults: path /, 14 days, lax; max_age None: no Max-Age */
    memset(&cfg, 0, sizeof cfg);
    cfg.max_age = FR_SESSION_NO_MAX_AGE;
    s = fr_session_new(&cfg, NULL);
    REQUIRE(s != NULL);
    fr_hlist_init(&h, &a);
    REQUIRE(fr_session_commit(s, &h, FR_SESSION_MODIFIED | FR_SESSION_NONEMPTY, FR_STR("{}"), 0) == 0);
    CHECK(hl_is(&h, 1, "set-cookie", "session=e30=..qq93Cryzip6SzX97y-1tL8N78To; path=/; httponly; samesite=lax"));
    fr_session_free(s);
    fr_arena_free(&a);
    gfree();
}

static const frt_case frt_cases[] = {
    FRT(test_hlist_semantics),      FRT(test_cors_regex),          FRT(test_cors_regex_refused),
    FRT(test_cors_preflight),       FRT(test_cors_simple),         FRT(test_cors_defaults),
    FRT(test_parse_host),           FRT(test_url_from_scope),      FRT(test_https_redirect),
    FRT(test_trusted_host),         FRT(test_gzip_decisions),      FRT(test_gzip_bytes),
    FRT(test_gzip_responder),
    FRT(test_session_sign_known_answer), FRT(test_session_unsign), FRT(test_session_bad_payload_raises),
    FRT(test_session_commit),
};
FRT_MAIN()
