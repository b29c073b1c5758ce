/* Unit tests for src/http.c: request parser, chunked decoder, response writer,
 * reason phrases, date. Every parser input sits right before a PROT_NONE page
 * (frt_guarded), so reading one byte too far crashes the test. */
#include "frtest.h"
#include <time.h>
#include <pthread.h>
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#define NH 64
/* frtest's REQUIRE evaluates its argument twice: never give it side effects */
#define REQUIRE1(cond)         \
    do {                       \
        int req1_ = !!(cond);  \
        REQUIRE(req1_);        \
    } while (0)
#define COUNTOF(a) (sizeof(a) / sizeof((a)[0]))
static fr_header H[NH];

/* Parse s (guarded copy; left mapped so views stay valid). */
static int parse_n(const char *s, size_t n, fr_http_req *r, fr_err *e, const fr_http_limits *lim,
                   size_t maxh) {
    const char *g = (const char *)frt_guarded(s, n);
    return fr_http_parse_request(g, n, r, H, maxh, lim, e);
}
static int parse(const char *s, fr_http_req *r, fr_err *e) {
    return parse_n(s, strlen(s), r, e, NULL, NH);
}
/* Expect -1 with the given status. */
static int fails_with(const char *s, int code) {
    fr_http_req r;
    fr_err e;
    int rc = parse(s, &r, &e);
    if (rc != -1 || e.code != code || !e.msg || !e.msg[0]) {
        fprintf(stderr, "  input %.60s...: rc=%d code=%d\n", s, rc, e.code);
        return 0;
    }
    return 1;
}
static int ok_parse(const char *s, fr_http_req *r) {
    fr_err e;
    int rc = parse(s, r, &e);
    return rc == (int)strlen(s) && e.code == 0;
}
/* True if view v lies inside [b, b+n). */
static int inside(fr_str v, const char *b, size_t n) {
    if (v.len == 0) return 1;
    return v.buf >= b && v.buf + v.len <= b + n;
}

#define HOST "Host: example.com\r\n"

/* ------------------------------------------------------------------ */
/* valid requests                                                      */

static void test_parse_get_simple(void) {
    const char *s = "GET /hello HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\n\r\n";
    fr_http_req r;
    fr_err e;
    int rc = parse(s, &r, &e);
    CHECK_EQ_INT(rc, strlen(s));
    CHECK_EQ_INT(e.code, 0);
    CHECK_EQ_MEM(r.method.buf, r.method.len, "GET");
    CHECK_EQ_MEM(r.target.buf, r.target.len, "/hello");
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/hello");
    CHECK_EQ_INT(r.query.len, 0);
    CHECK_EQ_INT(r.minor_version, 1);
    CHECK_EQ_INT(r.num_headers, 2);
    CHECK(r.headers == H);
    CHECK_EQ_MEM(H[0].name.buf, H[0].name.len, "Host");
    CHECK_EQ_MEM(H[0].value.buf, H[0].value.len, "example.com");
    CHECK_EQ_MEM(H[1].name.buf, H[1].name.len, "User-Agent");
    CHECK_EQ_MEM(r.host.buf, r.host.len, "example.com");
    CHECK_EQ_INT(r.keep_alive, 1);
    CHECK_EQ_INT(r.body_kind, FR_BODY_NONE);
    CHECK_EQ_INT(r.expect_continue, 0);
    CHECK_EQ_INT(r.upgrade, 0);
    CHECK_EQ_INT(r.content_type.len, 0);
    CHECK(r.content_type.buf == NULL);
}

static void test_parse_query(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET /items?x=1&y=%20 HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/items");
    CHECK_EQ_MEM(r.query.buf, r.query.len, "x=1&y=%20");
    CHECK_EQ_MEM(r.target.buf, r.target.len, "/items?x=1&y=%20");
    REQUIRE1(ok_parse("GET /a? HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/a");
    CHECK_EQ_INT(r.query.len, 0);
    REQUIRE1(ok_parse("GET /a?b=?c HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK_EQ_MEM(r.query.buf, r.query.len, "b=?c");
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/");
}

static void test_parse_fragment(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET /a?b=1#frag HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/a");
    CHECK_EQ_MEM(r.query.buf, r.query.len, "b=1");
    REQUIRE1(ok_parse("GET /a#f?x=1 HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/a");
    CHECK_EQ_INT(r.query.len, 0);
    CHECK_EQ_MEM(r.target.buf, r.target.len, "/a#f?x=1");
}

static void test_parse_post_content_length(void) {
    const char *s = "POST /items HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                    "Content-Length: 14\r\n\r\n{\"a\": 1234567}";
    fr_http_req r;
    fr_err e;
    int rc = parse(s, &r, &e);
    CHECK_EQ_INT(rc, strlen(s) - 14);
    CHECK_EQ_INT(r.body_kind, FR_BODY_LENGTH);
    CHECK_EQ_INT(r.content_length, 14);
    CHECK_EQ_MEM(r.content_type.buf, r.content_type.len, "application/json");
    CHECK_EQ_MEM(r.method.buf, r.method.len, "POST");
}

static void test_parse_content_length_zero(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("POST / HTTP/1.1\r\n" HOST "Content-Length: 0\r\n\r\n", &r));
    CHECK_EQ_INT(r.body_kind, FR_BODY_LENGTH);
    CHECK_EQ_INT(r.content_length, 0);
    REQUIRE1(ok_parse("POST / HTTP/1.1\r\n" HOST "Content-Length: 0007\r\n\r\n", &r));
    CHECK_EQ_INT(r.content_length, 7);
}

static void test_parse_chunked_request(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("POST /up HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n\r\n", &r));
    CHECK_EQ_INT(r.body_kind, FR_BODY_CHUNKED);
    REQUIRE1(ok_parse("POST /up HTTP/1.1\r\n" HOST "transfer-encoding:   CHUNKED  \r\n\r\n", &r));
    CHECK_EQ_INT(r.body_kind, FR_BODY_CHUNKED);
    REQUIRE1(ok_parse("POST /up HTTP/1.1\r\n" HOST "Transfer-Encoding: , chunked,\r\n\r\n", &r));
    CHECK_EQ_INT(r.body_kind, FR_BODY_CHUNKED);
}

static void test_parse_pipelined(void) {
    const char *s = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
                    "POST /two?x HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc"
                    "GET /three HTTP/1.1\r\nHost: c\r\n\r\n";
    size_t n = strlen(s), off = 0;
    const char *g = (const char *)frt_guarded(s, n);
    fr_http_req r;
    fr_err e;
    int rc = fr_http_parse_request(g, n, &r, H, NH, NULL, &e);
    REQUIRE1(rc == (int)strlen("GET /one HTTP/1.1\r\nHost: a\r\n\r\n"));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/one");
    off += (size_t)rc;
    rc = fr_http_parse_request(g + off, n - off, &r, H, NH, NULL, &e);
    REQUIRE1(rc > 0);
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/two");
    CHECK_EQ_MEM(r.query.buf, r.query.len, "x");
    CHECK_EQ_MEM(r.host.buf, r.host.len, "b");
    CHECK_EQ_INT(r.content_length, 3);
    off += (size_t)rc;
    CHECK_EQ_MEM(g + off, 3, "abc");
    off += 3;
    rc = fr_http_parse_request(g + off, n - off, &r, H, NH, NULL, &e);
    CHECK_EQ_INT(rc, n - off);
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/three");
}

static void test_parse_http10(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET / HTTP/1.0\r\n\r\n", &r));
    CHECK_EQ_INT(r.minor_version, 0);
    CHECK_EQ_INT(r.keep_alive, 0);
    CHECK_EQ_INT(r.host.len, 0);
    CHECK(r.host.buf == NULL);
    REQUIRE1(ok_parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 1);
    REQUIRE1(ok_parse("GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 0);
    CHECK_EQ_MEM(r.host.buf, r.host.len, "x");
}

static void test_keep_alive_rules(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 0);
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "Connection: CLOSE\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 0);
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "Connection: keep-alive\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 1);
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "Connection: keep-alive, Upgrade\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 1);
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "Connection: foo,  close ,bar\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 0);
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "Connection: keep-alive\r\nConnection: close\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 0);
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "Connection: closed\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 1);
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "X-Connection: close\r\n\r\n", &r));
    CHECK_EQ_INT(r.keep_alive, 1);
}

static void test_expect_continue(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n", &r));
    CHECK_EQ_INT(r.expect_continue, 1);
    REQUIRE1(ok_parse("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nEXPECT: 100-Continue \r\n\r\n", &r));
    CHECK_EQ_INT(r.expect_continue, 1);
    REQUIRE1(ok_parse("POST / HTTP/1.1\r\n" HOST "Expect: 200-ok\r\n\r\n", &r));
    CHECK_EQ_INT(r.expect_continue, 0);
    REQUIRE1(ok_parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &r));
    CHECK_EQ_INT(r.expect_continue, 0); /* RFC 9110 10.1.1: ignored in 1.0 */
}

static void test_upgrade(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET /ws HTTP/1.1\r\n" HOST "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", &r));
    CHECK_EQ_INT(r.upgrade, 1);
    REQUIRE1(ok_parse("GET /ws HTTP/1.1\r\n" HOST "Upgrade: websocket\r\nConnection: keep-alive, upgrade\r\n\r\n", &r));
    CHECK_EQ_INT(r.upgrade, 1);
    CHECK_EQ_INT(r.keep_alive, 1);
    REQUIRE1(ok_parse("GET /ws HTTP/1.1\r\n" HOST "Upgrade: websocket\r\n\r\n", &r));
    CHECK_EQ_INT(r.upgrade, 0);
    REQUIRE1(ok_parse("GET /ws HTTP/1.1\r\n" HOST "Connection: upgrade\r\n\r\n", &r));
    CHECK_EQ_INT(r.upgrade, 0);
    REQUIRE1(ok_parse("GET /ws HTTP/1.1\r\n" HOST "Connection: upgrade\r\nUpgrade:\r\n\r\n", &r));
    CHECK_EQ_INT(r.upgrade, 0); /* an empty Upgrade names no protocol */
}

static void test_header_lookup(void) {
    fr_http_req r;
    fr_str v;
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "X-Token:   abc def \t\r\nEmpty:\r\nx-dup: 1\r\nX-Dup: 2\r\n\r\n", &r));
    v = fr_http_header(&r, "x-token");
    CHECK_EQ_MEM(v.buf, v.len, "abc def");
    v = fr_http_header(&r, "X-TOKEN");
    CHECK_EQ_MEM(v.buf, v.len, "abc def");
    v = fr_http_header(&r, "empty");
    CHECK(v.buf != NULL);
    CHECK_EQ_INT(v.len, 0);
    v = fr_http_header(&r, "x-dup");
    CHECK_EQ_MEM(v.buf, v.len, "1"); /* first wins */
    v = fr_http_header(&r, "missing");
    CHECK(v.buf == NULL && v.len == 0);
    v = fr_http_header(&r, "x-toke");
    CHECK(v.buf == NULL);
    v = fr_http_header(NULL, "host");
    CHECK(v.buf == NULL);
    v = fr_http_header(&r, NULL);
    CHECK(v.buf == NULL);
}

