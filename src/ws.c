/* ---- ws.c: WebSockets (RFC 6455) and permessage-deflate (RFC 7692) ----
 *
 * Shape
 *  - Building blocks without I/O: UTF-8 validation, frame heads, masking,
 *    the handshake check and accept key, permessage-deflate negotiation.
 *  - fr_ws_codec: the protocol without I/O. The read side is a pull parser
 *    that consumes payload bytes as they arrive (unmasking in place,
 *    validating UTF-8 and inflating piece by piece) and yields one event at
 *    a time; only an incomplete frame head is left for the caller. The write
 *    side frames (and compresses, and masks on the client side).
 *  - fr_ws: one upgraded connection. Its socket side lives in server.c (the
 *    "WebSocket connections" section): the loop feeds input to
 *    fr__ws_input, writes what fr_ws_* queued on the request's stream
 *    buffer, runs fr__ws_tick from a timer and fr__ws_gone when TCP ends.
 *    Senders on any thread frame under ws->mu and append to that buffer
 *    (fr__srv_ws_queue), which wakes the loop.
 *  - Lifetime: refs counts the connection (dropped after on_close) plus
 *    fr_ws_retain holders. Once the connection is gone (or the last
 *    reference went) the upgrade request is released to the loop
 *    (fr__srv_ws_end), so a kept reference never holds up a graceful stop;
 *    the request's on_done (fr__ws_req_done) frees the ws when no reference
 *    is left, else the last fr_ws_release does.
 */
#include "internal.h"

#include <pthread.h>
#include <time.h>

#if FR_ENABLE_ZLIB
#include <zlib.h>
#endif

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                     */

/* state: 0 = on a boundary; else need (bits 0-7), lo (8-15), hi (16-23) of
 * the next continuation byte; FR__UTF8_BAD once failed. */
#define FR__UTF8_BAD 0xffffffffu

int fr_utf8_feed(uint32_t *state, const void *data, size_t len, size_t *pos) {
    const uint8_t *p = (const uint8_t *)data;
    uint32_t st = *state;
    size_t i = 0;
    if (st == FR__UTF8_BAD) {
        if (pos) *pos = 0;
        return -1;
    }
    while (i < len) {
        uint8_t b = p[i];
        if (st == 0) {
            if (b < 0x80) {
                /* ASCII run, 8 at a time */
                while (i + 8 <= len) {
                    uint64_t w;
                    memcpy(&w, p + i, 8);
                    if (w & 0x8080808080808080ull) break;
                    i += 8;
                }
                while (i < len && p[i] < 0x80) i++;
                continue;
            }
            if (b >= 0xc2 && b <= 0xdf) st = 1u | 0x80u << 8 | 0xbfu << 16;
            else if (b == 0xe0) st = 2u | 0xa0u << 8 | 0xbfu << 16;
            else if (b == 0xed) st = 2u | 0x80u << 8 | 0x9fu << 16;
            else if (b >= 0xe1 && b <= 0xef) st = 2u | 0x80u << 8 | 0xbfu << 16;
            else if (b == 0xf0) st = 3u | 0x90u << 8 | 0xbfu << 16;
            else if (b >= 0xf1 && b <= 0xf3) st = 3u | 0x80u << 8 | 0xbfu << 16;
            else if (b == 0xf4) st = 3u | 0x80u << 8 | 0x8fu << 16;
            else goto bad;
        } else {
            uint32_t need = st & 0xff, lo = (st >> 8) & 0xff, hi = (st >> 16) & 0xff;
            if (b < lo || b > hi) goto bad;
            need--;
            st = need ? (need | 0x80u << 8 | 0xbfu << 16) : 0;
        }
        i++;
    }
    *state = st;
    return 0;
bad:
    *state = FR__UTF8_BAD;
    if (pos) *pos = i;
    return -1;
}

int fr_utf8_complete(uint32_t state) { return state == 0; }

/* ------------------------------------------------------------------------ */
/* frames                                                                    */

int fr_ws_parse_frame(const void *buf, size_t len, fr_ws_frame *f, fr_err *err) {
    const uint8_t *p = (const uint8_t *)buf;
    size_t need = 2;
    uint64_t n;
    if (len < 2) return -2;
    f->fin = p[0] >> 7;
    f->rsv = (p[0] >> 4) & 7;
    f->opcode = p[0] & 15;
    f->masked = p[1] >> 7;
    n = p[1] & 127;
    if (n == 126) need += 2;
    else if (n == 127) need += 8;
    if (f->masked) need += 4;
    if (len < need) return -2;
    if (n == 126) {
        n = (uint64_t)p[2] << 8 | p[3];
        if (n < 126) goto bad;
    } else if (n == 127) {
        int i;
        n = 0;
        for (i = 0; i < 8; i++) n = n << 8 | p[2 + i];
        if (n >> 63 || n < 65536) goto bad;
    }
    f->len = n;
    if (f->masked) memcpy(f->mask, p + need - 4, 4);
    else memset(f->mask, 0, 4);
    return (int)need;
bad:
    if (err) {
        err->code = FR_WS_CLOSE_PROTOCOL_ERROR;
        err->msg = "non-minimal frame length";
        err->pos = 1;
    }
    return -1;
}

size_t fr_ws_frame_head(void *out, int fin, int rsv, int opcode, uint64_t len, const uint8_t *mask) {
    uint8_t *p = (uint8_t *)out;
    size_t n = 2;
    p[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 15));
    if (len < 126) {
        p[1] = (uint8_t)len;
    } else if (len <= 0xffff) {
        p[1] = 126;
        p[2] = (uint8_t)(len >> 8);
        p[3] = (uint8_t)len;
        n = 4;
    } else {
        int i;
        p[1] = 127;
        for (i = 0; i < 8; i++) p[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        p[1] |= 0x80;
        memcpy(p + n, mask, 4);
        n += 4;
    }
    return n;
}

void fr_ws_mask(void *data, size_t len, const uint8_t mask[4], uint64_t offset) {
    uint8_t *p = (uint8_t *)data;
    uint8_t m[8];
    size_t i = 0, k;
    for (k = 0; k < 8; k++) m[k] = mask[(offset + k) & 3];
    if (len >= 16) {
        uint64_t w, mw;
        memcpy(&mw, m, 8);
        for (; i + 8 <= len; i += 8) {
            memcpy(&w, p + i, 8);
            w ^= mw;
            memcpy(p + i, &w, 8);
        }
    }
    for (; i < len; i++) p[i] ^= m[i & 7];
}

