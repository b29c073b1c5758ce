/* ---- middleware.c: Starlette's built-in middlewares (see middleware.h) ---- */
#include "internal.h"

#include <unistd.h> /* pread, read: a filtered fr_res_file */
#include <time.h>   /* time: session cookie timestamps */
#include <fcntl.h>  /* open: /dev/urandom for request ids */
#include <pthread.h> /* the lock of a streamed capture */

#if FR_ENABLE_ZLIB
#include <zlib.h>
#endif

/* ---- small helpers ---- */

/* Python's str.lower() on a Latin-1 character. */
static unsigned fr__mw_lower(unsigned c) {
    return ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7)) ? c + 32 : c;
}

static int fr__mw_ieq(fr_str a, fr_str b) {
    size_t i;
    if (a.len != b.len) return 0;
    for (i = 0; i < a.len; i++)
        if (fr__mw_lower((unsigned char)a.buf[i]) != fr__mw_lower((unsigned char)b.buf[i]))
            return 0;
    return 1;
}

static int fr__mw_eq(fr_str a, fr_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.buf, b.buf, a.len) == 0);
}

static fr_str fr__mw_s(const char *p, size_t n) {
    fr_str s;
    s.buf = p;
    s.len = n;
    return s;
}

static int fr__mw_alnum(unsigned c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static fr_str fr__mw_c(const char *cstr) { return fr__mw_s(cstr, strlen(cstr)); }

/* Python's str.strip() on Latin-1 text. */
static fr_str fr__mw_strip(fr_str s) {
    while (s.len && fr__py_space((unsigned char)s.buf[0])) s.buf++, s.len--;
    while (s.len && fr__py_space((unsigned char)s.buf[s.len - 1])) s.len--;
    return s;
}

/* Concatenate up to 8 pieces into the arena (NUL-terminated). */
static fr_str fr__mw_cat(fr_arena *a, const fr_str *parts, size_t n, int *fail) {
    size_t i, total = 0, o = 0;
    char *p;
    fr_str r = {NULL, 0};
    for (i = 0; i < n; i++) {
        if (parts[i].len > SIZE_MAX / 2 - total) {
            *fail = 1;
            return r;
        }
        total += parts[i].len;
    }
    if (!a || !(p = (char *)fr_arena_alloc(a, total + 1))) {
        *fail = 1;
        return r;
    }
    for (i = 0; i < n; i++) {
        if (parts[i].len) memcpy(p + o, parts[i].buf, parts[i].len);
        o += parts[i].len;
    }
    p[o] = 0;
    r.buf = p;
    r.len = total;
    return r;
}

/* A copy of s in the arena (an empty view stays non-NULL). */
static fr_str fr__mw_dup(fr_arena *a, fr_str s, int *fail) { return fr__mw_cat(a, &s, 1, fail); }

/* ", ".join(items) into the arena. */
static fr_str fr__mw_join(fr_arena *a, const fr_str *items, size_t n, int *fail) {
    size_t i, total = 0, o = 0;
    char *p;
    fr_str r = {NULL, 0};
    for (i = 0; i < n; i++) {
        if (items[i].len > SIZE_MAX / 4 - total) {
            *fail = 1;
            return r;
        }
        total += items[i].len + (i ? 2 : 0);
    }
    if (!a || !(p = (char *)fr_arena_alloc(a, total + 1))) {
        *fail = 1;
        return r;
    }
    for (i = 0; i < n; i++) {
        if (i) memcpy(p + o, ", ", 2), o += 2;
        if (items[i].len) memcpy(p + o, items[i].buf, items[i].len);
        o += items[i].len;
    }
    p[o] = 0;
    r.buf = p;
    r.len = o;
    return r;
}

/* Decimal text of v in the arena. */
static fr_str fr__mw_i64(fr_arena *a, int64_t v, int *fail) {
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    return fr__mw_dup(a, fr__mw_s(tmp, (size_t)n), fail);
}

/* Strict UTF-8 (what bytes.decode() accepts). */
static int fr__mw_utf8_ok(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k, need;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) need = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef) need = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4) need = 3, cp = c & 0x07, min = 0x10000;
        else return 0;
        if (n - i <= need) return 0;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += need + 1;
    }
    return 1;
}

/* ---- header list (MutableHeaders) ---- */

void fr_hlist_init(fr_hlist *h, fr_arena *arena) {
    if (!h) return;
    h->items = NULL;
    h->len = h->cap = 0;
    h->arena = arena;
}

static int fr__hl_grow(fr_hlist *h) {
    size_t ncap;
    fr_header *n;
    if (h->len < h->cap) return 0;
    if (!h->arena) return -1;
    ncap = h->cap ? h->cap * 2 : 8;
    if (ncap < h->len + 1 || ncap > SIZE_MAX / sizeof *n) return -1;
    n = (fr_header *)fr_arena_alloc(h->arena, ncap * sizeof *n);
    if (!n) return -1;
    if (h->len) memcpy(n, h->items, h->len * sizeof *n);
    h->items = n;
    h->cap = ncap;
    return 0;
}

/* The lowercase form of a name: the name itself when already lowercase,
 * else a lowercased copy in the arena. */
static int fr__hl_name(fr_hlist *h, fr_str name, fr_str *out) {
    size_t i = 0;
    char *p;
    for (; i + 8 <= name.len; i += 8) { /* no byte >= 0x80 and none in 'A'..'Z' */
        uint64_t x, hi = 0x8080808080808080ull;
        memcpy(&x, name.buf + i, 8);
        if ((x & hi) || ((x + 0x3f3f3f3f3f3f3f3full) & ~(x + 0x2525252525252525ull) & hi)) break;
    }
    for (; i < name.len; i++)
        if (fr__mw_lower((unsigned char)name.buf[i]) != (unsigned char)name.buf[i]) break;
    if (i == name.len) {
        *out = name;
        return 0;
    }
    if (!h->arena || !(p = (char *)fr_arena_alloc(h->arena, name.len + 1))) return -1;
    for (i = 0; i < name.len; i++) p[i] = (char)fr__mw_lower((unsigned char)name.buf[i]);
    p[name.len] = 0;
    out->buf = p;
    out->len = name.len;
    return 0;
}

int fr_hlist_append(fr_hlist *h, fr_str name, fr_str value) {
    fr_str lname;
    if (!h || (!name.buf && name.len) || (!value.buf && value.len)) return FR_MW_ERROR;
    if (fr__hl_name(h, name, &lname) < 0 || fr__hl_grow(h) < 0) return FR_MW_ERROR;
    if (!value.buf) value.buf = "";
    h->items[h->len].name = lname;
    h->items[h->len].value = value;
    h->len++;
    return 0;
}

int fr_hlist_set(fr_hlist *h, fr_str name, fr_str value) {
    size_t i, o, first = SIZE_MAX;
    fr_str lname;
    if (!h || (!name.buf && name.len) || (!value.buf && value.len)) return FR_MW_ERROR;
    if (fr__hl_name(h, name, &lname) < 0) return FR_MW_ERROR;
    if (!value.buf) value.buf = "";
    for (i = 0; i < h->len; i++)
        if (fr__mw_ieq(h->items[i].name, name)) {
            first = i;
            break;
        }
    if (first == SIZE_MAX) {
        if (fr__hl_grow(h) < 0) return FR_MW_ERROR;
        h->items[h->len].name = lname;
        h->items[h->len].value = value;
        h->len++;
        return 0;
    }
    h->items[first].name = lname;
    h->items[first].value = value;
    for (i = o = first + 1; i < h->len; i++)
        if (!fr__mw_ieq(h->items[i].name, name)) h->items[o++] = h->items[i];
    h->len = o;
    return 0;
}

size_t fr_hlist_remove(fr_hlist *h, fr_str name) {
    size_t i, o, n;
    if (!h) return 0;
    for (i = o = 0; i < h->len; i++)
        if (!fr__mw_ieq(h->items[i].name, name)) h->items[o++] = h->items[i];
    n = h->len - o;
    h->len = o;
    return n;
}

fr_str fr_hlist_get(const fr_hlist *h, fr_str name) {
    size_t i;
    fr_str none = {NULL, 0};
    if (!h) return none;
    for (i = 0; i < h->len; i++)
        if (fr__mw_ieq(h->items[i].name, name)) return h->items[i].value;
    return none;
}

int fr_hlist_add_vary(fr_hlist *h, fr_str token) {
    size_t i, n = 0, k = 0;
    fr_str *parts, joined;
    int fail = 0;
    static const fr_str vary = {"vary", 4};
    if (!h || !h->arena || (!token.buf && token.len)) return FR_MW_ERROR;
    for (i = 0; i < h->len; i++)
        if (fr__mw_ieq(h->items[i].name, vary)) n++;
    parts = (fr_str *)fr_arena_alloc(h->arena, (n + 1) * sizeof *parts);
    if (!parts) return FR_MW_ERROR;
    for (i = 0; i < h->len; i++)
        if (fr__mw_ieq(h->items[i].name, vary)) parts[k++] = h->items[i].value;
    parts[k++] = token;
    joined = fr__mw_join(h->arena, parts, k, &fail);
    if (fail) return FR_MW_ERROR;
    return fr_hlist_set(h, vary, joined);
}

/* A PlainTextResponse(body, status) answer. */
static int fr__mw_text_answer(fr_arena *a, fr_mw_answer *out, int status, fr_str body) {
    int fail = 0;
    fr_str len = fr__mw_i64(a, (int64_t)body.len, &fail);
    if (fail) return FR_MW_ERROR;
    fr_hlist_init(&out->headers, a);
    out->status = status;
    out->body = body;
    if (fr_hlist_append(&out->headers, FR_STR("content-length"), len) < 0 ||
        fr_hlist_append(&out->headers, FR_STR("content-type"),
                        FR_STR("text/plain; charset=utf-8")) < 0)
        return FR_MW_ERROR;
    return 0;
}

static void fr__mw_answer_clear(fr_mw_answer *out, fr_arena *a) {
    out->status = 0;
    out->body.buf = NULL;
    out->body.len = 0;
    fr_hlist_init(&out->headers, a);
}

/* ---- regex subset for allow_origin_regex (see middleware.h) ----
 *
 * The pattern is parsed with the rules of CPython's re._parser (the
 * supported part), every character matcher becomes a 256-bit set over the
 * Latin-1 text of the header (a character above U+00FF can never match),
 * and the tree is compiled into a Thompson NFA run as a Pike VM without
 * captures: a boolean re.fullmatch in O(len * program) time. */

#define FR__RX_MAX_INSNS 4096
#define FR__RX_MAX_REPEAT 1000
#define FR__RX_MAX_DEPTH 64

enum { FR__RX_SET, FR__RX_SPLIT, FR__RX_JMP, FR__RX_BOS, FR__RX_EOL, FR__RX_EOS, FR__RX_MATCH };

typedef struct fr__rx_insn {
    int op;
    int x, y;            /* SPLIT: both branches; JMP: x */
    const uint8_t *bits; /* SET: 32 bytes */
} fr__rx_insn;

typedef struct fr__rx {
    fr__rx_insn *prog;
    int n;
} fr__rx;

enum { FR__RN_SET, FR__RN_CAT, FR__RN_ALT, FR__RN_REP, FR__RN_BOS, FR__RN_EOL, FR__RN_EOS };

typedef struct fr__rn {
    int kind;
    int min, max; /* REP; max -1 = unbounded */
    uint8_t *bits;
    struct fr__rn *kid, *next; /* CAT/ALT: children list; REP: kid */
} fr__rn;

typedef struct fr__rxp {
    const unsigned char *p;
    size_t n, i;
    fr_arena *a;
    const char *err;
    size_t errpos;
    int depth;
    int oom;
} fr__rxp;

static void fr__rx_fail(fr__rxp *P, const char *msg, size_t pos) {
    if (!P->err) {
        P->err = msg;
        P->errpos = pos;
    }
}

static fr__rn *fr__rx_new(fr__rxp *P, int kind) {
    fr__rn *r = (fr__rn *)fr_arena_alloc(P->a, sizeof *r);
    if (!r) {
        P->oom = 1;
        fr__rx_fail(P, "out of memory", P->i);
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->kind = kind;
    if (kind == FR__RN_SET) {
        r->bits = (uint8_t *)fr_arena_alloc(P->a, 32);
        if (!r->bits) {
            P->oom = 1;
            fr__rx_fail(P, "out of memory", P->i);
            return NULL;
        }
        memset(r->bits, 0, 32);
    }
    return r;
}

static void fr__rx_bit(uint8_t *bits, unsigned long lo, unsigned long hi) {
    unsigned long c;
    if (hi > 255) hi = 255;
    for (c = lo; c <= hi; c++) bits[c >> 3] |= (uint8_t)(1u << (c & 7));
}

/* \d \s \w over Latin-1, as Python's Unicode categories give them. */
static void fr__rx_category(uint8_t *bits, int cat) {
    uint8_t t[32];
    int i, neg = cat >= 'A' && cat <= 'Z';
    memset(t, 0, sizeof t);
    switch (cat | 0x20) {
    case 'd':
        fr__rx_bit(t, '0', '9');
        break;
    case 's':
        fr__rx_bit(t, 0x09, 0x0d), fr__rx_bit(t, 0x1c, 0x20), fr__rx_bit(t, 0x85, 0x85);
        fr__rx_bit(t, 0xa0, 0xa0);
        break;
    default: /* w */
        fr__rx_bit(t, '0', '9'), fr__rx_bit(t, 'A', 'Z'), fr__rx_bit(t, '_', '_');
        fr__rx_bit(t, 'a', 'z'), fr__rx_bit(t, 0xaa, 0xaa), fr__rx_bit(t, 0xb2, 0xb3);
        fr__rx_bit(t, 0xb5, 0xb5), fr__rx_bit(t, 0xb9, 0xba), fr__rx_bit(t, 0xbc, 0xbe);
        fr__rx_bit(t, 0xc0, 0xd6), fr__rx_bit(t, 0xd8, 0xf6), fr__rx_bit(t, 0xf8, 0xff);
        break;
    }
    for (i = 0; i < 32; i++) bits[i] |= (uint8_t)(neg ? ~t[i] : t[i]);
}

/* Next code point of the (UTF-8) pattern; -1 at the end or on bad UTF-8. */
static long fr__rx_get(fr__rxp *P) {
    unsigned c, cp, k, need;
    if (P->i >= P->n) return -1;
    c = P->p[P->i];
    if (c < 0x80) {
        P->i++;
        return (long)c;
    }
    if (c >= 0xc2 && c <= 0xdf) need = 1, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef) need = 2, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4) need = 3, cp = c & 0x07;
    else {
        fr__rx_fail(P, "pattern is not UTF-8", P->i);
        return -1;
    }
    if (!fr__mw_utf8_ok(P->p + P->i, P->n - P->i < need + 1 ? P->n - P->i : need + 1)) {
        fr__rx_fail(P, "pattern is not UTF-8", P->i);
        return -1;
    }
    for (k = 1; k <= need; k++) cp = (cp << 6) | (P->p[P->i + k] & 0x3f);
    P->i += need + 1;
    return (long)cp;
}

static int fr__rx_peek(const fr__rxp *P) { return P->i < P->n ? P->p[P->i] : -1; }

/* Exactly `count` hex digits -> value; -1 (error set) otherwise. */
static long fr__rx_hex(fr__rxp *P, int count, size_t at) {
    long v = 0;
    int k;
    for (k = 0; k < count; k++) {
        int d = P->i < P->n ? fr__hexval(P->p[P->i]) : -1;
        if (d < 0) {
            fr__rx_fail(P, "incomplete escape", at);
            return -1;
        }
        v = v * 16 + d;
        P->i++;
    }
    return v;
}

/* Is there a {m}, {m,}, {,n}, {m,n} quantifier at P->i (which holds '{')?
 * Python's rule: "{}" and anything not closed by '}' is a literal '{'. */
static int fr__rx_brace(const fr__rxp *P, long *min, long *max, size_t *end) {
    size_t i = P->i + 1, lo_at, hi_at;
    long lo = 0, hi = 0;
    int have_lo = 0, have_hi = 0, comma = 0;
    if (i < P->n && P->p[i] == '}') return 0;
    lo_at = i;
    while (i < P->n && P->p[i] >= '0' && P->p[i] <= '9') {
        if (lo <= 100000) lo = lo * 10 + (P->p[i] - '0');
        i++;
    }
    have_lo = i > lo_at;
    if (i < P->n && P->p[i] == ',') {
        comma = 1;
        i++;
        hi_at = i;
        while (i < P->n && P->p[i] >= '0' && P->p[i] <= '9') {
            if (hi <= 100000) hi = hi * 10 + (P->p[i] - '0');
            i++;
        }
        have_hi = i > hi_at;
    }
    if (i >= P->n || P->p[i] != '}') return 0;
    *min = have_lo ? lo : 0;
    if (comma) *max = have_hi ? hi : -1;
    else *max = have_lo ? lo : -1;
    *end = i + 1;
    return 1;
}

static int fr__rx_is_quant(const fr__rxp *P) {
    long a, b;
    size_t e;
    int c = fr__rx_peek(P);
    return c == '*' || c == '+' || c == '?' || (c == '{' && fr__rx_brace(P, &a, &b, &e));
}

/* One class item: a literal code point (*cp) or a category (returns 2). */
static int fr__rx_class_escape(fr__rxp *P, long *cp, uint8_t *cat_bits) {
    size_t at = P->i - 1;
    long e = fr__rx_get(P);
    switch (e) {
    case -1:
        fr__rx_fail(P, "bad escape (end of pattern)", at);
        return -1;
    case 'a': *cp = 7; return 1;
    case 'b': *cp = 8; return 1;
    case 'f': *cp = 12; return 1;
    case 'n': *cp = 10; return 1;
    case 'r': *cp = 13; return 1;
    case 't': *cp = 9; return 1;
    case 'v': *cp = 11; return 1;
    case 'd': case 'D': case 's': case 'S': case 'w': case 'W':
        memset(cat_bits, 0, 32);
        fr__rx_category(cat_bits, (int)e);
        return 2;
    case 'x': *cp = fr__rx_hex(P, 2, at); return *cp < 0 ? -1 : 1;
    case 'u': *cp = fr__rx_hex(P, 4, at); return *cp < 0 ? -1 : 1;
    case 'U':
        *cp = fr__rx_hex(P, 8, at);
        if (*cp > 0x10ffff) fr__rx_fail(P, "bad escape", at);
        return *cp < 0 || *cp > 0x10ffff ? -1 : 1;
    case 'N':
        fr__rx_fail(P, "\\N{...} is not supported", at);
        return -1;
    default:
        break;
    }
    if (e >= '0' && e <= '7') {
        long v = e - '0';
        int k;
        for (k = 0; k < 2 && P->i < P->n && P->p[P->i] >= '0' && P->p[P->i] <= '7'; k++)
            v = v * 8 + (P->p[P->i++] - '0');
        if (v > 0377) {
            fr__rx_fail(P, "octal escape value outside of range 0-0o377", at);
            return -1;
        }
        *cp = v;
        return 1;
    }
    if ((e >= '0' && e <= '9') || (e < 128 && ((e | 0x20) >= 'a' && (e | 0x20) <= 'z'))) {
        fr__rx_fail(P, "bad escape", at);
        return -1;
    }
    *cp = e;
    return 1;
}

/* Next class token: 1 literal (*cp), 2 category (cat_bits), 3 the closing
 * ']' candidate (an unescaped ']'), -1 error. */
static int fr__rx_class_token(fr__rxp *P, long *cp, uint8_t *cat_bits, size_t here) {
    long c = fr__rx_get(P);
    if (c < 0) {
        fr__rx_fail(P, "unterminated character set", here);
        return -1;
    }
    if (c == '\\') return fr__rx_class_escape(P, cp, cat_bits);
    *cp = c;
    return c == ']' ? 3 : 1;
}

static fr__rn *fr__rx_class(fr__rxp *P, size_t here) {
    fr__rn *r = fr__rx_new(P, FR__RN_SET);
    int negate = 0, items = 0, i;
    uint8_t cat1[32], cat2[32];
    if (!r) return NULL;
    if (fr__rx_peek(P) == '^') P->i++, negate = 1;
    for (;;) {
        long c1 = 0, c2 = 0;
        int t1 = fr__rx_class_token(P, &c1, cat1, here), t2;
        if (t1 < 0) return NULL;
        if (t1 == 3 && items) break;
        if (fr__rx_peek(P) == '-') {
            P->i++;
            t2 = fr__rx_class_token(P, &c2, cat2, here);
            if (t2 < 0) return NULL;
            if (t2 == 3) { /* "x-]": x and a literal '-' */
                if (t1 == 2) for (i = 0; i < 32; i++) r->bits[i] |= cat1[i];
                else if (c1 <= 255) fr__rx_bit(r->bits, (unsigned long)c1, (unsigned long)c1);
                fr__rx_bit(r->bits, '-', '-');
                items += 2;
                break;
            }
            if (t1 == 2 || t2 == 2 || c2 < c1) {
                fr__rx_fail(P, "bad character range", here);
                return NULL;
            }
            if (c1 <= 255) fr__rx_bit(r->bits, (unsigned long)c1, (unsigned long)c2);
            items++;
            continue;
        }
        if (t1 == 2) for (i = 0; i < 32; i++) r->bits[i] |= cat1[i];
        else if (c1 <= 255) fr__rx_bit(r->bits, (unsigned long)c1, (unsigned long)c1);
        items++;
    }
    if (negate)
        for (i = 0; i < 32; i++) r->bits[i] = (uint8_t)~r->bits[i];
    return r;
}

