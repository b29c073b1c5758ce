/* libFuzzer harness for requests from memory whose body arrives in pieces
 * (fr_dispatch_begin / fr_dispatch_feed / fr_dispatch_end, src/server.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_dispatch.c -o /tmp/fuzz_dispatch
 *   /tmp/fuzz_dispatch -max_total_time=60 fuzz/seeds/fuzz_dispatch
 *
 * Byte 0 seeds the piece sizes; byte 1 picks the route (an echo route, a
 * body_spool route (8 bytes) that echoes its body from memory or from its
 * temp file, or a multipart_stream route whose handler digests the
 * streamed form), whether
 * a Content-Length is sent, a Connection/Upgrade header pair, and the app
 * (max_body_bytes 64 or the default; a 4-byte spool on the form route so
 * file parts go through temp files); byte 2 is the length of a header
 * value taken from the input; the rest is the body. The same request runs
 * twice: whole through fr_dispatch, and in pieces through begin/feed/end.
 * Both must answer exactly once, with the same status and body (the form
 * route digests fr_req_form, or a form it parses itself from a whole body
 * should one reach it: the two must agree; 413 at the same place for the
 * echo routes over the small app's limit, which a streamed form is not
 * bound by); an echo route's 200 is the body, byte for byte. Dropping a
 * request half-fed must call nothing. */
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

#define BND "XyZ"

typedef struct {
    int status, starts, finals;
    fr_buf body;
} got;

static void g_start(void *ud, int status, const fr_header *h, size_t n) {
    got *g = (got *)ud;
    (void)h;
    (void)n;
    FUZZ_CHECK(!g->starts && !g->finals);
    g->starts++;
    g->status = status;
}

static int g_body(void *ud, const char *data, size_t len, int more) {
    got *g = (got *)ud;
    FUZZ_CHECK(g->starts == 1 && !g->finals);
    if (len) fr_buf_append(&g->body, data, len);
    if (!more) g->finals++;
    return 0;
}

static int echo(fr_req *req, void *ud) {
    fr_str b = fr_req_body(req);
    (void)ud;
    return fr_res_text(req, 200, "application/octet-stream", b.buf, b.len);
}

/* echo of a body_spool route: the body from memory or from its temp file */
static int spooled(fr_req *req, void *ud) {
    uint64_t len = 0, off = 0;
    int fd = fr_req_body_file(req, &len);
    fr_buf out = {NULL, 0, 0};
    char buf[512];
    int rc;
    (void)ud;
    if (fd < 0) {
        fr_str b = fr_req_body(req);
        return fr_res_text(req, 200, "application/octet-stream", b.buf, b.len);
    }
    FUZZ_CHECK(fr_req_body(req).len == 0 && len > 8);
    while (off < len) {
        ssize_t n = pread(fd, buf, sizeof buf, (off_t)off);
        FUZZ_CHECK(n > 0);
        fr_buf_append(&out, buf, (size_t)n);
        off += (uint64_t)n;
    }
    rc = fr_res_text(req, 200, "application/octet-stream", out.buf ? out.buf : "", out.len);
    fr_buf_free(&out);
    return rc;
}

/* the form's parts (names, sizes, data) and error, the same way for a
 * streamed form and one parsed here from a whole body */
static void digest(const fr_form *f, fr_buf *out) {
    size_t i;
    char buf[512];
    fr_buf_printf(out, "err=%d n=%zu;", fr_form_error(f), fr_form_count(f));
    for (i = 0; i < fr_form_count(f); i++) {
        const fr_form_part *p = fr_form_part_at(f, i);
        uint64_t off = 0;
        long n;
        fr_buf_printf(out, "%.*s:%d:%llu:", (int)p->name.len, p->name.buf, p->is_file, (unsigned long long)p->size);
        while ((n = fr_form_part_read(p, off, buf, sizeof buf)) > 0) {
            fr_buf_append(out, buf, (size_t)n);
            off += (uint64_t)n;
        }
        FUZZ_CHECK(n == 0 && off == p->size);
    }
}

static int upload(fr_req *req, void *ud) {
    const fr_form *f = fr_req_form(req);
    fr_buf out = {NULL, 0, 0};
    int rc;
    (void)ud;
    if (f) {
        FUZZ_CHECK(fr_req_body(req).len == 0);
        digest(f, &out);
    } else {
        fr_str b = fr_req_body(req);
        fr_str ct = fr_req_header(req, "content-type");
        char bnd[FR_MAX_MULTIPART_BOUNDARY + 1];
        fr_str bs;
        if (b.len && ct.buf && fr_mp_boundary(ct, bnd, sizeof bnd, &bs) == 1) { /* as the engine would */
            fr_form *own = fr_form_new(bs, NULL, 4);
            FUZZ_CHECK(own != NULL);
            fr_form_feed(own, b.buf, b.len);
            fr_form_finish(own);
            digest(own, &out);
            fr_form_free(own);
        } else {
            fr_buf_printf(&out, "no form %zu", b.len);
        }
    }
    rc = fr_res_text(req, 200, "text/plain", out.buf ? out.buf : "", out.len);
    fr_buf_free(&out);
    return rc;
}

