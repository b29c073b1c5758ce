/* libFuzzer harness for the WebSocket code (src/ws.c): frame heads, the
 * codec's read side (server and client roles, with and without
 * permessage-deflate, input cut anywhere), the write side's round trip,
 * permessage-deflate negotiation and incremental UTF-8.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DFR_ENABLE_ZLIB=1 -I. fuzz/fuzz_ws.c -lz
 *
 * FUZZ_FLAGS: -DFR_ENABLE_ZLIB=1 -lz
 *
 * The first byte picks the codec: bit 0 client role, bit 1 deflate, bits
 * 2-3 the window bits, bit 4 no_context_takeover, bit 5 a small
 * max_message (1000 bytes); the second byte how the rest is cut. For every
 * input:
 *  - reading the rest whole and reading it in pieces give the same events
 *    and the same verdict (a failure's close code);
 *  - every event is sane: text is valid UTF-8, control payloads <= 125,
 *    close codes valid (or 1005), messages <= max_message;
 *  - a frame head that parses re-encodes to the same bytes (minimal
 *    lengths only);
 *  - the rest, sent as a binary message (cut into fragments) by the other
 *    side's writer, reads back identical;
 *  - as a Sec-WebSocket-Extensions value: an accepted offer's answer is
 *    accepted by the client side with the same parameters;
 *  - UTF-8 validation split at any point agrees with the whole. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_ASSERT(c)                                                                 \
    do {                                                                             \
        if (!(c)) {                                                                  \
            fprintf(stderr, "fuzz_ws: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                 \
        }                                                                            \
    } while (0)

typedef struct summary {
    uint64_t hash; /* of every event's opcode, code and payload */
    int events, fail_code;
} summary;

