/* libFuzzer harness for the crypto bits and HTTP Basic parsing (src/crypto.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_auth.c
 *
 * For every input (every output buffer is malloc'ed to its exact capacity,
 * so ASan catches a write or read of even one byte too many):
 *  - fr_auth_parse(input): scheme is the input up to the first ' ', param
 *    the rest stripped of Latin-1 whitespace (Python's str.strip()), both
 *    views inside the input; 0 with empty views exactly for empty input;
 *  - fr_base64_decode_loose agrees byte for byte with a reference written
 *    from CPython's binascii.a2b_base64 (non-strict mode);
 *  - fr_auth_basic_decode(param) succeeds exactly when Python's
 *    b64decode(param).decode("ascii").partition(":") does, and gives the
 *    same user/password; a cap one byte short of the result fails;
 *  - strict decode of the raw input (all four flag combinations) never
 *    overruns, agrees with an in-place decode, re-encodes to the same text
 *    (one accepted encoding per byte string) and, for the standard
 *    alphabet with padding, agrees with the loose decoder;
 *  - encode(x) then decode gives x back for every flag combination; the
 *    length is what fr_base64_encoded_len promises; a cap one byte short
 *    fails, an exact cap succeeds without writing the NUL;
 *  - SHA-1, SHA-256 and HMAC-SHA256 fed in pieces (split points taken from
 *    the input) equal the one-shot results; fr_ct_equal agrees with memcmp.
 * Known-answer vectors are checked once at start-up. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_ASSERT(c)                                                                   \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "fuzz_auth: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                   \
        }                                                                              \
    } while (0)

/* malloc that never returns NULL for 0 bytes and never fails quietly */
static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* ---- references ---- */

