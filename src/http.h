/* ---- http.h: HTTP/1.1 request parser, chunked decoder, response writer ---- */

typedef struct fr_header {
    fr_str name;  /* as sent (case preserved); compare with fr_str_ieq */
    fr_str value; /* leading/trailing OWS stripped */
} fr_header;

enum fr_body_kind { FR_BODY_NONE = 0, FR_BODY_LENGTH = 1, FR_BODY_CHUNKED = 2 };

/* Limits for the parser; a zeroed struct (or NULL) means the FR_MAX_* defaults. */
typedef struct fr_http_limits {
    size_t max_header_bytes; /* request line + headers: 431 */
    size_t max_headers;      /* header count: 431 */
    size_t max_uri_bytes;    /* request-target: 414 */
} fr_http_limits;

/* A parsed request head. All fr_str are views into the caller's buffer. */
typedef struct fr_http_req {
    fr_str method;           /* e.g. "GET" (token chars only) */
    fr_str target;           /* raw request-target as sent */
    fr_str path;             /* target up to '?' (or '#'), NOT percent-decoded */
    fr_str query;            /* after '?', without it; len 0 when absent */
    int minor_version;       /* HTTP/1.<minor>: 0 or 1 */
    fr_header *headers;      /* caller's array, filled in order */
    size_t num_headers;
    int body_kind;           /* enum fr_body_kind */
    uint64_t content_length; /* when body_kind == FR_BODY_LENGTH */
    int keep_alive;          /* 1.1 default on; 1.0 only with Connection: keep-alive;
                                off with Connection: close */
    int expect_continue;     /* Expect: 100-continue present */
    int upgrade;             /* Connection: upgrade and an Upgrade header */
    fr_str host;             /* Host header value (len 0 if absent: only legal in 1.0) */
    fr_str content_type;     /* Content-Type value or empty */
} fr_http_req;

/* Parse a request head from buf[0..len) (picohttpparser style, no allocation).
 * Returns the head length in bytes (through the blank line) on success,
 * -2 if more bytes are needed (and the limits are not yet exceeded),
 * -1 on error with err->code = the HTTP status to answer (400, 414, 431, 501,
 * 505), err->msg a static reason and err->pos the offending offset.
 * Stateless: call again from the start with the grown buffer after -2. A
 * prefix that fails fails with the same status as any longer input, and a
 * prefix that succeeds gives the same length, so re-parsing is consistent.
 * `headers` has room for `max_headers` entries (more => 431). err may be NULL.
 * Limits: head (request line + fields) > max_header_bytes => 431, also while
 * incomplete once len exceeds it; request-target > max_uri_bytes => 414 as
 * soon as that many target bytes are seen.
 * Rejected with 400 (request smuggling / garbage): Content-Length together with
 * Transfer-Encoding; differing or invalid Content-Length values (1*DIGIT up to
 * INT64_MAX; identical repeats, also as a comma list, are accepted); a
 * Transfer-Encoding whose final coding is not chunked, or chunked twice (TE
 * fields are concatenated); any Transfer-Encoding in an HTTP/1.0 request;
 * obs-fold; whitespace before a header colon; empty or non-token field names;
 * CTL/NUL/DEL in values (HTAB and obs-text allowed); a CR not followed by LF;
 * invalid method or target characters (target: 0x21-0x7E only); missing Host
 * on HTTP/1.1, more than one Host, or a Host with non uri-host[:port] chars.
 * 501: a transfer coding other than chunked before it ("gzip, chunked").
 * 505: a well-formed HTTP/x.y other than 1.0/1.1 ("HTTP/2.0"); other garbage 400.
 * Every line of the head ends in CRLF (llhttp's strict mode): a bare LF
 * after the request line or a header field (a missing CR between headers)
 * is a 400. Empty lines (CRLF or LF) before the request line are skipped
 * and counted in the returned length (RFC 9112 2.2).
 * Targets: origin-form "/p?q" (a '#fragment' is cut from path and query);
 * "*" only with OPTIONS; absolute-form only http:// or https:// without
 * userinfo: path is its path ("/" if empty, viewing the scheme's slash) and
 * req->host is its authority (RFC 9112 3.2.2); authority-form (CONNECT): 400.
 * keep_alive: Connection is a comma list; "close" wins over "keep-alive".
 * expect_continue only for HTTP/1.1. content_type: the first Content-Type. */
FR_API int fr_http_parse_request(const char *buf, size_t len, fr_http_req *req,
                                 fr_header *headers, size_t max_headers,
                                 const fr_http_limits *lim, fr_err *err);

/* Case-insensitive header lookup in a parsed request; NULL-buf fr_str if absent. */
FR_API fr_str fr_http_header(const fr_http_req *req, const char *name);

/* Incremental in-place chunked-body decoder (picohttpparser's phr_decode_chunked
 * shape). Zero-initialise before first use. Byte-level state machine: any
 * split of the input, down to one byte per call, gives the same result.
 * Strict framing: every line end must be CRLF (bare LF => 400); chunk sizes
 * are 1-16 hex digits; chunk extensions must follow RFC 9112 7.1.1
 * (BWS ";" BWS name [BWS "=" BWS (token / quoted-string)]) and are skipped:
 * a bare ';', an empty name or value, or an unbalanced quote is a 400;
 * size lines and
 * trailer lines are limited to FR_MAX_CHUNK_LINE_BYTES (4096) and trailers to
 * FR_MAX_TRAILERS (64) fields, else 400. Trailer fields are discarded. */
