/* libFuzzer harness for FastAPI's security schemes (src/security.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_security.c
 *
 * The input is split on NUL bytes into: Authorization value, API key header
 * value, query string, Cookie value, an API key name and an HTTP_BASE
 * scheme / Basic realm (a missing part is an absent input, or NULL for the
 * last two). Each part is copied into a malloc'ed buffer of exactly its
 * size, so ASan catches any over-read. Every kind runs with auto_error 0
 * and 1 through fr_security_decide; the arena's chunks come from an
 * allocator that records them. Checked for every run:
 *  - rc is FR_SEC_OK, NONE or DENY (never -1: valid arguments, no OOM);
 *  - DENY: status 401, detail "Not authenticated", the kind's challenge
 *    (non-empty except HTTP_BASE with an empty scheme), a and b {NULL, 0};
 *  - NONE: only without auto_error, everything zero/NULL;
 *  - the outcome follows FastAPI's rule for "missing", recomputed here for
 *    every kind but query and cookie (missing: DENY with auto_error, NONE
 *    without; present: OK, or for Basic OK or DENY);
 *  - OK: a.buf non-NULL; a and b lie inside the inputs (header kinds) or
 *    inside an arena chunk (query, cookie, Basic); b is {NULL, 0} for the
 *    one-value kinds; the value is what FastAPI would return, recomputed
 *    from first principles where that is short (OAuth2/OpenID: the whole
 *    header; bearer token/credentials: the rest after "S ", stripped;
 *    API key header: the header; Basic: ASCII user and password whose
 *    "user:pass" base64-encodes back to a string the loose decoder reads
 *    the same; query/cookie: non-empty valid UTF-8);
 *  - auto_error only turns DENY into NONE (never for undecodable Basic
 *    credentials): the two runs agree otherwise, value for value;
 *  - the kind decides alone: inputs a kind does not read don't matter
 *    (each run is repeated with those inputs absent). */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_ASSERT(c)                                                                       \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "fuzz_security: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

/* ---- an allocator that remembers the arena's chunks ---- */

#define MAX_BLOCKS 256
static struct {
    char *p;
    size_t n;
} blocks[MAX_BLOCKS];
static size_t nblocks;

static void *rec_malloc(void *ctx, size_t n) {
    char *p;
    (void)ctx;
    FZ_ASSERT(nblocks < MAX_BLOCKS);
    p = (char *)malloc(n ? n : 1);
    FZ_ASSERT(p != NULL);
    blocks[nblocks].p = p;
    blocks[nblocks].n = n;
    nblocks++;
    return p;
}
static void *rec_realloc(void *ctx, void *p, size_t o, size_t n) {
    (void)ctx;
    (void)p;
    (void)o;
    (void)n;
    FZ_ASSERT(!"the arena never reallocates");
    return NULL;
}
static void rec_free(void *ctx, void *p) {
    size_t i;
    (void)ctx;
    for (i = 0; i < nblocks; i++)
        if (blocks[i].p == p) {
            blocks[i] = blocks[--nblocks];
            free(p);
            return;
        }
    FZ_ASSERT(!"freeing an unknown block");
}
static const fr_allocator rec_alc = {rec_malloc, rec_realloc, rec_free, NULL};

static int in_arena(fr_str v) {
    size_t i;
    for (i = 0; i < nblocks; i++)
        if (v.buf >= blocks[i].p && v.buf + v.len <= blocks[i].p + blocks[i].n) return 1;
    return 0;
}

static int in_input(fr_str v, fr_str in) {
    return in.buf && v.buf >= in.buf && v.buf + v.len <= in.buf + in.len;
}

/* ---- references ---- */

static int py_space(unsigned char c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

static int utf8_valid(fr_str v) {
    size_t i = 0;
    const unsigned char *s = (const unsigned char *)v.buf;
    while (i < v.len) {
        unsigned c = s[i], need, cp, j;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) need = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef) need = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4) need = 3, cp = c & 0x07;
        else return 0;
        if (i + need >= v.len) return 0;
        for (j = 1; j <= need; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

static int ieq(fr_str a, const char *b) {
    size_t i, n = strlen(b);
    if (a.len != n) return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)a.buf[i];
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c + 32);
        if (c != (unsigned char)b[i]) return 0;
    }
    return 1;
}

