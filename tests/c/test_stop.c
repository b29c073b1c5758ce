/* Graceful stop (fr_stop / SIGTERM) seen from raw client sockets: no client
 * that sent a request is reset. An idle keep-alive connection gets a clean
 * FIN; a request whose head is partly read, or whose bytes are still in the
 * kernel when the stop begins, is answered with "connection: close"; a
 * connection lingering after a "connection: close" answer (the client has
 * not read it yet and sent more) is not reset, so the answer survives.
 * Deterministic: the /block handler holds the only loop thread while the
 * test puts bytes in the kernel, then asks for the stop itself. Also
 * fr_listen_fd: two apps on one inherited listening socket (the workers'
 * setup), one stops, the other keeps serving it. Every socket has a
 * timeout; every wait is bounded. */
#define FRT_NET 1
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv */

#include <pthread.h>
#include <fcntl.h>
#include <stdatomic.h>

static atomic_int blocked, release_block;

static int h_hello(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_json(req, 200, "{\"hello\":1}", 11);
}

/* holds the loop thread until the test says so (bounded), then stops the app */
static int h_block(fr_req *req, void *ud) {
    int i;
    (void)ud;
    atomic_store(&blocked, 1);
    for (i = 0; i < 500 && !atomic_load(&release_block); i++) frt_sleep_ms(10);
    fr_stop(fr_req_app(req));
    return fr_res_json(req, 200, "{\"blocked\":1}", 13);
}

