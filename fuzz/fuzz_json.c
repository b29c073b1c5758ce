/* libFuzzer harness for the JSON reader and writer (src/json.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_json.c
 *
 * For every input:
 *  - the DOM reader and the event reader must agree (same verdict, same
 *    error code and position); the events, re-emitted through the writer,
 *    must produce exactly the text the DOM writer produces;
 *  - an accepted document written back out must parse again and be equal
 *    (doubles bit for bit, BIGINT digits, decoded strings);
 *  - a smaller depth limit may only turn success into FR_JSON_E_DEPTH;
 *  - fr_json_write_string on the raw bytes succeeds exactly when they are
 *    valid UTF-8, and reading the result back gives the bytes again;
 *  - every 8 input bytes taken as a double format to text that reads back
 *    to the same bits (or -1 for NaN/Inf);
 *  - the first 10 bytes as a decimal "<u64>e<int16>" (and its fraction
 *    form) read exactly as C-locale strtod reads them. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define FZ_ASSERT(c)                                                             \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "fuzz_json: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                             \
        }                                                                        \
    } while (0)

static int ev_null(void *c) { fr_jw_null((fr_jw *)c); return 0; }
static int ev_bool(void *c, int v) { fr_jw_bool((fr_jw *)c, v); return 0; }
static int ev_int(void *c, int64_t v) { fr_jw_int((fr_jw *)c, v); return 0; }
static int ev_big(void *c, const char *s, size_t n) { fr_jw_raw((fr_jw *)c, s, n); return 0; }
static int ev_dbl(void *c, double v) { fr_jw_double((fr_jw *)c, v); return 0; }
static int ev_str(void *c, const char *s, size_t n) { fr_jw_string((fr_jw *)c, s, n); return 0; }
static int ev_key(void *c, const char *s, size_t n) { fr_jw_key((fr_jw *)c, s, n); return 0; }
static int ev_so(void *c) { fr_jw_object_begin((fr_jw *)c); return 0; }
static int ev_eo(void *c) { fr_jw_object_end((fr_jw *)c); return 0; }
static int ev_sa(void *c) { fr_jw_array_begin((fr_jw *)c); return 0; }
static int ev_ea(void *c) { fr_jw_array_end((fr_jw *)c); return 0; }
static const fr_json_sax jw_sax = {ev_null, ev_bool, ev_int, ev_big, ev_dbl, ev_str,
                                   ev_key,  ev_so,   ev_eo,  ev_sa,  ev_ea};

static int same(const fr_json_val *a, const fr_json_val *b) {
    size_t i;
    if (!a || !b || a->type != b->type) return 0;
    switch (a->type) {
    case FR_JSON_NULL: return 1;
    case FR_JSON_BOOL: return a->u.b == b->u.b;
    case FR_JSON_INT: return a->u.i == b->u.i;
    case FR_JSON_DOUBLE: return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0;
    case FR_JSON_BIGINT:
    case FR_JSON_STRING:
        return a->u.s.len == b->u.s.len && memcmp(a->u.s.buf, b->u.s.buf, a->u.s.len) == 0 &&
               a->u.s.buf[a->u.s.len] == 0 && b->u.s.buf[b->u.s.len] == 0;
    case FR_JSON_ARRAY:
        if (a->u.arr.len != b->u.arr.len) return 0;
        for (i = 0; i < a->u.arr.len; i++)
            if (!same(a->u.arr.items[i], b->u.arr.items[i])) return 0;
        return 1;
    case FR_JSON_OBJECT:
        if (a->u.obj.len != b->u.obj.len) return 0;
        for (i = 0; i < a->u.obj.len; i++) {
            const fr_json_member *x = &a->u.obj.items[i], *y = &b->u.obj.items[i];
            if (x->key.len != y->key.len || memcmp(x->key.buf, y->key.buf, x->key.len) != 0)
                return 0;
            if (!same(x->val, y->val)) return 0;
        }
        return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    fr_arena a;
    fr_err e1, e2, e3;
    fr_buf b1 = {0}, b2 = {0};
    fr_jw w;
    fr_json_val *v, *v2;
    int rc, small = (int)(size % 7) + 1;
    size_t i;

    fr_arena_init(&a, NULL);

    /* DOM */
    v = fr_json_parse(s, size, &a, 0, &e1);
    FZ_ASSERT((v != NULL) == (e1.code == 0));
    if (!v) FZ_ASSERT(e1.msg != NULL && e1.pos <= size);

    /* events, re-emitted through the writer */
    fr_jw_init(&w, &b2);
    rc = fr_json_parse_events(s, size, &jw_sax, &w, 0, &e2);
    FZ_ASSERT(rc == e1.code && e2.code == e1.code);
    if (rc) FZ_ASSERT(e2.pos == e1.pos);
    FZ_ASSERT(fr_json_parse_events(s, size, NULL, NULL, 0, &e3) == e1.code && e3.pos == e1.pos);

    if (v) {
        FZ_ASSERT(fr_jw_finish(&w) == 0);
        /* DOM -> text; equals the event-driven text */
        fr_jw_init(&w, &b1);
        fr_jw_value(&w, v);
        FZ_ASSERT(fr_jw_finish(&w) == 0);
        FZ_ASSERT(b1.len == b2.len && memcmp(b1.buf, b2.buf, b1.len) == 0);
        /* text -> DOM again: equal */
        v2 = fr_json_parse(b1.buf, b1.len, &a, 0, &e3);
        FZ_ASSERT(v2 != NULL);
        FZ_ASSERT(same(v, v2));
        /* a tighter depth limit can only add FR_JSON_E_DEPTH */
        rc = fr_json_parse_events(s, size, NULL, NULL, small, &e3);
        FZ_ASSERT(rc == 0 || rc == FR_JSON_E_DEPTH);
    } else {
        FZ_ASSERT(fr_json_parse_events(s, size, NULL, NULL, small, &e3) != 0);
    }

    /* the string writer on raw bytes */
    b1.len = 0;
    if (fr_json_write_string(&b1, s, size) == 0) {
        v2 = fr_json_parse(b1.buf, b1.len, &a, 0, &e3);
        FZ_ASSERT(v2 != NULL && v2->type == FR_JSON_STRING);
        FZ_ASSERT(v2->u.s.len == size && (size == 0 || memcmp(v2->u.s.buf, s, size) == 0));
    } else {
        /* only invalid UTF-8 is refused: the reader must refuse it too */
        fr_buf q = {0};
        fr_buf_append_char(&q, '"');
        for (i = 0; i < size; i++) /* neutralise what a JSON string forbids */
            fr_buf_append_char(&q, (data[i] < 0x20 || data[i] == '"' || data[i] == '\\')
                                       ? 'x' : (char)data[i]);
        fr_buf_append_char(&q, '"');
        FZ_ASSERT(fr_json_parse(q.buf, q.len, &a, 0, &e3) == NULL && e3.code == FR_JSON_E_UTF8);
        fr_buf_free(&q);
    }

    /* doubles: shortest text reads back to the same bits */
    for (i = 0; i + 8 <= size && i < 64; i += 8) {
        double d;
        char out[32];
        int n;
        memcpy(&d, data + i, 8);
        n = fr_json_format_double(d, out);
        if (isnan(d) || isinf(d)) {
            FZ_ASSERT(n == -1);
        } else {
            FZ_ASSERT(n > 0 && n < 32 && out[n] == 0);
            v2 = fr_json_parse(out, (size_t)n, &a, 0, &e3);
            FZ_ASSERT(v2 != NULL && v2->type == FR_JSON_DOUBLE);
            FZ_ASSERT(memcmp(&v2->u.d, &d, 8) == 0);
        }
    }

    /* decimal reading against the C library (this process runs in "C") */
    if (size >= 10) {
        uint64_t w;
        int16_t q;
        char txt[64];
        int k;
        memcpy(&w, data, 8);
        memcpy(&q, data + 8, 2);
        w >>= data[0] % 64; /* vary the digit count */
        for (k = 0; k < 2; k++) {
            double want;
            int n = k == 0 ? snprintf(txt, sizeof txt, "%llue%d", (unsigned long long)w, (int)q)
                           : snprintf(txt, sizeof txt, "%llu.%03ue%d", (unsigned long long)w,
                                      (unsigned)(data[9] % 100), (int)q % 400);
            want = strtod(txt, NULL);
            v2 = fr_json_parse(txt, (size_t)n, &a, 0, &e3);
            if (isinf(want)) {
                FZ_ASSERT(v2 == NULL && e3.code == FR_JSON_E_NUMBER);
            } else {
                FZ_ASSERT(v2 != NULL && v2->type == FR_JSON_DOUBLE);
                FZ_ASSERT(memcmp(&v2->u.d, &want, 8) == 0);
            }
        }
    }

    fr_buf_free(&b1);
    fr_buf_free(&b2);
    fr_arena_free(&a);
    return 0;
}
