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

/* ---- Windows (mingw-w64, e.g. `zig cc -target x86_64-windows-gnu`) ----
 * The engine is written against POSIX sockets and file descriptors; on
 * Windows this block maps the calls it makes onto Winsock 2 and the CRT so
 * the POSIX code paths stay as they are (and byte-identical off Windows):
 *  - a socket is a Winsock SOCKET kept in an `int` (handle values fit in
 *    32 bits); close/read/write tell sockets from CRT file descriptors
 *    (getsockopt SO_TYPE) and call closesocket/recv/send or _close/_read/
 *    _write; every socket call maps WSAGetLastError() onto errno;
 *  - poll() is WSAPoll (server.c's poll() backend), pipe() a connected
 *    loopback TCP pair (the loop's wake-up channel), fcntl(O_NONBLOCK)
 *    ioctlsocket(FIONBIO), sendmsg WSASend, pread ReadFile at an offset,
 *    realpath _fullpath (no symlink resolution), sigaction the CRT's
 *    signal() (SIGINT: Ctrl-C), sysconf(_SC_NPROCESSORS_ONLN)
 *    GetSystemInfo; WSAStartup runs once, from the first socket call;
 *  - SO_REUSEADDR is not set (on Windows it lets another socket steal the
 *    port); there is no SO_REUSEPORT, sendfile or fork (workers = 1);
 *  - threads are mingw's winpthreads (pthread.h), clock_gettime included.
 * The macros stay defined after the implementation: in the file that
 * defines FASTRAPI_IMPLEMENTATION, close/read/write keep working on both
 * sockets and CRT file descriptors, but a C++ member call named like one of
 * them (f.close()) does not compile there: keep that file small.
 * Known gap: a CRT file descriptor whose number equals a live socket handle
 * would be taken for the socket (CRT descriptors are small numbers, socket
 * handles large multiples of 4; not seen in practice, not impossible). */
#if defined(_WIN32)
#  include <winsock2.h>
#  include <ws2tcpip.h>
#  include <windows.h>
#  include <io.h>
#  include <fcntl.h>
#  include <unistd.h>
#  include <process.h>
#  include <signal.h>
#  include <sys/types.h>
#  include <sys/stat.h>
#  include <pthread.h>
#  include <time.h>
#  if defined(_MSC_VER)
#    pragma comment(lib, "ws2_32.lib")
#  endif
#  ifndef F_GETFD
#    define F_GETFD 1
#    define F_SETFD 2
#    define F_GETFL 3
#    define F_SETFL 4
#  endif
#  ifndef FD_CLOEXEC
#    define FD_CLOEXEC 1
#  endif
#  ifndef O_NONBLOCK
#    define O_NONBLOCK 0x4000
#  endif
#  ifndef O_ACCMODE
#    define O_ACCMODE (O_RDONLY | O_WRONLY | O_RDWR)
#  endif
#  ifndef O_CLOEXEC /* not inherited; and bytes as they are (no CRLF or ^Z text mode) */
#    define O_CLOEXEC (_O_NOINHERIT | _O_BINARY)
#  endif
#  ifndef SHUT_WR
#    define SHUT_RD SD_RECEIVE
#    define SHUT_WR SD_SEND
#    define SHUT_RDWR SD_BOTH
#  endif
#  ifndef _SC_NPROCESSORS_ONLN
#    define _SC_NPROCESSORS_ONLN 84
#  endif
#  ifndef PATH_MAX
#    define PATH_MAX MAX_PATH
#  endif
#  define FR__W_MIN(a, b) ((a) < (b) ? (a) : (b))
typedef unsigned long nfds_t;

