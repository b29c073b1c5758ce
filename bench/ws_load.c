/*
 * ws_load.c -- the WebSocket load generator of bench/bench_ws.py: one
 * thread, epoll, many connections, raw RFC 6455 frames (masked, as a client
 * must). Compiled by the script:  cc -O2 -std=c11 bench/ws_load.c -o ws_load
 *
 *   ws_load echo   PORT PATH CONNS MILLIS SIZE
 *       every connection sends a SIZE-byte text message and waits for the
 *       same bytes back, then sends again (one in flight per connection);
 *       prints "roundtrips=N seconds=S errors=E".
 *   ws_load echo   PORT PATH CONNS MILLIS SIZE binary|json
 *       the same with binary messages, or with text messages that are a
 *       JSON string ("abc...", SIZE bytes with the quotes)
 *   ws_load fanout PORT PATH CONNS MILLIS SIZE
 *       CONNS connections join a room where every message is sent to every
 *       member; connection 0 publishes (keeping WINDOW messages in flight,
 *       its own copies are the acknowledgements) for MILLIS, then everyone
 *       waits (at most 10 s) for the messages published so far; prints
 *       "published=P delivered=D seconds=S errors=E" (S: first publish to
 *       last delivery).
 *
 * Pings are answered with pongs; a close frame or EOF is an error. Every
 * wait is bounded.
 */
#define _GNU_SOURCE 1
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WINDOW 8

typedef struct conn {
    int fd;
    char in[65536];
    size_t n;
    long got; /* text messages received */
} conn;

static const unsigned char MASK[4] = {0x37, 0xfa, 0x21, 0x3d};
static long g_errors;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const void *p, size_t n) {
    const char *c = (const char *)p;
    double deadline = now_s() + 10;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w > 0) {
            c += w;
            n -= (size_t)w;
        } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (now_s() > deadline) return -1;
            usleep(100);
        } else {
            return -1;
        }
    }
    return 0;
}

/* A masked client frame: opcode, payload (<= 65535 bytes). */
static size_t frame(unsigned char *out, int op, const char *data, size_t len) {
    size_t h = 0, i;
    out[h++] = (unsigned char)(0x80 | op);
    if (len < 126) {
        out[h++] = (unsigned char)(0x80 | len);
    } else {
        out[h++] = 0x80 | 126;
        out[h++] = (unsigned char)(len >> 8);
        out[h++] = (unsigned char)len;
    }
    memcpy(out + h, MASK, 4);
    h += 4;
    for (i = 0; i < len; i++) out[h + i] = (unsigned char)data[i] ^ MASK[i & 3];
    return h + len;
}

static int open_ws(int port, const char *path) {
    struct sockaddr_in a;
    char req[512], buf[4096];
    size_t n = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    double deadline = now_s() + 30;
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) goto fail;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
             path, port);
    if (write_all(fd, req, strlen(req)) < 0) goto fail;
    while (!memmem(buf, n, "\r\n\r\n", 4)) { /* the server sends nothing before our first message */
        ssize_t r = recv(fd, buf + n, sizeof buf - n, 0);
        if (r <= 0 || now_s() > deadline) goto fail;
        n += (size_t)r;
        if (n == sizeof buf) goto fail;
    }
    if (n < 12 || memcmp(buf, "HTTP/1.1 101", 12) != 0) goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

/* Take the complete frames in c->in: text messages counted (and, for echo,
 * checked against want); pings answered. Returns texts taken, -1 on error. */
static int data_op = 1; /* the opcode sent and expected back: 1 text, 2 binary */

static int take(conn *c, const char *want, size_t wlen) {
    int texts = 0;
    size_t off = 0;
    for (;;) {
        unsigned char *p = (unsigned char *)c->in + off;
        size_t avail = c->n - off, h = 2;
        uint64_t len;
        int op;
        if (avail < 2) break;
        op = p[0] & 0x0f;
        len = p[1] & 0x7f;
        if (len == 126) {
            if (avail < 4) break;
            len = ((uint64_t)p[2] << 8) | p[3];
            h = 4;
        } else if (len == 127) {
            return -1; /* never this big here */
        }
        if (avail < h + len) break;
        if (op == data_op) {
            if (want && (len != wlen || memcmp(p + h, want, wlen) != 0)) return -1;
            texts++;
        } else if (op == 9) {
            unsigned char pong[200];
            size_t k = frame(pong, 10, (const char *)p + h, (size_t)len);
            if (write_all(c->fd, pong, k) < 0) return -1;
        } else if (op != 10) {
            return -1; /* a close, or the other data opcode */
        }
        off += h + (size_t)len;
    }
    memmove(c->in, c->in + off, c->n - off);
    c->n -= off;
    return texts;
}

