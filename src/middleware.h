/* ---- middleware.h: the decisions of Starlette's built-in middlewares ----
 *
 * CORSMiddleware, TrustedHostMiddleware, HTTPSRedirectMiddleware,
 * GZipMiddleware and SessionMiddleware of Starlette 1.10, as C functions
 * that take the request's views and edit a response header list exactly as
 * the Python classes do: same decisions, same header names, values, order
 * and `Vary` merging, same early answers (status, headers, body), byte for
 * byte (tests/test_middleware_parity.py runs the real classes over ASGI and
 * compares). Nothing here touches a socket or an fr_req: the server (or a C
 * user with their own loop) calls these at the points Starlette would.
 *
 * TEXT. Header names and values are bytes that Starlette decodes as
 * Latin-1; configuration strings compared with header text (origins,
 * methods, header names, hosts, content types) are Latin-1 bytes too --
 * the Python glue passes str.encode("latin-1"). Exceptions, each said where
 * it applies: the origin regex is a UTF-8 Python pattern, paths are UTF-8,
 * the session secret and payload are UTF-8.
 *
 * CONFIGURATION. Each middleware with options is compiled once from a
 * config struct that is valid when zeroed (zero = Starlette's default) by
 * fr_X_new(cfg, err), which copies everything it needs (cfg may be freed
 * afterwards) and refuses what Starlette refuses at start-up (NULL with
 * err->msg). The compiled object is read-only afterwards: any number of
 * threads may use it at once. fr_X_free releases it.
 *
 * MEMORY. Per-request output (joined Vary values, formatted cookies,
 * redirect URLs, early answers) comes from the arena the caller passes and
 * lives until that arena is reset. Views the caller passes in (origins,
 * header values) and configured values (CORS headers) are stored in header
 * lists as views, never copied: keep the request memory and the compiled
 * object alive while the list is in use. Nothing else allocates, except a
 * match of an origin regex compiled to more than 256 instructions (its
 * NFA state lists are malloc'ed per match) and zlib's state.
 *
 * ERRORS. Per-request functions return >= 0 on success, FR_MW_ERROR (-1)
 * on OOM or bad arguments, and FR_MW_RAISES (-2) where Starlette itself
 * raises an exception for that request (its ServerErrorMiddleware then
 * answers 500): the caller answers 500 too. */

enum { FR_MW_ERROR = -1, FR_MW_RAISES = -2 };

/* ---- response header list: Starlette's MutableHeaders ----
 *
 * An ordered list of (name, value) views with the edits Starlette's
 * middlewares make. Names are compared ASCII/Latin-1 case-insensitively
 * (Starlette compares its lowercased raw names) and stored lowercased, as
 * Starlette sends them; values are stored as given. `items` may be filled
 * directly (fr_header views) or with fr_hlist_append. */
typedef struct fr_hlist {
    fr_header *items;
    size_t len, cap;
    fr_arena *arena; /* where the array grows and new values/names are made */
} fr_hlist;

FR_API void fr_hlist_init(fr_hlist *h, fr_arena *arena);
/* MutableHeaders.append(name, value): add at the end, duplicates kept.
 * 0 / FR_MW_ERROR. `value` is stored as a view (not copied). */
FR_API int fr_hlist_append(fr_hlist *h, fr_str name, fr_str value);
/* MutableHeaders.__setitem__: the first entry of that name takes the value
 * (keeping its place), later ones are removed; appended when absent. */
FR_API int fr_hlist_set(fr_hlist *h, fr_str name, fr_str value);
/* MutableHeaders.__delitem__: remove every entry of that name. Returns how
 * many were removed. */
FR_API size_t fr_hlist_remove(fr_hlist *h, fr_str name);
/* Headers.get: the first value, buf NULL when absent. */
FR_API fr_str fr_hlist_get(const fr_hlist *h, fr_str name);
/* MutableHeaders.add_vary_header(token): vary = ", ".join(every vary value
 * + [token]), set like fr_hlist_set. The joined value lives in the arena. */
FR_API int fr_hlist_add_vary(fr_hlist *h, fr_str token);

/* An early answer a middleware gives instead of calling the app. */
typedef struct fr_mw_answer {
    int status;
    fr_hlist headers; /* exactly Starlette's raw headers, in order, lowercase names,
                         INCLUDING content-length (and content-type when Starlette
                         sends one); an engine that frames the body itself drops
                         its copy of content-length */
    fr_str body;      /* static text or arena memory */
} fr_mw_answer;

/* What Starlette's URL(scope=scope) is built from (for redirects). */
typedef struct fr_mw_scope {
    fr_str scheme;      /* "http", "https", "ws" or "wss" */
    fr_str host;        /* the first Host header, raw; buf NULL = none */
    fr_str server_host; /* scope["server"] host ("127.0.0.1", "::1"); buf NULL = no server */
    int server_port;
    fr_str path;        /* scope["path"]: percent-DECODED, UTF-8 */
    fr_str query;       /* scope["query_string"]: raw bytes, without '?' */
} fr_mw_scope;

