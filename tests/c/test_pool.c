/* Unit tests for src/pool.c: fr_pool (blocking jobs) and fr_mailbox.
 * Every wait is bounded (FRT_WAIT_MS) and fails the test instead of
 * hanging; nothing asserts on how long something took. */
#define FRT_NET 1
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv */

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <poll.h>
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#define FRT_WAIT_MS 10000 /* upper bound of any wait (slow sanitizer builds) */

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wait until *c >= want; 0, or -1 after FRT_WAIT_MS. */
static int wait_at_least(atomic_int *c, int want) {
    int i;
    for (i = 0; i < FRT_WAIT_MS; i++) {
        if (atomic_load(c) >= want) return 0;
        sleep_ms(1);
    }
    return atomic_load(c) >= want ? 0 : -1;
}

/* poll() for readability: 1 readable, 0 not within ms, -1 error */
static int readable(int fd, int ms) {
    struct pollfd pfd;
    int r;
    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    do r = poll(&pfd, 1, ms); while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    return r > 0 && (pfd.revents & POLLIN) ? 1 : 0;
}

/* ---- a counting job ---- */

typedef struct cjob {
    fr_job job; /* first member */
    atomic_int runs;
    int seq;
} cjob;

typedef struct counter {
    atomic_int done;
    atomic_int order_ok; /* stays 1 while jobs run in seq order (single worker) */
    atomic_int last_seq;
} counter;

static void count_run(fr_job *j, void *ud) {
    cjob *c = (cjob *)j;
    counter *k = (counter *)ud;
    atomic_fetch_add(&c->runs, 1);
    if (atomic_exchange(&k->last_seq, c->seq) != c->seq - 1) atomic_store(&k->order_ok, 0);
    atomic_fetch_add(&k->done, 1);
}

static void counter_init(counter *k) {
    atomic_init(&k->done, 0);
    atomic_init(&k->order_ok, 1);
    atomic_init(&k->last_seq, -1);
}

static cjob *cjobs_new(int n) {
    cjob *a = (cjob *)calloc((size_t)n, sizeof *a);
    int i;
    if (!a) abort();
    for (i = 0; i < n; i++) {
        atomic_init(&a[i].runs, 0);
        a[i].seq = i;
    }
    return a;
}

static int all_ran_once(cjob *a, int n) {
    int i;
    for (i = 0; i < n; i++)
        if (atomic_load(&a[i].runs) != 1) return 0;
    return 1;
}

static void test_pool_args(void) {
    fr_pool_config cfg;
    fr_pool *p;
    cjob j;
    memset(&cfg, 0, sizeof cfg);
    CHECK(fr_pool_new(NULL) == NULL);
    CHECK(fr_pool_new(&cfg) == NULL); /* run is required */
    CHECK(fr_pool_push(NULL, &j.job) == -1);
    CHECK(fr_pool_start(NULL) == -1);
    fr_pool_free(NULL);
    fr_pool_abandon(NULL);
    cfg.run = count_run;
    p = fr_pool_new(&cfg); /* zeroed config = defaults */
    REQUIRE(p != NULL);
    CHECK(fr_pool_push(p, NULL) == -1);
    fr_pool_free(p); /* never started: nothing to join */
}

static void test_pool_all_jobs_run_once(void) {
    enum { N = 2000 };
    fr_pool_config cfg;
    counter k;
    cjob *a = cjobs_new(N);
    fr_pool *p;
    int i, pushed = 0;
    counter_init(&k);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = count_run;
    cfg.ud = &k;
    cfg.threads = 8;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    CHECK(fr_pool_start(p) == 0);
    CHECK(fr_pool_start(p) == 0); /* idempotent */
    for (i = 0; i < N; i++) pushed += fr_pool_push(p, &a[i].job) == 0;
    CHECK_EQ_INT(pushed, N);
    CHECK(wait_at_least(&k.done, N) == 0);
    fr_pool_free(p);
    CHECK_EQ_INT(atomic_load(&k.done), N);
    CHECK(all_ran_once(a, N));
    free(a);
}

/* ---- batch hooks ---- */

typedef struct hooks {
    counter k;
    atomic_int begins, ends, outside; /* outside: jobs run outside a batch */
    atomic_int fail_first;            /* batch_begin returns 1 this many times */
    atomic_int always_fail;
    atomic_int gate_first;            /* the first batch_begin waits for `gate` */
    atomic_int entered, gate;
} hooks;

static _Thread_local int in_batch;

static int hk_begin(void *ud) {
    hooks *h = (hooks *)ud;
    int n = atomic_fetch_add(&h->begins, 1);
    if (atomic_load(&h->always_fail)) return 1;
    if (atomic_fetch_sub(&h->fail_first, 1) > 0) return 1;
    if (n == 0 && atomic_load(&h->gate_first)) {
        atomic_store(&h->entered, 1);
        wait_at_least(&h->gate, 1);
    }
    in_batch = 1;
    return 0;
}

static void hk_end(void *ud) {
    hooks *h = (hooks *)ud;
    if (!in_batch) atomic_fetch_add(&h->outside, 1);
    in_batch = 0;
    atomic_fetch_add(&h->ends, 1);
}

static void hk_run(fr_job *j, void *ud) {
    hooks *h = (hooks *)ud;
    if (!in_batch) atomic_fetch_add(&h->outside, 1);
    count_run(j, &h->k);
}

static void hooks_init(hooks *h) {
    counter_init(&h->k);
    atomic_init(&h->begins, 0);
    atomic_init(&h->ends, 0);
    atomic_init(&h->outside, 0);
    atomic_init(&h->fail_first, 0);
    atomic_init(&h->always_fail, 0);
    atomic_init(&h->gate_first, 0);
    atomic_init(&h->entered, 0);
    atomic_init(&h->gate, 0);
}

static fr_pool *hooks_pool(hooks *h, int threads) {
    fr_pool_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.run = hk_run;
    cfg.batch_begin = hk_begin;
    cfg.batch_end = hk_end;
    cfg.ud = h;
    cfg.threads = threads;
    return fr_pool_new(&cfg);
}

/* Every job runs between a batch_begin and a batch_end on its own thread;
 * every begun batch ends. */
static void test_pool_batch_hooks(void) {
    enum { N = 500 };
    hooks h;
    cjob *a = cjobs_new(N);
    fr_pool *p;
    int i;
    hooks_init(&h);
    p = hooks_pool(&h, 4);
    REQUIRE(p != NULL);
    for (i = 0; i < N; i++) CHECK(fr_pool_push(p, &a[i].job) == 0);
    CHECK(wait_at_least(&h.k.done, N) == 0);
    fr_pool_free(p);
    CHECK(all_ran_once(a, N));
    CHECK(atomic_load(&h.begins) >= 1);
    CHECK_EQ_INT(atomic_load(&h.begins), atomic_load(&h.ends));
    CHECK_EQ_INT(atomic_load(&h.outside), 0);
    free(a);
}

/* One worker drains everything queued in a single batch, in push order. */
static void test_pool_one_batch_drains_queue(void) {
    enum { N = 100 };
    hooks h;
    cjob *a = cjobs_new(N);
    fr_pool *p;
    int i;
    hooks_init(&h);
    atomic_store(&h.gate_first, 1);
    p = hooks_pool(&h, 1);
    REQUIRE(p != NULL);
    CHECK(fr_pool_push(p, &a[0].job) == 0);
    CHECK(wait_at_least(&h.entered, 1) == 0); /* the worker sits in batch_begin */
    for (i = 1; i < N; i++) CHECK(fr_pool_push(p, &a[i].job) == 0);
    atomic_store(&h.gate, 1);
    CHECK(wait_at_least(&h.k.done, N) == 0);
    CHECK(wait_at_least(&h.ends, 1) == 0);
    fr_pool_free(p);
    CHECK(all_ran_once(a, N));
    CHECK_EQ_INT(atomic_load(&h.begins), 1);
    CHECK_EQ_INT(atomic_load(&h.ends), 1);
    CHECK(atomic_load(&h.k.order_ok));
    free(a);
}

/* A worker whose batch_begin says "exit" passes the wake-up on: the other
 * worker still runs every job. */