static fr__rn *fr__rx_alt(fr__rxp *P);

static fr__rn *fr__rx_literal(fr__rxp *P, long cp) {
    fr__rn *r = fr__rx_new(P, FR__RN_SET);
    if (r && cp >= 0 && cp <= 255) fr__rx_bit(r->bits, (unsigned long)cp, (unsigned long)cp);
    return r;
}

/* An atom; *anchor = 1 for ^ $ \A \Z (which cannot be repeated). */
static fr__rn *fr__rx_atom(fr__rxp *P, int *anchor) {
    size_t at = P->i;
    long c = fr__rx_get(P), e;
    fr__rn *r;
    *anchor = 0;
    if (c < 0) return NULL;
    switch (c) {
    case '(':
        if (fr__rx_peek(P) == '?') {
            if (P->i + 1 < P->n && P->p[P->i + 1] == ':') {
                P->i += 2;
            } else {
                fr__rx_fail(P, "only (?:...) groups are supported", at);
                return NULL;
            }
        }
        if (++P->depth > FR__RX_MAX_DEPTH) {
            fr__rx_fail(P, "groups nested too deeply", at);
            return NULL;
        }
        r = fr__rx_alt(P);
        P->depth--;
        if (!r) return NULL;
        if (fr__rx_peek(P) != ')') {
            fr__rx_fail(P, "missing ), unterminated subpattern", at);
            return NULL;
        }
        P->i++;
        return r;
    case '[':
        return fr__rx_class(P, at);
    case '.':
        r = fr__rx_new(P, FR__RN_SET);
        if (r) fr__rx_bit(r->bits, 0, 9), fr__rx_bit(r->bits, 11, 255);
        return r;
    case '^':
        *anchor = 1;
        return fr__rx_new(P, FR__RN_BOS);
    case '$':
        *anchor = 1;
        return fr__rx_new(P, FR__RN_EOL);
    case '\\':
        break;
    default:
        return fr__rx_literal(P, c);
    }
    e = fr__rx_get(P);
    switch (e) {
    case -1:
        fr__rx_fail(P, "bad escape (end of pattern)", at);
        return NULL;
    case 'A':
        *anchor = 1;
        return fr__rx_new(P, FR__RN_BOS);
    case 'Z':
        *anchor = 1;
        return fr__rx_new(P, FR__RN_EOS);
    case 'b': case 'B':
        fr__rx_fail(P, "\\b and \\B are not supported", at);
        return NULL;
    case 'a': return fr__rx_literal(P, 7);
    case 'f': return fr__rx_literal(P, 12);
    case 'n': return fr__rx_literal(P, 10);
    case 'r': return fr__rx_literal(P, 13);
    case 't': return fr__rx_literal(P, 9);
    case 'v': return fr__rx_literal(P, 11);
    case 'd': case 'D': case 's': case 'S': case 'w': case 'W':
        r = fr__rx_new(P, FR__RN_SET);
        if (r) fr__rx_category(r->bits, (int)e);
        return r;
    case 'x': e = fr__rx_hex(P, 2, at); return e < 0 ? NULL : fr__rx_literal(P, e);
    case 'u': e = fr__rx_hex(P, 4, at); return e < 0 ? NULL : fr__rx_literal(P, e);
    case 'U':
        e = fr__rx_hex(P, 8, at);
        if (e > 0x10ffff) fr__rx_fail(P, "bad escape", at);
        return e < 0 || e > 0x10ffff ? NULL : fr__rx_literal(P, e);
    default:
        break;
    }
    if (e >= '0' && e <= '9') {
        fr__rx_fail(P, "backreferences and octal escapes are not supported", at);
        return NULL;
    }
    if (e < 128 && (e | 0x20) >= 'a' && (e | 0x20) <= 'z') {
        fr__rx_fail(P, e == 'N' ? "\\N{...} is not supported" : "bad escape", at);
        return NULL;
    }
    return fr__rx_literal(P, e);
}

/* A sequence up to '|' or ')' or the end. */
static fr__rn *fr__rx_seq(fr__rxp *P) {
    fr__rn *cat = fr__rx_new(P, FR__RN_CAT), *tail = NULL;
    if (!cat) return NULL;
    for (;;) {
        int c = fr__rx_peek(P), anchor;
        size_t at = P->i;
        fr__rn *atom;
        if (c < 0 || c == '|' || c == ')') break;
        if (fr__rx_is_quant(P)) {
            fr__rx_fail(P, "nothing to repeat", at);
            return NULL;
        }
        atom = fr__rx_atom(P, &anchor);
        if (!atom) {
            fr__rx_fail(P, "bad pattern", at);
            return NULL;
        }
        if (fr__rx_is_quant(P)) {
            long min = 0, max = -1;
            size_t end, qat = P->i;
            fr__rn *rep;
            c = fr__rx_peek(P);
            if (anchor) {
                fr__rx_fail(P, "nothing to repeat", qat);
                return NULL;
            }
            if (c == '{') {
                fr__rx_brace(P, &min, &max, &end);
                P->i = end;
                if (max >= 0 && max < min) {
                    fr__rx_fail(P, "min repeat greater than max repeat", qat);
                    return NULL;
                }
                if (min > FR__RX_MAX_REPEAT || max > FR__RX_MAX_REPEAT) {
                    fr__rx_fail(P, "repeat count above 1000", qat);
                    return NULL;
                }
            } else {
                P->i++;
                min = c == '+';
                max = c == '?' ? 1 : -1;
            }
            if (fr__rx_peek(P) == '?') {
                P->i++; /* lazy: the same language */
            } else if (fr__rx_peek(P) == '+') {
                fr__rx_fail(P, "possessive quantifiers are not supported", P->i);
                return NULL;
            }
            if (fr__rx_is_quant(P)) {
                fr__rx_fail(P, "multiple repeat", P->i);
                return NULL;
            }
            if (!(rep = fr__rx_new(P, FR__RN_REP))) return NULL;
            rep->min = (int)min;
            rep->max = (int)max;
            rep->kid = atom;
            atom = rep;
        }
        if (tail) tail->next = atom;
        else cat->kid = atom;
        tail = atom;
    }
    return cat;
}

static fr__rn *fr__rx_alt(fr__rxp *P) {
    fr__rn *alt = fr__rx_new(P, FR__RN_ALT), *tail = NULL;
    if (!alt) return NULL;
    for (;;) {
        fr__rn *s = fr__rx_seq(P);
        if (!s) return NULL;
        if (tail) tail->next = s;
        else alt->kid = s;
        tail = s;
        if (fr__rx_peek(P) != '|') break;
        P->i++;
    }
    return alt;
}

typedef struct fr__rxc {
    fr__rx_insn *prog;
    int n;
    int overflow;
} fr__rxc;

static int fr__rx_emit(fr__rxc *C, int op, int x, int y, const uint8_t *bits) {
    if (C->n >= FR__RX_MAX_INSNS) {
        C->overflow = 1;
        return 0;
    }
    C->prog[C->n].op = op;
    C->prog[C->n].x = x;
    C->prog[C->n].y = y;
    C->prog[C->n].bits = bits;
    return C->n++;
}

static void fr__rx_gen(fr__rxc *C, const fr__rn *r) {
    const fr__rn *k;
    int i, pc, loop;
    if (C->overflow) return;
    switch (r->kind) {
    case FR__RN_SET:
        fr__rx_emit(C, FR__RX_SET, 0, 0, r->bits);
        break;
    case FR__RN_BOS:
        fr__rx_emit(C, FR__RX_BOS, 0, 0, NULL);
        break;
    case FR__RN_EOL:
        fr__rx_emit(C, FR__RX_EOL, 0, 0, NULL);
        break;
    case FR__RN_EOS:
        fr__rx_emit(C, FR__RX_EOS, 0, 0, NULL);
        break;
    case FR__RN_CAT:
        for (k = r->kid; k && !C->overflow; k = k->next) fr__rx_gen(C, k);
        break;
    case FR__RN_ALT: {
        /* SPLIT a, next; a...; JMP end; next: SPLIT b, next2; ... last */
        int jumps_head = -1; /* chain of JMPs to patch through their y field */
        for (k = r->kid; k && !C->overflow; k = k->next) {
            if (k->next) {
                int split = fr__rx_emit(C, FR__RX_SPLIT, 0, 0, NULL), j;
                if (C->overflow) return;
                C->prog[split].x = C->n;
                fr__rx_gen(C, k);
                j = fr__rx_emit(C, FR__RX_JMP, 0, jumps_head, NULL);
                if (C->overflow) return;
                jumps_head = j;
                C->prog[split].y = C->n;
            } else {
                fr__rx_gen(C, k);
            }
        }
        if (C->overflow) return;
        while (jumps_head >= 0) {
            int next = C->prog[jumps_head].y;
            C->prog[jumps_head].x = C->n;
            C->prog[jumps_head].y = 0;
            jumps_head = next;
        }
        break;
    }
    default: /* REP */
        for (i = 0; i < r->min && !C->overflow; i++) fr__rx_gen(C, r->kid);
        if (r->max < 0) {
            loop = fr__rx_emit(C, FR__RX_SPLIT, 0, 0, NULL);
            if (C->overflow) return;
            C->prog[loop].x = C->n;
            fr__rx_gen(C, r->kid);
            fr__rx_emit(C, FR__RX_JMP, loop, 0, NULL);
            if (C->overflow) return;
            C->prog[loop].y = C->n;
        } else {
            /* optional copies: SPLIT(copy, end) before each; the pending
             * SPLITs carry y = -1 until the end is known (every SPLIT the
             * copies contain is already patched when their gen returns) */
            int first = -1;
            for (i = r->min; i < r->max && !C->overflow; i++) {
                pc = fr__rx_emit(C, FR__RX_SPLIT, 0, -1, NULL);
                if (C->overflow) return;
                C->prog[pc].x = C->n;
                if (first < 0) first = pc;
                fr__rx_gen(C, r->kid);
            }
            if (C->overflow) return;
            for (pc = first; pc >= 0 && pc < C->n; pc++)
                if (C->prog[pc].op == FR__RX_SPLIT && C->prog[pc].y == -1) C->prog[pc].y = C->n;
        }
        break;
    }
}

/* Compile `pat` into the arena; NULL with err->msg / err->pos when refused. */
static fr__rx *fr__rx_compile(fr_str pat, fr_arena *a, fr_err *err) {
    fr__rxp P;
    fr__rxc C;
    fr__rn *root;
    fr__rx *rx;
    memset(&P, 0, sizeof P);
    P.p = (const unsigned char *)pat.buf;
    P.n = pat.len;
    P.a = a;
    root = fr__rx_alt(&P);
    if (root && P.i < P.n) fr__rx_fail(&P, "unbalanced parenthesis", P.i);
    if (!P.err && !root) fr__rx_fail(&P, "bad pattern", P.i);
    if (P.err) {
        if (err) {
            err->code = P.oom ? -1 : 400;
            err->msg = P.err;
            err->pos = P.errpos;
        }
        return NULL;
    }
    memset(&C, 0, sizeof C);
    C.prog = (fr__rx_insn *)fr_arena_alloc(a, FR__RX_MAX_INSNS * sizeof *C.prog);
    rx = (fr__rx *)fr_arena_alloc(a, sizeof *rx);
    if (!C.prog || !rx) {
        if (err) err->code = -1, err->msg = "out of memory", err->pos = 0;
        return NULL;
    }
    fr__rx_gen(&C, root);
    fr__rx_emit(&C, FR__RX_MATCH, 0, 0, NULL);
    if (C.overflow) {
        if (err) {
            err->code = 400;
            err->msg = "pattern too large (over 4096 instructions)";
            err->pos = 0;
        }
        return NULL;
    }
    rx->prog = C.prog;
    rx->n = C.n;
    return rx;
}

typedef struct fr__rx_list {
    uint16_t *dense, *sparse;
    int count;
} fr__rx_list;

/* Add pc and its epsilon closure at position pos. */
static void fr__rx_add(const fr__rx *rx, fr__rx_list *l, uint16_t *stack, int pc,
                       const unsigned char *s, size_t n, size_t pos) {
    int sp = 0;
    stack[sp++] = (uint16_t)pc;
    while (sp) {
        const fr__rx_insn *in;
        pc = stack[--sp];
        if (l->sparse[pc] < l->count && l->dense[l->sparse[pc]] == pc) continue;
        l->sparse[pc] = (uint16_t)l->count;
        l->dense[l->count++] = (uint16_t)pc;
        in = &rx->prog[pc];
        switch (in->op) {
        case FR__RX_JMP:
            stack[sp++] = (uint16_t)in->x;
            break;
        case FR__RX_SPLIT:
            stack[sp++] = (uint16_t)in->y;
            stack[sp++] = (uint16_t)in->x;
            break;
        case FR__RX_BOS:
            if (pos == 0) stack[sp++] = (uint16_t)(pc + 1);
            break;
        case FR__RX_EOL:
            if (pos == n || (pos + 1 == n && s[pos] == '\n')) stack[sp++] = (uint16_t)(pc + 1);
            break;
        case FR__RX_EOS:
            if (pos == n) stack[sp++] = (uint16_t)(pc + 1);
            break;
        default:
            break;
        }
    }
}

/* re.fullmatch: 1 / 0, -1 on OOM. */
static int fr__rx_match(const fr__rx *rx, const unsigned char *s, size_t n) {
    uint16_t local[7 * 256];
    uint16_t *mem = local, *stack;
    fr__rx_list cur, nxt, tmp;
    size_t m = (size_t)rx->n, pos;
    int i, found = 0;
    if (m > 256) {
        mem = (uint16_t *)FR_MALLOC(7 * m * sizeof *mem);
        if (!mem) return -1;
    }
    memset(mem, 0, 7 * m * sizeof *mem);
    cur.dense = mem, cur.sparse = mem + m;
    nxt.dense = mem + 2 * m, nxt.sparse = mem + 3 * m;
    stack = mem + 4 * m; /* 2m + 1 slots at most are pushed per closure */
    cur.count = nxt.count = 0;
    fr__rx_add(rx, &cur, stack, 0, s, n, 0);
    for (pos = 0;; pos++) {
        if (pos == n) {
            for (i = 0; i < cur.count; i++)
                if (rx->prog[cur.dense[i]].op == FR__RX_MATCH) found = 1;
            break;
        }
        if (!cur.count) break;
        nxt.count = 0;
        for (i = 0; i < cur.count; i++) {
            const fr__rx_insn *in = &rx->prog[cur.dense[i]];
            if (in->op == FR__RX_SET && (in->bits[s[pos] >> 3] >> (s[pos] & 7) & 1))
                fr__rx_add(rx, &nxt, stack, cur.dense[i] + 1, s, n, pos + 1);
        }
        tmp = cur, cur = nxt, nxt = tmp;
    }
    if (mem != local) FR_FREE(mem);
    return found;
}

/* ---- hosts and URLs (starlette._utils.parse_host_header, URL, urllib) ---- */

static int fr__mw_hex(unsigned c) { return fr__hexval((int)c) >= 0; }

/* IPv4Address(s): four decimal octets, no leading zeros, each <= 255. */
static int fr__mw_ipv4_ok(fr_str s) {
    size_t i = 0, parts = 0;
    while (parts < 4) {
        size_t st = i;
        unsigned v = 0;
        while (i < s.len && s.buf[i] >= '0' && s.buf[i] <= '9') {
            if (i - st >= 3) return 0;
            v = v * 10 + (unsigned)(s.buf[i] - '0');
            i++;
        }
        if (i == st || v > 255 || (i - st > 1 && s.buf[st] == '0')) return 0;
        parts++;
        if (parts < 4) {
            if (i >= s.len || s.buf[i] != '.') return 0;
            i++;
        }
    }
    return i == s.len;
}

/* IPv6Address(s) of Python's ipaddress, scope id ("%zone") included. */
static int fr__mw_ipv6_ok(fr_str s) {
    fr_str part[10];
    size_t n = 0, i, st = 0, hi, lo, skip = 0;
    int have_skip = 0;
    const char *pct = s.len ? (const char *)memchr(s.buf, '%', s.len) : NULL;
    if (pct) { /* _split_scope_id: a non-empty zone without another '%' */
        size_t zl = s.len - (size_t)(pct - s.buf) - 1;
        if (!zl || memchr(pct + 1, '%', zl)) return 0;
        s.len = (size_t)(pct - s.buf);
    }
    if (s.len == 0 || memchr(s.buf, '/', s.len)) return 0;
    for (i = 0; i <= s.len; i++)
        if (i == s.len || s.buf[i] == ':') {
            if (n == 9) return 0; /* more than 9 parts even before IPv4 expansion */
            part[n++] = fr__mw_s(s.buf + st, i - st);
            st = i + 1;
        }
    if (n < 3) return 0;
    if (memchr(part[n - 1].buf, '.', part[n - 1].len)) {
        if (!fr__mw_ipv4_ok(part[n - 1])) return 0;
        part[n - 1] = fr__mw_s("0", 1); /* two hextets take its place */
        if (n == 9) return 0;
        part[n++] = fr__mw_s("0", 1);
    }
    if (n > 9) return 0;
    for (i = 1; i + 1 < n; i++)
        if (part[i].len == 0) {
            if (have_skip) return 0;
            have_skip = 1;
            skip = i;
        }
    if (have_skip) {
        hi = skip;
        lo = n - skip - 1;
        if (part[0].len == 0 && --hi) return 0;
        if (part[n - 1].len == 0 && --lo) return 0;
        if (hi + lo > 7) return 0;
    } else {
        if (n != 8 || part[0].len == 0 || part[n - 1].len == 0) return 0;
        hi = n;
        lo = 0;
    }
    for (i = 0; i < n; i++) {
        size_t k;
        int counted = i < hi || i >= n - lo;
        if (!counted) continue;
        if (part[i].len == 0 || part[i].len > 4) return 0;
        for (k = 0; k < part[i].len; k++)
            if (!fr__mw_hex((unsigned char)part[i].buf[k])) return 0;
    }
    return 1;
}

/* Characters of the Host regex's reg-name alternative (case-insensitive). */
static int fr__mw_regname(unsigned c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("._~%!$&'()*+,;=-", (int)c) != NULL);
}

int fr_mw_parse_host(fr_str v, fr_str *host, fr_str *port) {
    size_t i = 0, k;
    fr_str h, pt = {NULL, 0};
    if (!v.buf) return 0;
    if (v.len && v.buf[0] == '[') {
        const char *close = (const char *)memchr(v.buf, ']', v.len);
        fr_str in;
        int v6 = 1, colon = 0;
        if (!close) return 0;
        in = fr__mw_s(v.buf + 1, (size_t)(close - v.buf) - 1);
        /* [a-f0-9]*:[a-f0-9.:]+ */
        for (k = 0; k < in.len; k++) {
            unsigned c = (unsigned char)in.buf[k];
            if (c == ':') {
                if (!colon) colon = 1, i = k;
            } else if (!(fr__mw_hex(c) || (c == '.' && colon))) {
                v6 = 0;
                break;
            }
        }
        if (v6 && colon && i + 1 < in.len) {
            if (!fr__mw_ipv6_ok(in)) return 0;
        } else {
            /* (?-i:v)[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+ */
            if (in.len < 4 || in.buf[0] != 'v') return 0;
            for (k = 1; k < in.len && fr__mw_hex((unsigned char)in.buf[k]); k++) {
            }
            if (k == 1 || k >= in.len || in.buf[k] != '.' || k + 1 == in.len) return 0;
            for (k++; k < in.len; k++) {
                unsigned c = (unsigned char)in.buf[k];
                if (!(c == ':' || (c != '%' && fr__mw_regname(c)))) return 0;
            }
        }
        i = (size_t)(close - v.buf) + 1;
    } else {
        while (i < v.len && fr__mw_regname((unsigned char)v.buf[i])) i++;
        if (i == 0) return 0;
    }
    h = fr__mw_s(v.buf, i);
    if (i < v.len) {
        if (v.buf[i] != ':' || i + 1 == v.len) return 0;
        for (k = i + 1; k < v.len; k++)
            if (v.buf[k] < '0' || v.buf[k] > '9') return 0;
        pt = fr__mw_s(v.buf + i + 1, v.len - i - 1);
    }
    if (host) *host = h;
    if (port) *port = pt;
    return 1;
}

/* ParsedHost.is_valid_port */
static int fr__mw_port_ok(fr_str port) {
    size_t i = 0;
    unsigned long v = 0;
    if (!port.buf) return 1;
    while (i < port.len && port.buf[i] == '0') i++;
    if (port.len - i > 5) return 0;
    for (; i < port.len; i++) v = v * 10 + (unsigned long)(port.buf[i] - '0');
    return v <= 65535;
}

