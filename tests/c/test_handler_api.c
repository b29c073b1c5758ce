/* The handler-side API of issue 13, through fr_dispatch (no sockets):
 *  - fr_req_param_i64 / fr_req_query_i64: 1 read, 0 absent, -1 not an
 *    int64 (overflow included); {id:int} does not match beyond int64 (404);
 *  - fr_res_422: FastAPI's validation-error bytes for one error;
 *  - fr_res_json_buf: the body taken from an fr_buf without a copy;
 *  - fr_res_body_owned: a body released with a one-argument free function.
 * Written in the common subset of C11 and C++. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_got */

typedef frt_got got;
static int get(fr_app *app, const char *target, got *g) {
    fr_request_desc d;
    fr_sink s;
    fr_buf_free(&g->body);
    memset(g, 0, sizeof *g);
    memset(&d, 0, sizeof d);
    d.method = FR_STR("GET");
    d.target = fr_str_c(target);
    s = frt_got_sink(g);
    return fr_dispatch(app, &d, &s);
}

/* 1 if g is `status` with exactly `body` */
static int is(const got *g, int status, const char *body) {
    return g->status == status && g->body.len == strlen(body) && memcmp(g->body.buf, body, g->body.len) == 0;
}

/* ------------------------------------------------------------------------ */
/* handlers                                                                  */

static fr_str mkstr(const char *p, size_t n) {
    fr_str r;
    r.buf = p;
    r.len = n;
    return r;
}

static int64_t last_int;  /* fr_req_param_int's answer on /raw */
static int last_i64_rc;

/* {"<name>":<v>} through fr_jw and fr_res_json_buf */
static int answer_int(fr_req *req, const char *name, int64_t v) {
    fr_buf b = {NULL, 0, 0};
    fr_jw w;
    fr_jw_init(&w, &b);
    fr_jw_object_begin(&w);
    fr_jw_key_c(&w, name);
    fr_jw_int(&w, v);
    fr_jw_object_end(&w);
    if (fr_jw_finish(&w) < 0) {
        fr_buf_free(&b);
        return fr_res_json(req, 500, "{}", 2);
    }
    fr_res_json_buf(req, 200, &b);
    return b.buf == NULL && b.len == 0 ? FR_DONE : FR_PENDING; /* zeroed, or the test hangs */
}

/* FastAPI's int_parsing error for `src`.`name` whose text is raw */
static int int_parsing(fr_req *req, const char *src, const char *name, fr_str raw) {
    fr_buf in = {NULL, 0, 0};
    fr_str loc[2];
    int rc;
    loc[0] = fr_str_c(src);
    loc[1] = fr_str_c(name);
    if (fr_json_write_string(&in, raw.buf, raw.len) < 0) return fr_res_json(req, 500, "{}", 2);
    rc = fr_res_422(req, "int_parsing", loc, 2, NULL,
                    "Input should be a valid integer, unable to parse string as an integer",
                    mkstr(in.buf, in.len));
    fr_buf_free(&in);
    return rc;
}

static int h_user(fr_req *req, void *ud) {
    int64_t id = -1;
    (void)ud;
    last_i64_rc = fr_req_param_i64(req, "id", &id);
    return answer_int(req, "id", id);
}

static int h_raw(fr_req *req, void *ud) {
    int64_t v = 99;
    (void)ud;
    last_int = fr_req_param_int(req, "x");
    last_i64_rc = fr_req_param_i64(req, "x", &v);
    if (fr_req_param_i64(req, "absent", NULL) != 0) return fr_res_json(req, 500, "{}", 2);
    if (last_i64_rc == 1) return answer_int(req, "x", v);
    if (v != 0) return fr_res_json(req, 500, "{}", 2); /* *out = 0 unless 1 */
    return int_parsing(req, "path", "x", fr_req_param(req, "x"));
}

static int h_query(fr_req *req, void *ud) {
    int64_t n = 99;
    fr_str raw = {NULL, 0};
    fr_str loc[2];
    (void)ud;
    last_i64_rc = fr_req_query_i64(req, "n", &n);
    if (last_i64_rc == 1) return answer_int(req, "n", n);
    if (last_i64_rc == -1 && fr_req_query_get(req, "n", &raw) == 1) return int_parsing(req, "query", "n", raw);
    loc[0] = FR_STR("query");
    loc[1] = FR_STR("n");
    return fr_res_422(req, "missing", loc, 2, NULL, "Field required", mkstr(NULL, 0));
}

/* a list index in loc, an encoded object as input */
static int h_indexed(fr_req *req, void *ud) {
    fr_str loc[4];
    static const int idx[4] = {0, 0, 1, 0};
    (void)ud;
    loc[0] = FR_STR("body");
    loc[1] = FR_STR("items");
    loc[2] = FR_STR("3");
    loc[3] = FR_STR("x");
    return fr_res_422(req, "int_type", loc, 4, idx, "Input should be a valid integer", FR_STR("{\"a\":[1]}"));
}

