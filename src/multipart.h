/* ---- multipart.h: streaming multipart/form-data (RFC 7578) ----
 *
 * A push parser: feed the body in pieces of any size (a delimiter may be
 * split anywhere, even byte by byte) and receive events through one
 * callback. Nothing is allocated: part data is handed out as views into
 * the piece being fed (or, for the few bytes of a delimiter candidate that
 * straddled two pieces and turned out to be data, into the parser); part
 * headers are copied into the parser, which is why an fr_mp is ~42 KiB with
 * the default limits (put it on the heap or in static storage; never copy
 * one that is in use: its views point into itself). One parser per body;
 * no global state, so parsers on different threads are independent.
 *
 *   fr_mp *p = malloc(sizeof *p);
 *   char bnd[FR_MAX_MULTIPART_BOUNDARY];
 *   fr_str b;
 *   if (fr_mp_boundary(content_type, bnd, sizeof bnd, &b) != 1) -> 400
 *   fr_mp_init(p, b, NULL, on_event, ud);     // NULL limits = defaults
 *   while (read(sock, buf, n) > 0) if (fr_mp_feed(p, buf, n) < 0) break;
 *   if (fr_mp_finish(p) < 0) ... p->err.code, fr_mp_error_text(p->err.code, NULL, ...)
 *
 * Or, for a body already in memory, iterate (no callback needed):
 *
 *   size_t ofs = 0; fr_str data;
 *   fr_mp_init(p, b, NULL, NULL, NULL);
 *   while ((rc = fr_mp_next(p, body, &ofs, &data)) == 1)
 *       use p->part.name, p->part.filename, data (a view into body)
 *   rc == 0: done; rc == -1: p->err
 *
 * Grammar and errors follow python-multipart as Starlette drives it (what
 * FastAPI answers), fed in one piece:
 *   - the body starts with "--boundary"; if it starts with CR or LF instead,
 *     everything up to the first '-' is skipped (a preamble);
 *   - "--boundary--" right away is a valid empty form;
 *   - a part's headers are "Name: value" lines ending in CRLF; names are
 *     RFC 9110 tokens, spaces (not tabs) after the colon are skipped, the
 *     value runs to the CR; no folding. Header lines are limited in count
 *     and size (size = name + ':' + skipped spaces + value);
 *   - part data ends at CRLF "--boundary" followed by CRLF (next part),
 *     by "--" (the end; the epilogue is ignored) or by spaces/tabs and CRLF
 *     (transport padding); anything else after CRLF "--boundary" is data;
 *   - every part needs Content-Disposition with a name parameter
 *     (Starlette's rule); a filename parameter, even empty, makes it a file;
 *   - max_fields / max_files count parts as their headers end; max_part_size
 *     limits the data of a field (not of a file).
 * Body text that stops before the closing delimiter is FR_MP_ERR_TRUNCATED
 * from fr_mp_finish; FastAPI keeps the parts that were complete and answers
 * normally, so the Python face ignores that one code.
 *
 * Content-Disposition / Content-Type parameters are read the way
 * python-multipart's parse_options_header reads them (fr_mp_param): split on
 * ';' outside double quotes, names lowercased (when they have '='), spaces
 * and tabs trimmed, "quoted" values unquoted (\\ then \" unescaped), an
 * extended name (with '*', RFC 8187's filename*) ignored, and a filename
 * holding a Windows path ("C:\dir\f.txt", "\\host\f") cut to its last
 * component. The raw filename* is still exposed to C users as
 * part.filename_star. */

/* Events (fr_mp_fn's `ev`); what the callback may touch:
 *   FR_MP_EV_PART      a part's headers are complete: p->part (name,
 *                      filename, headers...) is valid until the next PART;
 *                      fr_mp_sink_fd may be called now. data is empty.
 *   FR_MP_EV_DATA      data: the next bytes of the current part (never empty)
 *   FR_MP_EV_PART_END  the current part is complete (p->part.size final)
 *   FR_MP_EV_END       the closing delimiter; nothing follows. */
enum { FR_MP_EV_PART = 1, FR_MP_EV_DATA = 2, FR_MP_EV_PART_END = 3, FR_MP_EV_END = 4 };

/* p->err.code values. The text FastAPI answers with (400) for each comes
 * from fr_mp_error_text. */
