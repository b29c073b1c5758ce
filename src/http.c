/* ---- http.c: HTTP/1.1 request parser, chunked decoder, response writer ----
 *
 * The request parser is stateless and single pass (picohttpparser's shape):
 * the caller re-calls it with the grown buffer until it stops returning -2.
 * Every byte is classified through one 256-entry table; long runs (targets,
 * header values) are checked 16 bytes at a time with SSE2 where available.
 * Nothing is allocated and no output is NUL-terminated.
 *
 * Behaviour choices (RFC 9112 leaves room; these are deliberate):
 *  - Request head: the request line and every header line end in CRLF
 *    (llhttp's strict mode, not RFC 9112 2.2's MAY): a bare LF, also a
 *    missing CR between two header lines, or a CR not followed by LF is a
 *    400. Leading empty lines before the request line (CRLF or LF) are
 *    skipped (2.2 SHOULD) and count toward the head length.
 *  - Chunked framing is strict: every line end must be CRLF (bare LF is a
 *    400), since lenient chunk parsing is a known smuggling vector.
 *  - Transfer-Encoding: the only accepted coding list is exactly one
 *    "chunked" (case-insensitive, empty list elements ignored, several TE
 *    fields concatenated). Final coding not chunked, or chunked twice: 400.
 *    Another coding before chunked (e.g. "gzip, chunked"): 501, because we
 *    do not decode it. TE in an HTTP/1.0 request: 400 (RFC 9112 6.1).
 *  - Content-Length must be 1*DIGIT <= INT64_MAX; a comma list or repeated
 *    fields are accepted only when every value is identical.
 *  - Absolute-form targets: only http:// and https:// (case-insensitive),
 *    non-empty authority without userinfo; req->host is then the target's
 *    authority (RFC 9112 3.2.2), a Host field is still required in 1.1.
 *    "http://h" and "http://h?q" give path "/" (a view of the scheme's
 *    second slash, so every output stays inside the caller's buffer).
 *  - Asterisk-form only with OPTIONS; authority-form (CONNECT) is a 400.
 *  - A '#' fragment in the target is excluded from path and query.
 *  - Host values must be uri-host[:port] characters; empty Host is legal.
 *  - Expect: 100-continue is honoured only for HTTP/1.1 (RFC 9110 10.1.1).
 *  - Connection: close beats keep-alive when both are listed.
 */
#include "internal.h"
#include <time.h>

#if defined(__SSE2__) && defined(__GNUC__)
#include <emmintrin.h>
#define FR__HTTP_SSE2 1
#else
#define FR__HTTP_SSE2 0
#endif

/* ------------------------------------------------------------------------ */
/* character classes                                                         */

#define FR__HTTP_CC_TCHAR 1u  /* token: ALPHA DIGIT !#$%&'*+-.^_`|~ */
#define FR__HTTP_CC_TARGET 2u /* request-target: 0x21..0x7E */
#define FR__HTTP_CC_VALUE 4u  /* field value: HTAB, 0x20..0x7E, obs-text 0x80..0xFF */
#define FR__HTTP_CC_HOST 8u   /* uri-host[:port]: unreserved sub-delims : [ ] % */
#define FR__HTTP_CC_HEX 16u   /* hex digit (unused by the hot paths) */

static const unsigned char fr__http_cc[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  4,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    4,  15, 6,  7,  15, 15, 15, 15, 14, 14, 15, 15, 14, 15, 15, 6,
    31, 31, 31, 31, 31, 31, 31, 31, 31, 31, 14, 14, 6,  14, 6,  6,
    6,  31, 31, 31, 31, 31, 31, 15, 15, 15, 15, 15, 15, 15, 15, 15,
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 14, 6,  14, 7,  15,
    7,  31, 31, 31, 31, 31, 31, 15, 15, 15, 15, 15, 15, 15, 15, 15,
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 6,  7,  6,  15, 0,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
    4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,  4,
};

#define FR__HTTP_IS(c, cls) (fr__http_cc[(unsigned char)(c)] & (cls))


/* First byte in [p, end) that may not appear in a field value. */
static const char *fr__http_scan_value(const char *p, const char *end) {
#if FR__HTTP_SSE2
    const __m128i c20 = _mm_set1_epi8(0x20), c7f = _mm_set1_epi8(0x7f);
    const __m128i zero = _mm_setzero_si128();
    while (end - p >= 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed compare: b < 0x20 holds for CTLs and for obs-text (negative) */
        __m128i ctl = _mm_andnot_si128(_mm_cmplt_epi8(b, zero), _mm_cmplt_epi8(b, c20));
        int m = _mm_movemask_epi8(_mm_or_si128(ctl, _mm_cmpeq_epi8(b, c7f)));
        if (FR__LIKELY(m == 0)) {
            p += 16;
            continue;
        }
        p += __builtin_ctz((unsigned)m);
        if (*p != '\t') return p;
        p++;
    }
#endif
    while (p < end && FR__HTTP_IS(*p, FR__HTTP_CC_VALUE)) p++;
    return p;
}

/* First byte in [p, end) that is not a token character. */
static const char *fr__http_scan_token(const char *p, const char *end) {
    while (end - p >= 8) {
        if (!FR__HTTP_IS(p[0], FR__HTTP_CC_TCHAR)) return p;
        if (!FR__HTTP_IS(p[1], FR__HTTP_CC_TCHAR)) return p + 1;
        if (!FR__HTTP_IS(p[2], FR__HTTP_CC_TCHAR)) return p + 2;
        if (!FR__HTTP_IS(p[3], FR__HTTP_CC_TCHAR)) return p + 3;
        if (!FR__HTTP_IS(p[4], FR__HTTP_CC_TCHAR)) return p + 4;
        if (!FR__HTTP_IS(p[5], FR__HTTP_CC_TCHAR)) return p + 5;
        if (!FR__HTTP_IS(p[6], FR__HTTP_CC_TCHAR)) return p + 6;
        if (!FR__HTTP_IS(p[7], FR__HTTP_CC_TCHAR)) return p + 7;
        p += 8;
    }
    while (p < end && FR__HTTP_IS(*p, FR__HTTP_CC_TCHAR)) p++;
    return p;
}

/* First byte in [p, end) that may not appear in a request-target. */
static const char *fr__http_scan_target(const char *p, const char *end) {
#if FR__HTTP_SSE2
    const __m128i c21 = _mm_set1_epi8(0x21), c7f = _mm_set1_epi8(0x7f);
    while (end - p >= 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed: b < 0x21 covers CTL, SP and every byte >= 0x80 */
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmplt_epi8(b, c21), _mm_cmpeq_epi8(b, c7f)));
        if (FR__LIKELY(m == 0)) {
            p += 16;
            continue;
        }
        return p + __builtin_ctz((unsigned)m);
    }
