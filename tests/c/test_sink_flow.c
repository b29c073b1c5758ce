/* Flow control of requests from memory: fr_dispatch_flow's paused callback
 * and fr_sink_resume. A sink that answers FR_STREAM_FULL pauses a file body
 * (no further reads until resumed) and a stream (its producer gets
 * FR_STREAM_DRAINED / fr_res_stream_wait returns only on resume); resume
 * as gone ends either with the sink's last call and on_done ok = 0; the
 * request outlives a stream that ends while paused; nothing is lost. */
#define FRT_NET 1
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>

/* ---- the sink ---- */

typedef struct fs {
    pthread_mutex_t mu;
    int starts, bodies, finals, order_bad;
    int full_every;    /* answer FR_STREAM_FULL to every n-th more = 1 call; 0 never */
    int paused_calls;  /* paused() calls */
    fr_req *pending;   /* the request of a paused() not resumed yet */
    int done_calls, done_ok;
    fr_buf body;
} fs;

static void fs_init(fs *t, int full_every) {
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->mu, NULL);
    t->full_every = full_every;
}

static void fs_free(fs *t) {
    fr_buf_free(&t->body);
    pthread_mutex_destroy(&t->mu);
}

static int fs_get(fs *t, const int *v) {
    int r;
    pthread_mutex_lock(&t->mu);
    r = *v;
    pthread_mutex_unlock(&t->mu);
    return r;
}

static void fs_start(void *ud, int status, const fr_header *h, size_t n) {
    fs *t = (fs *)ud;
    (void)status;
    (void)h;
    (void)n;
    pthread_mutex_lock(&t->mu);
    if (t->starts || t->bodies) t->order_bad = 1;
    t->starts++;
    pthread_mutex_unlock(&t->mu);
}

