/* libFuzzer harness for fr_http_parse_request.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_http.c -o /tmp/fuzz_http
 *   /tmp/fuzz_http -max_total_time=60 fuzz/seeds/fuzz_http
 *
 * The input is parsed as a request head with default and with tiny limits,
 * and so is every prefix down to 64 (tiny limits: 24) bytes shorter (each in its own exact-size
 * heap copy, so ASan catches any over-read). Invariants:
 *   - the result is -2, -1 (with a known status and a message) or a length
 *     in 1..len; every output view lies inside the buffer;
 *   - a prefix that parses fully gives the same length as the whole input,
 *     and a prefix that fails gives the same status as the whole input
 *     (the server re-parses a growing buffer and must see one answer). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* POSIX prototypes even under -std=c11 */
#endif
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)          \
    do {                       \
        if (!(c)) abort();     \
    } while (0)

static int inside(fr_str v, const char *b, size_t n) {
    if (v.len == 0) return 1;
    return v.buf != NULL && v.buf >= b && v.len <= n && v.buf + v.len <= b + n;
}

typedef struct {
    int rc, code;
} outcome;

static outcome run(const uint8_t *data, size_t len, const fr_http_limits *lim, size_t maxh) {
    fr_header hdrs[128];
    fr_http_req req;
    fr_err err;
    outcome o;
    char *buf = (char *)malloc(len ? len : 1);
    size_t i;
    FUZZ_CHECK(buf != NULL);
    if (len) memcpy(buf, data, len);
    o.rc = fr_http_parse_request(buf, len, &req, hdrs, maxh, lim, &err);
    o.code = 0;
    if (o.rc == -1) {
        o.code = err.code;
        FUZZ_CHECK(err.code == 400 || err.code == 414 || err.code == 431 || err.code == 501 ||
                   err.code == 505);
        FUZZ_CHECK(err.msg != NULL && err.msg[0] != 0);
        FUZZ_CHECK(err.pos <= len);
    } else if (o.rc == -2) {
        FUZZ_CHECK(err.code == 0);
    } else {
        size_t n = (size_t)o.rc;
        FUZZ_CHECK(o.rc > 0 && n <= len);
        FUZZ_CHECK(req.method.len > 0 && inside(req.method, buf, n));
        FUZZ_CHECK(req.target.len > 0 && inside(req.target, buf, n));
        FUZZ_CHECK(req.path.len > 0 && inside(req.path, buf, n));
        FUZZ_CHECK(inside(req.query, buf, n));
        FUZZ_CHECK(inside(req.host, buf, n));
        FUZZ_CHECK(inside(req.content_type, buf, n));
        FUZZ_CHECK(req.minor_version == 0 || req.minor_version == 1);
        FUZZ_CHECK(req.body_kind >= FR_BODY_NONE && req.body_kind <= FR_BODY_CHUNKED);
        FUZZ_CHECK(req.num_headers <= maxh);
        FUZZ_CHECK(req.minor_version == 0 || req.host.buf != NULL);
        FUZZ_CHECK(req.body_kind != FR_BODY_LENGTH || req.content_length <= (uint64_t)INT64_MAX);
        FUZZ_CHECK(buf[n - 1] == '\n');
        for (i = 0; i < req.num_headers; i++) {
            FUZZ_CHECK(hdrs[i].name.len > 0 && inside(hdrs[i].name, buf, n));
            FUZZ_CHECK(inside(hdrs[i].value, buf, n));
        }
        {
            fr_str v = fr_http_header(&req, "content-length");
            FUZZ_CHECK(v.buf == NULL || inside(v, buf, n));
            v = fr_http_header(&req, "HOST");
            FUZZ_CHECK(v.buf == NULL || inside(v, buf, n));
        }
    }
    free(buf);
    return o;
}

static void check_prefixes(const uint8_t *data, size_t size, const fr_http_limits *lim, size_t maxh,
                           size_t back) {
    outcome full = run(data, size, lim, maxh);
    size_t k = size > back ? size - back : 0;
    for (; k < size; k++) {
        outcome p = run(data, k, lim, maxh);
        if (p.rc >= 0) FUZZ_CHECK(full.rc == p.rc);
        if (p.rc == -1) FUZZ_CHECK(full.rc == -1 && full.code == p.code);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_http_limits tiny = {96, 6, 24};
    check_prefixes(data, size, NULL, 128, 64);
    check_prefixes(data, size, &tiny, 4, 24);
    return 0;
}
