/* Unit tests for src/security.c: FastAPI's security schemes decided in C.
 *
 * Expected results follow FastAPI 0.165's fastapi/security modules (and are
 * cross-checked against the real classes by tests/test_security_parity.py).
 * Every input is placed right before a guard page (frt_guarded), absent
 * inputs are {NULL, 0}. A few cases run fr_security_check on live requests
 * (fr_poll on the test thread) for what only the request can show: the
 * first Authorization header wins, every Cookie header counts. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* ------------------------------------------------------------------------ */
/* fr_security_decide on guarded copies                                      */

typedef struct res {
    int rc;
    int a_null, b_null;
    char a[2048], b[2048];
    size_t alen, blen;
    int status;
    char detail[64];   /* "" when NULL */
    char ch[2048];     /* challenge, "" when NULL */
    int ch_null;
    int in_inputs;     /* OK: a and b point into the inputs or the arena */
} res;

typedef struct guard {
    char *p;
    size_t n;
    fr_str s;
} guard;

static void guard_make(guard *g, const char *v) {
    g->n = v ? strlen(v) : 0;
    g->p = v ? (char *)frt_guarded(v, g->n) : NULL;
    g->s.buf = g->p;
    g->s.len = g->n;
}

static void guard_free(guard *g) {
    if (g->p) frt_guarded_free(g->p, g->n);
}

static int inside(fr_str v, const guard *g) {
    return g->p && v.buf >= g->p && v.buf + v.len <= g->p + g->n;
}

static void copy_view(fr_str v, char *dst, size_t cap, size_t *len, int *null) {
    *null = v.buf == NULL;
    *len = v.len;
    if (v.len >= cap) v.len = cap - 1;
    if (v.len) memcpy(dst, v.buf, v.len);
    dst[v.len] = 0;
}

/* Run one decision; arena_mode 0 = normal arena, 1 = NULL arena,
 * 2 = an arena whose allocator always fails. */
