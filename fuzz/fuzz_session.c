/* libFuzzer harness for SessionMiddleware's cookies (src/middleware.c,
 * fr_session_*): itsdangerous TimestampSigner signing and verification.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_session.c
 *
 * For every input:
 *  - the input as a cookie value and as a whole Cookie header is verified
 *    without crashing (1 / 0 / FR_MW_RAISES only; a payload only on 1, in
 *    the arena), by sessions with and without a max_age;
 *  - the input as the session JSON, signed at a time taken from the input,
 *    verifies back to exactly the input at that time and at time + max_age,
 *    is expired one second later and one second before it was signed, and
 *    never verifies under another secret;
 *  - changing any byte before the last '.' (payload or timestamp), or any of
 *    the first 26 signature characters (all of whose bits are used), makes
 *    it fail;
 *  - the Set-Cookie written by fr_session_commit carries that same signed
 *    value and the configured attributes, and reading it back through
 *    fr_session_load gives the input again. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_ASSERT(c)                                                                      \
    do {                                                                                  \
        if (!(c)) {                                                                       \
            fprintf(stderr, "fuzz_session: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

#define MAX_AGE 3600

static fr_session *timed, *forever, *other;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    fr_session_config cfg;
    (void)argc;
    (void)argv;
    memset(&cfg, 0, sizeof cfg);
    cfg.secret_key = FR_STR("fuzz-secret");
    cfg.max_age = MAX_AGE;
    cfg.path = FR_STR("/p");
    cfg.https_only = 1;
    timed = fr_session_new(&cfg, NULL);
    cfg.max_age = FR_SESSION_NO_MAX_AGE;
    forever = fr_session_new(&cfg, NULL);
    cfg.secret_key = FR_STR("fuzz-secreT");
    other = fr_session_new(&cfg, NULL);
    FZ_ASSERT(timed && forever && other);
    return 0;
}

static void check_any(const fr_session *s, fr_str value, int64_t now, fr_arena *a) {
    fr_str json;
    int rc = fr_session_unsign(s, value, now, a, &json);
    FZ_ASSERT(rc == 0 || rc == 1 || rc == FR_MW_RAISES);
    if (rc == 1) FZ_ASSERT(json.buf != NULL && json.buf[json.len] == 0);
    else FZ_ASSERT(json.buf == NULL && json.len == 0);
    rc = fr_session_load(s, value, now, a, &json);
    FZ_ASSERT(rc == 0 || rc == 1 || rc == FR_MW_RAISES);
}

static int verifies_to(const fr_session *s, fr_str cookie, int64_t now, fr_str want, fr_arena *a) {
    fr_str json;
    int rc = fr_session_unsign(s, cookie, now, a, &json);
    if (rc != 1) return rc;
    FZ_ASSERT(json.len == want.len && (want.len == 0 || memcmp(json.buf, want.buf, want.len) == 0));
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fr_arena a;
    fr_buf signed_ = {NULL, 0, 0};
    fr_str in = {(const char *)data, size}, cookie;
    int64_t now = 0;
    size_t i, last_dot;
    char *copy;
    fr_arena_init(&a, NULL);

    /* arbitrary cookies: never a crash */
    check_any(timed, in, 1700000000, &a);
    check_any(forever, in, 0, &a);

    /* sign / verify round trip */
    for (i = 0; i < size && i < 5; i++) now = now * 256 + data[i]; /* up to 2^40 */
    FZ_ASSERT(fr_session_sign(timed, in, now, &signed_) == 0);
    cookie.buf = signed_.buf;
    cookie.len = signed_.len;
    FZ_ASSERT(verifies_to(timed, cookie, now, in, &a) == 1);
    FZ_ASSERT(verifies_to(timed, cookie, now + MAX_AGE, in, &a) == 1);
    FZ_ASSERT(verifies_to(timed, cookie, now + MAX_AGE + 1, in, &a) == 0);
    FZ_ASSERT(verifies_to(timed, cookie, now - 1, in, &a) == 0);
    FZ_ASSERT(verifies_to(forever, cookie, now + 1000000, in, &a) == 1);
    FZ_ASSERT(verifies_to(forever, cookie, 0, in, &a) == 1); /* no max_age: no time check */
    FZ_ASSERT(verifies_to(other, cookie, now, in, &a) == 0);
    for (i = 0; i < cookie.len; i++) /* base64, '.', base64url: plain cookie text */
        FZ_ASSERT(cookie.buf[i] == '.' || cookie.buf[i] == '=' || cookie.buf[i] == '+' ||
                  cookie.buf[i] == '/' || cookie.buf[i] == '-' || cookie.buf[i] == '_' ||
                  (cookie.buf[i] >= '0' && cookie.buf[i] <= '9') ||
                  ((cookie.buf[i] | 0x20) >= 'a' && (cookie.buf[i] | 0x20) <= 'z'));

    /* tampering */
    last_dot = cookie.len - 28; /* the signature is always 27 characters */
    FZ_ASSERT(cookie.buf[last_dot] == '.');
    copy = (char *)malloc(cookie.len);
    FZ_ASSERT(copy != NULL);
    if (size) {
        size_t pos = (size_t)data[size - 1] * 257u % cookie.len;
        fr_str t = {copy, cookie.len};
        memcpy(copy, cookie.buf, cookie.len);
        if (pos < last_dot) {
            copy[pos] = (char)(copy[pos] ^ (data[0] | 1));
            FZ_ASSERT(verifies_to(forever, t, now, in, &a) == 0);
        } else if (pos > last_dot && pos < last_dot + 27) {
            copy[pos] = copy[pos] == 'A' ? 'B' : 'A';
            FZ_ASSERT(verifies_to(forever, t, now, in, &a) == 0);
        }
    }
    free(copy);

    /* Set-Cookie and back */
    {
        fr_hlist h;
        fr_str v, hdr;
        char *c;
        fr_str json;
        fr_hlist_init(&h, &a);
        FZ_ASSERT(fr_session_commit(timed, &h, FR_SESSION_MODIFIED | FR_SESSION_NONEMPTY, in, now) == 0);
        FZ_ASSERT(h.len == 2);
        FZ_ASSERT(fr_str_eq_c(h.items[0].name, "vary") && fr_str_eq_c(h.items[0].value, "Cookie"));
        FZ_ASSERT(fr_str_eq_c(h.items[1].name, "set-cookie"));
        v = h.items[1].value;
        FZ_ASSERT(v.len > 8 + cookie.len && memcmp(v.buf, "session=", 8) == 0);
        FZ_ASSERT(memcmp(v.buf + 8, cookie.buf, cookie.len) == 0);
        FZ_ASSERT(fr_str_eq_c(fr_str_c(v.buf + 8 + cookie.len),
                              "; path=/p; Max-Age=3600; httponly; samesite=lax; secure"));
        /* the request that sends it back, with other cookies around it */
        c = (char *)fr_arena_alloc(&a, cookie.len + 32);
        FZ_ASSERT(c != NULL);
        memcpy(c, "a=1; session=", 13);
        memcpy(c + 13, cookie.buf, cookie.len);
        memcpy(c + 13 + cookie.len, "; b=2", 5);
        hdr.buf = c;
        hdr.len = cookie.len + 18;
        FZ_ASSERT(fr_session_load(timed, hdr, now + 1, &a, &json) == 1);
        FZ_ASSERT(json.len == size && (size == 0 || memcmp(json.buf, data, size) == 0));
    }

    fr_buf_free(&signed_);
    fr_arena_free(&a);
    return 0;
}
