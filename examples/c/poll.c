/*
 * poll.c -- serving HTTP from a host program's own main loop (no threads).
 *
 *   cc -O2 -std=c11 -I. examples/c/poll.c -o examples/c/poll -lpthread
 *   ./examples/c/poll [port]     (default 8003; 0 = any free port)
 *
 * A game-style loop owns the program:
 *
 *     while (running) { fr_poll_ex(app, 10, 64); update_world(); }
 *     fr_stop(app); while (fr_poll(app, 10) >= 0) {}   // drain, then free
 *
 * fr_poll() handles whatever network events are ready (waiting at most 10 ms)
 * and runs the handlers right there, on this thread, between two ticks. The
 * handlers may therefore read and queue into the world without any lock.
 *
 *   GET  /state     {"tick":n,"uptime_ms":n,"x":n,"y":n,"queued":n,
 *                    "applied":n,"last":{"cmd":..,"queued_tick":n,"applied_tick":n}|null}
 *   POST /command   {"cmd":"up"|"down"|"left"|"right"|"reset"} -> 202
 *                   {"queued_tick":n,"position":k}; applied by update_world() at
 *                   the next tick. 422 (FastAPI-style) on a bad body, 429 when
 *                   the queue is full.
 *   GET  /quit      200 {"bye":true}; the loop ends once the answer is written.
 *
 * SIGINT/SIGTERM also end the loop. Exit status 0.
 */
#define _GNU_SOURCE 1 /* POSIX + accept4 for the implementation, before any header */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Answer with a JSON string literal (length from sizeof). */
#define SEND_LIT(req, status, lit) fr_res_json((req), (status), (lit), sizeof(lit) - 1)

enum { CMD_UP, CMD_DOWN, CMD_LEFT, CMD_RIGHT, CMD_RESET, CMD_COUNT };
static const char *const cmd_names[CMD_COUNT] = {"up", "down", "left", "right", "reset"};

#define QUEUE_CAP 64

typedef struct queued_cmd {
    int cmd;
    uint64_t queued_tick;
} queued_cmd;

typedef struct world {
    uint64_t tick;
    struct timespec start;
    int64_t x, y;
    queued_cmd queue[QUEUE_CAP]; /* ring buffer filled by POST /command */
    size_t head, len;
    uint64_t applied;
    int has_last;
    queued_cmd last;
    uint64_t last_applied_tick;
    int quit; /* set once the /quit answer has been written */
} world;

static volatile sig_atomic_t g_signalled = 0;

static void on_signal(int sig) {
    (void)sig;
    g_signalled = 1;
}

static int64_t uptime_ms(const world *w) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - w->start.tv_sec) * 1000 +
           (now.tv_nsec - w->start.tv_nsec) / 1000000;
}

/* One simulation step: advance time and apply the commands queued since. */
static void update_world(world *w) {
    w->tick++;
    while (w->len) {
        queued_cmd c = w->queue[w->head];
        w->head = (w->head + 1) % QUEUE_CAP;
        w->len--;
        switch (c.cmd) {
        case CMD_UP: w->y++; break;
        case CMD_DOWN: w->y--; break;
        case CMD_LEFT: w->x--; break;
        case CMD_RIGHT: w->x++; break;
        default: w->x = w->y = 0; break;
        }
        w->applied++;
        w->has_last = 1;
        w->last = c;
        w->last_applied_tick = w->tick;
    }
}

static int send_jw(fr_req *req, int status, fr_jw *jw, fr_buf *b) {
    int rc;
    if (fr_jw_finish(jw) != 0) {
        fr_buf_free(b);
        return SEND_LIT(req, 500, "{\"detail\":\"Internal Server Error\"}");
    }
    rc = fr_res_json(req, status, b->buf, b->len);
    fr_buf_free(b);
    return rc;
}