static void *fail_malloc(void *ctx, size_t n) {
    (void)ctx;
    (void)n;
    return NULL;
}
static void *fail_realloc(void *ctx, void *p, size_t o, size_t n) {
    (void)ctx;
    (void)p;
    (void)o;
    (void)n;
    return NULL;
}
static void plain_free(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

static void decide_mode(const fr_security *s, const char *auth, const char *key, const char *query,
                        const char *cookie, int arena_mode, res *r) {
    guard ga, gk, gq, gc;
    fr_arena arena;
    fr_allocator failing = {fail_malloc, fail_realloc, plain_free, NULL};
    fr_security_result out;
    memset(r, 0, sizeof *r);
    guard_make(&ga, auth);
    guard_make(&gk, key);
    guard_make(&gq, query);
    guard_make(&gc, cookie);
    fr_arena_init(&arena, arena_mode == 2 ? &failing : NULL);
    memset(&out, 0x5a, sizeof out); /* every field must be set */
    r->rc = fr_security_decide(s, ga.s, gk.s, gq.s, gc.s, arena_mode == 1 ? NULL : &arena, &out);
    copy_view(out.a, r->a, sizeof r->a, &r->alen, &r->a_null);
    copy_view(out.b, r->b, sizeof r->b, &r->blen, &r->b_null);
    r->status = out.status;
    r->ch_null = out.challenge == NULL;
    snprintf(r->detail, sizeof r->detail, "%s", out.detail ? out.detail : "");
    snprintf(r->ch, sizeof r->ch, "%s", out.challenge ? out.challenge : "");
    r->in_inputs = 1;
    if (r->rc == FR_SEC_OK && s->kind != FR_SEC_HTTP_BASIC && s->kind != FR_SEC_APIKEY_QUERY &&
        s->kind != FR_SEC_APIKEY_COOKIE) {
        /* views into the request: the Authorization or key header */
        const guard *g = s->kind == FR_SEC_APIKEY_HEADER ? &gk : &ga;
        r->in_inputs = (out.a.len == 0 || inside(out.a, g)) && (out.b.len == 0 || inside(out.b, g));
        if (out.a.len == 0) r->in_inputs = r->in_inputs && out.a.buf >= g->p && out.a.buf <= g->p + g->n;
    }
    fr_arena_free(&arena);
    guard_free(&ga);
    guard_free(&gk);
    guard_free(&gq);
    guard_free(&gc);
}

static void decide(const fr_security *s, const char *auth, const char *key, const char *query,
                   const char *cookie, res *r) {
    decide_mode(s, auth, key, query, cookie, 0, r);
}

static fr_security sec(int kind, int auto_error) {
    fr_security s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.auto_error = auto_error;
    return s;
}

/* Expectation helpers: r must be OK with a (and b when not NULL). */
#define EXPECT_OK(r, ea, eb)                                   \
    do {                                                       \
        CHECK_EQ_INT((r).rc, FR_SEC_OK);                       \
        CHECK(!(r).a_null);                                    \
        CHECK_EQ_MEM((r).a, (r).alen, (ea));                   \
        if ((eb) != NULL) CHECK_EQ_MEM((r).b, (r).blen, (eb)); \
        CHECK_EQ_INT((r).status, 0);                           \
        CHECK((r).ch_null);                                    \
        CHECK_EQ_MEM((r).detail, strlen((r).detail), "");      \
        CHECK((r).in_inputs);                                  \
    } while (0)

#define EXPECT_NONE(r)                                  \
    do {                                                \
        CHECK_EQ_INT((r).rc, FR_SEC_NONE);              \
        CHECK((r).a_null && (r).b_null);                \
        CHECK_EQ_INT((r).alen + (r).blen, 0);           \
        CHECK_EQ_INT((r).status, 0);                    \
        CHECK((r).ch_null);                             \
        CHECK_EQ_MEM((r).detail, strlen((r).detail), ""); \
    } while (0)

#define EXPECT_DENY(r, challenge)                                    \
    do {                                                             \
        CHECK_EQ_INT((r).rc, FR_SEC_DENY);                           \
        CHECK((r).a_null && (r).b_null);                             \
        CHECK_EQ_INT((r).status, 401);                               \
        CHECK_EQ_MEM((r).detail, strlen((r).detail), "Not authenticated"); \
        CHECK(!(r).ch_null);                                         \
        CHECK_EQ_MEM((r).ch, strlen((r).ch), (challenge));           \
    } while (0)

/* Missing credentials: DENY with auto_error, NONE without. */
static void expect_missing(int kind, const char *auth, const char *challenge) {
    fr_security s = sec(kind, 1);
    res r;
    decide(&s, auth, NULL, NULL, NULL, &r);
    EXPECT_DENY(r, challenge);
    s.auto_error = 0;
    decide(&s, auth, NULL, NULL, NULL, &r);
    EXPECT_NONE(r);
}

/* ------------------------------------------------------------------------ */

static void test_oauth2_raw_and_openid(void) {
    int kinds[2] = {FR_SEC_OAUTH2, FR_SEC_OPENID}, i, ae;
    res r;
    for (i = 0; i < 2; i++) {
        for (ae = 0; ae < 2; ae++) {
            fr_security s = sec(kinds[i], ae);
            /* any non-empty value is returned as is, scheme or not */
            decide(&s, "Bearer abc", NULL, NULL, NULL, &r);
            EXPECT_OK(r, "Bearer abc", "");
            decide(&s, "Basic  x  ", NULL, NULL, NULL, &r);
            EXPECT_OK(r, "Basic  x  ", "");
            decide(&s, "garbage", NULL, NULL, NULL, &r);
            EXPECT_OK(r, "garbage", "");
            decide(&s, " ", NULL, NULL, NULL, &r);
            EXPECT_OK(r, " ", "");
            /* the other inputs are not looked at */
            decide(&s, NULL, "Bearer k", "authorization=x", "authorization=y", &r);
            if (ae) EXPECT_DENY(r, "Bearer");
            else EXPECT_NONE(r);
        }
        expect_missing(kinds[i], NULL, "Bearer");
        expect_missing(kinds[i], "", "Bearer");
    }
}

static void test_oauth2_bearer(void) {
    fr_security s = sec(FR_SEC_OAUTH2_BEARER, 1);
    res r;
    decide(&s, "Bearer tok", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "tok", "");
    decide(&s, "bearer tok", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "tok", "");
    decide(&s, "BeArEr   tok en \t ", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "tok en", "");
    /* FastAPI returns "" for a bare "Bearer": OK with an empty, non-NULL token */
    decide(&s, "Bearer", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "", "");
    decide(&s, "Bearer    ", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "", "");
    s.auto_error = 0;
    decide(&s, "Bearer", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "", "");
    expect_missing(FR_SEC_OAUTH2_BEARER, NULL, "Bearer");
    expect_missing(FR_SEC_OAUTH2_BEARER, "", "Bearer");
    expect_missing(FR_SEC_OAUTH2_BEARER, "Basic tok", "Bearer");
    expect_missing(FR_SEC_OAUTH2_BEARER, "Bearertok", "Bearer");
    expect_missing(FR_SEC_OAUTH2_BEARER, "Bearer\ttok", "Bearer"); /* only ' ' splits */
    expect_missing(FR_SEC_OAUTH2_BEARER, " Bearer tok", "Bearer"); /* empty scheme */
    expect_missing(FR_SEC_OAUTH2_BEARER, "Bearer\xa0 tok", "Bearer");
    expect_missing(FR_SEC_OAUTH2_BEARER, "Bearers tok", "Bearer");
}

static void test_http_bearer_digest(void) {
    fr_security s = sec(FR_SEC_HTTP_BEARER, 1);
    res r;
    decide(&s, "Bearer tok", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "Bearer", "tok");
    decide(&s, "bEARER   a b  ", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "bEARER", "a b");
    s.auto_error = 0;
    decide(&s, "bearer x", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "bearer", "x");
    /* unlike OAuth2 bearer, empty credentials are missing */
    expect_missing(FR_SEC_HTTP_BEARER, "Bearer", "Bearer");
    expect_missing(FR_SEC_HTTP_BEARER, "Bearer  \t ", "Bearer");
    expect_missing(FR_SEC_HTTP_BEARER, "Digest x", "Bearer");
    expect_missing(FR_SEC_HTTP_BEARER, " x", "Bearer");
    expect_missing(FR_SEC_HTTP_BEARER, NULL, "Bearer");
    expect_missing(FR_SEC_HTTP_BEARER, "", "Bearer");

    s = sec(FR_SEC_HTTP_DIGEST, 1);
    decide(&s, "Digest username=\"a\", realm=\"b\"", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "Digest", "username=\"a\", realm=\"b\"");
    decide(&s, "DIGEST x", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "DIGEST", "x");
    expect_missing(FR_SEC_HTTP_DIGEST, "Bearer x", "Digest");
    expect_missing(FR_SEC_HTTP_DIGEST, "Digest", "Digest");
    expect_missing(FR_SEC_HTTP_DIGEST, "Digest ", "Digest");
    expect_missing(FR_SEC_HTTP_DIGEST, NULL, "Digest");
}

static void test_http_base(void) {
    fr_security s = sec(FR_SEC_HTTP_BASE, 1);
    res r;
    static const struct { const char *scheme, *title; } titles[] = {
        {"bearer", "Bearer"}, {"Bearer", "Bearer"}, {"BEARER", "Bearer"}, {"x509cert", "X509Cert"},
        {"my-scheme", "My-Scheme"}, {"ab_cd", "Ab_Cd"}, {"hello world", "Hello World"},
        {"", ""}, {"a", "A"},
        /* bytes >= 0x80 are kept and count as letters: Python gives "Éa" */
        {"\xc3\xa9" "a", "\xc3\xa9" "a"}, {"\xc3\xa9-a", "\xc3\xa9-A"},
        {"9lives", "9Lives"}, {"o'neil", "O'Neil"}, {"mIxEd CaSe", "Mixed Case"},
    };
    size_t i;
    s.scheme = "custom";
    /* any scheme is accepted, case kept */
    decide(&s, "Foo bar", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "Foo", "bar");
    decide(&s, "custom  a b ", NULL, NULL, NULL, &r);
    EXPECT_OK(r, "custom", "a b");
    decide(&s, "\xe9t\xe9 x", NULL, NULL, NULL, &r); /* Latin-1 bytes pass through */
    EXPECT_OK(r, "\xe9t\xe9", "x");
    for (i = 0; i < sizeof titles / sizeof titles[0]; i++) {
        s.scheme = titles[i].scheme;
        s.auto_error = 1;
        decide(&s, "Foo", NULL, NULL, NULL, &r);
        EXPECT_DENY(r, titles[i].title);
        s.auto_error = 0;
        decide(&s, "Foo", NULL, NULL, NULL, &r);
        EXPECT_NONE(r);
    }
    s.scheme = NULL; /* = "" */
    s.auto_error = 1;
    decide(&s, NULL, NULL, NULL, NULL, &r);
    EXPECT_DENY(r, "");
    s.scheme = "bearer";
    decide(&s, " x", NULL, NULL, NULL, &r);
    EXPECT_DENY(r, "Bearer");
    decide(&s, "Foo    ", NULL, NULL, NULL, &r);
    EXPECT_DENY(r, "Bearer");
    decide(&s, "", NULL, NULL, NULL, &r);
    EXPECT_DENY(r, "Bearer");
}

static void test_http_base_challenge_storage(void) {
    /* an already title-cased scheme is used in place; others are copied */
    fr_security s = sec(FR_SEC_HTTP_BASE, 1);
    fr_security_result out;
    fr_arena arena;
    char long_scheme[1001];
    fr_str none = {NULL, 0};
    fr_arena_init(&arena, NULL);
    s.scheme = "Negotiate";
    CHECK_EQ_INT(fr_security_decide(&s, none, none, none, none, NULL, &out), FR_SEC_DENY);
    CHECK(out.challenge == s.scheme);
    memset(long_scheme, 'q', 1000);
    long_scheme[1000] = 0;
    s.scheme = long_scheme;
    CHECK_EQ_INT(fr_security_decide(&s, none, none, none, none, &arena, &out), FR_SEC_DENY);
    REQUIRE(out.challenge != NULL);
    CHECK_EQ_INT(strlen(out.challenge), 1000);
    CHECK(out.challenge[0] == 'Q' && out.challenge[1] == 'q' && out.challenge[999] == 'q');
    CHECK(strcmp(long_scheme + 1, out.challenge + 1) == 0 && long_scheme[0] == 'q');
    /* needs the arena: NULL arena -> -1 with *out zeroed */
    CHECK_EQ_INT(fr_security_decide(&s, none, none, none, none, NULL, &out), -1);
    CHECK(out.challenge == NULL && out.status == 0 && out.a.buf == NULL);
    fr_arena_free(&arena);
}

static void test_http_basic(void) {
    fr_security s = sec(FR_SEC_HTTP_BASIC, 1);
    res r;
    int ae;
    for (ae = 0; ae < 2; ae++) {
        s.auto_error = ae;
        decide(&s, "Basic YWxhZGRpbjpvcGVuc2VzYW1l", NULL, NULL, NULL, &r);
        EXPECT_OK(r, "aladdin", "opensesame");
        decide(&s, "basic YWxhZGRpbjpvcGVuc2VzYW1l", NULL, NULL, NULL, &r);
        EXPECT_OK(r, "aladdin", "opensesame");
        decide(&s, "BASIC    YWxhZGRpbjpvcGVuc2VzYW1l \t", NULL, NULL, NULL, &r);
        EXPECT_OK(r, "aladdin", "opensesame");
        decide(&s, "Basic dTpwOnE=", NULL, NULL, NULL, &r); /* u:p:q */
        EXPECT_OK(r, "u", "p:q");
        decide(&s, "Basic Og==", NULL, NULL, NULL, &r); /* ":" */
        EXPECT_OK(r, "", "");
        decide(&s, "Basic dXNlcjo=", NULL, NULL, NULL, &r); /* "user:" */
        EXPECT_OK(r, "user", "");
        /* Python's non-strict b64decode: junk characters are skipped,
         * decoding stops at the first complete padding */
        decide(&s, "Basic YWxh!ZGRp bjpvcGVu*c2VzYW1l", NULL, NULL, NULL, &r);
        EXPECT_OK(r, "aladdin", "opensesame");
        decide(&s, "Basic Og==trailing", NULL, NULL, NULL, &r);
        EXPECT_OK(r, "", "");

        /* present but undecodable: 401 even without auto_error */
        decide(&s, "Basic bm9jb2xvbg==", NULL, NULL, NULL, &r); /* "nocolon" */
        EXPECT_DENY(r, "Basic");
        decide(&s, "Basic YWxhZGRpbjpvcGVuc2VzYW1", NULL, NULL, NULL, &r); /* bad padding */
        EXPECT_DENY(r, "Basic");
        decide(&s, "Basic Y", NULL, NULL, NULL, &r);
        EXPECT_DENY(r, "Basic");
        decide(&s, "Basic Y2Fmw6k6eA==", NULL, NULL, NULL, &r); /* "café:x": not ASCII */
        EXPECT_DENY(r, "Basic");
        decide(&s, "Basic Og==\xe9", NULL, NULL, NULL, &r); /* non-ASCII param */
        EXPECT_DENY(r, "Basic");
        decide(&s, "Basic", NULL, NULL, NULL, &r); /* empty credentials */
        EXPECT_DENY(r, "Basic");
        decide(&s, "Basic    ", NULL, NULL, NULL, &r);
        EXPECT_DENY(r, "Basic");
    }
    expect_missing(FR_SEC_HTTP_BASIC, NULL, "Basic");
    expect_missing(FR_SEC_HTTP_BASIC, "", "Basic");
    expect_missing(FR_SEC_HTTP_BASIC, "Bearer Og==", "Basic");
    expect_missing(FR_SEC_HTTP_BASIC, "Basic\tOg==", "Basic");
    expect_missing(FR_SEC_HTTP_BASIC, " Basic Og==", "Basic");
    expect_missing(FR_SEC_HTTP_BASIC, "Basicx Og==", "Basic");
}

static void test_http_basic_realm(void) {
    fr_security s = sec(FR_SEC_HTTP_BASIC, 1);
    res r;
    char realm[1501], want[1600];
    s.realm = "simple";
    decide(&s, NULL, NULL, NULL, NULL, &r);
    EXPECT_DENY(r, "Basic realm=\"simple\"");
    s.auto_error = 0; /* the undecodable case carries the realm too */
    decide(&s, "Basic !!", NULL, NULL, NULL, &r);
    EXPECT_DENY(r, "Basic realm=\"simple\"");
    s.auto_error = 1;
    s.realm = "";
    decide(&s, NULL, NULL, NULL, NULL, &r);
    EXPECT_DENY(r, "Basic");
    s.realm = "with \"quotes\" and \\"; /* copied as is, like FastAPI's f-string */
    decide(&s, NULL, NULL, NULL, NULL, &r);
    EXPECT_DENY(r, "Basic realm=\"with \"quotes\" and \\\"");
    memset(realm, 'r', 1500);
    realm[1500] = 0;
    snprintf(want, sizeof want, "Basic realm=\"%s\"", realm);
    s.realm = realm;
    decide(&s, NULL, NULL, NULL, NULL, &r);
    CHECK_EQ_INT(r.rc, FR_SEC_DENY);
    CHECK_EQ_INT(strlen(r.ch), 1500 + 14);
    CHECK(strcmp(r.ch, want) == 0);
    /* OOM and NULL arena while formatting the realm */
    decide_mode(&s, NULL, NULL, NULL, NULL, 1, &r);
    CHECK_EQ_INT(r.rc, -1);
    decide_mode(&s, NULL, NULL, NULL, NULL, 2, &r);
    CHECK_EQ_INT(r.rc, -1);
    CHECK(r.ch_null && r.status == 0);
    /* decoding needs the arena too */
    s.realm = NULL;
    decide_mode(&s, "Basic Og==", NULL, NULL, NULL, 2, &r);
    CHECK_EQ_INT(r.rc, -1);
    CHECK(r.a_null && r.b_null);
    decide_mode(&s, "Basic Og==", NULL, NULL, NULL, 1, &r);
    CHECK_EQ_INT(r.rc, -1);
}

static void test_apikey_header(void) {
    fr_security s = sec(FR_SEC_APIKEY_HEADER, 1);
    res r;
    s.name = "x-key";
    decide(&s, "Bearer a", "secret", "x-key=q", "x-key=c", &r);
    EXPECT_OK(r, "secret", "");
    decide(&s, NULL, " spaced value ", NULL, NULL, &r);
    EXPECT_OK(r, " spaced value ", "");
    decide(&s, NULL, "\xff\xfe", NULL, NULL, &r);
    EXPECT_OK(r, "\xff\xfe", "");
    decide(&s, "Bearer a", NULL, "x-key=q", "x-key=c", &r); /* only the header counts */
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, "", NULL, NULL, &r);
    EXPECT_DENY(r, "APIKey");
    s.auto_error = 0;
    decide(&s, NULL, "", NULL, NULL, &r);
    EXPECT_NONE(r);
    decide(&s, NULL, NULL, NULL, NULL, &r);
    EXPECT_NONE(r);
    decide(&s, NULL, "v", NULL, NULL, &r);
    EXPECT_OK(r, "v", "");
    /* no name: never present */
    s.name = NULL;
    decide(&s, NULL, "v", NULL, NULL, &r);
    EXPECT_NONE(r);
    /* needs no arena */
    s.name = "x-key";
    decide_mode(&s, NULL, "v", NULL, NULL, 1, &r);
    EXPECT_OK(r, "v", "");
    s.auto_error = 1;
    decide_mode(&s, NULL, NULL, NULL, NULL, 1, &r);
    EXPECT_DENY(r, "APIKey");
}

