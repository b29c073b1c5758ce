/*
 * chat.c -- WebSockets from C: an echo endpoint, a chat room and a
 * game-state broadcaster.
 *
 *   cc -O2 -std=c11 -I. examples/c/chat.c -o chat -lpthread -lm
 *   cc -O2 -std=c11 -I. -DFR_ENABLE_ZLIB=1 examples/c/chat.c -o chat -lpthread -lm -lz
 *   ./chat [port]     (default 8004; 0 = any free port)
 *
 *   GET /echo             every message comes back as it was sent (text as
 *                         text, binary as binary); permessage-deflate is
 *                         accepted in FR_ENABLE_ZLIB builds; the subprotocol
 *                         "echo.v1" is chosen when the client offers it.
 *                         A text message "close:CODE" makes the server close
 *                         with CODE; "flood:N" sends N messages "0".."N-1"
 *                         and answers "flood:done sent=S full=F".
 *   GET /chat?name=NAME   a chat room: each text message is sent to everyone
 *                         in the room as "NAME: text"; "* NAME joined" and
 *                         "* NAME left" announce arrivals and departures. No
 *                         name: 400 before any upgrade.
 *   GET /state            the game loop broadcasts {"tick":N,"players":K}
 *                         to every subscriber once per tick (K = chatters);
 *                         a text a subscriber sends goes as it is to every
 *                         subscriber, itself included (fan-out).
 *   GET /                 a page whose script talks to /echo from a browser
 *                         and logs what happens in the page. Its image
 *                         /wait is answered only once the script POSTed
 *                         /report (after the close), so the page's load
 *                         event marks the end of the conversation (the live
 *                         tests dump the page with headless Chromium).
 *   POST /broadcast       the request body goes to every /state subscriber
 *                         as one text message (fr_ws_broadcast);
 *                         200 {"sent":N} (N = sockets it was queued for).
 *   GET /subscribers      200 {"state":N}: how many /state sockets are open.
 *   GET /quit             200 {"bye":true}; the server stops.
 *
 * Two ways to run, one code path for the WebSocket callbacks:
 *   CHAT_MODE=poll (default)  the game loop owns the thread:
 *                             while (running) { fr_poll(app, tick); tick(); }
 *   CHAT_MODE=serve           fr_serve with FR_THREADS loops; the ticks come
 *                             from a thread of our own, so every broadcast is
 *                             a send from a thread that owns no connection.
 * Limits from the environment (0/unset = the engine's default):
 *   FR_WS_MAX_MESSAGE, FR_WS_MAX_FRAME, FR_WS_MAX_QUEUE, FR_WS_PING_MS,
 *   FR_WS_CLOSE_MS, CHAT_TICK_MS (default 100; <= 0: no ticks),
 *   FR_MAX_CONNECTIONS (open connections, default the engine's 10000).
 *
 * The room and the subscribers are lists of fr_ws under one mutex; each
 * entry holds a reference (fr_ws_retain in on_open, fr_ws_release after it
 * was taken off the list in on_close), so a tick on another thread never
 * sends to a freed socket.
 */
#define _GNU_SOURCE 1
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CLIENTS 20000

typedef struct client {
    fr_ws *ws;
    int room;       /* ROOM_CHAT / ROOM_STATE */
    char name[64];
} client;

enum { ROOM_CHAT = 0, ROOM_STATE = 1, ROOM_COUNT };

typedef struct list {
    fr_ws **ws;
    size_t n;
} list;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static list g_rooms[ROOM_COUNT];
static int g_stop; /* under g_mu: the ticker thread ends */
static fr_app *g_app;

static void on_signal(int sig) {
    (void)sig;
    if (g_app) fr_stop(g_app); /* async-signal-safe; fr_serve / fr_poll then wind down */
}

static long env_long(const char *name, long dflt) {
    const char *v = getenv(name);
    return v && *v ? strtol(v, NULL, 10) : dflt;
}

/* ---- the lists (under g_mu) ---- */

static int list_add(list *l, fr_ws *ws) {
    if (l->n >= MAX_CLIENTS) return -1;
    l->ws[l->n++] = ws;
    return 0;
}

static void list_remove(list *l, fr_ws *ws) {
    size_t i;
    for (i = 0; i < l->n; i++)
        if (l->ws[i] == ws) {
            l->ws[i] = l->ws[--l->n];
            return;
        }
}

static void room_say(int room, const char *text, size_t len) {
    pthread_mutex_lock(&g_mu);
    fr_ws_broadcast(g_rooms[room].ws, g_rooms[room].n, FR_WS_TEXT, text, len);
    pthread_mutex_unlock(&g_mu);
}