/* str(URL(scope=scope)) appended to out: the Host header when it parses
 * (and its port is <= 65535), else server host and port (the port left out
 * when it is the scheme's default), else a relative URL. The path gets
 * '?', '#', '\\' escaped; the query must be UTF-8 (else FR_MW_RAISES, as
 * bytes.decode() raises). Returns 0 / FR_MW_ERROR / FR_MW_RAISES. */
FR_API int fr_mw_url(const fr_mw_scope *scope, fr_buf *out);

/* starlette._utils.parse_host_header: 1 and host/port views (port buf
 * NULL when absent) when `value` is a valid Host header -- reg-name chars,
 * an IPv6 literal Python's ipaddress accepts, or an IPvFuture literal, then
 * an optional ":digits" -- else 0. */
FR_API int fr_mw_parse_host(fr_str value, fr_str *host, fr_str *port);

/* ---- CORSMiddleware ----
 *
 * Per request:
 *   fr_cors_classify(method, origin, has Access-Control-Request-Method)
 *     FR_CORS_PREFLIGHT  OPTIONS with an Origin and that header: answer with
 *                        fr_cors_preflight, the app is not called;
 *     FR_CORS_SIMPLE     an Origin, not a preflight;
 *     FR_CORS_NONE       no Origin header.
 *   For SIMPLE *and* NONE call fr_cors_simple on the app's response headers
 *   before they are sent: Starlette 1.10 appends "Origin" to Vary on every
 *   response that passes through it, CORS or not.
 * `origin` is the first Origin header (buf NULL = absent).
 *
 * Origins: "*" in allow_origins allows any; otherwise an origin is allowed
 * when allow_origin_regex matches all of it (re.fullmatch) or it equals an
 * entry exactly (case-sensitive).
 *
 * allow_origin_regex: a subset of Python's `re` that is matched exactly
 * like re.fullmatch on the Latin-1 text of the header. Supported: literal
 * characters (UTF-8 in the pattern), '.', '^', '$' (Python's: also before a
 * final "\n"), \A, \Z, classes [...] / [^...] with ranges and escapes,
 * \d \D \w \W \s \S (Unicode meaning, as Python's), escapes \\ \. etc.,
 * \a \f \n \r \t \v, \xhh, \uhhhh, \Uhhhhhhhh, octal inside classes,
 * groups (...) and (?:...), alternation |, quantifiers * + ? {m} {m,}
 * {,n} {m,n} and their lazy forms (a '{' that is not a quantifier is a
 * literal, as in Python). Refused by fr_cors_new (never matched
 * differently): flags (?i) etc., named groups, lookarounds, atomic groups
 * and possessive quantifiers, backreferences and octal escapes outside
 * classes, \b \B \N{...}, a repeat above 1000 or a pattern that compiles to
 * more than 4096 instructions, nesting deeper than 64 groups, and every
 * pattern Python itself rejects that the parser notices (nothing to repeat,
 * multiple repeat, bad ranges, unbalanced parentheses, bad escapes).
 * Matching is a Thompson-NFA simulation: linear in the origin's length, no
 * backtracking blow-up. */

typedef struct fr_cors_config {
    const fr_str *allow_origins; /* "*" = any origin */
    size_t num_allow_origins;
    fr_str allow_origin_regex;   /* buf NULL = none */
    const fr_str *allow_methods; /* NULL = {"GET"}; non-NULL with 0 entries = none;
                                    "*" anywhere = Starlette's ALL_METHODS */
    size_t num_allow_methods;
    const fr_str *allow_headers; /* "*" = any requested header */
    size_t num_allow_headers;
    const fr_str *expose_headers;
    size_t num_expose_headers;
    int allow_credentials;
    int allow_private_network;
    fr_str max_age;              /* the text of str(max_age); buf NULL = "600" */
    const fr_allocator *alc;     /* for the compiled object; NULL = FR_MALLOC */
} fr_cors_config;

typedef struct fr_cors fr_cors;

enum { FR_CORS_NONE = 0, FR_CORS_SIMPLE = 1, FR_CORS_PREFLIGHT = 2 };

/* Compile; NULL with err (code 400 for a refused regex, msg, pos = byte in
 * the pattern) on a refused pattern or OOM. */
FR_API fr_cors *fr_cors_new(const fr_cors_config *cfg, fr_err *err);
FR_API void fr_cors_free(fr_cors *c);
FR_API int fr_cors_classify(fr_str method, fr_str origin, int has_request_method);
/* 1 if the origin is allowed (allow_all, regex or list), else 0;
 * FR_MW_ERROR when a large regex's state cannot be allocated. */
FR_API int fr_cors_origin_allowed(const fr_cors *c, fr_str origin);
/* The preflight answer: 200 "OK" or 400 "Disallowed CORS origin, method,
 * headers, private-network" (the failures that apply, in that order), with
 * Vary, Access-Control-Allow-* and Max-Age as Starlette orders them, then
 * content-length and content-type: text/plain; charset=utf-8. Inputs are the
 * first Origin, Access-Control-Request-Method, -Request-Headers and
 * -Request-Private-Network headers (buf NULL = absent; origin and method
 * must be present). Returns 0 / FR_MW_ERROR. */
