/* ---- base.c ---- */
#include "internal.h"

fr_str fr_str_c(const char *cstr) {
    fr_str s = {cstr, cstr ? strlen(cstr) : 0};
    return s;
}

int fr_str_eq(fr_str a, fr_str b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.buf, b.buf, a.len) == 0);
}

int fr_str_ieq(fr_str a, fr_str b) {
    size_t i;
    if (a.len != b.len) return 0;
    for (i = 0; i < a.len; i++)
        if (fr__tolower((unsigned char)a.buf[i]) != fr__tolower((unsigned char)b.buf[i])) return 0;
    return 1;
}

int fr_str_eq_c(fr_str a, const char *cstr) { return fr_str_eq(a, fr_str_c(cstr)); }
int fr_str_ieq_c(fr_str a, const char *cstr) { return fr_str_ieq(a, fr_str_c(cstr)); }

int fr_str_to_i64(fr_str s, int64_t *out) {
    size_t i = 0;
    int neg = 0;
    uint64_t v = 0, lim;
    if (!s.buf || s.len == 0) return -1;
    if (s.buf[0] == '-' || s.buf[0] == '+') {
        neg = s.buf[0] == '-';
        i = 1;
    }
    if (i == s.len) return -1;
    lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; i < s.len; i++) {
        unsigned d = (unsigned char)s.buf[i] - '0';
        if (d > 9) return -1;
        if (v > (lim - d) / 10) return -1;
        v = v * 10 + d;
    }
    if (out) *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int fr_str_to_double(fr_str s, double *out) {
    char tmp[128];
    char *end;
    size_t i;
    double d;
    if (!s.buf || s.len == 0 || s.len >= sizeof tmp) return -1;
    for (i = 0; i < s.len; i++) {
        char c = s.buf[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return -1; /* refuses inf, nan, hex floats, spaces */
    }
    memcpy(tmp, s.buf, s.len);
    tmp[s.len] = 0;
    errno = 0;
    d = strtod(tmp, &end);
    if (end != tmp + s.len) return -1;
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL)) return -1;
    if (out) *out = d;
    return 0;
}

/* ---- allocator ---- */

static void *fr__alc_malloc(const fr_allocator *a, size_t n) {
    return a->malloc ? a->malloc(a->ctx, n) : FR_MALLOC(n);
}
static void fr__alc_free(const fr_allocator *a, void *p) {
    if (a->free) a->free(a->ctx, p);
    else FR_FREE(p);
}

/* ---- arena ---- */

struct fr_arena_chunk {
    fr_arena_chunk *next;
    size_t used, cap;
    int mapped; /* from fr__map_get: goes back with fr__map_put */
    /* data follows, 16-byte aligned */
};

#define FR__CHUNK_HDR ((sizeof(fr_arena_chunk) + 15u) & ~(size_t)15u)
#define FR__ARENA_KEEP 65536 /* reset keeps the first chunk only up to this size */

/* Big chunks (a copied 1 MiB response body) are mapped from the OS when the
 * arena uses the default allocator on POSIX, so that they can be given
 * back. Through malloc they would stay in the process: after the first big
 * free glibc raises its mmap threshold, later big blocks come from the heap
 * of the (pool) thread that copied them, and each such heap keeps up to
 * twice that threshold at its top, which malloc_trim does not release
 * (issue 14: RSS +83 MiB after 2,000 clients left 1 MiB responses unread,
 * still there after they were gone). Freed mappings wait in a small cache
 * (so a server busy with big bodies does not map and fault them again each
 * time) that the loops empty once a second when big memory was freed
 * (fr__map_flush). A custom FR_MALLOC, an fr_allocator, or Windows: the
 * allocator as usual. */
#if defined(FR__MALLOC_DEFAULT) && !defined(_WIN32)
#include <pthread.h>
#include <sys/mman.h>
#define FR__MAP_BIG 1
#define FR__MAP_MIN (256u << 10)      /* chunks from this size up are mapped */
#define FR__MAP_CACHE 8               /* freed mappings kept for reuse, */
#define FR__MAP_CACHE_MAX (2u << 20)  /* ... each up to this size */
static pthread_mutex_t fr__map_mu = PTHREAD_MUTEX_INITIALIZER;
static void *fr__map_cache[FR__MAP_CACHE];
static size_t fr__map_len[FR__MAP_CACHE];
static int fr__map_n;

