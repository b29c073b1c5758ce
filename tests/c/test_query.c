/* Unit tests for src/query.c: query strings and Cookie headers, split and
 * decoded as Starlette does (parse_qsl / cookie_parser). Every input sits
 * right before a guard page and every output buffer is exactly as large as
 * the caller promised, so an over-read or over-write crashes. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#define S(lit) lit, sizeof(lit) - 1

/* fr_kv_decode (is_key 0) or fr_kv_decode_key (1) of raw[0..n) into a
 * buffer of exactly FR_KV_DECODED_MAX(n) bytes; 1 if the result is want. */
static int dec_is(int kind, int is_key, const char *raw, size_t n, const char *want, size_t wn) {
    size_t cap = FR_KV_DECODED_MAX(n);
    char *in = (char *)frt_guarded(raw, n), *zero = (char *)calloc(1, cap), *out;
    fr_str r;
    long got;
    int ok;
    out = (char *)frt_guarded(zero, cap);
    r.buf = in;
    r.len = n;
    got = is_key ? fr_kv_decode_key(kind, r, out, cap) : fr_kv_decode(kind, r, out, cap);
    ok = got >= 0 && (size_t)got == wn && memcmp(out, want, wn) == 0;
    if (!ok) fprintf(stderr, "decode: got %ld bytes \"%.*s\"\n", got, got > 0 ? (int)got : 0, out);
    frt_guarded_free(in, n);
    frt_guarded_free(out, cap);
    free(zero);
    return ok;
}

#define QDEC(raw, want) dec_is(FR_KV_QUERY, 0, S(raw), S(want))
#define CDEC(raw, want) dec_is(FR_KV_COOKIE, 0, S(raw), S(want))
#define CKEY(raw, want) dec_is(FR_KV_COOKIE, 1, S(raw), S(want))

#define FFFD "\xef\xbf\xbd"

/* The pairs of src joined as "k=v|k=v|" (raw views, not decoded). */
static char *pairs(int kind, const char *src, size_t n) {
    static char out[4096];
    char *in = (char *)frt_guarded(src, n);
    fr_kv_iter it;
    fr_str k, v, s;
    size_t o = 0;
    s.buf = in;
    s.len = n;
    fr_kv_iter_init(&it, s, kind);
    while (fr_kv_next(&it, &k, &v)) {
        if (k.buf < in || k.buf + k.len > in + n || v.buf < in || v.buf + v.len > in + n) {
            strcpy(out, "<view outside the input>");
            return out;
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "%.*s=%.*s|", (int)k.len, k.buf, (int)v.len,
                              v.buf);
    }
    out[o] = 0;
    frt_guarded_free(in, n);
    return out;
}

static void test_query_split(void) {
    CHECK(strcmp(pairs(FR_KV_QUERY, S("a=1&b=2")), "a=1|b=2|") == 0);
    /* empty parts skipped; no '=' is an empty value; only the first '=' splits */
    CHECK(strcmp(pairs(FR_KV_QUERY, S("&&a&=x&d=&e=f=g&&")), "a=|=x|d=|e=f=g|") == 0);
    CHECK(strcmp(pairs(FR_KV_QUERY, S("a=1;b=2")), "a=1;b=2|") == 0); /* '&' only */
    CHECK(strcmp(pairs(FR_KV_QUERY, S("=")), "=|") == 0);
    CHECK(strcmp(pairs(FR_KV_QUERY, S(" = ")), " = |") == 0); /* no trimming */
    CHECK(strcmp(pairs(FR_KV_QUERY, S("&&&")), "") == 0);
    CHECK(strcmp(pairs(FR_KV_QUERY, S("")), "") == 0);
    CHECK(strcmp(pairs(FR_KV_QUERY, S("x")), "x=|") == 0);
    CHECK(strcmp(pairs(FR_KV_QUERY, S("a+b=%20")), "a+b=%20|") == 0); /* raw views */
}