/* "S rest": S and rest stripped (FastAPI's get_authorization_scheme_param) */
static void split(fr_str h, fr_str *s, fr_str *rest) {
    const char *sp = h.len ? (const char *)memchr(h.buf, ' ', h.len) : NULL;
    s->buf = h.buf;
    s->len = sp ? (size_t)(sp - h.buf) : h.len;
    rest->buf = sp ? sp + 1 : h.buf + h.len;
    rest->len = sp ? h.len - s->len - 1 : 0;
    while (rest->len && py_space((unsigned char)rest->buf[0])) rest->buf++, rest->len--;
    while (rest->len && py_space((unsigned char)rest->buf[rest->len - 1])) rest->len--;
}

static int same(fr_str a, fr_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.buf, b.buf, a.len) == 0) &&
           (a.buf == NULL) == (b.buf == NULL);
}

/* 1 if ch is the challenge FastAPI sends for s */
static int challenge_ok(const fr_security *s, const char *ch) {
    switch (s->kind) {
    case FR_SEC_HTTP_BASE: { /* str.title() on ASCII; bytes >= 0x80 kept, cased */
        const char *sc = s->scheme ? s->scheme : "";
        size_t i, n = strlen(sc);
        int prev = 0;
        if (strlen(ch) != n) return 0;
        for (i = 0; i < n; i++) {
            unsigned char c = (unsigned char)sc[i];
            int lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
            unsigned char w = (unsigned char)(prev && upper ? c + 32 : !prev && lower ? c - 32 : c);
            if ((unsigned char)ch[i] != w) return 0;
            prev = lower || upper || c >= 0x80;
        }
        return 1;
    }
    case FR_SEC_HTTP_DIGEST:
        return strcmp(ch, "Digest") == 0;
    case FR_SEC_HTTP_BASIC:
        if (s->realm && s->realm[0]) {
            size_t rn = strlen(s->realm);
            return strncmp(ch, "Basic realm=\"", 13) == 0 && strlen(ch) == 14 + rn &&
                   memcmp(ch + 13, s->realm, rn) == 0 && ch[13 + rn] == '"';
        }
        return strcmp(ch, "Basic") == 0;
    case FR_SEC_APIKEY_HEADER:
    case FR_SEC_APIKEY_QUERY:
    case FR_SEC_APIKEY_COOKIE:
        return strcmp(ch, "APIKey") == 0;
    default:
        return strcmp(ch, "Bearer") == 0;
    }
}

/* ---- one run ---- */

typedef struct inputs {
    fr_str auth, key, query, cookie;
} inputs;

static int run(const fr_security *s, const inputs *in, fr_arena *arena, fr_security_result *out) {
    return fr_security_decide(s, in->auth, in->key, in->query, in->cookie, arena, out);
}

/* FastAPI's "missing" rule, recomputed: 1 missing, 0 present (for Basic:
 * present means "decoded or denied"); -1 = not decided here (query,
 * cookie: the kv decoder has its own harness). */
static int missing(const fr_security *s, const inputs *in) {
    fr_str sc, rest;
    int present = in->auth.buf && in->auth.len;
    if (present) split(in->auth, &sc, &rest);
    switch (s->kind) {
    case FR_SEC_OAUTH2:
    case FR_SEC_OPENID:
        return !present;
    case FR_SEC_OAUTH2_BEARER:
        return !present || !ieq(sc, "bearer");
    case FR_SEC_HTTP_BASIC:
        return !present || !ieq(sc, "basic");
    case FR_SEC_HTTP_BASE:
    case FR_SEC_HTTP_BEARER:
    case FR_SEC_HTTP_DIGEST:
        return !present || !sc.len || !rest.len ||
               (s->kind == FR_SEC_HTTP_BEARER && !ieq(sc, "bearer")) ||
               (s->kind == FR_SEC_HTTP_DIGEST && !ieq(sc, "digest"));
    case FR_SEC_APIKEY_HEADER:
        return !s->name || !in->key.buf || !in->key.len;
    default:
        return -1;
    }
}

