/* ---- di.h: dependency injection engine (FastAPI's Depends, in C) ----
 *
 * A registry (fr_di) of PROVIDERS. Each provider has a name, the ids of the
 * providers it depends on, a provide() function that produces its value and
 * an optional teardown() that cleans the value up after the response.
 * Every change to the graph recompiles it (topological order, cycle check):
 * a cycle is refused at once with an error that names it, e.g.
 * "cycle: db -> session -> db".
 *
 * Per request, an fr_di_ctx (memory from an fr_arena, e.g. fr_req_arena())
 * resolves providers with FastAPI's semantics (fastapi/dependencies/utils.py
 * solve_dependencies):
 *   - dependencies are resolved depth first, in declaration order, before
 *     the provider that needs them;
 *   - a provider runs at most once per request and its value is shared by
 *     every consumer (cached), unless the provider is registered with
 *     no_cache = 1 or the consumer asks for it with FR_DI_FRESH(id): then it
 *     runs again for that use (the first value produced stays the cached
 *     one, exactly like FastAPI's dependency_cache);
 *   - like FastAPI, reaching a cached provider again still re-walks its
 *     sub-dependencies when one of them is uncached below it (those run
 *     again); subtrees that are cached all the way down are skipped;
 *   - every successful provide() whose provider has a teardown pushes it;
 *     fr_di_ctx_finish() runs them in REVERSE order -- also when a later
 *     provider or the handler failed -- passing the failure code. A teardown
 *     that fails is reported to the log callback and never hides the
 *     original error;
 *   - a provider's scope (FastAPI's Depends(scope=...)) says WHEN its
 *     teardown runs: FR_DI_SCOPE_REQUEST (default) after the response was
 *     sent, FR_DI_SCOPE_FUNCTION right after the handler returned, before
 *     the response (fr_di_ctx_end_function_scope). Like FastAPI's
 *     DependencyScopeError, a request-scoped provider with a teardown may
 *     not depend directly on a function-scoped one (refused at registration);
 *   - a host that must await teardowns or throw errors into them takes the
 *     cleanups out one by one (fr_di_ctx_pop_cleanup) instead.
 *
 * Thread safety: build the registry before serving (fr_di_add, _set_deps,
 * _override are not thread-safe and must not run while a context resolves);
 * after that any number of threads may each use their own fr_di_ctx.
 *
 * Using it from a C handler (complete program: examples/c/di.c):
 *
 *   static int db_open(fr_di_ctx *ctx, void *ud, void **out) {
 *       *out = my_db_connect(ud);            // ud: provider's userdata
 *       return *out ? 0 : 503;               // non-zero = failure (HTTP code)
 *   }
 *   static int db_close(void *db, int failed, void *ud) {
 *       my_db_close(db, failed ? ROLLBACK : COMMIT); return 0;
 *   }
 *   static void finish(fr_req *req, int ok, void *ctx) {
 *       fr_di_ctx_finish((fr_di_ctx *)ctx, ok ? 0 : 500);  // after the response left
 *   }
 *   static int handler(fr_req *req, void *ud) {
 *       fr_di_ctx *ctx = fr_di_ctx_new(di, fr_req_arena(req));
 *       void *db;
 *       int rc;
 *       if (!ctx || fr_req_on_done(req, finish, ctx) < 0) return fr_res_json(req, 500, ...);
 *       rc = fr_di_resolve(ctx, DB, &db);      // runs db_open once per request
 *       if (rc) { fr_di_ctx_set_failed(ctx, rc); return fr_res_json(req, rc, ...); }
 *       ...use db...
 *   }
 *   // setup: fr_di *di = fr_di_new(NULL);
 *   //        fr_di_provider p = {"db", NULL, 0, 0, db_open, db_close, pool,
 *   //                            FR_DI_SCOPE_REQUEST};
 *   //        int DB = fr_di_add(di, &p);   // -1 + fr_di_error(di) on failure
 *
 * Hosts whose providers cannot run synchronously (the Python glue awaiting
 * coroutines) drive the same walk step by step: fr_di_begin, then
 * fr_di_next until FR_DI_RESOLVED, answering each FR_DI_NEED with
 * fr_di_supply / fr_di_fail / fr_di_skip. */

typedef struct fr_di fr_di;
typedef struct fr_di_ctx fr_di_ctx;

