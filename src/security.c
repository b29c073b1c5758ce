/* ---- security.c: FastAPI's security schemes (see security.h) ---- */
#include "internal.h"

static const fr_str fr__sec_absent = {NULL, 0};

static int fr__sec_is_authorization_kind(int kind) {
    return kind >= FR_SEC_OAUTH2 && kind <= FR_SEC_HTTP_BASIC;
}

/* Python's str.title() for ASCII (bytes >= 0x80: unchanged, cased). The
 * scheme itself when it is already title-cased, else a copy in the arena;
 * NULL on OOM. */
static const char *fr__sec_title(const char *scheme, fr_arena *arena) {
    size_t i, n = strlen(scheme);
    int prev_cased = 0, same = 1;
    char *t;
    for (i = 0; i < n && same; i++) {
        unsigned char c = (unsigned char)scheme[i];
        int lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if ((prev_cased && upper) || (!prev_cased && lower)) same = 0;
        prev_cased = lower || upper || c >= 0x80;
    }
    if (same) return scheme;
    if (!arena || !(t = fr_arena_strdup(arena, scheme, n))) return NULL;
    for (i = 0, prev_cased = 0; i < n; i++) {
        unsigned char c = (unsigned char)t[i];
        int lower = c >= 'a' && c <= 'z', upper = c >= 'A' && c <= 'Z';
        if (prev_cased && upper) t[i] = (char)(c + 32);
        else if (!prev_cased && lower) t[i] = (char)(c - 32);
        prev_cased = lower || upper || c >= 0x80;
    }
    return t;
}

/* The WWW-Authenticate value for a denial; NULL on OOM. */
static const char *fr__sec_challenge(const fr_security *s, fr_arena *arena) {
    switch (s->kind) {
    case FR_SEC_HTTP_BASE:
        return fr__sec_title(s->scheme ? s->scheme : "", arena);
    case FR_SEC_HTTP_DIGEST:
        return "Digest";
    case FR_SEC_HTTP_BASIC:
        if (s->realm && s->realm[0]) {
            static const char pre[] = "Basic realm=\"";
            size_t rn = strlen(s->realm), pn = sizeof pre - 1;
            char *c;
            if (!arena || rn > SIZE_MAX - pn - 2) return NULL;
            if (!(c = (char *)fr_arena_alloc(arena, pn + rn + 2))) return NULL;
            memcpy(c, pre, pn);
            memcpy(c + pn, s->realm, rn);
            c[pn + rn] = '"';
            c[pn + rn + 1] = '\0';
            return c;
        }
        return "Basic";
    case FR_SEC_APIKEY_HEADER:
    case FR_SEC_APIKEY_QUERY:
    case FR_SEC_APIKEY_COOKIE:
        return "APIKey";
    default: /* OAuth2 flavours, OpenID Connect, HTTP bearer */
        return "Bearer";
    }
}

/* Missing credentials: FR_SEC_NONE, or FR_SEC_DENY when forced or auto_error. */
static int fr__sec_missing(const fr_security *s, int force_deny, fr_arena *arena,
                           fr_security_result *out) {
    if (!force_deny && !s->auto_error) return FR_SEC_NONE;
    if (!(out->challenge = fr__sec_challenge(s, arena))) return -1;
    out->status = 401;
    out->detail = "Not authenticated";
    return FR_SEC_DENY;
}

/* A query or cookie value `name`, decoded into the arena: 1 found and
 * non-empty, 0 missing, -1 OOM. */
static int fr__sec_kv_value(int kind, fr_str src, const char *name, fr_arena *arena,
                            fr_str *val) {
    fr_str raw;
    char *dst;
    size_t cap;
    long n;
    if (!name || !src.len || !fr_kv_find(src, kind, fr_str_c(name), FR_KV_LAST, &raw)) return 0;
    if (raw.len > (SIZE_MAX - 4) / 2 || !arena) return -1;
    cap = FR_KV_DECODED_MAX(raw.len);
    if (!(dst = (char *)fr_arena_alloc(arena, cap))) return -1;
    n = fr_kv_decode(kind, raw, dst, cap);
    if (n < 0) return -1;
    val->buf = dst;
    val->len = (size_t)n;
    return n > 0;
}

/* HTTP Basic after the scheme matched: 0 decoded into *out, 1 undecodable,
 * -1 OOM. */
static int fr__sec_basic(fr_str param, fr_arena *arena, fr_security_result *out) {
    size_t cap = fr_base64_decoded_len(param.len) + 1; /* +1: never a 0-byte alloc */
    char *buf;
    if (!arena || !(buf = (char *)fr_arena_alloc(arena, cap))) return -1;
    return fr_auth_basic_decode(param, buf, cap, &out->a, &out->b) == 0 ? 0 : 1;
}