static void test_iter_edges(void) {
    fr_kv_iter it;
    fr_str none = {NULL, 0}, k, v, src = FR_STR("a=1&b");
    fr_kv_iter_init(&it, none, FR_KV_QUERY);
    CHECK(!fr_kv_next(&it, &k, &v));
    fr_kv_iter_init(&it, none, FR_KV_COOKIE);
    CHECK(!fr_kv_next(&it, &k, &v));
    CHECK(!fr_kv_next(NULL, &k, &v));
    fr_kv_iter_init(NULL, src, FR_KV_QUERY); /* tolerated */
    fr_kv_iter_init(&it, src, 7);            /* unknown kind: nothing */
    CHECK(!fr_kv_next(&it, &k, &v));
    fr_kv_iter_init(&it, src, FR_KV_QUERY); /* NULL outputs */
    CHECK(fr_kv_next(&it, NULL, NULL));
    CHECK(fr_kv_next(&it, &k, NULL) && fr_str_eq_c(k, "b"));
    CHECK(!fr_kv_next(&it, NULL, &v));
    CHECK(!fr_kv_next(&it, NULL, &v)); /* stays at the end */
    /* the empty value of a bare key is a view at the end of its part */
    fr_kv_iter_init(&it, src, FR_KV_QUERY);
    fr_kv_next(&it, &k, &v);
    CHECK(fr_kv_next(&it, &k, &v) && v.len == 0 && v.buf == src.buf + src.len);
}

static void test_query_decode_plain(void) {
    CHECK(QDEC("", ""));
    CHECK(QDEC("abc", "abc"));
    CHECK(QDEC("a+b", "a b"));
    CHECK(QDEC("%2B+%2b", "+ +")); /* an escaped '+' stays a plus */
    CHECK(QDEC("%20%41%7e%7E", " A~~"));
    CHECK(QDEC("%00", "\0"));
    /* malformed escapes stay literally */
    CHECK(QDEC("%", "%"));
    CHECK(QDEC("%4", "%4"));
    CHECK(QDEC("%zz", "%zz"));
    CHECK(QDEC("%4g", "%4g"));
    CHECK(QDEC("%g4", "%g4"));
    CHECK(QDEC("%%41", "%A"));
    CHECK(QDEC("%+41", "% 41"));
    CHECK(QDEC("100%", "100%"));
    CHECK(QDEC("%%%", "%%%"));
}

static void test_query_decode_utf8(void) {
    CHECK(QDEC("%e2%82%ac", "\xe2\x82\xac"));
    CHECK(QDEC("%C3%A9", "\xc3\xa9"));
    CHECK(QDEC("%f0%9f%98%80", "\xf0\x9f\x98\x80"));
    CHECK(QDEC("%F4%8F%BF%BF", "\xf4\x8f\xbf\xbf")); /* U+10FFFF */
    CHECK(QDEC("%ED%9F%BF", "\xed\x9f\xbf"));        /* U+D7FF */
    CHECK(QDEC("%EE%80%80", "\xee\x80\x80"));        /* U+E000 */
    /* one U+FFFD per maximal invalid subpart */
    CHECK(QDEC("%80", FFFD));
    CHECK(QDEC("%BF%80", FFFD FFFD));
    CHECK(QDEC("%C0%AF", FFFD FFFD)); /* overlong */
    CHECK(QDEC("%C1%BF", FFFD FFFD));
    CHECK(QDEC("%F5%80", FFFD FFFD));
    CHECK(QDEC("%FF", FFFD));
    CHECK(QDEC("%C3", FFFD));
    CHECK(QDEC("%C3%28", FFFD "("));
    CHECK(QDEC("%C3(", FFFD "("));
    CHECK(QDEC("%C3+", FFFD " "));
    CHECK(QDEC("%E2%82", FFFD));
    CHECK(QDEC("%E2%82x", FFFD "x"));
    CHECK(QDEC("%E2%82%E2%82%AC", FFFD "\xe2\x82\xac"));
    CHECK(QDEC("%E0%80%80", FFFD FFFD FFFD)); /* E0 needs A0..BF */
    CHECK(QDEC("%E0%A0", FFFD));
    CHECK(QDEC("%E0%A0%80", "\xe0\xa0\x80"));
    CHECK(QDEC("%ED%A0%80", FFFD FFFD FFFD)); /* surrogate */
    CHECK(QDEC("%F0%80%80%80", FFFD FFFD FFFD FFFD));
    CHECK(QDEC("%F0%90%80", FFFD));
    CHECK(QDEC("%F0%90%80%41", FFFD "A"));
    CHECK(QDEC("%F4%90%80%80", FFFD FFFD FFFD FFFD)); /* above U+10FFFF */
    CHECK(QDEC("%F4%8F%BF", FFFD));
    CHECK(QDEC("%F0%9F%98%", FFFD "%"));
    CHECK(QDEC("%F0%9F%98%8", FFFD "%8"));
    /* raw bytes >= 0x80 are Latin-1 characters and end a sequence */
    CHECK(QDEC("\xe9", "\xc3\xa9"));
    CHECK(QDEC("\xc3\xa9", "\xc3\x83\xc2\xa9"));
    CHECK(QDEC("%C3\xa9", FFFD "\xc2\xa9"));
    CHECK(QDEC("%E2\x82%AC", FFFD "\xc2\x82" FFFD));
    CHECK(QDEC("\xff+\x80", "\xc3\xbf \xc2\x80"));
}

