/* ---- static.h: static files (Starlette's StaticFiles, FileResponse and
 * FastAPI's app.frontend), served from C with sendfile ----
 *
 * What a mount answers, exactly as Starlette 1.10 under FastAPI 0.165:
 *  - GET/HEAD of a regular file: 200, content-type guessed from the name as
 *    Python's mimetypes.guess_type does ("; charset=utf-8" added to text types,
 *    "application/octet-stream" when unknown), accept-ranges: bytes,
 *    content-length, last-modified (the mtime, IMF-fixdate) and etag (the
 *    md5 of Python's "str(st_mtime)-st_size", quoted).
 *  - If-None-Match ("*", or a comma list compared after dropping "W/") and
 *    If-Modified-Since (email.utils.parsedate tuples compared) give 304
 *    with the etag only; Range gives 206 (one range) or 206
 *    multipart/byteranges (several, merged and sorted), 416 with a
 *    content-range of "bytes *" + "/" + size when a start is beyond the file,
 *    400 text/plain for a malformed header; If-Range that matches neither
 *    the etag nor last-modified serves the whole file.
 *  - Other methods: 405 {"detail":"Method Not Allowed"}, allow: GET, HEAD.
 *  - Not found, traversal ("..", "%2e%2e", an absolute or backslash path, a
 *    NUL), a symlink leading out of the directory (unless follow_symlink),
 *    a name too long: 404 {"detail":"Not Found"}; EACCES: 401.
 *  - html: a directory answers its index.html (a 307 to path + "/" first,
 *    location absolute as Starlette builds it), anything else missing the
 *    directory's 404.html with status 404 when there is one.
 * Paths are looked up per request (realpath, stat, open), as Starlette
 * does, so files may change while serving. The lookup runs on the loop
 * thread (like nginx, no thread hop).
 * Multipart/byteranges answers are assembled in memory, up to
 * FR_STATIC_MAX_MULTIRANGE_BYTES; a larger multi-range request gets the
 * whole file (200), which RFC 9110 allows (Starlette would stream it). */

/* Multi-range answers are built in memory: this caps that memory per
 * request (a bigger one is answered with the whole file). */
#ifndef FR_STATIC_MAX_MULTIRANGE_BYTES
#define FR_STATIC_MAX_MULTIRANGE_BYTES (8u * 1024u * 1024u)
#endif

/* Files up to this size are read (pread) and sent with the response head
 * in one write; larger ones go out with sendfile(2). Bounds the memory a
 * request holds for its body (0 = always sendfile). */
#ifndef FR_STATIC_INLINE_BYTES
#define FR_STATIC_INLINE_BYTES 16384u
#endif

typedef struct fr_static_opts {
    int html;           /* 1: index.html for directories, 404.html for the rest */
    int check_dir;      /* 1: fail now unless `directory` is a directory */
    int follow_symlink; /* 1: a symlink may lead out of `directory` (only ".." is refused) */
} fr_static_opts;

/* Serve `directory` under `prefix` ("/static": any method on the route
 * "/static/{path:path}"; "" serves the whole path space as a Mount("") does).
 * directory is copied and kept as given (a relative one is relative to the
 * working directory of each request, as in Python). Not while serving.
 * The registration lives as long as the app. 0, or -1 (NULL argument, bad
 * prefix, check_dir failed, route conflict, OOM; fr_app_last_error says why
 * for route errors). opts NULL = all zero. */
FR_API int fr_app_static(fr_app *app, const char *prefix, const char *directory,
                         const fr_static_opts *opts);

/* FastAPI's app.frontend(path, directory=, fallback=, check_dir=): a
 * single-page-app build served as LOW-PRIORITY routes: a request reaches it
 * only when no route matched it at all (no 405, no redirect_slashes 307).
 * Under `path` (normalised: trailing "/" dropped; "/" = everything) files
 * and directory index.html files answer (html mode, as StaticFiles); for a
 * missing file the fallback decides: FR_FRONTEND_404 = 404.html with 404,
 * FR_FRONTEND_INDEX = index.html with 200 for a navigation (an Accept
 * naming text/html or application/xhtml+xml with q != 0) else 404 JSON,
 * FR_FRONTEND_AUTO = 404.html if the directory has one, else as INDEX when
 * it has an index.html, FR_FRONTEND_NONE = 404 JSON. Methods other than
 * GET/HEAD: 405 (no allow header) when the file exists, else 404. With
 * several frontends the longest path wins. check_dir: fail now unless the
 * directory exists and (INDEX / 404) the fallback file exists in it. */
enum { FR_FRONTEND_AUTO = 0, FR_FRONTEND_INDEX = 1, FR_FRONTEND_404 = 2, FR_FRONTEND_NONE = 3 };
typedef struct fr_frontend_opts {
    int fallback;  /* FR_FRONTEND_* */
    int check_dir; /* 1: check now (see above) */
    /* NULL: the 404 answers are {"detail":"Not Found"}; else this handler
     * answers them instead (fr_req_match_status says 404), as FastAPI's
     * HTTPException(404) reaches the app's exception handlers */
    fr_handler not_found;
    void *not_found_ud;
    /* NULL: none. Else a GET or HEAD request the frontend takes goes to this
     * handler first, as FastAPI runs an app's or router's dependencies (auth,
     * say) before a frontend's files: it refuses by answering itself, or lets
     * the files answer with fr_frontend_serve -- at once, or later from any
     * thread after returning FR_PENDING. Other methods get their 405 / 404
     * without it (FastAPI runs no dependencies there). */
    fr_handler guard;
    void *guard_ud;
    /* NULL: a method other than GET/HEAD on a file is answered 405
     * {"detail":"Method Not Allowed"} (no allow header); else this handler
     * answers it (fr_req_match_status says 404: no route took it), as
     * FastAPI's HTTPException(405) reaches the app's exception handlers */
    fr_handler not_allowed;
    void *not_allowed_ud;
} fr_frontend_opts;
FR_API int fr_app_frontend(fr_app *app, const char *path, const char *directory,
                           const fr_frontend_opts *opts);
