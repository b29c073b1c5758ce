/* handlers.c -- the C routes of examples/python/native/app.py, a native
 * module: compiled against fastrapi.h WITHOUT FASTRAPI_IMPLEMENTATION, loaded
 * by the running app; its fr_* calls go to the app's engine.
 *
 *     fastrapi build-native examples/python/native/handlers.c -o examples/python/native/handlers.so
 *
 * which runs: cc -shared -fPIC -O2 -I$(python -c 'import fastrapi; print(fastrapi.get_include())') ...
 *
 *   leaderboard  GET /leaderboard?limit=N  the top N of a board the Python app
 *                precomputes and publishes (leaderboard_publish, via ctypes)
 *                whenever a score changes: inline, no Python per request
 *   sign         POST /sign  HMAC-SHA256 of the body, keyed with the route's
 *                user_data: inline
 *   report       GET /players/{player_id:int}/report  deferred (FR_PENDING): a thread
 *                asks Python (fr_py_call "player_report") and answers */
#include "fastrapi.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

FR_NATIVE_MODULE();

/* ---- the published board: entries are compact JSON objects, one per line */

static pthread_mutex_t board_mu = PTHREAD_MUTEX_INITIALIZER;
static char *board;      /* "{...}\n{...}\n", best first */
static size_t board_len;

/* Called by the Python app (ctypes) with the whole board; copies it.
 * 0, or -1 out of memory (the old board stays). */
FR_NATIVE_EXPORT int leaderboard_publish(const char *lines, size_t len) {
    char *copy = (char *)malloc(len + 1);
    char *old;
    if (!copy) return -1;
    memcpy(copy, lines, len);
    copy[len] = 0;
    pthread_mutex_lock(&board_mu);
    old = board;
    board = copy;
    board_len = len;
    pthread_mutex_unlock(&board_mu);
    free(old);
    return 0;
}

static int detail(fr_req *req, int status, const char *msg) {
    fr_buf b = {0};
    int rc;
    fr_buf_printf(&b, "{\"detail\":\"%s\"}", msg);
    rc = fr_res_json(req, status, b.buf ? b.buf : "{}", b.buf ? b.len : 2);
    fr_buf_free(&b);
    return rc;
}

/* GET /leaderboard?limit=N (1..100, default 10): a JSON array of the first N
 * lines of the board */
FR_NATIVE_EXPORT int leaderboard(fr_req *req, void *ud) {
    fr_str v;
    int64_t limit = 10;
    fr_buf out = {0};
    size_t i, start = 0;
    int rc;
    (void)ud;
    if (fr_req_query_get(req, "limit", &v) && (fr_str_to_i64(v, &limit) < 0 || limit < 1 || limit > 100))
        return detail(req, 422, "limit must be an integer from 1 to 100");
    fr_buf_append_char(&out, '[');
    pthread_mutex_lock(&board_mu);
    for (i = 0; i < board_len && limit > 0; i++) {
        if (board[i] != '\n') continue;
        if (out.len > 1) fr_buf_append_char(&out, ',');
        fr_buf_append(&out, board + start, i - start);
        start = i + 1;
        limit--;
    }
    pthread_mutex_unlock(&board_mu);
    if (fr_buf_append_char(&out, ']') < 0) {
        fr_buf_free(&out);
        return detail(req, 500, "Internal Server Error");
    }
    rc = fr_res_json(req, 200, out.buf, out.len);
    fr_buf_free(&out);
    return rc;
}

/* POST /sign: {"hmac": "<hex HMAC-SHA256 of the body>"}, the key is the
 * route's user_data (a NUL-terminated copy owned by the route) */
FR_NATIVE_EXPORT int sign(fr_req *req, void *ud) {
    const char *key = ud ? (const char *)ud : "";
    fr_str body = fr_req_body(req);
    uint8_t mac[32];
    char json[96];
    int i, n = snprintf(json, sizeof json, "{\"hmac\":\"");
    fr_hmac_sha256(key, strlen(key), body.buf ? body.buf : "", body.len, mac);
    for (i = 0; i < 32; i++) n += snprintf(json + n, sizeof json - (size_t)n, "%02x", mac[i]);
    n += snprintf(json + n, sizeof json - (size_t)n, "\"}");
    return fr_res_json(req, 200, json, (size_t)n);
}

/* GET /players/{player_id:int}/report: deferred to a thread that calls Python */
static void *report_thread(void *arg) {
    fr_req *req = (fr_req *)arg; /* ours until fr_res_send */
    char args[64];
    fr_buf out = {0};
    int n = snprintf(args, sizeof args, "{\"id\":%lld}", (long long)fr_req_param_int(req, "player_id"));
    if (fr_py_call(req, "player_report", (fr_str){args, (size_t)n}, &out) < 0)
        detail(req, 500, "Internal Server Error");
    else if (out.len == 4 && !memcmp(out.buf, "null", 4))
        detail(req, 404, "Player not found");
    else
        fr_res_json(req, 200, out.buf, out.len); /* from this thread: wakes the loop */
    fr_buf_free(&out);
    return NULL;
}

FR_NATIVE_EXPORT int report(fr_req *req, void *ud) {
    pthread_t t;
    (void)ud;
    if (pthread_create(&t, NULL, report_thread, req) != 0)
        return detail(req, 503, "Service Unavailable");
    pthread_detach(t);
    return FR_PENDING; /* req belongs to the thread now */
}
