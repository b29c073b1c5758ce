/* Streamed responses and output flow control (src/server.c fr_res_stream_*):
 * a write never blocks (FR_STREAM_FULL above stream_high_water), the
 * producer resumes on FR_STREAM_DRAINED (after a FULL, at low water, on the
 * loop thread), FR_STREAM_GONE tells it the client left, fr_res_stream_wait
 * serves producers with a thread of their own, a client that stops reading
 * is dropped after send_timeout_ms and one that trickles below
 * min_send_rate too, while other routes keep answering.
 * Live servers on 127.0.0.1; every socket has a timeout; every wait loop is
 * bounded. */
#define FRT_NET 1
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv */

#include <pthread.h>
#include <stdatomic.h>

#define HIGH 65536
#define PIECE 16384

static unsigned char pat(uint64_t i) { return (unsigned char)((i * 7 + i / 251) % 251); }

/* ---- server ---- */

static int h_ping(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_json(req, 200, "{\"pong\":1}", 10);
}

/* one stream at a time per test; the state the callbacks record */
static struct {
    fr_req *req;
    uint64_t total, made;      /* bytes to produce / produced */
    atomic_int full, drained, gone, ended, done, done_ok, bad_order, wait_rc, wait_on_loop;
    char ev[256];              /* 'F' write said FULL, 'D' drained, 'G' gone, 'E' ended */
    atomic_int nev;
    char last;                 /* the latest event (the first 255 are kept in ev) */
    size_t max_queued_at_full;
} st;

static void ev_add(char c) {
    int i = atomic_fetch_add(&st.nev, 1);
    if (i < (int)sizeof st.ev - 1) st.ev[i] = c;
    st.last = c;
}

static void on_done(fr_req *req, int ok, void *ud) {
    (void)req;
    (void)ud;
    atomic_store(&st.done_ok, ok);
    atomic_store(&st.done, 1);
}

/* Write the next piece of the pattern: fr_res_stream_write's answer. */
static int put_piece(fr_req *req) {
    unsigned char buf[PIECE];
    size_t n = st.total - st.made < PIECE ? (size_t)(st.total - st.made) : PIECE, k;
    int r;
    for (k = 0; k < n; k++) buf[k] = pat(st.made + k);
    r = fr_res_stream_write(req, buf, n);
    if (r >= 0) st.made += n;
    return r;
}

/* Produce until FULL or the end. 1 when the stream was ended. */
static int produce(fr_req *req) {
    while (st.made < st.total) {
        int r = put_piece(req);
        if (r < 0) break;
        if (r == FR_STREAM_FULL) {
            ev_add('F');
            atomic_fetch_add(&st.full, 1);
            return 0;
        }
    }
    ev_add('E');
    atomic_store(&st.ended, 1);
    fr_res_stream_end(req);
    return 1;
}

static void on_event(fr_req *req, int event, void *ud) {
    (void)ud;
    if (event == FR_STREAM_GONE) {
        ev_add('G');
        atomic_store(&st.gone, 1);
        atomic_store(&st.ended, 1);
        fr_res_stream_end(req);
        return;
    }
    if (st.last != 'F') atomic_store(&st.bad_order, 1); /* DRAINED only after FULL */
    ev_add('D');
    atomic_fetch_add(&st.drained, 1);
    produce(req);
}

/* Event-driven producer on the loop thread: content-length set, so the body
 * is raw (byte-exact on the wire). */
static int h_events(fr_req *req, void *ud) {
    char cl[32];
    (void)ud;
    st.req = req;
    fr_req_on_done(req, on_done, NULL);
    snprintf(cl, sizeof cl, "%llu", (unsigned long long)st.total);
    fr_res_header(req, "content-length", cl);
    fr_res_stream_on_drain(req, on_event, NULL);
    if (fr_res_stream_begin(req) < 0) abort();
    atomic_store(&st.wait_on_loop, fr_res_stream_wait(req, 10));
    produce(req);
    return FR_PENDING;
}

/* Producer on a thread of its own: blocks in fr_res_stream_wait. */
static void *wait_producer(void *arg) {
    fr_req *req = (fr_req *)arg;
    int r = 0;
    while (st.made < st.total && r >= 0) {
        r = put_piece(req);
        if (r == FR_STREAM_FULL) {
            atomic_fetch_add(&st.full, 1);
            r = fr_res_stream_wait(req, 10000);
            if (r != 0) atomic_store(&st.wait_rc, r);
            if (r > 0) r = -1;
        }
    }
    atomic_store(&st.ended, 1);
    fr_res_stream_end(req);
    return NULL;
}