int fr_ws_close_code_valid(int code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* ------------------------------------------------------------------------ */
/* handshake                                                                 */

static const char fr__ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static int fr__ws_key_ok(fr_str key) {
    uint8_t raw[18];
    return key.len == 24 && fr_base64_decode(raw, sizeof raw, key.buf, key.len) == 16;
}

int fr_ws_accept_key(fr_str key, char out[29]) {
    fr_sha1_ctx c;
    uint8_t d[20];
    if (!key.buf || !fr__ws_key_ok(key)) return -1;
    fr_sha1_init(&c);
    fr_sha1_update(&c, key.buf, key.len);
    fr_sha1_update(&c, fr__ws_guid, sizeof fr__ws_guid - 1);
    fr_sha1_final(&c, d);
    return fr_base64_encode(out, 29, d, 20) == 28 ? 0 : -1;
}

static int fr__ws_ows(char c) { return c == ' ' || c == '\t'; }

static int fr__ws_fail(fr_err *err, int code, const char *msg) {
    if (err) {
        err->code = code;
        err->msg = msg;
        err->pos = 0;
    }
    return -1;
}

int fr_ws_check_request(fr_str method, int http_minor, const fr_header *h, size_t n,
                        fr_ws_handshake *hs, fr_err *err) {
    size_t i, nkey = 0, nver = 0;
    fr_str key = {NULL, 0}, ver = {NULL, 0};
    if (!fr_str_eq_c(method, "GET")) return fr__ws_fail(err, 400, "WebSocket handshake must be a GET");
    if (http_minor < 1) return fr__ws_fail(err, 400, "WebSocket handshake needs HTTP/1.1");
    if (!fr__hdr_has_token(h, n, "upgrade", "websocket"))
        return fr__ws_fail(err, 426, "Missing or invalid Upgrade header");
    if (!fr__hdr_has_token(h, n, "connection", "upgrade"))
        return fr__ws_fail(err, 426, "Missing or invalid Connection header");
    for (i = 0; i < n; i++) {
        if (fr_str_ieq_c(h[i].name, "sec-websocket-key")) {
            key = h[i].value;
            nkey++;
        } else if (fr_str_ieq_c(h[i].name, "sec-websocket-version")) {
            ver = h[i].value;
            nver++;
        }
    }
    if (nver != 1 || !fr_str_eq_c(ver, "13"))
        return fr__ws_fail(err, 426, "Unsupported Sec-WebSocket-Version");
    if (nkey != 1 || !fr__ws_key_ok(key)) return fr__ws_fail(err, 400, "Missing or invalid Sec-WebSocket-Key");
    if (hs) hs->key = key;
    if (err) err->code = 0;
    return 0;
}

int fr_ws_subprotocol_offered(const fr_req *req, const char *name) {
    size_t i, n, el;
    if (!req || !name || !*name) return 0;
    n = fr_req_num_headers(req);
    for (i = 0; i < n; i++) {
        fr_str hn, hv, item;
        const char *p, *e;
        fr_req_header_at(req, i, &hn, &hv);
        if (!fr_str_ieq_c(hn, "sec-websocket-protocol")) continue;
        for (p = hv.buf; fr__http_list_next(&p, hv.buf + hv.len, &e, &el);) {
            item.buf = e;
            item.len = el;
            if (fr_str_eq_c(item, name)) return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* permessage-deflate negotiation                                            */

typedef struct fr__ws_pmd_offer {
    int ok;
    int snct, cnct; /* no_context_takeover flags */
    int smwb;       /* server_max_window_bits, 0 = absent */
    int cmwb;       /* client_max_window_bits: 0 absent, -1 without value */
} fr__ws_pmd_offer;

static int fr__ws_bits(fr_str v) {
    int64_t x;
    if (v.len >= 2 && v.buf[0] == '"' && v.buf[v.len - 1] == '"') {
        v.buf++;
        v.len -= 2;
    }
    if (v.len == 0 || v.len > 2 || v.buf[0] < '0' || v.buf[0] > '9' || fr_str_to_i64(v, &x) < 0) return 0;
    return x >= 8 && x <= 15 ? (int)x : 0;
}

/* Parse one extension element ("name; p; q=v") into *o. Returns 1 if it is
 * permessage-deflate (o->ok says whether its parameters are valid). */
static int fr__ws_pmd_parse(fr_str ext, int response, fr__ws_pmd_offer *o) {
    const char *p = ext.buf, *e = ext.buf + ext.len;
    int first = 1;
    memset(o, 0, sizeof *o);
    o->ok = 1;
    while (p <= e) {
        const char *s = p, *q, *t;
        fr_str name, val = {NULL, 0};
        int inq = 0;
        while (p < e && (*p != ';' || inq)) {
            if (*p == '"') inq = !inq;
            p++;
        }
        q = s;
        while (q < p && fr__ws_ows(*q)) q++;
        t = p;
        while (t > q && fr__ws_ows(t[-1])) t--;
        p++; /* past ';' (or the end) */
        name.buf = q;
        name.len = (size_t)(t - q);
        {
            const char *eq = (const char *)memchr(q, '=', (size_t)(t - q));
            if (eq) {
                const char *ne = eq, *vs = eq + 1;
                while (ne > q && fr__ws_ows(ne[-1])) ne--;
                while (vs < t && fr__ws_ows(*vs)) vs++;
                name.len = (size_t)(ne - q);
                val.buf = vs;
                val.len = (size_t)(t - vs);
            }
        }
        if (first) {
            if (!fr_str_ieq_c(name, "permessage-deflate")) return 0;
            if (val.buf) o->ok = 0;
            first = 0;
            continue;
        }
        if (fr_str_ieq_c(name, "server_no_context_takeover")) {
            if (o->snct || val.buf) o->ok = 0;
            o->snct = 1;
        } else if (fr_str_ieq_c(name, "client_no_context_takeover")) {
            if (o->cnct || val.buf) o->ok = 0;
            o->cnct = 1;
        } else if (fr_str_ieq_c(name, "server_max_window_bits")) {
            int b = val.buf ? fr__ws_bits(val) : 0;
            if (o->smwb || !b) o->ok = 0;
            o->smwb = b ? b : 1;
        } else if (fr_str_ieq_c(name, "client_max_window_bits")) {
            int b = val.buf ? fr__ws_bits(val) : -1;
            if (o->cmwb || b == 0 || (response && b < 0)) o->ok = 0;
            o->cmwb = b ? b : 1;
        } else {
            o->ok = 0;
        }
    }
    return 1;
}

/* Split a header value into extension elements (',' outside quotes). */
static int fr__ws_next_ext(fr_str *rest, fr_str *ext) {
    const char *p = rest->buf, *e = rest->buf + rest->len, *s;
    int inq = 0;
    while (p < e && (fr__ws_ows(*p) || *p == ',')) p++;
    if (p >= e) return 0;
    s = p;
    while (p < e && (*p != ',' || inq)) {
        if (*p == '"') inq = !inq;
        p++;
    }
    ext->buf = s;
    ext->len = (size_t)(p - s);
    rest->buf = p;
    rest->len = (size_t)(e - p);
    return 1;
}

int fr_ws_deflate_accept(fr_str offers, const fr_ws_deflate *want, fr_ws_deflate *out, fr_buf *resp) {
    fr_str rest = offers, ext;
    int ours = want && want->server_max_window_bits ? want->server_max_window_bits : 15;
    if (ours < 9) ours = 9;
    if (ours > 15) ours = 15;
    if (!offers.buf || !out || !resp) return 0;
    while (fr__ws_next_ext(&rest, &ext)) {
        fr__ws_pmd_offer o;
        int smwb;
        size_t before = resp->len;
        if (!fr__ws_pmd_parse(ext, 0, &o) || !o.ok) continue;
        if (o.smwb == 8) continue; /* zlib has no raw 256-byte window */
        smwb = o.smwb ? FR__MIN(o.smwb, ours) : ours;
        memset(out, 0, sizeof *out);
        out->enabled = 1;
        out->server_max_window_bits = smwb;
        out->client_max_window_bits = o.cmwb > 0 ? o.cmwb : 15;
        out->server_no_context_takeover = o.snct || (want && want->server_no_context_takeover);
        out->client_no_context_takeover = o.cnct;
        out->level = want ? want->level : 0;
        if (fr_buf_append_str(resp, "permessage-deflate") < 0) goto oom;
        if (out->server_no_context_takeover && fr_buf_append_str(resp, "; server_no_context_takeover") < 0)
            goto oom;
        if (out->client_no_context_takeover && fr_buf_append_str(resp, "; client_no_context_takeover") < 0)
            goto oom;
        if ((o.smwb || smwb < 15) && fr_buf_printf(resp, "; server_max_window_bits=%d", smwb) < 0) goto oom;
        return 1;
    oom:
        resp->len = before;
        return -1;
    }
    return 0;
}

int fr_ws_deflate_response(fr_str value, fr_ws_deflate *out) {
    fr_str rest = value, ext;
    fr__ws_pmd_offer o;
    if (!value.buf || !out || !fr__ws_next_ext(&rest, &ext)) return -1;
    if (!fr__ws_pmd_parse(ext, 1, &o) || !o.ok) return -1;
    if (fr__ws_next_ext(&rest, &ext)) return -1; /* one extension only */
    memset(out, 0, sizeof *out);
    out->enabled = 1;
    out->server_max_window_bits = o.smwb ? o.smwb : 15;
    out->client_max_window_bits = o.cmwb > 0 ? o.cmwb : 15;
    out->server_no_context_takeover = o.snct;
    out->client_no_context_takeover = o.cnct;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* codec                                                                     */

enum { FR__WSR_HEAD = 0, FR__WSR_PAYLOAD, FR__WSR_DONE, FR__WSR_FAILED };

struct fr_ws_codec {
    int client;
    uint64_t max_message, max_frame;
    fr_ws_deflate dfl;
    /* read side */
    int rstate;
    fr_ws_frame f;
    uint64_t left, fpos;
    int msg_op, msg_z;      /* message being assembled (0 = none); compressed */
    uint64_t msg_wire;      /* payload bytes of the message received so far */
    fr_buf msg;
    uint32_t utf8;
    char ctl[125];
    size_t ctl_len;
    fr_ws_event fail;
    /* write side */
    int w_in_msg, w_z;
    fr_buf zbuf;
    uint32_t rng;
#if FR_ENABLE_ZLIB
    int inf_ok, def_ok;
    z_stream inf, def;
#endif
};

fr_ws_codec *fr_ws_codec_new(const fr_ws_codec_config *cfg) {
    fr_ws_codec *c;
    fr_ws_codec_config d;
    if (!cfg) {
        memset(&d, 0, sizeof d);
        cfg = &d;
    }
#if !FR_ENABLE_ZLIB
    if (cfg->deflate.enabled) return NULL;
#endif
    c = (fr_ws_codec *)FR_MALLOC(sizeof *c);
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    c->client = cfg->client != 0;
    c->max_message = cfg->max_message ? cfg->max_message : FR_WS_MAX_MESSAGE;
    c->max_frame = cfg->max_frame ? cfg->max_frame : c->max_message;
    c->dfl = cfg->deflate;
    c->rng = (uint32_t)(uintptr_t)c ^ (uint32_t)time(NULL) ^ 0x9e3779b9u;
    if (!c->rng) c->rng = 1;
#if FR_ENABLE_ZLIB
    if (c->dfl.enabled) {
        int ours = c->client ? c->dfl.client_max_window_bits : c->dfl.server_max_window_bits;
        int level = c->dfl.level > 0 && c->dfl.level <= 9 ? c->dfl.level : 6;
        if (ours <= 0 || ours > 15) ours = 15;
        if (ours < 9) ours = 9;
        if (inflateInit2(&c->inf, -15) != Z_OK) goto fail;
        c->inf_ok = 1;
        if (deflateInit2(&c->def, level, Z_DEFLATED, -ours, ours < 15 ? 7 : 8, Z_DEFAULT_STRATEGY) != Z_OK)
            goto fail;
        c->def_ok = 1;
    }
#endif
    return c;
#if FR_ENABLE_ZLIB
fail:
    fr_ws_codec_free(c);
    return NULL;
#endif
}

void fr_ws_codec_free(fr_ws_codec *c) {
    if (!c) return;
#if FR_ENABLE_ZLIB
    if (c->inf_ok) inflateEnd(&c->inf);
    if (c->def_ok) deflateEnd(&c->def);
#endif
    fr_buf_free(&c->msg);
    fr_buf_free(&c->zbuf);
    FR_FREE(c);
}

static int fr__wsr_fail(fr_ws_codec *c, fr_ws_event *ev, int code, const char *msg) {
    c->rstate = FR__WSR_FAILED;
    c->fail.opcode = FR_WS_CLOSE;
    c->fail.data = msg;
    c->fail.len = strlen(msg);
    c->fail.code = code;
    c->fail.msg = msg;
    *ev = c->fail;
    return -1;
}

#if FR_ENABLE_ZLIB
/* Inflate n bytes into c->msg (bounded by max_message), checking UTF-8 of
 * what comes out for text. 0 or -1 (failed, *ev set). */
static int fr__wsr_inflate(fr_ws_codec *c, const void *in, size_t n, fr_ws_event *ev) {
    z_stream *z = &c->inf;
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)n;
    for (;;) {
        size_t room, got;
        int rc;
        if (c->msg.cap - c->msg.len < 256) {
            /* doubling, but never much past max_message + 1 */
            uint64_t grow = c->msg.cap < 4096 ? 4096 : c->msg.cap, most = c->max_message + 1 - c->msg.len + 256;
            if (fr_buf_reserve(&c->msg, (size_t)(grow < most ? grow : most)) < 0)
                return fr__wsr_fail(c, ev, FR_WS_CLOSE_TOO_BIG, "message too big");
        }
        room = c->msg.cap - c->msg.len;
        if (room > c->max_message + 1 - c->msg.len) room = (size_t)(c->max_message + 1 - c->msg.len);
        if (room > (size_t)UINT_MAX) room = UINT_MAX;
        z->next_out = (Bytef *)(c->msg.buf + c->msg.len);
        z->avail_out = (uInt)room;
        rc = inflate(z, Z_SYNC_FLUSH);
        got = room - z->avail_out;
        if (got && c->msg_op == FR_WS_TEXT && fr_utf8_feed(&c->utf8, c->msg.buf + c->msg.len, got, NULL) < 0)
            return fr__wsr_fail(c, ev, FR_WS_CLOSE_INVALID_DATA, "invalid UTF-8");
        c->msg.len += got;
        if (c->msg.len > c->max_message) return fr__wsr_fail(c, ev, FR_WS_CLOSE_TOO_BIG, "message too big");
        if (rc == Z_STREAM_END) {
            inflateReset(z); /* a final block: the next data starts a new stream */
            if (z->avail_in == 0) return 0;
            continue;
        }
        if (rc == Z_BUF_ERROR) {
            if (z->avail_in == 0 && z->avail_out != 0) return 0;
            if (z->avail_out == 0) continue;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "invalid compressed data");
        if (z->avail_in == 0 && z->avail_out != 0) return 0;
    }
}
#endif

/* Payload bytes of a data frame: into the message (or inflater). */
static int fr__wsr_data(fr_ws_codec *c, const char *p, size_t n, fr_ws_event *ev) {
#if FR_ENABLE_ZLIB
    if (c->msg_z) return fr__wsr_inflate(c, p, n, ev);
#endif
    if (c->msg_op == FR_WS_TEXT && fr_utf8_feed(&c->utf8, p, n, NULL) < 0)
        return fr__wsr_fail(c, ev, FR_WS_CLOSE_INVALID_DATA, "invalid UTF-8");
    if (fr_buf_append(&c->msg, p, n) < 0) return fr__wsr_fail(c, ev, FR_WS_CLOSE_TOO_BIG, "message too big");
    return 0;
}

/* A control frame is complete: report it. */
static int fr__wsr_control(fr_ws_codec *c, fr_ws_event *ev) {
    memset(ev, 0, sizeof *ev);
    ev->opcode = c->f.opcode;
    ev->data = c->ctl;
    ev->len = c->ctl_len;
    if (c->f.opcode != FR_WS_CLOSE) return 1;
    ev->code = FR_WS_CLOSE_NO_STATUS;
    if (c->ctl_len == 1) return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "close frame of 1 byte");
    if (c->ctl_len >= 2) {
        uint32_t st = 0;
        int code = (uint8_t)c->ctl[0] << 8 | (uint8_t)c->ctl[1];
        if (!fr_ws_close_code_valid(code)) return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "invalid close code");
        if (fr_utf8_feed(&st, c->ctl + 2, c->ctl_len - 2, NULL) < 0 || !fr_utf8_complete(st))
            return fr__wsr_fail(c, ev, FR_WS_CLOSE_INVALID_DATA, "invalid UTF-8 in close reason");
        ev->code = code;
        ev->data = c->ctl + 2;
        ev->len = c->ctl_len - 2;
    }
    c->rstate = FR__WSR_DONE;
    return 1;
}

/* The last frame of a data message is complete: report the message. */
static int fr__wsr_message(fr_ws_codec *c, fr_ws_event *ev) {
#if FR_ENABLE_ZLIB
    if (c->msg_z) {
        static const char tail[4] = {0, 0, '\xff', '\xff'};
        if (fr__wsr_inflate(c, tail, 4, ev) < 0) return -1;
    }
#endif
    if (c->msg_op == FR_WS_TEXT && !fr_utf8_complete(c->utf8))
        return fr__wsr_fail(c, ev, FR_WS_CLOSE_INVALID_DATA, "invalid UTF-8");
    memset(ev, 0, sizeof *ev);
    ev->opcode = c->msg_op;
    ev->data = c->msg.buf ? c->msg.buf : "";
    ev->len = c->msg.len;
    c->msg_op = 0;
    return 1;
}

/* Check a frame head just parsed. 0 or -1. */
static int fr__wsr_check(fr_ws_codec *c, fr_ws_event *ev) {
    const fr_ws_frame *f = &c->f;
    int control = f->opcode >= 8;
    if (f->rsv & 3) return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set");
    if ((f->rsv & 4) && (!c->dfl.enabled || control || f->opcode == FR_WS_CONT))
        return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "reserved bits set");
    if ((f->opcode > 2 && f->opcode < 8) || f->opcode > 10)
        return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "reserved opcode");
    if (f->masked == c->client)
        return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, c->client ? "masked frame" : "unmasked frame");
    if (control) {
        if (!f->fin) return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame");
        if (f->len > 125) return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "control frame too long");
        return 0;
    }
    if (f->opcode == FR_WS_CONT && !c->msg_op)
        return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "continuation without a message");
    if (f->opcode != FR_WS_CONT && c->msg_op)
        return fr__wsr_fail(c, ev, FR_WS_CLOSE_PROTOCOL_ERROR, "new message inside a fragmented one");
    if (f->len > c->max_frame) return fr__wsr_fail(c, ev, FR_WS_CLOSE_TOO_BIG, "frame too big");
    if (f->opcode != FR_WS_CONT) {
        c->msg_op = f->opcode;
        c->msg_z = (f->rsv & 4) != 0;
        c->msg_wire = 0;
        c->msg.len = 0;
        c->utf8 = 0;
        if (c->msg.cap > 65536) fr_buf_free(&c->msg); /* an idle socket keeps no big buffer */
    }
    /* compressed payload is bounded too (empty deflate blocks cost CPU) */
    if (c->msg_wire + f->len > (c->msg_z ? c->max_message + c->max_message / 2 + 1024 : c->max_message))
        return fr__wsr_fail(c, ev, FR_WS_CLOSE_TOO_BIG, "message too big");
    c->msg_wire += f->len;
    return 0;
}