static void test_pool_batch_begin_exit_hands_over(void) {
    enum { N = 200 };
    hooks h;
    cjob *a = cjobs_new(N);
    fr_pool *p;
    int i;
    hooks_init(&h);
    atomic_store(&h.fail_first, 1);
    p = hooks_pool(&h, 2);
    REQUIRE(p != NULL);
    for (i = 0; i < N; i++) CHECK(fr_pool_push(p, &a[i].job) == 0);
    CHECK(wait_at_least(&h.k.done, N) == 0);
    fr_pool_free(p);
    CHECK(all_ran_once(a, N));
    CHECK_EQ_INT(atomic_load(&h.begins), atomic_load(&h.ends) + 1);
    free(a);
}

/* When every worker exits through batch_begin, nothing runs and pushes are
 * refused; free still joins (the queued job is left to its owner). */
static void test_pool_batch_begin_exit_all(void) {
    hooks h;
    cjob *a = cjobs_new(2);
    fr_pool *p;
    int i, refused = 0;
    hooks_init(&h);
    atomic_store(&h.always_fail, 1);
    p = hooks_pool(&h, 3);
    REQUIRE(p != NULL);
    CHECK(fr_pool_push(p, &a[0].job) == 0);
    CHECK(wait_at_least(&h.begins, 3) == 0);
    for (i = 0; i < FRT_WAIT_MS && !refused; i++) {
        if (fr_pool_push(p, &a[1].job) < 0) refused = 1;
        else sleep_ms(1); /* accepted before the last worker left: stays queued */
    }
    CHECK(refused);
    fr_pool_free(p);
    CHECK_EQ_INT(atomic_load(&h.k.done), 0);
    CHECK_EQ_INT(atomic_load(&h.ends), 0);
    CHECK_EQ_INT(atomic_load(&a[0].runs), 0);
    free(a);
}

/* ---- blocking jobs ---- */

typedef struct bjob {
    fr_job job;
    int kind; /* 0 = blocker (waits for `released`), 1 = releaser */
} bjob;

typedef struct bstate {
    atomic_int released;  /* set by the releaser job */
    atomic_int saw;       /* blockers that saw the release (not a timeout) */
    atomic_int done;
    atomic_int followers; /* quick jobs run */
    atomic_int started;   /* blockers that started */
} bstate;

static void block_run(fr_job *j, void *ud) {
    bjob *b = (bjob *)j;
    bstate *s = (bstate *)ud;
    if (b->kind == 0) {
        atomic_fetch_add(&s->started, 1);
        /* can only succeed if another worker runs the releaser meanwhile */
        if (wait_at_least(&s->released, 1) == 0) atomic_fetch_add(&s->saw, 1);
    } else if (b->kind == 1) {
        atomic_store(&s->released, 1);
    } else {
        atomic_fetch_add(&s->followers, 1);
    }
    atomic_fetch_add(&s->done, 1);
}

static void bstate_init(bstate *s) {
    atomic_init(&s->released, 0);
    atomic_init(&s->saw, 0);
    atomic_init(&s->done, 0);
    atomic_init(&s->followers, 0);
    atomic_init(&s->started, 0);
}

/* `blockers` jobs that each block until the last job (pushed after them and
 * after `quick` quick jobs) runs: needs blockers + 1 workers. Each job is
 * pushed only once the previous blocker runs, i.e. while every woken worker
 * is busy in a batch: only the monitor can bring in the next worker. */
static void run_blockers(int threads, int blockers, int quick, int serial_cpu) {
    bstate s;
    bjob jobs[16 + 64];
    fr_pool_config cfg;
    fr_pool *p;
    int i, n = 0;
    bstate_init(&s);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = block_run;
    cfg.ud = &s;
    cfg.threads = threads;
    cfg.serial_cpu = serial_cpu;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    for (i = 0; i < blockers; i++) jobs[n++].kind = 0;
    for (i = 0; i < quick; i++) jobs[n++].kind = 2;
    jobs[n++].kind = 1;
    for (i = 0; i < n; i++) {
        CHECK(fr_pool_push(p, &jobs[i].job) == 0);
        if (i < blockers) {
            CHECK(wait_at_least(&s.started, i + 1) == 0);
            sleep_ms(5); /* let stray start-up wake-ups settle (test strength only) */
        }
    }
    CHECK(wait_at_least(&s.done, n) == 0);
    fr_pool_free(p);
    CHECK_EQ_INT(atomic_load(&s.saw), blockers);
    CHECK_EQ_INT(atomic_load(&s.followers), quick);
}

static void test_pool_blocking_job_does_not_stall(void) { run_blockers(4, 1, 20, 0); }

/* The monitor keeps waking one more worker while the queue is stuck. */
static void test_pool_several_blocking_jobs(void) { run_blockers(6, 5, 10, 0); }

/* serial_cpu: blocked jobs (they sleep) still get their helpers. */
static void test_pool_serial_cpu_blocking_jobs(void) { run_blockers(6, 5, 10, 1); }

/* A job that sleeps 50 ms: the quick jobs queued behind it all run, and the
 * sleeper's own batch never loses a job (counts only). */
static void sleeper_run(fr_job *j, void *ud) {
    bjob *b = (bjob *)j;
    bstate *s = (bstate *)ud;
    if (b->kind == 0) sleep_ms(50);
    else atomic_fetch_add(&s->followers, 1);
    atomic_fetch_add(&s->done, 1);
}

static void test_pool_sleeping_job(void) {
    bstate s;
    bjob jobs[41];
    fr_pool_config cfg;
    fr_pool *p;
    int i;
    bstate_init(&s);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = sleeper_run;
    cfg.ud = &s;
    cfg.threads = 2;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    for (i = 0; i < 41; i++) {
        jobs[i].kind = i % 20 == 0 ? 0 : 2; /* sleepers at 0, 20, 40 */
        CHECK(fr_pool_push(p, &jobs[i].job) == 0);
    }
    CHECK(wait_at_least(&s.done, 41) == 0);
    fr_pool_free(p);
    CHECK_EQ_INT(atomic_load(&s.followers), 38);
}

/* spin_us: the worker that drained the queue waits awake for the next job.
 * Jobs pushed one at a time (each finds it spinning or asleep), one pushed
 * after the spin ran out, and a free while it may spin: every job runs once,
 * in order. */
static void test_pool_spin(void) {
    enum { N = 200 };
    fr_pool_config cfg;
    counter k;
    cjob *a = cjobs_new(N + 1);
    fr_pool *p;
    int i;
    counter_init(&k);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = count_run;
    cfg.ud = &k;
    cfg.threads = 4;
    cfg.spin_us = 2000;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    for (i = 0; i < N; i++) {
        CHECK(fr_pool_push(p, &a[i].job) == 0);
        CHECK(wait_at_least(&k.done, i + 1) == 0);
    }
    sleep_ms(20); /* the spin has run out: the worker sleeps on its condition */
    CHECK(fr_pool_push(p, &a[N].job) == 0);
    CHECK(wait_at_least(&k.done, N + 1) == 0);
    fr_pool_free(p);
    CHECK(all_ran_once(a, N + 1));
    CHECK_EQ_INT(atomic_load(&k.order_ok), 1);
    free(a);
}

/* The sleeping worker woken for a job is the one that ran last: jobs pushed
 * one at a time, each after the last one's worker went back to sleep, all
 * run on one thread (a wake-up that rotated over the 4 sleepers -- a
 * shared condition variable -- measured 1.6 context switches per job and
 * a cold thread each time). At most two threads allow for one push that
 * lands while the last worker is between its batch and its sleep. */
typedef struct who {
    fr_job job;
    pthread_t ran_on;
    atomic_int done;
} who;

static void who_run(fr_job *j, void *ud) {
    who *w = (who *)j;
    (void)ud;
    w->ran_on = pthread_self();
    atomic_store(&w->done, 1);
}

static void test_pool_wakes_last_worker(void) {
    enum { N = 40 };
    fr_pool_config cfg;
    who a[N];
    pthread_t seen[N];
    fr_pool *p;
    int i, j, nseen = 0;
    memset(&cfg, 0, sizeof cfg);
    cfg.run = who_run;
    cfg.threads = 4;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    REQUIRE(fr_pool_start(p) == 0);
    sleep_ms(20); /* all four asleep */
    for (i = 0; i < N; i++) {
        atomic_init(&a[i].done, 0);
        CHECK(fr_pool_push(p, &a[i].job) == 0);
        CHECK(wait_at_least(&a[i].done, 1) == 0);
        sleep_ms(2); /* its worker goes back to sleep */
    }
    fr_pool_free(p);
    for (i = 0; i < N; i++) {
        for (j = 0; j < nseen && !pthread_equal(seen[j], a[i].ran_on); j++) {}
        if (j == nseen) seen[nseen++] = a[i].ran_on;
    }
    CHECK(nseen <= 2);
}

