/* libFuzzer harness for whole static-file requests (src/static.c): the
 * path normalisation and lookup of StaticFiles mounts and frontends, the
 * conditional and Range headers, html mode, frontend fallbacks and a
 * frontend guard (fr_frontend_opts.guard, fr_frontend_serve), through
 * fr_dispatch against a temporary directory.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_static.c
 *
 * The directory holds a.txt, index.html, docs/index.html and a symlink to
 * a file outside it whose text is a secret. Routes: a plain mount /p, an
 * html mount /s, a guarded frontend on "/" (the guard adds a header, or
 * answers 418 {"unanswered":N} when fr_frontend_serve leaves the answer to
 * it) and an unguarded frontend /f with fallback NONE.
 *
 * Input: byte 0 picks the method (GET, HEAD, POST, OPTIONS); then lines:
 * target, Range, If-None-Match, If-Modified-Since, If-Range, Accept (a
 * missing line = no header). For every input:
 *  - exactly one answer, its status one a static route can give;
 *  - the secret never appears in a body, whatever the target;
 *  - a guard's unanswered status is 401, 404, 405 or 500;
 *  - a 200 or 206 for GET carries content-length / content-range that
 *    match the body (206: the range lies inside the file). */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FZ_ASSERT(c)                                                                     \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "fuzz_static: assertion failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#define SECRET "TOPSECRET-42"

typedef struct answer {
    int status, calls;
    char headers[4096];
    size_t hlen;
    char *body;
    size_t blen;
} answer;

static fr_app *app;
static char dir[64], out[64];

static void cleanup(void) {
    char cmd[200];
    fr_app_free(app);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", dir, out);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_static: cleanup failed\n");
}

static void put(const char *dir, const char *rel, const char *text) {
    char p[600];
    int fd;
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (write(fd, text, strlen(text)) < 0) perror("write");
    close(fd);
}

static int guard(fr_req *req, void *ud) {
    fr_header x[1];
    char b[40];
    int rc;
    (void)ud;
    x[0].name = fr_str_c("x-guard");
    x[0].value = fr_str_c("1");
    rc = fr_frontend_serve(req, x, 1);
    if (rc == FR_DONE || rc == FR_FRONTEND_OWN) return FR_DONE;
    FZ_ASSERT(rc == 401 || rc == 404 || rc == 405 || rc == 500);
    snprintf(b, sizeof b, "{\"unanswered\":%d}", rc);
    return fr_res_json(req, 418, b, strlen(b));
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    char p[600], q[600];
    fr_static_opts so;
    fr_frontend_opts fo;
    (void)argc;
    (void)argv;
    strcpy(dir, "/tmp/frfuzzstXXXXXX");
    strcpy(out, "/tmp/frfuzzsecXXXXXX");
    if (!mkdtemp(dir) || !mkdtemp(out)) abort();
    atexit(cleanup);
    snprintf(p, sizeof p, "%s/docs", dir);
    mkdir(p, 0755);
    put(dir, "a.txt", "0123456789");
    put(dir, "index.html", "<h1>index</h1>");
    put(dir, "docs/index.html", "<p>docs</p>");
    put(out, "secret.txt", SECRET);
    snprintf(p, sizeof p, "%s/secret.txt", out);
    snprintf(q, sizeof q, "%s/link.txt", dir);
    if (symlink(p, q) < 0) abort();
    app = fr_app_new(NULL);
    if (!app) abort();
    memset(&so, 0, sizeof so);
    if (fr_app_static(app, "/p", dir, &so) < 0) abort();
    so.html = 1;
    if (fr_app_static(app, "/s", dir, &so) < 0) abort();
    memset(&fo, 0, sizeof fo);
    fo.guard = guard;
    if (fr_app_frontend(app, "/", dir, &fo) < 0) abort();
    fo.guard = NULL;
    fo.fallback = FR_FRONTEND_NONE;
    if (fr_app_frontend(app, "/f", dir, &fo) < 0) abort();
    return 0;
}

