/* ---- crypto.c ---- */
#include "internal.h"

/* ---- helpers ---- */

static uint32_t fr__sha_rol32(uint32_t x, unsigned n) { return (x << n) | (x >> (32u - n)); }
static uint32_t fr__sha_ror32(uint32_t x, unsigned n) { return (x >> n) | (x << (32u - n)); }

static uint32_t fr__sha_load_be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void fr__sha_store_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void fr__sha_store_be64(uint8_t *p, uint64_t v) {
    fr__sha_store_be32(p, (uint32_t)(v >> 32));
    fr__sha_store_be32(p + 4, (uint32_t)v);
}

/* ---- SHA-1 (FIPS 180-4 section 6.1) ---- */

static void fr__sha1_block(uint32_t h[5], const uint8_t *p) {
    uint32_t w[80], a, b, c, d, e, t;
    int i;
    for (i = 0; i < 16; i++) w[i] = fr__sha_load_be32(p + 4 * i);
    for (i = 16; i < 80; i++) w[i] = fr__sha_rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) f = (b & c) | (~b & d), k = 0x5a827999u;
        else if (i < 40) f = b ^ c ^ d, k = 0x6ed9eba1u;
        else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8f1bbcdcu;
        else f = b ^ c ^ d, k = 0xca62c1d6u;
        t = fr__sha_rol32(a, 5) + f + e + k + w[i];
        e = d, d = c, c = fr__sha_rol32(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void fr_sha1_init(fr_sha1_ctx *c) {
    static const uint32_t iv[5] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u,
                                   0xc3d2e1f0u};
    memcpy(c->h, iv, sizeof iv);
    c->nbytes = 0;
    c->used = 0;
}

/* Shared Merkle-Damgard buffering for both hashes (same 64-byte blocks). */
static void fr__md_update(uint32_t *h, uint8_t *block, size_t *used, uint64_t *nbytes,
                          void (*compress)(uint32_t *, const uint8_t *), const void *data,
                          size_t len) {
    const uint8_t *p = (const uint8_t *)data;
    if (!len) return;
    *nbytes += len;
    if (*used) {
        size_t take = FR__MIN(64 - *used, len);
        memcpy(block + *used, p, take);
        *used += take, p += take, len -= take;
        if (*used < 64) return;
        compress(h, block);
        *used = 0;
    }
    for (; len >= 64; p += 64, len -= 64) compress(h, p);
    if (len) memcpy(block, p, len);
    *used = len;
}

static void fr__md_final(uint32_t *h, uint8_t *block, size_t used, uint64_t nbytes,
                         void (*compress)(uint32_t *, const uint8_t *)) {
    block[used++] = 0x80;
    if (used > 56) {
        memset(block + used, 0, 64 - used);
        compress(h, block);
        used = 0;
    }
    memset(block + used, 0, 56 - used);
    fr__sha_store_be64(block + 56, nbytes * 8u);
    compress(h, block);
}

static void fr__sha1_compress(uint32_t *h, const uint8_t *p) { fr__sha1_block(h, p); }

void fr_sha1_update(fr_sha1_ctx *c, const void *data, size_t len) {
    fr__md_update(c->h, c->block, &c->used, &c->nbytes, fr__sha1_compress, data, len);
}

void fr_sha1_final(fr_sha1_ctx *c, uint8_t out[20]) {
    int i;
    fr__md_final(c->h, c->block, c->used, c->nbytes, fr__sha1_compress);
    for (i = 0; i < 5; i++) fr__sha_store_be32(out + 4 * i, c->h[i]);
    memset(c, 0, sizeof *c);
}

void fr_sha1(const void *data, size_t len, uint8_t out[20]) {
    fr_sha1_ctx c;
    fr_sha1_init(&c);
    fr_sha1_update(&c, data, len);
    fr_sha1_final(&c, out);
}

/* ---- SHA-256 (FIPS 180-4 section 6.2) ---- */

static const uint32_t fr__sha256_k[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u};