FR_API int fr_cors_preflight(const fr_cors *c, fr_str origin, fr_str request_method,
                             fr_str request_headers, fr_str request_private_network,
                             fr_arena *arena, fr_mw_answer *out);
/* Edit the app's response headers (send wrapper of a non-preflight
 * request): with an Origin the configured Allow-Origin "*" /
 * Allow-Credentials / Expose-Headers are set, the origin is echoed when
 * credentials are allowed with "*" or when it is allowed explicitly; Vary
 * gets "Origin" in every case. h->arena must be set. 0 / FR_MW_ERROR. */
FR_API int fr_cors_simple(const fr_cors *c, fr_str origin, fr_hlist *h);

/* ---- TrustedHostMiddleware ----
 *
 * allowed_hosts: exact names, "*" (anything: the middleware does nothing)
 * or "*.example.com" (any name ending in ".example.com", not the bare
 * domain); compared lowercased (ASCII) with the Host header's host part.
 * fr_trusted_host_new refuses a '*' anywhere but at the start and a
 * leading '*' not followed by '.', as Starlette's assertions do.
 * Without a usable Host header, or a host not allowed: 400 "Invalid host
 * header" -- unless the host with "www." in front is allowed and
 * www_redirect is on (the default): then 307 to the same URL on
 * "www." + netloc (a RedirectResponse; Starlette says 307, not 301). */

typedef struct fr_trusted_host_config {
    const fr_str *allowed_hosts; /* NULL = {"*"}; non-NULL with 0 entries = none */
    size_t num_allowed_hosts;
    int no_www_redirect;         /* 1 = Starlette's www_redirect=False */
    const fr_allocator *alc;
} fr_trusted_host_config;

typedef struct fr_trusted_host fr_trusted_host;

FR_API fr_trusted_host *fr_trusted_host_new(const fr_trusted_host_config *cfg, fr_err *err);
FR_API void fr_trusted_host_free(fr_trusted_host *t);
/* 0 = host allowed: call the app; 1 = answer with *out (400 or 307);
 * FR_MW_ERROR; FR_MW_RAISES when Starlette's URL handling raises on the way
 * to a redirect (e.g. a non-UTF-8 query string). */
FR_API int fr_trusted_host_check(const fr_trusted_host *t, const fr_mw_scope *scope,
                                 fr_arena *arena, fr_mw_answer *out);

/* ---- HTTPSRedirectMiddleware ----
 *
 * For scheme "http" / "ws" (already resolved from proxy headers by the
 * caller, as uvicorn's --proxy-headers would): 307 to the same URL with
 * "https" / "wss", the port dropped when it is 80 or 443 -- in which case
 * the host is also lowercased and IPv6 brackets are lost, exactly as
 * urllib's .hostname gives it ("http://[::1]:80/" -> "https://::1/"). The
 * Location is quoted like RedirectResponse does (UTF-8 percent-encoding
 * except for ":/%#?=@[]!$&'()*+,;" and unreserved characters); tabs, CR and
 * LF vanish from it (urlsplit). No host at all: 400 "Invalid host header".
 * Returns 0 (https/wss: call the app), 1 (answer *out), FR_MW_ERROR or
 * FR_MW_RAISES (non-UTF-8 query, an address urllib refuses). */
FR_API int fr_https_redirect(const fr_mw_scope *scope, fr_arena *arena, fr_mw_answer *out);

/* ---- GZipMiddleware ----
 *
 * Request: fr_gzip_accepts(first Accept-Encoding value) is Starlette's
 * test, `"gzip" in value`: a case-sensitive substring, so "x-gzip" and even
 * "gzip;q=0" count, "GZIP" does not.
 *
 * Response (one fr_gzip_stream per response):
 *   fr_gzip_start(&st, g, accepts, status, headers) when the app starts the
 *     response. 1 = pass everything through untouched (a Content-Encoding
 *     header is present, status 206, or the Content-Type -- before ';',
 *     stripped, lowercased -- or its "type/ *" wildcard or, for
 *     "application/grpc+x", "application/grpc" is an excluded type);
 *     0 = hold the head until the first body message.
 *   fr_gzip_body(&st, headers, body, len, more_body, trailers, out) for
 *     every body message, in order. On the first one the head is decided
 *     (send it after this call): a final body shorter than minimum_size
 *     goes out as is with no header change; otherwise Vary gets
 *     "Accept-Encoding" -- also when the client did not accept gzip -- and,
 *     when it did, Content-Encoding: gzip is set and Content-Length is set
 *     to the compressed length (final body) or removed (streaming, or
 *     `trailers`). Returns 0 = send the body as given, 1 = send the bytes
 *     appended to `out` instead (possibly none), FR_MW_ERROR.
 *   fr_gzip_stream_end(&st) releases the compressor (always call it).
 * Compression is Starlette's exactly: zlib.compressobj(level, DEFLATED,
 * 16 + MAX_WBITS) -- the gzip header zlib writes (mtime 0, no name, OS 3),
 * not GzipFile's -- compress(chunk) + flush(Z_SYNC_FLUSH) per streamed
 * message and flush() at the end, with CPython's output-buffer sizes, so
 * the bytes are identical to Starlette's for the same zlib. */

