/* ---- sse.c: Server-Sent Events framing ---- */
#include "internal.h"

/* One "name: value" line per line of v (split on CRLF, CR, LF; a trailing
 * line break gives a trailing empty line, as Python's split does). */
static int fr__sse_lines(fr_buf *out, const char *name, size_t nlen, fr_str v) {
    size_t i = 0, start = 0;
    for (;;) {
        if (i == v.len || v.buf[i] == '\r' || v.buf[i] == '\n') {
            if (fr_buf_append(out, name, nlen) < 0 ||
                fr_buf_append(out, v.buf + start, i - start) < 0 || fr_buf_append_char(out, '\n') < 0)
                return -1;
            if (i == v.len) return 0;
            if (v.buf[i] == '\r' && i + 1 < v.len && v.buf[i + 1] == '\n') i++;
            start = ++i;
            continue;
        }
        i++;
    }
}

int fr_sse_event(fr_buf *out, const fr_sse_fields *f) {
    size_t had;
    int r = 0;
    if (!out || !f) return -1;
    had = out->len;
    if (f->comment.buf) r |= fr__sse_lines(out, ": ", 2, f->comment);
    if (!r && f->event.buf) r |= fr__sse_lines(out, "event: ", 7, f->event);
    if (!r && f->data.buf) r |= fr__sse_lines(out, "data: ", 6, f->data);
    if (!r && f->id.buf) r |= fr__sse_lines(out, "id: ", 4, f->id);
    if (!r && f->retry >= 0) r |= fr_buf_printf(out, "retry: %lld\n", f->retry) < 0 ? -1 : 0;
    if (!r) r |= fr_buf_append_char(out, '\n');
    if (r) out->len = had;
    return r ? -1 : 0;
}