static void check_one(const fr_security *s, const inputs *in, int rc, const fr_security_result *o) {
    fr_str none = {NULL, 0}, sc, rest;
    int miss = missing(s, in);
    FZ_ASSERT(rc == FR_SEC_OK || rc == FR_SEC_NONE || rc == FR_SEC_DENY);
    if (miss == 1) FZ_ASSERT(rc == (s->auto_error ? FR_SEC_DENY : FR_SEC_NONE));
    if (miss == 0 && s->kind == FR_SEC_HTTP_BASIC) FZ_ASSERT(rc == FR_SEC_OK || rc == FR_SEC_DENY);
    else if (miss == 0) FZ_ASSERT(rc == FR_SEC_OK);
    if (rc == FR_SEC_DENY) {
        FZ_ASSERT(o->status == 401);
        FZ_ASSERT(o->detail && strcmp(o->detail, "Not authenticated") == 0);
        FZ_ASSERT(o->challenge != NULL && challenge_ok(s, o->challenge));
        FZ_ASSERT(o->challenge[0] || (s->kind == FR_SEC_HTTP_BASE && !(s->scheme && s->scheme[0])));
        FZ_ASSERT(same(o->a, none) && same(o->b, none));
        return;
    }
    FZ_ASSERT(o->status == 0 && o->detail == NULL && o->challenge == NULL);
    if (rc == FR_SEC_NONE) {
        FZ_ASSERT(!s->auto_error);
        FZ_ASSERT(same(o->a, none) && same(o->b, none));
        return;
    }
    FZ_ASSERT(o->a.buf != NULL);
    if (in->auth.buf) split(in->auth, &sc, &rest);
    switch (s->kind) {
    case FR_SEC_OAUTH2:
    case FR_SEC_OPENID:
        FZ_ASSERT(in->auth.len > 0 && o->a.buf == in->auth.buf && o->a.len == in->auth.len);
        FZ_ASSERT(same(o->b, none));
        break;
    case FR_SEC_OAUTH2_BEARER:
        FZ_ASSERT(in->auth.len > 0 && ieq(sc, "bearer"));
        FZ_ASSERT(o->a.len == rest.len && (rest.len == 0 || o->a.buf == rest.buf));
        FZ_ASSERT(in_input(o->a, in->auth) || o->a.buf == in->auth.buf + in->auth.len);
        FZ_ASSERT(same(o->b, none));
        break;
    case FR_SEC_HTTP_BASE:
    case FR_SEC_HTTP_BEARER:
    case FR_SEC_HTTP_DIGEST:
        FZ_ASSERT(in->auth.len > 0 && sc.len > 0 && rest.len > 0);
        FZ_ASSERT(s->kind != FR_SEC_HTTP_BEARER || ieq(sc, "bearer"));
        FZ_ASSERT(s->kind != FR_SEC_HTTP_DIGEST || ieq(sc, "digest"));
        FZ_ASSERT(o->a.buf == sc.buf && o->a.len == sc.len);
        FZ_ASSERT(o->b.buf == rest.buf && o->b.len == rest.len);
        break;
    case FR_SEC_HTTP_BASIC: {
        size_t i, n = o->a.len + 1 + o->b.len, cap = fr_base64_encoded_len(n) + 1;
        char *plain = (char *)malloc(n + 1), *enc = (char *)malloc(cap), *dec = (char *)malloc(n + 8);
        fr_str e, u, p;
        long el;
        FZ_ASSERT(plain && enc && dec);
        FZ_ASSERT(in->auth.len > 0 && ieq(sc, "basic"));
        FZ_ASSERT(in_arena(o->a) && in_arena(o->b));
        FZ_ASSERT(memchr(o->a.buf, ':', o->a.len) == NULL);
        for (i = 0; i < o->a.len; i++) FZ_ASSERT((unsigned char)o->a.buf[i] < 0x80);
        for (i = 0; i < o->b.len; i++) FZ_ASSERT((unsigned char)o->b.buf[i] < 0x80);
        /* user:pass encodes to something that decodes back the same */
        if (o->a.len) memcpy(plain, o->a.buf, o->a.len);
        plain[o->a.len] = ':';
        if (o->b.len) memcpy(plain + o->a.len + 1, o->b.buf, o->b.len);
        el = fr_base64_encode(enc, cap, plain, n);
        FZ_ASSERT(el >= 0);
        e.buf = enc;
        e.len = (size_t)el;
        FZ_ASSERT(fr_auth_basic_decode(e, dec, n + 8, &u, &p) == 0);
        FZ_ASSERT(u.len == o->a.len && p.len == o->b.len);
        FZ_ASSERT(u.len == 0 || memcmp(u.buf, o->a.buf, u.len) == 0);
        FZ_ASSERT(p.len == 0 || memcmp(p.buf, o->b.buf, p.len) == 0);
        free(plain);
        free(enc);
        free(dec);
        break;
    }
    case FR_SEC_APIKEY_HEADER:
        FZ_ASSERT(in->key.len > 0 && o->a.buf == in->key.buf && o->a.len == in->key.len);
        FZ_ASSERT(same(o->b, none));
        break;
    default: /* query, cookie */
        FZ_ASSERT(o->a.len > 0 && in_arena(o->a) && utf8_valid(o->a));
        FZ_ASSERT(same(o->b, none));
        break;
    }
}

