/* ---- policy.h: per-route rate limits and cached responses ----
 *
 * Two route policies an app can put on some of its routes, decided in C
 * with no handler call:
 *   rate limit   N requests per second per client address, per route; the
 *                next one in the same second is answered 429
 *                {"detail":"Too Many Requests"} with "retry-after: 1"
 *                (Starlette's HTTPException(429) body).
 *   cached       the route's first cacheable response (a GET without
 *                Authorization or Cookie header, answered with a complete
 *                body, status 200..399 and no Set-Cookie) is stored --
 *                status, headers, body -- and every later request is
 *                answered from the copy. Meant for responses that never
 *                change (FastrAPI's cache_resp=True, whose handler runs once
 *                at startup).
 *
 * RATE LIMITER. Fixed one-second windows (FastrAPI's rule): a client's count
 * starts at the first request of a second; a request over `per_second` in
 * that second is refused. Clients are keyed by a seeded 64-bit hash of the
 * address in a table of `max_clients` slots (power of two) probed 8 slots
 * deep; when all 8 belong to other clients, the one whose window is oldest
 * (ties: the lowest count) is evicted. Memory is fixed at creation
 * (16 bytes a slot) whatever the number of client addresses seen: a flood
 * from many addresses can only evict entries (letting an evicted client
 * start a fresh window), never grow the table. Lock-free (64-bit atomic
 * compare-and-swap): any number of threads may check at once.
 *
 * SHARED ACROSS PROCESSES. Unless cfg.process_local, the table is a shared
 * anonymous mapping (POSIX mmap MAP_SHARED): processes forked after
 * fr_ratelimit_new share it, so N worker processes enforce ONE limit per
 * client (the Python face's workers=N). Elsewhere (Windows) it is private.
 *
 * CLIENT ADDRESS. The policy middleware uses fr_req_client_addr: the
 * socket peer, or the X-Forwarded-For client only when the peer is a
 * trusted proxy (fr_config.forwarded_allow_ips).
 *
 * OWNERSHIP. fr_ratelimit and fr_resp_cache are reference counted: _new
 * returns one reference, fr_policies_* takes its own for the app (released
 * by fr_app_free), _free drops the caller's. */

/* Slots of a rate limiter's client table when fr_ratelimit_config.max_clients
 * is 0. Bounds the table's memory (16 bytes a slot, 64 KiB by default) under
 * a flood from many (spoofed or IPv6) addresses. */
#ifndef FR_RATELIMIT_CLIENTS
#define FR_RATELIMIT_CLIENTS 4096
#endif
/* Largest table fr_ratelimit_new accepts (slots): a typo cannot map gigabytes. */
#ifndef FR_RATELIMIT_MAX_CLIENTS
#define FR_RATELIMIT_MAX_CLIENTS (1u << 24)
#endif

typedef struct fr_ratelimit fr_ratelimit;

typedef struct fr_ratelimit_config {
    uint32_t per_second; /* requests a client may make per second (>= 1) */
    size_t max_clients;  /* table slots; 0 = FR_RATELIMIT_CLIENTS, rounded up to a power of 2 */
    int process_local;   /* 1: private memory (not shared with forked processes) */
} fr_ratelimit_config;

/* NULL with err->msg when per_second is 0 or max_clients is over
 * FR_RATELIMIT_MAX_CLIENTS, or out of memory. */
FR_API fr_ratelimit *fr_ratelimit_new(const fr_ratelimit_config *cfg, fr_err *err);
FR_API void fr_ratelimit_free(fr_ratelimit *rl); /* drops one reference; NULL ok */
/* Count one request of `client` at monotonic time now_ms. 0: allowed;
 * > 0: refused, seconds until the client may retry; -1: NULL rl. */
FR_API int fr_ratelimit_hit(fr_ratelimit *rl, fr_str client, int64_t now_ms);
FR_API size_t fr_ratelimit_slots(const fr_ratelimit *rl); /* table size */
FR_API uint32_t fr_ratelimit_per_second(const fr_ratelimit *rl);

/* ---- a stored response ---- */
typedef struct fr_resp_cache fr_resp_cache;

FR_API fr_resp_cache *fr_resp_cache_new(void); /* NULL on OOM */
FR_API void fr_resp_cache_free(fr_resp_cache *c); /* drops one reference; NULL ok */
/* Store a response (everything copied); the first store wins. 1 stored,
 * 0 one was already there, -1 bad arguments or OOM. Headers must not
 * include content-length (the engine frames the body). Any thread. */
FR_API int fr_resp_cache_store(fr_resp_cache *c, int status, const fr_header *headers,
                               size_t nheaders, const void *body, size_t len);
FR_API int fr_resp_cache_filled(const fr_resp_cache *c); /* 1 once stored */
/* Answer req with the stored response (fr_res_status/_header/_body, then
 * fr_res_send; the body is not copied). FR_DONE, or -1 (empty cache, NULL,
 * out of memory: nothing sent). */
FR_API int fr_resp_cache_answer(const fr_resp_cache *c, fr_req *req);

/* ---- attaching policies to an app's routes ----
 *
 * fr_app_use_policies adds the policy middleware to the app's chain (see
 * middleware.h: call it AFTER the app's other fr_app_use* so it is the
 * innermost, like a route-level check: a 429 or a cached answer still gets
 * CORS and gzip from the middlewares outside) and returns its table,
 * owned by the app. Then name routes by method and pattern exactly as
 * given to fr_route; a request on a route is checked against its rate
 * limit, then answered from its cache when that is filled. A HEAD request
 * served by a GET route (no_head_from_get = 0) uses the GET route's
 * policies (and is answered from its cache, but never fills it).
 * Everything before serving, like fr_route. */
typedef struct fr_policies fr_policies;

FR_API fr_policies *fr_app_use_policies(fr_app *app); /* NULL: serving, OOM */
/* 0, or -1 (NULL argument, a method or pattern over 1 KiB, OOM). */
FR_API int fr_policies_rate_limit(fr_policies *p, const char *method, const char *pattern,
                                  fr_ratelimit *rl);
FR_API int fr_policies_cache(fr_policies *p, const char *method, const char *pattern,
                             fr_resp_cache *c);
