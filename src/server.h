/* ---- server.h: the app, the event loop and the request/response API ----
 *
 * Engine behaviour a caller can rely on:
 *  - fr_serve runs cfg.threads event loops (the calling thread is one of
 *    them); each owns its connections. Handlers, on_done and access-log
 *    callbacks run on the loop thread that owns the connection.
 *  - One request at a time per connection: pipelined requests are parsed
 *    only after the previous response was handed to the socket, and are
 *    answered in order.
 *  - Answers the engine makes itself (parse errors 400/414/431/501/505,
 *    413 body too large, 408 head/body timeout) are JSON
 *    {"detail":"<reason phrase>"} (application/json) followed by closing
 *    the connection. An idle connection (no byte of a request) is closed
 *    silently after idle_timeout_ms.
 *  - HEAD requests are answered by GET routes (unless no_head_from_get):
 *    the engine sends the head with the GET body's content-length and no
 *    body bytes. 1xx/204/304 responses carry neither body nor length.
 *  - Graceful stop (fr_stop, SIGINT/SIGTERM): accept what the kernel has
 *    already queued, then close the listening sockets (a new client gets
 *    ECONNREFUSED, safe to retry, never a reset; fr_listen_fd: only this
 *    process's fd is closed, the socket lives on in the others; a later
 *    fr_serve binds fr_listen's addresses again), close idle
 *    keep-alive connections (a FIN: nothing unread), let in-flight
 *    requests (pending ones, a partly received head, a next request already
 *    in the kernel, the first request of a just accepted connection) finish
 *    with "connection: close" for up to drain_timeout_ms. Requests still
 *    pending after that are abandoned (their connection closed); a later
 *    fr_res_send on them still finishes them (on_done ok = 0, on the
 *    calling thread) until fr_app_free, which runs on_done(ok = 0) for the
 *    rest and frees them. A stop requested while not serving makes the next
 *    fr_serve return at once.
 *  - Backends: epoll (Linux), kqueue (macOS/BSD), poll() elsewhere or with
 *    -DFR_USE_POLL=1. With poll() a client that half-closes while its
 *    request is pending is only noticed when the response is written.
 *  - A client that goes away (FIN or reset) is closed at once in every
 *    phase (head, body, pending handler, response): its fd is not kept until
 *    a timeout. A FIN that comes with a complete request still gets the
 *    answer of an inline handler; a request pending in its handler (or a
 *    stream) is abandoned like uvicorn does: the later fr_res_send finishes
 *    it with on_done(ok = 0).
 *  - fr_dispatch (end of this header) runs a request described in memory
 *    through the same router, handlers and limits and hands the response
 *    to an fr_sink (how the app is served as an ASGI application). Where
 *    this header says "loop thread" or "socket", a dispatched request has
 *    the thread and the sink described there instead.
 */

typedef struct fr_app fr_app;
typedef struct fr_req fr_req; /* one request and its response; owned by the engine */

/* A handler answers in one of two ways:
 *  - inline: build the response with fr_res_status/_header/_body and return
 *    FR_DONE; the engine sends it (calling fr_res_send first is allowed, not
 *    needed; fr_res_json/fr_res_text set, send and return FR_DONE);
 *  - deferred: return FR_PENDING; exactly one fr_res_send (or
 *    fr_res_stream_end) then finishes the response, from ANY thread. The
 *    request may be handed to another thread (a queue, a worker pool)
 *    before the handler returns, and that thread may answer before the
 *    handler has returned; the handler must not touch `req` after handing
 *    it over.
 * Until the response is sent the handler (or whoever it handed the request
 * to) owns `req` exclusively. */
typedef int (*fr_handler)(fr_req *req, void *userdata);
enum { FR_DONE = 0, FR_PENDING = 1 };

/* Called once the response has been fully written to the socket (ok = 1) or
 * the connection failed first (ok = 0), on the loop thread. `req` is still
 * readable inside the callback and freed right after it returns. This is where
 * background tasks and dependency teardowns run. fr_dispatch requests: after
 * the sink's last call (ok = 0 if the sink returned -1 or a file fell short),
 * on the thread that finished last of the handler and the response. */
typedef void (*fr_done_fn)(fr_req *req, int ok, void *userdata);

/* Access-log hook: one call per finished request, on the loop thread (for
 * fr_dispatch requests: right after on_done, on its thread; bytes_sent then
 * counts body bytes only). Engine-made error answers are not logged. */
typedef void (*fr_access_fn)(fr_req *req, int status, uint64_t bytes_sent, double ms,
                             void *userdata);

/* Error-log hook: one line (no newline) per engine-detected fault the client
 * cannot report, e.g. a handler that built an invalid response (answered
 * 500). Any thread. NULL in fr_config = "fastrapi: <msg>\n" on stderr. */
typedef void (*fr_log_fn)(const char *msg, void *userdata);

