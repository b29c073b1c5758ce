/* Unit tests for src/base.c: strings, numbers, arena, buf, url decoding. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

static void test_str_eq(void) {
    CHECK(fr_str_eq(FR_STR("abc"), fr_str_c("abc")));
    CHECK(!fr_str_eq(FR_STR("abc"), FR_STR("abd")));
    CHECK(fr_str_ieq_c(FR_STR("Content-Length"), "content-length"));
    CHECK(!fr_str_ieq_c(FR_STR("Content-Lengt"), "content-length"));
    CHECK(fr_str_eq(fr_str_c(NULL), FR_STR("")));
}

static void test_to_i64(void) {
    int64_t v = 0;
    CHECK(fr_str_to_i64(FR_STR("0"), &v) == 0 && v == 0);
    CHECK(fr_str_to_i64(FR_STR("-42"), &v) == 0 && v == -42);
    CHECK(fr_str_to_i64(FR_STR("+7"), &v) == 0 && v == 7);
    CHECK(fr_str_to_i64(FR_STR("9223372036854775807"), &v) == 0 && v == INT64_MAX);
    CHECK(fr_str_to_i64(FR_STR("-9223372036854775808"), &v) == 0 && v == INT64_MIN);
    CHECK(fr_str_to_i64(FR_STR("9223372036854775808"), &v) == -1);
    CHECK(fr_str_to_i64(FR_STR("-9223372036854775809"), &v) == -1);
    CHECK(fr_str_to_i64(FR_STR("99999999999999999999999"), &v) == -1);
    CHECK(fr_str_to_i64(FR_STR(""), &v) == -1);
    CHECK(fr_str_to_i64(FR_STR("-"), &v) == -1);
    CHECK(fr_str_to_i64(FR_STR("12a"), &v) == -1);
    CHECK(fr_str_to_i64(FR_STR(" 1"), &v) == -1);
}

static void test_to_double(void) {
    double d = 0;
    CHECK(fr_str_to_double(FR_STR("1.5"), &d) == 0 && d == 1.5);
    CHECK(fr_str_to_double(FR_STR("-2e3"), &d) == 0 && d == -2000.0);
    CHECK(fr_str_to_double(FR_STR("inf"), &d) == -1);
    CHECK(fr_str_to_double(FR_STR("nan"), &d) == -1);
    CHECK(fr_str_to_double(FR_STR("1e999"), &d) == -1);
    CHECK(fr_str_to_double(FR_STR("1.5x"), &d) == -1);
    CHECK(fr_str_to_double(FR_STR(""), &d) == -1);
}

static void test_arena(void) {
    fr_arena a;
    size_t i;
    fr_arena_init(&a, NULL);
    for (i = 0; i < 1000; i++) {
        char *p = (char *)fr_arena_alloc(&a, i + 1);
        REQUIRE(p != NULL);
        CHECK(((uintptr_t)p & 7u) == 0);
        memset(p, 'x', i + 1);
    }
    fr_arena_reset(&a);
    CHECK(a.head != NULL);
    {
        char *s = fr_arena_strdup(&a, "hello", 5);
        CHECK(s && strcmp(s, "hello") == 0);
    }
    CHECK(fr_arena_alloc(&a, SIZE_MAX) == NULL);
    fr_arena_free(&a);
    CHECK(a.head == NULL);
}

static size_t frt_alloc_count;
static void *counting_malloc(void *ctx, size_t n) {
    (void)ctx;
    frt_alloc_count++;
    return malloc(n);
}
static void counting_free(void *ctx, void *p) {
    (void)ctx;
    if (p) frt_alloc_count--;
    free(p);
}

static void test_arena_allocator(void) {
    fr_allocator alc = {counting_malloc, NULL, counting_free, NULL};
    fr_arena a;
    int i;
    fr_arena_init(&a, &alc);
    for (i = 0; i < 100; i++) CHECK(fr_arena_alloc(&a, 1000) != NULL);
    CHECK(frt_alloc_count > 1);
    fr_arena_free(&a);
    CHECK_EQ_INT(frt_alloc_count, 0);
}

static void test_buf(void) {
    fr_buf b = {0};
    int i;
    CHECK(fr_buf_append_str(&b, "abc") == 0);
    CHECK(fr_buf_append_char(&b, 'd') == 0);
    CHECK(fr_buf_printf(&b, "%d-%s", 42, "x") == 0);
    CHECK_EQ_MEM(b.buf, b.len, "abcd42-x");
    fr_buf_consume(&b, 2);
    CHECK_EQ_MEM(b.buf, b.len, "cd42-x");
    for (i = 0; i < 1000; i++) CHECK(fr_buf_printf(&b, "%0300d", i) == 0);
    CHECK_EQ_INT(b.len, 6 + 300000);
    fr_buf_consume(&b, SIZE_MAX);
    CHECK_EQ_INT(b.len, 0);
    CHECK(fr_buf_reserve(&b, SIZE_MAX) == -1);
    fr_buf_free(&b);
    CHECK(b.buf == NULL);
}

static void test_url_decode(void) {
    char out[64];
    long n;
    const char *in = "a%20b+c%2Fd%zz%4";
    char *g = (char *)frt_guarded(in, strlen(in));
    n = fr_url_decode(out, g, strlen(in), 1);
    CHECK_EQ_MEM(out, n, "a b c/d%zz%4");
    n = fr_url_decode(out, g, strlen(in), 0);
    CHECK_EQ_MEM(out, n, "a b+c/d%zz%4");
    frt_guarded_free(g, strlen(in));
    {
        char inplace[] = "%e2%82%ac%";
        n = fr_url_decode(inplace, inplace, strlen(inplace), 0);
        CHECK_EQ_MEM(inplace, n, "\xe2\x82\xac%");
    }
}

#if defined(__linux__)
static long rss_kib(void) {
    long pages = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    fclose(f);
    return res < 0 ? -1 : res * (sysconf(_SC_PAGESIZE) / 1024);
}
#endif

/* issue 14: an arena whose first allocation was a big body does not keep
 * it on reset (a recycled request would hold it), and big chunks go back
 * to the OS when freed (mapped; 8 kept for reuse until fr__map_flush). */
