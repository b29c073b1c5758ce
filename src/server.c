/* ---- server.c: the app, event loops, connections, request/response API ----
 *
 * Shape
 *  - An fr_app owns its listening sockets, router and config. fr_serve runs
 *    cfg.threads event loops (the calling thread runs loop 0); fr_poll runs
 *    one loop from the host's thread. Each loop owns a poller (epoll on
 *    Linux, kqueue on the BSDs/macOS, poll() elsewhere or with FR_USE_POLL),
 *    a wake-up fd, its connections, timers and free lists. On Linux with
 *    several loops every loop gets its own SO_REUSEPORT clone of each
 *    listener so the kernel spreads connections evenly.
 *  - Connections are edge-triggered: registered once for in+out, never
 *    modified; `readable`/`writable` remember readiness. One request at a
 *    time per connection; pipelined bytes wait in the read buffer and are
 *    parsed after the response was written. Request heads are views into
 *    the connection's read buffer, which is neither moved nor compacted
 *    while a request lives.
 *  - A handler answers inline (no locks, no allocation in steady state:
 *    requests and connections are recycled, the arena is reset) or returns
 *    FR_PENDING. fr_res_send / streaming calls from other threads push the
 *    request on the owning loop's queue (mutex) and wake it (eventfd/pipe)
 *    unless it is busy: between its wait's return and its last look at the
 *    queue before the next wait, it takes what was pushed without one.
 *    Ownership handover is decided only by the loop: a release is "seen"
 *    when the request is popped from the queue with its released flag set.
 *  - A connection that dies while its handler still owns the request
 *    becomes a zombie: fd closed, memory kept until the handler releases
 *    the request (then on_done runs with ok = 0 and both are freed).
 *  - Timers: one intrusive list per timeout kind; each kind has a fixed
 *    duration, so appending at the tail keeps every list sorted.
 *  - Errors detected by the engine (parser errors, 408, 413) are answered
 *    with {"detail":"<reason phrase>"} as application/json and the
 *    connection is closed (after a short lingering read so the client sees
 *    the answer instead of a reset).
 *  - fr_dispatch requests (last section) have no connection and no loop:
 *    req->sink is set and the response functions hand the response to it
 *    on the calling thread. The socket path pays one test of req->sink in
 *    fr_res_send / fr_res_stream_* and nothing elsewhere.
 */
#include "internal.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/types.h>
#include <sys/stat.h>
#if !defined(_WIN32) /* Windows: Winsock, from internal.h */
#include <netdb.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#endif
#if defined(__linux__)
#define FR__SENDFILE 1
#include <sys/sendfile.h>
#endif


#if defined(__linux__) && !FR_USE_POLL
#define FR__EPOLL 1
#include <sys/epoll.h>
#include <sys/eventfd.h>
#elif (defined(__APPLE__) || defined(__FreeBSD__) || defined(__NetBSD__) || defined(__OpenBSD__) || \
       defined(__DragonFly__)) &&                                                                  \
    !FR_USE_POLL
#define FR__KQUEUE 1
#include <sys/event.h>
#include <sys/time.h>
#else
#define FR__POLLFD 1 /* Windows: WSAPoll (internal.h) */
#if !defined(_WIN32)
#include <poll.h>
#endif
#endif

#if defined(__linux__) && defined(SOCK_NONBLOCK) && \
    (defined(__USE_GNU) || (!defined(__GLIBC__) && defined(_GNU_SOURCE)))
#define FR__ACCEPT4 1
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: SO_NOSIGPIPE is set on every socket instead */
#endif

#define FR__MAX_LISTENERS 8
#define FR__LINGER_MS 2000               /* read-and-discard before closing */
#define FR__STOP_FIRST_MS 1000           /* stopping: wait for a new connection's first request */
#define FR__SMALL_BODY 2048              /* bodies up to this are copied after the head */
#define FR__FREE_CAP 1024                /* recycled objects kept per loop */
#define FR__FREE_KEEP 64                 /* ... and no more than this beyond its open connections */
#define FR__ACCEPT_BATCH 64
#define FR__EMFILE_PAUSE_MS 100
#define FR__FILE_CHUNK 16384 /* fr_res_file without sendfile: bytes read into out per step */
#define FR__WS_TICK_MS 200   /* WebSocket ping / close-timeout checks */
#define FR__WS_READ 16384    /* WebSocket input is read into a stack buffer of this size */
#define FR__BUSY_EXTRA 64    /* connections over max_connections answered 503 at a time */
#define FR__BIG_BUF 65536    /* a recycled connection/request keeps buffers up to this */
#define FR__IN_BUF 4096      /* a connection's first input buffer */
#define FR__IN_SPARE 256     /* idle connections' input buffers kept per loop for reuse */
#define FR__TRIM_BYTES (1u << 20) /* glibc: malloc_trim once this much was freed, */
#define FR__TRIM_MS 1000          /* ... at most once a second per loop */

#if defined(__GLIBC__)
#include <malloc.h> /* malloc_trim: freed big buffers go back to the OS */
#define FR__MALLOC_TRIM 1
#endif

/* Helpers the socket path shares with fr_dispatch: inlined so the socket
 * path compiles to what it was before they were shared. */
#if defined(__GNUC__)
#define FR__SRV_SHARED static inline __attribute__((always_inline))
#else
#define FR__SRV_SHARED static inline
#endif

enum { FR__K_CONN = 1, FR__K_LISTEN, FR__K_WAKE, FR__K_STOP };
enum {
    FR__T_IDLE = 0, FR__T_HEADER, FR__T_BODY, FR__T_WRITE, FR__T_LINGER, FR__T_WS, FR__T_TLS,
    FR__T_HANDLER, /* cfg.request_timeout_ms: a pending handler's deadline (fr__req_timeout) */
    FR__T_COUNT
};
enum {
    FR__C_READ_HEAD = 0, /* waiting for / parsing a request head */
    FR__C_READ_BODY,     /* head parsed, body arriving */
    FR__C_HANDLING,      /* inside the handler call */
    FR__C_PENDING,       /* the handler (or a stream producer) owns the request */
    FR__C_WRITING,       /* output queued in out / wbody */
    FR__C_LINGER,        /* write side shut, discarding input before close */
    FR__C_WS,            /* upgraded to a WebSocket (section "WebSocket connections") */
    FR__C_CLOSED
};
enum { FR__P_LT = 0, FR__P_EDGE, FR__P_CONN }; /* poller registration kinds */

typedef struct fr__conn fr__conn;
typedef struct fr__loop fr__loop;
typedef struct fr__route fr__route;

typedef struct fr__src {
    int kind; /* first member, like fr__conn's */
    int fd;
    int owned; /* listener clone owned by the loop */
} fr__src;

struct fr__route {
    fr_handler h;
    void *ud;
    fr__route *next;
    char *method, *pattern; /* copies: a router built while serving adds it again */
    int limit_body;    /* fr_route_opts: 1 = max_body is this route's limit */
    int body_unread;   /* fr_route_opts.body_unread */
    uint64_t max_body;
    int mp_stream;     /* fr_route_opts.multipart_stream: multipart bodies go to an fr_form */
    uint64_t mp_spool;
    uint64_t body_spool; /* fr_route_opts.body_spool */
    int body_drop;       /* fr_route_opts.body_drop */
    unsigned allow_group; /* fr_route_opts.allow_group */
    fr_mp_limits mp_lim;
    int ws;          /* fr_route_opts.websocket */
    fr__route *alt;  /* the route of the same GET pattern (or shape) with the other ws flag */
    int is_alt;      /* reached through its twin's alt: not in the router itself */
    int pnames;      /* is_alt with other parameter names than its twin: renamed when picked */
};

struct fr__conn {
    int kind; /* FR__K_CONN */
    int fd;
    int state;
    int tkind; /* -1: no timer */
    fr__loop *loop;
    fr__conn *prev, *next;   /* loop->conns, or the closed/free lists */
    fr__conn *tprev, *tnext; /* timer list */
    int64_t deadline;
    fr_buf in;
    size_t off;        /* start of the current request in `in` */
    size_t body_start; /* offset of the body in `in` */
    size_t next_off;   /* where the next pipelined request starts */
    size_t body_decoded;
    size_t head_scanned; /* bytes of an incomplete head already parsed (from off) */
    uint64_t body_len;
    const char *parsed_base; /* in.buf when the head was parsed */
    fr_chunked chunk;
    fr_buf out;
    size_t out_off;
    const char *wbody;
    size_t wbody_len, wbody_off;
    uint64_t fleft; /* file body bytes still to send (fd and position in req) */
    uint64_t wwin_bytes; /* bytes sent in the current send window (FR__T_WRITE) */
    int64_t wwin_outq;   /* the kernel's unacknowledged bytes when it opened */
    fr_req *req;
    unsigned readable : 1, writable : 1, close_after : 1, dead : 1;
    unsigned reused : 1;      /* has answered a request: idle = a keep-alive wait */
    unsigned peer_closed : 1; /* the peer's FIN was reported: read on until EOF */
    unsigned secure : 1; /* accepted on a TLS listener (fr_req_scheme "https") */
#if FR_ENABLE_OPENSSL
    fr__tls_conn *tls; /* NULL: plain; see "connection I/O" */
#endif
    struct sockaddr_storage peer;
    socklen_t peerlen;
};

struct fr_req {
    fr_app *app;
    fr__loop *loop;
    fr__conn *conn;
    fr_arena arena;
    fr_http_req h;
    fr_str path; /* percent-decoded */
    fr_str body;
    fr_form *form;        /* the streamed multipart body (multipart_stream), or NULL */
    uint64_t form_left;   /* Content-Length bytes still to feed it */
    uint64_t form_bytes;  /* body bytes fed so far (the route's max_body) */
    uint64_t form_max;    /* stop feeding beyond (the route's max_body), else UINT64_MAX */
    int bkind;            /* how a body taken as it arrives is kept: FR__B_* (0: read whole) */
    int sp_fd;            /* FR__B_SPOOL: the temp file once past sp_limit, else -1 */
    int sp_err;           /* FR__B_SPOOL: the temp file could not be made or written */
    uint64_t sp_limit;    /* FR__B_SPOOL: bytes held in fbody before the temp file */
    fr_buf fbody;         /* fr_dispatch_feed: the body so far; FR__B_SPOOL: its memory part */
    int feed;             /* fr_dispatch_begin: 1 taking its body, 2 answered 413 */
    fr_match m;
    fr_str client_addr;
    int is_head, dispatched;
    int status;
    fr_header *rh;
    size_t nrh, caprh;
    const void *rbody;
    size_t rbody_len;
    void (*rbody_free)(void *ud, const void *data);
    void *rbody_ud;
    int64_t res_clen; /* content-length set by the caller (streaming), -1 */
    int64_t sleft;    /* a stream with that content-length: bytes it still owes, else -1 */
    int rfd;          /* fr_res_file: fd, or -1 */
    int rfd_close;    /* close rfd when the request is finished */
    int rfd_nosf;     /* sendfile refused this fd: 1 pread + send, 2 read + send */
    uint64_t rfd_off, rfd_len; /* rfd_off advances as bytes are sent */
    int force_close;
    int close_after; /* fr_res_close_after: the head says keep-alive, the connection closes */
    int stream_abort; /* fr_res_stream_abort: the end sends no terminal chunk */
    const char *res_bad; /* why the handler's response cannot be sent (-> 500), or NULL */
    fr_done_fn done;
    void *done_ud;
    void *ud;
    fr__atomic_int send_called;
    int inline_released; /* loop thread only */
    int rel_seen;        /* loop thread only: popped with `released` */
    int released, in_queue, zombie; /* under loop->qmu */
    fr_req *qnext, *zprev, *znext, *free_next;
    fr_req *bnext; /* the loop's private copy of qnext for the batch being drained */
    /* streaming, under smu */
    pthread_mutex_t smu;
    pthread_cond_t scv;
    int streaming, stream_ended, stream_failed, stream_chunked, stream_keepalive;
    int inline_stream; /* stream_begin called inside the handler (loop thread only) */
    fr_buf sbuf;
    size_t squeued;
    fr_stream_fn sev_fn; /* fr_res_stream_on_drain */
    void *sev_ud;
    int want_drain;  /* a write answered FR_STREAM_FULL: DRAINED is due */
    int sev_running; /* sev_fn is being called on sev_thr */
    pthread_t sev_thr;
    uint64_t bytes_sent;
    double t0;
    /* fr_dispatch requests only (sink == NULL on the socket path) */
    const fr_sink *sink; /* &sink_copy */
    fr_sink sink_copy;
    fr_sink_paused_fn sink_pausefn; /* fr_dispatch_flow's; NULL = none */
    fr_str scheme;       /* len 0 = "http" */
    int client_port;     /* also a socket request's once fwd_client is set */
    int fwd_client;      /* socket request: the client came from X-Forwarded-For */
    int sink_ok;         /* on_done's ok, set by whoever finished the response */
    /* sink flow control (fr_sink.paused, fr_sink_resume), under smu */
    int sink_paused; /* a paused() call fr_sink_resume has not answered yet */
    int sink_file;   /* what is paused is a file body: resume sends the rest */
    int sink_gone;   /* resumed as gone: no further body pieces, only the last call */
    fr__atomic_int sink_refs; /* handler running + response unfinished */
    fr_req *sprev, *snext; /* app->sinks, under app->sink_mu */
    void *mw; /* the middleware chain's run state (middleware.c); NULL = no chain */
    fr_ws *ws; /* set (under smu) by fr_ws_accept: the request belongs to the ws */
    fr_header headers[]; /* app->cfg.max_headers entries (+1 for fr_dispatch) */
};

struct fr__loop {
    fr_app *app;
    int idx;
    int pfd; /* epoll / kqueue fd; -1 when not set up */
    int set_up;
    fr__src wake;
    int wake_wr;
    fr__src stop;
    fr__src lsn[FR__MAX_LISTENERS];
    int nlsn, lsn_active;
    int lsn_held; /* counted in app->lsn_users (the app's listening fds are open) */
    int64_t now, accept_resume;
    int stopping;
    int64_t drain_deadline;
    int64_t tdur[FR__T_COUNT];
    fr_http_limits lim;
    fr__conn *conns;
    int nconns, nlinger;
    fr__conn *th[FR__T_COUNT], *tt[FR__T_COUNT];
    fr__conn *free_conns, *closed;
    int nfree_conns, nfree_reqs;
    char *in_spare; /* FR__IN_BUF input buffers of idle connections, linked through their first bytes */
    int nin_spare;
    fr_req *free_reqs;
    size_t freed_big; /* bytes of big buffers (and surplus spares) freed since the last malloc_trim */
    int64_t trim_at;  /* the next malloc_trim not before (loop ms) */
    pthread_t thr, tid;
    int tid_valid;
    /* shared with other threads, under qmu */
    pthread_mutex_t qmu;
    fr_req *qhead, *qtail;
    int running;
    int busy; /* between the wait's return and the final look at the queue: pushes need no wake-up */
    fr_req *zombies;
    int nzombies;
#if defined(FR__EPOLL)
    struct epoll_event evs[256];
#elif defined(FR__KQUEUE)
    struct kevent evs[256];
#else
    struct pollfd *pfds;
    void **pptr;
    size_t pcap;
    fr__src *reg[FR__MAX_LISTENERS + 2];
    int nreg;
#endif
};

typedef struct fr__listener {
    int fd;        /* -1: closed by a stop (fr_serve binds addr again) */
    int inherited; /* fr_listen_fd's: never bound again by the engine */
    struct sockaddr_storage addr;
    socklen_t addrlen;
#if FR_ENABLE_OPENSSL
    fr__tls_ctx *tls; /* fr_listen_tls; NULL = plain */
#endif
} fr__listener;

enum { FR__MODE_NONE = 0, FR__MODE_SERVE, FR__MODE_POLL, FR__MODE_POLL_DONE };

struct fr_app {
    fr_config cfg;
    char *server_name;
    size_t server_name_len;
    char *fwd_ips, *root_path; /* copies of cfg's (NULL = none) */
    FR__ATOMIC(fr_router *) router; /* replaced (never edited) while serving: fr__route_insert */
    fr_router_opts ro;
    fr_router **retired; /* routers replaced while serving, freed by fr_app_free */
    size_t nretired;
    fr__route *routes;   /* newest first */
    int ws_twins;        /* a websocket route exists (fr__route_ws_split) */
    fr_handler fallback;
    void *fallback_ud;
    fr_route_opts unmatched; /* fr_app_set_unmatched_opts: limits of unrouted requests */
    int mp_routes; /* routes with multipart_stream (0: no head is checked for it) */
    int big_routes;   /* routes with body_spool or body_drop (0: no head is checked for them) */
    uint64_t big_min; /* the smallest body such a route takes as it arrives */
    void *ud;
    char err[200];
    fr__listener lsn[FR__MAX_LISTENERS]; /* fd -1: closed by a stop */
    int nlsn, lsn_reuseport;
    fr__atomic_int lsn_users; /* loops that may still accept on lsn[] */
    int stop_rd, stop_wr;
    fr__atomic_int stop;
    fr__atomic_int nconns;
    fr__loop *loops;
    int nloops;
    int mode;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int serving;
    pthread_mutex_t sink_mu;
    fr_req *sinks; /* unfinished fr_dispatch requests, under sink_mu */
    fr__mw_chain *mw; /* the middleware chain (middleware.c); NULL = none */
    fr__static_list *statics; /* static.c's mounts and frontends; NULL = none */
};

static FR__THREAD_LOCAL fr_req *fr__tls_req; /* request whose handler runs on this thread */

/* fr_dispatch requests (the section at the end of this file) */
static void fr__sink_send(fr_req *req);
static int fr__sink_stream_begin(fr_req *req);
static int fr__sink_stream_write(fr_req *req, const void *data, size_t len);
static int fr__sink_stream_end(fr_req *req);
static void fr__sink_abandon(fr_req *req);

/* WebSocket connections (the section at the end of this file) */
static void fr__ws_srv_service(fr__conn *c, fr_req *req);
static void fr__ws_srv_drive(fr__conn *c);
static void fr__ws_srv_timer(fr__conn *c);
static void fr__ws_srv_stop(fr__conn *c);
static void fr__ws_srv_closing(fr_req *req);

/* the middleware chain around the handler (the section at the end of this file) */
static int fr__req_call(fr_app *app, fr_req *req, fr_handler h, void *ud);

/* ------------------------------------------------------------------------ */
/* small helpers                                                             */

static int64_t fr__srv_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double fr__srv_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fr__srv_seterr(fr_app *app, const char *msg) {
    snprintf(app->err, sizeof app->err, "%s", msg ? msg : "error");
}

static int fr__srv_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return 0;
}

/* A wake-up channel: eventfd on Linux, a pipe elsewhere. */
static int fr__srv_wake_open(int *rd, int *wr) {
#if defined(FR__EPOLL)
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return -1;
    *rd = *wr = fd;
    return 0;
#else
    int p[2];
    if (pipe(p) < 0) return -1;
    if (fr__srv_nonblock(p[0]) < 0 || fr__srv_nonblock(p[1]) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    *rd = p[0];
    *wr = p[1];
    return 0;
#endif
}

static void fr__srv_wake_close(int rd, int wr) {
    if (rd >= 0) close(rd);
    if (wr >= 0 && wr != rd) close(wr);
}

/* async-signal-safe */
static void fr__srv_wake_write(int wr) {
    ssize_t r;
#if defined(FR__EPOLL)
    uint64_t one = 1;
    r = write(wr, &one, sizeof one);
#else
    char one = 1;
    r = write(wr, &one, 1);
#endif
    (void)r;
}

static void fr__srv_wake_drain(int rd) {
#if defined(FR__EPOLL)
    /* one read takes an eventfd's whole count: a second would only say EAGAIN
     * (a syscall per wake-up, i.e. per completion from another thread) */
    uint64_t v;
    ssize_t r;
    do r = read(rd, &v, sizeof v);
    while (r < 0 && errno == EINTR);
    (void)r;
#else
    char tmp[64];
    while (read(rd, tmp, sizeof tmp) > 0) {
    }
#endif
}

/* ------------------------------------------------------------------------ */
/* pollers                                                                   */

typedef struct fr__pev {
    void *ptr;
    int r, w, hup, rdhup;
} fr__pev;

#if defined(FR__EPOLL)
static int fr__poller_open(fr__loop *L) {
    L->pfd = epoll_create1(EPOLL_CLOEXEC);
    return L->pfd < 0 ? -1 : 0;
}
static int fr__poller_add(fr__loop *L, int fd, void *ptr, int how) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.data.ptr = ptr;
    if (how == FR__P_CONN) ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    else if (how == FR__P_EDGE) ev.events = EPOLLIN | EPOLLET;
    else ev.events = EPOLLIN;
    return epoll_ctl(L->pfd, EPOLL_CTL_ADD, fd, &ev);
}
static void fr__poller_del(fr__loop *L, int fd, void *ptr, int how) {
    struct epoll_event ev;
    (void)ptr;
    (void)how;
    memset(&ev, 0, sizeof ev);
    epoll_ctl(L->pfd, EPOLL_CTL_DEL, fd, &ev);
}
static int fr__poller_wait(fr__loop *L, fr__pev *out, int max, int timeout) {
    int n, i;
    if (max > (int)FR__COUNTOF(L->evs)) max = (int)FR__COUNTOF(L->evs);
    n = epoll_wait(L->pfd, L->evs, max, timeout);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (i = 0; i < n; i++) {
        uint32_t e = L->evs[i].events;
        out[i].ptr = L->evs[i].data.ptr;
        out[i].r = (e & EPOLLIN) != 0;
        out[i].w = (e & EPOLLOUT) != 0;
        out[i].hup = (e & (EPOLLHUP | EPOLLERR)) != 0;
        out[i].rdhup = (e & EPOLLRDHUP) != 0;
    }
    return n;
}
#elif defined(FR__KQUEUE)
static int fr__poller_open(fr__loop *L) {
    L->pfd = kqueue();
    if (L->pfd < 0) return -1;
    fcntl(L->pfd, F_SETFD, FD_CLOEXEC);
    return 0;
}
static int fr__poller_add(fr__loop *L, int fd, void *ptr, int how) {
    struct kevent kev[2];
    int n = 1;
    unsigned short fl = (unsigned short)(EV_ADD | (how == FR__P_LT ? 0 : EV_CLEAR));
    EV_SET(&kev[0], fd, EVFILT_READ, fl, 0, 0, ptr);
    if (how == FR__P_CONN) {
        EV_SET(&kev[1], fd, EVFILT_WRITE, fl, 0, 0, ptr);
        n = 2;
    }
    return kevent(L->pfd, kev, n, NULL, 0, NULL);
}
static void fr__poller_del(fr__loop *L, int fd, void *ptr, int how) {
    struct kevent kev[2];
    int n = 1;
    EV_SET(&kev[0], fd, EVFILT_READ, EV_DELETE, 0, 0, ptr);
    if (how == FR__P_CONN) {
        EV_SET(&kev[1], fd, EVFILT_WRITE, EV_DELETE, 0, 0, ptr);
        n = 2;
    }
    kevent(L->pfd, kev, n, NULL, 0, NULL);
}
static int fr__poller_wait(fr__loop *L, fr__pev *out, int max, int timeout) {
    struct timespec ts, *tp = NULL;
    int n, i;
    if (max > (int)FR__COUNTOF(L->evs)) max = (int)FR__COUNTOF(L->evs);
    if (timeout >= 0) {
        ts.tv_sec = timeout / 1000;
        ts.tv_nsec = (long)(timeout % 1000) * 1000000L;
        tp = &ts;
    }
    n = kevent(L->pfd, NULL, 0, L->evs, max, tp);
    if (n < 0) return errno == EINTR ? 0 : -1;
    for (i = 0; i < n; i++) {
        out[i].ptr = (void *)L->evs[i].udata;
        out[i].r = L->evs[i].filter == EVFILT_READ;
        out[i].w = L->evs[i].filter == EVFILT_WRITE;
        out[i].hup = (L->evs[i].flags & EV_ERROR) != 0;
        out[i].rdhup = out[i].r && (L->evs[i].flags & EV_EOF) != 0;
    }
    return n;
}
#else /* poll() */
static int fr__poller_open(fr__loop *L) {
    L->pfd = -1;
    L->nreg = 0;
    return 0;
}
static int fr__poller_add(fr__loop *L, int fd, void *ptr, int how) {
    (void)fd;
    if (how == FR__P_CONN) return 0; /* connections are enumerated each wait */
    if (L->nreg >= (int)FR__COUNTOF(L->reg)) return -1;
    L->reg[L->nreg++] = (fr__src *)ptr;
    return 0;
}
static void fr__poller_del(fr__loop *L, int fd, void *ptr, int how) {
    int i;
    (void)fd;
    if (how == FR__P_CONN) return;
    for (i = 0; i < L->nreg; i++)
        if (L->reg[i] == ptr) {
            L->reg[i] = L->reg[--L->nreg];
            break;
        }
}
static int fr__poller_wait(fr__loop *L, fr__pev *out, int max, int timeout) {
    size_t n = 0, need = (size_t)L->nreg + (size_t)L->nconns, i;
    fr__conn *c;
    int r, k = 0;
    if (need > L->pcap) {
        size_t cap = need * 2 + 16;
        struct pollfd *p = (struct pollfd *)FR_REALLOC(L->pfds, cap * sizeof *p);
        void **q;
        if (!p) return -1;
        L->pfds = p;
        q = (void **)FR_REALLOC(L->pptr, cap * sizeof *q);
        if (!q) return -1;
        L->pptr = q;
        L->pcap = cap;
    }
    for (r = 0; r < L->nreg; r++) {
        L->pfds[n].fd = L->reg[r]->fd;
        L->pfds[n].events = POLLIN;
        L->pptr[n++] = L->reg[r];
    }
    for (c = L->conns; c; c = c->next) {
        short ev = 0;
        if (c->state == FR__C_READ_HEAD || c->state == FR__C_READ_BODY || c->state == FR__C_LINGER ||
            c->state == FR__C_WS)
            ev |= POLLIN;
        if (!c->writable && (c->state == FR__C_WRITING || c->out.len > c->out_off)) ev |= POLLOUT;
        L->pfds[n].fd = c->fd;
        L->pfds[n].events = ev;
        L->pptr[n++] = c;
    }
    r = poll(L->pfds, (nfds_t)n, timeout);
    if (r < 0) return errno == EINTR ? 0 : -1;
    for (i = 0; i < n && k < max; i++) {
        short re = L->pfds[i].revents;
        if (!re) continue;
        out[k].ptr = L->pptr[i];
        out[k].r = (re & POLLIN) != 0;
        out[k].w = (re & POLLOUT) != 0;
        out[k].hup = (re & (POLLERR | POLLNVAL)) != 0 || ((re & POLLHUP) && !(re & POLLIN));
        out[k].rdhup = 0;
        k++;
    }
    return k;
}
#endif

/* ------------------------------------------------------------------------ */
/* timers                                                                    */

static void fr__timer_clear(fr__conn *c) {
    fr__loop *L = c->loop;
    int k = c->tkind;
    if (k < 0) return;
    if (c->tprev) c->tprev->tnext = c->tnext;
    else L->th[k] = c->tnext;
    if (c->tnext) c->tnext->tprev = c->tprev;
    else L->tt[k] = c->tprev;
    c->tprev = c->tnext = NULL;
    c->tkind = -1;
}