static int srv_start(frt_srv *s) {
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1; /* one loop: /block holds all of it */
    cfg.no_signals = 1;
    atomic_store(&blocked, 0);
    atomic_store(&release_block, 0);
    s->rc = -99;
    s->app = fr_app_new(&cfg);
    if (!s->app) return -1;
    if (fr_route(s->app, "GET", "/hello", h_hello, NULL) < 0) return -1;
    if (fr_route(s->app, "GET", "/block", h_block, NULL) < 0) return -1;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return frt_srv_run(s);
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

/* After the last response: 0 = clean EOF; -1 = reset, timeout or more bytes */
static int cli_eof(int fd) {
    char b[64];
    ssize_t n = recv(fd, b, sizeof b, 0);
    return n == 0 ? 0 : -1;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: h\r\n\r\n"

/* an idle keep-alive connection: FIN, no reset; fr_serve returns */
static void test_stop_idle_keepalive_clean_fin(void) {
    frt_srv s;
    char r[1024];
    int a;
    REQ(srv_start(&s) == 0);
    a = frt_connect(s.port, 0);
    REQ(a >= 0);
    CHECK(cli_send(a, GET("/hello")) == 0 && cli_response(a, r, sizeof r) > 0);
    CHECK(strstr(r, "connection: close") == NULL);
    fr_stop(s.app);
    CHECK(cli_eof(a) == 0);
    frt_srv_join(&s);
    CHECK_EQ_INT(s.rc, 0);
    close(a);
}

/* a head half received when the stop begins is finished and answered */
static void test_stop_partial_head_is_answered(void) {
    frt_srv s;
    char r[1024];
    int b;
    REQ(srv_start(&s) == 0);
    b = frt_connect(s.port, 0);
    REQ(b >= 0);
    CHECK(cli_send(b, "GET /hello HTTP/1.1\r\nHost: h\r\n") == 0);
    frt_sleep_ms(50); /* usually read by the server by now; either way it must be answered */
    fr_stop(s.app);
    frt_sleep_ms(50);
    CHECK(cli_send(b, "\r\n") == 0);
    REQ(cli_response(b, r, sizeof r) > 0);
    CHECK(strncmp(r, "HTTP/1.1 200", 12) == 0);
    CHECK(strstr(r, "connection: close") != NULL);
    CHECK(cli_eof(b) == 0);
    frt_srv_join(&s);
    CHECK_EQ_INT(s.rc, 0);
    close(b);
}

/* While /block holds the loop: an idle keep-alive client sends its next
 * request (bytes in the kernel, unread) and a client whose "connection:
 * close" answer is lingering sends more bytes. Then the stop begins. */
static void test_stop_requests_in_kernel_and_lingering(void) {
    frt_srv s;
    char r[1024];
    int blk, c, d, i;
    REQ(srv_start(&s) == 0);
    c = frt_connect(s.port, 0);
    d = frt_connect(s.port, 0);
    blk = frt_connect(s.port, 0);
    REQ(c >= 0 && d >= 0 && blk >= 0);
    CHECK(cli_send(c, GET("/hello")) == 0 && cli_response(c, r, sizeof r) > 0);
    /* d: answered with connection: close, not read yet: the server lingers */
    CHECK(cli_send(d, "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n") == 0);
    frt_sleep_ms(50);
    CHECK(cli_send(blk, GET("/block")) == 0);
    for (i = 0; i < 500 && !atomic_load(&blocked); i++) frt_sleep_ms(10);
    REQ(atomic_load(&blocked));
    CHECK(cli_send(c, GET("/hello")) == 0);     /* in the kernel, unread */
    CHECK(cli_send(d, "more bytes\r\n") == 0); /* unread input on a lingering connection */
    frt_sleep_ms(20);
    atomic_store(&release_block, 1); /* /block answers and asks for the stop */
    REQ(cli_response(blk, r, sizeof r) > 0);
    CHECK(strstr(r, "{\"blocked\":1}") != NULL);
    /* c's request is answered, then the connection ends cleanly */
    REQ(cli_response(c, r, sizeof r) > 0);
    CHECK(strncmp(r, "HTTP/1.1 200", 12) == 0);
    CHECK(strstr(r, "connection: close") != NULL);
    CHECK(cli_eof(c) == 0);
    /* d still gets its whole answer (a reset would have destroyed it) */
    REQ(cli_response(d, r, sizeof r) > 0);
    CHECK(strstr(r, "{\"hello\":1}") != NULL);
    frt_srv_join(&s);
    CHECK_EQ_INT(s.rc, 0);
    close(blk);
    close(c);
    close(d);
}

/* Only a lingering connection left when the stop begins: fr_serve returns
 * at once, and the bytes it has not read yet must not turn the final close
 * into a reset that destroys its answer. */
static void test_stop_lingering_only(void) {
    frt_srv s;
    char r[1024];
    int blk, d, i;
    REQ(srv_start(&s) == 0);
    d = frt_connect(s.port, 0);
    blk = frt_connect(s.port, 0);
    REQ(d >= 0 && blk >= 0);
    CHECK(cli_send(d, "GET /hello HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n") == 0);
    frt_sleep_ms(50);
    CHECK(cli_send(blk, GET("/block")) == 0);
    for (i = 0; i < 500 && !atomic_load(&blocked); i++) frt_sleep_ms(10);
    REQ(atomic_load(&blocked));
    CHECK(cli_send(d, "more bytes\r\n") == 0);
    frt_sleep_ms(20);
    atomic_store(&release_block, 1);
    REQ(cli_response(blk, r, sizeof r) > 0);
    frt_srv_join(&s);
    CHECK_EQ_INT(s.rc, 0);
    REQ(cli_response(d, r, sizeof r) > 0);
    CHECK(strstr(r, "{\"hello\":1}") != NULL);
    CHECK(cli_eof(d) == 0);
    close(blk);
    close(d);
}

/* A client that just connected (its request on the way) is not idle: the
 * stop answers it. One that never sends is closed soon (fr_serve returns). */
static void test_stop_fresh_connection(void) {
    frt_srv s;
    char r[1024];
    int e, f;
    REQ(srv_start(&s) == 0);
    e = frt_connect(s.port, 0);
    f = frt_connect(s.port, 0);
    REQ(e >= 0 && f >= 0);
    frt_sleep_ms(50); /* accepted by now: a connection still queued when the stop begins is not */
    fr_stop(s.app);
    frt_sleep_ms(50);
    CHECK(cli_send(e, GET("/hello")) == 0);
    REQ(cli_response(e, r, sizeof r) > 0);
    CHECK(strncmp(r, "HTTP/1.1 200", 12) == 0);
    CHECK(strstr(r, "connection: close") != NULL);
    CHECK(cli_eof(e) == 0);
    frt_srv_join(&s); /* f never sends: closed by the engine, not waited for */
    CHECK_EQ_INT(s.rc, 0);
    CHECK(cli_eof(f) == 0);
    close(e);
    close(f);
}

/* fr_listen_fd: two apps (as two worker processes would) serve one listening
 * socket made by the test; one stops, the other keeps answering on it; bad
 * fds are refused and left open. */
static int h_app_id(fr_req *req, void *ud) {
    char b[32];
    int n = snprintf(b, sizeof b, "%d", *(int *)ud);
    return fr_res_text(req, 200, NULL, b, (size_t)n);
}

static void *serve_thread(void *app) {
    fr_serve((fr_app *)app);
    return NULL;
}

static void test_listen_fd_shared_socket(void) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    fr_config cfg;
    fr_app *app[2];
    pthread_t thr[2];
    static int ids[2] = {1, 2};
    char r[1024];
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1, port, i, dups[2], seen = 0, pipefd[2];
    REQ(lfd >= 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQ(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1;
    app[0] = fr_app_new(&cfg);
    REQ(app[0] != NULL);
    /* refused: not listening yet, not a socket, not an fd (all left open) */
    CHECK_EQ_INT(fr_listen_fd(app[0], lfd), -1);
    REQ(pipe(pipefd) == 0);
    CHECK_EQ_INT(fr_listen_fd(app[0], pipefd[0]), -1);
    CHECK(fcntl(pipefd[0], F_GETFD) >= 0);
    close(pipefd[0]);
    close(pipefd[1]);
    CHECK_EQ_INT(fr_listen_fd(app[0], -1), -1);
    CHECK_EQ_INT(fr_listen_fd(NULL, lfd), -1);
    REQ(listen(lfd, 64) == 0);
    REQ(getsockname(lfd, (struct sockaddr *)&a, &al) == 0);
    port = ntohs(a.sin_port);
    app[1] = fr_app_new(&cfg);
    REQ(app[1] != NULL);
    for (i = 0; i < 2; i++) {
        dups[i] = dup(lfd); /* each app owns (and closes) its own fd */
        REQ(fr_route(app[i], "GET", "/id", h_app_id, &ids[i]) == 0);
        CHECK_EQ_INT(fr_listen_fd(app[i], dups[i]), port);
        REQ(pthread_create(&thr[i], NULL, serve_thread, app[i]) == 0);
    }
    /* new connections are accepted by either app */
    for (i = 0; i < 200 && seen != 3; i++) {
        int c = frt_connect(port, 0);
        REQ(c >= 0);
        CHECK(cli_send(c, "GET /id HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n") == 0);
        REQ(cli_response(c, r, sizeof r) > 0);
        seen |= strstr(r, "\r\n\r\n1") ? 1 : strstr(r, "\r\n\r\n2") ? 2 : 0;
        close(c);
    }
    CHECK_EQ_INT(seen, 3);
    /* app 1 stops and is freed: its fd is closed, the socket lives on */
    fr_stop(app[0]);
    pthread_join(thr[0], NULL);
    fr_app_free(app[0]);
    CHECK(fcntl(dups[0], F_GETFD) < 0 && errno == EBADF);
    for (i = 0; i < 20; i++) {
        int c = frt_connect(port, 0);
        REQ(c >= 0);
        CHECK(cli_send(c, "GET /id HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n") == 0);
        REQ(cli_response(c, r, sizeof r) > 0);
        CHECK(strstr(r, "\r\n\r\n2") != NULL);
        close(c);
    }
    fr_stop(app[1]);
    pthread_join(thr[1], NULL);
    fr_app_free(app[1]);
    close(lfd);
}

static const frt_case frt_cases[] = {
    FRT(test_listen_fd_shared_socket),
    FRT(test_stop_fresh_connection),
    FRT(test_stop_lingering_only),
    FRT(test_stop_idle_keepalive_clean_fin),
    FRT(test_stop_partial_head_is_answered),
    FRT(test_stop_requests_in_kernel_and_lingering),
};
FRT_MAIN()