static void test_header_values(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\n" HOST "A: x\ty\r\nB: \xc3\xa9t\xc3\xa9\r\nC:no-space\r\n\r\n", &r));
    CHECK_EQ_MEM(H[1].value.buf, H[1].value.len, "x\ty");
    CHECK_EQ_MEM(H[2].value.buf, H[2].value.len, "\xc3\xa9t\xc3\xa9");
    CHECK_EQ_MEM(H[3].value.buf, H[3].value.len, "no-space");
    CHECK_EQ_INT(r.num_headers, 4);
}

static void test_long_header_value(void) {
    /* exercise the 16-byte scanning paths with tabs and obs-text at all offsets */
    char s[2048];
    size_t i, k;
    for (k = 0; k < 40; k++) {
        fr_http_req r;
        fr_err e;
        int n = snprintf(s, sizeof s, "GET /%s HTTP/1.1\r\nHost: h\r\nCookie: ", k % 2 ? "abcdefghijklmnopqrstuvwxyz0123456789" : "x");
        for (i = 0; i < 100 + k; i++) s[n++] = (char)(i > 0 && i % 17 == k % 17 ? '\t' : i % 23 == 0 ? '\x80' : 'a' + (char)(i % 26));
        memcpy(s + n, "\r\n\r\n", 4);
        n += 4;
        CHECK_EQ_INT(parse_n(s, (size_t)n, &r, &e, NULL, NH), n);
        CHECK_EQ_INT(H[1].value.len, 100 + k);
        s[n - 4 - 1 - (k % 30)] = '\x01';
        CHECK_EQ_INT(parse_n(s, (size_t)n, &r, &e, NULL, NH), -1);
        CHECK_EQ_INT(e.code, 400);
        s[n - 4 - 1 - (k % 30)] = '\x7f';
        CHECK_EQ_INT(parse_n(s, (size_t)n, &r, &e, NULL, NH), -1);
        CHECK_EQ_INT(e.code, 400);
    }
}

static void test_long_target(void) {
    char s[4096];
    size_t k;
    for (k = 0; k < 48; k++) {
        fr_http_req r;
        fr_err e;
        size_t i;
        int n = 0;
        memcpy(s, "GET /", 5);
        n = 5;
        for (i = 0; i < 60 + k; i++) s[n++] = (char)('a' + i % 26);
        memcpy(s + n, " HTTP/1.1\r\nHost: h\r\n\r\n", 22);
        n += 22;
        CHECK_EQ_INT(parse_n(s, (size_t)n, &r, &e, NULL, NH), n);
        CHECK_EQ_INT(r.path.len, 61 + k);
        s[5 + k] = (char)(k % 2 ? '\x80' : '\x7f');
        CHECK_EQ_INT(parse_n(s, (size_t)n, &r, &e, NULL, NH), -1);
        CHECK_EQ_INT(e.code, 400);
        CHECK_EQ_INT(e.pos, 5 + k);
    }
}

/* llhttp strict mode: the request line and every header line end in CRLF */
static void test_bare_lf(void) {
    fr_http_req r;
    fr_err e;
    CHECK(fails_with("GET /lf HTTP/1.1\nHost: a\nX: y\n\n", 400));
    /* a missing CR between two headers */
    CHECK(fails_with("GET /lf HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", 400));
    CHECK(fails_with("GET /lf HTTP/1.1\r\nHost: a\r\nX: y\nZ: 1\r\n\r\n", 400));
    /* the blank line ending the head */
    CHECK(fails_with("GET /lf HTTP/1.1\r\nHost: a\r\nX: y\r\n\n", 400));
    CHECK(fails_with("GET /lf HTTP/1.0\n\n", 400));
    CHECK(fails_with("GET /lf HTTP/2.0\n\n", 400));
    /* the reason and the position of the LF */
    {
        const char s[] = "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n";
        char *g = (char *)frt_guarded(s, sizeof s - 1);
        CHECK_EQ_INT(fr_http_parse_request(g, sizeof s - 1, &r, H, NH, NULL, &e), -1);
        CHECK_EQ_INT(e.code, 400);
        CHECK_EQ_INT(e.pos, 23);
        CHECK(e.msg != NULL && strstr(e.msg, "bare LF") != NULL);
        /* decided as soon as the LF is seen: every longer prefix fails alike */
        CHECK_EQ_INT(fr_http_parse_request(g, 24, &r, H, NH, NULL, &e), -1);
        CHECK_EQ_INT(fr_http_parse_request(g, 23, &r, H, NH, NULL, &e), -2);
        frt_guarded_free(g, sizeof s - 1);
    }
    REQUIRE1(ok_parse("GET /lf HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n", &r));
    CHECK_EQ_INT(r.num_headers, 2);
}

