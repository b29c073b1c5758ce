/* ---- base.h: strings, allocator, arena, growable buffer ---- */

/* A borrowed view: NOT NUL-terminated, points into someone else's memory. */
typedef struct fr_str {
    const char *buf;
    size_t len;
} fr_str;

/* FR_STR("literal"): a view of a string literal (its length without strlen). */
#ifdef __cplusplus
#define FR_STR(lit) (fr_str{(lit), sizeof(lit) - 1})
#else
#define FR_STR(lit) ((fr_str){(lit), sizeof(lit) - 1})
#endif

/* Runtime allocator (yyjson_alc style). A zeroed/NULL allocator means
 * FR_MALLOC/FR_REALLOC/FR_FREE. */
typedef struct fr_allocator {
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t size);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} fr_allocator;

/* Error details for functions that can fail (yyjson_read_err style). */
typedef struct fr_err {
    int code;        /* module-specific code, 0 = ok; HTTP status where relevant */
    const char *msg; /* static string, never freed */
    size_t pos;      /* byte offset into the input, when meaningful */
} fr_err;

FR_API fr_str fr_str_c(const char *cstr);               /* view of a C string */
FR_API int fr_str_eq(fr_str a, fr_str b);
FR_API int fr_str_ieq(fr_str a, fr_str b);              /* ASCII case-insensitive */
FR_API int fr_str_eq_c(fr_str a, const char *cstr);
FR_API int fr_str_ieq_c(fr_str a, const char *cstr);
/* Parse an optionally signed decimal integer filling the whole string.
 * 0 on success, -1 on syntax error or overflow. */
FR_API int fr_str_to_i64(fr_str s, int64_t *out);
/* Parse a decimal float filling the whole string (no inf/nan). 0 / -1. */
FR_API int fr_str_to_double(fr_str s, double *out);

/* Arena: bump allocator, released in one step. Chunks come from the
 * allocator given to fr_arena_init (NULL = FR_MALLOC). */
typedef struct fr_arena_chunk fr_arena_chunk;
typedef struct fr_arena {
    fr_arena_chunk *head;
    fr_allocator alc;
    size_t chunk_size; /* 0 = 4096 */
} fr_arena;

FR_API void fr_arena_init(fr_arena *a, const fr_allocator *alc);
/* 8-byte aligned, uninitialised; NULL on OOM. Freed only by reset/free. */
FR_API void *fr_arena_alloc(fr_arena *a, size_t n);
/* Copy `len` bytes into the arena and NUL-terminate; NULL on OOM. */
FR_API char *fr_arena_strdup(fr_arena *a, const char *s, size_t len);
/* Release everything except the first chunk (kept for reuse unless over
 * 64 KiB). */
FR_API void fr_arena_reset(fr_arena *a);
FR_API void fr_arena_free(fr_arena *a);
/* Bytes the arena holds from its allocator (0 for NULL). */
FR_API size_t fr_arena_bytes(const fr_arena *a);

/* Growable byte buffer owned by its holder (free with fr_buf_free). */
typedef struct fr_buf {
    char *buf;
    size_t len, cap;
} fr_buf;

/* All return 0 on success, -1 on OOM (buffer left unchanged). */
FR_API int fr_buf_reserve(fr_buf *b, size_t extra);
FR_API int fr_buf_append(fr_buf *b, const void *data, size_t len);
FR_API int fr_buf_append_str(fr_buf *b, const char *cstr);
FR_API int fr_buf_append_char(fr_buf *b, char c);
FR_API int fr_buf_printf(fr_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
FR_API void fr_buf_consume(fr_buf *b, size_t n); /* drop n bytes from the front */
FR_API void fr_buf_free(fr_buf *b);

/* Percent-decoding. In-place safe when dst == src (output never longer).
 * Returns the decoded length; malformed escapes are kept literally, like
 * Python's urllib.parse.unquote. `plus_as_space` for query strings/forms. */
FR_API long fr_url_decode(char *dst, const char *src, size_t len, int plus_as_space);
