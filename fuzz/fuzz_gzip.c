/* libFuzzer harness for GZipMiddleware's compressor and decisions
 * (src/middleware.c, fr_gzip_*).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DFR_ENABLE_ZLIB=1 -I. fuzz/fuzz_gzip.c -lz
 *
 * FUZZ_FLAGS: -DFR_ENABLE_ZLIB=1 -lz
 *
 * The first two bytes choose the compression level and how the rest (the
 * body) is cut into streamed messages. For every input:
 *  - the one-shot member inflates (zlib, gzip wrapper) back to the body, and
 *    is exactly what a stream with the body as its only, final message gives;
 *  - the streamed members (compress + Z_SYNC_FLUSH per message, Z_FINISH at
 *    the end, empty messages included) inflate back to the body;
 *  - the responder (fr_gzip_start / fr_gzip_body) on the same messages: a
 *    compressed response inflates to the body and carries Content-Encoding,
 *    Vary and (whole bodies) the right Content-Length; a passed-through one
 *    is untouched; the decisions on header text taken from the input
 *    (Accept-Encoding, Content-Type) never crash and fr_gzip_accepts agrees
 *    with a plain substring search. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define FZ_ASSERT(c)                                                                   \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "fuzz_gzip: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* Inflate a gzip member completely; returns the length or -1. */
static long inflate_all(const char *src, size_t len, uint8_t *dst, size_t cap) {
    z_stream z;
    int rc;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return -1;
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)len;
    z.next_out = dst;
    z.avail_out = (uInt)cap;
    rc = inflate(&z, Z_FINISH);
    if (rc != Z_STREAM_END || z.avail_in != 0) { /* one member, nothing after it */
        inflateEnd(&z);
        return -1;
    }
    inflateEnd(&z);
    return (long)(cap - z.avail_out);
}

static int level_of(uint8_t b) {
    static const int levels[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 0, -1, FR_GZIP_LEVEL_0};
    return levels[b % (sizeof levels / sizeof levels[0])];
}

/* Cut points: up to 6 messages; a cut may repeat (empty messages). */
static size_t cuts_of(uint8_t seed, const uint8_t *body, size_t n, size_t *cut) {
    size_t k = (size_t)(seed % 6) + 1, i, j;
    for (i = 0; i + 1 < k; i++) cut[i] = n ? (size_t)(body[(i * 7) % n] * 131u + i) % (n + 1) : 0;
    cut[k - 1] = n;
    for (i = 0; i < k; i++)
        for (j = i + 1; j < k; j++)
            if (cut[j] < cut[i]) {
                size_t t = cut[i];
                cut[i] = cut[j];
                cut[j] = t;
            }
    return k;
}