typedef struct fr_gzip_config {
    int64_t minimum_size;                /* 0 = 500; negative = Starlette's 0
                                            (every body is compressed) */
    int compresslevel;                   /* 1..9; 0 = 9 (Starlette's default);
                                            -1 = zlib's default (6);
                                            FR_GZIP_LEVEL_0 = level 0 (stored) */
    const fr_str *exclude_content_types; /* NULL = Starlette's default list;
                                            non-NULL with 0 entries = none */
    size_t num_exclude_content_types;
    const fr_allocator *alc;             /* compiled object and zlib state */
} fr_gzip_config;

enum { FR_GZIP_LEVEL_0 = -100 };

typedef struct fr_gzip fr_gzip;

typedef struct fr_gzip_encoder {
    void *z;        /* private: the zlib stream, NULL until first used */
    int level;      /* private */
    int finished;   /* private */
    fr_allocator alc; /* private */
} fr_gzip_encoder;

typedef struct fr_gzip_stream { /* all private; set up by fr_gzip_start */
    const fr_gzip *g;
    int accepts, state, started;
    fr_gzip_encoder enc;
} fr_gzip_stream;

/* 1 when fastrapi was built with FR_ENABLE_ZLIB=1, else 0: without zlib
 * fr_gzip_new fails and the compressors return FR_MW_ERROR. */
FR_API int fr_gzip_available(void);
FR_API fr_gzip *fr_gzip_new(const fr_gzip_config *cfg, fr_err *err);
FR_API void fr_gzip_free(fr_gzip *g);
FR_API int fr_gzip_accepts(fr_str accept_encoding);
/* 1 if this Content-Type value (buf NULL = absent) is excluded. */
FR_API int fr_gzip_excluded(const fr_gzip *g, fr_str content_type);
FR_API int fr_gzip_start(fr_gzip_stream *st, const fr_gzip *g, int accepts, int status,
                         const fr_hlist *headers);
FR_API int fr_gzip_body(fr_gzip_stream *st, fr_hlist *headers, const void *body, size_t len,
                        int more_body, int trailers, fr_buf *out);
FR_API void fr_gzip_stream_end(fr_gzip_stream *st);

/* The compressor alone. level as in fr_gzip_config (0 = 9). alc NULL =
 * FR_MALLOC (zlib's allocations go through it too). */
FR_API int fr_gzip_encoder_init(fr_gzip_encoder *e, int level, const fr_allocator *alc);
/* compress(data) + flush(Z_SYNC_FLUSH), or flush(Z_FINISH) when `finish`
 * (the encoder is then done; writing more is an error). Appends to out.
 * 0 / FR_MW_ERROR. */
FR_API int fr_gzip_encoder_write(fr_gzip_encoder *e, const void *data, size_t len, int finish,
                                 fr_buf *out);
FR_API void fr_gzip_encoder_free(fr_gzip_encoder *e);
/* One shot: the gzip member Starlette sends for a whole body. */
FR_API int fr_gzip_compress(const void *data, size_t len, int level, fr_buf *out);

/* ---- SessionMiddleware ----
 *
 * The cookie is itsdangerous.TimestampSigner(secret).sign(b64encode(json)):
 *     base64(json) "." base64url(timestamp) "." base64url(HMAC-SHA1)
 * base64(json) is standard base64 with padding; the timestamp is the
 * big-endian integer without leading zero bytes, base64url without
 * padding; the MAC key is SHA1("itsdangerous.Signer" "signer" secret)
 * ("django-concat" derivation), the MAC covers everything before the last
 * '.'. Verification follows itsdangerous: lenient base64 (characters
 * outside the alphabet skipped), any failure -> an empty session; with a
 * max_age, a signature older than max_age seconds or from the future is
 * expired (empty session) too.
 *
 * JSON: Starlette writes json.dumps(session) (", " and ": " separators,
 * ensure_ascii) -- pass that text to get Starlette's exact cookie; any JSON
 * object text is read back by Starlette. Reading gives the decoded payload
 * bytes; Starlette then runs json.loads on them (a validly signed payload
 * that is not JSON raises there: the caller's json parser decides). */

typedef struct fr_session_config {
    fr_str secret_key;      /* str(secret_key) as UTF-8 (may be empty) */
    fr_str session_cookie;  /* buf NULL = "session" */
    int64_t max_age;        /* seconds; 0 = 14 days; FR_SESSION_NO_MAX_AGE =
                               Starlette's None (no Max-Age, no expiry);
                               FR_SESSION_MAX_AGE_ZERO = a literal 0 */
    fr_str path;            /* buf NULL = "/" */
    fr_str same_site;       /* buf NULL = "lax"; written as given */
    int https_only;         /* "; secure" */
    fr_str domain;          /* buf NULL = no domain attribute */
    int partitioned;        /* "; partitioned" */
    const fr_allocator *alc;
} fr_session_config;