static int h_waiting(fr_req *req, void *ud) {
    char cl[32];
    pthread_t t;
    (void)ud;
    fr_req_on_done(req, on_done, NULL);
    snprintf(cl, sizeof cl, "%llu", (unsigned long long)st.total);
    fr_res_header(req, "content-length", cl);
    if (fr_res_stream_begin(req) < 0) abort();
    if (pthread_create(&t, NULL, wait_producer, req) != 0) abort();
    pthread_detach(t);
    return FR_PENDING;
}

/* Producer thread that never waits: FULL must come back at once. */
static void *greedy_producer(void *arg) {
    fr_req *req = (fr_req *)arg;
    unsigned char buf[PIECE];
    int i;
    memset(buf, 'x', sizeof buf);
    for (i = 0; i < 4096; i++) { /* 64 MiB at most */
        int r = fr_res_stream_write(req, buf, sizeof buf);
        if (r < 0) break;
        if (r == FR_STREAM_FULL) {
            atomic_fetch_add(&st.full, 1);
            return NULL; /* parked: GONE (or DRAINED) comes by the callback */
        }
    }
    atomic_store(&st.ended, 1);
    fr_res_stream_end(req);
    return NULL;
}

/* GONE ends the stream; DRAINED (the kernel took the queue: the client
 * need not read for that) resumes on the loop thread until FULL again. */
static void on_event_greedy(fr_req *req, int event, void *ud) {
    unsigned char buf[PIECE];
    int i;
    (void)ud;
    if (event == FR_STREAM_GONE) {
        atomic_store(&st.gone, 1);
        atomic_store(&st.ended, 1);
        fr_res_stream_end(req);
        return;
    }
    atomic_fetch_add(&st.drained, 1);
    memset(buf, 'x', sizeof buf);
    for (i = 0; i < 4096; i++) {
        int r = fr_res_stream_write(req, buf, sizeof buf);
        if (r < 0) return; /* GONE follows */
        if (r == FR_STREAM_FULL) {
            atomic_fetch_add(&st.full, 1);
            return;
        }
    }
}

static int h_greedy(fr_req *req, void *ud) {
    pthread_t t;
    (void)ud;
    fr_req_on_done(req, on_done, NULL);
    fr_res_stream_on_drain(req, on_event_greedy, NULL);
    if (fr_res_stream_begin(req) < 0) abort();
    if (pthread_create(&t, NULL, greedy_producer, req) != 0) abort();
    pthread_detach(t);
    return FR_PENDING;
}

/* /abort: two pieces, then the producer fails (fr_res_stream_abort); /two:
 * the same pieces, ended normally */
static int h_two(fr_req *req, void *ud) {
    fr_res_status(req, 200);
    if (fr_res_stream_begin(req) < 0) return 0;
    fr_res_stream_write(req, "one\n", 4);
    fr_res_stream_write(req, "two\n", 4);
    if (ud) fr_res_stream_abort(req);
    fr_res_stream_end(req);
    return 0;
}

/* /len/N: a stream that declares content-length N and writes "one\n" and
 * "two\n"; what each write answered goes to st_len_rc */
static int st_len_rc[2];
static int h_len(fr_req *req, void *ud) {
    fr_res_status(req, 200);
    fr_res_header(req, "content-length", (const char *)ud);
    if (fr_res_stream_begin(req) < 0) return 0;
    st_len_rc[0] = fr_res_stream_write(req, "one\n", 4);
    st_len_rc[1] = fr_res_stream_write(req, "two\n", 4);
    fr_res_stream_end(req);
    return 0;
}

static int srv_start(frt_srv *s, int send_timeout_ms, int min_rate) {
    fr_config cfg;
    (void)frt_guarded; /* frtest.h helpers this file has no use for */
    (void)frt_guarded_free;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1; /* one loop: anything blocking it would stall /ping */
    cfg.no_signals = 1;
    cfg.stream_high_water = HIGH;
    cfg.send_timeout_ms = send_timeout_ms;
    cfg.min_send_rate = min_rate;
    memset(&st, 0, sizeof st);
    s->app = fr_app_new(&cfg);
    if (!s->app) return -1;
    fr_route(s->app, "GET", "/ping", h_ping, NULL);
    fr_route(s->app, "GET", "/events", h_events, NULL);
    fr_route(s->app, "GET", "/waiting", h_waiting, NULL);
    fr_route(s->app, "GET", "/greedy", h_greedy, NULL);
    fr_route(s->app, "GET", "/abort", h_two, (void *)1);
    fr_route(s->app, "GET", "/two", h_two, NULL);
    fr_route(s->app, "GET", "/len/8", h_len, (void *)"8");
    fr_route(s->app, "GET", "/len/6", h_len, (void *)"6");
    fr_route(s->app, "GET", "/len/20", h_len, (void *)"20");
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return frt_srv_run(s);
}