#endif
    while (p < end && FR__HTTP_IS(*p, FR__HTTP_CC_TARGET)) p++;
    return p;
}

static int fr__http_ieq(const char *a, const char *lower, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (fr__tolower((unsigned char)a[i]) != lower[i]) return 0;
    return 1;
}

#define FR__HTTP_IEQ_LIT(p, n, lit) ((n) == sizeof(lit) - 1 && fr__http_ieq((p), (lit), sizeof(lit) - 1))

/* Next element of a comma-separated list in [*pp, end), OWS-trimmed; empty
 * elements are returned with len 0. Returns 0 once the list is exhausted
 * (*pp is then NULL). */
FR__PRIV int fr__http_list_next(const char **pp, const char *end, const char **elem, size_t *elen) {
    const char *p = *pp, *s, *e;
    if (!p) return 0;
    s = p;
    while (p < end && *p != ',') p++;
    e = p;
    while (s < e && (*s == ' ' || *s == '\t')) s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *elem = s;
    *elen = (size_t)(e - s);
    *pp = p < end ? p + 1 : NULL;
    return 1;
}

/* 1 if a header `name` carries `token` in its comma list, both compared
 * case-insensitively (ws.c's handshake check, fr_req_is_websocket). */
FR__PRIV int fr__hdr_has_token(const fr_header *h, size_t n, const char *name, const char *token) {
    size_t i, el;
    for (i = 0; i < n; i++) {
        const char *p = h[i].value.buf, *e;
        if (!fr_str_ieq_c(h[i].name, name)) continue;
        while (fr__http_list_next(&p, h[i].value.buf + h[i].value.len, &e, &el)) {
            fr_str item;
            item.buf = e;
            item.len = el;
            if (fr_str_ieq_c(item, token)) return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* request parser                                                            */

/* What the header loop learns about framing and connection semantics. */
typedef struct fr__http_sem {
    uint64_t cl;
    int cl_seen, te_seen, te_chunked_count, te_last_chunked, te_other;
    int host_count, conn_close, conn_keep_alive, conn_upgrade, upgrade_hdr, expect_100;
    const char *err_msg;
} fr__http_sem;

/* Returns 0 or an HTTP status with s->err_msg set. */
static int fr__http_header_sem(fr__http_sem *s, const char *n, size_t nl, const char *v, size_t vl,
                               fr_http_req *req) {
    const char *p = v, *end = v + vl, *e;
    size_t el;
    switch (nl) {
    case 4:
        if (fr__http_ieq(n, "host", 4)) {
            size_t i;
            if (++s->host_count > 1) {
                s->err_msg = "more than one Host header";
                return 400;
            }
            for (i = 0; i < vl; i++)
                if (!FR__HTTP_IS(v[i], FR__HTTP_CC_HOST)) {
                    s->err_msg = "invalid Host header";
                    return 400;
                }
            req->host.buf = v;
            req->host.len = vl;
        }
        break;
    case 6:
        if (fr__http_ieq(n, "expect", 6) && FR__HTTP_IEQ_LIT(v, vl, "100-continue")) s->expect_100 = 1;
        break;
    case 7:
        if (vl && fr__http_ieq(n, "upgrade", 7)) s->upgrade_hdr = 1;
        break;
    case 10:
        if (fr__http_ieq(n, "connection", 10)) {
            while (fr__http_list_next(&p, end, &e, &el)) {
                if (FR__HTTP_IEQ_LIT(e, el, "close")) s->conn_close = 1;
                else if (FR__HTTP_IEQ_LIT(e, el, "keep-alive")) s->conn_keep_alive = 1;
                else if (FR__HTTP_IEQ_LIT(e, el, "upgrade")) s->conn_upgrade = 1;
            }
        }
        break;
    case 12:
        if (fr__http_ieq(n, "content-type", 12) && !req->content_type.buf) {
            req->content_type.buf = v;
            req->content_type.len = vl;
        }
        break;
    case 14:
        if (fr__http_ieq(n, "content-length", 14)) {
            while (fr__http_list_next(&p, end, &e, &el)) {
                uint64_t x = 0;
                size_t i;
                if (el == 0) {
                    s->err_msg = "invalid Content-Length";
                    return 400;
                }
                for (i = 0; i < el; i++) {
                    unsigned d = (unsigned)(unsigned char)e[i] - '0';
                    if (d > 9) {
                        s->err_msg = "invalid Content-Length";
                        return 400;
                    }
                    if (x > ((uint64_t)INT64_MAX - d) / 10) {
                        s->err_msg = "Content-Length too large";
                        return 400;
                    }
                    x = x * 10 + d;
                }
                if (s->cl_seen && x != s->cl) {
                    s->err_msg = "conflicting Content-Length values";
                    return 400;
                }
                s->cl = x;
                s->cl_seen = 1;
            }
        }
        break;
    case 17:
        if (fr__http_ieq(n, "transfer-encoding", 17)) {
            s->te_seen = 1;
            while (fr__http_list_next(&p, end, &e, &el)) {
                if (el == 0) continue; /* RFC 9110 5.6.1: ignore empty elements */
                if (FR__HTTP_IEQ_LIT(e, el, "chunked")) {
                    s->te_chunked_count++;
                    s->te_last_chunked = 1;
                } else {
                    if (!s->te_chunked_count) s->te_other = 1;
                    s->te_last_chunked = 0;
                }
            }
        }
        break;
    default:
        break;
    }
    return 0;
}

/* Split an already validated target into path and query. 0 or 400. */
static int fr__http_split_target(fr_http_req *req, const char **msg) {
    const char *t = req->target.buf, *end = t + req->target.len, *ps, *pe, *q, *h;
    const char *slash = NULL; /* stands in for an empty absolute-form path */
    if (t[0] == '/') {
        ps = t;
    } else if (req->target.len == 1 && t[0] == '*') {
        if (req->method.len != 7 || memcmp(req->method.buf, "OPTIONS", 7) != 0) {
            *msg = "asterisk-form target is only allowed with OPTIONS";
            return 400;
        }
        req->path = req->target;
        return 0;
    } else {
        /* absolute-form: http[s]://authority[/path][?query] */
        size_t tl = req->target.len;
        if (tl >= 7 && fr__http_ieq(t, "http://", 7)) ps = t + 7;
        else if (tl >= 8 && fr__http_ieq(t, "https://", 8)) ps = t + 8;
        else {
            *msg = "invalid request target";
            return 400;
        }
        slash = ps - 1;
        req->host.buf = ps;
        while (ps < end && *ps != '/' && *ps != '?' && *ps != '#') {
            if (!FR__HTTP_IS(*ps, FR__HTTP_CC_HOST)) {
                *msg = "invalid authority in request target";
                return 400;
            }
            ps++;
        }
        req->host.len = (size_t)(ps - req->host.buf);
        if (req->host.len == 0) {
            *msg = "empty authority in request target";
            return 400;
        }
    }
    q = (const char *)memchr(ps, '?', (size_t)(end - ps));
    h = (const char *)memchr(ps, '#', (size_t)((q ? q : end) - ps));
    pe = h ? h : q ? q : end;
    if (pe == ps && slash) {
        /* "http://host" or "http://host?q": path "/" (the scheme's 2nd slash) */
        req->path.buf = slash;
        req->path.len = 1;
    } else {
        req->path.buf = ps;
        req->path.len = (size_t)(pe - ps);
    }
    if (q && !h) {
        h = (const char *)memchr(q + 1, '#', (size_t)(end - (q + 1)));
        req->query.buf = q + 1;
        req->query.len = (size_t)((h ? h : end) - (q + 1));
    }
    return 0;
}

#define FR__HTTP_FAIL(status, message, at)       \
    do {                                         \
        err->code = (status);                    \
        err->msg = (message);                    \
        err->pos = (size_t)((at) - buf);         \
        return -1;                               \
    } while (0)

/* Consume a line end at p: CRLF, or a bare LF where `lf_ok` (only the empty
 * lines before the request line, RFC 9112 2.2; request and header lines are
 * CRLF-only, llhttp's strict mode). Sets p past it; jumps to `incomplete`
 * when the buffer ends inside it; a CR not followed by LF is a 400. */
#define FR__HTTP_EOL(what, lf_ok)                                              \
    do {                                                                       \
        if (*p == '\r') {                                                      \
            if (p + 1 == end) goto incomplete;                                 \
            if (p[1] != '\n') FR__HTTP_FAIL(400, "CR not followed by LF", p);  \
            p += 2;                                                            \
        } else if (*p == '\n' && (lf_ok)) {                                    \
            p++;                                                               \
        } else if (*p == '\n') {                                               \
            FR__HTTP_FAIL(400, "line ended by a bare LF", p);                  \
        } else {                                                               \
            FR__HTTP_FAIL(400, what, p);                                       \
        }                                                                      \
    } while (0)
#define FR__HTTP_CRLF(what) FR__HTTP_EOL(what, 0)

int fr_http_parse_request(const char *buf, size_t len, fr_http_req *req, fr_header *headers,
                          size_t max_headers, const fr_http_limits *lim, fr_err *err) {
    fr_err dummy;
    fr__http_sem sem;
    size_t mhb = FR_MAX_HEADER_BYTES, mh = FR_MAX_HEADERS, mu = FR_MAX_URI_BYTES, nh = 0;
    const char *p, *end, *tok;
    int status;

    if (!err) err = &dummy;
    err->code = 0;
    err->msg = NULL;
    err->pos = 0;
    if (!req || (!buf && len)) {
        err->code = 400;
        err->msg = "invalid arguments";
        return -1;
    }
    memset(req, 0, sizeof *req);
    req->headers = headers;
    if (!buf) return -2;
    if (lim) {
        if (lim->max_header_bytes) mhb = lim->max_header_bytes;
        if (lim->max_headers) mh = lim->max_headers;
        if (lim->max_uri_bytes) mu = lim->max_uri_bytes;
    }
    if (mhb > (size_t)INT_MAX) mhb = (size_t)INT_MAX; /* the head length is returned as int */
    if (!headers) max_headers = 0;
    if (max_headers < mh) mh = max_headers;

    p = buf;
    end = buf + (len < mhb ? len : mhb); /* never look past the head limit */

    /* RFC 9112 2.2: ignore empty lines before the request-line */
    while (p < end && (*p == '\r' || *p == '\n')) FR__HTTP_EOL("", 1);
    if (p == end) goto incomplete;

    /* method */
    tok = p;
    p = fr__http_scan_token(p, end);
    if (p == end) goto incomplete;
    if (*p != ' ' || p == tok) FR__HTTP_FAIL(400, "invalid method", p);
    req->method.buf = tok;
    req->method.len = (size_t)(p - tok);
    p++;

    /* request-target, 414 as soon as it is longer than the limit */
    {
        const char *lend = ((size_t)(end - p) > mu) ? p + mu : end;
        tok = p;
        p = fr__http_scan_target(p, lend);
        if (p == end) goto incomplete;
        if (FR__HTTP_IS(*p, FR__HTTP_CC_TARGET)) FR__HTTP_FAIL(414, "request target too long", p);
        if (*p != ' ' || p == tok) FR__HTTP_FAIL(400, "invalid request target", p);
        req->target.buf = tok;
        req->target.len = (size_t)(p - tok);
        p++;
    }

    /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive */
    if (FR__LIKELY((size_t)(end - p) > 8 && memcmp(p, "HTTP/1.", 7) == 0 &&
                   (p[7] == '1' || p[7] == '0'))) {
        req->minor_version = p[7] - '0';
        p += 8;
        FR__HTTP_CRLF("invalid request line");
    } else {
        static const char pat[8] = {'H', 'T', 'T', 'P', '/', '0', '.', '0'};
        size_t i, avail = (size_t)(end - p);
        for (i = 0; i < 8 && i < avail; i++) {
            int ok = (i == 5 || i == 7) ? (p[i] >= '0' && p[i] <= '9') : p[i] == pat[i];
            if (!ok) FR__HTTP_FAIL(400, "invalid HTTP version", p + i);
        }
        if (avail <= 8) goto incomplete;
        tok = p;
        p += 8;
        FR__HTTP_CRLF("invalid request line");
        /* well-formed but not 1.0/1.1 */
        FR__HTTP_FAIL(505, "HTTP version not supported", tok);
    }

    /* header fields */
    memset(&sem, 0, sizeof sem);
    for (;;) {
        const char *name, *val, *vend;
        size_t nl;
        if (p == end) goto incomplete;
        if (*p == '\r' || *p == '\n') {
            FR__HTTP_CRLF("");
            break;
        }
        if (*p == ' ' || *p == '\t') FR__HTTP_FAIL(400, "obsolete line folding", p);
        if (nh == mh) FR__HTTP_FAIL(431, "too many headers", p);
        name = p;
        p = fr__http_scan_token(p, end);
        if (p == end) goto incomplete;
        if (*p != ':') {
            if (*p == ' ' || *p == '\t') FR__HTTP_FAIL(400, "whitespace before header colon", p);
            if (*p == '\r' || *p == '\n') FR__HTTP_FAIL(400, "header line without colon", p);
            FR__HTTP_FAIL(400, "invalid character in header name", p);
        }
        if (p == name) FR__HTTP_FAIL(400, "empty header name", p);
        nl = (size_t)(p - name);
        p++;
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        val = p;
        p = fr__http_scan_value(p, end);
        if (p == end) goto incomplete;
        vend = p;
        FR__HTTP_CRLF("invalid character in header value");
        while (vend > val && (vend[-1] == ' ' || vend[-1] == '\t')) vend--;
        headers[nh].name.buf = name;
        headers[nh].name.len = nl;
        headers[nh].value.buf = val;
        headers[nh].value.len = (size_t)(vend - val);
        nh++;
        if (nl >= 4 && nl <= 17) {
            status = fr__http_header_sem(&sem, name, nl, val, (size_t)(vend - val), req);
            if (status) FR__HTTP_FAIL(status, sem.err_msg, name);
        }
    }
    req->num_headers = nh;

    /* framing and semantics, now that every field is known */
    status = fr__http_split_target(req, &err->msg);
    if (status) FR__HTTP_FAIL(status, err->msg, req->target.buf);
    if (req->minor_version == 1 && sem.host_count == 0)
        FR__HTTP_FAIL(400, "missing Host header", p);
    if (sem.te_seen) {
        if (sem.cl_seen) FR__HTTP_FAIL(400, "Content-Length with Transfer-Encoding", p);
        if (req->minor_version == 0)
            FR__HTTP_FAIL(400, "Transfer-Encoding in an HTTP/1.0 request", p);
        if (!sem.te_last_chunked) FR__HTTP_FAIL(400, "final transfer coding is not chunked", p);
        if (sem.te_chunked_count > 1) FR__HTTP_FAIL(400, "chunked applied more than once", p);
        if (sem.te_other) FR__HTTP_FAIL(501, "unsupported transfer coding", p);
        req->body_kind = FR_BODY_CHUNKED;
    } else if (sem.cl_seen) {
        req->body_kind = FR_BODY_LENGTH;
        req->content_length = sem.cl;
    }
    req->keep_alive = sem.conn_close ? 0 : (req->minor_version == 1 || sem.conn_keep_alive);
    req->expect_continue = sem.expect_100 && req->minor_version == 1;
    req->upgrade = sem.conn_upgrade && sem.upgrade_hdr;
    return (int)(p - buf);

incomplete:
    if (len > mhb) {
        err->code = 431;
        err->msg = "request header too large";
        err->pos = mhb;
        return -1;
    }
    return -2;
}

fr_str fr_http_header(const fr_http_req *req, const char *name) {
    fr_str r = {NULL, 0};
    size_t i, n;
    if (!req || !name || !req->headers) return r;
    n = strlen(name);
    for (i = 0; i < req->num_headers; i++) {
        const fr_header *h = &req->headers[i];
        size_t k;
        if (h->name.len != n) continue;
        for (k = 0; k < n; k++)
            if (fr__tolower((unsigned char)h->name.buf[k]) != fr__tolower((unsigned char)name[k])) break;
        if (k == n) return h->value;
    }
    return r;
}

/* ------------------------------------------------------------------------ */
/* chunked decoder                                                           */

enum {
    FR__CH_SIZE = 0,   /* hex digits of the chunk size */
    FR__CH_SIZE_WS,    /* BWS after the size: only ';' may follow */
    FR__CH_EXT,        /* after ';': BWS, then a chunk-ext-name */
    FR__CH_EXT_NAME,   /* in a chunk-ext-name (token) */
    FR__CH_EXT_NAME_WS, /* BWS after a name: '=' or ';' follows */
    FR__CH_EXT_EQ,     /* after '=': BWS, then a token or a quoted-string */
    FR__CH_EXT_TOKEN,  /* in a token chunk-ext-val */
    FR__CH_EXT_QUOTED, /* in a quoted-string chunk-ext-val */
    FR__CH_EXT_QPAIR,  /* after '\\' in a quoted-string */
    FR__CH_EXT_QEND,   /* right after the closing quote: ';', BWS or CR */
    FR__CH_EXT_VAL_WS, /* BWS after a value: only ';' may follow */
    FR__CH_SIZE_LF,    /* LF ending the size line */
    FR__CH_DATA,       /* chunk data */
    FR__CH_DATA_CR,    /* CR after chunk data */
    FR__CH_DATA_LF,    /* LF after chunk data */
    FR__CH_TRAILER0,   /* start of a trailer line (or the final CRLF) */
    FR__CH_TRAILER,    /* inside a trailer line */
    FR__CH_TRAILER_LF, /* LF ending a trailer line */
    FR__CH_END_LF,     /* LF of the final empty line */
    FR__CH_DONE,
    FR__CH_ERROR
};

long fr_http_decode_chunked(fr_chunked *d, char *buf, size_t *len, uint64_t max_body, fr_err *err) {
    fr_err dummy;
    size_t src = 0, dst = 0, n;
    const char *msg = NULL;
    int code = 400;

    if (!err) err = &dummy;
    err->code = 0;
    err->msg = NULL;
    err->pos = 0;
    if (!d || !len || (!buf && *len)) {
        err->code = 400;
        err->msg = "invalid arguments";
        return -1;
    }
    if (!max_body) max_body = FR_MAX_BODY_BYTES;
    n = *len;
    if (d->state == FR__CH_ERROR) {
        *len = 0;
        err->code = 400;
        err->msg = "chunked decoder already failed";
        return -1;
    }
    if (d->state == FR__CH_DONE) {
        *len = 0;
        return (long)n;
    }

    while (src < n) {
        int c;
        if (d->state == FR__CH_DATA) {
            size_t take = n - src;
            if ((uint64_t)take > d->remaining) take = (size_t)d->remaining;
            if (dst != src) memmove(buf + dst, buf + src, take);
            dst += take;
            src += take;
            d->remaining -= take;
            d->total += take;
            if (d->remaining == 0) d->state = FR__CH_DATA_CR;
            continue;
        }
        c = (unsigned char)buf[src];
        switch (d->state) {
        case FR__CH_SIZE: {
            int v = fr__hexval(c);
            if (v >= 0) {
                if (d->hex_digits >= 16) {
                    msg = "chunk size too long";
                    goto fail;
                }
                d->remaining = (d->remaining << 4) | (uint64_t)v;
                d->hex_digits++;
                break;
            }
            if (d->hex_digits == 0) {
                msg = "invalid chunk size";
                goto fail;
            }
            if (c == '\r') d->state = FR__CH_SIZE_LF;
            else if (c == ';') d->state = FR__CH_EXT;
            else if (c == ' ' || c == '\t') d->state = FR__CH_SIZE_WS;
            else {
                msg = "invalid chunk size";
                goto fail;
            }
            break;
        }
        case FR__CH_SIZE_WS:
            if (c == ';') d->state = FR__CH_EXT;
            else if (c != ' ' && c != '\t') {
                msg = "invalid chunk size line";
                goto fail;
            }
            break;
        /* chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
         * (RFC 9112 7.1.1); chunk-ext-val = token / quoted-string. A bare
         * ';', an empty name or value and an unbalanced quote are 400. */
        case FR__CH_EXT:
            if (FR__HTTP_IS(c, FR__HTTP_CC_TCHAR)) d->state = FR__CH_EXT_NAME;
            else if (c != ' ' && c != '\t') {
                msg = "invalid chunk extension";
                goto fail;
            }
            break;
        case FR__CH_EXT_NAME:
        case FR__CH_EXT_TOKEN:
            if (FR__HTTP_IS(c, FR__HTTP_CC_TCHAR)) break;
            if (c == '\r') d->state = FR__CH_SIZE_LF;
            else if (c == ';') d->state = FR__CH_EXT;
            else if (c == '=' && d->state == FR__CH_EXT_NAME) d->state = FR__CH_EXT_EQ;
            else if (c == ' ' || c == '\t')
                d->state = d->state == FR__CH_EXT_NAME ? FR__CH_EXT_NAME_WS : FR__CH_EXT_VAL_WS;
            else {
                msg = "invalid chunk extension";
                goto fail;
            }
            break;
        case FR__CH_EXT_NAME_WS:
        case FR__CH_EXT_VAL_WS:
            if (c == ';') d->state = FR__CH_EXT;
            else if (c == '=' && d->state == FR__CH_EXT_NAME_WS) d->state = FR__CH_EXT_EQ;
            else if (c != ' ' && c != '\t') {
                msg = "invalid chunk extension";
                goto fail;
            }
            break;
        case FR__CH_EXT_EQ:
            if (c == '"') d->state = FR__CH_EXT_QUOTED;
            else if (FR__HTTP_IS(c, FR__HTTP_CC_TCHAR)) d->state = FR__CH_EXT_TOKEN;
            else if (c != ' ' && c != '\t') {
                msg = "invalid chunk extension";
                goto fail;
            }
            break;
        case FR__CH_EXT_QUOTED: /* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
            if (c == '"') d->state = FR__CH_EXT_QEND;
            else if (c == '\\') d->state = FR__CH_EXT_QPAIR;
            else if (!FR__HTTP_IS(c, FR__HTTP_CC_VALUE)) {
                msg = "unbalanced quote in chunk extension";
                goto fail;
            }
            break;
        case FR__CH_EXT_QPAIR: /* quoted-pair = "\\" ( HTAB / SP / VCHAR / obs-text ) */
            if (!FR__HTTP_IS(c, FR__HTTP_CC_VALUE)) {
                msg = "unbalanced quote in chunk extension";
                goto fail;
            }
            d->state = FR__CH_EXT_QUOTED;
            break;
        case FR__CH_EXT_QEND:
            if (c == '\r') d->state = FR__CH_SIZE_LF;
            else if (c == ';') d->state = FR__CH_EXT;
            else if (c == ' ' || c == '\t') d->state = FR__CH_EXT_VAL_WS;
            else {
                msg = "invalid chunk extension";
                goto fail;
            }
            break;
        case FR__CH_SIZE_LF:
            if (c != '\n') {
                msg = "chunk size line not ended by CRLF";
                goto fail;
            }
            d->line_bytes = 0;
            d->hex_digits = 0;
            if (d->remaining == 0) {
                d->state = FR__CH_TRAILER0; /* last-chunk */
            } else if (d->remaining > max_body || d->total > max_body - d->remaining) {
                code = 413;
                msg = "request body too large";
                goto fail;
            } else {
                d->state = FR__CH_DATA;
            }
            src++;
            continue;
        case FR__CH_DATA_CR:
            if (c != '\r') {
                msg = "chunk data not followed by CRLF";
                goto fail;
            }
            d->state = FR__CH_DATA_LF;
            break;
        case FR__CH_DATA_LF:
            if (c != '\n') {
                msg = "chunk data not followed by CRLF";
                goto fail;
            }
            d->state = FR__CH_SIZE;
            d->line_bytes = 0;
            d->hex_digits = 0;
            src++;
            continue;
        case FR__CH_TRAILER0:
            /* hex_digits counts trailer lines from here on */
            if (c == '\r') {
                d->state = FR__CH_END_LF;
                break;
            }
            if (!FR__HTTP_IS(c, FR__HTTP_CC_TCHAR)) {
                msg = "invalid trailer field";
                goto fail;
            }
            if (++d->hex_digits > FR_MAX_TRAILERS) {
                msg = "too many trailer fields";
                goto fail;
            }
            d->state = FR__CH_TRAILER;
            break;
        case FR__CH_TRAILER:
            if (c == '\r') d->state = FR__CH_TRAILER_LF;
            else if (!FR__HTTP_IS(c, FR__HTTP_CC_VALUE)) {
                msg = "invalid trailer field";
                goto fail;
            }
            break;
        case FR__CH_TRAILER_LF:
            if (c != '\n') {
                msg = "trailer line not ended by CRLF";
                goto fail;
            }
            d->state = FR__CH_TRAILER0;
            d->line_bytes = 0;
            src++;
            continue;
        case FR__CH_END_LF:
            if (c != '\n') {
                msg = "chunked body not ended by CRLF";
                goto fail;
            }
            src++;
            d->state = FR__CH_DONE;
            if (dst != src && src < n) memmove(buf + dst, buf + src, n - src);
            *len = dst;
            return (long)(n - src);
        default:
            msg = "invalid chunked decoder state";
            goto fail;
        }
        /* a byte of a size, extension or trailer line */
        if (++d->line_bytes > FR_MAX_CHUNK_LINE_BYTES) {
            msg = d->state >= FR__CH_TRAILER0 ? "trailer line too long" : "chunk size line too long";
            goto fail;
        }
        src++;
    }
    *len = dst;
    return -2;

fail:
    d->state = FR__CH_ERROR;
    *len = dst;
    err->code = code;
    err->msg = msg;
    err->pos = src;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* reason phrases (Python 3.11 http.HTTPStatus, as uvicorn writes them)      */

const char *fr_http_reason(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a Teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return "";
    }
}

/* ------------------------------------------------------------------------ */
/* date                                                                      */

/* IMF-fixdate for a Unix time, computed without gmtime/strftime (no locale,
 * no libc lock). Howard Hinnant's days-to-civil algorithm. */
FR__PRIV void fr__http_imf_fixdate(int64_t t, char out[30]) {
    static const char wd[7][3] = {{'T', 'h', 'u'}, {'F', 'r', 'i'}, {'S', 'a', 't'}, {'S', 'u', 'n'},
                                  {'M', 'o', 'n'}, {'T', 'u', 'e'}, {'W', 'e', 'd'}};
    static const char mn[12][3] = {{'J', 'a', 'n'}, {'F', 'e', 'b'}, {'M', 'a', 'r'}, {'A', 'p', 'r'},
                                   {'M', 'a', 'y'}, {'J', 'u', 'n'}, {'J', 'u', 'l'}, {'A', 'u', 'g'},
                                   {'S', 'e', 'p'}, {'O', 'c', 't'}, {'N', 'o', 'v'}, {'D', 'e', 'c'}};
    int64_t days = t / 86400, secs = t % 86400, z, era, doe, yoe, y, doy, mp, dd, mm, w;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    w = days % 7;
    if (w < 0) w += 7;
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    dd = doy - (153 * mp + 2) / 5 + 1;
    mm = mp < 10 ? mp + 3 : mp - 9;
    if (mm <= 2) y++;
    if (y < 0) y = 0;
    if (y > 9999) y = 9999;
    memcpy(out, wd[w], 3);
    out[3] = ',';
    out[4] = ' ';
    out[5] = (char)('0' + dd / 10);
    out[6] = (char)('0' + dd % 10);
    out[7] = ' ';
    memcpy(out + 8, mn[mm - 1], 3);
    out[11] = ' ';
    out[12] = (char)('0' + y / 1000);
    out[13] = (char)('0' + y / 100 % 10);
    out[14] = (char)('0' + y / 10 % 10);
    out[15] = (char)('0' + y % 10);
    out[16] = ' ';
    out[17] = (char)('0' + secs / 36000);
    out[18] = (char)('0' + secs / 3600 % 10);
    out[19] = ':';
    out[20] = (char)('0' + secs / 60 % 60 / 10);
    out[21] = (char)('0' + secs / 60 % 10);
    out[22] = ':';
    out[23] = (char)('0' + secs % 60 / 10);
    out[24] = (char)('0' + secs % 10);
    memcpy(out + 25, " GMT", 5); /* with the NUL */
}

void fr_http_date(char out[30]) {
    /* per-thread cache: no sharing, so no lock and no data race */
    static FR__THREAD_LOCAL int64_t cached_sec = INT64_MIN;
    static FR__THREAD_LOCAL char cached[30];
    int64_t now = (int64_t)time(NULL);
    if (!out) return;
    if (now != cached_sec) {
        fr__http_imf_fixdate(now, cached);
        cached_sec = now;
    }
    memcpy(out, cached, 30);
}

/* ------------------------------------------------------------------------ */
/* response writer                                                           */

/* 1 if s[0..n) contains CR, LF or NUL (response splitting). */
static int fr__http_has_crlf_nul(const char *s, size_t n) {
    size_t i = 0;
#if FR__HTTP_SSE2
    const __m128i cr = _mm_set1_epi8('\r');
    for (; i + 16 <= n; i += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        /* candidates: bytes <= 0x0D (unsigned); exact check only then */
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(b, cr), b))) break;
    }
#endif
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= '\r' && (c == '\r' || c == '\n' || c == 0)) return 1;
    }
    return 0;
}