static int h_state(fr_req *req, void *ud) {
    world *w = (world *)ud;
    fr_buf b = {NULL, 0, 0};
    fr_jw jw;

    fr_jw_init(&jw, &b);
    fr_jw_object_begin(&jw);
    fr_jw_key(&jw, "tick", 4);
    fr_jw_uint(&jw, w->tick);
    fr_jw_key(&jw, "uptime_ms", 9);
    fr_jw_int(&jw, uptime_ms(w));
    fr_jw_key(&jw, "x", 1);
    fr_jw_int(&jw, w->x);
    fr_jw_key(&jw, "y", 1);
    fr_jw_int(&jw, w->y);
    fr_jw_key(&jw, "queued", 6);
    fr_jw_uint(&jw, w->len);
    fr_jw_key(&jw, "applied", 7);
    fr_jw_uint(&jw, w->applied);
    fr_jw_key(&jw, "last", 4);
    if (w->has_last) {
        const char *name = cmd_names[w->last.cmd];
        fr_jw_object_begin(&jw);
        fr_jw_key(&jw, "cmd", 3);
        fr_jw_string(&jw, name, strlen(name));
        fr_jw_key(&jw, "queued_tick", 11);
        fr_jw_uint(&jw, w->last.queued_tick);
        fr_jw_key(&jw, "applied_tick", 12);
        fr_jw_uint(&jw, w->last_applied_tick);
        fr_jw_object_end(&jw);
    } else {
        fr_jw_null(&jw);
    }
    fr_jw_object_end(&jw);
    return send_jw(req, 200, &jw, &b);
}

/* Echo a parsed value back as JSON (NULL writes null). */
static void write_value(fr_jw *jw, const fr_json_val *v) {
    size_t i;
    if (!v) {
        fr_jw_null(jw);
        return;
    }
    switch (v->type) {
    case FR_JSON_BOOL: fr_jw_bool(jw, v->u.b); break;
    case FR_JSON_INT: fr_jw_int(jw, v->u.i); break;
    case FR_JSON_BIGINT: fr_jw_raw(jw, v->u.s.buf, v->u.s.len); break;
    case FR_JSON_DOUBLE: fr_jw_double(jw, v->u.d); break;
    case FR_JSON_STRING: fr_jw_string(jw, v->u.s.buf, v->u.s.len); break;
    case FR_JSON_ARRAY:
        fr_jw_array_begin(jw);
        for (i = 0; i < v->u.arr.len; i++) write_value(jw, v->u.arr.items[i]);
        fr_jw_array_end(jw);
        break;
    case FR_JSON_OBJECT:
        fr_jw_object_begin(jw);
        for (i = 0; i < v->u.obj.len; i++) {
            fr_jw_key(jw, v->u.obj.items[i].key.buf, v->u.obj.items[i].key.len);
            write_value(jw, v->u.obj.items[i].val);
        }
        fr_jw_object_end(jw);
        break;
    default: fr_jw_null(jw); break;
    }
}

/* A 422 with one FastAPI-style error item; `input` may be NULL (JSON null). */
static int unprocessable(fr_req *req, const char *type, int loc_cmd, const char *msg,
                         const fr_json_val *input, int enum_ctx, const fr_err *json_err) {
    fr_buf b = {NULL, 0, 0};
    fr_jw jw;
    static const char expected[] = "'up', 'down', 'left', 'right' or 'reset'";

    fr_jw_init(&jw, &b);
    fr_jw_object_begin(&jw);
    fr_jw_key(&jw, "detail", 6);
    fr_jw_array_begin(&jw);
    fr_jw_object_begin(&jw);
    fr_jw_key(&jw, "type", 4);
    fr_jw_string(&jw, type, strlen(type));
    fr_jw_key(&jw, "loc", 3);
    fr_jw_array_begin(&jw);
    fr_jw_string(&jw, "body", 4);
    if (loc_cmd) fr_jw_string(&jw, "cmd", 3);
    if (json_err) fr_jw_uint(&jw, json_err->pos); /* like ["body", 7] */
    fr_jw_array_end(&jw);
    fr_jw_key(&jw, "msg", 3);
    fr_jw_string(&jw, msg, strlen(msg));
    fr_jw_key(&jw, "input", 5);
    write_value(&jw, input);
    if (json_err) {
        fr_jw_key(&jw, "ctx", 3);
        fr_jw_object_begin(&jw);
        fr_jw_key(&jw, "error", 5);
        fr_jw_string(&jw, json_err->msg ? json_err->msg : "invalid JSON",
                     strlen(json_err->msg ? json_err->msg : "invalid JSON"));
        fr_jw_object_end(&jw);
    }
    if (enum_ctx) {
        fr_jw_key(&jw, "ctx", 3);
        fr_jw_object_begin(&jw);
        fr_jw_key(&jw, "expected", 8);
        fr_jw_string(&jw, expected, sizeof expected - 1);
        fr_jw_object_end(&jw);
    }
    fr_jw_object_end(&jw);
    fr_jw_array_end(&jw);
    fr_jw_object_end(&jw);
    return send_jw(req, 422, &jw, &b);
}