static void fr__timer_set(fr__conn *c, int k) {
    fr__loop *L = c->loop;
    fr__timer_clear(c);
    c->deadline = L->now + L->tdur[k];
    c->tkind = k;
    c->tprev = L->tt[k];
    c->tnext = NULL;
    if (L->tt[k]) L->tt[k]->tnext = c;
    else L->th[k] = c;
    L->tt[k] = c;
}

/* ------------------------------------------------------------------------ */
/* requests and connections: allocation and recycling                        */

/* A new request with room for max_headers + extra header fields. */
static fr_req *fr__req_alloc(const fr_app *app, size_t extra) {
    size_t sz = sizeof(fr_req) + (app->cfg.max_headers + extra) * sizeof(fr_header);
    fr_req *r = (fr_req *)FR_MALLOC(sz);
    if (!r) return NULL;
    memset((void *)r, 0, sizeof *r); /* (void *): C++ warns on its atomics */
    fr_arena_init(&r->arena, NULL);
    if (pthread_mutex_init(&r->smu, NULL) != 0) {
        FR_FREE(r);
        return NULL;
    }
    if (pthread_cond_init(&r->scv, NULL) != 0) {
        pthread_mutex_destroy(&r->smu);
        FR_FREE(r);
        return NULL;
    }
    return r;
}

/* Reset a new or recycled request (L is NULL for fr_dispatch requests). */
FR__SRV_SHARED void fr__req_init(fr_req *r, fr_app *app, fr__loop *L) {
    r->app = app;
    r->loop = L;
    r->conn = NULL;
    r->path.buf = NULL;
    r->path.len = 0;
    r->body.buf = NULL;
    r->body.len = 0;
    r->form = NULL;
    r->form_left = r->form_bytes = 0;
    r->bkind = r->sp_err = 0;
    r->sp_fd = -1;
    r->m.status = FR_MATCH_NOT_FOUND;
    r->m.num_params = 0;
    r->m.allow.buf = NULL;
    r->m.allow.len = 0;
    r->m.pattern.buf = NULL;
    r->m.pattern.len = 0;
    r->client_addr.buf = NULL;
    r->client_addr.len = 0;
    r->scheme.buf = NULL;
    r->scheme.len = 0;
    r->client_port = r->fwd_client = 0;
    r->is_head = r->dispatched = 0;
    r->status = 200;
    r->rh = NULL;
    r->nrh = r->caprh = 0;
    r->rbody = NULL;
    r->rbody_len = 0;
    r->rbody_free = NULL;
    r->rbody_ud = NULL;
    r->res_clen = -1;
    r->rfd = -1;
    r->rfd_close = r->rfd_nosf = 0;
    r->rfd_off = r->rfd_len = 0;
    r->force_close = 0;
    r->close_after = r->stream_abort = 0;
    r->res_bad = NULL;
    r->done = NULL;
    r->done_ud = NULL;
    r->ud = NULL;
    fr__atomic_store_explicit(&r->send_called, 0, FR__RELAXED);
    r->inline_released = r->rel_seen = r->released = r->in_queue = r->zombie = 0;
    r->qnext = r->zprev = r->znext = r->free_next = NULL;
    r->streaming = r->stream_ended = r->stream_failed = r->stream_chunked = r->stream_keepalive = 0;
    r->inline_stream = 0;
    r->sbuf.len = 0;
    r->squeued = 0;
    r->sleft = -1;
    r->sev_fn = NULL;
    r->sev_ud = NULL;
    r->want_drain = r->sev_running = 0;
    r->sink_paused = r->sink_file = r->sink_gone = 0;
    r->bytes_sent = 0;
    r->t0 = 0;
    r->mw = NULL;
    r->ws = NULL;
}

static fr_req *fr__req_get(fr__loop *L) {
    fr_req *r = L->free_reqs;
    if (r) {
        L->free_reqs = r->free_next;
        L->nfree_reqs--;
    } else {
        r = fr__req_alloc(L->app, 0);
        if (!r) return NULL;
    }
    fr__req_init(r, L->app, L);
    return r;
}

static void fr__req_drop_file(fr_req *r) {
    if (r->rfd >= 0 && r->rfd_close) close(r->rfd);
    r->rfd = -1;
    r->rfd_close = 0;
}

/* A body taken as it arrives: the form (and its uploads' temp files), the
 * spool file, the memory part. */
static void fr__req_body_free(fr_req *r) {
    fr_form_free(r->form); /* closes an upload's temp files (also after an abort) */
    r->form = NULL;
    if (r->sp_fd >= 0) close(r->sp_fd);
    r->sp_fd = -1;
    fr_buf_free(&r->fbody);
}

static void fr__req_free_mem(fr_req *r) {
    fr__req_body_free(r);
    fr_arena_free(&r->arena);
    fr_buf_free(&r->sbuf);
    pthread_mutex_destroy(&r->smu);
    pthread_cond_destroy(&r->scv);
    FR_FREE(r);
}

/* Keep a finished request / closed connection for reuse (loop thread)? Up
 * to FR__FREE_CAP, and no more than FR__FREE_KEEP beyond the connections
 * open now: after a burst (2,000 clients that left 1 MiB responses unread,
 * whose requests finished after their sockets closed) the surplus is freed
 * and trimmed, not cached (issue 14: it held ~10 KiB each, +20 MiB). */
static int fr__keep_spare(const fr__loop *L, int nfree) {
    return nfree < FR__FREE_CAP && nfree < FR__FREE_KEEP + L->nconns;
}

/* Return a request to the loop (or free it when the loop is not running). */
static void fr__req_put(fr__loop *L, fr_req *r, int recycle) {
    if (r->rfd >= 0) fr__req_drop_file(r);
    fr__req_body_free(r);
    if (recycle && !fr__keep_spare(L, L->nfree_reqs)) { /* a surplus one: freed below */
        L->freed_big += sizeof *r + L->app->cfg.max_headers * sizeof(fr_header) + 4096 + r->sbuf.cap;
        recycle = 0;
    }
    if (recycle) {
        size_t held = fr_arena_bytes(&r->arena);
        fr_arena_reset(&r->arena);
        held -= fr_arena_bytes(&r->arena);
        if (held > FR__BIG_BUF) L->freed_big += held; /* a big body's chunk */
        if (r->sbuf.cap > FR__BIG_BUF) {
            L->freed_big += r->sbuf.cap; /* recycle: on the loop thread */
            fr_buf_free(&r->sbuf);
        }
        r->free_next = L->free_reqs;
        L->free_reqs = r;
        L->nfree_reqs++;
    } else {
        fr__req_free_mem(r);
    }
}

/* An idle connection holds no input buffer: its buffer goes back to the
 * loop's spares (FR__IN_BUF ones) or is freed. Whatever it held is dropped. */
static void fr__conn_in_release(fr__conn *c) {
    fr__loop *L = c->loop;
    if (!c->in.buf) return;
    if (c->in.cap == FR__IN_BUF && L->nin_spare < FR__IN_SPARE) {
        memcpy(c->in.buf, &L->in_spare, sizeof L->in_spare);
        L->in_spare = c->in.buf;
        L->nin_spare++;
    } else {
        if (c->in.cap > FR__BIG_BUF) L->freed_big += c->in.cap;
        FR_FREE(c->in.buf);
    }
    c->in.buf = NULL;
    c->in.len = c->in.cap = 0;
}

/* A connection about to read without a buffer takes a spare one. */
static void fr__conn_in_take(fr__conn *c) {
    fr__loop *L = c->loop;
    if (c->in.cap || !L->in_spare) return;
    c->in.buf = L->in_spare;
    memcpy(&L->in_spare, c->in.buf, sizeof L->in_spare);
    L->nin_spare--;
    c->in.cap = FR__IN_BUF;
    c->in.len = 0;
}

/* Free the big buffers of a connection about to be recycled (an aborted
 * stream or upload must not stay cached per connection); a recycled
 * connection keeps no input buffer at all. */
static void fr__conn_shrink(fr__conn *c) {
    fr__loop *L = c->loop;
    fr__conn_in_release(c);
    if (c->out.cap > FR__BIG_BUF) {
        L->freed_big += c->out.cap;
        fr_buf_free(&c->out);
    }
}

static void fr__conn_free_mem(fr__conn *c) {
    fr_buf_free(&c->in);
    fr_buf_free(&c->out);
    FR_FREE(c);
}

static fr__conn *fr__conn_get(fr__loop *L) {
    fr__conn *c = L->free_conns;
    if (c) {
        L->free_conns = c->next;
        L->nfree_conns--;
    } else {
        c = (fr__conn *)FR_MALLOC(sizeof *c);
        if (!c) return NULL;
        memset(c, 0, sizeof *c);
    }
    c->kind = FR__K_CONN;
    c->fd = -1;
    c->state = FR__C_READ_HEAD;
    c->tkind = -1;
    c->loop = L;
    c->prev = c->next = c->tprev = c->tnext = NULL;
    c->in.len = 0;
    c->off = 0;
    c->head_scanned = 0;
    c->out.len = 0;
    c->out_off = 0;
    c->wbody = NULL;
    c->wbody_len = c->wbody_off = 0;
    c->fleft = 0;
    c->wwin_bytes = 0;
    c->wwin_outq = 0;
    c->req = NULL;
    c->readable = 0;
    c->writable = 1;
    c->close_after = 0;
    c->dead = 0;
    c->reused = 0;
    c->secure = 0;
#if FR_ENABLE_OPENSSL
    c->tls = NULL;
#endif
    c->peer_closed = 0;
    return c;
}

/* ------------------------------------------------------------------------ */
/* completion                                                                */

static void fr__req_finish(fr_req *req, int ok, int recycle);

/* Orphan path: the loop no longer runs; finish on the caller's thread. */
static void fr__orphan_finish(fr_req *req) { fr__req_finish(req, 0, 0); }

/* on_done, the access log, then the body is released (both paths). */
FR__SRV_SHARED void fr__req_report(fr_req *req, int ok) {
    fr_app *app = req->app;
    if (req->mw) fr__mw_req_done(req, ok);
    if (req->done) req->done(req, ok, req->done_ud);
    if (app->cfg.access_log) {
        double ms = req->t0 > 0 ? (fr__srv_now_s() - req->t0) * 1000.0 : 0.0;
        app->cfg.access_log(req, req->status, req->bytes_sent, ms, app->cfg.access_log_ud);
    }
    if (req->rbody_free) req->rbody_free(req->rbody_ud, req->rbody);
    req->rbody_free = NULL;
    if (req->mw) fr__mw_req_end(req);
}

/* Runs on_done and the access log, releases the body, recycles. For a
 * zombie, the connection memory goes too. */
static void fr__req_finish(fr_req *req, int ok, int recycle) {
    fr__loop *L = req->loop;
    fr__conn *c = req->conn;
    fr__req_report(req, ok);
    if (req->zombie) {
        pthread_mutex_lock(&L->qmu);
        if (req->zprev) req->zprev->znext = req->znext;
        else L->zombies = req->znext;
        if (req->znext) req->znext->zprev = req->zprev;
        L->nzombies--;
        req->zombie = 0;
        pthread_mutex_unlock(&L->qmu);
        if (c) {
            if (recycle) { /* kept or freed after the batch: the caller may still look at c */
                c->next = L->closed;
                L->closed = c;
            } else {
                fr__conn_free_mem(c);
            }
        }
    } else if (c) {
        c->req = NULL;
    }
    fr__req_put(L, req, recycle);
}

static int fr__req_released(const fr_req *req) { return req->inline_released || req->rel_seen; }

/* Call the stream's event callback (loop thread). Not after the stream
 * ended; GONE at most once; fr__stream_end waits while a call runs. */
static void fr__stream_event(fr_req *req, int ev) {
    fr_stream_fn fn;
    void *ud;
    pthread_mutex_lock(&req->smu);
    fn = req->sev_fn;
    ud = req->sev_ud;
    if (!fn || !req->streaming || req->stream_ended || req->sev_running) {
        pthread_mutex_unlock(&req->smu);
        return;
    }
    if (ev == FR_STREAM_GONE) req->sev_fn = NULL;
    req->sev_running = 1;
    req->sev_thr = pthread_self();
    pthread_mutex_unlock(&req->smu);
    fn(req, ev, ud);
    pthread_mutex_lock(&req->smu);
    req->sev_running = 0;
    pthread_cond_broadcast(&req->scv);
    pthread_mutex_unlock(&req->smu);
}

/* n queued stream bytes went out (loop thread): wake fr_res_stream_wait,
 * and tell a producer that met FR_STREAM_FULL once low water is reached. */
static void fr__stream_sent(fr_req *req, size_t n) {
    int fire = 0;
    pthread_mutex_lock(&req->smu);
    req->squeued = req->squeued > n ? req->squeued - n : 0;
    if (req->squeued <= req->app->cfg.stream_low_water) {
        pthread_cond_broadcast(&req->scv);
        fire = req->want_drain && req->sev_fn && !req->stream_ended;
        if (fire) req->want_drain = 0;
    }
    pthread_mutex_unlock(&req->smu);
    if (fire) fr__stream_event(req, FR_STREAM_DRAINED);
}

/* Close a connection. A request still owned by its handler keeps the
 * connection's memory alive as a zombie. */
static void fr__conn_close(fr__conn *c) {
    fr__loop *L = c->loop;
    fr_req *req = c->req;
    int was = c->state;
    if (was == FR__C_CLOSED || c->dead) return;
    if (req && req->dispatched) fr__ws_srv_closing(req); /* on_close of an upgraded connection */
    if (c->fd >= 0) {
#if !defined(FR__EPOLL)
        fr__poller_del(L, c->fd, c, FR__P_CONN);
#endif
#if FR_ENABLE_OPENSSL
        fr__tls_conn_free(c->tls);
        c->tls = NULL;
#endif
        /* uncounted before the socket goes: whoever sees it gone finds a free slot */
        fr__atomic_fetch_sub_explicit(&L->app->nconns, 1, FR__RELAXED);
        close(c->fd); /* epoll forgets closed fds by itself */
        c->fd = -1;
    }
    fr__timer_clear(c);
    if (c->prev) c->prev->next = c->next;
    else L->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    c->prev = c->next = NULL;
    L->nconns--;
    if (was == FR__C_LINGER) L->nlinger--;
    c->state = FR__C_CLOSED;
    if (req) {
        if (!req->dispatched) {
            c->req = NULL;
            fr__req_put(L, req, 1);
        } else if (!fr__req_released(req)) {
            /* the handler still owns it: become a zombie */
            c->dead = 1;
            pthread_mutex_lock(&req->smu);
            req->stream_failed = 1;
            pthread_cond_broadcast(&req->scv);
            pthread_mutex_unlock(&req->smu);
            pthread_mutex_lock(&L->qmu);
            req->zombie = 1;
            req->zprev = NULL;
            req->znext = L->zombies;
            if (L->zombies) L->zombies->zprev = req;
            L->zombies = req;
            L->nzombies++;
            pthread_mutex_unlock(&L->qmu);
            fr__stream_event(req, FR_STREAM_GONE); /* the producer stops */
            return;
        } else {
            if (req->streaming) {
                pthread_mutex_lock(&req->smu);
                req->stream_failed = 1;
                pthread_cond_broadcast(&req->scv);
                pthread_mutex_unlock(&req->smu);
            }
            fr__req_finish(req, 0, 1);
        }
    }
    c->next = L->closed; /* freed after the current batch of events */
    L->closed = c;
}

static void fr__loop_reap(fr__loop *L) {
    while (L->closed) {
        fr__conn *c = L->closed;
        L->closed = c->next;
        fr__conn_shrink(c);
        if (fr__keep_spare(L, L->nfree_conns)) {
            c->next = L->free_conns;
            L->free_conns = c;
            L->nfree_conns++;
        } else {
            L->freed_big += sizeof *c + c->out.cap;
            fr__conn_free_mem(c);
        }
    }
    /* glibc keeps freed heap memory (and raises its mmap threshold after a
     * big free), base.c keeps a few freed big arena chunks for reuse:
     * aborted big responses/streams/uploads, and the requests of a burst,
     * would stay in RSS. At most once a second, when big memory was freed. */
    if (L->freed_big >= FR__TRIM_BYTES && L->now >= L->trim_at) { /* fr__loop_timeout wakes for it */
        L->freed_big = 0;
        L->trim_at = L->now + FR__TRIM_MS;
        fr__map_flush(); /* big arena chunks (base.c) */
#if defined(FR__MALLOC_TRIM)
        malloc_trim(0);
#endif
    }
}

/* Shut the write side and discard input until EOF (or a short timeout), so
 * that unread request bytes don't turn our close into a reset that destroys
 * the response in flight. */
static void fr__conn_linger(fr__conn *c) {
    fr__loop *L = c->loop;
#if FR_ENABLE_OPENSSL
    if (c->tls) fr__tls_close_notify(c->tls);
#endif
    shutdown(c->fd, SHUT_WR);
    c->state = FR__C_LINGER;
    L->nlinger++;
    fr__timer_set(c, FR__T_LINGER);
}

static void fr__conn_linger_read(fr__conn *c) {
    char tmp[4096];
    for (;;) {
        ssize_t n = read(c->fd, tmp, sizeof tmp);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->readable = 0;
            return;
        }
        fr__conn_close(c);
        return;
    }
}

/* ------------------------------------------------------------------------ */
/* response building                                                         */

static fr_str fr__srv_server(const fr_app *app) {
    fr_str s;
    s.buf = app->server_name;
    s.len = app->server_name_len;
    return s;
}

/* Remove the "content-length: N\r\n" line from a head written at
 * out[start..] (1xx/204/304 carry no length, as Starlette does). */
static void fr__strip_content_length(fr_buf *out, size_t start) {
    static const char key[] = "\r\ncontent-length: ";
    char *p = out->buf + start, *end = out->buf + out->len;
    size_t kl = sizeof key - 1;
    while (p + kl <= end) {
        if (memcmp(p, key, kl) == 0) {
            char *ls = p + 2, *le = ls;
            while (le < end && *le != '\n') le++;
            if (le < end) le++;
            memmove(ls, le, (size_t)(end - le));
            out->len -= (size_t)(le - ls);
            return;
        }
        p++;
    }
}

static int fr__status_has_no_body(int status) {
    return status < 200 || status == 204 || status == 304;
}

static void fr__error_response(fr__conn *c, int status);

/* Serialise req's response into c->out / c->wbody. */
static void fr__res_build(fr__conn *c, fr_req *req) {
    fr__loop *L = c->loop;
    fr_http_res_head h;
    size_t start;
    /* a refused websocket upgrade (a 403, a middleware's redirect) closes, as uvicorn does */
    int ka = req->h.keep_alive && !req->force_close && !L->stopping && !fr_req_is_websocket(req);
    int nobody = fr__status_has_no_body(req->status);
    /* 205: no content either (RFC 9110 15.3.6), but framed: content-length: 0 */
    int empty = nobody || req->status == 205;
    size_t blen = empty ? 0 : req->rbody_len;
    h.status = req->status;
    h.minor_version = req->h.minor_version;
    h.headers = req->rh;
    h.num_headers = req->nrh;
    h.content_length = (int64_t)blen;
    if (req->rfd >= 0) h.content_length = empty ? 0 : (int64_t)req->rfd_len;
    h.keep_alive = ka;
    h.server = fr__srv_server(L->app);
    h.no_date = 0;
    if (c->out_off >= c->out.len) c->out.len = c->out_off = 0;
    start = c->out.len; /* earlier pipelined answers may still be queued before it */
    c->wbody = NULL;
    c->wbody_len = c->wbody_off = 0;
    c->fleft = 0;
    c->close_after = !ka;
    if (fr_http_write_head(&c->out, &h) < 0) {
        c->req = req; /* keep it attached: the error path finishes it */
        req->status = 500;
        c->out.len = start;
        h.status = 500;
        h.headers = NULL;
        h.num_headers = 0;
        h.content_length = 0;
        h.keep_alive = 0;
        c->close_after = 1;
        if (fr_http_write_head(&c->out, &h) < 0) c->out.len = start;
        return;
    }
    if (nobody) fr__strip_content_length(&c->out, start);
    if (req->rfd >= 0) {
        if (!empty && !req->is_head) c->fleft = req->rfd_len;
        return;
    }
    if (blen && !req->is_head) {
        if (blen <= FR__SMALL_BODY && fr_buf_append(&c->out, req->rbody, blen) == 0) {
            /* one send() */
        } else {
            c->wbody = (const char *)req->rbody;
            c->wbody_len = blen;
        }
    }
}

/* Engine-made answer without a request (parser errors, timeouts, limits):
 * {"detail":"<reason>"} and close (ka = 0) or keep the connection. */
static void fr__engine_response(fr__conn *c, int status, int ka) {
    fr__loop *L = c->loop;
    fr_http_res_head h;
    size_t start;
    fr_header ct;
    fr_buf body = {NULL, 0, 0};
    if (fr_error_detail(&body, fr_str_c(fr_http_reason(status))) < 0) body.len = 0;
    if (c->req && !c->req->dispatched) {
        fr__req_put(L, c->req, 1);
        c->req = NULL;
    }
    ct.name = FR_STR("content-type");
    ct.value = FR_STR("application/json");
    h.status = status;
    h.minor_version = 1;
    h.headers = &ct;
    h.num_headers = 1;
    h.content_length = (int64_t)body.len;
    h.keep_alive = ka;
    h.server = fr__srv_server(L->app);
    h.no_date = 0;
    if (c->out_off >= c->out.len) c->out.len = c->out_off = 0;
    start = c->out.len;
    c->wbody = NULL;
    c->wbody_len = c->wbody_off = 0;
    c->fleft = 0;
    if (fr_http_write_head(&c->out, &h) < 0 || fr_buf_append(&c->out, body.buf, body.len) < 0) {
        c->out.len = start;
    }
    fr_buf_free(&body);
    fr__timer_clear(c);
    c->close_after = !ka;
    c->state = FR__C_WRITING;
}

static void fr__error_response(fr__conn *c, int status) { fr__engine_response(c, status, 0); }

/* ------------------------------------------------------------------------ */
/* the per-connection state machine                                          */

static void fr__conn_drive(fr__conn *c);
static void fr__conn_peek_eof(fr__conn *c);

/* Move queued stream output into c->out. Returns 1 when the stream has
 * ended (all output is now in c->out). */
static int fr__stream_pull(fr__conn *c, fr_req *req) {
    int ended;
    pthread_mutex_lock(&req->smu);
    if (req->sbuf.len) {
        if (c->out_off >= c->out.len) {
            fr_buf t = c->out;
            c->out = req->sbuf;
            req->sbuf = t;
            req->sbuf.len = 0;
            c->out_off = 0;
        } else if (fr_buf_append(&c->out, req->sbuf.buf, req->sbuf.len) == 0) {
            req->sbuf.len = 0;
        }
    }
    ended = req->stream_ended && req->sbuf.len == 0;
    c->close_after = !req->stream_keepalive || c->loop->stopping;
    pthread_mutex_unlock(&req->smu);
    return ended;
}

/* The loop takes a look at a dispatched request: write what can be
 * written, finish what was released. */
static void fr__req_service(fr_req *req) {
    fr__conn *c = req->conn;
    int released = fr__req_released(req);
    if (c->dead) {
        if (released) fr__req_finish(req, 0, 1);
        return;
    }
    if (req->ws) {
        if (c->tkind == FR__T_HANDLER) fr__timer_clear(c);
        fr__ws_srv_service(c, req);
        return;
    }
    if (c->tkind == FR__T_HANDLER && (released || req->streaming)) fr__timer_clear(c); /* answered in time */
    if (c->state == FR__C_WRITING || c->state == FR__C_CLOSED) return; /* write_done re-checks */
    if (req->streaming) {
        int ended = fr__stream_pull(c, req);
        if (c->out_off < c->out.len) {
            c->state = FR__C_WRITING;
        } else if (ended && released) {
            c->state = FR__C_WRITING; /* nothing left: write_done finishes */
        } else {
            c->state = FR__C_PENDING;
        }
        c->wbody = NULL;
        c->wbody_len = c->wbody_off = 0;
    c->fleft = 0;
        return;
    }
    if (!released) {
        c->state = FR__C_PENDING;
        return;
    }
    fr__res_build(c, req);
    c->state = FR__C_WRITING;
}

/* Per-route body limit (fr_route_opts.max_body), FastAPI's max_body_size
 * as Starlette's RequestBodyLimitMiddleware answers it: a Content-Length
 * over the limit -> 413 "Content Too Large" (text/plain); a chunked body
 * that turned out larger -> 413 {"detail":"Content Too Large"}. */
static int fr__route_body_over(const fr_req *req, uint64_t max, int unread) {
    if (req->h.body_kind == FR_BODY_LENGTH) return req->h.content_length > max;
    return !unread && (req->bkind ? req->form_bytes : (uint64_t)req->body.len) > max;
}

static int fr__route_too_large(fr_req *req, void *ud) {
    static const char text[] = "Content Too Large";
    static const char json[] = "{\"detail\":\"Content Too Large\"}";
    (void)ud;
    fr_res_status(req, 413);
    if (req->h.body_kind == FR_BODY_LENGTH) {
        fr_res_header(req, "content-type", "text/plain; charset=utf-8");
        fr_res_body(req, text, sizeof text - 1);
    } else {
        fr_res_header(req, "content-type", "application/json");
        fr_res_body(req, json, sizeof json - 1);
    }
    fr_res_send(req);
    return FR_DONE;
}

/* A spooled body the temp file could not take: 500, as an exception. */
static int fr__body_lost(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_json(req, 500, "{\"detail\":\"Internal Server Error\"}", 34);
}

/* A WebSocket upgrade (Upgrade names "websocket", Connection "upgrade"),
 * as an ASGI server tells a websocket scope from an http one. */
int fr_req_is_websocket(const fr_req *req) {
    /* the parser saw both headers (a dispatched request's head is parsed the same way) */
    if (!req || !req->h.upgrade || !fr_str_eq_c(req->h.method, "GET")) return 0;
    return fr__hdr_has_token(req->h.headers, req->h.num_headers, "upgrade", "websocket") &&
           fr__hdr_has_token(req->h.headers, req->h.num_headers, "connection", "upgrade");
}

/* req's path has a websocket-only GET route that a plain request must not
 * see: the answer is the path's other methods (allow without "GET"): 405,
 * or 404 when there are none (what Starlette answers). */
static void fr__route_ws_unallow(fr_app *app, fr_req *req) {
    fr_match g;
    const char *p, *end;
    char *out;
    size_t n = 0;
    fr_router_match(fr__atomic_load(&app->router), fr_str_c(""), req->path, &g); /* the path's methods */
    req->m.status = FR_MATCH_NOT_FOUND;
    req->m.data = NULL;
    req->m.num_params = 0;
    req->m.allow.buf = NULL;
    req->m.allow.len = 0;
    if (g.status != FR_MATCH_METHOD || !g.allow.len) return;
    out = (char *)fr_arena_alloc(&req->arena, g.allow.len + 1);
    if (!out) return;
    for (p = g.allow.buf, end = p + g.allow.len; p < end;) { /* "GET, POST" */
        const char *q = p;
        while (q < end && *q != ',') q++;
        if (!((size_t)(q - p) == 3 && memcmp(p, "GET", 3) == 0)) {
            if (n) {
                out[n++] = ',';
                out[n++] = ' ';
            }
            memcpy(out + n, p, (size_t)(q - p));
            n += (size_t)(q - p);
        }
        p = q < end ? q + 2 : end;
    }
    if (!n) return;
    req->m.status = FR_MATCH_METHOD;
    req->m.allow.buf = out;
    req->m.allow.len = n;
}

