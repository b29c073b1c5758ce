/* libFuzzer harness for the request-side middleware decisions
 * (src/middleware.c): Host parsing, URL(scope), HTTPSRedirect,
 * TrustedHost, CORS (preflight, simple response, origin regex).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_middleware.c
 *
 * The input is split at its first two 0xff bytes into Host header, path and
 * query (the rest), and is also used whole as an Origin, a requested header
 * list and an origin regex. For every input:
 *  - fr_mw_parse_host's views lie inside the input and cover it exactly
 *    (host + optional ':' port);
 *  - redirects (HTTPS, www) carry a Location of printable ASCII only -- no
 *    CR, LF, space or control byte can reach a header -- and every answer
 *    is 307 or 400 with Starlette's headers;
 *  - CORS answers are 200/400 with content-length equal to the body, and
 *    the simple-response edit always ends with Vary holding "Origin";
 *  - the input compiled as an origin regex either is refused or matches in
 *    linear time (the match result is only checked to be 0 or 1). */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_ASSERT(c)                                                                         \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "fuzz_middleware: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

static fr_cors *cors_list, *cors_any;
static fr_trusted_host *trusted;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    static const fr_str origins[] = {{"https://a.com", 13}, {"null", 4}};
    static const fr_str any[] = {{"*", 1}};
    static const fr_str headers[] = {{"X-Token", 7}, {"x-\xe9", 3}};
    static const fr_str hosts[] = {{"www.example.com", 15}, {"*.a.io", 6}, {"www.[::1]", 9}};
    fr_cors_config c;
    fr_trusted_host_config t;
    (void)argc;
    (void)argv;
    memset(&c, 0, sizeof c);
    c.allow_origins = origins, c.num_allow_origins = 2;
    c.allow_origin_regex = FR_STR("https://(www|api)\\.[a-z0-9-]+\\.(com|org)(:\\d{1,5})?");
    c.allow_headers = headers, c.num_allow_headers = 2;
    c.allow_private_network = 1;
    cors_list = fr_cors_new(&c, NULL);
    memset(&c, 0, sizeof c);
    c.allow_origins = any, c.num_allow_origins = 1;
    c.allow_headers = any, c.num_allow_headers = 1;
    c.allow_credentials = 1;
    cors_any = fr_cors_new(&c, NULL);
    memset(&t, 0, sizeof t);
    t.allowed_hosts = hosts, t.num_allowed_hosts = 3;
    trusted = fr_trusted_host_new(&t, NULL);
    FZ_ASSERT(cors_list && cors_any && trusted);
    return 0;
}

static void check_answer(int rc, const fr_mw_answer *a) {
    size_t i;
    FZ_ASSERT(rc == 0 || rc == 1 || rc == FR_MW_RAISES);
    if (rc != 1) return;
    FZ_ASSERT(a->status == 307 || a->status == 400);
    FZ_ASSERT(a->headers.len == 2);
    FZ_ASSERT(fr_str_eq_c(a->headers.items[0].name, "content-length"));
    if (a->status == 400) {
        FZ_ASSERT(fr_str_eq_c(a->body, "Invalid host header"));
        return;
    }
    FZ_ASSERT(fr_str_eq_c(a->headers.items[1].name, "location"));
    for (i = 0; i < a->headers.items[1].value.len; i++) {
        unsigned char ch = (unsigned char)a->headers.items[1].value.buf[i];
        FZ_ASSERT(ch > 0x20 && ch < 0x7f);
    }
}

static void check_cors(const fr_cors *c, fr_str origin, fr_str whole, fr_arena *a) {
    fr_mw_answer ans;
    fr_hlist h;
    size_t i;
    char n[24];
    FZ_ASSERT(fr_cors_preflight(c, origin, whole, whole, whole, a, &ans) == 0);
    FZ_ASSERT(ans.status == 200 || ans.status == 400);
    snprintf(n, sizeof n, "%zu", ans.body.len);
    FZ_ASSERT(ans.headers.len >= 2);
    FZ_ASSERT(fr_str_eq_c(ans.headers.items[ans.headers.len - 2].name, "content-length"));
    FZ_ASSERT(fr_str_eq_c(ans.headers.items[ans.headers.len - 2].value, n));
    fr_hlist_init(&h, a);
    FZ_ASSERT(fr_hlist_append(&h, FR_STR("vary"), whole) == 0);
    FZ_ASSERT(fr_cors_simple(c, origin, &h) == 0);
    for (i = 0; i < h.len; i++)
        if (fr_str_eq_c(h.items[i].name, "vary")) break;
    FZ_ASSERT(i < h.len && h.items[i].value.len >= 6 &&
              memcmp(h.items[i].value.buf + h.items[i].value.len - 6, "Origin", 6) == 0);
    i = (size_t)fr_cors_origin_allowed(c, origin);
    FZ_ASSERT(i == 0 || i == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_arena a;
    fr_str whole = {(const char *)data, size}, host, port, parts[3];
    fr_mw_scope sc;
    fr_mw_answer ans;
    fr_buf url = {NULL, 0, 0};
    size_t i, k = 0, st = 0;
    int rc;
    if (!size) whole.buf = ""; /* a present, empty header */
    fr_arena_init(&a, NULL);

    /* Host parsing on the whole input */
    if (fr_mw_parse_host(whole, &host, &port)) {
        FZ_ASSERT(host.buf == whole.buf && host.len > 0);
        if (port.buf) FZ_ASSERT(port.buf == whole.buf + host.len + 1 && host.len + 1 + port.len == size);
        else FZ_ASSERT(host.len == size);
    }

    /* scope = host 0xff path 0xff query */
    for (i = 0; i < size && k < 2; i++) {
        if (data[i] != 0xff) continue;
        parts[k].buf = (const char *)data + st;
        parts[k++].len = i - st;
        st = i + 1;
    }
    for (; k < 3; k++) {
        parts[k].buf = (const char *)data + st;
        parts[k].len = size - st;
        st = size;
    }
    memset(&sc, 0, sizeof sc);
    sc.scheme = size && (data[0] & 1) ? FR_STR("ws") : FR_STR("http");
    sc.host = parts[0];
    if (size && (data[0] & 2)) sc.server_host = FR_STR("::1"), sc.server_port = data[0];
    sc.path = parts[1];
    sc.query = parts[2];
    rc = fr_mw_url(&sc, &url);
    FZ_ASSERT(rc == 0 || rc == FR_MW_RAISES);
    check_answer(fr_https_redirect(&sc, &a, &ans), &ans);
    check_answer(fr_trusted_host_check(trusted, &sc, &a, &ans), &ans);
    sc.host.buf = NULL;
    check_answer(fr_https_redirect(&sc, &a, &ans), &ans);

    /* CORS with the input as origin and request headers */
    check_cors(cors_list, whole, whole, &a);
    check_cors(cors_any, whole, whole, &a);

    /* the input as an origin regex, matched against itself */
    {
        fr_cors_config cfg;
        fr_cors *c;
        memset(&cfg, 0, sizeof cfg);
        cfg.allow_origin_regex = whole;
        c = fr_cors_new(&cfg, NULL);
        if (c) {
            rc = fr_cors_origin_allowed(c, whole);
            FZ_ASSERT(rc == 0 || rc == 1);
            fr_cors_free(c);
        }
    }

    fr_buf_free(&url);
    fr_arena_free(&a);
    return 0;
}
