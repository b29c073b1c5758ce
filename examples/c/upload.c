/* upload.c -- a file drop: big request bodies without holding them in memory.
 *
 *   cc -O2 -std=c11 -I. examples/c/upload.c -o examples/c/upload -lpthread
 *   ./examples/c/upload [port] [dir]   (default 8004, and $UPLOAD_DIR or ".";
 *                                       binds 127.0.0.1)
 *
 *   PUT  /files/{name}  -> 201 {"name":...,"size":N,"spooled":true|false}
 *                          the body is stored as dir/name; over 64 KiB it
 *                          arrived in a temp file (fr_route_opts.body_spool)
 *                          and is copied from there, so a 1 GiB upload costs
 *                          the server a read buffer, not 1 GiB; at most
 *                          1 GiB (413 above: fr_route_opts.max_body)
 *   GET  /files/{name}  -> the file (fr_res_file: sendfile), 404 if absent
 *   POST /ping          -> {"ok":true}; its body is never read, so a big one
 *                          is dropped as it arrives (fr_route_opts.body_drop)
 *
 * A name is 1-64 of [A-Za-z0-9._-] and does not start with '.'; any other
 * is 400. Stops on Ctrl-C / SIGTERM. */
#define _GNU_SOURCE 1
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_BYTES (64 * 1024)
#define MAX_UPLOAD (1024ull * 1024 * 1024)

static const char *dir = ".";

static int error(fr_req *req, int status, const char *detail) {
    char body[128];
    int n = snprintf(body, sizeof body, "{\"detail\":\"%s\"}", detail);
    return fr_res_json(req, status, body, (size_t)n);
}

/* dir/name for a valid name, else 0 */
static int file_path(fr_req *req, char *out, size_t cap) {
    fr_str name = fr_req_param(req, "name");
    size_t i;
    if (name.len == 0 || name.len > 64 || name.buf[0] == '.') return 0;
    for (i = 0; i < name.len; i++) {
        char c = name.buf[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return snprintf(out, cap, "%s/%.*s", dir, (int)name.len, name.buf) < (int)cap;
}

/* copy len bytes of fd (from offset 0) to out */
static int copy_fd(int fd, uint64_t len, int out) {
    enum { PIECE = 65536 };
    char *buf = (char *)malloc(PIECE);
    uint64_t off = 0;
    int rc = buf ? 0 : -1;
    while (rc == 0 && off < len) {
        ssize_t n = pread(fd, buf, PIECE, (off_t)off), w = 0;
        if (n <= 0) rc = -1;
        while (rc == 0 && w < n) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) rc = -1;
            else w += k;
        }
        off += n > 0 ? (uint64_t)n : 0;
    }
    free(buf);
    return rc;
}

static int put_file(fr_req *req, void *ud) {
    char path[512], tmp[560], body[192];
    uint64_t len = 0;
    int in = fr_req_body_file(req, &len), out, ok, n;
    fr_str b = fr_req_body(req);
    (void)ud;
    if (!file_path(req, path, sizeof path)) return error(req, 400, "bad file name");
    snprintf(tmp, sizeof tmp, "%s.part", path);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) return error(req, 500, "cannot store the file");
    if (in >= 0) {
        ok = copy_fd(in, len, out) == 0;
    } else {
        len = b.len;
        ok = b.len == 0 || write(out, b.buf, b.len) == (ssize_t)b.len;
    }
    ok = close(out) == 0 && ok && rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
        return error(req, 500, "cannot store the file");
    }
    n = snprintf(body, sizeof body, "{\"name\":\"%.*s\",\"size\":%llu,\"spooled\":%s}",
                 (int)fr_req_param(req, "name").len, fr_req_param(req, "name").buf, (unsigned long long)len,
                 in >= 0 ? "true" : "false");
    return fr_res_json(req, 201, body, (size_t)n);
}

static int get_file(fr_req *req, void *ud) {
    char path[512];
    struct stat st;
    int fd;
    (void)ud;
    if (!file_path(req, path, sizeof path)) return error(req, 400, "bad file name");
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return error(req, 404, "Not Found");
    }
    fr_res_header(req, "content-type", "application/octet-stream");
    return fr_res_file(req, fd, 0, (uint64_t)st.st_size, 1); /* the engine closes fd */
}

static int ping(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_json(req, 200, "{\"ok\":true}", 11);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 8004;
    fr_route_opts put, drop;
    fr_config cfg;
    fr_app *app;
    if (argc > 2) dir = argv[2];
    else if (getenv("UPLOAD_DIR")) dir = getenv("UPLOAD_DIR");
    memset(&cfg, 0, sizeof cfg);
    cfg.max_body_bytes = MAX_UPLOAD; /* bodies in memory stay under 64 KiB here anyway */
    app = fr_app_new(&cfg);
    if (!app) return 1;
    memset(&put, 0, sizeof put);
    put.body_spool = SPOOL_BYTES;
    put.limit_body = 1;
    put.max_body = MAX_UPLOAD;
    memset(&drop, 0, sizeof drop);
    drop.body_drop = 1;
    if (fr_route_ex(app, "PUT", "/files/{name}", put_file, NULL, &put) < 0 ||
        fr_route(app, "GET", "/files/{name}", get_file, NULL) < 0 ||
        fr_route_ex(app, "POST", "/ping", ping, NULL, &drop) < 0) {
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
    fr_serve(app);
    fr_app_free(app);
    return 0;
}