static void sink_start(void *ud, int status, const fr_header *h, size_t n) {
    answer *a = (answer *)ud;
    size_t i;
    a->status = status;
    a->calls++;
    for (i = 0; i < n; i++) {
        int w = snprintf(a->headers + a->hlen, sizeof a->headers - a->hlen, "%.*s: %.*s\n", (int)h[i].name.len,
                         h[i].name.buf, (int)h[i].value.len, h[i].value.buf);
        if (w > 0 && (size_t)w < sizeof a->headers - a->hlen) a->hlen += (size_t)w;
    }
}

static int sink_body(void *ud, const char *d, size_t len, int more) {
    answer *a = (answer *)ud;
    (void)more;
    if (len) {
        char *nb = (char *)realloc(a->body, a->blen + len + 1);
        if (!nb) abort();
        a->body = nb;
        memcpy(a->body + a->blen, d, len);
        a->blen += len;
        a->body[a->blen] = 0;
    }
    return 0;
}

static const char *hdr(const answer *a, const char *name, char *v, size_t cap) {
    size_t nl = strlen(name);
    const char *p = a->headers;
    while (*p) {
        const char *e = strchr(p, '\n');
        if (!e) break;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            size_t vl = (size_t)(e - p - nl - 2);
            if (vl >= cap) vl = cap - 1;
            memcpy(v, p + nl + 2, vl);
            v[vl] = 0;
            return v;
        }
        p = e + 1;
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *methods[] = {"GET", "HEAD", "POST", "OPTIONS"};
    static const char *names[] = {"range", "if-none-match", "if-modified-since", "if-range", "accept"};
    fr_request_desc d;
    fr_sink s;
    fr_header h[6];
    answer a;
    char *buf, *line, *end;
    const char *method;
    size_t nlines = 0;
    char v[128];
    if (size == 0) return 0;
    method = methods[data[0] & 3];
    buf = (char *)malloc(size);
    if (!buf) return 0;
    memcpy(buf, data + 1, size - 1);
    end = buf + size - 1;
    memset(&d, 0, sizeof d);
    memset(&a, 0, sizeof a);
    h[0].name = fr_str_c("host");
    h[0].value = fr_str_c("testserver");
    d.headers = h;
    d.nheaders = 1;
    d.method = fr_str_c(method);
    d.target = fr_str_c("/");
    for (line = buf; line <= end && nlines < 6; nlines++) {
        char *nl = (char *)memchr(line, '\n', (size_t)(end - line));
        fr_str t;
        t.buf = line;
        t.len = (size_t)((nl ? nl : end) - line);
        if (nlines == 0) {
            if (t.len) d.target = t;
        } else {
            h[d.nheaders].name = fr_str_c(names[nlines - 1]);
            h[d.nheaders].value = t;
            d.nheaders++;
        }
        if (!nl) break;
        line = nl + 1;
    }
    s.start = sink_start;
    s.body = sink_body;
    s.ud = &a;
    if (fr_dispatch(app, &d, &s) == 0) {
        FZ_ASSERT(a.calls == 1);
        FZ_ASSERT(a.status == 200 || a.status == 206 || a.status == 304 || a.status == 307 ||
                  a.status == 400 || a.status == 401 || a.status == 404 || a.status == 405 ||
                  a.status == 416 || a.status == 418 || a.status == 500);
        FZ_ASSERT(!a.body || !strstr(a.body, SECRET));
        if (a.status == 418 && strcmp(method, "GET") == 0)
            FZ_ASSERT(a.body && strncmp(a.body, "{\"unanswered\":", 14) == 0);
        if (strcmp(method, "GET") == 0 && a.status == 200 && hdr(&a, "content-length", v, sizeof v))
            FZ_ASSERT(strtoull(v, NULL, 10) == a.blen);
        if (strcmp(method, "GET") == 0 && a.status == 206 && hdr(&a, "content-range", v, sizeof v)) {
            unsigned long long st, en, tot;
            FZ_ASSERT(sscanf(v, "bytes %llu-%llu/%llu", &st, &en, &tot) == 3);
            FZ_ASSERT(st <= en && en < tot && en - st + 1 == a.blen);
        }
    }
    free(a.body);
    free(buf);
    return 0;
}
