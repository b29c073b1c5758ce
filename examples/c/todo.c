/*
 * todo.c -- an in-memory TODO REST API on fastrapi's public C API.
 *
 *   cc -O2 -std=c11 -I. examples/c/todo.c -o examples/c/todo -lpthread
 *   ./examples/c/todo [port]     (default 8001; 0 = any free port)
 *
 *   GET    /todos                 list (?done=true|false, ?q=substring)
 *   POST   /todos                 {"title": str, "done": bool = false} -> 201
 *   GET    /todos/{id:int}        one item, 404 {"detail":"Todo not found"}
 *   PUT    /todos/{id:int}        replace (same body and validation as POST)
 *   PATCH  /todos/{id:int}        partial update (title and/or done)
 *   DELETE /todos/{id:int}        204, no body
 *   GET    /slow?ms=N             answered N ms later from another thread
 *                                 (a deferred response: FR_PENDING + fr_res_send)
 *   GET    /export?filler=N       every todo as NDJSON, streamed (chunked) from a
 *                                 worker thread, then N ~1 KiB filler lines and
 *                                 {"count":n}; writes block while 1 MiB is unsent
 *   GET    /stats                 {"todos":n,"slow_in_flight":n,"streams_in_flight":n}
 *
 * Invalid bodies get a 422 shaped like FastAPI's (pydantic 2) errors:
 *   {"detail":[{"type":"missing","loc":["body","title"],"msg":"Field required",
 *               "input":{...}}]}
 * with types json_invalid, missing, string_type, bool_type, bool_parsing and
 * model_attributes_type, as FastAPI gives for `title: str, done: bool = False`.
 *
 * Limits can be shrunk from the environment (the live tests use this):
 *   FR_THREADS, FR_HEADER_TIMEOUT_MS, FR_IDLE_TIMEOUT_MS, FR_BODY_TIMEOUT_MS,
 *   FR_MAX_BODY_BYTES, FR_MAX_CONNECTIONS, FR_MAX_HEADER_BYTES, FR_MAX_HEADERS,
 *   FR_MAX_URI_BYTES.
 *
 * fr_serve runs several loop threads, so the store is behind a mutex.
 * SIGINT/SIGTERM stop the server gracefully: in-flight requests (e.g. a
 * pending /slow) are completed before fr_serve returns and main exits 0.
 */
#define _GNU_SOURCE 1 /* POSIX + accept4 for the implementation, before any header */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Answer with a JSON string literal (length from sizeof). */
#define SEND_LIT(req, status, lit) fr_res_json((req), (status), (lit), sizeof(lit) - 1)

/* ---- the store ---- */

typedef struct todo {
    int64_t id;
    char *title; /* owned, NUL-terminated (may also contain NULs: use title_len) */
    size_t title_len;
    int done;
} todo;

typedef struct store {
    pthread_mutex_t mu;
    todo *items;
    size_t len, cap;
    int64_t next_id;
    int slow_in_flight;    /* deferred /slow requests not answered yet */
    int streams_in_flight; /* /export workers still running */
} store;

#define MAX_TODOS 100000 /* keeps a hostile client from eating all memory */
#define MAX_SLOW 64      /* concurrent /slow threads */
#define MAX_SLOW_MS 10000

static todo *store_find(store *s, int64_t id) {
    for (size_t i = 0; i < s->len; i++)
        if (s->items[i].id == id) return &s->items[i];
    return NULL;
}

