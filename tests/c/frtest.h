/* frtest.h -- tiny C test harness driven by pytest (tests/test_c.py).
 *
 *   static void test_x(void) { CHECK(1 + 1 == 2); CHECK_EQ_INT(a, b); }
 *   static const frt_case frt_cases[] = {FRT(test_x), FRT(test_y)};
 *   FRT_MAIN()
 *
 * ./bin --list      prints one test name per line
 * ./bin [names...]  runs all (or the named) tests, prints "PASS name" or
 *                   "FAIL name: file:line: expr" per test and a closing
 *                   "N passed, N failed" line; exit 1 on any failure.
 *
 * frt_guarded(data, len) returns a copy placed right before a PROT_NONE
 * page so any over-read crashes (picohttpparser's trick).
 *
 * #define FRT_NET 1 before the include for the client side of the socket
 * tests: frt_sleep_ms, frt_now_ms, frt_connect, frt_send_all, frt_recv_all;
 * include frtest.h a second time after fastrapi.h for a server in a thread:
 * frt_srv, frt_srv_run, frt_srv_stop, frt_srv_join. */
#ifndef FRTEST_H
#define FRTEST_H
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>

static int frt__failed;
static char frt__msg[512];

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            if (!frt__failed)                                                          \
                snprintf(frt__msg, sizeof frt__msg, "%s:%d: %s", __FILE__, __LINE__, #cond); \
            frt__failed = 1;                                                           \
        }                                                                              \
    } while (0)

