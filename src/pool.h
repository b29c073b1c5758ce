/* ---- pool.h: a worker pool for blocking jobs and a mailbox for a host's loop ----
 *
 * Two ways to get work off an event-loop thread, both built on one
 * intrusive job type:
 *
 *  - fr_pool: threads for work that blocks. A C handler that must block
 *    (a database call, a file read) returns FR_PENDING, pushes a job, and
 *    the job answers with fr_res_send() from the worker. The Python glue
 *    runs `def` handlers on it.
 *  - fr_mailbox: a queue that a host's OWN loop drains (asyncio's
 *    add_reader, a game loop's poll): any thread pushes, the queue's file
 *    descriptor becomes readable, the loop takes the jobs and runs them.
 *
 * Jobs are intrusive: embed fr_job as the FIRST member of your own struct
 * and cast back in the callback. Neither the pool nor the mailbox allocates
 * or frees a job; the job belongs to the queue from push until it is run
 * (pool) or taken (mailbox), then to whoever runs it again.
 *
 *   typedef struct { fr_job job; fr_req *req; } my_job;
 *   static void run(fr_job *j, void *ud) {
 *       my_job *m = (my_job *)j;
 *       ...block...;  fr_res_json(m->req, 200, ...);  free(m);
 *   }
 *   static int handler(fr_req *req, void *ud) {
 *       my_job *m = malloc(sizeof *m);
 *       if (m) m->req = req;
 *       if (!m || fr_pool_push((fr_pool *)ud, &m->job) < 0) {
 *           free(m); return fr_res_json(req, 503, ...);
 *       }
 *       return FR_PENDING;    // the job answers later, from its worker
 *   }
 *   ...  fr_pool_config pc = {0};  pc.run = run;
 *        fr_pool *pool = fr_pool_new(&pc);  fr_route(app, "GET", "/x", handler, pool);
 *
 * The pool's scheduling (tuned for Python's GIL, good for C too): ONE worker
 * normally drains the queue in a batch -- waking more threads per job would
 * only make them fight over a lock such as the GIL. A monitor thread wakes
 * another worker when the queue is non-empty and made no progress for
 * stall_us microseconds (the running job blocks: sleep, I/O), so a
 * blocking job never stalls the jobs behind it. With spin_us set, the
 * worker that drained the queue waits a moment awake (sched_yield between
 * looks) before sleeping: a push then finds it awake and wakes nobody.
 * While jobs wait, a worker's answers (fr_res_send) to a sleeping I/O loop
 * wake it once per hold_wakes_us instead of once each. Up to `threads`
 * workers run at once; more blocking jobs than that wait their turn. Jobs
 * start in push order; with several workers active they may finish in any
 * order.
 *
 * fork(): a child process inherits the memory of a pool and a mailbox but
 * none of the pool's threads, and any of their locks may be held forever.
 * In the child never push to, free or close them: call fr_pool_abandon /
 * fr_mailbox_abandon (they release what can be released without touching a
 * lock) and create new ones. The engine's own process-wide state (the
 * registry of held wake-ups) is kept whole across fork() by pthread_atfork
 * handlers, so new pools and apps work in the child whatever the parent's
 * other threads were doing.
 *
 * Platforms: POSIX threads everywhere; the mailbox's fd is an eventfd on
 * Linux and a non-blocking pipe on other POSIX systems. On Windows
 * (port pending) fr_mailbox_init fails with -1. */

/* One queued job; embed as the first member of your own job struct. `next`
 * belongs to the queue while the job is queued. */
typedef struct fr_job {
    struct fr_job *next;
} fr_job;

/* ---- fr_pool ---- */

typedef struct fr_pool fr_pool; /* opaque; created by fr_pool_new */

/* Runs one job on a worker thread. The job is the callback's to keep, free
 * or push again. ud is fr_pool_config.ud. */
typedef void (*fr_job_fn)(fr_job *job, void *ud);