/* A job pushed while the worker that ran the queue dry is still ending its
 * batch (here: from its batch_end, which then takes 100 ms) is that
 * worker's: nobody else is woken for it (in Python a second worker would
 * only wait for the GIL the first one is about to drop, and then both
 * sleep and wake in turn). It runs in a new batch on the same thread. */
typedef struct late {
    fr_pool *pool;
    who first, second;
    atomic_int ends, begins;
} late;

static int late_begin(void *ud) {
    atomic_fetch_add(&((late *)ud)->begins, 1);
    return 0;
}

static void late_end(void *ud) {
    late *l = (late *)ud;
    if (atomic_fetch_add(&l->ends, 1) == 0) {
        CHECK(fr_pool_push(l->pool, &l->second.job) == 0);
        sleep_ms(100); /* time enough for another worker to take it */
    }
}

static void test_pool_job_during_batch_end_stays(void) {
    fr_pool_config cfg;
    late l;
    memset(&cfg, 0, sizeof cfg);
    memset(&l, 0, sizeof l);
    atomic_init(&l.first.done, 0);
    atomic_init(&l.second.done, 0);
    atomic_init(&l.ends, 0);
    atomic_init(&l.begins, 0);
    cfg.run = who_run;
    cfg.batch_begin = late_begin;
    cfg.batch_end = late_end;
    cfg.ud = &l;
    cfg.threads = 4;
    l.pool = fr_pool_new(&cfg);
    REQUIRE(l.pool != NULL);
    REQUIRE(fr_pool_start(l.pool) == 0);
    sleep_ms(20); /* all four asleep */
    CHECK(fr_pool_push(l.pool, &l.first.job) == 0);
    CHECK(wait_at_least(&l.second.done, 1) == 0);
    CHECK(wait_at_least(&l.ends, 2) == 0);
    fr_pool_free(l.pool);
    CHECK(atomic_load(&l.first.done) == 1);
    CHECK(pthread_equal(l.first.ran_on, l.second.ran_on));
    CHECK_EQ_INT(atomic_load(&l.begins), 2);
    CHECK_EQ_INT(atomic_load(&l.ends), 2);
}

/* A job that computes for 30 ms with quick jobs queued behind it: without
 * serial_cpu the monitor adds a worker, which runs them meanwhile; with it
 * (Python: the new worker would only wait for the GIL the job holds) it
 * does not, and they run after it, on its thread -- once jobs average 25 us
 * or more (16 jobs of 1 ms before it); after quick jobs only, the helper is
 * still added (in a short job the hand-over outside the GIL is a large share,
 * and a second worker overlaps it). Linux only: elsewhere a thread's state
 * is not read and serial_cpu changes nothing. */
typedef struct sjob {
    fr_job job;
    int kind; /* 0 = computes 30 ms, 1 = quick, 2 = computes 1 ms */
    pthread_t ran_on;
} sjob;

/* compute (not sleep) for us microseconds */
static void busy_us(long us) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000L < us);
}

static void serial_run(fr_job *j, void *ud) {
    sjob *r = (sjob *)j;
    r->ran_on = pthread_self();
    if (r->kind == 0) busy_us(30 * 1000);
    else if (r->kind == 2) busy_us(1000);
    atomic_fetch_add((atomic_int *)ud, 1);
}

/* How many of the quick jobs ran on another thread than the computing one. */
static int computing_job_helpers(int serial_cpu, int warm_kind) {
    enum { WARM = 16, N = 20 };
    fr_pool_config cfg;
    sjob w[WARM], a[N + 1];
    atomic_int done;
    fr_pool *p;
    int i, elsewhere = 0;
    atomic_init(&done, 0);
    memset(&cfg, 0, sizeof cfg);
    memset(w, 0, sizeof w);
    memset(a, 0, sizeof a);
    cfg.run = serial_run;
    cfg.ud = &done;
    cfg.threads = 4;
    cfg.serial_cpu = serial_cpu;
    p = fr_pool_new(&cfg);
    CHECK(p != NULL);
    if (!p) return -1;
    CHECK(fr_pool_start(p) == 0);
    for (i = 0; i < WARM; i++) { /* one at a time: the average job time */
        w[i].kind = warm_kind;
        CHECK(fr_pool_push(p, &w[i].job) == 0);
        CHECK(wait_at_least(&done, i + 1) == 0);
    }
    sleep_ms(20); /* all asleep */
    for (i = 0; i <= N; i++) {
        a[i].kind = i == 0 ? 0 : 1;
        CHECK(fr_pool_push(p, &a[i].job) == 0);
    }
    CHECK(wait_at_least(&done, WARM + N + 1) == 0);
    fr_pool_free(p);
    for (i = 1; i <= N; i++)
        if (!pthread_equal(a[i].ran_on, a[0].ran_on)) elsewhere++;
    return elsewhere;
}

static void test_pool_serial_cpu_computing_job(void) {
#if defined(__linux__)
    CHECK(computing_job_helpers(0, 2) > 0);
    CHECK_EQ_INT(computing_job_helpers(1, 2), 0);
    CHECK(computing_job_helpers(1, 1) > 0); /* short jobs so far */
#endif
}

/* ---- many producers ---- */

enum { PRODUCERS = 4, PER_PRODUCER = 10000 };

typedef struct producer {
    fr_pool *pool;
    fr_mailbox *mb;
    cjob *jobs; /* PER_PRODUCER of them */
    atomic_int *go;
    int id, failed;
} producer;

static void *produce(void *arg) {
    producer *pr = (producer *)arg;
    int i;
    wait_at_least(pr->go, 1); /* start together */
    for (i = 0; i < PER_PRODUCER; i++) {
        int rc = pr->pool ? fr_pool_push(pr->pool, &pr->jobs[i].job)
                          : fr_mailbox_push(pr->mb, &pr->jobs[i].job);
        if (rc != 0) pr->failed++;
    }
    return NULL;
}

/* Start PRODUCERS threads over `jobs` (PRODUCERS * PER_PRODUCER entries, seq
 * = producer * PER_PRODUCER + i). 0 / -1. */
static int start_producers(pthread_t *t, producer *pr, atomic_int *go, fr_pool *pool,
                           fr_mailbox *mb, cjob *jobs) {
    int i;
    for (i = 0; i < PRODUCERS; i++) {
        pr[i].pool = pool;
        pr[i].mb = mb;
        pr[i].jobs = jobs + i * PER_PRODUCER;
        pr[i].go = go;
        pr[i].id = i;
        pr[i].failed = 0;
        if (pthread_create(&t[i], NULL, produce, &pr[i]) != 0) {
            atomic_store(go, 1);
            while (i-- > 0) pthread_join(t[i], NULL);
            return -1;
        }
    }
    atomic_store(go, 1);
    return 0;
}

static int join_producers(pthread_t *t, producer *pr) {
    int i, failed = 0;
    for (i = 0; i < PRODUCERS; i++) {
        pthread_join(t[i], NULL);
        failed += pr[i].failed;
    }
    return failed;
}

