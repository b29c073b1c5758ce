/* ---- query.c: query strings, urlencoded forms and Cookie headers ---- */
#include "internal.h"

/* ---- where decoded bytes go ----
 *
 * fr_kv_decode writes the decoded text into a buffer; fr_kv_key_eq feeds the
 * same decoder into a comparison instead, so the two cannot disagree. */

typedef struct fr__kv_sink {
    const char *cmp; /* compare with this text; NULL: write into dst */
    char *dst;
    size_t cap;      /* room in dst, or the length of cmp */
    size_t len;      /* bytes produced so far */
    int fail;        /* out of room, or a mismatch */
} fr__kv_sink;

static void fr__kv_put(fr__kv_sink *k, const void *p, size_t n) {
    if (k->fail) return;
    if (n > k->cap - k->len) {
        k->fail = 1;
        return;
    }
    if (k->cmp) k->fail = memcmp(k->cmp + k->len, p, n) != 0;
    else memcpy(k->dst + k->len, p, n);
    k->len += n;
}

/* A Latin-1 character as UTF-8. */
static void fr__kv_put_latin1(fr__kv_sink *k, unsigned c) {
    unsigned char u[2];
    if (c < 0x80) {
        u[0] = (unsigned char)c;
        fr__kv_put(k, u, 1);
        return;
    }
    u[0] = (unsigned char)(0xc0 | (c >> 6));
    u[1] = (unsigned char)(0x80 | (c & 0x3f));
    fr__kv_put(k, u, 2);
}

static void fr__kv_put_fffd(fr__kv_sink *k) { fr__kv_put(k, "\xef\xbf\xbd", 3); }

/* ---- query decoding ----
 *
 * unquote_plus() splits its text into runs of ASCII characters and decodes
 * the bytes of each run (literal, '+' as a space, or %XX) as UTF-8 with
 * errors="replace"; a character >= 0x80 (a raw Latin-1 byte here) ends a
 * run and stands for itself. */

/* The unit at s[i]: *byte is its value, *lit is 1 for a raw byte >= 0x80.
 * Returns the index after it. */
static size_t fr__kv_unit(const char *s, size_t len, size_t i, unsigned *byte, int *lit) {
    unsigned c = (unsigned char)s[i];
    *lit = c >= 0x80;
    if (c == '%' && len - i > 2 && fr__hexval((unsigned char)s[i + 1]) >= 0 &&
        fr__hexval((unsigned char)s[i + 2]) >= 0) {
        *byte = (unsigned)(fr__hexval((unsigned char)s[i + 1]) * 16 +
                           fr__hexval((unsigned char)s[i + 2]));
        return i + 3;
    }
    *byte = c == '+' ? ' ' : c;
    return i + 1;
}

/* The UTF-8 sequence whose lead byte (>= 0x80, from an escape) is the unit
 * at s[i]: copied when it is complete and valid, else one U+FFFD for its
 * longest valid prefix -- the "maximal subpart" rule of Python's
 * errors="replace". Returns the index of the first unit not consumed. */
static size_t fr__kv_utf8(const char *s, size_t len, size_t i, fr__kv_sink *k) {
    unsigned char seq[4];
    unsigned b, lo = 0x80, hi = 0xbf;
    size_t n = 1, need, j;
    int lit;
    j = fr__kv_unit(s, len, i, &b, &lit);
    seq[0] = (unsigned char)b;
    if (b >= 0xc2 && b <= 0xdf) {
        need = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        need = 3;
        if (b == 0xe0) lo = 0xa0; /* no overlongs */
        if (b == 0xed) hi = 0x9f; /* no surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 4;
        if (b == 0xf0) lo = 0x90; /* no overlongs */
        if (b == 0xf4) hi = 0x8f; /* nothing above U+10FFFF */
    } else {
        fr__kv_put_fffd(k); /* continuation byte, C0, C1, F5..FF */
        return j;
    }
    while (n < need && j < len) {
        size_t next = fr__kv_unit(s, len, j, &b, &lit);
        if (lit || b < lo || b > hi) break;
        seq[n++] = (unsigned char)b;
        lo = 0x80;
        hi = 0xbf;
        j = next;
    }
    if (n == need) fr__kv_put(k, seq, n);
    else fr__kv_put_fffd(k);
    return j;
}

static void fr__kv_decode_query(fr_str raw, fr__kv_sink *k) {
    size_t i = 0;
    while (i < raw.len && !k->fail) {
        unsigned b;
        int lit;
        size_t next = fr__kv_unit(raw.buf, raw.len, i, &b, &lit);
        if (lit) {
            fr__kv_put_latin1(k, b);
        } else if (b >= 0x80) {
            next = fr__kv_utf8(raw.buf, raw.len, i, k);
        } else {
            unsigned char c = (unsigned char)b;
            fr__kv_put(k, &c, 1);
        }
        i = next;
    }
}

/* ---- cookie decoding ---- */

static void fr__kv_decode_latin1(fr_str raw, fr__kv_sink *k) {
    size_t i;
    for (i = 0; i < raw.len && !k->fail; i++) fr__kv_put_latin1(k, (unsigned char)raw.buf[i]);
}

static int fr__kv_octal(unsigned c) { return c >= '0' && c <= '7'; }

/* http.cookies._unquote: only a value wrapped in double quotes is touched;
 * inside, \ooo (first digit 0-3) is that character and a backslash before
 * anything but a newline (regex '.') stands for the next character. */
