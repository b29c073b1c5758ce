/* di.c -- dependency injection from C: a database handle per request.
 *
 *   cc -O2 -std=c11 -I. examples/c/di.c -o examples/c/di -lpthread
 *   ./examples/c/di [port]           (default 8002, binds 127.0.0.1)
 *
 * Providers (registered once, compiled into an order at registration):
 *   settings       app settings (cached per request like every provider)
 *   db(settings)   opens a "connection" from a pool; its teardown commits, or
 *                  rolls back when the request failed, and closes it -- AFTER
 *                  the response has been sent (fr_req_on_done)
 *   user(db)       HTTP Basic credentials parsed in C exactly like FastAPI's
 *                  HTTPBasic; 401 + WWW-Authenticate: Basic when missing/bad
 *
 *   GET /items     -> {"conn":N,"db_shared":true}   (db used twice, opened once)
 *   GET /me        -> {"username":"...","conn":N}   (Authorization: Basic ...)
 *   GET /fail      -> 500, the db teardown sees the failure and rolls back
 *   GET /stats     -> {"opened":..,"closed":..,"committed":..,"rolled_back":..}
 *
 * The pattern for any C handler:
 *   1. ctx = fr_di_ctx_new(di, fr_req_arena(req))   -- memory dies with the request
 *   2. fr_req_on_done(req, finish, ctx)             -- teardowns after the response
 *   3. fr_di_resolve(ctx, id, &value)               -- each provider at most once
 *   4. on failure: fr_di_ctx_set_failed(ctx, code), answer the error. */
#define _GNU_SOURCE 1
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a pretend database pool ---- */

typedef struct pool {
    pthread_mutex_t mu;
    long next_id, opened, closed, committed, rolled_back;
} pool;

typedef struct conn {
    long id;
    pool *owner;
} conn;

typedef struct settings {
    const char *admin;
} settings;

static pool g_pool = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0};
static settings g_settings = {"admin"};
static fr_di *g_di;
static int DB, USER;

static int settings_provide(fr_di_ctx *ctx, void *ud, void **out) {
    (void)ctx;
    *out = ud;
    return 0;
}

static int db_open(fr_di_ctx *ctx, void *ud, void **out) {
    pool *p = (pool *)ud;
    conn *c = (conn *)malloc(sizeof *c);
    (void)fr_di_arg(ctx, 0); /* settings: a real pool would read its DSN here */
    if (!c) return 503;
    pthread_mutex_lock(&p->mu);
    c->id = ++p->next_id;
    p->opened++;
    pthread_mutex_unlock(&p->mu);
    c->owner = p;
    *out = c;
    return 0;
}

/* runs after the response left (or the connection died): commit or roll back */
static int db_close(void *value, int failed, void *ud) {
    conn *c = (conn *)value;
    (void)ud;
    pthread_mutex_lock(&c->owner->mu);
    if (failed) c->owner->rolled_back++;
    else c->owner->committed++;
    c->owner->closed++;
    pthread_mutex_unlock(&c->owner->mu);
    free(c);
    return 0;
}

typedef struct user {
    fr_str name; /* decoded, in the request arena; may hold NUL bytes */
    long conn_id;
} user;

/* FastAPI's HTTPBasic(auto_error=True), in C */
static int user_provide(fr_di_ctx *ctx, void *ud, void **out) {
    fr_req *req = (fr_req *)fr_di_ctx_userdata(ctx);
    conn *db = (conn *)fr_di_arg(ctx, 0);
    fr_str scheme, param, name, pass;
    char *buf;
    user *u;
    (void)ud;
    if (!fr_auth_parse(fr_req_header(req, "authorization"), &scheme, &param) ||
        !fr_str_ieq_c(scheme, "basic"))
        return 401;
    buf = (char *)fr_arena_alloc(fr_req_arena(req), fr_base64_decoded_len(param.len) + 1);
    if (!buf) return 503;
    if (fr_auth_basic_decode(param, buf, fr_base64_decoded_len(param.len) + 1, &name, &pass) < 0)
        return 401;
    u = (user *)fr_arena_alloc(fr_req_arena(req), sizeof *u);
    if (!u) return 503;
    u->name = name;
    u->conn_id = db->id;
    *out = u;
    return 0;
}

/* ---- per-request plumbing ---- */

static void finish(fr_req *req, int ok, void *ud) {
    (void)req;
    fr_di_ctx_finish((fr_di_ctx *)ud, ok ? 0 : 500);
}

static fr_di_ctx *deps_begin(fr_req *req) {
    fr_di_ctx *ctx = fr_di_ctx_new(g_di, fr_req_arena(req));
    if (!ctx || fr_req_on_done(req, finish, ctx) < 0) return NULL;
    fr_di_ctx_set_userdata(ctx, req);
    return ctx;
}