static char *dup_mem(const char *p, size_t n) {
    char *c = (char *)malloc(n + 1);
    if (!c) return NULL;
    if (n) memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

/* ---- JSON helpers ---- */

/* Re-serialise a parsed value (used for the "input" of validation errors). */
static void write_value(fr_jw *w, const fr_json_val *v) {
    size_t i;
    switch (v->type) {
    case FR_JSON_NULL: fr_jw_null(w); break;
    case FR_JSON_BOOL: fr_jw_bool(w, v->u.b); break;
    case FR_JSON_INT: fr_jw_int(w, v->u.i); break;
    case FR_JSON_BIGINT: fr_jw_raw(w, v->u.s.buf, v->u.s.len); break;
    case FR_JSON_DOUBLE: fr_jw_double(w, v->u.d); break;
    case FR_JSON_STRING: fr_jw_string(w, v->u.s.buf, v->u.s.len); break;
    case FR_JSON_ARRAY:
        fr_jw_array_begin(w);
        for (i = 0; i < v->u.arr.len; i++) write_value(w, v->u.arr.items[i]);
        fr_jw_array_end(w);
        break;
    case FR_JSON_OBJECT:
        /* duplicate keys are kept in the DOM; Python keeps the last one at the
         * position of the first. Write each key once, with its last value. */
        fr_jw_object_begin(w);
        for (i = 0; i < v->u.obj.len; i++) {
            const fr_json_member *m = &v->u.obj.items[i];
            size_t j;
            int seen = 0;
            for (j = 0; j < i && !seen; j++) seen = fr_str_eq(v->u.obj.items[j].key, m->key);
            if (seen) continue;
            for (j = v->u.obj.len; j-- > i;) /* the last value for this key */
                if (fr_str_eq(v->u.obj.items[j].key, m->key)) break;
            fr_jw_key(w, m->key.buf, m->key.len);
            write_value(w, v->u.obj.items[j].val);
        }
        fr_jw_object_end(w);
        break;
    default: fr_jw_null(w); break;
    }
}

static void write_todo(fr_jw *w, const todo *t) {
    fr_jw_object_begin(w);
    fr_jw_key(w, "id", 2);
    fr_jw_int(w, t->id);
    fr_jw_key(w, "title", 5);
    fr_jw_string(w, t->title, t->title_len);
    fr_jw_key(w, "done", 4);
    fr_jw_bool(w, t->done);
    fr_jw_object_end(w);
}

/* Send what the writer produced (500 if it failed) and free the buffer. */
static int send_jw(fr_req *req, int status, fr_jw *w, fr_buf *b) {
    int rc;
    if (fr_jw_finish(w) != 0) {
        fr_buf_free(b);
        return SEND_LIT(req, 500, "{\"detail\":\"Internal Server Error\"}");
    }
    rc = fr_res_json(req, status, b->buf, b->len);
    fr_buf_free(b);
    return rc;
}

static int not_found(fr_req *req) {
    static const char body[] = "{\"detail\":\"Todo not found\"}";
    return fr_res_json(req, 404, body, sizeof body - 1);
}

/* ---- validation errors, FastAPI style ---- */

typedef struct verr {
    fr_jw w;
    fr_buf b;
    int count;
} verr;

static void verr_init(verr *e) {
    memset(e, 0, sizeof *e);
    fr_jw_init(&e->w, &e->b);
    fr_jw_object_begin(&e->w);
    fr_jw_key(&e->w, "detail", 6);
    fr_jw_array_begin(&e->w);
}

/* One error item; loc2 NULL means loc ["<where>"]; input NULL means JSON null. */
static void verr_add(verr *e, const char *type, const char *where, const char *loc2,
                     const char *msg, const fr_json_val *input) {
    fr_jw *w = &e->w;
    fr_jw_object_begin(w);
    fr_jw_key(w, "type", 4);
    fr_jw_string(w, type, strlen(type));
    fr_jw_key(w, "loc", 3);
    fr_jw_array_begin(w);
    fr_jw_string(w, where, strlen(where));
    if (loc2) fr_jw_string(w, loc2, strlen(loc2));
    fr_jw_array_end(w);
    fr_jw_key(w, "msg", 3);
    fr_jw_string(w, msg, strlen(msg));
    fr_jw_key(w, "input", 5);
    if (input) write_value(w, input);
    else fr_jw_null(w);
    fr_jw_object_end(w);
    e->count++;
}

static int verr_send(fr_req *req, verr *e) {
    fr_jw_array_end(&e->w);
    fr_jw_object_end(&e->w);
    return send_jw(req, 422, &e->w, &e->b);
}

static int verr_single_str_input(fr_req *req, const char *type, const char *where,
                                 const char *loc2, const char *msg, fr_str input) {
    verr e;
    fr_json_val v;
    memset(&v, 0, sizeof v);
    v.type = FR_JSON_STRING;
    v.u.s = input;
    verr_init(&e);
    verr_add(&e, type, where, loc2, msg, &v);
    return verr_send(req, &e);
}

/* pydantic's lax bool: true/false, 0/1 (also 0.0/1.0), and the strings
 * 0 1 f t n y no on off yes true false (any case). 0/1 valid, -1 bool_parsing,
 * -2 bool_type. */
static int lax_bool(fr_str s, int *out) {
    static const char *const yes[] = {"1", "on", "t", "true", "y", "yes"};
    static const char *const no[] = {"0", "off", "f", "false", "n", "no"};
    size_t i;
    for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (fr_str_ieq_c(s, yes[i])) { *out = 1; return 0; }
        if (fr_str_ieq_c(s, no[i])) { *out = 0; return 0; }
    }
    return -1;
}

