/* fr_config.request_timeout_ms seen from raw client sockets: a handler that
 * returned FR_PENDING and never answers gets a 504 {"detail":"Gateway
 * Timeout"} after the deadline, on a connection that stays usable
 * (keep-alive, pipelined bytes kept); its late fr_res_send is dropped
 * (on_done ok = 0; ASan checks that nothing touches freed memory); fast and
 * promptly answered requests, begun streams and request_timeout_ms = 0 are
 * never cut. Needles include the blank line: "server: fastrapi" holds "fast".
 * Every socket has a timeout; every wait is bounded. */
#define FRT_NET 1
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv */

#include <pthread.h>

static pthread_mutex_t rt_mu = PTHREAD_MUTEX_INITIALIZER;
static fr_req *rt_held;  /* the /hang request its handler still owns */
static int rt_done_calls, rt_done_ok;
static pthread_t rt_thr[8]; /* answering threads, joined before the app is freed */
static int rt_nthr;

static int rt_spawn(void *(*fn)(void *), void *arg) {
    int ok;
    pthread_mutex_lock(&rt_mu);
    ok = rt_nthr < 8 && pthread_create(&rt_thr[rt_nthr], NULL, fn, arg) == 0;
    if (ok) rt_nthr++;
    pthread_mutex_unlock(&rt_mu);
    return ok ? 0 : -1;
}

static void rt_join_all(void) {
    int i;
    for (i = 0; i < rt_nthr; i++) pthread_join(rt_thr[i], NULL);
    rt_nthr = 0;
}

static void rt_reset(void) {
    pthread_mutex_lock(&rt_mu);
    rt_held = NULL;
    rt_done_calls = 0;
    rt_done_ok = -1;
    pthread_mutex_unlock(&rt_mu);
}

static void rt_on_done(fr_req *req, int ok, void *ud) {
    (void)req;
    (void)ud;
    pthread_mutex_lock(&rt_mu);
    rt_done_calls++;
    rt_done_ok = ok;
    pthread_mutex_unlock(&rt_mu);
}

static fr_req *rt_take(void) {
    fr_req *r;
    pthread_mutex_lock(&rt_mu);
    r = rt_held;
    rt_held = NULL;
    pthread_mutex_unlock(&rt_mu);
    return r;
}

/* Bounded wait (5 s) for on_done; returns how often it ran. */
static int rt_wait_done(void) {
    int64_t end = frt_now_ms() + 5000;
    int n;
    for (;;) {
        pthread_mutex_lock(&rt_mu);
        n = rt_done_calls;
        pthread_mutex_unlock(&rt_mu);
        if (n || frt_now_ms() > end) return n;
        frt_sleep_ms(5);
    }
}

static int h_hang(fr_req *req, void *ud) {
    (void)ud;
    fr_req_on_done(req, rt_on_done, NULL);
    pthread_mutex_lock(&rt_mu);
    rt_held = req;
    pthread_mutex_unlock(&rt_mu);
    return FR_PENDING;
}

static int h_fast(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_text(req, 200, NULL, "fast", 4);
}

static void *rt_answer_thread(void *arg) {
    fr_res_text((fr_req *)arg, 200, NULL, "later", 5);
    return NULL;
}

/* answered at once from another thread: well inside the deadline */
static int h_prompt(fr_req *req, void *ud) {
    (void)ud;
    if (rt_spawn(rt_answer_thread, req) != 0) return fr_res_text(req, 500, NULL, "x", 1);
    return FR_PENDING;
}

static void *rt_stream_thread(void *arg) {
    fr_req *req = (fr_req *)arg;
    frt_sleep_ms(400); /* past the 150 ms deadline */
    fr_res_stream_write(req, "tail", 4);
    fr_res_stream_end(req);
    return NULL;
}

/* a stream begun inside the handler, ended after the deadline */
static int h_stream(fr_req *req, void *ud) {
    (void)ud;
    fr_res_header(req, "content-type", "text/plain");
    if (fr_res_stream_begin(req) < 0) return FR_DONE;
    fr_res_stream_write(req, "head-", 5);
    if (rt_spawn(rt_stream_thread, req) != 0) fr_res_stream_end(req);
    return FR_PENDING;
}

static int rt_start(frt_srv *s, int timeout_ms) {
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1;
    cfg.request_timeout_ms = timeout_ms;
    cfg.drain_timeout_ms = 500;
    rt_reset();
    s->app = fr_app_new(&cfg);
    if (!s->app) return -1;
    if (fr_route(s->app, "GET", "/hang", h_hang, NULL) < 0 || fr_route(s->app, "GET", "/fast", h_fast, NULL) < 0 ||
        fr_route(s->app, "GET", "/prompt", h_prompt, NULL) < 0 ||
        fr_route(s->app, "GET", "/stream", h_stream, NULL) < 0)
        return -1;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return frt_srv_run(s);
}