/* For a guard: sets the frontend's answer to req -- status, headers, body
 * -- with n headers of the guard's after the answer's own (FastAPI adds its
 * dependencies' response headers to the file, 304 or redirect response).
 * The caller sends it: the guard returns FR_DONE, or a FR_PENDING request
 * gets fr_res_send. Returns
 *  - FR_DONE: the answer is set, with the guard's headers;
 *  - FR_FRONTEND_OWN: the answer set is a Range error (400, 416), which
 *    Starlette makes a new response: without the guard's headers, and the
 *    guard's after-work (FastAPI: its background tasks) should not run;
 *  - with nothing set, the status FastAPI raises as an exception inside the
 *    dependencies, for the caller to answer: 404 (no file and no fallback:
 *    by the frontend's not_found handler, say), 401 (unreadable), 405 (a
 *    method other than GET/HEAD on a file), 500 (the directory, the file or
 *    the fallback file cannot be opened);
 *  - -1: a route took req (it is under no frontend), or headers is NULL
 *    with n > 0. */
enum { FR_FRONTEND_OWN = 2 };
FR_API int fr_frontend_serve(fr_req *req, const fr_header *headers, size_t n);

/* Content types. The built-in table is Python 3.11's mimetypes defaults
 * (.js and .mjs text/javascript as in 3.12) plus the common web types
 * of /etc/mime.types (.woff2, .webp, .wasm, ...);
 * fr_app_static_type adds or replaces one extension (".ext", case kept: the
 * lookup tries the exact extension, then its lowercase form, as mimetypes)
 * for this app's static files (the Python face passes mimetypes.types_map,
 * which also holds /etc/mime.types). Not while serving. 0 / -1. */
FR_API int fr_app_static_type(fr_app *app, const char *ext, const char *type);
/* mimetypes.guess_type(name)[0] with the built-in table (suffix_map and
 * encodings_map applied: "a.tar.gz" -> application/x-tar, "a.gz" -> none):
 * a static string, or NULL when unknown. */
FR_API const char *fr_static_guess_type(fr_str name);

/* ---- the Range header (RFC 9110 14.2, as Starlette's FileResponse) ----
 * One range: bytes [start, end) of the file. */
typedef struct fr_range {
    uint64_t start, end;
} fr_range;

/* Parse a Range header value for a file of `size` bytes, exactly as
 * Starlette 1.10's FileResponse._parse_range_header (Python int() syntax,
 * Python whitespace stripped, unparsable parts skipped, a "N-" or "-N"
 * suffix, more than FR_RANGE_MAX parts = ignore the header; several ranges
 * sorted and merged when they overlap or touch). out has room for
 * FR_RANGE_MAX entries. Returns the number of ranges (>= 1), 0 = serve the
 * whole file, -1 = 400 with err->msg Starlette's text ("Malformed range
 * header.", "Only support bytes range", "Range header: range must be
 * requested", "Range header: start must be less than end"), -2 = 416 (a
 * start at or beyond size). No allocation; err may be NULL. */
#define FR_RANGE_MAX 100
FR_API int fr_http_parse_range(const char *value, size_t len, uint64_t size, fr_range *out,
                               fr_err *err);

/* email.utils.parsedate(value)[:6] (year, month, day, hour, minute,
 * second; Python's lenient RFC 2822/850 reader, time zone ignored as
 * parsedate does), numbers saturated to +-2^62. 0, or -1 when parsedate
 * gives None. */
FR_API int fr_http_parsedate(const char *value, size_t len, int64_t out[6]);

/* A file's identity as Starlette's FileResponse.set_stat_headers computes
 * it: etag '"' md5(repr(st_mtime) + "-" + str(st_size)) hex '"' (35 chars)
 * and last-modified formatdate(st_mtime, usegmt=True) (29 chars), where
 * st_mtime is Python's float sec + nsec * 1e-9. Both NUL-terminated. */
FR_API void fr_file_etag(int64_t mtime_sec, long mtime_nsec, uint64_t size, char etag[36]);
FR_API void fr_file_last_modified(int64_t mtime_sec, long mtime_nsec, char out[30]);

/* Send `len` bytes of `fd` as a FileResponse body, honouring the
 * request's Range and If-Range the way FileResponse.__call__ does: only
 * when the status set so far is 200, the method GET or HEAD and If-Range
 * (absent, or equal to the response's etag or last-modified header; never
 * a "W/" one) allows it. Reads the response's content-type, etag and
 * last-modified headers as set by the caller. A 400/416 replaces the whole
 * response (Starlette answers a fresh PlainTextResponse) and closes fd when
 * close_fd. 0, or -1 (fd refused, as fr_res_file; fd then untouched). */
FR_API int fr_res_file_ranged(fr_req *req, int fd, uint64_t len, int close_fd);