/* Runtime configuration. Valid when zeroed: 0 / NULL means the default. */
typedef struct fr_config {
    int threads;              /* event-loop threads for fr_serve (0 = CPU count) */
    size_t max_header_bytes;  /* 0 = FR_MAX_HEADER_BYTES */
    size_t max_headers;       /* 0 = FR_MAX_HEADERS */
    size_t max_uri_bytes;     /* 0 = FR_MAX_URI_BYTES */
    uint64_t max_body_bytes;  /* 0 = FR_MAX_BODY_BYTES */
    int max_connections;      /* 0 = FR_MAX_CONNECTIONS */
    int header_timeout_ms;    /* 0 = FR_HEADER_TIMEOUT_MS */
    int idle_timeout_ms;      /* 0 = FR_IDLE_TIMEOUT_MS */
    int body_timeout_ms;      /* 0 = FR_BODY_TIMEOUT_MS */
    int drain_timeout_ms;     /* graceful stop waits this long for in-flight (0 = 10000) */
    const char *server_name;  /* NULL = "fastrapi"; "" = no server header */
    int no_head_from_get;     /* 1: HEAD does NOT fall back to GET routes */
    int no_redirect_slashes;  /* 1: no 307 to the other trailing-slash form */
    int no_signals;           /* 1: fr_serve leaves SIGINT/SIGTERM alone */
    int reuse_port;           /* 1: SO_REUSEPORT (several processes, one port) */
    int backlog;              /* 0 = 1024 */
    fr_access_fn access_log;  /* NULL = none */
    void *access_log_ud;
    fr_log_fn error_log;      /* NULL = stderr (see fr_log_fn) */
    void *error_log_ud;
    /* Behind a proxy (both copied by fr_app_new). forwarded_allow_ips: NULL =
     * X-Forwarded-* ignored; else the peers trusted to set them, as
     * fr_http_forwarded reads the list ("127.0.0.1" is uvicorn's default,
     * "*" = any): fr_req_client_addr/port and fr_req_scheme then report what
     * the proxy says. root_path: the path prefix the proxy strips (ASGI
     * root_path); NULL/"" = none. fr_req_root_path returns it and
     * redirect_slashes locations start with it. */
    const char *forwarded_allow_ips;
    const char *root_path;
    int unbounded_ints;       /* 1: {x:int} matches any digit run (router.h; Python ints) */
    /* Output flow control (see "Streaming" below). stream_high_water: bytes
     * of a stream queued unsent above which fr_res_stream_write answers
     * FR_STREAM_FULL (0 = FR_STREAM_HIGH_WATER); stream_low_water: queue size
     * at or below which the producer gets FR_STREAM_DRAINED (0 = high / 4).
     * send_timeout_ms: a connection with output waiting is judged over
     * windows of this length (0 = body_timeout_ms) and closed when a window
     * saw no progress or fewer than min_send_rate bytes per second
     * (0 = FR_MIN_SEND_RATE; < 0 = any progress will do). */
    size_t stream_high_water;
    size_t stream_low_water;
    int send_timeout_ms;
    int min_send_rate;
    /* request_timeout_ms: a handler that returned FR_PENDING and has neither
     * answered nor begun a stream this long after dispatch is answered 504
     * {"detail":"Gateway Timeout"} (the connection stays open when keep-alive
     * allows); its later answer is dropped and on_done gets ok = 0.
     * 0 = no limit. Inline answers and begun streams are never cut. */
    int request_timeout_ms;
    /* websocket_routes_only: a WebSocket upgrade (fr_req_is_websocket) is
     * routed to websocket routes (fr_route_opts.websocket) only, as
     * Starlette's router routes a websocket scope: one for a path without
     * one is unrouted (the fallback runs), and fr_res_default answers it 403
     * with an empty body and closes the connection (uvicorn's answer when
     * the app refuses before accepting). 0: an upgrade may reach a plain
     * GET route, whose handler may accept it itself (fr_ws_accept). */
    int websocket_routes_only;
} fr_config;

FR_API fr_app *fr_app_new(const fr_config *cfg); /* NULL cfg = defaults; NULL on OOM */
/* Stops (if needed), closes every socket, joins every thread, frees all. */
FR_API void fr_app_free(fr_app *app);
FR_API void fr_app_set_userdata(fr_app *app, void *ud);
FR_API void *fr_app_userdata(const fr_app *app);

/* Register a handler. 0, or -1 (bad pattern, duplicate, OOM; message on
 * stderr-free path via fr_app_last_error). Also while serving, from any
 * thread (a game loop adding a route as a level loads, the Python face
 * adding routes to a running app): the new route is put, with the others,
 * into a new routing table that replaces the live one atomically, so
 * requests already being routed finish on the old table and later ones see
 * the new route; each such call keeps one old table allocated until
 * fr_app_free. Calls are serialised with each other (not with fr_app_free). */
FR_API int fr_route(fr_app *app, const char *method, const char *pattern, fr_handler h,
                    void *userdata);
/* Per-route options (valid when zeroed). limit_body 1: max_body is the
 * request body limit of this route in bytes (FastAPI's max_body_size; 0 is
 * a limit then), limit_body 0: none beyond the app's max_body_bytes. The
 * app's max_body_bytes is checked first (sockets and fr_dispatch), so only a
 * route limit below it has an effect (the Python face lifts the app's, as
 * FastAPI has none). Stops a route that only expects small bodies from
 * being fed big ones. A request whose
 * Content-Length is over it is answered 413 "Content Too Large"
 * (text/plain) without calling the handler, a chunked body over it 413
 * {"detail":"Content Too Large"} (what FastAPI answers for each). */