static void test_apikey_query(void) {
    fr_security s = sec(FR_SEC_APIKEY_QUERY, 1);
    res r;
    s.name = "api_key";
    decide(&s, NULL, NULL, "api_key=abc", NULL, &r);
    EXPECT_OK(r, "abc", "");
    decide(&s, NULL, NULL, "x=1&api_key=a%20b+c&y=2", NULL, &r);
    EXPECT_OK(r, "a b c", "");
    decide(&s, NULL, NULL, "api_key=1&api_key=2&api_key=3", NULL, &r); /* last wins */
    EXPECT_OK(r, "3", "");
    decide(&s, NULL, NULL, "api%5Fkey=v&x=y", NULL, &r); /* keys are decoded too */
    EXPECT_OK(r, "v", "");
    decide(&s, NULL, NULL, "api_key=%C3%A9", NULL, &r);
    EXPECT_OK(r, "\xc3\xa9", "");
    decide(&s, NULL, NULL, "api_key=\xe9", NULL, &r); /* raw Latin-1 byte -> U+00E9 */
    EXPECT_OK(r, "\xc3\xa9", "");
    decide(&s, NULL, NULL, "api_key=%ZZ%4", NULL, &r); /* malformed escapes stay */
    EXPECT_OK(r, "%ZZ%4", "");
    decide(&s, NULL, NULL, "api_key=%FF", NULL, &r); /* invalid UTF-8 -> U+FFFD */
    EXPECT_OK(r, "\xef\xbf\xbd", "");
    decide(&s, NULL, NULL, "api_key=a=b;c", NULL, &r);
    EXPECT_OK(r, "a=b;c", "");
    decide(&s, NULL, NULL, "&&api_key=x&&", NULL, &r);
    EXPECT_OK(r, "x", "");

    decide(&s, NULL, NULL, "api_key=1&api_key=", NULL, &r); /* the last is empty */
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, "api_key", NULL, &r);
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, "api_key=", NULL, &r);
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, "API_KEY=x", NULL, &r); /* case-sensitive */
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, "", NULL, &r);
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, NULL, "api_key=c", &r);
    EXPECT_DENY(r, "APIKey");
    s.auto_error = 0;
    decide(&s, NULL, NULL, "api_key=", NULL, &r);
    EXPECT_NONE(r);
    decide(&s, NULL, NULL, "other=1", NULL, &r);
    EXPECT_NONE(r);
    decide(&s, NULL, NULL, "api_key=+", NULL, &r); /* a space is not empty */
    EXPECT_OK(r, " ", "");
    /* the decoded value needs the arena */
    decide_mode(&s, NULL, NULL, "api_key=v", NULL, 1, &r);
    CHECK_EQ_INT(r.rc, -1);
    decide_mode(&s, NULL, NULL, "api_key=v", NULL, 2, &r);
    CHECK_EQ_INT(r.rc, -1);
    CHECK(r.a_null);
}