/* The decision itself (out zeroed, s valid); see security.h. */
static int fr__sec_decide(const fr_security *s, fr_str authorization, fr_str key_header,
                          fr_str query, fr_str cookie, fr_arena *arena, fr_security_result *out) {
    fr_str scheme, param;
    int present, rc;
    present = fr__sec_is_authorization_kind(s->kind) && fr_auth_parse(authorization, &scheme, &param);

    switch (s->kind) {
    case FR_SEC_OAUTH2:
    case FR_SEC_OPENID:
        if (!present) return fr__sec_missing(s, 0, arena, out);
        out->a = authorization;
        return FR_SEC_OK;
    case FR_SEC_OAUTH2_BEARER:
        if (!present || !fr_str_ieq_c(scheme, "bearer")) return fr__sec_missing(s, 0, arena, out);
        out->a = param; /* never NULL: fr_auth_parse points it into the header */
        return FR_SEC_OK;
    case FR_SEC_HTTP_BASE:
    case FR_SEC_HTTP_BEARER:
    case FR_SEC_HTTP_DIGEST:
        if (!present || !scheme.len || !param.len ||
            (s->kind == FR_SEC_HTTP_BEARER && !fr_str_ieq_c(scheme, "bearer")) ||
            (s->kind == FR_SEC_HTTP_DIGEST && !fr_str_ieq_c(scheme, "digest")))
            return fr__sec_missing(s, 0, arena, out);
        out->a = scheme;
        out->b = param;
        return FR_SEC_OK;
    case FR_SEC_HTTP_BASIC:
        if (!present || !fr_str_ieq_c(scheme, "basic")) return fr__sec_missing(s, 0, arena, out);
        rc = fr__sec_basic(param, arena, out);
        if (rc > 0) {
            out->a = out->b = fr__sec_absent;
            return fr__sec_missing(s, 1, arena, out); /* even without auto_error */
        }
        return rc < 0 ? -1 : FR_SEC_OK;
    case FR_SEC_APIKEY_HEADER:
        if (!s->name || !key_header.buf || !key_header.len) return fr__sec_missing(s, 0, arena, out);
        out->a = key_header;
        return FR_SEC_OK;
    default: /* FR_SEC_APIKEY_QUERY, FR_SEC_APIKEY_COOKIE */
        rc = fr__sec_kv_value(s->kind == FR_SEC_APIKEY_QUERY ? FR_KV_QUERY : FR_KV_COOKIE,
                              s->kind == FR_SEC_APIKEY_QUERY ? query : cookie, s->name, arena,
                              &out->a);
        if (rc <= 0) {
            out->a = fr__sec_absent;
            return rc < 0 ? -1 : fr__sec_missing(s, 0, arena, out);
        }
        return FR_SEC_OK;
    }
}

int fr_security_decide(const fr_security *s, fr_str authorization, fr_str key_header,
                       fr_str query, fr_str cookie, fr_arena *arena, fr_security_result *out) {
    int rc;
    if (!out) return -1;
    memset(out, 0, sizeof *out);
    if (!s || s->kind < FR_SEC_OAUTH2 || s->kind > FR_SEC_APIKEY_COOKIE) return -1;
    rc = fr__sec_decide(s, authorization, key_header, query, cookie, arena, out);
    if (rc < 0) memset(out, 0, sizeof *out);
    return rc;
}

/* Starlette merges every Cookie header in order (later pairs win): the one
 * that matters for `name` is the last Cookie header that has it. */
static fr_str fr__sec_cookie_header(const fr_req *req, const char *name) {
    fr_str hn, hv, raw;
    size_t i = fr_req_num_headers(req);
    while (name && i-- > 0) {
        if (fr_req_header_at(req, i, &hn, &hv) < 0 || !fr_str_ieq_c(hn, "cookie")) continue;
        if (fr_kv_find(hv, FR_KV_COOKIE, fr_str_c(name), FR_KV_LAST, &raw)) return hv;
    }
    return fr__sec_absent;
}

int fr_security_check(fr_req *req, const fr_security *s, fr_security_result *out) {
    fr_str auth = fr__sec_absent, key = fr__sec_absent, query = fr__sec_absent,
           cookie = fr__sec_absent;
    if (!req || !s) {
        if (out) memset(out, 0, sizeof *out);
        return -1;
    }
    if (fr__sec_is_authorization_kind(s->kind)) auth = fr_req_header(req, "authorization");
    else if (s->kind == FR_SEC_APIKEY_HEADER && s->name) key = fr_req_header(req, s->name);
    else if (s->kind == FR_SEC_APIKEY_QUERY) query = fr_req_query(req);
    else if (s->kind == FR_SEC_APIKEY_COOKIE) cookie = fr__sec_cookie_header(req, s->name);
    return fr_security_decide(s, auth, key, query, cookie, fr_req_arena(req), out);
}
