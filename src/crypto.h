/* ---- crypto.h: SHA-1, SHA-256, HMAC-SHA256, base64, constant-time compare,
 *      and Authorization header parsing (FastAPI's security utilities) ----
 *
 * These are the small primitives the engine needs (WebSocket accept keys,
 * signed session cookies, HTTP Basic credentials). They are not a general
 * crypto library: no ciphers, no random numbers. SHA-1 is here only because
 * RFC 6455 requires it; never use it for anything security-relevant.
 *
 * All functions are pure (no allocation, no global state) and thread-safe. */

/* ---- hashes: one-shot and incremental ---- */

typedef struct fr_sha1_ctx {
    uint32_t h[5];
    uint64_t nbytes; /* total bytes hashed so far */
    uint8_t block[64];
    size_t used; /* bytes pending in block */
} fr_sha1_ctx;

FR_API void fr_sha1_init(fr_sha1_ctx *c);
FR_API void fr_sha1_update(fr_sha1_ctx *c, const void *data, size_t len);
FR_API void fr_sha1_final(fr_sha1_ctx *c, uint8_t out[20]); /* c must be re-inited to reuse */
FR_API void fr_sha1(const void *data, size_t len, uint8_t out[20]);

typedef struct fr_sha256_ctx {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t block[64];
    size_t used;
} fr_sha256_ctx;

FR_API void fr_sha256_init(fr_sha256_ctx *c);
FR_API void fr_sha256_update(fr_sha256_ctx *c, const void *data, size_t len);
FR_API void fr_sha256_final(fr_sha256_ctx *c, uint8_t out[32]);
FR_API void fr_sha256(const void *data, size_t len, uint8_t out[32]);

/* HMAC-SHA256 (RFC 2104 / RFC 4231). Keys longer than 64 bytes are hashed
 * first, as the RFC says. */
typedef struct fr_hmac_sha256_ctx {
    fr_sha256_ctx inner, outer;
} fr_hmac_sha256_ctx;

FR_API void fr_hmac_sha256_init(fr_hmac_sha256_ctx *c, const void *key, size_t klen);
FR_API void fr_hmac_sha256_update(fr_hmac_sha256_ctx *c, const void *data, size_t len);
FR_API void fr_hmac_sha256_final(fr_hmac_sha256_ctx *c, uint8_t out[32]);
FR_API void fr_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                           uint8_t out[32]);

/* 1 if the n bytes at a and b are equal, else 0. Time depends only on n,
 * never on the data (use it to compare MACs and tokens). */
FR_API int fr_ct_equal(const void *a, const void *b, size_t n);

/* ---- base64 (RFC 4648) ----
 *
 * Flags: FR_B64_URL uses the URL-safe alphabet ('-' '_' instead of '+' '/',
 * RFC 4648 section 5). FR_B64_NOPAD: encode without '=' padding; decode
 * accepts input with or without correct padding.
 *
 * Decoding is strict: every character must belong to the alphabet (no
 * whitespace), padding only at the end and only as much as needed, the
 * length must be a multiple of 4 (unless FR_B64_NOPAD), and the unused bits
 * of the last character must be zero (so each byte string has exactly one
 * accepted encoding: no signature malleability). */
enum { FR_B64_URL = 1, FR_B64_NOPAD = 2 };

/* Exact encoded length of n bytes with padding (4 * ceil(n / 3)); 0 if that
 * would overflow size_t. Add 1 for the NUL fr_base64_encode writes if room. */
FR_API size_t fr_base64_encoded_len(size_t n);
/* Upper bound of the decoded length of n characters (3 * ceil(n / 4)). */
FR_API size_t fr_base64_decoded_len(size_t n);

/* Encode len bytes from src into dst (capacity cap). Returns the encoded
 * length, or -1 if it doesn't fit. Writes a NUL after the output when there
 * is room for it (not counted). */
FR_API long fr_base64_encode(char *dst, size_t cap, const void *src, size_t len);
FR_API long fr_base64_encode_ex(char *dst, size_t cap, const void *src, size_t len, int flags);
/* Strict decode (see above). Returns the decoded length, or -1 on malformed
 * input or if it doesn't fit in cap bytes (fr_base64_decoded_len(len) is
 * always enough). dst may equal src (decoding in place is safe). */
FR_API long fr_base64_decode(void *dst, size_t cap, const char *src, size_t len);
FR_API long fr_base64_decode_ex(void *dst, size_t cap, const char *src, size_t len, int flags);
/* Python's base64.b64decode(s) with its default validate=False, byte for
 * byte (binascii.a2b_base64 non-strict): characters outside the standard
 * alphabet are skipped, decoding stops at the first complete padding, and
 * "Incorrect padding" / a lone trailing character are errors (-1). Bytes
 * >= 0x80 are skipped too (Python rejects non-ASCII *str* before decoding;
 * fr_auth_basic_decode does that check). Returns the length or -1. */
FR_API long fr_base64_decode_loose(void *dst, size_t cap, const char *src, size_t len);

/* ---- Authorization header (FastAPI's security utilities) ----
 *
 * Header values are treated as Latin-1 text, as Starlette decodes them. */

/* FastAPI's get_authorization_scheme_param(): scheme is everything before
 * the first ' ' (not stripped), param everything after it with leading and
 * trailing whitespace removed as Python's str.strip() does (in Latin-1:
 * \t \n \v \f \r, 0x1c-0x1f, ' ', 0x85, 0xa0). No space: param is empty.
 * Returns 1 if the header is present and non-empty, else 0 with both views
 * empty (FastAPI's `if not authorization` test). Views point into header. */
FR_API int fr_auth_parse(fr_str header, fr_str *scheme, fr_str *param);

/* FastAPI's HTTPBasic credential decoding of `param` (the part after
 * "Basic "): b64decode(param).decode("ascii").partition(":"). Any byte
 * >= 0x80 in param, a base64 error (Python's non-strict rules, see
 * fr_base64_decode_loose), a decoded byte >= 0x80 or no ':' -> -1 (FastAPI
 * answers 401). On success returns 0 and user/pass view into buf (user is
 * everything before the first ':', pass everything after; both may be
 * empty). buf needs fr_base64_decoded_len(param.len) bytes at most; a
 * smaller cap that the result doesn't fit into -> -1. */
FR_API int fr_auth_basic_decode(fr_str param, char *buf, size_t cap, fr_str *user,
                                fr_str *pass);