/* Two patterns of one shape: the same text but for parameter names
 * ("/a/{x:int}" and "/a/{y:int}"; types must agree). */
static int fr__route_shape_eq(const char *a, const char *b) {
    for (;;) {
        if (*a == '{' && *b == '{') { /* skip the names, compare ":type}" */
            while (*a && *a != ':' && *a != '}') a++;
            while (*b && *b != ':' && *b != '}') b++;
            while (*a && *a == *b && *a != '}') a++, b++;
            if (*a != '}' || *b != '}') return 0;
        }
        if (*a != *b) return 0;
        if (!*a) return 1;
        a++;
        b++;
    }
}

/* The matched parameters under the names of `pattern`, a route of the
 * matched one's shape (a websocket twin with other names), in order. */
static void fr__route_rename(fr_req *req, const char *pattern) {
    size_t k = 0;
    const char *p = pattern;
    while (k < req->m.num_params && (p = strchr(p, '{')) != NULL) {
        const char *n = ++p;
        while (*p && *p != ':' && *p != '}') p++;
        req->m.params[k].name.buf = n;
        req->m.params[k].name.len = (size_t)(p - n);
        k++;
    }
    req->m.pattern = fr_str_c(pattern);
}

/* Websocket routes (fr_route_opts.websocket) take upgrades only: pick the
 * twin that fits the request; a plain request to a path whose GET route is
 * a websocket one alone goes to a "*" route that matches it, else gets
 * the path's other methods (405) or 404. */
static void fr__route_ws_split(fr_app *app, fr_req *req) {
    fr__route *rt, *pick;
    if (req->m.status == FR_MATCH_METHOD) { /* is the GET in the allow list a websocket's? */
        fr_match g;
        fr_router_match(fr__atomic_load(&app->router), fr_str_c("GET"), req->path, &g);
        rt = g.status == FR_MATCH_FOUND ? (fr__route *)g.data : NULL;
        if (rt && rt->ws && !rt->alt) fr__route_ws_unallow(app, req);
        return;
    }
    if (req->m.status != FR_MATCH_FOUND || !req->m.data) return;
    rt = (fr__route *)req->m.data;
    if (!rt->ws && !rt->alt) return;
    pick = fr_req_is_websocket(req) ? (rt->ws ? rt : rt->alt) : (rt->ws ? rt->alt : rt);
    if (!pick && !rt->ws) pick = rt; /* an upgrade to a plain GET route: its own */
    if (!pick) { /* a plain request to a websocket-only route: a route of any
                  * method ("*": a mount) that matches the path takes it, as
                  * Starlette's router passes websocket routes by */
        fr_router_match(fr__atomic_load(&app->router), fr_str_c("*"), req->path, &req->m);
        if (req->m.status != FR_MATCH_FOUND || !req->m.data) fr__route_ws_unallow(app, req);
        return;
    }
    req->m.data = pick;
    if (pick->is_alt && pick->pnames) fr__route_rename(req, pick->pattern);
}

/* Decode the path, match it and pick the handler: the route's, the
 * fallback, or NULL for fr_res_default. Shared by sockets and fr_dispatch. */
FR__SRV_SHARED fr_handler fr__req_route(fr_app *app, fr_req *req, void **ud) {
    const char *pct;
    int refused;
    req->is_head = req->h.method.len == 4 && memcmp(req->h.method.buf, "HEAD", 4) == 0;
    pct = req->h.path.len ? (const char *)memchr(req->h.path.buf, '%', req->h.path.len) : NULL;
    if (pct) {
        char *p = (char *)fr_arena_alloc(&req->arena, req->h.path.len + 1);
        if (p) {
            long n = fr_url_decode(p, req->h.path.buf, req->h.path.len, 0);
            req->path.buf = p;
            req->path.len = n > 0 ? (size_t)n : 0;
        } else {
            req->path = req->h.path;
        }
    } else {
        req->path = req->h.path;
    }
    fr_router_match(fr__atomic_load(&app->router), req->h.method, req->path, &req->m);
    if (app->ws_twins) fr__route_ws_split(app, req);
    refused = app->cfg.websocket_routes_only && fr_req_is_websocket(req) &&
              (req->m.status != FR_MATCH_FOUND || !req->m.data || !((fr__route *)req->m.data)->ws);
    if (refused) { /* Starlette: no websocket route matches; no file either */
        req->m.status = FR_MATCH_NOT_FOUND;
        req->m.data = NULL;
        req->m.num_params = 0;
    }
    if (req->m.status == FR_MATCH_FOUND && req->m.data) {
        fr__route *rt = (fr__route *)req->m.data;
        *ud = rt->ud;
        if (rt->limit_body && fr__route_body_over(req, rt->max_body, rt->body_unread))
            return fr__route_too_large;
        if (req->sp_err) return fr__body_lost; /* the spool file failed (a full disk) */
        return rt->h;
    }
    if (req->sp_err) { /* an unrouted request's spooled body (fr_app_set_unmatched_opts) */
        *ud = NULL;
        return fr__body_lost;
    }
    if (app->unmatched.limit_body && /* nothing reads the body of an unrouted request */
        fr__route_body_over(req, app->unmatched.max_body, 1)) {
        *ud = NULL;
        return fr__route_too_large;
    }
    if (req->m.status == FR_MATCH_NOT_FOUND && app->statics && !refused) { /* fr_app_frontend */
        fr_handler low = fr__static_low(app, req, ud);
        if (low) return low;
    }
    *ud = app->fallback_ud;
    return app->fallback;
}

static void fr__dispatch(fr__conn *c) {
    fr__loop *L = c->loop;
    fr_app *app = L->app;
    fr_req *req = c->req;
    fr_handler h;
    void *ud;
    int rc;
    req->conn = c;
    req->dispatched = 1;
    c->state = FR__C_HANDLING;
    fr__timer_clear(c);
    if (app->cfg.access_log) req->t0 = fr__srv_now_s();
    h = fr__req_route(app, req, &ud);
    fr__tls_req = req;
    rc = fr__req_call(app, req, h, ud);
    fr__tls_req = NULL;
    if (rc != FR_PENDING && !req->inline_stream) {
        if (!fr__atomic_exchange(&req->send_called, 1)) req->inline_released = 1;
    }
    c->state = FR__C_PENDING;
    if (req->inline_released || req->inline_stream) fr__req_service(req);
    else if (L->tdur[FR__T_HANDLER] > 0 && c->state == FR__C_PENDING && !c->dead) fr__timer_set(c, FR__T_HANDLER);
}

static void fr__body_finish(fr_req *req);

/* Finish the body of the current request (head re-parsed if the read
 * buffer moved) and dispatch it. */
static void fr__body_complete(fr__conn *c) {
    fr__loop *L = c->loop;
    fr_req *req = c->req;
    if (c->parsed_base != c->in.buf) {
        fr_err err;
        int r = fr_http_parse_request(c->in.buf + c->off, c->body_start - c->off, &req->h, req->headers,
                                      L->app->cfg.max_headers, &L->lim, &err);
        if (r < 0) {
            fr__error_response(c, 400);
            return;
        }
        c->parsed_base = c->in.buf;
    }
    if (req->bkind) {
        fr__body_finish(req);
    } else {
        req->body.buf = c->in.buf + c->body_start;
        req->body.len = (size_t)c->body_len;
    }
    fr__dispatch(c);
}

/* Queued (behind any earlier pipelined answers) and flushed before the
 * body is read. */
static void fr__send_continue(fr__conn *c) {
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    if (c->out_off >= c->out.len) c->out.len = c->out_off = 0;
    fr_buf_append(&c->out, msg, sizeof msg - 1);
}

/* ---- bodies taken as they arrive ----
 * Once the head is parsed, the matched route may take its body as it
 * arrives instead of in memory (req->bkind):
 *  - FR__B_FORM (multipart_stream, a multipart/form-data body with a
 *    boundary): into req->form (an fr_form, multipart.c); errors of the
 *    form are the handler's to answer;
 *  - FR__B_SPOOL (body_spool, a body over it): into an unlinked temp file
 *    (a chunked one once it passes the limit), fr_req_body_file;
 *  - FR__B_DROP (body_drop, a body over FR__DROP_MIN or chunked): dropped.
 * The bytes leave the read buffer as they come, so such a body costs the
 * read buffer (plus the form's in-memory parts), whatever its size. The
 * request is dispatched when the body is complete, with an empty
 * fr_req_body (a spooled body that stayed under its limit: the memory part). */
#define FR__FORM_READ_BUF (256 * 1024) /* read buffer room while streaming */
#define FR__DROP_MIN (64 * 1024)       /* smaller bodies of body_drop routes are read as usual */
#if defined(_WIN32)
#define FR__CAN_SPOOL 0 /* no temp files there (fr__tmpfile): spooled bodies are read into memory */
#else
#define FR__CAN_SPOOL 1
#endif
enum { FR__B_MEM = 0, FR__B_FORM, FR__B_SPOOL, FR__B_DROP };

/* 1: req->bkind set up (the body is taken as it arrives), 0: read it the
 * usual way. Sockets and fr_dispatch_begin (`feed`: the length may be
 * unknown, so the route alone decides). An unrouted request goes by
 * fr_app_set_unmatched_opts. */
static int fr__body_begin(fr_app *app, fr_req *req, int feed) {
    fr__route *rt;
    void *ud;
    char bnd[FR_MAX_MULTIPART_BOUNDARY + 1];
    fr_str ct = {NULL, 0}, b;
    uint64_t spool;
    int form, big, drop, sized = req->h.body_kind == FR_BODY_LENGTH;
    if (sized && req->h.content_length == 0) return 0;
    if (app->mp_routes) ct = fr_req_header(req, "content-type");
    form = ct.buf && fr_mp_form_type(ct) == FR_MP_FORM_DATA && fr_mp_boundary(ct, bnd, sizeof bnd, &b) == 1;
    big = app->big_routes && (feed || !sized || req->h.content_length > app->big_min);
    if (!form && !big) return 0;
    (void)fr__req_route(app, req, &ud); /* fr__dispatch routes again (the buffer may move) */
    rt = req->m.status == FR_MATCH_FOUND ? (fr__route *)req->m.data : NULL;
    if (rt) {
        req->form_max = rt->limit_body ? rt->max_body : UINT64_MAX;
        spool = rt->body_spool;
        drop = rt->body_drop;
    } else {
        req->form_max = app->unmatched.limit_body ? app->unmatched.max_body : UINT64_MAX;
        spool = app->unmatched.body_spool;
        drop = app->unmatched.body_drop;
    }
    if (form && rt && rt->mp_stream) {
        req->form = fr_form_new(b, &rt->mp_lim, rt->mp_spool);
        if (!req->form) return 0; /* out of memory: the usual way */
        req->bkind = FR__B_FORM;
    } else if (FR__CAN_SPOOL && big && spool && (feed || !sized || req->h.content_length > spool)) {
        req->bkind = FR__B_SPOOL; /* a known length over the limit goes to the file at once */
        req->sp_limit = sized && req->h.content_length > spool ? 0 : spool;
    } else if (big && drop && (feed || !sized || req->h.content_length > FR__DROP_MIN)) {
        req->bkind = FR__B_DROP;
        req->form_max = UINT64_MAX; /* nothing kept: the limits are checked at dispatch */
    } else {
        return 0;
    }
    req->form_bytes = 0;
    req->form_left = 0;
    if (sized) {
        req->form_left = req->h.content_length;
        if (req->form_left > req->form_max) req->form_max = 0; /* 413 at dispatch: feed nothing */
    }
    return 1;
}

/* FR__B_SPOOL: n more bytes, in fbody up to sp_limit, then in the file. */
static void fr__spool_feed(fr_req *req, const char *d, size_t n) {
    if (req->sp_err) return;
    if (req->sp_fd < 0 && req->fbody.len + n <= req->sp_limit) {
        if (fr_buf_append(&req->fbody, d, n) < 0) req->sp_err = 1;
        return;
    }
    if (req->sp_fd < 0) { /* past the limit: what was held goes first */
        req->sp_fd = fr__tmpfile();
        if (req->sp_fd < 0) {
            req->sp_err = 1;
            return;
        }
        if (fr__write_all(req->sp_fd, req->fbody.buf, req->fbody.len) < 0) req->sp_err = 1;
        fr_buf_free(&req->fbody);
    }
    if (!req->sp_err && fr__write_all(req->sp_fd, d, n) < 0) req->sp_err = 1;
}

/* Body bytes for the form, the spool or nowhere, while the route's
 * max_body allows. */
static void fr__body_take(fr_req *req, const char *d, size_t n) {
    if (!n) return;
    if (req->form_bytes + n > req->form_max) req->form_max = 0; /* over: 413 at dispatch */
    else if (req->bkind == FR__B_FORM) fr_form_feed(req->form, d, n);
    else if (req->bkind == FR__B_SPOOL) fr__spool_feed(req, d, n);
    req->form_bytes += n;
}

/* The body is complete: the form is finished; a spooled body that stayed
 * in memory becomes fr_req_body (freed with the request). */
static void fr__body_finish(fr_req *req) {
    if (req->bkind == FR__B_FORM) {
        fr_form_finish(req->form);
    } else if (req->bkind == FR__B_SPOOL && req->sp_fd < 0) {
        req->body.buf = req->fbody.buf;
        req->body.len = req->fbody.len;
    } else {
        req->body.buf = NULL;
        req->body.len = 0;
    }
}

/* The app's max_body_bytes (a memory bound) applies to any body but a
 * streamed form's (bounded by its route's max_body). */
static int fr__body_over_app(const fr_req *req, uint64_t more) {
    uint64_t max = req->app->cfg.max_body_bytes;
    return req->bkind != FR__B_FORM && (req->form_bytes > max || more > max - req->form_bytes);
}

/* FR__C_READ_BODY for a body taken as it arrives: take what arrived, drop
 * it from the buffer (bytes of a pipelined request move up to body_start).
 * As fr__conn_parse. */
static int fr__body_pump(fr__conn *c) {
    fr_req *req = c->req;
    char *at = c->in.buf + c->body_start;
    size_t avail = c->in.len - c->body_start;
    if (!avail && req->form_left) return 0;
    if (req->h.body_kind == FR_BODY_LENGTH) {
        size_t n = (size_t)FR__MIN((uint64_t)avail, req->form_left);
        fr__body_take(req, at, n);
        req->form_left -= n;
        memmove(at, at + n, avail - n);
        c->in.len -= n;
        if (req->form_left) {
            fr__timer_set(c, FR__T_BODY); /* a stall timeout while the body moves */
            return 0;
        }
    } else {
        size_t n = avail;
        fr_err err;
        long r;
        if (!avail) return 0;
        err.code = 0;
        r = fr_http_decode_chunked(&c->chunk, at, &n, UINT64_MAX, &err);
        if (r < 0 && r != -2) {
            fr__error_response(c, err.code == 413 ? 413 : 400);
            return 1;
        }
        if (fr__body_over_app(req, n)) { /* as a chunked body read whole */
            fr__error_response(c, 413);
            return 1;
        }
        fr__body_take(req, at, n);
        if (r == -2) {
            c->in.len = c->body_start;
            fr__timer_set(c, FR__T_BODY);
            return 0;
        }
        memmove(at, at + n, (size_t)r);
        c->in.len = c->body_start + (size_t)r;
    }
    c->body_len = 0;
    c->next_off = c->body_start;
    fr__body_complete(c);
    return 1;
}

/* Try to make progress on buffered input. 1: state changed (call again),
 * 0: need more bytes, -1: connection gone or error answer queued. */
static int fr__conn_parse(fr__conn *c) {
    fr__loop *L = c->loop;
    fr_app *app = L->app;
    fr_req *req;
    fr_err err;
    if (c->state == FR__C_READ_HEAD) {
        size_t avail = c->in.len - c->off;
        int r;
        if (avail == 0) {
            if (c->tkind != FR__T_IDLE) fr__timer_set(c, FR__T_IDLE);
            return 0;
        }
        if (!c->req) {
            c->req = fr__req_get(L);
            if (!c->req) {
                fr__conn_close(c);
                return -1;
            }
        }
        req = c->req;
        /* Re-parse an incomplete head only once a new line has arrived (or
         * the limit is crossed): a client dribbling bytes cannot make us
         * rescan the whole head for every byte. */
        if (c->head_scanned && avail <= app->cfg.max_header_bytes &&
            !memchr(c->in.buf + c->off + c->head_scanned, '\n', avail - c->head_scanned)) {
            c->head_scanned = avail;
            return 0;
        }
        c->head_scanned = avail;
        err.code = 0;
        r = fr_http_parse_request(c->in.buf + c->off, avail, &req->h, req->headers, app->cfg.max_headers,
                                  &L->lim, &err);
        if (r != -2) c->head_scanned = 0;
        if (r == -2) {
            if (avail > app->cfg.max_header_bytes) {
                fr__error_response(c, 431);
                return 1;
            }
            if (c->tkind != FR__T_HEADER) fr__timer_set(c, FR__T_HEADER);
            return 0;
        }
        if (r < 0) {
            fr__error_response(c, err.code >= 400 && err.code <= 599 ? err.code : 400);
            return 1;
        }
        c->body_start = c->off + (size_t)r;
        c->parsed_base = c->in.buf;
        if ((app->mp_routes || app->big_routes) && req->h.body_kind != FR_BODY_NONE &&
            fr__body_begin(app, req, 0)) {
            if (req->bkind != FR__B_FORM && req->h.body_kind == FR_BODY_LENGTH &&
                req->h.content_length > app->cfg.max_body_bytes) {
                fr__error_response(c, 413);
                return 1;
            }
            memset(&c->chunk, 0, sizeof c->chunk);
            c->body_decoded = 0;
            c->body_len = 0;
            c->next_off = c->body_start;
            if (req->h.expect_continue && c->in.len == c->body_start) fr__send_continue(c);
            if (c->in.cap - c->in.len < FR__FORM_READ_BUF) (void)fr_buf_reserve(&c->in, FR__FORM_READ_BUF);
            c->state = FR__C_READ_BODY;
            fr__timer_set(c, FR__T_BODY);
            return 1;
        }
        if (req->h.body_kind == FR_BODY_LENGTH) {
            uint64_t cl = req->h.content_length;
            if (cl > app->cfg.max_body_bytes) {
                fr__error_response(c, 413);
                return 1;
            }
            c->body_len = cl;
            c->next_off = c->body_start + (size_t)cl;
            if (c->in.len >= c->next_off) {
                fr__body_complete(c);
                return 1;
            }
            if (fr_buf_reserve(&c->in, c->next_off - c->in.len) < 0) {
                fr__error_response(c, 413);
                return 1;
            }
            if (req->h.expect_continue) fr__send_continue(c);
            c->state = FR__C_READ_BODY;
            fr__timer_set(c, FR__T_BODY);
            return 1;
        }
        if (req->h.body_kind == FR_BODY_CHUNKED) {
            memset(&c->chunk, 0, sizeof c->chunk);
            c->body_decoded = 0;
            if (req->h.expect_continue && c->in.len == c->body_start) fr__send_continue(c);
            c->state = FR__C_READ_BODY;
            fr__timer_set(c, FR__T_BODY);
            return 1;
        }
        c->body_len = 0;
        c->next_off = c->body_start;
        req->body.buf = c->in.buf + c->body_start;
        req->body.len = 0;
        fr__dispatch(c);
        return 1;
    }
    /* FR__C_READ_BODY */
    req = c->req;
    if (req->bkind) return fr__body_pump(c);
    if (req->h.body_kind == FR_BODY_LENGTH) {
        if (c->in.len >= c->next_off) {
            fr__body_complete(c);
            return 1;
        }
        return 0;
    } else {
        size_t at = c->body_start + c->body_decoded, n;
        long r;
        if (c->in.len <= at) return 0;
        n = c->in.len - at;
        err.code = 0;
        r = fr_http_decode_chunked(&c->chunk, c->in.buf + at, &n, app->cfg.max_body_bytes, &err);
        if (r == -2) {
            c->body_decoded += n;
            c->in.len = c->body_start + c->body_decoded;
            return 0;
        }
        if (r < 0) {
            fr__error_response(c, err.code == 413 ? 413 : 400);
            return 1;
        }
        c->body_decoded += n;
        c->body_len = c->body_decoded;
        c->next_off = c->body_start + c->body_decoded;
        c->in.len = c->next_off + (size_t)r;
        fr__body_complete(c);
        return 1;
    }
}

/* ---- connection I/O ----
 * The one place a TLS connection differs: c->tls routes reads and writes
 * through tls.c (OpenSSL). Plain connections call read/send/sendfile
 * directly; without FR_ENABLE_OPENSSL the branches do not exist. A TLS
 * read may leave bytes buffered inside OpenSSL that no epoll edge will
 * announce, so a short TLS read does not clear `readable` (only EAGAIN
 * does). */
#if FR_ENABLE_OPENSSL
#define FR__IS_TLS(c) ((c)->tls != NULL)
#else
#define FR__IS_TLS(c) 0
#endif

static inline ssize_t fr__io_read(fr__conn *c, void *buf, size_t n) {
#if FR_ENABLE_OPENSSL
    if (c->tls) return fr__tls_read(c->tls, buf, n);
#endif
    return read(c->fd, buf, n);
}

/* Read more bytes. 1: got data, 0: would block, -1: closed. */
static int fr__conn_read(fr__conn *c) {
    fr__loop *L = c->loop;
    fr_buf *b = &c->in;
    size_t space;
    ssize_t n;
    if (c->state == FR__C_READ_HEAD) {
        if (c->off > 0 && c->off >= b->len) c->off = b->len = 0;
        if (c->off > 0 && b->cap - b->len < 2048) {
            memmove(b->buf, b->buf + c->off, b->len - c->off);
            b->len -= c->off;
            c->off = 0;
        }
        if (b->cap == 0) fr__conn_in_take(c);
        if (b->cap - b->len < 1024 && fr_buf_reserve(b, b->cap ? b->cap : FR__IN_BUF) < 0) {
            fr__error_response(c, 431);
            return 1;
        }
    } else if (c->req && c->req->h.body_kind == FR_BODY_CHUNKED) {
        if (b->cap - b->len < 4096 && fr_buf_reserve(b, 4096) < 0) {
            fr__error_response(c, 413);
            return 1;
        }
    } else if (b->cap == b->len && fr_buf_reserve(b, 4096) < 0) {
        fr__conn_close(c);
        return -1;
    }
    space = b->cap - b->len;
    n = fr__io_read(c, b->buf + b->len, space);
    if (n > 0) {
        b->len += (size_t)n;
        /* A short read means drained, unless the FIN came with the data:
         * edge-triggered, no other event would report it (the next read
         * returns 0 and closes) */
        if ((size_t)n < space && !c->peer_closed && !FR__IS_TLS(c)) c->readable = 0;
        return 1;
    }
    if (n < 0 && errno == EINTR) return 1;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        c->readable = 0;
        /* waiting for a request with nothing of it here: no buffer held */
        if (c->state == FR__C_READ_HEAD && b->len == 0) fr__conn_in_release(c);
        return 0;
    }
    (void)L;
    fr__conn_close(c); /* EOF or error */
    return -1;
}

#if defined(MSG_MORE)
#define FR__MSG_MORE (MSG_NOSIGNAL | MSG_MORE) /* the file follows the head */
#else
#define FR__MSG_MORE MSG_NOSIGNAL
#endif

#if defined(FR__SENDFILE)
/* sendfile(2) has no MSG_NOSIGNAL: keep SIGPIPE blocked on this thread
 * while it runs and swallow the one a dead peer raised. */
static ssize_t fr__sendfile(int sock, int fd, uint64_t *off, size_t n) {
    sigset_t pipe, old;
    off_t o = (off_t)*off;
    ssize_t r;
    int e;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old);
    r = sendfile(sock, fd, &o, n);
    e = errno;
    if (r < 0 && e == EPIPE && !sigismember(&old, SIGPIPE)) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    if (!sigismember(&old, SIGPIPE)) pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r > 0) *off += (uint64_t)r;
    errno = e;
    return r;
}
#endif

/* Bytes the kernel holds for the peer, sent or not, not yet acknowledged
 * (0 where it cannot tell): what the client took is judged by their fall,
 * since a big socket buffer drains for seconds without the socket getting
 * writable. */
static int64_t fr__sock_outq(int fd) {
#if defined(__linux__) && defined(TIOCOUTQ)
    int n = 0;
    if (fd >= 0 && ioctl(fd, TIOCOUTQ, &n) == 0 && n > 0) return n;
#else
    (void)fd;
#endif
    return 0;
}

/* The socket would block with output waiting: a send window opens unless
 * one is open (progress does not extend it: a trickle is judged by rate). */
static void fr__conn_wait_write(fr__conn *c) {
    c->writable = 0;
    if (c->tkind == FR__T_WRITE) return;
    fr__timer_set(c, FR__T_WRITE);
    c->wwin_bytes = 0;
    c->wwin_outq = fr__sock_outq(c->fd);
}

/* A send window ended with output still waiting: 1 (and a new window) when
 * the client took at least min_send_rate bytes/s of it, else 0 to drop it:
 * the close then resets (nginx's reset_timedout_connection), so the kernel
 * drops what it still holds for this client instead of trickling it on. */
static int fr__conn_send_ok(fr__conn *c) {
    const fr__loop *L = c->loop;
    int rate = L->app->cfg.min_send_rate;
    uint64_t need = rate > 0 ? (uint64_t)rate * (uint64_t)L->tdur[FR__T_WRITE] / 1000 : 0;
    int64_t outq = fr__sock_outq(c->fd), took = (int64_t)c->wwin_bytes + c->wwin_outq - outq;
    if (took <= 0 || (uint64_t)took < need) {
        struct linger lg;
        lg.l_onoff = 1;
        lg.l_linger = 0;
        if (c->fd >= 0) setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        return 0;
    }
    fr__timer_set(c, FR__T_WRITE);
    c->wwin_bytes = 0;
    c->wwin_outq = outq;
    return 1;
}

/* Send the file body of c->req (fr_res_file) once out/wbody are empty:
 * sendfile(2) where it works; otherwise the next piece is read (pread, or
 * read for an unseekable fd) into c->out and sent by the caller's loop.
 * 1: all sent, 2: a piece was queued in c->out, 0: would block, -1: closed
 * (send error, dead peer, file shorter than promised or unreadable). */