/* Read what is there; -1 on EOF/error. */
static int pump(conn *c) {
    for (;;) {
        ssize_t r;
        if (c->n == sizeof c->in) return -1;
        r = recv(c->fd, c->in + c->n, sizeof c->in - c->n, 0);
        if (r > 0) {
            c->n += (size_t)r;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return 0;
        return -1;
    }
}

int main(int argc, char **argv) {
    int port, nconn, ep, i, fanout;
    long millis, roundtrips = 0, published = 0, delivered = 0, acked = 0;
    size_t size, flen;
    const char *path;
    char *payload;
    unsigned char *fr;
    conn *cs;
    double t0, tend, last = 0;
    struct epoll_event evs[256];
    if (argc < 7) {
        fprintf(stderr, "usage: ws_load echo|fanout PORT PATH CONNS MILLIS SIZE [text|binary|json]\n");
        return 2;
    }
    fanout = strcmp(argv[1], "fanout") == 0;
    port = atoi(argv[2]);
    path = argv[3];
    nconn = atoi(argv[4]);
    millis = atol(argv[5]);
    size = (size_t)atol(argv[6]);
    if (nconn <= 0 || size == 0 || size > 60000) return 2;
    if (argc > 7 && strcmp(argv[7], "binary") == 0) data_op = 2;
    else if (argc > 7 && strcmp(argv[7], "json") == 0 && size < 2) return 2;
    else if (argc > 7 && strcmp(argv[7], "json") != 0 && strcmp(argv[7], "text") != 0) return 2;
    payload = malloc(size);
    fr = malloc(size + 16);
    cs = calloc((size_t)nconn, sizeof *cs);
    if (!payload || !fr || !cs) return 1;
    for (i = 0; i < (int)size; i++) payload[i] = (char)('a' + i % 26);
    if (argc > 7 && strcmp(argv[7], "json") == 0) payload[0] = payload[size - 1] = '"';
    flen = frame(fr, data_op, payload, size);
    ep = epoll_create1(0);
    for (i = 0; i < nconn; i++) {
        struct epoll_event ev;
        cs[i].fd = open_ws(port, path);
        if (cs[i].fd < 0) {
            fprintf(stderr, "connection %d: handshake failed\n", i);
            return 1;
        }
        ev.events = EPOLLIN | EPOLLET;
        ev.data.u32 = (uint32_t)i;
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    if (fanout) usleep(200000); /* let the server put the last joiners in the room */
    for (i = 0; i < nconn; i++) fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
    t0 = now_s();
    tend = t0 + millis / 1000.0;
    if (fanout) {
        for (; published < WINDOW; published++)
            if (write_all(cs[0].fd, fr, flen) < 0) return 1;
    } else {
        for (i = 0; i < nconn; i++)
            if (write_all(cs[i].fd, fr, flen) < 0) return 1;
    }
    for (;;) {
        double t = now_s();
        int n, k;
        if (!fanout && t >= tend) break;
        if (fanout && t >= tend + 10) break; /* bounded wait for stragglers */
        if (fanout && t >= tend && delivered >= published * (long)nconn) break;
        n = epoll_wait(ep, evs, 256, 100);
        for (k = 0; k < n; k++) {
            conn *c = &cs[evs[k].data.u32];
            int got;
            if (pump(c) < 0) {
                g_errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            got = take(c, fanout ? NULL : payload, size);
            if (got < 0) {
                g_errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                continue;
            }
            if (!got) continue;
            c->got += got;
            last = now_s();
            if (!fanout) {
                roundtrips += got;
                if (last < tend && write_all(c->fd, fr, flen) < 0) g_errors++;
            } else {
                delivered += got;
                if (c == &cs[0]) {
                    acked += got;
                    while (last < tend && published < acked + WINDOW) {
                        if (write_all(cs[0].fd, fr, flen) < 0) {
                            g_errors++;
                            break;
                        }
                        published++;
                    }
                }
            }
        }
    }
    if (fanout)
        printf("published=%ld delivered=%ld seconds=%.4f errors=%ld\n", published, delivered, last - t0, g_errors);
    else
        printf("roundtrips=%ld seconds=%.4f errors=%ld\n", roundtrips, now_s() - t0, g_errors);
    for (i = 0; i < nconn; i++) close(cs[i].fd);
    free(cs);
    free(fr);
    free(payload);
    return 0;
}