typedef struct fr_route_opts {
    int limit_body;
    uint64_t max_body;
    /* 1: the handler never reads the body, so (as FastAPI, whose limit acts
     * as the body is read) a chunked body over max_body is not refused;
     * a Content-Length over it still is. */
    int body_unread;
    /* 1: a multipart/form-data body (with a boundary) is streamed into an
     * fr_form as it arrives instead of being read into memory: fields in
     * memory, file parts beyond multipart_spool bytes (0 =
     * FR_MULTIPART_SPOOL_BYTES) in unlinked temp files; the handler reads it
     * with fr_req_form (multipart.h), fr_req_body is empty. The app's
     * max_body_bytes (a memory bound) does not apply to such a body; the
     * route's max_body does. Other bodies are read as usual. */
    int multipart_stream;
    uint64_t multipart_spool;
    /* > 0: a body over this many bytes (by Content-Length, or once a
     * chunked one gets there) is written to an unlinked temp file as it
     * arrives, not held in memory: the handler reads it through
     * fr_req_body_file (fr_req_body is then empty); smaller bodies are read
     * as usual. For a handler that reads the body itself, in pieces (on
     * Windows, without temp files here, every body is read into memory). The
     * app's max_body_bytes and the route's max_body apply as to any body.
     * (A multipart body on a multipart_stream route goes to its fr_form.) */
    uint64_t body_spool;
    /* 1: nothing reads this route's body (not its handler, not a
     * middleware): a body over 64 KiB, or a chunked one, is dropped as it
     * arrives instead of being held (fr_req_body is empty). Limits apply as
     * to any body. */
    int body_drop;
    /* != 0: the route is one method of a group (fr_router_add_group): a
     * path's 405 allow names the methods of the first group registered on
     * it, as Starlette answers with its first matching route (FastAPI's
     * @app.get and @app.post on one path are two groups). 0: listed always. */
    unsigned allow_group;
    /* the form's fr_mp_limits (0 = default, FR_MP_ZERO, FR_MP_UNLIMITED) */
    size_t multipart_max_fields, multipart_max_files, multipart_max_part_size;
    /* 1 (method GET): the route takes WebSocket upgrades only - requests
     * whose Upgrade header names "websocket" and Connection "upgrade" - as a
     * Starlette WebSocketRoute: a plain GET route of the same pattern (added
     * before or after, before serving; of the same shape with other
     * parameter names too: each route sees its own names) keeps the other
     * requests, and on a
     * path with only the websocket route they get the answers of a path
     * without routes (404, or the fallback; other methods too, as FastAPI).
     * An upgrade to a path with only a plain GET route reaches that route
     * (it may accept it itself). (fr_ws_route registers a plain GET route.) */
    int websocket;
} fr_route_opts;
FR_API int fr_route_ex(fr_app *app, const char *method, const char *pattern, fr_handler h,
                       void *userdata, const fr_route_opts *opts); /* opts NULL = defaults */
/* 1 when req asks for a WebSocket upgrade - GET, an Upgrade header naming
 * "websocket" and a Connection header naming "upgrade" (case-insensitive
 * comma lists) - what an ASGI server hands over as a websocket scope and
 * what fr_route_opts.websocket routes take; else 0 (also for NULL). */
FR_API int fr_req_is_websocket(const fr_req *req);
/* The same options for requests no route matched (404/405/307, the
 * fallback, frontend files): FastAPI's app-level max_body_size answers 413
 * there too, for a Content-Length over max_body (a chunked body is not
 * read there: the usual answer); body_spool and body_drop as for a route
 * (a fallback that reads big bodies from fr_req_body_file, one that reads
 * none). opts is copied; NULL = defaults. Not while serving. */
FR_API void fr_app_set_unmatched_opts(fr_app *app, const fr_route_opts *opts);
/* Handler for unmatched requests (404/405/307 decisions): it can inspect
 * fr_req_match_status() and answer, or return fr_res_default(req) to get the
 * engine's FastAPI-style answer. NULL = default. */
FR_API void fr_app_set_fallback(fr_app *app, fr_handler h, void *userdata);
/* The router's decision for method + path (percent-DECODED) without a
 * request: fills *m as a request's match would be, and for FOUND sets *h and
 * *userdata to what fr_route registered (else NULL). Hosts use it to decide
 * before dispatching (the Python face sends paths under an ASGI mount, a
 * "*" route on "/prefix/{path:path}", to the mounted app). Returns m->status,
 * or -1 when app or m is NULL. Only reads: safe while serving, not
 * concurrently with fr_route. h and userdata may be NULL. */
FR_API int fr_app_match(const fr_app *app, fr_str method, fr_str path, fr_match *m, fr_handler *h,
                        void **userdata);
FR_API const char *fr_app_last_error(const fr_app *app);

/* Bind + listen. Returns the bound port (useful with port 0) or -1. May be
 * called several times for several addresses. host NULL = "127.0.0.1". */
FR_API int fr_listen(fr_app *app, const char *host, int port);
/* Serve on a socket that is already bound and listening (one a supervisor
 * process opened before forking its workers: they all accept from its one
 * queue, so a worker that stops or dies loses no queued connection). The
 * engine makes it non-blocking (shared with every process holding it) and
 * closes this process's fd with the app. Returns the bound port (0 for a
 * non-IP socket) or -1 (not a listening stream socket; fd left open). */
FR_API int fr_listen_fd(fr_app *app, int fd);

/* Run the app with cfg.threads loop threads until fr_stop() (or SIGINT/
 * SIGTERM unless no_signals); then drains in-flight requests and returns 0. */