/* Produce the value. Dependencies are ready: read them with fr_di_arg(ctx, i)
 * (i-th entry of the provider's deps) or fr_di_get(ctx, id). Return 0 and set
 * *out (NULL is a valid value), or a non-zero failure code (an HTTP status
 * is the convention) which aborts the resolution and is returned by
 * fr_di_resolve. */
typedef int (*fr_di_provide_fn)(fr_di_ctx *ctx, void *userdata, void **out);
/* Clean up a value produced by a successful provide(). `failed` is 0 when the
 * request succeeded, else the failure code (see fr_di_ctx_finish). Return 0,
 * or non-zero to report a failed cleanup (logged, see fr_di_set_log). */
typedef int (*fr_di_teardown_fn)(void *value, int failed, void *userdata);
/* Log sink for errors that have no caller to return to (failed teardowns).
 * msg is a NUL-terminated line without '\n', valid during the call. */
typedef void (*fr_di_log_fn)(void *log_ud, const char *msg);

/* A dependency entry: a provider id, optionally wrapped in FR_DI_FRESH() to
 * ask for a fresh value for this use (FastAPI's Depends(use_cache=False)). */
#define FR_DI_FRESH(id) ((int)((unsigned)(id) | 0x40000000u))

/* When a provider's teardown runs (FastAPI's Depends(scope=...)):
 *   FR_DI_SCOPE_REQUEST   after the response was sent (fr_di_ctx_finish from
 *                         an fr_req_on_done callback); FastAPI's default
 *   FR_DI_SCOPE_FUNCTION  as soon as the handler returned, before the
 *                         response is sent (fr_di_ctx_end_function_scope) */
enum { FR_DI_SCOPE_REQUEST = 0, FR_DI_SCOPE_FUNCTION = 1 };

/* Provider description; copied by fr_di_add (name and deps too). Valid when
 * zeroed except for the name: provide NULL yields the value NULL (a pure
 * "group" of dependencies), teardown NULL means no cleanup (and no cleanup
 * entry: a host that runs teardowns itself with fr_di_ctx_pop_cleanup still
 * sets one, e.g. a synchronous fallback, so that the entry exists). */
typedef struct fr_di_provider {
    const char *name;          /* for errors and fr_di_find; NULL = "#<id>" */
    const int *deps;           /* provider ids (or FR_DI_FRESH(id)), in order */
    size_t ndeps;
    int no_cache;              /* 1: runs on every use (use_cache=False for all uses) */
    fr_di_provide_fn provide;
    fr_di_teardown_fn teardown;
    void *userdata;            /* passed to provide and teardown */
    int scope;                 /* FR_DI_SCOPE_*: when the teardown runs. Last, so
                                  positional initializers without it still work.
                                  A request-scoped provider with a teardown may
                                  not depend on a function-scoped one. */
} fr_di_provider;

/* Registry. alc NULL = FR_MALLOC/FR_FREE. NULL on OOM. */
FR_API fr_di *fr_di_new(const fr_allocator *alc);
FR_API void fr_di_free(fr_di *di);
/* Default log: one line on stderr. fn NULL silences. */
FR_API void fr_di_set_log(fr_di *di, fr_di_log_fn fn, void *log_ud);

/* Register a provider; returns its id (0, 1, 2, ... in registration order)
 * or -1 with fr_di_error() set (unknown dependency id, invalid scope, scope
 * rule broken, OOM). Dependencies
 * must already be registered; use fr_di_set_deps to wire forward
 * references later. */
FR_API int fr_di_add(fr_di *di, const fr_di_provider *p);
/* Replace the dependency list of provider `id` and recompile. A cycle (or a
 * bad id, or a broken scope rule) is refused with -1, fr_di_error() naming it
 * ("cycle: a -> b -> a"), and the previous list is kept. */
FR_API int fr_di_set_deps(fr_di *di, int id, const int *deps, size_t ndeps);
/* FastAPI's dependency_overrides: every use of `id` now runs `replacement`
 * (its own name, deps, provide, teardown, cache flag, scope) instead; NULL
 * restores the original. Recompiles; -1 (and nothing changed) on a cycle, a
 * broken scope rule or a bad id. */
FR_API int fr_di_override(fr_di *di, int id, const fr_di_provider *replacement);
/* Check the whole graph again (the mutators above already do): 0 or -1. */
FR_API int fr_di_compile(fr_di *di);
/* Last registration error ("" if none). Valid until the next call on di. */
FR_API const char *fr_di_error(const fr_di *di);
FR_API int fr_di_count(const fr_di *di);
FR_API int fr_di_find(const fr_di *di, const char *name); /* id or -1 */
FR_API const char *fr_di_name(const fr_di *di, int id);   /* NULL if bad id */
/* The compiled topological order: every provider after all of its
 * dependencies. Writes up to cap ids, returns the provider count. */
