/* libFuzzer harness for fr_http_trusts / fr_http_forwarded (proxy headers).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_forwarded.c -o /tmp/fuzz_fwd
 *   /tmp/fuzz_fwd -max_total_time=60
 *
 * Input: lines split on '\n'. Line 0 is the forwarded_allow_ips list, line 1
 * the peer, the others header values, alternately X-Forwarded-For and
 * X-Forwarded-Proto (every 3rd one "X-Forwarded-Host"). Each piece is an
 * exact-size heap copy, so ASan catches any over-read. Invariants:
 *   - both functions answer 0 or 1, the same twice; a NULL list trusts nobody;
 *   - fr_http_forwarded answers what fr_http_trusts says of the peer, and an
 *     untrusted peer gets a zeroed result;
 *   - the client is a view inside one X-Forwarded-For value, its port 0 when
 *     it is empty; the scheme is empty or one of http/https/ws/wss;
 *   - with "*" the client comes from the first X-Forwarded-For value. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)      \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

#define MAXH 16

static int inside(fr_str v, fr_str in) {
    return v.buf >= in.buf && v.len <= in.len && v.buf + v.len <= in.buf + in.len;
}

static int same(fr_forwarded a, fr_forwarded b) {
    return a.client.buf == b.client.buf && a.client.len == b.client.len &&
           a.client_port == b.client_port && a.scheme.len == b.scheme.len &&
           (!a.scheme.len || memcmp(a.scheme.buf, b.scheme.buf, a.scheme.len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
    fr_str piece[2 + MAXH];
    fr_header h[MAXH];
    fr_forwarded fw, fw2;
    size_t n = 0, i, start = 0, nh;
    int r, t;
    for (i = 0; i <= len && n < 2 + MAXH; i++) {
        if (i == len || data[i] == '\n') {
            size_t l = i - start;
            char *copy = (char *)malloc(l ? l : 1);
            if (l) memcpy(copy, data + start, l);
            piece[n].buf = copy;
            piece[n].len = l;
            n++;
            start = i + 1;
        }
    }
    while (n < 2) {
        piece[n].buf = (char *)malloc(1);
        piece[n].len = 0;
        n++;
    }
    nh = n - 2;
    for (i = 0; i < nh; i++) {
        h[i].name = fr_str_c(i % 3 == 2 ? "X-Forwarded-Host" : i % 2 ? "x-forwarded-proto"
                                                                      : "X-Forwarded-For");
        h[i].value = piece[2 + i];
    }
    t = fr_http_trusts(piece[0], piece[1]);
    FUZZ_CHECK(t == 0 || t == 1);
    FUZZ_CHECK(t == fr_http_trusts(piece[0], piece[1]));
    r = fr_http_forwarded(piece[0], piece[1], h, nh, &fw);
    FUZZ_CHECK(r == t);
    FUZZ_CHECK(fr_http_forwarded(piece[0], piece[1], h, nh, &fw2) == r && same(fw, fw2));
    if (!r) FUZZ_CHECK(fw.client.len == 0 && fw.client_port == 0 && fw.scheme.len == 0);
    if (!fw.client.len) FUZZ_CHECK(fw.client_port == 0);
    if (fw.scheme.len) {
        FUZZ_CHECK(fr_str_eq_c(fw.scheme, "http") || fr_str_eq_c(fw.scheme, "https") ||
                   fr_str_eq_c(fw.scheme, "ws") || fr_str_eq_c(fw.scheme, "wss"));
    }
    if (fw.client.len) {
        int found = 0;
        size_t first = nh;
        for (i = 0; i < nh; i++) {
            if (!fr_str_ieq_c(h[i].name, "x-forwarded-for")) continue;
            if (first == nh) first = i;
            if (inside(fw.client, h[i].value)) found = 1;
        }
        FUZZ_CHECK(found);
        if (piece[0].len == 1 && piece[0].buf[0] == '*') FUZZ_CHECK(inside(fw.client, h[first].value));
    }
    FUZZ_CHECK(fr_http_forwarded(fr_str_c(NULL), piece[1], h, nh, &fw) == 0);
    FUZZ_CHECK(fr_http_trusts(fr_str_c(NULL), piece[1]) == 0);
    for (i = 0; i < n; i++) free((void *)(uintptr_t)piece[i].buf);
    return 0;
}