static void test_pool_many_producers(void) {
    enum { N = PRODUCERS * PER_PRODUCER };
    pthread_t t[PRODUCERS];
    producer pr[PRODUCERS];
    atomic_int go;
    counter k;
    cjob *a = cjobs_new(N);
    fr_pool_config cfg;
    fr_pool *p;
    counter_init(&k);
    atomic_init(&go, 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = count_run;
    cfg.ud = &k;
    p = fr_pool_new(&cfg); /* lazily started by the racing pushes */
    REQUIRE(p != NULL);
    if (start_producers(t, pr, &go, p, NULL, a) < 0) {
        fr_pool_free(p);
        free(a);
        REQUIRE(!"pthread_create");
    }
    CHECK_EQ_INT(join_producers(t, pr), 0);
    CHECK(wait_at_least(&k.done, N) == 0);
    fr_pool_free(p);
    CHECK_EQ_INT(atomic_load(&k.done), N);
    CHECK(all_ran_once(a, N));
    free(a);
}

/* ---- jobs that push jobs; free ---- */

enum { KIND_CHAIN, KIND_NOOP };

typedef struct tagged {
    fr_job job; /* first member */
    int kind;
} tagged;

typedef struct chain {
    tagged t; /* first member */
    fr_pool *pool;
    int mode; /* 0: re-push itself `left` times; 1: push noops until refused */
    atomic_int left, runs, refused, accepted, noops;
} chain;

typedef struct noop {
    tagged t;
    chain *owner;
} noop;

static void chain_push_noops(chain *c) {
    int i;
    for (i = 0; i < FRT_WAIT_MS; i++) { /* bounded: fr_pool_free refuses long before */
        noop *n = (noop *)malloc(sizeof *n);
        if (!n) abort();
        n->t.kind = KIND_NOOP;
        n->owner = c;
        if (fr_pool_push(c->pool, &n->t.job) != 0) {
            free(n);
            atomic_fetch_add(&c->refused, 1);
            return;
        }
        atomic_fetch_add(&c->accepted, 1);
        sleep_ms(1);
    }
}

static void chain_run(fr_job *j, void *ud) {
    tagged *t = (tagged *)j;
    (void)ud;
    if (t->kind == KIND_NOOP) {
        noop *n = (noop *)t;
        atomic_fetch_add(&n->owner->noops, 1);
        free(n);
        return;
    } else {
        chain *c = (chain *)t;
        atomic_fetch_add(&c->runs, 1);
        if (c->mode == 1) {
            chain_push_noops(c);
        } else if (atomic_fetch_sub(&c->left, 1) > 0 && fr_pool_push(c->pool, &c->t.job) != 0) {
            atomic_fetch_add(&c->refused, 1);
        }
    }
}

static void chain_init(chain *c, fr_pool *p, int mode, int left) {
    c->t.job.next = NULL;
    c->t.kind = KIND_CHAIN;
    c->pool = p;
    c->mode = mode;
    atomic_init(&c->left, left);
    atomic_init(&c->runs, 0);
    atomic_init(&c->refused, 0);
    atomic_init(&c->accepted, 0);
    atomic_init(&c->noops, 0);
}

static void test_pool_job_pushes_job(void) {
    fr_pool_config cfg;
    fr_pool *p;
    chain c;
    memset(&cfg, 0, sizeof cfg);
    cfg.run = chain_run;
    cfg.threads = 2;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    chain_init(&c, p, 0, 1000);
    CHECK(fr_pool_push(p, &c.t.job) == 0);
    CHECK(wait_at_least(&c.runs, 1001) == 0);
    fr_pool_free(p);
    CHECK_EQ_INT(atomic_load(&c.runs), 1001);
    CHECK_EQ_INT(atomic_load(&c.refused), 0);
}

/* A job pushing during fr_pool_free is refused; everything accepted before
 * still runs before free returns. */
static void test_pool_free_refuses_new_jobs(void) {
    fr_pool_config cfg;
    fr_pool *p;
    chain c;
    memset(&cfg, 0, sizeof cfg);
    cfg.run = chain_run;
    cfg.threads = 3;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    chain_init(&c, p, 1, 0);
    CHECK(fr_pool_push(p, &c.t.job) == 0);
    CHECK(wait_at_least(&c.accepted, 2) == 0); /* it is pushing noops */
    fr_pool_free(p);                        /* waits for the chain job to see -1 */
    CHECK_EQ_INT(atomic_load(&c.refused), 1);
    CHECK(atomic_load(&c.accepted) >= 2);
    CHECK_EQ_INT(atomic_load(&c.noops), atomic_load(&c.accepted));
}

/* free with jobs still queued behind a slow one: all of them run first. */
static void test_pool_free_with_pending_jobs(void) {
    enum { N = 300 };
    bstate s;
    bjob *jobs = (bjob *)calloc(N, sizeof *jobs);
    fr_pool_config cfg;
    fr_pool *p;
    int i;
    REQUIRE(jobs != NULL);
    bstate_init(&s);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = sleeper_run;
    cfg.ud = &s;
    cfg.threads = 2;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    for (i = 0; i < N; i++) {
        jobs[i].kind = i == 0 ? 0 : 2;
        CHECK(fr_pool_push(p, &jobs[i].job) == 0);
    }
    fr_pool_free(p); /* at once: most jobs are still queued */
    CHECK_EQ_INT(atomic_load(&s.done), N);
    CHECK_EQ_INT(atomic_load(&s.followers), N - 1);
    free(jobs);
}

static void test_pool_free_idle(void) {
    fr_pool_config cfg;
    counter k;
    cjob *a = cjobs_new(1);
    fr_pool *p;
    counter_init(&k);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = count_run;
    cfg.ud = &k;
    p = fr_pool_new(&cfg); /* started, never used */
    REQUIRE(p != NULL);
    CHECK(fr_pool_start(p) == 0);
    fr_pool_free(p);
    p = fr_pool_new(&cfg); /* used, idle again */
    REQUIRE(p != NULL);
    CHECK(fr_pool_push(p, &a[0].job) == 0);
    CHECK(wait_at_least(&k.done, 1) == 0);
    sleep_ms(5); /* let the worker go back to sleep, and the monitor too */
    fr_pool_free(p);
    CHECK(all_ran_once(a, 1));
    free(a);
}

/* ---- fork ---- */

/* In a fork child: a new pool runs a[0] and a[1]; 1 when it did. */
static int new_pool_runs_two(cjob *a) {
    fr_pool_config cfg;
    counter k;
    fr_pool *p;
    int ok = 1;
    counter_init(&k);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = count_run;
    cfg.ud = &k;
    p = fr_pool_new(&cfg);
    if (!p) return 0;
    if (fr_pool_push(p, &a[0].job) != 0 || fr_pool_push(p, &a[1].job) != 0) ok = 0;
    if (wait_at_least(&k.done, 2) != 0) ok = 0;
    fr_pool_free(p);
    return ok;
}

/* Wait up to FRT_WAIT_MS for child pid (killed after that): 1 when it
 * exited with status 0. */
static int child_ok(pid_t pid) {
    int i, status = -1, exited = 0;
    for (i = 0; i < FRT_WAIT_MS && !exited; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) exited = 1;
        else sleep_ms(1);
    }
    if (!exited) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    return exited && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int child_after_fork(fr_pool *old, fr_mailbox *mb) {
    cjob *a = cjobs_new(3);
    int ok = 1;
    /* the fork took its workers' sets out of the registry (the forking
     * thread's own set stays); abandoning the pool after that changes nothing */
    int sets = frt_wake_sets(), own = frt_own_wake_set();
    if (sets >= 0 && sets != own) ok = 0;
    fr_pool_abandon(old);
    if (frt_wake_sets() != sets) ok = 0;
    fr_mailbox_abandon(mb);
    if (fr_mailbox_fd(mb) != -1) ok = 0;
    if (fr_mailbox_init(mb) != 0) return 0;
    if (!new_pool_runs_two(a)) ok = 0;
    if (fr_mailbox_push(mb, &a[2].job) != 0 || readable(fr_mailbox_fd(mb), FRT_WAIT_MS) != 1 ||
        fr_mailbox_take(mb) != &a[2].job)
        ok = 0;
    fr_mailbox_close(mb);
    free(a);
    return ok;
}

static void test_pool_fork_child(void) {
    fr_pool_config cfg;
    counter k;
    cjob *a = cjobs_new(11);
    fr_mailbox mb;
    fr_pool *p;
    pid_t pid;
    int i;
    counter_init(&k);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = count_run;
    cfg.ud = &k;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    REQUIRE(fr_mailbox_init(&mb) == 0);
    for (i = 0; i < 10; i++) CHECK(fr_pool_push(p, &a[i].job) == 0);
    CHECK(fr_mailbox_push(&mb, &a[10].job) == 0);
    /* fork while the pool's threads sit idle: a thread inside malloc at fork
     * time can leave ASan's allocator locked in the child (an ASan limit,
     * not the pool's) */
    CHECK(wait_at_least(&k.done, 10) == 0);
    sleep_ms(20);
    pid = fork();
    if (pid == 0) _exit(child_after_fork(p, &mb) ? 0 : 1);
    CHECK(pid > 0);
    if (pid > 0) CHECK(child_ok(pid));
    /* the parent's pool and mailbox are untouched by the child */
    CHECK(fr_pool_push(p, &a[0].job) == 0); /* a[0] ran already: reusable */
    CHECK(wait_at_least(&k.done, 11) == 0);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 1);
    CHECK(fr_mailbox_take(&mb) == &a[10].job);
    fr_pool_free(p);
    fr_mailbox_close(&mb);
    free(a);
}

/* fork while another thread holds the wake-set registry's lock and has a
 * set of its own: the fork waits for the lock, and the child finds it free
 * and the registry without the other thread's set. (src build: the other
 * thread makes and frees pools meanwhile, taking the lock over and over.) */