/* ---- client ---- */

static int cli_get(int fd, const char *path) {
    char r[256];
    int n = snprintf(r, sizeof r, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    return send(fd, r, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -1;
}

/* /ping on a fresh connection: ms until the answer came, -1 on failure */
static int ping_ms(int port) {
    char r[512];
    size_t got = 0;
    int64_t t0 = frt_now_ms();
    int fd = frt_connect(port, 0), ok = 0;
    if (fd < 0) return -1;
    if (cli_get(fd, "/ping") == 0) {
        while (got < sizeof r - 1) {
            ssize_t n = recv(fd, r + got, sizeof r - 1 - got, 0);
            if (n <= 0) break;
            got += (size_t)n;
            r[got] = 0;
            if (strstr(r, "{\"pong\":1}")) {
                ok = 1;
                break;
            }
        }
    }
    close(fd);
    return ok ? (int)(frt_now_ms() - t0) : -1;
}

/* Read the head and `total` body bytes; 1 when they match pat(). */
static int read_exact(int fd, uint64_t total, int delay_first_ms) {
    static char buf[65536];
    size_t hl = 0;
    uint64_t off = 0;
    char *e;
    int bad = 0;
    if (delay_first_ms) frt_sleep_ms(delay_first_ms);
    for (;;) { /* head */
        ssize_t n = recv(fd, buf + hl, 1, 0);
        if (n <= 0) return 0;
        hl++;
        if (hl >= 4 && memcmp(buf + hl - 4, "\r\n\r\n", 4) == 0) break;
        if (hl >= sizeof buf - 1) return 0;
    }
    buf[hl] = 0;
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0) return 0;
    e = strstr(buf, "content-length: ");
    if (!e || strtoull(e + 16, NULL, 10) != total) return 0;
    while (off < total) {
        size_t want = total - off < sizeof buf ? (size_t)(total - off) : sizeof buf, k;
        ssize_t n = recv(fd, buf, want, 0);
        if (n <= 0) return 0;
        for (k = 0; k < (size_t)n; k++)
            if ((unsigned char)buf[k] != pat(off + k)) bad = 1;
        off += (uint64_t)n;
    }
    return !bad;
}

static int wait_flag(atomic_int *f, int ms) {
    int64_t end = frt_now_ms() + ms;
    while (!atomic_load(f) && frt_now_ms() < end) frt_sleep_ms(5);
    return atomic_load(f);
}

/* ---- tests ---- */

/* A producer thread writing to a client that reads nothing gets FULL at
 * once instead of blocking; /ping keeps answering on the one loop thread;
 * the client is dropped after send_timeout_ms without progress (reset) and
 * GONE reaches the producer, on_done(ok = 0). */
static void test_nonreading_client(void) {
    frt_srv s;
    int fd, ms, i;
    int64_t t0;
    REQ(srv_start(&s, 500, -1) == 0);
    fd = frt_connect(s.port, 4096);
    REQ(fd >= 0);
    REQ(cli_get(fd, "/greedy") == 0);
    CHECK(wait_flag(&st.full, 3000));
    CHECK(!atomic_load(&st.ended)); /* it stopped at FULL, not at the end */
    for (i = 0; i < 3; i++) {
        ms = ping_ms(s.port);
        CHECK(ms >= 0 && ms < 2000);
    }
    t0 = frt_now_ms();
    CHECK(wait_flag(&st.gone, 5000));
    CHECK(frt_now_ms() - t0 < 5000);
    CHECK(wait_flag(&st.done, 2000));
    CHECK_EQ_INT(atomic_load(&st.done_ok), 0);
    {
        char b[4096];
        ssize_t n;
        int64_t t1 = frt_now_ms();
        do n = recv(fd, b, sizeof b, 0); /* what the kernel had, then the reset */
        while (n > 0 && frt_now_ms() - t1 < 5000);
        CHECK(n <= 0);
    }
    close(fd);
    frt_srv_stop(&s);
}

/* Loop-thread producer driven only by events: F before every D, all bytes
 * arrive byte-exact, fr_res_stream_wait refuses the loop thread. */
static void test_drain_order_and_content(void) {
    frt_srv s;
    int fd, i, nev;
    uint64_t made;
    REQ(srv_start(&s, 0, 0) == 0);
    st.total = (uint64_t)64 << 20;
    fd = frt_connect(s.port, 8192);
    REQ(fd >= 0);
    REQ(cli_get(fd, "/events") == 0);
    CHECK(wait_flag(&st.full, 3000));
    /* the client reads nothing yet: production stalls at what the kernel's
     * buffers and the high-water mark hold, far below the 64 MiB. Wait for
     * the stall (no progress over 200 ms; up to 5 s on a loaded machine) */
    made = st.made; /* the loop thread's counter, read while it is stalled */
    for (i = 0; i < 25; i++) {
        frt_sleep_ms(200);
        if (st.made == made) break;
        made = st.made;
    }
    CHECK(made < ((uint64_t)16 << 20));
    CHECK(st.made == made);
    CHECK(read_exact(fd, st.total, 0));
    CHECK(wait_flag(&st.done, 3000));
    CHECK_EQ_INT(atomic_load(&st.done_ok), 1);
    CHECK(atomic_load(&st.drained) >= 1);
    CHECK_EQ_INT(atomic_load(&st.bad_order), 0);
    CHECK_EQ_INT(atomic_load(&st.gone), 0);
    CHECK_EQ_INT(atomic_load(&st.wait_on_loop), -1);
    nev = atomic_load(&st.nev);
    REQ(nev > 2);
    CHECK(st.ev[0] == 'F');
    CHECK(st.last == 'E');
    for (i = 1; i < nev && i < (int)sizeof st.ev - 1; i++)
        if (st.ev[i] == 'D') CHECK(st.ev[i - 1] == 'F');
    close(fd);
    frt_srv_stop(&s);
}

/* A dedicated producer thread blocks in fr_res_stream_wait (not in write);
 * the content is exact and the waits came back 0. */
static void test_wait_producer(void) {
    frt_srv s;
    int fd;
    REQ(srv_start(&s, 0, 0) == 0);
    st.total = (uint64_t)32 << 20;
    fd = frt_connect(s.port, 8192);
    REQ(fd >= 0);
    REQ(cli_get(fd, "/waiting") == 0);
    CHECK(wait_flag(&st.full, 5000)); /* the producer meets high water, then waits */
    CHECK(read_exact(fd, st.total, 0));
    CHECK(wait_flag(&st.done, 3000));
    CHECK_EQ_INT(atomic_load(&st.done_ok), 1);
    CHECK(atomic_load(&st.full) >= 1);
    CHECK_EQ_INT(atomic_load(&st.wait_rc), 0);
    close(fd);
    frt_srv_stop(&s);
}

/* Read a trickle (4 KiB every 10 ms, ~400 KB/s) for at most `ms`: ms until
 * the server closed the connection, or -1 if it stayed open. */
static int trickle(int fd, int ms) {
    char buf[4096];
    int64_t t0 = frt_now_ms();
    while (frt_now_ms() - t0 < ms) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return (int)(frt_now_ms() - t0);
        frt_sleep_ms(10);
    }
    return -1;
}

