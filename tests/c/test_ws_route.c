/* Websocket routes (fr_route_opts.websocket) beside HTTP routes, driven
 * through fr_dispatch: upgrades reach the websocket route, plain requests
 * the GET route of the same pattern (either registered first), a path with
 * only a websocket route answers plain requests as a path without routes
 * (404, or 405 with the other routes' methods only: Starlette's router);
 * fr_req_is_websocket's reading of the headers. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again: frt_got */

static int h_text(fr_req *req, void *ud) {
    const char *t = (const char *)ud;
    return fr_res_text(req, 200, "text/plain", t, strlen(t));
}

static const fr_header up_hs[] = {{{"upgrade", 7}, {"websocket", 9}}, {{"connection", 10}, {"Upgrade", 7}}};

/* method path [upgrade] -> what the sink got (g->body to free) */
static void run(frt_got *g, fr_app *app, const char *method, const char *path, int upgrade) {
    fr_request_desc d;
    fr_sink s = frt_got_sink(g);
    memset(g, 0, sizeof *g);
    memset(&d, 0, sizeof d);
    d.method = fr_str_c(method);
    d.target = fr_str_c(path);
    d.headers = upgrade ? up_hs : NULL;
    d.nheaders = upgrade ? 2 : 0;
    if (fr_dispatch(app, &d, &s) != 0) g->status = -1;
}

static int status_of(fr_app *app, const char *method, const char *path, int upgrade) {
    frt_got g;
    run(&g, app, method, path, upgrade);
    fr_buf_free(&g.body);
    return g.status;
}

/* the allow header's value ("" without one) */
static void allow_of(const frt_got *g, char *out, size_t cap) {
    const char *a = strstr(g->head, "allow: ");
    size_t n = 0;
    if (a)
        for (a += 7; a[n] && a[n] != '\n' && n + 1 < cap; n++) out[n] = a[n];
    out[n] = 0;
}

static int body_is(const frt_got *g, const char *want) {
    size_t n = strlen(want);
    return g->body.len == n && (!n || memcmp(g->body.buf, want, n) == 0);
}

static int add(fr_app *app, const char *method, const char *pattern, const char *text, int ws) {
    fr_route_opts o;
    memset(&o, 0, sizeof o);
    o.websocket = ws;
    return fr_route_ex(app, method, pattern, h_text, (void *)(uintptr_t)text, &o);
}

#define CHECK_GOT(app, method, path, upgrade, st, body_, allow_) \
    do {                                                         \
        frt_got g_;                                              \
        char a_[64];                                             \
        run(&g_, app, method, path, upgrade);                    \
        allow_of(&g_, a_, sizeof a_);                            \
        CHECK_EQ_INT(g_.status, st);                             \
        CHECK(body_is(&g_, body_));                              \
        CHECK(strcmp(a_, allow_) == 0);                          \
        fr_buf_free(&g_.body);                                   \
    } while (0)

static const char not_found[] = "{\"detail\":\"Not Found\"}";
static const char not_allowed[] = "{\"detail\":\"Method Not Allowed\"}";

/* a GET route and a websocket route of one pattern, in either order */
static void test_twins(void) {
    int order;
    for (order = 0; order < 2; order++) {
        fr_app *app = fr_app_new(NULL);
        REQ(app != NULL);
        if (order == 0) {
            REQ(add(app, "GET", "/both/{id}", "page", 0) == 0);
            REQ(add(app, "GET", "/both/{id}", "ws", 1) == 0);
        } else {
            REQ(add(app, "GET", "/both/{id}", "ws", 1) == 0);
            REQ(add(app, "GET", "/both/{id}", "page", 0) == 0);
        }
        CHECK_GOT(app, "GET", "/both/1", 0, 200, "page", "");
        CHECK_GOT(app, "HEAD", "/both/1", 0, 200, "", "");
        CHECK_GOT(app, "GET", "/both/1", 1, 200, "ws", "");
        CHECK_GOT(app, "POST", "/both/1", 0, 405, not_allowed, "GET");
        /* a third GET of the pattern is a duplicate, websocket or not */
        CHECK(add(app, "GET", "/both/{id}", "x", 0) < 0);
        CHECK(add(app, "GET", "/both/{id}", "x", 1) < 0);
        CHECK(add(app, "GET", "/both/{other}", "x", 1) < 0); /* same shape, other names: a third */
        fr_app_free(app);
    }
}