int fr_ws_codec_read(fr_ws_codec *c, void *data, size_t len, size_t *used, fr_ws_event *ev) {
    char *p = (char *)data;
    size_t pos = 0;
    fr_ws_event dummy;
    if (!ev) ev = &dummy;
    *used = 0;
    if (c->rstate == FR__WSR_FAILED) {
        *ev = c->fail;
        return -1;
    }
    if (c->rstate == FR__WSR_DONE) {
        *used = len;
        return 0;
    }
    for (;;) {
        if (c->rstate == FR__WSR_HEAD) {
            fr_err err;
            int h = fr_ws_parse_frame(p + pos, len - pos, &c->f, &err);
            if (h == -2) break;
            if (h < 0) {
                *used = pos;
                return fr__wsr_fail(c, ev, err.code, err.msg);
            }
            pos += (size_t)h;
            if (fr__wsr_check(c, ev) < 0) {
                *used = pos;
                return -1;
            }
            c->left = c->f.len;
            c->fpos = 0;
            c->ctl_len = 0;
            /* a whole unfragmented uncompressed frame: no copy */
            if (c->f.opcode < 8 && c->f.fin && c->f.opcode != FR_WS_CONT && !c->msg_z && c->f.len <= len - pos) {
                size_t n = (size_t)c->f.len;
                if (c->f.masked) fr_ws_mask(p + pos, n, c->f.mask, 0);
                if (c->msg_op == FR_WS_TEXT) {
                    uint32_t st = 0;
                    if (fr_utf8_feed(&st, p + pos, n, NULL) < 0 || !fr_utf8_complete(st)) {
                        *used = pos;
                        return fr__wsr_fail(c, ev, FR_WS_CLOSE_INVALID_DATA, "invalid UTF-8");
                    }
                }
                memset(ev, 0, sizeof *ev);
                ev->opcode = c->msg_op;
                ev->data = p + pos;
                ev->len = n;
                c->msg_op = 0;
                *used = pos + n;
                return 1;
            }
            c->rstate = FR__WSR_PAYLOAD;
        }
        /* FR__WSR_PAYLOAD */
        {
            size_t n = c->left < (uint64_t)(len - pos) ? (size_t)c->left : len - pos;
            if (n) {
                if (c->f.masked) fr_ws_mask(p + pos, n, c->f.mask, c->fpos);
                if (c->f.opcode >= 8) {
                    memcpy(c->ctl + c->ctl_len, p + pos, n);
                    c->ctl_len += n;
                } else if (fr__wsr_data(c, p + pos, n, ev) < 0) {
                    *used = pos;
                    return -1;
                }
                pos += n;
                c->left -= n;
                c->fpos += n;
            }
            if (c->left) break;
            c->rstate = FR__WSR_HEAD;
            *used = pos;
            if (c->f.opcode >= 8) return fr__wsr_control(c, ev);
            if (c->f.fin) return fr__wsr_message(c, ev);
        }
    }
    *used = pos;
    return 0;
}

