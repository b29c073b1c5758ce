/* Unit tests for src/ws.c: UTF-8 validation (split anywhere, fail fast),
 * frame heads (minimal lengths), masking, accept keys, the handshake check,
 * permessage-deflate negotiation, the codec (server and client sides, every
 * protocol rule, byte-by-byte input, limits, deflate round trips and bombs)
 * and live upgraded connections over 127.0.0.1 under fr_serve and fr_poll:
 * echo, sends from other threads, broadcast, closing handshake codes, bad
 * handshakes, backpressure and on_drain, keepalive ping timeout, close
 * timeout, graceful stop (1001), frames glued to the handshake, accept from
 * another thread, fr_dispatch refusal.
 * Every socket has a timeout; every wait loop is bounded.
 *
 * FRT_CFLAGS: -DFR_ENABLE_ZLIB=1
 * FRT_LIBS: -lz
 */
#define FRT_NET 1
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_wake_sets */

#include <poll.h>
#include <pthread.h>
#include <netinet/tcp.h>
#if FR_ENABLE_ZLIB
#include <zlib.h>
#endif

/* ------------------------------------------------------------------------ */
/* UTF-8                                                                     */

static int utf8_ok(const char *s, size_t n) {
    uint32_t st = 0;
    return fr_utf8_feed(&st, s, n, NULL) == 0 && fr_utf8_complete(st);
}

static void test_utf8_valid_invalid(void) {
    static const char *good[] = {"", "hello", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", "\xc2\x80",
                                 "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80", "\xef\xbf\xbf",
                                 "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf", "0123456789abcdef0123456789\xc3\xa9"};
    static const char *bad[] = {"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xe0\x9f\xbf",
                                "\xed\xa0\x80", "\xed\xbf\xbf", "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf",
                                "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\xfe", "a\xc3(b",
                                "0123456789abcdef\x80"};
    size_t i;
    for (i = 0; i < sizeof good / sizeof *good; i++) CHECK(utf8_ok(good[i], strlen(good[i])));
    for (i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(!utf8_ok(bad[i], strlen(bad[i])));
    /* incomplete at the end: not complete, but not failed either */
    {
        uint32_t st = 0;
        CHECK(fr_utf8_feed(&st, "\xe2\x82", 2, NULL) == 0);
        CHECK(!fr_utf8_complete(st));
        CHECK(fr_utf8_feed(&st, "\xac", 1, NULL) == 0);
        CHECK(fr_utf8_complete(st));
    }
}

/* Autobahn 6.4.x: fail at the first byte that cannot continue, split anywhere. */
static void test_utf8_fail_fast_split(void) {
    static const char text[] = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80\x65\x64\x69\x74\x65\x64";
    size_t n = sizeof text - 1, cut;
    size_t want = 12; /* the \x90 after \xf4 */
    for (cut = 0; cut <= n; cut++) {
        uint32_t st = 0;
        size_t pos = 99;
        int r1 = fr_utf8_feed(&st, text, cut, &pos);
        if (cut <= want) {
            CHECK(r1 == 0);
            r1 = fr_utf8_feed(&st, text + cut, n - cut, &pos);
            CHECK(r1 == -1);
            CHECK_EQ_INT(pos + cut, want);
        } else {
            CHECK(r1 == -1);
            CHECK_EQ_INT(pos, want);
        }
        CHECK(fr_utf8_feed(&st, "a", 1, NULL) == -1); /* stays failed */
    }
    /* byte by byte: every valid prefix stays 0 */
    {
        const char *s = "\xf0\x9f\x98\x80 \xe2\x82\xac";
        uint32_t st = 0;
        size_t i;
        for (i = 0; i < strlen(s); i++) CHECK(fr_utf8_feed(&st, s + i, 1, NULL) == 0);
        CHECK(fr_utf8_complete(st));
    }
}

/* ------------------------------------------------------------------------ */
/* frames, masks, keys                                                       */

static void test_frame_heads(void) {
    static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 1ull << 32, (1ull << 63) - 1};
    size_t i;
    for (i = 0; i < sizeof lens / sizeof *lens; i++) {
        uint8_t h[14], m[4] = {1, 2, 3, 4};
        fr_ws_frame f;
        int masked;
        for (masked = 0; masked < 2; masked++) {
            size_t hl = fr_ws_frame_head(h, 1, 4, FR_WS_BINARY, lens[i], masked ? m : NULL), k;
            size_t want = 2 + (lens[i] >= 126) * 2 + (lens[i] > 65535) * 6 + (size_t)masked * 4;
            CHECK_EQ_INT(hl, want);
            for (k = 0; k < hl; k++) CHECK(fr_ws_parse_frame(h, k, &f, NULL) == -2);
            CHECK_EQ_INT(fr_ws_parse_frame(h, hl, &f, NULL), hl);
            CHECK(f.fin == 1 && f.rsv == 4 && f.opcode == FR_WS_BINARY && f.masked == masked);
            CHECK(f.len == lens[i]);
            if (masked) CHECK(memcmp(f.mask, m, 4) == 0);
        }
    }
    /* non-minimal encodings and the 64-bit MSB */
    {
        fr_err err;
        fr_ws_frame f;
        const uint8_t a[] = {0x82, 126, 0, 125};
        const uint8_t b[] = {0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        const uint8_t c[] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0};
        const uint8_t d[] = {0x82, 126, 0, 126};
        memset(&err, 0, sizeof err);
        CHECK(fr_ws_parse_frame(a, sizeof a, &f, &err) == -1 && err.code == 1002);
        CHECK(fr_ws_parse_frame(b, sizeof b, &f, &err) == -1 && err.code == 1002);
        CHECK(fr_ws_parse_frame(c, sizeof c, &f, &err) == -1 && err.code == 1002);
        CHECK(fr_ws_parse_frame(d, sizeof d, &f, &err) == 4 && f.len == 126);
        {
            void *g = frt_guarded(d, sizeof d);
            CHECK(fr_ws_parse_frame(g, 1, &f, &err) == -2);
            CHECK(fr_ws_parse_frame(g, 3, &f, &err) == -2);
            CHECK(fr_ws_parse_frame(g, sizeof d, &f, &err) == 4);
            frt_guarded_free(g, sizeof d);
        }
    }
}

static void test_mask_pieces(void) {
    uint8_t m[4] = {0x37, 0xfa, 0x21, 0x3d};
    char a[100], b[100];
    size_t i, cut;
    for (i = 0; i < sizeof a; i++) a[i] = (char)(i * 7);
    for (cut = 0; cut <= sizeof a; cut += 3) {
        memcpy(b, a, sizeof a);
        fr_ws_mask(b, cut, m, 0);
        fr_ws_mask(b + cut, sizeof b - cut, m, cut);
        for (i = 0; i < sizeof a; i++) CHECK((uint8_t)b[i] == ((uint8_t)a[i] ^ m[i & 3]));
        fr_ws_mask(b, sizeof b, m, 0);
        CHECK(memcmp(a, b, sizeof a) == 0);
    }
    /* the RFC's "Hello" example */
    {
        uint8_t h[] = {0x7f, 0x9f, 0x4d, 0x51, 0x58};
        fr_ws_mask(h, 5, m, 0);
        CHECK_EQ_MEM((char *)h, 5, "Hello");
    }
}

static void test_close_codes(void) {
    static const int ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    static const int bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, -1};
    size_t i;
    for (i = 0; i < sizeof ok / sizeof *ok; i++) CHECK(fr_ws_close_code_valid(ok[i]));
    for (i = 0; i < sizeof bad / sizeof *bad; i++) CHECK(!fr_ws_close_code_valid(bad[i]));
}

static void test_accept_key(void) {
    char out[29];
    CHECK(fr_ws_accept_key(FR_STR("dGhlIHNhbXBsZSBub25jZQ=="), out) == 0);
    CHECK_EQ_MEM(out, strlen(out), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(fr_ws_accept_key(FR_STR("dGhlIHNhbXBsZSBub25jZQ="), out) == -1);   /* 23 chars */
    CHECK(fr_ws_accept_key(FR_STR("dGhlIHNhbXBsZSBub25j"), out) == -1);      /* 15 bytes */
    CHECK(fr_ws_accept_key(FR_STR("dGhlIHNhbXBsZSBub25jZQ!!"), out) == -1);  /* not base64 */
    CHECK(fr_ws_accept_key(FR_STR("AAAAAAAAAAAAAAAAAAAAAAAA"), out) == -1);  /* 18 bytes */
}

/* ------------------------------------------------------------------------ */
/* handshake                                                                 */

#define H(n, v) {FR_STR(n), FR_STR(v)}

static int hs_code(fr_str method, int minor, const fr_header *h, size_t n) {
    fr_err err;
    fr_ws_handshake hs;
    memset(&err, 0, sizeof err);
    if (fr_ws_check_request(method, minor, h, n, &hs, &err) == 0) return 0;
    return err.code;
}

static void test_handshake_check(void) {
    fr_ws_handshake hs;
    const fr_header good[] = {H("Host", "x"), H("Upgrade", "websocket"), H("Connection", "Upgrade"),
                              H("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                              H("Sec-WebSocket-Version", "13")};
    const fr_header lists[] = {H("upgrade", "foo, WebSocket"), H("connection", "keep-alive"),
                               H("CONNECTION", "x,  upgrade ,y"), H("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
                               H("sec-websocket-version", "13")};
    fr_header h[6];
    CHECK(fr_ws_check_request(FR_STR("GET"), 1, good, 5, &hs, NULL) == 0);
    CHECK_EQ_MEM(hs.key.buf, hs.key.len, "dGhlIHNhbXBsZSBub25jZQ==");
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, lists, 5), 0);
    CHECK_EQ_INT(hs_code(FR_STR("POST"), 1, good, 5), 400);
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 0, good, 5), 400);
    memcpy(h, good, sizeof good);
    h[1].value = FR_STR("websockets");
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, h, 5), 426);
    memcpy(h, good, sizeof good);
    h[2].value = FR_STR("keep-alive");
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, h, 5), 426);
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, good, 4), 426); /* no version */
    memcpy(h, good, sizeof good);
    h[4].value = FR_STR("8");
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, h, 5), 426);
    memcpy(h, good, sizeof good);
    h[4].value = FR_STR("13, 8");
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, h, 5), 426);
    memcpy(h, good, sizeof good);
    h[3].value = FR_STR("dGhlIHNhbXBsZSBub25j");
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, h, 5), 400);
    memcpy(h, good, sizeof good);
    h[5] = good[3]; /* two keys */
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, h, 6), 400);
    h[0] = good[0];
    CHECK_EQ_INT(hs_code(FR_STR("GET"), 1, good + 1, 3), 426); /* no version, no key */
}

/* ------------------------------------------------------------------------ */
/* permessage-deflate negotiation                                            */

