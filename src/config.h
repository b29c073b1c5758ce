/* ---- config.h: every compile-time knob, each guarded, each with a default ---- */

/* The implementation uses POSIX/Linux APIs (epoll, accept4, clock_gettime,
 * getaddrinfo) that glibc hides under -std=c11 unless a feature macro is set
 * before the FIRST system header: include fastrapi.h before any other header
 * in the file that defines FASTRAPI_IMPLEMENTATION (or build with
 * -D_GNU_SOURCE). */
#if defined(FASTRAPI_IMPLEMENTATION) && !defined(_WIN32) && !defined(_GNU_SOURCE)
#  if defined(_FEATURES_H) && defined(__STRICT_ANSI__) && !defined(_POSIX_C_SOURCE) && \
      !defined(_XOPEN_SOURCE) && !defined(_DEFAULT_SOURCE) && !defined(_BSD_SOURCE)
#    error "fastrapi: under -std=c11 include fastrapi.h before any system header in the FASTRAPI_IMPLEMENTATION file, or build with -D_GNU_SOURCE"
#  endif
#  define _GNU_SOURCE 1
#endif

#include <stddef.h>
#include <stdint.h>

#if defined(FASTRAPI_STATIC) && defined(__GNUC__)
#  define FR_API static __attribute__((unused))
#elif defined(FASTRAPI_STATIC)
#  define FR_API static
#elif defined(FASTRAPI_DLL) && defined(_WIN32)
#  define FR_API __declspec(dllexport)
#elif defined(FASTRAPI_DLL) && defined(__GNUC__)
#  define FR_API __attribute__((visibility("default")))
#else
#  define FR_API extern
#endif

/* Version of this header (yyjson's YYJSON_VERSION_*). A native module (a
 * library of handlers loaded at run time, native.h) is accepted by a running
 * engine only when MAJOR.MINOR match; MINOR moves whenever a public struct
 * or function signature changes. Not options: never define them yourself. */
#define FASTRAPI_VERSION_MAJOR 0
#define FASTRAPI_VERSION_MINOR 1
#define FASTRAPI_VERSION_PATCH 0
#define FASTRAPI_VERSION_STRING "0.1.0"

#ifndef FR_ENABLE_LINES
#define FR_ENABLE_LINES 0
#endif

/* Request line + all header bytes. Stops slow-loris style memory growth and
 * oversized-cookie attacks: the head must fit, else 431. */
#ifndef FR_MAX_HEADER_BYTES
#define FR_MAX_HEADER_BYTES 16384
#endif

/* Header fields per request. Stops hash/scan blowups from 10k tiny headers
 * (431 beyond). */
#ifndef FR_MAX_HEADERS
#define FR_MAX_HEADERS 100
#endif

/* Request-target length. Stops pathological URLs before routing (414). */
#ifndef FR_MAX_URI_BYTES
#define FR_MAX_URI_BYTES 8192
#endif

/* Request body bytes (Content-Length or decoded chunked). Stops memory
 * exhaustion by huge uploads (413). Runtime knob: fr_config.max_body_bytes. */
#ifndef FR_MAX_BODY_BYTES
#define FR_MAX_BODY_BYTES (1024 * 1024)
#endif

/* Nesting depth of JSON arrays/objects. Stops stack exhaustion from
 * "[[[[[[..." bombs. Never unlimited. */
#ifndef FR_MAX_JSON_DEPTH
#define FR_MAX_JSON_DEPTH 128
#endif

/* Open connections per app. Stops fd exhaustion; excess connections are
 * accepted and closed at once. */
#ifndef FR_MAX_CONNECTIONS
#define FR_MAX_CONNECTIONS 10000
#endif

/* Time for the whole request head to arrive. Stops slow-loris (408). */
#ifndef FR_HEADER_TIMEOUT_MS
#define FR_HEADER_TIMEOUT_MS 10000
#endif

/* Idle keep-alive connections are closed after this. Stops idle fd hoarding. */
#ifndef FR_IDLE_TIMEOUT_MS
#define FR_IDLE_TIMEOUT_MS 5000
#endif

/* Time allowed for a request body to arrive once the head is parsed.
 * Stops slow-body attacks (408). */
#ifndef FR_BODY_TIMEOUT_MS
#define FR_BODY_TIMEOUT_MS 30000
#endif

/* Streamed responses: bytes queued unsent above which fr_res_stream_write
 * answers FR_STREAM_FULL (the producer waits for FR_STREAM_DRAINED, sent
 * once the queue is down to a quarter of it). Stops a client that does
 * not read from making the server buffer a stream without bound. */
#ifndef FR_STREAM_HIGH_WATER
#define FR_STREAM_HIGH_WATER 262144
#endif

/* Slowest a client may take queued response bytes (bytes/s, judged over
 * each send_timeout_ms window while output waits). Stops a trickling
 * reader from holding a connection (and a stream) forever. */
#ifndef FR_MIN_SEND_RATE
#define FR_MIN_SEND_RATE 1024
#endif

/* Longest chunk-size line (size + extensions) or trailer line. Stops a
 * client from streaming an endless chunk extension or trailer (400). */
#ifndef FR_MAX_CHUNK_LINE_BYTES
#define FR_MAX_CHUNK_LINE_BYTES 4096
#endif

/* Trailer fields skipped after the last chunk. Stops endless trailer
 * sections (400 beyond). */
#ifndef FR_MAX_TRAILERS
#define FR_MAX_TRAILERS 64
#endif