static void fr__ws_random_mask(fr_ws_codec *c, uint8_t m[4]) {
    uint32_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c->rng = x;
    memcpy(m, &x, 4);
}

/* Append head + payload, masked on the client side. */
static int fr__ws_put_frame(fr_ws_codec *c, fr_buf *out, int fin, int rsv, int op, const void *data, size_t len) {
    uint8_t head[14], m[4];
    size_t hl, at;
    if (c->client) fr__ws_random_mask(c, m);
    hl = fr_ws_frame_head(head, fin, rsv, op, len, c->client ? m : NULL);
    if (fr_buf_reserve(out, hl + len) < 0) return -1;
    fr_buf_append(out, head, hl);
    at = out->len;
    if (len) fr_buf_append(out, data, len);
    if (c->client) fr_ws_mask(out->buf + at, len, m, 0);
    return 0;
}

#if FR_ENABLE_ZLIB
/* Compress data into c->zbuf (sync flush; the 4-byte tail cut on fin). */
static int fr__ws_deflate(fr_ws_codec *c, const void *data, size_t len, int fin) {
    z_stream *z = &c->def;
    int notake = c->client ? c->dfl.client_no_context_takeover : c->dfl.server_no_context_takeover;
    c->zbuf.len = 0;
    z->next_in = (Bytef *)(uintptr_t)data;
    z->avail_in = (uInt)len;
    for (;;) {
        size_t room;
        int rc;
        if (fr_buf_reserve(&c->zbuf, len / 2 + 64) < 0) return -1;
        room = c->zbuf.cap - c->zbuf.len;
        if (room > (size_t)UINT_MAX) room = UINT_MAX;
        z->next_out = (Bytef *)(c->zbuf.buf + c->zbuf.len);
        z->avail_out = (uInt)room;
        rc = deflate(z, Z_SYNC_FLUSH);
        c->zbuf.len += room - z->avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR) return -1;
        if (z->avail_in == 0 && z->avail_out != 0) break;
    }
    if (fin) {
        if (c->zbuf.len >= 4 && memcmp(c->zbuf.buf + c->zbuf.len - 4, "\0\0\xff\xff", 4) == 0) {
            c->zbuf.len -= 4;
        } else if (c->zbuf.len == 0) {
            /* zlib skips a second flush in a row (no input since the last
             * one): the stream is on a byte boundary, so the empty stored
             * block's header byte completes the tail the reader appends
             * (RFC 7692 7.2.3.6: an empty message is 0x00) */
            c->zbuf.buf[c->zbuf.len++] = 0;
        }
        if (notake) deflateReset(z);
    }
    return 0;
}
#endif