static int fr__conn_write_file(fr__conn *c) {
    fr_req *req = c->req;
    while (c->fleft) {
        size_t want = c->fleft > (1u << 30) ? (size_t)1 << 30 : (size_t)c->fleft;
        ssize_t n;
#if defined(FR__SENDFILE)
        if (!req->rfd_nosf && !FR__IS_TLS(c)) { /* TLS: read + SSL_write below */
            if (!c->writable) return 0;
            n = fr__sendfile(c->fd, req->rfd, &req->rfd_off, want);
            if (n > 0) {
                req->bytes_sent += (uint64_t)n;
                c->fleft -= (uint64_t)n;
                c->wwin_bytes += (uint64_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                fr__conn_wait_write(c);
                return 0;
            }
            if (n < 0 && (errno == EINVAL || errno == ENOSYS || errno == ESPIPE)) {
                req->rfd_nosf = 1; /* pipe, socket, ...: copy instead */
                continue;
            }
            fr__conn_close(c); /* n == 0: the file shrank */
            return -1;
        }
#endif
        if (want > FR__FILE_CHUNK) want = FR__FILE_CHUNK;
        if (fr_buf_reserve(&c->out, want) < 0) {
            fr__conn_close(c);
            return -1;
        }
        n = -1;
        errno = ESPIPE;
        if (req->rfd_nosf < 2) {
            do n = pread(req->rfd, c->out.buf + c->out.len, want, (off_t)req->rfd_off);
            while (n < 0 && errno == EINTR);
        }
        if (n < 0 && errno == ESPIPE) { /* pipe, socket: no offsets, just read */
            req->rfd_nosf = 2;
            do n = read(req->rfd, c->out.buf + c->out.len, want);
            while (n < 0 && errno == EINTR);
        }
        if (n <= 0) {
            fr__conn_close(c);
            return -1;
        }
        c->out.len += (size_t)n;
        req->rfd_off += (uint64_t)n;
        c->fleft -= (uint64_t)n;
        return 2;
    }
    return 1;
}

/* Write queued output. 1: all written, 0: would block, -1: closed. */
static int fr__conn_write(fr__conn *c) {
    fr_req *req = c->req;
    for (;;) {
        size_t hl = c->out.len - c->out_off, bl = c->wbody_len - c->wbody_off;
        ssize_t n;
        if (hl + bl == 0) {
            if (c->fleft) {
                int r = fr__conn_write_file(c);
                if (r <= 0) return r;
                if (r == 2) continue;
            }
            if (c->tkind == FR__T_WRITE) fr__timer_clear(c);
            return 1;
        }
        if (!c->writable) return 0;
#if FR_ENABLE_OPENSSL
        if (c->tls) {
            if (hl && bl && hl + bl <= 16384 && fr_buf_append(&c->out, c->wbody + c->wbody_off, bl) == 0) {
                c->wbody_off = c->wbody_len; /* a small body rides in the head's record */
                continue;
            }
            n = hl ? fr__tls_write(c->tls, c->out.buf + c->out_off, hl)
                   : fr__tls_write(c->tls, c->wbody + c->wbody_off, bl);
        } else
#endif
        if (bl == 0) {
            n = send(c->fd, c->out.buf + c->out_off, hl, c->fleft ? FR__MSG_MORE : MSG_NOSIGNAL);
        } else {
            struct iovec iov[2];
            struct msghdr msg;
            int k = 0;
            if (hl) {
                iov[k].iov_base = c->out.buf + c->out_off;
                iov[k++].iov_len = hl;
            }
            iov[k].iov_base = (void *)(uintptr_t)(c->wbody + c->wbody_off);
            iov[k++].iov_len = bl;
            memset(&msg, 0, sizeof msg);
            msg.msg_iov = iov;
            msg.msg_iovlen = (size_t)k;
            n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                fr__conn_wait_write(c);
                return 0;
            }
            fr__conn_close(c);
            return -1;
        }
        c->wwin_bytes += (uint64_t)n;
        if (req) req->bytes_sent += (uint64_t)n;
        if ((size_t)n <= hl) {
            c->out_off += (size_t)n;
        } else {
            c->out_off = c->out.len;
            c->wbody_off += (size_t)n - hl;
        }
        if (c->out_off == c->out.len) c->out_off = c->out.len = 0;
        if (req && req->streaming) fr__stream_sent(req, (size_t)n); /* may run on_drain's callback */
    }
}

/* Everything queued was written. */
static void fr__conn_write_done(fr__conn *c) {
    fr__loop *L = c->loop;
    fr_req *req = c->req;
    if (!req && (c->close_after || L->stopping)) { /* engine error answer */
        fr__conn_linger(c);
        return;
    }
    if (req && req->streaming) {
        int ended = fr__stream_pull(c, req);
        if (c->out.len > c->out_off) return; /* more to write: stay WRITING */
        if (!(ended && fr__req_released(req))) {
            c->state = FR__C_PENDING;
            return;
        }
    }
    c->wbody = NULL;
    c->wbody_len = c->wbody_off = 0;
    c->fleft = 0;
    if (req) fr__req_finish(req, 1, 1); /* NULL: a 504 that keeps the connection (fr__req_timeout) */
    if (c->out.cap > FR__BIG_BUF) { /* a big stream passed through */
        L->freed_big += c->out.cap;
        fr_buf_free(&c->out);
    }
    if (c->close_after || L->stopping) {
        fr__conn_linger(c);
        return;
    }
    c->state = FR__C_READ_HEAD;
    c->reused = 1;
    c->off = c->next_off;
    if (c->off >= c->in.len) {
        c->off = c->in.len = 0;
        fr__conn_in_release(c); /* idle keep-alive: no input buffer (reused from the loop's spares) */
        fr__timer_set(c, FR__T_IDLE);
    }
}

/* An inline answer to a pipelined request with more requests already
 * buffered: finish it now and answer the following ones in the same write
 * ("corking"). Only when nothing can observe the early finish: no on_done,
 * no access log, body copied into `out`. */
static int fr__conn_can_cork(const fr__conn *c) {
    const fr_req *req = c->req;
    return req && !req->streaming && !req->done && !c->loop->app->cfg.access_log && c->wbody_len == 0 &&
           c->fleft == 0 &&
           !c->close_after && !c->loop->stopping && c->in.len > c->next_off &&
           c->out.len - c->out_off < 65536;
}

static void fr__conn_drive(fr__conn *c) {
    for (;;) {
        int r;
        switch (c->state) {
        case FR__C_READ_HEAD:
        case FR__C_READ_BODY:
            r = fr__conn_parse(c);
            if (r > 0) continue;
            if (r < 0) return;
            if (c->out.len > c->out_off) { /* flush corked answers / 100 Continue first */
                r = fr__conn_write(c);
                if (r <= 0) return;
            }
            if (!c->readable) return;
            if (fr__conn_read(c) <= 0) return;
            continue;
        case FR__C_WRITING:
            if (fr__conn_can_cork(c)) {
                fr__req_finish(c->req, 1, 1);
                c->state = FR__C_READ_HEAD;
                c->off = c->next_off;
                continue;
            }
            if (fr__conn_write(c) <= 0) return;
            fr__conn_write_done(c);
            continue;
        case FR__C_PENDING:
            /* answers corked before a deferred request go out now */
            if (c->out.len > c->out_off && fr__conn_write(c) < 0) return;
            /* the FIN came with the request: the client is gone (uvicorn
             * drops a half-closed client too); its handler's answer is
             * dropped when it comes (zombie) */
            if (c->peer_closed && c->state == FR__C_PENDING) fr__conn_peek_eof(c);
            return;
        case FR__C_LINGER:
            fr__conn_linger_read(c);
            return;
        case FR__C_WS:
            fr__ws_srv_drive(c);
            return;
        default:
            return;
        }
    }
}

/* A pending request's connection reported input: detect a client that
 * went away (EOF) without consuming pipelined bytes. */
static void fr__conn_peek_eof(fr__conn *c) {
    char b;
    ssize_t n = recv(c->fd, &b, 1, MSG_PEEK);
    if (n == 0) fr__conn_close(c);
    else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fr__conn_close(c);
}

#if FR_ENABLE_OPENSSL
/* A TLS connection's event: re-arm the side OpenSSL waited on (a read that
 * needed to write, a write that needed to read), drive the handshake. 1:
 * go on as for a plain connection, 0: handshake in progress, -1: closed. */
static int fr__srv_tls_event(fr__conn *c, const fr__pev *e) {
    int r;
    if (e->w && fr__tls_wants(c->tls, FR__TLS_READ_WANTS_WRITE)) c->readable = 1;
    if (e->r && fr__tls_wants(c->tls, FR__TLS_WRITE_WANTS_READ)) c->writable = 1;
    if (c->tkind != FR__T_TLS || c->state != FR__C_READ_HEAD || c->req) return 1; /* done */
    r = fr__tls_handshake(c->tls);
    if (r == 0) return 0;
    if (r == -2) { /* plain HTTP on the TLS port: a plain 400, then close */
        fr__tls_conn_free(c->tls);
        c->tls = NULL;
        fr__error_response(c, 400);
        fr__conn_drive(c);
        return -1;
    }
    if (r < 0) { /* a bad handshake: discard what the client sent, then FIN */
        fr__timer_clear(c);
        fr__conn_linger(c);
        fr__conn_drive(c);
        return -1;
    }
    fr__timer_set(c, FR__T_IDLE); /* the TLS timer marks a handshake in progress */
    c->readable = 1;              /* the request may already sit inside OpenSSL */
    return 1;
}
#endif

static void fr__conn_event(fr__conn *c, const fr__pev *e) {
    if (c->state == FR__C_CLOSED || c->dead) return;
    if (e->hup) {
        fr__conn_close(c);
        return;
    }
    if (e->rdhup) c->peer_closed = 1;
    if (e->r) c->readable = 1;
    if (e->w) c->writable = 1;
#if FR_ENABLE_OPENSSL
    if (c->tls && fr__srv_tls_event(c, e) <= 0) return; /* handshaking, or closed */
#endif
    if (c->state == FR__C_PENDING || c->state == FR__C_HANDLING) {
        if (e->rdhup) fr__conn_peek_eof(c);
        if (!c->dead && c->state == FR__C_PENDING && e->w && c->out.len > c->out_off) fr__conn_drive(c);
        return;
    }
    fr__conn_drive(c);
}

/* ------------------------------------------------------------------------ */
/* accepting                                                                 */

static void fr__loop_listen_pause(fr__loop *L) {
    int i;
    if (!L->lsn_active) return;
    for (i = 0; i < L->nlsn; i++)
        if (L->lsn[i].fd >= 0) fr__poller_del(L, L->lsn[i].fd, &L->lsn[i], FR__P_LT);
    L->lsn_active = 0;
}

static void fr__loop_listen_resume(fr__loop *L) {
    int i;
    if (L->lsn_active) return;
    for (i = 0; i < L->nlsn; i++)
        if (L->lsn[i].fd >= 0) fr__poller_add(L, L->lsn[i].fd, &L->lsn[i], FR__P_LT);
    L->lsn_active = 1;
}

/* Accept up to a batch; returns how many accept() calls succeeded or were
 * retried (FR__ACCEPT_BATCH: more may be queued). */
static int fr__loop_accept(fr__loop *L, fr__src *s) {
    fr_app *app = L->app;
    int i;
    for (i = 0; i < FR__ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        fr__conn *c;
        int fd, one = 1, busy = 0, n;
#if defined(FR__ACCEPT4)
        fd = accept4(s->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
        fd = accept(s->fd, (struct sockaddr *)&ss, &sl);
        if (fd >= 0 && fr__srv_nonblock(fd) < 0) {
            close(fd);
            continue;
        }
#endif
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* out of fds: stop accepting for a moment instead of spinning */
                fr__loop_listen_pause(L);
                L->accept_resume = L->now + FR__EMFILE_PAUSE_MS;
            }
            return i;
        }
        n = fr__atomic_fetch_add_explicit(&app->nconns, 1, FR__RELAXED);
        if (n >= app->cfg.max_connections) {
            /* over the cap: a few get uvicorn's 503 (--limit-concurrency),
             * beyond that they are closed unanswered */
            if (n - app->cfg.max_connections >= FR__BUSY_EXTRA) {
                fr__atomic_fetch_sub_explicit(&app->nconns, 1, FR__RELAXED);
                close(fd);
                continue;
            }
            busy = 1;
        }
        if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#if defined(SO_NOSIGPIPE)
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        c = fr__conn_get(L);
        if (!c) {
            fr__atomic_fetch_sub_explicit(&app->nconns, 1, FR__RELAXED);
            close(fd);
            continue;
        }
        c->fd = fd;
        memcpy(&c->peer, &ss, sizeof ss);
        c->peerlen = sl;
        c->next = L->conns;
        if (L->conns) L->conns->prev = c;
        L->conns = c;
        L->nconns++;
        if (fr__poller_add(L, fd, c, FR__P_CONN) < 0) {
            fr__conn_close(c);
            continue;
        }
        fr__timer_set(c, FR__T_IDLE);
        if (busy) {
            fr__error_response(c, 503); /* then linger and close */
            c->state = FR__C_WRITING;
#if FR_ENABLE_OPENSSL
            if (app->lsn[s - L->lsn].tls) { /* no handshake for a refusal */
                fr__conn_close(c);
                continue;
            }
#endif
            fr__conn_drive(c);
            continue;
        }
#if FR_ENABLE_OPENSSL
        /* L->lsn[i] is app->lsn[i]'s (clone of the) socket: same index */
        if (app->lsn[s - L->lsn].tls) {
            c->secure = 1;
            c->tls = fr__tls_conn_new(app->lsn[s - L->lsn].tls, fd);
            if (!c->tls) fr__conn_close(c);
            else fr__timer_set(c, FR__T_TLS); /* the handshake's deadline */
        }
#endif
    }
    return i;
}

/* This loop accepts no more from the app's listening fds; the last loop to
 * let go closes them. */
static void fr__loop_release_listeners(fr__loop *L) {
    fr_app *app = L->app;
    int i;
    if (!L->lsn_held) return;
    L->lsn_held = 0;
    if (fr__atomic_fetch_sub_explicit(&app->lsn_users, 1, FR__ACQ_REL) != 1) return;
    for (i = 0; i < app->nlsn; i++) {
        if (app->lsn[i].fd >= 0) close(app->lsn[i].fd);
        app->lsn[i].fd = -1;
    }
}

/* Stopping: take the connections the kernel has already completed (their
 * clients think they are connected: they are answered), then close the
 * listening sockets, so that a new client is refused (ECONNREFUSED, safe to
 * retry) rather than accepted now and reset later (nginx does the same). An
 * inherited socket (fr_listen_fd) lives on in the processes that share it:
 * only this process's fd is closed. */
#if defined(__linux__)
#include <linux/filter.h>
#include <poll.h>
#endif
/* Before the last accepts: the kernel drops new SYNs for this socket (a
 * classic BPF filter; its data starts at the TCP header, flags at byte 13),
 * so such a client retries its SYN later and is refused, which is safe. The
 * other packets pass: a client whose SYN was answered before the filter
 * thinks it is connected, and its ACK must complete the connection here (a
 * "drop all" filter dropped that ACK too, and the close then reset a client
 * that had already sent its request). Not on a socket other processes share
 * (fr_listen_fd): a filter would stop their accepts too. Linux only;
 * returns whether the filter is on. */
static int fr__listen_refuse_new(fr_app *app, const fr__src *s) {
#if defined(__linux__)
    struct sock_filter syn_only[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),         /* TCP flags */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x02, 0, 2), /* SYN ... */
        BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x10, 1, 0), /* ... without ACK */
        BPF_STMT(BPF_RET | BPF_K, 0),                     /* dropped */
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),           /* kept whole */
    };
    struct sock_fprog prog;
    int j;
    if (!s->owned)
        for (j = 0; j < app->nlsn; j++)
            if (app->lsn[j].fd == s->fd && app->lsn[j].inherited) return 0;
    prog.len = (unsigned short)(sizeof syn_only / sizeof syn_only[0]);
    prog.filter = syn_only;
    return setsockopt(s->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0;
#else
    (void)app;
    (void)s;
    return 0;
#endif
}

/* Handshakes already answered (SYN-ACK sent) complete within a round trip:
 * keep accepting until the listeners are quiet for FR__STOP_QUIET_MS (at
 * most FR__STOP_GRACE_MS), so that such a client is answered, not reset. */
#define FR__STOP_QUIET_MS 10
#define FR__STOP_GRACE_MS 100
static void fr__loop_listen_settle(fr__loop *L, int rounds) {
#if defined(__linux__)
    struct pollfd p[FR__MAX_LISTENERS];
    int i, k, n = 0, waited = 0;
    for (i = 0; i < L->nlsn; i++)
        if (L->lsn[i].fd >= 0) {
            p[n].fd = L->lsn[i].fd;
            p[n].events = POLLIN;
            n++;
        }
    while (n > 0 && waited < FR__STOP_GRACE_MS && poll(p, (nfds_t)n, FR__STOP_QUIET_MS) > 0) {
        waited += FR__STOP_QUIET_MS; /* an upper bound: poll may return sooner */
        for (i = 0; i < L->nlsn; i++) {
            fr__src *s = &L->lsn[i];
            if (s->fd < 0) continue;
            for (k = 0; k < rounds && fr__loop_accept(L, s) == FR__ACCEPT_BATCH; k++) {
            }
        }
    }
#else
    (void)L;
    (void)rounds;
#endif
}

static void fr__loop_listen_close(fr__loop *L) {
    int i, k, rounds = L->app->cfg.backlog / FR__ACCEPT_BATCH + 1, settle = 0;
    fr__loop_listen_pause(L); /* before close: epoll keeps an fd whose file is shared */
    for (i = 0; i < L->nlsn; i++) {
        fr__src *s = &L->lsn[i];
        if (s->fd < 0) continue;
        settle |= fr__listen_refuse_new(L->app, s);
        for (k = 0; k < rounds && fr__loop_accept(L, s) == FR__ACCEPT_BATCH; k++) {
        }
    }
    if (settle) fr__loop_listen_settle(L, rounds);
    for (i = 0; i < L->nlsn; i++) {
        fr__src *s = &L->lsn[i];
        if (s->fd < 0) continue;
        if (s->owned) close(s->fd);
        s->fd = -1;
        s->owned = 0;
    }
    L->nlsn = 0;
    fr__loop_release_listeners(L);
}

/* ------------------------------------------------------------------------ */
/* cross-thread queue                                                        */

static void fr__queue_push_locked(fr__loop *L, fr_req *req, int *wake) {
    if (req->in_queue) return;
    req->in_queue = 1;
    req->qnext = NULL;
    if (L->qtail) L->qtail->qnext = req;
    else {
        L->qhead = req;
        *wake = !L->busy; /* a busy loop looks at the queue before it waits again */
    }
    L->qtail = req;
}

/* Held-back wake-ups (internal.h). The registry's lock is taken before a
 * set's; a set's before a loop's qmu. */
static void fr__loop_wake(fr__loop *L);
static FR__THREAD_LOCAL fr__wake_set *fr__wakes_tl;
static FR__THREAD_LOCAL fr__wake_set *fr__thread_set; /* fr__wakes_thread_set */
static pthread_mutex_t fr__wakes_mu = PTHREAD_MUTEX_INITIALIZER;
static fr__wake_set *fr__wakes_all;

#if !defined(_WIN32)
/* fork: the registry's lock is held across it, so the child gets the list
 * whole and the lock free; there the only thread is the forking one, and
 * the other threads' sets (pool workers, other threads' own sets, whose
 * locks a dead thread may hold) leave the registry, unlinked (so a later
 * fr__wakes_abandon of one is a no-op). Their memory stays the parent's. */
static void fr__wakes_prefork(void) { pthread_mutex_lock(&fr__wakes_mu); }
static void fr__wakes_postfork(void) { pthread_mutex_unlock(&fr__wakes_mu); }
static void fr__wakes_postfork_child(void) {
    fr__wake_set *s = fr__wakes_all, *next;
    fr__wakes_all = NULL;
    for (; s; s = next) {
        next = s->next;
        s->prev = s->next = NULL;
    }
    if (fr__thread_set) fr__wakes_all = fr__thread_set;
    pthread_mutex_unlock(&fr__wakes_mu);
}
static pthread_once_t fr__wakes_fork_once = PTHREAD_ONCE_INIT;
static void fr__wakes_fork_handlers(void) {
    (void)pthread_atfork(fr__wakes_prefork, fr__wakes_postfork, fr__wakes_postfork_child);
}
#endif

FR__PRIV int fr__wakes_init(fr__wake_set *s) {
    memset((void *)s, 0, sizeof *s);
    if (pthread_mutex_init(&s->mu, NULL) != 0) return -1;
#if !defined(_WIN32)
    pthread_once(&fr__wakes_fork_once, fr__wakes_fork_handlers);
#endif
    pthread_mutex_lock(&fr__wakes_mu);
    s->next = fr__wakes_all;
    if (s->next) s->next->prev = s;
    fr__wakes_all = s;
    pthread_mutex_unlock(&fr__wakes_mu);
    return 0;
}

/* Out of the registry, without its lock (a fork child; or fini, which holds
 * it). A set the fork already took out (prev = next = NULL): nothing. */
FR__PRIV void fr__wakes_abandon(fr__wake_set *s) {
    if (s->prev) s->prev->next = s->next;
    else if (fr__wakes_all == s) fr__wakes_all = s->next;
    if (s->next) s->next->prev = s->prev;
}

FR__PRIV void fr__wakes_fini(fr__wake_set *s) {
    fr__wakes_flush(s);
    pthread_mutex_lock(&fr__wakes_mu);
    fr__wakes_abandon(s);
    pthread_mutex_unlock(&fr__wakes_mu);
    pthread_mutex_destroy(&s->mu);
}

FR__PRIV void fr__wakes_capture(fr__wake_set *s) { fr__wakes_tl = s; }

FR__PRIV int fr__wakes_flush(fr__wake_set *s) {
    int i, n;
    pthread_mutex_lock(&s->mu);
    n = s->n;
    for (i = 0; i < n; i++) fr__loop_wake(s->loops[i]);
    s->n = 0;
    pthread_mutex_unlock(&s->mu);
    return n;
}