typedef struct {
    atomic_int stage; /* 1: holding / churning, 2: the parent is done */
} forkhold;

static void *hold_registry(void *arg) {
    forkhold *h = (forkhold *)arg;
#ifndef FRT_UNAMALGAMATED
    CHECK(fr__wakes_thread_set() != NULL);
    pthread_mutex_lock(&fr__wakes_mu);
    atomic_store(&h->stage, 1);
    sleep_ms(100);
    pthread_mutex_unlock(&fr__wakes_mu);
#else
    fr_pool_config cfg;
    int i;
    memset(&cfg, 0, sizeof cfg);
    cfg.run = count_run;
    atomic_store(&h->stage, 1);
    for (i = 0; i < 50; i++) fr_pool_free(fr_pool_new(&cfg));
#endif
    while (atomic_load(&h->stage) != 2) sleep_ms(1);
    return NULL;
}

static int child_new_pool(void) {
    cjob *a = cjobs_new(2);
    int ok = 1, sets = frt_wake_sets();
    if (sets >= 0 && sets != frt_own_wake_set()) ok = 0;
    if (!new_pool_runs_two(a)) ok = 0;
    if (frt_wake_sets() != sets) ok = 0;
    free(a);
    return ok;
}

static void test_pool_fork_registry_held(void) {
    forkhold h;
    pthread_t t;
    pid_t pid;
    atomic_init(&h.stage, 0);
    REQUIRE(pthread_create(&t, NULL, hold_registry, &h) == 0);
    while (atomic_load(&h.stage) == 0) sleep_ms(1);
    sleep_ms(10);
    pid = fork();
    if (pid == 0) _exit(child_new_pool() ? 0 : 1);
    CHECK(pid > 0);
    if (pid > 0) CHECK(child_ok(pid)); /* not stuck on a lock a thread that is gone held */
    atomic_store(&h.stage, 2);
    pthread_join(t, NULL);
}

/* ---- mailbox ---- */

static void test_mailbox_args(void) {
    fr_mailbox mb;
    cjob j;
    memset(&mb, 0, sizeof mb); /* zeroed = closed */
    CHECK(fr_mailbox_fd(&mb) == -1);
    CHECK(fr_mailbox_fd(NULL) == -1);
    CHECK(fr_mailbox_push(&mb, &j.job) == -1);
    CHECK(fr_mailbox_push(NULL, &j.job) == -1);
    CHECK(fr_mailbox_take(&mb) == NULL);
    CHECK(fr_mailbox_take(NULL) == NULL);
    CHECK(fr_mailbox_init(NULL) == -1);
    fr_mailbox_close(&mb);
    fr_mailbox_close(NULL);
    fr_mailbox_abandon(&mb);
    fr_mailbox_abandon(NULL);
    REQUIRE(fr_mailbox_init(&mb) == 0);
    CHECK(fr_mailbox_push(&mb, NULL) == -1);
    fr_mailbox_close(&mb);
}

static void test_mailbox_basic(void) {
    fr_mailbox mb;
    cjob *a = cjobs_new(3);
    fr_job *h;
    int fd, fl;
    REQUIRE(fr_mailbox_init(&mb) == 0);
    fd = fr_mailbox_fd(&mb);
    REQUIRE(fd >= 0);
    fl = fcntl(fd, F_GETFL);
    CHECK(fl >= 0 && (fl & O_NONBLOCK));
    fl = fcntl(fd, F_GETFD);
    CHECK(fl >= 0 && (fl & FD_CLOEXEC));
    CHECK(readable(fd, 0) == 0);
    CHECK(fr_mailbox_take(&mb) == NULL);
    CHECK(fr_mailbox_push(&mb, &a[0].job) == 0);
    CHECK(readable(fd, FRT_WAIT_MS) == 1);
    CHECK(fr_mailbox_push(&mb, &a[1].job) == 0);
    CHECK(fr_mailbox_push(&mb, &a[2].job) == 0);
    CHECK(readable(fd, 0) == 1);
    h = fr_mailbox_take(&mb);
    CHECK(h == &a[0].job);
    CHECK(h && h->next == &a[1].job);
    CHECK(h && h->next && h->next->next == &a[2].job);
    CHECK(h && h->next && h->next->next && h->next->next->next == NULL);
    CHECK(readable(fd, 0) == 0); /* drained */
    CHECK(fr_mailbox_take(&mb) == NULL);
    /* push on empty wakes again */
    CHECK(fr_mailbox_push(&mb, &a[1].job) == 0);
    CHECK(readable(fd, FRT_WAIT_MS) == 1);
    CHECK(fr_mailbox_take(&mb) == &a[1].job);
    CHECK(readable(fd, 0) == 0);
    fr_mailbox_close(&mb);
    CHECK(fr_mailbox_fd(&mb) == -1);
    CHECK(fcntl(fd, F_GETFD) == -1); /* really closed (nothing else opened it since) */
    fr_mailbox_close(&mb);           /* idempotent */
    CHECK(fr_mailbox_push(&mb, &a[0].job) == -1);
    CHECK(fr_mailbox_take(&mb) == NULL);
    free(a);
}

/* The fd is written once for a push on an empty queue and not for pushes on
 * a non-empty one (peeked by reading the fd directly, which a real consumer
 * never does). */
static void test_mailbox_writes_once(void) {
    fr_mailbox mb;
    cjob *a = cjobs_new(5);
    unsigned char buf[64];
    ssize_t n;
    int i;
    REQUIRE(fr_mailbox_init(&mb) == 0);
    for (i = 0; i < 5; i++) CHECK(fr_mailbox_push(&mb, &a[i].job) == 0);
    n = read(fr_mailbox_fd(&mb), buf, sizeof buf);
#if defined(__linux__)
    {
        uint64_t v = 0;
        CHECK_EQ_INT(n, 8);
        memcpy(&v, buf, sizeof v);
        CHECK_EQ_INT(v, 1); /* eventfd counter: exactly one write */
    }
#else
    CHECK_EQ_INT(n, 1); /* pipe: exactly one byte */
#endif
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 0);
    {
        fr_job *h = fr_mailbox_take(&mb);
        int count = 0;
        for (; h; h = h->next) count++;
        CHECK_EQ_INT(count, 5);
    }
    fr_mailbox_close(&mb);
    free(a);
}

/* Check per-producer order and count of a taken list. Returns jobs seen. */
static int check_taken(fr_job *h, int *next_seq, int *order_ok) {
    int n = 0;
    for (; h; h = h->next) {
        cjob *c = (cjob *)h;
        int prod = c->seq / PER_PRODUCER, i = c->seq % PER_PRODUCER;
        if (i != next_seq[prod]) *order_ok = 0;
        next_seq[prod] = i + 1;
        atomic_fetch_add(&c->runs, 1);
        n++;
    }
    return n;
}

static void test_mailbox_producers_then_take(void) {
    enum { N = PRODUCERS * PER_PRODUCER };
    pthread_t t[PRODUCERS];
    producer pr[PRODUCERS];
    atomic_int go;
    int next_seq[PRODUCERS] = {0}, order_ok = 1;
    cjob *a = cjobs_new(N);
    fr_mailbox mb;
    atomic_init(&go, 0);
    REQUIRE(fr_mailbox_init(&mb) == 0);
    if (start_producers(t, pr, &go, NULL, &mb, a) < 0) {
        fr_mailbox_close(&mb);
        free(a);
        REQUIRE(!"pthread_create");
    }
    CHECK_EQ_INT(join_producers(t, pr), 0);
    CHECK(readable(fr_mailbox_fd(&mb), FRT_WAIT_MS) == 1);
    CHECK_EQ_INT(check_taken(fr_mailbox_take(&mb), next_seq, &order_ok), N);
    CHECK(order_ok);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 0);
    CHECK(fr_mailbox_take(&mb) == NULL);
    CHECK(all_ran_once(a, N));
    fr_mailbox_close(&mb);
    free(a);
}

/* Consumer drains while producers push: every wake-up leads to jobs (no
 * spurious readability), and no wake-up is lost (each poll is bounded). */