static void fuzz_kind(fr_security *s, const inputs *in) {
    fr_security_result r[2], alone;
    fr_arena arena[2], arena2;
    inputs only;
    fr_str none = {NULL, 0};
    int ae, rc[2], rc2;
    for (ae = 0; ae < 2; ae++) {
        s->auto_error = ae;
        fr_arena_init(&arena[ae], &rec_alc);
        rc[ae] = run(s, in, &arena[ae], &r[ae]);
        check_one(s, in, rc[ae], &r[ae]);
    }
    /* auto_error only turns DENY into NONE */
    if (rc[1] == FR_SEC_OK) {
        FZ_ASSERT(rc[0] == FR_SEC_OK);
        FZ_ASSERT(same(r[0].a, r[1].a) || (r[0].a.len == r[1].a.len &&
                                          memcmp(r[0].a.buf, r[1].a.buf, r[0].a.len) == 0));
        FZ_ASSERT(r[0].b.len == r[1].b.len &&
                  (r[0].b.len == 0 || memcmp(r[0].b.buf, r[1].b.buf, r[0].b.len) == 0));
    } else {
        FZ_ASSERT(rc[1] == FR_SEC_DENY);
        FZ_ASSERT(rc[0] == FR_SEC_NONE || (rc[0] == FR_SEC_DENY && s->kind == FR_SEC_HTTP_BASIC));
    }
    /* only the input the kind reads matters */
    only.auth = only.key = only.query = only.cookie = none;
    if (s->kind <= FR_SEC_HTTP_BASIC) only.auth = in->auth;
    else if (s->kind == FR_SEC_APIKEY_HEADER) only.key = in->key;
    else if (s->kind == FR_SEC_APIKEY_QUERY) only.query = in->query;
    else only.cookie = in->cookie;
    fr_arena_init(&arena2, &rec_alc);
    rc2 = run(s, &only, &arena2, &alone);
    FZ_ASSERT(rc2 == rc[1]);
    FZ_ASSERT(alone.a.len == r[1].a.len && (alone.a.len == 0 ||
                                           memcmp(alone.a.buf, r[1].a.buf, alone.a.len) == 0));
    fr_arena_free(&arena2);
    fr_arena_free(&arena[0]);
    fr_arena_free(&arena[1]);
    FZ_ASSERT(nblocks == 0);
}

/* Copy part i into an exact-size buffer; absent parts are {NULL, 0}. */
static fr_str part(const uint8_t *data, size_t size, int want, char **owned) {
    size_t pos = 0, start;
    int i = 0;
    fr_str v = {NULL, 0};
    *owned = NULL;
    for (;;) {
        start = pos;
        while (pos < size && data[pos] != 0) pos++;
        if (i == want) break;
        if (pos >= size) return v;
        pos++;
        i++;
    }
    *owned = (char *)malloc(pos - start ? pos - start : 1);
    FZ_ASSERT(*owned != NULL);
    if (pos > start) memcpy(*owned, data + start, pos - start);
    v.buf = *owned;
    v.len = pos - start;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *own[6], *name = NULL, *extra = NULL;
    fr_str p[6];
    inputs in;
    fr_security s;
    int i, kind;
    for (i = 0; i < 6; i++) p[i] = part(data, size, i, &own[i]);
    in.auth = p[0];
    in.key = p[1];
    in.query = p[2];
    in.cookie = p[3];
    /* name and scheme/realm as C strings (no NUL inside: we split on it) */
    if (p[4].buf) {
        name = (char *)malloc(p[4].len + 1);
        FZ_ASSERT(name);
        memcpy(name, p[4].buf, p[4].len);
        name[p[4].len] = 0;
    }
    if (p[5].buf) {
        extra = (char *)malloc(p[5].len + 1);
        FZ_ASSERT(extra);
        memcpy(extra, p[5].buf, p[5].len);
        extra[p[5].len] = 0;
    }
    for (kind = FR_SEC_OAUTH2; kind <= FR_SEC_APIKEY_COOKIE; kind++) {
        memset(&s, 0, sizeof s);
        s.kind = kind;
        s.name = name ? name : "api_key";
        s.scheme = extra ? extra : "bearer";
        s.realm = extra;
        fuzz_kind(&s, &in);
        if (kind >= FR_SEC_APIKEY_HEADER) { /* and with no name at all */
            s.name = NULL;
            fuzz_kind(&s, &in);
        }
    }
    for (i = 0; i < 6; i++) free(own[i]);
    free(name);
    free(extra);
    return 0;
}
