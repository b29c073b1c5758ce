/* Reliability (issue 14), seen from raw client sockets against the engine in
 * this process:
 *  - a client that goes away in any phase (head, body, handler pending,
 *    response) has its socket closed at once: the fds are back to the
 *    baseline within a bounded wait (2 s; the head/idle timeouts are 10/5 s),
 *    and a pending handler's later answer is dropped safely (on_done ok=0);
 *    a flow-controlled stream whose client left ends (FR_STREAM_GONE / -1).
 *    The loop thread is held by /block while the clients connect, send and
 *    leave, so the engine meets each connection with its bytes AND its FIN
 *    already in the kernel (the edge-triggered case that was missed);
 *  - a stop takes the connections the kernel had already accepted (answered)
 *    and closes the listening socket first: new clients are refused
 *    (ECONNREFUSED), none is reset after the kernel accepted it; the request
 *    in flight is still answered; fr_listen again serves again;
 *  - {id:int} does not match a value beyond int64_t (404), in the router
 *    and through the server; unbounded_ints matches any digit run.
 * Every socket has a timeout; every wait is bounded. */
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define REQ(expr)                      \
    do {                               \
        int frt_req_ = (expr) ? 1 : 0; \
        REQUIRE(frt_req_);             \
    } while (0)

#define N_ABORTS 200 /* per phase (the bench script runs 2,000) */

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* open fds of this process (-1 where /proc is missing) */
static int fd_count(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* the DIR's own fd */
}

/* Waits (bounded: 2 s) for the fd count to come back to `base`. */
static int fds_back_to(int base) {
    int i;
    for (i = 0; i < 200; i++) {
        if (fd_count() <= base) return 1;
        sleep_ms(10);
    }
    return 0;
}

typedef struct srv {
    fr_app *app;
    pthread_t thr;
    int port, rc;
} srv;

static atomic_int blocked, release_block, done_ok, done_fail;
static pthread_mutex_t pend_mu = PTHREAD_MUTEX_INITIALIZER;
static fr_req *pend[N_ABORTS + 8];
static int npend;
static char big[1 << 20];

static void *srv_main(void *arg) {
    srv *s = (srv *)arg;
    s->rc = fr_serve(s->app);
    return NULL;
}

static int h_hello(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_json(req, 200, "{\"hello\":1}", 11);
}

/* holds the only loop thread until the test says so (bounded) */
static int h_block(fr_req *req, void *ud) {
    int i;
    (void)ud;
    atomic_store(&blocked, 1);
    for (i = 0; i < 1000 && !atomic_load(&release_block); i++) sleep_ms(10);
    atomic_store(&blocked, 0);
    return fr_res_json(req, 200, "{\"blocked\":1}", 13);
}

static void on_done(fr_req *req, int ok, void *ud) {
    (void)req;
    (void)ud;
    atomic_fetch_add(ok ? &done_ok : &done_fail, 1);
}

/* FR_PENDING: the test answers later from its own thread */
static int h_pending(fr_req *req, void *ud) {
    (void)ud;
    fr_req_on_done(req, on_done, NULL);
    pthread_mutex_lock(&pend_mu);
    if (npend < (int)(sizeof pend / sizeof pend[0])) pend[npend++] = req;
    pthread_mutex_unlock(&pend_mu);
    return FR_PENDING;
}

static int npending(void) {
    int n;
    pthread_mutex_lock(&pend_mu);
    n = npend;
    pthread_mutex_unlock(&pend_mu);
    return n;
}

/* how many pending requests report their client gone (fr_req_client_gone) */
static int pending_gone(void) {
    int i, n = 0;
    pthread_mutex_lock(&pend_mu);
    for (i = 0; i < npend; i++) n += fr_req_client_gone(pend[i]);
    pthread_mutex_unlock(&pend_mu);
    return n;
}

static void answer_pending(void) {
    int i, n;
    fr_req *list[N_ABORTS + 8];
    pthread_mutex_lock(&pend_mu);
    n = npend;
    memcpy(list, pend, (size_t)n * sizeof list[0]);
    npend = 0;
    pthread_mutex_unlock(&pend_mu);
    for (i = 0; i < n; i++) fr_res_json(list[i], 200, "{\"late\":1}", 10);
}

static int h_big(fr_req *req, void *ud) {
    (void)ud;
    fr_res_header(req, "content-type", "application/octet-stream");
    fr_res_body(req, big, sizeof big);
    return FR_DONE;
}