static fr_app *make(uint64_t max_body) {
    fr_config cfg;
    fr_route_opts o;
    fr_app *app;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_body_bytes = max_body;
    app = fr_app_new(&cfg);
    FUZZ_CHECK(app != NULL);
    fr_route(app, "POST", "/echo", echo, NULL);
    memset(&o, 0, sizeof o);
    o.multipart_stream = 1;
    o.multipart_spool = 4;
    fr_route_ex(app, "POST", "/up", upload, NULL, &o);
    memset(&o, 0, sizeof o);
    o.body_spool = 8; /* over 8 bytes: a temp file */
    fr_route_ex(app, "POST", "/spool", spooled, NULL, &o);
    return app;
}

static uint32_t next_rand(uint32_t *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fr_app *small, *big;
    fr_header h[4];
    size_t nh = 0, hv, at, body_len;
    char cl[32];
    const char *body;
    fr_request_desc d;
    got whole, parts;
    fr_sink s1, s2;
    fr_req *req = NULL;
    fr_app *app;
    uint32_t seed;
    int form, rc;
    if (size < 3) return 0;
    if (!small) {
        small = make(64);
        big = make(0);
    }
    seed = data[0];
    form = data[1] & 1;
    app = (data[1] & 4) ? small : big;
    hv = data[2] % 16;
    if (hv > size - 3) hv = size - 3;
    body = (const char *)data + 3 + hv;
    body_len = size - 3 - hv;
    memset(&d, 0, sizeof d);
    d.method = fr_str_c("POST");
    d.target = fr_str_c(form ? "/up" : (data[1] & 16) ? "/spool" : "/echo");
    if (form) {
        h[nh].name = fr_str_c("content-type");
        h[nh++].value = fr_str_c("multipart/form-data; boundary=" BND);
    }
    if (data[1] & 2) {
        snprintf(cl, sizeof cl, "%zu", body_len);
        h[nh].name = fr_str_c("content-length");
        h[nh++].value = fr_str_c(cl);
    }
    if (data[1] & 8) { /* a value from the input: any bytes the head check must take or refuse */
        h[nh].name = fr_str_c("x-any");
        h[nh].value.buf = (const char *)data + 3;
        h[nh++].value.len = hv;
    }
    d.headers = h;
    d.nheaders = nh;

    memset(&whole, 0, sizeof whole);
    memset(&parts, 0, sizeof parts);
    s1.start = g_start;
    s1.body = g_body;
    s1.ud = &whole;
    s2 = s1;
    s2.ud = &parts;

    d.body.buf = body;
    d.body.len = body_len;
    FUZZ_CHECK(fr_dispatch(app, &d, &s1) == 0);
    FUZZ_CHECK(whole.starts == 1 && whole.finals == 1);
    if (!form && whole.status == 200) /* /echo and /spool give the body back, byte for byte */
        FUZZ_CHECK(whole.body.len == body_len && (!body_len || memcmp(whole.body.buf, body, body_len) == 0));

    at = body_len ? next_rand(&seed) % (body_len + 1) : 0; /* the first bytes come with the head */
    d.body.len = at;
    rc = fr_dispatch_begin(app, &d, &s2, NULL, &req);
    FUZZ_CHECK(rc == 0);
    if (req) {
        int answered = 0;
        FUZZ_CHECK(parts.starts == 0);
        while (at < body_len) {
            size_t n = 1 + next_rand(&seed) % (seed & 64 ? 4096 : 7);
            if (n > body_len - at) n = body_len - at;
            rc = fr_dispatch_feed(req, body + at, n);
            FUZZ_CHECK(rc == 0 || rc == 1);
            if (rc == 1) { /* 413 now, and every later piece refused */
                FUZZ_CHECK(parts.status == 413 && parts.finals == 1);
                FUZZ_CHECK(fr_dispatch_feed(req, body, 1) == 1);
                answered = 1;
                break;
            }
            FUZZ_CHECK(parts.starts == 0);
            at += n;
        }
        FUZZ_CHECK(fr_dispatch_end(req, 1) == 0);
        FUZZ_CHECK(!answered || parts.starts == 1);
    }
    FUZZ_CHECK(parts.starts == 1 && parts.finals == 1);

    FUZZ_CHECK(whole.status == parts.status);
    FUZZ_CHECK(whole.body.len == parts.body.len &&
               (!whole.body.len || memcmp(whole.body.buf, parts.body.buf, whole.body.len) == 0));
    fr_buf_free(&whole.body);
    fr_buf_free(&parts.body);

    /* dropped half-way: nothing is called */
    memset(&parts, 0, sizeof parts);
    d.body.len = body_len / 2;
    req = NULL;
    FUZZ_CHECK(fr_dispatch_begin(app, &d, &s2, NULL, &req) == 0);
    if (req) {
        FUZZ_CHECK(fr_dispatch_end(req, 0) == 0);
        FUZZ_CHECK(parts.starts == 0 && parts.finals == 0);
    }
    fr_buf_free(&parts.body);
    return 0;
}