static void test_decode_capacity(void) {
    char out[16];
    fr_str r = FR_STR("%E2%82%AC+\xe9"); /* 3 + 1 + 2 bytes */
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, r, out, 6), 6);
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, r, out, 5), -1);
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, r, out, 0), -1);
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, r, NULL, 16), -1);
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, FR_STR(""), NULL, 0), 0);
    {
        fr_str none = {NULL, 5}; /* NULL buf reads as empty */
        CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, none, out, sizeof out), 0);
    }
    CHECK_EQ_INT(fr_kv_decode(2, r, out, sizeof out), -1);
    CHECK_EQ_INT(fr_kv_decode(-1, r, out, sizeof out), -1);
    CHECK_EQ_INT(fr_kv_decode_key(2, r, out, sizeof out), -1);
    /* a lone raw byte: 2 bytes out of 1, the bound holds */
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, FR_STR("\xff"), out, 2), 2);
    CHECK_EQ_INT(fr_kv_decode(FR_KV_COOKIE, FR_STR("\"\\377\""), out, 2), 2);
    CHECK_EQ_INT(fr_kv_decode(FR_KV_COOKIE, FR_STR("\"\\377\""), out, 1), -1);
}

/* Worst cases for the FR_KV_DECODED_MAX bound, 1 MiB each. */
static void test_decode_huge(void) {
    size_t n = 1u << 20, i, cap = FR_KV_DECODED_MAX(n);
    char *raw = (char *)malloc(n), *zero = (char *)calloc(1, cap), *in, *out;
    fr_str r;
    REQUIRE(raw && zero);
    out = (char *)frt_guarded(zero, cap);
    memset(raw, 0xff, n); /* every byte a 2-byte Latin-1 character */
    in = (char *)frt_guarded(raw, n);
    r.buf = in;
    r.len = n;
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, r, out, cap), 2 * n);
    CHECK_EQ_INT(fr_kv_decode(FR_KV_COOKIE, r, out, cap), 2 * n);
    CHECK_EQ_INT(fr_kv_decode_key(FR_KV_COOKIE, r, out, cap), 2 * n);
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, r, out, 2 * n - 1), -1);
    CHECK((unsigned char)out[0] == 0xc3 && (unsigned char)out[2 * n - 1] == 0xbf);
    frt_guarded_free(in, n);
    for (i = 0; i + 3 <= n; i += 3) memcpy(raw + i, "%80", 3); /* U+FFFD each */
    memset(raw + i, '+', n - i);
    in = (char *)frt_guarded(raw, n);
    r.buf = in;
    CHECK_EQ_INT(fr_kv_decode(FR_KV_QUERY, r, out, cap), i + (n - i));
    CHECK(memcmp(out, FFFD, 3) == 0 && out[i] == ' ');
    CHECK(fr_kv_key_eq(FR_KV_QUERY, r, r) == 0);
    frt_guarded_free(in, n);
    /* a huge query string: count and find across 100k pairs */
    for (i = 0; i + 4 <= n; i += 4) memcpy(raw + i, "k=v&", 4);
    in = (char *)frt_guarded(raw, n);
    r.buf = in;
    CHECK_EQ_INT(fr_kv_count(r, FR_KV_QUERY, FR_STR("k")), n / 4);
    {
        fr_str v;
        CHECK(fr_kv_find(r, FR_KV_QUERY, FR_STR("k"), FR_KV_LAST, &v) && v.buf == in + n - 2);
    }
    frt_guarded_free(in, n);
    frt_guarded_free(out, cap);
    free(raw);
    free(zero);
}

static int keq(int kind, const char *raw, size_t n, const char *key, size_t kn) {
    char *in = (char *)frt_guarded(raw, n), *k = (char *)frt_guarded(key, kn);
    fr_str r, ks;
    int eq;
    r.buf = in;
    r.len = n;
    ks.buf = k;
    ks.len = kn;
    eq = fr_kv_key_eq(kind, r, ks);
    frt_guarded_free(in, n);
    frt_guarded_free(k, kn);
    return eq;
}

