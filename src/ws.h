/* ---- ws.h: WebSockets (RFC 6455) with permessage-deflate (RFC 7692) ----
 *
 * Two layers:
 *  - the server API (fr_ws_accept / fr_ws_route, callbacks, fr_ws_send_*
 *    from any thread, fr_ws_close): a route's handler upgrades its request
 *    and the connection becomes a WebSocket served by the same event loop
 *    (fr_serve threads or the host's fr_poll loop);
 *  - the sans-IO building blocks it is made of, public for C users with
 *    their own sockets and for tests: handshake check, accept key,
 *    permessage-deflate negotiation, frame head codec, masking, incremental
 *    UTF-8 validation, and fr_ws_codec (bytes in -> message events, messages
 *    -> frames), usable as server or client.
 *
 * A minimal echo server:
 *
 *     static void on_msg(fr_ws *ws, int op, const char *data, size_t len, void *ud) {
 *         (void)ud;
 *         fr_ws_send(ws, op, data, len);           // echo text as text, binary as binary
 *     }
 *     static const fr_ws_config echo = {.on_message = on_msg};
 *     ...
 *     fr_ws_route(app, "/ws", &echo);              // GET /ws upgrades, else 426/400
 *
 * Threading model
 *  - on_open, on_message, on_drain and on_close run on the loop thread that
 *    owns the connection (the fr_poll caller under fr_poll), one at a time
 *    per connection; they may call every fr_ws_* function.
 *  - fr_ws_send*, fr_ws_ping, fr_ws_close and fr_ws_broadcast may be called
 *    from ANY thread: they frame the message (compressing it when
 *    permessage-deflate is on), queue the bytes and wake the owning loop,
 *    which writes them. They never block.
 *  - A ws is valid from fr_ws_accept until its on_close returns. To use it
 *    from another thread (or keep it after on_close) take a reference with
 *    fr_ws_retain and drop it with fr_ws_release; calls on a closed ws
 *    return FR_WS_ECLOSED. A kept reference holds only the ws's own memory
 *    (the connection and its request are released when on_close has run),
 *    so it never delays a graceful stop; it may be released after
 *    fr_app_free too.
 *
 * Close semantics
 *  - on_close(code, reason) runs exactly once per accepted ws, when the
 *    connection is over: code is the peer's close code (1005 when its close
 *    frame had none), the code we failed the connection with (1002 protocol
 *    error, 1007 invalid UTF-8/payload, 1009 too big, 1011 keepalive ping
 *    timeout), or 1006 when the TCP connection ended without a completed
 *    closing handshake (also on our fr_ws_close when the peer never
 *    answered within close_timeout_ms). on_open, when it ran, came first.
 *  - The peer's close frame is answered with the same code (an empty close
 *    when it had none) and the server then closes TCP first, as RFC 6455
 *    7.1.1 asks. After fr_ws_close, incoming data messages are discarded
 *    until the peer's close frame arrives.
 *  - fr_stop / a graceful stop sends 1001 (going away) to every open ws.
 *
 * Limits (each with a default and a knob in fr_ws_config)
 *  - max_message: total size of one (decompressed) message; beyond: 1009.
 *    Also bounds permessage-deflate output (stops decompression bombs).
 *  - max_frame: payload of one frame; beyond: 1009 as soon as the frame
 *    head is read (nothing is buffered for it).
 *  - max_send_queue: bytes queued for the socket and not yet written. A
 *    data message that would take a non-empty queue past it is refused with
 *    FR_WS_EFULL (nothing queued: the slow reader is never buffered without
 *    bound; a single message bigger than the limit still goes out when the
 *    queue is empty); on_drain runs once the queue is down to half after
 *    such a refusal. While the queue is over the limit the engine stops
 *    reading from that peer (its pings would make it grow) and automatic
 *    pongs are skipped. A peer that reads nothing at all is dropped after
 *    fr_config.send_timeout_ms without write progress (and min_send_rate).
 *  - ping_interval_ms: a ping is sent after that long without input; when
 *    nothing at all arrives during a second interval the connection fails
 *    with 1011.
 *  - close_timeout_ms: how long to wait for the peer's close frame.
 *
 * Memory: a ws owns its codec (reassembly buffer up to max_message; with
 * permessage-deflate one zlib inflate and one deflate stream, ~300 KB at 15
 * window bits; fewer bits shrink it) and keeps its upgrade request (headers,
 * path, params: fr_ws_request) until the connection is over. Messages are
 * handed to on_message without a copy when a frame arrives whole and
 * unfragmented and uncompressed. */