static int json_bool(const fr_json_val *v, int *out) {
    switch (v->type) {
    case FR_JSON_BOOL: *out = v->u.b != 0; return 0;
    case FR_JSON_INT:
        if (v->u.i == 0 || v->u.i == 1) { *out = (int)v->u.i; return 0; }
        return -1;
    case FR_JSON_BIGINT: return -1;
    case FR_JSON_DOUBLE:
        if (v->u.d == 0.0 || v->u.d == 1.0) { *out = v->u.d == 1.0; return 0; }
        return -2;
    case FR_JSON_STRING: return lax_bool(v->u.s, out);
    default: return -2;
    }
}

static int is_json_content_type(fr_str ct) {
    /* application/json or application/<x>+json, parameters allowed */
    size_t n = 0;
    while (n < ct.len && ct.buf[n] != ';') n++;
    while (n > 0 && (ct.buf[n - 1] == ' ' || ct.buf[n - 1] == '\t')) n--;
    if (n < 12 || !fr_str_ieq_c((fr_str){ct.buf, 12}, "application/")) return 0;
    if (fr_str_ieq_c((fr_str){ct.buf, n}, "application/json")) return 1;
    return n > 17 && fr_str_ieq_c((fr_str){ct.buf + n - 5, 5}, "+json");
}

typedef struct todo_in {
    fr_str title;
    int has_title, done, has_done;
} todo_in;

/* Parse and validate a body for `title: str, done: bool = False` (or, with
 * partial = 1, both optional). Returns 0 with *in filled, or -1 after having
 * answered the request with a 422. */
static int parse_body(fr_req *req, todo_in *in, int partial) {
    fr_str body = fr_req_body(req);
    fr_str ct = fr_req_header(req, "content-type");
    fr_json_val *root, *title, *done;
    fr_err err = {0, NULL, 0};
    verr e;

    memset(in, 0, sizeof *in);
    if (body.len == 0) {
        verr_init(&e);
        verr_add(&e, "missing", "body", NULL, "Field required", NULL);
        verr_send(req, &e);
        return -1;
    }
    if (!ct.buf || !is_json_content_type(ct)) {
        verr_single_str_input(req, "model_attributes_type", "body", NULL,
                              "Input should be a valid dictionary or object to extract "
                              "fields from", body);
        return -1;
    }
    root = fr_json_parse(body.buf, body.len, fr_req_arena(req), 0, &err);
    if (!root) {
        fr_jw *w;
        verr_init(&e);
        w = &e.w;
        fr_jw_object_begin(w);
        fr_jw_key(w, "type", 4);
        fr_jw_string(w, "json_invalid", 12);
        fr_jw_key(w, "loc", 3);
        fr_jw_array_begin(w);
        fr_jw_string(w, "body", 4);
        fr_jw_uint(w, err.pos);
        fr_jw_array_end(w);
        fr_jw_key(w, "msg", 3);
        fr_jw_string(w, "JSON decode error", 17);
        fr_jw_key(w, "input", 5);
        fr_jw_object_begin(w);
        fr_jw_object_end(w);
        fr_jw_key(w, "ctx", 3);
        fr_jw_object_begin(w);
        fr_jw_key(w, "error", 5);
        if (err.msg) fr_jw_string(w, err.msg, strlen(err.msg));
        else fr_jw_string(w, "invalid JSON", 12);
        fr_jw_object_end(w);
        fr_jw_object_end(w);
        verr_send(req, &e);
        return -1;
    }
    verr_init(&e);
    if (root->type != FR_JSON_OBJECT) {
        verr_add(&e, "model_attributes_type", "body", NULL,
                 "Input should be a valid dictionary or object to extract fields from", root);
        verr_send(req, &e);
        return -1;
    }
    title = fr_json_get(root, "title");
    done = fr_json_get(root, "done");
    if (!title) {
        if (!partial) verr_add(&e, "missing", "body", "title", "Field required", root);
    } else if (title->type != FR_JSON_STRING) {
        verr_add(&e, "string_type", "body", "title", "Input should be a valid string", title);
    } else {
        in->title = title->u.s;
        in->has_title = 1;
    }
    if (done) {
        int r = json_bool(done, &in->done);
        if (r == -1)
            verr_add(&e, "bool_parsing", "body", "done",
                     "Input should be a valid boolean, unable to interpret input", done);
        else if (r == -2)
            verr_add(&e, "bool_type", "body", "done", "Input should be a valid boolean", done);
        else
            in->has_done = 1;
    }
    if (e.count) {
        verr_send(req, &e);
        return -1;
    }
    fr_buf_free(&e.b);
    return 0;
}