/* the parameters under the route's own names: "tag name=value ..." */
static int h_params(fr_req *req, void *ud) {
    static const char *const names[] = {"item_id", "name", "n", "k"};
    char out[256];
    size_t i, at = (size_t)snprintf(out, sizeof out, "%s %.*s", (const char *)ud, (int)fr_req_route_pattern(req).len,
                                     fr_req_route_pattern(req).buf);
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        fr_str v = fr_req_param(req, names[i]);
        if (v.buf) at += (size_t)snprintf(out + at, sizeof out - at, " %s=%.*s", names[i], (int)v.len, v.buf);
    }
    return fr_res_text(req, 200, "text/plain", out, at);
}

/* a GET route and a websocket route of one shape with other parameter
 * names (Starlette pairs them: each sees its own names) */
static void test_twins_other_names(void) {
    int order;
    for (order = 0; order < 2; order++) {
        fr_app *app = fr_app_new(NULL);
        fr_route_opts ws;
        REQ(app != NULL);
        memset(&ws, 0, sizeof ws);
        ws.websocket = 1;
        if (order == 0) {
            REQ(fr_route(app, "GET", "/items/{item_id}/x/{n:int}", h_params, (void *)"page") == 0);
            REQ(fr_route_ex(app, "GET", "/items/{name}/x/{k:int}", h_params, (void *)"ws", &ws) == 0);
        } else {
            REQ(fr_route_ex(app, "GET", "/items/{name}/x/{k:int}", h_params, (void *)"ws", &ws) == 0);
            REQ(fr_route(app, "GET", "/items/{item_id}/x/{n:int}", h_params, (void *)"page") == 0);
        }
        CHECK_GOT(app, "GET", "/items/a%20b/x/7", 0, 200, "page /items/{item_id}/x/{n:int} item_id=a b n=7", "");
        CHECK_GOT(app, "GET", "/items/a%20b/x/7", 1, 200, "ws /items/{name}/x/{k:int} name=a b k=7", "");
        CHECK_GOT(app, "GET", "/items/a/x/no", 1, 404, not_found, ""); /* {k:int} */
        CHECK(add(app, "GET", "/items/{z}/x/{q:int}", "x", 1) < 0); /* a third: a duplicate */
        fr_app_free(app);
    }
    { /* other types are another shape: not twins (and a duplicate for the router) */
        fr_app *app = fr_app_new(NULL);
        REQ(app != NULL);
        REQ(add(app, "GET", "/t/{a:int}", "page", 0) == 0);
        CHECK(add(app, "GET", "/t/{b:float}", "ws", 1) == 0); /* a node of its own */
        CHECK_GOT(app, "GET", "/t/1.5", 1, 200, "ws", "");
        CHECK_GOT(app, "GET", "/t/1", 0, 200, "page", "");
        fr_app_free(app);
    }
}

/* only a websocket route: plain requests see no route there */
static void test_websocket_only(void) {
    fr_app *app = fr_app_new(NULL);
    REQ(app != NULL);
    REQ(add(app, "GET", "/only", "ws", 1) == 0);
    CHECK_GOT(app, "GET", "/only", 1, 200, "ws", "");
    CHECK_GOT(app, "GET", "/only", 0, 404, not_found, "");
    CHECK_GOT(app, "HEAD", "/only", 0, 404, "", "");
    CHECK_GOT(app, "POST", "/only", 0, 404, not_found, "");
    CHECK_GOT(app, "DELETE", "/only", 1, 404, not_found, "");
    CHECK_GOT(app, "GET", "/only/", 1, 307, "", ""); /* redirect_slashes, as for any route */
    fr_app_free(app);
}

/* a websocket route beside other methods: their 405, without GET */
static void test_websocket_beside_other_methods(void) {
    fr_app *app = fr_app_new(NULL);
    REQ(app != NULL);
    REQ(add(app, "GET", "/mixed", "ws", 1) == 0);
    REQ(add(app, "POST", "/mixed", "post", 0) == 0);
    REQ(add(app, "PUT", "/mixed", "put", 0) == 0);
    CHECK_GOT(app, "POST", "/mixed", 0, 200, "post", "");
    CHECK_GOT(app, "GET", "/mixed", 1, 200, "ws", "");
    CHECK_GOT(app, "GET", "/mixed", 0, 405, not_allowed, "POST, PUT");
    CHECK_GOT(app, "PATCH", "/mixed", 0, 405, not_allowed, "POST, PUT");
    fr_app_free(app);
}

/* a websocket route and a route of any method ("*", a mount) of one shape,
 * in either order: upgrades reach the websocket route, every plain request
 * (GET and HEAD too) the "*" route, also one of another shape that
 * matches the path (Starlette's router passes websocket routes by) */
