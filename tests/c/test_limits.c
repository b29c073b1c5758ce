/* Unit tests for policy.h (per-route rate limits, cached responses) and
 * metrics.h (Prometheus counters and histograms): the objects alone, then
 * on an fr_app through fr_dispatch, then shared across fork(). */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_got */

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

typedef frt_got got;
/* `method target` from client `ip` with one header (name NULL: none) into *g (zeroed first) */
static int get_h(fr_app *app, const char *method, const char *target, const char *ip, got *g,
                 const char *hname, const char *hvalue) {
    fr_request_desc d;
    fr_header h;
    fr_sink s;
    fr_buf_free(&g->body);
    memset(g, 0, sizeof *g);
    memset(&d, 0, sizeof d);
    d.method = fr_str_c(method);
    d.target = fr_str_c(target);
    d.client_addr = fr_str_c(ip);
    if (hname) {
        h.name = fr_str_c(hname);
        h.value = fr_str_c(hvalue);
        d.headers = &h;
        d.nheaders = 1;
    }
    s = frt_got_sink(g);
    return fr_dispatch(app, &d, &s);
}

static int get(fr_app *app, const char *method, const char *target, const char *ip, got *g) {
    return get_h(app, method, target, ip, g, NULL, NULL);
}

static int calls;
static int h_hello(fr_req *req, void *ud) {
    (void)ud;
    calls++;
    fr_res_header(req, "x-made", "by-handler");
    return fr_res_json(req, 200, "{\"Hello\":\"World\"}", 17);
}
static int h_cookie(fr_req *req, void *ud) {
    (void)ud;
    calls++;
    fr_res_header(req, "set-cookie", "s=1");
    return fr_res_json(req, 200, "{}", 2);
}
static int h_fail(fr_req *req, void *ud) {
    (void)ud;
    calls++;
    return fr_res_json(req, 503, "{}", 2);
}

/* ---- rate limiter alone ---- */

static void test_ratelimit_window(void) {
    fr_ratelimit_config cfg = {3, 0, 1};
    fr_err err = {0, NULL, 0};
    fr_ratelimit *rl = fr_ratelimit_new(&cfg, &err);
    REQUIRE(rl);
    CHECK_EQ_INT(fr_ratelimit_slots(rl), FR_RATELIMIT_CLIENTS);
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("1.2.3.4"), 5000), 0);
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("1.2.3.4"), 5100), 0);
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("1.2.3.4"), 5999), 0);
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("1.2.3.4"), 5999), 1); /* 4th in second 5 */
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("5.6.7.8"), 5999), 0); /* another client */
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("1.2.3.4"), 6000), 0); /* next second */
    CHECK_EQ_INT(fr_ratelimit_hit(NULL, FR_STR("x"), 0), -1);
    { /* the address is read within its length (right before a guard page) */
        char *g = (char *)frt_guarded("1.2.3.4", 7);
        fr_str a, e;
        a.buf = g;
        a.len = 7;
        e.buf = g;
        e.len = 0;
        CHECK_EQ_INT(fr_ratelimit_hit(rl, a, 6001), 0);
        CHECK_EQ_INT(fr_ratelimit_hit(rl, e, 6001), 0); /* empty: a client too */
        frt_guarded_free(g, 7);
    }
    fr_ratelimit_free(rl);
    fr_ratelimit_free(NULL);
}

static void test_ratelimit_refuses_bad_config(void) {
    fr_ratelimit_config zero = {0, 0, 1}, huge = {1, (size_t)FR_RATELIMIT_MAX_CLIENTS + 1, 1};
    fr_err err = {0, NULL, 0};
    CHECK(fr_ratelimit_new(&zero, &err) == NULL);
    CHECK(err.msg != NULL);
    CHECK(fr_ratelimit_new(NULL, &err) == NULL);
    CHECK(fr_ratelimit_new(&huge, &err) == NULL);
}

/* many more clients than slots: memory stays the table; counting still works */
static void test_ratelimit_bounded_table(void) {
    fr_ratelimit_config cfg = {1, 16, 1};
    fr_ratelimit *rl = fr_ratelimit_new(&cfg, NULL);
    char ip[32];
    int i, refused = 0;
    REQUIRE(rl);
    CHECK_EQ_INT(fr_ratelimit_slots(rl), 16);
    for (i = 0; i < 100000; i++) {
        snprintf(ip, sizeof ip, "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        if (fr_ratelimit_hit(rl, fr_str_c(ip), 1000) != 0) refused++;
    }
    CHECK_EQ_INT(refused, 0); /* every address is new: evictions, never a wrong refusal */
    CHECK_EQ_INT(fr_ratelimit_slots(rl), 16);
    /* a fresh client still gets exactly its budget */
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("192.0.2.1"), 1000), 0);
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("192.0.2.1"), 1000), 1);
    fr_ratelimit_free(rl);
}

