/* libFuzzer harness for the multipart/form-data parser (src/multipart.c).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_multipart.c -o /tmp/fuzz_multipart
 *   /tmp/fuzz_multipart -max_total_time=60 fuzz/seeds/fuzz_multipart
 *
 * Byte 0 seeds the piece sizes, byte 1 picks the limits and the boundary
 * ("XyZ", or the next byte1 % 8 bytes of the input); the rest is the body.
 * It is parsed three ways: in one piece, in pseudo-random pieces (each in
 * its own exact-size heap copy, so ASan catches over-reads) and with the
 * fr_mp_next iterator. The events (part names, filenames, headers, data,
 * sizes, the end) and the outcome must be the same every way (a field over
 * max_part_size may have streamed more of its data in pieces); data views
 * must lie inside the piece they came from. The body is also read as a
 * Content-Type / Content-Disposition value by the parameter helpers, and
 * fed in pieces to an fr_form (streamed uploads; a 4-byte spool threshold
 * on odd seeds, so file parts go through temp files): its complete parts,
 * read back with fr_form_part_read, and its outcome match the iterator's. */
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

typedef struct {
    fr_buf log;
    const char *piece; /* the piece being fed */
    size_t piece_len;
    int in_part, ended;
} rec;

static void put_str(fr_buf *b, fr_str s) {
    uint32_t n = s.buf ? (uint32_t)s.len : 0xffffffffu;
    fr_buf_append(b, &n, sizeof n);
    if (s.buf) fr_buf_append(b, s.buf, s.len);
}

static int on_event(fr_mp *p, int ev, fr_str data, void *ud) {
    rec *r = (rec *)ud;
    size_t i;
    FUZZ_CHECK(!r->ended);
    switch (ev) {
    case FR_MP_EV_PART:
        FUZZ_CHECK(!r->in_part);
        r->in_part = 1;
        fr_buf_append_char(&r->log, 'P');
        put_str(&r->log, p->part.name);
        put_str(&r->log, p->part.filename);
        put_str(&r->log, p->part.filename_star);
        put_str(&r->log, p->part.content_type);
        FUZZ_CHECK(p->part.name.buf != NULL);
        FUZZ_CHECK(p->part.is_file == (p->part.filename.buf != NULL));
        FUZZ_CHECK(p->part.num_headers <= p->lim.max_headers);
        for (i = 0; i < p->part.num_headers; i++) {
            FUZZ_CHECK(p->part.headers[i].name.len + p->part.headers[i].value.len < p->lim.max_header_bytes);
            put_str(&r->log, p->part.headers[i].name);
            put_str(&r->log, p->part.headers[i].value);
        }
        FUZZ_CHECK(p->part.size == 0);
        break;
    case FR_MP_EV_DATA:
        FUZZ_CHECK(r->in_part);
        FUZZ_CHECK(data.len > 0 && data.buf != NULL);
        /* a view into the piece, or into the parser (a held-back delimiter) */
        FUZZ_CHECK((data.buf >= r->piece && data.buf + data.len <= r->piece + r->piece_len) ||
                   (data.buf >= (const char *)p && data.buf + data.len <= (const char *)(p + 1)));
        fr_buf_append(&r->log, data.buf, data.len);
        break;
    case FR_MP_EV_PART_END:
        FUZZ_CHECK(r->in_part);
        r->in_part = 0;
        fr_buf_printf(&r->log, "E%llu", (unsigned long long)p->part.size);
        if (!p->part.is_file) FUZZ_CHECK(p->part.size <= p->lim.max_part_size);
        break;
    case FR_MP_EV_END:
        FUZZ_CHECK(!r->in_part);
        r->ended = 1;
        fr_buf_append_char(&r->log, 'Z');
        break;
    default:
        abort();
    }
    return 0;
}