FR_API int fr_serve(fr_app *app);
/* Single-threaded alternative for a host's own main loop: handle whatever is
 * ready, waiting at most timeout_ms (0 = don't wait). Returns the number of
 * events handled (>= 0), or -1 once stopped and drained, or on error. The
 * calling thread becomes the loop thread: handlers, on_done and the access
 * log run inside fr_poll. Never mix with fr_serve.
 * Stopping: after fr_stop() keep calling fr_poll until it returns -1. The
 * calls in between drain (see "Graceful stop" at the top: in-flight
 * requests, FR_PENDING ones included, still get their response, for up to
 * drain_timeout_ms). Every later call returns -1 at once; the listening
 * sockets are closed when the stop begins.
 * fr_poll installs no signal handler (SIGINT/SIGTERM/SIGPIPE are the
 * host's; only fr_serve handles SIGINT/SIGTERM, see no_signals). */
FR_API int fr_poll(fr_app *app, int timeout_ms);
/* fr_poll with a budget: handles at most max_events socket events (one
 * event = one connection's readiness: read + parse + handler, or write; or
 * one listening socket's accepts) per call; max_events <= 0 = the default
 * (128, also fr_poll's). Events left over stay ready for the next call, so a
 * host that must keep its frame time calls fr_poll_ex(app, 0, 16) once per
 * tick. Completions from other threads (fr_res_send) and timers are
 * handled in every call on top of the budget. Returns as fr_poll. (The
 * poll() backend takes ready sockets in a fixed order, listeners first: a
 * budget far below the number of busy connections can starve the last.) */
FR_API int fr_poll_ex(fr_app *app, int timeout_ms, int max_events);
/* The fd of fr_poll's loop (epoll on Linux, kqueue on macOS/BSD), for a host
 * that folds it into its own epoll/kqueue/poll set: it is readable while
 * fr_poll has work (a socket event, a completion from another thread, a
 * stop request); then call fr_poll(app, 0). The first call sets the loop
 * up as the first fr_poll would (the listening sockets must exist by then).
 * Timers (timeouts, the drain deadline) do not make it readable: wait at
 * most fr_app_poll_timeout(app) ms. Do not read from or close the fd.
 * -1 on the poll() backend (FR_USE_POLL, platforms without epoll/kqueue:
 * call fr_poll(app, N) from the host's loop instead), with fr_serve, once
 * fr_poll has returned -1 for the stop, or on error (fr_app_last_error). */
FR_API int fr_app_pollfd(fr_app *app);
/* Milliseconds until fr_poll's next timer is due (0 = call fr_poll now),
 * -1 when none is pending; for the host's own wait around fr_app_pollfd.
 * From the thread that calls fr_poll. -1 before the loop is set up. */
FR_API int fr_app_poll_timeout(fr_app *app);
/* Ask a serving (fr_serve) or polled (fr_poll) app to stop and drain.
 * Thread-safe and async-signal-safe (a host's own signal handler may call
 * it). NULL is ignored. */
FR_API void fr_stop(fr_app *app);

/* ---- request (valid until the response is finished) ---- */
FR_API fr_str fr_req_method(const fr_req *req);
FR_API fr_str fr_req_path(const fr_req *req);     /* percent-decoded */
FR_API fr_str fr_req_raw_path(const fr_req *req); /* as sent, without query */
FR_API fr_str fr_req_query(const fr_req *req);    /* raw, without '?' */
FR_API fr_str fr_req_target(const fr_req *req);   /* raw request-target */
FR_API int fr_req_http_minor(const fr_req *req);
FR_API fr_str fr_req_header(const fr_req *req, const char *name); /* buf NULL if absent */
FR_API size_t fr_req_num_headers(const fr_req *req);
FR_API int fr_req_header_at(const fr_req *req, size_t i, fr_str *name, fr_str *value);
FR_API fr_str fr_req_body(const fr_req *req);     /* whole body (chunked: decoded) */
/* A body that fr_route_opts.body_spool put in a temp file: its fd (read it
 * with pread from offset 0; the request owns it and closes it when it is
 * finished: dup it to keep it longer) and *len its size; -1 when the body
 * is in memory (fr_req_body). len may be NULL. */
FR_API int fr_req_body_file(const fr_req *req, uint64_t *len);
FR_API fr_str fr_req_param(const fr_req *req, const char *name); /* route {param} */
FR_API size_t fr_req_num_params(const fr_req *req);
FR_API int fr_req_param_at(const fr_req *req, size_t i, fr_str *name, fr_str *value);
/* 0 if absent or not an int64 (fr_req_param_i64 tells those apart) */
FR_API int64_t fr_req_param_int(const fr_req *req, const char *name);
FR_API double fr_req_param_float(const fr_req *req, const char *name); /* 0 if absent */
/* Route {param} / query value (fr_req_query_get: the last one, decoded) as
 * an int64 ("-?[0-9]+", a leading '+' allowed, nothing else): 1 and *out
 * set; 0 absent; -1 present but not an integer or outside int64 (*out = 0
 * unless 1). A {x:int} route param always gives 1: the router does not
 * match digits beyond int64 (GET /users/9223372036854775808 is a 404, see
 * router.h). out may be NULL. */
FR_API int fr_req_param_i64(const fr_req *req, const char *name, int64_t *out);
FR_API int fr_req_query_i64(fr_req *req, const char *key, int64_t *out);
/* Query value for key (compared after decoding): the LAST one when the key
 * repeats, as Starlette's request.query_params[key]; decoded (query.h
 * FR_KV_QUERY) into the request arena and NUL-terminated. 1 found, 0 absent
 * (or out of memory). value may be NULL. */
FR_API int fr_req_query_get(fr_req *req, const char *key, fr_str *value);
/* Cookie `name`: the LAST occurrence of the name over every Cookie header
 * (Starlette 1.x's request.cookies[name]: each line parsed in order, later
 * ones win); decoded (query.h FR_KV_COOKIE) into the request arena and
 * NUL-terminated. 1 found, 0 absent. */
