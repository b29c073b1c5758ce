/* Static files (src/static.c): the Range parser, email's parsedate, the
 * etag / last-modified Starlette computes, mimetypes' guess, and whole
 * requests through fr_dispatch against a temporary directory: 200/HEAD,
 * 304 (If-None-Match, If-Modified-Since), 206 single and multipart, 416,
 * 400, If-Range, 405, traversal and symlink escapes, html mode (index,
 * redirect, 404.html) and app frontends. Expected values come from
 * Starlette 1.10 / Python 3.11 (generated once, pasted here). */
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#define REQ(expr)                      \
    do {                               \
        int frt_req_ = (expr) ? 1 : 0; \
        REQUIRE(frt_req_);             \
    } while (0)

/* ---- Range parsing, against Starlette's _parse_range_header ---- */

static const struct {
    const char *in;
    uint64_t size;
    const char *want;
} range_cases[] = {
    {"bytes=0-4", 10, "1:0-5"},
    {"bytes=5-", 10, "1:5-10"},
    {"bytes=-3", 10, "1:7-10"},
    {"bytes=-30", 10, "1:0-10"},
    {"bytes=0-100", 10, "1:0-10"},
    {"bytes=10-", 10, "416"},
    {"bytes=11-12", 10, "416"},
    {"bytes=5-2", 10, "400:Range header: start must be less than end"},
    {"bytes=5--3", 10, "400:Range header: start must be less than end"},
    {"bytes=0-1,3-4", 10, "2:0-2,3-5"},
    {"bytes=3-4,0-1", 10, "2:0-2,3-5"},
    {"bytes=0-2,2-4", 10, "1:0-5"},
    {"bytes=0-2,3-4", 10, "1:0-5"},
    {"bytes=0-9,1-2", 10, "1:0-10"},
    {"BYTES = 1-2", 10, "1:1-3"},
    {"bytes=", 10, "400:Range header: range must be requested"},
    {"bytes=-", 10, "400:Range header: range must be requested"},
    {"bytes=abc", 10, "400:Range header: range must be requested"},
    {"bytes=a-b,1-2", 10, "1:1-3"},
    {"items=0-1", 10, "400:Only support bytes range"},
    {"bytes0-1", 10, "400:Malformed range header."},
    {"bytes=1_0-", 20, "1:10-20"},
    {"bytes=+1-2", 10, "1:1-3"},
    {"bytes= 1 - 2 ", 10, "1:1-3"},
    {"bytes=0-0", 0, "416"},
    {"bytes=-0", 10, "416"},
    {"bytes=99999999999999999999999-", 10, "416"},
    {"bytes=1-99999999999999999999999", 10, "1:1-10"},
    {"bytes=--5", 10, "416"},
    {"bytes=1--99999999999999999999", 10, "400:Range header: start must be less than end"},
    {"bytes=0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1", 10, "1:0-2"},
    {"bytes=0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1,0-1", 10, "0:"},
    {"bytes=,,1-2,,", 10, "1:1-3"},
    {"bytes=\x1c" "1-2\xa0" "", 10, "1:1-3"},
    {"bytes=1__0-", 20, "400:Range header: range must be requested"},
    {"bytes=_1-", 20, "400:Range header: range must be requested"},
};

static void test_parse_range_like_starlette(void) {
    size_t i;
    for (i = 0; i < sizeof range_cases / sizeof range_cases[0]; i++) {
        fr_range r[FR_RANGE_MAX];
        fr_err err;
        char got[512];
        size_t n = strlen(range_cases[i].in), o = 0;
        char *in = (char *)frt_guarded(range_cases[i].in, n);
        int rc = fr_http_parse_range(in, n, range_cases[i].size, r, &err), k;
        if (rc == -2) snprintf(got, sizeof got, "416");
        else if (rc == -1) snprintf(got, sizeof got, "400:%s", err.msg);
        else {
            o = (size_t)snprintf(got, sizeof got, "%d:", rc);
            for (k = 0; k < rc; k++)
                o += (size_t)snprintf(got + o, sizeof got - o, "%s%llu-%llu", k ? "," : "",
                                      (unsigned long long)r[k].start, (unsigned long long)r[k].end);
        }
        if (strcmp(got, range_cases[i].want) != 0) fprintf(stderr, "range %zu: %s != %s\n", i, got, range_cases[i].want);
        CHECK(strcmp(got, range_cases[i].want) == 0);
        frt_guarded_free(in, n);
    }
    {
        fr_range r[FR_RANGE_MAX];
        CHECK_EQ_INT(fr_http_parse_range("", 0, 10, r, NULL), -1);
        CHECK_EQ_INT(fr_http_parse_range(NULL, 0, 10, r, NULL), -1);
        CHECK_EQ_INT(fr_http_parse_range("bytes=1-2", 9, 10, NULL, NULL), -1);
    }
}

/* ---- email.utils.parsedate ---- */