typedef struct fr_ws fr_ws;

/* Opcodes (RFC 6455 5.2); on_message gets FR_WS_TEXT or FR_WS_BINARY. */
enum fr_ws_opcode {
    FR_WS_CONT = 0,
    FR_WS_TEXT = 1,
    FR_WS_BINARY = 2,
    FR_WS_CLOSE = 8,
    FR_WS_PING = 9,
    FR_WS_PONG = 10
};

/* Close codes (RFC 6455 7.4.1). */
enum fr_ws_close_code {
    FR_WS_CLOSE_NORMAL = 1000,
    FR_WS_CLOSE_GOING_AWAY = 1001,
    FR_WS_CLOSE_PROTOCOL_ERROR = 1002,
    FR_WS_CLOSE_UNSUPPORTED_DATA = 1003,
    FR_WS_CLOSE_NO_STATUS = 1005,  /* never sent: "close frame without a code" */
    FR_WS_CLOSE_ABNORMAL = 1006,   /* never sent: "no closing handshake" */
    FR_WS_CLOSE_INVALID_DATA = 1007,
    FR_WS_CLOSE_POLICY = 1008,
    FR_WS_CLOSE_TOO_BIG = 1009,
    FR_WS_CLOSE_EXTENSION = 1010,
    FR_WS_CLOSE_INTERNAL = 1011
};

/* Results of the send functions. */
enum { FR_WS_OK = 0, FR_WS_ECLOSED = -1, FR_WS_EFULL = -2, FR_WS_EINVAL = -3 };

/* ---- server API ---- */

typedef struct fr_ws_config {
    /* callbacks (all optional), on the loop thread; ud = fr_ws_userdata(ws) */
    void (*on_open)(fr_ws *ws, void *ud);
    /* a whole message: opcode FR_WS_TEXT (valid UTF-8) or FR_WS_BINARY.
     * data is only valid during the call (not NUL-terminated). */
    void (*on_message)(fr_ws *ws, int opcode, const char *data, size_t len, void *ud);
    /* the send queue went back under max_send_queue / 2 after FR_WS_EFULL */
    void (*on_drain)(fr_ws *ws, void *ud);
    /* exactly once; reason is only valid during the call */
    void (*on_close)(fr_ws *ws, int code, fr_str reason, void *ud);
    void *userdata;              /* initial fr_ws_userdata */
    const char *subprotocol;     /* echoed in Sec-WebSocket-Protocol; NULL = none
                                    (pick it with fr_ws_subprotocol_offered) */
    uint64_t max_message;        /* 0 = FR_WS_MAX_MESSAGE */
    uint64_t max_frame;          /* 0 = max_message */
    size_t max_send_queue;       /* 0 = FR_WS_MAX_SEND_QUEUE */
    int ping_interval_ms;        /* 0 = FR_WS_PING_INTERVAL_MS; < 0 = never ping */
    int close_timeout_ms;        /* 0 = FR_WS_CLOSE_TIMEOUT_MS */
    int deflate;                 /* 1: accept permessage-deflate offers (FR_ENABLE_ZLIB
                                    builds; ignored otherwise) */
    int deflate_window_bits;     /* our compression window, 9..15 (0 = 15) */
    int deflate_level;           /* zlib level 1..9 (0 = 6) */
    int deflate_no_context_takeover; /* 1: reset our compressor after every message
                                        (server_no_context_takeover: less memory) */
} fr_ws_config;

