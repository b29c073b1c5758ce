/* Unit tests for src/errors.c: {"detail": ...} bodies byte for byte as
 * FastAPI writes them (json.dumps(ensure_ascii=False), compact). */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#define S(lit) lit, sizeof(lit) - 1

static fr_str gstr(const char *s, size_t n) {
    fr_str r;
    r.buf = (const char *)frt_guarded(s, n);
    r.len = n;
    return r;
}

static void test_detail(void) {
    fr_buf b = {0};
    fr_str none = {NULL, 0}, bad = {NULL, 3};
    CHECK(fr_error_detail(&b, FR_STR("Not Found")) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "{\"detail\":\"Not Found\"}");
    b.len = 0;
    CHECK(fr_error_detail(&b, gstr(S("a\"b\\c\n\t\x01\x1f\x7f \xc3\xa9\xe2\x82\xac"))) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "{\"detail\":\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\x7f \xc3\xa9\xe2\x82\xac\"}");
    b.len = 0;
    CHECK(fr_error_detail(&b, none) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "{\"detail\":\"\"}");
    /* appends after what is there; a failure takes its part back */
    CHECK(fr_error_detail(&b, gstr(S("x\xff"))) == -1);
    CHECK_EQ_MEM(b.buf, b.len, "{\"detail\":\"\"}");
    CHECK(fr_error_detail(&b, gstr(S("\xed\xa0\x80"))) == -1); /* a surrogate */
    CHECK(fr_error_detail(&b, bad) == -1);
    CHECK(fr_error_detail(NULL, FR_STR("x")) == -1);
    CHECK(fr_error_detail(&b, FR_STR("y")) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "{\"detail\":\"\"}{\"detail\":\"y\"}");
    fr_buf_free(&b);
}

static void test_begin_end(void) {
    fr_buf b = {0};
    CHECK(fr_error_begin(&b) == 0);
    CHECK(fr_buf_append_str(&b, "{\"a\":1}") == 0);
    CHECK(fr_error_end(&b) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "{\"detail\":{\"a\":1}}");
    CHECK(fr_error_begin(NULL) == -1);
    CHECK(fr_error_end(NULL) == -1);
    CHECK(fr_error_list_begin(NULL) == -1);
    CHECK(fr_error_list_end(NULL) == -1);
    fr_buf_free(&b);
}

static void test_list(void) {
    fr_buf b = {0};
    fr_str loc1[2] = {FR_STR("query"), FR_STR("q")};
    fr_str loc2[4] = {FR_STR("body"), FR_STR("items"), FR_STR("3"), FR_STR("n\"m")};
    int idx2[4] = {0, 0, 1, 0};
    fr_str none = {NULL, 0};
    CHECK(fr_error_list_begin(&b) == 0);
    CHECK(fr_error_list_end(&b) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "{\"detail\":[]}");
    b.len = 0;
    CHECK(fr_error_list_begin(&b) == 0);
    CHECK(fr_error_list_add(&b, "missing", loc1, 2, NULL, "Field required", FR_STR("null")) == 0);
    CHECK(fr_error_list_add(&b, "int_parsing", loc2, 4, idx2,
                            "Input should be a valid integer, unable to parse string as an integer",
                            FR_STR("\"x\"")) == 0);
    CHECK(fr_error_list_add_str(&b, "string_too_short", loc1, 2, NULL, "String should have at least 3 characters",
                                gstr(S("a\"\xc3\xa9\n"))) == 0);
    CHECK(fr_error_list_add(&b, "missing", NULL, 0, NULL, "Field required", none) == 0); /* input null */
    CHECK(fr_error_list_end(&b) == 0);
    CHECK_EQ_MEM(b.buf, b.len,
                 "{\"detail\":["
                 "{\"type\":\"missing\",\"loc\":[\"query\",\"q\"],\"msg\":\"Field required\",\"input\":null},"
                 "{\"type\":\"int_parsing\",\"loc\":[\"body\",\"items\",3,\"n\\\"m\"],\"msg\":\"Input should "
                 "be a valid integer, unable to parse string as an integer\",\"input\":\"x\"},"
                 "{\"type\":\"string_too_short\",\"loc\":[\"query\",\"q\"],\"msg\":\"String should have at "
                 "least 3 characters\",\"input\":\"a\\\"\xc3\xa9\\n\"},"
                 "{\"type\":\"missing\",\"loc\":[],\"msg\":\"Field required\",\"input\":null}"
                 "]}");
    fr_buf_free(&b);
}

