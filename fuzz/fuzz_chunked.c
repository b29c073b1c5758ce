/* libFuzzer harness for fr_http_decode_chunked.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_chunked.c -o /tmp/fuzz_chunked
 *   /tmp/fuzz_chunked -max_total_time=60 fuzz/seeds/fuzz_chunked
 *
 * Byte 0 seeds the piece sizes, byte 1 picks max_body; the rest is the raw
 * body. It is decoded once in one piece and once in pseudo-random pieces
 * (each piece in its own exact-size heap copy, so ASan catches over-reads
 * and over-writes). Both runs must agree on the outcome, the status, the
 * decoded bytes and the bytes left after the body; sizes must add up and the
 * decoded total may never exceed max_body. */
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

typedef struct {
    long rc; /* final: >= 0 done, -1 error, -2 unfinished */
    int code;
    char *out;
    size_t out_len;
    size_t rest; /* bytes of the input after the body */
    uint64_t total;
} result;

static void decode(const uint8_t *in, size_t n, unsigned seed, int one_piece, uint64_t max_body, result *r) {
    fr_chunked d;
    size_t off = 0;
    memset(&d, 0, sizeof d);
    memset(r, 0, sizeof *r);
    r->rc = -2;
    r->out = (char *)malloc(n ? n : 1);
    FUZZ_CHECK(r->out != NULL);
    while (off < n) {
        size_t k, len;
        long rc;
        char *piece;
        fr_err err;
        if (one_piece) {
            k = n;
        } else {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % ((seed & 0x100) ? 3 : 40);
        }
        if (k > n - off) k = n - off;
        piece = (char *)malloc(k);
        FUZZ_CHECK(piece != NULL);
        memcpy(piece, in + off, k);
        len = k;
        rc = fr_http_decode_chunked(&d, piece, &len, max_body, &err);
        FUZZ_CHECK(len <= k);
        FUZZ_CHECK(rc >= -2);
        if (rc == -1) {
            FUZZ_CHECK(err.code == 400 || err.code == 413);
            FUZZ_CHECK(err.msg != NULL);
            r->rc = -1;
            r->code = err.code;
            free(piece);
            break;
        }
        memcpy(r->out + r->out_len, piece, len);
        r->out_len += len;
        FUZZ_CHECK(d.total == r->out_len);
        FUZZ_CHECK(d.total <= max_body);
        if (rc >= 0) {
            FUZZ_CHECK((size_t)rc <= k - len);
            /* the bytes after the body are the input's own bytes, in order */
            FUZZ_CHECK(rc == 0 || memcmp(piece + len, in + off + k - (size_t)rc, (size_t)rc) == 0);
            r->rc = 0;
            r->rest = (size_t)rc + (n - off - k);
            free(piece);
            break;
        }
        free(piece);
        off += k;
    }
    r->total = d.total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    unsigned seed;
    uint64_t max_body;
    result a, b;
    if (size < 2) {
        fr_chunked d;
        size_t len = size;
        char c = size ? (char)data[0] : 0;
        fr_err err;
        memset(&d, 0, sizeof d);
        (void)fr_http_decode_chunked(&d, size ? &c : NULL, &len, 0, &err);
        return 0;
    }
    seed = data[0];
    max_body = data[1] < 128 ? (uint64_t)data[1] * 3 : (data[1] < 250 ? 0 : (uint64_t)-1);
    decode(data + 2, size - 2, seed, 1, max_body ? max_body : FR_MAX_BODY_BYTES, &a);
    decode(data + 2, size - 2, seed, 0, max_body ? max_body : FR_MAX_BODY_BYTES, &b);
    FUZZ_CHECK(a.rc == b.rc);
    FUZZ_CHECK(a.code == b.code);
    if (a.rc != -1) {
        FUZZ_CHECK(a.out_len == b.out_len && memcmp(a.out, b.out, a.out_len) == 0);
        FUZZ_CHECK(a.rest == b.rest);
        FUZZ_CHECK(a.total == b.total);
    }
    free(a.out);
    free(b.out);
    return 0;
}