static void test_websocket_beside_any(void) {
    int order;
    for (order = 0; order < 2; order++) {
        fr_app *app = fr_app_new(NULL);
        REQ(app != NULL);
        if (order == 0) {
            REQ(add(app, "GET", "/sub/{path:path}", "ws", 1) == 0);
            REQ(add(app, "*", "/sub/{rest:path}", "mount", 0) == 0);
        } else {
            REQ(add(app, "*", "/sub/{rest:path}", "mount", 0) == 0);
            REQ(add(app, "GET", "/sub/{path:path}", "ws", 1) == 0);
        }
        REQ(add(app, "GET", "/other/{id:int}", "ws2", 1) == 0);
        REQ(add(app, "GET", "/only/{id}", "ws3", 1) == 0);
        REQ(add(app, "*", "/other/{id}", "any2", 0) == 0);
        CHECK_GOT(app, "GET", "/sub/a/b", 1, 200, "ws", "");
        CHECK_GOT(app, "GET", "/sub/a/b", 0, 200, "mount", "");
        CHECK_GOT(app, "HEAD", "/sub/a/b", 0, 200, "", "");
        CHECK_GOT(app, "POST", "/sub/a/b", 0, 200, "mount", "");
        CHECK_GOT(app, "DELETE", "/sub/a/b", 1, 200, "mount", "");
        CHECK_GOT(app, "GET", "/other/7", 1, 200, "ws2", "");
        CHECK_GOT(app, "GET", "/other/7", 0, 200, "any2", "");
        CHECK_GOT(app, "GET", "/other/x", 0, 200, "any2", "");
        CHECK_GOT(app, "POST", "/other/7", 0, 200, "any2", "");
        CHECK_GOT(app, "GET", "/only/7", 0, 404, not_found, ""); /* no "*" route matches */
        fr_app_free(app);
    }
}

/* an upgrade to a plain GET route reaches it (it may accept itself);
 * fr_ws_route stays a plain GET route (426 to a plain GET) */
static void test_plain_routes_unchanged(void) {
    static const fr_ws_config cfg; /* zeroed: the defaults */
    fr_app *app = fr_app_new(NULL);
    REQ(app != NULL);
    REQ(add(app, "GET", "/plain", "page", 0) == 0);
    REQ(fr_ws_route(app, "/legacy", &cfg) == 0);
    CHECK_GOT(app, "GET", "/plain", 1, 200, "page", "");
    CHECK_EQ_INT(status_of(app, "GET", "/legacy", 0), 426);
    CHECK_GOT(app, "POST", "/legacy", 0, 405, not_allowed, "GET");
    fr_app_free(app);
}

/* websocket_routes_only: upgrades reach websocket routes only, anything
 * else refused 403 (uvicorn's answer for a websocket scope no route took);
 * plain requests as without it */
static void test_websocket_routes_only(void) {
    fr_config cfg;
    fr_app *app;
    memset(&cfg, 0, sizeof cfg);
    cfg.websocket_routes_only = 1;
    app = fr_app_new(&cfg);
    REQ(app != NULL);
    REQ(add(app, "GET", "/plain", "page", 0) == 0);
    REQ(add(app, "GET", "/only", "ws", 1) == 0);
    REQ(add(app, "GET", "/both", "page", 0) == 0);
    REQ(add(app, "GET", "/both", "ws", 1) == 0);
    REQ(add(app, "*", "/any", "any", 0) == 0);
    CHECK_GOT(app, "GET", "/only", 1, 200, "ws", "");
    CHECK_GOT(app, "GET", "/both", 1, 200, "ws", "");
    CHECK_GOT(app, "GET", "/both", 0, 200, "page", "");
    CHECK_GOT(app, "GET", "/plain", 1, 403, "", "");
    CHECK_GOT(app, "GET", "/any", 1, 403, "", "");
    CHECK_GOT(app, "GET", "/nowhere", 1, 403, "", "");
    CHECK_GOT(app, "GET", "/only/", 1, 403, "", ""); /* no redirect for a websocket */
    CHECK_GOT(app, "GET", "/plain", 0, 200, "page", "");
    CHECK_GOT(app, "GET", "/nowhere", 0, 404, not_found, "");
    CHECK_EQ_INT(status_of(app, "POST", "/plain", 1), 405); /* not an upgrade: a POST */
    fr_app_free(app);
}

static int is_ws_status;
static int h_is_ws(fr_req *req, void *ud) {
    (void)ud;
    is_ws_status = fr_req_is_websocket(req);
    return fr_res_text(req, 204, "text/plain", "", 0);
}

