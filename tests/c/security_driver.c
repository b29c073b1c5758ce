/* Driver for tests/test_security_parity.py: one fr_security_decide per
 * input line, result on stdout, so Python can compare with FastAPI's own
 * classes.
 *
 * Fields are separated by one space; each is "-" (NULL / absent) or "x"
 * followed by the bytes in hex ("x" alone = empty).
 *   in:  kind auto_error name scheme realm authorization key_header query cookie
 *   out: rc a b status detail challenge
 * rc is FR_SEC_OK/NONE/DENY or -1. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELD 65536

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decode field `f` (NUL-terminated) into buf; *present = 0 for "-".
 * Returns the length, or -1 on a malformed field. */
static long field(const char *f, char *buf, int *present) {
    size_t n = strlen(f), i;
    *present = 0;
    if (strcmp(f, "-") == 0) return 0;
    if (f[0] != 'x' || (n - 1) % 2 || (n - 1) / 2 > MAX_FIELD) return -1;
    for (i = 1; i < n; i += 2) {
        int h = hexval(f[i]), l = hexval(f[i + 1]);
        if (h < 0 || l < 0) return -1;
        buf[(i - 1) / 2] = (char)(h * 16 + l);
    }
    *present = 1;
    return (long)((n - 1) / 2);
}

static void put(const char *p, size_t n, int present) {
    size_t i;
    if (!present) {
        fputs("-", stdout);
        return;
    }
    putchar('x');
    for (i = 0; i < n; i++) printf("%02x", (unsigned char)p[i]);
}

int main(void) {
    static char line[9 * (2 * MAX_FIELD + 2) + 64];
    static char bufs[9][MAX_FIELD + 1];
    while (fgets(line, sizeof line, stdin)) {
        char *tok[9], *save = NULL, *t;
        fr_str in[9];
        int present[9], i, rc;
        fr_security s;
        fr_security_result out;
        fr_arena arena;
        line[strcspn(line, "\n")] = 0;
        for (i = 0, t = strtok_r(line, " ", &save); i < 9 && t; i++, t = strtok_r(NULL, " ", &save))
            tok[i] = t;
        if (i != 9) return 2;
        for (i = 0; i < 9; i++) {
            long n = field(tok[i], bufs[i], &present[i]);
            if (n < 0) return 2;
            bufs[i][n] = 0; /* name/scheme/realm are C strings */
            in[i].buf = present[i] ? bufs[i] : NULL;
            in[i].len = (size_t)n;
        }
        memset(&s, 0, sizeof s);
        s.kind = atoi(bufs[0]);
        s.auto_error = atoi(bufs[1]);
        s.name = present[2] ? bufs[2] : NULL;
        s.scheme = present[3] ? bufs[3] : NULL;
        s.realm = present[4] ? bufs[4] : NULL;
        fr_arena_init(&arena, NULL);
        rc = fr_security_decide(&s, in[5], in[6], in[7], in[8], &arena, &out);
        printf("%d ", rc);
        put(out.a.buf, out.a.len, out.a.buf != NULL);
        putchar(' ');
        put(out.b.buf, out.b.len, out.b.buf != NULL);
        printf(" %d ", out.status);
        put(out.detail, out.detail ? strlen(out.detail) : 0, out.detail != NULL);
        putchar(' ');
        put(out.challenge, out.challenge ? strlen(out.challenge) : 0, out.challenge != NULL);
        putchar('\n');
        fr_arena_free(&arena);
    }
    return 0;
}
