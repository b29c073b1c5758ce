/* Streamed uploads: fr_form (multipart.h) fed in pieces, and the server's
 * fr_route_opts.multipart_stream over real sockets. Fields stay in memory,
 * a file part over the spool threshold lands in an unlinked temp file with
 * the right bytes (Content-Length and chunked bodies, delimiters split
 * across reads), limits give the form's error to the handler, a route's
 * max_body still answers 413, and a client that goes away mid-upload
 * leaves no open temp file behind (fds counted in /proc/self/fd; ASan
 * covers the memory). Every socket has a timeout; every wait is bounded. */
#define FRT_NET 1
#include "frtest.h"

#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"
#include "frtest.h" /* again, after fastrapi.h: frt_srv */

#include <dirent.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>

#define UP_MIN(a, b) ((a) < (b) ? (a) : (b))

#define BND FRT_BND
#define BIG (3 * 1024 * 1024 + 17) /* over the default 1 MiB spool */

static int pat_ok(const fr_form_part *p, size_t want) {
    static char buf[65536];
    uint64_t off = 0;
    long n;
    if (p->size != want) return 0;
    while ((n = fr_form_part_read(p, off, buf, sizeof buf)) > 0) {
        for (long i = 0; i < n; i++)
            if ((unsigned char)buf[i] != frt_pat((size_t)off + (size_t)i)) return 0;
        off += (uint64_t)n;
    }
    return n == 0 && off == want;
}

/* ---- fr_form alone ---- */

static void check_form(const fr_form *f, size_t nbig, int on_disk) {
    const fr_form_part *a = fr_form_part_at(f, 0), *fp = fr_form_part_at(f, 1), *b = fr_form_part_at(f, 2);
    REQUIRE(fr_form_error(f) == 0);
    REQUIRE(fr_form_count(f) == 3 && a && fp && b && !fr_form_part_at(f, 3));
    CHECK(!a->is_file && a->fd < 0 && a->name.len == 1 && a->name.buf[0] == 'a' && !a->filename.buf);
    CHECK(a->size == 5 && memcmp(a->data.buf, "hello", 5) == 0);
    CHECK(fp->is_file && fp->filename.len == 5 && memcmp(fp->filename.buf, "d.bin", 5) == 0);
    CHECK(fp->content_type.len == 24 && memcmp(fp->content_type.buf, "application/octet-stream", 24) == 0);
    CHECK(fp->num_headers == 3 && fp->headers[2].name.len == 7 && memcmp(fp->headers[2].value.buf, "1", 1) == 0);
    CHECK((fp->fd >= 0) == on_disk);
    CHECK(pat_ok(fp, nbig));
    if (fp->fd >= 0) {
        struct stat st;
        CHECK(fstat(fp->fd, &st) == 0 && st.st_nlink == 0 && (uint64_t)st.st_size == nbig); /* unlinked */
        CHECK(lseek(fp->fd, 0, SEEK_CUR) == 0);
    }
    CHECK(b->size == 1 && b->data.buf[0] == 'x');
}

static void form_in_pieces(void) {
    size_t len, steps[] = {1, 61, 4096, 65536, 1 << 20};
    char *body = frt_form_body(BIG, &len);
    REQUIRE(body);
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        fr_form *f = fr_form_new(fr_str_c(BND), NULL, 0);
        size_t off = 0;
        REQUIRE(f);
        if (steps[s] == 1) { /* byte by byte only around the delimiters: the head and tail */
            for (; off < 300; off++) CHECK(fr_form_feed(f, body + off, 1) == 1);
            CHECK(fr_form_feed(f, body + off, len - 300 - off) == (long)(len - 300 - off));
            off = len - 300;
        }
        while (off < len) {
            size_t n = UP_MIN(steps[s], len - off);
            CHECK(fr_form_feed(f, body + off, n) == (long)n);
            off += n;
        }
        CHECK(fr_form_finish(f) == 0);
        CHECK(fr_form_finish(f) == 0); /* idempotent */
        check_form(f, BIG, 1);
        fr_form_free(f);
    }
    free(body);
}