/* Runtime configuration. Valid when zeroed except `run`. */
typedef struct fr_pool_config {
    int threads;        /* most workers at once (<= 0 = FR_POOL_THREADS) */
    size_t stack_size;  /* per worker (0 = 1 MiB; below the system minimum = system default) */
    unsigned stall_us;  /* no progress this long with jobs queued wakes another worker (0 = 1000) */
    /* Jobs hold one lock while they compute (Python's GIL): when jobs
     * average 25 us or more, a stall gets another worker only while the
     * job that holds it up is blocked (sleep, I/O), not while it computes
     * (on Linux, where a thread's state can be read; elsewhere ignored).
     * 0 = any stall gets one. */
    int serial_cpu;
    /* A worker whose queue ran dry stays awake this long (yielding the CPU
     * between looks, outside batch_begin/batch_end) before it sleeps, so a
     * steady stream of short jobs costs no sleep/wake pair per job. One
     * worker spins at a time. 0 = never spin. Measure before you set it:
     * when the process runs in its own CPU group (a cgroup, a systemd unit,
     * a new session with autogroup scheduling) sched_yield finds nobody to
     * yield to and the spin burns the group's share; fastrapi's Python face
     * measured 0.75x the throughput with 50 us than without. */
    unsigned spin_us;
    /* A worker that answers a request (fr_res_send) while more jobs wait
     * holds back the wake-up of the request's I/O loop, so that one
     * wake-up carries several answers: a wake-up costs the waker several
     * microseconds when the loop sleeps on another CPU (measured ~6 us per
     * request, 7 % of a 90 us Python job, in a VM). The held wake-ups are
     * written when the queue runs dry or once this long has passed since
     * the first (by the monitor, at its next look, when the worker's job
     * runs long). Only while the worker is alone in its batch (a second
     * one means a job blocked: its answers would wait for the monitor),
     * the monitor thread exists, and jobs average 25 us or more (shorter
     * ones find the loop mostly awake anyway, and holding made Python hello
     * bimodal, 65-120k req/s) and less than this. Measured with 1 ms
     * against 200 us: a 90 us job 12.9-13.1k against 11.2-12.7k req/s, a
     * 160 us one 5.3-6.1k against 4.4-6.1k; POST and 20 ms sleeping jobs
     * beside 100 us ones unchanged.
     * 0 = FR_POOL_HOLD_WAKES_US, < 0 = never. */
    int hold_wakes_us;
    fr_job_fn run;      /* runs one job (required) */
    /* Before a worker drains a batch (e.g. take the GIL), on that worker.
     * Non-zero = this worker exits without running anything (e.g. the
     * interpreter is finalizing). NULL = none. */
    int (*batch_begin)(void *ud);
    void (*batch_end)(void *ud); /* after the batch (e.g. release the GIL); NULL = none */
    void *ud;                    /* passed to run, batch_begin, batch_end */
} fr_pool_config;

/* Create a pool (cfg is copied). No thread starts yet: workers and the
 * monitor start on the first push or on fr_pool_start. NULL if cfg or
 * cfg->run is NULL, or out of memory. Caller frees with fr_pool_free. */
FR_API fr_pool *fr_pool_new(const fr_pool_config *cfg);
/* Start the workers and the monitor now (to learn about failure early).
 * 0 (also if already running), or -1: no thread could be created (nothing
 * started; a later start or push tries again) or the pool is being freed.
 * Thread-safe. Fewer workers than asked is not an error. */
FR_API int fr_pool_start(fr_pool *p);
/* Queue a job (starting the pool if needed). Any thread, jobs included.
 * 0, or -1 and the job stays the caller's: NULL arguments, the pool is
 * being freed, no thread could be started, or every worker has exited
 * through batch_begin. */
FR_API int fr_pool_push(fr_pool *p, fr_job *job);
/* Stop the pool: from now on pushes are refused (-1; running jobs may
 * still call push and get it); the jobs already queued still run; then
 * every worker and the monitor are joined and the memory is freed. Jobs
 * left queued because every worker exited through batch_begin are NOT run
 * (the caller still owns their memory). Call once, not from a job of this
 * pool, and only once threads outside the pool have stopped pushing (p is
 * freed when this returns). NULL is a no-op. */
FR_API void fr_pool_free(fr_pool *p);
/* In a child process after fork(): free the pool's memory without locking,
 * signalling or joining anything (its threads exist only in the parent).
 * Queued jobs are forgotten, not run. p is invalid afterwards. Only in a
 * single-threaded child; NULL is a no-op. */