/* Receive into out (NUL-terminated) until it holds `count` copies of needle,
 * EOF, an error or the socket timeout. The length. */
static size_t rt_recv_until(int fd, char *out, size_t cap, const char *needle, int count) {
    size_t got = 0;
    out[0] = 0;
    for (;;) {
        const char *p = out;
        int k = 0;
        ssize_t n;
        while ((p = strstr(p, needle)) != NULL) {
            k++;
            p += strlen(needle);
        }
        if (k >= count || got + 1 >= cap) return got;
        n = recv(fd, out + got, cap - 1 - got, 0);
        if (n <= 0) return got;
        got += (size_t)n;
        out[got] = 0;
    }
}

static const char GET_HANG[] = "GET /hang HTTP/1.1\r\nhost: x\r\n\r\n";
static const char GET_FAST[] = "GET /fast HTTP/1.1\r\nhost: x\r\n\r\n";
static const char BODY_504[] = "{\"detail\":\"Gateway Timeout\"}";

static void test_pending_gets_504_and_late_send_is_dropped(void) {
    frt_srv s;
    char buf[4096];
    int fd;
    int64_t t0;
    fr_req *late;
    REQUIRE(rt_start(&s, 200) == 0);
    fd = frt_connect(s.port, 0);
    REQUIRE(fd >= 0);
    t0 = frt_now_ms();
    {
        char *g = (char *)frt_guarded(GET_HANG, sizeof GET_HANG - 1); /* the client side reads it exactly */
        CHECK(frt_send_all(fd, g, sizeof GET_HANG - 1) == 0);
        frt_guarded_free(g, sizeof GET_HANG - 1);
    }
    rt_recv_until(fd, buf, sizeof buf, BODY_504, 1);
    CHECK(strncmp(buf, "HTTP/1.1 504 Gateway Timeout\r\n", 30) == 0);
    CHECK(strstr(buf, BODY_504) != NULL);
    CHECK(strstr(buf, "application/json") != NULL);
    CHECK(strstr(buf, "connection: close") == NULL);
    CHECK(frt_now_ms() - t0 >= 150); /* not before the deadline */
    /* the handler still owns the request: on_done has not run */
    pthread_mutex_lock(&rt_mu);
    CHECK_EQ_INT(rt_done_calls, 0);
    late = rt_held;
    pthread_mutex_unlock(&rt_mu);
    CHECK(late != NULL);
    /* the same connection goes on */
    CHECK(frt_send_all(fd, GET_FAST, sizeof GET_FAST - 1) == 0);
    rt_recv_until(fd, buf, sizeof buf, "\r\n\r\nfast", 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(buf, "\r\n\r\nfast") != NULL);
    /* the late answer is dropped: on_done ok = 0, nothing on the wire */
    late = rt_take();
    if (late) fr_res_text(late, 200, NULL, "too late", 8);
    CHECK_EQ_INT(rt_wait_done(), 1);
    CHECK_EQ_INT(rt_done_ok, 0);
    CHECK(frt_send_all(fd, GET_FAST, sizeof GET_FAST - 1) == 0);
    rt_recv_until(fd, buf, sizeof buf, "\r\n\r\nfast", 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(buf, "too late") == NULL);
    close(fd);
    rt_join_all();
    frt_srv_stop(&s);
    CHECK_EQ_INT(rt_done_calls, 1);
}

/* The 504 comes while a second request already waits in the read buffer:
 * it is answered next on the same connection. */
static void test_pipelined_after_504(void) {
    frt_srv s;
    char buf[4096];
    char two[sizeof GET_HANG + sizeof GET_FAST];
    int fd;
    fr_req *late;
    REQUIRE(rt_start(&s, 150) == 0);
    fd = frt_connect(s.port, 0);
    REQUIRE(fd >= 0);
    memcpy(two, GET_HANG, sizeof GET_HANG - 1);
    memcpy(two + sizeof GET_HANG - 1, GET_FAST, sizeof GET_FAST);
    CHECK(frt_send_all(fd, two, strlen(two)) == 0);
    rt_recv_until(fd, buf, sizeof buf, "\r\n\r\nfast", 1);
    CHECK(strncmp(buf, "HTTP/1.1 504 ", 13) == 0);
    CHECK(strstr(buf, BODY_504) != NULL);
    CHECK(strstr(buf, "HTTP/1.1 200 OK\r\n") != NULL);
    CHECK(strstr(buf, "\r\n\r\nfast") != NULL);
    late = rt_take();
    CHECK(late != NULL);
    if (late) fr_res_text(late, 200, NULL, "too late", 8);
    CHECK_EQ_INT(rt_wait_done(), 1);
    CHECK_EQ_INT(rt_done_ok, 0);
    close(fd);
    rt_join_all();
    frt_srv_stop(&s);
}

