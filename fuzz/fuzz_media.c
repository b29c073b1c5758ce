/* libFuzzer harness for media types and error bodies (src/media.c,
 * src/errors.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_media.c
 *
 * For every input:
 *  - fr_media_parse succeeds exactly when the text before the first ';',
 *    trimmed of spaces and tabs, is token "/" token (a reference written
 *    here); the views are inside the input and rebuild that text;
 *  - the parameters come out in order with *pos strictly increasing up to
 *    params.len, names are tokens, a plain value is a token, a flagged one
 *    holds a backslash; fr_media_param finds each name's first value;
 *  - fr_media_is_json agrees with a reference of FastAPI's email.message
 *    rule written independently here (copy, strip, lowercase, split), and
 *    fr_media_is(x, "application/json") implies it; fr_media_is(x, its own
 *    "type/subtype") holds;
 *  - fr_error_detail / fr_error_list_add_str succeed exactly for valid
 *    UTF-8, the body parses back (fr_json_parse) to the same text, and a
 *    failure leaves the buffer as it was. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_ASSERT(c)                                                                    \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "fuzz_media: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static int tchar(unsigned char c) {
    static const char extra[] = "!#$%&'*+-.^_`|~";
    size_t i;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return 1;
    for (i = 0; i < sizeof extra - 1; i++)
        if (c == (unsigned char)extra[i]) return 1;
    return 0;
}

static int all_tchar(fr_str s) {
    size_t i;
    for (i = 0; i < s.len; i++)
        if (!tchar((unsigned char)s.buf[i])) return 0;
    return 1;
}

static int py_space(unsigned char c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

/* FastAPI's rule, step by step as Python runs it: value.partition(";")[0],
 * .strip(), .lower(); count("/") == 1; maintype == "application";
 * subtype == "json" or endswith("+json"). */
static int ref_is_json(const unsigned char *s, size_t n) {
    char *t = (char *)xmalloc(n);
    size_t b = 0, e = n, i, slashes = 0, cut = 0, sl;
    int r = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == ';') {
            e = i;
            break;
        }
    }
    while (b < e && py_space(s[b])) b++;
    while (e > b && py_space(s[e - 1])) e--;
    for (i = b; i < e; i++) {
        unsigned char c = s[i];
        /* Latin-1 lower(): A-Z and 0xC0-0xDE except 0xD7 */
        if ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7)) c = (unsigned char)(c + 32);
        t[i - b] = (char)c;
        if (c == '/') {
            slashes++;
            cut = i - b;
        }
    }
    sl = e - b;
    if (slashes == 1 && cut == 11 && memcmp(t, "application", 11) == 0) {
        const char *sub = t + cut + 1;
        size_t subn = sl - cut - 1;
        r = (subn == 4 && memcmp(sub, "json", 4) == 0) || (subn >= 5 && memcmp(sub + subn - 5, "+json", 5) == 0);
    }
    free(t);
    return r;
}

static void check_parse(fr_str in) {
    fr_media_type mt;
    const char *semi, *b, *e, *slash;
    int want, got = fr_media_parse(in, &mt);
    if (!in.buf) {
        FZ_ASSERT(got == -1);
        return;
    }
    semi = (const char *)memchr(in.buf, ';', in.len);
    b = in.buf;
    e = semi ? semi : in.buf + in.len;
    while (b < e && (*b == ' ' || *b == '\t')) b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t')) e--;
    slash = b < e ? (const char *)memchr(b, '/', (size_t)(e - b)) : NULL;
    want = 0;
    if (slash && slash > b && slash + 1 < e) {
        fr_str t = {b, (size_t)(slash - b)}, s = {slash + 1, (size_t)(e - slash - 1)};
        want = all_tchar(t) && all_tchar(s);
    }
    FZ_ASSERT((got == 0) == want);
    if (got < 0) {
        FZ_ASSERT(mt.type.len == 0 && mt.subtype.len == 0 && mt.params.len == 0);
        return;
    }
    FZ_ASSERT(mt.type.buf == b && mt.type.buf + mt.type.len == slash);
    FZ_ASSERT(mt.subtype.buf == slash + 1 && mt.subtype.buf + mt.subtype.len == e);
    FZ_ASSERT(semi ? mt.params.buf == semi + 1 && mt.params.buf + mt.params.len == in.buf + in.len
                   : mt.params.len == 0);
    /* the decisions made from the parse */
    {
        char *mime = (char *)xmalloc(mt.type.len + mt.subtype.len + 2);
        memcpy(mime, mt.type.buf, mt.type.len);
        mime[mt.type.len] = '/';
        memcpy(mime + mt.type.len + 1, mt.subtype.buf, mt.subtype.len);
        mime[mt.type.len + 1 + mt.subtype.len] = 0;
        FZ_ASSERT(fr_media_is(in, mime) == 1);
        free(mime);
    }
    /* parameters */
    {
        size_t pos = 0, prev = 0;
        int first = 1, esc = -1;
        fr_str name, value;
        while (fr_media_next_param(&mt, &pos, &name, &value, &esc)) {
            fr_str found;
            FZ_ASSERT(first ? pos > 0 : pos > prev);
            FZ_ASSERT(pos <= mt.params.len);
            FZ_ASSERT(name.len > 0 && all_tchar(name));
            FZ_ASSERT(name.buf >= mt.params.buf && value.buf + value.len <= mt.params.buf + mt.params.len);
            FZ_ASSERT(esc == 0 || esc == 1);
            if (esc) FZ_ASSERT(memchr(value.buf, '\\', value.len) != NULL);
            if (!esc && value.len && value.buf[-1] != '"') FZ_ASSERT(all_tchar(value));
            /* lookup by name gives the first parameter with that name */
            if (!memchr(name.buf, 0, name.len)) {
                char *n = (char *)xmalloc(name.len + 1);
                size_t p2 = 0;
                fr_str n2, v2;
                memcpy(n, name.buf, name.len);
                n[name.len] = 0;
                FZ_ASSERT(fr_media_param(&mt, n, &found) == 1);
                while (fr_media_next_param(&mt, &p2, &n2, &v2, NULL) && !fr_str_ieq(n2, name)) {}
                FZ_ASSERT(found.buf == v2.buf && found.len == v2.len);
                free(n);
            }
            prev = pos;
            first = 0;
            esc = -1;
        }
        FZ_ASSERT(pos == mt.params.len);
    }
}