enum {
    FR_MP_OK = 0,
    FR_MP_ERR_NO_BOUNDARY = 1,  /* "Missing boundary in multipart." (fr_mp_boundary gave 0) */
    FR_MP_ERR_BOUNDARY = 2,     /* boundary longer than FR_MAX_MULTIPART_BOUNDARY, or CR/LF in it */
    FR_MP_ERR_SYNTAX = 3,       /* malformed delimiter or header line */
    FR_MP_ERR_HEADER_SIZE = 4,  /* a header line over max_header_bytes */
    FR_MP_ERR_HEADER_COUNT = 5, /* more than max_headers header lines in a part */
    FR_MP_ERR_NO_NAME = 6,      /* no Content-Disposition name parameter */
    FR_MP_ERR_FIELDS = 7,       /* more than max_fields fields */
    FR_MP_ERR_FILES = 8,        /* more than max_files files */
    FR_MP_ERR_PART_SIZE = 9,    /* a field's data over max_part_size */
    FR_MP_ERR_TRUNCATED = 10,   /* fr_mp_finish before the closing delimiter */
    FR_MP_ERR_ABORTED = 11,     /* the callback returned a negative value */
    FR_MP_ERR_IO = 12,          /* writing to the fr_mp_sink_fd descriptor failed (errno kept) */
    FR_MP_ERR_FIELD_SIZE = 13   /* an urlencoded field over max_part_size (fr_mp_urlencoded_check) */
};

/* A callback's answer: 0 go on; FR_MP_PAUSE stop fr_mp_feed right after this
 * event (honoured for PART, PART_END and END; it returns the bytes consumed
 * so far and the caller feeds the rest again); negative: abort
 * (FR_MP_ERR_ABORTED). */
#define FR_MP_PAUSE 1

/* fr_mp_limits values: an explicit zero (0 itself means the default), and
 * no limit (fields, files, part size). */
#define FR_MP_ZERO ((size_t)-1)
#define FR_MP_UNLIMITED ((size_t)-2)

/* Limits, valid when zeroed (0 = the FR_MAX_MULTIPART_* default). Header
 * knobs can only lower the compile-time maxima (the parser's buffer is
 * sized by them). */
typedef struct fr_mp_limits {
    size_t max_fields;       /* FR_MAX_MULTIPART_FIELDS (Starlette's max_fields) */
    size_t max_files;        /* FR_MAX_MULTIPART_FILES (max_files) */
    size_t max_part_size;    /* FR_MAX_MULTIPART_PART_BYTES (max_part_size, fields only) */
    size_t max_headers;      /* FR_MAX_MULTIPART_HEADERS per part */
    size_t max_header_bytes; /* FR_MAX_MULTIPART_HEADER_BYTES per header line */
} fr_mp_limits;

typedef struct fr_mp_header {
    fr_str name, value; /* raw bytes as sent (views into the parser) */
} fr_mp_header;

/* The current part (valid from FR_MP_EV_PART until the next part's). All
 * views point into the parser. */
typedef struct fr_mp_part {
    fr_str name;          /* Content-Disposition name, unquoted */
    fr_str filename;      /* filename, unquoted; buf NULL when absent (a field) */
    fr_str filename_star; /* filename*= raw (RFC 8187 ext-value, undecoded); buf NULL if absent */
    fr_str content_type;  /* the first Content-Type header's value; buf NULL if absent */
    int is_file;          /* a filename parameter was given */
    uint64_t size;        /* data bytes so far; final at FR_MP_EV_PART_END */
    size_t num_headers;
    fr_mp_header headers[FR_MAX_MULTIPART_HEADERS];
} fr_mp_part;

typedef struct fr_mp fr_mp;
typedef int (*fr_mp_fn)(fr_mp *p, int ev, fr_str data, void *ud);

struct fr_mp {
    /* read-only for users */
    fr_mp_part part;
    fr_err err;          /* code FR_MP_ERR_*, msg static, pos: offset in the whole stream */
    fr_mp_limits lim;    /* the limits in force (defaults filled in; here 0 is a real zero) */
    size_t fields, files; /* parts seen so far */
    uint64_t consumed;   /* bytes fed and consumed so far */
    /* private */
    fr_mp_fn fn;
    void *ud;
    int state, carry, fresh, in_part_ev, end_pending, sink_fd;
    size_t m;            /* delimiter bytes matched (held back as possible non-data) */
    size_t dlen;         /* "\r\n--" + boundary */
    size_t hlen;         /* bytes used in hbuf */
    size_t hsize;        /* size of the current header line */
    char delim[FR_MAX_MULTIPART_BOUNDARY + 8];
    char hbuf[(FR_MAX_MULTIPART_HEADERS + 2) * FR_MAX_MULTIPART_HEADER_BYTES];
};

/* Prepare p for one body. boundary: the Content-Type boundary parameter
 * (see fr_mp_boundary); lim NULL = defaults; fn may be NULL when only
 * fr_mp_next is used. 0, or -1 with p->err (FR_MP_ERR_BOUNDARY). */
