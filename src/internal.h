/* ---- internal.h: private helpers shared by the implementation files ---- */
#ifndef FR__INTERNAL_H
#define FR__INTERNAL_H

#if !defined(_WIN32) && !defined(_GNU_SOURCE) && !defined(FR__NO_GNU_SOURCE)
#define _GNU_SOURCE 1 /* accept4, pipe2, memrchr, SO_REUSEPORT */
#endif

#include "fr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <limits.h>
#include <math.h>

/* Private functions shared across src/ files: `static` in the amalgamation,
 * external (but fr__-prefixed) when src/ is built file by file. */
#if defined(FR__AMALGAMATION)
#  if defined(__GNUC__)
#    define FR__PRIV static __attribute__((unused))
#  else
#    define FR__PRIV static
#  endif
#else
#  define FR__PRIV
#endif

#if defined(__GNUC__)
#define FR__LIKELY(x) __builtin_expect(!!(x), 1)
#define FR__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FR__LIKELY(x) (x)
#define FR__UNLIKELY(x) (x)
#endif

#define FR__MIN(a, b) ((a) < (b) ? (a) : (b))
#define FR__MAX(a, b) ((a) > (b) ? (a) : (b))
#define FR__COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

static inline int fr__tolower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Value of an ASCII hex digit, or -1. */
static inline int fr__hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Python's str.isspace() for a Latin-1 character (what str.strip() removes
 * from header text that Starlette decoded as Latin-1). */
static inline int fr__py_space(unsigned c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0;
}

#endif /* FR__INTERNAL_H */