static void test_arena_big_chunks(void) {
    fr_arena a;
    enum { N = 40, MB = 1 << 20 };
    fr_arena *many;
    int i, round;
    CHECK(fr_arena_bytes(NULL) == 0);
    fr_arena_init(&a, NULL);
    CHECK(fr_arena_bytes(&a) == 0);
    for (round = 0; round < 50; round++) { /* reuse: the contents are the caller's */
        char *p = (char *)fr_arena_alloc(&a, MB);
        CHECK(p != NULL);
        if (!p) break;
        CHECK(fr_arena_bytes(&a) >= (size_t)MB);
        memset(p, 'a' + round % 26, MB);
        CHECK(p[0] == 'a' + round % 26 && p[MB - 1] == 'a' + round % 26);
        fr_arena_reset(&a);
        CHECK(fr_arena_bytes(&a) == 0); /* the big first chunk is not kept */
    }
    CHECK(fr_arena_alloc(&a, 100) != NULL);
    {
        size_t small = fr_arena_bytes(&a);
        CHECK(small > 0 && small < 8192);
        CHECK(fr_arena_alloc(&a, MB) != NULL);
        CHECK(fr_arena_bytes(&a) >= small + MB);
        fr_arena_reset(&a);
        CHECK(fr_arena_bytes(&a) == small); /* the small first chunk is */
    }
    fr_arena_free(&a);
    CHECK(fr_arena_bytes(&a) == 0);
    many = (fr_arena *)calloc(N, sizeof *many);
    CHECK(many != NULL);
    if (!many) return;
    for (i = 0; i < N; i++) {
        char *p;
        fr_arena_init(&many[i], NULL);
        p = (char *)fr_arena_alloc(&many[i], MB);
        CHECK(p != NULL);
        if (p) memset(p, 'z', MB);
    }
#if defined(__linux__)
    {
        long before = rss_kib(), after;
        for (i = 0; i < N; i++) fr_arena_free(&many[i]);
        after = rss_kib();
        /* 40 MiB touched, at most 8 kept for reuse: at least 24 MiB go back */
        CHECK(before > 0 && after > 0 && before - after >= 24 * 1024);
    }
#else
    for (i = 0; i < N; i++) fr_arena_free(&many[i]);
#endif
    free(many);
}

static const frt_case frt_cases[] = {
    FRT(test_str_eq), FRT(test_to_i64), FRT(test_to_double), FRT(test_arena),
    FRT(test_arena_allocator), FRT(test_arena_big_chunks), FRT(test_buf), FRT(test_url_decode),
};
FRT_MAIN()