/* Upgrade `req` (from its handler, inline or -- for an FR_PENDING request --
 * from any thread, before any fr_res_send/stream call). Checks the
 * handshake (fr_ws_check_request), negotiates permessage-deflate when
 * cfg->deflate, answers 101 Switching Protocols (plus any headers set with
 * fr_res_header before this call, e.g. set-cookie) and returns the ws; the
 * request now belongs to the ws (never call fr_res_send on it; the handler
 * returns FR_DONE or FR_PENDING, either works).
 * On a bad handshake the request is answered (400 or 426, JSON
 * {"detail":"..."}; 426 carries sec-websocket-version: 13) and NULL is
 * returned; also for a request from fr_dispatch (no socket to upgrade: 501)
 * or out of memory (500). cfg is copied except its strings (subprotocol must
 * stay valid until on_open) -- NULL = defaults, no callbacks. */
FR_API fr_ws *fr_ws_accept(fr_req *req, const fr_ws_config *cfg);

/* Check req's opening handshake as fr_ws_accept does, without accepting:
 * 0 when it is acceptable; else the request is answered (400/426, JSON
 * {"detail":"..."}, exactly as fr_ws_accept answers it) and -1 returned.
 * For a handler that hands the decision to accept to someone else (another
 * thread, a scripting language): a malformed upgrade never reaches them. */
FR_API int fr_ws_check(fr_req *req);

/* Register a GET route whose handler is fr_ws_accept(req, cfg). cfg is NOT
 * copied: it must outlive the app (a static struct). 0 / -1 as fr_route.
 * It answers every GET of the pattern (426 to a plain one). For Starlette's
 * WebSocketRoute instead (upgrades only, beside a plain GET route of the
 * same pattern, 404 otherwise) register a handler that calls fr_ws_accept
 * with fr_route_ex and fr_route_opts.websocket = 1. */
FR_API int fr_ws_route(fr_app *app, const char *pattern, const fr_ws_config *cfg);

/* Send one message (FR_WS_TEXT or FR_WS_BINARY; data copied). Any thread.
 * FR_WS_OK, FR_WS_ECLOSED (closing/closed, or OOM), FR_WS_EFULL (queue
 * limit: nothing queued), FR_WS_EINVAL (bad opcode; text not UTF-8). */
FR_API int fr_ws_send(fr_ws *ws, int opcode, const void *data, size_t len);
FR_API int fr_ws_send_text(fr_ws *ws, const char *text, size_t len);
FR_API int fr_ws_send_binary(fr_ws *ws, const void *data, size_t len);
/* A ping with up to 125 bytes of payload (the peer's pong is not reported). */
FR_API int fr_ws_ping(fr_ws *ws, const void *data, size_t len);
/* The same message to n sockets: framed once for every ws without
 * permessage-deflate. NULL entries are skipped. Returns how many queued it
 * (the others were closed or full), or FR_WS_EINVAL. Any thread. */
FR_API int fr_ws_broadcast(fr_ws *const *list, size_t n, int opcode, const void *data, size_t len);
/* Start the closing handshake: code 1000-4999 except the reserved ones
 * (0 = a close frame without code), reason up to 123 bytes of UTF-8.
 * FR_WS_OK, FR_WS_ECLOSED (already closing), FR_WS_EINVAL. Any thread. */
FR_API int fr_ws_close(fr_ws *ws, int code, const char *reason, size_t len);

/* Per thread: may fr_ws_send* / fr_ws_broadcast / fr_ws_close, called on
 * this thread outside the loops' callbacks, write a message straight to a
 * socket that has nothing queued (1) rather than queue it and wake the loop
 * that owns the socket (0, the default)? Writing inline spares a thread hop
 * per message (a reply: lower latency, less CPU); queueing lets a burst to
 * many sockets (a broadcast) go out from the loop threads, in parallel with
 * this one and batched. Callbacks and TLS sockets always queue. Limits,
 * EFULL and on_drain work the same either way. Returns the previous
 * setting. */