/* A compressed message was written but will never be sent: restart the
 * compressor so later messages do not refer back to its bytes (a fresh
 * window is always valid for the peer: references are optional). */
static void fr__ws_codec_forget(fr_ws_codec *c) {
#if FR_ENABLE_ZLIB
    if (c->def_ok) deflateReset(&c->def);
#else
    (void)c;
#endif
}

int fr_ws_codec_write(fr_ws_codec *c, fr_buf *out, int opcode, int fin, const void *data, size_t len) {
    int rsv = 0;
    if (!c || !out || (len && !data)) return -1;
    if (opcode == FR_WS_PING || opcode == FR_WS_PONG) {
        if (!fin || len > 125) return -1;
        return fr__ws_put_frame(c, out, 1, 0, opcode, data, len);
    }
    if (opcode == FR_WS_TEXT || opcode == FR_WS_BINARY) {
        if (c->w_in_msg) return -1;
        c->w_z = c->dfl.enabled;
        if (c->w_z) rsv = 4;
    } else if (opcode == FR_WS_CONT) {
        if (!c->w_in_msg) return -1;
    } else {
        return -1;
    }
#if FR_ENABLE_ZLIB
    if (c->w_z) {
        if (fr__ws_deflate(c, data, len, fin) < 0) return -1;
        data = c->zbuf.buf;
        len = c->zbuf.len;
    }
#endif
    if (fr__ws_put_frame(c, out, fin, rsv, opcode, data, len) < 0) return -1;
    c->w_in_msg = !fin;
    if (c->zbuf.cap > 65536) fr_buf_free(&c->zbuf);
    return 0;
}

int fr_ws_codec_write_close(fr_ws_codec *c, fr_buf *out, int code, const char *reason, size_t len) {
    char p[125];
    uint32_t st = 0;
    if (!c || !out) return -1;
    if (code == 0) return fr__ws_put_frame(c, out, 1, 0, FR_WS_CLOSE, NULL, 0);
    if (!fr_ws_close_code_valid(code) || len > 123 || (len && !reason)) return -1;
    if (len && (fr_utf8_feed(&st, reason, len, NULL) < 0 || !fr_utf8_complete(st))) return -1;
    p[0] = (char)(code >> 8);
    p[1] = (char)code;
    if (len) memcpy(p + 2, reason, len);
    return fr__ws_put_frame(c, out, 1, 0, FR_WS_CLOSE, p, len + 2);
}

/* ------------------------------------------------------------------------ */
/* connections                                                               */

enum { FR__WS_GO = 0, FR__WS_STOP = 1 };

struct fr_ws {
    pthread_mutex_t mu;
    fr_ws_codec *codec;
    fr_ws_config cfg;
    void *ud;
    fr_req *req;      /* under mu; NULL once the request is finished */
    fr_req *req_view; /* loop thread: fr_ws_request until on_close */
    int refs;         /* under mu */
    /* under mu; close_sent is atomic too: the loop reads it for every
     * message without the lock (a sender may hold that through an inline
     * write's send call) */
    fr__atomic_int close_sent;
    int gone, want_drain;
    int ended;        /* fr__srv_ws_end was called: req's on_done frees the ws */
    int64_t close_sent_at;
    /* loop thread */
    int opened, close_rcvd, failed, ping_out;
    int close_code;
    char reason[124];
    size_t reason_len;
    int64_t last_rx, ping_at;
    uint8_t hold[14];
    size_t nhold;
    fr_done_fn prev_done;
    void *prev_done_ud;
    fr_buf fbuf;   /* frames built under mu (compressed, close, ping) */
    char ext[96];  /* negotiated Sec-WebSocket-Extensions */
    size_t ext_len;
};

static int64_t fr__ws_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fr__ws_free(fr_ws *ws) {
    fr_ws_codec_free(ws->codec);
    fr_buf_free(&ws->fbuf);
    pthread_mutex_destroy(&ws->mu);
    FR_FREE(ws);
}