static void test_apikey_cookie(void) {
    fr_security s = sec(FR_SEC_APIKEY_COOKIE, 1);
    res r;
    s.name = "session";
    decide(&s, NULL, NULL, NULL, "session=abc; other=1", &r);
    EXPECT_OK(r, "abc", "");
    decide(&s, NULL, NULL, NULL, "a=1;session=1; session=2 ;b=3", &r); /* last wins */
    EXPECT_OK(r, "2", "");
    decide(&s, NULL, NULL, NULL, "  session  =  v w  ", &r);
    EXPECT_OK(r, "v w", "");
    decide(&s, NULL, NULL, NULL, "session=\"a\\\"b\\101\"", &r); /* _unquote */
    EXPECT_OK(r, "a\"bA", "");
    decide(&s, NULL, NULL, NULL, "session=a%20b", &r); /* no percent-decoding */
    EXPECT_OK(r, "a%20b", "");
    decide(&s, NULL, NULL, NULL, "session=\xe9", &r);
    EXPECT_OK(r, "\xc3\xa9", "");
    decide(&s, NULL, NULL, NULL, "session=x=y", &r);
    EXPECT_OK(r, "x=y", "");

    decide(&s, NULL, NULL, NULL, "session=x; session=", &r); /* the last is empty */
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, NULL, "session", &r); /* a value with the empty name */
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, NULL, "Session=x", &r);
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, NULL, "", &r);
    EXPECT_DENY(r, "APIKey");
    decide(&s, NULL, NULL, "session=q", NULL, &r);
    EXPECT_DENY(r, "APIKey");
    s.auto_error = 0;
    decide(&s, NULL, NULL, NULL, "session=", &r);
    EXPECT_NONE(r);
    decide(&s, NULL, NULL, NULL, NULL, &r);
    EXPECT_NONE(r);
    decide(&s, NULL, NULL, NULL, "session=\"\"", &r); /* unquotes to "" */
    EXPECT_NONE(r);
}

