/* Unit tests for src/media.c: media-type parsing, parameters and the
 * JSON / form decisions. Inputs sit right before a guard page. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#define S(lit) lit, sizeof(lit) - 1

static fr_str guard(const char *s, size_t n) {
    fr_str r;
    r.buf = (const char *)frt_guarded(s, n);
    r.len = n;
    return r;
}

/* parse and render "type|subtype|params", or "ERR" */
static const char *parsed(const char *s, size_t n) {
    static char out[512];
    fr_media_type mt;
    fr_str in = guard(s, n);
    if (fr_media_parse(in, &mt) < 0) {
        strcpy(out, mt.type.len || mt.subtype.len || mt.params.len ? "ERR-dirty" : "ERR");
    } else {
        snprintf(out, sizeof out, "%.*s|%.*s|%.*s", (int)mt.type.len, mt.type.buf, (int)mt.subtype.len,
                 mt.subtype.buf, (int)mt.params.len, mt.params.buf);
    }
    frt_guarded_free((void *)(uintptr_t)in.buf, n);
    return out;
}

static void test_parse(void) {
    fr_media_type mt;
    fr_str none = {NULL, 0};
    CHECK(strcmp(parsed(S("application/json")), "application|json|") == 0);
    CHECK(strcmp(parsed(S(" \tText/HTML ; charset=utf-8")), "Text|HTML| charset=utf-8") == 0);
    CHECK(strcmp(parsed(S("application/vnd.api+json;")), "application|vnd.api+json|") == 0);
    CHECK(strcmp(parsed(S("a/b;c;d")), "a|b|c;d") == 0);
    CHECK(strcmp(parsed(S("!#$%&'*+-.^_`|~09AZaz/x")), "!#$%&'*+-.^_`|~09AZaz|x|") == 0);
    CHECK(strcmp(parsed(S("")), "ERR") == 0);
    CHECK(strcmp(parsed(S(" ")), "ERR") == 0);
    CHECK(strcmp(parsed(S("/")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a/")), "ERR") == 0);
    CHECK(strcmp(parsed(S("/b")), "ERR") == 0);
    CHECK(strcmp(parsed(S("json")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a /b")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a/ b")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a b/c")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a/b/c")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a/b\x80")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a/b\"")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a\0/b")), "ERR") == 0);
    CHECK(strcmp(parsed(S(";a/b")), "ERR") == 0);
    CHECK(strcmp(parsed(S("a/b\n")), "ERR") == 0); /* only spaces and tabs are trimmed */
    CHECK(fr_media_parse(none, &mt) == -1);
    CHECK(fr_media_parse(FR_STR("a/b"), NULL) == -1);
}

/* all parameters rendered "name=value(e)|" where (e) marks escapes */
static const char *params(const char *s, size_t n) {
    static char out[512];
    fr_media_type mt;
    fr_str in = guard(s, n), name, value;
    size_t pos = 0, o = 0, last = 0;
    int esc = -1;
    if (fr_media_parse(in, &mt) < 0) {
        strcpy(out, "ERR");
    } else {
        out[0] = 0;
        while (fr_media_next_param(&mt, &pos, &name, &value, &esc)) {
            if (pos < last || pos > mt.params.len || esc < 0) {
                strcpy(out, "BAD-POS");
                break;
            }
            last = pos;
            o += (size_t)snprintf(out + o, sizeof out - o, "%.*s=%.*s%s|", (int)name.len, name.buf,
                                  (int)value.len, value.buf, esc ? "(e)" : "");
            esc = -1;
        }
        if (pos != mt.params.len) strcpy(out, "END-POS");
        if (fr_media_next_param(&mt, &pos, &name, &value, &esc)) strcpy(out, "NOT-DONE");
    }
    frt_guarded_free((void *)(uintptr_t)in.buf, n);
    return out;
}

static void test_params(void) {
    CHECK(strcmp(params(S("a/b")), "") == 0);
    CHECK(strcmp(params(S("a/b;")), "") == 0);
    CHECK(strcmp(params(S("a/b; charset=utf-8")), "charset=utf-8|") == 0);
    CHECK(strcmp(params(S("a/b;x=1;Y=\"2 3\"  ; z = 4;w=5")), "x=1|Y=2 3|w=5|") == 0);
    CHECK(strcmp(params(S("a/b; q=\"a\\\"b\"; r=\"\"")), "q=a\\\"b(e)|r=|") == 0);
    CHECK(strcmp(params(S("a/b;;; ;\t;k=v;;")), "k=v|") == 0);
    /* malformed ones are skipped up to the next ';' */
    CHECK(strcmp(params(S("a/b; bad; =v; k=; k2=v w; ok=1; \"q\"=1; t=x\"y; u=2")), "ok=1|u=2|") == 0);
    CHECK(strcmp(params(S("a/b; k=\"v\" junk; ok=1")), "ok=1|") == 0);
    CHECK(strcmp(params(S("a/b; k=\"v;w\"; ok=1")), "k=v;w|ok=1|") == 0);
    CHECK(strcmp(params(S("a/b; k")), "") == 0);
    CHECK(strcmp(params(S("a/b; k=")), "") == 0);
    CHECK(strcmp(params(S("a/b; k=\"")), "") == 0);        /* unterminated */
    CHECK(strcmp(params(S("a/b; k=\"abc")), "") == 0);
    CHECK(strcmp(params(S("a/b; k=\"ab\\")), "") == 0);    /* escape at the very end */
    CHECK(strcmp(params(S("a/b; k=\"ab\\\"")), "") == 0);  /* escaped closing quote */
    CHECK(strcmp(params(S("a/b; a=1; k=\"x")), "a=1|") == 0);
    CHECK(strcmp(params(S("a/b; k=v ")), "k=v|") == 0);
    CHECK(strcmp(params(S("a/b; k=\"\\\\\"")), "k=\\\\(e)|") == 0);
}

static void test_param_lookup(void) {
    fr_media_type mt;
    fr_str v;
    size_t pos = 0;
    REQUIRE(fr_media_parse(FR_STR("text/plain; Charset=\"UTF-8\"; charset=latin1; q=1"), &mt) == 0);
    CHECK(fr_media_param(&mt, "charset", &v) && fr_str_eq_c(v, "UTF-8"));
    CHECK(fr_media_param(&mt, "CHARSET", NULL));
    CHECK(fr_media_param(&mt, "q", &v) && fr_str_eq_c(v, "1"));
    CHECK(!fr_media_param(&mt, "boundary", &v));
    CHECK(!fr_media_param(&mt, NULL, &v));
    CHECK(!fr_media_param(NULL, "q", &v));
    CHECK(!fr_media_next_param(NULL, &pos, &v, &v, NULL));
    CHECK(!fr_media_next_param(&mt, NULL, &v, &v, NULL));
    CHECK(fr_media_next_param(&mt, &pos, NULL, NULL, NULL)); /* NULL outputs */
    {
        fr_media_type zero;
        memset(&zero, 0, sizeof zero);
        pos = 0;
        CHECK(!fr_media_next_param(&zero, &pos, &v, &v, NULL));
    }
}

static int is_json(const char *s, size_t n) {
    fr_str in = guard(s, n);
    int r = fr_media_is_json(in);
    frt_guarded_free((void *)(uintptr_t)in.buf, n);
    return r;
}

/* Each case checked against email.message.Message in Python (see
 * tests/test_c_parity.py for the randomized comparison). */
static void test_is_json(void) {
    fr_str none = {NULL, 0};
    CHECK(is_json(S("application/json")));
    CHECK(is_json(S("Application/JSON")));
    CHECK(is_json(S(" application/json ; charset=utf-8")));
    CHECK(is_json(S("application/json;")));
    CHECK(is_json(S("application/vnd.api+json")));
    CHECK(is_json(S("APPLICATION/X+JSON")));
    CHECK(is_json(S("application/+json")));
    CHECK(is_json(S("application/x y+json")));     /* the email module keeps inner spaces */
    CHECK(is_json(S("application/json\x85")));     /* Python whitespace, Latin-1 */
    CHECK(is_json(S("\xa0" "application/json")));
    CHECK(is_json(S("\x1c\x1d\x1e\x1f\x0b\x0c\r\napplication/json\t")));
    CHECK(is_json(S("application/json;a/b/c")));
    CHECK(!is_json(S("")));
    CHECK(!is_json(S(" ")));
    CHECK(!is_json(S("application")));
    CHECK(!is_json(S("application/")));
    CHECK(!is_json(S("/json")));
    CHECK(!is_json(S("application /json")));
    CHECK(!is_json(S("application/ json")));
    CHECK(!is_json(S("application/json\x01")));
    CHECK(!is_json(S("application/json\n x")));
    CHECK(!is_json(S("application/json\x00")));
    CHECK(!is_json(S("application/a/b+json")));    /* two slashes: text/plain */
    CHECK(!is_json(S(";application/json")));
    CHECK(!is_json(S("text/json")));
    CHECK(!is_json(S("application/jsonx")));
    CHECK(!is_json(S("application/json5")));
    CHECK(!is_json(S("application/xjson")));
    CHECK(!is_json(S("application/x+jso")));
    CHECK(!is_json(S("applicatio/json")));
    CHECK(!is_json(S("applicationx/json")));
    CHECK(!is_json(S("application\x0b/json")));
    CHECK(!is_json(S("application/json\x84")));    /* 0x84 is not whitespace */
    CHECK(!is_json(S("\xc1pplication/json")));
    CHECK(!fr_media_is_json(none));
}

static void test_is(void) {
    fr_str none = {NULL, 0};
    const char *form = "application/x-www-form-urlencoded";
    CHECK(fr_media_is(FR_STR("application/x-www-form-urlencoded"), form));
    CHECK(fr_media_is(FR_STR(" Application/X-WWW-Form-URLencoded ; charset=utf-8"), form));
    CHECK(!fr_media_is(FR_STR("application/x-www-form-urlencodedx"), form));
    CHECK(!fr_media_is(FR_STR("application/x-www-form-urlencode"), form));
    CHECK(!fr_media_is(FR_STR("applicatio/x-www-form-urlencoded"), form));
    CHECK(!fr_media_is(FR_STR("multipart/form-data; boundary=x"), form));
    CHECK(fr_media_is(FR_STR("multipart/form-data; boundary=x"), "MULTIPART/FORM-DATA"));
    CHECK(!fr_media_is(FR_STR("application /x-www-form-urlencoded"), form));
    CHECK(!fr_media_is(none, form));
    CHECK(!fr_media_is(FR_STR("a/b"), NULL));
    CHECK(!fr_media_is(FR_STR("a/b"), "ab"));
    CHECK(!fr_media_is(FR_STR("a/b"), "a/b/"));
    CHECK(!fr_media_is(FR_STR("a/b"), "/b"));
}

static const frt_case frt_cases[] = {
    FRT(test_parse), FRT(test_params), FRT(test_param_lookup), FRT(test_is_json), FRT(test_is),
};
FRT_MAIN()