/* Returns the final error code (0: complete body); the log in r. */
static int parse(fr_mp *p, fr_str bnd, const fr_mp_limits *lim, const uint8_t *in, size_t n, unsigned seed,
                 int one_piece, rec *r) {
    size_t off = 0;
    memset(r, 0, sizeof *r);
    FUZZ_CHECK(fr_mp_init(p, bnd, lim, on_event, r) == 0);
    while (off < n) {
        size_t k;
        char *piece;
        long rc;
        if (one_piece) {
            k = n;
        } else {
            seed = seed * 1103515245u + 12345u;
            k = 1 + (seed >> 16) % ((seed & 0x100) ? 4 : 64);
        }
        if (k > n - off) k = n - off;
        piece = (char *)malloc(k);
        FUZZ_CHECK(piece != NULL);
        memcpy(piece, in + off, k);
        r->piece = piece;
        r->piece_len = k;
        rc = fr_mp_feed(p, piece, k);
        free(piece);
        if (rc < 0) {
            FUZZ_CHECK(p->err.code != FR_MP_OK && p->err.msg != NULL);
            FUZZ_CHECK(p->err.pos <= n);
            FUZZ_CHECK(fr_mp_feed(p, "x", 1) == -1);
            return p->err.code;
        }
        FUZZ_CHECK((size_t)rc == k);
        off += k;
    }
    FUZZ_CHECK(p->consumed == n);
    if (fr_mp_finish(p) == 0) return 0;
    FUZZ_CHECK(p->err.code == FR_MP_ERR_TRUNCATED);
    return p->err.code;
}

/* The iterator's view of the body: same parts, same data, same outcome. */
static int iterate(fr_mp *p, fr_str bnd, const fr_mp_limits *lim, const uint8_t *in, size_t n, fr_buf *log) {
    char *copy = (char *)malloc(n ? n : 1);
    fr_str body, data;
    size_t ofs = 0, i;
    int rc;
    FUZZ_CHECK(copy != NULL);
    if (n) memcpy(copy, in, n);
    body.buf = copy;
    body.len = n;
    FUZZ_CHECK(fr_mp_init(p, bnd, lim, NULL, NULL) == 0);
    while ((rc = fr_mp_next(p, body, &ofs, &data)) == 1) {
        FUZZ_CHECK(data.buf >= copy && data.buf + data.len <= copy + n);
        FUZZ_CHECK(data.len == p->part.size);
        fr_buf_append_char(log, 'P');
        put_str(log, p->part.name);
        put_str(log, p->part.filename);
        put_str(log, p->part.filename_star);
        put_str(log, p->part.content_type);
        for (i = 0; i < p->part.num_headers; i++) {
            put_str(log, p->part.headers[i].name);
            put_str(log, p->part.headers[i].value);
        }
        fr_buf_append(log, data.buf, data.len);
        fr_buf_printf(log, "E%llu", (unsigned long long)p->part.size);
        FUZZ_CHECK(ofs <= n);
    }
    free(copy);
    if (rc == 0) {
        fr_buf_append_char(log, 'Z');
        return 0;
    }
    return p->err.code;
}

