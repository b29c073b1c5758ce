/* ---- pool.c: worker pool for blocking jobs, mailbox for a host's loop ----
 *
 * Pool
 *  - One mutex guards everything: the job list, the counters, the flags.
 *    Each worker sleeps on its own condition variable; the sleepers form a
 *    stack and a wake-up goes to the top one, the worker that ran last (its
 *    caches, and a host's per-thread state such as a Python thread state,
 *    are the warmest; a round-robin over all workers measured 1.6 context
 *    switches per job). The signal is sent after the lock is released, so
 *    the woken worker does not block on the lock its waker holds; the
 *    `wake` flag, set under the lock, makes a wake-up impossible to lose.
 *    `waking` counts workers woken but not yet running, so a second push
 *    does not wake a second worker for the same empty pool. The monitor
 *    waits on mon_cv while there is nothing to watch (queue empty, or no
 *    worker inside a batch).
 *  - push wakes a worker only when no worker is inside a batch, spinning,
 *    waking or leaving its batch (that one will reach the new job itself:
 *    a worker back from batch_end looks at the queue before it parks, and
 *    a second worker woken meanwhile would only wait for the lock the
 *    first one drops in batch_end; def hello measured two workers taking
 *    turns, each sleeping and woken, GIL hand-offs between them);
 *    otherwise, if the queue was empty, it wakes the monitor, which then
 *    checks every stall_us whether the `progress` counter (jobs taken)
 *    moved. If it did not, the running job blocks: the monitor wakes one
 *    more idle worker, which starts its own batch. While jobs stay queued
 *    and stuck it keeps waking one more per period, up to every worker.
 *    With serial_cpu not while the worker that took the last job is
 *    computing rather than blocked (Linux: its state in /proc) and jobs
 *    average FR__POOL_SHORT_JOB_US or more: the new worker would only wait
 *    for the lock that one holds.
 *    Measured with Python handlers of ~100 us: a process waiting for a CPU
 *    made no progress for 1 ms, workers were added that way, up to 30 at
 *    once, and stayed in their batches; every request then paid GIL
 *    hand-offs (2-3 futex calls, ~20 us). (Also holding back while a woken
 *    worker had yet to take its first job cost hello a third of its rate
 *    in half the runs under bench_peers: dropped.)
 *  - Held wake-ups (hold_wakes_us): a worker that takes a job while more
 *    wait, alone in its batch, with a monitor, and jobs averaging between
 *    FR__POOL_SHORT_JOB_US and the bound, runs it capturing into its own
 *    wake set (internal.h): a request it answers is queued on its loop at
 *    once, the sleeping loop's wake-up is recorded. At its next take the
 *    worker writes the held wake-ups if the queue ran dry or the bound has
 *    passed since the first; the monitor (it watches while any worker
 *    holds) writes every hold older than the bound at each look, when the
 *    holder's job runs long. Measured on a 90 us Python job: eventfd
 *    writes 0.98 -> 0.31 per request, context switches 2.0 -> 1.15, CPU
 *    per request 112 -> 97 us.
 *  - Without a monitor thread (it could not be created) push wakes a worker
 *    every time instead, so a blocking job still cannot stall the queue.
 *  - spin_us: a worker that ran the queue dry counts itself in `spinning`
 *    and polls the atomic `queued` (sched_yield between looks) for up to
 *    spin_us before it sleeps; push wakes a worker only when no
 *    worker is active and none spins. The spinner re-checks the queue under
 *    the lock before it sleeps, so a push it missed is never lost.
 *  - Free sets `stopping` (pushes refused), wakes everyone; workers exit
 *    once the queue is empty, the monitor at once; then all are joined.
 *
 * Mailbox
 *  - The fd is written only under the lock, on the empty -> non-empty
 *    transition, and drained under the lock by the take that empties the
 *    queue: it is readable exactly while jobs wait, never spuriously, and
 *    a wake-up is never lost.
 */
#include "internal.h"