static void test_bad_arguments(void) {
    fr_security s = sec(FR_SEC_OAUTH2, 1);
    fr_security_result out;
    fr_str none = {NULL, 0}, auth = FR_STR("Bearer x");
    CHECK_EQ_INT(fr_security_decide(&s, auth, none, none, none, NULL, NULL), -1);
    CHECK_EQ_INT(fr_security_decide(NULL, auth, none, none, none, NULL, &out), -1);
    CHECK(out.challenge == NULL && out.a.buf == NULL);
    s.kind = 0;
    CHECK_EQ_INT(fr_security_decide(&s, auth, none, none, none, NULL, &out), -1);
    s.kind = FR_SEC_APIKEY_COOKIE + 1;
    CHECK_EQ_INT(fr_security_decide(&s, auth, none, none, none, NULL, &out), -1);
    s.kind = FR_SEC_OAUTH2;
    CHECK_EQ_INT(fr_security_check(NULL, &s, &out), -1);
    CHECK(out.challenge == NULL);
    /* kinds that need no arena work without one */
    s.kind = FR_SEC_HTTP_BEARER;
    CHECK_EQ_INT(fr_security_decide(&s, auth, none, none, none, NULL, &out), FR_SEC_OK);
    CHECK_EQ_MEM(out.b.buf, out.b.len, "x");
    s.kind = FR_SEC_OAUTH2_BEARER;
    CHECK_EQ_INT(fr_security_decide(&s, none, none, none, none, NULL, &out), FR_SEC_DENY);
    CHECK(strcmp(out.challenge, "Bearer") == 0);
}