/* The fr_form's view: the complete parts it kept, as iterate logs them. */
static int form_log(fr_str bnd, const fr_mp_limits *lim, const uint8_t *in, size_t n, unsigned seed,
                    fr_buf *log) {
    fr_form *f = fr_form_new(bnd, lim, (seed & 1) ? 4 : 0);
    size_t off = 0, i, j;
    int code;
    FUZZ_CHECK(f != NULL);
    while (off < n) {
        size_t k;
        seed = seed * 1103515245u + 12345u;
        k = 1 + (seed >> 16) % 97;
        if (k > n - off) k = n - off;
        if (fr_form_feed(f, (const char *)in + off, k) < 0) break;
        off += k;
    }
    fr_form_finish(f);
    code = fr_form_error(f);
    FUZZ_CHECK(code != FR_MP_ERR_IO && code != FR_MP_ERR_ABORTED);
    for (i = 0; i < fr_form_count(f); i++) {
        const fr_form_part *pt = fr_form_part_at(f, i);
        char buf[256];
        uint64_t got = 0;
        long k;
        fr_buf_append_char(log, 'P');
        put_str(log, pt->name);
        put_str(log, pt->filename);
        put_str(log, pt->filename_star);
        put_str(log, pt->content_type);
        for (j = 0; j < pt->num_headers; j++) {
            put_str(log, pt->headers[j].name);
            put_str(log, pt->headers[j].value);
        }
        while ((k = fr_form_part_read(pt, got, buf, sizeof buf)) > 0) {
            fr_buf_append(log, buf, (size_t)k);
            got += (uint64_t)k;
        }
        FUZZ_CHECK(k == 0 && got == pt->size);
        FUZZ_CHECK(pt->fd >= 0 || pt->data.buf != NULL);
        fr_buf_printf(log, "E%llu", (unsigned long long)pt->size);
    }
    if (!code) fr_buf_append_char(log, 'Z');
    fr_form_free(f);
    return code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fr_mp *p;
    fr_mp_limits lim;
    fr_str bnd = {"XyZ", 3}, v;
    rec a, b;
    fr_buf it;
    int ca, cb, ci;
    unsigned seed;
    char out[FR_MAX_MULTIPART_BOUNDARY + 1], text[128];
    if (!p) p = (fr_mp *)malloc(sizeof *p);
    FUZZ_CHECK(p != NULL);
    /* the parameter helpers on the raw input */
    {
        fr_str raw = {(const char *)data, size};
        int r = fr_mp_boundary(raw, out, sizeof out, &v);
        FUZZ_CHECK(r >= -1 && r <= 1);
        if (r == 1) FUZZ_CHECK(v.len <= sizeof out && v.buf >= out && v.buf + v.len <= out + sizeof out);
        r = fr_mp_param(raw, "filename", out, 16, &v);
        if (r == 1) FUZZ_CHECK(v.len <= 16);
        r = fr_mp_form_type(raw);
        FUZZ_CHECK(r >= 0 && r <= FR_MP_FORM_URLENCODED);
        r = fr_mp_urlencoded_check(raw, NULL);
        FUZZ_CHECK(r == 0 || r == FR_MP_ERR_FIELD_SIZE || r == FR_MP_ERR_FIELDS);
    }
    if (size < 2) {
        FUZZ_CHECK(fr_mp_init(p, bnd, NULL, NULL, NULL) == 0);
        FUZZ_CHECK(fr_mp_feed(p, size ? (const char *)data : NULL, size) == (size ? -1 : 0) ||
                   (size && (data[0] == '-' || data[0] == '\r' || data[0] == '\n')));
        FUZZ_CHECK(fr_mp_finish(p) == -1);
        return 0;
    }
    seed = data[0];
    memset(&lim, 0, sizeof lim);
    switch (data[1] % 5) {
    case 1: lim.max_fields = 1; lim.max_files = 2; break;
    case 2: lim.max_part_size = 3; lim.max_headers = 2; break;
    case 3: lim.max_header_bytes = 12; lim.max_fields = FR_MP_ZERO; break;
    case 4: lim.max_files = FR_MP_ZERO; lim.max_part_size = FR_MP_UNLIMITED; break;
    default: break;
    }
    data += 2;
    size -= 2;
    if ((data[-1] & 0x80) && size > 0) { /* a boundary from the input (no CR/LF: init would refuse) */
        size_t bl = (size_t)(data[-1] & 7);
        if (bl > size) bl = size;
        bnd.buf = (const char *)data;
        bnd.len = bl;
        if (memchr(bnd.buf, '\r', bl) || memchr(bnd.buf, '\n', bl)) {
            FUZZ_CHECK(fr_mp_init(p, bnd, NULL, NULL, NULL) == -1);
            return 0;
        }
        memcpy(out, bnd.buf, bl);
        bnd.buf = out;
        data += bl;
        size -= bl;
    }
    ca = parse(p, bnd, &lim, data, size, seed, 1, &a);
    cb = parse(p, bnd, &lim, data, size, seed, 0, &b);
    FUZZ_CHECK(ca == cb);
    /* same events; after an error the pieces may have handed out more of
     * the failing part's data than the single piece did */
    FUZZ_CHECK(a.log.len <= b.log.len && (a.log.len == 0 || memcmp(a.log.buf, b.log.buf, a.log.len) == 0));
    FUZZ_CHECK(a.log.len == b.log.len || ca == FR_MP_ERR_PART_SIZE);
    FUZZ_CHECK(fr_mp_error_text(ca, &lim, text, sizeof text) > 0);
    /* the iterator gives the complete parts; its outcome is the same */
    memset(&it, 0, sizeof it);
    ci = iterate(p, bnd, &lim, data, size, &it);
    FUZZ_CHECK(ci == ca);
    /* complete body: the same log; else the complete parts, a prefix of it */
    FUZZ_CHECK(it.len <= a.log.len && (it.len == 0 || memcmp(it.buf, a.log.buf, it.len) == 0));
    if (ca == 0) FUZZ_CHECK(it.len == a.log.len);
    { /* the streamed-upload form keeps what the iterator gives */
        fr_buf fl;
        memset(&fl, 0, sizeof fl);
        FUZZ_CHECK(form_log(bnd, &lim, data, size, seed, &fl) == ci);
        FUZZ_CHECK(fl.len == it.len && (fl.len == 0 || memcmp(fl.buf, it.buf, fl.len) == 0));
        fr_buf_free(&fl);
    }
    fr_buf_free(&a.log);
    fr_buf_free(&b.log);
    fr_buf_free(&it);
    return 0;
}