static uint64_t mix(uint64_t h, const void *p, size_t n) {
    const uint8_t *s = (const uint8_t *)p;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static void check_event(const fr_ws_event *ev, uint64_t max_message) {
    if (ev->opcode == FR_WS_TEXT) {
        uint32_t st = 0;
        FZ_ASSERT(fr_utf8_feed(&st, ev->data, ev->len, NULL) == 0 && fr_utf8_complete(st));
    }
    if (ev->opcode >= 8) FZ_ASSERT(ev->len <= 125);
    if (ev->opcode == FR_WS_CLOSE) FZ_ASSERT(ev->code == 1005 || fr_ws_close_code_valid(ev->code));
    if (ev->opcode == FR_WS_TEXT || ev->opcode == FR_WS_BINARY) FZ_ASSERT(ev->len <= max_message);
}

/* Read all of data (copied: it is unmasked in place) in pieces of `step`. */
static void read_all(const fr_ws_codec_config *cc, const uint8_t *data, size_t n, size_t step, summary *out) {
    fr_ws_codec *c = fr_ws_codec_new(cc);
    uint8_t *buf = (uint8_t *)malloc(n + 16);
    size_t have = 0, off = 0;
    memset(out, 0, sizeof *out);
    FZ_ASSERT(c && buf);
    if (!step) step = n ? n : 1;
    while (off < n) {
        size_t take = n - off < step ? n - off : step, pos = 0;
        memcpy(buf + have, data + off, take);
        off += take;
        have += take;
        for (;;) {
            fr_ws_event ev;
            size_t used = 0;
            int r = fr_ws_codec_read(c, buf + pos, have - pos, &used, &ev);
            FZ_ASSERT(used <= have - pos);
            pos += used;
            if (r < 0) {
                FZ_ASSERT(ev.code == 1002 || ev.code == 1007 || ev.code == 1009);
                out->fail_code = ev.code;
                goto done;
            }
            if (r == 0) break;
            check_event(&ev, cc->max_message ? cc->max_message : FR_WS_MAX_MESSAGE);
            out->events++;
            out->hash = mix(out->hash, &ev.opcode, sizeof ev.opcode);
            out->hash = mix(out->hash, &ev.code, sizeof ev.code);
            out->hash = mix(out->hash, ev.data, ev.len);
        }
        FZ_ASSERT(have - pos <= 14); /* only an incomplete head is left over */
        memmove(buf, buf + pos, have - pos);
        have -= pos;
    }
done:
    free(buf);
    fr_ws_codec_free(c);
}

static void check_heads(const uint8_t *data, size_t n) {
    fr_ws_frame f;
    fr_err err;
    int h = fr_ws_parse_frame(data, n, &f, &err);
    if (h > 0) {
        uint8_t out[14];
        size_t k = fr_ws_frame_head(out, f.fin, f.rsv, f.opcode, f.len, f.masked ? f.mask : NULL);
        FZ_ASSERT(k == (size_t)h);
        FZ_ASSERT(memcmp(out, data, k) == 0);
    } else if (h == -1) {
        FZ_ASSERT(err.code == 1002);
    } else {
        FZ_ASSERT(h == -2 && n < 14);
    }
}

static void round_trip(const fr_ws_codec_config *reader, const uint8_t *data, size_t n, size_t frag) {
    fr_ws_codec_config wc = *reader;
    fr_ws_codec *w, *r;
    fr_buf b = {NULL, 0, 0};
    size_t off = 0, used;
    fr_ws_event ev;
    int rc, first = 1;
    wc.client = !reader->client;
    w = fr_ws_codec_new(&wc);
    r = fr_ws_codec_new(reader);
    FZ_ASSERT(w && r);
    if (!frag) frag = n ? n : 1;
    do {
        size_t take = n - off < frag ? n - off : frag;
        FZ_ASSERT(fr_ws_codec_write(w, &b, first ? FR_WS_BINARY : FR_WS_CONT, off + take == n, data + off, take) == 0);
        if (first && off + take < n) /* a ping between fragments */
            FZ_ASSERT(fr_ws_codec_write(w, &b, FR_WS_PING, 1, "p", 1) == 0);
        first = 0;
        off += take;
    } while (off < n);
    rc = fr_ws_codec_read(r, b.buf, b.len, &used, &ev);
    if (n > (reader->max_message ? reader->max_message : FR_WS_MAX_MESSAGE)) {
        FZ_ASSERT(rc == -1 || (rc == 1 && ev.opcode == FR_WS_PING));
    } else {
        if (rc == 1 && ev.opcode == FR_WS_PING) rc = fr_ws_codec_read(r, b.buf + used, b.len - used, &used, &ev);
        FZ_ASSERT(rc == 1 && ev.opcode == FR_WS_BINARY && ev.len == n);
        FZ_ASSERT(n == 0 || memcmp(ev.data, data, n) == 0);
    }
    fr_buf_free(&b);
    fr_ws_codec_free(w);
    fr_ws_codec_free(r);
}

static void negotiation(const uint8_t *data, size_t n) {
    fr_str offer;
    fr_ws_deflate out, back;
    fr_buf resp = {NULL, 0, 0};
    int r;
    offer.buf = (const char *)data;
    offer.len = n;
    r = fr_ws_deflate_accept(offer, NULL, &out, &resp);
    FZ_ASSERT(r == 0 || r == 1);
    if (r == 1) {
        fr_str v;
        v.buf = resp.buf;
        v.len = resp.len;
        FZ_ASSERT(fr_ws_deflate_response(v, &back) == 0);
        FZ_ASSERT(back.server_max_window_bits == out.server_max_window_bits);
        FZ_ASSERT(back.server_no_context_takeover == out.server_no_context_takeover);
        FZ_ASSERT(back.client_no_context_takeover == out.client_no_context_takeover);
        FZ_ASSERT(out.server_max_window_bits >= 9 && out.server_max_window_bits <= 15);
    } else {
        FZ_ASSERT(resp.len == 0);
    }
    fr_buf_free(&resp);
}

static void utf8_split(const uint8_t *data, size_t n, size_t cut) {
    uint32_t a = 0, b = 0;
    size_t pa = 0, pb = 0;
    int ra = fr_utf8_feed(&a, data, n, &pa), rb;
    if (cut > n) cut = n;
    rb = fr_utf8_feed(&b, data, cut, &pb);
    if (rb == 0) {
        rb = fr_utf8_feed(&b, data + cut, n - cut, &pb);
        pb += cut;
    }
    FZ_ASSERT(ra == rb);
    if (ra < 0) FZ_ASSERT(pa == pb);
    else FZ_ASSERT(fr_utf8_complete(a) == fr_utf8_complete(b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int bits[] = {9, 11, 13, 15};
    fr_ws_codec_config cc;
    summary whole, cut;
    uint8_t mode, split;
    if (size < 2) {
        check_heads(data, size);
        return 0;
    }
    mode = data[0];
    split = data[1];
    data += 2;
    size -= 2;
    memset(&cc, 0, sizeof cc);
    cc.client = mode & 1;
    cc.deflate.enabled = FR_ENABLE_ZLIB && (mode & 2);
    cc.deflate.server_max_window_bits = cc.deflate.client_max_window_bits = bits[(mode >> 2) & 3];
    cc.deflate.server_no_context_takeover = cc.deflate.client_no_context_takeover = (mode >> 4) & 1;
    cc.max_message = (mode & 32) ? 1000 : 0;
    check_heads(data, size);
    read_all(&cc, data, size, 0, &whole);
    read_all(&cc, data, size, (size_t)(split % 17) + 1, &cut);
    FZ_ASSERT(whole.fail_code == cut.fail_code);
    FZ_ASSERT(whole.events == cut.events);
    FZ_ASSERT(whole.hash == cut.hash);
    round_trip(&cc, data, size, (size_t)split * 7);
    negotiation(data, size);
    utf8_split(data, size, split);
    return 0;
}