FR__PRIV int fr__wakes_pending(fr__wake_set *s) {
    int n;
    pthread_mutex_lock(&s->mu);
    n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Record L in s; 0 when s is full (the caller wakes L itself). */
static int fr__wakes_add(fr__wake_set *s, fr__loop *L) {
    int i, ok = 1;
    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->n && s->loops[i] != L; i++) {
    }
    if (i == s->n) {
        if (s->n < FR__WAKE_SET_MAX) s->loops[s->n++] = L;
        else ok = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

/* fr_app_free: no set may name L once it is freed. */
static void fr__wakes_forget(fr__loop *L) {
    fr__wake_set *s;
    pthread_mutex_lock(&fr__wakes_mu);
    for (s = fr__wakes_all; s; s = s->next) {
        int i, k = 0;
        pthread_mutex_lock(&s->mu);
        for (i = 0; i < s->n; i++)
            if (s->loops[i] != L) s->loops[k++] = s->loops[i];
        s->n = k;
        pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&fr__wakes_mu);
}

/* This thread's own wake set (internal.h), made on first use: registered
 * like a pool worker's, flushed and unregistered when the thread ends, so
 * fr_app_free takes a freed loop out of it and a flush never reaches one.
 * fr_ws_defer_wakes keeps its loops there; fr_mailbox_run captures into it. */
static pthread_once_t fr__thread_set_once = PTHREAD_ONCE_INIT;
static pthread_key_t fr__thread_set_key; /* its destructor ends a thread's set */
static int fr__thread_set_key_ok;

static void fr__thread_set_end(void *arg) {
    fr__wake_set *set = (fr__wake_set *)arg;
    fr__thread_set = NULL;
    fr__wakes_fini(set); /* wakes what it still holds */
    FR_FREE(set);
}

static void fr__thread_set_key_make(void) {
    fr__thread_set_key_ok = pthread_key_create(&fr__thread_set_key, fr__thread_set_end) == 0;
}

FR__PRIV fr__wake_set *fr__wakes_thread_set(void) {
    fr__wake_set *set;
    if (fr__thread_set) return fr__thread_set;
    pthread_once(&fr__thread_set_once, fr__thread_set_key_make);
    if (!fr__thread_set_key_ok) return NULL;
    set = (fr__wake_set *)FR_MALLOC(sizeof *set);
    if (!set) return NULL;
    if (fr__wakes_init(set) < 0) {
        FR_FREE(set);
        return NULL;
    }
    if (pthread_setspecific(fr__thread_set_key, set) != 0) {
        fr__thread_set_end(set);
        return NULL;
    }
    return fr__thread_set = set;
}

/* Hand a request back to its loop (release = ownership goes back). A
 * release's wake-up goes to this thread's wake set, if it captures. */
static void fr__req_notify(fr_req *req, int release) {
    fr__loop *L = req->loop;
    int wake = 0;
    pthread_mutex_lock(&L->qmu);
    if (!L->running) {
        int orphan = release && req->zombie;
        pthread_mutex_unlock(&L->qmu);
        if (orphan) fr__orphan_finish(req);
        return;
    }
    if (release) req->released = 1;
    fr__queue_push_locked(L, req, &wake);
    pthread_mutex_unlock(&L->qmu);
    if (wake && !(release && fr__wakes_tl && fr__wakes_add(fr__wakes_tl, L))) fr__srv_wake_write(L->wake_wr);
}

/* Service what other threads handed back. `last`: the loop is about to
 * wait: once the queue is seen empty it is no longer busy, and from then
 * on a push wakes it. */
static int fr__loop_drain_queue(fr__loop *L, int last) {
    fr_req *list, *r, *next;
    int n = 0;
    pthread_mutex_lock(&L->qmu);
    list = L->qhead;
    L->qhead = L->qtail = NULL;
    if (last && !list) L->busy = 0;
    for (r = list; r; r = r->qnext) {
        r->in_queue = 0; /* producers may push it again (qnext), not bnext */
        r->bnext = r->qnext;
        if (r->released) r->rel_seen = 1;
    }
    pthread_mutex_unlock(&L->qmu);
    for (r = list; r; r = next) {
        fr__conn *c = r->conn;
        next = r->bnext;
        n++;
        fr__req_service(r); /* may finish (and recycle) r */
        if (!c->dead && c->state != FR__C_CLOSED) fr__conn_drive(c);
    }
    return n;
}

/* ------------------------------------------------------------------------ */
/* loop                                                                      */

/* Stopping: an idle keep-alive connection is closed (a clean FIN: nothing
 * unread) unless its next request is already in the kernel: that one is in
 * flight and gets answered with connection: close. A connection that has not
 * sent its first request yet is not idle: its client connected to send one
 * (it is answered, or closed after FR__STOP_FIRST_MS). */
static void fr__conn_stop_idle(fr__conn *c) {
    char b;
    if (recv(c->fd, &b, 1, MSG_PEEK) > 0
#if FR_ENABLE_OPENSSL
        || (c->tls && fr__tls_pending(c->tls))
#endif
    ) {
        c->readable = 1;
        fr__conn_drive(c);
    } else {
        fr__conn_close(c);
    }
}

static void fr__loop_begin_stop(fr__loop *L) {
    fr__conn *c, *next;
    L->stopping = 1;
    L->drain_deadline = L->now + L->app->cfg.drain_timeout_ms;
    fr__poller_del(L, L->stop.fd, &L->stop, FR__P_EDGE);
    if (L->tdur[FR__T_IDLE] > FR__STOP_FIRST_MS) L->tdur[FR__T_IDLE] = FR__STOP_FIRST_MS;
    fr__loop_listen_close(L); /* new connections get ECONNREFUSED from here on */
    for (c = L->conns; c; c = next) {
        next = c->next;
        /* a partly read head is in flight: it ends with connection: close */
        if (c->state == FR__C_READ_HEAD && c->off >= c->in.len && c->reused) fr__conn_stop_idle(c);
        else if (c->state == FR__C_READ_HEAD && c->off >= c->in.len) fr__timer_set(c, FR__T_IDLE);
        else if (c->state == FR__C_LINGER) fr__conn_close(c);
        else if (c->state == FR__C_WS) fr__ws_srv_stop(c); /* close 1001 */
    }
}

static int fr__loop_finished(fr__loop *L) {
    if (!L->stopping) return 0;
    if (L->nconns - L->nlinger <= 0 && L->nzombies == 0) return 1;
    return L->now >= L->drain_deadline;
}

/* A pending request overran cfg.request_timeout_ms (FR__T_HANDLER): 504
 * {"detail":"Gateway Timeout"}. The handler keeps the request: it becomes a
 * zombie (as when its client leaves) on a ghost connection that takes the
 * read buffer its views point into; the live connection gets a fresh
 * buffer with any pipelined bytes and stays open when the request allowed
 * keep-alive. The handler's later answer is dropped (on_done ok = 0). An
 * answer already sent or a stream already begun is left alone. */
static void fr__req_timeout(fr__conn *c) {
    fr__loop *L = c->loop;
    fr_req *req = c->req;
    fr__conn *g;
    fr_buf t;
    size_t rest;
    int ka, busy;
    if (c->state != FR__C_PENDING || !req || !req->dispatched || req->ws || fr__req_released(req)) return;
    pthread_mutex_lock(&req->smu);
    busy = req->streaming || fr__atomic_load(&req->send_called);
    if (!busy) req->stream_failed = 1; /* a stream begun from now on fails */
    pthread_mutex_unlock(&req->smu);
    if (busy) return; /* the answer is on its way */
    g = fr__conn_get(L);
    if (!g) { /* no memory for the ghost: the connection goes, the request is a zombie */
        fr__conn_close(c);
        return;
    }
    t = g->in;
    g->in = c->in;
    c->in = t;
    c->in.len = 0;
    rest = g->in.len > c->next_off ? g->in.len - c->next_off : 0;
    ka = req->h.keep_alive && req->h.minor_version >= 1 &&
         (rest == 0 || fr_buf_append(&c->in, g->in.buf + c->next_off, rest) == 0);
    memcpy(&g->peer, &c->peer, sizeof c->peer);
    g->peerlen = c->peerlen;
    g->secure = c->secure;
    g->state = FR__C_CLOSED;
    g->dead = 1;
    g->req = req;
    pthread_mutex_lock(&L->qmu);
    req->conn = g;
    req->zombie = 1;
    req->zprev = NULL;
    req->znext = L->zombies;
    if (L->zombies) L->zombies->zprev = req;
    L->zombies = req;
    L->nzombies++;
    pthread_mutex_unlock(&L->qmu);
    c->req = NULL;
    c->off = c->next_off = c->head_scanned = 0;
    c->parsed_base = NULL;
    fr__engine_response(c, 504, ka);
    fr__conn_drive(c);
}

static void fr__loop_timers(fr__loop *L) {
    int k;
    for (k = 0; k < FR__T_COUNT; k++) {
        fr__conn *c;
        while ((c = L->th[k]) != NULL && c->deadline <= L->now) {
            fr__timer_clear(c);
            if (k == FR__T_HEADER || k == FR__T_BODY) {
                fr__error_response(c, 408);
                fr__conn_drive(c);
            } else if (k == FR__T_WS) {
                fr__ws_srv_timer(c);
            } else if (k == FR__T_HANDLER) {
                fr__req_timeout(c);
            } else if (k == FR__T_WRITE && fr__conn_send_ok(c)) {
                /* a slow reader that keeps up with min_send_rate */
            } else {
                fr__conn_close(c);
            }
        }
    }
    if (!L->lsn_active && !L->stopping && L->now >= L->accept_resume) fr__loop_listen_resume(L);
}

static int fr__loop_timeout(fr__loop *L, int max_wait) {
    int64_t next = INT64_MAX, d;
    int k;
    for (k = 0; k < FR__T_COUNT; k++)
        if (L->th[k] && L->th[k]->deadline < next) next = L->th[k]->deadline;
    if (!L->lsn_active && !L->stopping && L->accept_resume < next) next = L->accept_resume;
    if (L->stopping && L->drain_deadline < next) next = L->drain_deadline;
    if (L->freed_big >= FR__TRIM_BYTES && L->trim_at < next) next = L->trim_at; /* fr__loop_reap */
    if (next == INT64_MAX) return max_wait;
    d = next - fr__srv_now_ms() + 1;
    if (d < 0) d = 0;
    if (d > 60000) d = 60000;
    if (max_wait >= 0 && d > max_wait) d = max_wait;
    return (int)d;
}

/* One round: wait, handle at most max_events (<= 0: 128) events, the
 * queue, timers. Returns events seen. */
static int fr__loop_iter_n(fr__loop *L, int max_wait, int max_events) {
    fr__pev evs[128];
    int n, i, handled = 0;
    if (max_events <= 0 || max_events > (int)FR__COUNTOF(evs)) max_events = (int)FR__COUNTOF(evs);
    if (!L->stopping && fr__atomic_load_explicit(&L->app->stop, FR__RELAXED)) {
        L->now = fr__srv_now_ms();
        fr__loop_begin_stop(L);
        if (fr__loop_finished(L)) return 0;
    }
    n = fr__poller_wait(L, evs, max_events, fr__loop_timeout(L, max_wait));
    L->now = fr__srv_now_ms();
    if (n < 0) n = 0;
    pthread_mutex_lock(&L->qmu);
    L->busy = 1; /* completions pushed from now on are seen below without a wake-up */
    pthread_mutex_unlock(&L->qmu);
    for (i = 0; i < n; i++) {
        int kind = *(int *)evs[i].ptr;
        handled++;
        if (kind == FR__K_CONN) {
            fr__conn_event((fr__conn *)evs[i].ptr, &evs[i]);
        } else if (kind == FR__K_LISTEN) {
            if (L->lsn_active) fr__loop_accept(L, (fr__src *)evs[i].ptr);
        } else if (kind == FR__K_WAKE) {
            fr__srv_wake_drain(L->wake.fd);
            handled += fr__loop_drain_queue(L, 0);
        } else if (kind == FR__K_STOP) {
            /* the flag is checked below; the fd stays readable for the others */
        }
    }
    if (!L->stopping && fr__atomic_load_explicit(&L->app->stop, FR__RELAXED)) fr__loop_begin_stop(L);
    fr__loop_timers(L);
    while ((i = fr__loop_drain_queue(L, 1)) > 0) handled += i; /* until seen empty: not busy */
    fr__loop_reap(L);
    return handled;
}
static int fr__loop_iter(fr__loop *L, int max_wait) { return fr__loop_iter_n(L, max_wait, 0); }

static int fr__loop_setup(fr__loop *L, fr_app *app, int idx) {
    int i;
    L->app = app;
    L->idx = idx;
    L->pfd = -1;
    L->wake.fd = L->wake_wr = -1;
    L->wake.kind = FR__K_WAKE;
    L->stop.kind = FR__K_STOP;
    L->stop.fd = app->stop_rd;
    L->stopping = 0;
    L->nlsn = 0;
    L->lsn_active = 0;
    L->conns = NULL;
    L->nconns = L->nlinger = 0;
    memset(L->th, 0, sizeof L->th);
    memset(L->tt, 0, sizeof L->tt);
    L->now = fr__srv_now_ms();
    L->accept_resume = 0;
    L->tdur[FR__T_IDLE] = app->cfg.idle_timeout_ms;
    L->tdur[FR__T_HEADER] = app->cfg.header_timeout_ms;
    L->tdur[FR__T_BODY] = app->cfg.body_timeout_ms;
    L->tdur[FR__T_WRITE] = app->cfg.send_timeout_ms;
    L->tdur[FR__T_LINGER] = FR__LINGER_MS;
    L->tdur[FR__T_WS] = FR__WS_TICK_MS;
    L->tdur[FR__T_TLS] = app->cfg.header_timeout_ms; /* a TLS handshake's budget */
    L->tdur[FR__T_HANDLER] = app->cfg.request_timeout_ms > 0 ? app->cfg.request_timeout_ms : 0;
    L->lim.max_header_bytes = app->cfg.max_header_bytes;
    L->lim.max_headers = app->cfg.max_headers;
    L->lim.max_uri_bytes = app->cfg.max_uri_bytes;
    if (fr__poller_open(L) < 0) return -1;
    if (fr__srv_wake_open(&L->wake.fd, &L->wake_wr) < 0) goto fail;
    if (fr__poller_add(L, L->wake.fd, &L->wake, FR__P_EDGE) < 0) goto fail;
    if (fr__poller_add(L, L->stop.fd, &L->stop, FR__P_EDGE) < 0) goto fail;
    for (i = 0; i < app->nlsn; i++) {
        fr__src *s = &L->lsn[L->nlsn];
        s->kind = FR__K_LISTEN; /* fd -1 (closed by an earlier stop): keeps its slot */
        s->fd = app->lsn[i].fd;
        s->owned = 0;
#if defined(__linux__) && defined(SO_REUSEPORT)
        if (idx > 0 && app->lsn_reuseport && app->lsn[i].fd >= 0) {
            /* per-loop clone in the same SO_REUSEPORT group: the kernel
             * balances new connections across loops */
            const fr__listener *l = &app->lsn[i];
            int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
            if (fd >= 0) {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
                setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#if defined(IPV6_V6ONLY)
                if (l->addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
#endif
                if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == 0 &&
                    listen(fd, app->cfg.backlog) == 0) {
                    s->fd = fd;
                    s->owned = 1;
                } else {
                    close(fd);
                }
            }
        }
#endif
        L->nlsn++;
    }
    fr__loop_listen_resume(L);
    L->lsn_held = 1;
    fr__atomic_fetch_add_explicit(&app->lsn_users, 1, FR__ACQ_REL);
    pthread_mutex_lock(&L->qmu);
    L->running = 1;
    L->busy = 0;
    pthread_mutex_unlock(&L->qmu);
    L->set_up = 1;
    return 0;
fail:
    if (L->pfd >= 0) close(L->pfd);
    L->pfd = -1;
    fr__srv_wake_close(L->wake.fd, L->wake_wr);
    L->wake.fd = L->wake_wr = -1;
    return -1;
}

/* Close every connection, stop taking requests from other threads, free
 * the caches and fds. Zombies stay (they are finished by fr_res_send or
 * freed by fr_app_free). */
static void fr__loop_teardown(fr__loop *L) {
    fr_req *list, *r, *next;
    int i;
    if (!L->set_up) return;
    while (L->conns) fr__conn_close(L->conns);
    fr__loop_reap(L);
    pthread_mutex_lock(&L->qmu);
    L->running = 0;
    list = L->qhead;
    L->qhead = L->qtail = NULL;
    for (r = list; r; r = r->qnext) {
        r->in_queue = 0;
        r->bnext = r->qnext;
        r->rel_seen = r->released;
    }
    pthread_mutex_unlock(&L->qmu);
    for (r = list; r; r = next) {
        next = r->bnext;
        if (r->rel_seen && r->zombie) fr__req_finish(r, 0, 0);
    }
    while (L->free_reqs) {
        r = L->free_reqs;
        L->free_reqs = r->free_next;
        fr__req_free_mem(r);
    }
    L->nfree_reqs = 0;
    while (L->free_conns) {
        fr__conn *c = L->free_conns;
        L->free_conns = c->next;
        fr__conn_free_mem(c);
    }
    L->nfree_conns = 0;
    while (L->in_spare) {
        char *b = L->in_spare;
        memcpy(&L->in_spare, b, sizeof L->in_spare);
        FR_FREE(b);
    }
    L->nin_spare = 0;
    fr__loop_listen_pause(L);
    for (i = 0; i < L->nlsn; i++)
        if (L->lsn[i].owned && L->lsn[i].fd >= 0) close(L->lsn[i].fd);
    L->nlsn = 0;
    L->lsn_active = 0;
    fr__loop_release_listeners(L);
    fr__srv_wake_close(L->wake.fd, L->wake_wr);
    L->wake.fd = L->wake_wr = -1;
    if (L->pfd >= 0) close(L->pfd);
    L->pfd = -1;
#if defined(FR__POLLFD)
    FR_FREE(L->pfds);
    FR_FREE(L->pptr);
    L->pfds = NULL;
    L->pptr = NULL;
    L->pcap = 0;
    L->nreg = 0;
#endif
    L->tid_valid = 0;
    L->set_up = 0;
}

static void fr__loop_run(fr__loop *L) {
    L->tid = pthread_self();
    L->tid_valid = 1;
    while (!fr__loop_finished(L)) fr__loop_iter(L, -1);
}

static void *fr__loop_thread(void *arg) {
    fr__loop *L = (fr__loop *)arg;
    fr__loop_run(L);
    fr__loop_teardown(L);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* signals                                                                   */

#define FR__SIG_SLOTS 64
static FR__ATOMIC(fr_app *) fr__sig_apps[FR__SIG_SLOTS];
static pthread_mutex_t fr__sig_mu = PTHREAD_MUTEX_INITIALIZER;
static int fr__sig_refs;
static struct sigaction fr__sig_old_int, fr__sig_old_term;

static void fr__sig_handler(int sig) {
    int i, saved = errno;
    (void)sig;
    for (i = 0; i < FR__SIG_SLOTS; i++) {
        fr_app *a = fr__atomic_load(&fr__sig_apps[i]);
        if (a) fr_stop(a);
    }
    errno = saved;
}

static int fr__sig_install(fr_app *app) {
    int i, slot = -1;
    pthread_mutex_lock(&fr__sig_mu);
    for (i = 0; i < FR__SIG_SLOTS; i++)
        if (!fr__atomic_load(&fr__sig_apps[i])) {
            slot = i;
            break;
        }
    if (slot >= 0) {
        fr__atomic_store(&fr__sig_apps[slot], app);
        if (fr__sig_refs++ == 0) {
            struct sigaction sa;
            memset(&sa, 0, sizeof sa);
            sa.sa_handler = fr__sig_handler;
            sigemptyset(&sa.sa_mask);
            sigaction(SIGINT, &sa, &fr__sig_old_int);
            sigaction(SIGTERM, &sa, &fr__sig_old_term);
        }
    }
    pthread_mutex_unlock(&fr__sig_mu);
    return slot;
}

static void fr__sig_remove(int slot) {
    if (slot < 0) return;
    pthread_mutex_lock(&fr__sig_mu);
    fr__atomic_store(&fr__sig_apps[slot], NULL);
    if (--fr__sig_refs == 0) {
        sigaction(SIGINT, &fr__sig_old_int, NULL);
        sigaction(SIGTERM, &fr__sig_old_term, NULL);
    }
    pthread_mutex_unlock(&fr__sig_mu);
}

/* ------------------------------------------------------------------------ */
/* app                                                                       */

static char *fr__srv_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = (char *)FR_MALLOC(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Own copies of the proxy strings (the caller's may not outlive cfg). */
static int fr__srv_proxy_cfg(fr_app *app) {
    const char *ips = app->cfg.forwarded_allow_ips, *rp = app->cfg.root_path;
    app->cfg.forwarded_allow_ips = app->cfg.root_path = NULL;
    if (ips && !(app->fwd_ips = fr__srv_strdup(ips))) return -1;
    if (rp && *rp && !(app->root_path = fr__srv_strdup(rp))) return -1;
    app->cfg.forwarded_allow_ips = app->fwd_ips;
    app->cfg.root_path = app->root_path;
    return 0;
}

fr_app *fr_app_new(const fr_config *cfg) {
    fr_app *app = (fr_app *)FR_MALLOC(sizeof *app);
    fr_router_opts ro;
    const char *sn;
    if (!app) return NULL;
    memset((void *)app, 0, sizeof *app); /* (void *): C++ warns on its atomics */
    if (cfg) app->cfg = *cfg;
    if (app->cfg.threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        app->cfg.threads = n > 0 ? (int)(n > 256 ? 256 : n) : 1;
    }
    if (app->cfg.threads > 256) app->cfg.threads = 256;
    if (!app->cfg.max_header_bytes) app->cfg.max_header_bytes = FR_MAX_HEADER_BYTES;
    if (!app->cfg.max_headers) app->cfg.max_headers = FR_MAX_HEADERS;
    if (!app->cfg.max_uri_bytes) app->cfg.max_uri_bytes = FR_MAX_URI_BYTES;
    if (!app->cfg.max_body_bytes) app->cfg.max_body_bytes = FR_MAX_BODY_BYTES;
    if (app->cfg.max_connections <= 0) app->cfg.max_connections = FR_MAX_CONNECTIONS;
    if (app->cfg.header_timeout_ms <= 0) app->cfg.header_timeout_ms = FR_HEADER_TIMEOUT_MS;
    if (app->cfg.idle_timeout_ms <= 0) app->cfg.idle_timeout_ms = FR_IDLE_TIMEOUT_MS;
    if (app->cfg.body_timeout_ms <= 0) app->cfg.body_timeout_ms = FR_BODY_TIMEOUT_MS;
    if (app->cfg.drain_timeout_ms <= 0) app->cfg.drain_timeout_ms = 10000;
    if (!app->cfg.stream_high_water) app->cfg.stream_high_water = FR_STREAM_HIGH_WATER;
    if (!app->cfg.stream_low_water || app->cfg.stream_low_water > app->cfg.stream_high_water)
        app->cfg.stream_low_water = app->cfg.stream_high_water / 4;
    if (app->cfg.send_timeout_ms <= 0) app->cfg.send_timeout_ms = app->cfg.body_timeout_ms;
    if (!app->cfg.min_send_rate) app->cfg.min_send_rate = FR_MIN_SEND_RATE;
    if (app->cfg.backlog <= 0) app->cfg.backlog = 1024;
    if (app->cfg.max_headers > 100000) app->cfg.max_headers = 100000;
    sn = app->cfg.server_name ? app->cfg.server_name : "fastrapi";
    app->server_name_len = strlen(sn);
    app->server_name = (char *)FR_MALLOC(app->server_name_len + 1);
    app->stop_rd = app->stop_wr = -1;
    if (pthread_mutex_init(&app->mu, NULL) != 0) {
        FR_FREE(app->server_name);
        FR_FREE(app);
        return NULL;
    }
    if (pthread_cond_init(&app->cv, NULL) != 0) {
        pthread_mutex_destroy(&app->mu);
        FR_FREE(app->server_name);
        FR_FREE(app);
        return NULL;
    }
    if (pthread_mutex_init(&app->sink_mu, NULL) != 0) {
        pthread_cond_destroy(&app->cv);
        pthread_mutex_destroy(&app->mu);
        FR_FREE(app->server_name);
        FR_FREE(app);
        return NULL;
    }
    if (!app->server_name) goto fail;
    memcpy(app->server_name, sn, app->server_name_len + 1);
    app->cfg.server_name = app->server_name;
    if (fr__srv_proxy_cfg(app) < 0) goto fail;
    ro.no_head_from_get = app->cfg.no_head_from_get;
    ro.no_redirect_slashes = app->cfg.no_redirect_slashes;
    ro.unbounded_ints = app->cfg.unbounded_ints;
    app->ro = ro;
    fr__atomic_init(&app->router, fr_router_new(&ro));
    if (!fr__atomic_load(&app->router)) goto fail;
    if (fr__srv_wake_open(&app->stop_rd, &app->stop_wr) < 0) goto fail;
    fr__atomic_init(&app->stop, 0);
    fr__atomic_init(&app->nconns, 0);
    fr__atomic_init(&app->lsn_users, 0);
    return app;
fail:
    app->nloops = 0;
    fr_app_free(app);
    return NULL;
}

void fr_app_free(fr_app *app) {
    fr__route *rt;
    int i;
    if (!app) return;
    pthread_mutex_lock(&app->mu);
    if (app->serving) {
        fr_stop(app);
        while (app->serving) pthread_cond_wait(&app->cv, &app->mu);
    }
    pthread_mutex_unlock(&app->mu);
    for (i = 0; i < app->nloops; i++) {
        fr__loop *L = &app->loops[i];
        fr__loop_teardown(L);
        /* requests their handlers never released: on_done(ok=0), then freed */
        while (L->zombies) fr__req_finish(L->zombies, 0, 0);
        fr__wakes_forget(L);
        pthread_mutex_destroy(&L->qmu);
    }
    FR_FREE(app->loops);
    /* fr_dispatch requests their holders never finished: on_done(ok=0), freed */
    while (app->sinks) fr__sink_abandon(app->sinks);
    pthread_mutex_destroy(&app->sink_mu);
    for (i = 0; i < app->nlsn; i++)
        if (app->lsn[i].fd >= 0) close(app->lsn[i].fd);
#if FR_ENABLE_OPENSSL
    for (i = 0; i < app->nlsn; i++) fr__tls_ctx_free(app->lsn[i].tls);
#endif
    fr__srv_wake_close(app->stop_rd, app->stop_wr);
    rt = app->routes;
    while (rt) {
        fr__route *n = rt->next;
        FR_FREE(rt->method);
        FR_FREE(rt->pattern);
        FR_FREE(rt);
        rt = n;
    }
    for (i = 0; i < (int)app->nretired; i++) fr_router_free(app->retired[i]);
    FR_FREE(app->retired);
    if (app->mw) fr__mw_chain_free(app->mw);
    fr__static_list_free(app->statics);
    if (fr__atomic_load(&app->router)) fr_router_free(fr__atomic_load(&app->router));
    pthread_cond_destroy(&app->cv);
    pthread_mutex_destroy(&app->mu);
    FR_FREE(app->server_name);
    FR_FREE(app->fwd_ips);
    FR_FREE(app->root_path);
    FR_FREE(app);
}

void fr_app_set_userdata(fr_app *app, void *ud) {
    if (app) app->ud = ud;
}
void *fr_app_userdata(const fr_app *app) { return app ? app->ud : NULL; }
const char *fr_app_last_error(const fr_app *app) { return app ? app->err : "no app"; }

int fr_route(fr_app *app, const char *method, const char *pattern, fr_handler h, void *userdata) {
    return fr_route_ex(app, method, pattern, h, userdata, NULL);
}

/* Put rt in the router and at the head of app->routes. Before serving the
 * router is edited in place. While serving (fr_serve's loop threads or
 * fr_poll are matching requests) it is never edited: the routes so far and
 * rt go into a new router, in the order they were added (same table as if
 * they had all been added before), which then replaces the live one with
 * one atomic store; a request matches against the old table or the new
 * one, never a half-built one. A replaced router stays allocated until
 * fr_app_free (a loop thread may still be reading it), so adding N routes
 * while serving keeps N tables. Writers are serialised by app->mu. */
static int fr__route_insert(fr_app *app, fr__route *rt, fr_err *err) {
    fr_router *old, *nr;
    fr__route **order = NULL, *r;
    fr_router **retired;
    size_t n = 0, i;
    int rc = -1;
    for (r = app->routes; r && strcmp(rt->method, "GET") == 0; r = r->next) {
        /* a websocket route and a plain GET route of one pattern: twins */
        if (r->is_alt || r->alt || r->ws == rt->ws || strcmp(r->method, "GET") != 0 ||
            !fr__route_shape_eq(r->pattern, rt->pattern))
            continue;
        if (app->mode != FR__MODE_NONE) {
            err->msg = "a websocket route sharing a GET route's pattern is added before serving";
            return -1;
        }
        r->alt = rt;
        rt->is_alt = 1;
        rt->pnames = strcmp(r->pattern, rt->pattern) != 0;
        rt->next = app->routes;
        app->routes = rt;
        app->ws_twins = 1;
        return 0;
    }
    if (rt->ws) app->ws_twins = 1; /* a websocket-only path: plain requests are routed around it */
    if (app->mode == FR__MODE_NONE) {
        if (fr_router_add_group(fr__atomic_load(&app->router), rt->method, rt->pattern, rt, rt->allow_group,
                                err) < 0)
            return -1;
        rt->next = app->routes;
        app->routes = rt;
        return 0;
    }
    pthread_mutex_lock(&app->mu);
    old = fr__atomic_load(&app->router);
    for (r = app->routes; r; r = r->next) n++;
    nr = fr_router_new(&app->ro);
    order = (fr__route **)FR_MALLOC((n ? n : 1) * sizeof *order);
    retired = (fr_router **)FR_REALLOC(app->retired, (app->nretired + 1) * sizeof *retired);
    if (retired) app->retired = retired;
    if (!nr || !order || !retired) {
        err->msg = "out of memory";
        goto done;
    }
    for (i = n, r = app->routes; r; r = r->next) order[--i] = r; /* oldest first */
    for (i = 0; i < n; i++)
        if (!order[i]->is_alt &&
            fr_router_add_group(nr, order[i]->method, order[i]->pattern, order[i], order[i]->allow_group, err) < 0)
            goto done;
    if (fr_router_add_group(nr, rt->method, rt->pattern, rt, rt->allow_group, err) < 0) goto done;
    rt->next = app->routes;
    app->routes = rt;
    app->retired[app->nretired++] = old;
    fr__atomic_store(&app->router, nr);
    nr = NULL;
    rc = 0;
done:
    if (nr) fr_router_free(nr);
    FR_FREE(order);
    pthread_mutex_unlock(&app->mu);
    return rc;
}

/* A route (or the unmatched requests) taking big bodies as they arrive
 * (body_spool, body_drop): heads are checked for them from now on. */
static void fr__big_add(fr_app *app, uint64_t spool, int drop) {
    uint64_t min = !drop ? spool : spool && spool < FR__DROP_MIN ? spool : FR__DROP_MIN;
    if (!spool && !drop) return;
    if (!app->big_routes || min < app->big_min) app->big_min = min;
    app->big_routes++;
}

int fr_route_ex(fr_app *app, const char *method, const char *pattern, fr_handler h, void *userdata,
                const fr_route_opts *opts) {
    fr__route *rt;
    fr_err err;
    if (!app) return -1;
    if (!method || !pattern || !h) {
        fr__srv_seterr(app, "fr_route: method, pattern and handler are required");
        return -1;
    }
    rt = (fr__route *)FR_MALLOC(sizeof *rt);
    if (rt) {
        rt->method = fr__srv_strdup(method);
        rt->pattern = fr__srv_strdup(pattern);
    }
    if (!rt || !rt->method || !rt->pattern) {
        if (rt) {
            FR_FREE(rt->method);
            FR_FREE(rt->pattern);
        }
        FR_FREE(rt);
        fr__srv_seterr(app, "out of memory");
        return -1;
    }
    rt->h = h;
    rt->ud = userdata;
    rt->limit_body = opts && opts->limit_body;
    rt->body_unread = opts && opts->body_unread;
    rt->max_body = opts ? opts->max_body : 0;
    rt->mp_stream = opts && opts->multipart_stream;
    rt->ws = opts && opts->websocket && strcmp(method, "GET") == 0;
    rt->alt = NULL;
    rt->is_alt = rt->pnames = 0;
    rt->mp_spool = opts ? opts->multipart_spool : 0;
    rt->body_spool = opts ? opts->body_spool : 0;
    rt->body_drop = opts && opts->body_drop;
    rt->allow_group = opts ? opts->allow_group : 0;
    memset(&rt->mp_lim, 0, sizeof rt->mp_lim);
    if (opts) {
        rt->mp_lim.max_fields = opts->multipart_max_fields;
        rt->mp_lim.max_files = opts->multipart_max_files;
        rt->mp_lim.max_part_size = opts->multipart_max_part_size;
    }
    memset(&err, 0, sizeof err);
    if (fr__route_insert(app, rt, &err) < 0) {
        snprintf(app->err, sizeof app->err, "%s %s: %s", method, pattern, err.msg ? err.msg : "invalid route");
        FR_FREE(rt->method);
        FR_FREE(rt->pattern);
        FR_FREE(rt);
        return -1;
    }
    if (rt->mp_stream) app->mp_routes++;
    fr__big_add(app, rt->body_spool, rt->body_drop);
    return 0;
}

void fr_app_set_unmatched_opts(fr_app *app, const fr_route_opts *opts) {
    if (!app) return;
    memset(&app->unmatched, 0, sizeof app->unmatched);
    if (opts) app->unmatched = *opts;
    fr__big_add(app, app->unmatched.body_spool, app->unmatched.body_drop);
}

void fr_app_set_fallback(fr_app *app, fr_handler h, void *userdata) {
    if (!app) return;
    app->fallback = h;
    app->fallback_ud = userdata;
}

int fr_app_match(const fr_app *app, fr_str method, fr_str path, fr_match *m, fr_handler *h,
                 void **userdata) {
    const fr__route *rt;
    if (h) *h = NULL;
    if (userdata) *userdata = NULL;
    if (!app || !m) return -1;
    fr_router_match(fr__atomic_load(&((fr_app *)app)->router), method, path, m);
    rt = m->status == FR_MATCH_FOUND ? (const fr__route *)m->data : NULL;
    if (rt) {
        if (h) *h = rt->h;
        if (userdata) *userdata = rt->ud;
    }
    return m->status;
}

int fr_listen(fr_app *app, const char *host, int port) {
    struct addrinfo hints, *res = NULL, *ai;
    char ports[16];
    int fd = -1, rc, one = 1, reuseport;
    fr__listener *l;
    if (!app) return -1;
    if (app->nlsn >= FR__MAX_LISTENERS) {
        fr__srv_seterr(app, "fr_listen: too many listeners");
        return -1;
    }
    if (port < 0 || port > 65535) {
        fr__srv_seterr(app, "fr_listen: invalid port");
        return -1;
    }
    if (app->mode != FR__MODE_NONE) {
        fr__srv_seterr(app, "fr_listen: cannot add listeners while serving");
        return -1;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(ports, sizeof ports, "%d", port);
    rc = getaddrinfo(host ? host : "127.0.0.1", ports, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(app->err, sizeof app->err, "fr_listen: %s", gai_strerror(rc));
        return -1;
    }
#if defined(__linux__) && defined(SO_REUSEPORT)
    reuseport = app->cfg.reuse_port || app->cfg.threads > 1;
#else
    reuseport = app->cfg.reuse_port;
#endif
    l = &app->lsn[app->nlsn];
    for (ai = res; ai; ai = ai->ai_next) {
        struct sockaddr_storage sa;
        socklen_t salen = (socklen_t)ai->ai_addrlen;
        if (ai->ai_addrlen > sizeof sa) continue;
        memcpy(&sa, ai->ai_addr, ai->ai_addrlen);
        if (reuseport && !app->cfg.reuse_port) {
            /* SO_REUSEPORT is only our way to spread connections over the
             * loops: first make sure nobody else holds the address (an
             * accidental second server must get EADDRINUSE, not half the
             * traffic), and learn the port when 0 was asked for. */
            int probe = socket(ai->ai_family, SOCK_STREAM, 0);
            if (probe < 0) continue;
            setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#if defined(IPV6_V6ONLY)
            if (ai->ai_family == AF_INET6) setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
#endif
            if (bind(probe, (struct sockaddr *)&sa, salen) < 0 ||
                getsockname(probe, (struct sockaddr *)&sa, &salen) < 0) {
                snprintf(app->err, sizeof app->err, "fr_listen: %s", strerror(errno));
                close(probe);
                continue;
            }
            close(probe);
        }
        fd = socket(ai->ai_family, SOCK_STREAM, 0);
        if (fd < 0) continue;
        if (fr__srv_nonblock(fd) < 0) goto next;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#if defined(SO_REUSEPORT)
        if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#endif
#if defined(IPV6_V6ONLY)
        if (ai->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
#endif
#if defined(SO_NOSIGPIPE)
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        if (bind(fd, (struct sockaddr *)&sa, salen) == 0 && listen(fd, app->cfg.backlog) == 0) break;
    next:
        snprintf(app->err, sizeof app->err, "fr_listen: %s", strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return -1;
    l->addrlen = sizeof l->addr;
    if (getsockname(fd, (struct sockaddr *)&l->addr, &l->addrlen) < 0) {
        snprintf(app->err, sizeof app->err, "fr_listen: %s", strerror(errno));
        close(fd);
        return -1;
    }
    l->fd = fd;
    l->inherited = 0;
    app->nlsn++;
    if (reuseport) app->lsn_reuseport = 1;
    if (l->addr.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&l->addr)->sin_port);
    if (l->addr.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&l->addr)->sin6_port);
    return port;
}

/* TLS listeners (tls.h): the listener keeps an fr__tls_ctx from tls.c;
 * accepted connections get an fr__tls_conn (fr__loop_accept). */
#if FR_ENABLE_OPENSSL
/* fr_listen(host, port), or fr_listen_fd(fd) when fd >= 0, with TLS. */
static int fr__srv_listen_tls(fr_app *app, const char *host, int port, int fd, const fr_tls_opts *o) {
    fr__tls_ctx *t;
    int r;
    if (!app) return -1;
    if (app->nlsn >= FR__MAX_LISTENERS || app->mode != FR__MODE_NONE) {
        fr__srv_seterr(app, "fr_listen_tls: too many listeners, or serving");
        return -1;
    }
    t = fr__tls_ctx_new(o, app->err, sizeof app->err);
    if (!t) return -1;
    r = fd >= 0 ? fr_listen_fd(app, fd) : fr_listen(app, host, port);
    if (r < 0) fr__tls_ctx_free(t);
    else app->lsn[app->nlsn - 1].tls = t;
    return r;
}
#endif

int fr_listen_tls_ex(fr_app *app, const char *host, int port, const fr_tls_opts *opts) {
#if FR_ENABLE_OPENSSL
    return fr__srv_listen_tls(app, host, port, -1, opts);
#else
    (void)host;
    (void)port;
    (void)opts;
    if (app)
        fr__srv_seterr(app, "fr_listen_tls: TLS is not built in (define FR_ENABLE_OPENSSL=1 and "
                            "link -lssl -lcrypto)");
    return -1;
#endif
}

int fr_listen_fd_tls_ex(fr_app *app, int fd, const fr_tls_opts *opts) {
#if FR_ENABLE_OPENSSL
    if (fd < 0) return -1;
    return fr__srv_listen_tls(app, NULL, 0, fd, opts);
#else
    (void)fd;
    return fr_listen_tls_ex(app, NULL, 0, opts);
#endif
}

/* fr_listen_tls's two files: both are needed (no key in the certificate file) */
static fr_tls_opts fr__tls_files(const char *cert_file, const char *key_file) {
    fr_tls_opts o;
    memset(&o, 0, sizeof o);
    o.cert_file = cert_file && key_file ? cert_file : NULL;
    o.key_file = key_file;
    return o;
}

int fr_listen_tls(fr_app *app, const char *host, int port, const char *cert_file, const char *key_file) {
    fr_tls_opts o = fr__tls_files(cert_file, key_file);
    return fr_listen_tls_ex(app, host, port, &o);
}

int fr_listen_fd_tls(fr_app *app, int fd, const char *cert_file, const char *key_file) {
    fr_tls_opts o = fr__tls_files(cert_file, key_file);
    return fr_listen_fd_tls_ex(app, fd, &o);
}

int fr_tls_reload(fr_app *app) {
#if FR_ENABLE_OPENSSL
    int i, rc = 0;
    if (!app) return -1;
    for (i = 0; i < app->nlsn; i++) {
        char err[sizeof app->err];
        if (app->lsn[i].tls && fr__tls_ctx_reload(app->lsn[i].tls, err, sizeof err) < 0) {
            fr__srv_seterr(app, err);
            rc = -1;
        }
    }
    return rc;
#else
    if (app)
        fr__srv_seterr(app, "fr_tls_reload: TLS is not built in (define FR_ENABLE_OPENSSL=1 and "
                            "link -lssl -lcrypto)");
    return -1;
#endif
}

int fr_listen_fd(fr_app *app, int fd) {
    fr__listener *l;
    int type = 0, acc = 0;
    socklen_t tl = sizeof type, al = sizeof acc;
    if (!app || fd < 0) return -1;
    if (app->nlsn >= FR__MAX_LISTENERS || app->mode != FR__MODE_NONE) {
        fr__srv_seterr(app, "fr_listen_fd: too many listeners, or serving");
        return -1;
    }
    l = &app->lsn[app->nlsn];
    l->addrlen = sizeof l->addr;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_STREAM ||
#if defined(SO_ACCEPTCONN)
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &al) < 0 || !acc ||
#endif
        getsockname(fd, (struct sockaddr *)&l->addr, &l->addrlen) < 0 || fr__srv_nonblock(fd) < 0) {
        fr__srv_seterr(app, "fr_listen_fd: not a listening stream socket");
        return -1;
    }
    (void)acc;
    (void)al;
    l->fd = fd;
    l->inherited = 1;
    app->nlsn++;
    if (l->addr.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&l->addr)->sin_port);
    if (l->addr.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&l->addr)->sin6_port);
    return 0;
}

/* Serving again after a stop (which closed the listening sockets): bind
 * fr_listen's addresses again (the same ports). One that fails stays closed
 * (the message in fr_app_last_error); fr_listen_fd's are gone for good. */
static void fr__app_relisten(fr_app *app) {
    int i, one = 1;
    for (i = 0; i < app->nlsn; i++) {
        fr__listener *l = &app->lsn[i];
        int fd;
        if (l->fd >= 0 || l->inherited) continue;
        fd = socket(l->addr.ss_family, SOCK_STREAM, 0);
        if (fd < 0) continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
#if defined(SO_REUSEPORT)
        if (app->lsn_reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
#endif
#if defined(IPV6_V6ONLY)
        if (l->addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
#endif
#if defined(SO_NOSIGPIPE)
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
        if (fr__srv_nonblock(fd) == 0 && bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) == 0 &&
            listen(fd, app->cfg.backlog) == 0) {
            l->fd = fd;
        } else {
            snprintf(app->err, sizeof app->err, "fr_serve: listening again: %s", strerror(errno));
            close(fd);
        }
    }
}

static int fr__app_alloc_loops(fr_app *app, int n) {
    int i;
    if (app->loops) return app->nloops == n ? 0 : -1;
    app->loops = (fr__loop *)FR_MALLOC(sizeof(fr__loop) * (size_t)n);
    if (!app->loops) return -1;
    memset(app->loops, 0, sizeof(fr__loop) * (size_t)n);
    for (i = 0; i < n; i++) {
        if (pthread_mutex_init(&app->loops[i].qmu, NULL) != 0) {
            while (i-- > 0) pthread_mutex_destroy(&app->loops[i].qmu);
            FR_FREE(app->loops);
            app->loops = NULL;
            return -1;
        }
        app->loops[i].pfd = -1;
        app->loops[i].wake.fd = app->loops[i].wake_wr = -1;
    }
    app->nloops = n;
    return 0;
}

int fr_serve(fr_app *app) {
    int i, n, slot = -1, started;
    if (!app) return -1;
    pthread_mutex_lock(&app->mu);
    if (app->serving || app->mode == FR__MODE_POLL || app->mode == FR__MODE_POLL_DONE) {
        pthread_mutex_unlock(&app->mu);
        fr__srv_seterr(app, "fr_serve: already serving (or in fr_poll mode)");
        return -1;
    }
    app->serving = 1;
    app->mode = FR__MODE_SERVE;
    pthread_mutex_unlock(&app->mu);
    n = app->cfg.threads;
    fr__app_relisten(app);
    if (fr__app_alloc_loops(app, n) < 0) {
        fr__srv_seterr(app, "fr_serve: out of memory");
        n = 0;
        goto out;
    }
    for (i = 0; i < n; i++) {
        if (fr__loop_setup(&app->loops[i], app, i) < 0) {
            snprintf(app->err, sizeof app->err, "fr_serve: loop setup: %s", strerror(errno));
            while (i-- > 0) fr__loop_teardown(&app->loops[i]);
            n = -1;
            goto out;
        }
    }
    if (!app->cfg.no_signals) slot = fr__sig_install(app);
    started = 1;
    for (i = 1; i < n; i++) {
        if (pthread_create(&app->loops[i].thr, NULL, fr__loop_thread, &app->loops[i]) != 0) break;
        started++;
    }
    if (started < n) { /* could not start every thread: run with what we have */
        for (i = started; i < n; i++) fr__loop_teardown(&app->loops[i]);
    }
    fr__loop_run(&app->loops[0]);
    fr__loop_teardown(&app->loops[0]);
    for (i = 1; i < started; i++) pthread_join(app->loops[i].thr, NULL);
    fr__sig_remove(slot);
out:
    fr__srv_wake_drain(app->stop_rd);
    fr__atomic_store(&app->stop, 0);
    pthread_mutex_lock(&app->mu);
    app->serving = 0;
    app->mode = FR__MODE_NONE;
    pthread_cond_broadcast(&app->cv);
    pthread_mutex_unlock(&app->mu);
    return n > 0 ? 0 : -1;
}

/* fr_poll's loop, set up on first use; NULL once done, with fr_serve, or on error. */
static fr__loop *fr__poll_loop(fr_app *app) {
    if (app->mode == FR__MODE_SERVE || app->mode == FR__MODE_POLL_DONE) return NULL;
    if (app->mode == FR__MODE_NONE) {
        if (fr__app_alloc_loops(app, 1) < 0) {
            fr__srv_seterr(app, "fr_poll: out of memory (or fr_serve used before)");
            return NULL;
        }
        if (fr__loop_setup(&app->loops[0], app, 0) < 0) {
            snprintf(app->err, sizeof app->err, "fr_poll: loop setup: %s", strerror(errno));
            return NULL;
        }
        app->mode = FR__MODE_POLL;
    }
    return &app->loops[0];
}

int fr_app_pollfd(fr_app *app) {
    fr__loop *L = app ? fr__poll_loop(app) : NULL;
    return L ? L->pfd : -1; /* -1 on the poll() backend */
}

int fr_app_poll_timeout(fr_app *app) {
    if (!app || app->mode != FR__MODE_POLL) return -1;
    return fr__loop_timeout(&app->loops[0], -1);
}

int fr_poll(fr_app *app, int timeout_ms) { return fr_poll_ex(app, timeout_ms, 0); }

int fr_poll_ex(fr_app *app, int timeout_ms, int max_events) {
    fr__loop *L;
    int n;
    if (!app) return -1;
    L = fr__poll_loop(app);
    if (!L) return -1;
    if (!L->tid_valid) { /* the host's thread is the loop thread from now on */
        L->tid = pthread_self();
        L->tid_valid = 1;
    }
    n = fr__loop_iter_n(L, timeout_ms < 0 ? 0 : timeout_ms, max_events);
    if (fr__loop_finished(L)) {
        fr__loop_teardown(L);
        app->mode = FR__MODE_POLL_DONE;
        return -1;
    }
    return n;
}

void fr_stop(fr_app *app) {
    if (!app) return;
    fr__atomic_store(&app->stop, 1);
    if (app->stop_wr >= 0) fr__srv_wake_write(app->stop_wr);
}

/* ------------------------------------------------------------------------ */
/* request accessors                                                         */

fr_str fr_req_method(const fr_req *req) { return req->h.method; }
fr_str fr_req_path(const fr_req *req) { return req->path; }
fr_str fr_req_raw_path(const fr_req *req) { return req->h.path; }
fr_str fr_req_query(const fr_req *req) { return req->h.query; }
fr_str fr_req_target(const fr_req *req) { return req->h.target; }
fr_str fr_req_scheme(const fr_req *req) {
    if (req->conn && req->app->fwd_ips) fr_req_client_addr(req); /* resolves the proxy's word */
    if (req->scheme.len) return req->scheme;
    return req->conn && req->conn->secure ? FR_STR("https") : FR_STR("http");
}
fr_str fr_req_root_path(const fr_req *req) {
    return req->app->root_path && !req->sink ? fr_str_c(req->app->root_path) : FR_STR("");
}
int fr_req_client_gone(const fr_req *req) {
    int gone;
    if (!req || !req->conn || !req->loop) return 0;
    pthread_mutex_lock(&req->loop->qmu);
    gone = req->zombie;
    pthread_mutex_unlock(&req->loop->qmu);
    return gone;
}

const fr_sink *fr_req_sink(const fr_req *req) { return req->sink; }
int fr_req_http_minor(const fr_req *req) { return req->h.minor_version; }
fr_str fr_req_body(const fr_req *req) { return req->body; }
const fr_form *fr_req_form(const fr_req *req) { return req ? req->form : NULL; }

int fr_req_body_file(const fr_req *req, uint64_t *len) {
    int fd = req && req->bkind == FR__B_SPOOL ? req->sp_fd : -1;
    if (len) *len = fd >= 0 ? req->form_bytes : 0;
    return fd;
}
fr_app *fr_req_app(const fr_req *req) { return req->app; }
fr_arena *fr_req_arena(fr_req *req) { return &req->arena; }
void fr_req_set_userdata(fr_req *req, void *ud) { req->ud = ud; }
void *fr_req_userdata(const fr_req *req) { return req->ud; }
int fr_req_match_status(const fr_req *req) { return req->m.status; }
fr_str fr_req_match_allow(const fr_req *req) {
    fr_str e = {"", 0};
    return req->m.status == FR_MATCH_METHOD && req->m.allow.buf ? req->m.allow : e;
}
fr_str fr_req_route_pattern(const fr_req *req) {
    fr_str e = {"", 0};
    return req->m.status == FR_MATCH_FOUND && req->m.pattern.buf ? req->m.pattern : e;
}

fr_str fr_req_header(const fr_req *req, const char *name) {
    fr_str n = fr_str_c(name), none = {NULL, 0};
    size_t i;
    for (i = 0; i < req->h.num_headers; i++)
        if (fr_str_ieq(req->h.headers[i].name, n)) return req->h.headers[i].value;
    return none;
}

size_t fr_req_num_headers(const fr_req *req) { return req->h.num_headers; }

int fr_req_header_at(const fr_req *req, size_t i, fr_str *name, fr_str *value) {
    if (i >= req->h.num_headers) return -1;
    if (name) *name = req->h.headers[i].name;
    if (value) *value = req->h.headers[i].value;
    return 0;
}

fr_str fr_req_param(const fr_req *req, const char *name) {
    fr_str n = fr_str_c(name), none = {NULL, 0};
    size_t i;
    if (req->m.status != FR_MATCH_FOUND) return none;
    for (i = 0; i < req->m.num_params; i++)
        if (fr_str_eq(req->m.params[i].name, n)) return req->m.params[i].value;
    return none;
}

size_t fr_req_num_params(const fr_req *req) {
    return req->m.status == FR_MATCH_FOUND ? req->m.num_params : 0;
}

int fr_req_param_at(const fr_req *req, size_t i, fr_str *name, fr_str *value) {
    if (i >= fr_req_num_params(req)) return -1;
    if (name) *name = req->m.params[i].name;
    if (value) *value = req->m.params[i].value;
    return 0;
}

int64_t fr_req_param_int(const fr_req *req, const char *name) {
    int64_t v = 0;
    fr_str s = fr_req_param(req, name);
    if (!s.buf || fr_str_to_i64(s, &v) < 0) return 0;
    return v;
}

double fr_req_param_float(const fr_req *req, const char *name) {
    double v = 0;
    fr_str s = fr_req_param(req, name);
    if (!s.buf || fr_str_to_double(s, &v) < 0) return 0;
    return v;
}

/* 1 + *out, 0 absent, -1 not an int64 (both with *out = 0) */
static int fr__req_i64(int found, fr_str s, int64_t *out) {
    int64_t v = 0;
    int r = !found ? 0 : fr_str_to_i64(s, &v) < 0 ? -1 : 1;
    if (out) *out = r == 1 ? v : 0;
    return r;
}

int fr_req_param_i64(const fr_req *req, const char *name, int64_t *out) {
    fr_str s = {NULL, 0};
    if (req && name) s = fr_req_param(req, name);
    return fr__req_i64(s.buf != NULL, s, out);
}

int fr_req_query_i64(fr_req *req, const char *key, int64_t *out) {
    fr_str s = {NULL, 0};
    int found = req && key ? fr_req_query_get(req, key, &s) : 0;
    return fr__req_i64(found, s, out);
}

/* Decode a raw query/cookie value into the request arena, NUL-terminated.
 * 1 done, 0 on OOM. */
static int fr__req_kv_decode(fr_req *req, int kind, fr_str raw, fr_str *value) {
    size_t cap = FR_KV_DECODED_MAX(raw.len);
    char *p;
    long n;
    if (!value) return 1;
    p = (char *)fr_arena_alloc(&req->arena, cap + 1);
    if (!p) return 0;
    n = fr_kv_decode(kind, raw, p, cap);
    if (n < 0) return 0;
    p[n] = 0;
    value->buf = p;
    value->len = (size_t)n;
    return 1;
}

int fr_req_query_get(fr_req *req, const char *key, fr_str *value) {
    fr_str raw;
    if (!req || !key || !fr_kv_find(req->h.query, FR_KV_QUERY, fr_str_c(key), FR_KV_LAST, &raw))
        return 0;
    return fr__req_kv_decode(req, FR_KV_QUERY, raw, value);
}

fr_str fr_req_cookie_header(fr_req *req) {
    fr_str first = {NULL, 0};
    size_t i, n = 0, total = 0, o = 0;
    char *buf;
    if (!req) return first;
    for (i = 0; i < req->h.num_headers; i++) {
        if (!fr_str_ieq_c(req->h.headers[i].name, "cookie")) continue;
        if (!n++) first = req->h.headers[i].value;
        total += req->h.headers[i].value.len + 2;
    }
    if (n <= 1 || !(buf = (char *)fr_arena_alloc(&req->arena, total + 1))) return first;
    for (i = 0; i < req->h.num_headers; i++) {
        fr_str v = req->h.headers[i].value;
        if (!fr_str_ieq_c(req->h.headers[i].name, "cookie")) continue;
        if (o) {
            buf[o++] = ';';
            buf[o++] = ' ';
        }
        if (v.len) memcpy(buf + o, v.buf, v.len);
        o += v.len;
    }
    buf[o] = '\0';
    return fr__str(buf, o);
}

int fr_req_cookie_get(fr_req *req, const char *name, fr_str *value) {
    fr_str raw, header;
    if (!req || !name) return 0;
    header = fr_req_cookie_header(req);
    if (!fr_kv_find(header, FR_KV_COOKIE, fr_str_c(name), FR_KV_LAST, &raw)) return 0;
    return fr__req_kv_decode(req, FR_KV_COOKIE, raw, value);
}

/* Behind a trusted proxy: the client and scheme it reports, on the first
 * look at either (r->client_addr holds the peer's text). */
static void fr__req_forwarded(fr_req *r) {
    fr_forwarded fw;
    if (!fr_http_forwarded(fr_str_c(r->app->fwd_ips), r->client_addr, r->h.headers,
                           r->h.num_headers, &fw))
        return;
    if (fw.scheme.len) r->scheme = fw.scheme; /* static */
    if (fw.client.len) {
        char *a = fr_arena_strdup(&r->arena, fw.client.buf, fw.client.len);
        if (!a) return;
        r->client_addr = fr__str(a, fw.client.len);
        r->client_port = fw.client_port;
        r->fwd_client = 1;
    }
}

fr_str fr_req_client_addr(const fr_req *req) {
    fr_req *r = (fr_req *)(uintptr_t)req; /* lazily cached in the arena */
    fr_str e = {"", 0};
    const fr__conn *c = req->conn;
    char tmp[INET6_ADDRSTRLEN + 1];
    const char *s = NULL;
    if (r->client_addr.buf) return r->client_addr;
    if (!c) return e;
    if (c->peer.ss_family == AF_INET)
        s = inet_ntop(AF_INET, &((const struct sockaddr_in *)&c->peer)->sin_addr, tmp, sizeof tmp);
    else if (c->peer.ss_family == AF_INET6)
        s = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&c->peer)->sin6_addr, tmp, sizeof tmp);
    if (!s) s = ""; /* not an IP peer: trusted only by "*" */
    r->client_addr.buf = fr_arena_strdup(&r->arena, s, strlen(s));
    if (!r->client_addr.buf) return e;
    r->client_addr.len = strlen(s);
    if (r->app->fwd_ips) fr__req_forwarded(r);
    return r->client_addr;
}

int fr_req_client_port(const fr_req *req) {
    const fr__conn *c = req->conn;
    if (c && req->app->fwd_ips) fr_req_client_addr(req);
    if (!c || req->fwd_client) return req->client_port; /* fr_dispatch: the descriptor's; else 0 */
    if (c->peer.ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)&c->peer)->sin_port);
    if (c->peer.ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)&c->peer)->sin6_port);
    return 0;
}