static void test_parsedate_like_python(void) {
    static const struct {
        const char *in;
        int64_t want[6]; /* want[0] == -1: None */
    } cases[] = {
        {"Tue, 14 Nov 2023 22:13:20 GMT", {2023, 11, 14, 22, 13, 20}},
        {"14 Nov 2023 22:13:20", {2023, 11, 14, 22, 13, 20}},
        {"Tuesday, 14-Nov-23 22:13:20 GMT", {2023, 11, 14, 22, 13, 20}},
        {"Tue Nov 14 22:13:20 2023", {2023, 11, 14, 22, 13, 20}},
        {"nonsense", {-1, 0, 0, 0, 0, 0}},
        {"", {-1, 0, 0, 0, 0, 0}},
        {"   ", {-1, 0, 0, 0, 0, 0}},
        {"Tue, 14 Nov 2023 22:13", {2023, 11, 14, 22, 13, 0}},
        {"14 nov 99 1.2.3 +0100", {1999, 11, 14, 1, 2, 3}},
        {"Nov 14 2023 22:13:20", {2023, 11, 14, 22, 13, 20}},
        {"Tue, 14 Nov 2023 22:13:20+0100", {2023, 11, 14, 22, 13, 20}},
        {"x, 1 jan 1_0 1:2:3", {2010, 1, 1, 1, 2, 3}},
        {"1 Jan 50 00:00:00", {2050, 1, 1, 0, 0, 0}},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t out[6];
        size_t n = strlen(cases[i].in);
        char *in = (char *)frt_guarded(cases[i].in, n);
        int rc = fr_http_parsedate(in, n, out);
        if (cases[i].want[0] == -1) {
            CHECK_EQ_INT(rc, -1);
        } else {
            CHECK_EQ_INT(rc, 0);
            CHECK(memcmp(out, cases[i].want, sizeof out) == 0);
        }
        frt_guarded_free(in, n);
    }
}

/* ---- etag and last-modified (Python: md5(str(sec + nsec * 1e-9) + "-" + size)) ---- */

static void test_etag_and_last_modified(void) {
    char e[36], lm[30];
    fr_file_etag(1700000000, 0, 12, e);
    CHECK(strcmp(e, "\"603652cc7dcf75575bda49516460c853\"") == 0);
    fr_file_etag(1700000000, 123456789, 5, e);
    CHECK(strcmp(e, "\"3a6fff042766bf338f435c6dca9ad08f\"") == 0);
    fr_file_etag(1, 999999999, 0, e);
    CHECK(strcmp(e, "\"58290fb74503c7ec943491acb090c4c0\"") == 0);
    fr_file_last_modified(1700000000, 0, lm);
    CHECK(strcmp(lm, "Tue, 14 Nov 2023 22:13:20 GMT") == 0);
    fr_file_last_modified(1, 999999999, lm); /* fromtimestamp rounds to microseconds */
    CHECK(strcmp(lm, "Thu, 01 Jan 1970 00:00:02 GMT") == 0);
    fr_file_etag(1733234567, 999999600, 100, e);
    CHECK(strcmp(e, "\"4a4cb82fdb2f92db7f1f1f2e7fb2e37a\"") == 0);
    fr_file_last_modified(1733234567, 999999600, lm);
    CHECK(strcmp(lm, "Tue, 03 Dec 2024 14:02:48 GMT") == 0);
}

/* ---- mimetypes.guess_type ---- */

static const char *guess(const char *name) {
    const char *t = fr_static_guess_type(fr_str_c(name));
    return t ? t : "-";
}

static void test_guess_type(void) {
    CHECK(strcmp(guess("/a/b/index.html"), "text/html") == 0);
    CHECK(strcmp(guess("x.CSS"), "text/css") == 0);
    CHECK(strcmp(guess("app.js"), "text/javascript") == 0);
    CHECK(strcmp(guess("d.json"), "application/json") == 0);
    CHECK(strcmp(guess("i.png"), "image/png") == 0);
    CHECK(strcmp(guess("i.svg"), "image/svg+xml") == 0);
    CHECK(strcmp(guess("f.woff2"), "font/woff2") == 0);
    CHECK(strcmp(guess("a.tar.gz"), "application/x-tar") == 0);
    CHECK(strcmp(guess("a.tgz"), "application/x-tar") == 0);
    CHECK(strcmp(guess("a.gz"), "-") == 0);
    CHECK(strcmp(guess("i.svgz"), "image/svg+xml") == 0);
    CHECK(strcmp(guess(".bashrc"), "-") == 0);
    CHECK(strcmp(guess("dir.d/noext"), "-") == 0);
    CHECK(strcmp(guess("x.map"), "-") == 0);
    CHECK(fr_static_guess_type((fr_str){NULL, 0}) == NULL);
}

/* ---- whole requests ---- */

typedef struct answer {
    int status;
    char headers[2048];
    char body[4096];
    size_t body_len;
} answer;

static void sink_start(void *ud, int status, const fr_header *h, size_t n) {
    answer *a = (answer *)ud;
    size_t i, o = 0;
    a->status = status;
    for (i = 0; i < n && o < sizeof a->headers - 200; i++)
        o += (size_t)snprintf(a->headers + o, sizeof a->headers - o, "%.*s: %.*s\n", (int)h[i].name.len,
                              h[i].name.buf, (int)h[i].value.len, h[i].value.buf);
}

static int sink_body(void *ud, const char *d, size_t len, int more) {
    answer *a = (answer *)ud;
    (void)more;
    if (len && a->body_len + len < sizeof a->body) {
        memcpy(a->body + a->body_len, d, len);
        a->body_len += len;
    }
    a->body[a->body_len] = 0;
    return 0;
}

