/* hello.c -- the smallest fastrapi C server.
 *
 *   cc -O2 -std=c11 -I. examples/c/hello.c -o examples/c/hello -lpthread
 *   ./examples/c/hello [port]        (default 8000, binds 127.0.0.1)
 *
 *   GET /hello            -> {"message":"Hello World"}
 *   GET /users/{id:int}   -> {"id":<id>}
 *
 * Stops on Ctrl-C / SIGTERM (fr_serve drains in-flight requests first). */
#define _GNU_SOURCE 1 /* POSIX + accept4 for the implementation, before any header */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdio.h>
#include <stdlib.h>

static int hello(fr_req *req, void *ud) {
    static const char body[] = "{\"message\":\"Hello World\"}";
    (void)ud;
    return fr_res_json(req, 200, body, sizeof body - 1);
}

static int user(fr_req *req, void *ud) {
    char body[64];
    int n;
    (void)ud;
    n = snprintf(body, sizeof body, "{\"id\":%lld}", (long long)fr_req_param_int(req, "id"));
    return fr_res_json(req, 200, body, (size_t)n);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 8000;
    fr_app *app = fr_app_new(NULL); /* NULL config = all defaults */
    if (!app) return 1;
    if (fr_route(app, "GET", "/hello", hello, NULL) < 0 ||
        fr_route(app, "GET", "/users/{id:int}", user, NULL) < 0) {
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
    return 0;
}
