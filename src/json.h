/* ---- json.h: strict RFC 8259 reader (DOM + events) and writer ----
 *
 * Reader: exactly RFC 8259 -- no comments, trailing commas, leading zeros,
 * "+1", ".5", "1.", NaN/Infinity, single quotes, BOM or raw control bytes in
 * strings; strings must be valid UTF-8 (no overlongs, no encoded surrogates,
 * nothing above U+10FFFF) and \u escapes must pair surrogates correctly. Any
 * value may be the top level; whitespace may surround it, nothing else.
 * Nesting is tracked with an explicit bit stack (no recursion), capped by
 * max_depth (<= 0 means FR_MAX_JSON_DEPTH): N levels pass, N+1 fail.
 * Numbers are locale-independent: integers that fit int64 are INT, larger
 * integer literals BIGINT (exact text), anything with a fraction or an
 * exponent a correctly rounded DOUBLE; overflow to +-inf is an error.
 * Errors: err->code (enum fr_json_error), err->msg (static text), err->pos
 * (byte offset of the offending byte). err may be NULL.
 *
 * Writer: compact output identical to Python's
 * json.dumps(obj, ensure_ascii=False, separators=(",", ":")), doubles as
 * repr(float) (shortest round-trip digits, Ryu-style, no libc). */

enum fr_json_type {
    FR_JSON_NULL = 0,
    FR_JSON_BOOL,
    FR_JSON_INT,    /* fits int64_t */
    FR_JSON_BIGINT, /* integer beyond int64: kept as its decimal text, never rounded */
    FR_JSON_DOUBLE, /* has a fraction or exponent */
    FR_JSON_STRING,
    FR_JSON_ARRAY,
    FR_JSON_OBJECT
};

enum fr_json_error {
    FR_JSON_OK = 0,
    FR_JSON_E_SYNTAX,    /* unexpected character / trailing garbage / empty input */
    FR_JSON_E_DEPTH,     /* nesting deeper than the limit */
    FR_JSON_E_UTF8,      /* invalid UTF-8 or lone surrogate escape */
    FR_JSON_E_NUMBER,    /* leading zero, bad exponent, double overflow to inf */
    FR_JSON_E_STRING,    /* control character or bad escape in a string */
    FR_JSON_E_NOMEM,
    FR_JSON_E_ABORTED    /* an event callback returned non-zero */
};

/* ---- DOM (arena-backed; everything freed with the arena) ---- */
typedef struct fr_json_val fr_json_val;
typedef struct fr_json_member {
    fr_str key;        /* decoded, NUL-terminated in the arena */
    fr_json_val *val;
} fr_json_member;

struct fr_json_val {
    int type; /* enum fr_json_type */
    union {
        int b;
        int64_t i;
        double d;
        fr_str s;    /* STRING: decoded UTF-8, NUL-terminated; BIGINT: digits text */
        struct { fr_json_val **items; size_t len; } arr;
        struct { fr_json_member *items; size_t len; } obj; /* document order, dups kept */
    } u;
};

/* Parse buf[0..len). Returns the root or NULL with err {code, msg, pos}.
 * max_depth <= 0 = FR_MAX_JSON_DEPTH. Every string, key and BIGINT text is
 * copied into the arena (NUL-terminated), so buf may be freed right away. On
 * failure the arena keeps what was allocated until it is reset/freed. */
FR_API fr_json_val *fr_json_parse(const char *buf, size_t len, fr_arena *a, int max_depth,
                                  fr_err *err);
/* Object lookup; duplicate keys: the LAST one wins. NULL if absent / not an object. */
FR_API fr_json_val *fr_json_get(const fr_json_val *obj, const char *key);
FR_API fr_json_val *fr_json_at(const fr_json_val *arr, size_t i); /* NULL if out of range */
FR_API size_t fr_json_len(const fr_json_val *v); /* array/object length, else 0 */

/* Typed reads. fr_json_as_*: the value itself; fr_json_get_*: member `key`
 * (C string; fr_json_get's lookup, the last duplicate wins) of an object.
 * 1 = read into *out (out may be NULL); 0 = absent (v NULL, obj not an
 * object, no such key); -1 = present but of another type or out of range
 * (*out untouched). No coercion between types ("1" is not 1, 1 is not true):
 *   str   STRING only: a view of the decoded, NUL-terminated arena text
 *   i64   INT only (a BIGINT or a double such as 1.0 is -1)
 *   f64   DOUBLE, INT, and a BIGINT (up to 127 digits) finite as a double
 *   bool  BOOL only, *out 0 or 1
 * `null` reads as -1 for every type: test fr_json_get(obj, k)->type ==
 * FR_JSON_NULL (or fr_json_is_null) where null is allowed. */
FR_API int fr_json_as_str(const fr_json_val *v, fr_str *out);
FR_API int fr_json_as_i64(const fr_json_val *v, int64_t *out);
FR_API int fr_json_as_f64(const fr_json_val *v, double *out);
FR_API int fr_json_as_bool(const fr_json_val *v, int *out);
FR_API int fr_json_get_str(const fr_json_val *obj, const char *key, fr_str *out);
FR_API int fr_json_get_i64(const fr_json_val *obj, const char *key, int64_t *out);
FR_API int fr_json_get_f64(const fr_json_val *obj, const char *key, double *out);
FR_API int fr_json_get_bool(const fr_json_val *obj, const char *key, int *out);
/* 1 if v is a JSON null, else 0 (also for NULL). */
FR_API int fr_json_is_null(const fr_json_val *v);