/* header value or NULL (copied to a static buffer) */
static const char *hdr(const answer *a, const char *name) {
    static char v[512];
    size_t nl = strlen(name);
    const char *p = a->headers;
    while (*p) {
        const char *e = strchr(p, '\n');
        if (!e) break;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            size_t vl = (size_t)(e - p - nl - 2);
            memcpy(v, p + nl + 2, vl);
            v[vl] = 0;
            return v;
        }
        p = e + 1;
    }
    return NULL;
}

/* a guard's thread that answers later (test_frontend_guard); run joins it */
static pthread_t guard_thread;
static int guard_thread_started;

static int run(fr_app *app, const char *method, const char *target, const char *h1, const char *v1,
               answer *a) {
    fr_request_desc d;
    fr_sink s;
    fr_header h[2];
    memset(&d, 0, sizeof d);
    memset(a, 0, sizeof *a);
    h[0].name = fr_str_c("host");
    h[0].value = fr_str_c("testserver");
    d.method = fr_str_c(method);
    d.target = fr_str_c(target);
    d.headers = h;
    d.nheaders = 1;
    if (h1) {
        h[1].name = fr_str_c(h1);
        h[1].value = fr_str_c(v1);
        d.nheaders = 2;
    }
    s.start = sink_start;
    s.body = sink_body;
    s.ud = a;
    if (fr_dispatch(app, &d, &s) < 0) return -1;
    if (guard_thread_started) {
        pthread_join(guard_thread, NULL);
        guard_thread_started = 0;
    }
    return a->status;
}

static char tmpdir[256], outside[256];

static void put(const char *rel, const char *text) {
    char p[512];
    int fd;
    struct timespec ts[2];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (write(fd, text, strlen(text)) < 0) perror("write");
    close(fd);
    ts[0].tv_sec = ts[1].tv_sec = 1700000000;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    utimensat(AT_FDCWD, p, ts, 0);
}

static int setup_dir(void) {
    char p[512], q[512];
    strcpy(tmpdir, "/tmp/frstaticXXXXXX");
    strcpy(outside, "/tmp/frsecretXXXXXX");
    if (!mkdtemp(tmpdir) || !mkdtemp(outside)) return -1;
    snprintf(p, sizeof p, "%s/docs", tmpdir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/empty", tmpdir);
    mkdir(p, 0755);
    put("a.txt", "0123456789");
    put("app.js", "console.log(1)");
    put("docs/index.html", "<p>docs</p>");
    put("index.html", "<h1>index</h1>");
    snprintf(p, sizeof p, "%s/secret.txt", outside);
    {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            if (write(fd, "secret", 6) < 0) perror("write");
            close(fd);
        }
    }
    snprintf(q, sizeof q, "%s/escape.txt", tmpdir);
    if (symlink(p, q) < 0) return -1;
    snprintf(p, sizeof p, "%s/a.txt", tmpdir);
    snprintf(q, sizeof q, "%s/inside.txt", tmpdir);
    if (symlink(p, q) < 0) return -1;
    return 0;
}

static void cleanup_dir(void) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", tmpdir, outside);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
}