FR_API int fr_mp_init(fr_mp *p, fr_str boundary, const fr_mp_limits *lim, fr_mp_fn fn, void *ud);
/* Feed the next piece (buf may be NULL when len is 0). Returns the bytes
 * consumed (len, or fewer when a callback paused), or -1 with p->err set;
 * after an error every call returns -1. */
FR_API long fr_mp_feed(fr_mp *p, const char *buf, size_t len);
/* The body ended: 0 if the closing delimiter was seen, else -1
 * (FR_MP_ERR_TRUNCATED, or the earlier error). */
FR_API int fr_mp_finish(fr_mp *p);
/* During FR_MP_EV_PART: write this part's data to fd (blocking write(2),
 * retried on EINTR and short writes) instead of FR_MP_EV_DATA events. The
 * fd stays open and owned by the caller. 0, or -1 outside FR_MP_EV_PART. */
FR_API int fr_mp_sink_fd(fr_mp *p, int fd);
/* Iterate the parts of a whole body in memory (p initialised with fn
 * NULL). *ofs starts at 0. 1: a part, p->part filled and *data its bytes
 * (a view into body); 0: the closing delimiter was reached; -1: p->err
 * (FR_MP_ERR_TRUNCATED when the body ends early). */
FR_API int fr_mp_next(fr_mp *p, fr_str body, size_t *ofs, fr_str *data);

/* Content-Type header value -> its boundary parameter, unquoted into out
 * (cap bytes). 1 found (*boundary views out; may be empty), 0 absent
 * (FastAPI: 400 "Missing boundary in multipart."), -1 longer than cap. */
FR_API int fr_mp_boundary(fr_str content_type, char *out, size_t cap, fr_str *boundary);
/* The form body a Content-Type value announces, read as Starlette does
 * (python-multipart: the text before the first ';', spaces and tabs
 * trimmed, any case): FR_MP_FORM_DATA for multipart/form-data,
 * FR_MP_FORM_URLENCODED for application/x-www-form-urlencoded, else 0. */
enum { FR_MP_FORM_DATA = 1, FR_MP_FORM_URLENCODED = 2 };
FR_API int fr_mp_form_type(fr_str content_type);
/* An application/x-www-form-urlencoded body under the same limits, as
 * Starlette's FormParser applies them (lim NULL = defaults): a field is a
 * non-empty run between '&'s, its size is its raw bytes less the first
 * '='. 0, FR_MP_ERR_FIELD_SIZE (a field over max_part_size) or
 * FR_MP_ERR_FIELDS (more than max_fields), whichever comes first. Decode
 * the pairs with fr_kv_next (FR_KV_QUERY). */
FR_API int fr_mp_urlencoded_check(fr_str body, const fr_mp_limits *lim);
/* Parameter `key` of a header value as python-multipart's
 * parse_options_header reads it (the last occurrence wins); unquoted into
 * out. 1 found (*val views out), 0 absent, -1 longer than cap. */
FR_API int fr_mp_param(fr_str value, const char *key, char *out, size_t cap, fr_str *val);
/* The message FastAPI answers an error code with (as {"detail": ...},
 * status 400), NUL-terminated into out (cap bytes, truncated to fit).
 * lim: the limits given to fr_mp_init / fr_mp_urlencoded_check (NULL = the
 * defaults). Returns its length. The codes with no FastAPI equivalent
 * (TRUNCATED, ABORTED, IO) read "There was an error parsing the body". */
FR_API size_t fr_mp_error_text(int code, const fr_mp_limits *lim, char *out, size_t cap);