static int negotiate(const char *offer, const fr_ws_deflate *want, fr_ws_deflate *out, char *resp) {
    fr_buf b = {NULL, 0, 0};
    int r = fr_ws_deflate_accept(fr_str_c(offer), want, out, &b);
    resp[0] = 0;
    if (b.len) {
        memcpy(resp, b.buf, b.len);
        resp[b.len] = 0;
    }
    fr_buf_free(&b);
    return r;
}

static void test_deflate_negotiation(void) {
    fr_ws_deflate out, want;
    char resp[256];
    memset(&want, 0, sizeof want);
    CHECK(negotiate("permessage-deflate", NULL, &out, resp) == 1);
    CHECK(strcmp(resp, "permessage-deflate") == 0);
    CHECK(out.enabled && out.server_max_window_bits == 15 && out.client_max_window_bits == 15);
    CHECK(negotiate("permessage-deflate; client_max_window_bits", NULL, &out, resp) == 1);
    CHECK(strcmp(resp, "permessage-deflate") == 0);
    CHECK(negotiate("permessage-deflate; client_max_window_bits=10; server_max_window_bits=12", NULL, &out, resp) == 1);
    CHECK(strcmp(resp, "permessage-deflate; server_max_window_bits=12") == 0);
    CHECK(out.server_max_window_bits == 12 && out.client_max_window_bits == 10);
    CHECK(negotiate("permessage-deflate; server_no_context_takeover; client_no_context_takeover", NULL, &out,
                    resp) == 1);
    CHECK(strcmp(resp, "permessage-deflate; server_no_context_takeover; client_no_context_takeover") == 0);
    CHECK(out.server_no_context_takeover && out.client_no_context_takeover);
    /* quoted values, case, spaces */
    CHECK(negotiate("Permessage-Deflate ;  Server_Max_Window_Bits = \"10\"", NULL, &out, resp) == 1);
    CHECK(out.server_max_window_bits == 10);
    /* invalid offers are skipped; the next acceptable one wins */
    CHECK(negotiate("permessage-deflate; server_max_window_bits=8, permessage-deflate", NULL, &out, resp) == 1);
    CHECK(out.server_max_window_bits == 15 && strcmp(resp, "permessage-deflate") == 0);
    CHECK(negotiate("permessage-deflate; server_max_window_bits=16", NULL, &out, resp) == 0);
    CHECK(negotiate("permessage-deflate; server_max_window_bits", NULL, &out, resp) == 0);
    CHECK(negotiate("permessage-deflate; client_max_window_bits=7", NULL, &out, resp) == 0);
    CHECK(negotiate("permessage-deflate; server_no_context_takeover; server_no_context_takeover", NULL, &out, resp) == 0);
    CHECK(negotiate("permessage-deflate; server_no_context_takeover=1", NULL, &out, resp) == 0);
    CHECK(negotiate("permessage-deflate; foo", NULL, &out, resp) == 0);
    CHECK(negotiate("x-webkit-deflate-frame, foo; bar=\"a,b\"", NULL, &out, resp) == 0);
    CHECK(negotiate("foo; bar=\"a,b\", permessage-deflate", NULL, &out, resp) == 1);
    CHECK(negotiate("", NULL, &out, resp) == 0);
    /* what we insist on */
    want.server_max_window_bits = 10;
    want.server_no_context_takeover = 1;
    CHECK(negotiate("permessage-deflate", &want, &out, resp) == 1);
    CHECK(strcmp(resp, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10") == 0);
    CHECK(negotiate("permessage-deflate; server_max_window_bits=9", &want, &out, resp) == 1);
    CHECK(out.server_max_window_bits == 9);
    /* the client side reads the answer */
    CHECK(fr_ws_deflate_response(FR_STR("permessage-deflate; server_max_window_bits=10"), &out) == 0);
    CHECK(out.enabled && out.server_max_window_bits == 10 && out.client_max_window_bits == 15);
    CHECK(fr_ws_deflate_response(FR_STR("permessage-deflate; client_max_window_bits"), &out) == -1);
    CHECK(fr_ws_deflate_response(FR_STR("permessage-deflate, permessage-deflate"), &out) == -1);
    CHECK(fr_ws_deflate_response(FR_STR("foo"), &out) == -1);
}

/* ------------------------------------------------------------------------ */
/* codec                                                                     */

typedef struct evlog {
    int n;
    int op[64];
    int code[64];
    char data[64][256];
    size_t len[64];
    int fail, fail_code;
} evlog;

/* Feed everything (in pieces of `step` bytes, 0 = all at once) to a codec,
 * keeping unconsumed head bytes as a caller must. */
static void feed(fr_ws_codec *c, const char *in, size_t n, size_t step, evlog *log) {
    char buf[1 << 17];
    size_t have = 0, off = 0;
    memset(log, 0, sizeof *log);
    if (!step) step = n ? n : 1;
    while (off < n || have) {
        size_t take = n - off < step ? n - off : step, pos = 0;
        if (have + take > sizeof buf) take = sizeof buf - have;
        memcpy(buf + have, in + off, take);
        off += take;
        have += take;
        for (;;) {
            fr_ws_event ev;
            size_t used;
            int r = fr_ws_codec_read(c, buf + pos, have - pos, &used, &ev);
            pos += used;
            if (r < 0) {
                log->fail = 1;
                log->fail_code = ev.code;
                return;
            }
            if (r == 0) break;
            if (log->n < 64) {
                log->op[log->n] = ev.opcode;
                log->code[log->n] = ev.code;
                log->len[log->n] = ev.len;
                memcpy(log->data[log->n], ev.data, ev.len < 255 ? ev.len : 255);
                log->n++;
            }
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        if (off >= n) break;
    }
}

static fr_ws_codec *server_codec(uint64_t max_message, uint64_t max_frame) {
    fr_ws_codec_config cc;
    memset(&cc, 0, sizeof cc);
    cc.max_message = max_message;
    cc.max_frame = max_frame;
    return fr_ws_codec_new(&cc);
}

static fr_ws_codec *client_codec(void) {
    fr_ws_codec_config cc;
    memset(&cc, 0, sizeof cc);
    cc.client = 1;
    return fr_ws_codec_new(&cc);
}

/* A masked frame built by hand (any rsv/opcode/fin). */
static void raw_frame(fr_buf *b, int fin, int rsv, int op, const void *data, size_t len) {
    uint8_t h[14], m[4] = {0xa1, 0xb2, 0xc3, 0xd4};
    size_t hl = fr_ws_frame_head(h, fin, rsv, op, len, m), at;
    fr_buf_append(b, h, hl);
    at = b->len;
    fr_buf_append(b, data, len);
    fr_ws_mask(b->buf + at, len, m, 0);
}

static void test_codec_messages(void) {
    fr_ws_codec *cl = client_codec();
    fr_buf in = {NULL, 0, 0};
    size_t step;
    char big[70000];
    REQ(cl);
    memset(big, 'x', sizeof big);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_TEXT, 1, "hello", 5) == 0);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_BINARY, 1, "\x00\xff", 2) == 0);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_TEXT, 0, "frag", 4) == 0);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_PING, 1, "p1", 2) == 0); /* interleaved */
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_CONT, 0, "men", 3) == 0);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_PONG, 1, "", 0) == 0);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_CONT, 1, "ts\xc3\xa9", 4) == 0);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_TEXT, 1, "", 0) == 0);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_BINARY, 1, big, sizeof big) == 0);
    CHECK(fr_ws_codec_write_close(cl, &in, 1000, "done", 4) == 0);
    CHECK(fr_ws_codec_write(cl, &in, FR_WS_TEXT, 1, "after", 5) == 0); /* never read */
    for (step = 0; step < 20; step = step ? step * 3 : 1) {
        fr_ws_codec *sv = server_codec(0, 0);
        evlog log;
        char *copy = (char *)malloc(in.len);
        REQ(sv && copy);
        memcpy(copy, in.buf, in.len);
        feed(sv, copy, in.len, step, &log);
        CHECK(!log.fail);
        CHECK_EQ_INT(log.n, 8);
        CHECK(log.op[0] == FR_WS_TEXT && log.len[0] == 5 && memcmp(log.data[0], "hello", 5) == 0);
        CHECK(log.op[1] == FR_WS_BINARY && log.len[1] == 2 && memcmp(log.data[1], "\x00\xff", 2) == 0);
        CHECK(log.op[2] == FR_WS_PING && log.len[2] == 2 && memcmp(log.data[2], "p1", 2) == 0);
        CHECK(log.op[3] == FR_WS_PONG && log.len[3] == 0);
        CHECK(log.op[4] == FR_WS_TEXT && log.len[4] == 11 && memcmp(log.data[4], "fragments\xc3\xa9", 11) == 0);
        CHECK(log.op[5] == FR_WS_TEXT && log.len[5] == 0);
        CHECK(log.op[6] == FR_WS_BINARY && log.len[6] == sizeof big);
        CHECK(log.op[7] == FR_WS_CLOSE && log.code[7] == 1000 && log.len[7] == 4);
        free(copy);
        fr_ws_codec_free(sv);
    }
    /* the close event, then nothing more */
    {
        fr_ws_codec *sv = server_codec(0, 0);
        fr_buf b = {NULL, 0, 0};
        fr_ws_event ev;
        size_t used;
        REQ(sv);
        fr_ws_codec_write_close(cl, &b, 4000, "bye", 3);
        fr_ws_codec_write(cl, &b, FR_WS_TEXT, 1, "x", 1);
        CHECK(fr_ws_codec_read(sv, b.buf, b.len, &used, &ev) == 1);
        CHECK(ev.opcode == FR_WS_CLOSE && ev.code == 4000 && ev.len == 3 && memcmp(ev.data, "bye", 3) == 0);
        CHECK(fr_ws_codec_read(sv, b.buf + used, b.len - used, &used, &ev) == 0);
        fr_buf_free(&b);
        fr_ws_codec_free(sv);
    }
    /* an empty close frame reports 1005 */
    {
        fr_ws_codec *sv = server_codec(0, 0);
        fr_buf b = {NULL, 0, 0};
        fr_ws_event ev;
        size_t used;
        REQ(sv);
        fr_ws_codec_write_close(cl, &b, 0, NULL, 0);
        CHECK(fr_ws_codec_read(sv, b.buf, b.len, &used, &ev) == 1);
        CHECK(ev.opcode == FR_WS_CLOSE && ev.code == 1005 && ev.len == 0);
        fr_buf_free(&b);
        fr_ws_codec_free(sv);
    }
    fr_buf_free(&in);
    fr_ws_codec_free(cl);
}

/* Whole unfragmented frames are reported in place (no copy). */
static void test_codec_zero_copy(void) {
    fr_ws_codec *cl = client_codec(), *sv = server_codec(0, 0);
    fr_buf b = {NULL, 0, 0};
    fr_ws_event ev;
    size_t used;
    REQ(cl && sv);
    fr_ws_codec_write(cl, &b, FR_WS_TEXT, 1, "zero copy", 9);
    CHECK(fr_ws_codec_read(sv, b.buf, b.len, &used, &ev) == 1);
    CHECK(ev.data == b.buf + 6 && used == b.len);
    CHECK_EQ_MEM(ev.data, ev.len, "zero copy");
    fr_buf_free(&b);
    fr_ws_codec_free(cl);
    fr_ws_codec_free(sv);
}

