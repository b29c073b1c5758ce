/* ---- security.h: FastAPI's built-in security schemes, decided in C ----
 *
 * fastapi.security's classes read one credential from the request and
 * either return it or answer 401 "Not authenticated" with a
 * WWW-Authenticate challenge. fr_security_check does exactly that for a
 * scheme described by an fr_security, so neither face needs a Request
 * object or an event-loop hop for them:
 *
 *   kind                  FastAPI class            reads / value on FR_SEC_OK
 *   FR_SEC_OAUTH2         OAuth2                   Authorization: a = the whole value
 *   FR_SEC_OAUTH2_BEARER  OAuth2PasswordBearer,    Authorization "Bearer x":
 *                         OAuth2AuthorizationCodeBearer    a = x (may be EMPTY)
 *   FR_SEC_OPENID         OpenIdConnect            Authorization: a = the whole value
 *   FR_SEC_HTTP_BASE      HTTPBase(scheme=...)     Authorization "S x": a = S, b = x
 *   FR_SEC_HTTP_BEARER    HTTPBearer               ... S must be "bearer": a = S, b = x
 *   FR_SEC_HTTP_DIGEST    HTTPDigest               ... S must be "digest": a = S, b = x
 *   FR_SEC_HTTP_BASIC     HTTPBasic                "Basic base64(u:p)": a = u, b = p
 *   FR_SEC_APIKEY_HEADER  APIKeyHeader             header `name`: a = its value
 *   FR_SEC_APIKEY_QUERY   APIKeyQuery              query parameter `name`: a = decoded
 *   FR_SEC_APIKEY_COOKIE  APIKeyCookie             cookie `name`: a = decoded
 *
 * Parsing (FastAPI's get_authorization_scheme_param, see fr_auth_parse): S
 * is the value up to the first ' ', x the rest stripped of whitespace.
 * Scheme names compare case-insensitively. Header values are the first
 * header of that name (Starlette's headers.get); query values are the last
 * of their key (query_params.get); cookies are Starlette's request.cookies:
 * every Cookie header is parsed in order and a later pair replaces an
 * earlier one, so the last occurrence wins (see query.h for decoding).
 *
 * What counts as missing, exactly as in FastAPI 0.165:
 *   - an absent or empty header / query value / cookie (all kinds);
 *   - HTTP_BASE/BEARER/DIGEST: an empty S or an empty x too ("Bearer",
 *     "Bearer   ", " x"), and for BEARER/DIGEST a different S;
 *   - OAUTH2_BEARER and HTTP_BASIC: a different S only. "Bearer" alone is
 *     FR_SEC_OK with an empty token for OAUTH2_BEARER (FastAPI returns "");
 *   - OAUTH2/OPENID: only an absent/empty header; any value is returned.
 * Missing gives FR_SEC_DENY (status 401, detail "Not authenticated", the
 * scheme's challenge), or FR_SEC_NONE (FastAPI returns None) when
 * auto_error is 0. HTTP Basic credentials that are present ("Basic ..."
 * with any case of "basic") but undecodable (bad base64, non-ASCII, no
 * ':', or empty as in "Basic") are FR_SEC_DENY even when auto_error is 0,
 * as FastAPI does.
 *
 * Challenges (WWW-Authenticate): OAUTH2, OAUTH2_BEARER, OPENID "Bearer";
 * API keys "APIKey"; HTTP_BEARER "Bearer"; HTTP_DIGEST "Digest";
 * HTTP_BASIC 'Basic realm="<realm>"' (realm copied as is, not escaped), or
 * "Basic" when realm is NULL or empty; HTTP_BASE the scheme title-cased
 * like Python's str.title() ("bearer" -> "Bearer", "x509cert" ->
 * "X509Cert"; ASCII rules: bytes >= 0x80 are copied unchanged and count as
 * letters, so a non-ASCII scheme name may differ from Python's). An empty
 * HTTP_BASE scheme gives an empty challenge, as in FastAPI.
 *
 * Text: a and b views into the Authorization / API key header are raw
 * header bytes (Latin-1, as Starlette decodes headers); HTTP Basic user and
 * password are ASCII; query and cookie values are UTF-8 (fr_kv_decode). */

enum {
    FR_SEC_OAUTH2 = 1, FR_SEC_OAUTH2_BEARER, FR_SEC_OPENID, FR_SEC_HTTP_BASE, FR_SEC_HTTP_BEARER,
    FR_SEC_HTTP_DIGEST, FR_SEC_HTTP_BASIC, FR_SEC_APIKEY_HEADER, FR_SEC_APIKEY_QUERY,
    FR_SEC_APIKEY_COOKIE
};
enum { FR_SEC_OK = 0, FR_SEC_NONE = 1, FR_SEC_DENY = 2 };

typedef struct fr_security {
    int kind;             /* FR_SEC_* */
    int auto_error;       /* 1 = deny, 0 = FR_SEC_NONE when missing */
    const char *name;     /* API keys: header/query/cookie name (NULL = never present) */
    const char *scheme;   /* FR_SEC_HTTP_BASE: HTTPBase(scheme=...), title-cased for
                             the challenge (NULL = "") */
    const char *realm;    /* FR_SEC_HTTP_BASIC: realm for the challenge, or NULL */
} fr_security;

typedef struct fr_security_result {
    fr_str a, b;               /* FR_SEC_OK: see the table above; views into the
                                  inputs (the request) or the arena. a.buf is never
                                  NULL on FR_SEC_OK, even when a.len is 0 (an empty
                                  OAuth2 bearer token); b is {NULL, 0} for one-value
                                  kinds. Both {NULL, 0} otherwise. */
    int status;                /* FR_SEC_DENY: 401; else 0 */
    const char *detail;        /* FR_SEC_DENY: "Not authenticated" (static); else NULL */
    const char *challenge;     /* FR_SEC_DENY: the WWW-Authenticate value, NUL-
                                  terminated: a static string, s->scheme itself, or
                                  a copy in the arena (HTTP_BASE scheme that needs
                                  title-casing, Basic realm), so any length fits;
                                  valid while *s and the arena are. Else NULL. */
} fr_security_result;

/* Decide for one scheme from the request's parsed views (first
 * Authorization header, first header `name`, the raw query string, the
 * Cookie headers). Decoded values (query/cookie values, Basic credentials)
 * and formatted challenges live in the request arena.
 * Returns FR_SEC_OK, FR_SEC_NONE or FR_SEC_DENY; -1 on OOM or bad arguments
 * (NULL req/s/out, unknown kind); *out is then all zero. */
FR_API int fr_security_check(fr_req *req, const fr_security *s, fr_security_result *out);
/* The same decision from plain inputs (no fr_req): the Authorization value
 * (buf NULL = absent), the API key header value (buf NULL = absent), the
 * raw query string (without '?') and the Cookie header value (several
 * Cookie headers: join them with ';' -- Starlette's merge is the same as
 * parsing the joined text). Only the inputs the kind reads are looked at.
 * Decoded values and formatted challenges go to the arena; arena may be
 * NULL for kinds that never need it (OAuth2, OpenID, HTTP bearer/digest,
 * API key header) -- otherwise NULL arena -> -1. For tests, fuzzing and
 * hosts with their own request type. Returns as fr_security_check. */
FR_API int fr_security_decide(const fr_security *s, fr_str authorization, fr_str key_header,
                              fr_str query, fr_str cookie, fr_arena *arena,
                              fr_security_result *out);