/* A mapping of at least len bytes (its size in *got), or NULL. */
static void *fr__map_get(size_t len, size_t *got) {
    void *p = NULL;
    int i;
    pthread_mutex_lock(&fr__map_mu);
    for (i = 0; i < fr__map_n; i++) {
        if (fr__map_len[i] >= len && fr__map_len[i] / 2 <= len) { /* wastes at most half */
            p = fr__map_cache[i];
            *got = fr__map_len[i];
            fr__map_n--;
            fr__map_cache[i] = fr__map_cache[fr__map_n];
            fr__map_len[i] = fr__map_len[fr__map_n];
            break;
        }
    }
    pthread_mutex_unlock(&fr__map_mu);
    if (p) return p;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    *got = len;
    return p;
}

static void fr__map_put(void *p, size_t len) {
    if (len <= FR__MAP_CACHE_MAX) {
        pthread_mutex_lock(&fr__map_mu);
        if (fr__map_n < FR__MAP_CACHE) {
            fr__map_cache[fr__map_n] = p;
            fr__map_len[fr__map_n] = len;
            fr__map_n++;
            p = NULL;
        }
        pthread_mutex_unlock(&fr__map_mu);
    }
    if (p) munmap(p, len);
}
#endif

FR__PRIV void fr__map_flush(void) {
#if defined(FR__MAP_BIG)
    void *p[FR__MAP_CACHE];
    size_t len[FR__MAP_CACHE];
    int i, n;
    pthread_mutex_lock(&fr__map_mu);
    n = fr__map_n;
    for (i = 0; i < n; i++) {
        p[i] = fr__map_cache[i];
        len[i] = fr__map_len[i];
    }
    fr__map_n = 0;
    pthread_mutex_unlock(&fr__map_mu);
    for (i = 0; i < n; i++) munmap(p[i], len[i]);
#endif
}

static fr_arena_chunk *fr__chunk_new(const fr_allocator *a, size_t cap) {
    fr_arena_chunk *c;
#if defined(FR__MAP_BIG)
    if (!a->malloc && !a->free && cap >= FR__MAP_MIN && cap <= SIZE_MAX / 2) {
        size_t len = (FR__CHUNK_HDR + cap + 4095u) & ~(size_t)4095u, got = 0;
        c = (fr_arena_chunk *)fr__map_get(len, &got);
        if (c) {
            c->cap = got - FR__CHUNK_HDR; /* the tail of the last page is usable */
            c->mapped = 1;
            return c;
        }
    }
#endif
    c = (fr_arena_chunk *)fr__alc_malloc(a, FR__CHUNK_HDR + cap);
    if (!c) return NULL;
    c->cap = cap;
    c->mapped = 0;
    return c;
}

static void fr__chunk_free(const fr_allocator *a, fr_arena_chunk *c) {
#if defined(FR__MAP_BIG)
    if (c->mapped) {
        fr__map_put((void *)c, FR__CHUNK_HDR + c->cap);
        return;
    }
#endif
    fr__alc_free(a, c);
}

void fr_arena_init(fr_arena *a, const fr_allocator *alc) {
    memset(a, 0, sizeof *a);
    if (alc) a->alc = *alc;
}