static int fr__mw_default_port(fr_str scheme, int *port) {
    if (fr__mw_eq(scheme, FR_STR("http")) || fr__mw_eq(scheme, FR_STR("ws"))) *port = 80;
    else if (fr__mw_eq(scheme, FR_STR("https")) || fr__mw_eq(scheme, FR_STR("wss"))) *port = 443;
    else return -1;
    return 0;
}

/* urlunsplit(scheme, netloc, path, query, fragment) appended to out. */
static int fr__mw_unsplit(fr_buf *out, fr_str scheme, fr_str netloc, fr_str path, fr_str query,
                          fr_str fragment) {
    static const char *const uses_netloc[] = {
        "", "ftp", "http", "gopher", "nntp", "telnet", "imap", "wais", "file", "mms", "https",
        "shttp", "snews", "prospero", "rtsp", "rtsps", "rtspu", "rsync", "svn", "svn+ssh", "sftp",
        "nfs", "git", "git+ssh", "ws", "wss"};
    int known = 0, rc = 0;
    size_t i;
    for (i = 0; i < FR__COUNTOF(uses_netloc); i++)
        if (fr__mw_eq(scheme, fr__mw_c(uses_netloc[i]))) known = 1;
    if (scheme.len) rc |= fr_buf_append(out, scheme.buf, scheme.len) | fr_buf_append_char(out, ':');
    if (netloc.len || (scheme.len && known && !(path.len >= 2 && path.buf[0] == '/' &&
                                                path.buf[1] == '/'))) {
        rc |= fr_buf_append(out, "//", 2);
        if (netloc.len) rc |= fr_buf_append(out, netloc.buf, netloc.len);
        if (path.len && path.buf[0] != '/') rc |= fr_buf_append_char(out, '/');
    }
    if (path.len) rc |= fr_buf_append(out, path.buf, path.len);
    if (query.len) rc |= fr_buf_append_char(out, '?') | fr_buf_append(out, query.buf, query.len);
    if (fragment.len)
        rc |= fr_buf_append_char(out, '#') | fr_buf_append(out, fragment.buf, fragment.len);
    return rc ? FR_MW_ERROR : 0;
}

int fr_mw_url(const fr_mw_scope *sc, fr_buf *out) {
    fr_str h, p, netloc = {NULL, 0}, query;
    fr_buf path = {NULL, 0, 0}, nl = {NULL, 0, 0};
    size_t i;
    int rc = 0, have_netloc = 0;
    if (!sc || !out) return FR_MW_ERROR;
    query = sc->query;
    if (query.len && !fr__mw_utf8_ok((const unsigned char *)query.buf, query.len))
        return FR_MW_RAISES; /* query_string.decode() */
    for (i = 0; i < sc->path.len; i++) {
        char c = sc->path.buf[i];
        if (c == '?') rc |= fr_buf_append(&path, "%3F", 3);
        else if (c == '#') rc |= fr_buf_append(&path, "%23", 3);
        else if (c == '\\') rc |= fr_buf_append(&path, "%5C", 3);
        else rc |= fr_buf_append_char(&path, c);
    }
    if (fr_mw_parse_host(sc->host, &h, &p) && fr__mw_port_ok(p)) {
        netloc = sc->host; /* ParsedHost.authority: all of it */
        have_netloc = 1;
    } else if (sc->server_host.buf) {
        int dport;
        if (fr__mw_default_port(sc->scheme, &dport) < 0) {
            fr_buf_free(&path);
            return FR_MW_RAISES; /* the default-port table has no such scheme */
        }
        if (memchr(sc->server_host.buf, ':', sc->server_host.len) &&
            !(sc->server_host.len && sc->server_host.buf[0] == '['))
            rc |= fr_buf_append_char(&nl, '[') |
                  fr_buf_append(&nl, sc->server_host.buf, sc->server_host.len) |
                  fr_buf_append_char(&nl, ']');
        else
            rc |= fr_buf_append(&nl, sc->server_host.buf, sc->server_host.len);
        if (sc->server_port != dport) rc |= fr_buf_printf(&nl, ":%d", sc->server_port);
        netloc = fr__mw_s(nl.buf ? nl.buf : "", nl.len);
        have_netloc = 1;
    }
    if (!rc && have_netloc) {
        fr_str none = {NULL, 0};
        rc = fr__mw_unsplit(out, sc->scheme, netloc, fr__mw_s(path.buf, path.len), query, none);
    } else if (!rc) {
        fr_str pv = fr__mw_s(path.buf, path.len);
        if (pv.len >= 2 && pv.buf[0] == '/' && pv.buf[1] == '/')
            rc |= fr_buf_append(out, "/%2F", 4) | fr_buf_append(out, pv.buf + 2, pv.len - 2);
        else if (pv.len)
            rc |= fr_buf_append(out, pv.buf, pv.len);
        if (query.len)
            rc |= fr_buf_append_char(out, '?') | fr_buf_append(out, query.buf, query.len);
    }
    fr_buf_free(&path);
    fr_buf_free(&nl);
    return rc ? FR_MW_ERROR : 0;
}

/* urllib.parse.urlsplit result; views into `clean` (the URL without tabs,
 * CR and LF, and without leading C0 controls and spaces). */
typedef struct fr__mw_split {
    fr_buf clean;
    fr_str scheme, netloc, path, query, fragment;
} fr__mw_split;

/* 0 ok, FR_MW_RAISES for what urlsplit raises on, FR_MW_ERROR (OOM). */
static int fr__mw_urlsplit(fr__mw_split *u, fr_str url) {
    size_t i, st = 0, n;
    const char *b;
    memset(u, 0, sizeof *u);
    while (st < url.len && (unsigned char)url.buf[st] <= 0x20) st++;
    for (i = st; i < url.len; i++) {
        char c = url.buf[i];
        if (c != '\t' && c != '\r' && c != '\n' && fr_buf_append_char(&u->clean, c) < 0)
            return FR_MW_ERROR;
    }
    if (fr_buf_append_char(&u->clean, 0) < 0) return FR_MW_ERROR;
    b = u->clean.buf;
    n = u->clean.len - 1;
    u->scheme = u->netloc = u->query = u->fragment = fr__mw_s(b, 0);
    {
        const char *colon = n ? (const char *)memchr(b, ':', n) : NULL;
        size_t ci = colon ? (size_t)(colon - b) : 0;
        if (ci > 0 && (((b[0] | 0x20) >= 'a' && (b[0] | 0x20) <= 'z'))) {
            for (i = 0; i < ci; i++) {
                unsigned c = (unsigned char)b[i];
                if (!(fr__mw_alnum(c) || c == '+' || c == '-' || c == '.')) break;
            }
            if (i == ci) {
                size_t k;
                for (k = 0; k < ci; k++) u->clean.buf[k] = (char)fr__tolower((unsigned char)b[k]);
                u->scheme = fr__mw_s(b, ci);
                b += ci + 1;
                n -= ci + 1;
            }
        }
    }
    if (n >= 2 && b[0] == '/' && b[1] == '/') {
        size_t e = 2;
        const char *lb, *rb;
        while (e < n && b[e] != '/' && b[e] != '?' && b[e] != '#') e++;
        u->netloc = fr__mw_s(b + 2, e - 2);
        b += e;
        n -= e;
        lb = u->netloc.len ? (const char *)memchr(u->netloc.buf, '[', u->netloc.len) : NULL;
        rb = u->netloc.len ? (const char *)memchr(u->netloc.buf, ']', u->netloc.len) : NULL;
        if ((lb != NULL) != (rb != NULL)) return FR_MW_RAISES; /* Invalid IPv6 URL */
        if (lb) {
            size_t rest = u->netloc.len - (size_t)(lb + 1 - u->netloc.buf);
            const char *end = (const char *)memchr(lb + 1, ']', rest);
            fr_str bh = fr__mw_s(lb + 1, end ? (size_t)(end - lb - 1) : rest);
            if (bh.len && bh.buf[0] == 'v') {
                /* \Av[a-fA-F0-9]+\..+\Z */
                size_t k = 1;
                while (k < bh.len && fr__mw_hex((unsigned char)bh.buf[k])) k++;
                if (k == 1 || k >= bh.len || bh.buf[k] != '.' || k + 1 >= bh.len)
                    return FR_MW_RAISES;
            } else if (fr__mw_ipv4_ok(bh) || !fr__mw_ipv6_ok(bh)) {
                return FR_MW_RAISES; /* ip_address() refuses, or IPv4 in brackets */
            }
        }
    }
    {
        const char *hash = n ? (const char *)memchr(b, '#', n) : NULL;
        const char *q;
        if (hash) {
            u->fragment = fr__mw_s(hash + 1, n - (size_t)(hash - b) - 1);
            n = (size_t)(hash - b);
        }
        q = n ? (const char *)memchr(b, '?', n) : NULL;
        if (q) {
            u->query = fr__mw_s(q + 1, n - (size_t)(q - b) - 1);
            n = (size_t)(q - b);
        }
        u->path = fr__mw_s(b, n);
    }
    return 0;
}

/* SplitResult._hostinfo */
static void fr__mw_hostinfo(fr_str netloc, fr_str *hostname, fr_str *port) {
    size_t i, at = 0;
    const char *lb;
    fr_str hi;
    for (i = netloc.len; i > 0; i--)
        if (netloc.buf[i - 1] == '@') {
            at = i;
            break;
        }
    hi = fr__mw_s(netloc.buf + at, netloc.len - at);
    lb = hi.len ? (const char *)memchr(hi.buf, '[', hi.len) : NULL;
    if (lb) {
        fr_str br = fr__mw_s(lb + 1, hi.len - (size_t)(lb + 1 - hi.buf));
        const char *rb = br.len ? (const char *)memchr(br.buf, ']', br.len) : NULL;
        *hostname = fr__mw_s(br.buf, rb ? (size_t)(rb - br.buf) : br.len);
        *port = fr__mw_s(br.buf, 0);
        if (rb) {
            fr_str after = fr__mw_s(rb + 1, br.len - (size_t)(rb + 1 - br.buf));
            const char *c = after.len ? (const char *)memchr(after.buf, ':', after.len) : NULL;
            if (c) *port = fr__mw_s(c + 1, after.len - (size_t)(c + 1 - after.buf));
        }
    } else {
        const char *c = hi.len ? (const char *)memchr(hi.buf, ':', hi.len) : NULL;
        *hostname = fr__mw_s(hi.buf, c ? (size_t)(c - hi.buf) : hi.len);
        *port = c ? fr__mw_s(c + 1, hi.len - (size_t)(c + 1 - hi.buf)) : fr__mw_s(hi.buf, 0);
    }
}

/* SplitResult.port: -1 = None, -2 = raises (not digits / above 65535). */
static long fr__mw_split_port(fr_str port) {
    size_t i;
    long v = 0;
    if (!port.len) return -1;
    for (i = 0; i < port.len; i++) {
        if (port.buf[i] < '0' || port.buf[i] > '9') return -2;
        if (v <= 65535) v = v * 10 + (port.buf[i] - '0');
    }
    return v > 65535 ? -2 : v;
}

/* quote(s, safe=":/%#?=@[]!$&'()*+,;") appended to out. */
static int fr__mw_quote(fr_buf *out, fr_str s) {
    static const char hexd[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < s.len; i++) {
        unsigned c = (unsigned char)s.buf[i];
        int safe = fr__mw_alnum(c) || (c && strchr("_.-~:/%#?=@[]!$&'()*+,;", (int)c));
        if (safe) {
            if (fr_buf_append_char(out, (char)c) < 0) return FR_MW_ERROR;
        } else {
            char e[3];
            e[0] = '%', e[1] = hexd[c >> 4], e[2] = hexd[c & 15];
            if (fr_buf_append(out, e, 3) < 0) return FR_MW_ERROR;
        }
    }
    return 0;
}

/* A RedirectResponse(url, 307) answer: content-length: 0, location. */
static int fr__mw_redirect_answer(fr_arena *a, fr_mw_answer *out, const fr_buf *url) {
    fr_buf q = {NULL, 0, 0};
    fr_str loc;
    int fail = 0;
    if (fr__mw_quote(&q, fr__mw_s(url->buf ? url->buf : "", url->len)) < 0) {
        fr_buf_free(&q);
        return FR_MW_ERROR;
    }
    loc = fr__mw_dup(a, fr__mw_s(q.buf ? q.buf : "", q.len), &fail);
    fr_buf_free(&q);
    if (fail) return FR_MW_ERROR;
    fr_hlist_init(&out->headers, a);
    out->status = 307;
    out->body = fr__mw_s("", 0);
    if (fr_hlist_append(&out->headers, FR_STR("content-length"), FR_STR("0")) < 0 ||
        fr_hlist_append(&out->headers, FR_STR("location"), loc) < 0)
        return FR_MW_ERROR;
    return 0;
}

static const fr_str fr__mw_invalid_host = {"Invalid host header", 19};

int fr_https_redirect(const fr_mw_scope *sc, fr_arena *arena, fr_mw_answer *out) {
    fr_buf url = {NULL, 0, 0}, loc = {NULL, 0, 0};
    fr__mw_split u;
    fr_str netloc, hostname, port, scheme;
    long pnum;
    int rc;
    if (!sc || !arena || !out) return FR_MW_ERROR;
    fr__mw_answer_clear(out, arena);
    if (!(fr__mw_eq(sc->scheme, FR_STR("http")) || fr__mw_eq(sc->scheme, FR_STR("ws")))) return 0;
    rc = fr_mw_url(sc, &url);
    if (rc < 0) {
        fr_buf_free(&url);
        return rc;
    }
    rc = fr__mw_urlsplit(&u, fr__mw_s(url.buf ? url.buf : "", url.len));
    fr_buf_free(&url);
    if (rc < 0) goto done;
    if (!u.netloc.len) {
        rc = fr__mw_text_answer(arena, out, 400, fr__mw_invalid_host);
        rc = rc < 0 ? rc : 1;
        goto done;
    }
    if (fr__mw_eq(u.scheme, FR_STR("http"))) scheme = FR_STR("https");
    else if (fr__mw_eq(u.scheme, FR_STR("ws"))) scheme = FR_STR("wss");
    else {
        rc = FR_MW_RAISES; /* KeyError */
        goto done;
    }
    fr__mw_hostinfo(u.netloc, &hostname, &port);
    pnum = fr__mw_split_port(port);
    if (pnum == -2) {
        rc = FR_MW_RAISES;
        goto done;
    }
    netloc = u.netloc;
    if (pnum == 80 || pnum == 443) {
        /* url.hostname: lowercased up to a '%' zone, brackets gone */
        size_t k, zone = hostname.len;
        char *lower = (char *)fr_arena_alloc(arena, hostname.len + 1);
        if (!lower) {
            rc = FR_MW_ERROR;
            goto done;
        }
        for (k = 0; k < hostname.len; k++) {
            unsigned char ch = (unsigned char)hostname.buf[k];
            if (ch == '%' && zone == hostname.len) zone = k;
            lower[k] = (char)(k < zone ? fr__tolower(ch) : ch);
        }
        netloc = fr__mw_s(lower, hostname.len);
    }
    rc = fr__mw_unsplit(&loc, scheme, netloc, u.path, u.query, u.fragment);
    if (rc == 0) rc = fr__mw_redirect_answer(arena, out, &loc);
    if (rc == 0) rc = 1;
done:
    fr_buf_free(&u.clean);
    fr_buf_free(&loc);
    if (rc < 0) fr__mw_answer_clear(out, arena);
    return rc;
}

/* ---- compiled objects: each lives in its own arena ---- */

static void *fr__mw_obj_new(const fr_allocator *alc, size_t size, fr_err *err) {
    fr_arena a;
    void *obj;
    fr_arena_init(&a, alc);
    obj = fr_arena_alloc(&a, size);
    if (!obj) {
        fr_arena_free(&a);
        if (err) err->code = -1, err->msg = "out of memory", err->pos = 0;
        return NULL;
    }
    memset(obj, 0, size);
    memcpy(obj, &a, sizeof a); /* every object starts with its arena */
    return obj;
}

static void fr__mw_obj_free(void *obj) {
    fr_arena a;
    if (!obj) return;
    memcpy(&a, obj, sizeof a);
    fr_arena_free(&a);
}

static void *fr__mw_obj_fail(void *obj, fr_err *err, int code, const char *msg, size_t pos) {
    fr__mw_obj_free(obj);
    if (err) err->code = code, err->msg = msg, err->pos = pos;
    return NULL;
}

/* Copy a list of strings into the arena; *fail on OOM. */
static fr_str *fr__mw_copy_list(fr_arena *a, const fr_str *src, size_t n, int *fail) {
    fr_str *dst;
    size_t i;
    if (!n) return NULL;
    if (n > SIZE_MAX / sizeof *dst || !(dst = (fr_str *)fr_arena_alloc(a, n * sizeof *dst))) {
        *fail = 1;
        return NULL;
    }
    for (i = 0; i < n; i++) dst[i] = fr__mw_dup(a, src[i], fail);
    return dst;
}

static int fr__mw_list_bad(const fr_str *list, size_t n) {
    size_t i;
    if (n && !list) return 1;
    for (i = 0; i < n; i++)
        if (!list[i].buf && list[i].len) return 1;
    return 0;
}

/* ---- TrustedHostMiddleware ---- */

struct fr_trusted_host {
    fr_arena arena; /* first */
    fr_str *hosts;  /* lowercased */
    size_t nhosts;
    int allow_any, www_redirect;
};

fr_trusted_host *fr_trusted_host_new(const fr_trusted_host_config *cfg, fr_err *err) {
    static const fr_str any = {"*", 1};
    fr_trusted_host_config zero;
    fr_trusted_host *t;
    const fr_str *hosts;
    size_t n, i, k;
    int fail = 0;
    if (!cfg) {
        memset(&zero, 0, sizeof zero);
        cfg = &zero;
    }
    hosts = cfg->allowed_hosts ? cfg->allowed_hosts : &any;
    n = cfg->allowed_hosts ? cfg->num_allowed_hosts : 1;
    if (fr__mw_list_bad(hosts, n)) {
        if (err) err->code = 400, err->msg = "bad allowed_hosts list", err->pos = 0;
        return NULL;
    }
    for (i = 0; i < n; i++) {
        fr_str p = hosts[i];
        if ((p.len > 1 && memchr(p.buf + 1, '*', p.len - 1)) ||
            (p.len > 1 && p.buf[0] == '*' && p.buf[1] != '.')) {
            if (err) {
                err->code = 400;
                err->msg = "Domain wildcard patterns must be like '*.example.com'.";
                err->pos = i;
            }
            return NULL;
        }
    }
    if (!(t = (fr_trusted_host *)fr__mw_obj_new(cfg->alc, sizeof *t, err))) return NULL;
    t->hosts = fr__mw_copy_list(&t->arena, hosts, n, &fail);
    t->nhosts = n;
    for (i = 0; !fail && i < n; i++) {
        for (k = 0; k < t->hosts[i].len; k++)
            ((char *)t->hosts[i].buf)[k] = (char)fr__tolower((unsigned char)t->hosts[i].buf[k]);
        if (fr__mw_eq(hosts[i], any)) t->allow_any = 1;
    }
    if (fail) return (fr_trusted_host *)fr__mw_obj_fail(t, err, -1, "out of memory", 0);
    t->www_redirect = !cfg->no_www_redirect;
    return t;
}

void fr_trusted_host_free(fr_trusted_host *t) { fr__mw_obj_free(t); }

int fr_trusted_host_check(const fr_trusted_host *t, const fr_mw_scope *sc, fr_arena *arena,
                          fr_mw_answer *out) {
    fr_str host, port;
    char *lower;
    size_t i, k;
    int valid = 0, www = 0, rc;
    if (!t || !sc || !arena || !out) return FR_MW_ERROR;
    fr__mw_answer_clear(out, arena);
    if (t->allow_any) return 0;
    if (!fr_mw_parse_host(sc->host, &host, &port)) {
        rc = fr__mw_text_answer(arena, out, 400, fr__mw_invalid_host);
        return rc < 0 ? rc : 1;
    }
    if (!(lower = (char *)fr_arena_alloc(arena, host.len + 1))) return FR_MW_ERROR;
    for (k = 0; k < host.len; k++) lower[k] = (char)fr__tolower((unsigned char)host.buf[k]);
    host = fr__mw_s(lower, host.len);
    for (i = 0; i < t->nhosts; i++) {
        fr_str p = t->hosts[i];
        if (fr__mw_eq(host, p) ||
            (p.len && p.buf[0] == '*' && host.len >= p.len - 1 &&
             memcmp(host.buf + host.len - (p.len - 1), p.buf + 1, p.len - 1) == 0)) {
            valid = 1;
            break;
        }
        if (p.len == host.len + 4 && memcmp(p.buf, "www.", 4) == 0 &&
            memcmp(p.buf + 4, host.buf, host.len) == 0)
            www = 1;
    }
    if (valid) return 0;
    if (www && t->www_redirect) {
        fr_buf url = {NULL, 0, 0}, loc = {NULL, 0, 0}, nl = {NULL, 0, 0};
        fr__mw_split u;
        rc = fr_mw_url(sc, &url);
        if (rc < 0) {
            fr_buf_free(&url);
            return rc;
        }
        rc = fr__mw_urlsplit(&u, fr__mw_s(url.buf ? url.buf : "", url.len));
        fr_buf_free(&url);
        if (rc == 0 && (fr_buf_append(&nl, "www.", 4) < 0 ||
                        fr_buf_append(&nl, u.netloc.buf, u.netloc.len) < 0))
            rc = FR_MW_ERROR;
        if (rc == 0)
            rc = fr__mw_unsplit(&loc, u.scheme, fr__mw_s(nl.buf, nl.len), u.path, u.query,
                                u.fragment);
        if (rc == 0) rc = fr__mw_redirect_answer(arena, out, &loc);
        fr_buf_free(&u.clean);
        fr_buf_free(&loc);
        fr_buf_free(&nl);
        if (rc < 0) {
            fr__mw_answer_clear(out, arena);
            return rc;
        }
        return 1;
    }
    rc = fr__mw_text_answer(arena, out, 400, fr__mw_invalid_host);
    return rc < 0 ? rc : 1;
}