static int h_command(fr_req *req, void *ud) {
    world *w = (world *)ud;
    fr_str body = fr_req_body(req);
    fr_err err = {0, NULL, 0};
    fr_json_val *root, *cmd;
    fr_buf b = {NULL, 0, 0};
    fr_jw jw;
    int i, which = -1;

    if (body.len == 0) return unprocessable(req, "missing", 0, "Field required", NULL, 0, NULL);
    root = fr_json_parse(body.buf, body.len, fr_req_arena(req), 0, &err);
    if (!root) {
        static const fr_json_val empty_object = {FR_JSON_OBJECT, {0}};
        return unprocessable(req, "json_invalid", 0, "JSON decode error", &empty_object, 0, &err);
    }
    if (root->type != FR_JSON_OBJECT)
        return unprocessable(req, "model_attributes_type", 0,
                             "Input should be a valid dictionary or object to extract fields "
                             "from", NULL, 0, NULL);
    cmd = fr_json_get(root, "cmd");
    if (!cmd) return unprocessable(req, "missing", 1, "Field required", root, 0, NULL);
    if (cmd->type == FR_JSON_STRING)
        for (i = 0; i < CMD_COUNT; i++)
            if (fr_str_eq_c(cmd->u.s, cmd_names[i])) which = i;
    if (which < 0)
        return unprocessable(req, "enum", 1,
                             "Input should be 'up', 'down', 'left', 'right' or 'reset'", cmd,
                             1, NULL);
    if (w->len == QUEUE_CAP)
        return SEND_LIT(req, 429, "{\"detail\":\"Command queue is full\"}");

    w->queue[(w->head + w->len) % QUEUE_CAP] = (queued_cmd){which, w->tick};
    w->len++;

    fr_jw_init(&jw, &b);
    fr_jw_object_begin(&jw);
    fr_jw_key(&jw, "queued_tick", 11);
    fr_jw_uint(&jw, w->tick);
    fr_jw_key(&jw, "position", 8);
    fr_jw_uint(&jw, w->len);
    fr_jw_object_end(&jw);
    return send_jw(req, 202, &jw, &b);
}

/* Runs on the loop thread once the /quit answer has left (or failed). */
static void quit_done(fr_req *req, int ok, void *ud) {
    (void)req;
    (void)ok;
    ((world *)ud)->quit = 1;
}

static int h_quit(fr_req *req, void *ud) {
    fr_req_on_done(req, quit_done, ud);
    return SEND_LIT(req, 200, "{\"bye\":true}");
}

int main(int argc, char **argv) {
    struct sigaction sa;
    fr_config cfg;
    fr_app *app;
    world w;
    int port = 8003, bound;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        int64_t p;
        if (fr_str_to_i64(fr_str_c(argv[1]), &p) != 0 || p < 0 || p > 65535) {
            fprintf(stderr, "poll: bad port '%s'\n", argv[1]);
            return 2;
        }
        port = (int)p;
    }

    memset(&w, 0, sizeof w);
    clock_gettime(CLOCK_MONOTONIC, &w.start);

    /* The host owns the signals; fr_poll never installs handlers. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    memset(&cfg, 0, sizeof cfg);
    cfg.no_signals = 1;
    app = fr_app_new(&cfg);
    if (!app) return 1;
    if (fr_route(app, "GET", "/state", h_state, &w) ||
        fr_route(app, "POST", "/command", h_command, &w) ||
        fr_route(app, "GET", "/quit", h_quit, &w)) {
        fprintf(stderr, "poll: route: %s\n", fr_app_last_error(app));
        fr_app_free(app);
        return 1;
    }
    bound = fr_listen(app, "127.0.0.1", port);
    if (bound < 0) {
        fprintf(stderr, "poll: cannot listen on 127.0.0.1:%d: %s\n", port, fr_app_last_error(app));
        fr_app_free(app);
        return 1;
    }
    printf("listening on http://127.0.0.1:%d\n", bound);
    fflush(stdout);

    /* The host's main loop: network first (at most 64 socket events per
     * tick, so a burst of clients cannot stretch a frame), then one
     * simulation tick. */
    while (!g_signalled && !w.quit) {
        if (fr_poll_ex(app, 10, 64) < 0) break;
        update_world(&w);
    }
    /* Stop: keep pumping until fr_poll says -1, so requests in flight still
     * get their answers (fr_poll never installs a signal handler). */
    fr_stop(app);
    while (fr_poll(app, 10) >= 0) {
    }

    printf("stopped after %llu ticks\n", (unsigned long long)w.tick);
    fr_app_free(app);
    return 0;
}