typedef struct rl_thread {
    fr_ratelimit *rl;
    int allowed;
} rl_thread;

static void *rl_worker(void *arg) {
    rl_thread *t = (rl_thread *)arg;
    int i;
    for (i = 0; i < 1000; i++)
        if (fr_ratelimit_hit(t->rl, FR_STR("203.0.113.9"), 7000) == 0) t->allowed++;
    return NULL;
}

/* 4 threads, one client, one second: exactly per_second are allowed */
static void test_ratelimit_threads(void) {
    fr_ratelimit_config cfg = {50, 64, 1};
    rl_thread t[4];
    pthread_t th[4];
    int i, total = 0;
    memset(t, 0, sizeof t);
    t[0].rl = fr_ratelimit_new(&cfg, NULL);
    REQUIRE(t[0].rl);
    for (i = 0; i < 4; i++) {
        t[i].rl = t[0].rl;
        pthread_create(&th[i], NULL, rl_worker, &t[i]);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += t[i].allowed;
    }
    CHECK_EQ_INT(total, 50);
    fr_ratelimit_free(t[0].rl);
}

/* a shared limiter: a forked child's hits count for the parent too */
static void test_ratelimit_shared_fork(void) {
    fr_ratelimit_config cfg = {5, 0, 0};
    fr_ratelimit *rl = fr_ratelimit_new(&cfg, NULL);
    pid_t pid;
    int st = 0, i;
    REQUIRE(rl);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        for (i = 0; i < 3; i++) fr_ratelimit_hit(rl, FR_STR("198.51.100.7"), 9000);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("198.51.100.7"), 9000), 0); /* 4 */
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("198.51.100.7"), 9000), 0); /* 5 */
    CHECK_EQ_INT(fr_ratelimit_hit(rl, FR_STR("198.51.100.7"), 9000), 1); /* 6: refused */
    fr_ratelimit_free(rl);
}

/* ---- policies on an app ---- */