static size_t fr__http_u64_dec(char *out, uint64_t v) {
    char tmp[20];
    size_t n = 0, i;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

#define FR__HTTP_PUT(s, n)         \
    do {                      \
        memcpy(w, (s), (n));  \
        w += (n);             \
    } while (0)
#define FR__HTTP_PUT_LIT(lit) FR__HTTP_PUT(lit, sizeof(lit) - 1)

int fr_http_write_head(fr_buf *out, const fr_http_res_head *h) {
    const char *reason;
    size_t rlen, need, i;
    char date[30], cl[20], *w;
    size_t cl_len = 0;
    int chunked, close_delimited, no_body;
    if (!out || !h || h->status < 100 || h->status > 999) return -1;
    if (h->num_headers && !h->headers) return -1;
    if (h->server.len && (!h->server.buf || fr__http_has_crlf_nul(h->server.buf, h->server.len))) return -1;
    reason = fr_http_reason(h->status);
    rlen = strlen(reason);
    /* An HTTP/1.0 client cannot read chunked framing: the body is then
     * delimited by closing the connection instead. */
    chunked = h->content_length < 0 && h->minor_version != 0;
    close_delimited = h->content_length < 0 && h->minor_version == 0;
    /* RFC 9110 8.6/6.4.1: 1xx and 204 carry no content and no framing */
    no_body = h->status < 200 || h->status == 204;
    if (no_body) chunked = close_delimited = 0;

    need = sizeof("HTTP/1.1 200 \r\n") - 1 + rlen;
    if (!h->no_date) need += sizeof("date: \r\n") - 1 + 29;
    if (h->server.len) need += sizeof("server: \r\n") - 1 + h->server.len;
    for (i = 0; i < h->num_headers; i++) {
        const fr_header *x = &h->headers[i];
        if (!x->name.len || !x->name.buf || (x->value.len && !x->value.buf)) return -1;
        if (fr__http_has_crlf_nul(x->name.buf, x->name.len) || fr__http_has_crlf_nul(x->value.buf, x->value.len))
            return -1;
        if (x->name.len > SIZE_MAX / 4 || x->value.len > SIZE_MAX / 4) return -1;
        need += x->name.len + x->value.len + 4;
        if (need > SIZE_MAX / 2) return -1;
    }
    if (h->content_length >= 0 && !no_body) {
        cl_len = fr__http_u64_dec(cl, (uint64_t)h->content_length);
        need += sizeof("content-length: \r\n") - 1 + cl_len;
    } else if (chunked) {
        need += sizeof("transfer-encoding: chunked\r\n") - 1;
    }
    need += sizeof("connection: keep-alive\r\n") - 1 + 2;
    if (fr_buf_reserve(out, need) < 0) return -1;

    w = out->buf + out->len;
    FR__HTTP_PUT_LIT("HTTP/1.");
    *w++ = h->minor_version == 0 ? '0' : '1';
    *w++ = ' ';
    *w++ = (char)('0' + h->status / 100);
    *w++ = (char)('0' + h->status / 10 % 10);
    *w++ = (char)('0' + h->status % 10);
    *w++ = ' ';
    FR__HTTP_PUT(reason, rlen);
    FR__HTTP_PUT_LIT("\r\n");
    if (!h->no_date) {
        fr_http_date(date);
        FR__HTTP_PUT_LIT("date: ");
        FR__HTTP_PUT(date, 29);
        FR__HTTP_PUT_LIT("\r\n");
    }
    if (h->server.len) {
        FR__HTTP_PUT_LIT("server: ");
        FR__HTTP_PUT(h->server.buf, h->server.len);
        FR__HTTP_PUT_LIT("\r\n");
    }
    for (i = 0; i < h->num_headers; i++) {
        const fr_header *x = &h->headers[i];
        FR__HTTP_PUT(x->name.buf, x->name.len);
        FR__HTTP_PUT_LIT(": ");
        if (x->value.len) FR__HTTP_PUT(x->value.buf, x->value.len);
        FR__HTTP_PUT_LIT("\r\n");
    }
    if (h->content_length >= 0 && !no_body) {
        FR__HTTP_PUT_LIT("content-length: ");
        FR__HTTP_PUT(cl, cl_len);
        FR__HTTP_PUT_LIT("\r\n");
    } else if (chunked) {
        FR__HTTP_PUT_LIT("transfer-encoding: chunked\r\n");
    }
    if (!h->keep_alive || close_delimited) FR__HTTP_PUT_LIT("connection: close\r\n");
    else if (h->minor_version == 0) FR__HTTP_PUT_LIT("connection: keep-alive\r\n");
    FR__HTTP_PUT_LIT("\r\n");
    out->len = (size_t)(w - out->buf);
    return 0;
}

int fr_http_write_chunk(fr_buf *out, const void *data, size_t len) {
    static const char hex[] = "0123456789abcdef";
    char tmp[16], *w;
    size_t n = 0, i;
    size_t v = len;
    if (!out || (len && !data)) return -1;
    if (len == 0) return fr_buf_append(out, "0\r\n\r\n", 5);
    while (v) {
        tmp[n++] = hex[v & 15];
        v >>= 4;
    }
    if (len > SIZE_MAX - n - 4 || fr_buf_reserve(out, n + len + 4) < 0) return -1;
    w = out->buf + out->len;
    for (i = 0; i < n; i++) *w++ = tmp[n - 1 - i];
    *w++ = '\r';
    *w++ = '\n';
    memcpy(w, data, len);
    w += len;
    *w++ = '\r';
    *w++ = '\n';
    out->len = (size_t)(w - out->buf);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* behind a proxy: uvicorn's ProxyHeadersMiddleware rule                     */

typedef struct fr__ip {
    int v;               /* 4 or 6; 0 = not an address */
    unsigned char a[16]; /* v4: a[0..4) */
    fr_str scope;        /* v6 "%zone" without the '%'; len 0 = none */
} fr__ip;

static fr_str fr__http_trim(fr_str s) {
    while (s.len && fr__py_space((unsigned char)s.buf[0])) {
        s.buf++;
        s.len--;
    }
    while (s.len && fr__py_space((unsigned char)s.buf[s.len - 1])) s.len--;
    return s;
}

/* Dotted quad as Python's ipaddress reads it: 4 decimal octets <= 255,
 * 1-3 digits each, no leading zero. */
static int fr__ip_parse4(const char *p, size_t n, unsigned char out[4]) {
    size_t i = 0;
    int k;
    for (k = 0; k < 4; k++) {
        unsigned v = 0, d = 0;
        if (k) {
            if (i >= n || p[i] != '.') return 0;
            i++;
        }
        while (i < n && p[i] >= '0' && p[i] <= '9' && d < 4) {
            v = v * 10 + (unsigned)(p[i] - '0');
            i++;
            d++;
        }
        if (d == 0 || d > 3 || v > 255 || (d > 1 && p[i - d] == '0')) return 0;
        out[k] = (unsigned char)v;
    }
    return i == n;
}

/* RFC 4291 text form: up to 8 hextets of 1-4 hex digits, one "::" standing
 * for at least one zero hextet, optionally a dotted quad as the last two. */
static int fr__ip_parse6(const char *p, size_t n, unsigned char out[16]) {
    unsigned g[8];
    int ng = 0, gap = -1, k;
    size_t i = 0;
    if (n >= 2 && p[0] == ':' && p[1] == ':') {
        gap = 0;
        i = 2;
    } else if (n && p[0] == ':') {
        return 0;
    }
    while (i < n) {
        size_t s = i;
        unsigned v = 0, d = 0;
        while (i < n && fr__hexval((unsigned char)p[i]) >= 0 && d < 5) {
            v = v * 16 + (unsigned)fr__hexval((unsigned char)p[i]);
            i++;
            d++;
        }
        if (i < n && p[i] == '.') { /* embedded IPv4: the rest of the text */
            unsigned char q[4];
            if (ng > 6 || !fr__ip_parse4(p + s, n - s, q)) return 0;
            g[ng++] = (unsigned)q[0] << 8 | q[1];
            g[ng++] = (unsigned)q[2] << 8 | q[3];
            break;
        }
        if (d == 0 || d > 4 || ng == 8) return 0;
        g[ng++] = v;
        if (i == n) break;
        if (p[i++] != ':' || i == n) return 0; /* a single trailing ':' too */
        if (p[i] == ':') {
            if (gap >= 0) return 0;
            gap = ng;
            i++;
        }
    }
    if (gap < 0 ? ng != 8 : ng > 7) return 0;
    memset(out, 0, 16);
    for (k = 0; k < ng; k++) {
        int at = (gap >= 0 && k >= gap) ? k + (8 - ng) : k;
        out[2 * at] = (unsigned char)(g[k] >> 8);
        out[2 * at + 1] = (unsigned char)g[k];
    }
    return 1;
}

/* Python's ip_address(s): IPv4, else IPv6 with an optional "%scope". */
static int fr__ip_parse(fr_str s, fr__ip *ip) {
    const char *pct;
    size_t n = s.len;
    memset(ip, 0, sizeof *ip);
    if (!s.len) return 0;
    if (fr__ip_parse4(s.buf, s.len, ip->a)) {
        ip->v = 4;
        return 1;
    }
    pct = (const char *)memchr(s.buf, '%', s.len);
    if (pct) {
        n = (size_t)(pct - s.buf);
        ip->scope = fr__str(pct + 1, s.len - n - 1);
        if (!ip->scope.len || memchr(ip->scope.buf, '%', ip->scope.len)) return 0;
    }
    if (!fr__ip_parse6(s.buf, n, ip->a)) return 0;
    ip->v = 6;
    return 1;
}

/* Python's ip_network(s) (strict): "addr", "addr/prefix" or, for IPv4,
 * "addr/netmask" and "addr/hostmask"; host bits set = not a network.
 * 1 with net and its prefix length, else 0. */
static int fr__ip_network(fr_str s, fr__ip *net, int *prefix) {
    const char *slash = (const char *)memchr(s.buf, '/', s.len);
    fr_str a = s, m;
    int bits, k;
    if (!slash) return 0;
    a.len = (size_t)(slash - s.buf);
    m = fr__str(slash + 1, s.len - a.len - 1);
    if (memchr(m.buf, '/', m.len) || !fr__ip_parse(a, net)) return 0;
    bits = net->v == 4 ? 32 : 128;
    if (m.len && m.buf[0] >= '0' && m.buf[0] <= '9') {
        size_t i;
        int v = 0;
        for (i = 0; i < m.len; i++) {
            if (m.buf[i] < '0' || m.buf[i] > '9') break;
            v = v * 10 + (m.buf[i] - '0');
            if (v > bits) break;
        }
        if (i < m.len && net->v == 4) { /* "255.0.0.0" / "0.255.255.255" */
            unsigned char q[4];
            uint32_t x;
            int inv;
            if (!fr__ip_parse4(m.buf, m.len, q)) return 0;
            x = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
            for (inv = 0; inv < 2; inv++, x = ~x) {
                for (v = 0; v < 32 && (x & (0x80000000u >> v)); v++) {}
                if (v == 32 || (x << v) == 0) break;
            }
            if (inv == 2) return 0;
        } else if (i < m.len) {
            return 0;
        }
        *prefix = v;
    } else {
        return 0;
    }
    for (k = *prefix; k < bits; k++)
        if (net->a[k / 8] & (0x80 >> (k % 8))) return 0; /* host bits set */
    return 1;
}

static int fr__ip_in_net(const fr__ip *ip, const fr__ip *net, int prefix) {
    int k;
    if (ip->v != net->v) return 0;
    for (k = 0; k < prefix; k++)
        if ((ip->a[k / 8] ^ net->a[k / 8]) & (0x80 >> (k % 8))) return 0;
    return 1;
}

static int fr__http_is_star(fr_str trusted) { return trusted.len == 1 && trusted.buf[0] == '*'; }

int fr_http_trusts(fr_str trusted, fr_str host) {
    fr__ip ip, t;
    size_t i = 0;
    if (!trusted.buf) return 0;
    if (fr__http_is_star(trusted)) return 1;
    if (!host.len) return 0;
    fr__ip_parse(host, &ip);
    while (i <= trusted.len) {
        const char *c = (const char *)memchr(trusted.buf + i, ',', trusted.len - i);
        size_t e = c ? (size_t)(c - trusted.buf) : trusted.len;
        fr_str item = fr__http_trim(fr__str(trusted.buf + i, e - i));
        int prefix = -1, is_ip;
        i = e + 1;
        if (memchr(item.buf, '/', item.len)) is_ip = fr__ip_network(item, &t, &prefix);
        else is_ip = fr__ip_parse(item, &t);
        if (!is_ip) { /* a literal, compared with a host that is no address */
            if (!ip.v && item.len == host.len && memcmp(item.buf, host.buf, host.len) == 0) return 1;
        } else if (ip.v && prefix >= 0) {
            if (fr__ip_in_net(&ip, &t, prefix)) return 1;
        } else if (ip.v == t.v && memcmp(ip.a, t.a, 16) == 0 && ip.scope.len == t.scope.len &&
                   (!ip.scope.len || memcmp(ip.scope.buf, t.scope.buf, ip.scope.len) == 0)) {
            return 1;
        }
    }
    return 0;
}

/* Python's int(s) for a port: whitespace, a sign, digits with single '_'
 * between them. 1 and *port (0 when out of int range), else 0. */
static int fr__http_port(fr_str s, int *port) {
    size_t i = 0;
    long long v = 0;
    int neg = 0, digits = 0, big = 0;
    s = fr__http_trim(s);
    if (i < s.len && (s.buf[i] == '+' || s.buf[i] == '-')) neg = s.buf[i++] == '-';
    for (; i < s.len; i++) {
        char ch = s.buf[i];
        if (ch == '_' && digits && i + 1 < s.len && s.buf[i + 1] >= '0' && s.buf[i + 1] <= '9') continue;
        if (ch < '0' || ch > '9') return 0;
        digits++;
        if (!big) v = v * 10 + (ch - '0');
        if (v > INT_MAX) big = 1;
    }
    if (!digits) return 0;
    *port = big ? 0 : (int)(neg ? -v : v);
    return 1;
}

/* uvicorn's _parse_host_port: "host", "host:port", "[v6]" or "[v6]:port". */
static fr_str fr__http_host_port(fr_str v, int *port) {
    const char *c;
    *port = 0;
    if (v.len && v.buf[0] == '[') {
        const char *end = (const char *)memchr(v.buf, ']', v.len);
        fr_str host, rest;
        if (!end) return v;
        host = fr__str(v.buf + 1, (size_t)(end - v.buf) - 1);
        rest = fr__str(end + 1, v.len - (size_t)(end - v.buf) - 1);
        if (!rest.len) return host;
        if (rest.buf[0] != ':') return v;
        if (!fr__http_port(fr__str(rest.buf + 1, rest.len - 1), port)) *port = 0;
        return host;
    }
    c = (const char *)memchr(v.buf, ':', v.len);
    if (c && !memchr(c + 1, ':', v.len - (size_t)(c - v.buf) - 1)) {
        size_t hl = (size_t)(c - v.buf);
        if (fr__http_port(fr__str(c + 1, v.len - hl - 1), port)) return fr__str(v.buf, hl);
        *port = 0;
    }
    return v;
}

int fr_http_forwarded(fr_str trusted, fr_str peer, const fr_header *headers, size_t n,
                      fr_forwarded *out) {
    static const char *const protos[] = {"http", "https", "ws", "wss"};
    fr_str proto = {NULL, 0}, first = {NULL, 0}, pick = {NULL, 0};
    size_t i, k;
    int any = 0;
    if (!out) return 0;
    memset(out, 0, sizeof *out);
    if (!trusted.buf || (n && !headers) || !fr_http_trusts(trusted, peer)) return 0;
    for (i = 0; i < n; i++) {
        if (fr_str_ieq_c(headers[i].name, "x-forwarded-proto")) proto = headers[i].value;
        else if (fr_str_ieq_c(headers[i].name, "x-forwarded-for") && !any) {
            const char *c = (const char *)memchr(headers[i].value.buf, ',', headers[i].value.len);
            any = 1;
            first = headers[i].value;
            if (c) first.len = (size_t)(c - first.buf);
        }
    }
    if (proto.buf) {
        proto = fr__http_trim(proto);
        for (k = 0; k < FR__COUNTOF(protos); k++)
            if (proto.len == strlen(protos[k]) && memcmp(proto.buf, protos[k], proto.len) == 0)
                out->scheme = fr_str_c(protos[k]);
    }
    if (!any) return 1;
    pick = first;
    if (!fr__http_is_star(trusted)) { /* the nearest untrusted hop, from the end */
        int found = 0;
        for (i = n; i-- > 0 && !found;) {
            fr_str v = headers[i].value;
            size_t e = v.len;
            if (!fr_str_ieq_c(headers[i].name, "x-forwarded-for")) continue;
            for (;;) {
                size_t s = e;
                int port;
                while (s > 0 && v.buf[s - 1] != ',') s--;
                if (!fr_http_trusts(trusted,
                                    fr__http_host_port(fr__http_trim(fr__str(v.buf + s, e - s)), &port))) {
                    pick = fr__str(v.buf + s, e - s);
                    found = 1;
                    break;
                }
                if (s == 0) break;
                e = s - 1;
            }
        }
    }
    out->client = fr__http_host_port(fr__http_trim(pick), &out->client_port);
    if (!out->client.len) out->client_port = 0;
    return 1;
}
