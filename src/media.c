/* ---- media.c: media types (Content-Type, RFC 9110 section 8.3.1) ---- */
#include "internal.h"

/* RFC 9110 tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA */
static int fr__media_tchar(unsigned c) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return 1;
    if (c >= '0' && c <= '9') return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", (int)c) != NULL;
}

static int fr__media_ows(unsigned c) { return c == ' ' || c == '\t'; }

/* Length of the token at s[0..n) (0 when none). */
static size_t fr__media_token(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && fr__media_tchar((unsigned char)s[i])) i++;
    return i;
}

int fr_media_parse(fr_str value, fr_media_type *out) {
    const char *p = value.buf, *end, *semi, *slash;
    fr_media_type mt;
    if (!out) return -1;
    memset(out, 0, sizeof *out);
    if (!p) return -1;
    end = p + value.len;
    semi = (const char *)memchr(p, ';', value.len);
    mt.params.buf = semi ? semi + 1 : end;
    mt.params.len = semi ? (size_t)(end - (semi + 1)) : 0;
    if (semi) end = semi;
    while (p < end && fr__media_ows((unsigned char)*p)) p++;
    while (end > p && fr__media_ows((unsigned char)end[-1])) end--;
    slash = (const char *)memchr(p, '/', (size_t)(end - p));
    if (!slash) return -1;
    mt.type.buf = p;
    mt.type.len = (size_t)(slash - p);
    mt.subtype.buf = slash + 1;
    mt.subtype.len = (size_t)(end - (slash + 1));
    if (mt.type.len == 0 || fr__media_token(mt.type.buf, mt.type.len) != mt.type.len) return -1;
    if (mt.subtype.len == 0 || fr__media_token(mt.subtype.buf, mt.subtype.len) != mt.subtype.len)
        return -1;
    *out = mt;
    return 0;
}

/* Skip to just past the next ';' (or to the end). */
static size_t fr__media_skip(const fr_str *s, size_t i) {
    const char *semi = (const char *)memchr(s->buf + i, ';', s->len - i);
    return semi ? (size_t)(semi - s->buf) + 1 : s->len;
}

/* A quoted-string starting at s[i] (the opening quote). Returns the index
 * after the closing quote and sets the inner view, or 0 when unterminated. */
static size_t fr__media_quoted(const fr_str *s, size_t i, fr_str *v, int *esc) {
    size_t j = i + 1;
    *esc = 0;
    while (j < s->len && s->buf[j] != '"') {
        if (s->buf[j] == '\\') {
            if (j + 1 == s->len) return 0;
            *esc = 1;
            j++;
        }
        j++;
    }
    if (j == s->len) return 0;
    v->buf = s->buf + i + 1;
    v->len = j - (i + 1);
    return j + 1;
}

int fr_media_next_param(const fr_media_type *mt, size_t *pos, fr_str *name, fr_str *value,
                        int *quoted_escapes) {
    const fr_str *s;
    size_t i;
    if (!mt || !pos || !mt->params.buf) return 0;
    s = &mt->params;
    i = *pos;
    while (i < s->len) {
        fr_str n, v;
        size_t t;
        int esc = 0;
        while (i < s->len && fr__media_ows((unsigned char)s->buf[i])) i++;
        if (i == s->len) break;
        if (s->buf[i] == ';') { /* empty parameter */
            i++;
            continue;
        }
        t = fr__media_token(s->buf + i, s->len - i);
        if (t == 0 || i + t == s->len || s->buf[i + t] != '=') {
            i = fr__media_skip(s, i);
            continue;
        }
        n.buf = s->buf + i;
        n.len = t;
        i += t + 1;
        if (i < s->len && s->buf[i] == '"') {
            size_t after = fr__media_quoted(s, i, &v, &esc);
            if (!after) break; /* unterminated: nothing more to read */
            i = after;
        } else {
            t = fr__media_token(s->buf + i, s->len - i);
            v.buf = s->buf + i;
            v.len = t;
            i += t;
            if (t == 0) {
                i = fr__media_skip(s, i);
                continue;
            }
        }
        while (i < s->len && fr__media_ows((unsigned char)s->buf[i])) i++;
        if (i < s->len && s->buf[i] != ';') { /* junk after the value */
            i = fr__media_skip(s, i);
            continue;
        }
        *pos = i;
        if (name) *name = n;
        if (value) *value = v;
        if (quoted_escapes) *quoted_escapes = esc;
        return 1;
    }
    *pos = s->len;
    return 0;
}

int fr_media_param(const fr_media_type *mt, const char *name, fr_str *value) {
    size_t pos = 0;
    fr_str n, v;
    if (!name) return 0;
    while (fr_media_next_param(mt, &pos, &n, &v, NULL)) {
        if (fr_str_ieq_c(n, name)) {
            if (value) *value = v;
            return 1;
        }
    }
    return 0;
}

/* ASCII case-insensitive equality of s[0..n) and the lowercase `lit`. */
static int fr__media_ieq(const char *s, size_t n, const char *lit) {
    size_t i;
    for (i = 0; i < n; i++)
        if (!lit[i] || fr__tolower((unsigned char)s[i]) != lit[i]) return 0;
    return lit[n] == 0;
}

/* FastAPI decides with email.message.Message: the text before the first
 * ';', str.strip()ed (Latin-1 whitespace) and lowercased, must hold exactly
 * one '/', else the type is text/plain; no other whitespace is removed, so
 * "application /json" is not JSON. Lowercasing a Latin-1 character never
 * gives an ASCII one, so an ASCII case-insensitive compare is exact. */
int fr_media_is_json(fr_str content_type) {
    const char *p = content_type.buf, *end, *semi, *slash;
    size_t sub;
    if (!p) return 0;
    end = p + content_type.len;
    semi = (const char *)memchr(p, ';', content_type.len);
    if (semi) end = semi;
    while (p < end && fr__py_space((unsigned char)*p)) p++;
    while (end > p && fr__py_space((unsigned char)end[-1])) end--;
    slash = (const char *)memchr(p, '/', (size_t)(end - p));
    if (!slash || memchr(slash + 1, '/', (size_t)(end - (slash + 1)))) return 0;
    if (!fr__media_ieq(p, (size_t)(slash - p), "application")) return 0;
    sub = (size_t)(end - (slash + 1));
    return fr__media_ieq(slash + 1, sub, "json") ||
           (sub >= 5 && fr__media_ieq(end - 5, 5, "+json"));
}

int fr_media_is(fr_str content_type, const char *mime) {
    fr_media_type mt;
    const char *slash;
    size_t tl;
    if (!mime || fr_media_parse(content_type, &mt) < 0) return 0;
    slash = strchr(mime, '/');
    if (!slash) return 0;
    tl = (size_t)(slash - mime);
    return mt.type.len == tl && mt.subtype.len == strlen(slash + 1) &&
           fr_str_ieq(mt.type, fr__str(mime, tl)) && fr_str_ieq_c(mt.subtype, slash + 1);
}