FR_API int fr_ws_inline_writes(int on);

/* Per thread: while on (1), a message that fr_ws_send* / fr_ws_broadcast /
 * fr_ws_ping / fr_ws_close queue from this thread does not wake the loop
 * that owns its socket at once (a callback's own socket needs no wake-up:
 * it is written when the callback returns); the loops are remembered, and
 * fr_ws_flush_wakes wakes each of them once.
 * For a thread that sends bursts (a broadcast written as one send per
 * socket, a host loop's batch of replies): one wake-up per loop per burst
 * instead of one per socket, and the loops sleep while the burst is queued
 * rather than take each socket's queue from under the sender. The bytes
 * wait for the flush (or for the loop to wake for another reason), so a
 * thread that turns this on calls fr_ws_flush_wakes at the end of each
 * burst; fr_ws_defer_wakes(0) flushes too, and so does the thread's end
 * (and fr_app_free forgets an app's loops: no flush reaches a freed
 * one). Messages written inline
 * (fr_ws_inline_writes) need no wake-up. Limits, EFULL and on_drain work
 * the same. Returns the previous setting. */
FR_API int fr_ws_defer_wakes(int on);
/* Wake the loops this thread's deferred sends left asleep; returns how many. */
FR_API int fr_ws_flush_wakes(void);
/* How many loops wait for this thread's fr_ws_flush_wakes (0: nothing to
 * flush; a sender can schedule its flush only when there is one). */
FR_API int fr_ws_pending_wakes(void);

/* userdata: set it from the loop thread (the handler that accepted inline,
 * or a callback); a handler that accepts from another thread passes it in
 * cfg->userdata instead (on_open may already be running). */
FR_API void fr_ws_retain(fr_ws *ws);
FR_API void fr_ws_release(fr_ws *ws); /* ws may be freed by this call */
FR_API void fr_ws_set_userdata(fr_ws *ws, void *ud);
FR_API void *fr_ws_userdata(const fr_ws *ws);
/* The upgrade request (path, query, headers, params, client address), for
 * the loop thread until on_close returns; NULL after. */
FR_API fr_req *fr_ws_request(const fr_ws *ws);
/* Bytes queued for this socket and not yet written (0 once closed). */
FR_API size_t fr_ws_buffered(const fr_ws *ws);
/* 1 while messages can be sent (no close sent or received), else 0. */
FR_API int fr_ws_is_open(const fr_ws *ws);
/* The negotiated Sec-WebSocket-Extensions value ("" = none); valid while
 * the ws is. */
FR_API fr_str fr_ws_extensions(const fr_ws *ws);

/* ---- handshake (RFC 6455 4.2) ---- */

/* What fr_ws_check_request extracted (views into the headers). */
typedef struct fr_ws_handshake {
    fr_str key; /* Sec-WebSocket-Key, 24 base64 chars */
} fr_ws_handshake;

/* Check an opening handshake: method GET, HTTP/1.1 or later (http_minor
 * >= 1), a Connection header with the "upgrade" token and an Upgrade header
 * with the "websocket" token (comma lists, any case, across repeated
 * fields; else 426), Sec-WebSocket-Version exactly "13" (else 426, answer
 * with sec-websocket-version: 13), exactly one Sec-WebSocket-Key that is
 * base64 of 16 bytes (else 400). 0, or -1 with err->code (400/426) and
 * err->msg. err may be NULL. */
FR_API int fr_ws_check_request(fr_str method, int http_minor, const fr_header *headers,
                               size_t nheaders, fr_ws_handshake *hs, fr_err *err);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), 28 chars +
 * NUL into out. 0, or -1 if key is not base64 of 16 bytes. */
FR_API int fr_ws_accept_key(fr_str key, char out[29]);