/* ---- callbacks (loop thread) ---- */

static void on_open(fr_ws *ws, void *ud) {
    client *c = (client *)ud;
    char msg[96];
    int n, ok;
    pthread_mutex_lock(&g_mu);
    ok = list_add(&g_rooms[c->room], ws) == 0;
    pthread_mutex_unlock(&g_mu);
    if (!ok) {
        fr_ws_close(ws, FR_WS_CLOSE_GOING_AWAY, "room full", 9);
        return;
    }
    fr_ws_retain(ws); /* the list's reference */
    if (c->room == ROOM_CHAT) {
        n = snprintf(msg, sizeof msg, "* %s joined", c->name);
        room_say(ROOM_CHAT, msg, (size_t)n);
    }
}

static void on_close(fr_ws *ws, int code, fr_str reason, void *ud) {
    client *c = (client *)ud;
    char msg[96];
    int n;
    size_t before, i;
    (void)code;
    (void)reason;
    pthread_mutex_lock(&g_mu);
    before = g_rooms[c->room].n;
    list_remove(&g_rooms[c->room], ws);
    i = g_rooms[c->room].n;
    pthread_mutex_unlock(&g_mu);
    if (i < before) {
        fr_ws_release(ws); /* the list's reference */
        if (c->room == ROOM_CHAT) {
            n = snprintf(msg, sizeof msg, "* %s left", c->name);
            room_say(ROOM_CHAT, msg, (size_t)n);
        }
    }
    free(c);
}

static void on_chat(fr_ws *ws, int op, const char *data, size_t len, void *ud) {
    client *c = (client *)ud;
    fr_buf b = {NULL, 0, 0};
    (void)ws;
    if (op != FR_WS_TEXT) return;
    if (fr_buf_printf(&b, "%s: ", c->name) == 0 && fr_buf_append(&b, data, len) == 0)
        room_say(ROOM_CHAT, b.buf, b.len);
    fr_buf_free(&b);
}

static void on_state(fr_ws *ws, int op, const char *data, size_t len, void *ud) {
    (void)ws;
    (void)ud;
    if (op == FR_WS_TEXT) room_say(ROOM_STATE, data, len);
}

static void on_echo(fr_ws *ws, int op, const char *data, size_t len, void *ud) {
    (void)ud;
    if (op == FR_WS_TEXT && len > 6 && memcmp(data, "close:", 6) == 0) {
        char code[8] = {0};
        memcpy(code, data + 6, len - 6 < 7 ? len - 6 : 7);
        fr_ws_close(ws, atoi(code), "bye", 3);
        return;
    }
    if (op == FR_WS_TEXT && len > 6 && memcmp(data, "flood:", 6) == 0) {
        char num[16] = {0}, msg[64];
        long i, n, sent = 0, full = 0;
        memcpy(num, data + 6, len - 6 < 15 ? len - 6 : 15);
        n = atol(num);
        for (i = 0; i < n; i++) {
            int k = snprintf(msg, sizeof msg, "%ld", i), r = fr_ws_send_text(ws, msg, (size_t)k);
            if (r == FR_WS_OK) sent++;
            else if (r == FR_WS_EFULL) full++;
        }
        i = snprintf(msg, sizeof msg, "flood:done sent=%ld full=%ld", sent, full);
        /* refused too while the queue is full: on_drain then says "drained" */
        if (fr_ws_send_text(ws, msg, (size_t)i) == FR_WS_EFULL) fr_ws_set_userdata(ws, (void *)1);
        return;
    }
    fr_ws_send(ws, op, data, len);
}

static void on_echo_drain(fr_ws *ws, void *ud) {
    if (ud) {
        fr_ws_set_userdata(ws, NULL);
        fr_ws_send_text(ws, "drained", 7);
    }
}

static fr_ws_config g_echo, g_chat, g_state;

static void set_limits(fr_ws_config *c) {
    c->max_message = (uint64_t)env_long("FR_WS_MAX_MESSAGE", 0);
    c->max_frame = (uint64_t)env_long("FR_WS_MAX_FRAME", 0);
    c->max_send_queue = (size_t)env_long("FR_WS_MAX_QUEUE", 0);
    c->ping_interval_ms = (int)env_long("FR_WS_PING_MS", 0);
    c->close_timeout_ms = (int)env_long("FR_WS_CLOSE_MS", 0);
}

/* ---- handlers ---- */

static int h_echo(fr_req *req, void *ud) {
    fr_ws_config cfg = *(const fr_ws_config *)ud;
    if (fr_ws_subprotocol_offered(req, "echo.v1")) cfg.subprotocol = "echo.v1";
    fr_ws_accept(req, &cfg);
    return FR_DONE;
}

