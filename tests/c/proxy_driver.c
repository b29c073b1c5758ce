/* proxy_driver.c -- answers fr_http_trusts / fr_http_forwarded for
 * tests/test_proxy_parity.py, which compares every answer with uvicorn's
 * ProxyHeadersMiddleware on the same input.
 *
 * stdin: records of  op (1 byte) | u32le nfields | nfields x (u32le len | bytes)
 *   'T' trusted, host                  -> "0" / "1"
 *   'F' trusted, peer, (name, value)*  -> "<ret> <client hex or -> <port> <scheme or ->"
 * A trusted field of length 0xFFFFFFFF stands for NULL (no list).
 * One answer line per record on stdout. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *data;
static size_t dlen, dpos;

static int get_u32(uint32_t *v) {
    if (dlen - dpos < 4) return -1;
    *v = (uint32_t)data[dpos] | (uint32_t)data[dpos + 1] << 8 | (uint32_t)data[dpos + 2] << 16 |
         (uint32_t)data[dpos + 3] << 24;
    dpos += 4;
    return 0;
}

/* one field; NULL buf for the 0xFFFFFFFF marker */
static int get_field(fr_str *s) {
    uint32_t n;
    if (get_u32(&n) < 0) return -1;
    if (n == 0xFFFFFFFFu) {
        s->buf = NULL;
        s->len = 0;
        return 0;
    }
    if (dlen - dpos < n) return -1;
    /* a private copy so ASan sees any read past the field */
    s->buf = n ? (const char *)memcpy(malloc(n), data + dpos, n) : "";
    s->len = n;
    dpos += n;
    return 0;
}

static void put_field(fr_str s) {
    if (s.len) free((void *)(uintptr_t)s.buf);
}

static void hex(fr_str s) {
    size_t i;
    if (!s.len) {
        putchar('-');
        return;
    }
    for (i = 0; i < s.len; i++) printf("%02x", (unsigned char)s.buf[i]);
}

int main(void) {
    size_t cap = 1 << 16;
    data = (unsigned char *)malloc(cap);
    for (;;) {
        size_t r;
        if (dlen == cap) data = (unsigned char *)realloc(data, cap *= 2);
        r = fread(data + dlen, 1, cap - dlen, stdin);
        if (!r) break;
        dlen += r;
    }
    while (dpos < dlen) {
        char op = (char)data[dpos++];
        uint32_t nf, i;
        fr_str f[2 + 2 * 64];
        fr_header h[64];
        if (get_u32(&nf) < 0 || nf < 2 || nf > 2 + 2 * 64 || (nf % 2) != 0) return 2;
        for (i = 0; i < nf; i++)
            if (get_field(&f[i]) < 0) return 2;
        if (op == 'T') {
            printf("%d\n", fr_http_trusts(f[0], f[1]));
        } else if (op == 'F') {
            fr_forwarded fw;
            size_t nh = (nf - 2) / 2;
            int ret;
            for (i = 0; i < nh; i++) {
                h[i].name = f[2 + 2 * i];
                h[i].value = f[3 + 2 * i];
            }
            ret = fr_http_forwarded(f[0], f[1], h, nh, &fw);
            printf("%d ", ret);
            hex(fw.client);
            printf(" %d %.*s\n", fw.client_port, (int)(fw.scheme.len ? fw.scheme.len : 1),
                   fw.scheme.len ? fw.scheme.buf : "-");
        } else {
            return 2;
        }
        for (i = 0; i < nf; i++) put_field(f[i]);
    }
    free(data);
    return 0;
}