static void fr__sha256_compress(uint32_t *h, const uint8_t *p) {
    uint32_t w[64], a, b, c, d, e, f, g, hh;
    int i;
    for (i = 0; i < 16; i++) w[i] = fr__sha_load_be32(p + 4 * i);
    for (i = 16; i < 64; i++) {
        uint32_t s0 = fr__sha_ror32(w[i - 15], 7) ^ fr__sha_ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = fr__sha_ror32(w[i - 2], 17) ^ fr__sha_ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (i = 0; i < 64; i++) {
        uint32_t S1 = fr__sha_ror32(e, 6) ^ fr__sha_ror32(e, 11) ^ fr__sha_ror32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + fr__sha256_k[i] + w[i];
        uint32_t S0 = fr__sha_ror32(a, 2) ^ fr__sha_ror32(a, 13) ^ fr__sha_ror32(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

void fr_sha256_init(fr_sha256_ctx *c) {
    static const uint32_t iv[8] = {0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                                   0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u};
    memcpy(c->h, iv, sizeof iv);
    c->nbytes = 0;
    c->used = 0;
}

void fr_sha256_update(fr_sha256_ctx *c, const void *data, size_t len) {
    fr__md_update(c->h, c->block, &c->used, &c->nbytes, fr__sha256_compress, data, len);
}

void fr_sha256_final(fr_sha256_ctx *c, uint8_t out[32]) {
    int i;
    fr__md_final(c->h, c->block, c->used, c->nbytes, fr__sha256_compress);
    for (i = 0; i < 8; i++) fr__sha_store_be32(out + 4 * i, c->h[i]);
    memset(c, 0, sizeof *c);
}

void fr_sha256(const void *data, size_t len, uint8_t out[32]) {
    fr_sha256_ctx c;
    fr_sha256_init(&c);
    fr_sha256_update(&c, data, len);
    fr_sha256_final(&c, out);
}

/* ---- HMAC-SHA256 (RFC 2104) ---- */

void fr_hmac_sha256_init(fr_hmac_sha256_ctx *c, const void *key, size_t klen) {
    uint8_t k[64], pad[64];
    int i;
    memset(k, 0, sizeof k);
    if (klen > 64) fr_sha256(key, klen, k);
    else if (klen) memcpy(k, key, klen);
    for (i = 0; i < 64; i++) pad[i] = (uint8_t)(k[i] ^ 0x36u);
    fr_sha256_init(&c->inner);
    fr_sha256_update(&c->inner, pad, 64);
    for (i = 0; i < 64; i++) pad[i] = (uint8_t)(k[i] ^ 0x5cu);
    fr_sha256_init(&c->outer);
    fr_sha256_update(&c->outer, pad, 64);
    memset(k, 0, sizeof k);
}

void fr_hmac_sha256_update(fr_hmac_sha256_ctx *c, const void *data, size_t len) {
    fr_sha256_update(&c->inner, data, len);
}

void fr_hmac_sha256_final(fr_hmac_sha256_ctx *c, uint8_t out[32]) {
    uint8_t ih[32];
    fr_sha256_final(&c->inner, ih);
    fr_sha256_update(&c->outer, ih, 32);
    fr_sha256_final(&c->outer, out);
}

void fr_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    uint8_t out[32]) {
    fr_hmac_sha256_ctx c;
    fr_hmac_sha256_init(&c, key, klen);
    fr_hmac_sha256_update(&c, msg, mlen);
    fr_hmac_sha256_final(&c, out);
}

int fr_ct_equal(const void *a, const void *b, size_t n) {
    const volatile uint8_t *x = (const volatile uint8_t *)a;
    const volatile uint8_t *y = (const volatile uint8_t *)b;
    uint8_t acc = 0;
    size_t i;
    for (i = 0; i < n; i++) acc = (uint8_t)(acc | (x[i] ^ y[i]));
    return ((unsigned)acc - 1u) >> 8 & 1u; /* 1 iff acc == 0, no branch */
}

/* ---- base64 ---- */

static const char fr__b64_std[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char fr__b64_url[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63, or 64 for a character outside the alphabet */
static unsigned fr__b64_val(unsigned char ch, int url) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26u;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52u;
    if (ch == (url ? '-' : '+')) return 62;
    if (ch == (url ? '_' : '/')) return 63;
    return 64;
}

size_t fr_base64_encoded_len(size_t n) {
    size_t groups = n / 3 + (n % 3 != 0);
    if (groups > SIZE_MAX / 4) return 0;
    return groups * 4;
}

size_t fr_base64_decoded_len(size_t n) { return (n / 4 + (n % 4 != 0)) * 3; }

long fr_base64_encode_ex(char *dst, size_t cap, const void *src, size_t len, int flags) {
    const uint8_t *s = (const uint8_t *)src;
    const char *tab = (flags & FR_B64_URL) ? fr__b64_url : fr__b64_std;
    size_t need = fr_base64_encoded_len(len), i, o = 0, rem = len % 3;
    if (len && !need) return -1;
    if ((flags & FR_B64_NOPAD) && rem) need -= 3 - rem;
    if (need > cap || need > (size_t)LONG_MAX) return -1;
    if (!dst) return len ? -1 : 0;
    for (i = 0; i + 3 <= len; i += 3) {
        uint32_t v = ((uint32_t)s[i] << 16) | ((uint32_t)s[i + 1] << 8) | s[i + 2];
        dst[o++] = tab[v >> 18];
        dst[o++] = tab[(v >> 12) & 63];
        dst[o++] = tab[(v >> 6) & 63];
        dst[o++] = tab[v & 63];
    }
    if (rem) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (rem == 2) v |= (uint32_t)s[i + 1] << 8;
        dst[o++] = tab[v >> 18];
        dst[o++] = tab[(v >> 12) & 63];
        if (rem == 2) dst[o++] = tab[(v >> 6) & 63];
        if (!(flags & FR_B64_NOPAD)) {
            dst[o++] = '=';
            if (rem == 1) dst[o++] = '=';
        }
    }
    if (o < cap) dst[o] = 0;
    return (long)o;
}

long fr_base64_encode(char *dst, size_t cap, const void *src, size_t len) {
    return fr_base64_encode_ex(dst, cap, src, len, 0);
}

long fr_base64_decode_ex(void *dst, size_t cap, const char *src, size_t len, int flags) {
    uint8_t *d = (uint8_t *)dst;
    const unsigned char *s = (const unsigned char *)src;
    int url = (flags & FR_B64_URL) != 0;
    size_t data = len, i, o = 0, out_len, tail;
    uint32_t acc = 0;
    if (len > (size_t)LONG_MAX) return -1;
    if (len && !src) return -1;
    /* padding: at most two '=' at the very end */
    if (data && s[data - 1] == '=') {
        data--;
        if (data && s[data - 1] == '=') data--;
    }
    if (data != len) {
        if (len % 4 != 0) return -1; /* padded input comes in whole quads */
    } else if (!(flags & FR_B64_NOPAD) && len % 4 != 0) {
        return -1;
    }
    tail = data % 4;
    if (tail == 1) return -1; /* 6 bits can't make a byte */
    if (data != len && len - data != (tail ? 4 - tail : 4)) return -1; /* "QUJD====" etc. */
    out_len = data / 4 * 3 + (tail ? tail - 1 : 0);
    if (out_len > cap) return -1;
    if (out_len && !dst) return -1;
    /* decoding in place is safe: output index never passes input index */
    for (i = 0; i < data; i++) {
        unsigned v = fr__b64_val(s[i], url);
        if (v > 63) return -1;
        acc = (acc << 6) | v;
        if ((i & 3) == 3) {
            d[o++] = (uint8_t)(acc >> 16);
            d[o++] = (uint8_t)(acc >> 8);
            d[o++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (tail == 2) {
        if (acc & 0xf) return -1; /* non-canonical: unused bits set */
        d[o++] = (uint8_t)(acc >> 4);
    } else if (tail == 3) {
        if (acc & 0x3) return -1;
        d[o++] = (uint8_t)(acc >> 10);
        d[o++] = (uint8_t)(acc >> 2);
    }
    return (long)o;
}

long fr_base64_decode(void *dst, size_t cap, const char *src, size_t len) {
    return fr_base64_decode_ex(dst, cap, src, len, 0);
}

/* Mirror of CPython's binascii.a2b_base64(data, strict_mode=False). */
long fr_base64_decode_loose(void *dst, size_t cap, const char *src, size_t len) {
    uint8_t *d = (uint8_t *)dst;
    const unsigned char *s = (const unsigned char *)src;
    size_t i, o = 0;
    int quad = 0, pads = 0;
    unsigned left = 0;
    if (len > (size_t)LONG_MAX) return -1;
    if (len && !src) return -1;
    for (i = 0; i < len; i++) {
        unsigned v;
        if (s[i] == '=') {
            /* a pad completes the quad once the quad holds >= 2 characters */
            if (quad >= 2 && quad + ++pads >= 4) return (long)o;
            continue;
        }
        v = fr__b64_val(s[i], 0);
        if (v > 63) continue; /* not in the alphabet: skipped */
        pads = 0;
        if (quad > 0) {
            if (o >= cap || !d) return -1;
        }
        switch (quad) {
        case 0:
            left = v;
            quad = 1;
            break;
        case 1:
            d[o++] = (uint8_t)((left << 2) | (v >> 4));
            left = v & 0xf;
            quad = 2;
            break;
        case 2:
            d[o++] = (uint8_t)((left << 4) | (v >> 2));
            left = v & 0x3;
            quad = 3;
            break;
        default:
            d[o++] = (uint8_t)((left << 6) | v);
            quad = 0;
            break;
        }
    }
    return quad == 0 ? (long)o : -1; /* "Incorrect padding" / lone character */
}

/* ---- Authorization header ---- */

/* Python's str.isspace() for a Latin-1 character */
static int fr__py_isspace_latin1(unsigned char c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

int fr_auth_parse(fr_str header, fr_str *scheme, fr_str *param) {
    const char *sp;
    fr_str sc = {"", 0}, pa = {"", 0};
    int present = header.buf != NULL && header.len > 0;
    if (present) {
        sp = (const char *)memchr(header.buf, ' ', header.len);
        if (!sp) {
            sc = header;
            pa.buf = header.buf + header.len;
        } else {
            const char *b = sp + 1, *e = header.buf + header.len;
            sc.buf = header.buf;
            sc.len = (size_t)(sp - header.buf);
            while (b < e && fr__py_isspace_latin1((unsigned char)*b)) b++;
            while (e > b && fr__py_isspace_latin1((unsigned char)e[-1])) e--;
            pa.buf = b;
            pa.len = (size_t)(e - b);
        }
    }
    if (scheme) *scheme = sc;
    if (param) *param = pa;
    return present;
}

int fr_auth_basic_decode(fr_str param, char *buf, size_t cap, fr_str *user, fr_str *pass) {
    size_t i;
    long n;
    const char *colon;
    if (param.len && !param.buf) return -1;
    for (i = 0; i < param.len; i++)
        if ((unsigned char)param.buf[i] >= 0x80) return -1; /* str.encode("ascii") fails */
    n = fr_base64_decode_loose(buf, cap, param.buf, param.len);
    if (n < 0) return -1;
    for (i = 0; i < (size_t)n; i++)
        if ((unsigned char)buf[i] >= 0x80) return -1; /* bytes.decode("ascii") fails */
    colon = n ? (const char *)memchr(buf, ':', (size_t)n) : NULL;
    if (!colon) return -1;
    if (user) {
        user->buf = buf;
        user->len = (size_t)(colon - buf);
    }
    if (pass) {
        pass->buf = colon + 1;
        pass->len = (size_t)n - (size_t)(colon - buf) - 1;
    }
    return 0;
}