static void test_mailbox_concurrent_consumer(void) {
    enum { N = PRODUCERS * PER_PRODUCER };
    pthread_t t[PRODUCERS];
    producer pr[PRODUCERS];
    atomic_int go;
    int next_seq[PRODUCERS] = {0}, order_ok = 1, got = 0, spurious = 0, lost = 0;
    cjob *a = cjobs_new(N);
    fr_mailbox mb;
    atomic_init(&go, 0);
    REQUIRE(fr_mailbox_init(&mb) == 0);
    if (start_producers(t, pr, &go, NULL, &mb, a) < 0) {
        fr_mailbox_close(&mb);
        free(a);
        REQUIRE(!"pthread_create");
    }
    while (got < N) {
        fr_job *h;
        if (readable(fr_mailbox_fd(&mb), FRT_WAIT_MS) != 1) {
            lost = 1;
            break;
        }
        h = fr_mailbox_take(&mb);
        if (!h) spurious++;
        got += check_taken(h, next_seq, &order_ok);
    }
    CHECK_EQ_INT(join_producers(t, pr), 0);
    CHECK(!lost);
    CHECK_EQ_INT(spurious, 0);
    CHECK_EQ_INT(got, N);
    CHECK(order_ok);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 0);
    CHECK(all_ran_once(a, N));
    fr_mailbox_close(&mb);
    free(a);
}

/* The pool's jobs hand results to a host loop through a mailbox. */
static fr_mailbox *relay_mb;
static void relay_run(fr_job *j, void *ud) {
    (void)ud;
    if (fr_mailbox_push(relay_mb, j) != 0) abort();
}

static void test_pool_to_mailbox(void) {
    enum { N = 1000 };
    fr_pool_config cfg;
    fr_mailbox mb;
    cjob *a = cjobs_new(N);
    fr_pool *p;
    int i, got = 0;
    REQUIRE(fr_mailbox_init(&mb) == 0);
    relay_mb = &mb;
    memset(&cfg, 0, sizeof cfg);
    cfg.run = relay_run;
    cfg.threads = 4;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    for (i = 0; i < N; i++) CHECK(fr_pool_push(p, &a[i].job) == 0);
    while (got < N && readable(fr_mailbox_fd(&mb), FRT_WAIT_MS) == 1) {
        fr_job *h = fr_mailbox_take(&mb);
        for (; h; h = h->next) {
            atomic_fetch_add(&((cjob *)h)->runs, 1);
            got++;
        }
    }
    fr_pool_free(p);
    CHECK_EQ_INT(got, N);
    CHECK(all_ran_once(a, N));
    fr_mailbox_close(&mb);
    free(a);
}

/* The pool and the mailbox touch nothing of a job but its fr_job: a bare
 * fr_job placed right before a guard page survives both. */
static atomic_int bare_runs;
static void bare_run(fr_job *j, void *ud) {
    (void)j;
    (void)ud;
    atomic_fetch_add(&bare_runs, 1);
}

static void test_job_is_only_its_header(void) {
    fr_job proto = {NULL};
    fr_job *g = (fr_job *)frt_guarded(&proto, sizeof proto);
    fr_pool_config cfg;
    fr_mailbox mb;
    fr_pool *p;
    atomic_store(&bare_runs, 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.run = bare_run;
    p = fr_pool_new(&cfg);
    REQUIRE(p != NULL);
    CHECK(fr_pool_push(p, g) == 0);
    CHECK(wait_at_least(&bare_runs, 1) == 0);
    fr_pool_free(p);
    REQUIRE(fr_mailbox_init(&mb) == 0);
    CHECK(fr_mailbox_push(&mb, g) == 0);
    CHECK(fr_mailbox_take(&mb) == g);
    CHECK(g->next == NULL);
    fr_mailbox_close(&mb);
    frt_guarded_free(g, sizeof proto);
}

/* ---- held-back loop wake-ups (hold_wakes_us), through a real server ----
 * GET /x pushes a job that answers it from a worker. The first job, /gate,
 * waits until every request of the scenario is queued behind it, so the
 * worker then finds more jobs waiting and holds the wake-ups back. */

enum { HW_GATE, HW_A, HW_B, HW_C, HW_N };
typedef struct hw_job {
    fr_job job;
    fr_req *req;
    int kind;
} hw_job;

static struct {
    fr_pool *pool;
    atomic_int pushed, gate_answered, b_running, a_answered, app_freed, b_waited_out;
} hw;

static void hw_run(fr_job *j, void *ud) {
    hw_job *m = (hw_job *)j;
    int i;
    (void)ud;
    if (m->kind == HW_GATE) {
        for (i = 0; i < FRT_WAIT_MS && atomic_load(&hw.pushed) < HW_N; i++) sleep_ms(1);
        sleep_ms(2); /* jobs now average 25 us or more: short ones are not held */
    } else if (m->kind == HW_A) {
        /* answer once the loop, done with the gate's answer (its client has
         * it), sleeps -- nothing else wakes it here: this answer then needs
         * a wake-up, which the worker holds back */
        (void)wait_at_least(&hw.gate_answered, 1);
        sleep_ms(20);
    } else if (m->kind == HW_C) {
        busy_us(50); /* jobs this long get their wake-ups held */
    } else if (m->kind == HW_B) {
        atomic_store(&hw.b_running, 1);
        /* until the client has A's answer, or the app is gone */
        for (i = 0; i < FRT_WAIT_MS && !atomic_load(&hw.a_answered) && !atomic_load(&hw.app_freed); i++)
            sleep_ms(1);
        if (i == FRT_WAIT_MS) atomic_store(&hw.b_waited_out, 1);
    }
    /* after fr_app_free its request is gone with the app */
    if (!atomic_load(&hw.app_freed)) fr_res_json(m->req, 200, "{\"ok\":1}", 8);
    free(m);
}

static int hw_handler(fr_req *req, void *ud) {
    hw_job *m = (hw_job *)calloc(1, sizeof *m);
    if (!m) return fr_res_json(req, 503, "{}", 2);
    m->req = req;
    m->kind = (int)(intptr_t)ud;
    if (fr_pool_push(hw.pool, &m->job) != 0) {
        free(m);
        return fr_res_json(req, 503, "{}", 2);
    }
    atomic_fetch_add(&hw.pushed, 1);
    return FR_PENDING;
}

static int hw_start(frt_srv *s, unsigned stall_us, int hold_us, int drain_ms) {
    static const char *paths[HW_N] = {"/gate", "/a", "/b", "/c"};
    fr_pool_config pc;
    fr_config cfg;
    int i;
    memset(&hw, 0, sizeof hw);
    memset(&pc, 0, sizeof pc);
    pc.run = hw_run;
    pc.threads = 1; /* the jobs run in push order, no helper takes one */
    pc.stall_us = stall_us;
    pc.hold_wakes_us = hold_us; /* longer than the jobs here: only the monitor ends a hold */
    hw.pool = fr_pool_new(&pc);
    if (!hw.pool) return -1;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1;
    cfg.drain_timeout_ms = drain_ms;
    cfg.idle_timeout_ms = cfg.header_timeout_ms = 60 * 1000; /* no timer wakes the loop */
    s->app = fr_app_new(&cfg);
    if (!s->app) return -1;
    for (i = 0; i < HW_N; i++)
        if (fr_route(s->app, "GET", paths[i], hw_handler, (void *)(intptr_t)i) < 0) return -1;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return frt_srv_run(s);
}

/* the connections, each with its request sent (in this order) */
static int hw_send_all(int port, int *fd) {
    static const char *paths[HW_N] = {"/gate", "/a", "/b", "/c"};
    int i;
    char rq[64];
    for (i = 0; i < HW_N; i++) {
        fd[i] = frt_connect(port, 0);
        if (fd[i] < 0) return -1;
        snprintf(rq, sizeof rq, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", paths[i]);
        if (frt_send_all(fd[i], rq, strlen(rq)) < 0) return -1;
        /* queued in this order: the next request once this one is pushed */
        if (wait_at_least(&hw.pushed, i + 1) != 0) return -1;
    }
    return 0;
}

/* One whole 200 answer read from fd (each recv within FRT_IO_TIMEOUT_S). */
static int hw_answered(int fd) {
    char buf[512];
    size_t got = 0;
    while (got + 1 < sizeof buf) {
        ssize_t n = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0) return 0;
        got += (size_t)n;
        buf[got] = 0;
        if (strstr(buf, "{\"ok\":1}")) return strncmp(buf, "HTTP/1.1 200", 12) == 0;
    }
    return 0;
}

/* A's wake-up is held while B runs (C waits behind it); B blocks until the
 * client has A's answer: only the monitor's flush (at its first look once
 * the hold has lasted hold_wakes_us) can deliver it. */
static void test_pool_held_wake_flushed_behind_blocking_job(void) {
    frt_srv s;
    int fd[HW_N], i;
    REQUIRE(hw_start(&s, 2000, 50 * 1000, 0) == 0);
    REQUIRE(hw_send_all(s.port, fd) == 0);
    CHECK(hw_answered(fd[HW_GATE]));
    atomic_store(&hw.gate_answered, 1);
    CHECK(hw_answered(fd[HW_A]));
    atomic_store(&hw.a_answered, 1);
    CHECK(hw_answered(fd[HW_B]));
    CHECK(hw_answered(fd[HW_C]));
    CHECK_EQ_INT(atomic_load(&hw.b_waited_out), 0);
    for (i = 0; i < HW_N; i++) close(fd[i]);
    frt_srv_stop(&s);
    fr_pool_free(hw.pool);
}

/* The app is freed while a worker holds a wake-up for one of its loops:
 * fr_app_free takes the loop out of the set, the worker's later flush
 * touches nothing freed (ASan build). */
static void test_pool_held_wake_outlives_app(void) {
    frt_srv s;
    int fd[HW_N], i;
    /* no flush by the monitor here: the hold's bound is 10 s (and
     * fr_pool_free waits for the monitor's 1 s tick) */
    REQUIRE(hw_start(&s, 1000u * 1000, 10 * 1000 * 1000, 50) == 0);
    REQUIRE(hw_send_all(s.port, fd) == 0);
    CHECK(hw_answered(fd[HW_GATE]));
    atomic_store(&hw.gate_answered, 1);
    for (i = 0; i < FRT_WAIT_MS && !atomic_load(&hw.b_running); i++) sleep_ms(1);
    CHECK(atomic_load(&hw.b_running));
    CHECK_EQ_INT(readable(fd[HW_A], 200), 0); /* A's wake-up is held while B runs */
    frt_srv_stop(&s); /* the loop has A's answer queued, unseen */
    atomic_store(&hw.app_freed, 1);
    fr_pool_free(hw.pool); /* B and C end; the worker flushes its set */
    CHECK_EQ_INT(atomic_load(&hw.b_waited_out), 0);
    for (i = 0; i < HW_N; i++) close(fd[i]);
}

/* Many 50 us jobs from many connections, wake-ups held and flushed in
 * bursts: every answer arrives (none waits for a wake-up never written). */
static void test_pool_held_wakes_lose_nothing(void) {
    enum { CONNS = 8, ROUNDS = 200 };
    frt_srv s;
    fr_pool_config pc;
    fr_config cfg;
    int fd[CONNS], i, r, ok = 0;
    memset(&hw, 0, sizeof hw);
    memset(&pc, 0, sizeof pc);
    pc.run = hw_run;
    hw.pool = fr_pool_new(&pc); /* the default hold */
    REQUIRE(hw.pool != NULL);
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 2;
    cfg.no_signals = 1;
    s.app = fr_app_new(&cfg);
    REQUIRE(s.app != NULL);
    REQUIRE(fr_route(s.app, "GET", "/c", hw_handler, (void *)(intptr_t)HW_C) == 0);
    s.port = fr_listen(s.app, "127.0.0.1", 0);
    REQUIRE(s.port > 0);
    REQUIRE(frt_srv_run(&s) == 0);
    for (i = 0; i < CONNS; i++) REQUIRE((fd[i] = frt_connect(s.port, 0)) >= 0);
    for (r = 0; r < ROUNDS && ok == r * CONNS; r++) { /* stop at the first answer missing */
        static const char rq[] = "GET /c HTTP/1.1\r\nHost: t\r\n\r\n";
        for (i = 0; i < CONNS; i++) CHECK(frt_send_all(fd[i], rq, sizeof rq - 1) == 0);
        for (i = 0; i < CONNS; i++) ok += hw_answered(fd[i]);
    }
    CHECK_EQ_INT(ok, CONNS * ROUNDS);
    for (i = 0; i < CONNS; i++) close(fd[i]);
    frt_srv_stop(&s);
    fr_pool_free(hw.pool);
}

/* ---- fr_mailbox_run ---- */

/* A job that pushes one more job (the next of the array) the first time. */
typedef struct mrun {
    fr_mailbox *mb;
    cjob *more;
    counter k;
} mrun;

static void mrun_run(fr_job *j, void *ud) {
    mrun *m = (mrun *)ud;
    count_run(j, &m->k);
    if (m->more) {
        cjob *x = m->more;
        m->more = NULL;
        CHECK(fr_mailbox_push(m->mb, &x->job) == 0);
    }
}

/* Runs every queued job once, in push order, jobs queued by its jobs too;
 * returns how many; the fd is drained; NULL arguments run nothing. */
static void test_mailbox_run_basic(void) {
    enum { N = 5 };
    fr_mailbox mb;
    mrun m;
    cjob *a = cjobs_new(N + 1);
    int i;
    REQUIRE(fr_mailbox_init(&mb) == 0);
    memset(&m, 0, sizeof m);
    counter_init(&m.k);
    m.mb = &mb;
    m.more = &a[N];
    CHECK_EQ_INT(fr_mailbox_run(&mb, mrun_run, &m, 0), 0); /* empty */
    for (i = 0; i < N; i++) CHECK(fr_mailbox_push(&mb, &a[i].job) == 0);
    CHECK_EQ_INT(fr_mailbox_run(&mb, mrun_run, &m, 0), N + 1);
    CHECK(all_ran_once(a, N + 1));
    CHECK_EQ_INT(atomic_load(&m.k.order_ok), 1);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 0);
    CHECK_EQ_INT(fr_mailbox_run(NULL, mrun_run, &m, 0), 0);
    CHECK(fr_mailbox_push(&mb, &a[0].job) == 0);
    CHECK_EQ_INT(fr_mailbox_run(&mb, NULL, &m, 0), 0);
    CHECK(fr_mailbox_take(&mb) == &a[0].job); /* left queued */
    fr_mailbox_close(&mb);
    free(a);
}