static int h_user(fr_req *req, void *ud) {
    char b[64];
    int n = snprintf(b, sizeof b, "{\"id\":%lld}", (long long)fr_req_param_int(req, "id"));
    (void)ud;
    return fr_res_json(req, 200, b, (size_t)n);
}

/* a streamed response with the status of ?s= (304 / 204 carry no body) */
static int h_nobody_stream(fr_req *req, void *ud) {
    fr_str v = {0};
    long st = 200;
    (void)ud;
    if (fr_req_query_get(req, "s", &v) == 1 && v.len) st = strtol(v.buf, NULL, 10);
    fr_res_status(req, (int)st);
    fr_res_header(req, "etag", "\"e\"");
    if (fr_res_stream_begin(req) == 0) {
        CHECK(fr_res_stream_write(req, "leak", 4) >= 0); /* dropped, not an error */
        fr_res_stream_end(req);
    }
    return FR_DONE;
}

/* A 32 MiB stream produced with flow control: write until FR_STREAM_FULL,
 * go on at FR_STREAM_DRAINED, end at FR_STREAM_GONE or a write's -1. Its
 * state lives until on_done, which counts it (ok = 0: the client left). */
#define CS_PIECES 512
typedef struct cstream {
    int sent, ended;
} cstream;
static atomic_int cs_gone;

static void cs_end(fr_req *req, cstream *st) {
    if (st->ended) return;
    st->ended = 1;
    fr_res_stream_end(req);
}

static void cs_pump(fr_req *req, cstream *st) {
    while (!st->ended && st->sent < CS_PIECES) {
        int rc = fr_res_stream_write(req, big, 65536);
        if (rc < 0) break;
        st->sent++;
        if (rc == FR_STREAM_FULL) return; /* resumed at FR_STREAM_DRAINED */
    }
    cs_end(req, st);
}

static void cs_event(fr_req *req, int ev, void *ud) {
    cstream *st = (cstream *)ud;
    if (ev == FR_STREAM_GONE) {
        atomic_fetch_add(&cs_gone, 1);
        cs_end(req, st);
    } else {
        cs_pump(req, st);
    }
}

static void cs_done(fr_req *req, int ok, void *ud) {
    free(ud);
    on_done(req, ok, NULL);
}

static int h_cstream(fr_req *req, void *ud) {
    cstream *st = (cstream *)calloc(1, sizeof *st);
    (void)ud;
    if (!st) return fr_res_json(req, 500, "{}", 2);
    fr_req_on_done(req, cs_done, st);
    fr_res_header(req, "content-type", "application/octet-stream");
    if (fr_res_stream_begin(req) != 0) return FR_DONE;
    fr_res_stream_on_drain(req, cs_event, st);
    cs_pump(req, st);
    return st->ended ? FR_DONE : FR_PENDING;
}

static int srv_start_max(srv *s, int drain_ms, int max_conns) {
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_connections = max_conns;
    cfg.threads = 1; /* one loop: /block holds all of it */
    cfg.no_signals = 1;
    cfg.drain_timeout_ms = drain_ms;
    atomic_store(&blocked, 0);
    atomic_store(&release_block, 0);
    atomic_store(&done_ok, 0);
    atomic_store(&done_fail, 0);
    atomic_store(&cs_gone, 0);
    npend = 0;
    s->rc = -99;
    s->app = fr_app_new(&cfg);
    if (!s->app) return -1;
    if (fr_route(s->app, "GET", "/hello", h_hello, NULL) < 0) return -1;
    if (fr_route(s->app, "GET", "/block", h_block, NULL) < 0) return -1;
    if (fr_route(s->app, "GET", "/pending", h_pending, NULL) < 0) return -1;
    if (fr_route(s->app, "POST", "/pending", h_pending, NULL) < 0) return -1;
    if (fr_route(s->app, "GET", "/big", h_big, NULL) < 0) return -1;
    if (fr_route(s->app, "GET", "/users/{id:int}", h_user, NULL) < 0) return -1;
    if (fr_route(s->app, "GET", "/nobody-stream", h_nobody_stream, NULL) < 0) return -1;
    if (fr_route(s->app, "GET", "/cstream", h_cstream, NULL) < 0) return -1;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return pthread_create(&s->thr, NULL, srv_main, s) == 0 ? 0 : -1;
}

static int srv_start(srv *s, int drain_ms) { return srv_start_max(s, drain_ms, 0); }

static void srv_stop_free(srv *s) {
    fr_stop(s->app);
    pthread_join(s->thr, NULL);
    fr_app_free(s->app);
}