/* multipart/form-data (src/multipart.h); runtime knobs in fr_mp_limits.
 * Fields (non-file parts) and files per body: stop a body of millions of
 * tiny parts from costing one object each (Starlette's max_fields /
 * max_files, 400 beyond). */
#ifndef FR_MAX_MULTIPART_FIELDS
#define FR_MAX_MULTIPART_FIELDS 1000
#endif
#ifndef FR_MAX_MULTIPART_FILES
#define FR_MAX_MULTIPART_FILES 1000
#endif
/* Data bytes of one field (files are streamed, not held): stops a "text
 * field" from holding the whole upload in memory (Starlette's
 * max_part_size, 400 beyond). */
#ifndef FR_MAX_MULTIPART_PART_BYTES
#define FR_MAX_MULTIPART_PART_BYTES (1024 * 1024)
#endif
/* Header lines per part and bytes per line (python-multipart's 8 and
 * 4096 + 128): part headers are buffered in the parser, these bound it. */
#ifndef FR_MAX_MULTIPART_HEADERS
#define FR_MAX_MULTIPART_HEADERS 8
#endif
#ifndef FR_MAX_MULTIPART_HEADER_BYTES
#define FR_MAX_MULTIPART_HEADER_BYTES 4224
#endif
/* A file part's bytes kept in memory by fr_form (streamed uploads) before
 * they go to an unlinked temporary file (Starlette's SpooledTemporaryFile
 * max_size): stops uploads from holding their size in RAM. Runtime knob:
 * fr_route_opts.multipart_spool / fr_form_new. */
#ifndef FR_MULTIPART_SPOOL_BYTES
#define FR_MULTIPART_SPOOL_BYTES (1024 * 1024)
#endif
/* Boundary length (RFC 2046 says 70; python-multipart accepts 256). */
#ifndef FR_MAX_MULTIPART_BOUNDARY
#define FR_MAX_MULTIPART_BOUNDARY 256
#endif

/* {param} captures per route. Stops unbounded per-request capture arrays. */
#ifndef FR_MAX_ROUTE_PARAMS
#define FR_MAX_ROUTE_PARAMS 16
#endif

/* Longest an fr_pool worker or fr_mailbox_run holds back loop wake-ups
 * while more jobs wait (hold_wakes_us = 0; see pool.h). */
#ifndef FR_POOL_HOLD_WAKES_US
#define FR_POOL_HOLD_WAKES_US 1000
#endif

/* Worker threads of an fr_pool (fr_pool_config.threads = 0). Bounds how many
 * blocking jobs run at once: a flood of slow requests queues instead of
 * spawning unbounded threads (memory and scheduler exhaustion). */
#ifndef FR_POOL_THREADS
#define FR_POOL_THREADS 40
#endif

/* Force the portable poll() backend instead of epoll/kqueue (testing,
 * exotic platforms). */
#ifndef FR_USE_POLL
#define FR_USE_POLL 0
#endif

/* GZipMiddleware compression (fr_gzip_*, src/middleware.h) through zlib:
 * 1 needs zlib.h and -lz. 0 (default) keeps the engine dependency-free;
 * fr_gzip_new then fails with an error. */
#ifndef FR_ENABLE_ZLIB
#define FR_ENABLE_ZLIB 0
#endif

/* HTTPS listeners (fr_listen_tls, src/tls.h) through OpenSSL 3: 1 needs
 * openssl/ssl.h and -lssl -lcrypto. 0 (default) keeps the engine free of
 * any TLS dependency; fr_listen_tls / fr_tls_reload then fail with an error.
 * A TLS handshake must finish within header_timeout_ms (the budget of a
 * request head): stops clients that open handshakes and stall (slowloris). */
#ifndef FR_ENABLE_OPENSSL
#define FR_ENABLE_OPENSSL 0
#endif

/* WebSocket message size (after permessage-deflate decompression). Stops
 * memory exhaustion by huge or decompression-bomb messages (close 1009).
 * Runtime knob: fr_ws_config.max_message. */
#ifndef FR_WS_MAX_MESSAGE
#define FR_WS_MAX_MESSAGE (1024 * 1024)
#endif

/* Bytes queued for one WebSocket and not yet written. Stops a slow (or
 * never) reading client from making the server buffer without bound: sends
 * beyond it fail with FR_WS_EFULL. Runtime knob: fr_ws_config.max_send_queue. */
#ifndef FR_WS_MAX_SEND_QUEUE
#define FR_WS_MAX_SEND_QUEUE (1024 * 1024)
#endif

/* A WebSocket silent this long is pinged; silent for a second interval it is
 * closed (1011). Stops dead peers from holding connections forever. */
#ifndef FR_WS_PING_INTERVAL_MS
#define FR_WS_PING_INTERVAL_MS 20000
#endif

/* How long the closing handshake may take before TCP is dropped. Stops
 * peers that never answer a close frame from holding the connection. */
#ifndef FR_WS_CLOSE_TIMEOUT_MS
#define FR_WS_CLOSE_TIMEOUT_MS 5000
#endif

#ifndef FR_MALLOC
#include <stdlib.h>
#define FR__MALLOC_DEFAULT 1 /* big arena chunks may be mapped from the OS (base.c) */
#define FR_MALLOC(n) malloc(n)
#define FR_REALLOC(p, n) realloc((p), (n))
#define FR_FREE(p) free(p)
#endif