FR_API size_t fr_di_order(const fr_di *di, int *ids, size_t cap);

/* ---- per request ---- */

/* A resolution context; every allocation comes from `arena` and is released
 * with it (free nothing else). NULL on OOM. The registry must outlive it. */
FR_API fr_di_ctx *fr_di_ctx_new(const fr_di *di, fr_arena *arena);
FR_API void fr_di_ctx_set_userdata(fr_di_ctx *ctx, void *ud); /* e.g. the fr_req */
FR_API void *fr_di_ctx_userdata(const fr_di_ctx *ctx);

/* Resolve provider `id` (and what it needs) and store its value in *out
 * (out may be NULL). Returns 0, the failing provider's code, or -1 on an
 * engine error (bad id, OOM, context finished or already resolving; see
 * fr_di_ctx_error). Several calls on one context share its cache. */
FR_API int fr_di_resolve(fr_di_ctx *ctx, int id, void **out);
/* Cached value of provider id in this request, or NULL if it has not run
 * (fr_di_has tells NULL values apart). */
FR_API void *fr_di_get(const fr_di_ctx *ctx, int id);
FR_API int fr_di_has(const fr_di_ctx *ctx, int id);
/* Inside provide() (or while a step-driven host answers FR_DI_NEED): value
 * of the i-th dependency of the provider being produced. After a resolution
 * finished: the i-th dependency of the provider that was resolved. NULL if
 * out of range. During a NEED for a skipped provider (fr_di_need_skipped)
 * the args of the skipped dependencies are NULL; the others hold values. */
FR_API void *fr_di_arg(const fr_di_ctx *ctx, size_t i);

/* Register an extra cleanup (run with the request-scoped teardowns, in
 * reverse order of registration; fr_di_ctx_pop_cleanup reports it with id
 * -1). 0 / -1 on OOM or finished context. */
FR_API int fr_di_ctx_defer(fr_di_ctx *ctx, fr_di_teardown_fn fn, void *value, void *userdata);
/* Record that the request failed (e.g. the handler failed after its
 * dependencies resolved); fr_di_ctx_finish then passes this code on. The
 * first non-zero code wins. */
FR_API void fr_di_ctx_set_failed(fr_di_ctx *ctx, int code);
/* Run every pending cleanup, each with
 * failed = first non-zero of (`failed`, fr_di_ctx_set_failed code, a
 * provider's failure, a previous cleanup's failure). Function-scoped ones
 * left pending (fr_di_ctx_end_function_scope was not called, e.g. the
 * handler failed) run FIRST, then the request-scoped ones, each group in
 * reverse order of registration -- FastAPI's error path, where the
 * function-scoped exit stack unwinds before the request-scoped one.
 * Returns that code (0 = everything succeeded). Call it once, after the
 * response was sent: from an fr_req_on_done callback. Later calls do
 * nothing and return the same code. */
FR_API int fr_di_ctx_finish(fr_di_ctx *ctx, int failed);
/* The handler returned: run the pending FUNCTION-scoped cleanups now, before
 * the response is sent, in reverse order of registration, with `failed`
 * computed and failed teardowns logged exactly as in fr_di_ctx_finish. They
 * are removed (finish will not run them again). Returns the resulting code
 * (0 = all ok); a non-zero one is recorded like fr_di_ctx_set_failed, so the
 * request-scoped teardowns see it too (FastAPI: an error raised by a
 * function-scoped teardown reaches the request-scoped ones). After finish:
 * does nothing and returns finish's code; -1 if ctx is NULL. */
FR_API int fr_di_ctx_end_function_scope(fr_di_ctx *ctx, int failed);
/* Host-driven teardown, for hosts that must await a teardown or throw an
 * error into it (Python generator dependencies). Removes the most recently
 * registered pending cleanup of `scope` (FR_DI_SCOPE_FUNCTION,
 * FR_DI_SCOPE_REQUEST, or -1 for any: function-scoped first) WITHOUT calling
 * its teardown function, and returns 1 with *value = the value that was
 * supplied and *id = the provider id (-1 for an fr_di_ctx_defer entry); out
 * pointers may be NULL. 0 when none is left (also for a NULL ctx or an
 * invalid scope; *value = NULL, *id = -1). Popping until 0 yields exactly the
 * order fr_di_ctx_finish would have used; a popped cleanup is never run by
 * fr_di_ctx_finish / _end_function_scope. The failure code to pass on is the
 * host's (the one it would give finish). Also valid while a walk is active
 * or after fr_di_fail (to unwind what was already supplied). */
