/* ---- tls.c: OpenSSL 3 under the server's connections (FR_ENABLE_OPENSSL) ----
 *
 * server.c calls these from its I/O indirection (fr__io_* and the TLS
 * branches at its read/write call sites); plain connections never come
 * here. Sockets go through a small BIO of our own so writes use
 * send(MSG_NOSIGNAL): a peer that went away must not raise SIGPIPE in a
 * host that did not ignore it (OpenSSL's socket BIO uses write(2)).
 * Every SSL call starts with an empty error queue (SSL_get_error needs it)
 * and leaves it empty (the queue is per thread, shared with the host). */
#include "internal.h"

#if FR_ENABLE_OPENSSL

#include <pthread.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/x509.h>

#if !defined(OPENSSL_VERSION_NUMBER) || OPENSSL_VERSION_NUMBER < 0x30000000L
#error "FR_ENABLE_OPENSSL needs OpenSSL 3"
#endif

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* macOS: the engine sets SO_NOSIGPIPE on every socket */
#endif

struct fr__tls_ctx {
    pthread_mutex_t mu;
    SSL_CTX *ctx; /* the current one; each SSL holds its own reference */
    fr_tls_opts o; /* its strings are copies, owned here */
};

struct fr__tls_conn {
    SSL *ssl;
    int fd;
    unsigned ready : 1, failed : 1, peeked : 1;
    unsigned rd_ww : 1; /* the last read waits for writability */
    unsigned wr_wr : 1; /* the last write waits for readability */
};

/* ---- the socket BIO ---- */

static BIO_METHOD *fr__tls_bio_meth;
static pthread_once_t fr__tls_bio_once = PTHREAD_ONCE_INIT;

static int fr__tls_bio_fd(BIO *b) { return (int)(intptr_t)BIO_get_data(b); }