static int h_bad422(fr_req *req, void *ud) {
    fr_str loc = FR_STR("query");
    (void)ud;
    return fr_res_422(req, NULL, &loc, 1, NULL, "m", mkstr(NULL, 0));
}

static int h_badutf8(fr_req *req, void *ud) {
    fr_str loc = FR_STR("q\xff");
    (void)ud;
    return fr_res_422(req, "missing", &loc, 1, NULL, "Field required", mkstr(NULL, 0));
}

static int h_emptybuf(fr_req *req, void *ud) {
    fr_buf b = {NULL, 0, 0};
    (void)ud;
    return fr_res_json_buf(req, 200, &b);
}

static int freed_count;
static void *freed_ptr;
static void count_free(void *p) {
    freed_count++;
    freed_ptr = p;
    free(p);
}

static int h_owned(fr_req *req, void *ud) {
    char *p = (char *)malloc(5);
    (void)ud;
    if (!p) return fr_res_json(req, 500, "{}", 2);
    memcpy(p, "owned", 5);
    fr_res_status(req, 200);
    if (fr_res_body_owned(req, p, 5, count_free) < 0) {
        free(p);
        return fr_res_json(req, 500, "{}", 2);
    }
    return FR_DONE;
}

/* replaced before it is sent: the first body is released at once */
static int h_owned_replaced(fr_req *req, void *ud) {
    char *p = (char *)malloc(3);
    static char fixed[] = "static";
    (void)ud;
    if (!p) return fr_res_json(req, 500, "{}", 2);
    memcpy(p, "old", 3);
    if (fr_res_body_owned(req, p, 3, count_free) < 0) free(p);
    if (fr_res_body_owned(req, fixed, 6, NULL) < 0) return fr_res_json(req, 500, "{}", 2);
    if (fr_res_body_owned(req, NULL, 1, count_free) != -1) return fr_res_json(req, 500, "{}", 2);
    fr_res_status(req, 200);
    return FR_DONE;
}

static fr_app *make_app(void) {
    fr_app *app = fr_app_new(NULL);
    (void)frt_guarded; /* frtest.h's parser-test helpers, unused here */
    (void)frt_guarded_free;
    if (!app) return NULL;
    if (fr_route(app, "GET", "/users/{id:int}", h_user, NULL) < 0 ||
        fr_route(app, "GET", "/raw/{x}", h_raw, NULL) < 0 || fr_route(app, "GET", "/q", h_query, NULL) < 0 ||
        fr_route(app, "GET", "/indexed", h_indexed, NULL) < 0 ||
        fr_route(app, "GET", "/bad422", h_bad422, NULL) < 0 ||
        fr_route(app, "GET", "/badutf8", h_badutf8, NULL) < 0 ||
        fr_route(app, "GET", "/emptybuf", h_emptybuf, NULL) < 0 ||
        fr_route(app, "GET", "/owned", h_owned, NULL) < 0 ||
        fr_route(app, "GET", "/owned2", h_owned_replaced, NULL) < 0) {
        fr_app_free(app);
        return NULL;
    }
    return app;
}

/* ------------------------------------------------------------------------ */
/* tests                                                                     */

