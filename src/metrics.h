/* ---- metrics.h: Prometheus request metrics kept in C ----
 *
 * Per route template, method and status: a request counter and a latency
 * histogram, rendered in the Prometheus text exposition format (0.0.4):
 *
 *   fastrapi_requests_total{handler="/items/{id}",method="GET",status="200"} 3
 *   fastrapi_request_duration_seconds_bucket{handler=..,method=..,status=..,le="0.005"} 2
 *   ... one _bucket per bound, le="+Inf", _sum, _count
 *   fastrapi_metrics_dropped_total 0   (observations refused: table full)
 *
 * LABELS. handler = the matched route pattern as registered
 * (fr_req_route_pattern), "none" for an unmatched request (404/405/307):
 * raw paths never become labels, so a client cannot grow the label set.
 * method = the request method when it is one of GET HEAD POST PUT DELETE
 * PATCH OPTIONS TRACE CONNECT, else "OTHER". status = the status sent.
 * Label values are escaped as the format wants (\\ \" \n).
 *
 * WHAT IS MEASURED. fr_app_use_metrics adds a middleware (middleware.h):
 * added FIRST it is the outermost, so it sees every answer of the chain
 * (CORS preflights, trusted-host 400s, 429s, cached answers, handler 500s).
 * Duration runs from routing to the last byte handed to the socket (or to
 * the sink for fr_dispatch). Answers the engine makes without the chain
 * (parse errors, 408, 413) are not counted.
 *
 * MEMORY AND PROCESSES. A fixed table of cfg.max_series series (each about
 * 600 bytes) allocated by fr_metrics_new and never grown; a new label set
 * when the table is full is counted in fastrapi_metrics_dropped_total.
 * Unless cfg.process_local, the table is a shared anonymous mapping (POSIX
 * mmap MAP_SHARED), so processes forked after fr_metrics_new (the Python
 * face's workers=N) update ONE table and any of them renders the totals of
 * all. Updates are lock-free atomics (any thread, any process).
 *
 * OWNERSHIP. Reference counted: fr_metrics_new returns one reference,
 * fr_app_use_metrics takes one for the app (released by fr_app_free),
 * fr_metrics_free drops the caller's. */

/* Series (label sets) a metrics table holds when cfg.max_series is 0. Bounds
 * its memory whatever methods, statuses and routes requests bring. */
#ifndef FR_METRICS_MAX_SERIES
#define FR_METRICS_MAX_SERIES 1024
#endif
/* Histogram bounds at most (cfg.buckets). */
#ifndef FR_METRICS_MAX_BUCKETS
#define FR_METRICS_MAX_BUCKETS 32
#endif
/* Longest handler label kept; longer route patterns are cut (with "...").*/
#ifndef FR_METRICS_MAX_HANDLER
#define FR_METRICS_MAX_HANDLER 256
#endif

typedef struct fr_metrics fr_metrics;

typedef struct fr_metrics_config {
    size_t max_series;     /* 0 = FR_METRICS_MAX_SERIES */
    const double *buckets; /* increasing upper bounds in seconds; NULL = Prometheus' defaults
                              .005 .01 .025 .05 .075 .1 .25 .5 .75 1 2.5 5 7.5 10 */
    size_t num_buckets;
    const char *prefix;    /* metric name prefix, [a-zA-Z_:][a-zA-Z0-9_:]*; NULL = "fastrapi" */
    int process_local;     /* 1: private memory (not shared with forked processes) */
} fr_metrics_config;

/* NULL with err->msg for bad buckets or prefix, or out of memory. */
FR_API fr_metrics *fr_metrics_new(const fr_metrics_config *cfg, fr_err *err);
FR_API void fr_metrics_free(fr_metrics *m); /* drops one reference; NULL ok */
/* Count one request. 0, or -1 (NULL m, status outside 100..999, table full). */
FR_API int fr_metrics_observe(fr_metrics *m, fr_str handler, fr_str method, int status,
                              double seconds);
/* Append the exposition text to out. 0, or -1 on OOM / NULL. */
FR_API int fr_metrics_render(const fr_metrics *m, fr_buf *out);
/* Series in use. */
FR_API size_t fr_metrics_series(const fr_metrics *m);
/* Add the measuring middleware to app (see WHAT IS MEASURED). 0 / -1. */
FR_API int fr_app_use_metrics(fr_app *app, fr_metrics *m);
/* A handler that answers the exposition (200, content-type
 * "text/plain; version=0.0.4; charset=utf-8"):
 *   fr_route(app, "GET", "/metrics", fr_metrics_handler, m);
 * `m` must outlive the app (or hold a reference with fr_app_use_metrics). */
FR_API int fr_metrics_handler(fr_req *req, void *m);