static int fail_code_of(fr_buf *b, uint64_t max_message, uint64_t max_frame) {
    evlog log;
    size_t step;
    int code = -1;
    for (step = 0; step < 4 && code != -2; step++) { /* whole, then byte by byte etc.: same verdict */
        fr_ws_codec *s = server_codec(max_message, max_frame);
        char *copy = (char *)malloc(b->len ? b->len : 1);
        memcpy(copy, b->buf, b->len);
        feed(s, copy, b->len, step, &log);
        free(copy);
        fr_ws_codec_free(s);
        if (!log.fail) code = code == -1 || code == 0 ? 0 : -2;
        else if (code == -1) code = log.fail_code;
        else if (code != log.fail_code) code = -2;
    }
    b->len = 0;
    return code;
}

static void test_codec_protocol_errors(void) {
    fr_buf b = {NULL, 0, 0};
    uint8_t h[14];
    char p126[126];
    memset(p126, 'a', sizeof p126);
    /* unmasked client frame */
    fr_buf_append(&b, h, fr_ws_frame_head(h, 1, 0, FR_WS_TEXT, 0, NULL));
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 2, FR_WS_TEXT, "a", 1); /* RSV2 */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 1, FR_WS_TEXT, "a", 1); /* RSV3 */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 4, FR_WS_TEXT, "a", 1); /* RSV1 without deflate */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, 3, "a", 1);
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, 7, "", 0);
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, 0xb, "", 0);
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, 0xf, "", 0);
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 0, 0, FR_WS_PING, "", 0); /* fragmented control */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, FR_WS_PING, p126, 126);
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, FR_WS_CONT, "a", 1); /* continuation without a message */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 0, 0, FR_WS_TEXT, "a", 1);
    raw_frame(&b, 1, 0, FR_WS_TEXT, "b", 1); /* a new message inside one */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, FR_WS_CLOSE, "\x03", 1);
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, FR_WS_CLOSE, "\x03\xe7", 2); /* 999 */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, FR_WS_CLOSE, "\x03\xed", 2); /* 1005 */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1002);
    raw_frame(&b, 1, 0, FR_WS_CLOSE, "\x03\xe8\xff", 3); /* reason not UTF-8 */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1007);
    raw_frame(&b, 1, 0, FR_WS_TEXT, "ok\xc0\xaf", 4);
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1007);
    raw_frame(&b, 0, 0, FR_WS_TEXT, "\xe2\x82", 2); /* split character: fine... */
    raw_frame(&b, 1, 0, FR_WS_CONT, "", 0);         /* ...until the message ends without it */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 1007);
    raw_frame(&b, 1, 0, FR_WS_BINARY, "\xc0\xaf", 2); /* binary is not checked */
    CHECK_EQ_INT(fail_code_of(&b, 0, 0), 0);
    b.len = 0;
    /* limits */
    raw_frame(&b, 1, 0, FR_WS_BINARY, p126, 101);
    CHECK_EQ_INT(fail_code_of(&b, 100, 0), 1009);
    raw_frame(&b, 1, 0, FR_WS_BINARY, p126, 100);
    CHECK_EQ_INT(fail_code_of(&b, 100, 0), 0);
    b.len = 0;
    raw_frame(&b, 1, 0, FR_WS_BINARY, p126, 51);
    CHECK_EQ_INT(fail_code_of(&b, 100, 50), 1009);
    raw_frame(&b, 0, 0, FR_WS_BINARY, p126, 50);
    raw_frame(&b, 0, 0, FR_WS_CONT, p126, 50);
    raw_frame(&b, 1, 0, FR_WS_CONT, p126, 1);
    CHECK_EQ_INT(fail_code_of(&b, 100, 50), 1009);
    fr_buf_free(&b);
}

/* A text frame whose first bytes are invalid fails before the rest arrives. */
static void test_codec_fail_fast(void) {
    fr_ws_codec *sv = server_codec(0, 0);
    fr_buf b = {NULL, 0, 0};
    fr_ws_event ev;
    size_t used;
    char payload[1000];
    REQ(sv);
    memset(payload, 'a', sizeof payload);
    payload[10] = (char)0xff;
    raw_frame(&b, 1, 0, FR_WS_TEXT, payload, sizeof payload);
    /* head + 20 payload bytes only */
    CHECK(fr_ws_codec_read(sv, b.buf, 4 + 4 + 20, &used, &ev) == -1);
    CHECK(ev.code == 1007);
    CHECK(fr_ws_codec_read(sv, b.buf, b.len, &used, &ev) == -1); /* stays failed */
    fr_ws_codec_free(sv);
    /* the same across fragments: the second fragment's first byte */
    sv = server_codec(0, 0);
    REQ(sv);
    b.len = 0;
    raw_frame(&b, 0, 0, FR_WS_TEXT, "abc\xce", 4);
    raw_frame(&b, 0, 0, FR_WS_CONT, "\x41 never complete", 16);
    CHECK(fr_ws_codec_read(sv, b.buf, 10 + 6 + 1, &used, &ev) == -1);
    CHECK(ev.code == 1007);
    fr_ws_codec_free(sv);
    fr_buf_free(&b);
}

static void test_codec_client_side(void) {
    fr_ws_codec *cl = client_codec(), *sv = server_codec(0, 0);
    fr_buf b = {NULL, 0, 0};
    evlog log;
    REQ(cl && sv);
    /* what a server writes is unmasked, and a client reads it */
    CHECK(fr_ws_codec_write(sv, &b, FR_WS_TEXT, 1, "to client", 9) == 0);
    CHECK((b.buf[1] & 0x80) == 0);
    feed(cl, b.buf, b.len, 1, &log);
    CHECK(!log.fail && log.n == 1 && log.len[0] == 9);
    /* a masked frame from a server is an error for the client */
    b.len = 0;
    raw_frame(&b, 1, 0, FR_WS_TEXT, "x", 1);
    fr_ws_codec_free(cl);
    cl = client_codec();
    feed(cl, b.buf, b.len, 0, &log);
    CHECK(log.fail && log.fail_code == 1002);
    /* writer misuse */
    b.len = 0;
    CHECK(fr_ws_codec_write(sv, &b, FR_WS_CONT, 1, "x", 1) == -1);
    CHECK(fr_ws_codec_write(sv, &b, FR_WS_PING, 1, b.buf, 126) == -1);
    CHECK(fr_ws_codec_write(sv, &b, FR_WS_PING, 0, "x", 1) == -1);
    CHECK(fr_ws_codec_write(sv, &b, 3, 1, "x", 1) == -1);
    CHECK(fr_ws_codec_write(sv, &b, FR_WS_TEXT, 0, "x", 1) == 0);
    CHECK(fr_ws_codec_write(sv, &b, FR_WS_TEXT, 1, "x", 1) == -1); /* inside a message */
    CHECK(fr_ws_codec_write(sv, &b, FR_WS_CONT, 1, "y", 1) == 0);
    CHECK(fr_ws_codec_write_close(sv, &b, 1005, NULL, 0) == -1);
    CHECK(fr_ws_codec_write_close(sv, &b, 1000, "\xff", 1) == -1);
    {
        char longr[124];
        memset(longr, 'r', sizeof longr);
        CHECK(fr_ws_codec_write_close(sv, &b, 1000, longr, 124) == -1);
        CHECK(fr_ws_codec_write_close(sv, &b, 1000, longr, 123) == 0);
    }
    fr_buf_free(&b);
    fr_ws_codec_free(cl);
    fr_ws_codec_free(sv);
}

/* ------------------------------------------------------------------------ */
/* permessage-deflate in the codec                                           */

#if FR_ENABLE_ZLIB
static fr_ws_codec *pmd_codec(int client, const fr_ws_deflate *d, uint64_t max_message) {
    fr_ws_codec_config cc;
    memset(&cc, 0, sizeof cc);
    cc.client = client;
    cc.deflate = *d;
    cc.max_message = max_message;
    return fr_ws_codec_new(&cc);
}

static void test_deflate_round_trip(void) {
    static const int bits[] = {9, 12, 15};
    size_t bi;
    int nct;
    char text[5000];
    size_t i;
    for (i = 0; i < sizeof text; i++) text[i] = "abcdefghij klmnop"[i % 17];
    for (bi = 0; bi < 3; bi++)
        for (nct = 0; nct < 2; nct++) {
            fr_ws_deflate d;
            fr_ws_codec *cl, *sv;
            fr_buf b = {NULL, 0, 0};
            evlog log;
            int round;
            memset(&d, 0, sizeof d);
            d.enabled = 1;
            d.server_max_window_bits = d.client_max_window_bits = bits[bi];
            d.server_no_context_takeover = d.client_no_context_takeover = nct;
            cl = pmd_codec(1, &d, 0);
            sv = pmd_codec(0, &d, 0);
            REQ(cl && sv);
            for (round = 0; round < 2; round++) { /* context carries over (or not) */
                fr_ws_codec *w = round ? sv : cl, *r = round ? cl : sv;
                b.len = 0;
                CHECK(fr_ws_codec_write(w, &b, FR_WS_TEXT, 1, text, sizeof text) == 0);
                CHECK((b.buf[0] & 0x40) != 0); /* RSV1 */
                CHECK(b.len < sizeof text / 4);
                CHECK(fr_ws_codec_write(w, &b, FR_WS_TEXT, 1, text, sizeof text) == 0);
                CHECK(fr_ws_codec_write(w, &b, FR_WS_BINARY, 1, "", 0) == 0);
                CHECK(fr_ws_codec_write(w, &b, FR_WS_TEXT, 0, text, 100) == 0);
                CHECK(fr_ws_codec_write(w, &b, FR_WS_PING, 1, "x", 1) == 0);
                CHECK((b.buf[b.len - (round ? 3 : 7)] & 0x40) == 0); /* control frames never compressed */
                CHECK(fr_ws_codec_write(w, &b, FR_WS_CONT, 1, text + 100, 200) == 0);
                feed(r, b.buf, b.len, round ? 7 : 0, &log);
                CHECK(!log.fail);
                CHECK_EQ_INT(log.n, 5);
                CHECK(log.op[0] == FR_WS_TEXT && log.len[0] == sizeof text && memcmp(log.data[0], text, 255) == 0);
                CHECK(log.op[1] == FR_WS_TEXT && log.len[1] == sizeof text);
                CHECK(log.op[2] == FR_WS_BINARY && log.len[2] == 0);
                CHECK(log.op[3] == FR_WS_PING);
                CHECK(log.op[4] == FR_WS_TEXT && log.len[4] == 300 && memcmp(log.data[4], text, 255) == 0);
            }
            fr_buf_free(&b);
            fr_ws_codec_free(cl);
            fr_ws_codec_free(sv);
        }
}