#define REQUIRE(cond)                 \
    do {                              \
        int frt_ok_ = !!(cond);       \
        CHECK(frt_ok_ && #cond);      \
        if (!frt_ok_) return;         \
    } while (0)

/* REQUIRE(expr) whose failure message does not quote expr */
#define REQ(expr)                      \
    do {                               \
        int frt_req_ = (expr) ? 1 : 0; \
        REQUIRE(frt_req_);             \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                   \
    do {                                                                                     \
        long long frt_a_ = (long long)(a), frt_b_ = (long long)(b);                          \
        if (frt_a_ != frt_b_) {                                                              \
            if (!frt__failed)                                                                \
                snprintf(frt__msg, sizeof frt__msg, "%s:%d: %s == %s (%lld != %lld)", __FILE__, \
                         __LINE__, #a, #b, frt_a_, frt_b_);                                   \
            frt__failed = 1;                                                                 \
        }                                                                                    \
    } while (0)

/* compare a (ptr,len) against a C string */
#define CHECK_EQ_MEM(p, n, cstr)                                                              \
    do {                                                                                      \
        const char *frt_e_ = (cstr);                                                          \
        size_t frt_n_ = (size_t)(n);                                                          \
        if (frt_n_ != strlen(frt_e_) || memcmp((p), frt_e_, frt_n_) != 0) {                    \
            if (!frt__failed)                                                                 \
                snprintf(frt__msg, sizeof frt__msg, "%s:%d: %s == \"%s\" (got \"%.*s\")",       \
                         __FILE__, __LINE__, #p, frt_e_, (int)(frt_n_ > 200 ? 200 : frt_n_),   \
                         (const char *)(p));                                                  \
            frt__failed = 1;                                                                  \
        }                                                                                     \
    } while (0)

typedef struct {
    const char *name;
    void (*fn)(void);
} frt_case;

/* Copy into memory followed by an inaccessible page. Freed at exit (leaked
 * deliberately per call is fine for tests; call frt_guarded_free to unmap). */
static inline void *frt_guarded(const void *data, size_t len) {
    long pg = sysconf(_SC_PAGESIZE);
    size_t pages = (len + (size_t)pg - 1) / (size_t)pg + 1;
    char *base = (char *)mmap(NULL, pages * (size_t)pg, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *p;
    if (base == MAP_FAILED) abort();
    mprotect(base + (pages - 1) * (size_t)pg, (size_t)pg, PROT_NONE);
    p = base + (pages - 1) * (size_t)pg - len;
    if (len) memcpy(p, data, len);
    return p;
}

static inline void frt_guarded_free(void *p, size_t len) {
    long pg = sysconf(_SC_PAGESIZE);
    size_t pages = (len + (size_t)pg - 1) / (size_t)pg + 1;
    char *end = (char *)p + len; /* start of guard page */
    munmap(end - (pages - 1) * (size_t)pg, pages * (size_t)pg);
}

/* Multipart bodies for the upload tests: byte i of a file part is
 * frt_pat(i); frt_form_body(nbig, &len) is a field "a"="hello", a file "f"
 * ("d.bin", with an extra part header) of nbig such bytes and a field
 * "b"="x", boundary FRT_BND (malloc'd; NULL on OOM). */
#define FRT_BND "XyZb0undary"

static inline unsigned char frt_pat(size_t i) { return (unsigned char)((i * 7 + 3) % 251); }

static inline char *frt_form_body(size_t nbig, size_t *len) {
    static const char h1[] = "--" FRT_BND "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n"
                             "--" FRT_BND "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"d.bin\"\r\n"
                             "Content-Type: application/octet-stream\r\nX-Extra: 1\r\n\r\n";
    static const char t[] = "\r\n--" FRT_BND "\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\nx\r\n--" FRT_BND
                            "--\r\n";
    size_t n = sizeof h1 - 1 + nbig + sizeof t - 1, i;
    char *b = (char *)malloc(n), *w = b;
    if (!b) return NULL;
    memcpy(w, h1, sizeof h1 - 1);
    w += sizeof h1 - 1;
    for (i = 0; i < nbig; i++) *w++ = (char)frt_pat(i);
    memcpy(w, t, sizeof t - 1);
    *len = n;
    return b;
}

/* Open files of this process that are unlinked ("(deleted)" in
 * /proc/self/fd): upload temp files; -1 without /proc. */
static inline int frt_deleted_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        char p[300], l[512];
        ssize_t k;
        snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
        k = readlink(p, l, sizeof l - 1);
        if (k <= 0) continue;
        l[k] = 0;
        if (strstr(l, "(deleted)")) n++;
    }
    closedir(d);
    return n;
}

static int frt_main(int argc, char **argv, const frt_case *cases, size_t n) {
    size_t i;
    int pass = 0, fail = 0, a;
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (i = 0; i < n; i++) printf("%s\n", cases[i].name);
        return 0;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    for (i = 0; i < n; i++) {
        if (argc > 1) {
            int want = 0;
            for (a = 1; a < argc; a++)
                if (strcmp(argv[a], cases[i].name) == 0) want = 1;
            if (!want) continue;
        }
        frt__failed = 0;
        frt__msg[0] = 0;
        cases[i].fn();
        if (frt__failed) {
            printf("FAIL %s: %s\n", cases[i].name, frt__msg);
            fail++;
        } else {
            printf("PASS %s\n", cases[i].name);
            pass++;
        }
    }
    printf("%d passed, %d failed\n", pass, fail);
    return fail ? 1 : 0;
}

#ifdef FRT_NET
#include <errno.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define FRT_IO_TIMEOUT_S 5

static inline void frt_sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* milliseconds on the monotonic clock */
static inline int64_t frt_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A TCP connection to 127.0.0.1:port with FRT_IO_TIMEOUT_S send and receive
 * timeouts; rcvbuf > 0 sets SO_RCVBUF first (before the SYN, so the window
 * is small from the start). The fd, or -1. */
static inline int frt_connect(int port, int rcvbuf) {
    struct sockaddr_in a;
    struct timeval tv;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    tv.tv_sec = FRT_IO_TIMEOUT_S;
    tv.tv_usec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* All n bytes (no SIGPIPE); 0, or -1 on error or timeout. */
static inline int frt_send_all(int fd, const void *p, size_t n) {
    const char *s = (const char *)p;
    while (n) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k <= 0) return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Receive into out until EOF, an error, a timeout or cap - 1 bytes; out is
 * NUL-terminated. Returns the length. */
static inline size_t frt_recv_all(int fd, char *out, size_t cap) {
    size_t got = 0;
    while (got + 1 < cap) {
        ssize_t n = recv(fd, out + got, cap - 1 - got, 0);
        if (n <= 0) break;
        got += (size_t)n;
    }
    out[got] = 0;
    return got;
}
#endif /* FRT_NET */

/* static const frt_case frt_cases[] = {FRT(test_a), FRT(test_b)};
 * FRT_MAIN() */
#define FRT(fn) {#fn, fn}
#define FRT_MAIN()                                                                 \
    int main(int argc, char **argv) {                                              \
        return frt_main(argc, argv, frt_cases, sizeof frt_cases / sizeof frt_cases[0]); \
    }
#endif /* FRTEST_H */

#if defined(FRT_NET) && defined(FASTRAPI_H) && !defined(FRTEST_SRV_H)
#define FRTEST_SRV_H
#include <pthread.h>

/* An app served by fr_serve in a thread of its own. */
typedef struct frt_srv {
    fr_app *app;
    pthread_t thr;
    int port; /* where s->app listens (the caller's fr_listen) */
    int rc;   /* fr_serve's result; -99 while it runs */
} frt_srv;

static inline void *frt__serve(void *arg) {
    frt_srv *s = (frt_srv *)arg;
    s->rc = fr_serve(s->app);
    return NULL;
}

/* Serve s->app, already listening, in a new thread; 0, or -1. */
static inline int frt_srv_run(frt_srv *s) {
    s->rc = -99;
    return pthread_create(&s->thr, NULL, frt__serve, s) == 0 ? 0 : -1;
}

/* Wait for fr_serve to return (something else stopped the app), free the app. */
static inline void frt_srv_join(frt_srv *s) {
    pthread_join(s->thr, NULL);
    fr_app_free(s->app);
}

/* Stop the app, wait for fr_serve to return, free the app. */
static inline void frt_srv_stop(frt_srv *s) {
    fr_stop(s->app);
    frt_srv_join(s);
}
#endif /* FRTEST_SRV_H */

/* A response collected from an fr_sink (fr_dispatch): include frtest.h
 * again after fastrapi.h to get it. */
#if defined(FASTRAPI_H) && !defined(FRTEST_GOT_H)
#define FRTEST_GOT_H
#include <stdio.h>
#include <string.h>

typedef struct frt_got {
    int status;
    int starts, bodies, done;
    char head[4096]; /* "name: value\n" per header, as given */
    fr_buf body;
} frt_got;

static inline void frt_got_start(void *ud, int status, const fr_header *h, size_t n) {
    frt_got *g = (frt_got *)ud;
    size_t i, at = strlen(g->head);
    g->status = status;
    g->starts++;
    for (i = 0; i < n; i++)
        at += (size_t)snprintf(g->head + at, sizeof g->head - at, "%.*s: %.*s\n", (int)h[i].name.len,
                               h[i].name.buf, (int)h[i].value.len, h[i].value.buf);
}

static inline int frt_got_body(void *ud, const char *data, size_t len, int more) {
    frt_got *g = (frt_got *)ud;
    g->bodies++;
    if (len) fr_buf_append(&g->body, data, len);
    if (!more) g->done = 1;
    return 0;
}

/* A sink that fills g. */
static inline fr_sink frt_got_sink(frt_got *g) {
    fr_sink s;
    memset(&s, 0, sizeof s);
    s.start = frt_got_start;
    s.body = frt_got_body;
    s.ud = g;
    return s;
}
#endif /* FRTEST_GOT_H */

/* Wake sets registered (server.c's registry), read without its lock: call
 * it while no thread makes or ends one (a fork child's one thread, say).
 * -1 in the "src" build, which links the engine from outside. Include
 * frtest.h again after fastrapi.h (with its implementation) to get it. */
#if defined(FASTRAPI_H) && defined(FASTRAPI_IMPLEMENTATION) && !defined(FRTEST_WAKES_H)
#define FRTEST_WAKES_H
static inline int frt_wake_sets(void) {
#ifdef FRT_UNAMALGAMATED
    return -1;
#else
    int n = 0;
    fr__wake_set *w;
    for (w = fr__wakes_all; w; w = w->next) n++;
    return n;
#endif
}

/* 1 when this thread has a wake set of its own (fr__wakes_thread_set), else
 * 0; -1 where the engine's internals are not visible */
static inline int frt_own_wake_set(void) {
#ifdef FRT_UNAMALGAMATED
    return -1;
#else
    return fr__thread_set != NULL;
#endif
}
#endif /* FRTEST_WAKES_H */