static int answer_error(fr_req *req, fr_di_ctx *ctx, int code) {
    if (ctx) fr_di_ctx_set_failed(ctx, code);
    if (code == 401) {
        static const char body[] = "{\"detail\":\"Not authenticated\"}";
        fr_res_header(req, "www-authenticate", "Basic");
        return fr_res_json(req, 401, body, sizeof body - 1);
    }
    if (code == 500) {
        static const char body[] = "Internal Server Error";
        return fr_res_text(req, 500, "text/plain; charset=utf-8", body, sizeof body - 1);
    }
    {
        static const char body[] = "{\"detail\":\"Service Unavailable\"}";
        return fr_res_json(req, 503, body, sizeof body - 1);
    }
}

/* ---- handlers ---- */

static int items(fr_req *req, void *ud) {
    fr_di_ctx *ctx = deps_begin(req);
    void *a, *b;
    char body[96];
    int rc, n;
    (void)ud;
    if (!ctx) return answer_error(req, NULL, 503);
    rc = fr_di_resolve(ctx, DB, &a);
    if (!rc) rc = fr_di_resolve(ctx, DB, &b); /* second use: the cached handle */
    if (rc) return answer_error(req, ctx, rc > 0 ? rc : 503);
    n = snprintf(body, sizeof body, "{\"conn\":%ld,\"db_shared\":%s}", ((conn *)a)->id,
                 a == b ? "true" : "false");
    return fr_res_json(req, 200, body, (size_t)n);
}

static int me(fr_req *req, void *ud) {
    fr_di_ctx *ctx = deps_begin(req);
    user *u;
    fr_buf out = {NULL, 0, 0};
    int rc;
    (void)ud;
    if (!ctx) return answer_error(req, NULL, 503);
    rc = fr_di_resolve(ctx, USER, (void **)&u);
    if (rc) return answer_error(req, ctx, rc > 0 ? rc : 503);
    /* the name is ASCII (FastAPI's HTTPBasic guarantees it), NULs included */
    rc = fr_buf_append_str(&out, "{\"username\":");
    if (rc == 0) rc = fr_json_write_string(&out, u->name.buf, u->name.len);
    if (rc == 0) rc = fr_buf_printf(&out, ",\"conn\":%ld}", u->conn_id);
    if (rc == 0) rc = fr_res_json(req, 200, out.buf, out.len);
    else rc = answer_error(req, ctx, 503);
    fr_buf_free(&out);
    return rc;
}

static int fail(fr_req *req, void *ud) {
    fr_di_ctx *ctx = deps_begin(req);
    void *db;
    (void)ud;
    if (!ctx) return answer_error(req, NULL, 503);
    if (fr_di_resolve(ctx, DB, &db)) return answer_error(req, ctx, 503);
    /* ... the handler hits a bug after its dependencies were ready ... */
    return answer_error(req, ctx, 500);
}

static int stats(fr_req *req, void *ud) {
    char body[160];
    int n;
    (void)ud;
    pthread_mutex_lock(&g_pool.mu);
    n = snprintf(body, sizeof body,
                 "{\"opened\":%ld,\"closed\":%ld,\"committed\":%ld,\"rolled_back\":%ld}",
                 g_pool.opened, g_pool.closed, g_pool.committed, g_pool.rolled_back);
    pthread_mutex_unlock(&g_pool.mu);
    return fr_res_json(req, 200, body, (size_t)n);
}

static int setup_providers(void) {
    fr_di_provider p;
    int set;
    g_di = fr_di_new(NULL);
    if (!g_di) return -1;
    memset(&p, 0, sizeof p);
    p.name = "settings";
    p.provide = settings_provide;
    p.userdata = &g_settings;
    set = fr_di_add(g_di, &p);

    memset(&p, 0, sizeof p);
    p.name = "db";
    p.deps = &set;
    p.ndeps = 1;
    p.provide = db_open;
    p.teardown = db_close;
    p.userdata = &g_pool;
    DB = fr_di_add(g_di, &p);

    memset(&p, 0, sizeof p);
    p.name = "user";
    p.deps = &DB;
    p.ndeps = 1;
    p.provide = user_provide;
    USER = fr_di_add(g_di, &p);
    if (set < 0 || DB < 0 || USER < 0) {
        fprintf(stderr, "providers: %s\n", fr_di_error(g_di));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 8002;
    fr_app *app;
    if (setup_providers() < 0) return 1;
    app = fr_app_new(NULL);
    if (!app) return 1;
    if (fr_route(app, "GET", "/items", items, NULL) < 0 ||
        fr_route(app, "GET", "/me", me, NULL) < 0 ||
        fr_route(app, "GET", "/fail", fail, NULL) < 0 ||
        fr_route(app, "GET", "/stats", stats, NULL) < 0) {
        fprintf(stderr, "route: %s\n", fr_app_last_error(app));
        return 1;
    }
    port = fr_listen(app, "127.0.0.1", port);
    if (port < 0) {
        fprintf(stderr, "listen: %s\n", fr_app_last_error(app));
        fr_app_free(app);
        return 1;
    }
    printf("listening on http://127.0.0.1:%d\n", port);
    fflush(stdout);
    fr_serve(app); /* until Ctrl-C / SIGTERM / fr_stop() */
    fr_app_free(app);
    fr_di_free(g_di);
    return 0;
}
