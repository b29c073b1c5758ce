/* libFuzzer harness for the router (fr_router_add / fr_router_match).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_router.c -o /tmp/fuzz_router
 *   /tmp/fuzz_router -max_total_time=60 fuzz/seeds/fuzz_router
 *
 * Input: lines separated by '\n'. Byte 0 of the input picks the options.
 * Every line but the last registers a route: its first byte picks the method
 * (GET, POST, HEAD, *), the rest is the pattern (a fixed set of routes is
 * registered first). The last line is the request: first byte picks the
 * method, the rest is the path, placed in an exact-size heap copy so ASan
 * catches any over-read.
 *
 * Oracles: a FOUND match must rebuild the path exactly from its pattern with
 * the parameter values substituted, every value must satisfy its type and
 * lie inside the path; 405 must carry a non-empty Allow; 307 must point at
 * a path that matches (FOUND or 405) and never happen for "/"; every
 * registered route (with sample values) must be found again. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(c)      \
    do {                   \
        if (!(c)) abort(); \
    } while (0)

static const char *const methods[4] = {"GET", "POST", "HEAD", "*"};

static int is_digits(const char *s, size_t n) {
    size_t i;
    if (!n) return 0;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int type_ok(int type, fr_str v) {
    size_t i;
    switch (type) {
    case FR_PARAM_INT: return is_digits(v.buf, v.len);
    case FR_PARAM_FLOAT: {
        const char *dot = (const char *)memchr(v.buf, '.', v.len);
        if (!dot) return is_digits(v.buf, v.len);
        return is_digits(v.buf, (size_t)(dot - v.buf)) &&
               is_digits(dot + 1, v.len - (size_t)(dot - v.buf) - 1);
    }
    case FR_PARAM_UUID: { /* Starlette: 32 hex digits in groups 8-4-4-4-12, any case, each dash optional */
        size_t hex = 0;
        for (i = 0; i < v.len; i++) {
            char c = v.buf[i];
            if (c == '-') {
                if (hex != 8 && hex != 12 && hex != 16 && hex != 20) return 0;
                if (i && v.buf[i - 1] == '-') return 0;
            } else if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) {
                hex++;
            } else {
                return 0;
            }
        }
        return hex == 32 && v.buf[0] != '-' && v.buf[v.len - 1] != '-';
    }
    case FR_PARAM_PATH: return 1;
    default: return v.len > 0 && !memchr(v.buf, '/', v.len);
    }
}

/* Substitute the values into the pattern; compare with the path. */
static void check_found(const fr_match *m, fr_str path) {
    size_t i = 0, o = 0, k = 0;
    const char *p = m->pattern.buf;
    FUZZ_CHECK(p && m->pattern.len > 0);
    while (i < m->pattern.len) {
        if (p[i] == '{') {
            const fr_route_param *pr;
            FUZZ_CHECK(k < m->num_params);
            pr = &m->params[k++];
            FUZZ_CHECK(pr->value.len == 0 || (pr->value.buf >= path.buf &&
                                               pr->value.buf + pr->value.len <= path.buf + path.len));
            FUZZ_CHECK(type_ok(pr->type, pr->value));
            FUZZ_CHECK(o + pr->value.len <= path.len);
            FUZZ_CHECK(pr->value.len == 0 ||
                       memcmp(path.buf + o, pr->value.buf, pr->value.len) == 0);
            FUZZ_CHECK(pr->name.len > 0 && pr->name.buf == p + i + 1);
            o += pr->value.len;
            while (p[i] != '}') i++;
            i++;
        } else {
            FUZZ_CHECK(o < path.len && path.buf[o] == p[i]);
            o++;
            i++;
        }
    }
    FUZZ_CHECK(k == m->num_params);
    FUZZ_CHECK(o == path.len);
}

static int do_match(const fr_router *r, fr_str method, const char *path, size_t len, fr_match *m) {
    char *copy = (char *)malloc(len ? len : 1);
    fr_str ps;
    int st;
    FUZZ_CHECK(copy);
    if (len) memcpy(copy, path, len);
    ps.buf = copy;
    ps.len = len;
    st = fr_router_match(r, method, ps, m);
    FUZZ_CHECK(st == m->status);
    switch (st) {
    case FR_MATCH_FOUND: check_found(m, ps); break;
    case FR_MATCH_METHOD: FUZZ_CHECK(m->allow.len > 0 && m->data == NULL); break;
    case FR_MATCH_REDIRECT: FUZZ_CHECK(len > 1 && m->data == NULL); break;
    case FR_MATCH_NOT_FOUND: FUZZ_CHECK(m->data == NULL && m->num_params == 0); break;
    default: FUZZ_CHECK(0);
    }
    free(copy);
    return st;
}

