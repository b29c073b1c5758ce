/* ---- sse.h: Server-Sent Events framing (WHATWG HTML, "event stream") ----
 *
 * fr_sse_event appends one event in the text/event-stream wire format to a
 * buffer, as FastAPI's fastapi.sse.format_sse_event writes it: comment lines
 * first (": text"), then "event:", the data lines, "id:", "retry:", and the
 * blank line that ends the event. Multi-line comment and data values are
 * split on "\r\n", "\r" and "\n" into one field line each. A field whose
 * view has buf NULL is absent; an empty view (buf non-NULL, len 0) is a
 * present, empty field ("data: \n"). event and id must be single lines (the
 * caller checks: a line break there would start another field). Stream the
 * bytes with fr_res_stream_write after "Content-Type: text/event-stream". */

typedef struct fr_sse_fields {
    fr_str data;    /* pre-serialised payload (FastAPI: JSON text or raw_data) */
    fr_str event;   /* event type name */
    fr_str id;      /* last event id */
    fr_str comment; /* comment text (keep-alive pings are comments) */
    long long retry; /* reconnection time in ms; < 0 = absent */
} fr_sse_fields;

/* FastAPI's keep-alive comment (fastapi.sse.KEEPALIVE_COMMENT). */
#define FR_SSE_KEEPALIVE ": ping\n\n"

/* Append one event to out. 0, or -1 when out of memory (out keeps what it
 * had before the call) or when out/f is NULL. */
FR_API int fr_sse_event(fr_buf *out, const fr_sse_fields *f);
