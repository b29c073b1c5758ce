/* ---- multipart.c: streaming multipart/form-data (RFC 7578) ---- */
#include "internal.h"

#if defined(_WIN32)
#  include <io.h>
#else
#  include <unistd.h>
#  include <fcntl.h>
#endif

/* Parser states. The delimiter is "\r\n--" + boundary (p->delim, p->dlen
 * bytes); the first one of a body has no CRLF, so it is matched from
 * delim + 2. */
enum {
    FR__MP_PREAMBLE,   /* nothing seen yet */
    FR__MP_SKIP,       /* leading CR/LF seen: skipping up to the first '-' */
    FR__MP_FIRST,      /* matching the first "--boundary" (p->m: bytes of delim) */
    FR__MP_FIRST_CR,   /* "--boundary\r": LF must follow */
    FR__MP_FIRST_DASH, /* "--boundary-": '-' must follow (an empty form) */
    FR__MP_HSTART,     /* start of a header line, or of the blank line */
    FR__MP_HEND_LF,    /* blank line's CR seen: LF must follow */
    FR__MP_HNAME,      /* header name, up to ':' */
    FR__MP_HSPACE,     /* spaces after ':' */
    FR__MP_HVALUE,     /* header value, up to CR */
    FR__MP_HVALUE_LF,  /* header line's CR seen: LF must follow */
    FR__MP_DATA,       /* part data (p->m: delimiter bytes matched and held back) */
    FR__MP_TAIL,       /* a whole delimiter matched: what follows decides */
    FR__MP_TAIL_CR,    /* delimiter + CR: LF = next part */
    FR__MP_TAIL_DASH,  /* delimiter + '-': '-' = the end */
    FR__MP_PAD,        /* delimiter + spaces/tabs (transport padding) */
    FR__MP_PAD_LF,     /* padding's CR seen: LF must follow */
    FR__MP_END,        /* closing delimiter seen: the rest is epilogue */
    FR__MP_ERROR
};

/* Start of the two scratch areas after the header lines (unquoted name and
 * filename, FR_MAX_MULTIPART_HEADER_BYTES each). */
#define FR__MP_SCRATCH (FR_MAX_MULTIPART_HEADERS * FR_MAX_MULTIPART_HEADER_BYTES)

static size_t fr__mp_limit(size_t v, size_t def) {
    if (v == 0) return def;
    return v == FR_MP_ZERO ? 0 : v;
}

static long fr__mp_fail(fr_mp *p, int code, const char *msg, size_t pos) {
    p->state = FR__MP_ERROR;
    p->err.code = code;
    p->err.msg = msg;
    p->err.pos = (size_t)p->consumed + pos;
    return -1;
}

int fr_mp_init(fr_mp *p, fr_str boundary, const fr_mp_limits *lim, fr_mp_fn fn, void *ud) {
    fr_mp_limits z;
    if (!p) return -1;
    memset(p, 0, (size_t)((char *)p->hbuf - (char *)p));
    p->sink_fd = -1;
    p->fn = fn;
    p->ud = ud;
    if (!lim) {
        memset(&z, 0, sizeof z);
        lim = &z;
    }
    p->lim.max_fields = fr__mp_limit(lim->max_fields, FR_MAX_MULTIPART_FIELDS);
    p->lim.max_files = fr__mp_limit(lim->max_files, FR_MAX_MULTIPART_FILES);
    p->lim.max_part_size = fr__mp_limit(lim->max_part_size, FR_MAX_MULTIPART_PART_BYTES);
    p->lim.max_headers = FR__MIN(fr__mp_limit(lim->max_headers, FR_MAX_MULTIPART_HEADERS),
                                 (size_t)FR_MAX_MULTIPART_HEADERS);
    p->lim.max_header_bytes = FR__MIN(fr__mp_limit(lim->max_header_bytes, FR_MAX_MULTIPART_HEADER_BYTES),
                                      (size_t)FR_MAX_MULTIPART_HEADER_BYTES);
    if ((boundary.len && !boundary.buf) || boundary.len > FR_MAX_MULTIPART_BOUNDARY ||
        (boundary.len && (memchr(boundary.buf, '\r', boundary.len) || memchr(boundary.buf, '\n', boundary.len)))) {
        fr__mp_fail(p, FR_MP_ERR_BOUNDARY, "bad multipart boundary", 0);
        return -1;
    }
    memcpy(p->delim, "\r\n--", 4);
    if (boundary.len) memcpy(p->delim + 4, boundary.buf, boundary.len);
    p->dlen = 4 + boundary.len;
    p->state = FR__MP_PREAMBLE;
    return 0;
}

/* ---- events ---- */