static void test_mount_files(void) {
    fr_app *app;
    fr_static_opts o;
    answer a;
    REQ(setup_dir() == 0);
    app = fr_app_new(NULL);
    REQ(app != NULL);
    memset(&o, 0, sizeof o);
    o.check_dir = 1;
    REQ(fr_app_static(app, "/static", tmpdir, &o) == 0);
    CHECK_EQ_INT(fr_app_static(app, "/nope", "/definitely/not/here", &o), -1);
    CHECK_EQ_INT(fr_app_static(app, "bad", tmpdir, NULL), -1);

    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "0123456789") == 0);
    CHECK(strcmp(hdr(&a, "content-type"), "text/plain; charset=utf-8") == 0);
    CHECK(strcmp(hdr(&a, "accept-ranges"), "bytes") == 0);
    CHECK(strcmp(hdr(&a, "content-length"), "10") == 0);
    CHECK(strcmp(hdr(&a, "last-modified"), "Tue, 14 Nov 2023 22:13:20 GMT") == 0);
    {
        char e[36];
        fr_file_etag(1700000000, 0, 10, e);
        CHECK(strcmp(hdr(&a, "etag"), e) == 0);
    }
    CHECK_EQ_INT(run(app, "GET", "/static/app.js", NULL, NULL, &a), 200);
    CHECK(strcmp(hdr(&a, "content-type"), "text/javascript; charset=utf-8") == 0);

    /* HEAD: headers, no body */
    CHECK_EQ_INT(run(app, "HEAD", "/static/a.txt", NULL, NULL, &a), 200);
    CHECK_EQ_INT((int)a.body_len, 0);
    CHECK(strcmp(hdr(&a, "content-length"), "10") == 0);

    /* conditional */
    {
        char e[36];
        fr_file_etag(1700000000, 0, 10, e);
        CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "if-none-match", e, &a), 304);
        CHECK_EQ_INT((int)a.body_len, 0);
        CHECK(strcmp(hdr(&a, "etag"), e) == 0);
        CHECK(hdr(&a, "content-type") == NULL);
    }
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "if-none-match", " * ", &a), 304);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "if-none-match", "\"x\", W/\"y\"", &a), 200);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT", &a), 304);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "if-modified-since", "Tue, 14 Nov 2023 22:13:19 GMT", &a), 200);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "if-modified-since", "garbage", &a), 200);

    /* ranges */
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "range", "bytes=2-4", &a), 206);
    CHECK(strcmp(a.body, "234") == 0);
    CHECK(strcmp(hdr(&a, "content-range"), "bytes 2-4/10") == 0);
    CHECK(strcmp(hdr(&a, "content-length"), "3") == 0);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "range", "bytes=-3", &a), 206);
    CHECK(strcmp(a.body, "789") == 0);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "range", "bytes=20-", &a), 416);
    CHECK(strcmp(hdr(&a, "content-range"), "bytes */10") == 0);
    CHECK(strcmp(hdr(&a, "content-type"), "text/plain; charset=utf-8") == 0);
    CHECK(hdr(&a, "etag") == NULL);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "range", "bytes=4-2", &a), 400);
    CHECK(strcmp(a.body, "Range header: start must be less than end") == 0);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "range", "lines=1-2", &a), 400);
    CHECK(strcmp(a.body, "Only support bytes range") == 0);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "range", "bytes=0-0,8-", &a), 206);
    {
        const char *ct = hdr(&a, "content-type");
        char want[512], b[32];
        REQ(ct && strncmp(ct, "multipart/byteranges; boundary=", 31) == 0 && strlen(ct) == 31 + 26);
        strcpy(b, ct + 31);
        snprintf(want, sizeof want,
                 "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-0/10\r\n\r\n0\r\n"
                 "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 8-9/10\r\n\r\n89\r\n--%s--",
                 b, b, b);
        CHECK(strcmp(a.body, want) == 0);
        snprintf(want, sizeof want, "%zu", strlen(want));
        CHECK(strcmp(hdr(&a, "content-length"), want) == 0);
    }
    /* If-Range: the etag or the date serve the range, anything else the file */
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt", "range", "bytes=1-1", &a), 206);
    {
        fr_request_desc d;
        fr_header h[3];
        fr_sink s;
        char e[36];
        fr_file_etag(1700000000, 0, 10, e);
        memset(&d, 0, sizeof d);
        h[0].name = fr_str_c("host"); h[0].value = fr_str_c("t");
        h[1].name = fr_str_c("range"); h[1].value = fr_str_c("bytes=1-1");
        h[2].name = fr_str_c("if-range"); h[2].value = fr_str_c(e);
        d.method = fr_str_c("GET"); d.target = fr_str_c("/static/a.txt"); d.headers = h; d.nheaders = 3;
        s.start = sink_start; s.body = sink_body; s.ud = &a;
        memset(&a, 0, sizeof a);
        REQ(fr_dispatch(app, &d, &s) == 0);
        CHECK_EQ_INT(a.status, 206);
        h[2].value = fr_str_c("\"other\"");
        memset(&a, 0, sizeof a);
        REQ(fr_dispatch(app, &d, &s) == 0);
        CHECK_EQ_INT(a.status, 200);
        CHECK(strcmp(a.body, "0123456789") == 0);
        h[2].value = fr_str_c("Tue, 14 Nov 2023 22:13:20 GMT");
        memset(&a, 0, sizeof a);
        REQ(fr_dispatch(app, &d, &s) == 0);
        CHECK_EQ_INT(a.status, 206);
    }

    /* methods */
    CHECK_EQ_INT(run(app, "POST", "/static/a.txt", NULL, NULL, &a), 405);
    CHECK(strcmp(hdr(&a, "allow"), "GET, HEAD") == 0);
    CHECK(strcmp(a.body, "{\"detail\":\"Method Not Allowed\"}") == 0);
    CHECK_EQ_INT(run(app, "DELETE", "/static/missing", NULL, NULL, &a), 405);

    /* not found, traversal, symlinks */
    CHECK_EQ_INT(run(app, "GET", "/static/missing.txt", NULL, NULL, &a), 404);
    CHECK(strcmp(a.body, "{\"detail\":\"Not Found\"}") == 0);
    CHECK_EQ_INT(run(app, "GET", "/static/../../etc/passwd", NULL, NULL, &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/static/%2e%2e/%2e%2e/etc/passwd", NULL, NULL, &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/static/%2e%2e%2fetc%2fpasswd", NULL, NULL, &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/static//etc/passwd", NULL, NULL, &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/static/a.txt%00.png", NULL, NULL, &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/static/%5cetc", NULL, NULL, &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/static/%ff", NULL, NULL, &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/static/escape.txt", NULL, NULL, &a), 404);
    CHECK(strstr(a.body, "secret") == NULL);
    CHECK_EQ_INT(run(app, "GET", "/static/inside.txt", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "0123456789") == 0);
    CHECK_EQ_INT(run(app, "GET", "/static/docs/../a.txt", NULL, NULL, &a), 200);
    CHECK_EQ_INT(run(app, "GET", "/static/docs", NULL, NULL, &a), 404); /* not html */
    CHECK_EQ_INT(run(app, "GET", "/static/", NULL, NULL, &a), 404);
    fr_app_free(app);

    /* follow_symlink: the escape is served, ".." still refused */
    app = fr_app_new(NULL);
    REQ(app != NULL);
    o.follow_symlink = 1;
    REQ(fr_app_static(app, "/s", tmpdir, &o) == 0);
    CHECK_EQ_INT(run(app, "GET", "/s/escape.txt", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "secret") == 0);
    CHECK_EQ_INT(run(app, "GET", "/s/%2e%2e/etc/passwd", NULL, NULL, &a), 404);
    fr_app_free(app);
    cleanup_dir();
}

static void test_mount_html(void) {
    fr_app *app;
    fr_static_opts o;
    answer a;
    REQ(setup_dir() == 0);
    app = fr_app_new(NULL);
    REQ(app != NULL);
    memset(&o, 0, sizeof o);
    o.html = 1;
    REQ(fr_app_static(app, "/site", tmpdir, &o) == 0);
    REQ(fr_app_static_type(app, ".txt", "text/x-custom") == 0);
    CHECK_EQ_INT(run(app, "GET", "/site/", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "<h1>index</h1>") == 0);
    CHECK(strcmp(hdr(&a, "content-type"), "text/html; charset=utf-8") == 0);
    CHECK_EQ_INT(run(app, "GET", "/site/docs?x=1", NULL, NULL, &a), 307);
    CHECK(strcmp(hdr(&a, "location"), "http://testserver/site/docs/?x=1") == 0);
    CHECK_EQ_INT((int)a.body_len, 0);
    CHECK_EQ_INT(run(app, "GET", "/site/docs/", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "<p>docs</p>") == 0);
    CHECK_EQ_INT(run(app, "GET", "/site/a.txt", NULL, NULL, &a), 200);
    CHECK(strcmp(hdr(&a, "content-type"), "text/x-custom; charset=utf-8") == 0);
    /* no 404.html yet: JSON; then the page with status 404 */
    CHECK_EQ_INT(run(app, "GET", "/site/nope", NULL, NULL, &a), 404);
    CHECK(strcmp(a.body, "{\"detail\":\"Not Found\"}") == 0);
    CHECK_EQ_INT(run(app, "GET", "/site/empty", NULL, NULL, &a), 404);
    put("404.html", "<p>gone</p>");
    CHECK_EQ_INT(run(app, "GET", "/site/nope", NULL, NULL, &a), 404);
    CHECK(strcmp(a.body, "<p>gone</p>") == 0);
    CHECK(strcmp(hdr(&a, "content-type"), "text/html; charset=utf-8") == 0);
    CHECK_EQ_INT(run(app, "GET", "/site/%2e%2e/%2e%2e/etc/passwd", NULL, NULL, &a), 404);
    CHECK(strcmp(a.body, "<p>gone</p>") == 0);
    /* a range on 404.html is ignored (status is not 200) */
    CHECK_EQ_INT(run(app, "GET", "/site/nope", "range", "bytes=0-1", &a), 404);
    CHECK(strcmp(a.body, "<p>gone</p>") == 0);
    CHECK_EQ_INT(run(app, "GET", "/site/a.txt%00", NULL, NULL, &a), 404); /* NUL: no 404.html */
    CHECK(strcmp(a.body, "{\"detail\":\"Not Found\"}") == 0);
    fr_app_free(app);
    cleanup_dir();
}

static int h_api(fr_req *req, void *ud) {
    (void)ud;
    return fr_res_json(req, 200, "{\"api\":true}", 12);
}

static int h_teapot(fr_req *req, void *ud) {
    (void)ud;
    CHECK_EQ_INT(fr_req_match_status(req), 404);
    return fr_res_text(req, 418, NULL, "teapot", 6);
}

static int h_gone(fr_req *req, void *ud) {
    (void)ud;
    CHECK_EQ_INT(fr_req_match_status(req), 404);
    return fr_res_text(req, 410, NULL, "gone", 4);
}

static void test_frontend(void) {
    fr_app *app;
    fr_frontend_opts o;
    answer a;
    REQ(setup_dir() == 0);
    app = fr_app_new(NULL);
    REQ(app != NULL);
    REQ(fr_route(app, "GET", "/api/items", h_api, NULL) == 0);
    memset(&o, 0, sizeof o);
    REQ(fr_app_frontend(app, "/", tmpdir, &o) == 0);
    CHECK_EQ_INT(fr_app_frontend(app, "/x", "/definitely/not/here", &(fr_frontend_opts){.check_dir = 1}), -1);
    /* API routes first, their 405 too */
    CHECK_EQ_INT(run(app, "GET", "/api/items", NULL, NULL, &a), 200);
    CHECK_EQ_INT(run(app, "POST", "/api/items", NULL, NULL, &a), 405);
    /* assets */
    CHECK_EQ_INT(run(app, "GET", "/app.js", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "console.log(1)") == 0);
    CHECK_EQ_INT(run(app, "GET", "/", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "<h1>index</h1>") == 0);
    CHECK_EQ_INT(run(app, "GET", "/docs", NULL, NULL, &a), 307);
    /* client-side routes: index.html for navigations only */
    CHECK_EQ_INT(run(app, "GET", "/users/7", "accept", "text/html,application/xhtml+xml;q=0.9", &a), 200);
    CHECK(strcmp(a.body, "<h1>index</h1>") == 0);
    CHECK_EQ_INT(run(app, "GET", "/users/7", "accept", "application/json", &a), 404);
    CHECK(strcmp(a.body, "{\"detail\":\"Not Found\"}") == 0);
    CHECK_EQ_INT(run(app, "GET", "/users/7", "accept", "text/html;q=0", &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/missing.js", NULL, NULL, &a), 404);
    /* other methods: 405 for a file, else 404 */
    CHECK_EQ_INT(run(app, "POST", "/app.js", NULL, NULL, &a), 405);
    CHECK(hdr(&a, "allow") == NULL);
    CHECK_EQ_INT(run(app, "POST", "/nothing", NULL, NULL, &a), 404);
    CHECK_EQ_INT(run(app, "GET", "/%2e%2e/%2e%2e/etc/passwd", "accept", "text/html", &a), 200);
    CHECK(strcmp(a.body, "<h1>index</h1>") == 0); /* traversal gets the fallback, never the file */
    /* a 404.html (auto) wins over index.html */
    put("404.html", "<p>gone</p>");
    CHECK_EQ_INT(run(app, "GET", "/users/7", "accept", "text/html", &a), 404);
    CHECK(strcmp(a.body, "<p>gone</p>") == 0);
    fr_app_free(app);

    /* longest path wins; fallback NONE */
    app = fr_app_new(NULL);
    REQ(app != NULL);
    o.fallback = FR_FRONTEND_NONE;
    REQ(fr_app_frontend(app, "/", tmpdir, &o) == 0);
    REQ(fr_app_frontend(app, "/sub/", tmpdir, &o) == 0);
    CHECK_EQ_INT(run(app, "GET", "/sub/a.txt", NULL, NULL, &a), 200);
    CHECK_EQ_INT(run(app, "GET", "/sub/docs/", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "<p>docs</p>") == 0);
    CHECK_EQ_INT(run(app, "GET", "/users/7", "accept", "text/html", &a), 404);
    CHECK(strcmp(a.body, "{\"detail\":\"Not Found\"}") == 0);
    fr_app_free(app);

    /* the app's own 404 answer (the Python face: its exception handlers) */
    app = fr_app_new(NULL);
    REQ(app != NULL);
    o.fallback = FR_FRONTEND_NONE;
    o.not_found = h_teapot;
    REQ(fr_app_frontend(app, "/", tmpdir, &o) == 0);
    CHECK_EQ_INT(run(app, "GET", "/missing.js", NULL, NULL, &a), 418);
    CHECK_EQ_INT(run(app, "POST", "/missing.js", NULL, NULL, &a), 418);
    CHECK_EQ_INT(run(app, "POST", "/a.txt", NULL, NULL, &a), 405);
    CHECK_EQ_INT(run(app, "GET", "/a.txt", NULL, NULL, &a), 200);
    fr_app_free(app);

    /* ... and its own 405 answer */
    app = fr_app_new(NULL);
    REQ(app != NULL);
    o.not_allowed = h_gone;
    REQ(fr_app_frontend(app, "/", tmpdir, &o) == 0);
    CHECK_EQ_INT(run(app, "POST", "/a.txt", NULL, NULL, &a), 410);
    CHECK_EQ_INT(run(app, "POST", "/missing.js", NULL, NULL, &a), 418);
    CHECK_EQ_INT(run(app, "GET", "/a.txt", NULL, NULL, &a), 200);
    fr_app_free(app);
    cleanup_dir();
}


/* ---- a frontend's guard (FastAPI runs the app's dependencies first) ---- */

static int guard_calls;

/* ?deny refuses; else the files answer with two headers of the guard's, and
 * an outcome left unanswered comes back as 418 {"unanswered":<status>}.
 * Returns 1 when the files' answer is set and still to be sent. */
static int guard_answer(fr_req *req) {
    fr_header x[2];
    int rc;
    char b[40];
    if (fr_req_query(req).len >= 4 && memcmp(fr_req_query(req).buf, "deny", 4) == 0) {
        fr_res_json(req, 401, "{\"detail\":\"Not authenticated\"}", 30);
        return 0;
    }
    x[0].name = fr_str_c("x-guard");
    x[0].value = fr_str_c("yes");
    x[1].name = fr_str_c("set-cookie");
    x[1].value = fr_str_c("seen=1");
    rc = fr_frontend_serve(req, x, 2);
    if (rc == FR_DONE) return 1;
    if (rc == FR_FRONTEND_OWN) { /* a Range error: set, without x */
        fr_res_header(req, "x-own", "1");
        return 1;
    }
    snprintf(b, sizeof b, "{\"unanswered\":%d}", rc);
    fr_res_json(req, 418, b, strlen(b));
    return 0;
}

static int h_guard(fr_req *req, void *ud) {
    (void)ud;
    guard_calls++;
    guard_answer(req);
    return FR_DONE; /* the engine sends a set answer */
}

/* the same, later and from another thread (an async dependency) */

static void *guard_later(void *arg) {
    fr_req *req = (fr_req *)arg;
    if (guard_answer(req)) fr_res_send(req);
    return NULL;
}

static int h_guard_pending(fr_req *req, void *ud) {
    (void)ud;
    guard_calls++;
    if (pthread_create(&guard_thread, NULL, guard_later, req) != 0) return fr_res_text(req, 500, NULL, "t", 1);
    guard_thread_started = 1;
    return FR_PENDING;
}

/* fr_frontend_serve outside a frontend (a plain route) */
static int h_serve_outside(fr_req *req, void *ud) {
    fr_header x[1];
    (void)ud;
    x[0].name = fr_str_c("x-a");
    x[0].value = fr_str_c("b");
    CHECK_EQ_INT(fr_frontend_serve(req, x, 1), -1);
    CHECK_EQ_INT(fr_frontend_serve(req, NULL, 1), -1);
    CHECK_EQ_INT(fr_frontend_serve(NULL, x, 1), -1);
    return fr_res_json(req, 200, "{}", 2);
}

static void test_frontend_guard(void) {
    int pending;
    for (pending = 0; pending < 2; pending++) {
        fr_app *app;
        fr_frontend_opts o;
        answer a;
        char etag[64], inm[80];
        REQ(setup_dir() == 0);
        app = fr_app_new(NULL);
        REQ(app != NULL);
        REQ(fr_route(app, "GET", "/api/items", h_api, NULL) == 0);
        REQ(fr_route(app, "GET", "/api/outside", h_serve_outside, NULL) == 0);
        memset(&o, 0, sizeof o);
        o.guard = pending ? h_guard_pending : h_guard;
        REQ(fr_app_frontend(app, "/", tmpdir, &o) == 0);
        guard_calls = 0;
        /* path operations never reach the guard; fr_frontend_serve refuses there */
        CHECK_EQ_INT(run(app, "GET", "/api/items", NULL, NULL, &a), 200);
        CHECK_EQ_INT(run(app, "GET", "/api/outside", NULL, NULL, &a), 200);
        CHECK_EQ_INT(guard_calls, 0);
        /* a refusal: no file, none of the guard's headers */
        CHECK_EQ_INT(run(app, "GET", "/a.txt?deny", NULL, NULL, &a), 401);
        CHECK(strcmp(a.body, "{\"detail\":\"Not authenticated\"}") == 0);
        CHECK(hdr(&a, "x-guard") == NULL);
        CHECK_EQ_INT(guard_calls, 1);
        /* let through: the file with the guard's headers after its own */
        CHECK_EQ_INT(run(app, "GET", "/a.txt", NULL, NULL, &a), 200);
        CHECK(strcmp(a.body, "0123456789") == 0);
        CHECK(strcmp(hdr(&a, "x-guard"), "yes") == 0);
        CHECK(strcmp(hdr(&a, "set-cookie"), "seen=1") == 0);
        CHECK(strstr(a.headers, "etag: ") < strstr(a.headers, "x-guard: "));
        REQ(hdr(&a, "etag") != NULL);
        snprintf(etag, sizeof etag, "%s", hdr(&a, "etag"));
        CHECK_EQ_INT(run(app, "HEAD", "/a.txt", NULL, NULL, &a), 200);
        CHECK_EQ_INT((int)a.body_len, 0);
        CHECK(strcmp(hdr(&a, "x-guard"), "yes") == 0);
        /* 304 and the directory redirect keep them; a Range error drops them */
        snprintf(inm, sizeof inm, "%s", etag);
        CHECK_EQ_INT(run(app, "GET", "/a.txt", "if-none-match", inm, &a), 304);
        CHECK(strcmp(hdr(&a, "x-guard"), "yes") == 0);
        CHECK_EQ_INT(run(app, "GET", "/docs", NULL, NULL, &a), 307);
        CHECK(strcmp(hdr(&a, "location"), "http://testserver/docs/") == 0);
        CHECK(strcmp(hdr(&a, "x-guard"), "yes") == 0);
        CHECK_EQ_INT(run(app, "GET", "/a.txt", "range", "bytes=2-4", &a), 206);
        CHECK(strcmp(a.body, "234") == 0);
        CHECK(strcmp(hdr(&a, "x-guard"), "yes") == 0);
        CHECK(hdr(&a, "x-own") == NULL);
        CHECK_EQ_INT(run(app, "GET", "/a.txt", "range", "bytes=50-", &a), 416);
        CHECK(hdr(&a, "x-guard") == NULL);
        CHECK(strcmp(hdr(&a, "x-own"), "1") == 0);
        CHECK_EQ_INT(run(app, "GET", "/a.txt", "range", "bytes=5-2", &a), 400);
        CHECK(hdr(&a, "x-guard") == NULL);
        CHECK(strcmp(hdr(&a, "x-own"), "1") == 0);
        /* the fallback files answer through it too */
        CHECK_EQ_INT(run(app, "GET", "/users/7", "accept", "text/html", &a), 200);
        CHECK(strcmp(a.body, "<h1>index</h1>") == 0);
        CHECK(strcmp(hdr(&a, "x-guard"), "yes") == 0);
        /* outcomes FastAPI raises inside the dependencies come back unanswered */
        CHECK_EQ_INT(run(app, "GET", "/missing.js", NULL, NULL, &a), 418);
        CHECK(strcmp(a.body, "{\"unanswered\":404}") == 0);
        CHECK_EQ_INT(run(app, "GET", "/users/7", "accept", "application/json", &a), 418);
        CHECK(strcmp(a.body, "{\"unanswered\":404}") == 0);
        CHECK_EQ_INT(run(app, "GET", "/%2e%2e/secret.txt", NULL, NULL, &a), 418);
        CHECK(strcmp(a.body, "{\"unanswered\":404}") == 0);
        /* other methods: the frontend's own 405 / 404, without the guard */
        guard_calls = 0;
        CHECK_EQ_INT(run(app, "POST", "/a.txt", NULL, NULL, &a), 405);
        CHECK_EQ_INT(run(app, "DELETE", "/nothing", NULL, NULL, &a), 404);
        CHECK(strcmp(a.body, "{\"detail\":\"Not Found\"}") == 0);
        CHECK_EQ_INT(guard_calls, 0);
        /* a gone fallback file (404.html announced by fallback=404) is a 500 to raise */
        fr_app_free(app);
        app = fr_app_new(NULL);
        REQ(app != NULL);
        o.fallback = FR_FRONTEND_404;
        REQ(fr_app_frontend(app, "/", tmpdir, &o) == 0);
        CHECK_EQ_INT(run(app, "GET", "/nothing", NULL, NULL, &a), 418);
        CHECK(strcmp(a.body, "{\"unanswered\":500}") == 0);
        put("404.html", "<p>gone</p>");
        CHECK_EQ_INT(run(app, "GET", "/nothing", NULL, NULL, &a), 404);
        CHECK(strcmp(a.body, "<p>gone</p>") == 0);
        CHECK(strcmp(hdr(&a, "x-guard"), "yes") == 0);
        fr_app_free(app);
        cleanup_dir();
        /* a directory that is gone: 500 to raise */
        app = fr_app_new(NULL);
        REQ(app != NULL);
        o.fallback = FR_FRONTEND_AUTO;
        REQ(fr_app_frontend(app, "/", "/definitely/not/here", &o) == 0);
        CHECK_EQ_INT(run(app, "GET", "/a.txt", NULL, NULL, &a), 418);
        CHECK(strcmp(a.body, "{\"unanswered\":500}") == 0);
        fr_app_free(app);
    }
}

/* a C handler's FileResponse: its own headers, Range / If-Range from the engine */
static int h_file(fr_req *req, void *ud) {
    char p[512];
    int fd;
    (void)ud;
    snprintf(p, sizeof p, "%s/a.txt", tmpdir);
    fd = open(p, O_RDONLY);
    if (fd < 0) return fr_res_text(req, 500, NULL, "no file", 7);
    fr_res_status(req, 200);
    fr_res_header(req, "content-type", "application/x-thing");
    fr_res_header(req, "etag", "\"v1\"");
    fr_res_header(req, "last-modified", "Tue, 14 Nov 2023 22:13:20 GMT");
    if (fr_res_file_ranged(req, fd, 10, 1) < 0) {
        close(fd);
        return fr_res_text(req, 500, NULL, "refused", 7);
    }
    return FR_DONE;
}

static void test_file_ranged_handler(void) {
    fr_app *app;
    answer a;
    REQ(setup_dir() == 0);
    app = fr_app_new(NULL);
    REQ(app != NULL);
    REQ(fr_route(app, "GET", "/f", h_file, NULL) == 0);
    REQ(fr_route(app, "POST", "/f", h_file, NULL) == 0);
    CHECK_EQ_INT(run(app, "GET", "/f", NULL, NULL, &a), 200);
    CHECK(strcmp(a.body, "0123456789") == 0);
    CHECK_EQ_INT(run(app, "GET", "/f", "range", "bytes=3-", &a), 206);
    CHECK(strcmp(a.body, "3456789") == 0);
    CHECK(strcmp(hdr(&a, "content-range"), "bytes 3-9/10") == 0);
    CHECK(strcmp(hdr(&a, "content-type"), "application/x-thing") == 0);
    CHECK_EQ_INT(run(app, "GET", "/f", "range", "bytes=1-1,3-3", &a), 206);
    CHECK(strstr(a.body, "Content-Type: application/x-thing\r\nContent-Range: bytes 3-3/10\r\n\r\n3\r\n") != NULL);
    CHECK_EQ_INT(run(app, "POST", "/f", "range", "bytes=3-", &a), 200); /* GET/HEAD only */
    CHECK(strcmp(a.body, "0123456789") == 0);
    CHECK_EQ_INT(run(app, "GET", "/f", "range", "bytes=10-", &a), 416);
    CHECK(hdr(&a, "etag") == NULL);
    fr_app_free(app);
    cleanup_dir();
}

static void test_bad_args(void) {
    fr_app *app = fr_app_new(NULL);
    REQ(app != NULL);
    CHECK_EQ_INT(fr_app_static(NULL, "/s", "/tmp", NULL), -1);
    CHECK_EQ_INT(fr_app_static(app, NULL, "/tmp", NULL), -1);
    CHECK_EQ_INT(fr_app_static(app, "/s", NULL, NULL), -1);
    CHECK_EQ_INT(fr_app_frontend(app, "", "/tmp", NULL), -1);
    CHECK_EQ_INT(fr_app_frontend(app, "x", "/tmp", NULL), -1);
    CHECK_EQ_INT(fr_app_static_type(app, "", "a/b"), -1);
    CHECK_EQ_INT(fr_app_static_type(app, ".x", "a/b\r\n"), -1);
    CHECK_EQ_INT(fr_res_file_ranged(NULL, 0, 0, 0), -1);
    fr_app_free(app);
}

static const frt_case frt_cases[] = {
    FRT(test_parse_range_like_starlette), FRT(test_parsedate_like_python), FRT(test_etag_and_last_modified),
    FRT(test_guess_type), FRT(test_mount_files), FRT(test_mount_html), FRT(test_frontend), FRT(test_frontend_guard),
    FRT(test_file_ranged_handler),
    FRT(test_bad_args),
};
FRT_MAIN()