/* ---- CORSMiddleware ---- */

struct fr_cors {
    fr_arena arena; /* first */
    fr_str *origins;
    size_t norigins;
    fr_str *methods;
    size_t nmethods;
    fr_str *allow_lower; /* sorted(SAFELISTED | allow_headers), lowercased */
    size_t nallow;
    fr_header *preflight; /* Starlette's preflight_headers dict, lowercase names */
    size_t npreflight;
    fr_header *simple;    /* simple_headers */
    size_t nsimple;
    fr__rx *rx;
    int allow_all_origins, allow_all_headers, allow_credentials, allow_private_network;
    int explicit_origin;
};

static int fr__mw_str_cmp(const void *a, const void *b) {
    const fr_str *x = (const fr_str *)a, *y = (const fr_str *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->buf, y->buf, n) : 0;
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static int fr__mw_in(const fr_str *list, size_t n, fr_str s) {
    size_t i;
    for (i = 0; i < n; i++)
        if (fr__mw_eq(list[i], s)) return 1;
    return 0;
}

fr_cors *fr_cors_new(const fr_cors_config *cfg, fr_err *err) {
    static const fr_str all_methods[] = {{"DELETE", 6}, {"GET", 3},  {"HEAD", 4}, {"OPTIONS", 7},
                                         {"PATCH", 5},  {"POST", 4}, {"PUT", 3},  {"QUERY", 5}};
    static const fr_str safelisted[] = {{"Accept", 6}, {"Accept-Language", 15},
                                        {"Content-Language", 16}, {"Content-Type", 12}};
    static const fr_str get = {"GET", 3}, star = {"*", 1};
    fr_cors_config zero;
    fr_cors *c;
    const fr_str *methods;
    size_t nmethods, i, k, nh;
    fr_str *hs;
    int fail = 0;
    if (!cfg) {
        memset(&zero, 0, sizeof zero);
        cfg = &zero;
    }
    methods = cfg->allow_methods ? cfg->allow_methods : &get;
    nmethods = cfg->allow_methods ? cfg->num_allow_methods : 1;
    if (fr__mw_list_bad(cfg->allow_origins, cfg->num_allow_origins) ||
        fr__mw_list_bad(methods, nmethods) ||
        fr__mw_list_bad(cfg->allow_headers, cfg->num_allow_headers) ||
        fr__mw_list_bad(cfg->expose_headers, cfg->num_expose_headers) ||
        (!cfg->allow_origin_regex.buf && cfg->allow_origin_regex.len) ||
        (!cfg->max_age.buf && cfg->max_age.len)) {
        if (err) err->code = 400, err->msg = "bad CORS configuration (NULL list)", err->pos = 0;
        return NULL;
    }
    if (fr__mw_in(methods, nmethods, star)) {
        methods = all_methods;
        nmethods = FR__COUNTOF(all_methods);
    }
    if (!(c = (fr_cors *)fr__mw_obj_new(cfg->alc, sizeof *c, err))) return NULL;
    if (cfg->allow_origin_regex.buf) {
        fr_err rerr = {0, NULL, 0};
        c->rx = fr__rx_compile(cfg->allow_origin_regex, &c->arena, &rerr);
        if (!c->rx) return (fr_cors *)fr__mw_obj_fail(c, err, rerr.code, rerr.msg, rerr.pos);
    }
    c->origins = fr__mw_copy_list(&c->arena, cfg->allow_origins, cfg->num_allow_origins, &fail);
    c->norigins = cfg->num_allow_origins;
    c->methods = fr__mw_copy_list(&c->arena, methods, nmethods, &fail);
    c->nmethods = nmethods;
    c->allow_all_origins = fr__mw_in(cfg->allow_origins, cfg->num_allow_origins, star);
    c->allow_all_headers = fr__mw_in(cfg->allow_headers, cfg->num_allow_headers, star);
    c->allow_credentials = cfg->allow_credentials != 0;
    c->allow_private_network = cfg->allow_private_network != 0;
    c->explicit_origin = !c->allow_all_origins || c->allow_credentials;

    /* sorted(SAFELISTED_HEADERS | set(allow_headers)) */
    nh = FR__COUNTOF(safelisted) + cfg->num_allow_headers;
    hs = (fr_str *)fr_arena_alloc(&c->arena, nh * sizeof *hs);
    if (!hs) fail = 1;
    for (i = k = 0; hs && i < nh; i++) {
        fr_str h = i < FR__COUNTOF(safelisted) ? safelisted[i]
                                               : cfg->allow_headers[i - FR__COUNTOF(safelisted)];
        if (!fr__mw_in(hs, k, h)) hs[k++] = fr__mw_dup(&c->arena, h, &fail);
    }
    if (hs && !fail) qsort(hs, k, sizeof *hs, fr__mw_str_cmp);
    nh = k;

    c->simple = (fr_header *)fr_arena_alloc(&c->arena, 3 * sizeof *c->simple);
    c->preflight = (fr_header *)fr_arena_alloc(&c->arena, 6 * sizeof *c->preflight);
    c->allow_lower = nh ? (fr_str *)fr_arena_alloc(&c->arena, nh * sizeof *c->allow_lower) : NULL;
    if (!c->simple || !c->preflight || (nh && !c->allow_lower)) fail = 1;
    if (fail) return (fr_cors *)fr__mw_obj_fail(c, err, -1, "out of memory", 0);

    if (c->allow_all_origins)
        c->simple[c->nsimple].name = FR_STR("access-control-allow-origin"),
        c->simple[c->nsimple++].value = star;
    if (c->allow_credentials)
        c->simple[c->nsimple].name = FR_STR("access-control-allow-credentials"),
        c->simple[c->nsimple++].value = FR_STR("true");
    if (cfg->num_expose_headers)
        c->simple[c->nsimple].name = FR_STR("access-control-expose-headers"),
        c->simple[c->nsimple++].value =
            fr__mw_join(&c->arena, cfg->expose_headers, cfg->num_expose_headers, &fail);

    c->preflight[c->npreflight].name = FR_STR("vary");
    c->preflight[c->npreflight++].value =
        FR_STR("Origin, Access-Control-Request-Method, Access-Control-Request-Headers, "
               "Access-Control-Request-Private-Network");
    if (!c->explicit_origin)
        c->preflight[c->npreflight].name = FR_STR("access-control-allow-origin"),
        c->preflight[c->npreflight++].value = star;
    c->preflight[c->npreflight].name = FR_STR("access-control-allow-methods");
    c->preflight[c->npreflight++].value = fr__mw_join(&c->arena, c->methods, nmethods, &fail);
    c->preflight[c->npreflight].name = FR_STR("access-control-max-age");
    c->preflight[c->npreflight++].value =
        cfg->max_age.buf ? fr__mw_dup(&c->arena, cfg->max_age, &fail) : FR_STR("600");
    if (nh && !c->allow_all_headers)
        c->preflight[c->npreflight].name = FR_STR("access-control-allow-headers"),
        c->preflight[c->npreflight++].value = fr__mw_join(&c->arena, hs, nh, &fail);
    if (c->allow_credentials)
        c->preflight[c->npreflight].name = FR_STR("access-control-allow-credentials"),
        c->preflight[c->npreflight++].value = FR_STR("true");

    for (i = 0; !fail && i < nh; i++) {
        char *l = (char *)fr_arena_alloc(&c->arena, hs[i].len + 1);
        if (!l) {
            fail = 1;
            break;
        }
        for (k = 0; k < hs[i].len; k++) l[k] = (char)fr__mw_lower((unsigned char)hs[i].buf[k]);
        c->allow_lower[i] = fr__mw_s(l, hs[i].len);
    }
    c->nallow = nh;
    if (fail) return (fr_cors *)fr__mw_obj_fail(c, err, -1, "out of memory", 0);
    return c;
}

void fr_cors_free(fr_cors *c) { fr__mw_obj_free(c); }

int fr_cors_classify(fr_str method, fr_str origin, int has_request_method) {
    if (!origin.buf) return FR_CORS_NONE;
    if (has_request_method && fr__mw_eq(method, FR_STR("OPTIONS"))) return FR_CORS_PREFLIGHT;
    return FR_CORS_SIMPLE;
}

int fr_cors_origin_allowed(const fr_cors *c, fr_str origin) {
    if (!c || !origin.buf) return 0;
    if (c->allow_all_origins) return 1;
    if (c->rx) {
        int m = fr__rx_match(c->rx, (const unsigned char *)origin.buf, origin.len);
        if (m != 0) return m;
    }
    return fr__mw_in(c->origins, c->norigins, origin);
}

/* requested_headers: every ","-separated name, lowered and stripped, must
 * be allowed. */
static int fr__cors_headers_ok(const fr_cors *c, fr_str req) {
    size_t st = 0, i, k, j;
    for (i = 0; i <= req.len; i++) {
        fr_str h;
        int found = 0;
        if (i < req.len && req.buf[i] != ',') continue;
        h = fr__mw_strip(fr__mw_s(req.buf + st, i - st));
        st = i + 1;
        for (k = 0; k < c->nallow && !found; k++) {
            if (c->allow_lower[k].len != h.len) continue;
            for (j = 0; j < h.len; j++)
                if (fr__mw_lower((unsigned char)h.buf[j]) !=
                    (unsigned char)c->allow_lower[k].buf[j])
                    break;
            found = j == h.len;
        }
        if (!found) return 0;
    }
    return 1;
}

int fr_cors_preflight(const fr_cors *c, fr_str origin, fr_str request_method,
                      fr_str request_headers, fr_str request_private_network, fr_arena *arena,
                      fr_mw_answer *out) {
    fr_str failures[4], len;
    size_t nf = 0, i;
    int allowed, fail = 0;
    fr_hlist *h;
    if (!c || !arena || !out || !origin.buf || !request_method.buf) return FR_MW_ERROR;
    fr__mw_answer_clear(out, arena);
    h = &out->headers;
    for (i = 0; i < c->npreflight; i++)
        if (fr_hlist_append(h, c->preflight[i].name, c->preflight[i].value) < 0) return FR_MW_ERROR;
    allowed = fr_cors_origin_allowed(c, origin);
    if (allowed < 0) return FR_MW_ERROR;
    if (allowed) {
        if (c->explicit_origin &&
            fr_hlist_append(h, FR_STR("access-control-allow-origin"), origin) < 0)
            return FR_MW_ERROR;
    } else {
        failures[nf++] = FR_STR("origin");
    }
    if (!fr__mw_in(c->methods, c->nmethods, request_method)) failures[nf++] = FR_STR("method");
    if (c->allow_all_headers && request_headers.buf) {
        if (fr_hlist_append(h, FR_STR("access-control-allow-headers"), request_headers) < 0)
            return FR_MW_ERROR;
    } else if (request_headers.buf && !fr__cors_headers_ok(c, request_headers)) {
        failures[nf++] = FR_STR("headers");
    }
    if (request_private_network.buf) {
        if (c->allow_private_network) {
            if (fr_hlist_append(h, FR_STR("access-control-allow-private-network"),
                                FR_STR("true")) < 0)
                return FR_MW_ERROR;
        } else {
            failures[nf++] = FR_STR("private-network");
        }
    }
    /* PlainTextResponse(text, status, headers): content-length, content-type last */
    out->status = 200;
    out->body = FR_STR("OK");
    if (nf) {
        fr_str parts[2];
        parts[0] = FR_STR("Disallowed CORS ");
        parts[1] = fr__mw_join(arena, failures, nf, &fail);
        if (fail) return FR_MW_ERROR;
        out->body = fr__mw_cat(arena, parts, 2, &fail);
        out->status = 400;
    }
    len = fr__mw_i64(arena, (int64_t)out->body.len, &fail);
    if (fail || fr_hlist_append(h, FR_STR("content-length"), len) < 0 ||
        fr_hlist_append(h, FR_STR("content-type"), FR_STR("text/plain; charset=utf-8")) < 0)
        return FR_MW_ERROR;
    return 0;
}

int fr_cors_simple(const fr_cors *c, fr_str origin, fr_hlist *h) {
    size_t i;
    int allowed;
    if (!c || !h || !h->arena) return FR_MW_ERROR;
    if (origin.buf) {
        for (i = 0; i < c->nsimple; i++)
            if (fr_hlist_set(h, c->simple[i].name, c->simple[i].value) < 0) return FR_MW_ERROR;
        allowed = c->allow_all_origins ? 0 : fr_cors_origin_allowed(c, origin);
        if (allowed < 0) return FR_MW_ERROR;
        if ((c->allow_all_origins && c->allow_credentials) || allowed) {
            if (fr_hlist_set(h, FR_STR("access-control-allow-origin"), origin) < 0)
                return FR_MW_ERROR;
        }
    }
    return fr_hlist_add_vary(h, FR_STR("Origin"));
}

/* ---- GZipMiddleware ---- */

struct fr_gzip {
    fr_arena arena; /* first */
    int64_t minimum_size;
    int level;
    fr_str *exclude; /* normalized: before ';', stripped, lowercased */
    size_t nexclude;
    fr_allocator alc;
};

int fr_gzip_available(void) { return FR_ENABLE_ZLIB ? 1 : 0; }

int fr_gzip_accepts(fr_str ae) {
    size_t i;
    if (!ae.buf || ae.len < 4) return 0;
    for (i = 0; i + 4 <= ae.len; i++)
        if (memcmp(ae.buf + i, "gzip", 4) == 0) return 1;
    return 0;
}

/* content_type.partition(";")[0].strip() (lowercasing is left to compares) */
static fr_str fr__gz_media(fr_str ct) {
    const char *semi = ct.len ? (const char *)memchr(ct.buf, ';', ct.len) : NULL;
    if (semi) ct.len = (size_t)(semi - ct.buf);
    return fr__mw_strip(ct);
}

/* lower(a) == b, b already lowercase */
static int fr__gz_leq(fr_str a, const char *b, size_t blen) {
    size_t i;
    if (a.len != blen) return 0;
    for (i = 0; i < blen; i++)
        if (fr__mw_lower((unsigned char)a.buf[i]) != (unsigned char)b[i]) return 0;
    return 1;
}

/* lower(a) == b for a already lowercased (`low`) or not */
static int fr__gz_match(fr_str a, int low, const char *b, size_t blen) {
    return a.len == blen && (low ? memcmp(a.buf, b, blen) == 0 : fr__gz_leq(a, b, blen));
}

int fr_gzip_excluded(const fr_gzip *g, fr_str content_type) {
    char buf[128]; /* the media type lowercased once: every response asks */
    fr_str mt, major;
    const char *slash;
    size_t i;
    int grpc, low = 0;
    if (!g) return 0;
    mt = content_type.buf ? fr__gz_media(content_type) : fr__mw_s("", 0);
    if (mt.len <= sizeof buf) {
        for (i = 0; i < mt.len; i++) buf[i] = (char)fr__mw_lower((unsigned char)mt.buf[i]);
        mt.buf = buf;
        low = 1;
    }
    slash = mt.len ? (const char *)memchr(mt.buf, '/', mt.len) : NULL;
    major = fr__mw_s(mt.buf, slash ? (size_t)(slash - mt.buf) : mt.len);
    grpc = mt.len > 17 && fr__gz_match(fr__mw_s(mt.buf, 17), low, "application/grpc+", 17);
    for (i = 0; i < g->nexclude; i++) {
        fr_str ex = g->exclude[i];
        if (fr__gz_match(mt, low, ex.buf, ex.len)) return 1;
        if (ex.len == major.len + 2 && ex.buf[major.len] == '/' && ex.buf[major.len + 1] == '*' &&
            fr__gz_match(major, low, ex.buf, major.len))
            return 1;
        if (grpc && fr__mw_eq(ex, FR_STR("application/grpc"))) return 1;
    }
    return 0;
}

fr_gzip *fr_gzip_new(const fr_gzip_config *cfg, fr_err *err) {
    static const fr_str defaults[] = {
        {"application/grpc", 16}, {"application/gzip", 16}, {"application/x-gzip", 18},
        {"application/zip", 15},  {"audio/*", 7},           {"font/woff", 9},
        {"font/woff2", 10},       {"image/avif", 10},       {"image/gif", 9},
        {"image/jpeg", 10},       {"image/png", 9},         {"image/webp", 10},
        {"text/event-stream", 17}, {"video/*", 7}};
    fr_gzip_config zero;
    fr_gzip *g;
    const fr_str *ex;
    size_t n, i, k;
    int fail = 0, level;
    if (!cfg) {
        memset(&zero, 0, sizeof zero);
        cfg = &zero;
    }
    if (!FR_ENABLE_ZLIB) {
        if (err) err->code = -1, err->msg = "built without FR_ENABLE_ZLIB", err->pos = 0;
        return NULL;
    }
    level = cfg->compresslevel;
    if (level == 0) level = 9;
    else if (level == FR_GZIP_LEVEL_0) level = 0;
    if (level < -1 || level > 9) {
        if (err) err->code = 400, err->msg = "compresslevel must be -1..9", err->pos = 0;
        return NULL;
    }
    ex = cfg->exclude_content_types ? cfg->exclude_content_types : defaults;
    n = cfg->exclude_content_types ? cfg->num_exclude_content_types : FR__COUNTOF(defaults);
    if (fr__mw_list_bad(ex, n)) {
        if (err) err->code = 400, err->msg = "bad exclude_content_types list", err->pos = 0;
        return NULL;
    }
    if (!(g = (fr_gzip *)fr__mw_obj_new(cfg->alc, sizeof *g, err))) return NULL;
    g->minimum_size = cfg->minimum_size == 0 ? 500 : cfg->minimum_size < 0 ? 0 : cfg->minimum_size;
    g->level = level;
    if (cfg->alc) g->alc = *cfg->alc;
    g->nexclude = n;
    g->exclude = n ? (fr_str *)fr_arena_alloc(&g->arena, n * sizeof *g->exclude) : NULL;
    if (n && !g->exclude) fail = 1;
    for (i = 0; !fail && i < n; i++) {
        fr_str m = fr__gz_media(ex[i]);
        fr_str d = fr__mw_dup(&g->arena, m, &fail);
        if (fail) break;
        for (k = 0; k < d.len; k++)
            ((char *)d.buf)[k] = (char)fr__mw_lower((unsigned char)d.buf[k]);
        g->exclude[i] = d;
    }
    if (fail) return (fr_gzip *)fr__mw_obj_fail(g, err, -1, "out of memory", 0);
    return g;
}

void fr_gzip_free(fr_gzip *g) { fr__mw_obj_free(g); }

#if FR_ENABLE_ZLIB
static voidpf fr__gz_alloc(voidpf opaque, uInt items, uInt size) {
    const fr_allocator *a = (const fr_allocator *)opaque;
    size_t n;
    if (size && items > SIZE_MAX / size) return Z_NULL;
    n = (size_t)items * size;
    return a->malloc ? a->malloc(a->ctx, n) : FR_MALLOC(n);
}

static void fr__gz_free(voidpf opaque, voidpf p) {
    const fr_allocator *a = (const fr_allocator *)opaque;
    if (a->free) a->free(a->ctx, p);
    else FR_FREE(p);
}

/* One call of CPython's Compress.compress(data) (flush = Z_NO_FLUSH) or
 * Compress.flush(mode): deflate into output blocks of CPython's growing
 * sizes (Objects/pycore_blocks_output_buffer.h), calling again while a
 * block fills up. Stored blocks (level 0) depend on those sizes. */
static int fr__gz_call(z_stream *z, const void *data, size_t len, int flush, fr_buf *out) {
    static const size_t kb = 1024, mb = 1024 * 1024;
    const size_t sizes[] = {32 * kb, 64 * kb,  256 * kb, 1 * mb,   4 * mb,   8 * mb,
                            16 * mb, 16 * mb,  32 * mb,  32 * mb,  32 * mb,  32 * mb,
                            64 * mb, 64 * mb,  128 * mb, 128 * mb, 256 * mb};
    const unsigned char *in = (const unsigned char *)data;
    size_t left = len, block = 0, nblocks = FR__COUNTOF(sizes);
    int err;
    size_t avail;
    avail = sizes[0];
    if (fr_buf_reserve(out, avail) < 0) return FR_MW_ERROR;
    z->next_out = (Bytef *)out->buf + out->len;
    z->avail_out = (uInt)avail;
    do {
        uInt chunk = left > (size_t)UINT_MAX ? UINT_MAX : (uInt)left;
        z->next_in = (Bytef *)(uintptr_t)in;
        z->avail_in = chunk;
        left -= chunk;
        if (chunk) in += chunk;
        do {
            if (z->avail_out == 0) {
                out->len += avail;
                block++;
                avail = sizes[block < nblocks ? block : nblocks - 1];
                if (fr_buf_reserve(out, avail) < 0) return FR_MW_ERROR;
                z->next_out = (Bytef *)out->buf + out->len;
                z->avail_out = (uInt)avail;
            }
            err = deflate(z, flush);
            if (err == Z_STREAM_ERROR) return FR_MW_ERROR;
        } while (z->avail_out == 0);
    } while (left != 0);
    out->len += avail - z->avail_out;
    return 0;
}
#endif

int fr_gzip_encoder_init(fr_gzip_encoder *e, int level, const fr_allocator *alc) {
    if (!e) return FR_MW_ERROR;
    memset(e, 0, sizeof *e);
    level = level == 0 ? 9 : level == FR_GZIP_LEVEL_0 ? 0 : level;
    if (level < -1 || level > 9) return FR_MW_ERROR;
    e->level = level;
    if (alc) e->alc = *alc;
    return FR_ENABLE_ZLIB ? 0 : FR_MW_ERROR;
}

#if FR_ENABLE_ZLIB
/* The heap block behind fr_gzip_encoder.z: zlib keeps a pointer to the
 * z_stream and to the allocator, so both live here, never in the caller's
 * (movable) struct. */
typedef struct fr__gz_state {
    z_stream z;
    fr_allocator alc;
} fr__gz_state;
#endif

int fr_gzip_encoder_write(fr_gzip_encoder *e, const void *data, size_t len, int finish,
                          fr_buf *out) {
#if FR_ENABLE_ZLIB
    fr__gz_state *gs;
    size_t mark;
    if (!e || !out || e->finished || (len && !data)) return FR_MW_ERROR;
    if (!e->z) {
        gs = (fr__gz_state *)fr__gz_alloc(&e->alc, 1, sizeof *gs);
        if (!gs) return FR_MW_ERROR;
        memset(gs, 0, sizeof *gs);
        gs->alc = e->alc;
        gs->z.zalloc = fr__gz_alloc;
        gs->z.zfree = fr__gz_free;
        gs->z.opaque = (voidpf)&gs->alc;
        /* zlib.compressobj(level, DEFLATED, 16 + MAX_WBITS): memLevel 8, default strategy */
        if (deflateInit2(&gs->z, e->level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
            Z_OK) {
            fr__gz_free(&e->alc, gs);
            return FR_MW_ERROR;
        }
        e->z = gs;
    }
    gs = (fr__gz_state *)e->z;
    mark = out->len;
    if (fr__gz_call(&gs->z, data, len, Z_NO_FLUSH, out) < 0 ||
        fr__gz_call(&gs->z, NULL, 0, finish ? Z_FINISH : Z_SYNC_FLUSH, out) < 0) {
        out->len = mark;
        return FR_MW_ERROR;
    }
    if (finish) {
        e->finished = 1;
        fr_gzip_encoder_free(e);
    }
    return 0;
#else
    (void)e, (void)data, (void)len, (void)finish, (void)out;
    return FR_MW_ERROR;
#endif
}

void fr_gzip_encoder_free(fr_gzip_encoder *e) {
    if (!e) return;
#if FR_ENABLE_ZLIB
    if (e->z) {
        fr__gz_state *gs = (fr__gz_state *)e->z;
        fr_allocator alc = gs->alc;
        deflateEnd(&gs->z);
        fr__gz_free(&alc, gs);
    }
#endif
    e->z = NULL;
}

int fr_gzip_compress(const void *data, size_t len, int level, fr_buf *out) {
    fr_gzip_encoder e;
    int rc;
    if (fr_gzip_encoder_init(&e, level, NULL) < 0) return FR_MW_ERROR;
    rc = fr_gzip_encoder_write(&e, data, len, 1, out);
    fr_gzip_encoder_free(&e);
    return rc;
}

enum { FR__GZ_HOLD = 0, FR__GZ_PASS = 1, FR__GZ_IDENTITY = 2, FR__GZ_COMPRESS = 3 };

int fr_gzip_start(fr_gzip_stream *st, const fr_gzip *g, int accepts, int status,
                  const fr_hlist *h) {
    if (!st || !g) return FR_MW_ERROR;
    memset(st, 0, sizeof *st);
    st->g = g;
    st->accepts = accepts != 0;
    if (fr_hlist_get(h, FR_STR("content-encoding")).buf || status == 206 ||
        fr_gzip_excluded(g, fr_hlist_get(h, FR_STR("content-type")))) {
        st->state = FR__GZ_PASS;
        return 1;
    }
    st->state = FR__GZ_HOLD;
    return 0;
}

int fr_gzip_body(fr_gzip_stream *st, fr_hlist *h, const void *body, size_t len, int more_body,
                 int trailers, fr_buf *out) {
    if (!st || !st->g || !out || (len && !body)) return FR_MW_ERROR;
    if (st->state == FR__GZ_PASS || st->state == FR__GZ_IDENTITY) return 0;
    if (st->state == FR__GZ_COMPRESS)
        return fr_gzip_encoder_write(&st->enc, body, len, !more_body, out) < 0 ? FR_MW_ERROR : 1;
    /* the first body message decides */
    st->started = 1;
    if (!more_body && (int64_t)len < st->g->minimum_size) {
        st->state = FR__GZ_PASS;
        return 0;
    }
    if (!h || !h->arena || fr_hlist_add_vary(h, FR_STR("Accept-Encoding")) < 0)
        return FR_MW_ERROR;
    if (!st->accepts) {
        st->state = FR__GZ_IDENTITY;
        return 0;
    }
    {
        size_t mark = out->len;
        int fail = 0;
        int level = st->g->level == 0 ? FR_GZIP_LEVEL_0 : st->g->level;
        if (fr_gzip_encoder_init(&st->enc, level, &st->g->alc) < 0 ||
            fr_gzip_encoder_write(&st->enc, body, len, !more_body, out) < 0)
            return FR_MW_ERROR;
        st->state = FR__GZ_COMPRESS;
        if (fr_hlist_set(h, FR_STR("content-encoding"), FR_STR("gzip")) < 0) return FR_MW_ERROR;
        if (more_body || trailers) {
            fr_hlist_remove(h, FR_STR("content-length"));
        } else {
            fr_str n = fr__mw_i64(h->arena, (int64_t)(out->len - mark), &fail);
            if (fail || fr_hlist_set(h, FR_STR("content-length"), n) < 0) return FR_MW_ERROR;
        }
    }
    return 1;
}

void fr_gzip_stream_end(fr_gzip_stream *st) {
    if (!st) return;
    fr_gzip_encoder_free(&st->enc);
    st->state = FR__GZ_PASS;
}

/* ---- SessionMiddleware (itsdangerous TimestampSigner) ---- */

struct fr_session {
    fr_arena arena; /* first */
    uint8_t key[20]; /* SHA1(salt + "signer" + secret) */
    fr_str name;     /* as configured (Latin-1): written in Set-Cookie */
    fr_str name_utf8; /* the same text as UTF-8: compared with decoded cookie names */
    fr_str path, flags;
    int64_t max_age;
    int has_max_age;
};

static void fr__mw_hmac_sha1(const uint8_t key[20], const void *a, size_t alen, const void *b,
                             size_t blen, uint8_t out[20]) {
    uint8_t pad[64], inner[20];
    fr_sha1_ctx c;
    int i;
    memset(pad, 0x36, sizeof pad);
    for (i = 0; i < 20; i++) pad[i] ^= key[i];
    fr_sha1_init(&c);
    fr_sha1_update(&c, pad, 64);
    fr_sha1_update(&c, a, alen);
    fr_sha1_update(&c, b, blen);
    fr_sha1_final(&c, inner);
    memset(pad, 0x5c, sizeof pad);
    for (i = 0; i < 20; i++) pad[i] ^= key[i];
    fr_sha1_init(&c);
    fr_sha1_update(&c, pad, 64);
    fr_sha1_update(&c, inner, 20);
    fr_sha1_final(&c, out);
}

fr_session *fr_session_new(const fr_session_config *cfg, fr_err *err) {
    fr_session_config zero;
    fr_session *s;
    fr_sha1_ctx c;
    fr_str parts[8];
    size_t np = 0, i;
    char *u;
    int fail = 0;
    if (!cfg) {
        memset(&zero, 0, sizeof zero);
        cfg = &zero;
    }
    if ((!cfg->secret_key.buf && cfg->secret_key.len) ||
        (!cfg->session_cookie.buf && cfg->session_cookie.len) ||
        (!cfg->path.buf && cfg->path.len) || (!cfg->same_site.buf && cfg->same_site.len) ||
        (!cfg->domain.buf && cfg->domain.len)) {
        if (err) err->code = 400, err->msg = "bad session configuration", err->pos = 0;
        return NULL;
    }
    if (!(s = (fr_session *)fr__mw_obj_new(cfg->alc, sizeof *s, err))) return NULL;
    fr_sha1_init(&c);
    fr_sha1_update(&c, "itsdangerous.Signersigner", 25);
    if (cfg->secret_key.len) fr_sha1_update(&c, cfg->secret_key.buf, cfg->secret_key.len);
    fr_sha1_final(&c, s->key);
    s->name = fr__mw_dup(&s->arena, cfg->session_cookie.buf ? cfg->session_cookie
                                                               : FR_STR("session"), &fail);
    s->path = fr__mw_dup(&s->arena, cfg->path.buf ? cfg->path : FR_STR("/"), &fail);
    if (cfg->max_age == FR_SESSION_NO_MAX_AGE) {
        s->has_max_age = 0;
    } else {
        s->has_max_age = 1;
        s->max_age = cfg->max_age == 0 ? 14 * 24 * 60 * 60
                                       : cfg->max_age == FR_SESSION_MAX_AGE_ZERO ? 0 : cfg->max_age;
    }
    /* "httponly; samesite=" + same_site [+ "; secure"] [+ "; domain=" + d] [+ "; partitioned"] */
    parts[np++] = FR_STR("httponly; samesite=");
    parts[np++] = cfg->same_site.buf ? cfg->same_site : FR_STR("lax");
    if (cfg->https_only) parts[np++] = FR_STR("; secure");
    if (cfg->domain.buf) parts[np++] = FR_STR("; domain="), parts[np++] = cfg->domain;
    if (cfg->partitioned) parts[np++] = FR_STR("; partitioned");
    s->flags = fr__mw_cat(&s->arena, parts, np, &fail);
    /* Latin-1 -> UTF-8 for the lookup by name */
    if (!fail && (u = (char *)fr_arena_alloc(&s->arena, s->name.len * 2 + 1)) != NULL) {
        size_t o = 0;
        for (i = 0; i < s->name.len; i++) {
            unsigned ch = (unsigned char)s->name.buf[i];
            if (ch < 0x80) u[o++] = (char)ch;
            else u[o++] = (char)(0xc0 | (ch >> 6)), u[o++] = (char)(0x80 | (ch & 0x3f));
        }
        s->name_utf8 = fr__mw_s(u, o);
    } else {
        fail = 1;
    }
    if (fail) return (fr_session *)fr__mw_obj_fail(s, err, -1, "out of memory", 0);
    return s;
}

void fr_session_free(fr_session *s) { fr__mw_obj_free(s); }

fr_str fr_session_cookie_name(const fr_session *s) {
    fr_str none = {NULL, 0};
    return s ? s->name : none;
}

int fr_session_sign(const fr_session *s, fr_str json, int64_t now, fr_buf *out) {
    uint8_t ts[8], mac[20];
    size_t tn = 0, b64len, mark;
    char tsb[16], sigb[32];
    long tl, sl;
    int i;
    if (!s || !out || now < 0 || (!json.buf && json.len)) return FR_MW_ERROR;
    for (i = 7; i >= 0; i--) { /* int_to_bytes: big-endian, leading zero bytes dropped */
        uint8_t byte = (uint8_t)((uint64_t)now >> (8 * i));
        if (byte || tn) ts[tn++] = byte;
    }
    b64len = fr_base64_encoded_len(json.len);
    if (json.len && !b64len) return FR_MW_ERROR;
    mark = out->len;
    if (fr_buf_reserve(out, b64len + 1) < 0) return FR_MW_ERROR;
    if (fr_base64_encode(out->buf + out->len, b64len + 1, json.buf ? json.buf : "", json.len) !=
        (long)b64len)
        return FR_MW_ERROR;
    out->len += b64len;
    tl = fr_base64_encode_ex(tsb, sizeof tsb, ts, tn, FR_B64_URL | FR_B64_NOPAD);
    if (tl < 0 || fr_buf_append_char(out, '.') < 0 || fr_buf_append(out, tsb, (size_t)tl) < 0) {
        out->len = mark;
        return FR_MW_ERROR;
    }
    fr__mw_hmac_sha1(s->key, out->buf + mark, out->len - mark, NULL, 0, mac);
    sl = fr_base64_encode_ex(sigb, sizeof sigb, mac, 20, FR_B64_URL | FR_B64_NOPAD);
    if (sl < 0 || fr_buf_append_char(out, '.') < 0 || fr_buf_append(out, sigb, (size_t)sl) < 0) {
        out->len = mark;
        return FR_MW_ERROR;
    }
    return 0;
}

/* itsdangerous.encoding.base64_decode: pad with '=' to a multiple of 4,
 * '-' '_' read as '+' '/', then Python's lenient b64decode. Decoded into
 * the arena; -1 when Python raises. */
static long fr__mw_b64url_loose(fr_arena *a, fr_str s, uint8_t **out) {
    size_t pad = (4 - s.len % 4) % 4, n = s.len + pad, i;
    char *t = (char *)fr_arena_alloc(a, n ? n : 1);
    uint8_t *d;
    if (!t || !(d = (uint8_t *)fr_arena_alloc(a, fr_base64_decoded_len(n) + 1))) return -2;
    for (i = 0; i < s.len; i++) t[i] = s.buf[i] == '-' ? '+' : s.buf[i] == '_' ? '/' : s.buf[i];
    for (; i < n; i++) t[i] = '=';
    *out = d;
    return fr_base64_decode_loose(d, fr_base64_decoded_len(n) + 1, t, n);
}

static const char *fr__mw_memrchr(const char *p, int c, size_t n) {
    while (n) {
        if (p[n - 1] == (char)c) return p + n - 1;
        n--;
    }
    return NULL;
}

int fr_session_unsign(const fr_session *s, fr_str value, int64_t now, fr_arena *arena,
                      fr_str *json) {
    const char *dot;
    fr_str payload, sig, v, tsb;
    uint8_t mac[20], *dec;
    uint64_t ts = 0;
    long n, i;
    char *plain;
    if (json) json->buf = NULL, json->len = 0;
    if (!s || !arena || !json || (!value.buf && value.len)) return FR_MW_ERROR;
    /* Signer.unsign: value "." signature, split at the last '.' */
    if (!value.len || !(dot = fr__mw_memrchr(value.buf, '.', value.len))) return 0;
    payload = fr__mw_s(value.buf, (size_t)(dot - value.buf));
    sig = fr__mw_s(dot + 1, value.len - payload.len - 1);
    n = fr__mw_b64url_loose(arena, sig, &dec);
    if (n == -2) return FR_MW_ERROR;
    if (n != 20) return 0;
    fr__mw_hmac_sha1(s->key, payload.buf, payload.len, NULL, 0, mac);
    if (!fr_ct_equal(mac, dec, 20)) return 0;
    /* TimestampSigner: payload = value "." timestamp */
    if (!payload.len || !(dot = fr__mw_memrchr(payload.buf, '.', payload.len))) return 0;
    v = fr__mw_s(payload.buf, (size_t)(dot - payload.buf));
    tsb = fr__mw_s(dot + 1, payload.len - v.len - 1);
    n = fr__mw_b64url_loose(arena, tsb, &dec);
    if (n == -2) return FR_MW_ERROR;
    if (n < 0 || n > 8) return 0; /* "Malformed timestamp" */
    for (i = 0; i < n; i++) ts = ts << 8 | dec[i];
    if (s->has_max_age) { /* age = now - ts; expired when age > max_age or age < 0 */
        if (now < 0 || (uint64_t)now < ts) return 0;
        if (s->max_age < 0 || (uint64_t)now - ts > (uint64_t)s->max_age) return 0;
    }
    /* Starlette: json.loads(b64decode(data)) -- b64decode raising is not a BadSignature */
    plain = (char *)fr_arena_alloc(arena, fr_base64_decoded_len(v.len) + 1);
    if (!plain) return FR_MW_ERROR;
    n = fr_base64_decode_loose(plain, fr_base64_decoded_len(v.len) + 1, v.buf ? v.buf : "", v.len);
    if (n < 0) return FR_MW_RAISES;
    plain[n] = 0;
    json->buf = plain;
    json->len = (size_t)n;
    return 1;
}

int fr_session_load(const fr_session *s, fr_str cookie_header, int64_t now, fr_arena *arena,
                    fr_str *json) {
    fr_str raw;
    char *d;
    long n;
    if (json) json->buf = NULL, json->len = 0;
    if (!s || !arena || !json) return FR_MW_ERROR;
    if (!cookie_header.buf ||
        !fr_kv_find(cookie_header, FR_KV_COOKIE, s->name_utf8, FR_KV_LAST, &raw))
        return 0;
    if (raw.len > (SIZE_MAX - 4) / 2 ||
        !(d = (char *)fr_arena_alloc(arena, FR_KV_DECODED_MAX(raw.len))))
        return FR_MW_ERROR;
    n = fr_kv_decode(FR_KV_COOKIE, raw, d, FR_KV_DECODED_MAX(raw.len));
    if (n < 0) return FR_MW_ERROR;
    return fr_session_unsign(s, fr__mw_s(d, (size_t)n), now, arena, json);
}

int fr_session_commit(const fr_session *s, fr_hlist *h, int flags, fr_str json, int64_t now) {
    fr_str parts[8], value;
    size_t np = 0;
    int fail = 0;
    if (!s || !h || !h->arena) return FR_MW_ERROR;
    if (flags & FR_SESSION_MODIFIED) flags |= FR_SESSION_ACCESSED;
    if ((flags & FR_SESSION_ACCESSED) && fr_hlist_add_vary(h, FR_STR("Cookie")) < 0)
        return FR_MW_ERROR;
    if (!(flags & FR_SESSION_MODIFIED)) return 0;
    if (flags & FR_SESSION_NONEMPTY) {
        fr_buf signed_ = {NULL, 0, 0};
        if (fr_session_sign(s, json, now, &signed_) < 0) {
            fr_buf_free(&signed_);
            return FR_MW_ERROR;
        }
        parts[np++] = s->name;
        parts[np++] = FR_STR("=");
        parts[np++] = fr__mw_dup(h->arena, fr__mw_s(signed_.buf, signed_.len), &fail);
        fr_buf_free(&signed_);
        parts[np++] = FR_STR("; path=");
        parts[np++] = s->path;
        parts[np++] = FR_STR("; ");
        if (s->has_max_age) {
            fr_str ma[3];
            ma[0] = FR_STR("Max-Age=");
            ma[1] = fr__mw_i64(h->arena, s->max_age, &fail);
            ma[2] = FR_STR("; ");
            if (!fail) parts[np++] = fr__mw_cat(h->arena, ma, 3, &fail);
        }
        parts[np++] = s->flags;
    } else if (flags & FR_SESSION_LOADED) {
        parts[np++] = s->name;
        parts[np++] = FR_STR("=null; path=");
        parts[np++] = s->path;
        parts[np++] = FR_STR("; expires=Thu, 01 Jan 1970 00:00:00 GMT; ");
        parts[np++] = s->flags;
    } else {
        return 0;
    }
    if (fail) return FR_MW_ERROR;
    value = fr__mw_cat(h->arena, parts, np, &fail);
    if (fail) return FR_MW_ERROR;
    return fr_hlist_append(h, FR_STR("set-cookie"), value);
}

/* ---- the middleware chain of an fr_app (see middleware.h) ----
 *
 * server.c calls fr__mw_before before the handler and routes fr_res_send /
 * fr_res_stream_* here for requests that have a run state. The head goes
 * through the `after` hooks innermost first until one asks for the body
 * (FR_MW_FILTER): from there on every body piece goes through the
 * filtering middlewares (fr__mw_push), and the `after` hooks further out
 * run when the first piece reaches them -- the order in which Starlette's
 * send wrappers see http.response.start when GZipMiddleware holds it. */

#define FR__MW_FILE_CHUNK 65536 /* Starlette's FileResponse.chunk_size */

struct fr__mw_chain {
    fr_middleware *items;
    size_t n, cap;
};

/* The on_done callback of a response an around layer captured. */
typedef struct fr__mw_done {
    fr_done_fn fn;
    void *ud;
    struct fr__mw_done *next;
} fr__mw_done;

/* A streamed capture (middleware.h: STREAMED CAPTURE): the producer's
 * pieces held for the around layer's owner. Under mu: the producer's
 * writes/end and the owner's take/pass/answer meet on any threads. */
typedef struct fr__mw_sc {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int used;      /* this request has one (mu, cv initialised) */
    int held;      /* the producer's pieces go to buf (not passed yet) */
    int passing;   /* fr_mw_pass is flushing buf: pieces still go to buf */
    int ended;     /* the producer called fr_res_stream_end */
    int cancelled; /* the owner answered first: the producer's writes answer -1 */
    int waiting;   /* fr_mw_take answered 0: wake on the next piece / the end */
    int full;      /* the producer was told FR_STREAM_FULL */
    int fin;       /* the owner's answer, deferred to the producer's end: 1 send, 2 stream end */
    int calling;   /* fn runs (outside mu) on calling_thr */
    pthread_t calling_thr;
    size_t layer;  /* the around layer */
    fr_buf buf;
    fr_stream_fn fn; /* the producer's flow callback (taken from the request) */
    void *ud;
    /* body filters inside the layer (a GZip): the producer's pieces pass
     * their `body` hooks on its own thread, held or passed as they come out
     * (fr__mw_sc_filter). Touched by the producer only. */
    int filt;      /* the segment layer+1..n-1 filters the body */
    int ffailed;   /* a filter failed: the rest of the stream is dropped */
    fr_mw_res fres; /* the head the filters see: a copy, no arena (read-only) */
} fr__mw_sc;

#define FR__MW_HOLD 16384 /* held bytes above which the producer is told FR_STREAM_FULL */

/* One request's run, in the request arena. The response being made passes
 * the layers lo..depth-1 (a "segment"): lo == 0 = out to the writer, else
 * the around layer lo-1 captures it (fr__mw_capture) and the next response
 * passes the segment further out. */
typedef struct fr__mw_run {
    const fr__mw_chain *chain;
    size_t n;     /* middlewares in the chain */
    size_t depth; /* middlewares lo..depth-1 wrap the response */
    size_t pos;   /* `after` has run for pos..depth-1 */
    size_t lo;
    size_t susp;  /* 1 + the around layer waiting for fr_mw_next; 0 = none */
    unsigned ncapt; /* responses captured so far */
    fr_handler h; /* the handler the chain wraps (fr_mw_next runs it) */
    void *hud;
    unsigned char *open; /* [n]: the around layer called fr_mw_next, waits for its capture */
    fr_buf cbuf;         /* a stream or file being captured */
    fr__mw_done *dones;  /* on_done of captured responses, innermost first */
    int sent;     /* fr_res_send / stream end claimed */
    int bypass, stream, head_out, filtering, transformed, failed;
    int file;     /* the segment's body is a file read by fr__mw_send_file: never held */
    unsigned char *want; /* [n]: the body hook filters this response */
    void **state;        /* [n] */
    fr_buf *out;         /* [n]: body hook output */
    fr_mw_res res;       /* the head while it is being decided */
    fr__mw_sc sc;        /* a streamed capture */
} fr__mw_run;

static fr__mw_run *fr__mw_get(fr_req *req) { return (fr__mw_run *)*fr__req_mw(req); }

FR__PRIV void fr__mw_chain_free(fr__mw_chain *c) {
    size_t i;
    if (!c) return;
    for (i = 0; i < c->n; i++)
        if (c->items[i].free_ud) c->items[i].free_ud(c->items[i].ud);
    FR_FREE(c->items);
    FR_FREE(c);
}

int fr_app_use(fr_app *app, const fr_middleware *mw) {
    fr__mw_chain **slot, *c;
    if (!mw) return -1;
    if (!app || fr__app_serving(app)) goto fail;
    slot = fr__app_mw(app);
    if (!*slot) {
        c = (fr__mw_chain *)FR_MALLOC(sizeof *c);
        if (!c) goto fail;
        memset(c, 0, sizeof *c);
        *slot = c;
    }
    c = *slot;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        fr_middleware *items = (fr_middleware *)FR_REALLOC(c->items, cap * sizeof *items);
        if (!items) goto fail;
        c->items = items;
        c->cap = cap;
    }
    c->items[c->n++] = *mw;
    return 0;
fail:
    if (mw->free_ud) mw->free_ud(mw->ud);
    return -1;
}

size_t fr_app_num_middleware(const fr_app *app) {
    fr__mw_chain *c = app ? *fr__app_mw((fr_app *)(uintptr_t)app) : NULL;
    return c ? c->n : 0;
}

void fr_mw_bypass(fr_req *req) {
    fr__mw_run *run = req ? fr__mw_get(req) : NULL;
    if (run) run->bypass = 1;
}

/* The response's head as the hooks see it. */
static void fr__mw_res_load(fr_req *req, fr__mw_run *run, int kind) {
    fr__res_view v;
    fr__req_res_get(req, &v);
    run->res.status = v.status;
    run->res.headers.items = v.rh;
    run->res.headers.len = v.nrh;
    run->res.headers.cap = v.caprh;
    run->res.headers.arena = fr_req_arena(req);
    run->res.kind = kind;
    run->res.body = kind == FR_MW_RES_BODY ? fr__mw_s((const char *)v.body, v.body_len)
                                           : fr__mw_s(NULL, 0);
    run->res.file_len = kind == FR_MW_RES_FILE ? v.file_len : 0;
}

/* Write the decided head back. A content-length a hook set is a stream's
 * length; the engine frames complete bodies itself (the writer adds its
 * own content-length: a hook's never reaches the wire). */
static void fr__mw_res_store(fr_req *req, fr__mw_run *run, int stream) {
    fr__res_view v;
    fr_str cl = fr_hlist_get(&run->res.headers, FR_STR("content-length"));
    int64_t n;
    fr__req_res_get(req, &v);
    if (stream && cl.buf && fr_str_to_i64(cl, &n) == 0 && n >= 0) v.clen = n;
    else if (stream && run->transformed) v.clen = -1;
    if (cl.buf) fr_hlist_remove(&run->res.headers, FR_STR("content-length"));
    v.status = run->res.status;
    v.rh = run->res.headers.items;
    v.nrh = run->res.headers.len;
    v.caprh = run->res.headers.cap;
    fr__req_res_set(req, &v);
}

/* `after` of middleware j. -1 on error. */
static int fr__mw_after1(fr_req *req, fr__mw_run *run, size_t j) {
    const fr_middleware *m = &run->chain->items[j];
    int r = m->after ? m->after(req, &run->res, run->state[j], m->ud) : 0;
    if (r < 0) return -1;
    if (r == FR_MW_FILTER && m->body) {
        run->want[j] = 1;
        run->filtering = 1;
    }
    return 0;
}

/* Run `after` outward until a middleware wants the body. 1 = the head is
 * held there (the first piece decides the rest), 0 = the head is final,
 * -1 = error. */
static int fr__mw_head(fr_req *req, fr__mw_run *run) {
    while (run->pos > run->lo) {
        size_t j = --run->pos;
        if (fr__mw_after1(req, run, j) < 0) return -1;
        if (run->want[j]) return 1;
    }
    return 0;
}

/* One body piece through the filters, innermost first (and the `after`
 * hooks not run yet, each when the piece reaches it). *data / *len become
 * what comes out; *owner the index of the buffer holding it (n = the
 * caller's bytes). 0 / -1. */
static int fr__mw_push(fr_req *req, fr__mw_run *run, const void **data, size_t *len, int more,
                       size_t *owner) {
    size_t j = run->depth;
    *owner = run->n;
    while (j-- > run->lo) {
        const fr_middleware *m = &run->chain->items[j];
        int r;
        if (j < run->pos) {
            run->pos = j;
            if (fr__mw_after1(req, run, j) < 0) return -1;
        }
        if (!run->want[j]) continue;
        run->out[j].len = 0;
        r = m->body(req, &run->res, run->state[j], *data, *len, more, &run->out[j], m->ud);
        if (r < 0) return -1;
        if (r == 1) {
            *data = run->out[j].len ? run->out[j].buf : "";
            *len = run->out[j].len;
            *owner = j;
            run->transformed = 1;
        }
    }
    return 0;
}

static void fr__mw_free_buf(void *ud, const void *data) {
    (void)ud;
    FR_FREE((void *)(uintptr_t)data);
}

/* ---- around layers (middleware.h: AROUND LAYERS) ---- */

static int fr__mw_capturing_run(const fr__mw_run *run) { return run->lo > 0; }
static int fr__mw_before_from(fr_req *req, fr__mw_run *run, size_t from);
static size_t fr__mw_read(const fr__res_view *v, uint64_t off, char *buf, size_t want,
                          int *unseekable);

/* The segment's complete response (in the request) reached the around
 * layer lo-1: the next response goes out from that layer, the captured one
 * is handed to its `capture` hook -- last: another thread may answer as
 * soon as the hook has handed it on. */
static int fr__mw_capture_kind(fr_req *req, fr__mw_run *run, int kind, int streaming) {
    size_t j = run->lo - 1, k;
    const fr_middleware *m = &run->chain->items[j];
    fr__mw_done *d;
    fr__res_view v;
    int bypass = run->bypass;
    run->open[j] = 0;
    run->ncapt++;
    run->depth = run->pos = j;
    for (k = j; k > 0 && !run->open[k - 1]; k--) {}
    run->lo = k;
    run->sent = run->bypass = run->stream = run->head_out = 0;
    run->filtering = run->transformed = run->failed = run->file = 0;
    d = (fr__mw_done *)fr_arena_alloc(fr_req_arena(req), sizeof *d);
    if (d) { /* the captured response's on_done runs at the end, before the outward one's */
        fr__mw_done **tail = &run->dones;
        memset(d, 0, sizeof *d);
        fr__req_done_take(req, &d->fn, &d->ud);
        while (*tail) tail = &(*tail)->next;
        if (d->fn) *tail = d;
    }
    fr__req_res_get(req, &v);
    if (kind == FR_MW_RES_STREAM && v.clen >= 0) kind = FR_MW_RES_BODY; /* it said its length */
    v.clen = -1;
    fr__req_res_set(req, &v);
    fr__mw_res_load(req, run, FR_MW_RES_BODY);
    run->res.kind = kind;
    run->res.bypass = bypass;
    run->res.streaming = streaming;
    if (m->capture) m->capture(req, &run->res, run->state[j], m->ud);
    return 0;
}

static int fr__mw_capture(fr_req *req, fr__mw_run *run) {
    return fr__mw_capture_kind(req, run, FR_MW_RES_BODY, 0);
}

/* Capture the collected stream or file (run->cbuf) as the complete body. */
static int fr__mw_capture_buf(fr_req *req, fr__mw_run *run, int kind) {
    fr_buf b = run->cbuf;
    memset(&run->cbuf, 0, sizeof run->cbuf);
    if (!b.len) {
        fr_buf_free(&b);
        fr_res_body_take(req, NULL, 0, NULL, NULL);
    } else if (fr_res_body_take(req, b.buf, b.len, fr__mw_free_buf, NULL) < 0) {
        fr_buf_free(&b);
    }
    return fr__mw_capture_kind(req, run, kind, 0);
}

/* A file response reaching an around layer: its bytes become the body. */
static int fr__mw_capture_file(fr_req *req, fr__mw_run *run, const fr__res_view *v) {
    int unseekable = 0;
    size_t want = v->is_head ? 0 : (size_t)v->file_len;
    run->cbuf.len = 0;
    if (want && fr_buf_reserve(&run->cbuf, want) == 0)
        run->cbuf.len = fr__mw_read(v, 0, run->cbuf.buf, want, &unseekable);
    return fr__mw_capture_buf(req, run, FR_MW_RES_FILE);
}

int fr_mw_next(fr_req *req) {
    fr__mw_run *run = req ? fr__mw_get(req) : NULL;
    size_t j;
    unsigned nc;
    int rc;
    if (!run || !run->susp) return -1;
    j = run->susp - 1;
    run->susp = 0;
    run->open[j] = 1;
    run->lo = j + 1;
    if (fr__mw_before_from(req, run, j + 1)) return 0; /* answered, or another around waits */
    nc = run->ncapt;
    rc = run->h ? run->h(req, run->hud) : fr_res_default(req);
    /* FR_DONE without an answer: the response as built so far */
    if (rc != FR_PENDING && run->ncapt == nc && !run->sent && !run->stream) fr_res_send(req);
    return 0;
}

void fr_mw_headers_clear(fr_req *req) {
    fr__res_view v;
    if (!req) return;
    fr__req_res_get(req, &v);
    v.nrh = 0;
    fr__req_res_set(req, &v);
}

int fr_mw_capturing(fr_req *req, void **state) {
    fr__mw_run *run = req ? fr__mw_get(req) : NULL;
    if (state) *state = NULL;
    if (!run || !fr__mw_capturing_run(run)) return 0;
    if (state) *state = run->state[run->lo - 1];
    return 1;
}

/* The heads of the outer middlewares (fr_middleware.outer) over an answer
 * that bypasses the chain: a 500 the server-error layer makes. */
static void fr__mw_outer(fr_req *req, fr__mw_run *run, int kind) {
    size_t j, depth = run->depth < run->n ? run->depth : run->n;
    int any = 0;
    for (j = run->lo; j < depth; j++) any |= run->chain->items[j].outer && run->chain->items[j].after;
    if (!any) return;
    fr__mw_res_load(req, run, kind);
    for (j = depth; j-- > run->lo;) {
        const fr_middleware *m = &run->chain->items[j];
        if (m->outer && m->after) (void)m->after(req, &run->res, run->state[j], m->ud);
    }
    fr__mw_res_store(req, run, kind == FR_MW_RES_STREAM);
}

/* Starlette's ServerErrorMiddleware answer, outside every middleware. */
static int fr__mw_fail_complete(fr_req *req, fr__mw_run *run) {
    static const char msg[] = "Internal Server Error";
    fr__res_view v;
    fr__req_res_get(req, &v);
    v.status = 500;
    v.rh = NULL;
    v.nrh = v.caprh = 0;
    fr__req_res_set(req, &v);
    run->bypass = 1;
    fr_res_header(req, "content-type", "text/plain; charset=utf-8");
    fr_res_body_take(req, msg, sizeof msg - 1, NULL, NULL);
    if (fr__mw_capturing_run(run)) return fr__mw_capture(req, run);
    fr__mw_outer(req, run, FR_MW_RES_BODY);
    return fr__res_send_raw(req);
}

/* ---- streamed capture (middleware.h: STREAMED CAPTURE) ---- */

#define FR__MW_SC_NO (-2) /* not the held stream's: the segment's path */

/* The head of the segment's stream is decided (stored): take it at its
 * head? Only the handler's own stream (the segment reaches the innermost
 * layer), not a file, without a declared length (a filter that transformed
 * it dropped the length), once per request. */
static int fr__mw_sc_can(fr_req *req, fr__mw_run *run) {
    fr__res_view v;
    if (!run->chain->items[run->lo - 1].capture_stream || run->sc.used || run->file ||
        run->bypass || run->failed || run->depth != run->n)
        return 0;
    fr__req_res_get(req, &v);
    return v.clen < 0;
}

/* Call the producer's flow callback (mu held; released during the call,
 * the producer's end waits for it). Returns the owner's deferred answer
 * when the callback itself ended the stream (the caller runs it). */
static int fr__mw_sc_event(fr_req *req, fr__mw_sc *sc, int ev) {
    fr_stream_fn fn = sc->fn;
    void *ud = sc->ud;
    int fin;
    if (!fn || sc->ended || sc->calling) return 0;
    if (ev == FR_STREAM_GONE) sc->fn = NULL;
    sc->calling = 1;
    sc->calling_thr = pthread_self();
    pthread_mutex_unlock(&sc->mu);
    fn(req, ev, ud);
    pthread_mutex_lock(&sc->mu);
    sc->calling = 0;
    pthread_cond_broadcast(&sc->cv);
    fin = sc->fin < 0 ? -sc->fin : 0; /* the end came inside the call */
    if (fin) sc->fin = 0;
    return fin;
}

/* The owner waits in fr_mw_take: a piece or the end is here (mu held). */
static void fr__mw_sc_wake(fr_req *req, fr__mw_run *run) {
    const fr_middleware *m = &run->chain->items[run->sc.layer];
    if (!run->sc.waiting) return;
    run->sc.waiting = 0;
    if (m->wake) m->wake(req, run->state[run->sc.layer], m->ud);
}

/* Capture the segment's stream at its head (stored); data is the first
 * piece (more = 0: also its end). */
static int fr__mw_sc_start(fr_req *req, fr__mw_run *run, const void *data, size_t len, int more) {
    fr__mw_sc *sc = &run->sc;
    int r = 0;
    pthread_mutex_init(&sc->mu, NULL);
    pthread_cond_init(&sc->cv, NULL);
    sc->used = sc->held = 1;
    sc->ended = !more;
    sc->layer = run->lo - 1;
    sc->fn = NULL;
    sc->ud = NULL;
    sc->filt = run->filtering;
    if (sc->filt && more) { /* the filters' own head: the owner edits the request's */
        fr_hlist *h = &sc->fres.headers;
        sc->fres = run->res;
        h->arena = NULL;
        h->cap = h->len;
        h->items = h->len ? (fr_header *)fr_arena_alloc(fr_req_arena(req), h->len * sizeof *h->items)
                          : NULL;
        if (h->items) memcpy(h->items, run->res.headers.items, h->len * sizeof *h->items);
        else h->len = h->cap = 0;
    }
    fr__req_stream_fn_swap(req, &sc->fn, &sc->ud); /* the producer's, for the engine to call */
    if (sc->ended) sc->fn = NULL;
    if (len && fr_buf_append(&sc->buf, data, len) < 0) r = -1;
    else if (sc->buf.len > FR__MW_HOLD) r = sc->full = FR_STREAM_FULL;
    fr__mw_capture_kind(req, run, FR_MW_RES_STREAM, 1); /* last: the owner may answer at once */
    return r;
}

static int fr__mw_send_now(fr_req *req, fr__mw_run *run);
static int fr__mw_stream_write_seg(fr_req *req, const void *data, size_t len);
static int fr__mw_stream_end_seg(fr_req *req);

/* A piece of the producer through the body filters inside the layer
 * (fr__mw_push over the held segment; their `after` hooks ran on the first
 * piece): *data / *len become what comes out. Producer's thread, mu not
 * held. 0 / -1 (the filter failed: the stream ends there). */
static int fr__mw_sc_filter(fr_req *req, fr__mw_run *run, const void **data, size_t *len,
                            int more) {
    fr__mw_sc *sc = &run->sc;
    size_t j = run->n;
    if (sc->ffailed) return -1;
    while (j-- > sc->layer + 1) {
        const fr_middleware *m = &run->chain->items[j];
        int r;
        if (!run->want[j]) continue;
        run->out[j].len = 0;
        r = m->body(req, &sc->fres, run->state[j], *data, *len, more, &run->out[j], m->ud);
        if (r < 0) {
            sc->ffailed = 1;
            return -1;
        }
        if (r == 1) {
            *data = run->out[j].len ? run->out[j].buf : "";
            *len = run->out[j].len;
        }
    }
    return 0;
}

/* The producer (every call before its end) with filters inside the layer:
 * its piece through them first (FR__MW_SC_NO: not the producer's, -1:
 * cancelled or failed, 0: *data / *len filtered; `skip`: left as they are,
 * for an end after fr_res_stream_abort, which Starlette's GZip never sees
 * end: no flush). */
static int fr__mw_sc_prefilter(fr_req *req, fr__mw_run *run, const void **data, size_t *len,
                               int more, int skip) {
    fr__mw_sc *sc = &run->sc;
    int st;
    pthread_mutex_lock(&sc->mu);
    st = sc->ended ? FR__MW_SC_NO : sc->cancelled ? -1 : 0;
    pthread_mutex_unlock(&sc->mu);
    if (st || skip) return st;
    if (*len && !*data) return -1;
    return fr__mw_sc_filter(req, run, data, len, more);
}

/* The producer's write while its stream is held (once it has ended, the
 * untagged calls are an outer layer's owner's: the segment's path). With
 * filters inside the layer every producer's piece passes them first, held
 * or (passed) sent on through the segment. */
static int fr__mw_sc_write(fr_req *req, fr__mw_run *run, const void *data, size_t len) {
    fr__mw_sc *sc = &run->sc;
    int r = 0;
    if (sc->filt) { /* only the producer reads or writes filt */
        r = fr__mw_sc_prefilter(req, run, &data, &len, 1, 0);
        if (r) return r;
    }
    pthread_mutex_lock(&sc->mu);
    if (!sc->held || sc->ended) {
        int passed = sc->filt && !sc->ended;
        pthread_mutex_unlock(&sc->mu);
        return passed ? fr__mw_stream_write_seg(req, data, len) : FR__MW_SC_NO;
    }
    if (sc->cancelled || (len && !data)) r = -1;
    else if (len && fr_buf_append(&sc->buf, data, len) < 0) r = -1;
    else if (sc->buf.len > FR__MW_HOLD) r = sc->full = FR_STREAM_FULL;
    if (r >= 0 && len) fr__mw_sc_wake(req, run);
    pthread_mutex_unlock(&sc->mu);
    return r;
}

/* The owner's deferred answer (fin 1: fr_res_send, 2: its stream's end). */
static int fr__mw_sc_fin(fr_req *req, int fin) {
    if (fin == 1) return fr__mw_send_now(req, fr__mw_get(req));
    if (fin == 2) return fr__mw_stream_end_seg(req);
    return 0;
}

/* The producer's end while its stream is held: the owner's answer that
 * waited for it goes out now. `aborted`: the producer failed
 * (fr_res_stream_abort): the filters inside are not flushed. */
static int fr__mw_sc_end(fr_req *req, fr__mw_run *run, int aborted) {
    fr__mw_sc *sc = &run->sc;
    const void *tail = "";
    size_t tlen = 0;
    int fin;
    if (sc->filt) { /* the filters' flush: the tail, held or sent before the end */
        int r = fr__mw_sc_prefilter(req, run, &tail, &tlen, 0, aborted);
        if (r == FR__MW_SC_NO) return r;
        if (r) tlen = 0; /* cancelled or failed: the stream just ends */
    }
    pthread_mutex_lock(&sc->mu);
    if (!sc->held || sc->ended) {
        int passed = sc->filt && !sc->ended;
        if (passed) sc->ended = 1; /* every later call is the segment's */
        pthread_mutex_unlock(&sc->mu);
        if (passed && tlen && fr__mw_stream_write_seg(req, tail, tlen) < 0) {
            fr__mw_stream_end_seg(req);
            return -1;
        }
        return FR__MW_SC_NO;
    }
    if (tlen && !sc->cancelled && fr_buf_append(&sc->buf, tail, tlen) < 0) tlen = 0;
    if (sc->calling && pthread_equal(sc->calling_thr, pthread_self())) {
        sc->ended = 1; /* inside its flow callback: fr__mw_sc_event's caller answers */
        sc->fn = NULL;
        sc->fin = -sc->fin;
        fr__mw_sc_wake(req, run);
        pthread_mutex_unlock(&sc->mu);
        return 0;
    }
    while (sc->calling) pthread_cond_wait(&sc->cv, &sc->mu); /* no flow call after the end */
    sc->ended = 1;
    sc->fn = NULL;
    fin = sc->fin;
    sc->fin = 0;
    fr__mw_sc_wake(req, run);
    pthread_mutex_unlock(&sc->mu);
    return fr__mw_sc_fin(req, fin); /* the request may be gone */
}

/* The owner answers (fin 1: fr_res_send, 2: its stream's end) while the
 * producer still writes: cancel it, answer when it has ended. 1 = deferred. */
static int fr__mw_sc_defer(fr_req *req, fr__mw_run *run, int fin) {
    fr__mw_sc *sc = &run->sc;
    int now;
    if (!sc->used) return 0;
    pthread_mutex_lock(&sc->mu);
    if (!sc->held || sc->passing || sc->ended || sc->fin) {
        pthread_mutex_unlock(&sc->mu);
        return 0;
    }
    sc->cancelled = 1;
    sc->fin = fin;
    sc->buf.len = 0;
    now = fr__mw_sc_event(req, sc, FR_STREAM_GONE);
    pthread_mutex_unlock(&sc->mu);
    if (now) fr__mw_sc_fin(req, now);
    return 1;
}

size_t fr_mw_res_raw_headers(const fr_mw_res *res, fr_header *out, size_t cap, char num[24]) {
    size_t i, n = 0, nh = res ? res->headers.len : 0;
    int cl = res && res->kind != FR_MW_RES_STREAM &&
             !(res->status < 200 || res->status == 204 || res->status == 304);
    if (!res || !out || !num || cap < nh + (size_t)cl) return 0;
    snprintf(num, 24, "%zu", res->body.len);
    for (i = 0; i <= nh; i++) {
        const fr_header *h = i < nh ? &res->headers.items[i] : NULL;
        if (cl && (!h || fr_str_ieq_c(h->name, "content-type"))) {
            out[n].name = FR_STR("content-length");
            out[n++].value = fr__mw_s(num, strlen(num));
            cl = 0;
        }
        if (h) out[n++] = *h;
    }
    return n;
}

int fr_mw_take(fr_req *req, fr_buf *out) {
    fr__mw_run *run = req ? fr__mw_get(req) : NULL;
    fr__mw_sc *sc;
    int r;
    if (!run || !out || !run->sc.used) return -1;
    sc = &run->sc;
    pthread_mutex_lock(&sc->mu);
    if (!sc->held || sc->passing || sc->cancelled) {
        r = -1;
    } else if (sc->buf.len) {
        r = fr_buf_append(out, sc->buf.buf, sc->buf.len) < 0 ? -1 : sc->ended ? 2 : 1;
        if (r > 0) sc->buf.len = 0;
        if (r > 0 && sc->full) {
            sc->full = 0;
            (void)fr__mw_sc_event(req, sc, FR_STREAM_DRAINED);
        }
    } else if (sc->ended) {
        r = 2;
    } else {
        sc->waiting = 1;
        r = 0;
    }
    pthread_mutex_unlock(&sc->mu);
    return r;
}

int fr_mw_pass(fr_req *req) {
    fr__mw_run *run = req ? fr__mw_get(req) : NULL;
    fr__mw_sc *sc;
    int rc;
    if (!run || !run->sc.used) return -1;
    sc = &run->sc;
    pthread_mutex_lock(&sc->mu);
    if (!sc->held || sc->passing || sc->cancelled) {
        pthread_mutex_unlock(&sc->mu);
        return -1;
    }
    sc->passing = 1; /* the producer's pieces still go to buf until it is flushed */
    pthread_mutex_unlock(&sc->mu);
    rc = fr__mw_stream_begin(req);
    for (;;) {
        fr_buf b;
        int end;
        pthread_mutex_lock(&sc->mu);
        b = sc->buf;
        memset(&sc->buf, 0, sizeof sc->buf);
        if (!b.len && sc->full && !sc->ended && rc >= 0) { /* the producer waits: resume it */
            sc->full = 0;
            (void)fr__mw_sc_event(req, sc, FR_STREAM_DRAINED);
            pthread_mutex_unlock(&sc->mu);
            continue;
        }
        if (!b.len || rc < 0) {
            end = sc->ended;
            if (rc < 0 && !end) { /* the client left: the producer stops, its end ends */
                sc->cancelled = 1;
                sc->fin = 2;
                end = fr__mw_sc_event(req, sc, FR_STREAM_GONE) != 0;
            } else if (!end) {
                fr_stream_fn f = sc->fn;
                void *u = sc->ud;
                sc->held = sc->passing = 0; /* from now on the producer writes outward */
                fr__req_stream_fn_swap(req, &f, &u);
            } else {
                sc->held = sc->passing = 0; /* over: every later call is the segment's */
            }
            pthread_mutex_unlock(&sc->mu);
            fr_buf_free(&b);
            return end ? (fr__mw_stream_end_seg(req) < 0 || rc < 0 ? -1 : 0) : rc < 0 ? -1 : 0;
        }
        pthread_mutex_unlock(&sc->mu);
        if (fr__mw_stream_write_seg(req, b.buf, b.len) < 0) rc = -1;
        fr_buf_free(&b);
    }
}

/* A stream whose head is out: emit a piece; the end releases the request
 * (it may be gone afterwards). */
static int fr__mw_emit(fr_req *req, fr__mw_run *run, const void *data, size_t len, int more) {
    int rc = 0;
    if (fr__mw_capturing_run(run)) { /* collected for the around layer */
        if (!run->head_out) {
            fr__mw_res_store(req, run, 1);
            if (fr__mw_sc_can(req, run)) return fr__mw_sc_start(req, run, data, len, more);
            run->head_out = 1;
            run->cbuf.len = 0;
        }
        if (len && !run->failed && fr_buf_append(&run->cbuf, data, len) < 0) run->failed = 1;
        return more ? 0 : fr__mw_capture_buf(req, run, FR_MW_RES_STREAM);
    }
    if (!run->head_out) {
        fr__mw_res_store(req, run, 1);
        run->head_out = 1;
        rc = fr__res_stream_begin_raw(req);
    }
    if (len) {
        int w = fr__res_stream_write_raw(req, data, len); /* FR_STREAM_FULL passes on */
        if (w < 0) rc = -1;
        else if (rc == 0) rc = w;
    }
    if (!more) return fr__res_stream_end_raw(req) < 0 ? -1 : rc;
    return rc;
}

/* A body filter failed on a stream: a 500 if the head is still held (as
 * ServerErrorMiddleware would answer), else the body just ends early. */
static void fr__mw_fail_stream(fr_req *req, fr__mw_run *run) {
    static const char msg[] = "Internal Server Error";
    run->failed = 1;
    if (run->head_out) return;
    if (fr__mw_capturing_run(run)) { /* the 500 is captured when the stream ends */
        run->bypass = 1;
        run->res.status = 500;
        fr_hlist_init(&run->res.headers, fr_req_arena(req));
        fr_hlist_append(&run->res.headers, FR_STR("content-type"), FR_STR("text/plain; charset=utf-8"));
        fr__mw_res_store(req, run, 1);
        run->head_out = 1;
        run->cbuf.len = 0;
        fr_buf_append(&run->cbuf, msg, sizeof msg - 1);
        return;
    }
    run->res.status = 500;
    run->transformed = 1; /* not the stream's declared length any more */
    fr_hlist_init(&run->res.headers, fr_req_arena(req));
    fr_hlist_append(&run->res.headers, FR_STR("content-type"), FR_STR("text/plain; charset=utf-8"));
    fr__mw_res_store(req, run, 1);
    fr__mw_outer(req, run, FR_MW_RES_STREAM);
    run->head_out = 1;
    if (fr__res_stream_begin_raw(req) == 0) fr__res_stream_write_raw(req, msg, sizeof msg - 1);
}

/* The `before` hooks from middleware `from` inward: 0 = run the handler,
 * 1 = a middleware answered, 2 = an around layer took the request (it may
 * already be answered and gone on another thread: run is not touched). */
static int fr__mw_before_from(fr_req *req, fr__mw_run *run, size_t from) {
    const fr__mw_chain *c = run->chain;
    size_t j;
    for (j = from; j < run->n; j++) {
        const fr_middleware *m = &c->items[j];
        unsigned nc = run->ncapt;
        int r;
        if (!m->before) continue;
        run->depth = run->pos = j; /* an answer made now passes only the outer ones */
        run->susp = j + 1;         /* before the hook: fr_mw_next may come at once */
        r = m->before(req, run->state[j], m->ud);
        if (r == FR_MW_AROUND) return 2;
        run->susp = 0;
        if (r == FR_MW_NEXT) continue;
        if (run->ncapt != nc) return 1; /* its answer was captured: an around layer has it */
        if (r < 0) {
            if (!run->sent) {
                run->sent = 1;
                fr__mw_fail_complete(req, run);
            }
        } else if (!run->sent && !run->stream) {
            fr_res_send(req);
        }
        return 1;
    }
    run->depth = run->pos = run->n;
    return 0;
}

FR__PRIV int fr__mw_before(fr_req *req, fr_handler h, void *hud) {
    fr_app *app = fr_req_app(req);
    const fr__mw_chain *c = *fr__app_mw(app);
    fr_arena *a = fr_req_arena(req);
    fr__mw_run *run;
    size_t n, j;
    if (!c || !c->n) return 0;
    n = c->n;
    run = (fr__mw_run *)fr_arena_alloc(a, sizeof *run);
    if (run) {
        memset(run, 0, sizeof *run);
        run->want = (unsigned char *)fr_arena_alloc(a, n);
        run->state = (void **)fr_arena_alloc(a, n * sizeof *run->state);
        run->out = (fr_buf *)fr_arena_alloc(a, n * sizeof *run->out);
        run->open = (unsigned char *)fr_arena_alloc(a, n);
    }
    if (!run || !run->want || !run->state || !run->out || !run->open) goto oom;
    memset(run->want, 0, n);
    memset(run->open, 0, n);
    memset(run->out, 0, n * sizeof *run->out);
    for (j = 0; j < n; j++) {
        size_t sz = c->items[j].state_size;
        run->state[j] = NULL;
        if (!sz) continue;
        if (!(run->state[j] = fr_arena_alloc(a, sz))) goto oom;
        memset(run->state[j], 0, sz);
    }
    run->chain = c;
    run->n = n;
    run->h = h;
    run->hud = hud;
    *fr__req_mw(req) = run;
    return fr__mw_before_from(req, run, 0);
oom: /* never run the handler without its middleware (a TrustedHost, say) */
    fr_res_text(req, 500, NULL, "Internal Server Error", 21);
    return 1;
}

/* Up to `want` bytes of the file at `off` (pread; read for an unseekable
 * fd). Fewer when the file is shorter than promised. */
static size_t fr__mw_read(const fr__res_view *v, uint64_t off, char *buf, size_t want,
                          int *unseekable) {
    size_t got = 0;
    while (got < want) {
        ssize_t r = -1;
        errno = ESPIPE;
        if (!*unseekable) {
            do r = pread(v->fd, buf + got, want - got, (off_t)(v->file_off + off + got));
            while (r < 0 && errno == EINTR);
        }
        if (r < 0 && errno == ESPIPE) {
            *unseekable = 1;
            do r = read(v->fd, buf + got, want - got);
            while (r < 0 && errno == EINTR);
        }
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

/* Hand the piece to the engine as the complete body: `len` bytes of buf,
 * or of filter `owner`'s buffer (owner < n; buf is then freed). */
static int fr__mw_set_body(fr_req *req, fr__mw_run *run, char *buf, size_t len, size_t owner) {
    char *body = buf;
    if (owner < run->n) {
        body = run->out[owner].buf;
        memset(&run->out[owner], 0, sizeof run->out[owner]);
        FR_FREE(buf);
    }
    if (!len) {
        FR_FREE(body);
        return fr_res_body_take(req, NULL, 0, NULL, NULL);
    }
    if (fr_res_body_take(req, body, len, fr__mw_free_buf, NULL) < 0) {
        FR_FREE(body);
        return -1;
    }
    return 0;
}

/* A file through the body filters, in the pieces Starlette's FileResponse
 * sends: 64 KiB while they come full, then a shorter last one (HEAD: one
 * empty piece). One piece makes a complete body (HEAD unfiltered: the file
 * as it is), more make a stream. */
/* A stream whose filter failed ends: captured as it is, else ended. */
static int fr__mw_end_failed(fr_req *req, fr__mw_run *run) {
    if (fr__mw_capturing_run(run)) return fr__mw_capture_buf(req, run, FR_MW_RES_STREAM);
    return fr__res_stream_end_raw(req);
}

/* A complete response whose head is decided: out, or captured. */
static int fr__mw_out_complete(fr_req *req, fr__mw_run *run, const fr__res_view *v) {
    if (!fr__mw_capturing_run(run)) return fr__res_send_raw(req);
    if (v && v->fd >= 0) return fr__mw_capture_file(req, run, v);
    return fr__mw_capture(req, run);
}

static int fr__mw_send_file(fr_req *req, fr__mw_run *run, const fr__res_view *v) {
    uint64_t off = 0;
    char *buf = (char *)FR_MALLOC(FR__MW_FILE_CHUNK);
    int unseekable = 0, first = 1;
    if (!buf) return fr__mw_fail_complete(req, run);
    run->file = 1;
    for (;;) {
        size_t want = 0, got, len, owner;
        const void *data = buf;
        int more, rc;
        if (!v->is_head)
            want = v->file_len - off < FR__MW_FILE_CHUNK ? (size_t)(v->file_len - off)
                                                         : (size_t)FR__MW_FILE_CHUNK;
        got = fr__mw_read(v, off, buf, want, &unseekable);
        off += got;
        more = got == FR__MW_FILE_CHUNK;
        len = got;
        if (fr__mw_push(req, run, &data, &len, more, &owner) < 0) {
            FR_FREE(buf);
            if (first) return fr__mw_fail_complete(req, run);
            fr__mw_fail_stream(req, run);
            fr__mw_end_failed(req, run);
            return -1;
        }
        if (first && !more) {
            if (v->is_head && !run->transformed) {
                FR_FREE(buf);
            } else if (fr__mw_set_body(req, run, buf, len, owner) < 0) {
                return fr__mw_fail_complete(req, run);
            }
            fr__mw_res_store(req, run, 0);
            return fr__mw_out_complete(req, run, NULL);
        }
        if (first) {
            run->stream = 1; /* the file goes out as a stream */
            first = 0;
        }
        rc = fr__mw_emit(req, run, data, len, more); /* !more: the request may be gone */
        if (!more) {
            FR_FREE(buf);
            return rc;
        }
        if (rc < 0) { /* the client left */
            FR_FREE(buf);
            fr__res_stream_end_raw(req);
            return -1;
        }
    }
}

FR__PRIV int fr__mw_send(fr_req *req) {
    fr__mw_run *run = fr__mw_get(req);
    if (run->sc.used && fr__mw_sc_defer(req, run, 1)) return 0; /* after the held stream's end */
    return fr__mw_send_now(req, run);
}

static int fr__mw_send_now(fr_req *req, fr__mw_run *run) {
    fr__res_view v;
    int r;
    if (run->stream) return fr__mw_stream_end_seg(req);
    if (run->sent) return -1;
    run->sent = 1;
    if (run->bypass) {
        fr__req_res_get(req, &v);
        if (fr__mw_capturing_run(run)) return fr__mw_out_complete(req, run, &v);
        fr__mw_outer(req, run, v.fd >= 0 ? FR_MW_RES_FILE : FR_MW_RES_BODY);
        return fr__res_send_raw(req);
    }
    fr__req_res_get(req, &v);
    fr__mw_res_load(req, run, v.fd >= 0 ? FR_MW_RES_FILE : FR_MW_RES_BODY);
    r = fr__mw_head(req, run);
    if (r < 0) return fr__mw_fail_complete(req, run);
    if (r == 1 && v.fd >= 0) return fr__mw_send_file(req, run, &v);
    if (r == 1) {
        const void *data = v.body_len ? v.body : "";
        size_t len = v.body_len, owner;
        if (fr__mw_push(req, run, &data, &len, 0, &owner) < 0) return fr__mw_fail_complete(req, run);
        if (owner < run->n && fr__mw_set_body(req, run, NULL, len, owner) < 0)
            return fr__mw_fail_complete(req, run);
    }
    fr__mw_res_store(req, run, 0);
    return fr__mw_out_complete(req, run, r == 0 ? &v : NULL);
}

FR__PRIV int fr__mw_stream_begin(fr_req *req) {
    fr__mw_run *run = fr__mw_get(req);
    int r;
    if (run->bypass && fr__mw_capturing_run(run)) {
        if (run->stream || run->sent) return -1;
        run->stream = 1;
        return 0; /* collected by fr__mw_emit */
    }
    if (run->bypass) {
        fr__mw_outer(req, run, FR_MW_RES_STREAM);
        return fr__res_stream_begin_raw(req);
    }
    if (run->stream || run->sent) return -1;
    run->stream = 1;
    fr__mw_res_load(req, run, FR_MW_RES_STREAM);
    r = fr__mw_head(req, run);
    if (r < 0) {
        fr__mw_fail_stream(req, run);
        return -1;
    }
    if (r == 1) return 0; /* held until the first piece */
    if (fr__mw_capturing_run(run)) return fr__mw_emit(req, run, "", 0, 1);
    fr__mw_res_store(req, run, 1);
    run->head_out = 1;
    return fr__res_stream_begin_raw(req);
}

FR__PRIV int fr__mw_stream_write(fr_req *req, const void *data, size_t len) {
    fr__mw_run *run = fr__mw_get(req);
    if (run->sc.used) { /* the producer of a held stream */
        int r = fr__mw_sc_write(req, run, data, len);
        if (r != FR__MW_SC_NO) return r;
    }
    return fr__mw_stream_write_seg(req, data, len);
}

int fr_mw_stream_write(fr_req *req, const void *data, size_t len) {
    if (!req || !fr__mw_get(req)) return fr_res_stream_write(req, data, len);
    return fr__mw_stream_write_seg(req, data, len);
}

/* A piece of the stream the segment's layers make. */
static int fr__mw_stream_write_seg(fr_req *req, const void *data, size_t len) {
    fr__mw_run *run = fr__mw_get(req);
    size_t owner;
    if (run->stream && fr__mw_capturing_run(run) && (run->bypass || (!run->filtering && run->head_out))) {
        if (run->sent || run->failed || (len && !data)) return -1;
        return fr__mw_emit(req, run, data, len, 1);
    }
    if (!run->stream || run->bypass) return fr__res_stream_write_raw(req, data, len);
    if (run->sent || run->failed || (len && !data)) return -1;
    if (!run->filtering && run->head_out) return fr__res_stream_write_raw(req, data, len);
    if (fr__mw_push(req, run, &data, &len, 1, &owner) < 0) {
        fr__mw_fail_stream(req, run);
        return -1;
    }
    return fr__mw_emit(req, run, data, len, 1);
}

FR__PRIV int fr__mw_stream_end(fr_req *req) {
    fr__mw_run *run = fr__mw_get(req);
    if (run->sc.used) { /* the producer of a held stream */
        /* the around layer's answer ends normally */
        int r = fr__mw_sc_end(req, run, fr__req_stream_unabort(req));
        if (r != FR__MW_SC_NO) return r;
    }
    return fr__mw_stream_end_seg(req);
}

int fr_mw_stream_end(fr_req *req) {
    fr__mw_run *run = req ? fr__mw_get(req) : NULL;
    if (!run) return fr_res_stream_end(req);
    if (run->sc.used && fr__mw_sc_defer(req, run, 2)) return 0; /* after the held stream's end */
    return fr__mw_stream_end_seg(req);
}

/* The end of the stream the segment's layers make. */
static int fr__mw_stream_end_seg(fr_req *req) {
    fr__mw_run *run = fr__mw_get(req);
    const void *data = "";
    size_t len = 0, owner;
    if (run->stream && fr__mw_capturing_run(run) && (run->bypass || run->failed ||
                                                     (!run->filtering && run->head_out))) {
        if (run->sent) return -1;
        run->sent = 1;
        return fr__mw_emit(req, run, data, len, 0);
    }
    if (!run->stream || run->bypass) return fr__res_stream_end_raw(req);
    if (run->sent) return -1;
    run->sent = 1;
    if (run->failed || (!run->filtering && run->head_out)) return fr__res_stream_end_raw(req);
    if (fr__mw_push(req, run, &data, &len, 0, &owner) < 0) {
        fr__mw_fail_stream(req, run);
        fr__mw_end_failed(req, run);
        return -1;
    }
    return fr__mw_emit(req, run, data, len, 0);
}

FR__PRIV void fr__mw_req_end(fr_req *req) {
    fr__mw_run *run = fr__mw_get(req);
    size_t j;
    *fr__req_mw(req) = NULL;
    if (!run || !run->chain) return;
    for (j = 0; j < run->n; j++) {
        const fr_middleware *m = &run->chain->items[j];
        if (m->end) m->end(req, run->state[j], m->ud);
        fr_buf_free(&run->out[j]);
    }
    fr_buf_free(&run->cbuf);
    if (run->sc.used) {
        fr_buf_free(&run->sc.buf);
        pthread_cond_destroy(&run->sc.cv);
        pthread_mutex_destroy(&run->sc.mu);
    }
}

/* The on_done callbacks of the responses around layers captured, innermost
 * first (server.c: before the request's own on_done). */
FR__PRIV void fr__mw_req_done(fr_req *req, int ok) {
    fr__mw_run *run = fr__mw_get(req);
    fr__mw_done *d;
    if (!run) return;
    for (d = run->dones; d; d = d->next) d->fn(req, ok, d->ud);
    run->dones = NULL;
}

/* ---- the built-ins as chain middlewares ---- */

/* Answer with a middleware's early answer (its content-length is the
 * engine's to write). */
static int fr__mw_answer(fr_req *req, fr_mw_answer *a) {
    fr__res_view v;
    fr_hlist_remove(&a->headers, FR_STR("content-length"));
    fr__req_res_get(req, &v);
    v.status = a->status;
    v.rh = a->headers.items;
    v.nrh = a->headers.len;
    v.caprh = a->headers.cap;
    fr__req_res_set(req, &v);
    if (fr_res_body_take(req, a->body.len ? a->body.buf : NULL, a->body.len, NULL, NULL) < 0)
        return FR_MW_ERROR;
    fr_res_send(req);
    return FR_MW_ANSWERED;
}

/* What Starlette's URL(scope=scope) reads, for TrustedHost and HTTPSRedirect. */
static void fr__mw_scope_of(fr_req *req, fr_mw_scope *sc, char *host, size_t cap) {
    fr_str h, p;
    int port = 0, usable;
    sc->scheme = fr_req_scheme(req);
    if (fr_req_is_websocket(req)) /* a websocket scope's scheme: ws / wss */
        sc->scheme = fr__mw_eq(sc->scheme, FR_STR("https")) ? FR_STR("wss") : FR_STR("ws");
    sc->host = fr_req_header(req, "host");
    sc->server_host = fr__mw_s(NULL, 0);
    sc->server_port = 0;
    /* the server address only matters without a usable Host header */
    usable = sc->host.buf && fr_mw_parse_host(sc->host, &h, &p) && p.len < 5;
    if (!usable && fr__req_server(req, host, cap, &port)) {
        sc->server_host = fr__mw_c(host);
        sc->server_port = port;
    }
    sc->path = fr_req_path(req);
    sc->query = fr_req_query(req);
}

/* A decision that raised in Starlette: ServerErrorMiddleware's 500. */
static int fr__mw_decided(fr_req *req, int r, fr_mw_answer *a) {
    fr__mw_run *run = fr__mw_get(req);
    if (r == 0) return FR_MW_NEXT;
    if (r == 1) return fr__mw_answer(req, a);
    if (r == FR_MW_RAISES && run) {
        run->sent = 1;
        fr__mw_fail_complete(req, run);
        return FR_MW_ANSWERED;
    }
    return FR_MW_ERROR;
}

static int fr__mwc_before(fr_req *req, void *state, void *ud) {
    fr_str origin = fr_req_header(req, "origin"), acrm;
    fr_mw_answer a;
    *(fr_str *)state = origin; /* for the response */
    if (!origin.buf || !fr__mw_eq(fr_req_method(req), FR_STR("OPTIONS"))) return FR_MW_NEXT;
    acrm = fr_req_header(req, "access-control-request-method");
    if (fr_cors_classify(fr_req_method(req), origin, acrm.buf != NULL) != FR_CORS_PREFLIGHT)
        return FR_MW_NEXT;
    if (fr_cors_preflight((const fr_cors *)ud, origin, acrm,
                          fr_req_header(req, "access-control-request-headers"),
                          fr_req_header(req, "access-control-request-private-network"),
                          fr_req_arena(req), &a) < 0)
        return FR_MW_ERROR;
    return fr__mw_answer(req, &a);
}

static int fr__mwc_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    (void)req;
    return fr_cors_simple((const fr_cors *)ud, *(const fr_str *)state, &res->headers) < 0
               ? FR_MW_ERROR
               : 0;
}

static void fr__mwc_free(void *ud) { fr_cors_free((fr_cors *)ud); }

int fr_app_use_cors(fr_app *app, const fr_cors_config *cfg, fr_err *err) {
    fr_middleware m;
    fr_cors *c;
    if (!app) return -1;
    if (!(c = fr_cors_new(cfg, err))) return -1;
    memset(&m, 0, sizeof m);
    m.before = fr__mwc_before;
    m.after = fr__mwc_after;
    m.free_ud = fr__mwc_free;
    m.state_size = sizeof(fr_str); /* the request's Origin */
    m.ud = c;
    return fr_app_use(app, &m);
}

typedef struct fr__mwg_state {
    fr_gzip_stream st;
} fr__mwg_state;

static int fr__mwg_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    fr__mwg_state *s = (fr__mwg_state *)state;
    const fr_gzip *g = (const fr_gzip *)ud;
    int r;
    /* a complete body under minimum_size leaves with no change whatever
     * its headers say (fr_gzip_body's first decision): skip the rest */
    if (res->kind == FR_MW_RES_BODY && (int64_t)res->body.len < g->minimum_size) return 0;
    /* nor does a status that has no body (its empty body is under any
     * minimum_size), whatever body kind the handler left on it */
    if (res->status < 200 || res->status == 204 || res->status == 304) return 0;
    r = fr_gzip_start(&s->st, g, fr_gzip_accepts(fr_req_header(req, "accept-encoding")), res->status,
                      &res->headers);
    if (r < 0) return FR_MW_ERROR;
    return r == 1 ? 0 : FR_MW_FILTER;
}

static int fr__mwg_body(fr_req *req, fr_mw_res *res, void *state, const void *data, size_t len,
                        int more, fr_buf *out, void *ud) {
    (void)req, (void)ud;
    return fr_gzip_body(&((fr__mwg_state *)state)->st, &res->headers, data, len, more, 0, out);
}

static void fr__mwg_end(fr_req *req, void *state, void *ud) {
    (void)req, (void)ud;
    fr_gzip_stream_end(&((fr__mwg_state *)state)->st);
}

static void fr__mwg_free(void *ud) { fr_gzip_free((fr_gzip *)ud); }

int fr_app_use_gzip(fr_app *app, const fr_gzip_config *cfg, fr_err *err) {
    fr_middleware m;
    fr_gzip *g;
    if (!app) return -1;
    if (!(g = fr_gzip_new(cfg, err))) return -1;
    memset(&m, 0, sizeof m);
    m.after = fr__mwg_after;
    m.body = fr__mwg_body;
    m.end = fr__mwg_end;
    m.free_ud = fr__mwg_free;
    m.state_size = sizeof(fr__mwg_state);
    m.ud = g;
    return fr_app_use(app, &m);
}

static int fr__mwt_before(fr_req *req, void *state, void *ud) {
    char host[64];
    fr_mw_scope sc;
    fr_mw_answer a;
    (void)state;
    fr__mw_scope_of(req, &sc, host, sizeof host);
    return fr__mw_decided(req, fr_trusted_host_check((const fr_trusted_host *)ud, &sc,
                                                     fr_req_arena(req), &a), &a);
}

static void fr__mwt_free(void *ud) { fr_trusted_host_free((fr_trusted_host *)ud); }

int fr_app_use_trusted_host(fr_app *app, const fr_trusted_host_config *cfg, fr_err *err) {
    fr_middleware m;
    fr_trusted_host *t;
    if (!app) return -1;
    if (!(t = fr_trusted_host_new(cfg, err))) return -1;
    memset(&m, 0, sizeof m);
    m.before = fr__mwt_before;
    m.free_ud = fr__mwt_free;
    m.ud = t;
    return fr_app_use(app, &m);
}

static int fr__mwh_before(fr_req *req, void *state, void *ud) {
    char host[64];
    fr_mw_scope sc;
    fr_mw_answer a;
    (void)state, (void)ud;
    fr__mw_scope_of(req, &sc, host, sizeof host);
    return fr__mw_decided(req, fr_https_redirect(&sc, fr_req_arena(req), &a), &a);
}

int fr_app_use_https_redirect(fr_app *app) {
    fr_middleware m;
    if (!app) return -1;
    memset(&m, 0, sizeof m);
    m.before = fr__mwh_before;
    return fr_app_use(app, &m);
}

/* ---- SessionMiddleware in the chain ---- */

typedef struct fr__mws_state {
    fr_str json; /* the verified payload, then what the handler reported */
    int active;  /* `before` ran for this request */
    int loaded;  /* the cookie verified (Starlette's initial_session_was_empty = False) */
    int flags;   /* FR_SESSION_* reported by fr_req_session_set */
} fr__mws_state;

static int fr__mws_before(fr_req *req, void *state, void *ud) {
    fr__mws_state *st = (fr__mws_state *)state;
    fr_arena *a = fr_req_arena(req);
    fr_json_val *v;
    fr_err jerr = {0, NULL, 0};
    int r = fr_session_load((const fr_session *)ud, fr_req_cookie_header(req),
                            (int64_t)time(NULL), a, &st->json);
    st->active = 1;
    if (r == 1) { /* json.loads(b64decode(data)) must give Session(...) a dict */
        v = fr_json_parse(st->json.buf, st->json.len, a, 0, &jerr);
        if (!v || v->type != FR_JSON_OBJECT) r = FR_MW_RAISES;
    }
    if (r == FR_MW_RAISES) return fr__mw_decided(req, r, NULL);
    if (r < 0) return FR_MW_ERROR;
    st->loaded = r == 1;
    if (!st->loaded) st->json = fr__mw_s(NULL, 0);
    return FR_MW_NEXT;
}

static int fr__mws_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    fr__mws_state *st = (fr__mws_state *)state;
    int flags = st->flags & (FR_SESSION_ACCESSED | FR_SESSION_MODIFIED | FR_SESSION_NONEMPTY);
    (void)req;
    if (st->flags & FR_SESSION_ERROR) return FR_MW_ERROR; /* json.dumps raised: a 500 */
    if (st->loaded) flags |= FR_SESSION_LOADED;
    return fr_session_commit((const fr_session *)ud, &res->headers, flags, st->json,
                             (int64_t)time(NULL)) < 0
               ? FR_MW_ERROR
               : 0;
}

