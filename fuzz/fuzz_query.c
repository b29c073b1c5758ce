/* libFuzzer harness for query strings, Cookie headers and scalar parsing
 * (src/query.c, src/scalar.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_query.c
 *
 * The input is read both as a query string and as a Cookie header. For
 * every pair (every output buffer is malloc'ed to its exact capacity, so
 * ASan catches a write of even one byte too many):
 *  - the views lie inside the input, in order, without the separator; a
 *    query key holds no '='; cookie views are trimmed of Python whitespace
 *    and never both empty;
 *  - key and value decode into FR_KV_DECODED_MAX bytes, to valid UTF-8; a
 *    buffer of exactly the decoded length works, one byte less fails;
 *    query text without '%' and '+' decodes like Latin-1, cookie keys are
 *    always Latin-1 to UTF-8, and text without escapes, quotes or bytes
 *    >= 0x80 decodes to itself;
 *  - fr_kv_key_eq(raw key, its decoding) holds and fails for the decoding
 *    with a byte more or less; fr_kv_find (first and last) and fr_kv_count
 *    agree with a scan comparing decoded keys;
 *  - the scalar parsers, on the input and on every decoded value, answer
 *    OK / INVALID / DEFER, leave the output alone unless OK, and their OK
 *    values re-format to the input (int: "%lld"; bool: one of the words;
 *    uuid: its hex; float: strtod gives the same bits). */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_ASSERT(c)                                                                    \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "fuzz_query: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