/* 1 if the request's Sec-WebSocket-Protocol fields (comma lists) offer
 * `name` (compared exactly, as RFC 6455 tokens are), else 0. */
FR_API int fr_ws_subprotocol_offered(const fr_req *req, const char *name);

/* ---- permessage-deflate (RFC 7692) ---- */

/* Negotiated parameters; enabled = 0 means no compression. Window bits are
 * 8..15 as on the wire (0 = 15). */
typedef struct fr_ws_deflate {
    int enabled;
    int server_max_window_bits;     /* the server compresses with at most this */
    int client_max_window_bits;     /* the client compresses with at most this */
    int server_no_context_takeover; /* the server resets its compressor per message */
    int client_no_context_takeover; /* the client resets its compressor per message */
    int level;                      /* our zlib level (0 = 6); not negotiated */
} fr_ws_deflate;

/* Server side: pick the first acceptable permessage-deflate offer from one
 * Sec-WebSocket-Extensions value (a comma list of offers, each with ';'
 * parameters; call once per header field until one is accepted). `want`
 * says what we insist on (server_max_window_bits: our window, 9..15, 0 =
 * 15; server_no_context_takeover). Offers with unknown, repeated or invalid
 * parameters (window bits outside 8..15, a value on a no_context_takeover)
 * or asking for server_max_window_bits=8 (zlib cannot honour it) are
 * skipped. On success fills *out, appends the response value (e.g.
 * "permessage-deflate; server_no_context_takeover; client_max_window_bits=15")
 * to resp and returns 1; 0 when no offer is acceptable; -1 on OOM. */
FR_API int fr_ws_deflate_accept(fr_str offers, const fr_ws_deflate *want, fr_ws_deflate *out,
                                fr_buf *resp);
/* Client side: check the server's response value against what we offered
 * (any permessage-deflate offer is assumed). 0 and *out filled, or -1. */
FR_API int fr_ws_deflate_response(fr_str value, fr_ws_deflate *out);

/* ---- frames (RFC 6455 5.2) ---- */

typedef struct fr_ws_frame {
    int fin;         /* 1 on the last frame of a message */
    int rsv;         /* RSV1..3 as bits 4, 2, 1 */
    int opcode;
    int masked;
    uint8_t mask[4]; /* masking key when masked */
    uint64_t len;    /* payload length */
} fr_ws_frame;

/* Parse a frame head (2..14 bytes). Returns the head length, -2 when more
 * bytes are needed, -1 (err->code 1002) for a length not in its minimal
 * encoding (16-bit < 126, 64-bit < 65536) or with the 64-bit MSB set.
 * Nothing else is judged here (opcode, RSV, mask rules: fr_ws_codec). */
FR_API int fr_ws_parse_frame(const void *buf, size_t len, fr_ws_frame *f, fr_err *err);
/* Write a frame head (minimal length encoding) into out (14 bytes room);
 * mask NULL = unmasked. Returns its length. */
FR_API size_t fr_ws_frame_head(void *out, int fin, int rsv, int opcode, uint64_t len,
                               const uint8_t *mask);
/* XOR data with the masking key, `offset` bytes into the payload (so a
 * payload can be unmasked piece by piece). Masking twice unmasks. */
FR_API void fr_ws_mask(void *data, size_t len, const uint8_t mask[4], uint64_t offset);
/* 1 if `code` may be sent in a close frame: 1000-1003, 1007-1014,
 * 3000-4999. */
FR_API int fr_ws_close_code_valid(int code);

/* ---- incremental UTF-8 validation (RFC 3629: no overlongs, surrogates or
 * code points above U+10FFFF) ----
 * *state starts at 0 and is carried across calls, so text split anywhere
 * (inside a character too) validates as a whole. Returns 0 if everything so
 * far can still be valid, -1 at the first byte that makes it invalid (*pos,
 * when not NULL, gets its offset in this call's data) -- as soon as that
 * byte is seen, not at the end of the character. After -1 the state stays
 * failed. fr_utf8_complete: 1 when the text seen ends on a character
 * boundary. */