typedef struct fr_chunked {
    uint64_t remaining; /* bytes left in the current chunk */
    uint64_t total;     /* decoded body bytes so far */
    int state;          /* private */
    unsigned hex_digits; /* private: size digits; trailer lines after the last chunk */
    size_t line_bytes;  /* bytes in the current size/trailer line (bounded) */
} fr_chunked;

/* buf[0..*len) holds raw bytes just received. Decoded data is compacted to the
 * front: on return *len is the number of decoded bytes now at buf[0..*len).
 * Returns -2 when the body is not finished yet (call again with more bytes),
 * -1 on a malformed or overflowing chunk size / trailer (err->code 400) or when
 * the decoded total would exceed max_body (err->code 413), and >= 0 when the
 * terminating chunk and trailers (skipped) have been consumed: the value is the
 * number of bytes that followed the body (the next pipelined request), left at
 * buf[*len .. *len + ret). Typical loop: keep the decoded prefix, append the
 * next received bytes right after it and pass only those new bytes (buf =
 * start + decoded so far). max_body 0 means FR_MAX_BODY_BYTES; 413 is reported
 * as soon as a chunk-size line announces more than the remaining budget.
 * After -1 the decoder stays failed; after completion every further byte is
 * returned as "following" (ret = *len on entry, *len = 0). err may be NULL. */
FR_API long fr_http_decode_chunked(fr_chunked *d, char *buf, size_t *len,
                                   uint64_t max_body, fr_err *err);

/* Reason phrase for a status code ("OK", "Not Found", ...); "" if unknown. */
FR_API const char *fr_http_reason(int status);

/* Current time as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), 29 chars
 * + NUL written to out. Cached per second; thread-safe. */
FR_API void fr_http_date(char out[30]);

/* Response head to serialise. */
typedef struct fr_http_res_head {
    int status;
    int minor_version;        /* reply with HTTP/1.1 unless the request was 1.0 */
    const fr_header *headers; /* extra headers, written as given */
    size_t num_headers;
    int64_t content_length;   /* >= 0 writes content-length; -1 = chunked */
    int keep_alive;           /* 0 adds "connection: close"; 1.0 + 1 adds keep-alive */
    fr_str server;            /* server header value; len 0 = omit */
    int no_date;              /* 1 = omit the date header */
} fr_http_res_head;

/* Append "HTTP/1.x NNN Reason\r\n", date, server, the extra headers,
 * content-length or transfer-encoding: chunked, connection, and the blank
 * line. Header names are lowercase like uvicorn's. Returns 0 or -1 (OOM,
 * status outside 100..999, an empty extra header name, or a CR/LF/NUL inside
 * an extra header name/value or the server value: response splitting
 * refused); on -1 `out` is unchanged. Unknown statuses get an empty reason
 * ("HTTP/1.1 299 \r\n"). The status line says HTTP/1.0 when minor_version
 * is 0, else HTTP/1.1. HTTP/1.0 cannot carry chunked framing: with
 * minor_version 0 and content_length -1 NO framing header is written and
 * "connection: close" is forced -- send the raw body, then close.
 * 1xx and 204 responses never get content-length/transfer-encoding (RFC 9110
 * 8.6), whatever content_length says; 304 writes what it is given. */
FR_API int fr_http_write_head(fr_buf *out, const fr_http_res_head *h);

/* Append one chunk in chunked framing ("%x\r\n" data "\r\n"); len 0 writes the
 * last-chunk "0\r\n\r\n". 0, or -1 on OOM / NULL data with len > 0. */
FR_API int fr_http_write_chunk(fr_buf *out, const void *data, size_t len);

/* ---- behind a proxy (uvicorn's ProxyHeadersMiddleware rule) ----
 * `trusted` is a forwarded_allow_ips list: exactly "*" trusts every peer;
 * otherwise a comma list (items trimmed) of IP addresses ("127.0.0.1",
 * "::1", "fe80::1%eth0"), networks ("10.0.0.0/8", "10.0.0.0/255.0.0.0",
 * "fd00::/8"; host bits set = not a network) and other literals compared
 * byte for byte with a host that is not an address (a unix socket path).
 * Addresses are read as Python's ipaddress reads them (no leading zeros in
 * IPv4, IPv4 and IPv6 never equal). A NULL trusted.buf trusts nobody. */

/* 1 if `host` (an address as text) is trusted; an empty host only by "*". */
FR_API int fr_http_trusts(fr_str trusted, fr_str host);

typedef struct fr_forwarded {
    fr_str client;   /* client the proxies report (view into a header value); len 0 = keep the peer */
    int client_port; /* its port ("host:port", "[v6]:port"), else 0 */
    fr_str scheme;   /* "http", "https", "ws" or "wss" (static); len 0 = keep */
} fr_forwarded;

/* What a trusted proxy says about the request. Only when `peer` (the
 * connecting address as text) is trusted: the scheme from the LAST
 * X-Forwarded-Proto header (trimmed; one of http/https/ws/wss, exact case,
 * else ignored) and the client from the X-Forwarded-For headers (all of
 * them, as one comma list): with "*" the first entry, otherwise the nearest
 * entry, walking back from the end, whose host is not trusted itself (the
 * first one when all are). An entry is "host", "host:port", "[v6]" or
 * "[v6]:port" (a port is what Python's int() reads; out of int range = 0).
 * An empty host leaves the client alone. Returns 1 if peer is trusted (out
 * filled, possibly with nothing), 0 if not or on bad arguments (out zeroed). */
FR_API int fr_http_forwarded(fr_str trusted, fr_str peer, const fr_header *headers, size_t n,
                             fr_forwarded *out);