FR_API void fr_pool_abandon(fr_pool *p);

/* ---- fr_mailbox ---- */

/* A multi-producer job queue with a wake-up fd for the consumer's own
 * loop. Embeddable; the fields are private (use the functions). A zeroed
 * fr_mailbox is "closed": fr_mailbox_close on it is a no-op. */
typedef struct fr_mailbox {
    fr_job *head, *tail; /* queue, oldest first (under lock) */
    int fd_r, fd_w;      /* wake-up channel: eventfd (fd_r == fd_w) or pipe */
    void *lock;          /* allocated mutex; NULL = not open */
    long long job_us;    /* fr_mailbox_run: moving average of a job's wall time */
    int running;         /* fr_mailbox_run is taking (under lock): pushes need no fd write */
} fr_mailbox;

/* Open: an eventfd on Linux (EFD_NONBLOCK|EFD_CLOEXEC), a non-blocking
 * close-on-exec pipe elsewhere. 0, or -1 (mb left closed). Not thread-safe
 * (nothing may use mb yet). */
FR_API int fr_mailbox_init(fr_mailbox *mb);
/* The fd to watch for reading: readable exactly while jobs wait (after the
 * push that made the queue non-empty until the take that emptied it).
 * While fr_mailbox_run runs, jobs pushed are its to take and the fd is left
 * alone (a write there would only be read back). A wake-up can come late:
 * a push's write lands after the take that got its job; the next take, if
 * empty, drains it (one spurious wake-up, never a readable fd left behind).
 * Never read it yourself; fr_mailbox_take drains it. -1 when closed. */
FR_API int fr_mailbox_fd(const fr_mailbox *mb);
/* Queue a job; any thread. Writes the fd only when the queue was empty
 * and fr_mailbox_run is not taking.
 * 0, or -1 (NULL argument or mailbox closed; the job stays the caller's).
 * Must not race with fr_mailbox_close. */
FR_API int fr_mailbox_push(fr_mailbox *mb, fr_job *job);
/* Take every queued job at once: a list in push order (follow ->next,
 * NULL-terminated; read next before re-pushing a job), or NULL if empty.
 * Drains the fd (also when empty: a late wake-up). The jobs are the caller's. Any thread,
 * normally the one that watches the fd. */
FR_API fr_job *fr_mailbox_take(fr_mailbox *mb);
/* Take and run every queued job on this thread, batch after batch, until
 * the queue is empty; returns how many ran. run(job, ud) runs one (the job
 * is its own). What fr_mailbox_take and a loop over the list do, plus what
 * a pool worker does with the answers (fr_pool_config.hold_wakes_us):
 * while more jobs of the batch wait, an I/O loop's wake-up for an answer a
 * job gives (fr_res_send & co from this thread) is held, and written before
 * the batch's last job or before the next one once hold_wakes_us have
 * passed since the first; only while jobs average between 25 us and that
 * bound (0 = FR_POOL_HOLD_WAKES_US, < 0 = never hold). Measured: an
 * asyncio thread rendering a 170 us Jinja2 page spent 8 % of its time
 * waking the loops, one wake-up per answer; holding up to 1 ms gave
 * 5.7-6.0k req/s against 4.5-5.6k (up to 200 us: no measurable change).
 * A job that blocks keeps the answers held before it in its batch until
 * it returns (an event loop it blocks waits for it anyway). Call it from
 * the thread that watches fr_mailbox_fd (the one thread that runs mb). */
FR_API int fr_mailbox_run(fr_mailbox *mb, fr_job_fn run, void *ud, int hold_wakes_us);
/* Close the fd and free the lock. Jobs still queued are forgotten (take
 * them first if they own memory). Idempotent; no other thread may use mb
 * meanwhile. */
FR_API void fr_mailbox_close(fr_mailbox *mb);
/* In a child process after fork(): close the child's copies of the fds,
 * forget the queued jobs and free the lock's memory without locking or
 * destroying it (a parent thread may have held it). mb is closed
 * afterwards; fr_mailbox_init may reopen it. Single-threaded child only. */
FR_API void fr_mailbox_abandon(fr_mailbox *mb);