/* ---- handlers ---- */

static int h_list(fr_req *req, void *ud) {
    store *s = (store *)ud;
    fr_str v, q = {NULL, 0};
    int want_done = -1, d;
    fr_jw w;
    fr_buf b = {NULL, 0, 0};

    if (fr_req_query_get(req, "done", &v)) {
        if (lax_bool(v, &d) != 0)
            return verr_single_str_input(req, "bool_parsing", "query", "done",
                                         "Input should be a valid boolean, unable to "
                                         "interpret input", v);
        want_done = d;
    }
    if (!fr_req_query_get(req, "q", &q)) q.buf = NULL;

    fr_jw_init(&w, &b);
    fr_jw_array_begin(&w);
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->len; i++) {
        const todo *t = &s->items[i];
        if (want_done >= 0 && t->done != want_done) continue;
        if (q.buf && q.len) {
            size_t k;
            int hit = 0;
            for (k = 0; !hit && k + q.len <= t->title_len; k++)
                hit = memcmp(t->title + k, q.buf, q.len) == 0;
            if (!hit) continue;
        }
        write_todo(&w, t);
    }
    pthread_mutex_unlock(&s->mu);
    fr_jw_array_end(&w);
    return send_jw(req, 200, &w, &b);
}

static int h_create(fr_req *req, void *ud) {
    store *s = (store *)ud;
    todo_in in;
    todo t;
    fr_jw w;
    fr_buf b = {NULL, 0, 0};

    if (parse_body(req, &in, 0) != 0) return FR_DONE;
    t.title = dup_mem(in.title.buf, in.title.len);
    t.title_len = in.title.len;
    t.done = in.has_done ? in.done : 0;
    if (!t.title) return SEND_LIT(req, 500, "{\"detail\":\"Internal Server Error\"}");

    pthread_mutex_lock(&s->mu);
    if (s->len == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 16;
        todo *n = s->len >= MAX_TODOS ? NULL : (todo *)realloc(s->items, ncap * sizeof *n);
        if (!n) {
            pthread_mutex_unlock(&s->mu);
            free(t.title);
            return SEND_LIT(req, 507, "{\"detail\":\"Store is full\"}");
        }
        s->items = n;
        s->cap = ncap;
    }
    t.id = s->next_id++;
    s->items[s->len++] = t;
    fr_jw_init(&w, &b);
    write_todo(&w, &t);
    pthread_mutex_unlock(&s->mu);
    return send_jw(req, 201, &w, &b);
}

static int h_get(fr_req *req, void *ud) {
    store *s = (store *)ud;
    int64_t id = fr_req_param_int(req, "id");
    fr_jw w;
    fr_buf b = {NULL, 0, 0};
    todo *t;

    pthread_mutex_lock(&s->mu);
    t = store_find(s, id);
    if (!t) {
        pthread_mutex_unlock(&s->mu);
        return not_found(req);
    }
    fr_jw_init(&w, &b);
    write_todo(&w, t);
    pthread_mutex_unlock(&s->mu);
    return send_jw(req, 200, &w, &b);
}