#include <pthread.h>
#include <time.h>
#if defined(_WIN32)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#else
#  include <unistd.h>
#  include <fcntl.h>
#  include <sched.h>
#  if defined(__linux__)
#    include <sys/eventfd.h>
#    include <sys/syscall.h>
#    include <stdio.h>
#  endif
#endif
#if defined(__linux__) && defined(_GNU_SOURCE) && defined(SYS_gettid)
#  define FR__POOL_TID 1 /* a worker's state can be read from /proc */
#endif
/* serial_cpu holds back, and wake-ups are held, only when jobs average at
 * least this long. serial_cpu: in a shorter one the hand-over at its end
 * (done outside the lock: Python releases the GIL to pass the answer to
 * the engine) is a large share, and a second worker overlaps it
 * (bench_peers, def hello: 0.69-0.93x the C engine with the hold-back,
 * 0.79-0.85x without; POST and response_model jobs of ~100 us lost ~20 us
 * each to it instead). Held wake-ups: short jobs find their loop awake
 * most of the time, and holding made def hello bimodal (65-120k req/s). */
#define FR__POOL_SHORT_JOB_US 25

/* ---- pool ---- */

/* One worker's wake-up: its own condition variable, signalled by whoever
 * takes it off the idle stack. */
typedef struct fr__pool_slot {
    pthread_cond_t cv;
    int wake;  /* set (under the lock) by the waker; the sleeper clears it */
    int ready; /* cv initialised */
    int tid;   /* the thread's id (FR__POOL_TID), 0 = unknown */
    struct fr_pool *pool;
    fr__wake_set wakes; /* loop wake-ups this worker holds back (hold_wakes_us) */
    int wakes_ok;       /* wakes initialised */
    int holding;        /* (lock) wakes is counted in nholding, since hold_since */
    int64_t hold_since;
} fr__pool_slot;

struct fr_pool {
    fr_pool_config cfg; /* defaults applied */
    pthread_mutex_t mu;
    fr__pool_slot *slots;  /* cfg.threads entries, one per worker */
    fr__pool_slot **idle;  /* sleeping workers, most recent last */
    int nidle;
    int waking;            /* taken off the idle stack, not yet running */
    pthread_cond_t mon_cv;  /* the monitor, while there is nothing to watch */
    fr_job *head, *tail;
    uint64_t progress; /* jobs taken so far: the monitor's stall detector */
    fr__atomic_int queued; /* jobs queued (changed under mu; read unlocked by a spinner) */
    int spinning;      /* workers spinning for a job (spin_us), at most one */
    int active;        /* workers inside a batch */
    int leaving;       /* workers whose batch ended, not yet back under the lock */
    fr__pool_slot *youngest; /* the worker that took the last job, until its batch ends */
    int64_t job_us;          /* moving average of a job's wall time (serial_cpu, holding) */
    int64_t hold_us;         /* cfg.hold_wakes_us with its default; 0 = never */
    int nholding;            /* workers holding wake-ups back: the monitor watches */
    int live;          /* workers started and not exited */
    int created;       /* entries of threads[] (joined by free) */
    int started;
    int stopping;
    int have_monitor;
    pthread_t monitor;
    pthread_t *threads; /* cfg.threads entries */
};

static void fr__pool_sleep_us(unsigned us) {
#if defined(_WIN32)
    Sleep((us + 999) / 1000);
#else
    struct timespec ts;
    ts.tv_sec = (time_t)(us / 1000000u);
    ts.tv_nsec = (long)(us % 1000000u) * 1000L;
    nanosleep(&ts, NULL);
#endif
}

/* Lock held. Take the most recently idle worker off the stack and mark it
 * woken; the caller signals the returned slot's cv after unlocking. */
static fr__pool_slot *fr__pool_pick(fr_pool *p) {
    fr__pool_slot *w;
    if (p->nidle == 0) return NULL;
    w = p->idle[--p->nidle];
    w->wake = 1;
    p->waking++;
    return w;
}

static void fr__pool_kick(fr__pool_slot *w) {
    if (w) pthread_cond_signal(&w->cv);
}

