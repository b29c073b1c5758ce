/* ---- multipart.c: streaming multipart/form-data (RFC 7578) ---- */
#include "internal.h"

#if defined(_WIN32)
#  include <io.h>
#else
#  include <unistd.h>
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

static int fr__mp_write_all(int fd, const char *d, size_t n) {
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
        if (fr__mp_write_all(p->sink_fd, d, n) < 0)
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