/* fd, or -1 with errno (ECONNREFUSED when nobody listens) */
static int cli_open(int port) {
    struct sockaddr_in a;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0), e;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* sends from a copy right before a guard page (frtest.h), like every input */
static int cli_send(int fd, const char *s) {
    size_t n = strlen(s);
    void *g = frt_guarded(s, n);
    int rc = send(fd, g, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
    frt_guarded_free(g, n);
    return rc;
}

/* One response (content-length framed) into out; -1 on reset/EOF first. */
static int cli_response(int fd, char *out, size_t cap) {
    size_t got = 0;
    for (;;) {
        char *end;
        ssize_t n;
        out[got] = 0;
        end = strstr(out, "\r\n\r\n");
        if (end) {
            const char *cl = strstr(out, "content-length: ");
            size_t need = (size_t)(end + 4 - out) + (cl ? (size_t)atoi(cl + 16) : 0);
            if (got >= need) return (int)got;
        }
        if (got + 1 >= cap) return -1;
        n = recv(fd, out + got, cap - 1 - got, 0);
        if (n <= 0) return -1;
        got += (size_t)n;
    }
}

static int cli_get(int port, const char *path, char *out, size_t cap) {
    char rq[256];
    int fd = cli_open(port), n;
    if (fd < 0) return -1;
    snprintf(rq, sizeof rq, "GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", path);
    n = cli_send(fd, rq) == 0 ? cli_response(fd, out, cap) : -1;
    close(fd);
    return n;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: h\r\n\r\n"

/* N clients connect while the loop is held, send `bytes`, and leave (FIN,
 * or a reset with rst; half: shut the write side only, read the answer,
 * then close); then the loop runs. Their fds must be closed at once: back
 * to the baseline within 2 s. */
enum { LEAVE_FIN, LEAVE_RST, LEAVE_HALF };
static void abort_phase(const char *bytes, int how) {
    srv s;
    char r[1024];
    int base, blk, i, sent = 0, answered = 0;
    static int half[N_ABORTS];
    REQ(srv_start(&s, 10000) == 0);
    REQ(cli_get(s.port, "/hello", r, sizeof r) > 0); /* the loop is up */
    base = fd_count();
    REQ(base > 0);
    blk = cli_open(s.port);
    REQ(blk >= 0);
    REQ(cli_send(blk, GET("/block")) == 0);
    for (i = 0; i < 500 && !atomic_load(&blocked); i++) sleep_ms(10);
    REQ(atomic_load(&blocked));
    for (i = 0; i < N_ABORTS; i++) {
        int fd = cli_open(s.port);
        half[i] = -1;
        REQ(fd >= 0);
        if (cli_send(fd, bytes) == 0) sent++;
        if (how == LEAVE_HALF) {
            shutdown(fd, SHUT_WR);
            half[i] = fd;
            continue;
        }
        if (how == LEAVE_RST) {
            struct linger lg = {1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(fd);
    }
    CHECK_EQ_INT(sent, N_ABORTS);
    atomic_store(&release_block, 1);
    REQ(cli_response(blk, r, sizeof r) > 0);
    CHECK(strstr(r, "{\"blocked\":1}") != NULL);
    close(blk);
    if (how == LEAVE_HALF) { /* answered; the server's sockets close at once */
        static char rb[sizeof big + 1024];
        for (i = 0; i < N_ABORTS; i++)
            if (cli_response(half[i], rb, sizeof rb) > 0 && strncmp(rb, "HTTP/1.1 200", 12) == 0)
                answered++;
        CHECK_EQ_INT(answered, N_ABORTS);
        CHECK(fds_back_to(base + N_ABORTS));
        for (i = 0; i < N_ABORTS; i++) close(half[i]);
    }
    CHECK(fds_back_to(base));
    /* the server still answers */
    CHECK(cli_get(s.port, "/hello", r, sizeof r) > 0 && strncmp(r, "HTTP/1.1 200", 12) == 0);
    answer_pending();
    srv_stop_free(&s);
    CHECK_EQ_INT(s.rc, 0);
}

static void test_abort_head(void) {
    abort_phase("GET /hello HTTP/1.1\r\nHost: h\r\n", LEAVE_FIN);
    abort_phase("GET /hello HTTP/1.1\r\nHost: h\r\n", LEAVE_RST);
}
static void test_abort_body(void) {
    abort_phase("POST /pending HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n0123456789", LEAVE_FIN);
    abort_phase("POST /pending HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                LEAVE_FIN);
}
/* The response phase: a client that leaves without reading a 1 MiB answer
 * (reset by its kernel); one that half-closes after its request, reads the
 * (inline) answer and waits for the end: the engine closes at once instead
 * of keeping the socket for the 5 s keep-alive timeout. */
static void test_abort_response(void) {
    abort_phase(GET("/big"), LEAVE_FIN);
    abort_phase(GET("/hello"), LEAVE_HALF);
    abort_phase(GET("/big"), LEAVE_HALF);
}

/* Handler pending when its client leaves: the socket is closed at once, and
 * the handler's later answer is dropped safely (on_done ok = 0). */
static void test_abort_pending(void) {
    srv s;
    char r[1024];
    int base, blk, i;
    REQ(srv_start(&s, 10000) == 0);
    REQ(cli_get(s.port, "/hello", r, sizeof r) > 0);
    base = fd_count();
    REQ(base > 0);
    blk = cli_open(s.port);
    REQ(blk >= 0);
    REQ(cli_send(blk, GET("/block")) == 0);
    for (i = 0; i < 500 && !atomic_load(&blocked); i++) sleep_ms(10);
    REQ(atomic_load(&blocked));
    for (i = 0; i < N_ABORTS; i++) {
        int fd = cli_open(s.port);
        REQ(fd >= 0);
        CHECK(cli_send(fd, GET("/pending")) == 0);
        close(fd);
    }
    atomic_store(&release_block, 1);
    REQ(cli_response(blk, r, sizeof r) > 0);
    close(blk);
    for (i = 0; i < 200 && npending() < N_ABORTS; i++) sleep_ms(10);
    CHECK_EQ_INT(npending(), N_ABORTS);
    CHECK(fds_back_to(base)); /* while every handler still holds its request */
    CHECK_EQ_INT(pending_gone(), N_ABORTS); /* each handler can tell (is_disconnected) */
    CHECK_EQ_INT(fr_req_client_gone(NULL), 0);
    answer_pending();
    for (i = 0; i < 200 && atomic_load(&done_fail) < N_ABORTS; i++) sleep_ms(10);
    CHECK_EQ_INT(atomic_load(&done_fail), N_ABORTS);
    CHECK_EQ_INT(atomic_load(&done_ok), 0);
    CHECK(cli_get(s.port, "/hello", r, sizeof r) > 0 && strncmp(r, "HTTP/1.1 200", 12) == 0);
    srv_stop_free(&s);
    CHECK_EQ_INT(s.rc, 0);
}

/* The stream phase: each client reads the head of a 32 MiB flow-controlled
 * stream and leaves (FIN, or a reset). Every socket is closed at once (fds
 * back within 2 s), every stream ends (on_done ok = 0), and a whole stream
 * still flows to a client that reads it. */
static void abort_stream(int rst) {
    srv s;
    char r[4096];
    int base, i, heads = 0;
    long total = 0;
    REQ(srv_start(&s, 10000) == 0);
    REQ(cli_get(s.port, "/hello", r, sizeof r) > 0);
    base = fd_count();
    REQ(base > 0);
    for (i = 0; i < N_ABORTS; i++) {
        int fd = cli_open(s.port);
        ssize_t n;
        REQ(fd >= 0);
        CHECK(cli_send(fd, GET("/cstream")) == 0);
        n = recv(fd, r, sizeof r - 1, 0);
        if (n > 12 && strncmp(r, "HTTP/1.1 200", 12) == 0) heads++;
        if (rst) {
            struct linger lg = {1, 0};
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(fd);
    }
    CHECK_EQ_INT(heads, N_ABORTS);
    CHECK(fds_back_to(base));
    for (i = 0; i < 200 && atomic_load(&done_fail) < N_ABORTS; i++) sleep_ms(10);
    CHECK_EQ_INT(atomic_load(&done_fail), N_ABORTS);
    CHECK_EQ_INT(atomic_load(&done_ok), 0);
    { /* a reader gets all of it: 32 MiB of chunks, then the last chunk */
        int fd = cli_open(s.port);
        char tail[8] = {0};
        REQ(fd >= 0);
        CHECK(cli_send(fd, GET("/cstream")) == 0);
        for (;;) {
            ssize_t n = recv(fd, r, sizeof r, 0);
            if (n <= 0) break;
            total += n;
            if (n >= 5) {
                memcpy(tail, r + n - 5, 5);
            } else { /* keep the last 5 bytes seen */
                memmove(tail, tail + n, (size_t)(5 - n));
                memcpy(tail + 5 - n, r, (size_t)n);
            }
            if (memcmp(tail, "0\r\n\r\n", 5) == 0) break;
        }
        close(fd);
        CHECK(total > (long)CS_PIECES * 65536);
        CHECK(memcmp(tail, "0\r\n\r\n", 5) == 0);
        for (i = 0; i < 200 && atomic_load(&done_ok) < 1; i++) sleep_ms(10);
        CHECK_EQ_INT(atomic_load(&done_ok), 1);
    }
    srv_stop_free(&s);
    CHECK_EQ_INT(s.rc, 0);
}

static void test_abort_stream(void) {
    abort_stream(0);
    abort_stream(1);
}

/* Stop: a request in flight (pending), connections the kernel accepted while
 * the loop was busy (they sent a request), then new connection attempts. */
static void test_stop_refuses_new_connections(void) {
    srv s;
    char r[1024];
    int p, blk, q[8], i, refused = 0, answered = 0;
    REQ(srv_start(&s, 5000) == 0);
    p = cli_open(s.port);
    REQ(p >= 0);
    REQ(cli_send(p, GET("/pending")) == 0);
    for (i = 0; i < 500 && npending() < 1; i++) sleep_ms(10);
    REQ(npending() == 1);
    CHECK_EQ_INT(pending_gone(), 0); /* its client is still there */
    blk = cli_open(s.port);
    REQ(blk >= 0);
    REQ(cli_send(blk, GET("/block")) == 0);
    for (i = 0; i < 500 && !atomic_load(&blocked); i++) sleep_ms(10);
    REQ(atomic_load(&blocked));
    for (i = 0; i < 8; i++) { /* accepted by the kernel, not yet by the engine */
        q[i] = cli_open(s.port);
        REQ(q[i] >= 0);
        CHECK(cli_send(q[i], GET("/hello")) == 0);
    }
    fr_stop(s.app);
    atomic_store(&release_block, 1);
    REQ(cli_response(blk, r, sizeof r) > 0);
    for (i = 0; i < 8; i++) { /* answered, not reset */
        if (cli_response(q[i], r, sizeof r) > 0 && strncmp(r, "HTTP/1.1 200", 12) == 0 &&
            strstr(r, "connection: close") != NULL)
            answered++;
        close(q[i]);
    }
    CHECK_EQ_INT(answered, 8);
    /* the drain goes on (p is pending); new clients are refused */
    for (i = 0; i < 20; i++) {
        int fd = cli_open(s.port);
        if (fd < 0 && errno == ECONNREFUSED) refused++;
        if (fd >= 0) close(fd);
    }
    CHECK_EQ_INT(refused, 20);
    answer_pending(); /* the request in flight still gets its answer */
    REQ(cli_response(p, r, sizeof r) > 0);
    CHECK(strstr(r, "{\"late\":1}") != NULL);
    CHECK(strstr(r, "connection: close") != NULL);
    close(p);
    close(blk);
    pthread_join(s.thr, NULL);
    CHECK_EQ_INT(s.rc, 0);
    /* listen again, serve again */
    s.port = fr_listen(s.app, "127.0.0.1", 0);
    REQ(s.port > 0);
    REQ(pthread_create(&s.thr, NULL, srv_main, &s) == 0);
    CHECK(cli_get(s.port, "/hello", r, sizeof r) > 0 && strncmp(r, "HTTP/1.1 200", 12) == 0);
    srv_stop_free(&s);
    CHECK_EQ_INT(s.rc, 0);
}

/* max_connections (uvicorn's --limit-concurrency): a connection above it is
 * answered 503 and closed; once one closes, new ones are served again. */
static void test_max_connections_503(void) {
    srv s;
    char r[1024];
    int a, b, c, i, ok = 0;
    REQ(srv_start_max(&s, 10000, 2) == 0);
    a = cli_open(s.port);
    b = cli_open(s.port);
    REQ(a >= 0 && b >= 0);
    CHECK(cli_send(a, GET("/hello")) == 0 && cli_response(a, r, sizeof r) > 0);
    CHECK(cli_send(b, GET("/hello")) == 0 && cli_response(b, r, sizeof r) > 0);
    c = cli_open(s.port);
    REQ(c >= 0);
    CHECK(cli_send(c, GET("/hello")) == 0);
    REQ(cli_response(c, r, sizeof r) > 0);
    CHECK(strncmp(r, "HTTP/1.1 503", 12) == 0);
    CHECK(strstr(r, "connection: close") != NULL);
    close(c);
    close(a);
    for (i = 0; i < 200 && !ok; i++) { /* a's slot comes free (bounded wait) */
        ok = cli_get(s.port, "/hello", r, sizeof r) > 0 && strncmp(r, "HTTP/1.1 200", 12) == 0;
        if (!ok) sleep_ms(10);
    }
    CHECK(ok);
    close(b);
    srv_stop_free(&s);
}

/* {id:int}: values beyond int64_t do not match */
static void test_int_param_overflow_router(void) {
    fr_router_opts o;
    fr_router *r;
    fr_match m;
    fr_err err;
    int i;
    for (i = 0; i < 2; i++) {
        memset(&o, 0, sizeof o);
        o.unbounded_ints = i;
        r = fr_router_new(&o);
        REQ(r != NULL);
        memset(&err, 0, sizeof err);
        REQ(fr_router_add(r, "GET", "/users/{id:int}", (void *)1, &err) == 0);
        REQ(fr_router_add(r, "GET", "/v{n:int}.json", (void *)2, &err) == 0);
        REQ(fr_router_add(r, "GET", "/items/{id:int}", (void *)3, &err) == 0);
        REQ(fr_router_add(r, "GET", "/items/{name}", (void *)4, &err) == 0);
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/users/9223372036854775807"), &m), 200);
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/users/0009223372036854775807"), &m), 200);
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/users/0"), &m), 200);
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/users/9223372036854775808"), &m),
                     i ? 200 : 404);
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/users/18446744073709551616"), &m),
                     i ? 200 : 404);
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/v9223372036854775807.json"), &m), 200);
        CHECK(m.data == (void *)2);
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/v9223372036854775808.json"), &m),
                     i ? 200 : 404);
        /* an overflowing int falls to the next route, as a non-digit would */
        CHECK_EQ_INT(fr_router_match(r, FR_STR("GET"), FR_STR("/items/99999999999999999999"), &m), 200);
        CHECK(m.data == (i ? (void *)3 : (void *)4));
        fr_router_free(r);
    }
}

static void test_int_param_overflow_server(void) {
    srv s;
    char r[1024];
    REQ(srv_start(&s, 10000) == 0);
    REQ(cli_get(s.port, "/users/9223372036854775807", r, sizeof r) > 0);
    CHECK(strncmp(r, "HTTP/1.1 200", 12) == 0 && strstr(r, "{\"id\":9223372036854775807}") != NULL);
    REQ(cli_get(s.port, "/users/9223372036854775808", r, sizeof r) > 0);
    CHECK(strncmp(r, "HTTP/1.1 404", 12) == 0);
    CHECK(strstr(r, "{\"id\":0}") == NULL);
    srv_stop_free(&s);
}

/* 304/204 streamed: no content-length, no chunked framing, no body bytes,
 * and the keep-alive connection carries the next answer cleanly */
static void test_nobody_status_stream(void) {
    static const char *const qs[] = {"304", "204"};
    srv s;
    size_t i;
    REQ(srv_start(&s, 10000) == 0);
    for (i = 0; i < 2; i++) {
        char r[2048], rq[128];
        int fd = cli_open(s.port);
        REQ(fd >= 0);
        snprintf(rq, sizeof rq, "GET /nobody-stream?s=%s HTTP/1.1\r\nHost: h\r\n\r\n", qs[i]);
        CHECK(cli_send(fd, rq) == 0);
        CHECK(cli_response(fd, r, sizeof r) > 0);
        CHECK(strncmp(r + 9, qs[i], 3) == 0);
        CHECK(strstr(r, "etag: \"e\"") != NULL);
        CHECK(strstr(r, "transfer-encoding") == NULL);
        CHECK(strstr(r, "content-length") == NULL);
        CHECK(strstr(r, "leak") == NULL);
        CHECK(cli_send(fd, GET("/hello")) == 0);
        CHECK(cli_response(fd, r, sizeof r) > 0);
        CHECK(strncmp(r, "HTTP/1.1 200", 12) == 0); /* no stray body bytes before it */
        close(fd);
    }
    srv_stop_free(&s);
}

static const frt_case frt_cases[] = {
    FRT(test_nobody_status_stream),
    FRT(test_abort_head),
    FRT(test_abort_body),
    FRT(test_abort_response),
    FRT(test_abort_pending),
    FRT(test_abort_stream),
    FRT(test_stop_refuses_new_connections),
    FRT(test_max_connections_503),
    FRT(test_int_param_overflow_router),
    FRT(test_int_param_overflow_server),
};
FRT_MAIN()