/* PUT (partial = 0: replace, title required) and PATCH (partial = 1). */
static int update(fr_req *req, store *s, int partial) {
    int64_t id = fr_req_param_int(req, "id");
    todo_in in;
    char *title = NULL;
    fr_jw w;
    fr_buf b = {NULL, 0, 0};
    todo *t;

    if (parse_body(req, &in, partial) != 0) return FR_DONE;
    if (in.has_title && !(title = dup_mem(in.title.buf, in.title.len)))
        return SEND_LIT(req, 500, "{\"detail\":\"Internal Server Error\"}");
    pthread_mutex_lock(&s->mu);
    t = store_find(s, id);
    if (!t) {
        pthread_mutex_unlock(&s->mu);
        free(title);
        return not_found(req);
    }
    if (title) {
        free(t->title);
        t->title = title;
        t->title_len = in.title.len;
    }
    if (in.has_done) t->done = in.done;
    else if (!partial) t->done = 0; /* PUT replaces: the default applies */
    fr_jw_init(&w, &b);
    write_todo(&w, t);
    pthread_mutex_unlock(&s->mu);
    return send_jw(req, 200, &w, &b);
}

static int h_put(fr_req *req, void *ud) { return update(req, (store *)ud, 0); }
static int h_patch(fr_req *req, void *ud) { return update(req, (store *)ud, 1); }

static int h_delete(fr_req *req, void *ud) {
    store *s = (store *)ud;
    int64_t id = fr_req_param_int(req, "id");
    todo *t;

    pthread_mutex_lock(&s->mu);
    t = store_find(s, id);
    if (!t) {
        pthread_mutex_unlock(&s->mu);
        return not_found(req);
    }
    free(t->title);
    memmove(t, t + 1, (size_t)(s->items + s->len - (t + 1)) * sizeof *t);
    s->len--;
    pthread_mutex_unlock(&s->mu);
    fr_res_status(req, 204);
    fr_res_send(req);
    return FR_DONE;
}

/* ---- deferred responses: /slow answers from a worker thread ---- */

typedef struct slow_job {
    fr_req *req;
    store *s;
    long ms;
} slow_job;

static void *slow_thread(void *arg) {
    slow_job *job = (slow_job *)arg;
    struct timespec ts;
    char body[64];
    int n;

    ts.tv_sec = job->ms / 1000;
    ts.tv_nsec = (job->ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    n = snprintf(body, sizeof body, "{\"slept_ms\":%ld}", job->ms);
    /* any thread may finish a FR_PENDING request; the owning loop is woken */
    fr_res_json(job->req, 200, body, (size_t)n);
    pthread_mutex_lock(&job->s->mu);
    job->s->slow_in_flight--;
    pthread_mutex_unlock(&job->s->mu);
    free(job);
    return NULL;
}

static int h_slow(fr_req *req, void *ud) {
    store *s = (store *)ud;
    fr_str v;
    int64_t ms = 100;
    slow_job *job;
    pthread_t th;
    pthread_attr_t attr;
    int busy;

    if (fr_req_query_get(req, "ms", &v) && (fr_str_to_i64(v, &ms) != 0 || ms < 0 ||
                                            ms > MAX_SLOW_MS))
        return SEND_LIT(req, 422, "{\"detail\":\"ms must be an integer in 0..10000\"}");
    pthread_mutex_lock(&s->mu);
    busy = s->slow_in_flight >= MAX_SLOW;
    if (!busy) s->slow_in_flight++;
    pthread_mutex_unlock(&s->mu);
    if (busy) return SEND_LIT(req, 503, "{\"detail\":\"Too many slow requests\"}");

    job = (slow_job *)malloc(sizeof *job);
    if (job) {
        job->req = req;
        job->s = s;
        job->ms = (long)ms;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &attr, slow_thread, job) != 0) {
            free(job);
            job = NULL;
        }
        pthread_attr_destroy(&attr);
    }
    if (!job) {
        pthread_mutex_lock(&s->mu);
        s->slow_in_flight--;
        pthread_mutex_unlock(&s->mu);
        return SEND_LIT(req, 503, "{\"detail\":\"Cannot start a worker\"}");
    }
    return FR_PENDING; /* the worker owns req until it calls fr_res_send */
}

/* ---- streaming: /export sends NDJSON in chunks from a worker thread ---- */

typedef struct export_job {
    fr_req *req;
    store *s;
    long filler; /* extra ~1 KiB lines, to push past the high-water mark */
} export_job;