int fr_req_on_done(fr_req *req, fr_done_fn fn, void *userdata) {
    if (!req || req->done) return -1;
    req->done = fn;
    req->done_ud = userdata;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* response API                                                              */

void fr_res_status(fr_req *req, int status) {
    if (!req) return;
    if (status >= 100 && status <= 999) req->status = status;
    else req->res_bad = "invalid status code";
}

/* uvicorn's rule for response headers: the name a token, the value without
 * control bytes other than HTAB */
static int fr__res_header_ok(const char *name, size_t nlen, const char *value, size_t vlen) {
    size_t i;
    for (i = 0; i < nlen; i++)
        if (!fr__tchar((unsigned char)name[i])) return 0;
    for (i = 0; i < vlen; i++) {
        unsigned char b = (unsigned char)value[i];
        if ((b < 0x20 && b != '\t') || b == 0x7f) return 0;
    }
    return 1;
}

/* Error-log line (cfg.error_log, else stderr). */
static void fr__app_log(fr_app *app, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void fr__app_log(fr_app *app, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (app && app->cfg.error_log) app->cfg.error_log(msg, app->cfg.error_log_ud);
    else fprintf(stderr, "fastrapi: %s\n", msg);
}

/* Append a header whose name/value live long enough (static or arena). */
static int fr__res_header_ref(fr_req *req, const char *name, size_t nlen, const char *value, size_t vlen) {
    if (req->nrh == req->caprh) {
        size_t cap = req->caprh ? req->caprh * 2 : 8;
        fr_header *nh = (fr_header *)fr_arena_alloc(&req->arena, cap * sizeof *nh);
        if (!nh) return -1;
        if (req->nrh) memcpy(nh, req->rh, req->nrh * sizeof *nh);
        req->rh = nh;
        req->caprh = cap;
    }
    req->rh[req->nrh].name.buf = name;
    req->rh[req->nrh].name.len = nlen;
    req->rh[req->nrh].value.buf = value;
    req->rh[req->nrh].value.len = vlen;
    req->nrh++;
    return 0;
}

int fr_res_header_n(fr_req *req, const char *name, size_t nlen, const char *value, size_t vlen) {
    fr_str n;
    char *nc, *vc;
    if (!req || !name || (!value && vlen)) return -1;
    if (nlen == 0 || !fr__res_header_ok(name, nlen, value, vlen)) {
        req->res_bad = "invalid response header";
        return -1;
    }
    n.buf = name;
    n.len = nlen;
    if (fr_str_ieq_c(n, "content-length")) {
        fr_str v = {value, vlen};
        int64_t x;
        if (fr_str_to_i64(v, &x) < 0 || x < 0) return -1;
        req->res_clen = x; /* the engine writes the length itself */
        return 0;
    }
    if (fr_str_ieq_c(n, "transfer-encoding")) return 0; /* the engine frames the body */
    if (fr_str_ieq_c(n, "connection")) {
        size_t i;
        for (i = 0; i + 5 <= vlen; i++)
            if (fr_str_ieq_c(fr__str(value + i, 5), "close")) req->force_close = 1;
        return 0;
    }
    nc = fr_arena_strdup(&req->arena, name, nlen);
    vc = fr_arena_strdup(&req->arena, vlen ? value : "", vlen);
    if (!nc || !vc) return -1;
    return fr__res_header_ref(req, nc, nlen, vc, vlen);
}

int fr_res_header(fr_req *req, const char *name, const char *value) {
    if (!name || !value) return -1;
    return fr_res_header_n(req, name, strlen(name), value, strlen(value));
}

static void fr__res_drop_body(fr_req *req) {
    if (req->rfd >= 0) fr__req_drop_file(req);
    if (req->rbody_free) req->rbody_free(req->rbody_ud, req->rbody);
    req->rbody_free = NULL;
    req->rbody = NULL;
    req->rbody_len = 0;
}

int fr_res_body(fr_req *req, const void *data, size_t len) {
    void *p = NULL;
    if (!req || (len && !data)) return -1;
    if (len) {
        p = fr_arena_alloc(&req->arena, len);
        if (!p) return -1;
        memcpy(p, data, len);
    }
    fr__res_drop_body(req);
    req->rbody = p;
    req->rbody_len = len;
    return 0;
}

int fr_res_body_take(fr_req *req, const void *data, size_t len, void (*free_fn)(void *ud, const void *data),
                     void *free_ud) {
    if (!req || (len && !data)) return -1;
    fr__res_drop_body(req);
    req->rbody = data;
    req->rbody_len = len;
    req->rbody_free = free_fn;
    req->rbody_ud = free_ud;
    return 0;
}

int fr_res_file(fr_req *req, int fd, uint64_t offset, uint64_t len, int close_fd) {
    struct stat st;
    int fl;
    if (!req || fd < 0 || req->streaming) return -1;
    if (offset > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - offset) return -1;
    if (sizeof(off_t) < 8 && offset + len > (uint64_t)INT32_MAX) return -1; /* 32-bit off_t */
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) return -1;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_ACCMODE) == O_WRONLY) return -1;
    fr__res_drop_body(req);
    req->rfd = fd;
    req->rfd_close = close_fd != 0;
    req->rfd_nosf = 0;
    req->rfd_off = offset;
    req->rfd_len = len;
    return 0;
}