static void test_list_errors(void) {
    fr_buf b = {0};
    fr_str loc[2] = {FR_STR("a"), FR_STR("1x")}, badloc[1] = {{NULL, 2}}, neg[1] = {FR_STR("-2")};
    fr_str empty[1] = {{"", 0}}, bad_utf8[1] = {FR_STR("\xc3")};
    int idx[2] = {0, 1}, one = 1;
    size_t len;
    CHECK(fr_error_list_begin(&b) == 0);
    CHECK(fr_error_list_add(&b, "t", loc, 1, NULL, "m", FR_STR("1")) == 0);
    len = b.len;
    /* every failure leaves b as it was */
    CHECK(fr_error_list_add(&b, "t", loc, 2, idx, "m", FR_STR("1")) == -1); /* "1x" is no index */
    CHECK(fr_error_list_add(&b, "t", empty, 1, &one, "m", FR_STR("1")) == -1);
    CHECK(fr_error_list_add(&b, "t", badloc, 1, NULL, "m", FR_STR("1")) == -1);
    CHECK(fr_error_list_add(&b, "t", bad_utf8, 1, NULL, "m", FR_STR("1")) == -1);
    CHECK(fr_error_list_add(&b, NULL, loc, 1, NULL, "m", FR_STR("1")) == -1);
    CHECK(fr_error_list_add(&b, "t", loc, 1, NULL, NULL, FR_STR("1")) == -1);
    CHECK(fr_error_list_add(&b, "\xff", loc, 1, NULL, "m", FR_STR("1")) == -1);
    CHECK(fr_error_list_add(&b, "t", loc, 1, NULL, "\xff", FR_STR("1")) == -1);
    CHECK(fr_error_list_add(&b, "t", NULL, 1, NULL, "m", FR_STR("1")) == -1);
    CHECK(fr_error_list_add_str(&b, "t", loc, 1, NULL, "m", FR_STR("\xff")) == -1);
    {
        fr_str bad = {NULL, 1};
        CHECK(fr_error_list_add_str(&b, "t", loc, 1, NULL, "m", bad) == -1);
    }
    CHECK(fr_error_list_add(NULL, "t", loc, 1, NULL, "m", FR_STR("1")) == -1);
    CHECK(fr_error_list_add_str(NULL, "t", loc, 1, NULL, "m", FR_STR("1")) == -1);
    CHECK_EQ_INT(b.len, len);
    CHECK(fr_error_list_add(&b, "t", neg, 1, &one, "m", FR_STR("[]")) == 0);
    CHECK(fr_error_list_end(&b) == 0);
    CHECK_EQ_MEM(b.buf, b.len,
                 "{\"detail\":[{\"type\":\"t\",\"loc\":[\"a\"],\"msg\":\"m\",\"input\":1},"
                 "{\"type\":\"t\",\"loc\":[-2],\"msg\":\"m\",\"input\":[]}]}");
    fr_buf_free(&b);
}

/* A long message (1 MiB) and many entries: the buffer grows, output stays exact. */
static void test_large(void) {
    fr_buf b = {0};
    size_t n = 1u << 20, i;
    char *msg = (char *)malloc(n);
    fr_str loc[1] = {FR_STR("q")};
    fr_str g;
    REQUIRE(msg);
    memset(msg, '"', n);
    g = gstr(msg, n);
    CHECK(fr_error_detail(&b, g) == 0);
    frt_guarded_free((void *)(uintptr_t)g.buf, n);
    CHECK_EQ_INT(b.len, 10 + 2 + 2 * n + 1);
    CHECK(b.buf[b.len - 1] == '}' && b.buf[b.len - 2] == '"' && b.buf[12] == '"' && b.buf[11] == '\\');
    b.len = 0;
    CHECK(fr_error_list_begin(&b) == 0);
    for (i = 0; i < 10000; i++) CHECK(fr_error_list_add(&b, "missing", loc, 1, NULL, "Field required", FR_STR("null")) == 0);
    CHECK(fr_error_list_end(&b) == 0);
    CHECK_EQ_INT(b.len, 11 + 10000 * 67 - 1 + 2);
    free(msg);
    fr_buf_free(&b);
}

static const frt_case frt_cases[] = {
    FRT(test_detail), FRT(test_begin_end), FRT(test_list), FRT(test_list_errors), FRT(test_large),
};
FRT_MAIN()