FR_API int fr_utf8_feed(uint32_t *state, const void *data, size_t len, size_t *pos);
FR_API int fr_utf8_complete(uint32_t state);

/* ---- the sans-IO codec: bytes <-> messages ----
 *
 * One per connection. The read side (fr_ws_codec_read) and the write side
 * (fr_ws_codec_write*) share no state and may be used from two threads at
 * once (each side by one thread at a time). */

typedef struct fr_ws_codec fr_ws_codec;

typedef struct fr_ws_codec_config {
    int client;           /* 1: client side (our frames are masked, the peer's
                             must not be); 0: server (the peer's must be) */
    uint64_t max_message; /* 0 = FR_WS_MAX_MESSAGE */
    uint64_t max_frame;   /* 0 = max_message */
    fr_ws_deflate deflate; /* negotiated permessage-deflate (enabled = 0: none) */
} fr_ws_codec_config;

/* A message or control frame read (fr_ws_codec_read returned 1), or the
 * reason a read failed (-1). */
typedef struct fr_ws_event {
    int opcode;       /* FR_WS_TEXT, FR_WS_BINARY, FR_WS_PING, FR_WS_PONG, FR_WS_CLOSE */
    const char *data; /* payload (unmasked, decompressed); CLOSE: the reason.
                         Valid until the next read call. */
    size_t len;
    int code;         /* CLOSE: the peer's code (1005 if none). Failure: the
                         code to close with (1002, 1007, 1009) */
    const char *msg;  /* failure: static reason text (fits a close frame) */
} fr_ws_event;

/* NULL on OOM, or when deflate.enabled in a build without FR_ENABLE_ZLIB. */
FR_API fr_ws_codec *fr_ws_codec_new(const fr_ws_codec_config *cfg);
FR_API void fr_ws_codec_free(fr_ws_codec *c);

/* Read frames from data[0..len), which is unmasked IN PLACE. Returns 1
 * with one event in *ev (call again with data + *used for the rest), 0 when
 * everything was consumed except an incomplete frame head (*used < len:
 * keep those bytes and present them again, followed by more), or -1 when
 * the peer broke the protocol: ev->code / ev->msg say how to close; the
 * codec then stays failed. Payload bytes are consumed as they arrive (a
 * big frame needs no big input buffer; invalid UTF-8 fails at the byte that
 * makes it invalid, before the frame or message is complete). Whole
 * unfragmented uncompressed frames are reported without a copy (ev->data
 * points into data). Checked: mask rule, RSV bits (RSV1 only on the first
 * frame of a compressed data message), reserved opcodes, control frames
 * (FIN, <= 125 bytes), continuation without a message / a new message
 * inside one, max_frame and max_message (1009), UTF-8 of text messages and
 * close reasons (1007), close codes and a 1-byte close payload (1002),
 * deflate data (1002). After a CLOSE event the codec reads nothing more
 * (returns 0, all consumed). */
FR_API int fr_ws_codec_read(fr_ws_codec *c, void *data, size_t len, size_t *used, fr_ws_event *ev);

/* Append one frame to out: a data frame (FR_WS_TEXT / FR_WS_BINARY; a
 * fragmented message is FIN = 0 frames followed by FR_WS_CONT frames, the
 * last with fin = 1; compressed when deflate is enabled) or a control frame
 * (PING / PONG, <= 125 bytes, fin must be 1). Masked on the client side.
 * 0, or -1 (OOM, bad opcode or order, control payload > 125, zlib error). */
FR_API int fr_ws_codec_write(fr_ws_codec *c, fr_buf *out, int opcode, int fin, const void *data,
                             size_t len);
/* Append a close frame: code 0 = no payload; else code + reason (<= 123
 * bytes). 0, or -1 (invalid code, reason too long, OOM). */
FR_API int fr_ws_codec_write_close(fr_ws_codec *c, fr_buf *out, int code, const char *reason,
                                   size_t len);