/* A trickling reader is ended by min_send_rate (GONE, on_done ok = 0);
 * with the rate off the same reader is still served (the deadline is the
 * rate, not a plain timeout). */
static void test_trickle_reader_ended(void) {
    frt_srv s;
    int fd, t;
    REQ(srv_start(&s, 1000, 1000000) == 0); /* 1 MB/s over 1 s windows */
    st.total = (uint64_t)64 << 20;
    fd = frt_connect(s.port, 4096);
    REQ(fd >= 0);
    REQ(cli_get(fd, "/events") == 0);
    t = trickle(fd, 8000);
    CHECK(t >= 0 && t < 5000); /* reset by the server */
    CHECK(wait_flag(&st.gone, 3000));
    CHECK(wait_flag(&st.done, 3000));
    CHECK_EQ_INT(atomic_load(&st.done_ok), 0);
    close(fd);
    frt_srv_stop(&s);

    REQ(srv_start(&s, 1000, -1) == 0); /* any progress will do */
    st.total = (uint64_t)64 << 20;
    fd = frt_connect(s.port, 4096);
    REQ(fd >= 0);
    REQ(cli_get(fd, "/events") == 0);
    CHECK_EQ_INT(trickle(fd, 3000), -1);
    CHECK_EQ_INT(atomic_load(&st.gone), 0);
    close(fd);
    CHECK(wait_flag(&st.gone, 3000)); /* the close is noticed: GONE */
    frt_srv_stop(&s);
}