static void test_leading_empty_lines(void) {
    fr_http_req r;
    const char *s = "\r\n\r\nGET /x HTTP/1.1\r\n" HOST "\r\n";
    REQUIRE1(ok_parse(s, &r));
    CHECK_EQ_MEM(r.method.buf, r.method.len, "GET");
    REQUIRE1(ok_parse("\nGET /x HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK(fails_with("\r\rGET /x HTTP/1.1\r\n" HOST "\r\n", 400));
}

static void test_absolute_form(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET http://example.org:8080/p/q?x=1 HTTP/1.1\r\nHost: ignored\r\n\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/p/q");
    CHECK_EQ_MEM(r.query.buf, r.query.len, "x=1");
    CHECK_EQ_MEM(r.host.buf, r.host.len, "example.org:8080");
    REQUIRE1(ok_parse("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/");
    CHECK_EQ_MEM(r.host.buf, r.host.len, "h");
    REQUIRE1(ok_parse("GET http://h?a=b HTTP/1.1\r\nHost: h\r\n\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/");
    CHECK_EQ_MEM(r.query.buf, r.query.len, "a=b");
    REQUIRE1(ok_parse("GET http://[::1]:80/ HTTP/1.1\r\nHost: h\r\n\r\n", &r));
    CHECK_EQ_MEM(r.host.buf, r.host.len, "[::1]:80");
    CHECK(fails_with("GET http://user@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400));
    CHECK(fails_with("GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", 400));
    CHECK(fails_with("GET ftp://h/p HTTP/1.1\r\nHost: h\r\n\r\n", 400));
    CHECK(fails_with("GET http:/h/p HTTP/1.1\r\nHost: h\r\n\r\n", 400));
    CHECK(fails_with("GET http://h/p HTTP/1.1\r\n\r\n", 400)); /* Host still required */
}

static void test_asterisk_form(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("OPTIONS * HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK_EQ_MEM(r.path.buf, r.path.len, "*");
    CHECK(fails_with("GET * HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("options * HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("OPTIONS *x HTTP/1.1\r\n" HOST "\r\n", 400));
}

static void test_authority_form_rejected(void) {
    CHECK(fails_with("CONNECT example.com:443 HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET example.com/x HTTP/1.1\r\n" HOST "\r\n", 400));
}

static void test_method(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("PURGE /x HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK_EQ_MEM(r.method.buf, r.method.len, "PURGE");
    REQUIRE1(ok_parse("M-SEARCH! /x HTTP/1.1\r\n" HOST "\r\n", &r));
    CHECK(fails_with("GE(T / HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with(" GET / HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET\t/ HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("G\x01T / HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("G\xc3\xa9T / HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET\r\n\r\n", 400));
}

static void test_target_chars(void) {
    CHECK(fails_with("GET  / HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET /a b HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET /a\tb HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET /a\x7f HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET /\xc3\xa9 HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET /a\x01 HTTP/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET /\r\n" HOST "\r\n", 400));
    {
        const char s[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
        fr_http_req r;
        fr_err e;
        CHECK_EQ_INT(parse_n(s, sizeof s - 1, &r, &e, NULL, NH), -1);
        CHECK_EQ_INT(e.code, 400);
        CHECK_EQ_INT(e.pos, 6);
    }
}

static void test_version(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET / HTTP/1.0\r\n\r\n", &r));
    CHECK_EQ_INT(r.minor_version, 0);
    CHECK(fails_with("GET / HTTP/2.0\r\n" HOST "\r\n", 505));
    CHECK(fails_with("GET / HTTP/1.2\r\n" HOST "\r\n", 505));
    CHECK(fails_with("GET / HTTP/0.9\r\n" HOST "\r\n", 505));
    CHECK(fails_with("GET / HTTP/3.1\r\n" HOST "\r\n", 505));
    CHECK(fails_with("GET / HTTP/1.10\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET / HTTP/11.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET / http/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1 \r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET / HTTP/1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.x\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET / HTTPS/1.1\r\n" HOST "\r\n", 400));
    CHECK(fails_with("GET / FOO\r\n" HOST "\r\n", 400));
}

static void test_lone_cr(void) {
    CHECK(fails_with("GET / HTTP/1.1\rHost: a\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\nHost: a\r\n\rX", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400));
    CHECK(fails_with("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400));
}

/* ------------------------------------------------------------------ */
/* smuggling and garbage: each its own assertion                        */

static void test_smuggle_cl_and_te(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400));
}
static void test_smuggle_te_and_cl(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400));
}
static void test_smuggle_cl_differing(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400));
}
static void test_cl_identical_repeat_ok(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\ncontent-length: 5\r\n\r\n", &r));
    CHECK_EQ_INT(r.content_length, 5);
    REQUIRE1(ok_parse("POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 5,5\r\n\r\n", &r));
    CHECK_EQ_INT(r.content_length, 5);
}
static void test_smuggle_cl_list_differing(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 5, 6\r\n\r\n", 400));
}
static void test_smuggle_cl_invalid(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: abc\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: -1\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: +5\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 5 5\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 0x5\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length:\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 5,\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 1.5\r\n\r\n", 400));
}
static void test_smuggle_cl_overflow(void) {
    fr_http_req r;
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 99999999999999999999999\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 18446744073709551616\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length: 9223372036854775808\r\n\r\n", 400));
    REQUIRE1(ok_parse("POST / HTTP/1.1\r\n" HOST "Content-Length: 9223372036854775807\r\n\r\n", &r));
    CHECK(r.content_length == (uint64_t)INT64_MAX);
}
static void test_smuggle_te_not_chunked(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, gzip\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: identity\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunkedx\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked;q=1\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: \"chunked\"\r\n\r\n", 400));
}
static void test_smuggle_te_empty(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding:\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: ,\r\n\r\n", 400));
}
static void test_te_other_coding_501(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip, chunked\r\n\r\n", 501));
}
static void test_smuggle_te_across_headers(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400));
}
static void test_smuggle_te_chunked_twice(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked, chunked\r\n\r\n", 400));
}
static void test_smuggle_te_http10(void) {
    CHECK(fails_with("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400));
}
static void test_smuggle_obs_fold(void) {
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X: a\r\n b\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X: a\r\n\tb\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400)); /* ws before first field */
}
static void test_smuggle_ws_before_colon(void) {
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Transfer-Encoding : chunked\r\n\r\n", 400));
    CHECK(fails_with("POST / HTTP/1.1\r\n" HOST "Content-Length\t: 5\r\n\r\n", 400));
}
static void test_smuggle_empty_name(void) {
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST ": value\r\n\r\n", 400));
}
static void test_smuggle_ctl_in_name(void) {
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X\x01Y: v\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X\x7fY: v\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X(Y: v\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X\xc3\xa9: v\r\n\r\n", 400));
}
static void test_smuggle_nul_in_name(void) {
    const char s[] = "GET / HTTP/1.1\r\nHost: h\r\nX\0Y: v\r\n\r\n";
    fr_http_req r;
    fr_err e;
    CHECK_EQ_INT(parse_n(s, sizeof s - 1, &r, &e, NULL, NH), -1);
    CHECK_EQ_INT(e.code, 400);
}
static void test_smuggle_ctl_in_value(void) {
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X: a\x01" "b\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X: a\x7f\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X: a\x1b[0m\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "X: \x0b\r\n\r\n", 400));
}
static void test_smuggle_nul_in_value(void) {
    const char s[] = "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n";
    fr_http_req r;
    fr_err e;
    CHECK_EQ_INT(parse_n(s, sizeof s - 1, &r, &e, NULL, NH), -1);
    CHECK_EQ_INT(e.code, 400);
    CHECK_EQ_INT(e.pos, 29);
}
static void test_header_without_colon(void) {
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "NoColon\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\n" HOST "NoColon\n\n", 400));
}
static void test_missing_host(void) {
    CHECK(fails_with("GET / HTTP/1.1\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", 400));
}
static void test_duplicate_host(void) {
    CHECK(fails_with("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400));
}
static void test_host_values(void) {
    fr_http_req r;
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", &r)); /* empty Host is legal */
    CHECK(r.host.buf != NULL);
    CHECK_EQ_INT(r.host.len, 0);
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\nHost: [::1]:8000\r\n\r\n", &r));
    CHECK_EQ_MEM(r.host.buf, r.host.len, "[::1]:8000");
    REQUIRE1(ok_parse("GET / HTTP/1.1\r\nHost: xn--bcher-kva.example:80\r\n\r\n", &r));
    CHECK(fails_with("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\nHost: u@h\r\n\r\n", 400));
    CHECK(fails_with("GET / HTTP/1.1\r\nHost: h\xc3\xa9\r\n\r\n", 400));
}

/* ------------------------------------------------------------------ */
/* limits                                                              */

static void test_limit_header_bytes(void) {
    const char *s = "GET / HTTP/1.1\r\nHost: h\r\nX: 0123456789\r\n\r\n"; /* 43 bytes */
    size_t n = strlen(s);
    fr_http_limits lim = {0, 0, 0};
    fr_http_req r;
    fr_err e;
    lim.max_header_bytes = n;
    CHECK_EQ_INT(parse_n(s, n, &r, &e, &lim, NH), n);
    lim.max_header_bytes = n - 1;
    CHECK_EQ_INT(parse_n(s, n, &r, &e, &lim, NH), -1);
    CHECK_EQ_INT(e.code, 431);
    /* incomplete but already longer than the limit */
    lim.max_header_bytes = 20;
    CHECK_EQ_INT(parse_n(s, 21, &r, &e, &lim, NH), -1);
    CHECK_EQ_INT(e.code, 431);
    CHECK_EQ_INT(parse_n(s, 20, &r, &e, &lim, NH), -2);
    /* pipelined bytes after a head within the limit do not count */
    {
        const char *p2 = "GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
        lim.max_header_bytes = 27;
        CHECK_EQ_INT(parse_n(p2, strlen(p2), &r, &e, &lim, NH), 27);
    }
}

static void test_limit_header_bytes_default(void) {
    static char big[FR_MAX_HEADER_BYTES + 64];
    fr_http_req r;
    fr_err e;
    fr_http_limits zero = {0, 0, 0};
    size_t n;
    memcpy(big, "GET / HTTP/1.1\r\nHost: h\r\nX: ", 28);
    memset(big + 28, 'a', sizeof big - 28);
    n = sizeof big;
    CHECK_EQ_INT(parse_n(big, n, &r, &e, NULL, NH), -1);
    CHECK_EQ_INT(e.code, 431);
    CHECK_EQ_INT(parse_n(big, n, &r, &e, &zero, NH), -1);
    CHECK_EQ_INT(e.code, 431);
    CHECK_EQ_INT(parse_n(big, FR_MAX_HEADER_BYTES, &r, &e, NULL, NH), -2);
    /* exactly at the default limit: accepted */
    memcpy(big + FR_MAX_HEADER_BYTES - 4, "\r\n\r\n", 4);
    CHECK_EQ_INT(parse_n(big, n, &r, &e, NULL, NH), FR_MAX_HEADER_BYTES);
}

static void test_limit_header_count(void) {
    const char *s3 = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
    const char *s4 = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    fr_http_limits lim = {0, 3, 0};
    fr_http_req r;
    fr_err e;
    CHECK_EQ_INT(parse_n(s3, strlen(s3), &r, &e, &lim, NH), strlen(s3));
    CHECK_EQ_INT(r.num_headers, 3);
    CHECK_EQ_INT(parse_n(s4, strlen(s4), &r, &e, &lim, NH), -1);
    CHECK_EQ_INT(e.code, 431);
    /* the caller's array size is a limit too */
    CHECK_EQ_INT(parse_n(s3, strlen(s3), &r, &e, NULL, 3), strlen(s3));
    CHECK_EQ_INT(parse_n(s3, strlen(s3), &r, &e, NULL, 2), -1);
    CHECK_EQ_INT(e.code, 431);
    /* detected even while the head is incomplete */
    CHECK_EQ_INT(parse_n(s4, strlen(s4) - 5, &r, &e, &lim, NH), -1);
    CHECK_EQ_INT(e.code, 431);
    /* no array at all: any header is too many */
    {
        const char *g = (const char *)frt_guarded(s3, strlen(s3));
        CHECK_EQ_INT(fr_http_parse_request(g, strlen(s3), &r, NULL, 10, NULL, &e), -1);
        CHECK_EQ_INT(e.code, 431);
        g = (const char *)frt_guarded("GET / HTTP/1.0\r\n\r\n", 18);
        CHECK_EQ_INT(fr_http_parse_request(g, 18, &r, NULL, 0, NULL, &e), 18);
    }
}

static void test_limit_header_count_default(void) {
    static char s[8192];
    static fr_header many[FR_MAX_HEADERS + 10];
    fr_http_req r;
    fr_err e;
    size_t i;
    int n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nHost: h\r\n");
    for (i = 1; i < FR_MAX_HEADERS; i++) n += snprintf(s + n, sizeof s - (size_t)n, "H%u: v\r\n", (unsigned)i);
    memcpy(s + n, "\r\n", 2);
    n += 2;
    {
        const char *g = (const char *)frt_guarded(s, (size_t)n);
        CHECK_EQ_INT(fr_http_parse_request(g, (size_t)n, &r, many, COUNTOF(many), NULL, &e), n);
        CHECK_EQ_INT(r.num_headers, FR_MAX_HEADERS);
    }
    memcpy(s + n - 2, "X: 1\r\n\r\n", 8);
    n += 6;
    {
        const char *g = (const char *)frt_guarded(s, (size_t)n);
        CHECK_EQ_INT(fr_http_parse_request(g, (size_t)n, &r, many, COUNTOF(many), NULL, &e), -1);
        CHECK_EQ_INT(e.code, 431);
    }
}

static void test_limit_uri(void) {
    fr_http_limits lim = {0, 0, 10};
    fr_http_req r;
    fr_err e;
    const char *ok10 = "GET /123456789 HTTP/1.1\r\nHost: h\r\n\r\n";
    const char *bad11 = "GET /1234567890 HTTP/1.1\r\nHost: h\r\n\r\n";
    CHECK_EQ_INT(parse_n(ok10, strlen(ok10), &r, &e, &lim, NH), strlen(ok10));
    CHECK_EQ_INT(parse_n(bad11, strlen(bad11), &r, &e, &lim, NH), -1);
    CHECK_EQ_INT(e.code, 414);
    /* as soon as the target is too long, even with the head incomplete */
    CHECK_EQ_INT(parse_n(bad11, 4 + 11, &r, &e, &lim, NH), -1);
    CHECK_EQ_INT(e.code, 414);
    CHECK_EQ_INT(parse_n(bad11, 4 + 10, &r, &e, &lim, NH), -2);
    CHECK_EQ_INT(parse_n(ok10, 4 + 10, &r, &e, &lim, NH), -2);
    /* query counts toward the target */
    CHECK_EQ_INT(parse_n("GET /a?bcdefghij HTTP/1.1\r\nHost: h\r\n\r\n", 38, &r, &e, &lim, NH), -1);
    CHECK_EQ_INT(e.code, 414);
}

static void test_limit_uri_default(void) {
    static char s[FR_MAX_URI_BYTES + 64];
    fr_http_req r;
    fr_err e;
    memcpy(s, "GET /", 5);
    memset(s + 5, 'a', FR_MAX_URI_BYTES - 1);
    memcpy(s + 4 + FR_MAX_URI_BYTES, " HTTP/1.1\r\nHost: h\r\n\r\n", 22);
    CHECK_EQ_INT(parse_n(s, 4 + FR_MAX_URI_BYTES + 22, &r, &e, NULL, NH), 4 + FR_MAX_URI_BYTES + 22);
    CHECK_EQ_INT(r.target.len, FR_MAX_URI_BYTES);
    memset(s + 5, 'a', FR_MAX_URI_BYTES);
    memcpy(s + 5 + FR_MAX_URI_BYTES, " HTTP/1.1\r\nHost: h\r\n\r\n", 22);
    CHECK_EQ_INT(parse_n(s, 5 + FR_MAX_URI_BYTES + 22, &r, &e, NULL, NH), -1);
    CHECK_EQ_INT(e.code, 414);
}

static void test_parse_args(void) {
    fr_http_req r;
    fr_err e;
    CHECK_EQ_INT(fr_http_parse_request(NULL, 0, &r, H, NH, NULL, &e), -2);
    CHECK_EQ_INT(fr_http_parse_request(NULL, 5, &r, H, NH, NULL, &e), -1);
    CHECK_EQ_INT(e.code, 400);
    CHECK_EQ_INT(fr_http_parse_request("GET", 3, NULL, H, NH, NULL, &e), -1);
    CHECK_EQ_INT(parse_n("", 0, &r, &e, NULL, NH), -2);
    /* err may be NULL */
    {
        const char *s = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        const char *g = (const char *)frt_guarded(s, strlen(s));
        CHECK_EQ_INT(fr_http_parse_request(g, strlen(s), &r, H, NH, NULL, NULL), strlen(s));
        CHECK_EQ_INT(fr_http_parse_request(g, 3, &r, H, NH, NULL, NULL), -2);
        CHECK_EQ_INT(fr_http_parse_request("\x01", 1, &r, H, NH, NULL, NULL), -1);
    }
}

static void test_error_positions(void) {
    fr_http_req r;
    fr_err e;
    CHECK_EQ_INT(parse("GET /a\x01 HTTP/1.1\r\n\r\n", &r, &e), -1);
    CHECK_EQ_INT(e.pos, 6);
    CHECK_EQ_INT(parse("GET / HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", &r, &e), -1);
    CHECK_EQ_INT(e.pos, 28);
    CHECK(strstr(e.msg, "colon") != NULL);
}

/* ------------------------------------------------------------------ */
/* every split point                                                    */

/* Parse every proper prefix of s: valid requests give -2 for all of them;
 * invalid ones give -2 until the first error, then that same error. The full
 * input must give `want` (head length or -1 with `code`). */
static int split_check(const char *s, size_t n, int want, int code, const fr_http_limits *lim) {
    size_t i;
    int first_err = 0;
    for (i = 0; i <= n; i++) {
        fr_http_req r;
        fr_err e;
        char *g = (char *)frt_guarded(s, i);
        int rc = fr_http_parse_request(g, i, &r, H, NH, lim, &e);
        if (rc >= 0) {
            size_t k;
            if (rc > (int)i) return 0;
            if (!inside(r.method, g, i) || !inside(r.target, g, i) || !inside(r.path, g, i) ||
                !inside(r.query, g, i) || !inside(r.host, g, i) || !inside(r.content_type, g, i))
                return 0;
            for (k = 0; k < r.num_headers; k++)
                if (!inside(H[k].name, g, i) || !inside(H[k].value, g, i)) return 0;
        }
        frt_guarded_free(g, i);
        if (i < n) {
            if (first_err) {
                if (rc != -1 || e.code != first_err) return 0;
            } else if (rc == -1) {
                if (want >= 0) return 0; /* a valid request never fails early */
                first_err = e.code;
            } else if (rc != -2) {
                if (want < 0 || rc != want) return 0; /* complete early: only with trailing bytes */
            }
        } else {
            if (rc != want) return 0;
            if (want == -1 && e.code != code) return 0;
        }
    }
    return 1;
}

static void test_split_valid(void) {
    static const char *const reqs[] = {
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        ("GET /hello?name=world&x=%20 HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: curl/8\r\n"
         "Accept: */*\r\nCookie: a=b; c=d; eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\r\n\r\n"),
        "POST /items/ HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n",
        "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "\r\n\nGET /lf HTTP/1.1\r\nHost: h\r\nX:\t y \t\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
        "GET http://h:1/a?b HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    };
    size_t i;
    for (i = 0; i < COUNTOF(reqs); i++) {
        size_t n = strlen(reqs[i]);
        CHECK(split_check(reqs[i], n, (int)n, 0, NULL));
    }
}

static void test_split_invalid(void) {
    static const struct {
        const char *s;
        int code;
    } bad[] = {
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
        {"GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
        {"GET / HTTP/1.1\r\nHost: h\r\nX : y\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\r\nX: y\r\n z\r\n\r\n", 400},
        {"GET /\xe9 HTTP/1.1\r\nHost: h\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n", 400},
        {"GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"GET /0123456789abcdef HTTP/1.1\r\nHost: h\r\n\r\n", 414},
    };
    fr_http_limits lim = {0, 0, 16};
    size_t i;
    for (i = 0; i < COUNTOF(bad); i++) CHECK(split_check(bad[i].s, strlen(bad[i].s), -1, bad[i].code, &lim));
    lim.max_uri_bytes = 0;
    lim.max_header_bytes = 30;
    CHECK(split_check("GET / HTTP/1.1\r\nHost: hhhhhhhhhh\r\n\r\n", 36, -1, 431, &lim));
}

static void test_split_pipelined_prefix(void) {
    /* head plus body bytes: every prefix that contains the head returns its length */
    const char *s = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody";
    size_t n = strlen(s), head = n - 4, i;
    for (i = 0; i <= n; i++) {
        fr_http_req r;
        fr_err e;
        char *g = (char *)frt_guarded(s, i);
        int rc = fr_http_parse_request(g, i, &r, H, NH, NULL, &e);
        CHECK_EQ_INT(rc, i < head ? -2 : (int)head);
        frt_guarded_free(g, i);
    }
}


static void test_pipelined_chunked_then_get(void) {
    /* the server's loop: parse head, decode the chunked body in place, parse the next head */
    const char *s = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"
                    "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t n = strlen(s), len;
    char *g = (char *)frt_guarded(s, n);
    fr_http_req r;
    fr_err e;
    fr_chunked d;
    long rest;
    int rc = fr_http_parse_request(g, n, &r, H, NH, NULL, &e);
    REQUIRE1(rc > 0);
    CHECK_EQ_INT(r.body_kind, FR_BODY_CHUNKED);
    memset(&d, 0, sizeof d);
    len = n - (size_t)rc;
    rest = fr_http_decode_chunked(&d, g + rc, &len, 0, &e);
    REQUIRE1(rest > 0);
    CHECK_EQ_MEM(g + rc, len, "Wikipedia");
    rc = fr_http_parse_request(g + rc + len, (size_t)rest, &r, H, NH, NULL, &e);
    CHECK_EQ_INT(rc, rest);
    CHECK_EQ_MEM(r.path.buf, r.path.len, "/next");
}

/* Deterministic mini-fuzz (runs in every build, libFuzzer or not): mutate
 * valid requests and check the invariants the server relies on. */
static void test_mutations(void) {
    static const char *const seeds[] = {
        "GET /a?b=c HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: ws\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nExpect: 100-continue\r\n\r\n",
        "PUT http://h/p HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Type: a/b\r\n\r\n",
    };
    static const char alphabet[] = "\r\n :,;\t\0\x7f\x80" "aZ09/?#*-HTP.";
    unsigned seed = 12345;
    int iter;
    for (iter = 0; iter < 1500; iter++) {
        char m[256];
        const char *src = seeds[iter % 3];
        size_t n = strlen(src), k, i;
        int full_rc, full_code;
        memcpy(m, src, n);
        for (k = 0; k < 1 + (size_t)(iter % 4); k++) {
            seed = seed * 1103515245u + 12345u;
            i = (seed >> 8) % n;
            m[i] = alphabet[(seed >> 20) % (sizeof alphabet - 1)];
        }
        {
            fr_http_req r;
            fr_err e;
            char *g = (char *)frt_guarded(m, n);
            full_rc = fr_http_parse_request(g, n, &r, H, NH, NULL, &e);
            full_code = e.code;
            if (full_rc >= 0) {
                CHECK(full_rc <= (int)n);
                CHECK(inside(r.path, g, (size_t)full_rc) && r.path.len > 0);
                CHECK(inside(r.host, g, (size_t)full_rc));
            } else if (full_rc == -1) {
                CHECK(e.code == 400 || e.code == 414 || e.code == 431 || e.code == 501 || e.code == 505);
            }
            frt_guarded_free(g, n);
        }
        for (i = n > 32 ? n - 32 : 0; i < n; i++) {
            fr_http_req r;
            fr_err e;
            char *g = (char *)frt_guarded(m, i);
            int rc = fr_http_parse_request(g, i, &r, H, NH, NULL, &e);
            if (rc >= 0) CHECK_EQ_INT(rc, full_rc);
            if (rc == -1) CHECK(full_rc == -1 && e.code == full_code);
            frt_guarded_free(g, i);
        }
    }
}

/* ------------------------------------------------------------------ */
/* chunked decoder                                                      */

/* Feed `in` in pieces (sizes from `piece`, cycling; 0 = random 1..7 from a
 * seed) to a fresh decoder, like a server would: decoded bytes accumulate in
 * out, bytes after the body in rest. Returns the final rc (>= 0, -1) or -2. */
static long chunk_feed(const char *in, size_t n, size_t piece, unsigned seed, uint64_t max_body, char *out,
                       size_t *out_len, char *rest, size_t *rest_len, fr_err *e) {
    fr_chunked d;
    size_t off = 0;
    long rc = -2;
    memset(&d, 0, sizeof d);
    *out_len = 0;
    *rest_len = 0;
    while (off < n) {
        size_t k = piece;
        char *g;
        size_t len;
        if (!k) {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % 7;
        }
        if (k > n - off) k = n - off;
        g = (char *)frt_guarded(in + off, k);
        len = k;
        rc = fr_http_decode_chunked(&d, g, &len, max_body, e);
        if (rc != -1) {
            memcpy(out + *out_len, g, len);
            *out_len += len;
        }
        if (rc >= 0) {
            memcpy(rest, g + len, (size_t)rc);
            *rest_len = (size_t)rc;
            /* the caller would stop here; keep the rest of the input as well */
            memcpy(rest + *rest_len, in + off + k, n - off - k);
            *rest_len += n - off - k;
        }
        frt_guarded_free(g, k);
        off += k;
        if (rc != -2) break;
    }
    return rc;
}

static void test_chunked_simple(void) {
    const char *in = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    char out[64], rest[64];
    size_t ol, rl;
    fr_err e;
    long rc = chunk_feed(in, strlen(in), 1000, 0, 0, out, &ol, rest, &rl, &e);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_MEM(out, ol, "hello world");
    CHECK_EQ_INT(rl, 0);
}

static void test_chunked_in_place(void) {
    char buf[] = "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    size_t len = strlen(buf);
    fr_chunked d;
    fr_err e;
    long rc;
    memset(&d, 0, sizeof d);
    rc = fr_http_decode_chunked(&d, buf, &len, 1000, &e);
    CHECK_EQ_INT(rc, 16);
    CHECK_EQ_MEM(buf, len, "abc0123456789");
    CHECK_EQ_MEM(buf + len, (size_t)rc, "GET / HTTP/1.1\r\n");
    CHECK_EQ_INT(d.total, 13);
    /* once done, further bytes are all "after the body" */
    len = 4;
    CHECK_EQ_INT(fr_http_decode_chunked(&d, buf, &len, 1000, &e), 4);
    CHECK_EQ_INT(len, 0);
}

static void test_chunked_hex_forms(void) {
    const char *in = "a\r\n0123456789\r\nF\r\n0123456789ABCDE\r\n0010\r\nabcdefghijklmnop\r\n000\r\n\r\n";
    char out[128], rest[16];
    size_t ol, rl;
    fr_err e;
    CHECK_EQ_INT(chunk_feed(in, strlen(in), 1000, 0, 0, out, &ol, rest, &rl, &e), 0);
    CHECK_EQ_MEM(out, ol, "01234567890123456789ABCDEabcdefghijklmnop");
}

static const char *const chunk_bodies[] = {
    "5\r\nhello\r\n0\r\n\r\n",
    "1\r\na\r\n2\r\nbc\r\n3;ext=1\r\ndef\r\n0\r\n\r\n",
    "4 ; name=\"quoted value\" ; x\r\nwxyz\r\n0\r\nX-Trailer: yes\r\nOther: 1\r\n\r\n",
    "0\r\n\r\n",
    "10\r\n0123456789abcdef\r\n1\r\n\n\r\n0;last\r\n\r\nNEXT",
};
static const char *const chunk_expect[] = {"hello", "abcdef", "wxyz", "", "0123456789abcdef\n"};
static const size_t chunk_rest[] = {0, 0, 0, 0, 4};

static void test_chunked_byte_by_byte(void) {
    size_t i;
    for (i = 0; i < COUNTOF(chunk_bodies); i++) {
        char out[128], rest[16];
        size_t ol, rl;
        fr_err e;
        long rc = chunk_feed(chunk_bodies[i], strlen(chunk_bodies[i]), 1, 0, 0, out, &ol, rest, &rl, &e);
        CHECK_EQ_INT(rc, 0); /* byte-wise: the done byte is the last one fed */
        CHECK_EQ_MEM(out, ol, chunk_expect[i]);
        CHECK_EQ_INT(rl, chunk_rest[i]);
    }
}

static void test_chunked_random_splits(void) {
    size_t i;
    unsigned seed;
    for (i = 0; i < COUNTOF(chunk_bodies); i++) {
        for (seed = 1; seed < 200; seed++) {
            char out[128], rest[16];
            size_t ol, rl;
            fr_err e;
            long rc = chunk_feed(chunk_bodies[i], strlen(chunk_bodies[i]), 0, seed, 0, out, &ol, rest, &rl, &e);
            CHECK(rc >= 0);
            CHECK_EQ_MEM(out, ol, chunk_expect[i]);
            CHECK_EQ_INT(rl, chunk_rest[i]);
        }
    }
}

static void test_chunked_every_split(void) {
    /* two pieces, split at every byte */
    const char *in = "3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\nXY";
    size_t n = strlen(in), cut;
    for (cut = 0; cut <= n; cut++) {
        char a[64], out[64];
        size_t len, ol = 0;
        fr_chunked d;
        fr_err e;
        long rc;
        memset(&d, 0, sizeof d);
        memcpy(a, in, cut);
        len = cut;
        rc = fr_http_decode_chunked(&d, a, &len, 0, &e);
        memcpy(out, a, len);
        ol = len;
        if (rc == -2) {
            memcpy(a, in + cut, n - cut);
            len = n - cut;
            rc = fr_http_decode_chunked(&d, a, &len, 0, &e);
            memcpy(out + ol, a, len);
            ol += len;
            CHECK_EQ_INT(rc, 2);
            CHECK_EQ_MEM(a + len, 2, "XY");
        } else {
            CHECK(cut >= n - 2);
            CHECK_EQ_INT(rc, (long)(cut - (n - 2)));
        }
        CHECK_EQ_MEM(out, ol, "abcde");
    }
}

static long chunk_err(const char *in, uint64_t max_body, int *code) {
    char out[8192], rest[8192];
    size_t ol, rl;
    fr_err e;
    long rc = chunk_feed(in, strlen(in), 1000000, 0, max_body, out, &ol, rest, &rl, &e);
    long rc1 = chunk_feed(in, strlen(in), 1, 0, max_body, out, &ol, rest, &rl, &e);
    *code = rc == -1 ? e.code : 0;
    if (rc1 != rc) return -99;
    return rc;
}
#define CHUNK_FAILS(in, max, want)                  \
    do {                                            \
        int code_ = 0;                              \
        CHECK_EQ_INT(chunk_err((in), (max), &code_), -1); \
        CHECK_EQ_INT(code_, (want));                \
    } while (0)

static void test_chunked_bad_size(void) {
    CHUNK_FAILS("\r\nabc\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("g\r\nabc\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("-1\r\nabc\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("0x5\r\nabcde\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("+5\r\nabcde\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS(" 5\r\nabcde\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5 \r\nabcde\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5 x\r\nabcde\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS(";x\r\nabcde\r\n0\r\n\r\n", 0, 400);
}

static void test_chunked_overflow(void) {
    /* 17 hex digits: refused even with leading zeros */
    CHUNK_FAILS("00000000000000005\r\nabcde\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("10000000000000000\r\n", 0, 400);
    /* 16 digits fit the counter but exceed max_body */
    CHUNK_FAILS("ffffffffffffffff\r\n", 0, 413);
    CHUNK_FAILS("8000000000000000\r\n", (uint64_t)-1 / 2, 413);
    {
        int code;
        CHECK_EQ_INT(chunk_err("0000000000000005\r\nabcde\r\n0\r\n\r\n", 0, &code), 0);
    }
}

static void test_chunked_crlf_required(void) {
    CHUNK_FAILS("5\r\nhelloX\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5\r\nhello\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5\r\nhello\rX0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5\rhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("0\r\n\n", 0, 400);
    CHUNK_FAILS("0\r\n\rX", 0, 400);
    CHUNK_FAILS("0\r\nT: v\n\r\n", 0, 400);
    CHUNK_FAILS("0\r\nT: v\rX\r\n", 0, 400);
    CHUNK_FAILS("6\r\nhello\r\n0\r\n\r\n", 0, 400); /* short data eats the CR: next must be CRLF */
}

static void test_chunked_extensions(void) {
    char big[6000];
    int code;
    CHECK_EQ_INT(chunk_err("5;a=b;c=\"d e\"\r\nhello\r\n0;z\r\n\r\n", 0, &code), 0);
    CHECK_EQ_INT(chunk_err("5\t;a\r\nhello\r\n0\r\n\r\n", 0, &code), 0);
    CHUNK_FAILS("5;a\x01\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a\nhello\r\n0\r\n\r\n", 0, 400);
    /* RFC 9112 7.1.1 grammar, llhttp strict: every accepted form ... */
    CHECK_EQ_INT(chunk_err("5 ; a = b ; c = \"x;y\" ;d\r\nhello\r\n0\r\n\r\n", 0, &code), 0);
    CHECK_EQ_INT(chunk_err("5;a=\"q\\\"s\\\\\";b=\"\"\r\nhello\r\n0\r\n\r\n", 0, &code), 0);
    CHECK_EQ_INT(chunk_err("5;a=\"\xc3\xa9\t\"\r\nhello\r\n0\r\n\r\n", 0, &code), 0);
    /* ... and the malformed ones: a bare ';' (alone, doubled, trailing) */
    CHUNK_FAILS("5;\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5 ;\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a;;b\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a=b;\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("0;\r\n\r\n", 0, 400);
    /* unbalanced quotes */
    CHUNK_FAILS("5;a=\"b\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a=\"b\\\"\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a=b\"\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;\"a\"\r\nhello\r\n0\r\n\r\n", 0, 400);
    /* an empty name or value, a non-token name, whitespace before CR */
    CHUNK_FAILS("5;=b\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a=\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a==b\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a b\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a@b\r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a=b \r\nhello\r\n0\r\n\r\n", 0, 400);
    CHUNK_FAILS("5;a=b c\r\nhello\r\n0\r\n\r\n", 0, 400);
    /* every split of a strict failure fails the same (the decoder is byte-wise) */
    {
        const char *bad = "5;a=\"b\r\nhello\r\n0\r\n\r\n";
        size_t n = strlen(bad), cut;
        for (cut = 0; cut <= n; cut++) {
            char a[64];
            size_t len = cut;
            fr_chunked d;
            fr_err e;
            long rc;
            memset(&d, 0, sizeof d);
            memcpy(a, bad, n);
            rc = fr_http_decode_chunked(&d, a, &len, 0, &e);
            if (rc != -1) {
                CHECK_EQ_INT(rc, -2);
                len = n - cut;
                rc = fr_http_decode_chunked(&d, a + cut, &len, 0, &e);
            }
            CHECK_EQ_INT(rc, -1);
            CHECK_EQ_INT(e.code, 400);
        }
    }
    /* bounded: a 4096-byte line is fine, longer is refused */
    memset(big, 'x', sizeof big);
    memcpy(big, "5;", 2);
    memcpy(big + 4094, "\r\nhello\r\n0\r\n\r\n", 15);
    CHECK_EQ_INT(chunk_err(big, 0, &code), 0);
    memset(big, 'x', sizeof big);
    memcpy(big, "5;", 2);
    memcpy(big + 4097, "\r\nhello\r\n0\r\n\r\n", 15);
    CHUNK_FAILS(big, 0, 400);
}

static void test_chunked_trailers(void) {
    char big[6000];
    int code;
    char out[64], rest[64];
    size_t ol, rl;
    fr_err e;
    const char *in = "3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Other:\tv v\r\n\r\nrest";
    CHECK_EQ_INT(chunk_feed(in, strlen(in), 2, 0, 0, out, &ol, rest, &rl, &e), 0);
    CHECK_EQ_MEM(out, ol, "abc");
    CHECK_EQ_MEM(rest, rl, "rest");
    CHUNK_FAILS("0\r\n bad: fold\r\n\r\n", 0, 400);
    CHUNK_FAILS("0\r\nX: a\x01\r\n\r\n", 0, 400);
    /* bounded line length */
    memset(big, 'v', sizeof big);
    memcpy(big, "0\r\nX: ", 6);
    memcpy(big + 3 + 4094, "\r\n\r\n", 5);
    CHECK_EQ_INT(chunk_err(big, 0, &code), 0);
    memset(big, 'v', sizeof big);
    memcpy(big, "0\r\nX: ", 6);
    memcpy(big + 3 + 4097, "\r\n\r\n", 5);
    CHUNK_FAILS(big, 0, 400);
    /* bounded count */
    {
        size_t n = 3, i;
        memcpy(big, "0\r\n", 3);
        for (i = 0; i < 100; i++) {
            memcpy(big + n, "T: 1\r\n", 6);
            n += 6;
        }
        memcpy(big + n, "\r\n", 3);
        CHUNK_FAILS(big, 0, 400);
    }
}

static void test_chunked_413(void) {
    int code;
    CHECK_EQ_INT(chunk_err("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10, &code), 0);
    CHUNK_FAILS("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", 10, 413);
    CHUNK_FAILS("b\r\n", 10, 413); /* refused before any data arrives */
    CHUNK_FAILS("100001\r\n", 0, 413); /* default FR_MAX_BODY_BYTES */
}

static void test_chunked_error_sticky(void) {
    char buf[16] = "zz\r\n";
    size_t len = 4;
    fr_chunked d;
    fr_err e;
    memset(&d, 0, sizeof d);
    CHECK_EQ_INT(fr_http_decode_chunked(&d, buf, &len, 0, &e), -1);
    CHECK_EQ_INT(e.code, 400);
    memcpy(buf, "0\r\n\r\n", 5);
    len = 5;
    CHECK_EQ_INT(fr_http_decode_chunked(&d, buf, &len, 0, &e), -1);
}

static void test_chunked_args(void) {
    fr_chunked d;
    fr_err e;
    size_t len = 0;
    char b[4] = "x";
    memset(&d, 0, sizeof d);
    CHECK_EQ_INT(fr_http_decode_chunked(&d, NULL, &len, 0, &e), -2);
    CHECK_EQ_INT(fr_http_decode_chunked(&d, b, &len, 0, &e), -2);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(fr_http_decode_chunked(NULL, b, &len, 0, &e), -1);
    CHECK_EQ_INT(fr_http_decode_chunked(&d, b, NULL, 0, &e), -1);
    len = 1;
    CHECK_EQ_INT(fr_http_decode_chunked(&d, NULL, &len, 0, &e), -1);
    len = 1;
    CHECK_EQ_INT(fr_http_decode_chunked(&d, b, &len, 0, NULL), -1); /* 'x' is not hex; err optional */
}

static void test_chunked_large(void) {
    /* many chunks of varying size, random pieces */
    static char in[200000], out[200000], rest[16], want[200000];
    size_t n = 0, w = 0, i, ol, rl;
    fr_err e;
    unsigned seed = 7;
    for (i = 1; i < 120; i++) {
        size_t k = (i * 37) % 700 + 1, j;
        n += (size_t)snprintf(in + n, sizeof in - n, "%zx\r\n", k);
        for (j = 0; j < k; j++) {
            seed = seed * 1103515245u + 12345u;
            in[n++] = want[w++] = (char)(seed >> 16);
        }
        in[n++] = '\r';
        in[n++] = '\n';
    }
    memcpy(in + n, "0\r\n\r\n", 5);
    n += 5;
    CHECK_EQ_INT(chunk_feed(in, n, 0, 3, 0, out, &ol, rest, &rl, &e), 0);
    CHECK_EQ_INT(ol, w);
    CHECK(memcmp(out, want, w) == 0);
    CHECK_EQ_INT(chunk_feed(in, n, 4096, 0, 0, out, &ol, rest, &rl, &e), 0);
    CHECK(ol == w && memcmp(out, want, w) == 0);
    CHECK_EQ_INT(chunk_feed(in, n, 0, 0, w - 1, out, &ol, rest, &rl, &e), -1);
    CHECK_EQ_INT(e.code, 413);
}

/* ------------------------------------------------------------------ */
/* reason phrases, date                                                 */

static void test_reason_common(void) {
    CHECK(strcmp(fr_http_reason(200), "OK") == 0);
    CHECK(strcmp(fr_http_reason(201), "Created") == 0);
    CHECK(strcmp(fr_http_reason(204), "No Content") == 0);
    CHECK(strcmp(fr_http_reason(301), "Moved Permanently") == 0);
    CHECK(strcmp(fr_http_reason(307), "Temporary Redirect") == 0);
    CHECK(strcmp(fr_http_reason(400), "Bad Request") == 0);
    CHECK(strcmp(fr_http_reason(404), "Not Found") == 0);
    CHECK(strcmp(fr_http_reason(405), "Method Not Allowed") == 0);
    CHECK(strcmp(fr_http_reason(500), "Internal Server Error") == 0);
}

static void test_reason_python311(void) {
    /* the phrases uvicorn writes (Python 3.11 http.HTTPStatus) */
    CHECK(strcmp(fr_http_reason(413), "Request Entity Too Large") == 0);
    CHECK(strcmp(fr_http_reason(414), "Request-URI Too Long") == 0);
    CHECK(strcmp(fr_http_reason(416), "Requested Range Not Satisfiable") == 0);
    CHECK(strcmp(fr_http_reason(418), "I'm a Teapot") == 0);
    CHECK(strcmp(fr_http_reason(422), "Unprocessable Entity") == 0);
    CHECK(strcmp(fr_http_reason(431), "Request Header Fields Too Large") == 0);
    CHECK(strcmp(fr_http_reason(505), "HTTP Version Not Supported") == 0);
    CHECK(strcmp(fr_http_reason(511), "Network Authentication Required") == 0);
    CHECK(strcmp(fr_http_reason(103), "Early Hints") == 0);
    CHECK(strcmp(fr_http_reason(226), "IM Used") == 0);
}

static void test_reason_unknown(void) {
    CHECK(strcmp(fr_http_reason(0), "") == 0);
    CHECK(strcmp(fr_http_reason(-1), "") == 0);
    CHECK(strcmp(fr_http_reason(299), "") == 0);
    CHECK(strcmp(fr_http_reason(306), "") == 0);
    CHECK(strcmp(fr_http_reason(999), "") == 0);
    {
        /* every code 100..599 has either a known phrase or "" and known ones count 62 */
        int c, known = 0;
        for (c = 100; c < 600; c++)
            if (fr_http_reason(c)[0]) known++;
        CHECK_EQ_INT(known, 62);
    }
}

static void test_date_format(void) {
    char d[30], want[64];
    int tries;
    for (tries = 0; tries < 5; tries++) {
        time_t before = time(NULL), after;
        struct tm tm;
        static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char *const mn[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        memset(d, 'Z', sizeof d);
        fr_http_date(d);
        after = time(NULL);
        if (before != after) continue;
        gmtime_r(&before, &tm);
        snprintf(want, sizeof want, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday], tm.tm_mday,
                 mn[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        CHECK_EQ_INT(strlen(d), 29);
        CHECK(strcmp(d, want) == 0);
        /* cached copy is identical */
        {
            char d2[30];
            fr_http_date(d2);
            if (time(NULL) == before) CHECK(strcmp(d, d2) == 0);
        }
        return;
    }
    CHECK(!"clock kept moving");
}

static void *date_thread(void *arg) {
    int i, *bad = (int *)arg;
    for (i = 0; i < 20000; i++) {
        char d[30];
        fr_http_date(d);
        if (strlen(d) != 29 || memcmp(d + 25, " GMT", 4) != 0 || d[3] != ',') (*bad)++;
    }
    return NULL;
}

static void test_date_threads(void) {
    pthread_t t[4];
    int bad[4] = {0, 0, 0, 0}, i;
    for (i = 0; i < 4; i++) REQUIRE1(pthread_create(&t[i], NULL, date_thread, &bad[i]) == 0);
    for (i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (i = 0; i < 4; i++) CHECK_EQ_INT(bad[i], 0);
}

/* ------------------------------------------------------------------ */
/* writer                                                               */

static void test_write_head_basic(void) {
    fr_buf b = {0, 0, 0};
    fr_header hs[1] = {{{"content-type", 12}, {"application/json", 16}}};
    fr_http_res_head h;
    memset(&h, 0, sizeof h);
    h.status = 200;
    h.minor_version = 1;
    h.headers = hs;
    h.num_headers = 1;
    h.content_length = 25;
    h.keep_alive = 1;
    h.server = FR_STR("fastrapi");
    h.no_date = 1;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len,
                 "HTTP/1.1 200 OK\r\nserver: fastrapi\r\ncontent-type: application/json\r\n"
                 "content-length: 25\r\n\r\n");
    fr_buf_free(&b);
}

static void test_write_head_date(void) {
    fr_buf b = {0, 0, 0};
    fr_http_res_head h;
    memset(&h, 0, sizeof h);
    h.status = 404;
    h.minor_version = 1;
    h.content_length = 0;
    h.keep_alive = 1;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    REQUIRE1(b.len == strlen("HTTP/1.1 404 Not Found\r\ndate: Sun, 06 Nov 1994 08:49:37 GMT\r\ncontent-length: 0\r\n\r\n"));
    CHECK(memcmp(b.buf, "HTTP/1.1 404 Not Found\r\ndate: ", 30) == 0);
    CHECK(memcmp(b.buf + 30 + 25, " GMT\r\ncontent-length: 0\r\n\r\n", 27) == 0);
    fr_buf_free(&b);
}

static void test_write_head_chunked_and_close(void) {
    fr_buf b = {0, 0, 0};
    fr_http_res_head h;
    memset(&h, 0, sizeof h);
    h.status = 201;
    h.minor_version = 1;
    h.content_length = -1;
    h.keep_alive = 0;
    h.no_date = 1;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n");
    fr_buf_free(&b);
}

static void test_write_head_http10(void) {
    fr_buf b = {0, 0, 0};
    fr_http_res_head h;
    memset(&h, 0, sizeof h);
    h.status = 200;
    h.minor_version = 0;
    h.content_length = 2;
    h.keep_alive = 1;
    h.no_date = 1;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\n");
    b.len = 0;
    h.keep_alive = 0;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.0 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n");
    /* a 1.0 client cannot read chunked: close-delimited instead */
    b.len = 0;
    h.keep_alive = 1;
    h.content_length = -1;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.0 200 OK\r\nconnection: close\r\n\r\n");
    fr_buf_free(&b);
}

static void test_write_head_status(void) {
    fr_buf b = {0, 0, 0};
    fr_http_res_head h;
    memset(&h, 0, sizeof h);
    h.minor_version = 1;
    h.keep_alive = 1;
    h.no_date = 1;
    h.status = 299;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.1 299 \r\ncontent-length: 0\r\n\r\n");
    b.len = 0;
    h.status = 999;
    CHECK_EQ_INT(fr_http_write_head(&b, &h), 0);
    b.len = 0;
    h.status = 99;
    CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
    h.status = 1000;
    CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
    h.status = -200;
    CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
    CHECK_EQ_INT(b.len, 0);
    h.status = 422;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.1 422 Unprocessable Entity\r\ncontent-length: 0\r\n\r\n");
    CHECK_EQ_INT(fr_http_write_head(NULL, &h), -1);
    CHECK_EQ_INT(fr_http_write_head(&b, NULL), -1);
    fr_buf_free(&b);
}

static void test_write_head_splitting_refused(void) {
    fr_buf b = {0, 0, 0};
    fr_header hs[2];
    fr_http_res_head h;
    static const char *const bad_values[] = {"a\r\nset-cookie: x", "a\nb", "a\rb"};
    size_t i;
    memset(&h, 0, sizeof h);
    h.status = 200;
    h.minor_version = 1;
    h.keep_alive = 1;
    h.no_date = 1;
    h.headers = hs;
    h.num_headers = 2;
    REQUIRE1(fr_buf_append(&b, "KEEP", 4) == 0);
    hs[0].name = FR_STR("x-ok");
    hs[0].value = FR_STR("fine");
    for (i = 0; i < COUNTOF(bad_values); i++) {
        hs[1].name = FR_STR("x-bad");
        hs[1].value = fr_str_c(bad_values[i]);
        CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
        hs[1].name = fr_str_c(bad_values[i]);
        hs[1].value = FR_STR("v");
        CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
    }
    hs[1].name = FR_STR("x-nul");
    hs[1].value.buf = "a\0b";
    hs[1].value.len = 3;
    CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
    hs[1].name.buf = "x\0y";
    hs[1].name.len = 3;
    hs[1].value = FR_STR("v");
    CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
    hs[1].name = FR_STR(""); /* empty name */
    CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
    hs[1].name = FR_STR("x");
    h.server = FR_STR("evil\r\nx: y");
    CHECK_EQ_INT(fr_http_write_head(&b, &h), -1);
    CHECK_EQ_MEM(b.buf, b.len, "KEEP"); /* untouched on refusal */
    h.server = FR_STR("");
    hs[1].value = FR_STR("tab\tand obs-text \xc3\xa9 ok");
    CHECK_EQ_INT(fr_http_write_head(&b, &h), 0);
    CHECK_EQ_MEM(b.buf, b.len,
                 "KEEPHTTP/1.1 200 OK\r\nx-ok: fine\r\nx: tab\tand obs-text \xc3\xa9 ok\r\ncontent-length: 0\r\n\r\n");
    fr_buf_free(&b);
}

static void test_write_head_no_body_statuses(void) {
    fr_buf b = {0, 0, 0};
    fr_http_res_head h;
    memset(&h, 0, sizeof h);
    h.minor_version = 1;
    h.keep_alive = 1;
    h.no_date = 1;
    h.status = 204;
    h.content_length = 0;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.1 204 No Content\r\n\r\n");
    b.len = 0;
    h.content_length = -1;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.1 204 No Content\r\n\r\n");
    b.len = 0;
    h.status = 101;
    h.keep_alive = 1;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.1 101 Switching Protocols\r\n\r\n");
    b.len = 0;
    h.status = 304;
    h.content_length = 10;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.1 304 Not Modified\r\ncontent-length: 10\r\n\r\n");
    b.len = 0;
    h.status = 204;
    h.minor_version = 0;
    h.content_length = -1;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.0 204 No Content\r\nconnection: keep-alive\r\n\r\n");
    fr_buf_free(&b);
}

static void test_write_head_large_length(void) {
    fr_buf b = {0, 0, 0};
    fr_http_res_head h;
    memset(&h, 0, sizeof h);
    h.status = 206;
    h.minor_version = 1;
    h.keep_alive = 1;
    h.no_date = 1;
    h.content_length = INT64_MAX;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "HTTP/1.1 206 Partial Content\r\ncontent-length: 9223372036854775807\r\n\r\n");
    fr_buf_free(&b);
}

static void test_write_head_many_headers(void) {
    fr_buf b = {0, 0, 0};
    fr_header hs[50];
    char names[50][8];
    fr_http_res_head h;
    size_t i;
    fr_http_req r;
    fr_err e;
    int rc;
    for (i = 0; i < 50; i++) {
        snprintf(names[i], sizeof names[i], "x-h%02u", (unsigned)i);
        hs[i].name.buf = names[i];
        hs[i].name.len = strlen(names[i]);
        hs[i].value = FR_STR("0123456789");
    }
    memset(&h, 0, sizeof h);
    h.status = 200;
    h.minor_version = 1;
    h.keep_alive = 1;
    h.headers = hs;
    h.num_headers = 50;
    h.content_length = 5;
    REQUIRE1(fr_http_write_head(&b, &h) == 0);
    /* round-trip through the request parser (a response head parses as headers) */
    REQUIRE1(b.len > 17);
    {
        fr_buf q = {0, 0, 0};
        REQUIRE1(fr_buf_append(&q, "GET / HTTP/1.1\r\nHost: h\r\n", 25) == 0);
        REQUIRE1(fr_buf_append(&q, b.buf + 17, b.len - 17) == 0);
        rc = parse_n(q.buf, q.len, &r, &e, NULL, NH);
        CHECK_EQ_INT(rc, q.len);
        CHECK_EQ_INT(r.num_headers, 1 + 1 + 50 + 1);
        CHECK_EQ_INT(r.content_length, 5);
        fr_buf_free(&q);
    }
    fr_buf_free(&b);
}

static void test_write_chunk(void) {
    fr_buf b = {0, 0, 0};
    char big[300];
    REQUIRE1(fr_http_write_chunk(&b, "hello", 5) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "5\r\nhello\r\n");
    b.len = 0;
    REQUIRE1(fr_http_write_chunk(&b, NULL, 0) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "0\r\n\r\n");
    b.len = 0;
    memset(big, 'z', sizeof big);
    REQUIRE1(fr_http_write_chunk(&b, big, 255) == 0);
    CHECK(b.len == 4 + 255 + 2 && memcmp(b.buf, "ff\r\n", 4) == 0);
    b.len = 0;
    REQUIRE1(fr_http_write_chunk(&b, big, 256) == 0);
    CHECK(memcmp(b.buf, "100\r\n", 5) == 0 && memcmp(b.buf + 5 + 256, "\r\n", 2) == 0);
    CHECK_EQ_INT(fr_http_write_chunk(&b, NULL, 3), -1);
    CHECK_EQ_INT(fr_http_write_chunk(NULL, "x", 1), -1);
    fr_buf_free(&b);
}

static void test_write_chunk_roundtrip(void) {
    /* writer output decodes back through the decoder */
    fr_buf b = {0, 0, 0};
    char out[4096], rest[16];
    size_t ol, rl, i;
    fr_err e;
    char data[1000];
    for (i = 0; i < sizeof data; i++) data[i] = (char)i;
    REQUIRE1(fr_http_write_chunk(&b, data, 1) == 0);
    REQUIRE1(fr_http_write_chunk(&b, data + 1, 17) == 0);
    REQUIRE1(fr_http_write_chunk(&b, data + 18, 982) == 0);
    REQUIRE1(fr_http_write_chunk(&b, NULL, 0) == 0);
    CHECK_EQ_INT(chunk_feed(b.buf, b.len, 0, 11, 0, out, &ol, rest, &rl, &e), 0);
    CHECK(ol == sizeof data && memcmp(out, data, sizeof data) == 0);
    fr_buf_free(&b);
}

static const frt_case frt_cases[] = {
    FRT(test_parse_get_simple),
    FRT(test_parse_query),
    FRT(test_parse_fragment),
    FRT(test_parse_post_content_length),
    FRT(test_parse_content_length_zero),
    FRT(test_parse_chunked_request),
    FRT(test_parse_pipelined),
    FRT(test_parse_http10),
    FRT(test_keep_alive_rules),
    FRT(test_expect_continue),
    FRT(test_upgrade),
    FRT(test_header_lookup),
    FRT(test_header_values),
    FRT(test_long_header_value),
    FRT(test_long_target),
    FRT(test_bare_lf),
    FRT(test_leading_empty_lines),
    FRT(test_absolute_form),
    FRT(test_asterisk_form),
    FRT(test_authority_form_rejected),
    FRT(test_method),
    FRT(test_target_chars),
    FRT(test_version),
    FRT(test_lone_cr),
    FRT(test_smuggle_cl_and_te),
    FRT(test_smuggle_te_and_cl),
    FRT(test_smuggle_cl_differing),
    FRT(test_cl_identical_repeat_ok),
    FRT(test_smuggle_cl_list_differing),
    FRT(test_smuggle_cl_invalid),
    FRT(test_smuggle_cl_overflow),
    FRT(test_smuggle_te_not_chunked),
    FRT(test_smuggle_te_empty),
    FRT(test_te_other_coding_501),
    FRT(test_smuggle_te_across_headers),
    FRT(test_smuggle_te_chunked_twice),
    FRT(test_smuggle_te_http10),
    FRT(test_smuggle_obs_fold),
    FRT(test_smuggle_ws_before_colon),
    FRT(test_smuggle_empty_name),
    FRT(test_smuggle_ctl_in_name),
    FRT(test_smuggle_nul_in_name),
    FRT(test_smuggle_ctl_in_value),
    FRT(test_smuggle_nul_in_value),
    FRT(test_header_without_colon),
    FRT(test_missing_host),
    FRT(test_duplicate_host),
    FRT(test_host_values),
    FRT(test_limit_header_bytes),
    FRT(test_limit_header_bytes_default),
    FRT(test_limit_header_count),
    FRT(test_limit_header_count_default),
    FRT(test_limit_uri),
    FRT(test_limit_uri_default),
    FRT(test_parse_args),
    FRT(test_error_positions),
    FRT(test_split_valid),
    FRT(test_split_invalid),
    FRT(test_split_pipelined_prefix),
    FRT(test_pipelined_chunked_then_get),
    FRT(test_mutations),
    FRT(test_chunked_simple),
    FRT(test_chunked_in_place),
    FRT(test_chunked_hex_forms),
    FRT(test_chunked_byte_by_byte),
    FRT(test_chunked_random_splits),
    FRT(test_chunked_every_split),
    FRT(test_chunked_bad_size),
    FRT(test_chunked_overflow),
    FRT(test_chunked_crlf_required),
    FRT(test_chunked_extensions),
    FRT(test_chunked_trailers),
    FRT(test_chunked_413),
    FRT(test_chunked_error_sticky),
    FRT(test_chunked_args),
    FRT(test_chunked_large),
    FRT(test_reason_common),
    FRT(test_reason_python311),
    FRT(test_reason_unknown),
    FRT(test_date_format),
    FRT(test_date_threads),
    FRT(test_write_head_basic),
    FRT(test_write_head_date),
    FRT(test_write_head_chunked_and_close),
    FRT(test_write_head_http10),
    FRT(test_write_head_status),
    FRT(test_write_head_splitting_refused),
    FRT(test_write_head_no_body_statuses),
    FRT(test_write_head_large_length),
    FRT(test_write_head_many_headers),
    FRT(test_write_chunk),
    FRT(test_write_chunk_roundtrip),
};
FRT_MAIN()