/* One piece of the stream. This producer has a thread of its own, so when
 * the queue is above high water (FR_STREAM_FULL) it waits for the client to
 * take some. 0 once the client is gone (dropped if it stops reading). */
static int stream_put(fr_req *req, const char *p, size_t n) {
    int r = fr_res_stream_write(req, p, n);
    if (r == FR_STREAM_FULL) r = fr_res_stream_wait(req, -1);
    return r == 0;
}

static void *export_thread(void *arg) {
    export_job *job = (export_job *)arg;
    store *s = job->s;
    fr_buf snap = {NULL, 0, 0}, line = {NULL, 0, 0};
    char pad[1001];
    size_t n = 0, off = 0;
    long i;
    int ok = 1;

    /* snapshot under the lock, stream without it */
    pthread_mutex_lock(&s->mu);
    for (size_t k = 0; k < s->len && ok; k++) {
        fr_jw w;
        fr_jw_init(&w, &snap);
        write_todo(&w, &s->items[k]);
        ok = fr_jw_finish(&w) == 0 && fr_buf_append_char(&snap, '\n') == 0;
        n++;
    }
    pthread_mutex_unlock(&s->mu);
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';

    fr_res_status(job->req, ok ? 200 : 500);
    fr_res_header(job->req, "content-type", "application/x-ndjson");
    if (fr_res_stream_begin(job->req) == 0) {
        /* one chunk per line: the client sees them as they are produced */
        while (ok && off < snap.len) {
            const char *nl = (const char *)memchr(snap.buf + off, '\n', snap.len - off);
            size_t len = (size_t)(nl - (snap.buf + off)) + 1;
            ok = stream_put(job->req, snap.buf + off, len);
            off += len;
        }
        for (i = 0; ok && i < job->filler; i++) {
            line.len = 0;
            ok = fr_buf_printf(&line, "{\"filler\":%ld,\"pad\":\"%s\"}\n", i, pad) == 0 &&
                 stream_put(job->req, line.buf, line.len); /* 0: client gone */
        }
        if (ok) {
            line.len = 0;
            if (fr_buf_printf(&line, "{\"count\":%zu}\n", n) == 0)
                fr_res_stream_write(job->req, line.buf, line.len);
        }
    }
    fr_res_stream_end(job->req); /* always: it releases the request */
    fr_buf_free(&snap);
    fr_buf_free(&line);
    pthread_mutex_lock(&s->mu);
    s->streams_in_flight--;
    pthread_mutex_unlock(&s->mu);
    free(job);
    return NULL;
}

static int h_export(fr_req *req, void *ud) {
    store *s = (store *)ud;
    fr_str v;
    int64_t filler = 0;
    export_job *job;
    pthread_t th;
    pthread_attr_t attr;
    int busy;

    if (fr_req_query_get(req, "filler", &v) &&
        (fr_str_to_i64(v, &filler) != 0 || filler < 0 || filler > 100000))
        return SEND_LIT(req, 422, "{\"detail\":\"filler must be in 0..100000\"}");
    pthread_mutex_lock(&s->mu);
    busy = s->streams_in_flight >= MAX_SLOW;
    if (!busy) s->streams_in_flight++;
    pthread_mutex_unlock(&s->mu);
    if (busy) return SEND_LIT(req, 503, "{\"detail\":\"Too many exports\"}");
    job = (export_job *)malloc(sizeof *job);
    if (job) {
        job->req = req;
        job->s = s;
        job->filler = (long)filler;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &attr, export_thread, job) != 0) {
            free(job);
            job = NULL;
        }
        pthread_attr_destroy(&attr);
    }
    if (!job) {
        pthread_mutex_lock(&s->mu);
        s->streams_in_flight--;
        pthread_mutex_unlock(&s->mu);
        return SEND_LIT(req, 503, "{\"detail\":\"Cannot start a worker\"}");
    }
    return FR_PENDING;
}

static int h_stats(fr_req *req, void *ud) {
    store *s = (store *)ud;
    char body[128];
    int n;
    pthread_mutex_lock(&s->mu);
    n = snprintf(body, sizeof body,
                 "{\"todos\":%zu,\"slow_in_flight\":%d,\"streams_in_flight\":%d}", s->len,
                 s->slow_in_flight, s->streams_in_flight);
    pthread_mutex_unlock(&s->mu);
    return fr_res_json(req, 200, body, (size_t)n);
}