static inline int fr__w_errno(int wsa) {
    switch (wsa) {
    case WSAEWOULDBLOCK: case WSAEINPROGRESS: return EAGAIN;
    case WSAEINTR: return EINTR;
    case WSAECONNABORTED: return ECONNABORTED;
    case WSAECONNRESET: return ECONNRESET;
    case WSAESHUTDOWN: return EPIPE;
    case WSAENOTCONN: return ENOTCONN;
    case WSAEMFILE: return EMFILE;
    case WSAENOBUFS: return ENOBUFS;
    case WSAEADDRINUSE: return EADDRINUSE;
    case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
    case WSAEAFNOSUPPORT: return EAFNOSUPPORT;
    case WSAEACCES: return EACCES;
    case WSAEINVAL: return EINVAL;
    case WSAENOTSOCK: case WSAEBADF: return EBADF;
    case WSAEFAULT: return EFAULT;
    case WSAETIMEDOUT: return ETIMEDOUT;
    case WSAECONNREFUSED: return ECONNREFUSED;
    default: return EIO;
    }
}
/* -1 with errno from the last Winsock error */
static inline int fr__w_fail(void) {
    errno = fr__w_errno(WSAGetLastError());
    return -1;
}
static inline void fr__w_startup(void) {
    static volatile LONG done; /* 0 no, 1 starting, 2 done */
    if (done == 2) return;
    if (InterlockedCompareExchange(&done, 1, 0) == 0) {
        WSADATA wd;
        WSAStartup(MAKEWORD(2, 2), &wd);
        InterlockedExchange(&done, 2);
    }
    while (done != 2) Sleep(0);
}
static inline int fr__w_is_sock(int fd) {
    int t = 0, l = (int)sizeof t;
    return fd >= 0 && getsockopt((SOCKET)(intptr_t)fd, SOL_SOCKET, SO_TYPE, (char *)&t, &l) == 0;
}
static inline int fr__w_sockfd(SOCKET s) {
    if (s == INVALID_SOCKET) return fr__w_fail();
    return (int)(intptr_t)s;
}
static inline int fr__w_socket(int af, int type, int proto) {
    fr__w_startup();
    return fr__w_sockfd(socket(af, type, proto));
}
static inline int fr__w_accept(int fd, struct sockaddr *sa, socklen_t *sl) {
    return fr__w_sockfd(accept((SOCKET)(intptr_t)fd, sa, sl));
}
static inline int fr__w_close(int fd) {
    if (fr__w_is_sock(fd)) return closesocket((SOCKET)(intptr_t)fd) == 0 ? 0 : fr__w_fail();
    return _close(fd);
}
static inline ssize_t fr__w_recv(int fd, void *buf, size_t n, int flags) {
    int r = recv((SOCKET)(intptr_t)fd, (char *)buf, n > INT_MAX ? INT_MAX : (int)n, flags);
    return r == SOCKET_ERROR ? fr__w_fail() : r;
}
static inline ssize_t fr__w_send(int fd, const void *buf, size_t n, int flags) {
    int r = send((SOCKET)(intptr_t)fd, (const char *)buf, n > INT_MAX ? INT_MAX : (int)n, flags);
    return r == SOCKET_ERROR ? fr__w_fail() : r;
}
static inline ssize_t fr__w_read(int fd, void *buf, size_t n) {
    if (fr__w_is_sock(fd)) return fr__w_recv(fd, buf, n, 0);
    return _read(fd, buf, n > INT_MAX ? INT_MAX : (unsigned)n);
}
static inline ssize_t fr__w_write(int fd, const void *buf, size_t n) {
    if (fr__w_is_sock(fd)) return fr__w_send(fd, buf, n, 0);
    return _write(fd, buf, n > INT_MAX ? INT_MAX : (unsigned)n);
}
struct fr__w_iovec {
    void *iov_base;
    size_t iov_len;
};
struct fr__w_msghdr {
    void *msg_name;
    int msg_namelen;
    struct fr__w_iovec *msg_iov;
    size_t msg_iovlen;
    void *msg_control;
    size_t msg_controllen;
    int msg_flags;
};
static inline ssize_t fr__w_sendmsg(int fd, const struct fr__w_msghdr *m, int flags) {
    WSABUF b[8];
    DWORD sent = 0, i, n = (DWORD)FR__W_MIN(m->msg_iovlen, 8);
    for (i = 0; i < n; i++) {
        b[i].buf = (char *)m->msg_iov[i].iov_base;
        b[i].len = (ULONG)FR__W_MIN(m->msg_iov[i].iov_len, (size_t)INT_MAX);
    }
    if (WSASend((SOCKET)(intptr_t)fd, b, n, &sent, (DWORD)flags, NULL, NULL) != 0) return fr__w_fail();
    return (ssize_t)sent;
}
static inline int fr__w_setsockopt(int fd, int level, int opt, const void *v, socklen_t l) {
    if (level == SOL_SOCKET && opt == SO_REUSEADDR) return 0; /* would allow port stealing */
    return setsockopt((SOCKET)(intptr_t)fd, level, opt, (const char *)v, l) == 0 ? 0 : fr__w_fail();
}
static inline int fr__w_getsockopt(int fd, int level, int opt, void *v, socklen_t *l) {
    return getsockopt((SOCKET)(intptr_t)fd, level, opt, (char *)v, l) == 0 ? 0 : fr__w_fail();
}
static inline int fr__w_bind(int fd, const struct sockaddr *sa, socklen_t l) {
    return bind((SOCKET)(intptr_t)fd, sa, l) == 0 ? 0 : fr__w_fail();
}
static inline int fr__w_listen(int fd, int backlog) {
    return listen((SOCKET)(intptr_t)fd, backlog) == 0 ? 0 : fr__w_fail();
}
static inline int fr__w_getsockname(int fd, struct sockaddr *sa, socklen_t *l) {
    return getsockname((SOCKET)(intptr_t)fd, sa, l) == 0 ? 0 : fr__w_fail();
}
static inline int fr__w_shutdown(int fd, int how) {
    return shutdown((SOCKET)(intptr_t)fd, how) == 0 ? 0 : fr__w_fail();
}
static inline int fr__w_getaddrinfo(const char *node, const char *svc, const struct addrinfo *hints,
                                    struct addrinfo **res) {
    fr__w_startup();
    return getaddrinfo(node, svc, hints, res);
}
static inline int fr__w_poll(struct pollfd *p, nfds_t n, int timeout) {
    int r;
    if (n == 0) { /* WSAPoll refuses an empty set */
        Sleep(timeout < 0 ? INFINITE : (DWORD)timeout);
        return 0;
    }
    r = WSAPoll(p, (ULONG)n, timeout);
    return r == SOCKET_ERROR ? fr__w_fail() : r;
}
static inline int fr__w_fcntl(int fd, int cmd, ...) {
    va_list ap;
    int arg;
    u_long nb;
    if (cmd != F_SETFL) return 0; /* F_GETFL: no flags; F_SETFD: handles are not inherited */
    va_start(ap, cmd);
    arg = va_arg(ap, int);
    va_end(ap);
    nb = (arg & O_NONBLOCK) ? 1 : 0;
    if (!fr__w_is_sock(fd)) return 0;
    return ioctlsocket((SOCKET)(intptr_t)fd, FIONBIO, &nb) == 0 ? 0 : fr__w_fail();
}
/* a connected loopback TCP pair: [0] reads, [1] writes */
static inline int fr__w_pipe(int p[2]) {
    struct sockaddr_in a;
    int al = (int)sizeof a, one = 1;
    SOCKET l, w = INVALID_SOCKET, r = INVALID_SOCKET;
    fr__w_startup();
    l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (l == INVALID_SOCKET) return fr__w_fail();
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&a, al) != 0 || getsockname(l, (struct sockaddr *)&a, &al) != 0 ||
        listen(l, 1) != 0)
        goto fail;
    w = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (w == INVALID_SOCKET || connect(w, (struct sockaddr *)&a, al) != 0) goto fail;
    r = accept(l, NULL, NULL);
    if (r == INVALID_SOCKET) goto fail;
    closesocket(l);
    setsockopt(w, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, (int)sizeof one);
    p[0] = (int)(intptr_t)r;
    p[1] = (int)(intptr_t)w;
    return 0;