/* While fr_mailbox_run takes, a push (here from one of its jobs) leaves the fd
 * alone: the run takes the job itself, and a write would only make the loop
 * that watches the fd call it again for nothing. */
static int mquiet_fd_clear = 1;
static void mquiet_run(fr_job *j, void *ud) {
    mrun *m = (mrun *)ud;
    mrun_run(j, ud);
    if (readable(fr_mailbox_fd(m->mb), 0) != 0) mquiet_fd_clear = 0;
}

static void test_mailbox_run_pushes_write_nothing(void) {
    fr_mailbox mb;
    mrun m;
    cjob *a = cjobs_new(2);
    REQUIRE(fr_mailbox_init(&mb) == 0);
    memset(&m, 0, sizeof m);
    counter_init(&m.k);
    m.mb = &mb;
    m.more = &a[1];
    CHECK(fr_mailbox_push(&mb, &a[0].job) == 0);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 1);
    CHECK_EQ_INT(fr_mailbox_run(&mb, mquiet_run, &m, 0), 2);
    CHECK_EQ_INT(mquiet_fd_clear, 1);
    CHECK(all_ran_once(a, 2));
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 0);
    /* the run is over: a push wakes the loop again */
    CHECK(fr_mailbox_push(&mb, &a[0].job) == 0);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 1);
    CHECK(fr_mailbox_take(&mb) == &a[0].job);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 0);
    fr_mailbox_close(&mb);
    free(a);
}

/* A push writes the fd after unlocking, so its write can land after a take
 * already got its job: the fd is readable with nothing queued. The next take
 * or run, empty, drains it (else a level-triggered loop would call it over
 * and over until another job came). Made here by writing the eventfd. */
static void test_mailbox_late_wake_drained(void) {
#if defined(__linux__)
    fr_mailbox mb;
    mrun m;
    uint64_t one = 1;
    REQUIRE(fr_mailbox_init(&mb) == 0);
    memset(&m, 0, sizeof m);
    counter_init(&m.k);
    CHECK(write(fr_mailbox_fd(&mb), &one, sizeof one) == (ssize_t)sizeof one);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 1);
    CHECK_EQ_INT(fr_mailbox_run(&mb, mrun_run, &m, 0), 0);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 0);
    CHECK(write(fr_mailbox_fd(&mb), &one, sizeof one) == (ssize_t)sizeof one);
    CHECK(fr_mailbox_take(&mb) == NULL);
    CHECK(readable(fr_mailbox_fd(&mb), 0) == 0);
    fr_mailbox_close(&mb);
#endif
}

/* Through a real server: GET /m pushes its request into a mailbox; a job
 * answers it after `busy` us of work (and, for the probe, a look at the
 * client first). */