/* ---- events: build your own objects straight from the bytes ---- */
typedef struct fr_json_sax {
    int (*on_null)(void *ctx);
    int (*on_bool)(void *ctx, int v);
    int (*on_int)(void *ctx, int64_t v);
    int (*on_bigint)(void *ctx, const char *digits, size_t len); /* "-123..." */
    int (*on_double)(void *ctx, double v);
    int (*on_string)(void *ctx, const char *s, size_t len); /* decoded, transient */
    int (*on_key)(void *ctx, const char *s, size_t len);    /* decoded, transient */
    int (*on_start_object)(void *ctx);
    int (*on_end_object)(void *ctx);
    int (*on_start_array)(void *ctx);
    int (*on_end_array)(void *ctx);
} fr_json_sax; /* a NULL callback is skipped; non-zero return aborts (FR_JSON_E_ABORTED) */

/* 0 on success, else an enum fr_json_error (also in err->code).
 * Strings/keys without escapes are passed as views into buf (zero copy);
 * escaped ones are decoded into a scratch buffer reused by the next string.
 * Either way the pointer is valid only during the callback and the text may
 * contain NUL bytes (from \u0000): use the length. on_bigint gets a view of
 * the literal (with its '-'). sax == NULL validates only. Callbacks fire as
 * the input is read, so a document that turns out invalid later has already
 * produced events: discard what you built when the result is non-zero. */
FR_API int fr_json_parse_events(const char *buf, size_t len, const fr_json_sax *sax, void *ctx,
                                int max_depth, fr_err *err);

/* ---- writer (compact, UTF-8 kept as is, like json.dumps(ensure_ascii=False)) ---- */
typedef struct fr_jw {
    fr_buf *out;
    int depth;
    int error;              /* sticky: first failure (-1) */
    uint64_t comma_bits[4]; /* per-depth "needs comma" (256 levels) */
    /* added after the first draft (set by fr_jw_init, do not touch): */
    uint64_t obj_bits[4];   /* per-depth "this container is an object" */
    int key_pending;        /* a key was written, its value is due */
    int top_done;           /* the top-level value has been started */
} fr_jw;

/* Nesting limit of the writer (comma_bits/obj_bits hold 256 levels). */
#define FR_JW_MAX_DEPTH 256

FR_API void fr_jw_init(fr_jw *w, fr_buf *out);
FR_API void fr_jw_object_begin(fr_jw *w);
FR_API void fr_jw_object_end(fr_jw *w);
FR_API void fr_jw_array_begin(fr_jw *w);
FR_API void fr_jw_array_end(fr_jw *w);
FR_API void fr_jw_key(fr_jw *w, const char *s, size_t len);
FR_API void fr_jw_string(fr_jw *w, const char *s, size_t len);
/* C-string forms of fr_jw_key / fr_jw_string (strlen; NULL sets the error). */
FR_API void fr_jw_key_c(fr_jw *w, const char *s);
FR_API void fr_jw_string_c(fr_jw *w, const char *s);
FR_API void fr_jw_int(fr_jw *w, int64_t v);
FR_API void fr_jw_uint(fr_jw *w, uint64_t v);
FR_API void fr_jw_double(fr_jw *w, double v);     /* NaN/Inf: sets error */
FR_API void fr_jw_bool(fr_jw *w, int v);
FR_API void fr_jw_null(fr_jw *w);
FR_API void fr_jw_raw(fr_jw *w, const char *json, size_t len); /* pre-encoded value */
/* Write a parsed DOM value (and everything under it). Doubles keep their
 * exact value ("1.0", shortest repr), BIGINT its digits. Sets the sticky
 * error on NULL / unknown types / nesting beyond FR_JW_MAX_DEPTH. */
FR_API void fr_jw_value(fr_jw *w, const fr_json_val *v);
/* 0 if everything written was valid, -1 otherwise (error is sticky).
 * Also -1 when a container is still open or a key awaits its value.
 * Misuse is an error too: a key outside an object, a value without a key
 * inside an object, a mismatched end, a second top-level value. After the
 * first error nothing more is appended. fr_jw_raw is NOT validated. */
FR_API int fr_jw_finish(fr_jw *w);

/* Building blocks (used by the writer and by the Python glue). */
/* Append s as a quoted JSON string: escapes " \ and control chars (\n \r \t
 * \b \f, others \u00XX), keeps other UTF-8 as is. -1 on invalid UTF-8 or OOM. */
FR_API int fr_json_write_string(fr_buf *out, const char *s, size_t len);
/* Python repr(float) text ("1.0", "0.1", "1e+16", "1.5e-07"): shortest digits
 * that round-trip. Returns length written (< 32), or -1 for NaN/Infinity. */
FR_API int fr_json_format_double(double v, char out[32]);
/* Decimal text of v ("-12", "0"); returns the length written (<= 20), no NUL. */
FR_API int fr_json_format_int(int64_t v, char out[20]);