static void test_int_route_param_bounds(void) {
    got g;
    fr_app *app = make_app();
    REQUIRE(app != NULL);
    memset(&g, 0, sizeof g);
    CHECK_EQ_INT(get(app, "/users/9223372036854775807", &g), 0);
    CHECK(is(&g, 200, "{\"id\":9223372036854775807}"));
    CHECK_EQ_INT(last_i64_rc, 1);
    CHECK(strstr(g.head, "content-type: application/json\n") != NULL);
    CHECK_EQ_INT(get(app, "/users/0000000000000000000000042", &g), 0); /* leading zeros */
    CHECK(is(&g, 200, "{\"id\":42}"));
    /* one beyond int64 does not match {id:int} (Starlette's [0-9]+, no sign): 404 */
    last_i64_rc = 7;
    CHECK_EQ_INT(get(app, "/users/9223372036854775808", &g), 0);
    CHECK(is(&g, 404, "{\"detail\":\"Not Found\"}"));
    CHECK_EQ_INT(get(app, "/users/-1", &g), 0);
    CHECK(is(&g, 404, "{\"detail\":\"Not Found\"}"));
    CHECK_EQ_INT(get(app, "/users/99999999999999999999", &g), 0);
    CHECK(is(&g, 404, "{\"detail\":\"Not Found\"}"));
    CHECK_EQ_INT(last_i64_rc, 7); /* the handler never ran */
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_param_i64(void) {
    got g;
    fr_app *app = make_app();
    REQUIRE(app != NULL);
    memset(&g, 0, sizeof g);
    CHECK_EQ_INT(get(app, "/raw/42", &g), 0);
    CHECK(is(&g, 200, "{\"x\":42}"));
    CHECK_EQ_INT(get(app, "/raw/+7", &g), 0);
    CHECK(is(&g, 200, "{\"x\":7}"));
    /* overflow: fr_req_param_int says 0, fr_req_param_i64 says -1 */
    CHECK_EQ_INT(get(app, "/raw/99999999999999999999", &g), 0);
    CHECK_EQ_INT(last_i64_rc, -1);
    CHECK(last_int == 0);
    CHECK(is(&g, 422,
             "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"x\"],\"msg\":\"Input should be a "
             "valid integer, unable to parse string as an integer\",\"input\":\"99999999999999999999\"}]}"));
    CHECK_EQ_INT(get(app, "/raw/abc", &g), 0);
    CHECK_EQ_INT(last_i64_rc, -1);
    CHECK(is(&g, 422,
             "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"x\"],\"msg\":\"Input should be a "
             "valid integer, unable to parse string as an integer\",\"input\":\"abc\"}]}"));
    CHECK_EQ_INT(get(app, "/raw/1.5", &g), 0);
    CHECK_EQ_INT(last_i64_rc, -1);
    CHECK_EQ_INT(get(app, "/raw/-", &g), 0);
    CHECK_EQ_INT(last_i64_rc, -1);
    CHECK_EQ_INT(g.status, 422);
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_query_i64(void) {
    got g;
    fr_app *app = make_app();
    REQUIRE(app != NULL);
    memset(&g, 0, sizeof g);
    CHECK_EQ_INT(get(app, "/q?n=-12", &g), 0);
    CHECK(is(&g, 200, "{\"n\":-12}"));
    CHECK_EQ_INT(get(app, "/q?n=1&n=%32", &g), 0); /* the last one, decoded */
    CHECK(is(&g, 200, "{\"n\":2}"));
    CHECK_EQ_INT(get(app, "/q", &g), 0);
    CHECK_EQ_INT(last_i64_rc, 0);
    CHECK(is(&g, 422,
             "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"query\",\"n\"],\"msg\":\"Field required\","
             "\"input\":null}]}"));
    CHECK_EQ_INT(get(app, "/q?n=9223372036854775808", &g), 0);
    CHECK_EQ_INT(last_i64_rc, -1);
    CHECK(is(&g, 422,
             "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"n\"],\"msg\":\"Input should be a "
             "valid integer, unable to parse string as an integer\",\"input\":\"9223372036854775808\"}]}"));
    CHECK_EQ_INT(get(app, "/q?n=", &g), 0);
    CHECK_EQ_INT(last_i64_rc, -1);
    CHECK_EQ_INT(get(app, "/q?n=%22x", &g), 0);
    CHECK(is(&g, 422,
             "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"n\"],\"msg\":\"Input should be a "
             "valid integer, unable to parse string as an integer\",\"input\":\"\\\"x\"}]}"));
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_res_422_shapes(void) {
    got g;
    fr_app *app = make_app();
    REQUIRE(app != NULL);
    memset(&g, 0, sizeof g);
    CHECK_EQ_INT(get(app, "/indexed", &g), 0);
    CHECK(is(&g, 422,
             "{\"detail\":[{\"type\":\"int_type\",\"loc\":[\"body\",\"items\",3,\"x\"],\"msg\":\"Input "
             "should be a valid integer\",\"input\":{\"a\":[1]}}]}"));
    CHECK(strstr(g.head, "content-type: application/json\n") != NULL);
    CHECK_EQ_INT(get(app, "/bad422", &g), 0);
    CHECK(is(&g, 500, "{\"detail\":\"Internal Server Error\"}"));
    CHECK_EQ_INT(get(app, "/badutf8", &g), 0);
    CHECK(is(&g, 500, "{\"detail\":\"Internal Server Error\"}"));
    CHECK_EQ_INT(get(app, "/emptybuf", &g), 0);
    CHECK(is(&g, 500, "{\"detail\":\"Internal Server Error\"}"));
    CHECK_EQ_INT(fr_res_422(NULL, "t", NULL, 0, NULL, "m", mkstr(NULL, 0)), FR_DONE);
    {
        fr_buf b = {NULL, 0, 0};
        CHECK_EQ_INT(fr_buf_append(&b, "{}", 2), 0);
        CHECK_EQ_INT(fr_res_json_buf(NULL, 200, &b), FR_DONE); /* freed (ASan: no leak) */
        CHECK(b.buf == NULL && b.len == 0 && b.cap == 0);
    }
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static void test_body_owned(void) {
    got g;
    fr_app *app = make_app();
    REQUIRE(app != NULL);
    memset(&g, 0, sizeof g);
    freed_count = 0;
    CHECK_EQ_INT(get(app, "/owned", &g), 0);
    CHECK(is(&g, 200, "owned"));
    CHECK_EQ_INT(freed_count, 1);
    CHECK(freed_ptr != NULL);
    freed_count = 0;
    CHECK_EQ_INT(get(app, "/owned2", &g), 0);
    CHECK(is(&g, 200, "static"));
    CHECK_EQ_INT(freed_count, 1); /* "old", when replaced; never the static one */
    CHECK_EQ_INT(fr_res_body_owned(NULL, NULL, 0, count_free), -1);
    fr_buf_free(&g.body);
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_int_route_param_bounds), FRT(test_param_i64), FRT(test_query_i64),
    FRT(test_res_422_shapes),         FRT(test_body_owned),
};
FRT_MAIN()