static int fr__stream_end(fr_req *req);

/* The handler built a response that cannot go on the wire: answer what
 * uvicorn answers an app that sends such a response, and log why. */
static void fr__res_replace_invalid(fr_req *req) {
    static const char msg[] = "Internal Server Error";
    fr__app_log(req->app, "invalid response (%s) from the handler of %.*s %.*s; answered 500", req->res_bad,
                (int)req->h.method.len, req->h.method.buf, (int)req->h.path.len, req->h.path.buf);
    fr__res_drop_body(req);
    req->nrh = 0;
    req->res_clen = -1;
    req->status = 500;
    fr__res_header_ref(req, "content-type", 12, "text/plain; charset=utf-8", 25);
    req->rbody = msg;
    req->rbody_len = sizeof msg - 1;
}

FR__PRIV int fr__res_send_raw(fr_req *req) {
    if (!req) return -1;
    if (req->streaming) return fr__stream_end(req);
    if (fr__atomic_exchange(&req->send_called, 1)) return -1;
    if (req->res_bad) fr__res_replace_invalid(req);
    if (req->sink) { /* fr_dispatch: delivered now, on this thread */
        fr__sink_send(req);
        return 0;
    }
    if (fr__tls_req == req) {
        req->inline_released = 1; /* inside its own handler: written on return */
        return 0;
    }
    fr__req_notify(req, 1);
    return 0;
}

typedef struct fr__owned_free {
    void (*fn)(void *);
} fr__owned_free;

static void fr__owned_release(void *ud, const void *data) {
    fr__owned_free *h = (fr__owned_free *)ud;
    h->fn((void *)(uintptr_t)data);
    FR_FREE(h);
}

int fr_res_body_owned(fr_req *req, void *data, size_t len, void (*free_fn)(void *)) {
    fr__owned_free *h;
    if (!req || (len && !data)) return -1;
    if (!free_fn || !data) return fr_res_body_take(req, data, len, NULL, NULL);
    h = (fr__owned_free *)FR_MALLOC(sizeof *h);
    if (!h) return -1;
    h->fn = free_fn;
    if (fr_res_body_take(req, data, len, fr__owned_release, h) < 0) {
        FR_FREE(h);
        return -1;
    }
    return 0;
}

static void fr__buf_release(void *ud, const void *data) {
    (void)ud;
    FR_FREE((void *)(uintptr_t)data);
}

int fr_res_json_buf(fr_req *req, int status, fr_buf *b) {
    char *data = b ? b->buf : NULL;
    size_t len = b ? b->len : 0;
    if (b) memset(b, 0, sizeof *b);
    if (!req) {
        FR_FREE(data);
        return FR_DONE;
    }
    fr_res_status(req, status);
    fr__res_header_ref(req, "content-type", 12, "application/json", 16);
    if (!data || fr_res_body_take(req, data, len, fr__buf_release, NULL) < 0) {
        FR_FREE(data);
        fr_res_status(req, 500);
        fr_res_body(req, "{\"detail\":\"Internal Server Error\"}", 34);
    }
    fr_res_send(req);
    return FR_DONE;
}

int fr_res_json(fr_req *req, int status, const char *json, size_t len) {
    if (!req) return FR_DONE;
    fr_res_status(req, status);
    fr__res_header_ref(req, "content-type", 12, "application/json", 16);
    if (fr_res_body(req, json, len) < 0) {
        fr_res_status(req, 500);
        req->rbody_len = 0;
    }
    fr_res_send(req);
    return FR_DONE;
}

int fr_res_text(fr_req *req, int status, const char *content_type, const char *body, size_t len) {
    if (!req) return FR_DONE;
    fr_res_status(req, status);
    if (content_type) fr_res_header(req, "content-type", content_type);
    else fr__res_header_ref(req, "content-type", 12, "text/plain; charset=utf-8", 25);
    if (fr_res_body(req, body, len) < 0) {
        fr_res_status(req, 500);
        req->rbody_len = 0;
    }
    fr_res_send(req);
    return FR_DONE;
}

int fr_res_default(fr_req *req) {
    static const char nf[] = "{\"detail\":\"Not Found\"}";
    static const char mna[] = "{\"detail\":\"Method Not Allowed\"}";
    if (!req) return FR_DONE;
    if (req->app->cfg.websocket_routes_only && fr_req_is_websocket(req)) { /* refused before accept */
        fr_res_header(req, "connection", "close");
        return fr_res_text(req, 403, "text/plain; charset=utf-8", "", 0);
    }
    if (req->m.status == FR_MATCH_METHOD) {
        if (req->m.allow.len) fr_res_header_n(req, "allow", 5, req->m.allow.buf, req->m.allow.len);
        return fr_res_json(req, 405, mna, sizeof mna - 1);
    }
    if (req->m.status == FR_MATCH_REDIRECT) {
        /* the other trailing-slash form of the raw path, absolute like
         * Starlette's redirect_slashes; query kept */
        fr_str raw = req->h.path, host = req->h.host, scheme = fr_req_scheme(req);
        fr_str rp = fr_req_root_path(req); /* the proxy's prefix, as uvicorn's --root-path */
        size_t cap = raw.len + host.len + req->h.query.len + scheme.len + rp.len + 16, pl = raw.len, n = 0;
        char *loc = (char *)fr_arena_alloc(&req->arena, cap);
        if (!loc) return fr_res_json(req, 500, "{\"detail\":\"Internal Server Error\"}", 34);
        if (host.len) {
            memcpy(loc, scheme.buf, scheme.len);
            memcpy(loc + scheme.len, "://", 3);
            memcpy(loc + scheme.len + 3, host.buf, host.len);
            n = scheme.len + 3 + host.len;
        }
        memcpy(loc + n, rp.buf, rp.len);
        n += rp.len;
        if (req->m.redirect_add_slash) {
            memcpy(loc + n, raw.buf, pl);
            n += pl;
            loc[n++] = '/';
        } else {
            for (;;) { /* every trailing slash, like Starlette's rstrip("/") */
                if (pl >= 1 && raw.buf[pl - 1] == '/') pl--;
                else if (pl >= 3 && raw.buf[pl - 3] == '%' && raw.buf[pl - 2] == '2' &&
                         (raw.buf[pl - 1] == 'F' || raw.buf[pl - 1] == 'f'))
                    pl -= 3;
                else break;
            }
            memcpy(loc + n, raw.buf, pl);
            n += pl;
        }
        if (req->h.query.len) {
            loc[n++] = '?';
            memcpy(loc + n, req->h.query.buf, req->h.query.len);
            n += req->h.query.len;
        }
        fr_res_status(req, 307);
        if (fr_res_header_n(req, "location", 8, loc, n) < 0) fr_res_status(req, 400);
        fr_res_body(req, NULL, 0);
        fr_res_send(req);
        return FR_DONE;
    }
    return fr_res_json(req, 404, nf, sizeof nf - 1);
}

/* ---- streaming ---- */

static int fr__on_loop_thread(const fr_req *req) {
    const fr__loop *L = req->loop;
    return L->tid_valid && pthread_equal(L->tid, pthread_self());
}