/* The upgrade request is finished (its on_done). */
FR__PRIV void fr__ws_req_done(fr_req *req, int ok, void *ud) {
    fr_ws *ws = (fr_ws *)ud;
    int free_now;
    if (ws->prev_done) ws->prev_done(req, ok, ws->prev_done_ud);
    pthread_mutex_lock(&ws->mu);
    ws->req = NULL;
    free_now = ws->refs == 0;
    pthread_mutex_unlock(&ws->mu);
    if (free_now) fr__ws_free(ws);
}

void fr_ws_retain(fr_ws *ws) {
    if (!ws) return;
    pthread_mutex_lock(&ws->mu);
    ws->refs++;
    pthread_mutex_unlock(&ws->mu);
}

/* Drop a reference (mu held on entry, released here). The request is let go
 * when the connection is gone or the last reference goes; the ws is freed by
 * the request's on_done, or here when that came first. */
static void fr__ws_unref_locked(fr_ws *ws) {
    fr_req *req = ws->req;
    int end_now, free_now;
    ws->refs--;
    end_now = req && !ws->ended && (ws->gone || ws->refs == 0);
    if (end_now) ws->ended = 1;
    free_now = !req && ws->refs == 0;
    pthread_mutex_unlock(&ws->mu);
    if (end_now) fr__srv_ws_end(req); /* ws may be freed from here on (its on_done) */
    else if (free_now) fr__ws_free(ws);
}

void fr_ws_release(fr_ws *ws) {
    if (!ws) return;
    pthread_mutex_lock(&ws->mu);
    fr__ws_unref_locked(ws);
}

void fr_ws_set_userdata(fr_ws *ws, void *ud) {
    if (ws) ws->ud = ud;
}
void *fr_ws_userdata(const fr_ws *ws) { return ws ? ws->ud : NULL; }
fr_req *fr_ws_request(const fr_ws *ws) { return ws ? ws->req_view : NULL; }

fr_str fr_ws_extensions(const fr_ws *ws) {
    fr_str s = {"", 0};
    if (ws) {
        s.buf = ws->ext;
        s.len = ws->ext_len;
    }
    return s;
}

size_t fr_ws_buffered(const fr_ws *ws) {
    fr_ws *w = (fr_ws *)(uintptr_t)ws;
    size_t n = 0;
    if (!ws) return 0;
    pthread_mutex_lock(&w->mu);
    if (w->req && !w->gone) n = fr__srv_ws_queued(w->req);
    pthread_mutex_unlock(&w->mu);
    return n;
}

int fr_ws_is_open(const fr_ws *ws) {
    fr_ws *w = (fr_ws *)(uintptr_t)ws;
    int open;
    if (!ws) return 0;
    pthread_mutex_lock(&w->mu);
    open = w->req && !w->gone && !fr__atomic_load(&w->close_sent);
    pthread_mutex_unlock(&w->mu);
    return open;
}

static size_t fr__ws_limit(const fr_ws *ws) {
    return ws->cfg.max_send_queue ? ws->cfg.max_send_queue : FR_WS_MAX_SEND_QUEUE;
}

/* Queue one frame; mu held. `head` is a prebuilt unmasked head for the
 * uncompressed case (NULL: build it). force: ignore the queue limit. */
static int fr__ws_send_locked(fr_ws *ws, int op, const void *data, size_t len, const uint8_t *head, size_t hl,
                              int force) {
    uint8_t h[14];
    int r;
    if (!ws->req || ws->gone || fr__atomic_load(&ws->close_sent)) return FR_WS_ECLOSED;
    if (op <= FR_WS_BINARY && ws->cfg.deflate && ws->ext_len) {
        /* compressed: the limit applies to what goes on the wire */
        ws->fbuf.len = 0;
        if (fr_ws_codec_write(ws->codec, &ws->fbuf, op, 1, data, len) < 0) return FR_WS_ECLOSED;
        r = fr__srv_ws_queue(ws->req, ws->fbuf.buf, ws->fbuf.len, NULL, 0, force ? 0 : fr__ws_limit(ws));
        if (r == -2) fr__ws_codec_forget(ws->codec);
        if (ws->fbuf.cap > 65536) fr_buf_free(&ws->fbuf);
    } else {
        if (!head) {
            hl = fr_ws_frame_head(h, 1, 0, op, len, NULL);
            head = h;
        }
        r = fr__srv_ws_queue(ws->req, head, hl, data, len, force ? 0 : fr__ws_limit(ws));
    }
    if (r == -2) {
        ws->want_drain = 1;
        return FR_WS_EFULL;
    }
    return r < 0 ? FR_WS_ECLOSED : FR_WS_OK;
}

static int fr__ws_text_ok(int op, const void *data, size_t len) {
    uint32_t st = 0;
    if (op == FR_WS_TEXT) return fr_utf8_feed(&st, data, len, NULL) == 0 && fr_utf8_complete(st);
    return op == FR_WS_BINARY;
}

int fr_ws_send(fr_ws *ws, int opcode, const void *data, size_t len) {
    int r;
    if (!ws || (len && !data) || !fr__ws_text_ok(opcode, data, len)) return FR_WS_EINVAL;
    pthread_mutex_lock(&ws->mu);
    r = fr__ws_send_locked(ws, opcode, data, len, NULL, 0, 0);
    pthread_mutex_unlock(&ws->mu);
    return r;
}

int fr_ws_send_text(fr_ws *ws, const char *text, size_t len) { return fr_ws_send(ws, FR_WS_TEXT, text, len); }
int fr_ws_send_binary(fr_ws *ws, const void *data, size_t len) { return fr_ws_send(ws, FR_WS_BINARY, data, len); }

int fr_ws_ping(fr_ws *ws, const void *data, size_t len) {
    int r;
    if (!ws || len > 125 || (len && !data)) return FR_WS_EINVAL;
    pthread_mutex_lock(&ws->mu);
    r = fr__ws_send_locked(ws, FR_WS_PING, data, len, NULL, 0, 1);
    pthread_mutex_unlock(&ws->mu);
    return r;
}

int fr_ws_broadcast(fr_ws *const *list, size_t n, int opcode, const void *data, size_t len) {
    uint8_t head[14];
    size_t hl, i;
    int sent = 0;
    if ((n && !list) || (len && !data) || !fr__ws_text_ok(opcode, data, len)) return FR_WS_EINVAL;
    hl = fr_ws_frame_head(head, 1, 0, opcode, len, NULL);
    for (i = 0; i < n; i++) {
        fr_ws *ws = list[i];
        if (!ws) continue;
        pthread_mutex_lock(&ws->mu);
        if (fr__ws_send_locked(ws, opcode, data, len, head, hl, 0) == FR_WS_OK) sent++;
        pthread_mutex_unlock(&ws->mu);
    }
    return sent;
}

/* Queue our close frame; mu held. */
static int fr__ws_close_locked(fr_ws *ws, int code, const char *reason, size_t len) {
    int r;
    if (!ws->req || ws->gone || fr__atomic_load(&ws->close_sent)) return FR_WS_ECLOSED;
    ws->fbuf.len = 0;
    if (fr_ws_codec_write_close(ws->codec, &ws->fbuf, code, reason, len) < 0) return FR_WS_EINVAL;
    r = fr__srv_ws_queue(ws->req, ws->fbuf.buf, ws->fbuf.len, NULL, 0, 0);
    fr__atomic_store(&ws->close_sent, 1);
    ws->close_sent_at = fr__ws_now();
    return r < 0 ? FR_WS_ECLOSED : FR_WS_OK;
}