FR_API int fr_di_ctx_pop_cleanup(fr_di_ctx *ctx, int scope, void **value, int *id);
/* Why the last call failed ("" if none), and the failing provider's id
 * (-1 if none / engine error). */
FR_API const char *fr_di_ctx_error(const fr_di_ctx *ctx);
FR_API int fr_di_ctx_failed_id(const fr_di_ctx *ctx);

/* ---- step-driven resolution (for hosts that must await providers) ----
 *
 *   fr_di_begin(ctx, root);
 *   for (;;) {
 *       int id, st = fr_di_next(ctx, &id);
 *       if (st == FR_DI_NEED) { ...check id's own parameters...;
 *                               if (fr_di_need_skipped(ctx) || errors)
 *                                   fr_di_skip(ctx);
 *                               else ...produce id's value, its dependency
 *                               values are fr_di_arg(ctx, i)...;
 *                               fr_di_supply(ctx, v) or fr_di_fail(ctx, code); }
 *       else break;   // FR_DI_RESOLVED, or a failure code / -1
 *   }
 *
 * The walk follows FastAPI's solve_dependencies: dependencies depth first in
 * declaration order, the root (e.g. the endpoint) NEEDed last; its supplied
 * value is fr_di_result. A cached provider is not NEEDed again (its
 * uncached sub-dependencies are, see the caching rules above).
 *
 * fr_di_skip is FastAPI's "this dependency had parameter errors": the value
 * is not produced and every provider depending on it (up to the root) is
 * skipped too, but the remaining dependencies still run so that all errors
 * can be collected. A provider one of whose dependencies was skipped is
 * still NEEDed, with fr_di_need_skipped(ctx) = 1: FastAPI still validates
 * its own parameters (to report every 422 error at once) but never calls it;
 * the host collects its errors and must answer fr_di_skip (fr_di_supply is
 * refused with -1, fr_di_fail is allowed). fr_di_next then ends with
 * FR_DI_RESOLVED and fr_di_skipped(ctx) > 0 (FastAPI answers 422).
 * fr_di_resolve answers those NEEDs with fr_di_skip without calling
 * provide(). fr_di_supply pushes the provider's teardown (if it has one)
 * onto the cleanups of its scope. After fr_di_fail, fr_di_next returns the
 * code and the cleanups of the values supplied so far stay pending (run by
 * fr_di_ctx_finish, or popped by the host). */
enum { FR_DI_RESOLVED = 0, FR_DI_NEED = 1 };
FR_API int fr_di_begin(fr_di_ctx *ctx, int id);  /* 0 / -1 */
FR_API int fr_di_next(fr_di_ctx *ctx, int *need_id);
/* 0 / -1 (OOM, no step pending, or the pending NEED is for a skipped
 * provider: it stays pending, see fr_di_ctx_error) */
FR_API int fr_di_supply(fr_di_ctx *ctx, void *value);
/* Like fr_di_supply, but the teardown (and fr_di_ctx_pop_cleanup) gets
 * `cleanup_value` instead of the value consumers see: e.g. a Python
 * generator dependency supplies what it yielded and is torn down through
 * the generator object; a C provider can hand out a session and close the
 * connection it came from. */
FR_API int fr_di_supply_cleanup(fr_di_ctx *ctx, void *value, void *cleanup_value);
FR_API void fr_di_fail(fr_di_ctx *ctx, int code);
FR_API void fr_di_skip(fr_di_ctx *ctx);
/* 1 when the pending FR_DI_NEED is for a provider one of whose dependencies
 * was skipped (answer fr_di_skip), else 0. */
FR_API int fr_di_need_skipped(const fr_di_ctx *ctx);
/* How many NEEDs were answered with fr_di_skip in this context (those for
 * providers skipped because of a dependency included). */
FR_API size_t fr_di_skipped(const fr_di_ctx *ctx);
/* Value of the resolved root (NULL if not resolved / skipped). */
FR_API void *fr_di_result(const fr_di_ctx *ctx);