/* 0 go on, 1 pause (PART, PART_END, END only), -1 error. */
static int fr__mp_event(fr_mp *p, int ev, size_t pos) {
    int rc;
    if (!p->fn) return 0;
    p->in_part_ev = ev == FR_MP_EV_PART; /* fr_mp_sink_fd is allowed now */
    rc = p->fn(p, ev, fr__str(NULL, 0), p->ud);
    p->in_part_ev = 0;
    if (rc < 0) return (int)fr__mp_fail(p, FR_MP_ERR_ABORTED, "multipart callback aborted", pos);
    return rc == FR_MP_PAUSE ? 1 : 0;
}

FR__PRIV int fr__write_all(int fd, const char *d, size_t n) {
    while (n) {
#if defined(_WIN32)
        int w = _write(fd, d, (unsigned)FR__MIN(n, (size_t)INT_MAX));
#else
        ssize_t w = write(fd, d, n);
#endif
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        d += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Data of the current part: limit, sink or callback. 0 / -1. */
static int fr__mp_data(fr_mp *p, const char *d, size_t n, size_t pos) {
    int rc;
    if (!n) return 0;
    p->part.size += n;
    if (!p->part.is_file && p->part.size > (uint64_t)p->lim.max_part_size)
        return (int)fr__mp_fail(p, FR_MP_ERR_PART_SIZE, "multipart field too large", pos);
    if (p->sink_fd >= 0) {
        if (fr__write_all(p->sink_fd, d, n) < 0)
            return (int)fr__mp_fail(p, FR_MP_ERR_IO, "multipart sink write failed", pos);
        return 0;
    }
    if (!p->fn) return 0;
    rc = p->fn(p, FR_MP_EV_DATA, fr__str(d, n), p->ud);
    if (rc < 0) return (int)fr__mp_fail(p, FR_MP_ERR_ABORTED, "multipart callback aborted", pos);
    return 0;
}

int fr_mp_sink_fd(fr_mp *p, int fd) {
    if (!p || !p->in_part_ev || fd < 0) return -1;
    p->sink_fd = fd;
    return 0;
}

/* ---- parameters (python-multipart's parse_options_header) ---- */

/* Next ';'-separated segment of s[*pos..len) as _parseparam cuts it: it
 * ends at the first ';' after which the count of '"' not preceded by '\'
 * (inside the segment) is even, else at the end. 1 / 0 at the end. */
static int fr__mp_segment(const char *s, size_t len, size_t *pos, size_t *a, size_t *b) {
    size_t e, start = *pos, q = 0;
    if (start > len) return 0;
    for (e = start; e < len; e++) {
        if (s[e] == '"' && !(e > start && s[e - 1] == '\\')) q++;
        else if (s[e] == ';' && !(q & 1)) break;
    }
    *a = start;
    *b = e;
    *pos = e + 1;
    return 1;
}

static fr_str fr__mp_strip(const char *s, size_t a, size_t b) {
    while (a < b && (s[a] == ' ' || s[a] == '\t')) a++;
    while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t')) b--;
    return fr__str(s + a, b - a);
}

/* One parameter: key and raw value (trimmed, quotes kept); has_eq: the
 * segment had '=' (the key was lowercased by python-multipart). The first
 * segment (the media type) is skipped. */
static int fr__mp_next_param(fr_str v, size_t *pos, fr_str *key, fr_str *val, int *has_eq) {
    size_t a, b, i;
    if (*pos == 0 && !fr__mp_segment(v.buf, v.len, pos, &a, &b)) return 0; /* media type */
    if (!fr__mp_segment(v.buf, v.len, pos, &a, &b)) return 0;
    for (i = a; i < b && v.buf[i] != '='; i++) {
    }
    *has_eq = i < b;
    if (i < b) {
        *key = fr__mp_strip(v.buf, a, i);
        *val = fr__mp_strip(v.buf, i + 1, b);
    } else {
        *key = fr__mp_strip(v.buf, a, b);
        *val = fr__str(v.buf + b, 0);
    }
    return 1;
}

/* The key test of parse_options_header: keys with '*' are ignored; a key
 * from a segment with '=' was lowercased. */
static int fr__mp_key_is(fr_str key, int has_eq, const char *want) {
    if (memchr(key.buf, '*', key.len)) return 0;
    return has_eq ? fr_str_ieq_c(key, want) : fr_str_eq_c(key, want);
}

/* Unquote a raw value into out: "..." loses its quotes, then \\ -> \ and
 * \" -> " (two passes, as str.replace twice). -1 when over cap. */
static long fr__mp_unquote(fr_str v, char *out, size_t cap) {
    size_t i, n = 0, j, k;
    if (v.len >= 2 && v.buf[0] == '"' && v.buf[v.len - 1] == '"') {
        for (i = 1; i < v.len - 1; i++) {
            if (n == cap) return -1;
            out[n++] = v.buf[i];
            if (v.buf[i] == '\\' && i + 1 < v.len - 1 && v.buf[i + 1] == '\\') i++;
        }
        for (j = k = 0; j < n; j++, k++) {
            if (out[j] == '\\' && j + 1 < n && out[j + 1] == '"') j++;
            out[k] = out[j];
        }
        return (long)k;
    }
    if (v.len > cap) return -1;
    if (v.len) memcpy(out, v.buf, v.len);
    return (long)v.len;
}

int fr_mp_param(fr_str value, const char *key, char *out, size_t cap, fr_str *val) {
    size_t pos = 0;
    fr_str k, v, last = {NULL, 0};
    int has_eq, found = 0;
    long n;
    if (!value.buf || !key || !val) return 0;
    while (fr__mp_next_param(value, &pos, &k, &v, &has_eq)) {
        if (fr__mp_key_is(k, has_eq, key)) {
            last = v;
            found = 1;
        }
    }
    if (!found) return 0;
    if ((n = fr__mp_unquote(last, out, cap)) < 0) return -1;
    *val = fr__str(out, (size_t)n);
    /* an IE path ("C:\dir\f.txt", "\\host\f") is cut to its last component */
    if (fr_str_ieq_c(fr_str_c(key), "filename") &&
        ((n >= 3 && out[1] == ':' && out[2] == '\\') || (n >= 2 && out[0] == '\\' && out[1] == '\\'))) {
        const char *s = out + n;
        while (s > out && s[-1] != '\\') s--;
        *val = fr__str(s, (size_t)(out + n - s));
    }
    return 1;
}

int fr_mp_boundary(fr_str content_type, char *out, size_t cap, fr_str *boundary) {
    return fr_mp_param(content_type, "boundary", out, cap, boundary);
}

int fr_mp_form_type(fr_str ct) {
    size_t e = 0;
    fr_str t;
    if (!ct.buf) return 0;
    while (e < ct.len && ct.buf[e] != ';') e++;
    t = fr__mp_strip(ct.buf, 0, e);
    if (fr_str_ieq_c(t, "multipart/form-data")) return FR_MP_FORM_DATA;
    return fr_str_ieq_c(t, "application/x-www-form-urlencoded") ? FR_MP_FORM_URLENCODED : 0;
}

int fr_mp_urlencoded_check(fr_str body, const fr_mp_limits *lim) {
    size_t max_fields = FR_MAX_MULTIPART_FIELDS, max_size = FR_MAX_MULTIPART_PART_BYTES, fields = 0;
    const char *s = body.buf, *end;
    if (!s) return 0;
    end = s + body.len;
    if (lim) {
        max_fields = fr__mp_limit(lim->max_fields, FR_MAX_MULTIPART_FIELDS);
        max_size = fr__mp_limit(lim->max_part_size, FR_MAX_MULTIPART_PART_BYTES);
    }
    while (s < end) {
        const char *amp = (const char *)memchr(s, '&', (size_t)(end - s)), *e = amp ? amp : end;
        size_t n = (size_t)(e - s);
        if (n) {
            if (memchr(s, '=', n)) n--;
            if (n > max_size) return FR_MP_ERR_FIELD_SIZE;
            if (++fields > max_fields) return FR_MP_ERR_FIELDS;
        }
        s = amp ? amp + 1 : end;
    }
    return 0;
}

/* ---- headers ---- */

/* The part's headers are complete: read Content-Disposition, count it,
 * tell the callback. 0, 1 (paused), -1. */
static int fr__mp_headers_done(fr_mp *p, size_t pos) {
    fr_mp_part *pt = &p->part;
    fr_str cd = {NULL, 0}, k, v;
    size_t i, at = 0;
    int has_eq;
    char *nbuf = p->hbuf + FR__MP_SCRATCH, *fbuf = nbuf + FR_MAX_MULTIPART_HEADER_BYTES;
    for (i = 0; i < pt->num_headers; i++) {
        if (fr_str_ieq_c(pt->headers[i].name, "content-disposition")) cd = pt->headers[i].value;
        else if (!pt->content_type.buf && fr_str_ieq_c(pt->headers[i].name, "content-type"))
            pt->content_type = pt->headers[i].value;
    }
    if (fr_mp_param(cd, "name", nbuf, FR_MAX_MULTIPART_HEADER_BYTES, &pt->name) != 1)
        return (int)fr__mp_fail(p, FR_MP_ERR_NO_NAME, "multipart part without a name", pos);
    pt->is_file = fr_mp_param(cd, "filename", fbuf, FR_MAX_MULTIPART_HEADER_BYTES, &pt->filename) == 1;
    if (!pt->is_file) pt->filename = fr__str(NULL, 0);
    while (fr__mp_next_param(cd, &at, &k, &v, &has_eq))
        if (has_eq && fr_str_ieq_c(k, "filename*")) pt->filename_star = v;
    if (pt->is_file ? ++p->files > p->lim.max_files : ++p->fields > p->lim.max_fields)
        return (int)fr__mp_fail(p, pt->is_file ? FR_MP_ERR_FILES : FR_MP_ERR_FIELDS,
                                pt->is_file ? "too many multipart files" : "too many multipart fields", pos);
    return fr__mp_event(p, FR_MP_EV_PART, pos);
}

static void fr__mp_part_reset(fr_mp *p) {
    memset(&p->part, 0, sizeof p->part);
    p->hlen = 0;
    p->sink_fd = -1;
}

/* One byte of a header name: token characters up to ':'. 0 / -1. */
static int fr__mp_hname(fr_mp *p, unsigned char c, size_t pos) {
    fr_mp_header *h = &p->part.headers[p->part.num_headers - 1];
    if (++p->hsize > p->lim.max_header_bytes)
        return (int)fr__mp_fail(p, FR_MP_ERR_HEADER_SIZE, "multipart header line too long", pos);
    if (c == ':') {
        if (!h->name.len) return (int)fr__mp_fail(p, FR_MP_ERR_SYNTAX, "empty multipart header name", pos);
        h->value = fr__str(p->hbuf + p->hlen, 0);
        p->state = FR__MP_HSPACE;
        return 0;
    }
    if (!fr__tchar(c)) return (int)fr__mp_fail(p, FR_MP_ERR_SYNTAX, "bad multipart header name", pos);
    p->hbuf[p->hlen++] = (char)c;
    h->name.len++;
    return 0;
}

/* ---- the state machine ---- */

/* A delimiter candidate turned out to be data: `held` bytes (delim[0..m)
 * plus the tail byte in delim[dlen]). When it began in an earlier piece it
 * is emitted from p->delim and the data of this piece restarts at i;
 * otherwise it is still part of this piece's pending data. */
static int fr__mp_nomatch(fr_mp *p, size_t held, size_t *mark, size_t i) {
    p->m = 0;
    p->state = FR__MP_DATA;
    if (!p->carry) return 0;
    p->carry = 0;
    *mark = i;
    return fr__mp_data(p, p->delim, held, i);
}

static long fr__mp_paused(fr_mp *p, size_t i) {
    p->consumed += i;
    return (long)i;
}

long fr_mp_feed(fr_mp *p, const char *buf, size_t len) {
    size_t i = 0, mark = 0, mstart = 0;
    int rc;
    if (!p || p->state == FR__MP_ERROR) return -1;
    if (!buf && len) return fr__mp_fail(p, FR_MP_ERR_ABORTED, "NULL buffer", 0);
    if (p->end_pending) { /* a paused PART_END is followed by the END it preceded */
        p->end_pending = 0;
        if ((rc = fr__mp_event(p, FR_MP_EV_END, 0)) < 0) return -1;
        if (rc) return 0;
    }
    while (i < len) {
        unsigned char c = (unsigned char)buf[i];
        switch (p->state) {
        case FR__MP_PREAMBLE:
            if (c == '\r' || c == '\n') {
                p->state = FR__MP_SKIP;
                i++;
            } else {
                p->state = FR__MP_FIRST;
                p->m = 2;
            }
            break;
        case FR__MP_SKIP: {
            const char *q = (const char *)memchr(buf + i, '-', len - i);
            if (!q) {
                i = len;
            } else {
                i = (size_t)(q - buf);
                p->state = FR__MP_FIRST;
                p->m = 2;
            }
            break;
        }
        case FR__MP_FIRST:
            if (p->m < p->dlen) {
                if (c != (unsigned char)p->delim[p->m])
                    return fr__mp_fail(p, FR_MP_ERR_SYNTAX, "multipart body does not start with the boundary", i);
                p->m++;
            } else if (c == '\r') {
                p->state = FR__MP_FIRST_CR;
            } else if (c == '-') {
                p->state = FR__MP_FIRST_DASH;
            } else {
                return fr__mp_fail(p, FR_MP_ERR_SYNTAX, "no CRLF after the multipart boundary", i);
            }
            i++;
            break;
        case FR__MP_FIRST_CR:
            if (c != '\n') return fr__mp_fail(p, FR_MP_ERR_SYNTAX, "no CRLF after the multipart boundary", i);
            i++;
            p->state = FR__MP_HSTART;
            fr__mp_part_reset(p);
            break;
        case FR__MP_FIRST_DASH:
            if (c != '-') return fr__mp_fail(p, FR_MP_ERR_SYNTAX, "bad closing multipart boundary", i);
            i++;
            p->state = FR__MP_END;
            if ((rc = fr__mp_event(p, FR_MP_EV_END, i)) < 0) return -1;
            if (rc) return fr__mp_paused(p, i);
            break;
        case FR__MP_HSTART:
            if (p->fresh) { /* the first byte of a part: the previous one is done */
                p->fresh = 0;
                fr__mp_part_reset(p);
            }
            if (c == '\r') {
                p->state = FR__MP_HEND_LF;
                i++;
                break;
            }
            if (p->part.num_headers >= p->lim.max_headers)
                return fr__mp_fail(p, FR_MP_ERR_HEADER_COUNT, "too many multipart header lines", i);
            p->part.headers[p->part.num_headers++].name = fr__str(p->hbuf + p->hlen, 0);
            p->hsize = 0;
            p->state = FR__MP_HNAME;
            break;
        case FR__MP_HEND_LF:
            if (c != '\n') return fr__mp_fail(p, FR_MP_ERR_SYNTAX, "no LF after the multipart headers", i);
            i++;
            p->state = FR__MP_DATA;
            p->m = 0;
            mark = i;
            if ((rc = fr__mp_headers_done(p, i)) < 0) return -1;
            if (rc) return fr__mp_paused(p, i);
            break;
        case FR__MP_HNAME:
            if (fr__mp_hname(p, c, i) < 0) return -1;
            i++;
            break;
        case FR__MP_HSPACE:
            if (c != ' ') {
                p->state = FR__MP_HVALUE;
                break;
            }
            if (++p->hsize > p->lim.max_header_bytes)
                return fr__mp_fail(p, FR_MP_ERR_HEADER_SIZE, "multipart header line too long", i);
            i++;
            break;
        case FR__MP_HVALUE: {
            const char *q = (const char *)memchr(buf + i, '\r', len - i);
            size_t n = (q ? (size_t)(q - buf) : len) - i;
            fr_mp_header *h = &p->part.headers[p->part.num_headers - 1];
            if (n > p->lim.max_header_bytes - p->hsize)
                return fr__mp_fail(p, FR_MP_ERR_HEADER_SIZE, "multipart header line too long", i);
            memcpy(p->hbuf + p->hlen, buf + i, n);
            p->hlen += n;
            p->hsize += n;
            h->value.len += n;
            i += n;
            if (q) {
                p->state = FR__MP_HVALUE_LF;
                i++;
            }
            break;
        }
        case FR__MP_HVALUE_LF:
            if (c != '\n') return fr__mp_fail(p, FR_MP_ERR_SYNTAX, "no LF after a multipart header", i);
            i++;
            p->state = FR__MP_HSTART;
            break;
        case FR__MP_DATA:
            if (p->m == 0) {
                const char *q = (const char *)memchr(buf + i, '\r', len - i);
                size_t k, n;
                if (!q) {
                    i = len;
                    break;
                }
                k = (size_t)(q - buf);
                n = FR__MIN(p->dlen, len - k);
                if (memcmp(q, p->delim, n) != 0) {
                    i = k + 1;
                    break;
                }
                mstart = k;
                p->m = n;
                i = k + n;
                if (n == p->dlen) p->state = FR__MP_TAIL;
                break;
            }
            /* a match carried over from the previous piece */
            if (c == (unsigned char)p->delim[p->m]) {
                i++;
                if (++p->m == p->dlen) p->state = FR__MP_TAIL;
            } else if (fr__mp_nomatch(p, p->m, &mark, i) < 0) {
                return -1;
            }
            break;
        case FR__MP_TAIL:
            if (c == '\r' || c == '-') {
                p->delim[p->dlen] = (char)c;
                p->state = c == '\r' ? FR__MP_TAIL_CR : FR__MP_TAIL_DASH;
                i++;
            } else if (c == ' ' || c == '\t') {
                if (fr__mp_data(p, buf + mark, mstart - mark, i) < 0) return -1;
                p->m = 0;
                p->carry = 0;
                p->state = FR__MP_PAD;
                i++;
            } else if (fr__mp_nomatch(p, p->dlen, &mark, i) < 0) {
                return -1;
            }
            break;
        case FR__MP_TAIL_CR:
        case FR__MP_TAIL_DASH:
            if (c != (p->state == FR__MP_TAIL_CR ? '\n' : '-')) {
                if (fr__mp_nomatch(p, p->dlen + 1, &mark, i) < 0) return -1;
                break;
            }
            i++;
            if (fr__mp_data(p, buf + mark, mstart - mark, i) < 0) return -1;
            p->carry = 0;
            p->m = 0;
            if (p->state == FR__MP_TAIL_CR) {
                p->state = FR__MP_HSTART;
                p->fresh = 1; /* p->part stays valid for PART_END */
                if ((rc = fr__mp_event(p, FR_MP_EV_PART_END, i)) < 0) return -1;
                if (rc) return fr__mp_paused(p, i);
                break;
            }
            p->state = FR__MP_END;
            if ((rc = fr__mp_event(p, FR_MP_EV_PART_END, i)) < 0) return -1;
            if (rc) {
                p->end_pending = 1; /* END comes with the next call */
                return fr__mp_paused(p, i);
            }
            if ((rc = fr__mp_event(p, FR_MP_EV_END, i)) < 0) return -1;
            if (rc) return fr__mp_paused(p, i);
            break;
        case FR__MP_PAD:
            if (c == '\r') p->state = FR__MP_PAD_LF;
            else if (c != ' ' && c != '\t')
                return fr__mp_fail(p, FR_MP_ERR_SYNTAX, "no CRLF after multipart boundary padding", i);
            i++;
            break;
        case FR__MP_PAD_LF:
            if (c != '\n') return fr__mp_fail(p, FR_MP_ERR_SYNTAX, "no CRLF after multipart boundary padding", i);
            i++;
            p->state = FR__MP_HSTART;
            p->fresh = 1;
            if ((rc = fr__mp_event(p, FR_MP_EV_PART_END, i)) < 0) return -1;
            if (rc) return fr__mp_paused(p, i);
            break;
        case FR__MP_END:
            i = len;
            break;
        default:
            return -1;
        }
    }
    /* end of the piece: hand out the data that cannot be a delimiter */
    if (p->state == FR__MP_DATA && p->m == 0) {
        if (fr__mp_data(p, buf + mark, len - mark, len) < 0) return -1;
    } else if (p->state >= FR__MP_DATA && p->state <= FR__MP_TAIL_DASH && !p->carry) {
        if (fr__mp_data(p, buf + mark, mstart - mark, len) < 0) return -1;
        p->carry = 1;
    }
    p->consumed += len;
    return (long)len;
}

int fr_mp_finish(fr_mp *p) {
    if (!p || p->state == FR__MP_ERROR) return -1;
    if (p->end_pending) {
        p->end_pending = 0;
        if (fr__mp_event(p, FR_MP_EV_END, 0) < 0) return -1;
    }
    if (p->state == FR__MP_END) return 0;
    return (int)fr__mp_fail(p, FR_MP_ERR_TRUNCATED, "multipart body ends before its closing boundary", 0);
}

/* fr_mp_next's callback: gathers one part's data (contiguous: one piece)
 * and pauses at its end. */
typedef struct fr__mp_it {
    fr_str data;
    int got;
} fr__mp_it;

static int fr__mp_collect(fr_mp *p, int ev, fr_str data, void *ud) {
    fr__mp_it *it = (fr__mp_it *)ud;
    (void)p;
    if (ev == FR_MP_EV_DATA) {
        if (!it->data.buf) it->data = data;
        else it->data.len += data.len;
    }
    if (ev != FR_MP_EV_PART_END) return 0;
    it->got = 1;
    return FR_MP_PAUSE;
}

int fr_mp_next(fr_mp *p, fr_str body, size_t *ofs, fr_str *data) {
    fr__mp_it it;
    long n;
    if (!p || !ofs || !data || *ofs > body.len || (!body.buf && body.len)) return -1;
    memset(&it, 0, sizeof it);
    p->fn = fr__mp_collect;
    p->ud = &it;
    n = fr_mp_feed(p, body.buf ? body.buf + *ofs : body.buf, body.len - *ofs);
    p->ud = NULL;
    if (n < 0) return -1;
    *ofs += (size_t)n;
    if (it.got) {
        *data = it.data.buf ? it.data : fr__str(body.buf + *ofs, 0);
        return 1;
    }
    return fr_mp_finish(p) < 0 ? -1 : 0;
}

size_t fr_mp_error_text(int code, const fr_mp_limits *lim, char *out, size_t cap) {
    unsigned long long fields = FR_MAX_MULTIPART_FIELDS, files = FR_MAX_MULTIPART_FILES;
    unsigned long long part = FR_MAX_MULTIPART_PART_BYTES;
    char msg[128]; /* written here, then copied: out may be any size */
    const char *text = NULL;
    size_t n;
    if (lim) {
        fields = fr__mp_limit(lim->max_fields, FR_MAX_MULTIPART_FIELDS);
        files = fr__mp_limit(lim->max_files, FR_MAX_MULTIPART_FILES);
        part = fr__mp_limit(lim->max_part_size, FR_MAX_MULTIPART_PART_BYTES);
    }
    if (!out || !cap) return 0;
    switch (code) {
    case FR_MP_ERR_NO_BOUNDARY:
        text = "Missing boundary in multipart.";
        break;
    case FR_MP_ERR_BOUNDARY:
    case FR_MP_ERR_SYNTAX:
    case FR_MP_ERR_HEADER_SIZE:
    case FR_MP_ERR_HEADER_COUNT:
        text = "Invalid multipart data.";
        break;
    case FR_MP_ERR_NO_NAME:
        text = "The Content-Disposition header field \"name\" must be provided.";
        break;
    case FR_MP_ERR_FIELDS:
        snprintf(msg, sizeof msg, "Too many fields. Maximum number of fields is %llu.", fields);
        break;
    case FR_MP_ERR_FILES:
        snprintf(msg, sizeof msg, "Too many files. Maximum number of files is %llu.", files);
        break;
    case FR_MP_ERR_PART_SIZE:
        snprintf(msg, sizeof msg, "Part exceeded maximum size of %lluKB.", part / 1024);
        break;
    case FR_MP_ERR_FIELD_SIZE:
        snprintf(msg, sizeof msg, "Field exceeded maximum size of %lluKB.", part / 1024);
        break;
    default:
        text = "There was an error parsing the body";
        break;
    }
    if (!text) text = msg;
    n = FR__MIN(strlen(text), cap - 1);
    memcpy(out, text, n);
    out[n] = 0;
    return n;
}

/* ---- fr_form: a streamed body's parts, files spooled to disk ---- */

struct fr_form {
    fr_mp mp;             /* big (~42 KiB): the form is one heap block */
    fr_mp_limits lim;     /* as given (fr_form_error_text) */
    uint64_t spool;       /* file bytes held in memory before a temp file */
    fr_arena arena;       /* part names, headers */
    fr_form_part *parts;  /* complete parts [0, n); parts[n] is being built */
    size_t n, cap;
    fr_buf cur;           /* the current part's data while in memory */
    int cur_fd;           /* the current part's temp file, or -1 */
    int in_part, finished, err, err_no;
};

static fr_str fr__form_dup(fr_form *f, fr_str s) {
    char *d;
    if (!s.buf) return s;
    d = (char *)fr_arena_alloc(&f->arena, s.len ? s.len : 1);
    if (!d) return fr__str(NULL, 0);
    if (s.len) memcpy(d, s.buf, s.len);
    return fr__str(d, s.len);
}

FR__PRIV int fr__tmpfile(void) {
#if defined(_WIN32)
    return -1;
#else
    const char *dir = getenv("TMPDIR");
    char path[4096];
    int fd;
    if (!dir || !*dir) dir = "/tmp";
#  if defined(O_TMPFILE)
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
#  endif
    if ((size_t)snprintf(path, sizeof path, "%s/fastrapi-upload-XXXXXX", dir) >= sizeof path) return -1;
    fd = mkstemp(path);
    if (fd < 0) return -1;
    unlink(path);
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
#endif
}

static int fr__form_io(fr_form *f) {
    f->err_no = errno ? errno : EIO;
    f->err = FR_MP_ERR_IO;
    return -1;
}

static int fr__form_part_begin(fr_form *f, const fr_mp_part *mp) {
    fr_form_part *pt;
    fr_mp_header *hs = NULL;
    size_t i;
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 8;
        fr_form_part *np = (fr_form_part *)FR_REALLOC(f->parts, nc * sizeof *np);
        if (!np) return fr__form_io(f);
        f->parts = np;
        f->cap = nc;
    }
    pt = &f->parts[f->n];
    memset(pt, 0, sizeof *pt);
    pt->fd = -1;
    pt->is_file = mp->is_file;
    pt->name = fr__form_dup(f, mp->name);
    pt->filename = fr__form_dup(f, mp->filename);
    pt->filename_star = fr__form_dup(f, mp->filename_star);
    pt->content_type = fr__form_dup(f, mp->content_type);
    if (mp->num_headers) {
        hs = (fr_mp_header *)fr_arena_alloc(&f->arena, mp->num_headers * sizeof *hs);
        if (!hs) return fr__form_io(f);
        for (i = 0; i < mp->num_headers; i++) {
            hs[i].name = fr__form_dup(f, mp->headers[i].name);
            hs[i].value = fr__form_dup(f, mp->headers[i].value);
        }
    }
    pt->headers = hs;
    pt->num_headers = mp->num_headers;
    if ((mp->name.buf && !pt->name.buf) || (mp->filename.buf && !pt->filename.buf)) return fr__form_io(f);
    f->cur.len = 0;
    f->cur_fd = -1;
    f->in_part = 1;
    return 0;
}

static int fr__form_data(fr_form *f, fr_str d) {
    fr_form_part *pt = &f->parts[f->n];
    if (f->cur_fd < 0 && pt->is_file && (uint64_t)f->cur.len + d.len > f->spool) {
        errno = 0;
        if ((f->cur_fd = fr__tmpfile()) < 0) return fr__form_io(f);
        if (f->cur.len && fr__write_all(f->cur_fd, f->cur.buf, f->cur.len) < 0) return fr__form_io(f);
        f->cur.len = 0;
        if (f->cur.cap > 65536) fr_buf_free(&f->cur); /* the next parts start small again */
    }
    if (f->cur_fd >= 0) {
        errno = 0;
        return fr__write_all(f->cur_fd, d.buf, d.len) < 0 ? fr__form_io(f) : 0;
    }
    if (fr_buf_append(&f->cur, d.buf, d.len) < 0) {
        errno = ENOMEM;
        return fr__form_io(f);
    }
    return 0;
}

static int fr__form_part_end(fr_form *f, uint64_t size) {
    fr_form_part *pt = &f->parts[f->n];
    pt->size = size;
    if (f->cur_fd >= 0) {
        pt->fd = f->cur_fd;
        f->cur_fd = -1;
    } else if (f->cur.len) { /* the buffer moves to the part */
        pt->data = fr__str(f->cur.buf, f->cur.len);
        memset(&f->cur, 0, sizeof f->cur);
    } else {
        pt->data = fr__str("", 0);
    }
    f->in_part = 0;
    f->n++;
    return 0;
}

static int fr__form_event(fr_mp *p, int ev, fr_str data, void *ud) {
    fr_form *f = (fr_form *)ud;
    switch (ev) {
    case FR_MP_EV_PART: return fr__form_part_begin(f, &p->part);
    case FR_MP_EV_DATA: return fr__form_data(f, data);
    case FR_MP_EV_PART_END: return fr__form_part_end(f, p->part.size);
    default: return 0;
    }
}

fr_form *fr_form_new(fr_str boundary, const fr_mp_limits *lim, uint64_t spool) {
    fr_form *f = (fr_form *)FR_MALLOC(sizeof *f);
    if (!f) return NULL;
    memset((char *)f + offsetof(fr_form, lim), 0, sizeof *f - offsetof(fr_form, lim)); /* mp: fr_mp_init */
    if (lim) f->lim = *lim;
    f->spool = spool ? spool : (uint64_t)FR_MULTIPART_SPOOL_BYTES;
    f->cur_fd = -1;
    fr_arena_init(&f->arena, NULL);
    if (fr_mp_init(&f->mp, boundary, lim, fr__form_event, f) < 0) f->err = f->mp.err.code;
    return f;
}

long fr_form_feed(fr_form *f, const char *buf, size_t len) {
    long n;
    if (!f || f->err || f->finished) return -1;
    n = fr_mp_feed(&f->mp, buf, len);
    if (n < 0 && !f->err) f->err = f->mp.err.code;
    return n < 0 ? -1 : n;
}

/* Drop what an unfinished part holds. */
static void fr__form_drop_cur(fr_form *f) {
    if (f->cur_fd >= 0) close(f->cur_fd);
    f->cur_fd = -1;
    fr_buf_free(&f->cur);
    f->in_part = 0;
}

int fr_form_finish(fr_form *f) {
    size_t i;
    if (!f) return -1;
    if (!f->finished) {
        f->finished = 1;
        if (!f->err && fr_mp_finish(&f->mp) < 0) f->err = f->mp.err.code;
        fr__form_drop_cur(f);
        for (i = 0; i < f->n; i++)
            if (f->parts[i].fd >= 0) (void)lseek(f->parts[i].fd, 0, SEEK_SET);
    }
    return f->err ? -1 : 0;
}

int fr_form_error(const fr_form *f) { return f ? f->err : FR_MP_ERR_IO; }
int fr_form_errno(const fr_form *f) { return f ? f->err_no : 0; }

size_t fr_form_error_text(const fr_form *f, char *out, size_t cap) {
    return fr_mp_error_text(f ? f->err : FR_MP_ERR_IO, f ? &f->lim : NULL, out, cap);
}

size_t fr_form_count(const fr_form *f) { return f ? f->n : 0; }

const fr_form_part *fr_form_part_at(const fr_form *f, size_t i) {
    return f && i < f->n ? &f->parts[i] : NULL;
}

long fr_form_part_read(const fr_form_part *p, uint64_t off, void *buf, size_t len) {
    if (!p || (!buf && len)) return -1;
    if (off >= p->size || !len) return 0;
    len = (size_t)FR__MIN((uint64_t)len, p->size - off);
    if (len > (size_t)LONG_MAX) len = (size_t)LONG_MAX;
    if (p->fd < 0) {
        memcpy(buf, p->data.buf + off, len);
        return (long)len;
    }
#if defined(_WIN32)
    return -1;
#else
    for (;;) {
        ssize_t n = pread(p->fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -1 : (long)n;
    }
#endif
}

int fr_form_part_copy_fd(const fr_form_part *p, int fd) {
    char buf[65536];
    uint64_t off = 0;
    if (!p || fd < 0) return -1;
    if (p->fd < 0) return fr__write_all(fd, p->data.buf, (size_t)p->size);
    while (off < p->size) {
        long n = fr_form_part_read(p, off, buf, sizeof buf);
        if (n <= 0) return -1;
        if (fr__write_all(fd, buf, (size_t)n) < 0) return -1;
        off += (uint64_t)n;
    }
    return 0;
}

void fr_form_free(fr_form *f) {
    size_t i;
    if (!f) return;
    fr__form_drop_cur(f);
    for (i = 0; i < f->n; i++) {
        if (f->parts[i].fd >= 0) close(f->parts[i].fd);
        else if (f->parts[i].data.len) FR_FREE((void *)(uintptr_t)f->parts[i].data.buf);
    }
    FR_FREE(f->parts);
    fr_arena_free(&f->arena);
    FR_FREE(f);
}