static void check_responder(const fr_gzip *g, const uint8_t *body, size_t n, const size_t *cut,
                            size_t k, int accepts, int status, fr_str ctype, uint8_t *tmp) {
    fr_arena a;
    fr_hlist h;
    fr_gzip_stream st;
    fr_buf out = {NULL, 0, 0}, sent = {NULL, 0, 0};
    size_t i, prev = 0;
    int pass, compressed = 0, any_rc1 = 0;
    char n_text[24];
    fr_arena_init(&a, NULL);
    fr_hlist_init(&h, &a);
    if (ctype.buf) FZ_ASSERT(fr_hlist_append(&h, FR_STR("content-type"), ctype) == 0);
    snprintf(n_text, sizeof n_text, "%zu", n);
    FZ_ASSERT(fr_hlist_append(&h, FR_STR("content-length"), fr_str_c(n_text)) == 0);
    pass = fr_gzip_start(&st, g, accepts, status, &h);
    FZ_ASSERT(pass == 0 || pass == 1);
    FZ_ASSERT(pass == (status == 206 || fr_gzip_excluded(g, ctype)));
    for (i = 0; i < k; i++) {
        int rc;
        out.len = 0;
        rc = fr_gzip_body(&st, &h, body + prev, cut[i] - prev, i + 1 < k, 0, &out);
        FZ_ASSERT(rc == 0 || rc == 1);
        if (rc == 1) {
            any_rc1 = 1;
            FZ_ASSERT(fr_buf_append(&sent, out.buf ? out.buf : "", out.len) == 0);
        } else {
            FZ_ASSERT(!any_rc1); /* once compressing, every message is */
            FZ_ASSERT(fr_buf_append(&sent, body + prev, cut[i] - prev) == 0);
        }
        prev = cut[i];
    }
    fr_gzip_stream_end(&st);
    compressed = fr_str_eq_c(fr_hlist_get(&h, FR_STR("content-encoding")), "gzip");
    FZ_ASSERT(compressed == any_rc1);
    if (compressed) {
        long m = inflate_all(sent.buf, sent.len, tmp, n + 1);
        FZ_ASSERT(accepts && !pass);
        FZ_ASSERT(m == (long)n && (n == 0 || memcmp(tmp, body, n) == 0));
        FZ_ASSERT(fr_str_eq_c(fr_hlist_get(&h, FR_STR("vary")), "Accept-Encoding"));
        if (k == 1) {
            snprintf(n_text, sizeof n_text, "%zu", sent.len);
            FZ_ASSERT(fr_str_eq_c(fr_hlist_get(&h, FR_STR("content-length")), n_text));
        } else {
            FZ_ASSERT(fr_hlist_get(&h, FR_STR("content-length")).buf == NULL);
        }
    } else {
        FZ_ASSERT(sent.len == n && (n == 0 || memcmp(sent.buf, body, n) == 0));
        if (pass) FZ_ASSERT(fr_hlist_get(&h, FR_STR("vary")).buf == NULL);
    }
    fr_buf_free(&out);
    fr_buf_free(&sent);
    fr_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fr_gzip *g;
    const uint8_t *body = size > 2 ? data + 2 : data;
    size_t n = size > 2 ? size - 2 : 0, cut[6], k, i, prev;
    int level = level_of(size ? data[0] : 0);
    fr_buf one = {NULL, 0, 0}, one2 = {NULL, 0, 0}, stream = {NULL, 0, 0};
    fr_gzip_encoder e;
    uint8_t *tmp = (uint8_t *)malloc(n + 1);
    long m;
    fr_str whole = {(const char *)data, size};
    FZ_ASSERT(tmp != NULL);
    if (!g) {
        g = fr_gzip_new(NULL, NULL); /* kept for the whole run */
        FZ_ASSERT(g != NULL);
    }

    /* one shot */
    FZ_ASSERT(fr_gzip_compress(body, n, level, &one) == 0);
    FZ_ASSERT(one.len >= 20 && (uint8_t)one.buf[0] == 0x1f && (uint8_t)one.buf[1] == 0x8b);
    m = inflate_all(one.buf, one.len, tmp, n + 1);
    FZ_ASSERT(m == (long)n && (n == 0 || memcmp(tmp, body, n) == 0));
    /* = a stream whose only message is final */
    FZ_ASSERT(fr_gzip_encoder_init(&e, level, NULL) == 0);
    FZ_ASSERT(fr_gzip_encoder_write(&e, body, n, 1, &one2) == 0);
    FZ_ASSERT(one2.len == one.len && memcmp(one2.buf, one.buf, one.len) == 0);
    FZ_ASSERT(fr_gzip_encoder_write(&e, body, n, 1, &one2) == FR_MW_ERROR);
    fr_gzip_encoder_free(&e);

    /* streamed */
    k = cuts_of(size > 1 ? data[1] : 0, body, n, cut);
    FZ_ASSERT(fr_gzip_encoder_init(&e, level, NULL) == 0);
    for (i = 0, prev = 0; i < k; i++) {
        size_t before = stream.len;
        FZ_ASSERT(fr_gzip_encoder_write(&e, body + prev, cut[i] - prev, i + 1 == k, &stream) == 0);
        if (i + 1 < k) { /* a sync flush ends on the empty stored block 00 00 ff ff */
            FZ_ASSERT(stream.len >= before + 4);
            FZ_ASSERT(memcmp(stream.buf + stream.len - 4, "\x00\x00\xff\xff", 4) == 0);
        }
        prev = cut[i];
    }
    fr_gzip_encoder_free(&e);
    m = inflate_all(stream.buf, stream.len, tmp, n + 1);
    FZ_ASSERT(m == (long)n && (n == 0 || memcmp(tmp, body, n) == 0));

    /* the responder, with header text from the input */
    {
        fr_str ctype = {(const char *)body, n < 40 ? n : 40};
        int status = size > 1 && (data[1] & 0x80) ? 206 : 200;
        if (size && (data[0] & 0x40)) ctype.buf = NULL;
        check_responder(g, body, n, cut, k, !(size && (data[0] & 0x20)), status, ctype, tmp);
    }

    /* Accept-Encoding: a case-sensitive substring test */
    {
        int want = 0;
        for (i = 0; i + 4 <= size; i++)
            if (memcmp(data + i, "gzip", 4) == 0) want = 1;
        FZ_ASSERT(fr_gzip_accepts(whole) == want);
        (void)fr_gzip_excluded(g, whole);
    }

    fr_buf_free(&one);
    fr_buf_free(&one2);
    fr_buf_free(&stream);
    free(tmp);
    return 0;
}