static void form_small_file_in_memory(void) {
    size_t len;
    char *body = frt_form_body(1000, &len);
    fr_form *f = fr_form_new(fr_str_c(BND), NULL, 0);
    REQUIRE(body && f);
    CHECK(fr_form_feed(f, body, len) == (long)len && fr_form_finish(f) == 0);
    check_form(f, 1000, 0);
    fr_form_free(f);
    /* a tiny spool threshold: the same 1000 bytes go to disk */
    f = fr_form_new(fr_str_c(BND), NULL, 10);
    REQUIRE(f);
    CHECK(fr_form_feed(f, body, 100) == 100 && fr_form_feed(f, body + 100, len - 100) == (long)(len - 100));
    CHECK(fr_form_finish(f) == 0);
    check_form(f, 1000, 1);
    { /* fr_form_part_copy_fd writes the whole part; the part's offset stays */
        FILE *tf = tmpfile();
        char got[1000];
        const fr_form_part *fp = fr_form_part_at(f, 1);
        REQUIRE(tf);
        CHECK(fr_form_part_copy_fd(fp, fileno(tf)) == 0);
        CHECK(pread(fileno(tf), got, sizeof got, 0) == 1000 && (unsigned char)got[999] == frt_pat(999));
        CHECK(fr_form_part_copy_fd(fr_form_part_at(f, 0), fileno(tf)) == 0);
        CHECK(lseek(fileno(tf), 0, SEEK_END) == 1005 && lseek(fp->fd, 0, SEEK_CUR) == 0);
        fclose(tf);
    }
    fr_form_free(f);
    free(body);
}

static void form_errors(void) {
    static const char two_files[] = "--" BND "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"1\"\r\n\r\n1\r\n"
                                    "--" BND "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"2\"\r\n\r\n2\r\n"
                                    "--" BND "--\r\n";
    fr_mp_limits lim;
    char msg[160];
    fr_form *f;
    memset(&lim, 0, sizeof lim);
    lim.max_files = 1;
    char *g = (char *)frt_guarded(two_files, sizeof two_files - 1); /* an over-read crashes */
    REQUIRE(g);
    f = fr_form_new(fr_str_c(BND), &lim, 0);
    REQUIRE(f);
    CHECK(fr_form_feed(f, g, sizeof two_files - 1) == -1);
    CHECK(fr_form_feed(f, "more", 4) == -1); /* after an error, everything is ignored */
    CHECK(fr_form_finish(f) == -1 && fr_form_error(f) == FR_MP_ERR_FILES);
    fr_form_error_text(f, msg, sizeof msg);
    CHECK(strcmp(msg, "Too many files. Maximum number of files is 1.") == 0);
    CHECK(fr_form_count(f) == 1); /* the complete part before it is kept */
    fr_form_free(f);
    /* truncated: the complete parts are kept, the unfinished one dropped */
    f = fr_form_new(fr_str_c(BND), NULL, 1);
    REQUIRE(f);
    CHECK(fr_form_feed(f, two_files, 100) == 100);
    CHECK(fr_form_finish(f) == -1 && fr_form_error(f) == FR_MP_ERR_TRUNCATED && fr_form_count(f) == 1);
    fr_form_free(f);
    /* a bad boundary is the form's error, not a NULL form */
    f = fr_form_new(fr_str_c("a\r\nb"), NULL, 0);
    REQUIRE(f);
    CHECK(fr_form_error(f) == FR_MP_ERR_BOUNDARY && fr_form_feed(f, "x", 1) == -1 && fr_form_count(f) == 0);
    fr_form_free(f);
    fr_form_free(NULL);
    CHECK(fr_form_count(NULL) == 0 && !fr_form_part_at(NULL, 0) && fr_form_part_read(NULL, 0, msg, 1) == -1);
    /* every prefix of the body, from a guarded copy: truncated or complete, never a crash */
    for (size_t cut = 0; cut <= sizeof two_files - 1; cut++) {
        char *h = (char *)frt_guarded(two_files, cut);
        f = fr_form_new(fr_str_c(BND), NULL, 1);
        REQUIRE(h && f);
        fr_form_feed(f, h, cut);
        CHECK(fr_form_finish(f) == (cut >= sizeof two_files - 3 ? 0 : -1)); /* "--" BND "--" ends it */
        CHECK(fr_form_count(f) <= 2);
        fr_form_free(f);
        frt_guarded_free(h, cut);
    }
    frt_guarded_free(g, sizeof two_files - 1);
}

/* ---- the server ---- */

static atomic_int handled;