fail:
    fr__w_fail();
    {
        int e = errno;
        closesocket(l);
        if (w != INVALID_SOCKET) closesocket(w);
        errno = e;
    }
    return -1;
}
/* pread: ReadFile at an offset (the CRT file position is not used) */
static inline ssize_t fr__w_pread(int fd, void *buf, size_t n, int64_t off) {
    HANDLE h = (HANDLE)_get_osfhandle(fd);
    OVERLAPPED o;
    DWORD got = 0;
    if (h == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    if (GetFileType(h) != FILE_TYPE_DISK) {
        errno = ESPIPE;
        return -1;
    }
    memset(&o, 0, sizeof o);
    o.Offset = (DWORD)((uint64_t)off & 0xffffffffu);
    o.OffsetHigh = (DWORD)((uint64_t)off >> 32);
    if (!ReadFile(h, buf, (DWORD)FR__W_MIN(n, (size_t)0x7fffffff), &got, &o)) {
        if (GetLastError() == ERROR_HANDLE_EOF) return 0;
        errno = EIO;
        return -1;
    }
    return (ssize_t)got;
}
/* realpath(p, NULL): the absolute path with '/' separators (malloc'd), or
 * NULL with errno ENOENT when nothing is there; symlinks are not resolved */
static inline char *fr__w_realpath(const char *p, char *resolved) {
    char *r = _fullpath(NULL, p, 0), *s;
    (void)resolved;
    if (!r) return NULL;
    if (GetFileAttributesA(r) == INVALID_FILE_ATTRIBUTES) {
        free(r);
        errno = ENOENT;
        return NULL;
    }
    for (s = r; *s; s++)
        if (*s == '\\') *s = '/';
    return r;
}
static inline long fr__w_sysconf(int name) {
    SYSTEM_INFO si;
    if (name != _SC_NPROCESSORS_ONLN) return -1;
    GetSystemInfo(&si);
    return (long)si.dwNumberOfProcessors;
}
struct fr__w_sigaction {
    void (*sa_handler)(int);
    int sa_mask;
    int sa_flags;
};
static inline int fr__w_sigaction(int sig, const struct fr__w_sigaction *sa, struct fr__w_sigaction *old) {
    void (*prev)(int) = sa ? signal(sig, sa->sa_handler) : SIG_DFL;
    if (prev == SIG_ERR) {
        errno = EINVAL;
        return -1;
    }
    if (old) {
        memset(old, 0, sizeof *old);
        old->sa_handler = prev;
    }
    return 0;
}
#  define close(fd) fr__w_close(fd)
#  define read(fd, b, n) fr__w_read(fd, b, n)
#  define write(fd, b, n) fr__w_write(fd, b, n)
#  define recv(fd, b, n, f) fr__w_recv(fd, b, n, f)
#  define send(fd, b, n, f) fr__w_send(fd, b, n, f)
#  define socket(a, t, p) fr__w_socket(a, t, p)
#  define accept(fd, sa, sl) fr__w_accept(fd, sa, sl)
#  define setsockopt(fd, lv, o, v, l) fr__w_setsockopt(fd, lv, o, v, l)
#  define getsockopt(fd, lv, o, v, l) fr__w_getsockopt(fd, lv, o, v, l)
#  define bind(fd, sa, l) fr__w_bind(fd, sa, l)
#  define listen(fd, n) fr__w_listen(fd, n)
#  define getsockname(fd, sa, l) fr__w_getsockname(fd, sa, l)
#  define shutdown(fd, h) fr__w_shutdown(fd, h)
#  define getaddrinfo(n, s, h, r) fr__w_getaddrinfo(n, s, h, r)
#  define poll(p, n, t) fr__w_poll(p, n, t)
#  define pipe(p) fr__w_pipe(p)
#  define pread(fd, b, n, o) fr__w_pread(fd, b, n, (int64_t)(o))
#  define realpath(p, r) fr__w_realpath(p, r)
#  define sysconf(n) fr__w_sysconf(n)
#  define fcntl fr__w_fcntl
#  define iovec fr__w_iovec
#  define msghdr fr__w_msghdr
#  define sendmsg fr__w_sendmsg
#  define sigaction fr__w_sigaction
#  define sigemptyset(m) (*(m) = 0, 0)
#endif /* _WIN32 */

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

/* base.c: unmap the cached big arena chunks (the loops, when big memory was freed) */
FR__PRIV void fr__map_flush(void);
/* http.c: the next OWS-trimmed element of a comma list in [*pp, end) (empty
 * ones with len 0); 0 once exhausted (*pp NULL) */
FR__PRIV int fr__http_list_next(const char **pp, const char *end, const char **elem, size_t *elen);
/* http.c: 1 if a header `name` carries `token` in its comma list (both
 * case-insensitive) */
FR__PRIV int fr__hdr_has_token(const fr_header *h, size_t n, const char *name, const char *token);
/* multipart.c: an unlinked, close-on-exec temp file in $TMPDIR (else /tmp),
 * or -1 (errno set) */
FR__PRIV int fr__tmpfile(void);
/* multipart.c: all n bytes to fd (EINTR retried); 0, or -1 (errno set) */
FR__PRIV int fr__write_all(int fd, const char *d, size_t n);

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
/* 1: a middleware answered; 2: an around layer took the request (pending) */
FR__PRIV int fr__mw_before(fr_req *req, fr_handler h, void *hud);
FR__PRIV void fr__mw_req_done(fr_req *req, int ok); /* captured responses' on_done */
FR__PRIV void fr__req_done_take(fr_req *req, fr_done_fn *fn, void **ud); /* and clear it */
/* the stream event callback of req, replaced by *fn / *ud (their old values out) */
FR__PRIV void fr__req_stream_fn_swap(fr_req *req, fr_stream_fn *fn, void **ud);
FR__PRIV int fr__req_stream_unabort(fr_req *req); /* 1 if it was aborted */
FR__PRIV int fr__mw_send(fr_req *req);
FR__PRIV int fr__mw_stream_begin(fr_req *req);
FR__PRIV int fr__mw_stream_write(fr_req *req, const void *data, size_t len);
FR__PRIV int fr__mw_stream_end(fr_req *req);
FR__PRIV void fr__mw_req_end(fr_req *req);

/* ---- held-back loop wake-ups (server.c; the pool's workers use them) ----
 * A thread that captures into a wake set (fr__wakes_capture) has the
 * wake-up of each request it releases to a sleeping loop (fr_res_send from
 * outside the loop) recorded there, each loop once, instead of written: the
 * request is queued on its loop at once, only the loop's wake-up waits for
 * fr__wakes_flush (any thread). A full set wakes the extra loop at once.
 * Sets are registered: fr_app_free takes its loops out of every set before
 * it frees them, and a flush wakes under the set's lock, so a held-back
 * wake-up never reaches a freed loop. */
#include <pthread.h>
enum { FR__WAKE_SET_MAX = 16 };
typedef struct fr__wake_set {
    pthread_mutex_t mu;
    int n;
    struct fr__loop *loops[FR__WAKE_SET_MAX];
    struct fr__wake_set *prev, *next; /* the registry */
} fr__wake_set;
FR__PRIV int fr__wakes_init(fr__wake_set *s);     /* 0 / -1; registers it */
FR__PRIV void fr__wakes_fini(fr__wake_set *s);    /* flushes, unregisters */
FR__PRIV void fr__wakes_capture(fr__wake_set *s); /* this thread's; NULL = wake at once */
FR__PRIV int fr__wakes_flush(fr__wake_set *s);    /* loops woken */
FR__PRIV int fr__wakes_pending(fr__wake_set *s);  /* loops waiting for a flush */
/* fork child (one thread): unregisters s without a lock; s is not flushed */
FR__PRIV void fr__wakes_abandon(fr__wake_set *s);
/* This thread's own set (made on first use, ended with the thread); NULL
 * when it cannot be made (then wake at once) */
FR__PRIV fr__wake_set *fr__wakes_thread_set(void);

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
FR__PRIV fr__tls_ctx *fr__tls_ctx_new(const fr_tls_opts *o, char *err, size_t cap); /* o copied */
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