FR_API int fr_req_cookie_get(fr_req *req, const char *name, fr_str *value);
/* Every Cookie header's value joined with "; " in order (HTTP/2 cookie
 * crumbs forwarded as separate lines): the header's own view when there is
 * one (buf NULL when none), else a copy in the request arena (the first
 * one's view if that allocation fails). */
FR_API fr_str fr_req_cookie_header(fr_req *req);
/* 1 once the request's client has gone (its connection closed while the
 * handler still holds the request: the answer will be dropped), also when
 * cfg.request_timeout_ms answered 504 in the handler's place; else 0 (also
 * for NULL, and for fr_dispatch requests: their caller sees the client).
 * Any thread, while the handler holds req (Starlette's is_disconnected). */
FR_API int fr_req_client_gone(const fr_req *req);
FR_API fr_str fr_req_route_pattern(const fr_req *req); /* "" when unmatched */
FR_API int fr_req_match_status(const fr_req *req);      /* enum fr_match_status */
FR_API fr_str fr_req_match_allow(const fr_req *req);    /* 405: Allow value */
/* The client: the socket's peer, or behind a trusted proxy the one its
 * X-Forwarded-For names (cfg.forwarded_allow_ips; port 0 when it gives none) */
FR_API fr_str fr_req_client_addr(const fr_req *req);    /* "127.0.0.1" */
FR_API int fr_req_client_port(const fr_req *req);
/* The local address the request arrived on (ASGI's scope["server"]): 1 and
 * host (NUL-terminated, e.g. "127.0.0.1" or "::1") + *port for a socket
 * request, 0 when unknown (an fr_dispatch request, a closed socket). */
FR_API int fr_req_server_addr(const fr_req *req, char *host, size_t cap, int *port);
FR_API fr_str fr_req_root_path(const fr_req *req); /* cfg.root_path; "" for fr_dispatch */
FR_API fr_app *fr_req_app(const fr_req *req);
FR_API fr_arena *fr_req_arena(fr_req *req); /* freed with the request */
FR_API void fr_req_set_userdata(fr_req *req, void *ud);
FR_API void *fr_req_userdata(const fr_req *req);
/* Register a completion callback (see fr_done_fn). One per request; 0 / -1. */
FR_API int fr_req_on_done(fr_req *req, fr_done_fn fn, void *userdata);

/* ---- response ---- */
/* A status outside 100..999 makes the response invalid (see below). */
FR_API void fr_res_status(fr_req *req, int status);
/* Add a header (name and value are copied). -1 on OOM, or when the name is
 * not an RFC 9110 token or the value has a control byte other than HTAB
 * (uvicorn's rule): the response is then invalid, and fr_res_send /
 * fr_res_stream_begin answer 500 "Internal Server Error" (text/plain)
 * instead and report it through cfg.error_log.
 * The engine frames the body itself: "content-length" is not copied but
 * taken as the length of a raw (non-chunked) stream, "transfer-encoding" is
 * ignored, and "connection: close" closes the connection after the
 * response. */
FR_API int fr_res_header(fr_req *req, const char *name, const char *value);
FR_API int fr_res_header_n(fr_req *req, const char *name, size_t nlen, const char *value,
                           size_t vlen);
/* Set the body (copied). -1 on OOM. */
FR_API int fr_res_body(fr_req *req, const void *data, size_t len);
/* Set the body without copying; free_fn(free_ud, data) is called when done
 * (free_fn may be NULL for static data). */
FR_API int fr_res_body_take(fr_req *req, const void *data, size_t len,
                            void (*free_fn)(void *ud, const void *data), void *free_ud);
/* Set the body without copying, with a one-argument release: the engine
 * calls free_fn(data) when done (free for malloc'd memory; NULL for static
 * data). 0, or -1 (NULL req, NULL data with len > 0, OOM): the caller then
 * still owns data. */
FR_API int fr_res_body_owned(fr_req *req, void *data, size_t len, void (*free_fn)(void *));
/* Set the body to `len` bytes of `fd` from `offset` (content-length = len,
 * set by the engine), sent zero-copy with sendfile(2) on Linux, else (or
 * for fds sendfile refuses, e.g. pipes) read in 16 KiB pieces with pread
 * (read for unseekable fds; such an fd should be blocking). Replaces any
 * body set before; a later fr_res_body replaces it. HEAD / 1xx / 204 / 304
 * send no body bytes. If the file turns out shorter than offset + len the
 * connection is closed (on_done ok = 0). Like fr_res_body: before
 * fr_res_send, from whichever thread owns the request; not after
 * fr_res_stream_begin. 0, or -1 (bad or write-only fd, directory, offset +
 * len beyond INT64_MAX; the fd is then left untouched).
 * Ownership: the engine closes fd when close_fd (after on_done; also when
 * the client disconnects, the request is abandoned or the body replaced).
 * fr_dispatch requests: fr_res_send reads the range with pread (read for
 * unseekable fds) on its calling thread and gives it to the sink in pieces
 * of at most 64 KiB; a short file ends the body early (on_done ok = 0). */
FR_API int fr_res_file(fr_req *req, int fd, uint64_t offset, uint64_t len, int close_fd);
/* Finish the response. From the handler's thread or ANY other thread for a
 * FR_PENDING request. Returns 0, or -1 if already sent. The request must not
 * be touched afterwards (except inside its fr_done_fn). fr_dispatch requests:
 * the sink is called from inside fr_res_send (also inside the handler). */