static int fs_body(void *ud, const char *data, size_t len, int more) {
    fs *t = (fs *)ud;
    int rc = 0;
    pthread_mutex_lock(&t->mu);
    if (!t->starts || t->finals) t->order_bad = 1;
    t->bodies++;
    if (len) fr_buf_append(&t->body, data, len);
    if (!more) t->finals++;
    else if (t->full_every && t->bodies % t->full_every == 0) rc = FR_STREAM_FULL;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static void fs_paused(void *ud, fr_req *req) {
    fs *t = (fs *)ud;
    pthread_mutex_lock(&t->mu);
    if (t->pending || !req) t->order_bad = 1; /* one pause at a time */
    t->pending = req;
    t->paused_calls++;
    pthread_mutex_unlock(&t->mu);
}

/* the pending paused request, waited for (bounded); NULL if none came */
static fr_req *fs_take(fs *t) {
    int i;
    for (i = 0; i < 500; i++) {
        fr_req *r;
        pthread_mutex_lock(&t->mu);
        r = t->pending;
        t->pending = NULL;
        pthread_mutex_unlock(&t->mu);
        if (r) return r;
        frt_sleep_ms(10);
    }
    return NULL;
}

static int fs_wait(fs *t, const int *v, int want) {
    int i;
    for (i = 0; i < 500; i++) {
        if (fs_get(t, v) >= want) return 1;
        frt_sleep_ms(10);
    }
    return 0;
}

static void on_done(fr_req *req, int ok, void *ud) {
    fs *t = (fs *)ud;
    (void)req;
    pthread_mutex_lock(&t->mu);
    t->done_calls++;
    t->done_ok = ok;
    pthread_mutex_unlock(&t->mu);
}

static int dispatch(fr_app *app, const char *target, fs *t, int flow) {
    fr_request_desc d;
    fr_sink s = {fs_start, fs_body, NULL};
    memset(&d, 0, sizeof d);
    d.method = fr_str_c("GET");
    d.target = fr_str_c(target);
    s.ud = t;
    return flow ? fr_dispatch_flow(app, &d, &s, fs_paused) : fr_dispatch(app, &d, &s);
}

/* ---- a file body ---- */

#define FILE_LEN (5 * 65536 + 123) /* six pieces */
static char file_path[64];
static char file_data[FILE_LEN];
static int file_fd = -1; /* the descriptor the handler handed over */

static int make_file(void) {
    int fd, i;
    for (i = 0; i < FILE_LEN; i++) file_data[i] = (char)('a' + (i * 7 + i / 251) % 26);
    snprintf(file_path, sizeof file_path, "/tmp/frt_sink_flow_%d", (int)getpid());
    fd = open(file_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0) return -1;
    if (write(fd, file_data, FILE_LEN) != FILE_LEN) {
        close(fd);
        return -1;
    }
    return close(fd);
}

static int h_file(fr_req *req, void *ud) {
    int fd = open(file_path, O_RDONLY);
    fr_req_on_done(req, on_done, ud);
    file_fd = fd;
    if (fd < 0) {
        fr_res_status(req, 500);
        return FR_DONE;
    }
    fr_res_file(req, fd, 0, FILE_LEN, 1);
    return FR_DONE;
}

/* ---- a stream, produced on a thread of its own ---- */

typedef struct producer {
    fr_req *req;
    pthread_t thr;
    int pieces;     /* to write */
    int end_early;  /* end right after the first write, paused or not */
    int hold;       /* keep the stream open until `release` (under mu) */
    int release;
    /* results, under mu */
    pthread_mutex_t mu;
    int writes, write_fail, waits, wait_bad, end_rc;
    int drained, gone, ended;
} producer;

static producer prod;

static int prod_get(const int *v) {
    int r;
    pthread_mutex_lock(&prod.mu);
    r = *v;
    pthread_mutex_unlock(&prod.mu);
    return r;
}

static void prod_event(fr_req *req, int ev, void *ud) {
    producer *p = (producer *)ud;
    (void)req;
    pthread_mutex_lock(&p->mu);
    if (ev == FR_STREAM_DRAINED) p->drained++;
    if (ev == FR_STREAM_GONE) p->gone++;
    if (p->ended) p->wait_bad = 1; /* no event after end returned */
    pthread_mutex_unlock(&p->mu);
}

static void *prod_main(void *arg) {
    producer *p = (producer *)arg;
    char piece[1000];
    int i, end_rc;
    for (i = 0; i < p->pieces; i++) {
        int w, k;
        for (k = 0; k < (int)sizeof piece; k++) piece[k] = (char)('A' + (i + k) % 26);
        w = fr_res_stream_write(p->req, piece, sizeof piece);
        pthread_mutex_lock(&p->mu);
        p->writes++;
        if (w < 0) p->write_fail++;
        pthread_mutex_unlock(&p->mu);
        if (w < 0) break;
        if (p->end_early) break;
        if (w == FR_STREAM_FULL) {
            int r = fr_res_stream_wait(p->req, 5000);
            pthread_mutex_lock(&p->mu);
            p->waits++;
            if (r == -1) p->write_fail++;
            else if (r != 0) p->wait_bad = 1;
            pthread_mutex_unlock(&p->mu);
            if (r < 0) {
                i++; /* one more write after the client left: -1, no sink call */
                w = fr_res_stream_write(p->req, piece, sizeof piece);
                pthread_mutex_lock(&p->mu);
                p->writes++;
                if (w == -1) p->write_fail++;
                pthread_mutex_unlock(&p->mu);
                break;
            }
        }
    }
    while (p->hold && !prod_get(&p->release)) frt_sleep_ms(5);
    end_rc = fr_res_stream_end(p->req);
    pthread_mutex_lock(&p->mu);
    p->end_rc = end_rc;
    p->ended = 1;
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int h_stream(fr_req *req, void *ud) {
    fr_req_on_done(req, on_done, ud);
    fr_res_header(req, "content-type", "text/plain");
    if (fr_res_stream_begin(req) < 0) return FR_DONE;
    fr_res_stream_on_drain(req, prod_event, &prod);
    prod.req = req;
    if (pthread_create(&prod.thr, NULL, prod_main, &prod) != 0) {
        fr_res_stream_end(req);
        return FR_DONE;
    }
    return FR_PENDING;
}

static void prod_reset(int pieces) {
    memset(&prod, 0, sizeof prod);
    pthread_mutex_init(&prod.mu, NULL);
    prod.pieces = pieces;
    prod.end_rc = 99;
}

/* the stream's expected bytes: `pieces` pieces of 1000 */
static int stream_is(const fr_buf *b, int pieces) {
    int i, k;
    if (b->len != (size_t)pieces * 1000) return 0;
    for (i = 0; i < pieces; i++)
        for (k = 0; k < 1000; k++)
            if (b->buf[i * 1000 + k] != (char)('A' + (i + k) % 26)) return 0;
    return 1;
}

static fr_app *make(fs *t) {
    fr_app *app = fr_app_new(NULL);
    if (!app) return NULL;
    if (fr_route(app, "GET", "/file", h_file, t) < 0 || fr_route(app, "GET", "/stream", h_stream, t) < 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

/* ---- tests ---- */

/* every piece answered FULL: the file stops after each, until resumed */
static void test_file_paused_resumed(void) {
    fs t;
    fr_app *app;
    int rounds = 0;
    REQ(make_file() == 0);
    fs_init(&t, 1);
    app = make(&t);
    REQ(app != NULL);
    CHECK_EQ_INT(dispatch(app, "/file", &t, 1), 0);
    while (!fs_get(&t, &t.finals) && rounds < 20) {
        fr_req *r;
        int before = fs_get(&t, &t.bodies);
        CHECK_EQ_INT(fs_get(&t, &t.done_calls), 0);
        frt_sleep_ms(5);
        CHECK_EQ_INT(fs_get(&t, &t.bodies), before); /* nothing read meanwhile */
        r = fs_take(&t);
        REQUIRE(r != NULL);
        fr_sink_resume(r, 0);
        rounds++;
    }
    CHECK_EQ_INT(rounds, 5);
    CHECK_EQ_INT(t.paused_calls, 5); /* not after the last piece (more = 0) */
    CHECK_EQ_INT(t.bodies, 6);
    CHECK_EQ_INT(t.finals, 1);
    CHECK_EQ_INT(t.order_bad, 0);
    CHECK(t.body.len == FILE_LEN && memcmp(t.body.buf, file_data, FILE_LEN) == 0);
    CHECK(fs_wait(&t, &t.done_calls, 1));
    CHECK_EQ_INT(t.done_ok, 1);
    CHECK(fcntl(file_fd, F_GETFD) == -1 && errno == EBADF); /* closed with the request */
    fr_app_free(app);
    fs_free(&t);
    unlink(file_path);
}

/* resumed as gone: no further read, the last call, on_done ok = 0 */
static void test_file_gone(void) {
    fs t;
    fr_app *app;
    fr_req *r;
    REQ(make_file() == 0);
    fs_init(&t, 1);
    app = make(&t);
    REQ(app != NULL);
    CHECK_EQ_INT(dispatch(app, "/file", &t, 1), 0);
    r = fs_take(&t);
    REQUIRE(r != NULL);
    CHECK_EQ_INT(t.bodies, 1);
    fr_sink_resume(r, 1);
    CHECK_EQ_INT(t.bodies, 2);
    CHECK_EQ_INT(t.finals, 1);
    CHECK_EQ_INT(t.body.len, 65536);
    CHECK_EQ_INT(t.paused_calls, 1);
    CHECK_EQ_INT(t.order_bad, 0);
    CHECK(fs_wait(&t, &t.done_calls, 1));
    CHECK_EQ_INT(t.done_ok, 0);
    CHECK(fcntl(file_fd, F_GETFD) == -1 && errno == EBADF);
    fr_app_free(app);
    fs_free(&t);
    unlink(file_path);
}

/* plain fr_dispatch: FULL answers do not pause a file (as before) */
static void test_file_without_flow(void) {
    fs t;
    fr_app *app;
    REQ(make_file() == 0);
    fs_init(&t, 1);
    app = make(&t);
    REQ(app != NULL);
    CHECK_EQ_INT(dispatch(app, "/file", &t, 0), 0);
    CHECK_EQ_INT(t.finals, 1);
    CHECK_EQ_INT(t.paused_calls, 0);
    CHECK(t.body.len == FILE_LEN && memcmp(t.body.buf, file_data, FILE_LEN) == 0);
    CHECK(fs_wait(&t, &t.done_calls, 1));
    CHECK_EQ_INT(t.done_ok, 1);
    fr_app_free(app);
    fs_free(&t);
    unlink(file_path);
}

/* a stream: the producer waits in fr_res_stream_wait (and gets DRAINED)
 * until each resume; every byte arrives */
static void test_stream_paced(void) {
    fs t;
    fr_app *app;
    int rounds = 0;
    prod_reset(12);
    fs_init(&t, 3);
    app = make(&t);
    REQ(app != NULL);
    CHECK_EQ_INT(dispatch(app, "/stream", &t, 1), 0);
    while (rounds < 10) {
        fr_req *r = fs_take(&t);
        int w;
        if (!r) break;
        w = prod_get(&prod.writes);
        frt_sleep_ms(20);
        CHECK_EQ_INT(prod_get(&prod.writes), w); /* the producer waits */
        CHECK_EQ_INT(fs_get(&t, &t.done_calls), 0);
        fr_sink_resume(r, 0);
        rounds++;
        if (w == 12) break;
    }
    pthread_join(prod.thr, NULL);
    CHECK_EQ_INT(rounds, 4); /* the 3rd, 6th, 9th and 12th write */
    CHECK_EQ_INT(t.paused_calls, 4);
    CHECK_EQ_INT(prod.writes, 12);
    CHECK_EQ_INT(prod.waits, 4);
    CHECK_EQ_INT(prod.write_fail, 0);
    CHECK_EQ_INT(prod.wait_bad, 0);
    /* DRAINED for each resume, except that the last may find the stream
     * ended: the producer's wait returned at the resume and it ended first */
    CHECK(prod.drained == 3 || prod.drained == 4);
    CHECK_EQ_INT(prod.gone, 0);
    CHECK_EQ_INT(prod.end_rc, 0);
    CHECK(fs_wait(&t, &t.finals, 1));
    CHECK(stream_is(&t.body, 12));
    CHECK_EQ_INT(t.order_bad, 0);
    CHECK(fs_wait(&t, &t.done_calls, 1));
    CHECK_EQ_INT(t.done_ok, 1);
    fr_app_free(app);
    fs_free(&t);
    pthread_mutex_destroy(&prod.mu);
}

/* resumed as gone: the producer's wait and next write fail without a sink
 * call, it gets GONE once, the sink its last call, on_done ok = 0 */
static void test_stream_gone(void) {
    fs t;
    fr_app *app;
    fr_req *r;
    prod_reset(12);
    fs_init(&t, 2);
    app = make(&t);
    REQ(app != NULL);
    CHECK_EQ_INT(dispatch(app, "/stream", &t, 1), 0);
    r = fs_take(&t);
    REQUIRE(r != NULL);
    fr_sink_resume(r, 1);
    pthread_join(prod.thr, NULL);
    CHECK_EQ_INT(prod.writes, 3); /* two taken, one refused */
    CHECK_EQ_INT(prod.write_fail, 2); /* the wait, then the write */
    CHECK_EQ_INT(prod.gone, 1);
    CHECK_EQ_INT(prod.drained, 0);
    CHECK_EQ_INT(prod.wait_bad, 0);
    CHECK_EQ_INT(prod.end_rc, -1);
    CHECK_EQ_INT(t.bodies, 3); /* two pieces and the last call */
    CHECK_EQ_INT(t.finals, 1);
    CHECK(stream_is(&t.body, 2));
    CHECK_EQ_INT(t.paused_calls, 1);
    CHECK_EQ_INT(t.order_bad, 0);
    CHECK(fs_wait(&t, &t.done_calls, 1));
    CHECK_EQ_INT(t.done_ok, 0);
    fr_app_free(app);
    fs_free(&t);
    pthread_mutex_destroy(&prod.mu);
}

/* the stream ends while paused: the sink gets its last call, the request
 * stays valid (on_done waits) until the resume, which then finishes it
 * without an event after the end */
static void test_stream_ends_while_paused(void) {
    fs t;
    fr_app *app;
    fr_req *r;
    prod_reset(1);
    prod.end_early = 1;
    fs_init(&t, 1);
    app = make(&t);
    REQ(app != NULL);
    CHECK_EQ_INT(dispatch(app, "/stream", &t, 1), 0);
    r = fs_take(&t);
    REQUIRE(r != NULL);
    pthread_join(prod.thr, NULL);
    CHECK_EQ_INT(prod.end_rc, 0);
    CHECK_EQ_INT(t.finals, 1);
    CHECK(stream_is(&t.body, 1));
    frt_sleep_ms(20);
    CHECK_EQ_INT(fs_get(&t, &t.done_calls), 0); /* held by the pause */
    CHECK_EQ_INT(fr_str_eq(fr_req_path(r), fr_str_c("/stream")), 1); /* still valid */
    fr_sink_resume(r, 0);
    CHECK(fs_wait(&t, &t.done_calls, 1));
    CHECK_EQ_INT(t.done_ok, 1);
    CHECK_EQ_INT(prod.drained + prod.gone, 0);
    CHECK_EQ_INT(prod.wait_bad, 0);
    fr_app_free(app);
    fs_free(&t);
    pthread_mutex_destroy(&prod.mu);
}

/* a resume without a pending pause is ignored (no event, nothing sent);
 * NULL is ignored */
static void test_resume_without_pause(void) {
    fs t;
    fr_app *app;
    prod_reset(2);
    prod.hold = 1;
    fs_init(&t, 0);
    app = make(&t);
    REQ(app != NULL);
    fr_sink_resume(NULL, 0);
    fr_sink_resume(NULL, 1);
    CHECK_EQ_INT(dispatch(app, "/stream", &t, 1), 0);
    CHECK(fs_wait(&t, &t.bodies, 2) || prod_get(&prod.writes) == 2);
    fr_sink_resume(prod.req, 1); /* not paused: not "gone" either */
    pthread_mutex_lock(&prod.mu);
    prod.release = 1;
    pthread_mutex_unlock(&prod.mu);
    pthread_join(prod.thr, NULL);
    CHECK_EQ_INT(prod.end_rc, 0);
    CHECK_EQ_INT(prod.drained + prod.gone, 0);
    CHECK_EQ_INT(t.paused_calls, 0);
    CHECK(stream_is(&t.body, 2));
    CHECK(fs_wait(&t, &t.done_calls, 1));
    CHECK_EQ_INT(t.done_ok, 1);
    fr_app_free(app);
    fs_free(&t);
    pthread_mutex_destroy(&prod.mu);
}

static const frt_case frt_cases[] = {
    FRT(test_file_paused_resumed), FRT(test_file_gone),        FRT(test_file_without_flow),
    FRT(test_stream_paced),        FRT(test_stream_gone),       FRT(test_stream_ends_while_paused),
    FRT(test_resume_without_pause),
};
FRT_MAIN()