int fr_ws_close(fr_ws *ws, int code, const char *reason, size_t len) {
    uint32_t st = 0;
    int r;
    if (!ws || (code != 0 && !fr_ws_close_code_valid(code)) || len > 123 || (len && !reason) ||
        (code == 0 && len))
        return FR_WS_EINVAL;
    if (len && (fr_utf8_feed(&st, reason, len, NULL) < 0 || !fr_utf8_complete(st))) return FR_WS_EINVAL;
    pthread_mutex_lock(&ws->mu);
    r = fr__ws_close_locked(ws, code, reason, len);
    pthread_mutex_unlock(&ws->mu);
    return r;
}

/* We fail the connection: close frame with code, remembered for on_close. */
static void fr__ws_fail_conn(fr_ws *ws, int code, const char *msg) {
    pthread_mutex_lock(&ws->mu);
    fr__ws_close_locked(ws, code, msg, msg ? strlen(msg) : 0);
    pthread_mutex_unlock(&ws->mu);
    if (!ws->close_rcvd && !ws->failed) {
        ws->failed = 1;
        ws->close_code = code;
        ws->reason_len = msg ? FR__MIN(strlen(msg), sizeof ws->reason - 1) : 0;
        if (ws->reason_len) memcpy(ws->reason, msg, ws->reason_len);
    }
}

/* ---- called by the loop (server.c) ---- */

/* The connection switched to WebSocket framing (loop thread). */
FR__PRIV void fr__ws_opened(fr_ws *ws) {
    ws->opened = 1;
    ws->last_rx = fr__ws_now();
    if (ws->cfg.on_open) ws->cfg.on_open(ws, ws->ud);
}

/* Copy the bytes of an incomplete frame head kept from the last input to
 * buf (room for 14); returns how many. They are given back with the next
 * input, which replaces them. */
FR__PRIV size_t fr__ws_held(fr_ws *ws, char *buf) {
    if (ws->nhold) memcpy(buf, ws->hold, ws->nhold);
    return ws->nhold;
}

static int fr__ws_closing(fr_ws *ws) { return fr__atomic_load(&ws->close_sent); }

/* Bytes from the socket (unmasked in place). FR__WS_STOP once nothing more
 * is to be read (closing handshake done or the peer failed). */
FR__PRIV int fr__ws_input(fr_ws *ws, char *data, size_t len) {
    ws->nhold = 0;
    if (len) {
        ws->last_rx = fr__ws_now();
        ws->ping_out = 0;
    }
    while (len) {
        fr_ws_event ev;
        size_t used = 0;
        int r;
        if (ws->close_rcvd || ws->failed) return FR__WS_STOP;
        r = fr_ws_codec_read(ws->codec, data, len, &used, &ev);
        data += used;
        len -= used;
        if (r == 0) {
            if (len > sizeof ws->hold) len = sizeof ws->hold; /* cannot happen: a head is <= 14 */
            memcpy(ws->hold, data, len);
            ws->nhold = len;
            return FR__WS_GO;
        }
        if (r < 0) {
            fr__ws_fail_conn(ws, ev.code, ev.msg);
            return FR__WS_STOP;
        }
        if (ev.opcode == FR_WS_TEXT || ev.opcode == FR_WS_BINARY) {
            if (ws->cfg.on_message && !fr__ws_closing(ws)) ws->cfg.on_message(ws, ev.opcode, ev.data, ev.len, ws->ud);
        } else if (ev.opcode == FR_WS_PING) {
            pthread_mutex_lock(&ws->mu);
            fr__ws_send_locked(ws, FR_WS_PONG, ev.data, ev.len, NULL, 0, 0); /* skipped when full */
            pthread_mutex_unlock(&ws->mu);
        } else if (ev.opcode == FR_WS_CLOSE) {
            ws->close_rcvd = 1;
            ws->close_code = ev.code;
            ws->reason_len = FR__MIN(ev.len, sizeof ws->reason - 1);
            memcpy(ws->reason, ev.data, ws->reason_len);
            pthread_mutex_lock(&ws->mu);
            if (ev.code == FR_WS_CLOSE_NO_STATUS) fr__ws_close_locked(ws, 0, NULL, 0);
            else fr__ws_close_locked(ws, ev.code, ev.data, ev.len);
            pthread_mutex_unlock(&ws->mu);
            return FR__WS_STOP;
        }
    }
    return ws->close_rcvd || ws->failed ? FR__WS_STOP : FR__WS_GO;
}

/* 1 when TCP should be closed once the queued output is written. */
FR__PRIV int fr__ws_finished(fr_ws *ws) {
    return ws->close_rcvd || ws->failed;
}

/* 1 while the send queue is over its limit: stop reading this peer. */
FR__PRIV int fr__ws_paused(fr_ws *ws, size_t queued) { return queued > fr__ws_limit(ws); }

/* After a write: on_drain once the queue is down to half after EFULL.
 * 1 when on_drain ran (it may have queued more). */
FR__PRIV int fr__ws_drained(fr_ws *ws, size_t queued) {
    int call = 0;
    pthread_mutex_lock(&ws->mu);
    if (ws->want_drain && queued <= fr__ws_limit(ws) / 2 && !ws->gone) {
        ws->want_drain = 0;
        call = 1;
    }
    pthread_mutex_unlock(&ws->mu);
    if (call && ws->cfg.on_drain) ws->cfg.on_drain(ws, ws->ud);
    return call;
}

/* Timer (loop thread). 0: nothing, 1: something was queued, 2: drop TCP. */
FR__PRIV int fr__ws_tick(fr_ws *ws, int64_t now) {
    int interval = ws->cfg.ping_interval_ms ? ws->cfg.ping_interval_ms : FR_WS_PING_INTERVAL_MS;
    int ctimeout = ws->cfg.close_timeout_ms > 0 ? ws->cfg.close_timeout_ms : FR_WS_CLOSE_TIMEOUT_MS;
    int r = 0, sent;
    int64_t sent_at;
    pthread_mutex_lock(&ws->mu);
    sent = fr__atomic_load(&ws->close_sent);
    sent_at = ws->close_sent_at;
    pthread_mutex_unlock(&ws->mu);
    if (sent) return now - sent_at >= ctimeout ? 2 : 0;
    if (interval <= 0) return 0;
    if (ws->ping_out && now - ws->ping_at >= interval) {
        fr__ws_fail_conn(ws, FR_WS_CLOSE_INTERNAL, "keepalive ping timeout");
        return 1;
    }
    if (!ws->ping_out && now - ws->last_rx >= interval) {
        pthread_mutex_lock(&ws->mu);
        if (fr__ws_send_locked(ws, FR_WS_PING, "fastrapi", 8, NULL, 0, 1) == FR_WS_OK) r = 1;
        pthread_mutex_unlock(&ws->mu);
        ws->ping_out = 1;
        ws->ping_at = now;
    }
    return r;
}