/* "<error> <count> name:size:disk:ok ..." */
static int h_upload(fr_req *req, void *ud) {
    const fr_form *f = fr_req_form(req);
    char out[512];
    size_t n = 0, i;
    (void)ud;
    atomic_fetch_add(&handled, 1);
    if (!f) return fr_res_text(req, 415, "text/plain", "no form", 7);
    n += (size_t)snprintf(out + n, sizeof out - n, "%d %zu%s", fr_form_error(f), fr_form_count(f),
                          fr_req_body(req).len ? " BODY" : "");
    for (i = 0; i < fr_form_count(f) && n < sizeof out - 64; i++) {
        const fr_form_part *p = fr_form_part_at(f, i);
        int ok = p->name.len == 1 && p->name.buf[0] == 'f' ? pat_ok(p, (size_t)p->size) : 1;
        n += (size_t)snprintf(out + n, sizeof out - n, " %.*s:%llu:%d:%d", (int)p->name.len, p->name.buf,
                              (unsigned long long)p->size, p->fd >= 0, ok);
    }
    return fr_res_text(req, 200, "text/plain", out, n);
}

static int srv_start(frt_srv *s) {
    fr_config cfg;
    fr_route_opts o;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = 1;
    cfg.no_signals = 1; /* app max_body_bytes stays 1 MiB: a streamed body is not bound by it */
    s->app = fr_app_new(&cfg);
    if (!s->app) return -1;
    memset(&o, 0, sizeof o);
    o.multipart_stream = 1;
    if (fr_route_ex(s->app, "POST", "/up", h_upload, NULL, &o) < 0) return -1;
    o.multipart_max_files = 1;
    if (fr_route_ex(s->app, "POST", "/one", h_upload, NULL, &o) < 0) return -1;
    o.multipart_max_files = 0;
    o.limit_body = 1;
    o.max_body = 100000;
    if (fr_route_ex(s->app, "POST", "/small", h_upload, NULL, &o) < 0) return -1;
    if (fr_route(s->app, "POST", "/plain", h_upload, NULL) < 0) return -1;
    s->port = fr_listen(s->app, "127.0.0.1", 0);
    if (s->port <= 0) return -1;
    return frt_srv_run(s);
}

/* POST body (Content-Length, or chunked in `chunk`-byte chunks) to path;
 * the answer into out. */
static size_t post(int port, const char *path, const char *body, size_t len, size_t chunk, char *out, size_t cap) {
    char head[256];
    int fd = frt_connect(port, 0), k;
    size_t got = 0;
    if (fd < 0) return 0;
    k = chunk ? snprintf(head, sizeof head,
                         "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
                         "Content-Type: multipart/form-data; boundary=" BND "\r\n\r\n", path)
              : snprintf(head, sizeof head,
                         "POST %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %zu\r\n"
                         "Content-Type: multipart/form-data; boundary=" BND "\r\n\r\n", path, len);
    if (frt_send_all(fd, head, (size_t)k) == 0) {
        size_t off = 0;
        fr_buf w = {NULL, 0, 0}; /* chunked: framed here, sent in big writes */
        while (off < len) {
            size_t n = chunk ? UP_MIN(chunk, len - off) : UP_MIN((size_t)65536, len - off);
            if (chunk) {
                char sz[32];
                int m = snprintf(sz, sizeof sz, "%zx\r\n", n);
                if (fr_buf_append(&w, sz, (size_t)m) < 0 || fr_buf_append(&w, body + off, n) < 0 ||
                    fr_buf_append(&w, "\r\n", 2) < 0)
                    break;
                if (w.len >= 65536 || off + n == len) {
                    if (frt_send_all(fd, w.buf, w.len) < 0) break;
                    w.len = 0;
                }
            } else if (frt_send_all(fd, body + off, n) < 0) {
                break;
            }
            off += n;
        }
        fr_buf_free(&w);
        if (chunk) frt_send_all(fd, "0\r\n\r\n", 5);
        got = frt_recv_all(fd, out, cap);
    }
    close(fd);
    return got;
}