/* ------------------------------------------------------------------------ */
/* fr_security_check on live requests (fr_poll on this thread)              */

#define LIVE_N 6
static const fr_security *live_secs;
static int live_calls;
static res live_res[LIVE_N];

static int h_live(fr_req *req, void *ud) {
    int i;
    (void)ud;
    for (i = 0; i < LIVE_N; i++) {
        fr_security_result out;
        res *r = &live_res[i];
        memset(r, 0, sizeof *r);
        r->rc = fr_security_check(req, &live_secs[i], &out);
        copy_view(out.a, r->a, sizeof r->a, &r->alen, &r->a_null);
        copy_view(out.b, r->b, sizeof r->b, &r->blen, &r->b_null);
        r->status = out.status;
        r->ch_null = out.challenge == NULL;
        snprintf(r->detail, sizeof r->detail, "%s", out.detail ? out.detail : "");
        snprintf(r->ch, sizeof r->ch, "%s", out.challenge ? out.challenge : "");
        r->in_inputs = 1;
    }
    live_calls++;
    return fr_res_text(req, 200, "text/plain", "ok", 2);
}

/* Send one raw request to a fresh app and run the handler; 0 on success. */
static int live_request(const char *raw) {
    fr_config cfg;
    fr_app *app;
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    char buf[4096];
    int port, fd, i, rc = -1;
    size_t got = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.no_signals = 1;
    live_calls = 0;
    app = fr_app_new(&cfg);
    if (!app) return -1;
    if (fr_route(app, "GET", "/s", h_live, NULL) < 0 || (port = fr_listen(app, "127.0.0.1", 0)) <= 0) {
        fr_app_free(app);
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, raw, strlen(raw), MSG_NOSIGNAL) == (ssize_t)strlen(raw)) {
        for (i = 0; i < 500 && live_calls == 0; i++)
            if (fr_poll(app, 10) < 0) break;
        /* let the response go out, then read it */
        for (i = 0; i < 500 && live_calls == 1; i++) {
            ssize_t n;
            if (fr_poll(app, 10) < 0) break;
            n = recv(fd, buf + got, sizeof buf - 1 - got, MSG_DONTWAIT);
            if (n > 0) got += (size_t)n;
            buf[got] = 0;
            if (strstr(buf, "\r\n\r\nok")) break;
        }
        rc = live_calls == 1 && strstr(buf, "HTTP/1.1 200") != NULL ? 0 : -1;
    }
    if (fd >= 0) close(fd);
    fr_app_free(app);
    return rc;
}