#define FR_SESSION_NO_MAX_AGE INT64_MIN
#define FR_SESSION_MAX_AGE_ZERO (INT64_MIN + 1)

/* fr_session_commit flags: what happened to request.session */
enum {
    FR_SESSION_ACCESSED = 1, /* read or written (Vary: Cookie) */
    FR_SESSION_MODIFIED = 2, /* written */
    FR_SESSION_NONEMPTY = 4, /* holds at least one key now */
    FR_SESSION_LOADED = 8,   /* the request's cookie verified (even as "{}") */
    FR_SESSION_ERROR = 16    /* fr_req_session_set: the session could not be encoded
                                (Starlette's json.dumps raised): the response becomes
                                ServerErrorMiddleware's 500 */
};

typedef struct fr_session fr_session;

FR_API fr_session *fr_session_new(const fr_session_config *cfg, fr_err *err);
FR_API void fr_session_free(fr_session *s);
/* The cookie NAME (config's session_cookie). */
FR_API fr_str fr_session_cookie_name(const fr_session *s);
/* TimestampSigner.sign(b64encode(json)) with timestamp `now` (Unix
 * seconds, >= 0), appended to out. 0 / FR_MW_ERROR. */
FR_API int fr_session_sign(const fr_session *s, fr_str json, int64_t now, fr_buf *out);
/* Verify a cookie value (the decoded cookie text, UTF-8). 1 = valid:
 * *json = the decoded payload (arena); 0 = empty session (bad or expired
 * signature); FR_MW_RAISES = the signature is valid but the payload is not
 * base64 (Starlette's b64decode raises); FR_MW_ERROR. */
FR_API int fr_session_unsign(const fr_session *s, fr_str value, int64_t now, fr_arena *arena,
                             fr_str *json);
/* The same from the Cookie header(s) (several joined with ';'): the last
 * cookie of the configured name, as request.cookies has it; 0 when there
 * is none. */
FR_API int fr_session_load(const fr_session *s, fr_str cookie_header, int64_t now,
                           fr_arena *arena, fr_str *json);
/* The send wrapper: Vary: Cookie when accessed; when modified and non-empty
 * a Set-Cookie "name=<signed json>; path=P; Max-Age=N; httponly;
 * samesite=S[; secure][; domain=D][; partitioned]" (no Max-Age for
 * FR_SESSION_NO_MAX_AGE); when modified, now empty and LOADED, the clearing
 * cookie "name=null; path=P; expires=Thu, 01 Jan 1970 00:00:00 GMT;
 * httponly; ...". json is the session's JSON text (used only for a
 * Set-Cookie). Returns 0 / FR_MW_ERROR. */
FR_API int fr_session_commit(const fr_session *s, fr_hlist *h, int flags, fr_str json,
                             int64_t now);

/* ---- the middleware chain of an fr_app ----
 *
 * fr_app_use(app, &mw) wraps the app's handlers in a middleware; the
 * built-ins above are added with fr_app_use_cors / _gzip / _trusted_host /
 * _https_redirect / _session, FastrAPI's request id and fixed header with
 * fr_app_use_request_id / _response_header. Layering is Starlette's `middleware=[...]` list: the
 * FIRST added is the OUTERMOST. Add them before serving (like fr_route);
 * the chain then is read-only and serves every thread. It runs for socket
 * requests and fr_dispatch requests alike, not for the answers the engine
 * makes without a handler (parse errors, 408, 413).
 *
 * One request, middlewares 0 (outermost) .. n-1 (innermost):
 *   before  0, 1, .. n-1, on the loop thread (the fr_dispatch caller's),
 *           after routing, right before the handler (or the fallback /
 *           default 404, 405, 307). FR_MW_NEXT goes on; FR_MW_ANSWERED
 *           means the hook answered itself (fr_res_* then fr_res_send,
 *           inline): the inner middlewares and the handler are skipped and
 *           only the middlewares OUTSIDE it see that answer, as a Starlette
 *           middleware that responds without calling the app.
 *   after   innermost first, over the response, on the thread that sends it
 *           (fr_res_send for a complete body or a file, fr_res_stream_begin
 *           for a stream): it may edit res->status and res->headers.
 *           Returning FR_MW_FILTER asks for the body: `body` is then called
 *           with every piece of it (complete body: one piece, more = 0;
 *           stream: one per fr_res_stream_write, then an empty one with
 *           more = 0 from fr_res_stream_end; file: 64 KiB pieces as
 *           Starlette's FileResponse sends them, more = 0 on a short one;
 *           HEAD on a file: one empty piece) and may replace it: append the
 *           new bytes to `out` and return 1, or return 0 to pass the piece
 *           on as it is. While one middleware filters, the head is held
 *           (not written) until it has seen the first piece, exactly like
 *           Starlette's GZipMiddleware holds http.response.start: the
 *           middlewares outside it run their `after` only then, and the
 *           first `body` call may still edit res. A filtered file is sent
 *           as a stream. Returning FR_MW_ERROR (or running out of memory)
 *           answers 500 while the head is not yet out, else ends the body.
 *   end     when the request is finished (also when the client left): free
 *           what the state holds.
 * `state` is `state_size` zeroed bytes (8-byte aligned) per request and
 * middleware, NULL when state_size is 0. res->headers are Starlette's raw
 * response headers: lowercase names as fr_hlist keeps them, WITHOUT
 * content-length (the engine frames the body: the complete body's length,
 * the file's, or a stream's declared length) except where a body filter
 * sets one for a stream (then it is taken as the stream's length).
 *
 * Starlette puts ServerErrorMiddleware outside every user middleware: the
 * 500 answer to an unhandled exception never passes through them. A
 * handler that answers that way calls fr_mw_bypass(req) before
 * fr_res_send: no after/body hook sees the response. */