static int is_ws(const char *method, const fr_header *h, size_t n) {
    fr_app *app = fr_app_new(NULL);
    fr_request_desc d;
    frt_got g;
    fr_sink s = frt_got_sink(&g);
    if (!app || fr_route(app, "*", "/x", h_is_ws, NULL) < 0) return -1;
    memset(&g, 0, sizeof g);
    memset(&d, 0, sizeof d);
    d.method = fr_str_c(method);
    d.target = fr_str_c("/x");
    d.headers = h;
    d.nheaders = n;
    is_ws_status = -1;
    fr_dispatch(app, &d, &s);
    fr_buf_free(&g.body);
    fr_app_free(app);
    return is_ws_status;
}

#define HDR(n, v) {{n, sizeof n - 1}, {v, sizeof v - 1}}

static void test_is_websocket(void) {
    static const fr_header plain[] = {HDR("host", "x")};
    static const fr_header lists[] = {HDR("Upgrade", "h2c, WebSocket"), HDR("CONNECTION", "keep-alive,  upgrade ")};
    static const fr_header split[] = {HDR("upgrade", "h2c"), HDR("connection", "upgrade"), HDR("upgrade", "websocket")};
    static const fr_header no_conn[] = {HDR("upgrade", "websocket")};
    static const fr_header no_up[] = {HDR("connection", "upgrade")};
    static const fr_header h2c[] = {HDR("upgrade", "h2c"), HDR("connection", "upgrade")};
    static const fr_header sub[] = {HDR("upgrade", "websockets"), HDR("connection", "upgrades")};
    CHECK_EQ_INT(is_ws("GET", up_hs, 2), 1);
    CHECK_EQ_INT(is_ws("GET", lists, 2), 1);
    CHECK_EQ_INT(is_ws("GET", split, 3), 1);
    CHECK_EQ_INT(is_ws("POST", up_hs, 2), 0);
    CHECK_EQ_INT(is_ws("get", up_hs, 2), 0); /* methods are case-sensitive */
    CHECK_EQ_INT(is_ws("GET", plain, 1), 0);
    CHECK_EQ_INT(is_ws("GET", no_conn, 1), 0);
    CHECK_EQ_INT(is_ws("GET", no_up, 1), 0);
    CHECK_EQ_INT(is_ws("GET", h2c, 2), 0);
    CHECK_EQ_INT(is_ws("GET", sub, 2), 0); /* tokens, not substrings */
    CHECK_EQ_INT(fr_req_is_websocket(NULL), 0);
}

/* fr_ws_subprotocol_offered reads the same comma lists: exact tokens */
static int offered[3];
static int h_offered(fr_req *req, void *ud) {
    (void)ud;
    offered[0] = fr_ws_subprotocol_offered(req, "chat");
    offered[1] = fr_ws_subprotocol_offered(req, "");
    offered[2] = fr_ws_subprotocol_offered(req, "v2.json");
    return fr_res_text(req, 204, "text/plain", "", 0);
}

static void offers(const fr_header *h, size_t n) {
    fr_app *app = fr_app_new(NULL);
    fr_request_desc d;
    frt_got g;
    fr_sink s = frt_got_sink(&g);
    memset(offered, -1, sizeof offered);
    if (!app || fr_route(app, "GET", "/x", h_offered, NULL) < 0) return;
    memset(&g, 0, sizeof g);
    memset(&d, 0, sizeof d);
    d.method = fr_str_c("GET");
    d.target = fr_str_c("/x");
    d.headers = h;
    d.nheaders = n;
    fr_dispatch(app, &d, &s);
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_subprotocol_offered(void) {
    static const fr_header list[] = {HDR("Sec-WebSocket-Protocol", " superchat , chat")};
    static const fr_header split[] = {HDR("sec-websocket-protocol", ", ,"), HDR("sec-websocket-protocol", "v2.json")};
    static const fr_header other[] = {HDR("sec-websocket-protocol", "Chat, chatty, v2"), HDR("x-chat", "chat")};
    offers(list, 1);
    CHECK(offered[0] == 1 && offered[1] == 0 && offered[2] == 0);
    offers(split, 2);
    CHECK(offered[0] == 0 && offered[1] == 0 && offered[2] == 1); /* empty items are no token */
    offers(other, 2);
    CHECK(offered[0] == 0 && offered[1] == 0 && offered[2] == 0); /* exact, whole tokens */
    CHECK_EQ_INT(fr_ws_subprotocol_offered(NULL, "chat"), 0);
}

static const frt_case frt_cases[] = {
    FRT(test_twins), FRT(test_websocket_only), FRT(test_websocket_beside_other_methods),
    FRT(test_plain_routes_unchanged), FRT(test_websocket_routes_only), FRT(test_is_websocket),
    FRT(test_subprotocol_offered), FRT(test_twins_other_names), FRT(test_websocket_beside_any),
};
FRT_MAIN()