/* A handler that decides before upgrading: no name, no chat. */
static int h_room(fr_req *req, void *ud) {
    const fr_ws_config *cfg = (const fr_ws_config *)ud;
    fr_str name = {NULL, 0};
    client *c;
    fr_ws *ws;
    if (cfg == &g_chat && (!fr_req_query_get(req, "name", &name) || name.len == 0 || name.len > 32))
        return fr_res_json(req, 400, "{\"detail\":\"name required\"}", 26);
    c = (client *)calloc(1, sizeof *c);
    if (!c) return fr_res_json(req, 500, "{\"detail\":\"Internal Server Error\"}", 34);
    c->room = cfg == &g_chat ? ROOM_CHAT : ROOM_STATE;
    if (name.len) memcpy(c->name, name.buf, name.len);
    ws = fr_ws_accept(req, cfg);
    if (!ws) {
        free(c); /* answered with 400/426 */
        return FR_DONE;
    }
    fr_ws_set_userdata(ws, c); /* before on_open: that runs once the handler returned */
    return FR_DONE;
}

static const char page[] =
    "<!doctype html><meta charset=utf-8><title>fastrapi websockets</title><pre id=log></pre>\n"
    "<img src=/wait hidden><script>\n"
    "const log = s => { document.getElementById('log').textContent += s + '\\n'; };\n"
    "const ws = new WebSocket('ws://' + location.host + '/echo', ['echo.v1']);\n"
    "ws.binaryType = 'arraybuffer';\n"
    "ws.onopen = () => {\n"
    "  log('open ' + ws.protocol + ' ' + ws.extensions);\n"
    "  ws.send('h\\u00e9llo'); ws.send(new Uint8Array([1, 2, 255]).buffer);\n"
    "  ws.send('x'.repeat(100000)); ws.send('close:4000');\n"
    "};\n"
    "ws.onmessage = e => log('msg ' + (typeof e.data === 'string'\n"
    "  ? (e.data.length > 20 ? 'len' + e.data.length : e.data)\n"
    "  : 'bin' + Array.from(new Uint8Array(e.data)).join(',')));\n"
    "ws.onclose = e => {\n"
    "  log('close ' + e.code + ' ' + e.reason + ' ' + e.wasClean);\n"
    "  fetch('/report', {method: 'POST', body: 'done'});\n"
    "};\n"
    "</script>\n";

static int h_page(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_text(req, 200, "text/html; charset=utf-8", page, sizeof page - 1);
}

/* /wait is held (FR_PENDING) until a /report arrives; any thread answers. */
static pthread_mutex_t g_page_mu = PTHREAD_MUTEX_INITIALIZER;
static fr_req *g_page_wait;
static int g_page_reports;

static int h_wait(fr_req *req, void *ud) {
    int now;
    (void)ud;
    pthread_mutex_lock(&g_page_mu);
    now = g_page_reports > 0 || g_page_wait; /* one waiter at a time */
    if (g_page_reports > 0) g_page_reports--;
    else if (!g_page_wait) g_page_wait = req;
    pthread_mutex_unlock(&g_page_mu);
    if (now) return fr_res_text(req, 200, "text/plain", "done", 4);
    return FR_PENDING;
}

static int h_report(fr_req *req, void *ud) {
    fr_req *w;
    (void)ud;
    pthread_mutex_lock(&g_page_mu);
    w = g_page_wait;
    g_page_wait = NULL;
    if (!w) g_page_reports++;
    pthread_mutex_unlock(&g_page_mu);
    if (w) fr_res_text(w, 200, "text/plain", "done", 4);
    return fr_res_text(req, 200, "text/plain", "ok", 2);
}

static int h_broadcast(fr_req *req, void *ud) {
    fr_str body = fr_req_body(req);
    char out[48];
    int sent, n;
    (void)ud;
    pthread_mutex_lock(&g_mu);
    sent = fr_ws_broadcast(g_rooms[ROOM_STATE].ws, g_rooms[ROOM_STATE].n, FR_WS_TEXT, body.buf, body.len);
    pthread_mutex_unlock(&g_mu);
    if (sent < 0) return fr_res_json(req, 400, "{\"detail\":\"text must be UTF-8\"}", 31);
    n = snprintf(out, sizeof out, "{\"sent\":%d}", sent);
    return fr_res_json(req, 200, out, (size_t)n);
}

static int h_subscribers(fr_req *req, void *ud) {
    char out[48];
    int n;
    (void)ud;
    pthread_mutex_lock(&g_mu);
    n = snprintf(out, sizeof out, "{\"state\":%zu}", g_rooms[ROOM_STATE].n);
    pthread_mutex_unlock(&g_mu);
    return fr_res_json(req, 200, out, (size_t)n);
}