enum { FR_MW_NEXT = 0, FR_MW_ANSWERED = 1, FR_MW_AROUND = 2 }; /* before */
enum { FR_MW_FILTER = 1 };                   /* after: call body for this response */
enum { FR_MW_RES_BODY = 0, FR_MW_RES_FILE = 1, FR_MW_RES_STREAM = 2 };

typedef struct fr_mw_res {
    int status;       /* editable until the head is written */
    fr_hlist headers; /* editable until the head is written (arena: the request's) */
    int kind;         /* FR_MW_RES_* */
    fr_str body;      /* FR_MW_RES_BODY: the complete body (read-only; replace it in `body`) */
    uint64_t file_len; /* FR_MW_RES_FILE */
    int bypass;       /* `capture` only: 1 = the server-error layer's answer (the app
                         raised: fr_mw_bypass, or a middleware inside failed) */
    int streaming;    /* `capture` only: 1 = a live stream's head, its body follows
                         (STREAMED CAPTURE below) */
} fr_mw_res;

typedef struct fr_middleware {
    int (*before)(fr_req *req, void *state, void *ud);                   /* NULL = FR_MW_NEXT */
    int (*after)(fr_req *req, fr_mw_res *res, void *state, void *ud);    /* NULL = 0 */
    int (*body)(fr_req *req, fr_mw_res *res, void *state, const void *data, size_t len,
                int more, fr_buf *out, void *ud);
    void (*end)(fr_req *req, void *state, void *ud);
    /* an around layer's inner response (see AROUND LAYERS below) */
    void (*capture)(fr_req *req, const fr_mw_res *res, void *state, void *ud);
    void (*free_ud)(void *ud); /* fr_app_free (or a failed fr_app_use): release ud */
    size_t state_size;
    void *ud;
    int outer; /* 1: it sits outside the server-error layer too: its `after` also
                  edits the head of the 500 answers that bypass the chain
                  (fr_mw_bypass, a failed hook); there it returns no FR_MW_FILTER
                  and its errors are ignored. Only for middlewares that wrap the
                  whole app (added first), as a request id does. */
    int capture_stream; /* 1: an around layer that takes a stream at its head
                           (STREAMED CAPTURE below); 0: streams are collected */
    /* STREAMED CAPTURE: the held stream has bytes or its end for fr_mw_take
     * (once per fr_mw_take that answered 0), on the producer's thread with
     * the engine's lock held: hand it on, call no fr_* function, never block */
    void (*wake)(fr_req *req, void *state, void *ud);
} fr_middleware;

/* AROUND LAYERS: Starlette's BaseHTTPMiddleware (FastAPI's
 * `@app.middleware("http")`) as a chain layer, for middleware code that
 * runs elsewhere (another thread, an event loop: the Python glue runs
 * `dispatch(request, call_next)` on its asyncio thread this way).
 *   before returns FR_MW_AROUND: the chain stops at this layer and the
 *          request is pending (the engine returns FR_PENDING for it). The
 *          hook has handed `req` on; from then on exactly one of these
 *          happens, on any thread:
 *     - short-circuit: the owner answers (fr_res_* then fr_res_send, or a
 *       stream): the answer goes OUTWARD from this layer (the after/body
 *       hooks of the middlewares outside it, then the writer); the inner
 *       middlewares and the handler never run;
 *     - fr_mw_next(req) (call_next): the inner `before` hooks and the handler
 *       run on the calling thread (as an FR_PENDING completion would: the
 *       handler must not rely on being on a loop thread). The response they
 *       make passes the inner middlewares' after/body hooks as usual and is
 *       then CAPTURED here instead of being written: `capture` is called
 *       once, on the thread that finished it, with the status, headers
 *       (lowercase names, no content-length) and the complete body -- a
 *       file or a stream is read/collected into memory first (res->kind
 *       then says FR_MW_RES_FILE / FR_MW_RES_STREAM -- a stream that declared
 *       its content-length counts as a body --, res->body holds it),
 *       so an endless stream never reaches `capture` -- unless the layer takes
 *       streams at their head (capture_stream: STREAMED CAPTURE below).
 *       res->bypass = 1 when it is the server-error layer's answer
 *       (Starlette raises the app's exception out of call_next there). The captured response stays in the request:
 *       `capture` must not send it itself (nor block); the owner later
 *       edits it (fr_res_status, fr_mw_headers_clear + fr_res_header,
 *       fr_res_body to replace the body, or nothing) and sends it with
 *       fr_res_send (or answers with a stream), which goes OUTWARD from
 *       this layer. The captured response's fr_req_on_done callback is
 *       kept and runs (before the outward one) when the request finishes,
 *       so the owner may register its own.
 * Around layers nest: each captures what the layers inside it answer. A
 * middleware that only ever returns FR_MW_NEXT / FR_MW_ANSWERED needs no
 * `capture`. fr_dispatch requests work the same (the sink is called by the
 * thread that sends outward). */
