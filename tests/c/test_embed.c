/* The embedder contract written in src/server.h, checked over real sockets
 * with the test thread pumping fr_poll as a game loop would:
 *  - after fr_stop the host keeps calling fr_poll until it returns -1: an
 *    in-flight request still finishes (with connection: close), then -1;
 *    the listening socket is closed by fr_app_free;
 *  - fr_poll installs no signal handler (SIGINT/SIGTERM/SIGPIPE untouched);
 *  - a handler answers by returning FR_DONE (the response it built is sent,
 *    fr_res_send is optional) or FR_PENDING, and may hand the request to
 *    another thread that calls fr_res_send before the handler has returned.
 * Written in the common subset of C11 and C++: tests/test_cxx.py also builds
 * and runs it with g++ and clang++. Every socket has a timeout and every loop
 * is bounded. */
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <pthread.h>
#include <signal.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define POLL_ROUNDS 3000 /* fr_poll(app, 10) calls before a test gives up */

/* ------------------------------------------------------------------------ */
/* a client on its own thread: one request, read until the server closes     */

typedef struct client {
    int port;
    const char *request;
    char resp[4096];
    size_t len;
    int done; /* under mu */
    pthread_t thr;
} client;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int locked_get(const int *v) {
    int r;
    pthread_mutex_lock(&mu);
    r = *v;
    pthread_mutex_unlock(&mu);
    return r;
}

