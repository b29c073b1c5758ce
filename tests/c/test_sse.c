/* Unit tests for src/sse.c: Server-Sent Events framing, byte for byte as
 * FastAPI's fastapi.sse.format_sse_event. Inputs sit before a guard page. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

static fr_str absent(void) {
    fr_str s;
    s.buf = NULL;
    s.len = 0;
    return s;
}

static fr_sse_fields none(void) {
    fr_sse_fields f;
    f.data = f.event = f.id = f.comment = absent();
    f.retry = -1;
    return f;
}

/* data given as (ptr,len) copied before a guard page; the encoded event */
static const char *enc_data(const char *s, size_t n) {
    static char out[512];
    fr_buf b = {0};
    fr_sse_fields f = none();
    f.data.buf = (const char *)frt_guarded(s, n);
    f.data.len = n;
    if (fr_sse_event(&b, &f) < 0 || b.len >= sizeof out) strcpy(out, "ERR");
    else {
        memcpy(out, b.buf, b.len);
        out[b.len] = 0;
    }
    frt_guarded_free((void *)(uintptr_t)f.data.buf, n);
    fr_buf_free(&b);
    return out;
}

#define DATA(lit) enc_data(lit, sizeof(lit) - 1)

static void test_data_lines(void) {
    CHECK(strcmp(DATA("{\"a\": 1}"), "data: {\"a\": 1}\n\n") == 0);
    CHECK(strcmp(DATA(""), "data: \n\n") == 0);
    CHECK(strcmp(DATA("a\nb"), "data: a\ndata: b\n\n") == 0);
    CHECK(strcmp(DATA("a\r\nb"), "data: a\ndata: b\n\n") == 0);
    CHECK(strcmp(DATA("a\rb"), "data: a\ndata: b\n\n") == 0);
    CHECK(strcmp(DATA("a\n"), "data: a\ndata: \n\n") == 0);
    CHECK(strcmp(DATA("\r\n\r"), "data: \ndata: \ndata: \n\n") == 0);
    CHECK(strcmp(DATA("a\n\rb"), "data: a\ndata: \ndata: b\n\n") == 0);
}

static void test_all_fields_order(void) {
    fr_buf b = {0};
    fr_sse_fields f = none();
    f.data = FR_STR("\"x\"");
    f.event = FR_STR("upd");
    f.id = FR_STR("7");
    f.comment = FR_STR("c1\nc2");
    f.retry = 3000;
    REQUIRE(fr_sse_event(&b, &f) == 0);
    CHECK_EQ_MEM(b.buf, b.len, ": c1\n: c2\nevent: upd\ndata: \"x\"\nid: 7\nretry: 3000\n\n");
    fr_buf_free(&b);
}

static void test_empty_event_and_append(void) {
    fr_buf b = {0};
    fr_sse_fields f = none();
    REQUIRE(fr_sse_event(&b, &f) == 0);
    CHECK_EQ_MEM(b.buf, b.len, "\n");
    f.retry = 0;
    REQUIRE(fr_sse_event(&b, &f) == 0); /* appends */
    CHECK_EQ_MEM(b.buf, b.len, "\nretry: 0\n\n");
    fr_buf_free(&b);
    f = none();
    f.comment = FR_STR("ping");
    REQUIRE(fr_sse_event(&b, &f) == 0);
    CHECK_EQ_MEM(b.buf, b.len, FR_SSE_KEEPALIVE);
    fr_buf_free(&b);
}

static void test_null_args(void) {
    fr_buf b = {0};
    fr_sse_fields f = none();
    CHECK(fr_sse_event(NULL, &f) == -1);
    CHECK(fr_sse_event(&b, NULL) == -1);
    CHECK(b.len == 0);
}

static const frt_case frt_cases[] = {
    FRT(test_data_lines), FRT(test_all_fields_order), FRT(test_empty_event_and_append), FRT(test_null_args),
};
FRT_MAIN()