FR__PRIV int fr__res_stream_begin_raw(fr_req *req) {
    fr_http_res_head h;
    fr_app *app;
    int ka, nobody, rc = 0;
    if (!req) return -1;
    if (req->res_bad && !req->streaming) { /* answered 500 instead of the stream */
        fr__res_send_raw(req);
        return -1;
    }
    if (req->sink) return fr__sink_stream_begin(req);
    app = req->app;
    pthread_mutex_lock(&req->smu);
    if (req->streaming || fr__atomic_load(&req->send_called)) {
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    /* 1xx/204/304 have no body: no framing, written bytes dropped (as HEAD) */
    nobody = fr__status_has_no_body(req->status);
    req->stream_chunked = !nobody && req->res_clen < 0 && req->h.minor_version >= 1;
    ka = req->h.keep_alive && !req->force_close && (nobody || req->res_clen >= 0 || req->stream_chunked);
    h.status = req->status;
    h.minor_version = req->h.minor_version;
    h.headers = req->rh;
    h.num_headers = req->nrh;
    h.content_length = nobody ? 0 : req->res_clen;
    h.keep_alive = ka;
    h.server = fr__srv_server(app);
    h.no_date = 0;
    req->sbuf.len = 0;
    if (fr_http_write_head(&req->sbuf, &h) < 0) {
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    if (nobody) fr__strip_content_length(&req->sbuf, 0);
    req->stream_keepalive = ka && !req->close_after;
    req->streaming = 1;
    req->sleft = !nobody && !req->is_head && !req->stream_chunked ? req->res_clen : -1;
    req->squeued += req->sbuf.len;
    if (req->stream_failed) rc = -1;
    pthread_mutex_unlock(&req->smu);
    if (fr__tls_req == req) req->inline_stream = 1;
    else fr__req_notify(req, 0);
    return rc;
}

/* A stream that broke its own content-length (smu held): what was written
 * goes out, then the connection closes (uvicorn's RuntimeError "Response
 * content longer/shorter than Content-Length" after the response started),
 * and the log says why; the producer's writes fail from here on. */
static void fr__stream_overrun(fr_req *req, const char *how) {
    fr__app_log(req->app, "response content %s than Content-Length (%lld) from the handler of %.*s %.*s", how,
                (long long)req->res_clen, (int)req->h.method.len, req->h.method.buf, (int)req->h.path.len,
                req->h.path.buf);
    req->stream_failed = 1;
    req->stream_abort = 1;
    req->close_after = 1;
    req->stream_keepalive = 0;
}

FR__PRIV int fr__res_stream_write_raw(fr_req *req, const void *data, size_t len) {
    size_t before;
    int full;
    if (!req || (len && !data)) return -1;
    if (req->sink) return fr__sink_stream_write(req, data, len);
    pthread_mutex_lock(&req->smu);
    if (!req->streaming || req->stream_ended || req->ws) {
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    if (req->stream_failed) {
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    if (len == 0 || req->is_head || fr__status_has_no_body(req->status)) {
        pthread_mutex_unlock(&req->smu);
        return 0;
    }
    if (req->sleft >= 0 && (uint64_t)len > (uint64_t)req->sleft) {
        /* more than its content-length: the excess would be read as the next
         * response. uvicorn raises "Response content longer than
         * Content-Length" and closes the connection: so does the engine. */
        fr__stream_overrun(req, "longer");
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    if (req->sleft >= 0) req->sleft -= (int64_t)len;
    before = req->sbuf.len;
    if ((req->stream_chunked ? fr_http_write_chunk(&req->sbuf, data, len)
                             : fr_buf_append(&req->sbuf, data, len)) < 0) {
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    req->squeued += req->sbuf.len - before;
    full = req->squeued > req->app->cfg.stream_high_water;
    if (full) req->want_drain = 1; /* fr__stream_sent: DRAINED at low water */
    pthread_mutex_unlock(&req->smu);
    if (fr__tls_req != req) fr__req_notify(req, 0);
    return full ? FR_STREAM_FULL : 0;
}

static int fr__stream_end(fr_req *req) {
    int failed;
    if (req->sink) return fr__sink_stream_end(req);
    if (req->ws) return -1; /* upgraded: the ws owns the request */
    if (fr__atomic_exchange(&req->send_called, 1)) return -1;
    pthread_mutex_lock(&req->smu);
    if (!req->stream_failed && !req->stream_abort && req->sleft > 0) fr__stream_overrun(req, "shorter");
    if (!req->stream_failed && !req->stream_abort && req->stream_chunked && !req->is_head) {
        size_t before = req->sbuf.len;
        if (fr_http_write_chunk(&req->sbuf, NULL, 0) == 0) req->squeued += req->sbuf.len - before;
    }
    req->stream_ended = 1;
    req->sev_fn = NULL;
    while (req->sev_running && !pthread_equal(req->sev_thr, pthread_self()))
        pthread_cond_wait(&req->scv, &req->smu); /* no event call after end returns */
    failed = req->stream_failed;
    pthread_mutex_unlock(&req->smu);
    if (fr__tls_req == req) {
        req->inline_released = 1;
        return failed ? -1 : 0;
    }
    fr__req_notify(req, 1); /* req may be gone after this */
    return failed ? -1 : 0;
}

FR__PRIV int fr__res_stream_end_raw(fr_req *req) {
    if (!req) return -1;
    if (!req->streaming) return -1;
    return fr__stream_end(req);
}

FR__PRIV void fr__req_stream_fn_swap(fr_req *req, fr_stream_fn *fn, void **ud) {
    fr_stream_fn f;
    void *u;
    pthread_mutex_lock(&req->smu);
    f = req->sev_fn;
    u = req->sev_ud;
    req->sev_fn = req->stream_ended ? NULL : *fn;
    req->sev_ud = *ud;
    pthread_mutex_unlock(&req->smu);
    *fn = f;
    *ud = u;
}

void fr_res_close_after(fr_req *req) {
    if (!req) return;
    pthread_mutex_lock(&req->smu);
    req->close_after = 1;
    req->stream_keepalive = 0;
    pthread_mutex_unlock(&req->smu);
}

void fr_res_stream_abort(fr_req *req) {
    if (!req) return;
    fr_res_close_after(req);
    pthread_mutex_lock(&req->smu);
    req->stream_abort = 1;
    pthread_mutex_unlock(&req->smu);
}

FR__PRIV int fr__req_stream_unabort(fr_req *req) {
    int was;
    pthread_mutex_lock(&req->smu);
    was = req->stream_abort;
    req->stream_abort = 0;
    pthread_mutex_unlock(&req->smu);
    return was;
}

int fr_res_stream_on_drain(fr_req *req, fr_stream_fn fn, void *userdata) {
    if (!req) return -1;
    pthread_mutex_lock(&req->smu);
    req->sev_fn = req->stream_ended ? NULL : fn;
    req->sev_ud = userdata;
    pthread_mutex_unlock(&req->smu);
    return 0;
}

/* The producer should wait (smu held): the socket's queue is above low
 * water, or the sink paused the stream. */
static int fr__stream_behind(const fr_req *req) {
    return req->sink ? req->sink_paused && !req->sink_gone : req->squeued > req->app->cfg.stream_low_water;
}

int fr_res_stream_wait(fr_req *req, int timeout_ms) {
    struct timespec ts;
    int rc = 0;
    if (!req) return -1;
    if (!req->sink && (fr__tls_req == req || fr__on_loop_thread(req))) return -1;
    if (timeout_ms >= 0) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += timeout_ms / 1000;
        ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&req->smu);
    while (rc == 0 && req->streaming && !req->stream_failed && !req->stream_ended && fr__stream_behind(req)) {
        if (timeout_ms < 0) pthread_cond_wait(&req->scv, &req->smu);
        else if (pthread_cond_timedwait(&req->scv, &req->smu, &ts) == ETIMEDOUT) rc = 1;
    }
    if (rc == 0 && fr__stream_behind(req)) rc = 1;
    if (!req->streaming || req->stream_failed || req->stream_ended || req->sink_gone) rc = -1;
    pthread_mutex_unlock(&req->smu);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* requests from memory: fr_dispatch and its sink                            */
/*
 * A dispatched request has no connection and no loop (conn == loop == NULL,
 * sink != NULL). Its head is written into the request arena as a client
 * would have sent it and parsed by the socket parser, so views, limits and
 * error answers are the socket path's. The response functions branch on
 * req->sink once and then call the sink directly on the calling thread:
 * there is no queue and no buffering; a sink that is behind pauses the
 * response (fr_dispatch_flow, below).
 * Two references keep the request alive: the handler's (dropped when it
 * returns) and the response's (dropped after the sink's last call); the
 * thread dropping the last one runs on_done and frees the request.
 */

#define FR__SINK_FILE_CHUNK 65536 /* fr_res_file on a sink: bytes per body call */

/* Flow control (fr_dispatch_flow): a body call (more = 1) that answered
 * FR_STREAM_FULL pauses the response once (sink_paused) until
 * fr_sink_resume. A paused file body keeps the response's reference and
 * resume sends the rest; a paused stream takes one more reference (its
 * producer may end it before the consumer resumes), and resume posts
 * FR_STREAM_DRAINED (or GONE) to fr_res_stream_on_drain's callback. */

enum { FR__HW_VALUE = 0, FR__HW_NAME, FR__HW_LINE };

/* Bounded head writer. A byte that cannot be carried by a request head
 * (CR/LF/NUL anywhere; ':' in a field name; SP in method or target) is
 * written as a NUL and ends the head there: the parser refuses it (400)
 * unless an earlier byte already failed, exactly as for a socket. */
typedef struct fr__hw {
    char *p;
    size_t n, cap;
    int stop;
} fr__hw;

static void fr__hw_put(fr__hw *w, const char *s, size_t len, int kind) {
    size_t i;
    for (i = 0; i < len && !w->stop; i++) {
        char c = s[i];
        if (w->n == w->cap) {
            w->stop = 1;
            break;
        }
        if (c == '\r' || c == '\n' || c == 0 || (kind == FR__HW_NAME && c == ':') ||
            (kind == FR__HW_LINE && c == ' ')) {
            w->p[w->n++] = 0;
            w->stop = 1;
            break;
        }
        w->p[w->n++] = c;
    }
}

static void fr__hw_lit(fr__hw *w, const char *s, size_t len) {
    size_t i;
    for (i = 0; i < len && !w->stop; i++) {
        if (w->n == w->cap) w->stop = 1;
        else w->p[w->n++] = s[i];
    }
}

static size_t fr__sat_add(size_t a, size_t b) { return a > SIZE_MAX - b ? SIZE_MAX : a + b; }

static int fr__sink_str_bad(fr_str s) { return s.len && !s.buf; }

/* -1 when the descriptor cannot be dispatched at all */
static int fr__sink_desc_check(const fr_app *app, const fr_request_desc *d, const fr_sink *sink) {
    size_t i;
    if (!app || !d || !sink || !sink->start || !sink->body) return -1;
    if (fr__sink_str_bad(d->method) || fr__sink_str_bad(d->target) || fr__sink_str_bad(d->body) ||
        fr__sink_str_bad(d->client_addr) || fr__sink_str_bad(d->scheme))
        return -1;
    if (d->nheaders && !d->headers) return -1;
    for (i = 0; i < d->nheaders; i++)
        if (fr__sink_str_bad(d->headers[i].name) || fr__sink_str_bad(d->headers[i].value)) return -1;
    return 0;
}

/* Build and parse the head; copy client address and scheme (the body is
 * fed: fr_dispatch_begin). 0 ok, an HTTP status for an engine-made answer,
 * -1 out of memory. */
static int fr__sink_parse(fr_app *app, fr_req *req, const fr_request_desc *d) {
    static const char host_line[] = "host: \r\n";
    size_t hl = sizeof host_line - 1, need, i;
    int synth = !d->http10, r;
    fr_http_limits lim;
    fr_err err;
    fr__hw w;
    for (i = 0; i < d->nheaders && synth; i++)
        if (fr_str_ieq_c(d->headers[i].name, "host")) synth = 0;
    /* HTTP/1.1 requires Host; an ASGI scope may have none: an empty Host
     * (legal) is put first, where it moves every given byte by the same
     * amount the limits are raised, and hidden after parsing. */
    lim.max_header_bytes = app->cfg.max_header_bytes;
    if (lim.max_header_bytes > (size_t)INT_MAX) lim.max_header_bytes = (size_t)INT_MAX;
    lim.max_headers = app->cfg.max_headers;
    lim.max_uri_bytes = app->cfg.max_uri_bytes;
    if (synth) {
        lim.max_header_bytes += hl;
        lim.max_headers++;
    }
    need = fr__sat_add(d->method.len, d->target.len);
    need = fr__sat_add(need, sizeof " HTTP/1.1\r\n" + 2 + (synth ? hl : 0));
    for (i = 0; i < d->nheaders; i++) {
        need = fr__sat_add(need, d->headers[i].name.len);
        need = fr__sat_add(need, d->headers[i].value.len);
        need = fr__sat_add(need, 4);
    }
    /* the parser never looks past max_header_bytes: neither do we */
    w.cap = need < lim.max_header_bytes ? need : lim.max_header_bytes;
    w.p = (char *)fr_arena_alloc(&req->arena, w.cap ? w.cap : 1);
    if (!w.p) return -1;
    w.n = 0;
    w.stop = 0;
    fr__hw_put(&w, d->method.buf, d->method.len, FR__HW_LINE);
    fr__hw_lit(&w, " ", 1);
    fr__hw_put(&w, d->target.buf, d->target.len, FR__HW_LINE);
    fr__hw_lit(&w, d->http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n", 11);
    if (synth) fr__hw_lit(&w, host_line, hl);
    for (i = 0; i < d->nheaders && !w.stop; i++) {
        fr__hw_put(&w, d->headers[i].name.buf, d->headers[i].name.len, FR__HW_NAME);
        fr__hw_lit(&w, ": ", 2);
        fr__hw_put(&w, d->headers[i].value.buf, d->headers[i].value.len, FR__HW_VALUE);
        fr__hw_lit(&w, "\r\n", 2);
    }
    fr__hw_lit(&w, "\r\n", 2);
    err.code = 0;
    r = fr_http_parse_request(w.p, w.n, &req->h, req->headers, lim.max_headers, &lim, &err);
    if (r == -2) return 431; /* longer than max_header_bytes: as a socket answers */
    if (r < 0) return err.code >= 400 && err.code <= 599 ? err.code : 400;
    if (synth) { /* hide the empty Host put first */
        req->h.headers++;
        req->h.num_headers--;
    }
    req->body.buf = "";
    req->body.len = 0;
    req->client_addr.buf = "";
    req->client_addr.len = 0;
    if (d->client_addr.len) {
        req->client_addr.buf = fr_arena_strdup(&req->arena, d->client_addr.buf, d->client_addr.len);
        if (!req->client_addr.buf) return -1;
        req->client_addr.len = d->client_addr.len;
    }
    req->client_port = d->client_port;
    if (d->scheme.len) {
        req->scheme.buf = fr_arena_strdup(&req->arena, d->scheme.buf, d->scheme.len);
        if (!req->scheme.buf) return -1;
        req->scheme.len = d->scheme.len;
    }
    return 0;
}

/* The engine's own answer ({"detail":"<reason>"}), like fr__error_response. */
static void fr__sink_error(const fr_sink *s, int status) {
    fr_buf body = {NULL, 0, 0};
    fr_header hv[2];
    char cl[24];
    int n;
    if (fr_error_detail(&body, fr_str_c(fr_http_reason(status))) < 0) body.len = 0;
    n = snprintf(cl, sizeof cl, "%zu", body.len);
    hv[0].name = FR_STR("content-type");
    hv[0].value = FR_STR("application/json");
    hv[1].name = FR_STR("content-length");
    hv[1].value.buf = cl;
    hv[1].value.len = (size_t)n;
    s->start(s->ud, status, hv, 2);
    s->body(s->ud, body.len ? body.buf : NULL, body.len, 0);
    fr_buf_free(&body);
}

/* on_done, access log, body and file released, request freed. */
static void fr__sink_finish(fr_req *req) {
    fr_app *app = req->app;
    fr__req_report(req, req->sink_ok);
    if (req->rfd >= 0) fr__req_drop_file(req);
    pthread_mutex_lock(&app->sink_mu);
    if (req->sprev) req->sprev->snext = req->snext;
    else app->sinks = req->snext;
    if (req->snext) req->snext->sprev = req->sprev;
    pthread_mutex_unlock(&app->sink_mu);
    fr__req_free_mem(req);
}

static void fr__sink_unref(fr_req *req) {
    if (fr__atomic_fetch_sub_explicit(&req->sink_refs, 1, FR__ACQ_REL) == 1) fr__sink_finish(req);
}

/* fr_app_free: a request whose response never finished */
static void fr__sink_abandon(fr_req *req) {
    req->sink_ok = 0;
    fr__sink_finish(req);
}

/* start(): the handler's headers + content-length when clen >= 0.
 * -1 (out of memory) before calling the sink. */
static int fr__sink_start(fr_req *req, int64_t clen) {
    if (clen >= 0) {
        char *num = (char *)fr_arena_alloc(&req->arena, 24);
        int n;
        if (!num) return -1;
        n = snprintf(num, 24, "%llu", (unsigned long long)clen);
        if (fr__res_header_ref(req, "content-length", 14, num, (size_t)n) < 0) return -1;
    }
    req->sink->start(req->sink->ud, req->status, req->rh, req->nrh);
    return 0;
}

/* A body call answered FR_STREAM_FULL: pause, unless the sink has no
 * flow control or a pause is pending. 1: paused (req may be resumed, and
 * a file's response finished, on another thread from here on). */
static int fr__sink_pause(fr_req *req, int file) {
    const fr_sink *s = req->sink;
    int first;
    if (!req->sink_pausefn) return 0;
    pthread_mutex_lock(&req->smu);
    first = !req->sink_paused && !req->sink_gone;
    if (first) {
        req->sink_paused = 1;
        req->sink_file = file;
    }
    pthread_mutex_unlock(&req->smu);
    if (!first) return 0;
    if (!file) fr__atomic_fetch_add_explicit(&req->sink_refs, 1, FR__ACQ_REL);
    req->sink_pausefn(s->ud, req);
    return 1;
}

/* fr_res_file: read the range (pread; read for an unseekable fd) and hand
 * it over in FR__SINK_FILE_CHUNK pieces until the sink pauses it. A file
 * shorter than promised, or a consumer resumed as gone, ends the body
 * early (the last call, more = 0, comes anyway). 0, -1, or 1: paused. */
static int fr__sink_file(fr_req *req) {
    const fr_sink *s = req->sink;
    size_t cap = req->rfd_len < FR__SINK_FILE_CHUNK ? (size_t)req->rfd_len : FR__SINK_FILE_CHUNK;
    char *buf;
    int rc = 0, r;
    if (!req->rfd_len) return s->body(s->ud, NULL, 0, 0) < 0 ? -1 : 0;
    buf = (char *)FR_MALLOC(cap);
    if (!buf) {
        s->body(s->ud, NULL, 0, 0);
        return -1;
    }
    while (req->rfd_len) {
        size_t want = req->rfd_len < cap ? (size_t)req->rfd_len : cap;
        ssize_t n = -1;
        errno = ESPIPE;
        if (req->rfd_nosf < 2) {
            do n = pread(req->rfd, buf, want, (off_t)req->rfd_off);
            while (n < 0 && errno == EINTR);
        }
        if (n < 0 && errno == ESPIPE) { /* pipe, socket: no offsets, just read */
            req->rfd_nosf = 2;
            do n = read(req->rfd, buf, want);
            while (n < 0 && errno == EINTR);
        }
        if (n <= 0) { /* shrank or unreadable */
            s->body(s->ud, NULL, 0, 0);
            rc = -1;
            break;
        }
        req->rfd_off += (uint64_t)n;
        req->rfd_len -= (uint64_t)n; /* what is left to send */
        r = s->body(s->ud, buf, (size_t)n, req->rfd_len > 0);
        if (r < 0) {
            rc = -1;
            break;
        }
        req->bytes_sent += (uint64_t)n;
        if (r == FR_STREAM_FULL && req->rfd_len && req->sink_pausefn) { /* the rest on resume */
            FR_FREE(buf);
            fr__sink_pause(req, 1);
            return 1;
        }
    }
    FR_FREE(buf);
    return rc;
}

/* The whole response of a non-streamed request. 0, or -1 when the sink
 * went away or the body fell short. */
static int fr__sink_deliver(fr_req *req) {
    static const fr_header zero_len = {{"content-length", 14}, {"0", 1}};
    const fr_sink *s = req->sink;
    int nobody = fr__status_has_no_body(req->status);
    int64_t clen = nobody ? -1 : req->rfd >= 0 ? (int64_t)req->rfd_len : (int64_t)req->rbody_len;
    if (fr__sink_start(req, clen) < 0) { /* out of memory: as fr__res_build */
        req->status = 500;
        s->start(s->ud, 500, &zero_len, 1);
        s->body(s->ud, NULL, 0, 0);
        return -1;
    }
    if (nobody || req->is_head) return s->body(s->ud, NULL, 0, 0) < 0 ? -1 : 0;
    if (req->rfd >= 0) return fr__sink_file(req); /* 1: paused */
    if (s->body(s->ud, req->rbody_len ? (const char *)req->rbody : NULL, req->rbody_len, 0) < 0) return -1;
    req->bytes_sent += req->rbody_len;
    return 0;
}

/* fr_res_send (send_called already claimed) */
static void fr__sink_send(fr_req *req) {
    int r = fr__sink_deliver(req);
    if (r == 1) return; /* a paused file: fr_sink_resume finishes it */
    req->sink_ok = r == 0;
    fr__sink_unref(req); /* req may be gone */
}

static int fr__sink_stream_begin(fr_req *req) {
    int64_t clen = req->res_clen;
    if (req->streaming || fr__atomic_load(&req->send_called)) return -1;
    if (req->status < 200 || req->status == 204) clen = -1; /* as fr_http_write_head */
    if (fr__sink_start(req, clen) < 0) return -1;
    req->streaming = 1;
    return 0;
}

static int fr__sink_stream_write(fr_req *req, const void *data, size_t len) {
    const fr_sink *s = req->sink;
    int r, bad;
    pthread_mutex_lock(&req->smu); /* fr_sink_resume may set sink_gone */
    bad = !req->streaming || req->stream_ended || req->stream_failed || req->sink_gone;
    pthread_mutex_unlock(&req->smu);
    if (bad) return -1;
    if (len == 0 || req->is_head || fr__status_has_no_body(req->status)) return 0;
    r = s->body(s->ud, (const char *)data, len, 1);
    if (r < 0) {
        pthread_mutex_lock(&req->smu);
        req->stream_failed = 1;
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    req->bytes_sent += len;
    if (r != FR_STREAM_FULL) return 0;
    fr__sink_pause(req, 0);
    return FR_STREAM_FULL; /* the consumer is behind: tell the producer */
}

static int fr__sink_stream_end(fr_req *req) {
    const fr_sink *s = req->sink;
    int failed, gone;
    if (fr__atomic_exchange(&req->send_called, 1)) return -1;
    pthread_mutex_lock(&req->smu);
    req->stream_ended = 1;
    req->sev_fn = NULL;
    while (req->sev_running && !pthread_equal(req->sev_thr, pthread_self()))
        pthread_cond_wait(&req->scv, &req->smu); /* no event call after end returns */
    failed = req->stream_failed;
    gone = req->sink_gone;
    pthread_cond_broadcast(&req->scv); /* fr_res_stream_wait */
    pthread_mutex_unlock(&req->smu);
    if (!failed && s->body(s->ud, NULL, 0, 0) < 0) failed = 1; /* the last call, also when gone */
    failed |= gone;
    req->sink_ok = !failed;
    fr__sink_unref(req); /* req may be gone */
    return failed ? -1 : 0;
}

void fr_sink_resume(fr_req *req, int gone) {
    int file, r;
    if (!req || !req->sink) return;
    pthread_mutex_lock(&req->smu);
    if (!req->sink_paused) { /* not paused: a call too many, ignored */
        pthread_mutex_unlock(&req->smu);
        return;
    }
    req->sink_paused = 0;
    file = req->sink_file;
    if (gone) req->sink_gone = 1;
    pthread_cond_broadcast(&req->scv); /* fr_res_stream_wait */
    pthread_mutex_unlock(&req->smu);
    if (file) { /* the rest of the file, on this thread, until the next pause */
        if (gone) {
            req->sink->body(req->sink->ud, NULL, 0, 0);
            r = -1;
        } else {
            r = fr__sink_file(req);
        }
        if (r == 1) return;
        req->sink_ok = r == 0;
    } else {
        fr__stream_event(req, gone ? FR_STREAM_GONE : FR_STREAM_DRAINED);
    }
    fr__sink_unref(req); /* the pause's reference; req may be gone */
}

int fr_dispatch(fr_app *app, const fr_request_desc *d, const fr_sink *sink) {
    return fr_dispatch_flow(app, d, sink, NULL);
}

/* A request with its sink and checked head: 0 and *out set, 0 and *out
 * NULL (the engine answered the head), or -1 (the sink is not called). */
static int fr__sink_open(fr_app *app, const fr_request_desc *d, const fr_sink *sink, fr_sink_paused_fn paused,
                         fr_req **out) {
    fr_req *req;
    int rc;
    *out = NULL;
    if (fr__sink_desc_check(app, d, sink) < 0) return -1;
    req = fr__req_alloc(app, 1);
    if (!req) return -1;
    fr__req_init(req, app, NULL);
    req->sink_copy = *sink;
    req->sink = &req->sink_copy;
    req->sink_pausefn = paused;
    rc = fr__sink_parse(app, req, d);
    if (rc != 0) {
        if (rc > 0) fr__sink_error(req->sink, rc);
        fr__req_free_mem(req);
        return rc > 0 ? 0 : -1;
    }
    *out = req;
    return 0;
}

/* Route and run a request whose body is complete. */
static void fr__sink_run(fr_app *app, fr_req *req) {
    fr_handler h;
    void *ud;
    int rc;
    req->dispatched = 1;
    req->sink_ok = 0;
    fr__atomic_init(&req->sink_refs, 2);
    pthread_mutex_lock(&app->sink_mu);
    req->sprev = NULL;
    req->snext = app->sinks;
    if (app->sinks) app->sinks->sprev = req;
    app->sinks = req;
    pthread_mutex_unlock(&app->sink_mu);
    if (app->cfg.access_log) req->t0 = fr__srv_now_s();
    h = fr__req_route(app, req, &ud);
    rc = fr__req_call(app, req, h, ud);
    /* FR_DONE without an answer: the response as built so far, as on a socket */
    if (rc != FR_PENDING && !req->streaming && !fr__atomic_exchange(&req->send_called, 1)) fr__sink_send(req);
    fr__sink_unref(req); /* the handler's reference; req may be gone */
}

/* The whole body at once: the same path as one fed in pieces (a streamed
 * form's route gets its fr_form here too). */
int fr_dispatch_flow(fr_app *app, const fr_request_desc *d, const fr_sink *sink, fr_sink_paused_fn paused) {
    fr_req *req;
    int rc = fr_dispatch_begin(app, d, sink, paused, &req);
    if (rc < 0 || !req) return rc;
    return fr_dispatch_end(req, 1);
}

/* ---- a body that arrives after the head (fr_dispatch_begin) ---- */

int fr_dispatch_begin(fr_app *app, const fr_request_desc *d, const fr_sink *sink, fr_sink_paused_fn paused,
                      fr_req **out) {
    fr_request_desc head;
    fr_req *req;
    int rc;
    if (!out) return -1;
    *out = NULL;
    if (!d || fr__sink_str_bad(d->body)) return -1;
    head = *d; /* the first bytes are fed like the rest */
    head.body.buf = NULL;
    head.body.len = 0;
    rc = fr__sink_open(app, &head, sink, paused, &req);
    if (rc < 0 || !req) return rc;
    req->feed = 1;
    if (app->mp_routes || (app->big_routes && (req->h.body_kind != FR_BODY_NONE || d->body.len)))
        (void)fr__body_begin(app, req, 1); /* also without a length: ASGI over HTTP/2 */
    if (req->bkind != FR__B_FORM && req->h.body_kind == FR_BODY_LENGTH &&
        req->h.content_length > app->cfg.max_body_bytes)
        rc = 413; /* as fr_dispatch; a streamed form is bounded by its route's max_body */
    else
        rc = fr_dispatch_feed(req, d->body.buf, d->body.len);
    if (rc == 413) fr__sink_error(req->sink, 413);
    if (rc != 0) {
        fr__req_free_mem(req);
        return rc > 0 ? 0 : -1; /* 413: answered */
    }
    *out = req;
    return 0;
}

int fr_dispatch_feed(fr_req *req, const void *data, size_t len) {
    uint64_t max;
    if (!req || !req->feed || (!data && len)) return -1;
    if (req->feed == 2) return 1; /* answered: dropped unread */
    if (!len) return 0;
    if (req->bkind) { /* the route's max_body is checked at the end, as on a socket */
        if (fr__body_over_app(req, len)) {
            req->feed = 2;
            fr__sink_error(req->sink, 413);
            return 1;
        }
        fr__body_take(req, (const char *)data, len);
        return 0;
    }
    max = req->app->cfg.max_body_bytes;
    if ((uint64_t)req->fbody.len > max || (uint64_t)len > max - (uint64_t)req->fbody.len) {
        req->feed = 2;
        fr_buf_free(&req->fbody);
        fr__sink_error(req->sink, 413);
        return 1;
    }
    return fr_buf_append(&req->fbody, data, len) < 0 ? -1 : 0;
}

int fr_dispatch_end(fr_req *req, int complete) {
    if (!req || !req->feed) return -1;
    if (!complete || req->feed == 2) { /* dropped, or answered already */
        fr__req_free_mem(req);
        return 0;
    }
    req->feed = 0;
    if (req->bkind && !req->form_bytes && req->h.body_kind == FR_BODY_NONE) { /* no body: as a socket's */
        fr_form_free(req->form);
        req->form = NULL;
        req->bkind = FR__B_MEM;
    }
    if (req->bkind) {
        fr__body_finish(req);
    } else if (req->fbody.len) { /* the buffer is the body: freed with the request */
        req->body.buf = req->fbody.buf;
        req->body.len = req->fbody.len;
    }
    fr__sink_run(req->app, req);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the middleware chain's hooks (the chain itself is in middleware.c)         */
/*
 * With a chain (app->mw) every dispatched request gets a run state
 * (req->mw) from fr__mw_before; the public response functions then go
 * through middleware.c, which edits the response and calls the raw ones
 * above. Without a chain they are the raw ones plus one test.
 */

static int fr__req_call(fr_app *app, fr_req *req, fr_handler h, void *ud) {
    int rc;
    if (!app->mw) return h ? h(req, ud) : fr_res_default(req);
    rc = fr__mw_before(req, h, ud);
    if (rc == 2) return FR_PENDING; /* an around layer has it (fr_mw_next runs h) */
    if (rc) return FR_DONE;         /* a middleware answered */
    rc = h ? h(req, ud) : fr_res_default(req);
    /* FR_DONE without an answer: the response as built so far, through the chain */
    if (rc != FR_PENDING && !req->streaming && !fr__atomic_load(&req->send_called)) fr_res_send(req);
    return rc;
}

int fr_res_send(fr_req *req) {
    if (req && req->mw) return fr__mw_send(req);
    return fr__res_send_raw(req);
}

int fr_res_stream_begin(fr_req *req) {
    if (req && req->mw) return fr__mw_stream_begin(req);
    return fr__res_stream_begin_raw(req);
}

int fr_res_stream_write(fr_req *req, const void *data, size_t len) {
    if (req && req->mw) return fr__mw_stream_write(req, data, len);
    return fr__res_stream_write_raw(req, data, len);
}

int fr_res_stream_end(fr_req *req) {
    if (req && req->mw) return fr__mw_stream_end(req);
    return fr__res_stream_end_raw(req);
}

FR__PRIV fr__mw_chain **fr__app_mw(fr_app *app) { return &app->mw; }
FR__PRIV void fr__req_done_take(fr_req *req, fr_done_fn *fn, void **ud) {
    *fn = req->done;
    *ud = req->done_ud;
    req->done = NULL;
    req->done_ud = NULL;
}
FR__PRIV int fr__app_serving(const fr_app *app) { return app->mode != FR__MODE_NONE; }
FR__PRIV void **fr__req_mw(fr_req *req) { return &req->mw; }

FR__PRIV fr__static_list **fr__app_statics(fr_app *app) { return &app->statics; }

FR__PRIV void fr__req_res_get(const fr_req *req, fr__res_view *v) {
    v->status = req->status;
    v->rh = req->rh;
    v->nrh = req->nrh;
    v->caprh = req->caprh;
    v->body = req->rbody;
    v->body_len = req->rbody_len;
    v->fd = req->rfd;
    v->file_off = req->rfd_off;
    v->file_len = req->rfd_len;
    v->clen = req->res_clen;
    v->is_head = req->is_head;
    v->streaming = req->streaming;
}

FR__PRIV void fr__req_res_set(fr_req *req, const fr__res_view *v) {
    req->status = v->status;
    req->rh = v->rh;
    req->nrh = v->nrh;
    req->caprh = v->caprh;
    req->res_clen = v->clen;
}

/* scope["server"]: the local address of a socket request; 0 when unknown
 * (fr_dispatch requests). */
FR__PRIV int fr__req_server(const fr_req *req, char *host, size_t cap, int *port) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    const void *a;
    if (!req->conn || req->conn->fd < 0 || getsockname(req->conn->fd, (struct sockaddr *)&ss, &sl) < 0)
        return 0;
    if (ss.ss_family == AF_INET) {
        a = &((const struct sockaddr_in *)&ss)->sin_addr;
        *port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        a = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
        *port = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        return 0;
    }
    return inet_ntop(ss.ss_family, a, host, (socklen_t)cap) != NULL;
}

FR_API int fr_req_server_addr(const fr_req *req, char *host, size_t cap, int *port) {
    return req && host && cap && port ? fr__req_server(req, host, cap, port) : 0;
}

/* ------------------------------------------------------------------------ */
/* WebSocket connections (the protocol is in ws.c)                           */
/*
 * fr_ws_accept queues the 101 head on the request's stream buffer and sets
 * req->ws (fr__srv_ws_begin). The next time the loop services the request it
 * switches the connection to FR__C_WS (fr__ws_srv_service): on_open runs, bytes
 * that came after the head are given to the ws, and the head itself stays in
 * c->in, untouched (the request's views point there); later input is read
 * into a stack buffer. Senders on any thread append frames to req->sbuf
 * under smu and wake the loop as a stream writer does (fr__srv_ws_queue);
 * squeued counts what is not written yet, which the send-queue limit is
 * about. The request stays unreleased, owned by the ws, until on_close has
 * run (or the ws's last reference went): then fr__srv_ws_end releases it
 * like fr_res_send would; a connection closed before the loop saw that is a
 * zombie for a moment, as for any pending request. The request's on_done
 * frees the ws unless references are left (then the last release does).
 * Closing: once the closing handshake is over (or the peer failed) and the
 * output is written, on_close runs and the connection lingers (write side
 * shut first, as RFC 6455 wants from a server); a connection that ends any
 * other way runs on_close from fr__conn_close (fr__ws_srv_closing).
 */

FR__PRIV int fr__srv_ws_begin(fr_req *req, fr_ws *ws, const fr_header *extra, size_t nextra,
                              fr_done_fn done, fr_done_fn *prev, void **prev_ud) {
    fr_http_res_head h;
    fr_header *all;
    int rc = 0;
    if (req->sink || !req->conn) return -1;
    all = (fr_header *)fr_arena_alloc(&req->arena, (req->nrh + nextra) * sizeof *all);
    if (!all) return -3;
    if (req->nrh) memcpy(all, req->rh, req->nrh * sizeof *all);
    memcpy(all + req->nrh, extra, nextra * sizeof *all);
    memset(&h, 0, sizeof h);
    h.status = 101;
    h.minor_version = 1;
    h.headers = all;
    h.num_headers = req->nrh + nextra;
    h.content_length = -1;
    h.keep_alive = 1;
    h.server = fr__srv_server(req->app);
    pthread_mutex_lock(&req->smu);
    if (req->streaming || req->ws || fr__atomic_load(&req->send_called)) {
        rc = -1;
    } else if (req->stream_failed) {
        rc = -2;
    } else {
        req->sbuf.len = 0;
        if (fr_http_write_head(&req->sbuf, &h) < 0) {
            rc = -3;
        } else {
            req->squeued += req->sbuf.len;
            req->streaming = 1;
            req->stream_keepalive = 1;
            req->ws = ws;
            *prev = req->done;
            *prev_ud = req->done_ud;
            req->done = done;
            req->done_ud = ws;
        }
    }
    pthread_mutex_unlock(&req->smu);
    if (rc) return rc;
    if (fr__tls_req == req) req->inline_stream = 1; /* inside its handler: serviced on return */
    else fr__req_notify(req, 0);
    return 0;
}

/* smu held, nothing of this ws in flight (squeued == 0: the loop has no
 * byte of it to write, so none is being written): write the frames just put
 * in sbuf from this thread, sparing the loop a wake-up -- a thread hop per
 * message for a sender outside the loops' callbacks that asked for it with
 * fr_ws_inline_writes(1) (Python's asyncio loop for replies). Inside a
 * callback the loop's own batching wins (a burst of messages read at once
 * becomes one write per peer), so that always queues. The fd stays open
 * meanwhile: fr__conn_close marks the stream
 * failed under smu before it closes it. Returns the bytes written (0 on
 * EAGAIN or any error: the loop then writes, or meets the error, as usual);
 * what the socket did not take stays queued. Not for TLS. */
static FR__THREAD_LOCAL int fr__ws_inline; /* fr_ws_inline_writes(1) on this thread */

int fr_ws_inline_writes(int on) {
    int was = fr__ws_inline;
    fr__ws_inline = on != 0;
    return was;
}

static size_t fr__ws_send_now(fr_req *req) {
    fr__conn *c = req->conn;
    ssize_t w;
    if (!c || FR__IS_TLS(c) || c->fd < 0 || !req->sbuf.len) return 0;
    do w = send(c->fd, req->sbuf.buf, req->sbuf.len, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w <= 0) return 0;
    req->sbuf.len -= (size_t)w;
    if (req->sbuf.len) memmove(req->sbuf.buf, req->sbuf.buf + w, req->sbuf.len);
    return (size_t)w;
}

/* Deferred wake-ups (fr_ws_defer_wakes): a send from this thread queues its
 * request on the owning loop at once (the request's lifetime rules stay
 * those of fr__req_notify) but skips the loop's wake-up; the loops that
 * would have been woken are kept in this thread's wake set, each once,
 * until fr_ws_flush_wakes. */
static FR__THREAD_LOCAL int fr__ws_defer;

static void fr__loop_wake(fr__loop *L) {
    int wr = -1;
    pthread_mutex_lock(&L->qmu);
    if (L->running && L->qhead) wr = L->wake_wr; /* drained meanwhile: no wake-up needed */
    pthread_mutex_unlock(&L->qmu);
    if (wr >= 0) fr__srv_wake_write(wr);
}

static void fr__req_notify_deferred(fr_req *req) {
    fr__loop *L = req->loop;
    fr__wake_set *set;
    int wake = 0;
    pthread_mutex_lock(&L->qmu);
    if (L->running) fr__queue_push_locked(L, req, &wake);
    pthread_mutex_unlock(&L->qmu);
    if (!wake) return; /* not running, or the queue already waits for a wake-up */
    set = fr__wakes_thread_set();
    if (!set || !fr__wakes_add(set, L)) fr__loop_wake(L); /* no set, or it is full */
}

int fr_ws_pending_wakes(void) { return fr__thread_set ? fr__wakes_pending(fr__thread_set) : 0; }

int fr_ws_flush_wakes(void) { return fr__thread_set ? fr__wakes_flush(fr__thread_set) : 0; }

int fr_ws_defer_wakes(int on) {
    int was = fr__ws_defer;
    fr__ws_defer = on != 0;
    if (!on) fr_ws_flush_wakes();
    return was;
}

FR__PRIV int fr__srv_ws_queue(fr_req *req, const void *a, size_t alen, const void *b, size_t blen,
                              size_t limit) {
    size_t n = alen + blen;
    pthread_mutex_lock(&req->smu);
    if (req->stream_failed || req->stream_ended) {
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    if (limit && req->squeued && req->squeued + n > limit) {
        pthread_mutex_unlock(&req->smu);
        return -2;
    }
    if (fr_buf_reserve(&req->sbuf, n) < 0) {
        pthread_mutex_unlock(&req->smu);
        return -1;
    }
    if (alen) memcpy(req->sbuf.buf + req->sbuf.len, a, alen);
    if (blen) memcpy(req->sbuf.buf + req->sbuf.len + alen, b, blen);
    req->sbuf.len += n;
    if (req->squeued == 0 && fr__ws_inline && !fr__tls_req) n -= fr__ws_send_now(req);
    req->squeued += n;
    pthread_mutex_unlock(&req->smu);
    if (!n || fr__tls_req == req) return 0; /* the loop's own callbacks: written on return */
    if (fr__ws_defer) fr__req_notify_deferred(req);
    else fr__req_notify(req, 0);
    return 0;
}

FR__PRIV size_t fr__srv_ws_queued(fr_req *req) {
    size_t n;
    pthread_mutex_lock(&req->smu);
    n = req->squeued;
    pthread_mutex_unlock(&req->smu);
    return n;
}

FR__PRIV void fr__srv_ws_end(fr_req *req) {
    fr__atomic_store(&req->send_called, 1);
    pthread_mutex_lock(&req->smu);
    req->stream_ended = 1;
    pthread_mutex_unlock(&req->smu);
    fr__req_notify(req, 1); /* the loop finishes it once its connection is closed */
}

/* fr__conn_close is closing a dispatched request's connection: no accept
 * or send may start after this; an upgraded one gets its on_close. */
static void fr__ws_srv_closing(fr_req *req) {
    fr_ws *ws;
    pthread_mutex_lock(&req->smu);
    req->stream_failed = 1;
    ws = req->ws;
    pthread_mutex_unlock(&req->smu);
    if (ws) fr__ws_gone(ws);
}

/* The loop services a request that fr_ws_accept took. */
static void fr__ws_srv_service(fr__conn *c, fr_req *req) {
    fr_req *prev = fr__tls_req;
    fr_ws *ws = req->ws;
    if (c->state != FR__C_PENDING) return; /* FR__C_WS: the drive follows; LINGER: over */
    c->state = FR__C_WS;
    fr__timer_clear(c);
    fr__tls_req = req;
    fr__ws_opened(ws);
    if (c->in.len > c->next_off) /* frames sent right behind the handshake */
        fr__ws_input(ws, c->in.buf + c->next_off, c->in.len - c->next_off);
    c->in.len = c->next_off;
    if (c->loop->stopping) fr__ws_going_away(ws);
    fr__tls_req = prev;
}

/* Write what is queued, read and feed input, close when over. */
static void fr__ws_srv_drive(fr__conn *c) {
    fr_req *req = c->req, *prev = fr__tls_req;
    fr_ws *ws = req->ws;
    char buf[FR__WS_READ];
    for (;;) {
        size_t queued, k;
        ssize_t n;
        int drained;
        fr__stream_pull(c, req);
        if (c->out.len > c->out_off && fr__conn_write(c) < 0) return; /* closed */
        queued = fr__srv_ws_queued(req);
        fr__tls_req = req;
        drained = fr__ws_drained(ws, queued);
        fr__tls_req = prev;
        if (drained) continue; /* on_drain ran: write what it queued */
        if (fr__ws_finished(ws)) {
            if (queued) {
                if (c->writable) continue; /* on_drain queued more */
                break;
            }
            fr__ws_gone(ws); /* on_close */
            fr__conn_linger(c);
            return;
        }
        if (!c->readable || fr__ws_paused(ws, queued)) break;
        k = fr__ws_held(ws, buf);
        n = fr__io_read(c, buf + k, sizeof buf - k);
        if (n > 0) {
            if ((size_t)n < sizeof buf - k && !FR__IS_TLS(c)) c->readable = 0;
            fr__tls_req = req;
            fr__ws_input(ws, buf, k + (size_t)n);
            fr__tls_req = prev;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->readable = 0;
            break;
        }
        fr__conn_close(c); /* EOF or error: on_close (1006 unless the handshake was over) */
        return;
    }
    if (c->tkind < 0) fr__timer_set(c, FR__T_WS);
}

static void fr__ws_srv_timer(fr__conn *c) {
    fr_req *prev = fr__tls_req;
    int r;
    if (c->state != FR__C_WS) return;
    fr__tls_req = c->req;
    r = fr__ws_tick(c->req->ws, c->loop->now);
    fr__tls_req = prev;
    if (r == 2) {
        fr__conn_close(c); /* the peer never answered our close frame */
        return;
    }
    if (r) fr__ws_srv_drive(c); /* writes the ping / close; re-arms the timer */
    else fr__timer_set(c, FR__T_WS);
}

static void fr__ws_srv_stop(fr__conn *c) {
    fr_req *prev = fr__tls_req;
    fr__tls_req = c->req;
    fr__ws_going_away(c->req->ws);
    fr__tls_req = prev;
    fr__ws_srv_drive(c);
}