FR_API int fr_res_send(fr_req *req);
/* Conveniences: set status, content-type and body, then send. Return FR_DONE. */
FR_API int fr_res_json(fr_req *req, int status, const char *json, size_t len);
FR_API int fr_res_text(fr_req *req, int status, const char *content_type, const char *body,
                       size_t len);
/* fr_res_json with the body taken from an fr_buf (fr_jw output, an error
 * body): the engine owns b->buf from now on (no copy) and *b is zeroed, so
 * a later fr_buf_free(b) is harmless. Also on failure: the buffer is freed
 * and the answer is a 500. Returns FR_DONE. */
FR_API int fr_res_json_buf(fr_req *req, int status, fr_buf *b);
/* Answer FastAPI's 422 for one validation error and return FR_DONE:
 *   {"detail":[{"type":<type>,"loc":[<loc...>],"msg":<msg>,"input":<input>}]}
 * loc/is_index/input_json as fr_error_list_add (errors.h): a loc element is
 * a string, or a bare integer where is_index[i] is set (is_index may be
 * NULL); input_json is an encoded JSON value (len 0 = null). For several
 * errors build the list with fr_error_list_* and answer fr_res_json_buf(req,
 * 422, &b). Bad arguments (NULL type/msg, text that is not UTF-8) or OOM
 * answer 500 {"detail":"Internal Server Error"} instead. */
FR_API int fr_res_422(fr_req *req, const char *type, const fr_str *loc, size_t nloc,
                      const int *is_index, const char *msg, fr_str input_json);
/* The engine's default answer for an unmatched request: 404 {"detail":"Not
 * Found"}, 405 {"detail":"Method Not Allowed"} + allow, 307 + location. */
FR_API int fr_res_default(fr_req *req);

/* Streaming (chunked; or raw with a known content-length header set by the
 * caller; close-delimited for HTTP/1.0 clients). A stream with a
 * content-length is held to it: a write that would pass it returns -1 and
 * sends nothing of it, an end short of it cuts the response; either way the
 * connection closes after what was written (and the app log says why), as
 * uvicorn does, so no byte is read as the next response. Callable from any thread
 * once begun. write copies the data into the connection's queue and never
 * blocks: it returns 0, or FR_STREAM_FULL when the queue is now above
 * cfg.stream_high_water (the data was queued; the producer should stop
 * and resume on FR_STREAM_DRAINED, or block in fr_res_stream_wait on a
 * thread of its own), or -1 once the client has gone. end returns -1 when
 * the client has gone. fr_res_stream_end (or
 * fr_res_send) must always be called: it releases the request, whose
 * on_done then runs (ok = 0 if the client went away). A handler that
 * streams returns FR_PENDING unless it ended the stream itself.
 * A client that takes the queued bytes slower than cfg.min_send_rate (or
 * not at all) over a cfg.send_timeout_ms window is disconnected.
 * fr_dispatch requests: begin calls sink->start, each non-empty write one
 * sink->body(more = 1) on the calling thread (no copy, no queue: the sink's
 * own pace is the backpressure; nothing for HEAD/1xx/204/304), end
 * sink->body(NULL, 0, 0). A write returns FR_STREAM_FULL when the sink's
 * body call did (the consumer is behind); under fr_dispatch_flow the
 * producer then gets FR_STREAM_DRAINED (or GONE), and fr_res_stream_wait
 * returns, when the consumer calls fr_sink_resume. After the sink returned -1, write and
 * end return -1 and the sink is not called again. */
FR_API int fr_res_stream_begin(fr_req *req);
FR_API int fr_res_stream_write(fr_req *req, const void *data, size_t len);
FR_API int fr_res_stream_end(fr_req *req);

enum { FR_STREAM_FULL = 1 };                        /* fr_res_stream_write */
enum { FR_STREAM_DRAINED = 1, FR_STREAM_GONE = 2 }; /* fr_stream_fn events */
/* Flow-control events of a begun stream, on the loop thread that owns the
 * connection (uvicorn's pause/resume_writing): FR_STREAM_DRAINED once the
 * queue is at or below cfg.stream_low_water after a write answered
 * FR_STREAM_FULL (resume producing); FR_STREAM_GONE once, when the client
 * disconnected (stop producing; end the stream). The callback must not
 * block; it may call fr_res_stream_write/_end. */
typedef void (*fr_stream_fn)(fr_req *req, int event, void *userdata);
/* Register the stream's event callback (one per request; NULL removes it),
 * before or after fr_res_stream_begin. No call is made once
 * fr_res_stream_end has returned (end waits for a call running on another
 * thread). A client already gone is reported at the next write's -1, not
 * by a call. An fr_dispatch request gets its events from fr_sink_resume,
 * on the thread that calls it (none without fr_dispatch_flow). 0, or -1
 * (NULL req). */
FR_API int fr_res_stream_on_drain(fr_req *req, fr_stream_fn fn, void *userdata);
/* For a producer on a thread of its own (never a shared pool thread, never
 * the loop thread): block until the queue is at or below stream_low_water
 * (an fr_dispatch request: until its sink's pause is resumed; at once when
 * none is pending). 0, 1 when timeout_ms (< 0 = no limit) passed first, -1
 * when the client is gone, the stream is not open, or called on the loop
 * thread. */
FR_API int fr_res_stream_wait(fr_req *req, int timeout_ms);
/* A stream's producer failed: close the connection once the stream has
 * ended, before or after its head (the head is unchanged), as uvicorn does
 * after an application error, so the client never reuses it. */