/* Compressed by zlib directly (as a browser would): decoded. */
static void test_deflate_from_zlib(void) {
    fr_ws_deflate d;
    fr_ws_codec *sv;
    z_stream z;
    unsigned char out[4096];
    fr_buf b = {NULL, 0, 0};
    evlog log;
    size_t n;
    memset(&d, 0, sizeof d);
    d.enabled = 1;
    sv = pmd_codec(0, &d, 0);
    REQ(sv);
    memset(&z, 0, sizeof z);
    REQ(deflateInit2(&z, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    z.next_in = (Bytef *)(uintptr_t)"Hello, Hello, Hello, deflate!";
    z.avail_in = 29;
    z.next_out = out;
    z.avail_out = sizeof out;
    CHECK(deflate(&z, Z_SYNC_FLUSH) == Z_OK);
    n = sizeof out - z.avail_out;
    deflateEnd(&z);
    REQ(n > 4 && memcmp(out + n - 4, "\0\0\xff\xff", 4) == 0);
    raw_frame(&b, 1, 4, FR_WS_TEXT, out, n - 4);
    feed(sv, b.buf, b.len, 0, &log);
    CHECK(!log.fail && log.n == 1);
    CHECK_EQ_MEM(log.data[0], log.len[0], "Hello, Hello, Hello, deflate!");
    /* RSV1 on a continuation frame is an error even with deflate */
    b.len = 0;
    raw_frame(&b, 0, 4, FR_WS_TEXT, out, n - 4);
    raw_frame(&b, 1, 4, FR_WS_CONT, "", 0);
    feed(sv, b.buf, b.len, 0, &log);
    CHECK(log.fail && log.fail_code == 1002);
    fr_ws_codec_free(sv);
    /* garbage compressed data */
    sv = pmd_codec(0, &d, 0);
    REQ(sv);
    b.len = 0;
    raw_frame(&b, 1, 4, FR_WS_BINARY, "\xff\xff\xff\xff\xff", 5);
    feed(sv, b.buf, b.len, 0, &log);
    CHECK(log.fail && log.fail_code == 1002);
    fr_ws_codec_free(sv);
    fr_buf_free(&b);
}

/* A small frame inflating past max_message: 1009, without the memory. */
static void test_deflate_bomb(void) {
    fr_ws_deflate d;
    fr_ws_codec *cl, *sv;
    fr_buf b = {NULL, 0, 0};
    char *zeros = (char *)calloc(1, 4 << 20);
    evlog log;
    REQ(zeros);
    memset(&d, 0, sizeof d);
    d.enabled = 1;
    cl = pmd_codec(1, &d, 0);
    sv = pmd_codec(0, &d, 100000);
    REQ(cl && sv);
    CHECK(fr_ws_codec_write(cl, &b, FR_WS_BINARY, 1, zeros, 4 << 20) == 0);
    CHECK(b.len < 10000);
    feed(sv, b.buf, b.len, 0, &log);
    CHECK(log.fail && log.fail_code == 1009);
    /* text that inflates to invalid UTF-8 */
    fr_ws_codec_free(sv);
    sv = pmd_codec(0, &d, 0);
    b.len = 0;
    memset(zeros, 'a', 1000);
    zeros[500] = (char)0xc0;
    CHECK(fr_ws_codec_write(cl, &b, FR_WS_BINARY, 1, zeros, 1000) == 0);
    b.buf[0] = (char)((b.buf[0] & 0xf0) | FR_WS_TEXT);
    feed(sv, b.buf, b.len, 0, &log);
    CHECK(log.fail && log.fail_code == 1007);
    free(zeros);
    fr_buf_free(&b);
    fr_ws_codec_free(cl);
    fr_ws_codec_free(sv);
}
#else
/* Without zlib (the unamalgamated variant): a deflate codec cannot be made,
 * and fr_ws_accept never negotiates it. */
static void test_deflate_needs_zlib(void) {
    fr_ws_codec_config cc;
    memset(&cc, 0, sizeof cc);
    cc.deflate.enabled = 1;
    CHECK(fr_ws_codec_new(&cc) == NULL);
    cc.deflate.enabled = 0;
    fr_ws_codec_free(fr_ws_codec_new(&cc));
}
static void test_deflate_round_trip(void) { test_deflate_needs_zlib(); }
static void test_deflate_from_zlib(void) { test_deflate_needs_zlib(); }
static void test_deflate_bomb(void) { test_deflate_needs_zlib(); }
#endif

/* ------------------------------------------------------------------------ */
/* live: a tiny client over a real socket                                    */

static pthread_mutex_t st_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int opens, msgs, closes, drains, close_code, done_calls;
    char close_reason[128];
    fr_ws *ws; /* retained by on_open when keep */
    int keep;
    fr_req *held;
} st;

static int st_get(int *v) {
    int r;
    pthread_mutex_lock(&st_mu);
    r = *v;
    pthread_mutex_unlock(&st_mu);
    return r;
}

static int st_wait(int *v, int want) {
    int i;
    for (i = 0; i < 500; i++) {
        if (st_get(v) >= want) return 1;
        frt_sleep_ms(10);
    }
    return 0;
}

static void cb_open(fr_ws *ws, void *ud) {
    (void)ud;
    pthread_mutex_lock(&st_mu);
    st.opens++;
    if (st.keep) {
        fr_ws_retain(ws);
        st.ws = ws;
    }
    pthread_mutex_unlock(&st_mu);
}

static void cb_msg(fr_ws *ws, int op, const char *data, size_t len, void *ud) {
    (void)ud;
    pthread_mutex_lock(&st_mu);
    st.msgs++;
    pthread_mutex_unlock(&st_mu);
    if (len == 8 && memcmp(data, "close-me", 8) == 0) {
        fr_ws_close(ws, 4001, "as asked", 8);
        return;
    }
    fr_ws_send(ws, op, data, len);
}

static void cb_drain(fr_ws *ws, void *ud) {
    (void)ud;
    pthread_mutex_lock(&st_mu);
    st.drains++;
    pthread_mutex_unlock(&st_mu);
    fr_ws_send_text(ws, "drained", 7); /* written right away, not at the next event */
}

static void cb_close(fr_ws *ws, int code, fr_str reason, void *ud) {
    (void)ws;
    (void)ud;
    pthread_mutex_lock(&st_mu);
    st.closes++;
    st.close_code = code;
    snprintf(st.close_reason, sizeof st.close_reason, "%.*s", (int)reason.len, reason.buf);
    pthread_mutex_unlock(&st_mu);
}

static fr_ws_config g_cfg;

static void st_reset(void) {
    pthread_mutex_lock(&st_mu);
    memset(&st, 0, sizeof st);
    pthread_mutex_unlock(&st_mu);
    memset(&g_cfg, 0, sizeof g_cfg);
    g_cfg.on_open = cb_open;
    g_cfg.on_message = cb_msg;
    g_cfg.on_drain = cb_drain;
    g_cfg.on_close = cb_close;
    g_cfg.deflate = 1;
}

static int h_hold(fr_req *req, void *ud) {
    (void)ud;
    pthread_mutex_lock(&st_mu);
    st.held = req;
    pthread_mutex_unlock(&st_mu);
    return FR_PENDING;
}

typedef struct server {
    fr_app *app;
    int port;
    pthread_t thr;
} server;

static void *serve_thread(void *arg) {
    fr_serve((fr_app *)arg);
    return NULL;
}

static int server_start(server *s, int threads) {
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = threads;
    cfg.no_signals = 1;
    s->app = fr_app_new(&cfg);
    if (!s->app) return -1;
    if (fr_ws_route(s->app, "/ws", &g_cfg) < 0) return -1;
    if (fr_route(s->app, "GET", "/hold", h_hold, NULL) < 0) return -1;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return pthread_create(&s->thr, NULL, serve_thread, s->app) == 0 ? 0 : -1;
}

static void server_stop(server *s) {
    fr_stop(s->app);
    pthread_join(s->thr, NULL);
    fr_app_free(s->app);
}

typedef struct wsc {
    int fd;
    fr_ws_codec *c;
    char buf[1 << 17];
    size_t have;
    char resp[2048];
    int status;
} wsc;

static int g_rcvbuf; /* SO_RCVBUF for the next connections (0 = default) */

#define KEY "dGhlIHNhbXBsZSBub25jZQ=="

/* Connect and send an upgrade request for `path` without waiting for the
 * answer (the fr_poll tests pump the loop themselves). The fd, or -1. */
static int send_upgrade(int port, const char *path) {
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path);
    int fd = frt_connect(port, g_rcvbuf);
    if (fd >= 0 && frt_send_all(fd, req, (size_t)n) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* A one-loop app for fr_poll with one WebSocket route; *port is bound. */
static fr_app *poll_app(const char *path, const fr_ws_config *wc, int *port) {
    fr_config cfg;
    fr_app *app;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1;
    app = fr_app_new(&cfg);
    if (!app) return NULL;
    *port = fr_ws_route(app, path, wc) == 0 ? fr_listen(app, "127.0.0.1", 0) : -1;
    if (*port <= 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

/* Connect and send the handshake (+ glued bytes); read the answer head.
 * Returns the status, -1 on error. */
static int wsc_open(wsc *w, int port, const char *path, const char *extra, const void *glued, size_t glen) {
    char req[1024];
    int n;
    char *end;
    fr_ws_codec_config cc;
    memset(w, 0, sizeof *w);
    w->fd = frt_connect(port, g_rcvbuf);
    if (w->fd < 0) return -1;
    n = snprintf(req, sizeof req,
                 "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: " KEY "\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                 path, extra ? extra : "");
    if (glen) {
        memcpy(req + n, glued, glen);
        n += (int)glen;
    }
    if (frt_send_all(w->fd, req, (size_t)n) < 0) return -1;
    for (;;) {
        ssize_t k = recv(w->fd, w->buf + w->have, sizeof w->buf - w->have, 0);
        if (k <= 0) return -1;
        w->have += (size_t)k;
        end = (char *)memmem(w->buf, w->have, "\r\n\r\n", 4);
        if (end) break;
    }
    n = (int)(end + 4 - w->buf);
    memcpy(w->resp, w->buf, (size_t)n < sizeof w->resp - 1 ? (size_t)n : sizeof w->resp - 1);
    w->resp[(size_t)n < sizeof w->resp - 1 ? (size_t)n : sizeof w->resp - 1] = 0;
    memmove(w->buf, w->buf + n, w->have - (size_t)n);
    w->have -= (size_t)n;
    w->status = atoi(w->resp + 9);
    memset(&cc, 0, sizeof cc);
    cc.client = 1;
    {
        char *ext = strstr(w->resp, "sec-websocket-extensions: ");
        if (ext) {
            char *e = strstr(ext, "\r\n");
            fr_str v;
            v.buf = ext + 26;
            v.len = (size_t)(e - v.buf);
            if (fr_ws_deflate_response(v, &cc.deflate) < 0) return -1;
        }
    }
    w->c = fr_ws_codec_new(&cc);
    return w->c ? w->status : -1;
}

static void wsc_close(wsc *w) {
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
    fr_ws_codec_free(w->c);
    w->c = NULL;
}

static int wsc_send(wsc *w, int op, const void *data, size_t len) {
    fr_buf b = {NULL, 0, 0};
    int r = op == FR_WS_CLOSE ? fr_ws_codec_write_close(w->c, &b, (int)len, (const char *)data, data ? strlen((const char *)data) : 0)
                              : fr_ws_codec_write(w->c, &b, op, 1, data, len);
    if (r == 0) r = frt_send_all(w->fd, b.buf, b.len);
    fr_buf_free(&b);
    return r;
}

/* Next event into *ev (data copied to out). Returns the opcode, 0 on EOF,
 * -1 on timeout/error, -2 when the server broke the protocol. */
static int wsc_recv(wsc *w, fr_ws_event *ev, char *out, size_t cap) {
    static char tmp[1 << 17];
    for (;;) {
        size_t used;
        int r;
        if (w->have) {
            memcpy(tmp, w->buf, w->have);
            r = fr_ws_codec_read(w->c, tmp, w->have, &used, ev);
            if (r < 0) return -2;
            memmove(w->buf, w->buf + used, w->have - used);
            w->have -= used;
            if (r == 1) {
                if (out) {
                    size_t n = ev->len < cap ? ev->len : cap;
                    memcpy(out, ev->data, n);
                    ev->data = out;
                }
                return ev->opcode;
            }
        }
        {
            ssize_t k = recv(w->fd, w->buf + w->have, sizeof w->buf - w->have, 0);
            if (k == 0) return 0;
            if (k < 0) return -1;
            w->have += (size_t)k;
        }
    }
}

/* read until EOF (or timeout): 1 on EOF */
static int wsc_eof(wsc *w) {
    char b[4096];
    int i;
    for (i = 0; i < 100; i++) {
        ssize_t k = recv(w->fd, b, sizeof b, 0);
        if (k == 0) return 1;
        if (k < 0) return 0;
    }
    return 0;
}

static void test_live_echo(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    st_reset();
    REQ(server_start(&s, 2) == 0);
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    CHECK(strstr(w.resp, "HTTP/1.1 101 Switching Protocols\r\n") == w.resp);
    CHECK(strstr(w.resp, "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL);
    CHECK(strstr(w.resp, "upgrade: websocket\r\n") != NULL);
    CHECK(strstr(w.resp, "connection: Upgrade\r\n") != NULL);
    CHECK(strstr(w.resp, "content-length") == NULL);
    CHECK(strstr(w.resp, "sec-websocket-extensions") == NULL); /* not offered */
    REQ(wsc_send(&w, FR_WS_TEXT, "hello", 5) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_MEM(ev.data, ev.len, "hello");
    REQ(wsc_send(&w, FR_WS_BINARY, "\x01\x02", 2) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_BINARY && ev.len == 2);
    REQ(wsc_send(&w, FR_WS_PING, "pingdata", 8) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_PONG);
    CHECK_EQ_MEM(ev.data, ev.len, "pingdata");
    CHECK(st_wait(&st.opens, 1));
    /* closing handshake from the client: echoed code, then the server's FIN */
    REQ(wsc_send(&w, FR_WS_CLOSE, "see you", 1000) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE);
    CHECK(ev.code == 1000);
    CHECK(wsc_eof(&w));
    CHECK(st_wait(&st.closes, 1));
    CHECK_EQ_INT(st_get(&st.close_code), 1000);
    CHECK(strcmp(st.close_reason, "see you") == 0);
    CHECK_EQ_INT(st_get(&st.msgs), 2);
    wsc_close(&w);
    server_stop(&s);
    CHECK_EQ_INT(st.closes, 1);
}

static int http_status(int port, const char *req, char *resp, size_t cap) {
    int fd = frt_connect(port, g_rcvbuf);
    size_t have = 0;
    if (fd < 0) return -1;
    frt_send_all(fd, req, strlen(req));
    for (;;) {
        ssize_t k = recv(fd, resp + have, cap - 1 - have, 0);
        if (k <= 0) break;
        have += (size_t)k;
    }
    resp[have] = 0;
    close(fd);
    return have > 12 ? atoi(resp + 9) : -1;
}

static void test_live_bad_handshakes(void) {
    server s;
    char resp[2048];
    st_reset();
    REQ(server_start(&s, 1) == 0);
    CHECK_EQ_INT(http_status(s.port, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", resp, sizeof resp), 426);
    CHECK(strstr(resp, "sec-websocket-version: 13\r\n") != NULL);
    CHECK(strstr(resp, "{\"detail\":\"Missing or invalid Upgrade header\"}") != NULL);
    CHECK_EQ_INT(http_status(s.port,
                             "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: abc\r\n\r\n",
                             resp, sizeof resp),
                 400);
    CHECK_EQ_INT(http_status(s.port,
                             "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                             "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: " KEY "\r\n\r\n",
                             resp, sizeof resp),
                 426);
    CHECK_EQ_INT(http_status(s.port,
                             "POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"
                             "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " KEY "\r\nContent-Length: 0\r\n\r\n",
                             resp, sizeof resp),
                 405);
    server_stop(&s);
    CHECK_EQ_INT(st.opens, 0);
    CHECK_EQ_INT(st.closes, 0);
}

typedef struct sender_arg {
    fr_ws *ws;
    int n, ok;
} sender_arg;

static void *sender(void *arg) {
    sender_arg *a = (sender_arg *)arg;
    int i;
    char msg[32];
    for (i = 0; i < a->n; i++) {
        int k = snprintf(msg, sizeof msg, "m%d", i);
        if (fr_ws_send_text(a->ws, msg, (size_t)k) == FR_WS_OK) a->ok++;
    }
    fr_ws_close(a->ws, 1000, "done", 4);
    return NULL;
}

/* Sends and the close come from a thread that owns no connection. */
static void test_live_other_thread(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    sender_arg a;
    pthread_t t;
    int i, got = 0, ok = 1;
    st_reset();
    st.keep = 1;
    REQ(server_start(&s, 2) == 0);
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    REQ(st_wait(&st.opens, 1));
    memset(&a, 0, sizeof a);
    a.ws = st.ws;
    a.n = 2000;
    REQ(pthread_create(&t, NULL, sender, &a) == 0);
    for (i = 0; i < 2000; i++) {
        char want[32];
        int k = snprintf(want, sizeof want, "m%d", i);
        if (wsc_recv(&w, &ev, out, sizeof out) != FR_WS_TEXT) break;
        if (ev.len != (size_t)k || memcmp(ev.data, want, (size_t)k) != 0) ok = 0;
        got++;
    }
    pthread_join(t, NULL);
    CHECK_EQ_INT(a.ok, 2000);
    CHECK_EQ_INT(got, 2000);
    CHECK(ok);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE && ev.code == 1000);
    CHECK(fr_ws_send_text(st.ws, "late", 4) == FR_WS_ECLOSED);
    CHECK(fr_ws_close(st.ws, 1000, NULL, 0) == FR_WS_ECLOSED);
    CHECK(!fr_ws_is_open(st.ws));
    REQ(wsc_send(&w, FR_WS_CLOSE, NULL, 1000) == 0); /* the answer */
    CHECK(wsc_eof(&w));
    CHECK(st_wait(&st.closes, 1));
    CHECK_EQ_INT(st_get(&st.close_code), 1000);
    CHECK(fr_ws_send_text(st.ws, "later", 5) == FR_WS_ECLOSED);
    CHECK(fr_ws_request(st.ws) == NULL);
    fr_ws_release(st.ws); /* freed through the loop */
    wsc_close(&w);
    server_stop(&s);
}

/* A reference kept past fr_app_free is only freed by the last release. */
static void test_live_release_after_free(void) {
    server s;
    wsc w;
    st_reset();
    st.keep = 1;
    g_cfg.close_timeout_ms = 200;
    REQ(server_start(&s, 1) == 0);
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    REQ(st_wait(&st.opens, 1));
    server_stop(&s); /* graceful stop: 1001, unanswered: dropped after close_timeout_ms */
    CHECK_EQ_INT(st.closes, 1);
    CHECK(fr_ws_send_text(st.ws, "x", 1) == FR_WS_ECLOSED);
    CHECK(fr_ws_buffered(st.ws) == 0);
    fr_ws_release(st.ws);
    wsc_close(&w);
}

static void test_live_protocol_errors(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    uint8_t h[14];
    st_reset();
    g_cfg.max_message = 1000;
    REQ(server_start(&s, 1) == 0);
    /* an unmasked frame: 1002 and the server closes */
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    frt_send_all(w.fd, h, fr_ws_frame_head(h, 1, 0, FR_WS_TEXT, 0, NULL));
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE);
    CHECK(ev.code == 1002);
    CHECK(wsc_eof(&w));
    CHECK(st_wait(&st.closes, 1));
    CHECK_EQ_INT(st_get(&st.close_code), 1002);
    wsc_close(&w);
    /* too big: 1009 */
    {
        char big[2000];
        memset(big, 'a', sizeof big);
        REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
        REQ(wsc_send(&w, FR_WS_TEXT, big, sizeof big) == 0);
        CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE);
        CHECK(ev.code == 1009);
        CHECK(wsc_eof(&w));
        wsc_close(&w);
    }
    /* invalid UTF-8: 1007 */
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    REQ(frt_send_all(w.fd, "\x81\x82\x00\x00\x00\x00\xc0\xaf", 8) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE);
    CHECK(ev.code == 1007);
    CHECK(wsc_eof(&w));
    wsc_close(&w);
    /* TCP closed without a close frame: 1006 */
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    CHECK(st_wait(&st.opens, 4));
    wsc_close(&w);
    CHECK(st_wait(&st.closes, 4));
    CHECK_EQ_INT(st_get(&st.close_code), 1006);
    server_stop(&s);
}

/* Frames sent in the same packet as the handshake are not lost. */
static void test_live_glued_frames(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    fr_buf b = {NULL, 0, 0};
    st_reset();
    REQ(server_start(&s, 1) == 0);
    raw_frame(&b, 1, 0, FR_WS_TEXT, "early", 5);
    raw_frame(&b, 1, 0, FR_WS_TEXT, "bird", 4);
    REQ(wsc_open(&w, s.port, "/ws", NULL, b.buf, b.len) == 101);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_MEM(ev.data, ev.len, "early");
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_MEM(ev.data, ev.len, "bird");
    wsc_close(&w);
    fr_buf_free(&b);
    server_stop(&s);
}

/* The slow reader: sends beyond max_send_queue fail, on_drain follows. */
static void test_live_backpressure(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char msg[4096], out[8192];
    int i, k, ok = 0, full = 0, drains, texts, after;
    st_reset();
    st.keep = 1;
    g_cfg.max_send_queue = 65536;
    REQ(server_start(&s, 1) == 0);
    g_rcvbuf = 4096;
    i = wsc_open(&w, s.port, "/ws", NULL, NULL, 0);
    g_rcvbuf = 0;
    REQ(i == 101);
    REQ(st_wait(&st.opens, 1));
    memset(msg, 'q', sizeof msg);
    /* send until refused 5 times in a row, 20 ms apart: the kernel's
     * buffers are full by then and the queue stays over half the limit */
    for (i = 0; i < 100000 && full < 5; i++) {
        int r = fr_ws_send_binary(st.ws, msg, sizeof msg);
        if (r == FR_WS_OK) {
            ok++;
            full = 0;
        } else if (r == FR_WS_EFULL) {
            if (++full < 5) frt_sleep_ms(20);
        } else {
            break;
        }
    }
    CHECK(full == 5);
    CHECK(ok > 0 && ok < 20000);
    CHECK(fr_ws_buffered(st.ws) > 65536 / 2);
    CHECK(fr_ws_buffered(st.ws) <= 65536 + sizeof msg);
    /* The kernel's buffers may still take a little (loopback grows them):
     * wait until the queue stops moving while the client does not read */
    drains = st_get(&st.drains);
    for (i = 0; i < 50; i++) {
        frt_sleep_ms(50);
        if (st_get(&st.drains) == drains) break;
        drains = st_get(&st.drains);
    }
    CHECK_EQ_INT(st_get(&st.drains), drains); /* nothing moves while the client sleeps */
    /* every queued message arrives, with one "drained" per earlier on_drain
     * in between; the last refusal's on_drain speaks after all of them */
    texts = 0;
    for (i = 0; i < ok && texts <= drains;) {
        int op = wsc_recv(&w, &ev, out, sizeof out);
        if (op == FR_WS_BINARY && ev.len == sizeof msg) i++;
        else if (op == FR_WS_TEXT && ev.len == 7 && memcmp(ev.data, "drained", 7) == 0) texts++;
        else break;
    }
    CHECK_EQ_INT(i, ok);
    /* The "drained" texts not read yet follow the binaries: the last
     * refusal's (its on_drain runs once the client has read the queue) and
     * any on_drain that ran between the last accepted send and the final
     * refusals. Read until every on_drain so far has its text and none
     * comes for 200 ms (bounded). */
    after = 0;
    for (k = 0; k < 50; k++) {
        int d = st_get(&st.drains), bad = 0;
        while (texts < d) {
            if (wsc_recv(&w, &ev, out, sizeof out) != FR_WS_TEXT || ev.len != 7 ||
                memcmp(ev.data, "drained", 7) != 0) {
                bad = 1;
                break;
            }
            texts++;
            after++;
        }
        if (bad) break;
        frt_sleep_ms(after ? 200 : 50);
        if (after && st_get(&st.drains) == texts) break;
    }
    CHECK(after >= 1); /* the last refusal's on_drain spoke after all the binaries */
    CHECK_EQ_INT(texts, st_get(&st.drains)); /* one text per on_drain */
    CHECK(texts <= drains + 1); /* only the last refusal's can run after the count */
    CHECK(fr_ws_send_binary(st.ws, msg, sizeof msg) == FR_WS_OK);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_BINARY);
    fr_ws_release(st.ws);
    wsc_close(&w);
    server_stop(&s);
}

/* fr_ws_inline_writes(1): a send from a thread outside the loops goes
 * straight to a socket with nothing queued (nothing is left queued when it
 * returns); 0, the default, queues it for the loop. The peer gets every
 * message, in order, either way. */
static void test_live_inline_write(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    int i;
    st_reset();
    st.keep = 1;
    REQ(server_start(&s, 1) == 0);
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    REQ(st_wait(&st.opens, 1));
    for (i = 0; i < 500 && fr_ws_buffered(st.ws); i++) frt_sleep_ms(10); /* the 101 is out */
    CHECK_EQ_INT((int)fr_ws_buffered(st.ws), 0);
    CHECK_EQ_INT(fr_ws_inline_writes(1), 0); /* the default is off */
    CHECK(fr_ws_send_text(st.ws, "inline", 6) == FR_WS_OK);
    CHECK_EQ_INT((int)fr_ws_buffered(st.ws), 0); /* written by this thread already */
    CHECK(fr_ws_send_binary(st.ws, "two", 3) == FR_WS_OK);
    CHECK_EQ_INT(fr_ws_inline_writes(0), 1);
    CHECK(fr_ws_send_text(st.ws, "queued", 6) == FR_WS_OK);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_MEM(ev.data, ev.len, "inline");
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_BINARY);
    CHECK_EQ_MEM(ev.data, ev.len, "two");
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_MEM(ev.data, ev.len, "queued");
    fr_ws_release(st.ws);
    wsc_close(&w);
    server_stop(&s);
}

/* fr_ws_defer_wakes(1): a send from a thread outside the loops is queued
 * but the loop is not woken for it (the loop wakes for nothing else here:
 * no pings, the client is silent), so it stays queued until
 * fr_ws_flush_wakes, or fr_ws_defer_wakes(0), which flushes; then the peer
 * gets every message in order. An inline write needs no wake-up. */
/* A server of one loop with one kept WebSocket that nothing else wakes for
 * (no pings, a silent client), its 101 written. 0, or -1. */
static int open_quiet(server *s, wsc *w) {
    int i;
    st_reset();
    st.keep = 1;
    g_cfg.ping_interval_ms = -1;
    if (server_start(s, 1) != 0) return -1;
    if (wsc_open(w, s->port, "/ws", NULL, NULL, 0) != 101 || !st_wait(&st.opens, 1)) return -1;
    for (i = 0; i < 500 && fr_ws_buffered(st.ws); i++) frt_sleep_ms(10); /* the 101 is out */
    return fr_ws_buffered(st.ws) == 0 ? 0 : -1;
}

/* Send text `msg` (wake-ups deferred) until its wake-up is deferred: a
 * wake-up is owed only to a loop that waits, and one still busy (a loaded
 * machine: its thread not yet back in epoll) takes the frame itself; then
 * again a little later. The number of sends (the last one deferred), 0 if
 * none was in 50 tries. */
static int send_until_deferred(fr_ws *ws, const char *msg) {
    int n;
    for (n = 1; n <= 50; n++) {
        if (fr_ws_send_text(ws, msg, strlen(msg)) != FR_WS_OK) return 0;
        if (fr_ws_pending_wakes() == 1) return n;
        frt_sleep_ms(20);
    }
    return 0;
}

static void test_live_defer_wakes(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    int i, tries, deferred = 0;
    REQ(open_quiet(&s, &w) == 0);
    CHECK_EQ_INT(fr_ws_defer_wakes(1), 0); /* the default is off */
    /* as send_until_deferred, with two frames */
    for (tries = 0; tries < 50 && !deferred; tries++) {
        frt_sleep_ms(tries ? 20 : 0);
        CHECK(fr_ws_send_text(st.ws, "one", 3) == FR_WS_OK);
        CHECK(fr_ws_send_binary(st.ws, "two", 3) == FR_WS_OK);
        deferred = fr_ws_pending_wakes() == 1; /* one loop, once */
        if (deferred) {
            frt_sleep_ms(30);
            CHECK_EQ_INT((int)fr_ws_buffered(st.ws), 10); /* two 5-byte frames, not written */
            CHECK_EQ_INT(fr_ws_flush_wakes(), 1);
        }
        CHECK_EQ_INT(fr_ws_pending_wakes(), 0);
        CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
        CHECK_EQ_MEM(ev.data, ev.len, "one");
        CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_BINARY);
        CHECK_EQ_MEM(ev.data, ev.len, "two");
        for (i = 0; i < 500 && fr_ws_buffered(st.ws); i++) frt_sleep_ms(10);
    }
    CHECK(deferred);
    CHECK(fr_ws_send_text(st.ws, "three", 5) == FR_WS_OK);
    if (fr_ws_pending_wakes() == 1) CHECK_EQ_INT((int)fr_ws_buffered(st.ws), 7); /* else the loop was busy */
    CHECK_EQ_INT(fr_ws_defer_wakes(0), 1); /* flushes */
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_MEM(ev.data, ev.len, "three");
    for (i = 0; i < 500 && fr_ws_buffered(st.ws); i++) frt_sleep_ms(10);
    fr_ws_defer_wakes(1);
    fr_ws_inline_writes(1);
    CHECK(fr_ws_send_text(st.ws, "inline", 6) == FR_WS_OK);
    CHECK_EQ_INT((int)fr_ws_buffered(st.ws), 0); /* written by this thread: nothing to wake for */
    CHECK_EQ_INT(fr_ws_pending_wakes(), 0);
    fr_ws_inline_writes(0);
    fr_ws_defer_wakes(0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_MEM(ev.data, ev.len, "inline");
    fr_ws_release(st.ws);
    wsc_close(&w);
    server_stop(&s);
}

/* A thread that ends with deferred wake-ups left (it never flushed) wakes
 * its loops as it ends and its wake set leaves the registry: the message
 * reaches the peer, and no set of a thread that is gone stays behind. */
typedef struct {
    fr_ws *ws;
    int sends;
} defer_exit_arg;

static void *defer_and_exit(void *arg) {
    defer_exit_arg *a = (defer_exit_arg *)arg;
    fr_ws_defer_wakes(1);
    a->sends = send_until_deferred(a->ws, "bye");
    return NULL; /* no flush */
}

static void test_live_defer_wakes_thread_exit(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[64];
    pthread_t t;
    defer_exit_arg a;
    int i, n0;
    REQ(open_quiet(&s, &w) == 0);
    n0 = frt_wake_sets();
    a.ws = st.ws;
    a.sends = 0;
    REQ(pthread_create(&t, NULL, defer_and_exit, &a) == 0);
    pthread_join(t, NULL);
    CHECK(a.sends > 0); /* the last one deferred */
    CHECK_EQ_INT(frt_wake_sets(), n0);
    for (i = 0; i < a.sends; i++) {
        CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
        CHECK_EQ_MEM(ev.data, ev.len, "bye");
    }
    fr_ws_release(st.ws);
    wsc_close(&w);
    server_stop(&s);
}

/* A deferred wake-up left for an app that is then freed: fr_app_free takes
 * its loop out of the sender's set, so the flush wakes nothing (and reads
 * no freed loop: the ASan build reports a use after free otherwise). */
static void test_live_defer_wakes_outlive_app(void) {
    server s;
    wsc w;
    REQ(open_quiet(&s, &w) == 0);
    fr_ws_defer_wakes(1);
    CHECK(send_until_deferred(st.ws, "late") > 0);
    fr_ws_release(st.ws);
    server_stop(&s);
    CHECK_EQ_INT(fr_ws_pending_wakes(), 0);
    CHECK_EQ_INT(fr_ws_flush_wakes(), 0);
    CHECK_EQ_INT(fr_ws_defer_wakes(0), 1);
    wsc_close(&w);
}

/* The deflate test's message i: half the same words (the context helps),
 * half noise (it still costs bytes). */
static int deflate_msg(char *buf, size_t cap, int i) {
    unsigned x = (unsigned)i * 2654435761u;
    return snprintf(buf, cap, "message %d: the same words again %08x%08x%08x", i, x, x ^ 0x5bd1e995u, x * 97u);
}

/* Reads the client's next message and checks it is accepted[*r] (on_drain's
 * "drained" texts come in between and are skipped). -1 when the stream broke. */
static int deflate_read_one(wsc *w, const int *accepted, int *r, int *good) {
    fr_ws_event ev;
    char out[256], want[128];
    int k = deflate_msg(want, sizeof want, accepted[*r]);
    if (wsc_recv(w, &ev, out, sizeof out) != FR_WS_TEXT) return -1; /* -2: the stream broke */
    if (ev.len == 7 && memcmp(ev.data, "drained", 7) == 0) return 0;
    if (ev.len == (size_t)k && memcmp(ev.data, want, (size_t)k) == 0) (*good)++;
    (*r)++;
    return 0;
}

/* Waits up to 2 s for an on_drain after d0; 1 when one came. */
static int deflate_drained_since(int d0) {
    int w;
    for (w = 0; w < 200 && st_get(&st.drains) == d0; w++) frt_sleep_ms(10);
    return st_get(&st.drains) != d0;
}

/* permessage-deflate with a full queue: refused messages never reach the
 * compressed stream the client decodes (the compressor forgets them). */
static void test_live_deflate_backpressure(void) {
    server s;
    wsc w;
    char msg[128];
    static int accepted[200000];
    int i, n = 0, ok = 0, full = 0, good = 0, r = 0, broke = 0;
    fr_str ext;
    st_reset();
    st.keep = 1;
    g_cfg.max_send_queue = 4096;
    g_cfg.ping_interval_ms = -1; /* a slow machine's run outlasts the interval: no pings among the texts */
    REQ(server_start(&s, 1) == 0);
    g_rcvbuf = 4096;
    i = wsc_open(&w, s.port, "/ws", "Sec-WebSocket-Extensions: permessage-deflate\r\n", NULL, 0);
    g_rcvbuf = 0;
    REQ(i == 101);
    REQ(st_wait(&st.opens, 1));
    ext = fr_ws_extensions(st.ws);
#if FR_ENABLE_ZLIB
    CHECK_EQ_MEM(ext.buf, ext.len, "permessage-deflate");
#else
    CHECK(ext.len == 0);
#endif
    for (i = 0; i < 200000; i++) {
        int k = deflate_msg(msg, sizeof msg, i);
        int res = fr_ws_send_text(st.ws, msg, (size_t)k);
        if (res == FR_WS_OK) {
            accepted[ok++] = i;
        } else if (res == FR_WS_EFULL) {
            /* refused: go on once the loop moved the queue into the socket
             * (on_drain). Bounded by the drains, not by a guess of how soon
             * a busy machine runs the loop thread. */
            int d0 = st_get(&st.drains);
            if (!deflate_drained_since(d0)) {
                /* the socket is full as well (the client reads nothing yet) */
                if (full > 0) break; /* refused at the end: done */
                /* Refused before any refusal was taken again: the loop had
                 * already filled the socket. The client reads (checking each
                 * message) until the loop moves the queue; bounded by what
                 * was accepted. */
                while (st_get(&st.drains) == d0 && r < ok && !broke) broke = deflate_read_one(&w, accepted, &r, &good) < 0;
                if (broke || !deflate_drained_since(d0)) break;
            }
            full++;
        } else {
            break;
        }
    }
    n = i;
    CHECK(!broke);
    CHECK(full >= 1); /* refused and then taken again */
    CHECK(i < 200000); /* and refused at the end */
    CHECK(ok > 0 && ok < n);
    for (i = 1; i < ok && accepted[i] == accepted[i - 1] + 1; i++) {
    }
    CHECK(i < ok); /* some were refused in the middle: the stream must survive the gap */
    while (r < ok && !broke) broke = deflate_read_one(&w, accepted, &r, &good) < 0;
    CHECK_EQ_INT(good, ok);
    fr_ws_release(st.ws);
    wsc_close(&w);
    server_stop(&s);
}

static void test_live_ping_timeout(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    st_reset();
    g_cfg.ping_interval_ms = 300;
    REQ(server_start(&s, 1) == 0);
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_PING); /* after 300 ms of silence */
    /* no pong, nothing at all: failed with 1011 */
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE);
    CHECK(ev.code == 1011);
    CHECK(wsc_eof(&w));
    CHECK(st_wait(&st.closes, 1));
    CHECK_EQ_INT(st_get(&st.close_code), 1011);
    wsc_close(&w);
    /* a client that answers stays */
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_PING);
    REQ(wsc_send(&w, FR_WS_PONG, ev.data, ev.len) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_PING);
    REQ(wsc_send(&w, FR_WS_PONG, ev.data, ev.len) == 0);
    REQ(wsc_send(&w, FR_WS_TEXT, "still here", 10) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_INT(st_get(&st.closes), 1);
    wsc_close(&w);
    server_stop(&s);
}

/* We close, the peer never answers: TCP goes after close_timeout_ms (1006). */
static void test_live_close_timeout(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    st_reset();
    g_cfg.close_timeout_ms = 300;
    REQ(server_start(&s, 1) == 0);
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    REQ(wsc_send(&w, FR_WS_TEXT, "close-me", 8) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE);
    CHECK(ev.code == 4001);
    CHECK_EQ_MEM(ev.data, ev.len, "as asked");
    CHECK(wsc_eof(&w));
    CHECK(st_wait(&st.closes, 1));
    CHECK_EQ_INT(st_get(&st.close_code), 1006);
    wsc_close(&w);
    /* the same with an answer: the peer's code */
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    REQ(wsc_send(&w, FR_WS_TEXT, "close-me", 8) == 0);
    REQ(wsc_send(&w, FR_WS_TEXT, "dropped", 7) == 0); /* after the server's close: discarded */
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE);
    REQ(wsc_send(&w, FR_WS_CLOSE, NULL, 4001) == 0);
    CHECK(wsc_eof(&w));
    CHECK(st_wait(&st.closes, 2));
    CHECK_EQ_INT(st_get(&st.close_code), 4001);
    CHECK_EQ_INT(st_get(&st.msgs), 2); /* "dropped" never reached on_message */
    wsc_close(&w);
    server_stop(&s);
}

static void test_live_graceful_stop(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    st_reset();
    REQ(server_start(&s, 2) == 0);
    REQ(wsc_open(&w, s.port, "/ws", NULL, NULL, 0) == 101);
    REQ(st_wait(&st.opens, 1));
    fr_stop(s.app);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_CLOSE);
    CHECK(ev.code == 1001);
    REQ(wsc_send(&w, FR_WS_CLOSE, NULL, 1001) == 0);
    CHECK(wsc_eof(&w));
    pthread_join(s.thr, NULL); /* returns once the socket is closed */
    CHECK_EQ_INT(st.closes, 1);
    CHECK_EQ_INT(st.close_code, 1001);
    fr_app_free(s.app);
    wsc_close(&w);
}

typedef struct accept_arg {
    fr_req *req;
    fr_ws *ws;
} accept_arg;

static void *acceptor(void *arg) {
    accept_arg *a = (accept_arg *)arg;
    a->ws = fr_ws_accept(a->req, &g_cfg);
    return NULL;
}

/* An FR_PENDING handler's request upgraded from another thread. */
static void test_live_accept_from_thread(void) {
    server s;
    wsc w;
    fr_ws_event ev;
    char out[256];
    accept_arg a;
    pthread_t t;
    int i;
    st_reset();
    REQ(server_start(&s, 1) == 0);
    w.fd = -1;
    {
        /* wsc_open blocks for the answer: connect by hand and wait for the request */
        fr_ws_codec_config cc;
        char *end = NULL;
        int n;
        memset(&w, 0, sizeof w);
        w.fd = send_upgrade(s.port, "/hold");
        REQ(w.fd >= 0);
        a.req = NULL;
        for (i = 0; i < 500 && !a.req; i++) {
            pthread_mutex_lock(&st_mu);
            a.req = st.held;
            pthread_mutex_unlock(&st_mu);
            if (!a.req) frt_sleep_ms(10);
        }
        REQ(a.req);
        a.ws = NULL;
        REQ(pthread_create(&t, NULL, acceptor, &a) == 0);
        pthread_join(t, NULL);
        REQ(a.ws);
        while (!end) {
            ssize_t k = recv(w.fd, w.buf + w.have, sizeof w.buf - w.have, 0);
            REQ(k > 0);
            w.have += (size_t)k;
            end = (char *)memmem(w.buf, w.have, "\r\n\r\n", 4);
        }
        CHECK(memcmp(w.buf, "HTTP/1.1 101 ", 13) == 0);
        n = (int)(end + 4 - w.buf);
        memmove(w.buf, w.buf + n, w.have - (size_t)n);
        w.have -= (size_t)n;
        memset(&cc, 0, sizeof cc);
        cc.client = 1;
        w.c = fr_ws_codec_new(&cc);
        REQ(w.c);
    }
    REQ(wsc_send(&w, FR_WS_TEXT, "late accept", 11) == 0);
    CHECK(wsc_recv(&w, &ev, out, sizeof out) == FR_WS_TEXT);
    CHECK_EQ_MEM(ev.data, ev.len, "late accept");
    CHECK(st_wait(&st.opens, 1));
    wsc_close(&w);
    CHECK(st_wait(&st.closes, 1));
    server_stop(&s);
}

/* fr_poll: a game loop broadcasting to many sockets per tick. */
static void test_live_poll_broadcast(void) {
    enum { N = 64 };
    fr_app *app;
    int port, i, k, tick, fds[N];
    fr_ws_codec *cc[N];
    st_reset();
    app = poll_app("/ws", &g_cfg, &port);
    REQ(app);
    for (i = 0; i < N; i++) {
        fr_ws_codec_config c;
        fds[i] = send_upgrade(port, "/ws");
        REQ(fds[i] >= 0);
        memset(&c, 0, sizeof c);
        c.client = 1;
        cc[i] = fr_ws_codec_new(&c);
    }
    /* opens are counted in on_open; the list is taken from the callbacks' ws */
    for (k = 0; k < 200 && st.opens < N; k++) fr_poll(app, 10);
    REQ(st.opens == N);
    for (i = 0; i < N; i++) {
        char b[1024];
        ssize_t n = recv(fds[i], b, sizeof b, 0);
        CHECK(n > 12 && memcmp(b, "HTTP/1.1 101", 12) == 0);
    }
    for (tick = 0; tick < 3; tick++) {
        /* each client sends one message; the echo comes back in the same poll round */
        for (i = 0; i < N; i++) {
            fr_buf b = {NULL, 0, 0};
            char m[32];
            int n = snprintf(m, sizeof m, "t%d c%d", tick, i);
            fr_ws_codec_write(cc[i], &b, FR_WS_TEXT, 1, m, (size_t)n);
            frt_send_all(fds[i], b.buf, b.len);
            fr_buf_free(&b);
        }
        for (k = 0; k < 100 && st.msgs < N * (tick + 1); k++) fr_poll(app, 10);
        CHECK_EQ_INT(st.msgs, N * (tick + 1));
        for (i = 0; i < N; i++) {
            char b[256], want[32];
            fr_ws_event ev;
            size_t used;
            ssize_t n = recv(fds[i], b, sizeof b, 0);
            int wl = snprintf(want, sizeof want, "t%d c%d", tick, i);
            CHECK(n > 0 && fr_ws_codec_read(cc[i], b, (size_t)n, &used, &ev) == 1);
            CHECK(ev.len == (size_t)wl && memcmp(ev.data, want, (size_t)wl) == 0);
        }
    }
    for (i = 0; i < N; i++) {
        close(fds[i]);
        fr_ws_codec_free(cc[i]);
    }
    for (k = 0; k < 200 && st.closes < N; k++) fr_poll(app, 10);
    CHECK_EQ_INT(st.closes, N);
    fr_stop(app);
    for (k = 0; k < 100 && fr_poll(app, 10) >= 0; k++) {
    }
    fr_app_free(app);
}

/* fr_poll + a game loop's broadcast from the poll thread (fr_ws_broadcast). */
static fr_ws *g_bc[128];
static int g_nbc;
static void cb_bc_open(fr_ws *ws, void *ud) {
    (void)ud;
    fr_ws_retain(ws);
    g_bc[g_nbc++] = ws;
}

static void test_live_poll_fr_ws_broadcast(void) {
    enum { N = 100 };
    fr_app *app;
    fr_ws_config wc;
    int port, i, k, fds[N];
    memset(&wc, 0, sizeof wc);
    wc.on_open = cb_bc_open;
    g_nbc = 0;
    app = poll_app("/bc", &wc, &port);
    REQ(app);
    for (i = 0; i < N; i++) {
        fds[i] = send_upgrade(port, "/bc");
        REQ(fds[i] >= 0);
    }
    for (k = 0; k < 200 && g_nbc < N; k++) fr_poll(app, 10);
    REQ(g_nbc == N);
    for (i = 0; i < N; i++) {
        char b[1024];
        ssize_t n = recv(fds[i], b, sizeof b, 0);
        CHECK(n > 12 && memcmp(b, "HTTP/1.1 101", 12) == 0);
    }
    CHECK_EQ_INT(fr_ws_broadcast(g_bc, (size_t)g_nbc, FR_WS_TEXT, "{\"tick\":1}", 10), N);
    CHECK_EQ_INT(fr_ws_broadcast(g_bc, (size_t)g_nbc, FR_WS_TEXT, "\xff", 1), FR_WS_EINVAL);
    for (k = 0; k < 5; k++) fr_poll(app, 5);
    for (i = 0; i < N; i++) {
        char b[64];
        ssize_t n = recv(fds[i], b, sizeof b, 0);
        CHECK(n == 12 && memcmp(b, "\x81\x0a{\"tick\":1}", 12) == 0);
    }
    for (i = 0; i < N; i++) {
        close(fds[i]);
        fr_ws_release(g_bc[i]); /* still open: the connection's reference remains */
    }
    fr_stop(app);
    for (k = 0; k < 300 && fr_poll(app, 10) >= 0; k++) {
    }
    fr_app_free(app);
}

/* fr_poll + a host loop that sends one message per socket from its own
 * thread, outside the callbacks, with fr_ws_defer_wakes: the loop's fd
 * (fr_app_pollfd, what a host waits on) stays quiet until the flush makes
 * it readable, then fr_poll writes the message to every socket. */
static void test_live_poll_defer_wakes(void) {
    enum { N = 40 };
    fr_app *app;
    fr_ws_config wc;
    struct pollfd pf;
    int port, i, k, fds[N];
    memset(&wc, 0, sizeof wc);
    wc.on_open = cb_bc_open;
    wc.ping_interval_ms = -1;
    g_nbc = 0;
    app = poll_app("/bc", &wc, &port);
    REQ(app);
    for (i = 0; i < N; i++) {
        fds[i] = send_upgrade(port, "/bc");
        REQ(fds[i] >= 0);
    }
    for (k = 0; k < 200 && g_nbc < N; k++) fr_poll(app, 10);
    REQ(g_nbc == N);
    for (i = 0; i < N; i++) {
        char b[1024];
        ssize_t n = recv(fds[i], b, sizeof b, 0);
        CHECK(n > 12 && memcmp(b, "HTTP/1.1 101", 12) == 0);
    }
    pf.fd = fr_app_pollfd(app);
    pf.events = POLLIN;
    REQ(pf.fd >= 0);
    for (k = 0; k < 100 && poll(&pf, 1, 0) > 0; k++) fr_poll(app, 0); /* what is left of the opens */
    REQ(poll(&pf, 1, 0) == 0);
    fr_ws_defer_wakes(1);
    for (i = 0; i < N; i++) CHECK(fr_ws_send_text(g_bc[i], "{\"tick\":2}", 10) == FR_WS_OK);
    CHECK_EQ_INT(fr_ws_pending_wakes(), 1);
    CHECK_EQ_INT(poll(&pf, 1, 50), 0); /* deferred: a host waiting on the fd sleeps on */
    for (i = 0; i < N; i++) {
        char b[64];
        CHECK(recv(fds[i], b, sizeof b, MSG_DONTWAIT) < 0 && errno == EAGAIN);
        CHECK_EQ_INT((int)fr_ws_buffered(g_bc[i]), 12);
    }
    CHECK_EQ_INT(fr_ws_flush_wakes(), 1);
    CHECK_EQ_INT(poll(&pf, 1, 1000), 1); /* the flush woke it */
    fr_ws_defer_wakes(0);
    for (k = 0; k < 5; k++) fr_poll(app, 5);
    for (i = 0; i < N; i++) {
        char b[64];
        ssize_t n = recv(fds[i], b, sizeof b, 0);
        CHECK(n == 12 && memcmp(b, "\x81\x0a{\"tick\":2}", 12) == 0);
    }
    for (i = 0; i < N; i++) {
        close(fds[i]);
        fr_ws_release(g_bc[i]);
    }
    fr_stop(app);
    for (k = 0; k < 300 && fr_poll(app, 10) >= 0; k++) {
    }
    fr_app_free(app);
}

static int sink_status;
static void sink_start(void *ud, int status, const fr_header *h, size_t n) {
    (void)ud;
    (void)h;
    (void)n;
    sink_status = status;
}
static int sink_body(void *ud, const char *d, size_t l, int more) {
    (void)ud;
    (void)d;
    (void)l;
    (void)more;
    return 0;
}

/* No socket to upgrade: fr_dispatch gets 501; a bad handshake its 426. */
static void test_dispatch_refused(void) {
    fr_app *app = fr_app_new(NULL);
    fr_header hs[] = {H("host", "x"), H("upgrade", "websocket"), H("connection", "upgrade"),
                      H("sec-websocket-key", KEY), H("sec-websocket-version", "13")};
    fr_request_desc d;
    fr_sink sink = {sink_start, sink_body, NULL};
    st_reset();
    REQ(app);
    REQ(fr_ws_route(app, "/ws", &g_cfg) == 0);
    memset(&d, 0, sizeof d);
    d.method = FR_STR("GET");
    d.target = FR_STR("/ws");
    d.headers = hs;
    d.nheaders = 5;
    sink_status = 0;
    CHECK(fr_dispatch(app, &d, &sink) == 0);
    CHECK_EQ_INT(sink_status, 501);
    d.nheaders = 1;
    CHECK(fr_dispatch(app, &d, &sink) == 0);
    CHECK_EQ_INT(sink_status, 426);
    fr_app_free(app);
    CHECK_EQ_INT(st.opens, 0);
}

/* fr_ws_check: the handshake decision without accepting; a bad one is
 * answered as fr_ws_accept answers it. */
static int check_status;
static int check_handler(fr_req *req, void *ud) {
    (void)ud;
    check_status = fr_ws_check(req);
    if (check_status == 0) return fr_res_text(req, 204, "text/plain", "", 0);
    return FR_DONE;
}

static void test_check_without_accept(void) {
    fr_app *app = fr_app_new(NULL);
    fr_header hs[] = {H("host", "x"), H("upgrade", "websocket"), H("connection", "upgrade"),
                      H("sec-websocket-key", KEY), H("sec-websocket-version", "13")};
    fr_request_desc d;
    fr_sink sink = {sink_start, sink_body, NULL};
    REQ(app);
    REQ(fr_route(app, "GET", "/ws", check_handler, NULL) == 0);
    memset(&d, 0, sizeof d);
    d.method = FR_STR("GET");
    d.target = FR_STR("/ws");
    d.headers = hs;
    d.nheaders = 5;
    CHECK(fr_dispatch(app, &d, &sink) == 0);
    CHECK_EQ_INT(check_status, 0);
    CHECK_EQ_INT(sink_status, 204);
    d.nheaders = 1; /* no Upgrade/Connection */
    CHECK(fr_dispatch(app, &d, &sink) == 0);
    CHECK_EQ_INT(check_status, -1);
    CHECK_EQ_INT(sink_status, 426);
    hs[3].value = FR_STR("abc"); /* not base64 of 16 bytes */
    d.nheaders = 5;
    CHECK(fr_dispatch(app, &d, &sink) == 0);
    CHECK_EQ_INT(check_status, -1);
    CHECK_EQ_INT(sink_status, 400);
    CHECK_EQ_INT(fr_ws_check(NULL), -1);
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_utf8_valid_invalid),
    FRT(test_utf8_fail_fast_split),
    FRT(test_frame_heads),
    FRT(test_mask_pieces),
    FRT(test_close_codes),
    FRT(test_accept_key),
    FRT(test_handshake_check),
    FRT(test_deflate_negotiation),
    FRT(test_codec_messages),
    FRT(test_codec_zero_copy),
    FRT(test_codec_protocol_errors),
    FRT(test_codec_fail_fast),
    FRT(test_codec_client_side),
    FRT(test_deflate_round_trip),
    FRT(test_deflate_from_zlib),
    FRT(test_deflate_bomb),
    FRT(test_live_echo),
    FRT(test_live_bad_handshakes),
    FRT(test_live_other_thread),
    FRT(test_live_release_after_free),
    FRT(test_live_protocol_errors),
    FRT(test_live_glued_frames),
    FRT(test_live_backpressure),
    FRT(test_live_inline_write),
    FRT(test_live_defer_wakes),
    FRT(test_live_defer_wakes_thread_exit),
    FRT(test_live_defer_wakes_outlive_app),
    FRT(test_live_deflate_backpressure),
    FRT(test_live_ping_timeout),
    FRT(test_live_close_timeout),
    FRT(test_live_graceful_stop),
    FRT(test_live_accept_from_thread),
    FRT(test_live_poll_broadcast),
    FRT(test_live_poll_fr_ws_broadcast),
    FRT(test_live_poll_defer_wakes),
    FRT(test_dispatch_refused),
    FRT(test_check_without_accept),
};

FRT_MAIN()