#define FZ_MAX_PAIRS 64 /* pairs cross-checked per input (the scan is quadratic) */

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* Python's str.isspace() for a Latin-1 character */
static int py_space(unsigned char c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

/* Strict UTF-8 (RFC 3629: no overlongs, surrogates or values > U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], need, lo = 0x80, hi = 0xbf, k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) need = 1;
        else if (c >= 0xe0 && c <= 0xef) need = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4) need = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else return 0;
        if (n - i <= need) return 0;
        for (k = 1; k <= need; k++) {
            if (s[i + k] < lo || s[i + k] > hi) return 0;
            lo = 0x80;
            hi = 0xbf;
        }
        i += need + 1;
    }
    return 1;
}

typedef struct text {
    char *buf;
    size_t len;
} text;

/* Decode with the exact promised capacity, then check the capacity edges. */
static text decode(int kind, int is_key, fr_str raw) {
    size_t cap = FR_KV_DECODED_MAX(raw.len);
    char *d = (char *)xmalloc(cap), *e;
    long n = is_key ? fr_kv_decode_key(kind, raw, d, cap) : fr_kv_decode(kind, raw, d, cap), m;
    text t;
    FZ_ASSERT(n >= 0 && (size_t)n <= cap && (size_t)n <= 2 * raw.len);
    FZ_ASSERT(valid_utf8((const unsigned char *)d, (size_t)n));
    e = (char *)xmalloc((size_t)n);
    m = is_key ? fr_kv_decode_key(kind, raw, e, (size_t)n) : fr_kv_decode(kind, raw, e, (size_t)n);
    FZ_ASSERT(m == n && memcmp(d, e, (size_t)n) == 0);
    if (n > 0) {
        m = is_key ? fr_kv_decode_key(kind, raw, e, (size_t)n - 1) : fr_kv_decode(kind, raw, e, (size_t)n - 1);
        FZ_ASSERT(m == -1);
    }
    free(e);
    t.buf = d;
    t.len = (size_t)n;
    return t;
}

/* Latin-1 to UTF-8 of raw: its decoded length and whether it matches d. */
static int is_latin1_of(fr_str raw, const text *d) {
    size_t i, o = 0;
    for (i = 0; i < raw.len; i++) {
        unsigned char c = (unsigned char)raw.buf[i];
        if (c < 0x80) {
            if (o >= d->len || (unsigned char)d->buf[o] != c) return 0;
            o++;
        } else {
            if (o + 2 > d->len || (unsigned char)d->buf[o] != (0xc0 | (c >> 6)) ||
                (unsigned char)d->buf[o + 1] != (0x80 | (c & 0x3f)))
                return 0;
            o += 2;
        }
    }
    return o == d->len;
}

static int has_any(fr_str s, const char *set) {
    size_t i;
    for (i = 0; i < s.len; i++)
        if (strchr(set, s.buf[i]) && s.buf[i] != 0) return 1;
    return 0;
}

static int has_high(fr_str s) {
    size_t i;
    for (i = 0; i < s.len; i++)
        if ((unsigned char)s.buf[i] >= 0x80) return 1;
    return 0;
}

/* ---- scalars ---- */

static void check_scalars(fr_str s) {
    int64_t iv = 0x5a5a;
    double dv = 1234.5;
    int bv = 77, r;
    unsigned char u[16], sentinel[16];
    char buf[80];

    r = fr_parse_int(s, &iv);
    FZ_ASSERT(r == FR_SCALAR_OK || r == FR_SCALAR_INVALID || r == FR_SCALAR_DEFER);
    FZ_ASSERT(fr_parse_int(s, NULL) == r);
    if (r == FR_SCALAR_OK) {
        int n = snprintf(buf, sizeof buf, "%lld", (long long)iv);
        /* canonical, except that "-0" is 0 */
        FZ_ASSERT(((size_t)n == s.len && memcmp(buf, s.buf, s.len) == 0) ||
                  (iv == 0 && s.len == 2 && memcmp(s.buf, "-0", 2) == 0));
    } else {
        FZ_ASSERT(iv == 0x5a5a);
    }
    if (r == FR_SCALAR_INVALID) FZ_ASSERT(s.len <= 4300 && !has_any(s, "_ \t\n"));

    r = fr_parse_float(s, &dv);
    FZ_ASSERT(r == FR_SCALAR_OK || r == FR_SCALAR_INVALID || r == FR_SCALAR_DEFER);
    FZ_ASSERT(fr_parse_float(s, NULL) == r);
    if (r == FR_SCALAR_OK) {
        char *end;
        double ref;
        FZ_ASSERT(s.len > 0 && s.len < sizeof buf);
        memcpy(buf, s.buf, s.len);
        buf[s.len] = 0;
        ref = strtod(buf, &end);
        FZ_ASSERT(end == buf + s.len && memcmp(&ref, &dv, sizeof ref) == 0);
    } else {
        FZ_ASSERT(dv == 1234.5);
    }

    r = fr_parse_bool(s, &bv);
    FZ_ASSERT(r == FR_SCALAR_OK || r == FR_SCALAR_INVALID || r == FR_SCALAR_DEFER);
    if (r == FR_SCALAR_OK) {
        static const char *const yes[] = {"1", "t", "y", "on", "yes", "true"};
        static const char *const no[] = {"0", "f", "n", "no", "off", "false"};
        size_t i;
        int hit = 0;
        for (i = 0; i < 6; i++)
            if ((fr_str_ieq_c(s, yes[i]) && bv == 1) || (fr_str_ieq_c(s, no[i]) && bv == 0)) hit = 1;
        FZ_ASSERT(hit);
    } else {
        FZ_ASSERT(bv == 77);
    }

    memset(u, 0xa5, sizeof u);
    memset(sentinel, 0xa5, sizeof sentinel);
    r = fr_parse_uuid(s, u);
    FZ_ASSERT(r == FR_SCALAR_OK || r == FR_SCALAR_DEFER); /* never INVALID */
    if (r == FR_SCALAR_OK) {
        size_t i, o = 0;
        FZ_ASSERT(s.len == 32 || s.len == 36);
        for (i = 0; i < s.len; i++) {
            char h[3];
            if (s.len == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) {
                FZ_ASSERT(s.buf[i] == '-');
                continue;
            }
            snprintf(h, sizeof h, "%02x", u[o / 2]);
            FZ_ASSERT((s.buf[i] | 0x20) == h[o % 2]);
            o++;
        }
        FZ_ASSERT(o == 32);
    } else {
        FZ_ASSERT(memcmp(u, sentinel, 16) == 0);
    }
}

/* ---- pairs ---- */

typedef struct pair {
    fr_str k, v;
    text dk, dv;
} pair;

static void check_kind(fr_str src, int kind) {
    fr_kv_iter it;
    fr_str k, v, none = {NULL, 0};
    pair *pairs = (pair *)xmalloc(sizeof(pair) * FZ_MAX_PAIRS);
    size_t np = 0, i, j, total = 0;
    const char *last_end = src.buf;
    char sep = kind == FR_KV_QUERY ? '&' : ';';

    fr_kv_iter_init(&it, src, kind);
    while (fr_kv_next(&it, &k, &v)) {
        text dk, dv;
        total++;
        FZ_ASSERT(k.buf >= src.buf && k.buf + k.len <= src.buf + src.len);
        FZ_ASSERT(v.buf >= src.buf && v.buf + v.len <= src.buf + src.len);
        FZ_ASSERT(k.buf >= last_end && (k.len == 0 || v.buf >= k.buf + k.len));
        FZ_ASSERT(!memchr(k.buf, sep, k.len) && !memchr(v.buf, sep, v.len));
        FZ_ASSERT(!memchr(k.buf, '=', k.len));
        last_end = v.buf + v.len;
        if (kind == FR_KV_COOKIE) {
            FZ_ASSERT(k.len || v.len);
            FZ_ASSERT(k.len == 0 || (!py_space((unsigned char)k.buf[0]) && !py_space((unsigned char)k.buf[k.len - 1])));
            FZ_ASSERT(v.len == 0 || (!py_space((unsigned char)v.buf[0]) && !py_space((unsigned char)v.buf[v.len - 1])));
        } else {
            FZ_ASSERT(k.len || v.len || (v.buf > k.buf)); /* never an empty part */
        }
        dk = decode(kind, 1, k);
        dv = decode(kind, 0, v);
        /* decodings that must be plain */
        if (kind == FR_KV_COOKIE) FZ_ASSERT(is_latin1_of(k, &dk));
        if (kind == FR_KV_QUERY && !has_any(k, "%+")) FZ_ASSERT(is_latin1_of(k, &dk));
        if (kind == FR_KV_QUERY && !has_any(v, "%+")) FZ_ASSERT(is_latin1_of(v, &dv));
        if (kind == FR_KV_COOKIE && !has_any(v, "\"")) FZ_ASSERT(is_latin1_of(v, &dv));
        if (!has_high(v) && !has_any(v, kind == FR_KV_QUERY ? "%+" : "\""))
            FZ_ASSERT(dv.len == v.len && memcmp(dv.buf, v.buf, v.len) == 0);
        /* key_eq against the decoding, one byte more, one byte less */
        {
            fr_str d = {dk.buf, dk.len};
            char *longer = (char *)xmalloc(dk.len + 1);
            FZ_ASSERT(fr_kv_key_eq(kind, k, d));
            memcpy(longer, dk.buf, dk.len);
            longer[dk.len] = 'x';
            d.buf = longer;
            d.len = dk.len + 1;
            FZ_ASSERT(!fr_kv_key_eq(kind, k, d));
            if (dk.len) {
                d.len = dk.len - 1;
                FZ_ASSERT(!fr_kv_key_eq(kind, k, d));
            }
            free(longer);
        }
        check_scalars(v);
        {
            fr_str d = {dv.buf, dv.len};
            check_scalars(d);
        }
        if (np < FZ_MAX_PAIRS) {
            pairs[np].k = k;
            pairs[np].v = v;
            pairs[np].dk = dk;
            pairs[np].dv = dv;
            np++;
        } else {
            free(dk.buf);
            free(dv.buf);
        }
    }
    FZ_ASSERT(!fr_kv_next(&it, &k, &v)); /* stays done */
    if (src.len == 0) FZ_ASSERT(total == 0);

    /* find / count agree with a scan over decoded keys (only when every
     * pair was kept, so the scan sees them all) */
    if (total == np) {
        for (i = 0; i < np; i++) {
            fr_str key = {pairs[i].dk.buf, pairs[i].dk.len}, got;
            size_t first = np, last = np, count = 0;
            for (j = 0; j < np; j++) {
                if (pairs[j].dk.len == key.len && memcmp(pairs[j].dk.buf, key.buf, key.len) == 0) {
                    if (first == np) first = j;
                    last = j;
                    count++;
                }
            }
            FZ_ASSERT(first <= i && i <= last);
            FZ_ASSERT(fr_kv_find(src, kind, key, FR_KV_FIRST, &got) == 1);
            FZ_ASSERT(got.buf == pairs[first].v.buf && got.len == pairs[first].v.len);
            FZ_ASSERT(fr_kv_find(src, kind, key, FR_KV_LAST, &got) == 1);
            FZ_ASSERT(got.buf == pairs[last].v.buf && got.len == pairs[last].v.len);
            FZ_ASSERT(fr_kv_count(src, kind, key) == count);
        }
    }
    FZ_ASSERT(fr_kv_find(src, kind, FR_STR("\xff"), FR_KV_LAST, NULL) == 0); /* never valid UTF-8 */
    FZ_ASSERT(fr_kv_count(none, kind, FR_STR("a")) == 0);
    for (i = 0; i < np; i++) {
        free(pairs[i].dk.buf);
        free(pairs[i].dv.buf);
    }
    free(pairs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_str src;
    src.buf = size ? (const char *)data : NULL;
    src.len = size;
    check_kind(src, FR_KV_QUERY);
    check_kind(src, FR_KV_COOKIE);
    check_scalars(src);
    /* the whole input as one raw value, too: escapes across '&' and ';' */
    {
        text q = decode(FR_KV_QUERY, 0, src), c = decode(FR_KV_COOKIE, 0, src);
        free(q.buf);
        free(c.buf);
    }
    return 0;
}