static void server_uploads(void) {
    frt_srv s;
    size_t len, n;
    char out[4096];
    char *body = frt_form_body(BIG, &len);
    REQUIRE(body);
    REQUIRE(srv_start(&s) == 0);
    n = post(s.port, "/up", body, len, 0, out, sizeof out);
    CHECK(n && strstr(out, "200 OK") && strstr(out, "\r\n\r\n0 3 a:5:0:1 f:3145745:1:1 b:1:0:1"));
    /* chunked, chunk sizes that split the delimiters */
    n = post(s.port, "/up", body, len, 4093, out, sizeof out);
    CHECK(n && strstr(out, "\r\n\r\n0 3 a:5:0:1 f:3145745:1:1 b:1:0:1"));
    free(body);
    /* 7-byte chunks: every delimiter split; a file over a 1 MiB spool still */
    body = frt_form_body((1 << 20) + 3, &len);
    REQUIRE(body);
    n = post(s.port, "/up", body, len, 7, out, sizeof out);
    CHECK(n && strstr(out, "\r\n\r\n0 3 a:5:0:1 f:1048579:1:1 b:1:0:1"));
    free(body);
    /* a small file stays in memory */
    body = frt_form_body(10, &len);
    n = post(s.port, "/up", body, len, 0, out, sizeof out);
    CHECK(n && strstr(out, "\r\n\r\n0 3 a:5:0:1 f:10:0:1 b:1:0:1"));
    /* a route without multipart_stream reads the body as before (1 MiB app limit) */
    n = post(s.port, "/plain", body, len, 0, out, sizeof out);
    CHECK(n && strstr(out, "415") && strstr(out, "no form"));
    /* limits are the handler's to answer: the form carries the error */
    n = post(s.port, "/one", body, len, 0, out, sizeof out);
    CHECK(n && strstr(out, "\r\n\r\n0 3")); /* one file: fine */
    free(body);
    {
        static const char two[] = "--" BND "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"1\"\r\n\r\n\x03\r\n"
                                  "--" BND "\r\nContent-Disposition: form-data; name=\"g\"; filename=\"2\"\r\n\r\n2\r\n"
                                  "--" BND "--\r\n";
        n = post(s.port, "/one", two, sizeof two - 1, 0, out, sizeof out);
        CHECK(n && strstr(out, "\r\n\r\n8 1 f:1:0:1")); /* FR_MP_ERR_FILES */
        /* the route's max_body: 413 as FastAPI, Content-Length and chunked */
        body = frt_form_body(200000, &len);
        n = post(s.port, "/small", body, len, 0, out, sizeof out);
        CHECK(n && strstr(out, "HTTP/1.1 413") && strstr(out, "Content Too Large"));
        n = post(s.port, "/small", body, len, 8192, out, sizeof out);
        CHECK(n && strstr(out, "HTTP/1.1 413") && strstr(out, "{\"detail\":\"Content Too Large\"}"));
        n = post(s.port, "/small", two, sizeof two - 1, 100, out, sizeof out);
        CHECK(n && strstr(out, "200 OK"));
        free(body);
    }
    frt_srv_stop(&s);
}

/* A client that sends half a big upload and goes away: the temp file is
 * closed (no fd left open) and the handler never runs. */
static void server_abort_frees(void) {
    frt_srv s;
    size_t len;
    char head[256];
    char *body = frt_form_body(BIG, &len);
    int fd, k, i;
    REQUIRE(body);
    REQUIRE(srv_start(&s) == 0);
    {   /* one request first: the server is up and answers */
        char out[512];
        size_t n, small;
        char *sb = frt_form_body(10, &small);
        REQUIRE(sb);
        n = post(s.port, "/up", sb, small, 0, out, sizeof out);
        CHECK(n && strstr(out, "200 OK"));
        free(sb);
    }
    atomic_store(&handled, 0);
    CHECK(frt_deleted_fds() == 0);
    fd = frt_connect(s.port, 0);
    REQUIRE(fd >= 0);
    k = snprintf(head, sizeof head,
                 "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                 "Content-Type: multipart/form-data; boundary=" BND "\r\n\r\n", len);
    CHECK(frt_send_all(fd, head, (size_t)k) == 0);
    CHECK(frt_send_all(fd, body, len / 2) == 0); /* 1.5 MiB: past the spool threshold */
    /* the server holds the temp file now (bounded wait: 10 s) */
    for (i = 0; i < 1000 && frt_deleted_fds() != 1; i++) frt_sleep_ms(10);
    CHECK(frt_deleted_fds() == 1);
    close(fd);
    for (i = 0; i < 1000 && frt_deleted_fds() != 0; i++) frt_sleep_ms(10);
    CHECK(frt_deleted_fds() == 0);
    CHECK(atomic_load(&handled) == 0);
    free(body);
    frt_srv_stop(&s);
}

static const frt_case frt_cases[] = {FRT(form_in_pieces), FRT(form_small_file_in_memory), FRT(form_errors),
                                     FRT(server_uploads), FRT(server_abort_frees)};
FRT_MAIN()