static int fr__tls_bio_write(BIO *b, const char *data, int len) {
    ssize_t n;
    BIO_clear_retry_flags(b);
    do n = send(fr__tls_bio_fd(b), data, (size_t)len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
    return (int)n;
}

static int fr__tls_bio_read(BIO *b, char *data, int len) {
    ssize_t n;
    BIO_clear_retry_flags(b);
    do n = recv(fr__tls_bio_fd(b), data, (size_t)len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
    return (int)n;
}

static long fr__tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0; /* unbuffered: nothing else applies */
}

static int fr__tls_bio_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static void fr__tls_bio_init(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fastrapi socket");
    if (!m) return;
    BIO_meth_set_write(m, fr__tls_bio_write);
    BIO_meth_set_read(m, fr__tls_bio_read);
    BIO_meth_set_ctrl(m, fr__tls_bio_ctrl);
    BIO_meth_set_create(m, fr__tls_bio_create);
    fr__tls_bio_meth = m;
}

/* ---- contexts ---- */

static char *fr__tls_strdup(const char *s) {
    size_t n;
    char *d;
    if (!s) return NULL;
    n = strlen(s) + 1;
    d = (char *)FR_MALLOC(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ALPN: http/1.1 when offered; otherwise no ALPN answer (HTTP/1.1 anyway). */
static int fr__tls_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                        const unsigned char *in, unsigned int inlen, void *arg) {
    static const unsigned char proto[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char *sel = NULL;
    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto(&sel, outlen, proto, sizeof proto, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* An encrypted key's passphrase: fr_tls_opts.key_password, never a prompt
 * (OpenSSL's default callback would read the terminal). */
static int fr__tls_password(char *buf, int size, int rwflag, void *ud) {
    const char *pw = (const char *)ud;
    size_t n;
    (void)rwflag;
    if (!pw || size <= 0) return 0;
    n = strlen(pw);
    if (n > (size_t)size) return 0;
    memcpy(buf, pw, n);
    return (int)n;
}

/* The first OpenSSL error as text ("what: reason"), queue emptied. */
static void fr__tls_err(char *err, size_t cap, const char *what, const char *path) {
    unsigned long e = ERR_peek_last_error();
    char buf[256];
    buf[0] = 0;
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    if (err && cap) snprintf(err, cap, "TLS: %s %s: %s", what, path ? path : "", buf[0] ? buf : "error");
    ERR_clear_error();
}

/* The client-certificate settings of o on ctx. 0, or -1 with err. */
static int fr__tls_verify(SSL_CTX *ctx, const fr_tls_opts *o, char *err, size_t cap) {
    static const unsigned char sid[] = "fastrapi";
    if (o->ca_certs && SSL_CTX_load_verify_locations(ctx, o->ca_certs, NULL) != 1) {
        fr__tls_err(err, cap, "cannot load CA certificates", o->ca_certs);
        return -1;
    }
    if (o->cert_reqs) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(o->ca_certs);
        if (names) SSL_CTX_set_client_CA_list(ctx, names); /* the CAs the client may pick from */
        ERR_clear_error();
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | (o->cert_reqs == 2 ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                           NULL);
        /* sessions resumed under verification need a context id */
        SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    }
    return 0;
}

static SSL_CTX *fr__tls_build(const fr_tls_opts *o, char *err, size_t cap) {
    SSL_CTX *ctx;
    ERR_clear_error();
    pthread_once(&fr__tls_bio_once, fr__tls_bio_init);
    if (!fr__tls_bio_meth) {
        fr__tls_err(err, cap, "cannot create the socket BIO", NULL);
        return NULL;
    }
    ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        fr__tls_err(err, cap, "SSL_CTX_new", NULL);
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, o->min_version ? o->min_version : TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, o->max_version) != 1) { /* 0: the highest */
        fr__tls_err(err, cap, "cannot set the TLS versions", NULL);
        goto fail;
    }
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* partial writes: SSL_write returns after each record the socket took;
     * the engine's output buffer may move between a retry and the next */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_default_passwd_cb(ctx, fr__tls_password);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)o->key_password);
    if (o->ciphers && SSL_CTX_set_cipher_list(ctx, o->ciphers) != 1) {
        fr__tls_err(err, cap, "no cipher matches", o->ciphers);
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
        fr__tls_err(err, cap, "cannot load certificate", o->cert_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o->key_file, SSL_FILETYPE_PEM) != 1) {
        int mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        fr__tls_err(err, cap,
                    mismatch ? "private key does not match the certificate"
                    : o->key_password ? "cannot load private key (or wrong key_password)"
                                      : "cannot load private key (encrypted? then key_password)",
                    o->key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        fr__tls_err(err, cap, "private key does not match the certificate", o->key_file);
        goto fail;
    }
    if (fr__tls_verify(ctx, o, err, cap) < 0) goto fail;
    /* the passphrase is not kept in the context (reload passes it again) */
    SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    SSL_CTX_set_alpn_select_cb(ctx, fr__tls_alpn, NULL);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static void fr__tls_opts_free(fr_tls_opts *o) {
    FR_FREE((void *)o->cert_file);
    FR_FREE((void *)o->key_file);
    if (o->key_password) OPENSSL_cleanse((void *)o->key_password, strlen(o->key_password));
    FR_FREE((void *)o->key_password);
    FR_FREE((void *)o->ca_certs);
    FR_FREE((void *)o->ciphers);
}

static int fr__tls_version_ok(int v) { return v == 0 || (v >= TLS1_VERSION && v <= TLS1_3_VERSION); }

fr__tls_ctx *fr__tls_ctx_new(const fr_tls_opts *o, char *err, size_t cap) {
    fr__tls_ctx *t;
    int oom;
    if (!o || !o->cert_file) {
        if (err && cap) snprintf(err, cap, "TLS: a certificate file is needed");
        return NULL;
    }
    if (o->cert_reqs < 0 || o->cert_reqs > 2 || (o->cert_reqs && !o->ca_certs)) {
        if (err && cap)
            snprintf(err, cap, "TLS: cert_reqs is 0, 1 or 2, and client certificates (1, 2) need ca_certs");
        return NULL;
    }
    if (!fr__tls_version_ok(o->min_version) || !fr__tls_version_ok(o->max_version) ||
        (o->min_version && o->max_version && o->min_version > o->max_version)) {
        if (err && cap)
            snprintf(err, cap, "TLS: min_version and max_version are 0 or 0x0301 (TLS 1.0) to 0x0304 "
                               "(TLS 1.3), min_version not above max_version");
        return NULL;
    }
    t = (fr__tls_ctx *)FR_MALLOC(sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->o.cert_file = fr__tls_strdup(o->cert_file);
    t->o.key_file = fr__tls_strdup(o->key_file ? o->key_file : o->cert_file);
    t->o.key_password = fr__tls_strdup(o->key_password);
    t->o.ca_certs = fr__tls_strdup(o->ca_certs);
    t->o.ciphers = fr__tls_strdup(o->ciphers);
    t->o.cert_reqs = o->cert_reqs;
    t->o.min_version = o->min_version;
    t->o.max_version = o->max_version;
    oom = !t->o.cert_file || !t->o.key_file || (o->key_password && !t->o.key_password) ||
          (o->ca_certs && !t->o.ca_certs) || (o->ciphers && !t->o.ciphers);
    if (oom || pthread_mutex_init(&t->mu, NULL) != 0) {
        fr__tls_opts_free(&t->o);
        FR_FREE(t);
        if (err && cap) snprintf(err, cap, "TLS: out of memory");
        return NULL;
    }
    t->ctx = fr__tls_build(&t->o, err, cap);
    if (!t->ctx) {
        fr__tls_ctx_free(t);
        return NULL;
    }
    return t;
}

int fr__tls_ctx_reload(fr__tls_ctx *t, char *err, size_t cap) {
    SSL_CTX *n = fr__tls_build(&t->o, err, cap), *old;
    if (!n) return -1;
    pthread_mutex_lock(&t->mu);
    old = t->ctx;
    t->ctx = n;
    pthread_mutex_unlock(&t->mu);
    SSL_CTX_free(old); /* connections made with it hold their own reference */
    return 0;
}

void fr__tls_ctx_free(fr__tls_ctx *t) {
    if (!t) return;
    if (t->ctx) SSL_CTX_free(t->ctx);
    pthread_mutex_destroy(&t->mu);
    fr__tls_opts_free(&t->o);
    FR_FREE(t);
}

/* ---- connections ---- */

fr__tls_conn *fr__tls_conn_new(fr__tls_ctx *t, int fd) {
    fr__tls_conn *c = (fr__tls_conn *)FR_MALLOC(sizeof *c);
    BIO *bio;
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    c->fd = fd;
    ERR_clear_error();
    pthread_mutex_lock(&t->mu);
    c->ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->mu);
    bio = c->ssl ? BIO_new(fr__tls_bio_meth) : NULL;
    if (!bio) {
        if (c->ssl) SSL_free(c->ssl);
        FR_FREE(c);
        ERR_clear_error();
        return NULL;
    }
    BIO_set_data(bio, (void *)(intptr_t)fd);
    SSL_set_bio(c->ssl, bio, bio); /* the SSL owns the BIO */
    SSL_set_accept_state(c->ssl);
    return c;
}

/* SSL_ERROR_* of a failed read (what = FR__TLS_READ_WANTS_WRITE) or write
 * (FR__TLS_WRITE_WANTS_READ) -> the read(2)-like answer. */
static ssize_t fr__tls_fail(fr__tls_conn *c, int r, int what) {
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        if (e == SSL_ERROR_WANT_WRITE && what == FR__TLS_READ_WANTS_WRITE) c->rd_ww = 1;
        if (e == SSL_ERROR_WANT_READ && what == FR__TLS_WRITE_WANTS_READ) c->wr_wr = 1;
        errno = EAGAIN;
        return -1;
    }
    ERR_clear_error();
    if (e == SSL_ERROR_ZERO_RETURN) return 0; /* close_notify */
    c->failed = 1;
    errno = ECONNRESET;
    return -1;
}

int fr__tls_handshake(fr__tls_conn *c) {
    int r;
    if (c->ready) return 1;
    if (c->failed) return -1;
    if (!c->peeked) {
        /* a TLS client starts with a handshake record (0x16); a request
         * line starts with a method's capital letter */
        unsigned char b;
        ssize_t n;
        do n = recv(c->fd, &b, 1, MSG_PEEK);
        while (n < 0 && errno == EINTR);
        if (n == 0) return -1;
        if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        c->peeked = 1;
        if (b >= 'A' && b <= 'Z') {
            c->failed = 1;
            return -2;
        }
    }
    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->ready = 1;
        return 1;
    }
    r = SSL_get_error(c->ssl, r);
    if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE) return 0;
    ERR_clear_error();
    c->failed = 1;
    return -1;
}

ssize_t fr__tls_read(fr__tls_conn *c, void *buf, size_t n) {
    size_t got = 0;
    int r;
    c->rd_ww = 0;
    if (c->failed) {
        errno = ECONNRESET;
        return -1;
    }
    ERR_clear_error();
    r = SSL_read_ex(c->ssl, buf, n, &got);
    if (r == 1) return (ssize_t)got;
    return fr__tls_fail(c, r, FR__TLS_READ_WANTS_WRITE);
}

ssize_t fr__tls_write(fr__tls_conn *c, const void *buf, size_t n) {
    size_t put = 0;
    int r;
    c->wr_wr = 0;
    if (c->failed) {
        errno = EPIPE;
        return -1;
    }
    if (n == 0) return 0;
    ERR_clear_error();
    r = SSL_write_ex(c->ssl, buf, n, &put);
    if (r == 1) return (ssize_t)put;
    r = (int)fr__tls_fail(c, r, FR__TLS_WRITE_WANTS_READ);
    if (r == 0) { /* close_notify received while writing: the peer is gone */
        c->failed = 1;
        errno = EPIPE;
    }
    return -1;
}

int fr__tls_wants(const fr__tls_conn *c, int what) {
    return what == FR__TLS_READ_WANTS_WRITE ? c->rd_ww : c->wr_wr;
}

int fr__tls_pending(const fr__tls_conn *c) { return SSL_has_pending(c->ssl); }

void fr__tls_close_notify(fr__tls_conn *c) {
    if (!c->ready || c->failed) return;
    ERR_clear_error();
    (void)SSL_shutdown(c->ssl); /* sends close_notify; the answer is not awaited */
    ERR_clear_error();
}

void fr__tls_conn_free(fr__tls_conn *c) {
    if (!c) return;
    SSL_free(c->ssl);
    FR_FREE(c);
}

#endif /* FR_ENABLE_OPENSSL */

int fr_tls_available(void) { return FR_ENABLE_OPENSSL ? 1 : 0; }