static void fr__mws_free(void *ud) { fr_session_free((fr_session *)ud); }

int fr_app_use_session(fr_app *app, const fr_session_config *cfg, fr_err *err) {
    fr_middleware m;
    fr_session *s;
    if (!app) return -1;
    if (!(s = fr_session_new(cfg, err))) return -1;
    memset(&m, 0, sizeof m);
    m.before = fr__mws_before;
    m.after = fr__mws_after;
    m.free_ud = fr__mws_free;
    m.state_size = sizeof(fr__mws_state);
    m.ud = s;
    return fr_app_use(app, &m);
}

/* The innermost session middleware whose `before` ran for req. */
static fr__mws_state *fr__mws_find(fr_req *req) {
    fr__mw_run *run = req ? fr__mw_get(req) : NULL;
    size_t j;
    if (!run || !run->chain) return NULL;
    for (j = run->n; j-- > 0;) {
        fr__mws_state *st = (fr__mws_state *)run->state[j];
        if (run->chain->items[j].before == fr__mws_before && st && st->active) return st;
    }
    return NULL;
}

int fr_req_session(fr_req *req, fr_str *json) {
    fr__mws_state *st = fr__mws_find(req);
    if (json) json->buf = NULL, json->len = 0;
    if (!st) return -1;
    if (json && st->loaded) *json = st->json;
    return st->loaded;
}

