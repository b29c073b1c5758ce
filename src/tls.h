/* ---- tls.h: HTTPS listeners (optional: FR_ENABLE_OPENSSL, OpenSSL 3) ----
 *
 * Build with -DFR_ENABLE_OPENSSL=1 and link -lssl -lcrypto (Debian:
 * libssl-dev). Without it the header has no TLS dependency and these calls
 * fail with an error in fr_app_last_error.
 *
 *   fr_app *app = fr_app_new(NULL);
 *   fr_route(app, "GET", "/", hello, NULL);
 *   fr_listen_tls(app, "0.0.0.0", 8443, "cert.pem", "key.pem");
 *   fr_serve(app);
 *
 * What a TLS listener does:
 *  - TLS 1.2 and 1.3 (fr_tls_opts may name other versions; OpenSSL's
 *    default ciphers unless it names others; client certificates when
 *    asked for), ALPN "http/1.1"
 *    (a client that offers only other protocols gets no ALPN answer and
 *    speaks HTTP/1.1 anyway). No renegotiation.
 *  - Handshakes are non-blocking and driven by the event loop; one must
 *    finish within cfg.header_timeout_ms or the connection is closed.
 *    A failed handshake closes the connection (after discarding what the
 *    client sent, so it sees a FIN, not a reset). A plain HTTP request on
 *    the TLS port is answered with a plain-text 400 and closed.
 *  - Requests, responses, streams, file bodies (read + encrypted: no
 *    sendfile) and WebSockets work as on a plain listener; fr_req_scheme
 *    says "https" (unless a trusted proxy says otherwise).
 *  - A response on a closing connection ends with a TLS close_notify.
 */

/* Bind + listen with TLS, like fr_listen. cert_file: PEM certificate chain
 * (leaf first); key_file: its PEM private key (unencrypted). The paths are
 * copied and read again by fr_tls_reload. Returns the bound port or -1
 * (bad files, key not matching the certificate, bind error, built without
 * FR_ENABLE_OPENSSL: see fr_app_last_error). Not while serving. */
FR_API int fr_listen_tls(fr_app *app, const char *host, int port, const char *cert_file,
                         const char *key_file);

/* fr_listen_fd with TLS: serve TLS on an inherited listening socket (the
 * Python face's workers share one). Same files and errors as
 * fr_listen_tls; on -1 the fd is left open. */
FR_API int fr_listen_fd_tls(fr_app *app, int fd, const char *cert_file, const char *key_file);

/* A TLS listener's settings (uvicorn's --ssl-* options). Strings are
 * copied; the files are read again by fr_tls_reload. */
typedef struct fr_tls_opts {
    const char *cert_file;    /* PEM certificate chain, leaf first (required) */
    const char *key_file;     /* its PEM private key; NULL = in cert_file */
    const char *key_password; /* an encrypted key's passphrase; NULL = none
                                 (an encrypted key then fails to load: there
                                 is never a prompt on the terminal) */
    const char *ca_certs;     /* PEM CA bundle that client certificates are
                                 verified against; NULL = none */
    int cert_reqs;            /* client certificates, as Python's ssl.CERT_*:
                                 0 not asked for, 1 optional (verified when
                                 sent), 2 required; 1 and 2 need ca_certs.
                                 A certificate that fails verification, or
                                 none under 2, fails the handshake */
    const char *ciphers;      /* OpenSSL cipher list for TLS 1.2 (uvicorn's
                                 default is "TLSv1"); NULL = OpenSSL's
                                 default. TLS 1.3 suites are OpenSSL's */
    int min_version;          /* the lowest and highest TLS versions taken,  */
    int max_version;          /* as on the wire: 0x0301 TLS 1.0 ... 0x0304
                                 TLS 1.3; 0 = the default (TLS 1.2 lowest,
                                 TLS 1.3 highest). OpenSSL's security level
                                 may still refuse TLS 1.0 and 1.1 handshakes */
} fr_tls_opts;

/* fr_listen_tls / fr_listen_fd_tls with every setting. Returns as they do;
 * a cipher list that names no cipher, cert_reqs without ca_certs, an
 * unreadable CA file, a wrong key_password or versions out of range (or
 * min above max) fail here, with the reason in fr_app_last_error. */
FR_API int fr_listen_tls_ex(fr_app *app, const char *host, int port, const fr_tls_opts *opts);
FR_API int fr_listen_fd_tls_ex(fr_app *app, int fd, const fr_tls_opts *opts);

/* Re-read every TLS listener's certificate and key files (certificate
 * rotation without restart). New connections get the new certificate;
 * connections already open keep theirs. Thread-safe, also while serving
 * (not async-signal-safe: from a signal handler, wake a thread that calls
 * it). 0, or -1 if any listener's files fail to load (that listener keeps
 * its current certificate; fr_app_last_error says why) or TLS is not built
 * in. An app without TLS listeners returns 0. */
FR_API int fr_tls_reload(fr_app *app);

/* 1 when built with FR_ENABLE_OPENSSL, else 0. */
FR_API int fr_tls_available(void);