static void fr__kv_decode_cookie(fr_str raw, fr__kv_sink *k) {
    const unsigned char *s = (const unsigned char *)raw.buf;
    size_t i = 0, n = raw.len;
    if (n < 2 || s[0] != '"' || s[n - 1] != '"') {
        fr__kv_decode_latin1(raw, k);
        return;
    }
    s++;
    n -= 2;
    while (i < n && !k->fail) {
        if (s[i] == '\\' && n - i > 3 && s[i + 1] >= '0' && s[i + 1] <= '3' &&
            fr__kv_octal(s[i + 2]) && fr__kv_octal(s[i + 3])) {
            fr__kv_put_latin1(k, (unsigned)((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
                                            (s[i + 3] - '0')));
            i += 4;
        } else if (s[i] == '\\' && n - i > 1 && s[i + 1] != '\n') {
            fr__kv_put_latin1(k, s[i + 1]);
            i += 2;
        } else {
            fr__kv_put_latin1(k, s[i]);
            i++;
        }
    }
}

/* Run the decoder for `kind` (is_key: a cookie name is not unquoted). */
static int fr__kv_run(int kind, int is_key, fr_str raw, fr__kv_sink *k) {
    if (!raw.buf) raw.len = 0;
    if (kind == FR_KV_QUERY) fr__kv_decode_query(raw, k);
    else if (kind == FR_KV_COOKIE && is_key) fr__kv_decode_latin1(raw, k);
    else if (kind == FR_KV_COOKIE) fr__kv_decode_cookie(raw, k);
    else return -1;
    return k->fail ? -1 : 0;
}

static long fr__kv_decode_into(int kind, int is_key, fr_str raw, char *dst, size_t cap) {
    fr__kv_sink k;
    memset(&k, 0, sizeof k);
    k.dst = dst;
    k.cap = dst ? cap : 0;
    if (fr__kv_run(kind, is_key, raw, &k) < 0 || k.len > (size_t)LONG_MAX) return -1;
    return (long)k.len;
}

long fr_kv_decode(int kind, fr_str raw, char *dst, size_t cap) {
    return fr__kv_decode_into(kind, 0, raw, dst, cap);
}

long fr_kv_decode_key(int kind, fr_str raw, char *dst, size_t cap) {
    return fr__kv_decode_into(kind, 1, raw, dst, cap);
}

int fr_kv_key_eq(int kind, fr_str raw, fr_str key) {
    fr__kv_sink k;
    memset(&k, 0, sizeof k);
    k.cmp = key.buf ? key.buf : "";
    k.cap = key.buf ? key.len : 0;
    return fr__kv_run(kind, 1, raw, &k) == 0 && k.len == k.cap;
}

/* ---- iteration ---- */

void fr_kv_iter_init(fr_kv_iter *it, fr_str src, int kind) {
    if (!it) return;
    it->buf = src.buf;
    it->len = src.buf ? src.len : 0;
    it->pos = 0;
    it->kind = kind;
}

static fr_str fr__kv_trim(const char *b, const char *e) {
    fr_str s;
    while (b < e && fr__py_space((unsigned char)*b)) b++;
    while (e > b && fr__py_space((unsigned char)e[-1])) e--;
    s.buf = b;
    s.len = (size_t)(e - b);
    return s;
}

int fr_kv_next(fr_kv_iter *it, fr_str *key, fr_str *value) {
    char sep;
    if (!it || (it->kind != FR_KV_QUERY && it->kind != FR_KV_COOKIE)) return 0;
    sep = it->kind == FR_KV_COOKIE ? ';' : '&';
    while (it->pos < it->len) {
        const char *p = it->buf + it->pos, *end = it->buf + it->len, *e, *eq;
        fr_str k, v;
        e = (const char *)memchr(p, sep, (size_t)(end - p));
        if (!e) e = end;
        it->pos = (size_t)(e - it->buf) + (e < end);
        eq = (const char *)memchr(p, '=', (size_t)(e - p));
        if (it->kind == FR_KV_QUERY) {
            if (e == p) continue; /* empty part */
            k.buf = p;
            k.len = (size_t)((eq ? eq : e) - p);
            v.buf = eq ? eq + 1 : e;
            v.len = eq ? (size_t)(e - (eq + 1)) : 0;
        } else {
            if (eq) {
                k = fr__kv_trim(p, eq);
                v = fr__kv_trim(eq + 1, e);
            } else {
                k.buf = p; /* a bare value has the empty name */
                k.len = 0;
                v = fr__kv_trim(p, e);
            }
            if (k.len == 0 && v.len == 0) continue;
        }
        if (key) *key = k;
        if (value) *value = v;
        return 1;
    }
    return 0;
}

/* ---- lookups ---- */

int fr_kv_find(fr_str src, int kind, fr_str key, int which, fr_str *raw_value) {
    fr_kv_iter it;
    fr_str k, v;
    int found = 0;
    fr_kv_iter_init(&it, src, kind);
    while (fr_kv_next(&it, &k, &v)) {
        if (!fr_kv_key_eq(kind, k, key)) continue;
        found = 1;
        if (raw_value) *raw_value = v;
        if (which == FR_KV_FIRST) break;
    }
    return found;
}

size_t fr_kv_count(fr_str src, int kind, fr_str key) {
    fr_kv_iter it;
    fr_str k;
    size_t n = 0;
    fr_kv_iter_init(&it, src, kind);
    while (fr_kv_next(&it, &k, NULL)) n += (size_t)fr_kv_key_eq(kind, k, key);
    return n;
}
