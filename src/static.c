/* ---- static.c: static files as Starlette's StaticFiles / FileResponse ----
 * Every decision mirrors a line of starlette/staticfiles.py or
 * starlette/responses.py (1.10) and fastapi/routing.py's frontend (0.165);
 * the comments name the Python they follow. */
#include "internal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define FR__SAT ((int64_t)1 << 62) /* Python ints saturate here */

/* ------------------------------------------------------------------ */
/* md5 (RFC 1321): only for Starlette's etag, not for security         */
/* ------------------------------------------------------------------ */

typedef struct fr__md5 {
    uint32_t h[4];
    uint64_t n;
    unsigned char buf[64];
} fr__md5;

static const uint32_t fr__md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const unsigned char fr__md5_r[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                            5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                            4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                            6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void fr__md5_block(fr__md5 *c, const unsigned char *p) {
    uint32_t w[16], a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 | (uint32_t)p[i * 4 + 2] << 16 |
               (uint32_t)p[i * 4 + 3] << 24;
    for (i = 0; i < 64; i++) {
        uint32_t f, t;
        int g;
        if (i < 16) { f = (b & cc) | (~b & d); g = i; }
        else if (i < 32) { f = (d & b) | (~d & cc); g = (5 * i + 1) & 15; }
        else if (i < 48) { f = b ^ cc ^ d; g = (3 * i + 5) & 15; }
        else { f = cc ^ (b | ~d); g = (7 * i) & 15; }
        t = d;
        d = cc;
        cc = b;
        f = a + f + fr__md5_k[i] + w[g];
        b = b + ((f << fr__md5_r[i]) | (f >> (32 - fr__md5_r[i])));
        a = t;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
}

static void fr__md5_hex(const void *data, size_t len, char out[33]) {
    static const char hx[] = "0123456789abcdef";
    fr__md5 c;
    const unsigned char *p = (const unsigned char *)data;
    size_t used, i;
    uint64_t bits = (uint64_t)len * 8;
    c.h[0] = 0x67452301;
    c.h[1] = 0xefcdab89;
    c.h[2] = 0x98badcfe;
    c.h[3] = 0x10325476;
    while (len >= 64) {
        fr__md5_block(&c, p);
        p += 64;
        len -= 64;
    }
    memcpy(c.buf, p, len);
    used = len;
    c.buf[used++] = 0x80;
    if (used > 56) {
        memset(c.buf + used, 0, 64 - used);
        fr__md5_block(&c, c.buf);
        used = 0;
    }
    memset(c.buf + used, 0, 56 - used);
    for (i = 0; i < 8; i++) c.buf[56 + i] = (unsigned char)(bits >> (8 * i));
    fr__md5_block(&c, c.buf);
    for (i = 0; i < 16; i++) {
        unsigned v = (c.h[i / 4] >> (8 * (i % 4))) & 0xff;
        out[i * 2] = hx[v >> 4];
        out[i * 2 + 1] = hx[v & 15];
    }
    out[32] = 0;
}

/* ------------------------------------------------------------------ */
/* etag and last-modified (FileResponse.set_stat_headers)              */
/* ------------------------------------------------------------------ */

static double fr__py_mtime(int64_t sec, long nsec) {
    /* CPython's fill_time: PyFloat_FromDouble(sec + nsec * 1e-9) */
    return (double)sec + (double)nsec * 1e-9;
}

void fr_file_etag(int64_t mtime_sec, long mtime_nsec, uint64_t size, char etag[36]) {
    char base[80];
    int n = fr_json_format_double(fr__py_mtime(mtime_sec, mtime_nsec), base);
    if (n < 0) n = 0;
    n += snprintf(base + n, sizeof base - (size_t)n, "-%llu", (unsigned long long)size);
    etag[0] = '"';
    fr__md5_hex(base, (size_t)n, etag + 1);
    etag[33] = '"';
    etag[34] = 0;
}

/* _PyTime_DoubleToDenominator(d, 1e6, ROUND_HALF_EVEN): the whole seconds
 * datetime.fromtimestamp keeps (a fraction rounding to 1e6 us carries). */
static int64_t fr__py_fromtimestamp_sec(double d) {
    /* no libm: the header links without -lm. |d| < 2^63 for any mtime */
    int64_t ip = (int64_t)d, t;  /* modf: the integral part, toward zero */
    double fp = (d - (double)ip) * 1e6, f;
    t = (int64_t)fp;              /* round half even (_PyTime_RoundHalfEven) */
    f = fp - (double)t;
    if (f > 0.5 || (f == 0.5 && (t & 1))) t++;
    else if (f < -0.5 || (f == -0.5 && (t & 1))) t--;
    if (t >= 1000000) ip++;
    else if (t < 0) ip--;
    return ip;
}

void fr_file_last_modified(int64_t mtime_sec, long mtime_nsec, char out[30]) {
    fr__http_imf_fixdate(fr__py_fromtimestamp_sec(fr__py_mtime(mtime_sec, mtime_nsec)), out);
}

/* ------------------------------------------------------------------ */
/* Python text helpers                                                 */
/* ------------------------------------------------------------------ */

static fr_str fr__pystrip(fr_str s) {
    while (s.len && fr__py_space((unsigned char)s.buf[0])) s.buf++, s.len--;
    while (s.len && fr__py_space((unsigned char)s.buf[s.len - 1])) s.len--;
    return s;
}

/* Python int(s) (base 10): optional whitespace, sign, digits with single
 * underscores between them. Saturated to +-FR__SAT. 0, or -1 (ValueError). */
static int fr__pyint(fr_str s, int64_t *out) {
    size_t i = 0;
    int neg = 0, digits = 0, under = 0;
    int64_t v = 0;
    s = fr__pystrip(s);
    if (i < s.len && (s.buf[i] == '+' || s.buf[i] == '-')) neg = s.buf[i++] == '-';
    for (; i < s.len; i++) {
        char c = s.buf[i];
        if (c == '_') {
            if (!digits || under) return -1;
            under = 1;
            continue;
        }
        if (c < '0' || c > '9') return -1;
        under = 0;
        digits++;
        v = v > (FR__SAT - 9) / 10 ? FR__SAT : v * 10 + (c - '0');
    }
    if (!digits || under) return -1;
    *out = neg ? -v : v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Range (FileResponse._parse_range_header / _parse_ranges)            */
/* ------------------------------------------------------------------ */

static int fr__range_fail(fr_err *err, const char *msg) {
    if (err) {
        err->code = 400;
        err->msg = msg;
        err->pos = 0;
    }
    return -1;
}

int fr_http_parse_range(const char *value, size_t len, uint64_t size, fr_range *out, fr_err *err) {
    const char *eq, *p, *end;
    fr_str units;
    size_t commas = 0, i, n = 0;
    int64_t fsize = size > (uint64_t)FR__SAT ? FR__SAT : (int64_t)size;
    if (err) memset(err, 0, sizeof *err);
    if (!value && len) return fr__range_fail(err, "Malformed range header.");
    if (!out) return fr__range_fail(err, "Malformed range header.");
    eq = len ? (const char *)memchr(value, '=', len) : NULL;
    if (!eq) return fr__range_fail(err, "Malformed range header.");
    units = fr__pystrip(fr__str(value, (size_t)(eq - value)));
    if (!fr_str_ieq_c(units, "bytes")) return fr__range_fail(err, "Only support bytes range");
    p = eq + 1;
    end = value + len;
    for (i = 0; i < (size_t)(end - p); i++) commas += p[i] == ',';
    if (commas + 1 > FR_RANGE_MAX) return 0;
    while (p <= end) {
        const char *c = (const char *)memchr(p, ',', (size_t)(end - p));
        const char *pe = c ? c : end, *dash;
        fr_str part = fr__pystrip(fr__str(p, (size_t)(pe - p))), s, e;
        int64_t start, stop, iv;
        p = pe + 1;
        if (!part.len || (part.len == 1 && part.buf[0] == '-')) continue;
        dash = (const char *)memchr(part.buf, '-', part.len);
        if (!dash) continue;
        s = fr__pystrip(fr__str(part.buf, (size_t)(dash - part.buf)));
        e = fr__pystrip(fr__str(dash + 1, (size_t)(part.buf + part.len - dash - 1)));
        if (s.len) {
            if (fr__pyint(s, &start) < 0) continue;
        } else {
            if (fr__pyint(e, &iv) < 0) continue;
            start = fsize - iv;
            if (start < 0) start = 0;
        }
        stop = fsize;
        if (s.len && e.len) {
            if (fr__pyint(e, &iv) < 0) continue;
            if (iv < fsize) stop = iv + 1;
        }
        out[n].start = (uint64_t)start; /* a negative start is caught below */
        out[n].end = (uint64_t)stop;
        if (start < 0) out[n].start = UINT64_MAX;
        if (stop < 0) out[n].end = 0;
        n++;
        if (!c) break;
    }
    if (!n) return fr__range_fail(err, "Range header: range must be requested");
    for (i = 0; i < n; i++)
        if (out[i].start >= size) {
            if (err) { err->code = 416; err->msg = "Range Not Satisfiable"; }
            return -2;
        }
    for (i = 0; i < n; i++)
        if (out[i].start >= out[i].end)
            return fr__range_fail(err, "Range header: start must be less than end");
    if (n == 1) return 1;
    /* sort (insertion: at most FR_RANGE_MAX) by (start, end), then merge */
    for (i = 1; i < n; i++) {
        fr_range t = out[i];
        size_t j = i;
        while (j > 0 && (out[j - 1].start > t.start ||
                         (out[j - 1].start == t.start && out[j - 1].end > t.end))) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = t;
    }
    {
        size_t m = 0;
        for (i = 1; i < n; i++) {
            if (out[i].start <= out[m].end) {
                if (out[i].end > out[m].end) out[m].end = out[i].end;
            } else {
                out[++m] = out[i];
            }
        }
        return (int)(m + 1);
    }
}

/* ------------------------------------------------------------------ */
/* email.utils.parsedate                                               */
/* ------------------------------------------------------------------ */

static const char *const fr__monthnames[24] = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december"};
static const char *const fr__daynames[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* Python's str.lower() == name, for Latin-1 text against an ASCII name */
static int fr__lower_eq(fr_str s, const char *name) { return fr_str_ieq_c(s, name); }

static int fr__month(fr_str s) {
    int i;
    for (i = 0; i < 24; i++)
        if (fr__lower_eq(s, fr__monthnames[i])) return i % 12 + 1;
    return 0;
}

/* str.isdigit() for one Latin-1 character */
static int fr__py_isdigit(unsigned c) { return (c >= '0' && c <= '9') || c == 0xb2 || c == 0xb3 || c == 0xb9; }

int fr_http_parsedate(const char *value, size_t len, int64_t out[6]) {
    fr_str tok[8], dd, mm, yy, tm, tz, parts[3];
    size_t nt = 0, i = 0, np;
    int mon, isday;
    int64_t v[5];
    if (!value || !out) return -1;
    /* data.split(): only the first 8 tokens can matter */
    while (i < len && nt < 8) {
        size_t s;
        while (i < len && fr__py_space((unsigned char)value[i])) i++;
        if (i >= len) break;
        s = i;
        while (i < len && !fr__py_space((unsigned char)value[i])) i++;
        tok[nt++] = fr__str(value + s, i - s);
    }
    if (nt == 0) return -1;
    for (i = 0, isday = 0; i < 7; i++) isday |= fr__lower_eq(tok[0], fr__daynames[i]);
    if (tok[0].buf[tok[0].len - 1] == ',' || isday) {
        for (i = 1; i < nt; i++) tok[i - 1] = tok[i];
        nt--;
    } else {
        size_t k = tok[0].len;
        while (k > 0 && tok[0].buf[k - 1] != ',') k--;
        if (k > 0) tok[0] = fr__str(tok[0].buf + k, tok[0].len - k);
    }
    if (nt == 3) { /* RFC 850: dd-mm-yy */
        const char *a = tok[0].buf, *e = a + tok[0].len, *q;
        np = 0;
        for (;;) {
            q = (const char *)memchr(a, '-', (size_t)(e - a));
            if (np < 3) parts[np] = fr__str(a, (size_t)((q ? q : e) - a));
            np++;
            if (!q) break;
            a = q + 1;
        }
        if (np == 3) {
            tok[4] = tok[2];
            tok[3] = tok[1];
            tok[0] = parts[0];
            tok[1] = parts[1];
            tok[2] = parts[2];
            nt = 5;
        }
    }
    if (nt == 4) {
        fr_str s = tok[3];
        const char *pl = (const char *)memchr(s.buf, '+', s.len);
        size_t k;
        if (!pl) pl = (const char *)memchr(s.buf, '-', s.len);
        k = pl ? (size_t)(pl - s.buf) : 0;
        if (k > 0) {
            tok[3] = fr__str(s.buf, k);
            tok[4] = fr__str(s.buf + k, s.len - k);
        } else {
            tok[4] = fr__str("", 0);
        }
        nt = 5;
    }
    if (nt < 5) return -1;
    dd = tok[0];
    mm = tok[1];
    yy = tok[2];
    tm = tok[3];
    tz = tok[4];
    if (!dd.len || !mm.len || !yy.len) return -1;
    mon = fr__month(mm);
    if (!mon) {
        fr_str t = dd;
        dd = mm;
        mm = t;
        mon = fr__month(mm);
        if (!mon) return -1;
    }
    if (dd.buf[dd.len - 1] == ',') dd.len--;
    {
        const char *colon = (const char *)memchr(yy.buf, ':', yy.len);
        if (colon && colon > yy.buf) {
            fr_str t = yy;
            yy = tm;
            tm = t;
        }
    }
    if (yy.len && yy.buf[yy.len - 1] == ',') {
        yy.len--;
        if (!yy.len) return -1;
    }
    if (!yy.len) return -1; /* Python: yy[0] on "" raises; not reachable from split tokens */
    if (!fr__py_isdigit((unsigned char)yy.buf[0])) {
        fr_str t = yy;
        yy = tz;
        tz = t;
    }
    (void)tz;
    if (tm.len && tm.buf[tm.len - 1] == ',') tm.len--;
    {
        fr_str tp[3];
        const char *a = tm.buf, *e = tm.buf + tm.len, *q;
        char sep = ':';
        np = 0;
        for (;;) {
            q = a < e ? (const char *)memchr(a, sep, (size_t)(e - a)) : NULL;
            if (np < 3) tp[np] = fr__str(a, (size_t)((q ? q : e) - a));
            np++;
            if (!q) break;
            a = q + 1;
        }
        if (np == 1 && memchr(tm.buf, '.', tm.len)) {
            sep = '.';
            a = tm.buf;
            np = 0;
            for (;;) {
                q = (const char *)memchr(a, sep, (size_t)(e - a));
                if (np < 3) tp[np] = fr__str(a, (size_t)((q ? q : e) - a));
                np++;
                if (!q) break;
                a = q + 1;
            }
            if (np != 2 && np != 3) return -1;
        } else if (np != 2 && np != 3) {
            return -1;
        }
        if (np == 2) tp[2] = fr__str("0", 1);
        if (fr__pyint(yy, &v[0]) < 0 || fr__pyint(dd, &v[1]) < 0 || fr__pyint(tp[0], &v[2]) < 0 ||
            fr__pyint(tp[1], &v[3]) < 0 || fr__pyint(tp[2], &v[4]) < 0)
            return -1;
    }
    if (v[0] < 100) v[0] += v[0] > 68 ? 1900 : 2000;
    out[0] = v[0];
    out[1] = mon;
    out[2] = v[1];
    out[3] = v[2];
    out[4] = v[3];
    out[5] = v[4];
    return 0;
}

/* ------------------------------------------------------------------ */
/* content types (mimetypes.guess_type, strict)                        */
/* ------------------------------------------------------------------ */

typedef struct fr__mime {
    const char *ext, *type;
} fr__mime;

/* Python 3.11 mimetypes._types_map_default (with 3.12's text/javascript for
 * .js and .mjs, RFC 9239) plus the web types a Debian /etc/mime.types adds
 * (.woff .woff2 .webp .otf .ttf .md .ogg .oga .ogv .apng .jsonld), sorted by extension bytes */
static const fr__mime fr__mime_default[] = {
    {".3g2", "audio/3gpp2"}, {".3gp", "audio/3gpp"}, {".3gpp", "audio/3gpp"},
    {".3gpp2", "audio/3gpp2"}, {".a", "application/octet-stream"}, {".aac", "audio/aac"},
    {".adts", "audio/aac"}, {".ai", "application/postscript"}, {".aif", "audio/x-aiff"},
    {".aifc", "audio/x-aiff"}, {".aiff", "audio/x-aiff"}, {".apng", "image/apng"},
    {".ass", "audio/aac"}, {".au", "audio/basic"}, {".avi", "video/x-msvideo"},
    {".avif", "image/avif"}, {".bat", "text/plain"}, {".bcpio", "application/x-bcpio"},
    {".bin", "application/octet-stream"}, {".bmp", "image/bmp"}, {".c", "text/plain"},
    {".cdf", "application/x-netcdf"}, {".cpio", "application/x-cpio"},
    {".csh", "application/x-csh"}, {".css", "text/css"}, {".csv", "text/csv"},
    {".dll", "application/octet-stream"}, {".doc", "application/msword"},
    {".dot", "application/msword"}, {".dvi", "application/x-dvi"}, {".eml", "message/rfc822"},
    {".eps", "application/postscript"}, {".etx", "text/x-setext"},
    {".exe", "application/octet-stream"}, {".gif", "image/gif"}, {".gtar", "application/x-gtar"},
    {".h", "text/plain"}, {".h5", "application/x-hdf5"}, {".hdf", "application/x-hdf"},
    {".heic", "image/heic"}, {".heif", "image/heif"}, {".htm", "text/html"},
    {".html", "text/html"}, {".ico", "image/vnd.microsoft.icon"}, {".ief", "image/ief"},
    {".jpe", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".jpg", "image/jpeg"},
    {".js", "text/javascript"}, {".json", "application/json"}, {".jsonld", "application/ld+json"},
    {".ksh", "text/plain"}, {".latex", "application/x-latex"}, {".loas", "audio/aac"},
    {".m1v", "video/mpeg"}, {".m3u", "application/vnd.apple.mpegurl"},
    {".m3u8", "application/vnd.apple.mpegurl"}, {".man", "application/x-troff-man"},
    {".md", "text/markdown"}, {".me", "application/x-troff-me"}, {".mht", "message/rfc822"},
    {".mhtml", "message/rfc822"}, {".mif", "application/x-mif"}, {".mjs", "text/javascript"},
    {".mov", "video/quicktime"}, {".movie", "video/x-sgi-movie"}, {".mp2", "audio/mpeg"},
    {".mp3", "audio/mpeg"}, {".mp4", "video/mp4"}, {".mpa", "video/mpeg"}, {".mpe", "video/mpeg"},
    {".mpeg", "video/mpeg"}, {".mpg", "video/mpeg"}, {".ms", "application/x-troff-ms"},
    {".n3", "text/n3"}, {".nc", "application/x-netcdf"}, {".nq", "application/n-quads"},
    {".nt", "application/n-triples"}, {".nws", "message/rfc822"},
    {".o", "application/octet-stream"}, {".obj", "application/octet-stream"},
    {".oda", "application/oda"}, {".oga", "audio/ogg"}, {".ogg", "audio/ogg"},
    {".ogv", "video/ogg"}, {".opus", "audio/opus"}, {".otf", "font/otf"},
    {".p12", "application/x-pkcs12"}, {".p7c", "application/pkcs7-mime"},
    {".pbm", "image/x-portable-bitmap"}, {".pdf", "application/pdf"},
    {".pfx", "application/x-pkcs12"}, {".pgm", "image/x-portable-graymap"}, {".pl", "text/plain"},
    {".png", "image/png"}, {".pnm", "image/x-portable-anymap"},
    {".pot", "application/vnd.ms-powerpoint"}, {".ppa", "application/vnd.ms-powerpoint"},
    {".ppm", "image/x-portable-pixmap"}, {".pps", "application/vnd.ms-powerpoint"},
    {".ppt", "application/vnd.ms-powerpoint"}, {".ps", "application/postscript"},
    {".pwz", "application/vnd.ms-powerpoint"}, {".py", "text/x-python"},
    {".pyc", "application/x-python-code"}, {".pyo", "application/x-python-code"},
    {".qt", "video/quicktime"}, {".ra", "audio/x-pn-realaudio"},
    {".ram", "application/x-pn-realaudio"}, {".ras", "image/x-cmu-raster"},
    {".rdf", "application/xml"}, {".rgb", "image/x-rgb"}, {".roff", "application/x-troff"},
    {".rtx", "text/richtext"}, {".sgm", "text/x-sgml"}, {".sgml", "text/x-sgml"},
    {".sh", "application/x-sh"}, {".shar", "application/x-shar"}, {".snd", "audio/basic"},
    {".so", "application/octet-stream"}, {".src", "application/x-wais-source"},
    {".srt", "text/plain"}, {".sv4cpio", "application/x-sv4cpio"},
    {".sv4crc", "application/x-sv4crc"}, {".svg", "image/svg+xml"},
    {".swf", "application/x-shockwave-flash"}, {".t", "application/x-troff"},
    {".tar", "application/x-tar"}, {".tcl", "application/x-tcl"}, {".tex", "application/x-tex"},
    {".texi", "application/x-texinfo"}, {".texinfo", "application/x-texinfo"},
    {".tif", "image/tiff"}, {".tiff", "image/tiff"}, {".tr", "application/x-troff"},
    {".trig", "application/trig"}, {".tsv", "text/tab-separated-values"}, {".ttf", "font/ttf"},
    {".txt", "text/plain"}, {".ustar", "application/x-ustar"}, {".vcf", "text/x-vcard"},
    {".vtt", "text/vtt"}, {".wasm", "application/wasm"}, {".wav", "audio/x-wav"},
    {".webm", "video/webm"}, {".webmanifest", "application/manifest+json"},
    {".webp", "image/webp"}, {".wiz", "application/msword"}, {".woff", "font/woff"},
    {".woff2", "font/woff2"}, {".wsdl", "application/xml"}, {".xbm", "image/x-xbitmap"},
    {".xlb", "application/vnd.ms-excel"}, {".xls", "application/vnd.ms-excel"},
    {".xml", "text/xml"}, {".xpdl", "application/xml"}, {".xpm", "image/x-xpixmap"},
    {".xsl", "application/xml"}, {".xwd", "image/x-xwindowdump"}, {".zip", "application/zip"},
};

typedef struct fr__mime_own {
    char *ext, *type;
} fr__mime_own;

static int fr__ext_cmp(fr_str a, const char *b) {
    size_t bl = strlen(b), n = FR__MIN(a.len, bl);
    int c = memcmp(a.buf, b, n);
    if (c) return c;
    return a.len < bl ? -1 : a.len > bl ? 1 : 0;
}

static const char *fr__mime_builtin(fr_str ext) {
    size_t lo = 0, hi = FR__COUNTOF(fr__mime_default);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = fr__ext_cmp(ext, fr__mime_default[mid].ext);
        if (!c) return fr__mime_default[mid].type;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

/* posixpath.splitext on the last component: (base, ext); leading dots of
 * the name are not an extension */
static void fr__splitext(fr_str p, fr_str *base, fr_str *ext) {
    size_t s = p.len, d, f;
    while (s > 0 && p.buf[s - 1] != '/') s--;
    f = s;
    while (f < p.len && p.buf[f] == '.') f++;
    d = p.len;
    while (d > f && p.buf[d - 1] != '.') d--;
    if (d > f) {
        *base = fr__str(p.buf, d - 1);
        *ext = fr__str(p.buf + d - 1, p.len - d + 1);
    } else {
        *base = p;
        *ext = fr__str(p.buf + p.len, 0);
    }
}

static const char *fr__mime_lookup(const fr__static_list *l, fr_str ext);

static const char *fr__guess(const fr__static_list *l, fr_str name) {
    static const char *const suffix[][2] = {{".svgz", ".svg.gz"}, {".tgz", ".tar.gz"}, {".taz", ".tar.gz"},
                                            {".tz", ".tar.gz"},   {".tbz2", ".tar.bz2"}, {".txz", ".tar.xz"}};
    static const char *const enc[] = {".gz", ".Z", ".bz2", ".xz", ".br"};
    char tmp[512], low[32];
    fr_str base, ext;
    size_t i, k;
    const char *t;
    k = name.len; /* only the last component can hold the extension */
    while (k > 0 && name.buf[k - 1] != '/') k--;
    name = fr__str(name.buf + k, name.len - k);
    fr__splitext(name, &base, &ext);
    for (i = 0; i < FR__COUNTOF(suffix); i++) {
        if (fr_str_eq_c(ext, suffix[i][0])) { /* splitext(base + suffix_map[ext]) */
            size_t sl = strlen(suffix[i][1]);
            if (base.len + sl >= sizeof tmp) return NULL;
            memcpy(tmp, base.buf, base.len);
            memcpy(tmp + base.len, suffix[i][1], sl);
            fr__splitext(fr__str(tmp, base.len + sl), &base, &ext);
            break;
        }
    }
    for (i = 0; i < FR__COUNTOF(enc); i++) {
        if (fr_str_eq_c(ext, enc[i])) {
            fr__splitext(base, &base, &ext);
            break;
        }
    }
    t = fr__mime_lookup(l, ext);
    if (t || !ext.len || ext.len >= sizeof low) return t;
    for (k = 0; k < ext.len; k++) low[k] = (char)fr__tolower((unsigned char)ext.buf[k]);
    return fr__mime_lookup(l, fr__str(low, ext.len));
}

const char *fr_static_guess_type(fr_str name) {
    if (!name.buf) return NULL;
    return fr__guess(NULL, name);
}

/* ------------------------------------------------------------------ */
/* registrations, kept on the app                                      */
/* ------------------------------------------------------------------ */

typedef struct fr__static_mount {
    struct fr__static_mount *next;
    fr__static_list *list;
    char *dir;
    char *path; /* frontend: the normalised path ("/" or "/app") */
    size_t pathlen;
    int html, follow, front, fallback;
    fr_handler not_found; /* frontends: who answers their 404s (NULL = JSON) */
    void *not_found_ud;
    fr_handler guard; /* frontends: fr_frontend_opts.guard */
    void *guard_ud;
    fr_handler not_allowed; /* frontends: fr_frontend_opts.not_allowed */
    void *not_allowed_ud;
    fr__atomic_int checked; /* Starlette's config_checked */
} fr__static_mount;

struct fr__static_list {
    fr__mime_own *types; /* sorted by ext */
    size_t ntypes, captypes;
    fr__static_mount *mounts;
};

static const char *fr__mime_lookup(const fr__static_list *l, fr_str ext) {
    if (l && l->ntypes) {
        size_t lo = 0, hi = l->ntypes;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int c = fr__ext_cmp(ext, l->types[mid].ext);
            if (!c) return l->types[mid].type;
            if (c < 0) hi = mid;
            else lo = mid + 1;
        }
    }
    return fr__mime_builtin(ext);
}

FR__PRIV void fr__static_list_free(fr__static_list *l) {
    size_t i;
    if (!l) return;
    for (i = 0; i < l->ntypes; i++) {
        FR_FREE(l->types[i].ext);
        FR_FREE(l->types[i].type);
    }
    FR_FREE(l->types);
    while (l->mounts) {
        fr__static_mount *n = l->mounts->next;
        FR_FREE(l->mounts->dir);
        FR_FREE(l->mounts->path);
        FR_FREE(l->mounts);
        l->mounts = n;
    }
    FR_FREE(l);
}

static fr__static_list *fr__static_list_of(fr_app *app) {
    fr__static_list **pl = fr__app_statics(app);
    if (!*pl) {
        *pl = (fr__static_list *)FR_MALLOC(sizeof **pl);
        if (*pl) memset(*pl, 0, sizeof **pl);
    }
    return *pl;
}

static char *fr__strdup(const char *s) {
    size_t n = strlen(s);
    char *p = (char *)FR_MALLOC(n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

int fr_app_static_type(fr_app *app, const char *ext, const char *type) {
    fr__static_list *l;
    size_t lo = 0, hi, i;
    fr_str e;
    if (!app || !ext || !type || !*ext || strpbrk(type, "\r\n")) return -1;
    l = fr__static_list_of(app);
    if (!l) return -1;
    e = fr_str_c(ext);
    hi = l->ntypes;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = fr__ext_cmp(e, l->types[mid].ext);
        if (!c) {
            char *t = fr__strdup(type);
            if (!t) return -1;
            FR_FREE(l->types[mid].type);
            l->types[mid].type = t;
            return 0;
        }
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    if (l->ntypes == l->captypes) {
        size_t cap = l->captypes ? l->captypes * 2 : 64;
        fr__mime_own *nt = (fr__mime_own *)FR_REALLOC(l->types, cap * sizeof *nt);
        if (!nt) return -1;
        l->types = nt;
        l->captypes = cap;
    }
    {
        char *x = fr__strdup(ext), *t = fr__strdup(type);
        if (!x || !t) {
            FR_FREE(x);
            FR_FREE(t);
            return -1;
        }
        for (i = l->ntypes; i > lo; i--) l->types[i] = l->types[i - 1];
        l->types[lo].ext = x;
        l->types[lo].type = t;
        l->ntypes++;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* the lookup (StaticFiles.get_path + lookup_path)                     */
/* ------------------------------------------------------------------ */

enum { FR__LK_NONE = 0, FR__LK_FILE, FR__LK_DIR, FR__LK_OTHER, FR__LK_401, FR__LK_404, FR__LK_500 };

/* os.path.normpath(os.path.join(*route_path.split("/"))) into out:
 * components without "" and "."; ".." drops the previous one unless that
 * is ".." too. "" becomes ".". NUL makes it fail (Python: ValueError). */
static int fr__normrel(fr_str p, fr_buf *out) {
    size_t i = 0;
    out->len = 0;
    if (memchr(p.buf, 0, p.len)) return -1;
    while (i <= p.len) {
        size_t s = i;
        while (i < p.len && p.buf[i] != '/') i++;
        {
            fr_str c = fr__str(p.buf + s, i - s);
            if (c.len == 0 || (c.len == 1 && c.buf[0] == '.')) {
                /* skip */
            } else if (c.len == 2 && c.buf[0] == '.' && c.buf[1] == '.') {
                /* pop the last component unless it is ".." (or nothing) */
                size_t k = out->len;
                int last_dd = 0;
                if (k) {
                    size_t b = k;
                    while (b > 0 && out->buf[b - 1] != '/') b--;
                    last_dd = (k - b == 2 && out->buf[b] == '.' && out->buf[b + 1] == '.');
                    if (!last_dd) out->len = b ? b - 1 : 0;
                }
                if (!k || last_dd) {
                    if (out->len && fr_buf_append_char(out, '/') < 0) return -1;
                    if (fr_buf_append(out, "..", 2) < 0) return -1;
                }
            } else {
                if (out->len && fr_buf_append_char(out, '/') < 0) return -1;
                if (fr_buf_append(out, c.buf, c.len) < 0) return -1;
            }
        }
        i++;
    }
    if (!out->len && fr_buf_append_char(out, '.') < 0) return -1;
    return fr_buf_append_char(out, 0) < 0 ? -1 : (out->len--, 0);
}

/* os.path.abspath for follow_symlink=True: normpath(cwd + "/" + p), in
 * libc memory (the caller frees it with free(), as realpath's result) */
static char *fr__abspath(const char *p) {
    fr_buf in = FR__ZERO_INIT, out = FR__ZERO_INIT;
    char cwd[4096];
    char *r = NULL;
    if (p[0] != '/') {
        if (!getcwd(cwd, sizeof cwd)) return NULL;
        if (fr_buf_append_str(&in, cwd) < 0 || fr_buf_append_char(&in, '/') < 0) goto done;
    }
    if (fr_buf_append_str(&in, p) < 0) goto done;
    if (fr__normrel(fr__str(in.buf, in.len), &out) < 0) goto done;
    if (out.len >= 2 && out.buf[0] == '.' && out.buf[1] == '.' && (out.len == 2 || out.buf[2] == '/')) {
        /* ".." above "/" stays at "/" for an absolute path */
        size_t k = 0;
        while (k + 2 <= out.len && out.buf[k] == '.' && out.buf[k + 1] == '.' &&
               (k + 2 == out.len || out.buf[k + 2] == '/'))
            k += k + 2 == out.len ? 2 : 3;
        memmove(out.buf, out.buf + k, out.len - k);
        out.len -= k;
    }
    r = (char *)malloc(out.len + 2); /* freed with free(), like realpath's */
    if (r) {
        r[0] = '/';
        if (out.len == 1 && out.buf[0] == '.') out.len = 0;
        memcpy(r + 1, out.buf, out.len);
        r[out.len + 1] = 0;
    }
done:
    fr_buf_free(&in);
    fr_buf_free(&out);
    return r;
}

static int fr__inside(const char *full, const char *dir) {
    size_t dl = strlen(dir);
    if (dl == 1 && dir[0] == '/') return 1;
    return strncmp(full, dir, dl) == 0 && (full[dl] == 0 || full[dl] == '/');
}

static int fr__errno_kind(int e) {
    if (e == ENOENT || e == ENOTDIR) return FR__LK_NONE;
    if (e == EACCES || e == EPERM) return FR__LK_401;
    if (e == ENAMETOOLONG) return FR__LK_404;
    return FR__LK_500;
}

/* The common case in one path walk (Linux 5.6+): with follow_symlink=False
 * Starlette resolves realpath(dir/rel) and realpath(dir) -- a readlink per
 * component of each, most of a small file's cost -- and checks the one is
 * inside the other. A path that reaches its file with no symlink on the way
 * (openat2 with RESOLVE_NO_SYMLINKS, the directory's own components too) and
 * whose rel (normalised) does not climb out with ".." is inside by
 * construction, and names what realpath would. The answer: the kind and
 * stat (through an O_PATH fd, which opens no FIFO or device), and a regular
 * file opened for reading when fd is not NULL; FR__LK_NONE for a name that
 * does not exist; or -1: ask realpath (a symlink on the way, a permission
 * error, no openat2). */
#if defined(__linux__) && defined(_GNU_SOURCE)
#include <sys/syscall.h>
#endif
#if defined(__linux__) && defined(_GNU_SOURCE) && defined(SYS_openat2) && defined(O_PATH)
static fr__atomic_int fr__no_openat2; /* ENOSYS once (an old kernel, a seccomp filter) */
static int fr__openat2_nolinks(const char *path, uint64_t flags) {
    struct {
        uint64_t flags, mode, resolve; /* struct open_how */
    } how;
    how.flags = flags | O_CLOEXEC;
    how.mode = 0;
    how.resolve = 0x04 | 0x02; /* RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS */
    return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
}
static int fr__lookup_fast(const char *joined, const char *rel, struct stat *st, int *fd) {
    int e, pfd, kind;
    if (fd) *fd = -1;
    if (rel[0] == '.' && rel[1] == '.' && (rel[2] == 0 || rel[2] == '/')) return -1;
    if (fr__atomic_load(&fr__no_openat2)) return -1;
    pfd = fr__openat2_nolinks(joined, O_PATH); /* opens nothing (a FIFO, a device) for real */
    if (pfd < 0) {
        e = errno;
        if (e == ENOSYS) fr__atomic_store(&fr__no_openat2, 1);
        return e == ENOENT || e == ENOTDIR ? FR__LK_NONE : -1;
    }
    if (fstat(pfd, st) < 0) {
        close(pfd);
        return -1;
    }
    close(pfd);
    kind = S_ISREG(st->st_mode) ? FR__LK_FILE : S_ISDIR(st->st_mode) ? FR__LK_DIR : FR__LK_OTHER;
    if (kind == FR__LK_FILE && fd) *fd = fr__openat2_nolinks(joined, O_RDONLY); /* -1: the caller's open fails as Starlette's */
    return kind;
}
#else
static int fr__lookup_fast(const char *joined, const char *rel, struct stat *st, int *fd) {
    (void)joined;
    (void)rel;
    (void)st;
    if (fd) *fd = -1;
    return -1;
}
#endif

/* lookup_path(rel): *full (FR_MALLOC'd, caller frees) and *st for
 * FILE/DIR/OTHER; *fd (when fd is not NULL): the file already open, or -1
 * (the caller opens full) -- the caller closes it */
static int fr__lookup_fd(const fr__static_mount *m, const char *rel, char **full, struct stat *st, int *fd) {
    fr_buf j = FR__ZERO_INIT;
    char *f = NULL, *d = NULL;
    int kind = FR__LK_NONE, ofd = -1;
    *full = NULL;
    if (fd) *fd = -1;
    if (rel[0] == '/' || rel[0] == '\\') return FR__LK_NONE;
    if (fr_buf_append_str(&j, m->dir) < 0 ||
        (j.len && j.buf[j.len - 1] != '/' && fr_buf_append_char(&j, '/') < 0) ||
        fr_buf_append_str(&j, rel) < 0 || fr_buf_append_char(&j, 0) < 0) {
        fr_buf_free(&j);
        return FR__LK_500;
    }
    if (!m->follow && (kind = fr__lookup_fast(j.buf, rel, st, fd ? &ofd : NULL)) >= 0) {
        if (kind != FR__LK_NONE) { /* the joined path names the file realpath would */
            *full = (char *)malloc(j.len); /* j ends with its NUL */
            if (!*full) kind = FR__LK_500;
            else memcpy(*full, j.buf, j.len);
        }
        if (fd && kind != FR__LK_500) *fd = ofd;
        else if (ofd >= 0) close(ofd);
        fr_buf_free(&j);
        return kind;
    }
    kind = FR__LK_NONE;
    if (m->follow) {
        f = fr__abspath(j.buf);
        d = fr__abspath(m->dir);
        if (!f || !d) kind = FR__LK_500;
    } else {
        errno = 0;
        f = realpath(j.buf, NULL);
        if (!f) kind = fr__errno_kind(errno);
        else if (!(d = realpath(m->dir, NULL))) kind = fr__errno_kind(errno);
    }
    fr_buf_free(&j);
    if (f && d && kind == FR__LK_NONE) {
        if (!fr__inside(f, d)) {
            kind = FR__LK_NONE;
        } else if (stat(f, st) < 0) {
            kind = fr__errno_kind(errno);
        } else {
            kind = S_ISREG(st->st_mode) ? FR__LK_FILE : S_ISDIR(st->st_mode) ? FR__LK_DIR : FR__LK_OTHER;
            *full = f;
            f = NULL;
        }
    }
    free(f); /* realpath's: libc malloc; fr__abspath's: FR_MALLOC */
    free(d);
    return kind;
}

static int fr__lookup(const fr__static_mount *m, const char *rel, char **full, struct stat *st) {
    return fr__lookup_fd(m, rel, full, st, NULL);
}

/* ------------------------------------------------------------------ */
/* answers                                                             */
/* ------------------------------------------------------------------ */

static int fr__answer_kind(fr_req *req, int kind) {
    if (kind == FR__LK_401) return fr_res_json(req, 401, "{\"detail\":\"Unauthorized\"}", 25);
    if (kind == FR__LK_500)
        return fr_res_text(req, 500, NULL, "Internal Server Error", 21);
    return fr_res_json(req, 404, "{\"detail\":\"Not Found\"}", 22);
}

static fr_str fr__res_header_get(fr_req *req, const char *name) {
    fr__res_view v;
    size_t i;
    fr_str none = {NULL, 0};
    fr__req_res_get(req, &v);
    for (i = 0; i < v.nrh; i++)
        if (fr_str_ieq_c(v.rh[i].name, name)) return v.rh[i].value;
    return none;
}

/* StaticFiles.is_not_modified */
static int fr__not_modified(fr_req *req, const char *etag, const char *lastmod) {
    fr_str inm = fr_req_header(req, "if-none-match"), ims;
    if (inm.buf && inm.len) {
        fr_str s = fr__pystrip(inm);
        const char *p = inm.buf, *e = inm.buf + inm.len;
        if (s.len == 1 && s.buf[0] == '*') return 1;
        for (;;) {
            const char *c = (const char *)memchr(p, ',', (size_t)(e - p));
            fr_str t = fr__pystrip(fr__str(p, (size_t)((c ? c : e) - p)));
            if (t.len >= 2 && t.buf[0] == 'W' && t.buf[1] == '/') t.buf += 2, t.len -= 2;
            if (fr_str_eq_c(t, etag)) return 1;
            if (!c) break;
            p = c + 1;
        }
        return 0;
    }
    ims = fr_req_header(req, "if-modified-since");
    if (ims.buf) {
        int64_t a[6], b[6];
        int i;
        if (fr_http_parsedate(ims.buf, ims.len, a) < 0 || fr_http_parsedate(lastmod, 29, b) < 0) return 0;
        for (i = 0; i < 6; i++)
            if (a[i] != b[i]) return a[i] > b[i];
        return 1;
    }
    return 0;
}

static void fr__random_hex(char *out, size_t nbytes) {
    static const char hx[] = "0123456789abcdef";
    unsigned char b[32];
    size_t i, got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (nbytes > sizeof b) nbytes = sizeof b;
    if (fd >= 0) {
        ssize_t r = read(fd, b, nbytes);
        if (r > 0) got = (size_t)r;
        close(fd);
    }
    if (got < nbytes) {
        struct timespec ts;
        uint64_t x;
        clock_gettime(CLOCK_REALTIME, &ts);
        x = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)out ^ (uint64_t)ts.tv_sec;
        for (i = got; i < nbytes; i++) {
            x ^= x >> 33;
            x *= 0xff51afd7ed558ccdull;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    for (i = 0; i < nbytes; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * nbytes] = 0;
}

/* A fresh PlainTextResponse replaces whatever was set (Starlette returns a
 * new response object for 400 / 416). */
static void fr__reset_headers(fr_req *req) {
    fr__res_view v;
    fr__req_res_get(req, &v);
    v.nrh = 0;
    fr__req_res_set(req, &v);
}

static int fr__digits(uint64_t v) {
    int n = 1;
    while (v >= 10) v /= 10, n++;
    return n;
}

static void fr__free_body(void *ud, const void *data) {
    (void)ud;
    FR_FREE((void *)(uintptr_t)data);
}

/* _handle_multiple_ranges, assembled in memory. 0 answered, 1 = send the
 * whole file instead (too big / OOM), -1 = a read failed (500 answered) */
static int fr__multirange(fr_req *req, int fd, const fr_range *r, int n, uint64_t size) {
    static const char mp[] = "multipart/byteranges; boundary=";
    char boundary[27], *body, *ctv;
    fr_str ct = fr__res_header_get(req, "content-type");
    uint64_t total = 0;
    size_t o = 0, k, w = 0, vl = sizeof mp - 1 + 26;
    int i, done = 0;
    fr__res_view v;
    fr__random_hex(boundary, 13);
    if (!ct.buf) ct = fr__str("", 0);
    /* generate_multipart's content_length */
    for (i = 0; i < n; i++)
        total += (uint64_t)(fr__digits(r[i].start) + fr__digits(r[i].end - 1) + 49 + 26 +
                            fr__digits(size)) + ct.len + (r[i].end - r[i].start);
    total += 4 + 26;
    if (total > FR_STATIC_MAX_MULTIRANGE_BYTES) return 1;
    body = (char *)FR_MALLOC((size_t)total + 1);
    ctv = (char *)fr_arena_alloc(fr_req_arena(req), vl + 1);
    if (!body || !ctv) {
        FR_FREE(body);
        return 1;
    }
    for (i = 0; i < n; i++) {
        uint64_t off = r[i].start;
        o += (size_t)snprintf(body + o, (size_t)total + 1 - o,
                              "--%s\r\nContent-Type: %.*s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
                              boundary, (int)ct.len, ct.buf, (unsigned long long)r[i].start,
                              (unsigned long long)(r[i].end - 1), (unsigned long long)size);
        while (off < r[i].end) {
            ssize_t got = pread(fd, body + o, (size_t)(r[i].end - off), (off_t)off);
            if (got <= 0) {
                FR_FREE(body);
                fr__reset_headers(req);
                fr_res_text(req, 500, NULL, "Internal Server Error", 21);
                return -1;
            }
            o += (size_t)got;
            off += (uint64_t)got;
        }
        memcpy(body + o, "\r\n", 2);
        o += 2;
    }
    o += (size_t)snprintf(body + o, (size_t)total + 1 - o, "--%s--", boundary);
    /* headers["content-type"] = ...: the first content-type replaced in
     * place, the others removed (MutableHeaders.__setitem__) */
    memcpy(ctv, mp, sizeof mp - 1);
    memcpy(ctv + sizeof mp - 1, boundary, 27);
    fr__req_res_get(req, &v);
    for (k = 0; k < v.nrh; k++) {
        if (fr_str_ieq_c(v.rh[k].name, "content-type")) {
            if (done) continue;
            v.rh[k].value = fr__str(ctv, vl);
            done = 1;
        }
        v.rh[w++] = v.rh[k];
    }
    v.nrh = w;
    v.status = 206;
    fr__req_res_set(req, &v);
    if (!done) fr_res_header_n(req, "content-type", 12, ctv, vl);
    if (fr_res_body_take(req, body, o, fr__free_body, NULL) < 0) {
        FR_FREE(body);
        return 1;
    }
    return 0;
}

/* fr_res_file, except that a small body is read now and sent with the
 * head in one write (sendfile would cost a second syscall and segment) */
static int fr__file_body(fr_req *req, int fd, uint64_t off, uint64_t len, int close_fd) {
    fr__res_view v;
    char *buf;
    size_t got = 0;
    fr__req_res_get(req, &v);
    if (v.is_head || len == 0 || len > FR_STATIC_INLINE_BYTES) return fr_res_file(req, fd, off, len, close_fd);
    buf = (char *)FR_MALLOC((size_t)len);
    if (!buf) return fr_res_file(req, fd, off, len, close_fd);
    while (got < len) {
        ssize_t r = pread(fd, buf + got, (size_t)len - got, (off_t)(off + got));
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got != len || fr_res_body_take(req, buf, got, fr__free_body, NULL) < 0) {
        FR_FREE(buf); /* a short read: let fr_res_file report it as it does */
        return fr_res_file(req, fd, off, len, close_fd);
    }
    if (close_fd) close(fd);
    return 0;
}

int fr_res_file_ranged(fr_req *req, int fd, uint64_t len, int close_fd) {
    fr_str method, range, ifr;
    fr__res_view v;
    fr_range r[FR_RANGE_MAX];
    fr_err err;
    int n;
    if (!req) return -1;
    method = fr_req_method(req);
    range = fr_req_header(req, "range");
    ifr = fr_req_header(req, "if-range");
    fr__req_res_get(req, &v);
    if ((v.status && v.status != 200) || !range.buf ||
        !(fr_str_eq_c(method, "GET") || fr_str_eq_c(method, "HEAD")))
        return fr__file_body(req, fd, 0, len, close_fd);
    if (ifr.buf) {
        fr_str lm = fr__res_header_get(req, "last-modified"), et = fr__res_header_get(req, "etag");
        int use = !(ifr.len >= 2 && ifr.buf[0] == 'W' && ifr.buf[1] == '/') &&
                  ((lm.buf && fr_str_eq(ifr, lm)) || (et.buf && fr_str_eq(ifr, et)));
        if (!use) return fr__file_body(req, fd, 0, len, close_fd);
    }
    n = fr_http_parse_range(range.buf, range.len, len, r, &err);
    if (n == 0) return fr__file_body(req, fd, 0, len, close_fd);
    if (n < 0) {
        char cr[48];
        fr__reset_headers(req);
        if (n == -2) {
            snprintf(cr, sizeof cr, "bytes */%llu", (unsigned long long)len);
            fr_res_header(req, "content-range", cr);
            fr_res_status(req, 416);
            fr_res_header(req, "content-type", "text/plain; charset=utf-8");
            fr_res_body(req, "", 0);
        } else {
            fr_res_status(req, 400);
            fr_res_header(req, "content-type", "text/plain; charset=utf-8");
            fr_res_body(req, err.msg, strlen(err.msg));
        }
        if (close_fd) close(fd);
        return 0;
    }
    if (n == 1) {
        char cr[80];
        snprintf(cr, sizeof cr, "bytes %llu-%llu/%llu", (unsigned long long)r[0].start,
                 (unsigned long long)(r[0].end - 1), (unsigned long long)len);
        fr_res_status(req, 206);
        fr_res_header(req, "content-range", cr);
        return fr__file_body(req, fd, r[0].start, r[0].end - r[0].start, close_fd);
    }
    if (fr__multirange(req, fd, r, n, len) == 1) return fr_res_file(req, fd, 0, len, close_fd);
    if (close_fd) close(fd);
    return 0;
}

/* fr_frontend_serve's headers, after an answer's own */
typedef struct fr__extra {
    const fr_header *h;
    size_t n;
} fr__extra;

static void fr__add_extra(fr_req *req, const fr__extra *x) {
    size_t i;
    for (i = 0; x && i < x->n; i++)
        fr_res_header_n(req, x->h[i].name.buf, x->h[i].name.len, x->h[i].value.buf, x->h[i].value.len);
}

/* an answer is set: sent now, or (fr_frontend_serve) by the caller */
static int fr__set_done(fr_req *req, const fr__extra *x) {
    if (!x) fr_res_send(req);
    return FR_DONE;
}

static int fr__fail500(fr_req *req, const fr__extra *x) {
    return x ? 500 : fr_res_text(req, 500, NULL, "Internal Server Error", 21);
}

/* FileResponse(full, status_code, stat_result) through StaticFiles.file_response;
 * fd: full already open (taken: closed or sent), or -1; x: headers after
 * the file's own (NULL: none) */
static int fr__send_file(fr_req *req, const fr__static_list *l, const char *full, const struct stat *st,
                         int status, int conditional, int fd, const fr__extra *x) {
    char etag[36], lm[30], ctbuf[160];
    const char *ct;
    int64_t sec;
    long nsec;
#if defined(__APPLE__)
    sec = (int64_t)st->st_mtimespec.tv_sec;
    nsec = (long)st->st_mtimespec.tv_nsec;
#elif defined(_WIN32)
    sec = (int64_t)st->st_mtime; /* whole seconds */
    nsec = 0;
#else
    sec = (int64_t)st->st_mtim.tv_sec;
    nsec = (long)st->st_mtim.tv_nsec;
#endif
    fr_file_etag(sec, nsec, (uint64_t)st->st_size, etag);
    fr_file_last_modified(sec, nsec, lm);
    if (conditional && fr__not_modified(req, etag, lm)) {
        if (fd >= 0) close(fd);
        fr_res_status(req, 304); /* NotModifiedResponse: etag only */
        fr_res_header(req, "etag", etag);
        fr__add_extra(req, x);
        return fr__set_done(req, x);
    }
    if (fd < 0) fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fr__fail500(req, x);
    ct = fr__guess(l, fr_str_c(full));
    if (!ct) ct = "application/octet-stream";
    if (strncmp(ct, "text/", 5) == 0) {
        /* init_headers: "; charset=utf-8" unless a charset= is there */
        size_t k, cl = strlen(ct);
        int has = 0;
        for (k = 0; k + 8 <= cl; k++)
            if (fr_str_ieq_c(fr__str(ct + k, 8), "charset=")) has = 1;
        if (!has && cl + 16 < sizeof ctbuf) {
            memcpy(ctbuf, ct, cl);
            memcpy(ctbuf + cl, "; charset=utf-8", 16);
            ct = ctbuf;
        }
    }
    fr_res_status(req, status);
    fr_res_header(req, "content-type", ct);
    fr_res_header(req, "accept-ranges", "bytes");
    fr_res_header(req, "last-modified", lm);
    fr_res_header(req, "etag", etag);
    fr__add_extra(req, x); /* a Range error (400, 416) resets them: a new response there */
    if (fr_res_file_ranged(req, fd, (uint64_t)st->st_size, 1) < 0) {
        close(fd);
        return fr__fail500(req, x);
    }
    if (x) {
        fr__res_view v;
        fr__req_res_get(req, &v);
        if (v.status == 400 || v.status == 416) return FR_FRONTEND_OWN; /* fr_res_file_ranged's */
    }
    return fr__set_done(req, x);
}

/* quote(str(URL(scope=scope)) with path + "/", safe=":/%#?=@[]!$&'()*+,;") */
static void fr__quote_into(fr_buf *b, const char *s, size_t n) {
    static const char hx[] = "0123456789ABCDEF";
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') fr_buf_append_char(b, (char)c);
        else if ((c >= '0' && c <= '9') || (c && strchr("_.-~:/%#?=@[]!$&'()*+,;", c)))
            fr_buf_append_char(b, (char)c);
        else {
            char e[3] = {'%', hx[c >> 4], hx[c & 15]};
            fr_buf_append(b, e, 3);
        }
    }
}

static int fr__redirect_slash(fr_req *req, const fr__extra *x) {
    fr_buf u = FR__ZERO_INIT, path = FR__ZERO_INIT;
    fr_str host = fr_req_header(req, "host"), scheme = fr_req_scheme(req), p = fr_req_path(req);
    fr_str rp = fr_req_root_path(req), q = fr_req_query(req);
    char srv[64];
    int port = 0;
    size_t i;
    fr_buf_append(&path, rp.buf, rp.len);
    for (i = 0; i < p.len; i++) { /* URL(scope): ? # \ escaped in the path */
        char c = p.buf[i];
        if (c == '?') fr_buf_append(&path, "%3F", 3);
        else if (c == '#') fr_buf_append(&path, "%23", 3);
        else if (c == '\\') fr_buf_append(&path, "%5C", 3);
        else fr_buf_append_char(&path, c);
    }
    fr_buf_append_char(&path, '/');
    if (host.buf && host.len) {
        fr_buf_append(&u, scheme.buf, scheme.len);
        fr_buf_append(&u, "://", 3);
        fr_buf_append(&u, host.buf, host.len);
    } else if (fr__req_server(req, srv, sizeof srv, &port)) {
        int def = fr_str_eq_c(scheme, "https") ? 443 : 80;
        fr_buf_append(&u, scheme.buf, scheme.len);
        fr_buf_append(&u, "://", 3);
        if (strchr(srv, ':')) fr_buf_printf(&u, "[%s]", srv);
        else fr_buf_append_str(&u, srv);
        if (port != def) fr_buf_printf(&u, ":%d", port);
    } else if (path.len >= 2 && path.buf[0] == '/' && path.buf[1] == '/') {
        fr_buf t = FR__ZERO_INIT;
        fr_buf_append(&t, "/%2F", 4);
        fr_buf_append(&t, path.buf + 2, path.len - 2);
        fr_buf_free(&path);
        path = t;
    }
    fr_buf_append(&u, path.buf, path.len);
    if (q.len) {
        fr_buf_append_char(&u, '?');
        fr_buf_append(&u, q.buf, q.len);
    }
    {
        fr_buf loc = FR__ZERO_INIT;
        fr__quote_into(&loc, u.buf ? u.buf : "", u.len);
        fr_res_status(req, 307);
        if (loc.buf) fr_res_header_n(req, "location", 8, loc.buf, loc.len);
        fr__add_extra(req, x);
        fr_res_body(req, "", 0);
        fr_buf_free(&loc);
    }
    fr_buf_free(&u);
    fr_buf_free(&path);
    return fr__set_done(req, x);
}

/* check_config, until it succeeds once */
static int fr__check_config(fr__static_mount *m) {
    struct stat st;
    if (fr__atomic_load(&m->checked)) return 0;
    if (stat(m->dir, &st) < 0 || !S_ISDIR(st.st_mode)) return -1;
    fr__atomic_store(&m->checked, 1);
    return 0;
}

/* The request path is text in Python (uvicorn decodes it as UTF-8 with
 * replacement): invalid UTF-8 can name no file Starlette would find. */
static int fr__utf8_ok(fr_str s) {
    size_t i = 0;
    while (i < s.len) {
        unsigned char c = (unsigned char)s.buf[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        size_t k;
        if (!n || i + n > s.len || (n == 2 && c < 0xc2) || (n == 4 && c > 0xf4)) return 0;
        for (k = 1; k < n; k++)
            if (((unsigned char)s.buf[i + k] & 0xc0) != 0x80) return 0;
        if (n == 3) {
            unsigned c1 = (unsigned char)s.buf[i + 1];
            if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0)) return 0;
        }
        if (n == 4) {
            unsigned c1 = (unsigned char)s.buf[i + 1];
            if ((c == 0xf0 && c1 < 0x90) || (c == 0xf4 && c1 >= 0x90)) return 0;
        }
        i += n;
    }
    return 1;
}

static int fr__ends_slash(fr_req *req) {
    fr_str p = fr_req_path(req);
    return p.len && p.buf[p.len - 1] == '/';
}

/* StaticFiles.get_response */
static int fr__static_handler(fr_req *req, void *ud) {
    fr__static_mount *m = (fr__static_mount *)ud;
    fr_str method = fr_req_method(req);
    fr_buf rel = FR__ZERO_INIT;
    char *full = NULL;
    struct stat st;
    int kind, rc, fd = -1;
    if (fr__check_config(m) < 0) return fr_res_text(req, 500, NULL, "Internal Server Error", 21);
    if (!fr_str_eq_c(method, "GET") && !fr_str_eq_c(method, "HEAD")) {
        fr_res_header(req, "allow", "GET, HEAD");
        return fr_res_json(req, 405, "{\"detail\":\"Method Not Allowed\"}", 31);
    }
    {
        fr_str p = fr_req_param(req, "path");
        if (!p.buf) p = fr__str("", 0);
        if (!fr__utf8_ok(p)) kind = FR__LK_NONE;
        else if (fr__normrel(p, &rel) < 0) kind = FR__LK_404; /* NUL: ValueError */
        else kind = fr__lookup_fd(m, rel.buf, &full, &st, &fd);
    }
    if (kind == FR__LK_FILE) {
        rc = fr__send_file(req, m->list, full, &st, 200, 1, fd, NULL);
        fd = -1;
        goto out;
    }
    if (fd >= 0) close(fd);
    fd = -1;
    if (kind == FR__LK_DIR && m->html) {
        fr_buf ix = FR__ZERO_INIT;
        char *f2 = NULL;
        int k2;
        fr_buf_append(&ix, rel.buf, rel.len);
        fr_buf_append_str(&ix, "/index.html");
        fr_buf_append_char(&ix, 0);
        k2 = ix.buf ? fr__lookup(m, ix.buf, &f2, &st) : FR__LK_500;
        fr_buf_free(&ix);
        if (k2 == FR__LK_FILE) {
            if (!fr__ends_slash(req)) rc = fr__redirect_slash(req, NULL);
            else rc = fr__send_file(req, m->list, f2, &st, 200, 1, -1, NULL);
            free(f2);
            goto out;
        }
        free(f2);
        if (k2 >= FR__LK_401) kind = k2;
    }
    if (kind >= FR__LK_401) { /* Starlette raises before looking for 404.html */
        rc = fr__answer_kind(req, kind);
        goto out;
    }
    if (m->html) {
        char *f4 = NULL;
        int k4 = fr__lookup(m, "404.html", &f4, &st);
        if (k4 == FR__LK_FILE) {
            rc = fr__send_file(req, m->list, f4, &st, 404, 0, -1, NULL);
            free(f4);
            goto out;
        }
        free(f4);
    }
    rc = fr__answer_kind(req, FR__LK_404);
out:
    if (fd >= 0) close(fd);
    free(full);
    fr_buf_free(&rel);
    return rc;
}

/* ------------------------------------------------------------------ */
/* app.frontend                                                        */
/* ------------------------------------------------------------------ */

/* _FrontendRoute._get_frontend_path; NULL buf = no match */
static fr_str fr__front_path(const fr__static_mount *m, fr_str rp) {
    fr_str none = {NULL, 0};
    if (m->pathlen == 1) {
        while (rp.len && rp.buf[0] == '/') rp.buf++, rp.len--;
        return rp;
    }
    if (rp.len == m->pathlen && memcmp(rp.buf, m->path, rp.len) == 0) return fr__str(rp.buf + rp.len, 0);
    if (rp.len > m->pathlen && memcmp(rp.buf, m->path, m->pathlen) == 0 && rp.buf[m->pathlen] == '/')
        return fr__str(rp.buf + m->pathlen + 1, rp.len - m->pathlen - 1);
    return none;
}

/* _is_frontend_navigation_request: an Accept item text/html or
 * application/xhtml+xml (email's get_content_type: the text before ';',
 * stripped, lowercased, exactly one '/') whose q param is not 0 */
static int fr__is_navigation(fr_req *req) {
    fr_str acc = fr_req_header(req, "accept");
    const char *p, *e;
    if (!acc.buf) return 0;
    p = acc.buf;
    e = acc.buf + acc.len;
    for (;;) {
        const char *c = (const char *)memchr(p, ',', (size_t)(e - p));
        fr_str item = fr__pystrip(fr__str(p, (size_t)((c ? c : e) - p)));
        const char *semi = (const char *)memchr(item.buf, ';', item.len);
        fr_str t = fr__pystrip(fr__str(item.buf, semi ? (size_t)(semi - item.buf) : item.len));
        if (fr_str_ieq_c(t, "text/html") || fr_str_ieq_c(t, "application/xhtml+xml")) {
            double q = 1.0;
            if (semi) {
                fr_media_type mt;
                fr_str qv;
                char fake[512];
                size_t pl = (size_t)(item.buf + item.len - semi - 1);
                if (pl + 4 < sizeof fake) {
                    memcpy(fake, "a/b;", 4);
                    memcpy(fake + 4, semi + 1, pl);
                    if (fr_media_parse(fr__str(fake, pl + 4), &mt) == 0 && fr_media_param(&mt, "q", &qv)) {
                        char num[64];
                        char *endp;
                        fr_str qs = fr__pystrip(qv);
                        if (qs.len && qs.len < sizeof num) {
                            memcpy(num, qs.buf, qs.len);
                            num[qs.len] = 0;
                            q = strtod(num, &endp);
                            if (*endp) q = 1.0;
                        }
                    }
                }
            }
            if (q != 0) return 1;
        }
        if (!c) break;
        p = c + 1;
    }
    return 0;
}

/* x == NULL: answered; else (fr_frontend_serve) a missing fallback file is
 * left to the caller (500: FastAPI's RuntimeError) */
static int fr__front_fallback(fr_req *req, fr__static_mount *m, const char *name, int status,
                              const fr__extra *x) {
    char *f = NULL;
    struct stat st;
    int k = fr__lookup(m, name, &f, &st), rc;
    if (k != FR__LK_FILE) {
        free(f);
        return fr__fail500(req, x); /* RuntimeError */
    }
    rc = fr__send_file(req, m->list, f, &st, status, 1, -1, x);
    free(f);
    return rc;
}

static int fr__front_exists(fr__static_mount *m, const char *name) {
    char *f = NULL;
    struct stat st;
    int k = fr__lookup(m, name, &f, &st);
    free(f);
    return k == FR__LK_FILE;
}

static int fr__front_404(fr_req *req, const fr__static_mount *m) {
    if (m->not_found) return m->not_found(req, m->not_found_ud);
    return fr__answer_kind(req, FR__LK_404);
}

/* _FrontendStaticFiles.get_response. x == NULL: the route's own answer
 * (every outcome answered and sent); else fr_frontend_serve's: x's headers
 * join an answer that is set, not sent, and the outcomes FastAPI raises as
 * exceptions inside the dependencies (401, 404, 405, 500) are returned
 * with nothing set. */
static int fr__front_answer(fr_req *req, fr__static_mount *m, const fr__extra *x) {
    fr_str method = fr_req_method(req), fp = fr__front_path(m, fr_req_path(req));
    fr_buf rel = FR__ZERO_INIT, ix = FR__ZERO_INIT;
    char *full = NULL;
    struct stat st;
    int kind, rc, is_index = 0, fd = -1;
    if (fr__check_config(m) < 0) return fr__fail500(req, x);
    if (!fp.buf) fp = fr__str("", 0);
    if (!fr__utf8_ok(fp)) kind = FR__LK_NONE;
    else if (fr__normrel(fp, &rel) < 0) kind = FR__LK_404;
    else kind = fr__lookup_fd(m, rel.buf, &full, &st, &fd);
    if (kind != FR__LK_FILE && fd >= 0) {
        close(fd);
        fd = -1;
    }
    if (kind == FR__LK_DIR) { /* _lookup_static_resource: the directory's index.html */
        free(full);
        full = NULL;
        fr_buf_append(&ix, rel.buf, rel.len);
        fr_buf_append_str(&ix, "/index.html");
        fr_buf_append_char(&ix, 0);
        kind = ix.buf ? fr__lookup(m, ix.buf, &full, &st) : FR__LK_500;
        is_index = 1;
    }
    if (kind == FR__LK_401 || kind == FR__LK_404 || kind == FR__LK_500) {
        if (x) rc = kind == FR__LK_401 ? 401 : kind == FR__LK_404 ? 404 : 500;
        else rc = kind == FR__LK_404 ? fr__front_404(req, m) : fr__answer_kind(req, kind);
        goto out;
    }
    if (!fr_str_eq_c(method, "GET") && !fr_str_eq_c(method, "HEAD")) {
        if (kind == FR__LK_FILE && x) rc = 405;
        else if (kind == FR__LK_FILE && m->not_allowed) rc = m->not_allowed(req, m->not_allowed_ud);
        else if (kind == FR__LK_FILE) rc = fr_res_json(req, 405, "{\"detail\":\"Method Not Allowed\"}", 31);
        else rc = x ? 404 : fr__front_404(req, m);
        goto out;
    }
    if (kind == FR__LK_FILE) {
        if (is_index && !fr__ends_slash(req)) rc = fr__redirect_slash(req, x);
        else {
            rc = fr__send_file(req, m->list, full, &st, 200, 1, fd, x);
            fd = -1;
        }
        goto out;
    }
    if (m->fallback == FR_FRONTEND_404 || (m->fallback == FR_FRONTEND_AUTO && fr__front_exists(m, "404.html"))) {
        rc = fr__front_fallback(req, m, "404.html", 404, x);
        goto out;
    }
    if ((m->fallback == FR_FRONTEND_INDEX ||
         (m->fallback == FR_FRONTEND_AUTO && fr__front_exists(m, "index.html"))) &&
        fr__is_navigation(req)) {
        rc = fr__front_fallback(req, m, "index.html", 200, x);
        goto out;
    }
    rc = x ? 404 : fr__front_404(req, m);
out:
    if (fd >= 0) close(fd);
    free(full);
    fr_buf_free(&rel);
    fr_buf_free(&ix);
    return rc;
}

static int fr__front_handler(fr_req *req, void *ud) {
    fr__static_mount *m = (fr__static_mount *)ud;
    fr_str method = fr_req_method(req);
    /* _FrontendRouteGroup.handle: the dependencies run for a full match */
    if (m->guard && (fr_str_eq_c(method, "GET") || fr_str_eq_c(method, "HEAD")))
        return m->guard(req, m->guard_ud);
    return fr__front_answer(req, m, NULL);
}

/* The router found nothing: the most specific frontend whose path covers
 * the request (Router._match_low_priority). */
FR__PRIV fr_handler fr__static_low(fr_app *app, fr_req *req, void **ud) {
    fr__static_list *l = *fr__app_statics(app);
    fr__static_mount *m, *best = NULL;
    size_t spec = 0;
    fr_str rp = fr_req_path(req);
    if (!l) return NULL;
    for (m = l->mounts; m; m = m->next) {
        size_t s;
        if (!m->front || !fr__front_path(m, rp).buf) continue;
        s = m->pathlen == 1 ? 0 : m->pathlen;
        if (!best || s > spec) {
            best = m;
            spec = s;
        }
    }
    if (!best) return NULL;
    *ud = best;
    return fr__front_handler;
}

int fr_frontend_serve(fr_req *req, const fr_header *headers, size_t n) {
    fr__extra x;
    void *ud = NULL;
    if (!req || (n && !headers) || fr_req_match_status(req) != FR_MATCH_NOT_FOUND ||
        !fr__static_low(fr_req_app(req), req, &ud))
        return -1; /* a request some route took is under no frontend */
    x.h = headers;
    x.n = n;
    return fr__front_answer(req, (fr__static_mount *)ud, &x);
}

/* ------------------------------------------------------------------ */
/* registration                                                        */
/* ------------------------------------------------------------------ */

static fr__static_mount *fr__mount_new(fr_app *app, const char *directory) {
    fr__static_list *l = fr__static_list_of(app);
    fr__static_mount *m;
    if (!l) return NULL;
    m = (fr__static_mount *)FR_MALLOC(sizeof *m);
    if (!m) return NULL;
    memset((void *)m, 0, sizeof *m);
    fr__atomic_init(&m->checked, 0);
    m->list = l;
    m->dir = fr__strdup(directory);
    if (!m->dir) {
        FR_FREE(m);
        return NULL;
    }
    m->next = l->mounts;
    l->mounts = m;
    return m;
}

static int fr__is_dir(const char *d) {
    struct stat st;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

int fr_app_static(fr_app *app, const char *prefix, const char *directory, const fr_static_opts *opts) {
    fr_static_opts o;
    fr__static_mount *m;
    fr_buf pat = FR__ZERO_INIT;
    size_t pl;
    int rc;
    if (!app || !prefix || !directory) return -1;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    pl = strlen(prefix);
    while (pl && prefix[pl - 1] == '/') pl--; /* Mount: path.rstrip("/") */
    if (pl && prefix[0] != '/') return -1;
    if (o.check_dir && !fr__is_dir(directory)) return -1;
    m = fr__mount_new(app, directory);
    if (!m) return -1;
    m->html = !!o.html;
    m->follow = !!o.follow_symlink;
    if (fr_buf_append(&pat, prefix, pl) < 0 || fr_buf_append_str(&pat, "/{path:path}") < 0 ||
        fr_buf_append_char(&pat, 0) < 0) {
        fr_buf_free(&pat);
        return -1;
    }
    rc = fr_route(app, "*", pat.buf, fr__static_handler, m);
    fr_buf_free(&pat);
    return rc;
}

int fr_app_frontend(fr_app *app, const char *path, const char *directory, const fr_frontend_opts *opts) {
    fr_frontend_opts o;
    fr__static_mount *m;
    size_t pl;
    if (!app || !path || !directory || path[0] != '/') return -1;
    memset(&o, 0, sizeof o);
    if (opts) o = *opts;
    if (o.fallback < FR_FRONTEND_AUTO || o.fallback > FR_FRONTEND_NONE) return -1;
    pl = strlen(path);
    while (pl > 1 && path[pl - 1] == '/') pl--; /* _normalize_frontend_path */
    if (o.check_dir && !fr__is_dir(directory)) return -1;
    m = fr__mount_new(app, directory);
    if (!m) return -1;
    m->html = 1;
    m->front = 1;
    m->fallback = o.fallback;
    m->not_found = o.not_found;
    m->not_found_ud = o.not_found_ud;
    m->guard = o.guard;
    m->guard_ud = o.guard_ud;
    m->not_allowed = o.not_allowed;
    m->not_allowed_ud = o.not_allowed_ud;
    m->path = (char *)FR_MALLOC(pl + 1);
    if (!m->path) return -1;
    memcpy(m->path, path, pl);
    m->path[pl] = 0;
    m->pathlen = pl;
    if (o.check_dir && (o.fallback == FR_FRONTEND_INDEX || o.fallback == FR_FRONTEND_404) &&
        !fr__front_exists(m, o.fallback == FR_FRONTEND_INDEX ? "index.html" : "404.html")) {
        m->front = 0; /* stays registered (freed with the app) but never answers */
        return -1;
    }
    return 0;
}