static void test_policy_rate_limit_app(void) {
    fr_app *app = fr_app_new(NULL);
    fr_ratelimit_config cfg = {2, 0, 1};
    fr_ratelimit *rl = fr_ratelimit_new(&cfg, NULL);
    fr_policies *p;
    got g;
    memset(&g, 0, sizeof g);
    REQUIRE(app && rl);
    REQUIRE(fr_route(app, "GET", "/limited", h_hello, NULL) == 0);
    REQUIRE(fr_route(app, "GET", "/free", h_hello, NULL) == 0);
    p = fr_app_use_policies(app);
    REQUIRE(p);
    CHECK_EQ_INT(fr_policies_rate_limit(p, "get", "/limited", rl), 0);
    CHECK_EQ_INT(fr_policies_rate_limit(p, "GET", NULL, rl), -1);
    CHECK_EQ_INT(fr_policies_rate_limit(p, "GET", "/x", NULL), -1);
    fr_ratelimit_free(rl); /* the app holds its own reference */
    calls = 0;
    get(app, "GET", "/limited", "10.0.0.1", &g);
    CHECK_EQ_INT(g.status, 200);
    get(app, "GET", "/limited", "10.0.0.1", &g);
    CHECK_EQ_INT(g.status, 200);
    get(app, "GET", "/limited", "10.0.0.1", &g);
    /* the third may land in the next second on a slow machine; retry once */
    if (g.status == 200) {
        get(app, "GET", "/limited", "10.0.0.1", &g);
        get(app, "GET", "/limited", "10.0.0.1", &g);
    }
    CHECK_EQ_INT(g.status, 429);
    CHECK(strstr(g.head, "retry-after: 1\n") != NULL);
    CHECK(strstr(g.head, "content-type: application/json\n") != NULL);
    CHECK_EQ_MEM(g.body.buf, g.body.len, "{\"detail\":\"Too Many Requests\"}");
    get(app, "GET", "/limited", "10.0.0.2", &g); /* another client */
    CHECK_EQ_INT(g.status, 200);
    get(app, "GET", "/free", "10.0.0.1", &g); /* another route */
    CHECK_EQ_INT(g.status, 200);
    get(app, "GET", "/nope", "10.0.0.1", &g);
    CHECK_EQ_INT(g.status, 404);
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_policy_cache_app(void) {
    fr_app *app = fr_app_new(NULL);
    fr_resp_cache *c = fr_resp_cache_new(), *c2 = fr_resp_cache_new();
    fr_policies *p;
    got g, first;
    int i;
    memset(&g, 0, sizeof g);
    memset(&first, 0, sizeof first);
    REQUIRE(app && c && c2);
    REQUIRE(fr_route(app, "GET", "/c", h_hello, NULL) == 0);
    REQUIRE(fr_route(app, "POST", "/c", h_hello, NULL) == 0);
    REQUIRE(fr_route(app, "GET", "/bad", h_fail, NULL) == 0);
    p = fr_app_use_policies(app);
    REQUIRE(p);
    CHECK_EQ_INT(fr_policies_cache(p, "GET", "/c", c), 0);
    CHECK_EQ_INT(fr_policies_cache(p, "POST", "/c", c), 0); /* never filled by a POST */
    CHECK_EQ_INT(fr_policies_cache(p, "GET", "/bad", c2), 0);
    calls = 0;
    CHECK(!fr_resp_cache_filled(c));
    get(app, "GET", "/c", "10.0.0.1", &first);
    CHECK(fr_resp_cache_filled(c));
    for (i = 0; i < 20; i++) {
        get(app, "GET", "/c", "10.0.0.1", &g);
        CHECK_EQ_INT(g.status, 200);
        CHECK(strcmp(g.head, first.head) == 0);
        CHECK_EQ_MEM(g.body.buf, g.body.len, "{\"Hello\":\"World\"}");
    }
    CHECK_EQ_INT(calls, 1);
    CHECK(strstr(first.head, "x-made: by-handler\n") != NULL);
    get(app, "POST", "/c", "10.0.0.1", &g); /* answered from the GET's copy */
    CHECK_EQ_INT(calls, 1);
    /* a 503 is not stored: the handler runs every time */
    get(app, "GET", "/bad", "10.0.0.1", &g);
    get(app, "GET", "/bad", "10.0.0.1", &g);
    CHECK_EQ_INT(g.status, 503);
    CHECK_EQ_INT(calls, 3);
    CHECK(!fr_resp_cache_filled(c2));
    fr_buf_free(&g.body);
    fr_buf_free(&first.body);
    fr_app_free(app);
    CHECK(fr_resp_cache_filled(c)); /* our reference outlives the app */
    fr_resp_cache_free(c);
    fr_resp_cache_free(c2);
}

/* never stored: the answer to a credentialed request, or one that sets a cookie */
static void test_policy_cache_not_from_credentials(void) {
    fr_app *app = fr_app_new(NULL);
    fr_resp_cache *c = fr_resp_cache_new(), *ck = fr_resp_cache_new();
    fr_policies *p;
    got g;
    memset(&g, 0, sizeof g);
    REQUIRE(app && c && ck);
    REQUIRE(fr_route(app, "GET", "/c", h_hello, NULL) == 0);
    REQUIRE(fr_route(app, "GET", "/ck", h_cookie, NULL) == 0);
    p = fr_app_use_policies(app);
    REQUIRE(p);
    REQUIRE(fr_policies_cache(p, "GET", "/c", c) == 0);
    REQUIRE(fr_policies_cache(p, "GET", "/ck", ck) == 0);
    calls = 0;
    get_h(app, "GET", "/c", "10.0.0.1", &g, "Authorization", "Bearer secret");
    CHECK(!fr_resp_cache_filled(c));
    get_h(app, "GET", "/c", "10.0.0.1", &g, "cookie", "session=x");
    CHECK(!fr_resp_cache_filled(c));
    get(app, "GET", "/ck", "10.0.0.1", &g);
    get(app, "GET", "/ck", "10.0.0.1", &g);
    CHECK(!fr_resp_cache_filled(ck));
    CHECK_EQ_INT(calls, 4);
    get(app, "GET", "/c", "10.0.0.1", &g); /* an anonymous GET fills it */
    CHECK(fr_resp_cache_filled(c));
    get_h(app, "GET", "/c", "10.0.0.1", &g, "Authorization", "Bearer secret");
    CHECK_EQ_INT(calls, 5); /* and then answers everyone */
    CHECK_EQ_INT(g.status, 200);
    fr_buf_free(&g.body);
    fr_app_free(app);
    fr_resp_cache_free(c);
    fr_resp_cache_free(ck);
}

static void test_resp_cache_store(void) {
    fr_resp_cache *c = fr_resp_cache_new();
    fr_header h[1];
    REQUIRE(c);
    h[0].name = FR_STR("content-type");
    h[0].value = FR_STR("text/plain");
    CHECK_EQ_INT(fr_resp_cache_store(c, 99, h, 1, "x", 1), -1);
    CHECK_EQ_INT(fr_resp_cache_store(c, 200, NULL, 1, "x", 1), -1);
    CHECK_EQ_INT(fr_resp_cache_store(c, 200, h, 1, NULL, 1), -1);
    CHECK(!fr_resp_cache_filled(c));
    CHECK_EQ_INT(fr_resp_cache_store(c, 200, h, 1, "hi", 2), 1);
    CHECK_EQ_INT(fr_resp_cache_store(c, 201, NULL, 0, "", 0), 0); /* first wins */
    CHECK(fr_resp_cache_filled(c));
    CHECK_EQ_INT(fr_resp_cache_answer(c, NULL), -1);
    fr_resp_cache_free(c);
}

/* ---- metrics ---- */

static void test_metrics_render(void) {
    fr_metrics *m = fr_metrics_new(NULL, NULL);
    fr_buf b = {NULL, 0, 0};
    REQUIRE(m);
    CHECK_EQ_INT(fr_metrics_observe(m, FR_STR("/items/{id}"), FR_STR("GET"), 200, 0.003), 0);
    CHECK_EQ_INT(fr_metrics_observe(m, FR_STR("/items/{id}"), FR_STR("GET"), 200, 0.2), 0);
    CHECK_EQ_INT(fr_metrics_observe(m, FR_STR("/items/{id}"), FR_STR("GET"), 404, 20.0), 0);
    CHECK_EQ_INT(fr_metrics_observe(m, FR_STR(""), FR_STR("BREW"), 405, 0.001), 0);
    CHECK_EQ_INT(fr_metrics_observe(m, FR_STR("/q\"\\\n"), FR_STR("POST"), 201, 0.001), 0);
    CHECK_EQ_INT(fr_metrics_observe(m, FR_STR("/x"), FR_STR("GET"), 1000, 0.001), -1);
    CHECK_EQ_INT(fr_metrics_series(m), 4);
    REQUIRE(fr_metrics_render(m, &b) == 0);
    REQUIRE(fr_buf_append_char(&b, 0) == 0);
    CHECK(strstr(b.buf, "# TYPE fastrapi_requests_total counter\n") != NULL);
    CHECK(strstr(b.buf, "fastrapi_requests_total{handler=\"/items/{id}\",method=\"GET\","
                        "status=\"200\"} 2\n") != NULL);
    CHECK(strstr(b.buf, "fastrapi_request_duration_seconds_bucket{handler=\"/items/{id}\","
                        "method=\"GET\",status=\"200\",le=\"0.005\"} 1\n") != NULL);
    CHECK(strstr(b.buf, "fastrapi_request_duration_seconds_bucket{handler=\"/items/{id}\","
                        "method=\"GET\",status=\"200\",le=\"0.25\"} 2\n") != NULL);
    CHECK(strstr(b.buf, "fastrapi_request_duration_seconds_bucket{handler=\"/items/{id}\","
                        "method=\"GET\",status=\"404\",le=\"10.0\"} 0\n") != NULL);
    CHECK(strstr(b.buf, "fastrapi_request_duration_seconds_bucket{handler=\"/items/{id}\","
                        "method=\"GET\",status=\"404\",le=\"+Inf\"} 1\n") != NULL);
    CHECK(strstr(b.buf, "fastrapi_requests_total{handler=\"none\",method=\"OTHER\","
                        "status=\"405\"} 1\n") != NULL);
    CHECK(strstr(b.buf, "handler=\"/q\\\"\\\\\\n\"") != NULL); /* escaped */
    CHECK(strstr(b.buf, "fastrapi_metrics_dropped_total 0\n") != NULL); /* a bad status is not a drop */
    fr_buf_free(&b);
    fr_metrics_free(m);
}

static void test_metrics_bounded(void) {
    fr_metrics_config cfg;
    fr_metrics *m;
    fr_buf b = {NULL, 0, 0};
    char route[32];
    int i, dropped = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_series = 8;
    cfg.process_local = 1;
    m = fr_metrics_new(&cfg, NULL);
    REQUIRE(m);
    for (i = 0; i < 100; i++) {
        snprintf(route, sizeof route, "/r%d", i);
        if (fr_metrics_observe(m, fr_str_c(route), FR_STR("GET"), 200, 0.01) < 0) dropped++;
    }
    CHECK_EQ_INT(fr_metrics_series(m), 8);
    CHECK_EQ_INT(dropped, 92);
    REQUIRE(fr_metrics_render(m, &b) == 0);
    REQUIRE(fr_buf_append_char(&b, 0) == 0);
    CHECK(strstr(b.buf, "fastrapi_metrics_dropped_total 92\n") != NULL);
    fr_buf_free(&b);
    fr_metrics_free(m);
}

static void test_metrics_bad_config(void) {
    fr_metrics_config cfg;
    double down[2] = {1.0, 0.5};
    fr_err err = {0, NULL, 0};
    memset(&cfg, 0, sizeof cfg);
    cfg.buckets = down;
    cfg.num_buckets = 2;
    CHECK(fr_metrics_new(&cfg, &err) == NULL);
    CHECK(err.msg != NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.prefix = "9bad name";
    CHECK(fr_metrics_new(&cfg, &err) == NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.buckets = down;
    cfg.num_buckets = 0;
    CHECK(fr_metrics_new(&cfg, &err) == NULL);
}

static void test_metrics_app_and_handler(void) {
    fr_app *app = fr_app_new(NULL);
    fr_metrics *m = fr_metrics_new(NULL, NULL);
    got g;
    int i;
    memset(&g, 0, sizeof g);
    REQUIRE(app && m);
    REQUIRE(fr_app_use_metrics(app, m) == 0);
    REQUIRE(fr_route(app, "GET", "/hello/{name}", h_hello, NULL) == 0);
    REQUIRE(fr_route(app, "GET", "/metrics", fr_metrics_handler, m) == 0);
    fr_metrics_free(m); /* the app's reference keeps it */
    for (i = 0; i < 3; i++) get(app, "GET", "/hello/x", "10.0.0.1", &g);
    get(app, "GET", "/missing", "10.0.0.1", &g);
    CHECK_EQ_INT(g.status, 404);
    get(app, "GET", "/metrics", "10.0.0.1", &g);
    CHECK_EQ_INT(g.status, 200);
    CHECK(strstr(g.head, "content-type: text/plain; version=0.0.4; charset=utf-8\n") != NULL);
    REQUIRE(fr_buf_append_char(&g.body, 0) == 0);
    CHECK(strstr(g.body.buf, "fastrapi_requests_total{handler=\"/hello/{name}\",method=\"GET\","
                             "status=\"200\"} 3\n") != NULL);
    CHECK(strstr(g.body.buf, "fastrapi_requests_total{handler=\"none\",method=\"GET\","
                             "status=\"404\"} 1\n") != NULL);
    fr_buf_free(&g.body);
    fr_app_free(app);
}

/* a shared table: the children's requests show in the parent's render */
static void test_metrics_shared_fork(void) {
    fr_metrics *m = fr_metrics_new(NULL, NULL);
    fr_buf b = {NULL, 0, 0};
    int k, st;
    REQUIRE(m);
    for (k = 0; k < 3; k++) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            int i;
            for (i = 0; i < 10; i++) fr_metrics_observe(m, FR_STR("/w"), FR_STR("GET"), 200, 0.001);
            _exit(0);
        }
        waitpid(pid, &st, 0);
    }
    fr_metrics_observe(m, FR_STR("/w"), FR_STR("GET"), 200, 0.001);
    REQUIRE(fr_metrics_render(m, &b) == 0);
    REQUIRE(fr_buf_append_char(&b, 0) == 0);
    CHECK(strstr(b.buf, "fastrapi_requests_total{handler=\"/w\",method=\"GET\",status=\"200\"} 31\n") !=
          NULL);
    CHECK_EQ_INT(fr_metrics_series(m), 1);
    fr_buf_free(&b);
    fr_metrics_free(m);
}

static const frt_case frt_cases[] = {
    FRT(test_ratelimit_window),        FRT(test_ratelimit_refuses_bad_config),
    FRT(test_ratelimit_bounded_table), FRT(test_ratelimit_threads),
    FRT(test_ratelimit_shared_fork),   FRT(test_policy_rate_limit_app),
    FRT(test_policy_cache_app),        FRT(test_policy_cache_not_from_credentials),
    FRT(test_resp_cache_store),
    FRT(test_metrics_render),          FRT(test_metrics_bounded),
    FRT(test_metrics_bad_config),      FRT(test_metrics_app_and_handler),
    FRT(test_metrics_shared_fork),
};
FRT_MAIN()