/* Build a path that should match the pattern: each parameter gets a sample
 * value of its type. Returns its length, or 0 when it doesn't fit. */
static size_t sample_path(const char *pat, char *out, size_t cap) {
    size_t i = 0, o = 0;
    while (pat[i]) {
        const char *v = NULL;
        if (pat[i] == '{') {
            const char *colon = NULL;
            size_t j = i + 1;
            while (pat[j] != '}') {
                if (pat[j] == ':') colon = pat + j;
                j++;
            }
            if (!colon) v = "sv";
            else if (!strncmp(colon, ":int}", 5)) v = "42";
            else if (!strncmp(colon, ":float}", 7)) v = "4.5";
            else if (!strncmp(colon, ":uuid}", 6)) v = "123e4567-e89b-12d3-a456-426614174000";
            else if (!strncmp(colon, ":path}", 6)) v = "p/q";
            else v = "sv";
            if (o + strlen(v) >= cap) return 0;
            memcpy(out + o, v, strlen(v));
            o += strlen(v);
            i = j + 1;
        } else {
            if (o + 1 >= cap) return 0;
            out[o++] = pat[i++];
        }
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const fixed[] = {"/",          "/users/me",        "/users/{id:int}",
                                        "/users/{name}", "/files/{p:path}", "/f/{a}.{b}",
                                        "/v{n:int}/x", "/a/b/"};
    fr_router_opts o = {0, 0};
    fr_router *r;
    fr_match m;
    size_t i, start, nlines = 0;
    const char *req = NULL;
    size_t req_len = 0;
    char pat[512];
    int added[64];
    char pats[64][512];
    int padded[64];
    if (size > 0) {
        o.no_head_from_get = data[0] & 1;
        o.no_redirect_slashes = (data[0] >> 1) & 1;
    }
    r = fr_router_new(&o);
    FUZZ_CHECK(r);
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        FUZZ_CHECK(fr_router_add(r, "GET", fixed[i], NULL, NULL) == 0);
    /* the routes */
    start = size > 0 ? 1 : 0;
    for (i = start; i <= size; i++) {
        if (i == size || data[i] == '\n') {
            const char *line = (const char *)data + start;
            size_t len = i - start;
            if (i == size) { /* last line: the request */
                req = line;
                req_len = len;
                break;
            }
            if (len > 0 && len < sizeof pat && nlines < 64) {
                fr_err e;
                memcpy(pat, line + 1, len - 1);
                pat[len - 1] = 0;
                if (strlen(pat) == len - 1) { /* no NUL inside */
                    const char *meth = methods[(unsigned char)line[0] & 3];
                    int rc = fr_router_add(r, meth, pat, pats[nlines], &e);
                    FUZZ_CHECK(rc == 0 || (rc == -1 && e.msg && e.code != 0));
                    added[nlines] = rc == 0;
                    padded[nlines] = (unsigned char)line[0] & 3;
                    memcpy(pats[nlines], pat, len);
                    nlines++;
                }
            }
            start = i + 1;
        }
    }
    /* the request */
    if (req) {
        fr_str meth = fr_str_c(methods[req_len ? (unsigned char)req[0] & 3 : 0]);
        const char *path = req_len ? req + 1 : req;
        size_t plen = req_len ? req_len - 1 : 0;
        int st = do_match(r, meth, path, plen, &m);
        if (st == FR_MATCH_REDIRECT) {
            char *alt = (char *)malloc(plen + 1);
            size_t n = plen;
            FUZZ_CHECK(alt);
            memcpy(alt, path, plen);
            if (m.redirect_add_slash) {
                alt[n++] = '/';
            } else {
                while (n > 0 && alt[n - 1] == '/') n--;
            }
            st = do_match(r, meth, alt, n, &m);
            FUZZ_CHECK(st == FR_MATCH_FOUND || st == FR_MATCH_METHOD);
            free(alt);
        }
    }
    /* every route added is found again with sample values */
    for (i = 0; i < nlines; i++) {
        char path[1200];
        size_t n;
        if (!added[i]) continue;
        n = sample_path(pats[i], path, sizeof path);
        if (!n) continue;
        {
            /* some route (maybe a higher-priority one) must be FOUND: ours
             * matches; "*" routes are asked with a method nobody registers */
            fr_str meth = fr_str_c(padded[i] == 3 ? "PATCH" : methods[padded[i]]);
            int st = do_match(r, meth, path, n, &m);
            FUZZ_CHECK(st == FR_MATCH_FOUND);
        }
    }
    fr_router_free(r);
    return 0;
}
