/* ---- errors.c: FastAPI-shaped error bodies ----
 *
 * Each call appends whole JSON pieces; on failure it takes back what it
 * appended, so b->len is where it was. */
#include "internal.h"

static int fr__err_fail(fr_buf *b, size_t start) {
    b->len = start;
    return -1;
}

/* A C string as a JSON string; NULL fails. */
static int fr__err_cstr(fr_buf *b, const char *s) {
    return s ? fr_json_write_string(b, s, strlen(s)) : -1;
}

/* -?[0-9]+ : an index may be written as a bare JSON integer. */
static int fr__err_is_int(fr_str s) {
    size_t i = (s.len && s.buf[0] == '-') ? 1 : 0;
    if (i == s.len) return 0;
    for (; i < s.len; i++)
        if (s.buf[i] < '0' || s.buf[i] > '9') return 0;
    return 1;
}

int fr_error_detail(fr_buf *b, fr_str msg) {
    size_t start;
    if (!b || (!msg.buf && msg.len)) return -1;
    start = b->len;
    if (fr_buf_append(b, "{\"detail\":", 10) < 0 || fr_json_write_string(b, msg.buf, msg.len) < 0 ||
        fr_buf_append_char(b, '}') < 0)
        return fr__err_fail(b, start);
    return 0;
}

int fr_error_begin(fr_buf *b) { return b ? fr_buf_append(b, "{\"detail\":", 10) : -1; }

int fr_error_end(fr_buf *b) { return b ? fr_buf_append_char(b, '}') : -1; }

int fr_error_list_begin(fr_buf *b) { return b ? fr_buf_append(b, "{\"detail\":[", 11) : -1; }

int fr_error_list_end(fr_buf *b) { return b ? fr_buf_append(b, "]}", 2) : -1; }

/* ,{"type":...,"loc":[...],"msg":...,"input": -- the value is due next */
static int fr__err_entry_head(fr_buf *b, const char *type, const fr_str *loc, size_t nloc,
                              const int *is_index, const char *msg) {
    size_t i;
    if (!type || !msg || (!loc && nloc)) return -1;
    /* the first entry follows the list's '[' */
    if (b->len && b->buf[b->len - 1] != '[' && fr_buf_append_char(b, ',') < 0) return -1;
    if (fr_buf_append(b, "{\"type\":", 8) < 0 || fr__err_cstr(b, type) < 0 ||
        fr_buf_append(b, ",\"loc\":[", 8) < 0)
        return -1;
    for (i = 0; i < nloc; i++) {
        if (i && fr_buf_append_char(b, ',') < 0) return -1;
        if (!loc[i].buf && loc[i].len) return -1;
        if (is_index && is_index[i]) {
            if (!fr__err_is_int(loc[i]) || fr_buf_append(b, loc[i].buf, loc[i].len) < 0) return -1;
        } else if (fr_json_write_string(b, loc[i].buf, loc[i].len) < 0) {
            return -1;
        }
    }
    if (fr_buf_append(b, "],\"msg\":", 8) < 0 || fr__err_cstr(b, msg) < 0 ||
        fr_buf_append(b, ",\"input\":", 9) < 0)
        return -1;
    return 0;
}

int fr_error_list_add(fr_buf *b, const char *type, const fr_str *loc, size_t nloc,
                      const int *is_index, const char *msg, fr_str input_json) {
    size_t start;
    if (!b) return -1;
    start = b->len;
    if (fr__err_entry_head(b, type, loc, nloc, is_index, msg) < 0) return fr__err_fail(b, start);
    if (input_json.buf && input_json.len) {
        if (fr_buf_append(b, input_json.buf, input_json.len) < 0) return fr__err_fail(b, start);
    } else if (fr_buf_append(b, "null", 4) < 0) {
        return fr__err_fail(b, start);
    }
    if (fr_buf_append_char(b, '}') < 0) return fr__err_fail(b, start);
    return 0;
}

int fr_error_list_add_str(fr_buf *b, const char *type, const fr_str *loc, size_t nloc,
                          const int *is_index, const char *msg, fr_str input) {
    size_t start;
    if (!b || (!input.buf && input.len)) return -1;
    start = b->len;
    if (fr__err_entry_head(b, type, loc, nloc, is_index, msg) < 0 ||
        fr_json_write_string(b, input.buf, input.len) < 0 || fr_buf_append_char(b, '}') < 0)
        return fr__err_fail(b, start);
    return 0;
}

/* ---- C handlers: one validation error answered in one call ---- */

int fr_res_422(fr_req *req, const char *type, const fr_str *loc, size_t nloc, const int *is_index,
               const char *msg, fr_str input_json) {
    fr_buf b = {NULL, 0, 0};
    if (!req) return FR_DONE;
    if (fr_error_list_begin(&b) < 0 ||
        fr_error_list_add(&b, type, loc, nloc, is_index, msg, input_json) < 0 ||
        fr_error_list_end(&b) < 0) {
        fr_buf_free(&b);
        return fr_res_json(req, 500, "{\"detail\":\"Internal Server Error\"}", 34);
    }
    return fr_res_json_buf(req, 422, &b);
}