/* ---- main ---- */

/* Read a non-negative integer knob from the environment; -1 if malformed. */
static int env_knob(const char *name, long long *out) {
    const char *v = getenv(name);
    int64_t x;
    if (!v || !*v) return 0;
    if (fr_str_to_i64(fr_str_c(v), &x) != 0 || x < 0 || x > INT32_MAX) {
        fprintf(stderr, "todo: %s must be an integer in 0..%d\n", name, INT32_MAX);
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv) {
    fr_config cfg;
    long long v;
    int port = 8001, bound, rc = 0, i;
    fr_app *app;
    store s;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        int64_t p;
        if (fr_str_to_i64(fr_str_c(argv[1]), &p) != 0 || p < 0 || p > 65535) {
            fprintf(stderr, "todo: bad port '%s'\n", argv[1]);
            return 2;
        }
        port = (int)p;
    }

    memset(&cfg, 0, sizeof cfg); /* zero = every default */
#define KNOB(envname, field, type)                                                       \
    v = 0;                                                                               \
    if (env_knob(envname, &v) != 0) return 2;                                           \
    cfg.field = (type)v;
    KNOB("FR_THREADS", threads, int)
    KNOB("FR_HEADER_TIMEOUT_MS", header_timeout_ms, int)
    KNOB("FR_IDLE_TIMEOUT_MS", idle_timeout_ms, int)
    KNOB("FR_BODY_TIMEOUT_MS", body_timeout_ms, int)
    KNOB("FR_MAX_BODY_BYTES", max_body_bytes, uint64_t)
    KNOB("FR_MAX_CONNECTIONS", max_connections, int)
    KNOB("FR_MAX_HEADER_BYTES", max_header_bytes, size_t)
    KNOB("FR_MAX_HEADERS", max_headers, size_t)
    KNOB("FR_MAX_URI_BYTES", max_uri_bytes, size_t)
#undef KNOB

    memset(&s, 0, sizeof s);
    s.next_id = 1;
    if (pthread_mutex_init(&s.mu, NULL) != 0) return 1;

    app = fr_app_new(&cfg);
    if (!app) {
        fprintf(stderr, "todo: out of memory\n");
        return 1;
    }
    if (fr_route(app, "GET", "/todos", h_list, &s) || fr_route(app, "POST", "/todos", h_create, &s) ||
        fr_route(app, "GET", "/todos/{id:int}", h_get, &s) ||
        fr_route(app, "PUT", "/todos/{id:int}", h_put, &s) ||
        fr_route(app, "PATCH", "/todos/{id:int}", h_patch, &s) ||
        fr_route(app, "DELETE", "/todos/{id:int}", h_delete, &s) ||
        fr_route(app, "GET", "/slow", h_slow, &s) || fr_route(app, "GET", "/export", h_export, &s) ||
        fr_route(app, "GET", "/stats", h_stats, &s)) {
        fprintf(stderr, "todo: route: %s\n", fr_app_last_error(app));
        fr_app_free(app);
        return 1;
    }
    bound = fr_listen(app, "127.0.0.1", port);
    if (bound < 0) {
        fprintf(stderr, "todo: cannot listen on 127.0.0.1:%d: %s\n", port, fr_app_last_error(app));
        fr_app_free(app);
        return 1;
    }
    printf("listening on http://127.0.0.1:%d\n", bound);
    fflush(stdout);

    if (fr_serve(app) != 0) rc = 1; /* until SIGINT/SIGTERM; drains in-flight */

    /* Deferred workers have answered (the drain waited for them) but may not
     * have returned yet: wait (bounded) before tearing the store down. */
    for (i = 0; i < 1500; i++) {
        int left;
        struct timespec ts = {0, 10 * 1000000L};
        pthread_mutex_lock(&s.mu);
        left = s.slow_in_flight + s.streams_in_flight;
        pthread_mutex_unlock(&s.mu);
        if (left == 0) break;
        nanosleep(&ts, NULL);
    }
    fr_app_free(app);
    for (size_t k = 0; k < s.len; k++) free(s.items[k].title);
    free(s.items);
    if (i < 1500) pthread_mutex_destroy(&s.mu);
    return rc;
}