static void check_is_json(fr_str in) {
    int got = fr_media_is_json(in);
    FZ_ASSERT(got == ref_is_json((const unsigned char *)in.buf, in.len));
    if (fr_media_is(in, "application/json")) FZ_ASSERT(got);
}

/* The detail string read back from a body. */
static void check_errors(fr_str in) {
    fr_buf b = {NULL, 0, 0};
    fr_arena a;
    fr_json_val *root, *d, *item;
    fr_str loc[2] = {{"query", 5}, {NULL, 0}};
    int ok, ok2;
    size_t before;
    loc[1] = in;
    fr_arena_init(&a, NULL);
    FZ_ASSERT(fr_buf_append(&b, "x", 1) == 0);
    ok = fr_error_detail(&b, in) == 0;
    if (!ok) {
        FZ_ASSERT(b.len == 1);
    } else {
        root = fr_json_parse(b.buf + 1, b.len - 1, &a, 0, NULL);
        FZ_ASSERT(root && root->type == FR_JSON_OBJECT && fr_json_len(root) == 1);
        d = fr_json_get(root, "detail");
        FZ_ASSERT(d && d->type == FR_JSON_STRING && d->u.s.len == in.len &&
                  (in.len == 0 || memcmp(d->u.s.buf, in.buf, in.len) == 0));
    }
    b.len = 0;
    FZ_ASSERT(fr_error_list_begin(&b) == 0);
    before = b.len;
    ok2 = fr_error_list_add_str(&b, "string_type", loc, 2, NULL, "Input should be a valid string", in) == 0;
    FZ_ASSERT(ok2 == ok);
    if (!ok2) FZ_ASSERT(b.len == before);
    FZ_ASSERT(fr_error_list_add(&b, "missing", loc, 1, NULL, "Field required", FR_STR("null")) == 0);
    FZ_ASSERT(fr_error_list_end(&b) == 0);
    fr_arena_reset(&a);
    root = fr_json_parse(b.buf, b.len, &a, 0, NULL);
    FZ_ASSERT(root && (d = fr_json_get(root, "detail")) && d->type == FR_JSON_ARRAY);
    FZ_ASSERT(fr_json_len(d) == (size_t)(ok ? 2 : 1));
    if (ok) {
        item = fr_json_at(d, 0);
        d = fr_json_get(item, "input");
        FZ_ASSERT(d && d->type == FR_JSON_STRING && d->u.s.len == in.len);
        d = fr_json_at(fr_json_get(item, "loc"), 1);
        FZ_ASSERT(d && d->type == FR_JSON_STRING && d->u.s.len == in.len);
    }
    fr_buf_free(&b);
    fr_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_str in, none = {NULL, 0};
    in.buf = size ? (const char *)data : NULL;
    in.len = size;
    check_parse(in);
    check_is_json(in);
    check_errors(in);
    FZ_ASSERT(fr_media_is_json(none) == 0 && fr_media_is(none, "a/b") == 0);
    return 0;
}