/* ---- fr_form: a streamed multipart/form-data body, parts kept ----
 *
 * An fr_mp driven for you: feed the body as it arrives; complete parts are
 * kept, fields in memory, a file part in memory up to `spool` bytes
 * (Starlette's SpooledTemporaryFile max_size, FR_MULTIPART_SPOOL_BYTES)
 * and beyond that in an unlinked temporary file ($TMPDIR, else /tmp;
 * O_TMPFILE, else mkstemp + unlink) written as the data arrives: the body
 * is never whole in memory. fr_form_free closes the files and frees all.
 *
 * The server does this for a route registered with
 * fr_route_opts.multipart_stream: once the head is parsed, the route
 * matched and Content-Type is multipart/form-data with a boundary, body
 * bytes (Content-Length or chunked) go into an fr_form instead of memory
 * and the handler finds it with fr_req_form (fr_req_body is then empty).
 * A malformed body or a limit does not stop the request: the rest of the
 * body is read and discarded and the handler sees fr_form_error (FastAPI
 * answers 400 with fr_form_error_text). The form is freed when the request
 * ends, also when the client goes away mid-upload.
 *
 *   static int upload(fr_req *req, void *ud) {
 *       const fr_form *f = fr_req_form(req);
 *       char msg[160];
 *       if (!f) return fr_res_text(req, 415, "text/plain", "multipart only", 14);
 *       if (fr_form_error(f) && fr_form_error(f) != FR_MP_ERR_TRUNCATED) {
 *           size_t n = fr_form_error_text(f, msg, sizeof msg);
 *           return fr_res_text(req, 400, "text/plain", msg, n);
 *       }
 *       for (size_t i = 0; i < fr_form_count(f); i++) {
 *           const fr_form_part *p = fr_form_part_at(f, i);
 *           // p->name, p->filename, p->size; p->fd >= 0: on disk, else p->data
 *           char buf[65536]; uint64_t off = 0; long n;
 *           while ((n = fr_form_part_read(p, off, buf, sizeof buf)) > 0) off += n;
 *       }
 *       return fr_res_text(req, 200, "text/plain", "ok", 2);
 *   }
 *   fr_route_opts o = {0}; o.multipart_stream = 1;
 *   fr_route_ex(app, "POST", "/upload", upload, NULL, &o);
 *
 * Threading: one form per body, not shared; a handler may read a finished
 * form from any thread while its request is alive. */

/* One complete part. Strings are copies owned by the form (valid until
 * fr_form_free), never NUL-terminated; filename.buf NULL for a field. */
typedef struct fr_form_part {
    fr_str name, filename, filename_star, content_type; /* as fr_mp_part's */
    int is_file;
    size_t num_headers;
    const fr_mp_header *headers; /* raw name/value pairs as sent */
    uint64_t size;               /* data bytes */
    fr_str data; /* fd < 0: the data, in memory (buf non-NULL) */
    int fd;      /* >= 0: the data is this unlinked temp file's [0, size), owned by
                  * the form (do not close; dup it to keep it); its offset is 0
                  * after fr_form_finish. Read it with fr_form_part_read (pread). */
} fr_form_part;

typedef struct fr_form fr_form;

/* A form for one body. boundary: fr_mp_boundary's; lim NULL = defaults
 * (kept for fr_form_error_text); spool 0 = FR_MULTIPART_SPOOL_BYTES,
 * (uint64_t)-1 = files never go to disk. NULL only when out of memory; a
 * bad boundary gives a form whose fr_form_error is FR_MP_ERR_BOUNDARY.
 * Caller frees with fr_form_free. */
FR_API fr_form *fr_form_new(fr_str boundary, const fr_mp_limits *lim, uint64_t spool);
/* The next body bytes. len consumed, or -1 after an error (fr_form_error;
 * the form ignores the rest: keep reading the body and feed or drop it). */
FR_API long fr_form_feed(fr_form *f, const char *buf, size_t len);
/* The body ended: 0, or -1 (fr_form_error; FR_MP_ERR_TRUNCATED when the
 * closing delimiter never came: the complete parts are kept). Idempotent. */
FR_API int fr_form_finish(fr_form *f);
/* 0 or the FR_MP_ERR_* that stopped the form (FR_MP_ERR_IO: a temp file
 * could not be created or written, errno in fr_form_errno). */
FR_API int fr_form_error(const fr_form *f);
FR_API int fr_form_errno(const fr_form *f);
/* fr_mp_error_text for the form's error under the form's limits. */
FR_API size_t fr_form_error_text(const fr_form *f, char *out, size_t cap);
/* Complete parts, in body order (0 / NULL for a NULL form or i out of range). */
FR_API size_t fr_form_count(const fr_form *f);
FR_API const fr_form_part *fr_form_part_at(const fr_form *f, size_t i);
/* Copy up to len bytes of the part's data from offset off into buf (memory
 * or pread, any thread). Bytes copied, 0 at the end, -1 on error. */
FR_API long fr_form_part_read(const fr_form_part *p, uint64_t off, void *buf, size_t len);
/* Stream the part's whole data to fd (blocking write(2), retried on EINTR
 * and short writes; the part's own offset is untouched). 0 or -1 (errno). */
FR_API int fr_form_part_copy_fd(const fr_form_part *p, int fd);
/* Close the temp files and free everything (NULL ok). */
FR_API void fr_form_free(fr_form *f);
/* The form the server streamed this request's body into
 * (fr_route_opts.multipart_stream), after the body is complete; NULL when
 * the body was not streamed (not multipart/form-data, no boundary, the
 * route did not ask, fr_dispatch). Owned by the request. */
FR_API const fr_form *fr_req_form(const fr_req *req);