FR_API void fr_res_close_after(fr_req *req);
/* A stream's producer failed: as fr_res_close_after, and its end sends no
 * terminal chunk, so the client sees a truncated body (an error), not a
 * complete one - what uvicorn does when an application raises mid-stream.
 * Under an around layer holding the stream (middleware.h STREAMED CAPTURE)
 * the layer's answer ends normally, as Starlette's BaseHTTPMiddleware's. */
FR_API void fr_res_stream_abort(fr_req *req);

/* ---- requests that do not come from a socket (the ASGI face) ----
 *
 * fr_dispatch runs one request described in memory through the same engine
 * as a socket request: same router, handlers, fallback, default answers
 * (404, 405 + allow, redirect_slashes 307), HEAD from GET routes, limits and
 * engine-made 4xx answers, access log and fr_req API. Its response goes to
 * an fr_sink instead of a socket. The app does not need to listen or serve
 * (fr_listen/fr_serve/fr_poll are never required), and fr_dispatch may run
 * on any thread, also while the same app serves sockets.
 *
 * What the sink receives, in order, from the thread that finishes the
 * response (the handler's; the one calling fr_res_send on an FR_PENDING
 * request; the one writing a stream):
 *   start  once: status and the response headers as the handler set them
 *          (names as given, "content-type" included) plus, for a complete
 *          body, "content-length" (the GET body's length for HEAD; none for
 *          1xx/204/304; for a stream only when the handler set one). Never
 *          date, server, connection or transfer-encoding: those belong to the
 *          server that carries the response.
 *   body   zero or more calls with more = 1, then exactly one with more = 0
 *          (len may be 0). A complete body comes in one call with more = 0;
 *          a file (fr_res_file) in pieces of at most 64 KiB; a stream as one
 *          more = 1 call per non-empty fr_res_stream_write and
 *          body(NULL, 0, 0) from fr_res_stream_end. HEAD, 1xx, 204 and 304
 *          get body(NULL, 0, 0) only. Returning -1 means the consumer is
 *          gone: the engine calls this sink no more (a later stream write
 *          returns -1, as for a closed socket) and on_done gets ok = 0.
 * headers/data are only valid during the call. The engine is done with the
 * sink and its ud once a more = 0 call or a -1 return has come back (or
 * fr_dispatch returned -1, or fr_app_free abandoned the request).
 *
 * Engine-made answers (400/414/431/501/505 for a head the socket parser
 * would refuse, 413 for a body over max_body_bytes) come as start(status,
 * content-type: application/json + content-length) and one body call with
 * {"detail":"<reason phrase>"}, during fr_dispatch; no handler, on_done or
 * access log runs for them, as on the socket path.
 *
 * Lifetime: the request lives until both its handler has returned and its
 * response has finished; then on_done(ok) runs (after the sink's last call),
 * the access log fires (bytes_sent counts body bytes given to the sink), the
 * body and file are released and the request is freed, on whichever of those
 * two threads came last. An FR_PENDING request its holder never finishes is
 * finished by fr_app_free (on_done ok = 0, the sink is not called again).
 * fr_route/fr_app_set_fallback must not run concurrently with fr_dispatch,
 * and fr_app_free only after every fr_dispatch call has returned. */

/* A response destination for requests that did not come from a socket. */
typedef struct fr_sink {
    /* status and headers, once, before any body */
    void (*start)(void *ud, int status, const fr_header *headers, size_t nheaders);
    /* body bytes; more = 0 on the last call (len may be 0). 0, -1 when
     * the consumer is gone (no further calls are made), or FR_STREAM_FULL:
     * taken, but the consumer is behind - the stream write that made a
     * more = 1 call returns it to the producer (other calls: as 0) */
    int (*body)(void *ud, const char *data, size_t len, int more);
    void *ud;
} fr_sink;

/* One request. Everything is copied by fr_dispatch; a zeroed struct plus
 * method and target is a valid HTTP/1.1 request without headers or body. */
typedef struct fr_request_desc {
    fr_str method;            /* "GET" (as on a request line: case-sensitive) */
    fr_str target;            /* raw path + optional "?query", exactly as on a request
                                 line (percent-encoded; the engine decodes the path) */
    const fr_header *headers; /* names in any case, kept as given; values as sent */
    size_t nheaders;
    fr_str body;              /* the whole (already de-chunked) body */
    fr_str client_addr;       /* fr_req_client_addr; len 0 = unknown ("") */
    int client_port;          /* fr_req_client_port; 0 = unknown */
    int http10;               /* 1: an HTTP/1.0 request; 0 = HTTP/1.1 (also for
                                 HTTP/2 and 3: fr_req_http_minor() then says 1) */
    fr_str scheme;            /* "https" or "http"; len 0 = "http". Used by the
                                 redirect_slashes location and fr_req_scheme */
} fr_request_desc;