static int dial(int port) {
    struct sockaddr_in a;
    struct timeval tv;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    tv.tv_sec = 5;
    tv.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *client_main(void *arg) {
    client *c = (client *)arg;
    int fd = dial(c->port);
    if (fd >= 0) {
        size_t n = strlen(c->request);
        if (send(fd, c->request, n, MSG_NOSIGNAL) == (ssize_t)n) {
            for (;;) {
                ssize_t r = recv(fd, c->resp + c->len, sizeof c->resp - 1 - c->len, 0);
                if (r <= 0) break; /* closed, or the 5 s timeout */
                c->len += (size_t)r;
                if (c->len == sizeof c->resp - 1) break;
            }
        }
        close(fd);
    }
    c->resp[c->len] = 0;
    pthread_mutex_lock(&mu);
    c->done = 1;
    pthread_mutex_unlock(&mu);
    return NULL;
}

static int client_start(client *c, int port, const char *request) {
    memset(c, 0, sizeof *c);
    c->port = port;
    c->request = request;
    return pthread_create(&c->thr, NULL, client_main, c);
}

/* One exchange: a client thread sends `request` while this thread pumps
 * fr_poll until the client has read everything. 0, or -1 when the thread
 * could not start, fr_poll failed or the rounds ran out. */
static int exchange(fr_app *app, int port, const char *request, client *c) {
    int i, rc = 0;
    if (client_start(c, port, request) != 0) return -1;
    for (i = 0; i < POLL_ROUNDS && !locked_get(&c->done) && rc >= 0; i++) rc = fr_poll(app, 10);
    pthread_join(c->thr, NULL); /* bounded: the client's socket timeouts */
    return rc >= 0 && locked_get(&c->done) ? 0 : -1;
}

static int has(const client *c, const char *needle) { return strstr(c->resp, needle) != NULL; }

/* ------------------------------------------------------------------------ */
/* handlers                                                                  */

static fr_req *held; /* /hold parks its request here (under mu) */

static int h_hold(fr_req *req, void *ud) {
    (void)ud;
    pthread_mutex_lock(&mu);
    held = req;
    pthread_mutex_unlock(&mu);
    return FR_PENDING;
}

/* FR_DONE without fr_res_send: the engine sends what the handler built */
static int h_built(fr_req *req, void *ud) {
    (void)ud;
    fr_res_status(req, 201);
    fr_res_header(req, "x-built", "yes");
    fr_res_body(req, "built", 5);
    return FR_DONE;
}

/* fr_res_send inside the handler, then FR_DONE: one response; a second
 * fr_res_send reports -1 */
static int h_sent(fr_req *req, void *ud) {
    int first, second;
    (void)ud;
    fr_res_status(req, 202);
    fr_res_body(req, "sent", 4);
    first = fr_res_send(req);
    second = fr_res_send(req);
    return first == 0 && second == -1 ? FR_DONE : FR_PENDING; /* PENDING: the test fails */
}

static void *worker_answer(void *arg) {
    static const char body[] = "{\"from\":\"worker\"}";
    fr_res_json((fr_req *)arg, 200, body, sizeof body - 1);
    return NULL;
}

/* Hand the request to another thread that answers it before this handler
 * returns FR_PENDING (the join makes that order certain). */
static int h_handoff(fr_req *req, void *ud) {
    pthread_t t;
    (void)ud;
    if (pthread_create(&t, NULL, worker_answer, req) != 0) return fr_res_text(req, 500, NULL, "", 0);
    pthread_join(t, NULL);
    return FR_PENDING;
}

static fr_app *make_app(int *port) {
    fr_config cfg;
    fr_app *app;
    (void)frt_guarded; /* frtest.h's parser-test helpers, unused here */
    (void)frt_guarded_free;
    memset(&cfg, 0, sizeof cfg);
    cfg.drain_timeout_ms = 600000; /* the drain ends because the request finished, not by time */
    app = fr_app_new(&cfg);
    if (!app) return NULL;
    if (fr_route(app, "GET", "/hold", h_hold, NULL) < 0 || fr_route(app, "GET", "/built", h_built, NULL) < 0 ||
        fr_route(app, "GET", "/sent", h_sent, NULL) < 0 ||
        fr_route(app, "GET", "/handoff", h_handoff, NULL) < 0 ||
        (*port = fr_listen(app, "127.0.0.1", 0)) <= 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"

/* ------------------------------------------------------------------------ */
/* tests                                                                     */

static void test_stop_then_poll_until_minus_one(void) {
    client c;
    pthread_t t;
    fr_req *req = NULL;
    int port = 0, i, rc = 0, rounds_while_held = 0;
    fr_app *app = make_app(&port);
    REQUIRE(app != NULL);
    held = NULL;
    /* keep-alive request: only the drain's connection: close ends it */
    REQUIRE(client_start(&c, port, "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    for (i = 0; i < POLL_ROUNDS && !req; i++) {
        CHECK(fr_poll(app, 10) >= 0);
        pthread_mutex_lock(&mu);
        req = held;
        pthread_mutex_unlock(&mu);
    }
    CHECK(req != NULL);
    fr_stop(app);
    /* in flight: fr_poll keeps going (>= 0) and the response is still owed */
    for (i = 0; i < 5; i++) {
        rc = fr_poll(app, 10);
        CHECK(rc >= 0);
        if (rc >= 0) rounds_while_held++;
    }
    CHECK_EQ_INT(rounds_while_held, 5);
    CHECK(!locked_get(&c.done));
    if (req) { /* answered from another thread, as a worker pool would */
        CHECK(pthread_create(&t, NULL, worker_answer, req) == 0);
        pthread_join(t, NULL);
    }
    for (i = 0; i < POLL_ROUNDS; i++) {
        rc = fr_poll(app, 10);
        if (rc < 0) break;
    }
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(fr_poll(app, 0), -1); /* and stays -1 */
    CHECK_EQ_INT(fr_poll(app, 10), -1);
    pthread_join(c.thr, NULL);
    CHECK(strncmp(c.resp, "HTTP/1.1 200 ", 13) == 0);
    CHECK(has(&c, "\r\nconnection: close\r\n"));
    CHECK(has(&c, "\r\n\r\n{\"from\":\"worker\"}"));
    fr_app_free(app); /* the listening socket stays open until here */
    CHECK_EQ_INT(dial(port), -1);
}

static void test_stop_when_idle_returns_minus_one(void) {
    int port = 0, i, rc = 0;
    fr_app *app = make_app(&port);
    REQUIRE(app != NULL);
    CHECK(fr_poll(app, 0) >= 0);
    fr_stop(app);
    for (i = 0; i < POLL_ROUNDS; i++) {
        rc = fr_poll(app, 10);
        if (rc < 0) break;
    }
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(fr_poll(app, 0), -1);
    fr_app_free(app);
}

static int same_handler(int sig, const struct sigaction *before) {
    struct sigaction now;
    if (sigaction(sig, NULL, &now) != 0) return 0;
    return now.sa_handler == before->sa_handler && now.sa_flags == before->sa_flags;
}

static void test_poll_installs_no_signal_handler(void) {
    struct sigaction sint, sterm, spipe;
    client c;
    int port = 0, i;
    fr_app *app;
    REQUIRE(sigaction(SIGINT, NULL, &sint) == 0);
    REQUIRE(sigaction(SIGTERM, NULL, &sterm) == 0);
    REQUIRE(sigaction(SIGPIPE, NULL, &spipe) == 0);
    app = make_app(&port);
    REQUIRE(app != NULL);
    CHECK_EQ_INT(exchange(app, port, GET("/built"), &c), 0);
    CHECK(strncmp(c.resp, "HTTP/1.1 201 ", 13) == 0);
    CHECK(same_handler(SIGINT, &sint));
    CHECK(same_handler(SIGTERM, &sterm));
    CHECK(same_handler(SIGPIPE, &spipe));
    fr_stop(app);
    for (i = 0; i < POLL_ROUNDS && fr_poll(app, 10) >= 0; i++) {
    }
    CHECK(same_handler(SIGINT, &sint));
    CHECK(same_handler(SIGTERM, &sterm));
    fr_app_free(app);
}

static void test_done_sends_what_the_handler_built(void) {
    client c;
    int port = 0;
    fr_app *app = make_app(&port);
    REQUIRE(app != NULL);
    CHECK_EQ_INT(exchange(app, port, GET("/built"), &c), 0);
    CHECK(strncmp(c.resp, "HTTP/1.1 201 ", 13) == 0);
    CHECK(has(&c, "\r\nx-built: yes\r\n"));
    CHECK(has(&c, "\r\ncontent-length: 5\r\n"));
    CHECK(has(&c, "\r\n\r\nbuilt"));
    fr_app_free(app);
}

static void test_send_inside_handler_then_done(void) {
    client c;
    int port = 0;
    fr_app *app = make_app(&port);
    /* pipelined: a second response after the first shows exactly one was sent */
    static const char two[] = "GET /sent HTTP/1.1\r\nHost: t\r\n\r\n" GET("/built");
    REQUIRE(app != NULL);
    CHECK_EQ_INT(exchange(app, port, two, &c), 0);
    CHECK(strncmp(c.resp, "HTTP/1.1 202 ", 13) == 0);
    CHECK(has(&c, "\r\n\r\nsentHTTP/1.1 201 "));
    CHECK(has(&c, "\r\n\r\nbuilt"));
    fr_app_free(app);
}

static void test_handoff_before_pending(void) {
    client c;
    int port = 0;
    fr_app *app = make_app(&port);
    REQUIRE(app != NULL);
    CHECK_EQ_INT(exchange(app, port, GET("/handoff"), &c), 0);
    CHECK(strncmp(c.resp, "HTTP/1.1 200 ", 13) == 0);
    CHECK(has(&c, "\r\ncontent-type: application/json\r\n"));
    CHECK(has(&c, "\r\n\r\n{\"from\":\"worker\"}"));
    fr_app_free(app);
}

/* ------------------------------------------------------------------------ */
/* the budget (fr_poll_ex) and the loop's fd (fr_app_pollfd)                 */

/* Connect n clients and send one request each before the app polls at
 * all: the kernel queues the connections and their bytes, so once they are
 * accepted every one of them is ready at the same time. */
static int open_ready_clients(int port, int *fds, int n) {
    static const char req[] = GET("/built");
    int i;
    for (i = 0; i < n; i++) {
        fds[i] = dial(port);
        if (fds[i] < 0 || send(fds[i], req, sizeof req - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof req - 1))
            return -1;
    }
    return 0;
}

/* 1 once fd has a whole 201 response waiting (non-blocking peek) */
static int answered(int fd) {
    char b[512];
    ssize_t r = recv(fd, b, sizeof b - 1, MSG_PEEK | MSG_DONTWAIT);
    if (r <= 0) return 0;
    b[r] = 0;
    return strncmp(b, "HTTP/1.1 201 ", 13) == 0 && strstr(b, "\r\n\r\nbuilt") != NULL;
}

static int all_answered(const int *fds, int n) {
    int i;
    for (i = 0; i < n; i++)
        if (!answered(fds[i])) return 0;
    return 1;
}

/* Pump fr_poll_ex(app, 10, budget) until the n clients are answered;
 * *most = the largest return value, *calls = calls that handled events. */
static int pump_budget(fr_app *app, const int *fds, int n, int budget, int *most, int *calls) {
    int i, rc;
    *most = 0;
    *calls = 0;
    for (i = 0; i < POLL_ROUNDS && !all_answered(fds, n); i++) {
        rc = fr_poll_ex(app, 10, budget);
        if (rc < 0) return -1;
        if (rc > *most) *most = rc;
        if (rc > 0) (*calls)++;
    }
    return all_answered(fds, n) ? 0 : -1;
}

static void drain_to_minus_one(fr_app *app) {
    int i, rc = 0;
    fr_stop(app);
    for (i = 0; i < POLL_ROUNDS; i++) {
        rc = fr_poll(app, 10);
        if (rc < 0) break;
    }
    CHECK_EQ_INT(rc, -1);
}

static void test_poll_budget(void) {
    enum { N = 4 };
    int fds[N], port = 0, i, most = 0, calls = 0;
    fr_app *app = make_app(&port);
    REQUIRE(app != NULL);
    /* budget 1: no call handles more than one socket event; every client
     * is still served, one connection per call */
    CHECK_EQ_INT(open_ready_clients(port, fds, N), 0);
    CHECK_EQ_INT(pump_budget(app, fds, N, 1, &most, &calls), 0);
    CHECK_EQ_INT(most, 1);
    CHECK(calls >= N + 1); /* the accepts, then each connection on its own */
    for (i = 0; i < N; i++) close(fds[i]);
    /* the default budget takes the ready connections together (the same
     * scenario: shows the budget above is what limited it) */
    CHECK_EQ_INT(open_ready_clients(port, fds, N), 0);
    CHECK_EQ_INT(pump_budget(app, fds, N, 0, &most, &calls), 0);
    CHECK(most >= 2);
    for (i = 0; i < N; i++) close(fds[i]);
    drain_to_minus_one(app);
    fr_app_free(app);
}

#if defined(__linux__) && !FR_USE_POLL
#include <sys/epoll.h>
#define HOST_EPOLL 1
#else
#define HOST_EPOLL 0
#endif

static void test_pollfd_in_host_epoll(void) {
#if HOST_EPOLL
    enum { N = 3 };
    struct epoll_event ev, got[4];
    int fds[N], pipefd[2], port = 0, ep, pfd, i, n, k, host_msgs = 0, polls = 0, rc = 0;
    fr_app *app = make_app(&port);
    REQUIRE(app != NULL);
    pfd = fr_app_pollfd(app); /* sets the loop up: the listener is in it */
    REQUIRE(pfd >= 0);
    CHECK_EQ_INT(fr_app_pollfd(app), pfd); /* the same fd every time */
    CHECK_EQ_INT(fr_app_poll_timeout(app), -1); /* no timer yet */
    ep = epoll_create1(0);
    REQUIRE(ep >= 0);
    REQUIRE(pipe(pipefd) == 0); /* the host's own event source (a UDP socket in a game) */
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = pfd;
    REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev) == 0);
    ev.data.fd = pipefd[0];
    REQUIRE(epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) == 0);
    /* idle: nothing makes the engine's fd readable */
    CHECK_EQ_INT(epoll_wait(ep, got, 4, 0), 0);
    CHECK_EQ_INT(write(pipefd[1], "x", 1), 1);
    CHECK_EQ_INT(open_ready_clients(port, fds, N), 0);
    /* the host's loop: wait on its own set, pump fr_poll(app, 0) only when
     * the engine's fd says so */
    for (i = 0; i < POLL_ROUNDS && !all_answered(fds, N); i++) {
        int t = fr_app_poll_timeout(app);
        n = epoll_wait(ep, got, 4, t < 0 || t > 10 ? 10 : t);
        for (k = 0; k < n; k++) {
            if (got[k].data.fd == pfd) {
                polls++;
                CHECK(fr_poll(app, 0) >= 0);
            } else {
                char b[8];
                if (read(pipefd[0], b, sizeof b) > 0) host_msgs++;
            }
        }
        if (n == 0 && t == 0) CHECK(fr_poll(app, 0) >= 0); /* a timer is due */
    }
    CHECK(all_answered(fds, N));
    CHECK(polls >= 1);
    CHECK_EQ_INT(host_msgs, 1);
    /* connections are open (keep-alive off: they close after the answer),
     * the idle/linger timers make fr_app_poll_timeout a number */
    for (i = 0; i < N; i++) close(fds[i]);
    /* fr_stop makes the fd readable; keep pumping until -1 */
    fr_stop(app);
    n = epoll_wait(ep, got, 4, 5000);
    CHECK(n >= 1 && got[0].data.fd == pfd);
    for (i = 0; i < POLL_ROUNDS; i++) {
        rc = fr_poll(app, 10);
        if (rc < 0) break;
    }
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(fr_app_pollfd(app), -1); /* the loop is gone */
    close(ep);
    close(pipefd[0]);
    close(pipefd[1]);
    fr_app_free(app);
#endif
}

static void test_pollfd_edges(void) {
    int port = 0;
    fr_app *app;
    CHECK_EQ_INT(fr_app_pollfd(NULL), -1);
    CHECK_EQ_INT(fr_app_poll_timeout(NULL), -1);
    CHECK_EQ_INT(fr_poll_ex(NULL, 0, 1), -1);
    app = make_app(&port);
    REQUIRE(app != NULL);
    CHECK_EQ_INT(fr_app_poll_timeout(app), -1); /* before the loop exists */
#if HOST_EPOLL
    CHECK(fr_app_pollfd(app) >= 0);
#endif
    CHECK(fr_poll_ex(app, 0, -5) >= 0); /* <= 0: the default budget */
    drain_to_minus_one(app);
    CHECK_EQ_INT(fr_app_pollfd(app), -1);
    CHECK_EQ_INT(fr_poll_ex(app, 0, 1), -1);
    fr_app_free(app);
    /* an app freed with its loop set up but never polled */
    app = make_app(&port);
    REQUIRE(app != NULL);
    (void)fr_app_pollfd(app);
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_poll_budget),
    FRT(test_pollfd_in_host_epoll),
    FRT(test_pollfd_edges),
    FRT(test_stop_then_poll_until_minus_one),
    FRT(test_stop_when_idle_returns_minus_one),
    FRT(test_poll_installs_no_signal_handler),
    FRT(test_done_sends_what_the_handler_built),
    FRT(test_send_inside_handler_then_done),
    FRT(test_handoff_before_pending),
};
FRT_MAIN()