/* Python's str.strip() on Latin-1 text */
static int py_space(unsigned char c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* CPython binascii.a2b_base64(data, strict_mode=False), on bytes: invalid
 * characters skipped, stop at the pad that completes a quad, then a
 * leftover of 1 data character or an incomplete quad is an error.
 * dst has room for 3 * ceil(len / 4) bytes. Returns the length or -1. */
static long ref_loose(uint8_t *dst, const unsigned char *s, size_t len) {
    size_t i, o = 0;
    int quad = 0, pads = 0;
    unsigned left = 0;
    for (i = 0; i < len; i++) {
        int v;
        if (s[i] == '=') {
            if (quad >= 2 && quad + ++pads >= 4) return (long)o;
            continue;
        }
        v = b64_value(s[i]);
        if (v < 0) continue;
        pads = 0;
        switch (quad) {
        case 0:
            quad = 1;
            left = (unsigned)v;
            break;
        case 1:
            quad = 2;
            dst[o++] = (uint8_t)((left << 2) | ((unsigned)v >> 4));
            left = (unsigned)v & 0x0f;
            break;
        case 2:
            quad = 3;
            dst[o++] = (uint8_t)((left << 4) | ((unsigned)v >> 2));
            left = (unsigned)v & 0x03;
            break;
        default:
            quad = 0;
            dst[o++] = (uint8_t)((left << 6) | (unsigned)v);
            left = 0;
            break;
        }
    }
    return quad ? -1 : (long)o;
}

/* ---- pieces ---- */

static void check_auth_parse(const uint8_t *data, size_t size) {
    fr_str h, scheme, param;
    const char *sp;
    size_t a, b;
    int rc;
    h.buf = (const char *)data;
    h.len = size;
    rc = fr_auth_parse(h, &scheme, &param);
    if (size == 0) {
        FZ_ASSERT(rc == 0 && scheme.len == 0 && param.len == 0);
        return;
    }
    FZ_ASSERT(rc == 1);
    sp = (const char *)memchr(data, ' ', size);
    FZ_ASSERT(scheme.buf == h.buf);
    FZ_ASSERT(scheme.len == (sp ? (size_t)(sp - h.buf) : size));
    if (!sp) {
        FZ_ASSERT(param.len == 0);
        return;
    }
    a = (size_t)(sp - h.buf) + 1;
    b = size;
    while (a < b && py_space(data[a])) a++;
    while (b > a && py_space(data[b - 1])) b--;
    FZ_ASSERT(param.len == b - a);
    if (param.len) FZ_ASSERT(param.buf == h.buf + a);
}

/* param as fr_auth_basic_decode sees it; compare with Python */
static void check_basic(fr_str param) {
    size_t cap = fr_base64_decoded_len(param.len), i;
    uint8_t *ref = (uint8_t *)xmalloc(cap);
    char *buf = (char *)xmalloc(cap);
    uint8_t *lbuf = (uint8_t *)xmalloc(cap);
    fr_str user = {NULL, 0}, pass = {NULL, 0};
    long n = ref_loose(ref, (const unsigned char *)param.buf, param.len);
    long ln = fr_base64_decode_loose(lbuf, cap, param.buf, param.len);
    int ascii_in = 1, ok, rc;
    const uint8_t *colon = NULL;

    FZ_ASSERT(ln == n);
    if (n > 0) FZ_ASSERT(memcmp(lbuf, ref, (size_t)n) == 0);
    for (i = 0; i < param.len; i++)
        if ((unsigned char)param.buf[i] >= 0x80) ascii_in = 0;
    ok = ascii_in && n >= 0;
    for (i = 0; ok && i < (size_t)n; i++)
        if (ref[i] >= 0x80) ok = 0;
    if (ok) {
        colon = n ? (const uint8_t *)memchr(ref, ':', (size_t)n) : NULL;
        ok = colon != NULL;
    }
    rc = fr_auth_basic_decode(param, buf, cap, &user, &pass);
    FZ_ASSERT((rc == 0) == (ok != 0));
    FZ_ASSERT(rc == 0 || rc == -1);
    if (rc == 0) {
        size_t ulen = (size_t)(colon - ref);
        FZ_ASSERT(user.len == ulen && (ulen == 0 || memcmp(user.buf, ref, ulen) == 0));
        FZ_ASSERT(pass.len == (size_t)n - ulen - 1);
        FZ_ASSERT(pass.len == 0 || memcmp(pass.buf, colon + 1, pass.len) == 0);
        FZ_ASSERT(user.len == 0 || (user.buf >= buf && user.buf + user.len <= buf + cap));
        FZ_ASSERT(pass.len == 0 || (pass.buf >= buf && pass.buf + pass.len <= buf + cap));
        /* a buffer one byte short of the decoded credentials must be refused */
        if (n > 0) {
            char *small = (char *)xmalloc((size_t)n - 1);
            fr_str u2, p2;
            FZ_ASSERT(fr_auth_basic_decode(param, small, (size_t)n - 1, &u2, &p2) == -1);
            free(small);
        }
        /* exactly enough */
        {
            char *exact = (char *)xmalloc((size_t)n);
            fr_str u2, p2;
            FZ_ASSERT(fr_auth_basic_decode(param, exact, (size_t)n, &u2, &p2) == 0);
            FZ_ASSERT(u2.len == user.len && p2.len == pass.len);
            free(exact);
        }
    }
    free(ref);
    free(buf);
    free(lbuf);
}

static void check_strict_decode(const uint8_t *data, size_t size, int flags) {
    size_t cap = fr_base64_decoded_len(size);
    uint8_t *out = (uint8_t *)xmalloc(cap);
    char *inplace = (char *)xmalloc(size);
    long n = fr_base64_decode_ex(out, cap, (const char *)data, size, flags);
    long m;
    FZ_ASSERT(n >= -1 && (n < 0 || (size_t)n <= cap));
    if (size) memcpy(inplace, data, size);
    m = fr_base64_decode_ex(inplace, size, inplace, size, flags);
    FZ_ASSERT(m == n);
    if (n > 0) FZ_ASSERT(memcmp(inplace, out, (size_t)n) == 0);
    if (n >= 0) {
        /* the one accepted encoding: re-encoding gives the input back
         * (without its padding when decoding with FR_B64_NOPAD) */
        size_t elen = fr_base64_encoded_len((size_t)n), want = size;
        char *enc = (char *)xmalloc(elen + 1);
        long e = fr_base64_encode_ex(enc, elen + 1, out, (size_t)n, flags);
        if (flags & FR_B64_NOPAD)
            while (want && data[want - 1] == '=') want--;
        FZ_ASSERT(e >= 0 && (size_t)e == want);
        FZ_ASSERT(want == 0 || memcmp(enc, data, want) == 0);
        free(enc);
        /* a strictly valid standard encoding means the same to Python */
        if (flags == 0) {
            uint8_t *ref = (uint8_t *)xmalloc(cap);
            FZ_ASSERT(ref_loose(ref, data, size) == n);
            FZ_ASSERT(n == 0 || memcmp(ref, out, (size_t)n) == 0);
            free(ref);
        }
        /* too small a destination is refused */
        if (n > 0) {
            uint8_t *small = (uint8_t *)xmalloc((size_t)n - 1);
            FZ_ASSERT(fr_base64_decode_ex(small, (size_t)n - 1, (const char *)data, size, flags) ==
                      -1);
            free(small);
        }
    }
    free(out);
    free(inplace);
}

static void check_roundtrip(const uint8_t *data, size_t size, int flags) {
    size_t elen = fr_base64_encoded_len(size), want = elen, i;
    char *enc, *exact;
    uint8_t *dec;
    long e, d;
    FZ_ASSERT(elen == 4 * ((size + 2) / 3));
    if (flags & FR_B64_NOPAD) want = (size * 4 + 2) / 3;
    enc = (char *)xmalloc(elen + 1);
    e = fr_base64_encode_ex(enc, elen + 1, data, size, flags);
    FZ_ASSERT(e >= 0 && (size_t)e == want);
    FZ_ASSERT(enc[e] == '\0');
    for (i = 0; i < (size_t)e; i++) {
        unsigned char c = (unsigned char)enc[i];
        int std = b64_value(c) >= 0 && c != '+' && c != '/';
        if (flags & FR_B64_URL) FZ_ASSERT(std || c == '-' || c == '_' || c == '=');
        else FZ_ASSERT(b64_value(c) >= 0 || c == '=');
        if (flags & FR_B64_NOPAD) FZ_ASSERT(c != '=');
    }
    /* exact capacity (no room for the NUL) works; one less fails */
    exact = (char *)xmalloc(want);
    FZ_ASSERT(fr_base64_encode_ex(exact, want, data, size, flags) == (long)want);
    FZ_ASSERT(want == 0 || memcmp(exact, enc, want) == 0);
    if (want > 0) FZ_ASSERT(fr_base64_encode_ex(exact, want - 1, data, size, flags) == -1);
    free(exact);
    /* and back */
    dec = (uint8_t *)xmalloc(size);
    d = fr_base64_decode_ex(dec, size, enc, (size_t)e, flags);
    FZ_ASSERT(d == (long)size);
    FZ_ASSERT(size == 0 || memcmp(dec, data, size) == 0);
    if (flags == 0) { /* the plain API is flags 0; Python reads it the same way */
        uint8_t *ref = (uint8_t *)xmalloc(fr_base64_decoded_len((size_t)e));
        char *enc2 = (char *)xmalloc(elen + 1);
        FZ_ASSERT(fr_base64_encode(enc2, elen + 1, data, size) == e);
        FZ_ASSERT(memcmp(enc2, enc, (size_t)e + 1) == 0);
        FZ_ASSERT(fr_base64_decode(dec, size, enc, (size_t)e) == (long)size);
        FZ_ASSERT(ref_loose(ref, (const unsigned char *)enc, (size_t)e) == (long)size);
        FZ_ASSERT(size == 0 || memcmp(ref, data, size) == 0);
        free(ref);
        free(enc2);
    }
    free(dec);
    free(enc);
}

static void check_hashes(const uint8_t *data, size_t size) {
    uint8_t one1[20], inc1[20], one2[32], inc2[32], oneh[32], inch[32];
    fr_sha1_ctx c1;
    fr_sha256_ctx c2;
    fr_hmac_sha256_ctx ch;
    size_t cut[4], i, prev, klen;
    const uint8_t *key, *msg;
    size_t mlen;

    /* three split points from the first bytes, sorted */
    cut[0] = size ? data[0] % (size + 1) : 0;
    cut[1] = size > 1 ? ((size_t)data[1] * 7) % (size + 1) : 0;
    cut[2] = size > 2 ? ((size_t)data[2] * 131) % (size + 1) : size;
    cut[3] = size;
    for (i = 0; i < 3; i++) {
        size_t j;
        for (j = i + 1; j < 3; j++)
            if (cut[j] < cut[i]) {
                size_t t = cut[i];
                cut[i] = cut[j];
                cut[j] = t;
            }
    }

    fr_sha1(data, size, one1);
    fr_sha256(data, size, one2);
    fr_sha1_init(&c1);
    fr_sha256_init(&c2);
    for (i = 0, prev = 0; i < 4; i++) {
        fr_sha1_update(&c1, data + prev, cut[i] - prev);
        fr_sha256_update(&c2, data + prev, cut[i] - prev);
        prev = cut[i];
    }
    fr_sha1_update(&c1, data, 0); /* empty updates change nothing */
    fr_sha256_update(&c2, data, 0);
    fr_sha1_final(&c1, inc1);
    fr_sha256_final(&c2, inc2);
    FZ_ASSERT(memcmp(one1, inc1, 20) == 0);
    FZ_ASSERT(memcmp(one2, inc2, 32) == 0);

    /* byte at a time for short inputs */
    if (size <= 300) {
        fr_sha256_init(&c2);
        for (i = 0; i < size; i++) fr_sha256_update(&c2, data + i, 1);
        fr_sha256_final(&c2, inc2);
        FZ_ASSERT(memcmp(one2, inc2, 32) == 0);
    }

    /* HMAC: key is a prefix of the input (may exceed the 64-byte block) */
    klen = cut[0];
    key = data;
    msg = data + klen;
    mlen = size - klen;
    fr_hmac_sha256(key, klen, msg, mlen, oneh);
    fr_hmac_sha256_init(&ch, key, klen);
    fr_hmac_sha256_update(&ch, msg, (cut[1] - klen));
    fr_hmac_sha256_update(&ch, data + cut[1], size - cut[1]);
    fr_hmac_sha256_final(&ch, inch);
    FZ_ASSERT(memcmp(oneh, inch, 32) == 0);
    FZ_ASSERT(fr_ct_equal(oneh, inch, 32) == 1);

    /* constant-time compare agrees with memcmp on the two halves */
    {
        size_t half = size / 2;
        int eq = memcmp(data, data + half, half) == 0;
        FZ_ASSERT(fr_ct_equal(data, data + half, half) == eq);
        FZ_ASSERT(fr_ct_equal(data, data, 0) == 1);
    }
}

/* ---- known answers, once ---- */

static void hex_eq(const uint8_t *got, size_t n, const char *hex) {
    size_t i;
    char buf[2 * 64 + 1];
    for (i = 0; i < n; i++) snprintf(buf + 2 * i, 3, "%02x", got[i]);
    FZ_ASSERT(strcmp(buf, hex) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    uint8_t d1[20], d2[32];
    char enc[16];
    fr_str u, p, h = {"Basic YWxhZGRpbjpvcGVuc2VzYW1l", 30}, s, prm;
    char buf[32];
    (void)argc;
    (void)argv;
    fr_sha1("abc", 3, d1);
    hex_eq(d1, 20, "a9993e364706816aba3e25717850c26c9cd0d89d");
    fr_sha256("abc", 3, d2);
    hex_eq(d2, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    fr_sha256("", 0, d2);
    hex_eq(d2, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* RFC 4231 test case 2 */
    fr_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, d2);
    hex_eq(d2, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    FZ_ASSERT(fr_base64_encode(enc, sizeof enc, "foob", 4) == 8 && strcmp(enc, "Zm9vYg==") == 0);
    FZ_ASSERT(fr_auth_parse(h, &s, &prm) == 1);
    FZ_ASSERT(fr_auth_basic_decode(prm, buf, sizeof buf, &u, &p) == 0);
    FZ_ASSERT(u.len == 7 && memcmp(u.buf, "aladdin", 7) == 0);
    FZ_ASSERT(p.len == 10 && memcmp(p.buf, "opensesame", 10) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_str whole, scheme, param, none = {NULL, 0};
    int flags;

    /* the header as a whole, then its Basic parameter (or the whole input
     * taken as a parameter, so base64 text is reached without a prefix) */
    check_auth_parse(data, size);
    FZ_ASSERT(fr_auth_parse(none, &scheme, &param) == 0);
    whole.buf = (const char *)data;
    whole.len = size;
    if (fr_auth_parse(whole, &scheme, &param)) check_basic(param);
    check_basic(whole);

    for (flags = 0; flags < 4; flags++) {
        check_strict_decode(data, size, flags);
        check_roundtrip(data, size, flags);
    }
    check_hashes(data, size);
    return 0;
}
