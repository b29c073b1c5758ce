/* ---- query.h: query strings, urlencoded forms and Cookie headers ----
 *
 * One decoder for the three places a request carries key/value pairs, with
 * Starlette's rules (what FastAPI users see in request.query_params,
 * request.form() and request.cookies):
 *
 *   FR_KV_QUERY   query strings and application/x-www-form-urlencoded bodies
 *                 (urllib.parse.parse_qsl(s, keep_blank_values=True)):
 *                 pairs are split on '&' only, each on its first '='; a part
 *                 without '=' is a key with an empty value; empty parts are
 *                 skipped. Keys and values decode '+' as a space and %XX
 *                 escapes (malformed escapes stay literally).
 *   FR_KV_COOKIE  a Cookie header (Starlette's cookie_parser): pairs split
 *                 on ';', each on its first '='; a part without '=' is a
 *                 value with the empty key; key and value trimmed of
 *                 whitespace (Python's str.strip() on the Latin-1 text);
 *                 parts whose key and value are both empty are skipped;
 *                 values (never keys) are unquoted like
 *                 http.cookies._unquote ("..." with \" \\ and \ooo octal
 *                 escapes); nothing is percent-decoded.
 *
 * Iteration yields RAW views into the input (nothing is decoded or copied);
 * fr_kv_decode / fr_kv_decode_key turn a raw value / key into text.
 * Decoded text is always valid UTF-8, equal to what Python gives for
 * unquote_plus(raw.decode("latin-1")) (query) or the cookie rules above:
 * bytes produced by %XX escapes are decoded as UTF-8 with each invalid
 * sequence replaced by U+FFFD (errors="replace"), raw bytes >= 0x80 are
 * Latin-1 characters. The decoded length is at most FR_KV_DECODED_MAX(raw).
 *
 * Repeated keys: Starlette's mappings keep the LAST value for
 * `params[key]` / `.get(key)` and all of them for `.getlist(key)`;
 * fr_kv_find gives the first or the last, fr_kv_key_eq lets a caller visit
 * all values in order. */

enum { FR_KV_QUERY = 0, FR_KV_COOKIE = 1 };
enum { FR_KV_FIRST = 0, FR_KV_LAST = 1 };

/* Upper bound of a decoded key/value for a raw length n. */
#define FR_KV_DECODED_MAX(n) ((n) * 2 + 4)

typedef struct fr_kv_iter {
    const char *buf; /* the whole input */
    size_t len, pos;
    int kind;        /* FR_KV_QUERY or FR_KV_COOKIE */
} fr_kv_iter;

/* Start iterating over src (buf may be NULL when len is 0). */
FR_API void fr_kv_iter_init(fr_kv_iter *it, fr_str src, int kind);
/* Next pair as raw views into src (for cookies: already trimmed, quotes
 * still on). 1 = a pair, 0 = no more. */
FR_API int fr_kv_next(fr_kv_iter *it, fr_str *key, fr_str *value);
/* Decode a raw value of `kind` into dst (cap bytes; cap >=
 * FR_KV_DECODED_MAX(raw.len) always suffices). Returns the decoded length,
 * or -1 if cap is too small or kind is unknown. dst must not overlap raw.
 * For FR_KV_QUERY keys and values decode alike; a cookie key must go
 * through fr_kv_decode_key (it is never unquoted). */
FR_API long fr_kv_decode(int kind, fr_str raw, char *dst, size_t cap);
/* The same for a raw key: cookie names are only converted from Latin-1 to
 * UTF-8 ("\"a\"" stays "\"a\""); query keys decode like values. */
FR_API long fr_kv_decode_key(int kind, fr_str raw, char *dst, size_t cap);
/* 1 if raw key `raw` decodes (fr_kv_decode_key) to exactly `key`, without
 * allocating. */
FR_API int fr_kv_key_eq(int kind, fr_str raw, fr_str key);
/* Find `key` (compared after decoding) in src: which = FR_KV_FIRST or
 * FR_KV_LAST. 1 and *raw_value set (a raw view; decode it with fr_kv_decode)
 * when found, 0 when absent. */
FR_API int fr_kv_find(fr_str src, int kind, fr_str key, int which, fr_str *raw_value);
/* Number of pairs whose key is `key`. */
FR_API size_t fr_kv_count(fr_str src, int kind, fr_str key);