/* Route and run one request; its response goes to `sink` (copied, like `d`).
 * The head is checked exactly as the socket parser checks a request line
 * and header fields (so the same limits give the same 4xx answers), with
 * two differences: a request without a Host header is accepted (ASGI
 * scopes may have none; fr_req_header(req, "host") is then absent), and a
 * byte no request head could carry there (CR, LF or NUL in a header field,
 * ':' in a header name, a space, CR, LF or NUL in method or target) is
 * answered 400 -- unless an earlier part of the head already fails (413
 * aside, the first failing byte decides, as on a socket).
 * A Content-Length header over max_body_bytes gives 413 like body.len does
 * (not for a multipart_stream route's multipart body: it is parsed into the
 * request's fr_form as from a socket, file parts past the spool size to
 * temp files; the route's max_body bounds it); otherwise the header is not
 * compared with body.len. fr_dispatch is fr_dispatch_begin with the whole
 * body, then fr_dispatch_end.
 * Returns 0 (dispatched: the sink may already have been called, and was
 * if the answer was made inline), or -1 on a bad descriptor (NULL app, d,
 * sink, sink->start or sink->body; a NULL buf with len > 0; headers NULL
 * with nheaders > 0) or out of memory; the sink is then not called. */
FR_API int fr_dispatch(fr_app *app, const fr_request_desc *d, const fr_sink *sink);

/* Flow control for a sink (fr_dispatch_flow). Without it a body call's
 * FR_STREAM_FULL only reaches a stream's producer, which has no way to
 * learn when to go on, and a file is handed over whole as fast as it is
 * read. With it, right after a more = 1 body call answered FR_STREAM_FULL,
 * paused(ud, req) is called with the request to resume: the response is
 * paused - a file body sends no further piece, a stream's producer got
 * FR_STREAM_FULL - until the consumer calls fr_sink_resume(req, gone) once
 * it has caught up: exactly once per paused() call, from any thread. No
 * other paused() call comes before that resume (later FR_STREAM_FULL
 * answers only reach the producer). req stays valid until that resume,
 * even if the response ends meanwhile (on_done waits for it). */
typedef void (*fr_sink_paused_fn)(void *ud, fr_req *req);
/* fr_dispatch, with paused (NULL: exactly fr_dispatch). */
FR_API int fr_dispatch_flow(fr_app *app, const fr_request_desc *d, const fr_sink *sink,
                            fr_sink_paused_fn paused);
/* The sink of an fr_dispatch request (a copy of the one passed), NULL for a
 * request from a socket: lets a handler tell the two apart and reach the
 * sink's userdata (the Python face finds its ASGI channel this way). */
FR_API const fr_sink *fr_req_sink(const fr_req *req);
/* Answer a paused() call (fr_dispatch_flow). gone = 0: the consumer caught up - a file
 * body's next pieces are read and handed to the sink on the calling thread
 * (until it pauses again or ends), a stream's producer gets
 * FR_STREAM_DRAINED on the calling thread and fr_res_stream_wait returns.
 * gone = 1: the consumer is gone - the producer gets FR_STREAM_GONE, its
 * writes return -1 without calling the sink, a file is read no further;
 * the sink still gets its last call (body(NULL, 0, 0)) and on_done ok = 0.
 * A call without a pending pause is ignored. */
FR_API void fr_sink_resume(fr_req *req, int gone);

/* A request whose body arrives after its head (an ASGI server's
 * http.request messages, a proxy, a client of the C API reading a socket
 * of its own). fr_dispatch_begin checks the head exactly as fr_dispatch
 * does and routes it; d->body holds the body's first bytes (may be empty).
 *   0 and *out set: the request waits for its body - feed the rest with
 *     fr_dispatch_feed, then fr_dispatch_end (always, exactly once).
 *   0 and *out NULL: the engine answered already (a 4xx for the head, 413
 *     for a Content-Length or first bytes over max_body_bytes - not for a
 *     streamed form, which its route's max_body bounds): the sink
 *     got its whole answer; send nothing more.
 *   -1: as fr_dispatch (bad descriptor, out of memory; sink not called).
 * The body goes where the route wants it: for a multipart_stream route
 * (fr_route_opts) a multipart/form-data body is parsed into the request's
 * fr_form as it arrives - file parts past the spool size go to temp files,
 * so an upload of any size costs the form's in-memory parts - and any other
 * body is kept in one growing buffer (no copy at the end). Nothing runs
 * before fr_dispatch_end: route limits, the handler and the middleware
 * chain see the complete request, as on a socket. One request's calls must
 * not overlap; they may come from any thread, one after another. Every
 * begun request must be ended before fr_app_free. */
FR_API int fr_dispatch_begin(fr_app *app, const fr_request_desc *d, const fr_sink *sink,
                             fr_sink_paused_fn paused, fr_req **out);
/* More body bytes. 0: taken. 1: the body went over max_body_bytes (not for
 * a streamed form, which the route's max_body bounds at the end): the sink
 * got its 413 now (as fr_dispatch answers one), during this call, and later
 * bytes are dropped unread - stop reading the body, then fr_dispatch_end.
 * -1: out of memory (or req NULL, data NULL with len > 0): the request
 * cannot run - fr_dispatch_end(req, 0). */
FR_API int fr_dispatch_feed(fr_req *req, const void *data, size_t len);
/* The body is complete (complete = 1): the request runs as fr_dispatch
 * runs it - its sink may be called before this returns. complete = 0 (the
 * client went away, a read failed, feed returned -1): the request is
 * dropped - no handler, no sink call, no on_done; its memory and the
 * form's temp files are released. After a 413 from fr_dispatch_feed either
 * value only releases it. req is invalid afterwards. 0, or -1 for a NULL
 * req (nothing done). */
FR_API int fr_dispatch_end(fr_req *req, int complete);

/* "http" for socket requests, "https" on a TLS listener (tls.h; behind a
 * trusted proxy: its X-Forwarded-Proto, see cfg.forwarded_allow_ips); the
 * descriptor's scheme for dispatched ones. */
FR_API fr_str fr_req_scheme(const fr_req *req);