/* A failed producer: the pieces made, no terminal chunk, the connection
 * closed (asked with keep-alive; the pipelined second request is never
 * answered); the same stream ended normally keeps both and the connection. */
static void test_abort_cuts_without_terminal_chunk(void) {
    frt_srv s;
    static char out[4096];
    size_t n;
    int fd;
    const char *two = "GET /two HTTP/1.1\r\nHost: t\r\n\r\n";
    const char *abrt = "GET /abort HTTP/1.1\r\nHost: t\r\n\r\n";
    REQ(srv_start(&s, 0, 0) == 0);
    fd = frt_connect(s.port, 0);
    REQ(fd >= 0);
    REQ(frt_send_all(fd, abrt, strlen(abrt)) == 0 && frt_send_all(fd, two, strlen(two)) == 0);
    n = frt_recv_all(fd, out, sizeof out - 1); /* until the server closes */
    out[n] = 0;
    close(fd);
    CHECK(strncmp(out, "HTTP/1.1 200", 12) == 0);
    CHECK(strstr(out, "\r\n\r\n4\r\none\n\r\n4\r\ntwo\n\r\n") != NULL);
    CHECK(strstr(out, "0\r\n\r\n") == NULL);
    CHECK(strstr(out + 12, "HTTP/1.1") == NULL); /* the pipelined request: not served */
    /* ended normally: terminal chunk, kept alive for the next request */
    fd = frt_connect(s.port, 0);
    REQ(fd >= 0);
    {
        const char *last = "GET /two HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        REQ(frt_send_all(fd, two, strlen(two)) == 0 && frt_send_all(fd, last, strlen(last)) == 0);
    }
    n = frt_recv_all(fd, out, sizeof out - 1);
    out[n] = 0;
    close(fd);
    {
        const char *a = strstr(out, "4\r\ntwo\n\r\n0\r\n\r\nHTTP/1.1 200");
        CHECK(a != NULL);
        CHECK(a && strstr(a + 10, "4\r\ntwo\n\r\n0\r\n\r\n") != NULL);
    }
    frt_srv_stop(&s);
}

/* A stream with a declared content-length is framed by it (no chunks) and
 * keeps the connection when it writes exactly that; one that writes more
 * gets -1 for the write that would pass the length (nothing of it is sent),
 * one that writes less is cut at its end: either way the connection closes
 * (uvicorn's "Response content longer/shorter than Content-Length"), so the
 * pipelined request behind it is never answered with stray bytes before it. */
static void test_declared_length_stream(void) {
    static const struct {
        const char *path, *body;
        int rc1, kept;
    } cases[] = {
        {"/len/8", "one\ntwo\n", 0, 1},
        {"/len/6", "one\n", -1, 0},
        {"/len/20", "one\ntwo\n", 0, 0},
    };
    frt_srv s;
    static char out[4096], req[256];
    size_t i, n;
    REQ(srv_start(&s, 0, 0) == 0);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *body;
        int fd = frt_connect(s.port, 0);
        REQ(fd >= 0);
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: t\r\n\r\nGET /two HTTP/1.1\r\nHost: t\r\n"
                 "Connection: close\r\n\r\n", cases[i].path);
        REQ(frt_send_all(fd, req, strlen(req)) == 0);
        n = frt_recv_all(fd, out, sizeof out - 1); /* until the server closes */
        out[n] = 0;
        close(fd);
        CHECK(strncmp(out, "HTTP/1.1 200", 12) == 0);
        body = strstr(out, "\r\n\r\n");
        REQ(body != NULL);
        body += 4;
        {
            const char *te = strstr(out, "transfer-encoding"); /* not in the first head */
            CHECK(te == NULL || te > body);
        }
        CHECK(st_len_rc[0] == 0 && st_len_rc[1] == cases[i].rc1);
        if (cases[i].kept) { /* the next answer follows the declared body */
            CHECK(strncmp(body, cases[i].body, strlen(cases[i].body)) == 0);
            CHECK(strncmp(body + strlen(cases[i].body), "HTTP/1.1 200", 12) == 0);
        } else {
            CHECK(strcmp(body, cases[i].body) == 0);
        }
    }
    frt_srv_stop(&s);
}

static const frt_case frt_cases[] = {
    FRT(test_declared_length_stream),
    FRT(test_abort_cuts_without_terminal_chunk),
    FRT(test_nonreading_client),
    FRT(test_drain_order_and_content),
    FRT(test_wait_producer),
    FRT(test_trickle_reader_ended),
};
FRT_MAIN()