/* STREAMED CAPTURE (fr_middleware.capture_stream = 1): Starlette's
 * call_next returns as soon as the inner response's head is known and the
 * body streams through. For such a layer a stream without a declared
 * content-length, made by the handler (not by another around layer's
 * owner, not a file), is captured at its head: `capture` gets
 * res->streaming = 1, the status and headers, no body. The producer goes
 * on writing: its pieces are HELD by the engine (its fr_res_stream_write
 * answers FR_STREAM_FULL above 16 KiB held, and its fr_stream_fn --
 * registered before fr_res_stream_begin -- gets FR_STREAM_DRAINED when the
 * owner takes them).
 * Body filters inside the layer (a GZip added after it, any `body` hook
 * whose `after` asked for the body) work as Starlette's send wrappers do:
 * the head is captured when the first piece has passed them (their `after`
 * and first `body` calls decide it: GZip's content-encoding and vary, no
 * content-length -- a length the handler declared counts only when no
 * filter changed the body); every later piece passes their `body` hooks
 * (more = 1) on the producer's thread, and what comes out is what is held,
 * taken or passed (FR_STREAM_FULL counts those bytes); the producer's
 * fr_res_stream_end flushes them (more = 0) and their tail comes before the
 * end -- not after fr_res_stream_abort (Starlette's GZip never sees the end
 * of a failed body), nor once the owner answered. Those later `body` calls
 * get a read-only copy of the captured head (the owner edits the
 * request's; a hook that grows it fails). The owner then does one of:
 *   - fr_mw_pass(req): the (edited) captured head goes outward and the held
 *     and later pieces follow as they come, with the client's backpressure;
 *     the producer's fr_res_stream_end ends the response (the owner does
 *     nothing more);
 *   - fr_mw_take(req, out) to read the body itself, then answers with a
 *     response of its own (a stream written with fr_mw_stream_write /
 *     fr_mw_stream_end: the owner's pieces, told apart from the producer's);
 *   - answers with its own response (fr_res_send, or a stream ended with
 *     fr_mw_stream_end) while the producer still runs: the inner stream is
 *     CANCELLED (its fr_stream_fn gets FR_STREAM_GONE, its writes answer -1)
 *     and the answer goes out when the producer has called
 *     fr_res_stream_end -- the request is never released under it.
 * The producer ends with fr_res_stream_end (not fr_res_send). One streamed
 * capture per request (the innermost around layer's); an outer around layer
 * collects what an inner one answers. */
/* The owner's reading of a held stream: appends the bytes held so far to
 * out. 2: the stream has ended (all taken), 1: bytes taken, more may come,
 * 0: nothing yet (`wake` is called once when there is), -1: no held stream
 * (not a streamed capture, passed, OOM). */
FR_API int fr_mw_take(fr_req *req, fr_buf *out);
/* Send the captured head (as edited) outward; the held stream's body
 * follows. 0, or -1 (no held stream; the owner answers some other way). */
FR_API int fr_mw_pass(fr_req *req);
/* The owner's own stream while a streamed capture may be held: as
 * fr_res_stream_write / fr_res_stream_end (begin is fr_res_stream_begin). */
FR_API int fr_mw_stream_write(fr_req *req, const void *data, size_t len);
FR_API int fr_mw_stream_end(fr_req *req);
/* A captured response's head as Starlette's call_next gives it (its
 * Response.init_headers order): res's headers, with content-length (the
 * body's length, its digits written to num) before the first content-type,
 * or last, when res is a complete body (not a stream) whose status allows
 * one (not 1xx, 204, 304). Fills out with views; returns how many, or 0
 * when cap (res->headers.len + 1 always suffices) is too small. */
FR_API size_t fr_mw_res_raw_headers(const fr_mw_res *res, fr_header *out, size_t cap, char num[24]);
/* Continue the chain inward from the around layer that waits (see AROUND
 * LAYERS): 0, or -1 when no around layer of req waits for it. */
FR_API int fr_mw_next(fr_req *req);
/* Drop every response header set so far (status and body stay): an around
 * layer's owner replacing the captured head. */