int fr_req_session_set(fr_req *req, int flags, fr_str json) {
    fr__mws_state *st = fr__mws_find(req);
    int fail = 0;
    if (!st || (!json.buf && json.len)) return -1;
    if ((flags & FR_SESSION_MODIFIED) && (flags & FR_SESSION_NONEMPTY) &&
        !(flags & FR_SESSION_ERROR)) {
        fr_str copy = fr__mw_dup(fr_req_arena(req), json, &fail);
        if (fail) return -1;
        st->json = copy;
    }
    st->flags = flags;
    return 0;
}

/* ---- request id, fixed response header (FastrAPI's options) ---- */

/* splitmix64 per thread, seeded from /dev/urandom (and the clock, the
 * process and the state's address when it cannot be read) */
static uint64_t fr__mw_rand64(void) {
    static FR__THREAD_LOCAL uint64_t state;
    static FR__THREAD_LOCAL int seeded;
    uint64_t z;
    if (!seeded) {
        uint64_t seed = 0;
        int fd = open("/dev/urandom", O_RDONLY);
        if (fd >= 0) {
            if (read(fd, &seed, sizeof seed) != (ssize_t)sizeof seed) seed = 0;
            close(fd);
        }
        seed ^= (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid() << 32 ^
                (uint64_t)(uintptr_t)&state;
        state = seed;
        seeded = 1;
    }
    z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fr_uuid4_hex(char out[32]) {
    static const char hx[] = "0123456789abcdef";
    uint8_t b[16];
    uint64_t r0 = fr__mw_rand64(), r1 = fr__mw_rand64();
    int i;
    for (i = 0; i < 8; i++) b[i] = (uint8_t)(r0 >> (8 * i)), b[8 + i] = (uint8_t)(r1 >> (8 * i));
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    for (i = 0; i < 16; i++) out[2 * i] = hx[b[i] >> 4], out[2 * i + 1] = hx[b[i] & 15];
}

typedef struct fr__mwr {
    fr_arena arena; /* first (fr__mw_obj_new) */
    fr_str name;    /* lowercased, in the arena; also the request header's name (NUL-terminated) */
    fr_str value;   /* fixed header: its value */
    int no_propagate;
    size_t max_len;
} fr__mwr;

static int fr__mwr_token(fr_str s) {
    size_t i;
    if (!s.len) return 0;
    for (i = 0; i < s.len; i++) {
        unsigned c = (unsigned char)s.buf[i];
        if (!(fr__mw_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", (int)c)))) return 0;
    }
    return 1;
}

static int fr__mwr_value_ok(fr_str s) {
    size_t i;
    for (i = 0; i < s.len; i++)
        if (s.buf[i] == '\r' || s.buf[i] == '\n' || s.buf[i] == 0) return 0;
    return 1;
}

static fr__mwr *fr__mwr_new(fr_str name, fr_str value, fr_err *err) {
    fr__mwr *r;
    char *n;
    size_t i;
    int fail = 0;
    if (!fr__mwr_token(name) || !fr__mwr_value_ok(value) || (!value.buf && value.len)) {
        if (err) err->code = 400, err->msg = "not a valid header name or value", err->pos = 0;
        return NULL;
    }
    if (!(r = (fr__mwr *)fr__mw_obj_new(NULL, sizeof *r, err))) return NULL;
    if ((n = (char *)fr_arena_alloc(&r->arena, name.len + 1)) != NULL) {
        for (i = 0; i < name.len; i++) n[i] = (char)fr__mw_lower((unsigned char)name.buf[i]);
        n[name.len] = 0;
        r->name = fr__mw_s(n, name.len);
        r->value = fr__mw_dup(&r->arena, value, &fail);
    }
    if (!n || fail) return (fr__mwr *)fr__mw_obj_fail(r, err, -1, "out of memory", 0);
    return r;
}

static void fr__mwr_free(void *ud) { fr__mw_obj_free(ud); }

static int fr__mwr_id_ok(fr_str v, size_t max) {
    size_t i;
    if (!v.len || v.len > max) return 0;
    for (i = 0; i < v.len; i++)
        if ((unsigned char)v.buf[i] < 0x21 || (unsigned char)v.buf[i] > 0x7e) return 0;
    return 1;
}

static int fr__mwr_before(fr_req *req, void *state, void *ud) {
    const fr__mwr *r = (const fr__mwr *)ud;
    fr_str in = r->no_propagate ? fr__mw_s(NULL, 0) : fr_req_header(req, r->name.buf);
    if (fr__mwr_id_ok(in, r->max_len)) {
        *(fr_str *)state = in; /* a view into the request: lives as long as it */
    } else {
        char *id = (char *)fr_arena_alloc(fr_req_arena(req), 32);
        if (!id) return FR_MW_ERROR;
        fr_uuid4_hex(id);
        *(fr_str *)state = fr__mw_s(id, 32);
    }
    return FR_MW_NEXT;
}

static int fr__mwr_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    const fr_str *id = (const fr_str *)state;
    (void)req;
    if (!id->buf) return 0;
    return fr_hlist_set(&res->headers, ((const fr__mwr *)ud)->name, *id) < 0 ? FR_MW_ERROR : 0;
}

int fr_app_use_request_id(fr_app *app, const fr_request_id_config *cfg, fr_err *err) {
    fr_middleware m;
    fr__mwr *r;
    fr_str name = cfg && cfg->header.buf ? cfg->header : FR_STR("x-request-id");
    if (!app) return -1;
    if (!(r = fr__mwr_new(name, fr__mw_s(NULL, 0), err))) return -1;
    r->no_propagate = cfg ? cfg->no_propagate : 0;
    r->max_len = cfg && cfg->max_len ? cfg->max_len : 128;
    memset(&m, 0, sizeof m);
    m.before = fr__mwr_before;
    m.after = fr__mwr_after;
    m.free_ud = fr__mwr_free;
    m.state_size = sizeof(fr_str);
    m.ud = r;
    m.outer = 1;
    return fr_app_use(app, &m);
}

fr_str fr_req_id(fr_req *req) {
    fr__mw_run *run = req ? fr__mw_get(req) : NULL;
    size_t j;
    if (run && run->chain)
        for (j = 0; j < run->n; j++)
            if (run->chain->items[j].before == fr__mwr_before && run->state[j] &&
                ((fr_str *)run->state[j])->buf)
                return *(fr_str *)run->state[j];
    return fr__mw_s(NULL, 0);
}

static int fr__mwh_fixed_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    const fr__mwr *r = (const fr__mwr *)ud;
    (void)req, (void)state;
    return fr_hlist_set(&res->headers, r->name, r->value) < 0 ? FR_MW_ERROR : 0;
}

int fr_app_use_response_header(fr_app *app, fr_str name, fr_str value, fr_err *err) {
    fr_middleware m;
    fr__mwr *r;
    if (!app) return -1;
    if (!(r = fr__mwr_new(name, value, err))) return -1;
    memset(&m, 0, sizeof m);
    m.after = fr__mwh_fixed_after;
    m.free_ud = fr__mwr_free;
    m.ud = r;
    m.outer = 1;
    return fr_app_use(app, &m);
}
