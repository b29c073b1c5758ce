/* ---- internal.h: private helpers shared by the implementation files ---- */
#ifndef FR__INTERNAL_H
#define FR__INTERNAL_H

#if !defined(_WIN32) && !defined(_GNU_SOURCE) && !defined(FR__NO_GNU_SOURCE)
#define _GNU_SOURCE 1 /* accept4, pipe2, memrchr, SO_REUSEPORT */
#endif

#include "fr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <math.h>

/* C11 / C++ compatibility: the one place that maps atomics, thread-local
 * storage and zero initialisers, so that the implementation compiles as C11
 * and as C++11..20. It uses only these private names (never the bare C11
 * ones, which a C++ translation unit may get from <stdatomic.h> too):
 *   fr__atomic_int, FR__ATOMIC(T)           _Atomic int / _Atomic(T)
 *   fr__atomic_load/_store/_exchange(p[,v]), seq_cst
 *   fr__atomic_load_explicit/_store_/_fetch_add_/_fetch_sub_explicit(p[,v], mo)
 *   fr__atomic_compare_exchange_weak(p, &expected, desired), fr__atomic_fetch_add(p, v)
 *   fr__atomic_init(p, v)                   before the object is shared
 *   FR__RELAXED, FR__ACQ_REL                memory orders
 *   FR__THREAD_LOCAL                        _Thread_local
 *   = FR__ZERO_INIT                         all-zero aggregate (a const
 *                                           one needs it in C++) */
#if defined(__cplusplus)
#  include <atomic>
typedef std::atomic<int> fr__atomic_int;
#  define FR__ATOMIC(T) std::atomic<T>
#  define fr__atomic_load std::atomic_load
#  define fr__atomic_store std::atomic_store
#  define fr__atomic_exchange std::atomic_exchange
#  define fr__atomic_load_explicit std::atomic_load_explicit
#  define fr__atomic_store_explicit std::atomic_store_explicit
#  define fr__atomic_fetch_add_explicit std::atomic_fetch_add_explicit
#  define fr__atomic_fetch_sub_explicit std::atomic_fetch_sub_explicit
#  define fr__atomic_compare_exchange_weak std::atomic_compare_exchange_weak
#  define fr__atomic_fetch_add std::atomic_fetch_add
/* std::atomic_init is deprecated in C++20 (an error with libc++ -Werror) */
#  define fr__atomic_init(p, v) std::atomic_store_explicit((p), (v), std::memory_order_relaxed)
#  define FR__RELAXED std::memory_order_relaxed
#  define FR__ACQ_REL std::memory_order_acq_rel
#  define FR__THREAD_LOCAL thread_local
#  define FR__ZERO_INIT {}
#else
#  include <stdatomic.h>
typedef atomic_int fr__atomic_int;
#  define FR__ATOMIC(T) _Atomic(T)
#  define fr__atomic_load atomic_load
#  define fr__atomic_store atomic_store
#  define fr__atomic_exchange atomic_exchange
#  define fr__atomic_load_explicit atomic_load_explicit
#  define fr__atomic_store_explicit atomic_store_explicit
#  define fr__atomic_fetch_add_explicit atomic_fetch_add_explicit
#  define fr__atomic_fetch_sub_explicit atomic_fetch_sub_explicit
#  define fr__atomic_compare_exchange_weak atomic_compare_exchange_weak
#  define fr__atomic_fetch_add atomic_fetch_add
#  define fr__atomic_init atomic_init
#  define FR__RELAXED memory_order_relaxed
#  define FR__ACQ_REL memory_order_acq_rel
#  if defined(_MSC_VER) && !defined(__clang__)
#    define FR__THREAD_LOCAL __declspec(thread)
#  else
#    define FR__THREAD_LOCAL _Thread_local
#  endif
#  define FR__ZERO_INIT {0} /* C++ -Wextra wants {}, C11 has only {0} */
#endif

/* Private functions shared across src/ files: `static` in the amalgamation,
 * external (but fr__-prefixed) when src/ is built file by file. */
#if defined(FR__AMALGAMATION)
#  if defined(__GNUC__)
#    define FR__PRIV static __attribute__((unused))
#  else
#    define FR__PRIV static
#  endif
#else
#  define FR__PRIV
#endif