typedef struct mb_job {
    fr_job job;
    fr_req *req;
} mb_job;

static struct {
    fr_mailbox mb;
    atomic_int pushed;
    int busy_us;
    int probe_fd;     /* >= 0: the second job of a run polls it first */
    int probe_ms;     /* for this long */
    int probe_seen;   /* what that poll saw: 1 readable, 0 not */
    int nrun;
} mbs;

static int mb_handler(fr_req *req, void *ud) {
    mb_job *m = (mb_job *)calloc(1, sizeof *m);
    (void)ud;
    if (!m) return fr_res_json(req, 503, "{}", 2);
    m->req = req;
    if (fr_mailbox_push(&mbs.mb, &m->job) != 0) {
        free(m);
        return fr_res_json(req, 503, "{}", 2);
    }
    atomic_fetch_add(&mbs.pushed, 1);
    return FR_PENDING;
}

static void mb_run(fr_job *j, void *ud) {
    mb_job *m = (mb_job *)j;
    (void)ud;
    if (mbs.nrun++ == 1 && mbs.probe_fd >= 0) mbs.probe_seen = readable(mbs.probe_fd, mbs.probe_ms);
    busy_us(mbs.busy_us);
    fr_res_json(m->req, 200, "{\"ok\":1}", 8);
    free(m);
}

static int mb_start(frt_srv *s, int threads) {
    fr_config cfg;
    memset(&mbs, 0, sizeof mbs);
    mbs.probe_fd = -1;
    if (fr_mailbox_init(&mbs.mb) != 0) return -1;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = threads;
    cfg.no_signals = 1;
    cfg.idle_timeout_ms = cfg.header_timeout_ms = 60 * 1000; /* no timer wakes the loop */
    s->app = fr_app_new(&cfg);
    if (!s->app || fr_route(s->app, "GET", "/m", mb_handler, NULL) < 0) return -1;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return frt_srv_run(s);
}

static const char MB_RQ[] = "GET /m HTTP/1.1\r\nHost: t\r\n\r\n";
/* a bound no wait in a slow (sanitizer, loaded) build reaches: only the
 * batch's end writes what is held */
enum { MB_HOLD = 10 * 1000 * 1000 };

/* Three requests queued, jobs of 50 us (the average taught first, one job
 * a run): the first job's answer is held while the second runs (its client
 * sees nothing for 30 ms: the loop sleeps, nothing else wakes it), then
 * written before the last job; every answer arrives. And with holding off
 * (< 0) the same probe sees the answer. */
static void test_mailbox_run_holds_wakes(void) {
    enum { WARM = 16 };
    frt_srv s;
    int fd[3], i;
    REQUIRE(mb_start(&s, 1) == 0);
    mbs.busy_us = 50;
    REQUIRE((fd[0] = frt_connect(s.port, 0)) >= 0);
    for (i = 0; i < WARM; i++) { /* one job per run: nothing held */
        CHECK(frt_send_all(fd[0], MB_RQ, sizeof MB_RQ - 1) == 0);
        CHECK(wait_at_least(&mbs.pushed, i + 1) == 0);
        CHECK_EQ_INT(fr_mailbox_run(&mbs.mb, mb_run, NULL, MB_HOLD), 1);
        CHECK(hw_answered(fd[0]));
    }
    for (i = 1; i < 3; i++) REQUIRE((fd[i] = frt_connect(s.port, 0)) >= 0);
    for (i = 0; i < 3; i++) {
        CHECK(frt_send_all(fd[i], MB_RQ, sizeof MB_RQ - 1) == 0);
        CHECK(wait_at_least(&mbs.pushed, WARM + i + 1) == 0);
    }
    sleep_ms(20); /* the loop sleeps */
    mbs.nrun = 0;
    mbs.probe_fd = fd[0];
    mbs.probe_ms = 30;
    CHECK_EQ_INT(fr_mailbox_run(&mbs.mb, mb_run, NULL, MB_HOLD), 3);
    CHECK_EQ_INT(mbs.probe_seen, 0); /* held while the second job ran */
    for (i = 0; i < 3; i++) CHECK(hw_answered(fd[i]));
    for (i = 0; i < 3; i++) {
        CHECK(frt_send_all(fd[i], MB_RQ, sizeof MB_RQ - 1) == 0);
        CHECK(wait_at_least(&mbs.pushed, WARM + 3 + i + 1) == 0);
    }
    sleep_ms(20);
    mbs.nrun = 0;
    mbs.probe_ms = FRT_WAIT_MS;
    CHECK_EQ_INT(fr_mailbox_run(&mbs.mb, mb_run, NULL, -1), 3);
    CHECK_EQ_INT(mbs.probe_seen, 1); /* written at once */
    for (i = 0; i < 3; i++) CHECK(hw_answered(fd[i]));
    for (i = 0; i < 3; i++) close(fd[i]);
    frt_srv_stop(&s);
    fr_mailbox_close(&mbs.mb);
}

static volatile int mb_runner_stop;

static void *mb_runner(void *arg) {
    (void)arg;
    while (!mb_runner_stop) {
        if (readable(fr_mailbox_fd(&mbs.mb), 10) == 1) fr_mailbox_run(&mbs.mb, mb_run, NULL, 0);
    }
    return NULL;
}

/* Many 50 us jobs from many connections, run by a thread that watches the
 * mailbox's fd: wake-ups held and flushed, every answer arrives. */
static void test_mailbox_run_loses_nothing(void) {
    enum { CONNS = 8, ROUNDS = 200 };
    frt_srv s;
    pthread_t t;
    int fd[CONNS], i, r, ok = 0;
    REQUIRE(mb_start(&s, 2) == 0);
    mbs.busy_us = 50;
    mb_runner_stop = 0;
    REQUIRE(pthread_create(&t, NULL, mb_runner, NULL) == 0);
    for (i = 0; i < CONNS; i++) REQUIRE((fd[i] = frt_connect(s.port, 0)) >= 0);
    for (r = 0; r < ROUNDS && ok == r * CONNS; r++) { /* stop at the first answer missing */
        for (i = 0; i < CONNS; i++) CHECK(frt_send_all(fd[i], MB_RQ, sizeof MB_RQ - 1) == 0);
        for (i = 0; i < CONNS; i++) ok += hw_answered(fd[i]);
    }
    CHECK_EQ_INT(ok, CONNS * ROUNDS);
    mb_runner_stop = 1;
    pthread_join(t, NULL);
    for (i = 0; i < CONNS; i++) close(fd[i]);
    frt_srv_stop(&s);
    fr_mailbox_close(&mbs.mb);
}

static const frt_case frt_cases[] = {
    FRT(test_pool_args),
    FRT(test_pool_all_jobs_run_once),
    FRT(test_pool_batch_hooks),
    FRT(test_pool_one_batch_drains_queue),
    FRT(test_pool_batch_begin_exit_hands_over),
    FRT(test_pool_batch_begin_exit_all),
    FRT(test_pool_blocking_job_does_not_stall),
    FRT(test_pool_several_blocking_jobs),
    FRT(test_pool_sleeping_job),
    FRT(test_pool_spin),
    FRT(test_pool_wakes_last_worker),
    FRT(test_pool_job_during_batch_end_stays),
    FRT(test_pool_serial_cpu_blocking_jobs),
    FRT(test_pool_serial_cpu_computing_job),
    FRT(test_pool_many_producers),
    FRT(test_pool_job_pushes_job),
    FRT(test_pool_free_refuses_new_jobs),
    FRT(test_pool_free_with_pending_jobs),
    FRT(test_pool_free_idle),
    FRT(test_pool_fork_child),
    FRT(test_pool_fork_registry_held),
    FRT(test_pool_held_wake_flushed_behind_blocking_job),
    FRT(test_pool_held_wake_outlives_app),
    FRT(test_pool_held_wakes_lose_nothing),
    FRT(test_mailbox_args),
    FRT(test_mailbox_basic),
    FRT(test_mailbox_writes_once),
    FRT(test_mailbox_producers_then_take),
    FRT(test_mailbox_concurrent_consumer),
    FRT(test_pool_to_mailbox),
    FRT(test_mailbox_run_basic),
    FRT(test_mailbox_run_pushes_write_nothing),
    FRT(test_mailbox_late_wake_drained),
    FRT(test_mailbox_run_holds_wakes),
    FRT(test_mailbox_run_loses_nothing),
    FRT(test_job_is_only_its_header),
};
FRT_MAIN()
