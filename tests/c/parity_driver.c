/* Driver for tests/test_c_parity.py: reads records from stdin and prints
 * one line per record with what the engine answers, for Python to compare
 * with urllib / Starlette / pydantic / email.
 *
 * Record: op (1 byte), length (4 bytes, little-endian), data.
 *   'Q' / 'C'  split + decode as FR_KV_QUERY / FR_KV_COOKIE:
 *              "hex(key):hex(value)," per pair
 *   'q' / 'c'  data = key length (4 bytes LE), key, src: fr_kv_find LAST
 *              and fr_kv_count: "1 hex(value) count" or "0 - count"
 *   'I' 'F' 'B' 'U'  fr_parse_int / float / bool / uuid:
 *              "OK <value>" (float as %a, uuid as hex), "INVALID type|msg"
 *              or "DEFER"
 *   'J'        fr_media_is_json: "1" or "0"
 * Every decode goes into a buffer of exactly FR_KV_DECODED_MAX bytes. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) printf("%02x", (unsigned char)p[i]);
}

static void put_decoded(int kind, int is_key, fr_str raw) {
    size_t cap = FR_KV_DECODED_MAX(raw.len);
    char *d = (char *)malloc(cap ? cap : 1);
    long n;
    if (!d) abort();
    n = is_key ? fr_kv_decode_key(kind, raw, d, cap) : fr_kv_decode(kind, raw, d, cap);
    if (n < 0) {
        printf("ERR");
    } else {
        hex(d, (size_t)n);
    }
    free(d);
}

static void split(int kind, fr_str src) {
    fr_kv_iter it;
    fr_str k, v;
    fr_kv_iter_init(&it, src, kind);
    while (fr_kv_next(&it, &k, &v)) {
        put_decoded(kind, 1, k);
        putchar(':');
        put_decoded(kind, 0, v);
        putchar(',');
    }
}

static void find(int kind, fr_str data) {
    fr_str key, src, v;
    uint32_t kl;
    if (data.len < 4) {
        printf("BAD");
        return;
    }
    kl = (uint32_t)(unsigned char)data.buf[0] | (uint32_t)(unsigned char)data.buf[1] << 8 |
         (uint32_t)(unsigned char)data.buf[2] << 16 | (uint32_t)(unsigned char)data.buf[3] << 24;
    if (kl > data.len - 4) {
        printf("BAD");
        return;
    }
    key.buf = data.buf + 4;
    key.len = kl;
    src.buf = key.buf + kl;
    src.len = data.len - 4 - kl;
    if (fr_kv_find(src, kind, key, FR_KV_LAST, &v)) {
        printf("1 ");
        put_decoded(kind, 0, v);
    } else {
        printf("0 -");
    }
    printf(" %zu", fr_kv_count(src, kind, key));
}

static void verdict(int r, int kind) {
    if (r == FR_SCALAR_INVALID)
        printf("INVALID %s|%s", fr_scalar_error_type(kind), fr_scalar_error_msg(kind));
    else if (r == FR_SCALAR_DEFER)
        printf("DEFER");
    else if (r != FR_SCALAR_OK)
        printf("BAD %d", r);
}

static void scalar(int op, fr_str s) {
    int r;
    if (op == 'I') {
        int64_t v;
        r = fr_parse_int(s, &v);
        if (r == FR_SCALAR_OK) printf("OK %lld", (long long)v);
        verdict(r, FR_SCALAR_INT);
    } else if (op == 'F') {
        double v;
        r = fr_parse_float(s, &v);
        if (r == FR_SCALAR_OK) printf("OK %a", v);
        verdict(r, FR_SCALAR_FLOAT);
    } else if (op == 'B') {
        int v;
        r = fr_parse_bool(s, &v);
        if (r == FR_SCALAR_OK) printf("OK %d", v);
        verdict(r, FR_SCALAR_BOOL);
    } else {
        unsigned char u[16];
        r = fr_parse_uuid(s, u);
        if (r == FR_SCALAR_OK) {
            printf("OK ");
            hex((const char *)u, 16);
        }
        verdict(r, FR_SCALAR_UUID);
    }
}

int main(void) {
    size_t cap = 1 << 16, len = 0, pos = 0;
    char *in = (char *)malloc(cap);
    size_t got;
    if (!in) return 1;
    while ((got = fread(in + len, 1, cap - len, stdin)) > 0) {
        len += got;
        if (len == cap) {
            char *p = (char *)realloc(in, cap * 2);
            if (!p) return 1;
            in = p;
            cap *= 2;
        }
    }
    while (pos + 5 <= len) {
        int op = in[pos];
        uint32_t n = (uint32_t)(unsigned char)in[pos + 1] | (uint32_t)(unsigned char)in[pos + 2] << 8 |
                     (uint32_t)(unsigned char)in[pos + 3] << 16 | (uint32_t)(unsigned char)in[pos + 4] << 24;
        fr_str data;
        char *copy;
        pos += 5;
        if (n > len - pos) return 2;
        copy = (char *)malloc(n ? n : 1); /* exact size: ASan-friendly when built with it */
        if (!copy) return 1;
        memcpy(copy, in + pos, n);
        data.buf = copy;
        data.len = n;
        pos += n;
        switch (op) {
        case 'Q': split(FR_KV_QUERY, data); break;
        case 'C': split(FR_KV_COOKIE, data); break;
        case 'q': find(FR_KV_QUERY, data); break;
        case 'c': find(FR_KV_COOKIE, data); break;
        case 'I': case 'F': case 'B': case 'U': scalar(op, data); break;
        case 'J': printf("%d", fr_media_is_json(data)); break;
        default: printf("BAD op");
        }
        putchar('\n');
        free(copy);
    }
    free(in);
    return 0;
}