FR_API void fr_mw_headers_clear(fr_req *req);
/* 1 when an around layer has called fr_mw_next for req and waits for the
 * response (the next one sent is captured), else 0; *state = that (the
 * innermost such) layer's per-request state. */
FR_API int fr_mw_capturing(fr_req *req, void **state);

/* Add a middleware (copied) as the innermost so far. Not while serving,
 * not concurrently with fr_dispatch (like fr_route). 0, or -1 (NULL app or
 * mw, serving, out of memory; mw->free_ud(mw->ud) has then been called). */
FR_API int fr_app_use(fr_app *app, const fr_middleware *mw);
/* Starlette's CORSMiddleware / GZipMiddleware / TrustedHostMiddleware /
 * HTTPSRedirectMiddleware with these options (compiled by fr_X_new, which
 * may refuse them: -1 with err). gzip needs FR_ENABLE_ZLIB. */
FR_API int fr_app_use_cors(fr_app *app, const fr_cors_config *cfg, fr_err *err);
FR_API int fr_app_use_gzip(fr_app *app, const fr_gzip_config *cfg, fr_err *err);
FR_API int fr_app_use_trusted_host(fr_app *app, const fr_trusted_host_config *cfg, fr_err *err);
FR_API int fr_app_use_https_redirect(fr_app *app);
/* Starlette's SessionMiddleware (compiled by fr_session_new). `before`, on
 * the loop thread: the first Cookie header's session cookie is verified
 * (fr_session_load, clock: time()); a validly signed payload that is not
 * base64 or not a JSON object answers 500, as Starlette's b64decode /
 * json.loads / Session(...) raising does. The handler reads the session
 * with fr_req_session and reports what it did with fr_req_session_set
 * before it sends. `after`: fr_session_commit with the reported flags
 * (Vary: Cookie when accessed; Set-Cookie when modified and non-empty; the
 * clearing cookie when modified, now empty and a cookie had loaded;
 * nothing else) -- the session is not touched when nothing is reported.
 * Answers made outside it (an outer middleware's) never see it. */
FR_API int fr_app_use_session(fr_app *app, const fr_session_config *cfg, fr_err *err);
/* The session of req, as the innermost session middleware loaded it:
 * 1 and *json = the payload (a JSON object's text, request arena) when the
 * cookie verified, 0 for an empty session (no cookie, a bad or expired
 * signature), -1 when no session middleware runs for req. json may be NULL. */
FR_API int fr_req_session(fr_req *req, fr_str *json);
/* Report the handler's use of the session (call before fr_res_send /
 * fr_res_stream_begin; the last call wins): flags FR_SESSION_ACCESSED,
 * _MODIFIED, _NONEMPTY (Starlette's session.accessed, .modified, bool) or
 * FR_SESSION_ERROR; json = the session as JSON text (copied), used when
 * MODIFIED and NONEMPTY -- pass json.dumps(session)'s text for Starlette's
 * exact cookie. 0, or -1 (no session middleware, OOM). */
FR_API int fr_req_session_set(fr_req *req, int flags, fr_str json);
/* FastrAPI's request id (its request_id_header option), as an outer
 * middleware (fr_middleware.outer: the 500 answers carry it too). The id is
 * the request's `header` value when propagate is on and that value is 1..
 * max_len visible ASCII characters (0x21..0x7e; anything else -- too long,
 * spaces, controls, non-ASCII -- is replaced, so a crafted id never reaches
 * a log line or another service); otherwise a fresh uuid4 as 32 lowercase
 * hex digits (random bits from /dev/urandom seeding a per-thread
 * generator). The response gets `header: id` (set, replacing an app's own);
 * fr_req_id returns it (the access log prints it). */
typedef struct fr_request_id_config {
    fr_str header;     /* buf NULL = "x-request-id"; sent lowercased */
    int no_propagate;  /* 1: always generate, ignore the incoming header */
    size_t max_len;    /* longest id taken from a request; 0 = 128 */
} fr_request_id_config;

FR_API int fr_app_use_request_id(fr_app *app, const fr_request_id_config *cfg, fr_err *err);
/* The request id of req (request arena), buf NULL without that middleware. */
FR_API fr_str fr_req_id(fr_req *req);
/* uuid4 as 32 lowercase hex digits (no NUL): out[0..31]. */
FR_API void fr_uuid4_hex(char out[32]);
/* A fixed response header on every answer of the app, the 500s included
 * (outer, like the request id): FastrAPI's powered_by_header gives
 * ("x-powered-by", "FastrAPI"). Set (replacing the app's own), name sent
 * lowercased; both copied. -1 when the name or value is not a valid header
 * token / value (RFC 9110: a token; no CR, LF or NUL in the value). */
FR_API int fr_app_use_response_header(fr_app *app, fr_str name, fr_str value, fr_err *err);
/* How many middlewares the chain has. */
FR_API size_t fr_app_num_middleware(const fr_app *app);
/* The response of req is the server-error layer's: no after/body hook
 * sees it (call before fr_res_send). No-op without a chain. */
FR_API void fr_mw_bypass(fr_req *req);