static void test_key_eq(void) {
    CHECK(keq(FR_KV_QUERY, S("a+b"), S("a b")));
    CHECK(keq(FR_KV_QUERY, S("a%2Bb"), S("a+b")));
    CHECK(keq(FR_KV_QUERY, S("%C3"), S(FFFD)));
    CHECK(keq(FR_KV_QUERY, S("\xe9"), S("\xc3\xa9")));
    CHECK(!keq(FR_KV_QUERY, S("\xe9"), S("\xe9")));
    CHECK(keq(FR_KV_QUERY, S(""), S("")));
    CHECK(!keq(FR_KV_QUERY, S("ab"), S("abc")));
    CHECK(!keq(FR_KV_QUERY, S("abc"), S("ab")));
    CHECK(!keq(FR_KV_QUERY, S("abd"), S("abc")));
    CHECK(!keq(FR_KV_QUERY, S("a"), S("")));
    CHECK(!keq(FR_KV_QUERY, S(""), S("a")));
    CHECK(!keq(FR_KV_QUERY, S("%E2%82%AC"), S("\xe2\x82")));
    CHECK(keq(FR_KV_QUERY, S("%E2%82%AC"), S("\xe2\x82\xac")));
    /* cookie names are never unquoted */
    CHECK(keq(FR_KV_COOKIE, S("\"a\""), S("\"a\"")));
    CHECK(!keq(FR_KV_COOKIE, S("\"a\""), S("a")));
    CHECK(keq(FR_KV_COOKIE, S("a%20"), S("a%20")));
    CHECK(keq(FR_KV_COOKIE, S("\xe9"), S("\xc3\xa9")));
    CHECK(!keq(9, S("a"), S("a")));
    {
        fr_str none = {NULL, 0};
        CHECK(fr_kv_key_eq(FR_KV_QUERY, none, none));
        CHECK(!fr_kv_key_eq(FR_KV_QUERY, FR_STR("a"), none));
    }
}

static void test_find_count(void) {
    fr_str q = FR_STR("a=1&b=2&a=3&a+b=4&a%20b=5&c"), v;
    CHECK(fr_kv_find(q, FR_KV_QUERY, FR_STR("a"), FR_KV_FIRST, &v) && fr_str_eq_c(v, "1"));
    CHECK(fr_kv_find(q, FR_KV_QUERY, FR_STR("a"), FR_KV_LAST, &v) && fr_str_eq_c(v, "3"));
    CHECK(fr_kv_find(q, FR_KV_QUERY, FR_STR("a b"), FR_KV_FIRST, &v) && fr_str_eq_c(v, "4"));
    CHECK(fr_kv_find(q, FR_KV_QUERY, FR_STR("a b"), FR_KV_LAST, &v) && fr_str_eq_c(v, "5"));
    CHECK(fr_kv_find(q, FR_KV_QUERY, FR_STR("c"), FR_KV_LAST, &v) && v.len == 0);
    CHECK(fr_kv_find(q, FR_KV_QUERY, FR_STR("b"), FR_KV_LAST, NULL));
    v = FR_STR("untouched");
    CHECK(!fr_kv_find(q, FR_KV_QUERY, FR_STR("d"), FR_KV_LAST, &v) && fr_str_eq_c(v, "untouched"));
    CHECK(!fr_kv_find(q, FR_KV_QUERY, FR_STR(""), FR_KV_FIRST, &v));
    CHECK_EQ_INT(fr_kv_count(q, FR_KV_QUERY, FR_STR("a")), 2);
    CHECK_EQ_INT(fr_kv_count(q, FR_KV_QUERY, FR_STR("a b")), 2);
    CHECK_EQ_INT(fr_kv_count(q, FR_KV_QUERY, FR_STR("z")), 0);
    CHECK_EQ_INT(fr_kv_count(q, FR_KV_COOKIE, FR_STR("a")), 1); /* as a Cookie: one pair */
    {
        fr_str none = {NULL, 0};
        CHECK(!fr_kv_find(none, FR_KV_QUERY, FR_STR("a"), FR_KV_LAST, &v));
        CHECK_EQ_INT(fr_kv_count(none, FR_KV_COOKIE, FR_STR("a")), 0);
    }
    /* an empty key is found when a part starts with '=' */
    CHECK(fr_kv_find(FR_STR("=x&=y"), FR_KV_QUERY, FR_STR(""), FR_KV_LAST, &v) && fr_str_eq_c(v, "y"));
    /* cookies: the last of a repeated name, like a dict built in order */
    CHECK(fr_kv_find(FR_STR("a=1; b=2; a=3"), FR_KV_COOKIE, FR_STR("a"), FR_KV_LAST, &v) &&
          fr_str_eq_c(v, "3"));
    CHECK(fr_kv_find(FR_STR("a=1; b=2; a=3"), FR_KV_COOKIE, FR_STR("a"), FR_KV_FIRST, &v) &&
          fr_str_eq_c(v, "1"));
    CHECK(fr_kv_find(FR_STR("x; a=1"), FR_KV_COOKIE, FR_STR(""), FR_KV_LAST, &v) &&
          fr_str_eq_c(v, "x"));
}

