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
 * page so any over-read crashes (picohttpparser's trick). */
#ifndef FRTEST_H
#define FRTEST_H
#define _GNU_SOURCE 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
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
static void *frt_guarded(const void *data, size_t len) {
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

static void frt_guarded_free(void *p, size_t len) {
    long pg = sysconf(_SC_PAGESIZE);
    size_t pages = (len + (size_t)pg - 1) / (size_t)pg + 1;
    char *end = (char *)p + len; /* start of guard page */
    munmap(end - (pages - 1) * (size_t)pg, pages * (size_t)pg);
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

/* static const frt_case frt_cases[] = {FRT(test_a), FRT(test_b)};
 * FRT_MAIN() */
#define FRT(fn) {#fn, fn}
#define FRT_MAIN()                                                                 \
    int main(int argc, char **argv) {                                              \
        return frt_main(argc, argv, frt_cases, sizeof frt_cases / sizeof frt_cases[0]); \
    }
#endif