/* Lock held. Sleep until picked or the pool stops. */
static void fr__pool_park(fr_pool *p, fr__pool_slot *w) {
    int i;
    w->wake = 0;
    p->idle[p->nidle++] = w;
    while (!w->wake && !p->stopping) pthread_cond_wait(&w->cv, &p->mu);
    if (w->wake) {
        p->waking--;
        return;
    }
    for (i = 0; i < p->nidle; i++) /* stopping: leave the stack */
        if (p->idle[i] == w) {
            p->idle[i] = p->idle[--p->nidle];
            break;
        }
}

/* Is the thread computing (running or waiting for a CPU) rather than
 * blocked? From /proc/self/task/<tid>/stat; 0 when it cannot be told. */
static int fr__pool_computing(int tid) {
#if defined(FR__POOL_TID)
    char path[64], buf[512], *e;
    FILE *f;
    size_t n;
    if (tid <= 0) return 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    f = fopen(path, "re");
    if (!f) return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    e = strrchr(buf, ')'); /* "tid (comm) S ...": comm may hold anything */
    return e && e[1] == ' ' && e[2] == 'R';
#else
    (void)tid;
    return 0;
#endif
}

static int64_t fr__pool_now_us(void);

static void *fr__pool_monitor(void *arg) {
    fr_pool *p = (fr_pool *)arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        uint64_t seen;
        int64_t cutoff;
        int i;
        fr__pool_slot *w = NULL;
        while (!p->stopping && (!p->head || p->active == 0) && p->nholding == 0) {
            /* queued with nobody in a batch or on the way: make sure */
            if (p->head && p->active == 0 && p->waking == 0 && p->spinning == 0 && p->leaving == 0 &&
                p->nidle > 0) {
                w = fr__pool_pick(p);
                pthread_mutex_unlock(&p->mu);
                fr__pool_kick(w);
                pthread_mutex_lock(&p->mu);
                continue;
            }
            pthread_cond_wait(&p->mon_cv, &p->mu);
        }
        if (p->stopping) break;
        seen = p->progress;
        pthread_mutex_unlock(&p->mu);
        fr__pool_sleep_us(p->cfg.stall_us);
        pthread_mutex_lock(&p->mu);
        /* wake-ups held longer than the bound: the holder's job runs long */
        cutoff = fr__pool_now_us() - p->hold_us;
        for (i = 0; p->nholding > 0 && i < p->created; i++) {
            fr__pool_slot *s = &p->slots[i];
            if (!s->holding || s->hold_since > cutoff) continue;
            s->holding = 0;
            p->nholding--;
            pthread_mutex_unlock(&p->mu);
            fr__wakes_flush(&s->wakes);
            pthread_mutex_lock(&p->mu);
        }
        /* stuck; but with serial_cpu a job that computes would only make
         * the new worker wait for the lock it holds (Python's GIL) */
        if (!p->stopping && p->head && p->progress == seen) {
            int tid = p->cfg.serial_cpu && p->youngest && p->job_us >= FR__POOL_SHORT_JOB_US
                          ? p->youngest->tid : 0, computing = 0;
            if (tid) {
                pthread_mutex_unlock(&p->mu);
                computing = fr__pool_computing(tid);
                pthread_mutex_lock(&p->mu);
            }
            if (!computing && !p->stopping && p->head && p->progress == seen) w = fr__pool_pick(p);
            pthread_mutex_unlock(&p->mu);
            fr__pool_kick(w);
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int64_t fr__pool_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wait awake, lock NOT held, up to spin_us for a job to be queued. */
static void fr__pool_spin(fr_pool *p) {
    int64_t end = fr__pool_now_us() + (int64_t)p->cfg.spin_us;
    for (unsigned i = 1;; i++) {
        if (fr__atomic_load_explicit(&p->queued, FR__RELAXED) > 0) return;
#if defined(_WIN32)
        SwitchToThread();
#else
        sched_yield();
#endif
        if ((i & 15) == 0 && fr__pool_now_us() >= end) return;
    }
}

/* Run jobs until the queue is empty. Called with the lock NOT held and
 * p->active already counting this worker; returns with it uncounted. */
static void fr__pool_batch(fr_pool *p, fr__pool_slot *me) {
    int64_t t0 = -1;
    int timed = p->cfg.serial_cpu || p->hold_us > 0, hold = 0;
    for (;;) {
        fr_job *job;
        int64_t now = timed ? fr__pool_now_us() : 0;
        int held = hold && fr__wakes_pending(&me->wakes) > 0, flush = 0;
        pthread_mutex_lock(&p->mu);
        if (t0 >= 0) p->job_us += (now - t0 - p->job_us) / 8;
        if (held && !me->holding) {
            me->holding = 1;
            me->hold_since = now;
            if (p->nholding++ == 0) pthread_cond_signal(&p->mon_cv);
        }
        job = p->head;
        if (job) {
            p->head = job->next;
            if (!p->head) p->tail = NULL;
            fr__atomic_fetch_sub_explicit(&p->queued, 1, FR__RELAXED);
            p->progress++;
            p->youngest = me;
            if (p->head) pthread_cond_signal(&p->mon_cv);
        } else {
            p->active--;
            p->leaving++;
            if (p->youngest == me) p->youngest = NULL;
        }
        /* hold this job's wake-ups back only while more jobs wait and they
         * are short; once the bound passed, write the held ones */
        /* (one worker in a batch: none was added for a blocked job, whose
         * like would keep this one's answers waiting for the monitor) */
        hold = job && p->head && me->wakes_ok && p->have_monitor && p->active == 1 &&
               p->job_us >= FR__POOL_SHORT_JOB_US && p->job_us < p->hold_us;
        if (me->holding && (!hold || now - me->hold_since >= p->hold_us)) {
            me->holding = 0;
            p->nholding--;
            flush = 1;
        }
        pthread_mutex_unlock(&p->mu);
        if (flush) fr__wakes_flush(&me->wakes);
        if (!job) break;
        job->next = NULL;
        t0 = timed ? now : -1;
        fr__wakes_capture(hold ? &me->wakes : NULL);
        p->cfg.run(job, p->cfg.ud);
    }
    fr__wakes_capture(NULL);
}

static void *fr__pool_worker(void *arg) {
    fr__pool_slot *me = (fr__pool_slot *)arg;
    fr_pool *p = me->pool;
    pthread_mutex_lock(&p->mu);
#if defined(FR__POOL_TID)
    me->tid = (int)syscall(SYS_gettid);
#endif
    for (;;) {
        if (!p->head && !p->stopping && p->cfg.spin_us && p->spinning == 0) {
            p->spinning++;
            pthread_mutex_unlock(&p->mu);
            fr__pool_spin(p);
            pthread_mutex_lock(&p->mu);
            p->spinning--;
        }
        while (!p->head && !p->stopping) fr__pool_park(p, me);
        if (!p->head) break; /* stopping, queue drained */
        p->active++;
        pthread_mutex_unlock(&p->mu);
        if (p->cfg.batch_begin && p->cfg.batch_begin(p->cfg.ud) != 0) {
            fr__pool_slot *w;
            pthread_mutex_lock(&p->mu);
            p->active--;
            w = p->head && p->active == 0 ? fr__pool_pick(p) : NULL; /* pass the wake-up on */
            if (w) {
                pthread_mutex_unlock(&p->mu);
                fr__pool_kick(w);
                pthread_mutex_lock(&p->mu);
            }
            break;
        }
        fr__pool_batch(p, me);
        if (p->cfg.batch_end) p->cfg.batch_end(p->cfg.ud);
        pthread_mutex_lock(&p->mu);
        p->leaving--; /* a job pushed meanwhile is this worker's: it woke nobody */
    }
    p->live--;
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Create the workers, then the monitor. Lock held. 0 / -1 (no worker). */
static int fr__pool_start_locked(fr_pool *p) {
    pthread_attr_t at;
    int i, have_attr;
    if (p->stopping) return -1;
    if (p->started) return 0;
    have_attr = pthread_attr_init(&at) == 0;
    if (have_attr) (void)pthread_attr_setstacksize(&at, p->cfg.stack_size); /* EINVAL: default */
    for (i = p->created; i < p->cfg.threads; i++) {
        if (!p->slots[i].ready) {
            if (pthread_cond_init(&p->slots[i].cv, NULL) != 0) break;
            p->slots[i].ready = 1;
            p->slots[i].pool = p;
            p->slots[i].wakes_ok = p->hold_us > 0 && fr__wakes_init(&p->slots[i].wakes) == 0;
        }
        if (pthread_create(&p->threads[i], have_attr ? &at : NULL, fr__pool_worker, &p->slots[i]) != 0)
            break;
        p->created++;
        p->live++;
    }
    if (p->live > 0 && !p->have_monitor)
        p->have_monitor = pthread_create(&p->monitor, have_attr ? &at : NULL, fr__pool_monitor, p) == 0;
    if (have_attr) pthread_attr_destroy(&at);
    if (p->live == 0) return -1;
    p->started = 1;
    return 0;
}

FR_API fr_pool *fr_pool_new(const fr_pool_config *cfg) {
    fr_pool *p;
    if (!cfg || !cfg->run) return NULL;
    p = (fr_pool *)FR_MALLOC(sizeof *p);
    if (!p) return NULL;
    memset((void *)p, 0, sizeof *p); /* (void *): C++ warns on its atomics */
    fr__atomic_init(&p->queued, 0);
    p->cfg = *cfg;
    if (p->cfg.threads <= 0) p->cfg.threads = FR_POOL_THREADS;
    if (p->cfg.stack_size == 0) p->cfg.stack_size = (size_t)1 << 20;
    if (p->cfg.stall_us == 0) p->cfg.stall_us = 1000;
    p->hold_us = p->cfg.hold_wakes_us < 0 ? 0 : p->cfg.hold_wakes_us ? p->cfg.hold_wakes_us : FR_POOL_HOLD_WAKES_US;
    p->threads = (pthread_t *)FR_MALLOC((size_t)p->cfg.threads * sizeof(pthread_t));
    p->slots = (fr__pool_slot *)FR_MALLOC((size_t)p->cfg.threads * sizeof(fr__pool_slot));
    p->idle = (fr__pool_slot **)FR_MALLOC((size_t)p->cfg.threads * sizeof(fr__pool_slot *));
    if (!p->threads || !p->slots || !p->idle) goto fail_mu;
    memset((void *)p->slots, 0, (size_t)p->cfg.threads * sizeof(fr__pool_slot));
    if (pthread_mutex_init(&p->mu, NULL) != 0) goto fail_mu;
    if (pthread_cond_init(&p->mon_cv, NULL) != 0) goto fail_mon;
    return p;
fail_mon:
    pthread_mutex_destroy(&p->mu);
fail_mu:
    FR_FREE(p->idle);
    FR_FREE(p->slots);
    FR_FREE(p->threads);
    FR_FREE(p);
    return NULL;
}

FR_API int fr_pool_start(fr_pool *p) {
    int rc;
    if (!p) return -1;
    pthread_mutex_lock(&p->mu);
    rc = fr__pool_start_locked(p);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

FR_API int fr_pool_push(fr_pool *p, fr_job *job) {
    fr__pool_slot *w = NULL;
    if (!p || !job) return -1;
    pthread_mutex_lock(&p->mu);
    if (fr__pool_start_locked(p) < 0 || p->live == 0) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    job->next = NULL;
    if (p->tail) {
        p->tail->next = job;
    } else {
        p->head = job;
        if (p->active > 0) pthread_cond_signal(&p->mon_cv); /* start watching */
    }
    p->tail = job;
    fr__atomic_fetch_add_explicit(&p->queued, 1, FR__RELAXED);
    /* an active worker reaches the job itself, a spinning one sees `queued`,
     * a woken one is on its way */
    if ((p->active == 0 && p->spinning == 0 && p->waking == 0 && p->leaving == 0) || !p->have_monitor)
        w = fr__pool_pick(p);
    pthread_mutex_unlock(&p->mu);
    fr__pool_kick(w);
    return 0;
}

FR_API void fr_pool_free(fr_pool *p) {
    int i;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    for (i = 0; i < p->cfg.threads; i++)
        if (p->slots[i].ready) pthread_cond_broadcast(&p->slots[i].cv);
    pthread_cond_broadcast(&p->mon_cv);
    pthread_mutex_unlock(&p->mu);
    /* workers exit once the queue is empty (or through batch_begin) */
    for (i = 0; i < p->created; i++) pthread_join(p->threads[i], NULL);
    if (p->have_monitor) pthread_join(p->monitor, NULL);
    pthread_cond_destroy(&p->mon_cv);
    for (i = 0; i < p->cfg.threads; i++) {
        if (p->slots[i].wakes_ok) fr__wakes_fini(&p->slots[i].wakes);
        if (p->slots[i].ready) pthread_cond_destroy(&p->slots[i].cv);
    }
    pthread_mutex_destroy(&p->mu);
    FR_FREE(p->idle);
    FR_FREE(p->slots);
    FR_FREE(p->threads);
    FR_FREE(p);
}

FR_API void fr_pool_abandon(fr_pool *p) {
    int i;
    if (!p) return;
    /* the parent's threads and possibly-held locks: memory only, never touched */
    for (i = 0; i < p->cfg.threads; i++)
        if (p->slots[i].wakes_ok) fr__wakes_abandon(&p->slots[i].wakes);
    FR_FREE(p->idle);
    FR_FREE(p->slots);
    FR_FREE(p->threads);
    FR_FREE(p);
}

/* ---- mailbox ---- */

#if !defined(_WIN32) && !defined(__linux__)
static int fr__mb_flags(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ? -1 : 0;
}
#endif

/* Open the wake-up channel. 0 / -1. */
static int fr__mb_open(fr_mailbox *mb) {
#if defined(_WIN32)
    (void)mb;
    return -1; /* port pending: a socket pair will do */
#elif defined(__linux__)
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) return -1;
    mb->fd_r = mb->fd_w = fd;
    return 0;
#else
    int fds[2];
    if (pipe(fds) < 0) return -1;
    if (fr__mb_flags(fds[0]) < 0 || fr__mb_flags(fds[1]) < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    mb->fd_r = fds[0];
    mb->fd_w = fds[1];
    return 0;
#endif
}

static void fr__mb_close_fds(fr_mailbox *mb) {
#if !defined(_WIN32)
    if (mb->fd_r >= 0) close(mb->fd_r);
    if (mb->fd_w >= 0 && mb->fd_w != mb->fd_r) close(mb->fd_w);
#endif
    mb->fd_r = mb->fd_w = -1;
}

/* Lock held. The queue just became non-empty. */
static void fr__mb_signal(fr_mailbox *mb) {
#if !defined(_WIN32)
    ssize_t r;
#  if defined(__linux__)
    uint64_t one = 1;
    do r = write(mb->fd_w, &one, sizeof one); while (r < 0 && errno == EINTR);
#  else
    char one = 1;
    do r = write(mb->fd_w, &one, 1); while (r < 0 && errno == EINTR);
#  endif
    (void)r;
#else
    (void)mb;
#endif
}

/* Lock held. The queue was just emptied. */
static void fr__mb_drain(fr_mailbox *mb) {
#if !defined(_WIN32)
    ssize_t r;
#  if defined(__linux__)
    uint64_t v;
    do r = read(mb->fd_r, &v, sizeof v); while (r < 0 && errno == EINTR);
#  else
    char buf[64];
    do r = read(mb->fd_r, buf, sizeof buf); while (r > 0 || (r < 0 && errno == EINTR));
#  endif
    (void)r;
#else
    (void)mb;
#endif
}

FR_API int fr_mailbox_init(fr_mailbox *mb) {
    pthread_mutex_t *mu;
    if (!mb) return -1;
    mb->head = mb->tail = NULL;
    mb->fd_r = mb->fd_w = -1;
    mb->lock = NULL;
    mb->job_us = 0;
    mb->running = 0;
    mu = (pthread_mutex_t *)FR_MALLOC(sizeof *mu);
    if (!mu) return -1;
    if (pthread_mutex_init(mu, NULL) != 0) {
        FR_FREE(mu);
        return -1;
    }
    if (fr__mb_open(mb) < 0) {
        pthread_mutex_destroy(mu);
        FR_FREE(mu);
        return -1;
    }
    mb->lock = mu;
    return 0;
}

FR_API int fr_mailbox_fd(const fr_mailbox *mb) {
    return mb && mb->lock ? mb->fd_r : -1;
}

FR_API int fr_mailbox_push(fr_mailbox *mb, fr_job *job) {
    pthread_mutex_t *mu;
    int was_empty;
    if (!mb || !job || !mb->lock) return -1;
    mu = (pthread_mutex_t *)mb->lock;
    job->next = NULL;
    pthread_mutex_lock(mu);
    was_empty = mb->tail == NULL && !mb->running;
    if (mb->tail) mb->tail->next = job;
    else mb->head = job;
    mb->tail = job;
    pthread_mutex_unlock(mu);
    /* signalled after the unlock, so the woken taker does not block on the
     * lock at once; a taker that already took the job meanwhile sees one
     * spurious wake-up (an empty take, which drains it), never a lost one */
    if (was_empty) fr__mb_signal(mb);
    return 0;
}

/* Take the queue. `run`: 1 = fr_mailbox_run's first take (from now on it
 * takes what is pushed: no fd writes), 0 = its next ones (an empty one ends
 * it; the fd was drained by the first), -1 = fr_mailbox_take. */
static fr_job *fr__mb_take(fr_mailbox *mb, int run) {
    pthread_mutex_t *mu = (pthread_mutex_t *)mb->lock;
    fr_job *h;
    pthread_mutex_lock(mu);
    h = mb->head;
    mb->head = mb->tail = NULL;
    if (run != 0) fr__mb_drain(mb);
    mb->running = run >= 0 && h;
    pthread_mutex_unlock(mu);
    return h;
}

FR_API fr_job *fr_mailbox_take(fr_mailbox *mb) {
    if (!mb || !mb->lock) return NULL;
    return fr__mb_take(mb, -1);
}

FR_API int fr_mailbox_run(fr_mailbox *mb, fr_job_fn run, void *ud, int hold_wakes_us) {
    fr__wake_set *set = NULL;
    fr_job *j;
    int64_t since = -1; /* the first held job's start; -1 = nothing held */
    int64_t bound = hold_wakes_us < 0 ? 0 : hold_wakes_us ? hold_wakes_us : FR_POOL_HOLD_WAKES_US;
    int n = 0;
    if (!mb || !run || !mb->lock) return 0;
    for (j = fr__mb_take(mb, 1); j; j = fr__mb_take(mb, 0)) {
        while (j) {
            fr_job *next = j->next;
            int64_t t0 = fr__pool_now_us();
            /* the pool's window: jobs this short find the loops awake, a
             * long one would keep the answers before it waiting */
            int hold = next && mb->job_us >= FR__POOL_SHORT_JOB_US && mb->job_us < bound;
            if (since >= 0 && (!hold || t0 - since >= bound)) {
                fr__wakes_flush(set);
                since = -1;
            }
            if (hold && !set) set = fr__wakes_thread_set();
            if (hold && set && since < 0) since = t0;
            fr__wakes_capture(hold ? set : NULL);
            run(j, ud);
            mb->job_us += (fr__pool_now_us() - t0 - mb->job_us) / 8;
            n++;
            j = next;
        }
    }
    /* nothing is held here: a batch's last job runs uncaptured, after the flush */
    return n;
}

FR_API void fr_mailbox_close(fr_mailbox *mb) {
    if (!mb || !mb->lock) return;
    fr__mb_close_fds(mb);
    pthread_mutex_destroy((pthread_mutex_t *)mb->lock);
    FR_FREE(mb->lock);
    mb->lock = NULL;
    mb->head = mb->tail = NULL;
}

FR_API void fr_mailbox_abandon(fr_mailbox *mb) {
    if (!mb || !mb->lock) return;
    fr__mb_close_fds(mb);
    FR_FREE(mb->lock); /* a parent thread may have held it: never destroyed */
    mb->lock = NULL;
    mb->head = mb->tail = NULL;
}