/* Never answered at all: fr_app_free finishes it (on_done ok = 0, once). */
static void test_never_answered_freed_with_app(void) {
    frt_srv s;
    char buf[4096];
    int fd;
    REQUIRE(rt_start(&s, 100) == 0);
    fd = frt_connect(s.port, 0);
    REQUIRE(fd >= 0);
    CHECK(frt_send_all(fd, GET_HANG, sizeof GET_HANG - 1) == 0);
    rt_recv_until(fd, buf, sizeof buf, BODY_504, 1);
    CHECK(strstr(buf, BODY_504) != NULL);
    close(fd);
    rt_join_all();
    frt_srv_stop(&s);
    CHECK_EQ_INT(rt_done_calls, 1);
    CHECK_EQ_INT(rt_done_ok, 0);
}

/* Inline answers, prompt pending answers and keep-alive waits longer than
 * the deadline are never cut. */
static void test_fast_and_prompt_unaffected(void) {
    static const char GET_PROMPT[] = "GET /prompt HTTP/1.1\r\nhost: x\r\n\r\n";
    frt_srv s;
    char buf[4096];
    int fd, i;
    REQUIRE(rt_start(&s, 100) == 0);
    fd = frt_connect(s.port, 0);
    REQUIRE(fd >= 0);
    for (i = 0; i < 3; i++) {
        CHECK(frt_send_all(fd, GET_FAST, sizeof GET_FAST - 1) == 0);
        rt_recv_until(fd, buf, sizeof buf, "\r\n\r\nfast", 1);
        CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
        CHECK(frt_send_all(fd, GET_PROMPT, sizeof GET_PROMPT - 1) == 0);
        rt_recv_until(fd, buf, sizeof buf, "\r\n\r\nlater", 1);
        CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
        CHECK(strstr(buf, "later") != NULL);
        frt_sleep_ms(250); /* idle past the deadline: no stray 504 */
    }
    CHECK(frt_send_all(fd, GET_FAST, sizeof GET_FAST - 1) == 0);
    CHECK(rt_recv_until(fd, buf, sizeof buf, "\r\n\r\nfast", 1) > 0);
    CHECK(strstr(buf, "HTTP/1.1 504") == NULL);
    close(fd);
    rt_join_all();
    frt_srv_stop(&s);
}

/* A begun stream outlives the deadline untouched. */
static void test_stream_not_cut(void) {
    static const char GET_STREAM[] = "GET /stream HTTP/1.1\r\nhost: x\r\n\r\n";
    frt_srv s;
    char buf[4096];
    int fd;
    REQUIRE(rt_start(&s, 150) == 0);
    fd = frt_connect(s.port, 0);
    REQUIRE(fd >= 0);
    CHECK(frt_send_all(fd, GET_STREAM, sizeof GET_STREAM - 1) == 0);
    rt_recv_until(fd, buf, sizeof buf, "0\r\n\r\n", 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(buf, "head-") != NULL);
    CHECK(strstr(buf, "tail") != NULL);
    CHECK(strstr(buf, "HTTP/1.1 504") == NULL);
    close(fd);
    rt_join_all();
    frt_srv_stop(&s);
}

/* request_timeout_ms = 0: no deadline; the answer comes whenever it comes. */
static void test_zero_means_none(void) {
    frt_srv s;
    char buf[4096];
    int fd;
    fr_req *r = NULL;
    int64_t end;
    REQUIRE(rt_start(&s, 0) == 0);
    fd = frt_connect(s.port, 0);
    REQUIRE(fd >= 0);
    CHECK(frt_send_all(fd, GET_HANG, sizeof GET_HANG - 1) == 0);
    end = frt_now_ms() + 5000;
    while (frt_now_ms() < end) { /* the handler has it */
        pthread_mutex_lock(&rt_mu);
        r = rt_held;
        pthread_mutex_unlock(&rt_mu);
        if (r) break;
        frt_sleep_ms(5);
    }
    REQUIRE(r != NULL);
    frt_sleep_ms(400);
    r = rt_take();
    if (r) fr_res_text(r, 200, NULL, "in time", 7);
    rt_recv_until(fd, buf, sizeof buf, "\r\n\r\nin time", 1);
    CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(buf, "in time") != NULL);
    CHECK_EQ_INT(rt_wait_done(), 1);
    CHECK_EQ_INT(rt_done_ok, 1);
    close(fd);
    rt_join_all();
    frt_srv_stop(&s);
}

static const frt_case frt_cases[] = {
    FRT(test_pending_gets_504_and_late_send_is_dropped),
    FRT(test_pipelined_after_504),
    FRT(test_never_answered_freed_with_app),
    FRT(test_fast_and_prompt_unaffected),
    FRT(test_stream_not_cut),
    FRT(test_zero_means_none),
};
FRT_MAIN()