void *fr_arena_alloc(fr_arena *a, size_t n) {
    fr_arena_chunk *c = a->head;
    size_t need = (n + 7u) & ~(size_t)7u;
    if (need < n) return NULL; /* overflow */
    if (!c || c->cap - c->used < need) {
        size_t base = a->chunk_size ? a->chunk_size : 4096;
        size_t cap = need > base ? need : base;
        if (c && cap < c->cap * 2 && c->cap * 2 <= 1u << 20) cap = c->cap * 2;
        if (cap > SIZE_MAX - FR__CHUNK_HDR) return NULL;
        c = fr__chunk_new(&a->alc, cap);
        if (!c) return NULL;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    {
        void *p = (char *)c + FR__CHUNK_HDR + c->used;
        c->used += need;
        return p;
    }
}

char *fr_arena_strdup(fr_arena *a, const char *s, size_t len) {
    char *p;
    if (len == SIZE_MAX) return NULL;
    p = (char *)fr_arena_alloc(a, len + 1);
    if (!p) return NULL;
    if (len) memcpy(p, s, len);
    p[len] = 0;
    return p;
}

void fr_arena_reset(fr_arena *a) {
    fr_arena_chunk *c = a->head, *keep = NULL;
    /* keep the oldest (last in list) chunk, the base-size one, unless it is
     * big (a first allocation that was a big body): a recycled request
     * must not hold it */
    while (c) {
        fr_arena_chunk *next = c->next;
        if (!next && c->cap <= FR__ARENA_KEEP) {
            keep = c;
        } else {
            fr__chunk_free(&a->alc, c);
        }
        c = next;
    }
    if (keep) {
        keep->used = 0;
        keep->next = NULL;
    }
    a->head = keep;
}

size_t fr_arena_bytes(const fr_arena *a) {
    const fr_arena_chunk *c;
    size_t n = 0;
    for (c = a ? a->head : NULL; c; c = c->next) n += FR__CHUNK_HDR + c->cap;
    return n;
}

void fr_arena_free(fr_arena *a) {
    fr_arena_chunk *c = a->head;
    while (c) {
        fr_arena_chunk *next = c->next;
        fr__chunk_free(&a->alc, c);
        c = next;
    }
    a->head = NULL;
}

/* ---- buf ---- */

int fr_buf_reserve(fr_buf *b, size_t extra) {
    size_t need, cap;
    char *p;
    if (extra > SIZE_MAX - b->len) return -1;
    need = b->len + extra;
    if (need <= b->cap) return 0;
    if (need > (size_t)PTRDIFF_MAX / 2) return -1; /* absurd: refuse, don't ask malloc */
    cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > (size_t)PTRDIFF_MAX / 4) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    p = (char *)FR_REALLOC(b->buf, cap);
    if (!p) return -1; /* b->buf still valid */
    b->buf = p;
    b->cap = cap;
    return 0;
}

int fr_buf_append(fr_buf *b, const void *data, size_t len) {
    if (len == 0) return 0;
    if (fr_buf_reserve(b, len) < 0) return -1;
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    return 0;
}

int fr_buf_append_str(fr_buf *b, const char *cstr) { return fr_buf_append(b, cstr, strlen(cstr)); }

int fr_buf_append_char(fr_buf *b, char c) {
    if (b->len == b->cap && fr_buf_reserve(b, 1) < 0) return -1;
    b->buf[b->len++] = c;
    return 0;
}

int fr_buf_printf(fr_buf *b, const char *fmt, ...) {
    va_list ap;
    int n;
    char small[256];
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return -1;
    if ((size_t)n < sizeof small) return fr_buf_append(b, small, (size_t)n);
    if (fr_buf_reserve(b, (size_t)n + 1) < 0) return -1;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void fr_buf_consume(fr_buf *b, size_t n) {
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->buf, b->buf + n, b->len - n);
    b->len -= n;
}

void fr_buf_free(fr_buf *b) {
    FR_FREE(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}

/* ---- url decoding ---- */


/* Malformed escapes are copied literally, as Python's urllib.parse.unquote
 * does (FastAPI semantics). */
long fr_url_decode(char *dst, const char *src, size_t len, int plus_as_space) {
    size_t i, o = 0;
    if (len > (size_t)LONG_MAX) return -1;
    for (i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%' && i + 2 < len && fr__hexval((unsigned char)src[i + 1]) >= 0 &&
            fr__hexval((unsigned char)src[i + 2]) >= 0) {
            dst[o++] = (char)(fr__hexval((unsigned char)src[i + 1]) * 16 +
                              fr__hexval((unsigned char)src[i + 2]));
            i += 2;
        } else if (c == '+' && plus_as_space) {
            dst[o++] = ' ';
        } else {
            dst[o++] = c;
        }
    }
    return (long)o;
}