static int h_quit(fr_req *req, void *ud) {
    (void)ud;
    fr_stop(fr_req_app(req));
    return fr_res_json(req, 200, "{\"bye\":true}", 12);
}

/* ---- the game loop's tick ---- */

static uint64_t g_tick;

static void tick(void) {
    char msg[64];
    int n;
    size_t players;
    g_tick++;
    pthread_mutex_lock(&g_mu);
    players = g_rooms[ROOM_CHAT].n;
    n = snprintf(msg, sizeof msg, "{\"tick\":%llu,\"players\":%zu}", (unsigned long long)g_tick, players);
    fr_ws_broadcast(g_rooms[ROOM_STATE].ws, g_rooms[ROOM_STATE].n, FR_WS_TEXT, msg, (size_t)n);
    pthread_mutex_unlock(&g_mu);
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static void *ticker(void *arg) {
    long ms = *(long *)arg;
    for (;;) {
        int stop;
        sleep_ms(ms);
        pthread_mutex_lock(&g_mu);
        stop = g_stop;
        pthread_mutex_unlock(&g_mu);
        if (stop) return NULL;
        tick();
    }
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 8004, bound, i;
    const char *mode = getenv("CHAT_MODE");
    int serve = mode && strcmp(mode, "serve") == 0;
    long tick_ms = env_long("CHAT_TICK_MS", 100);
    fr_config cfg;
    struct sigaction sa;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = serve ? (int)env_long("FR_THREADS", 2) : 1;
    cfg.no_signals = 1;
    cfg.max_connections = (int)env_long("FR_MAX_CONNECTIONS", 0);
    for (i = 0; i < ROOM_COUNT; i++) {
        g_rooms[i].ws = (fr_ws **)calloc(MAX_CLIENTS, sizeof(fr_ws *));
        if (!g_rooms[i].ws) return 1;
    }
    g_echo.on_message = on_echo;
    g_echo.on_drain = on_echo_drain;
    g_echo.deflate = 1;
    set_limits(&g_echo);
    g_chat.on_open = g_state.on_open = on_open;
    g_chat.on_close = g_state.on_close = on_close;
    g_chat.on_message = on_chat;
    g_state.on_message = on_state;
    set_limits(&g_chat);
    set_limits(&g_state);
    g_app = fr_app_new(&cfg);
    if (!g_app) return 1;
    if (fr_route(g_app, "GET", "/echo", h_echo, &g_echo) < 0 || fr_route(g_app, "GET", "/chat", h_room, &g_chat) < 0 ||
        fr_route(g_app, "GET", "/state", h_room, &g_state) < 0 || fr_route(g_app, "GET", "/quit", h_quit, NULL) < 0 ||
        fr_route(g_app, "POST", "/broadcast", h_broadcast, NULL) < 0 ||
        fr_route(g_app, "GET", "/subscribers", h_subscribers, NULL) < 0 ||
        fr_route(g_app, "GET", "/", h_page, NULL) < 0 || fr_route(g_app, "GET", "/wait", h_wait, NULL) < 0 ||
        fr_route(g_app, "POST", "/report", h_report, NULL) < 0) {
        fprintf(stderr, "route: %s\n", fr_app_last_error(g_app));
        return 1;
    }
    bound = fr_listen(g_app, "127.0.0.1", port);
    if (bound < 0) {
        fprintf(stderr, "listen: %s\n", fr_app_last_error(g_app));
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    printf("listening on http://127.0.0.1:%d\n", bound);
    fflush(stdout);
    if (serve) {
        pthread_t t;
        if (tick_ms > 0 && pthread_create(&t, NULL, ticker, &tick_ms) != 0) return 1;
        fr_serve(g_app);
        pthread_mutex_lock(&g_mu);
        g_stop = 1;
        pthread_mutex_unlock(&g_mu);
        if (tick_ms > 0) pthread_join(t, NULL);
    } else {
        int64_t next = now_ms() + tick_ms;
        for (;;) {
            int64_t wait = tick_ms > 0 ? next - now_ms() : 1000;
            if (fr_poll(g_app, wait > 0 ? (int)wait : 0) < 0) break; /* stopped and drained */
            if (tick_ms > 0 && now_ms() >= next) {
                tick();
                next += tick_ms;
            }
        }
    }
    fr_app_free(g_app);
    for (i = 0; i < ROOM_COUNT; i++) free(g_rooms[i].ws);
    printf("bye\n");
    return 0;
}