#if defined(__GNUC__)
#define FR__LIKELY(x) __builtin_expect(!!(x), 1)
#define FR__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FR__LIKELY(x) (x)
#define FR__UNLIKELY(x) (x)
#endif

#define FR__MIN(a, b) ((a) < (b) ? (a) : (b))
#define FR__MAX(a, b) ((a) > (b) ? (a) : (b))
#define FR__COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

/* A view of (p, n); C++ has no compound literal (fr_str){p, n}. */
static inline fr_str fr__str(const char *p, size_t n) {
    fr_str s;
    s.buf = p;
    s.len = n;
    return s;
}

static inline int fr__tolower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Value of an ASCII hex digit, or -1. */
static inline int fr__hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* RFC 9110 tchar: "!#$%&'*+-.^_`|~", DIGIT, ALPHA. */
static inline int fr__tchar(unsigned c) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return 1;
    if (c >= '0' && c <= '9') return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", (int)c) != NULL;
}

/* Python's str.isspace() for a Latin-1 character (what str.strip() removes
 * from header text that Starlette decoded as Latin-1). */
static inline int fr__py_space(unsigned c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

/* ---- the middleware chain: middleware.c runs it, server.c calls it ----
 * server.c keeps an fr__mw_chain per app (fr__app_mw) and one run state per
 * request (fr__req_mw, NULL when the app has no chain) and gives
 * middleware.c the response fields it edits (fr__res_view) and the raw,
 * chain-less response functions. */
typedef struct fr__mw_chain fr__mw_chain;
typedef struct fr__res_view {
    int status;
    fr_header *rh; /* response headers (request arena), without content-length */
    size_t nrh, caprh;
    const void *body; /* complete body */
    size_t body_len;
    int fd;           /* fr_res_file: >= 0 */
    uint64_t file_off, file_len;
    int64_t clen;     /* a stream's declared content-length, -1 */
    int is_head, streaming;
} fr__res_view;
FR__PRIV fr__mw_chain **fr__app_mw(fr_app *app);
FR__PRIV int fr__app_serving(const fr_app *app);
FR__PRIV void **fr__req_mw(fr_req *req);
FR__PRIV void fr__req_res_get(const fr_req *req, fr__res_view *v);
FR__PRIV void fr__req_res_set(fr_req *req, const fr__res_view *v); /* status, headers, clen */
FR__PRIV int fr__req_server(const fr_req *req, char *host, size_t cap, int *port);
FR__PRIV int fr__res_send_raw(fr_req *req);
FR__PRIV int fr__res_stream_begin_raw(fr_req *req);
FR__PRIV int fr__res_stream_write_raw(fr_req *req, const void *data, size_t len);
FR__PRIV int fr__res_stream_end_raw(fr_req *req);
FR__PRIV void fr__mw_chain_free(fr__mw_chain *c);
FR__PRIV int fr__mw_before(fr_req *req); /* 1: a middleware answered */
FR__PRIV int fr__mw_send(fr_req *req);
FR__PRIV int fr__mw_stream_begin(fr_req *req);
FR__PRIV int fr__mw_stream_write(fr_req *req, const void *data, size_t len);
FR__PRIV int fr__mw_stream_end(fr_req *req);
FR__PRIV void fr__mw_req_end(fr_req *req);

/* ---- WebSocket connections: ws.c has the protocol, server.c the socket ----
 * fr__srv_ws_*: server.c's "WebSocket connections" section, called by ws.c.
 * fr__ws_*: ws.c, called by the loop (loop thread unless said otherwise). */
FR__PRIV int fr__srv_ws_begin(fr_req *req, fr_ws *ws, const fr_header *extra, size_t nextra,
                              fr_done_fn done, fr_done_fn *prev, void **prev_ud);
FR__PRIV int fr__srv_ws_queue(fr_req *req, const void *a, size_t alen, const void *b, size_t blen,
                              size_t limit); /* any thread: 0, -1 gone, -2 full */
FR__PRIV size_t fr__srv_ws_queued(fr_req *req); /* any thread */
FR__PRIV void fr__srv_ws_end(fr_req *req);      /* any thread: the ws lets go of req */
FR__PRIV void fr__ws_req_done(fr_req *req, int ok, void *ud);
FR__PRIV void fr__ws_opened(fr_ws *ws);
FR__PRIV size_t fr__ws_held(fr_ws *ws, char *buf); /* incomplete frame head kept (<= 14 bytes) */
FR__PRIV int fr__ws_input(fr_ws *ws, char *data, size_t len); /* 1: read no more */
FR__PRIV int fr__ws_finished(fr_ws *ws);
FR__PRIV int fr__ws_paused(fr_ws *ws, size_t queued);
FR__PRIV int fr__ws_drained(fr_ws *ws, size_t queued); /* 1: on_drain ran */
FR__PRIV int fr__ws_tick(fr_ws *ws, int64_t now_ms); /* 1 queued, 2 drop TCP */
FR__PRIV void fr__ws_going_away(fr_ws *ws);
FR__PRIV void fr__ws_gone(fr_ws *ws);

/* ---- TLS (FR_ENABLE_OPENSSL): tls.c has OpenSSL, server.c the sockets ----
 * A listener holds an fr__tls_ctx (the current SSL_CTX, swapped by reload);
 * a connection an fr__tls_conn. I/O calls return like read(2)/send(2):
 * > 0 bytes, 0 EOF (close_notify or FIN), -1 with errno (EAGAIN: wait;
 * fr__tls_wants says whether a read waits for writability or a write for
 * readability). Loop thread only, except the ctx functions. */
#if FR_ENABLE_OPENSSL
#include <sys/types.h> /* ssize_t */
typedef struct fr__tls_ctx fr__tls_ctx;
typedef struct fr__tls_conn fr__tls_conn;
enum { FR__TLS_READ_WANTS_WRITE = 1, FR__TLS_WRITE_WANTS_READ = 2 };
FR__PRIV fr__tls_ctx *fr__tls_ctx_new(const char *cert, const char *key, char *err, size_t cap);
FR__PRIV int fr__tls_ctx_reload(fr__tls_ctx *t, char *err, size_t cap); /* any thread */
FR__PRIV void fr__tls_ctx_free(fr__tls_ctx *t);
FR__PRIV fr__tls_conn *fr__tls_conn_new(fr__tls_ctx *t, int fd); /* NULL on OOM */
FR__PRIV int fr__tls_handshake(fr__tls_conn *c); /* 1 done, 0 wait, -1 failed, -2 plain HTTP */
FR__PRIV ssize_t fr__tls_read(fr__tls_conn *c, void *buf, size_t n);
FR__PRIV ssize_t fr__tls_write(fr__tls_conn *c, const void *buf, size_t n);
FR__PRIV int fr__tls_wants(const fr__tls_conn *c, int what);
FR__PRIV int fr__tls_pending(const fr__tls_conn *c); /* decrypted or undecrypted bytes held */
FR__PRIV void fr__tls_close_notify(fr__tls_conn *c);  /* best effort, never blocks */
FR__PRIV void fr__tls_conn_free(fr__tls_conn *c);
#endif

/* ---- policy.c: shared anonymous memory (MAP_SHARED, inherited by forked
 * processes; private when local or on Windows) and a monotonic clock;
 * metrics.c uses them too ---- */
FR__PRIV void *fr__shm_alloc(size_t size, int local); /* zeroed; NULL on failure */
FR__PRIV void fr__shm_free(void *p, size_t size, int local);
FR__PRIV int64_t fr__mono_ns(void);
FR__PRIV uint64_t fr__hash64(uint64_t seed, const char *p, size_t n); /* not for secrets */

/* ---- static files: static.c keeps its registrations on the app (freed
 * with it) and answers requests the router did not find under an
 * fr_app_frontend path (low-priority routes) ---- */
FR__PRIV void fr__http_imf_fixdate(int64_t t, char out[30]); /* http.c: IMF-fixdate of a Unix time */
typedef struct fr__static_list fr__static_list;
FR__PRIV fr__static_list **fr__app_statics(fr_app *app);
FR__PRIV void fr__static_list_free(fr__static_list *l);
FR__PRIV fr_handler fr__static_low(fr_app *app, fr_req *req, void **ud); /* NULL: none */

#endif /* FR__INTERNAL_H */