static void test_cookie_split(void) {
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("a=1; b=2")), "a=1|b=2|") == 0);
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("a=1&b=2")), "a=1&b=2|") == 0); /* ';' only */
    CHECK(strcmp(pairs(FR_KV_COOKIE, S(" a = 1 ;\tb\t=\t2\t")), "a=1|b=2|") == 0);
    /* Python's str.strip() set on Latin-1 text: \t\n\v\f\r, 0x1c-0x1f, space, 0x85, 0xa0 */
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0k\r\n=\x85v\xa0")), "k=v|") == 0);
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("\x01k=v\x84")), "\x01k=v\x84|") == 0); /* not spaces */
    /* no '=' is a value with the empty name; both empty is skipped */
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("foo; =; ;;  ; =bar; x=")), "=foo|=bar|x=|") == 0);
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("a==b=c")), "a==b=c|") == 0);
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("\"q\"=\"v\"")), "\"q\"=\"v\"|") == 0); /* quotes kept */
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("")), "") == 0);
    CHECK(strcmp(pairs(FR_KV_COOKIE, S(";")), "") == 0);
    CHECK(strcmp(pairs(FR_KV_COOKIE, S(" ")), "") == 0);
    CHECK(strcmp(pairs(FR_KV_COOKIE, S("\"\"")), "=\"\"|") == 0); /* raw value is not empty */
}

static void test_cookie_decode(void) {
    CHECK(CDEC("", ""));
    CHECK(CDEC("abc", "abc"));
    CHECK(CDEC("a%20b+c", "a%20b+c")); /* nothing percent-decoded */
    CHECK(CDEC("\xe9\xff", "\xc3\xa9\xc3\xbf"));
    CHECK(CDEC("\"abc\"", "abc"));
    CHECK(CDEC("\"\"", ""));
    CHECK(CDEC("\"", "\""));
    CHECK(CDEC("\"abc", "\"abc"));
    CHECK(CDEC("abc\"", "abc\""));
    CHECK(CDEC("a\"b\"", "a\"b\""));
    CHECK(CDEC("\"a\\\"b\"", "a\"b"));
    CHECK(CDEC("\"a\\\\b\"", "a\\b"));
    CHECK(CDEC("\"\\x\"", "x"));
    CHECK(CDEC("\"\\101\\073\\000\"", "A;\0"));
    CHECK(CDEC("\"\\377\\200\"", "\xc3\xbf\xc2\x80"));
    CHECK(CDEC("\"\\400\"", "400"));  /* first digit 0-3 only: "\4" then "00" */
    CHECK(CDEC("\"\\18\"", "18"));    /* not three octal digits */
    CHECK(CDEC("\"\\12\"", "12"));    /* too short */
    CHECK(CDEC("\"\\\\012\"", "\\012")); /* the escaped backslash wins */
    CHECK(CDEC("\"\\\n\"", "\\\n"));  /* '.' does not match a newline */
    CHECK(CDEC("\"\\\r\"", "\r"));
    CHECK(CDEC("\"a\\\"", "a\\"));     /* a trailing backslash stays */
    CHECK(CDEC("\"\\\"", "\\"));
    CHECK(CDEC("\"\\\xe9\"", "\xc3\xa9"));
    CHECK(CDEC("\"\\\\\"", "\\"));
    /* keys: Latin-1 to UTF-8 only */
    CHECK(CKEY("\"k\"", "\"k\""));
    CHECK(CKEY("\xe9", "\xc3\xa9"));
    CHECK(CKEY("\"\\101\"", "\"\\101\""));
    /* query keys decode like values */
    CHECK(dec_is(FR_KV_QUERY, 1, S("a+%41"), S("a A")));
}

static const frt_case frt_cases[] = {
    FRT(test_query_split),      FRT(test_iter_edges),   FRT(test_query_decode_plain),
    FRT(test_query_decode_utf8), FRT(test_decode_capacity), FRT(test_decode_huge),
    FRT(test_key_eq),           FRT(test_find_count),   FRT(test_cookie_split),
    FRT(test_cookie_decode),
};
FRT_MAIN()