static void test_check_live(void) {
    fr_security secs[LIVE_N];
    secs[0] = sec(FR_SEC_HTTP_BEARER, 1);
    secs[1] = sec(FR_SEC_APIKEY_HEADER, 1);
    secs[1].name = "X-Key";
    secs[2] = sec(FR_SEC_APIKEY_QUERY, 1);
    secs[2].name = "k";
    secs[3] = sec(FR_SEC_APIKEY_COOKIE, 1);
    secs[3].name = "sid";
    secs[4] = sec(FR_SEC_HTTP_BASIC, 0);
    secs[5] = sec(FR_SEC_APIKEY_COOKIE, 0);
    secs[5].name = "only";
    live_secs = secs;

    /* first Authorization wins; header names are case-insensitive; the
     * query's last k wins; later Cookie headers override earlier ones */
    REQUIRE(live_request("GET /s?k=1&k=two%21 HTTP/1.1\r\nHost: x\r\n"
                         "Authorization: Bearer first\r\nx-key: kv\r\n"
                         "AUTHORIZATION: Basic Og==\r\n"
                         "Cookie: sid=a; only=o\r\nCookie: sid=b\r\nCookie: z=1\r\n\r\n") == 0);
    EXPECT_OK(live_res[0], "Bearer", "first");
    EXPECT_OK(live_res[1], "kv", "");
    EXPECT_OK(live_res[2], "two!", "");
    EXPECT_OK(live_res[3], "b", "");
    EXPECT_NONE(live_res[4]); /* sees "Bearer first", not the Basic one */
    EXPECT_OK(live_res[5], "o", "");

    /* nothing sent */
    REQUIRE(live_request("GET /s HTTP/1.1\r\nHost: x\r\n\r\n") == 0);
    EXPECT_DENY(live_res[0], "Bearer");
    EXPECT_DENY(live_res[1], "APIKey");
    EXPECT_DENY(live_res[2], "APIKey");
    EXPECT_DENY(live_res[3], "APIKey");
    EXPECT_NONE(live_res[4]);
    EXPECT_NONE(live_res[5]);

    /* undecodable Basic first, a good one after: the first decides;
     * an empty later cookie overrides */
    REQUIRE(live_request("GET /s?k= HTTP/1.1\r\nHost: x\r\nAuthorization: basic !!\r\n"
                         "Authorization: Basic Og==\r\nCookie: sid=a\r\nCookie: sid=\r\n\r\n") == 0);
    EXPECT_DENY(live_res[0], "Bearer");
    EXPECT_DENY(live_res[2], "APIKey");
    EXPECT_DENY(live_res[3], "APIKey");
    EXPECT_DENY(live_res[4], "Basic");
}

static const frt_case frt_cases[] = {
    FRT(test_oauth2_raw_and_openid),
    FRT(test_oauth2_bearer),
    FRT(test_http_bearer_digest),
    FRT(test_http_base),
    FRT(test_http_base_challenge_storage),
    FRT(test_http_basic),
    FRT(test_http_basic_realm),
    FRT(test_apikey_header),
    FRT(test_apikey_query),
    FRT(test_apikey_cookie),
    FRT(test_bad_arguments),
    FRT(test_check_live),
};
FRT_MAIN()
