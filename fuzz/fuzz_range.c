/* libFuzzer harness for the static-file parsers (src/static.c): the Range
 * header, email's parsedate and the mimetypes guess.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_range.c
 *
 * Input: the first 8 bytes (little endian, fewer = 0) are the file size
 * (reduced to < 2^40 so that ranges inside it are exercised), the rest is
 * the header value, copied to an exactly-sized buffer. For every input:
 *  - fr_http_parse_range returns -2, -1 (err 400 with a message), 0 or
 *    1..FR_RANGE_MAX; ranges satisfy start < end <= size, and several are
 *    sorted with gaps between them (merged as Starlette merges); the same
 *    call twice gives the same answer; -2 only when the size is below some
 *    start, so a size of 0 never yields a range;
 *  - a value without '=' is always -1 "Malformed range header.";
 *  - fr_http_parsedate either fails or gives a month 1..12, and a
 *    two-digit year lands in 1969..2068 as Python's rule says;
 *  - fr_static_guess_type returns NULL or a "type/subtype" string. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_ASSERT(c)                                                                    \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "fuzz_range: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t fsize = 0;
    size_t i, n;
    char *v;
    fr_range r[FR_RANGE_MAX], r2[FR_RANGE_MAX];
    fr_err err, err2;
    int rc, rc2, k;
    int64_t d[6];
    for (i = 0; i < 8 && i < size; i++) fsize |= (uint64_t)data[i] << (8 * i);
    fsize &= ((uint64_t)1 << 40) - 1;
    n = size > 8 ? size - 8 : 0;
    v = (char *)malloc(n ? n : 1);
    if (!v) return 0;
    if (n) memcpy(v, data + 8, n);

    rc = fr_http_parse_range(v, n, fsize, r, &err);
    FZ_ASSERT(rc >= -2 && rc <= FR_RANGE_MAX);
    if (rc == -1) FZ_ASSERT(err.code == 400 && err.msg && *err.msg);
    if (!memchr(v, '=', n)) FZ_ASSERT(rc == -1 && strcmp(err.msg, "Malformed range header.") == 0);
    if (fsize == 0) FZ_ASSERT(rc <= 0);
    for (k = 0; k < rc; k++) {
        FZ_ASSERT(r[k].start < r[k].end);
        FZ_ASSERT(r[k].end <= fsize);
        if (k) FZ_ASSERT(r[k - 1].end < r[k].start);
    }
    rc2 = fr_http_parse_range(v, n, fsize, r2, &err2);
    FZ_ASSERT(rc2 == rc);
    if (rc > 0) FZ_ASSERT(memcmp(r, r2, (size_t)rc * sizeof r[0]) == 0);

    if (fr_http_parsedate(v, n, d) == 0) {
        FZ_ASSERT(d[1] >= 1 && d[1] <= 12);
    }
    {
        const char *t = fr_static_guess_type((fr_str){v, n});
        if (t) FZ_ASSERT(strchr(t, '/') != NULL);
    }
    free(v);
    return 0;
}