/* Graceful stop: 1001 to the peer (loop thread). */
FR__PRIV void fr__ws_going_away(fr_ws *ws) {
    pthread_mutex_lock(&ws->mu);
    fr__ws_close_locked(ws, FR_WS_CLOSE_GOING_AWAY, NULL, 0);
    pthread_mutex_unlock(&ws->mu);
}

/* TCP is gone or about to be (loop thread): on_close once, then the
 * connection's reference goes. */
FR__PRIV void fr__ws_gone(fr_ws *ws) {
    int code;
    fr_str reason = {"", 0};
    pthread_mutex_lock(&ws->mu);
    if (ws->gone) {
        pthread_mutex_unlock(&ws->mu);
        return;
    }
    ws->gone = 1;
    pthread_mutex_unlock(&ws->mu);
    if (ws->close_rcvd || ws->failed) {
        code = ws->close_code;
        reason.buf = ws->reason;
        reason.len = ws->reason_len;
    } else {
        code = FR_WS_CLOSE_ABNORMAL;
    }
    if (ws->cfg.on_close) ws->cfg.on_close(ws, code, reason, ws->ud);
    ws->req_view = NULL;
    pthread_mutex_lock(&ws->mu);
    fr__ws_unref_locked(ws); /* the connection's reference; the request goes now */
}

/* ---- accepting ---- */

static int fr__ws_answer(fr_req *req, int status, const char *msg) {
    fr_buf b = {NULL, 0, 0};
    fr_res_header(req, "connection", "close"); /* the client meant to leave HTTP */
    if (status == 426) {
        fr_res_header(req, "upgrade", "websocket");
        fr_res_header(req, "sec-websocket-version", "13");
    }
    if (fr_error_detail(&b, fr_str_c(msg)) < 0) {
        fr_buf_free(&b);
        return fr_res_json(req, status, "{\"detail\":\"error\"}", 18);
    }
    fr_res_json(req, status, b.buf, b.len);
    fr_buf_free(&b);
    return FR_DONE;
}

/* permessage-deflate: the first acceptable offer over all header fields. */
static void fr__ws_negotiate(fr_req *req, const fr_ws_config *cfg, fr_ws_deflate *dfl, fr_buf *resp) {
    size_t i, n = fr_req_num_headers(req);
    fr_ws_deflate want;
    memset(dfl, 0, sizeof *dfl);
    if (!cfg->deflate || !FR_ENABLE_ZLIB) return;
    memset(&want, 0, sizeof want);
    want.server_max_window_bits = cfg->deflate_window_bits;
    want.server_no_context_takeover = cfg->deflate_no_context_takeover;
    want.level = cfg->deflate_level;
    for (i = 0; i < n; i++) {
        fr_str hn, hv;
        fr_req_header_at(req, i, &hn, &hv);
        if (!fr_str_ieq_c(hn, "sec-websocket-extensions")) continue;
        if (fr_ws_deflate_accept(hv, &want, dfl, resp) != 0) return;
    }
}

/* The handshake check on req's own header list; answers req on failure. */
static int fr__ws_check(fr_req *req, fr_ws_handshake *hs) {
    size_t i, n = fr_req_num_headers(req);
    fr_err err;
    fr_header *all = (fr_header *)fr_arena_alloc(fr_req_arena(req), (n ? n : 1) * sizeof *all);
    if (!all) {
        fr__ws_answer(req, 500, "Internal Server Error");
        return -1;
    }
    for (i = 0; i < n; i++) fr_req_header_at(req, i, &all[i].name, &all[i].value);
    if (fr_ws_check_request(fr_req_method(req), fr_req_http_minor(req), all, n, hs, &err) < 0) {
        fr__ws_answer(req, err.code, err.msg);
        return -1;
    }
    return 0;
}

int fr_ws_check(fr_req *req) {
    fr_ws_handshake hs;
    if (!req) return -1;
    return fr__ws_check(req, &hs);
}

fr_ws *fr_ws_accept(fr_req *req, const fr_ws_config *cfg) {
    static const fr_ws_config defaults = FR__ZERO_INIT;
    fr_ws_handshake hs;
    fr_header extra[5];
    size_t nextra = 0;
    char accept[29];
    fr_ws_codec_config cc;
    fr_buf ext = {NULL, 0, 0};
    fr_ws *ws;
    int rc;
    if (!req) return NULL;
    if (!cfg) cfg = &defaults;
    if (fr__ws_check(req, &hs) < 0) return NULL;
    if (fr_req_sink(req)) {
        fr__ws_answer(req, 501, "WebSocket upgrade needs a socket");
        return NULL;
    }
    fr_ws_accept_key(hs.key, accept);
    ws = (fr_ws *)FR_MALLOC(sizeof *ws);
    if (!ws) goto oom;
    memset((void *)ws, 0, sizeof *ws);
    if (pthread_mutex_init(&ws->mu, NULL) != 0) {
        FR_FREE(ws);
        goto oom;
    }
    ws->cfg = *cfg;
    ws->ud = cfg->userdata;
    ws->refs = 1; /* the connection's */
    ws->req = ws->req_view = req;
    memset(&cc, 0, sizeof cc);
    cc.max_message = cfg->max_message;
    cc.max_frame = cfg->max_frame;
    fr__ws_negotiate(req, cfg, &cc.deflate, &ext);
    if (ext.len >= sizeof ws->ext) { /* cannot happen: the longest answer is ~90 bytes */
        ext.len = 0;
        cc.deflate.enabled = 0;
    }
    if (ext.len) memcpy(ws->ext, ext.buf, ext.len);
    ws->ext_len = ext.len;
    fr_buf_free(&ext);
    ws->codec = fr_ws_codec_new(&cc);
    if (!ws->codec) {
        fr__ws_free(ws);
        goto oom;
    }
    extra[nextra].name = FR_STR("upgrade");
    extra[nextra++].value = FR_STR("websocket");
    extra[nextra].name = FR_STR("connection");
    extra[nextra++].value = FR_STR("Upgrade");
    extra[nextra].name = FR_STR("sec-websocket-accept");
    extra[nextra].value.buf = accept;
    extra[nextra++].value.len = 28;
    if (cfg->subprotocol && cfg->subprotocol[0]) {
        extra[nextra].name = FR_STR("sec-websocket-protocol");
        extra[nextra++].value = fr_str_c(cfg->subprotocol);
    }
    if (ws->ext_len) {
        extra[nextra].name = FR_STR("sec-websocket-extensions");
        extra[nextra].value.buf = ws->ext;
        extra[nextra++].value.len = ws->ext_len;
    }
    rc = fr__srv_ws_begin(req, ws, extra, nextra, fr__ws_req_done, &ws->prev_done, &ws->prev_done_ud);
    if (rc < 0) {
        fr__ws_free(ws);
        if (rc == -2) fr_res_send(req); /* the client is gone: release the request */
        return NULL;                    /* -1: already answered or streaming */
    }
    return ws;
oom:
    fr__ws_answer(req, 500, "Internal Server Error");
    return NULL;
}

static int fr__ws_route_handler(fr_req *req, void *ud) {
    fr_ws_accept(req, (const fr_ws_config *)ud);
    return FR_DONE;
}

int fr_ws_route(fr_app *app, const char *pattern, const fr_ws_config *cfg) {
    return fr_route(app, "GET", pattern, fr__ws_route_handler, (void *)(uintptr_t)cfg);
}
