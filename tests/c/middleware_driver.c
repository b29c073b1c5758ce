/* Driver for tests/test_middleware_parity.py: one middleware decision per
 * input line, the result on one output line, so Python can compare with
 * Starlette's own middleware classes driven over ASGI.
 *
 * Fields are separated by one space:
 *   "-"            None / absent
 *   "x<hex>"       bytes ("x" alone = empty)
 *   "i<decimal>"   an integer
 *   "L<x..>,<x..>" a list of byte strings ("L" alone = empty list);
 *                  header lists alternate name, value
 * Commands (first field, plain word) and their answers:
 *   regex PAT ORIGIN...                     -> E msg | M i0/i1 per origin
 *   cors ORIGINS REGEX METHODS HEADERS EXPOSE CRED PN MAXAGE
 *        METHOD ORIGIN ACRM ACRH ACRPN RESPHEADERS
 *                                           -> E msg | P status body headers | S headers
 *   url SCOPE                               -> U url | R
 *   host ALLOWED NOWWW SCOPE                -> E msg | PASS | A status body headers | R
 *   https SCOPE                             -> PASS | A status body headers | R
 *     SCOPE = scheme host server_host server_port path query
 *   gzip MIN LEVEL EXCLUDE AE STATUS HEADERS TRAILERS CHUNKS
 *        (each chunk is a body message, the last one with more_body=False)
 *                                           -> E msg | G pass headers bodies
 *   sign SECRET JSON NOW                    -> C cookie
 *   load SECRET NAME MAXAGE COOKIEHDR NOW   -> J rc json
 *   commit SECRET NAME MAXAGE PATH SAMESITE HTTPS DOMAIN PART FLAGS JSON NOW HEADERS
 *                                           -> H headers
 * Built with -DFR_ENABLE_ZLIB=1 -lz. */
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct field {
    int kind; /* '-', 'x', 'i', 'L' */
    fr_str s;
    long long i;
    fr_str *items;
    size_t n;
} field;

static fr_arena A;
static const fr_str empty_list[1] = {{"", 0}};

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static fr_str unhex(const char *p, size_t n) {
    fr_str r;
    char *d = (char *)fr_arena_alloc(&A, n / 2 + 1);
    size_t i;
    if (!d) abort();
    for (i = 0; i + 1 < n; i += 2) d[i / 2] = (char)(hexval(p[i]) * 16 + hexval(p[i + 1]));
    r.buf = d;
    r.len = n / 2;
    return r;
}

static void parse(char *tok, field *f) {
    size_t n = strlen(tok);
    memset(f, 0, sizeof *f);
    f->kind = tok[0];
    if (tok[0] == 'x') {
        f->s = unhex(tok + 1, n - 1);
    } else if (tok[0] == 'i') {
        f->i = strtoll(tok + 1, NULL, 10);
    } else if (tok[0] == 'L') {
        size_t cnt = n > 1 ? 1 : 0, k;
        char *p = tok + 1;
        for (k = 1; k < n; k++)
            if (tok[k] == ',') cnt++;
        f->items = (fr_str *)fr_arena_alloc(&A, (cnt + 1) * sizeof *f->items);
        while (f->n < cnt) {
            char *e = strchr(p, ',');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            f->items[f->n++] = unhex(p + 1, len - 1);
            p = e ? e + 1 : p + len;
        }
    }
}

static void put_bytes(const char *p, size_t n) {
    size_t i;
    putchar('x');
    for (i = 0; i < n; i++) printf("%02x", (unsigned char)p[i]);
}

static void put_str(fr_str s) {
    if (!s.buf) {
        fputs("-", stdout);
        return;
    }
    put_bytes(s.buf, s.len);
}

static void put_headers(const fr_hlist *h) {
    size_t i;
    putchar('L');
    for (i = 0; i < h->len; i++) {
        if (i) putchar(',');
        put_str(h->items[i].name);
        putchar(',');
        put_str(h->items[i].value);
    }
}

static void put_err(const char *msg) {
    fputs("E ", stdout);
    put_bytes(msg, strlen(msg));
}

static fr_str opt(const field *f) {
    fr_str none = {NULL, 0};
    return f->kind == 'x' ? f->s : none;
}

static void headers_from(fr_hlist *h, const field *f) {
    size_t i;
    fr_hlist_init(h, &A);
    for (i = 0; i + 1 < f->n; i += 2) fr_hlist_append(h, f->items[i], f->items[i + 1]);
}

static void scope_from(fr_mw_scope *sc, field *f) {
    sc->scheme = f[0].s;
    sc->host = opt(&f[1]);
    sc->server_host = opt(&f[2]);
    sc->server_port = (int)f[3].i;
    sc->path = f[4].s;
    sc->query = f[5].s;
}

static void put_answer(int rc, const fr_mw_answer *a) {
    if (rc == FR_MW_RAISES) fputs("R", stdout);
    else if (rc < 0) put_err("error");
    else if (rc == 0) fputs("PASS", stdout);
    else {
        printf("A i%d ", a->status);
        put_str(a->body);
        putchar(' ');
        put_headers(&a->headers);
    }
}

static void cmd_regex(field *f, int nf) {
    fr_cors_config cfg;
    fr_err err = {0, NULL, 0};
    fr_cors *c;
    int i;
    memset(&cfg, 0, sizeof cfg);
    cfg.allow_origin_regex = f[0].s;
    c = fr_cors_new(&cfg, &err);
    if (!c) {
        put_err(err.msg);
        return;
    }
    fputs("M", stdout);
    for (i = 1; i < nf; i++) printf(" i%d", fr_cors_origin_allowed(c, f[i].s));
    fr_cors_free(c);
}

static void cmd_cors(field *f) {
    fr_cors_config cfg;
    fr_err err = {0, NULL, 0};
    fr_cors *c;
    fr_str origin = opt(&f[9]);
    memset(&cfg, 0, sizeof cfg);
    if (f[0].kind == 'L') cfg.allow_origins = f[0].items, cfg.num_allow_origins = f[0].n;
    cfg.allow_origin_regex = opt(&f[1]);
    if (f[2].kind == 'L') cfg.allow_methods = f[2].n ? f[2].items : empty_list,
        cfg.num_allow_methods = f[2].n;
    cfg.allow_headers = f[3].items, cfg.num_allow_headers = f[3].n;
    cfg.expose_headers = f[4].items, cfg.num_expose_headers = f[4].n;
    cfg.allow_credentials = (int)f[5].i;
    cfg.allow_private_network = (int)f[6].i;
    cfg.max_age = opt(&f[7]);
    c = fr_cors_new(&cfg, &err);
    if (!c) {
        put_err(err.msg);
        return;
    }
    if (fr_cors_classify(f[8].s, origin, f[10].kind == 'x') == FR_CORS_PREFLIGHT) {
        fr_mw_answer a;
        if (fr_cors_preflight(c, origin, f[10].s, opt(&f[11]), opt(&f[12]), &A, &a) < 0) {
            put_err("preflight failed");
        } else {
            printf("P i%d ", a.status);
            put_str(a.body);
            putchar(' ');
            put_headers(&a.headers);
        }
    } else {
        fr_hlist h;
        headers_from(&h, &f[13]);
        if (fr_cors_simple(c, origin, &h) < 0) put_err("simple failed");
        else fputs("S ", stdout), put_headers(&h);
    }
    fr_cors_free(c);
}

static void cmd_url(field *f) {
    fr_mw_scope sc;
    fr_buf b = {NULL, 0, 0};
    int rc;
    scope_from(&sc, f);
    rc = fr_mw_url(&sc, &b);
    if (rc == FR_MW_RAISES) fputs("R", stdout);
    else if (rc < 0) put_err("error");
    else fputs("U ", stdout), put_bytes(b.buf ? b.buf : "", b.len);
    fr_buf_free(&b);
}

static void cmd_host(field *f) {
    fr_trusted_host_config cfg;
    fr_err err = {0, NULL, 0};
    fr_trusted_host *t;
    fr_mw_scope sc;
    fr_mw_answer a;
    memset(&cfg, 0, sizeof cfg);
    if (f[0].kind == 'L')
        cfg.allowed_hosts = f[0].n ? f[0].items : empty_list, cfg.num_allowed_hosts = f[0].n;
    cfg.no_www_redirect = (int)f[1].i;
    t = fr_trusted_host_new(&cfg, &err);
    if (!t) {
        put_err(err.msg);
        return;
    }
    scope_from(&sc, f + 2);
    put_answer(fr_trusted_host_check(t, &sc, &A, &a), &a);
    fr_trusted_host_free(t);
}

static void cmd_https(field *f) {
    fr_mw_scope sc;
    fr_mw_answer a;
    scope_from(&sc, f);
    put_answer(fr_https_redirect(&sc, &A, &a), &a);
}

static void cmd_gzip(field *f) {
    fr_gzip_config cfg;
    fr_err err = {0, NULL, 0};
    fr_gzip *g;
    fr_gzip_stream st;
    fr_hlist h;
    fr_buf out = {NULL, 0, 0};
    size_t i;
    int pass;
    memset(&cfg, 0, sizeof cfg);
    cfg.minimum_size = f[0].i == 0 ? -1 : f[0].i;
    cfg.compresslevel = f[1].i == 0 ? FR_GZIP_LEVEL_0 : (int)f[1].i;
    if (f[2].kind == 'L')
        cfg.exclude_content_types = f[2].n ? f[2].items : empty_list,
        cfg.num_exclude_content_types = f[2].n;
    g = fr_gzip_new(&cfg, &err);
    if (!g) {
        put_err(err.msg);
        return;
    }
    headers_from(&h, &f[5]);
    pass = fr_gzip_start(&st, g, fr_gzip_accepts(opt(&f[3])), (int)f[4].i, &h);
    printf("G i%d ", pass);
    {
        /* bodies: the message bodies as sent, in order */
        fr_str *sent = (fr_str *)fr_arena_alloc(&A, (f[7].n + 1) * sizeof *sent);
        for (i = 0; i < f[7].n; i++) {
            int rc;
            out.len = 0;
            rc = fr_gzip_body(&st, &h, f[7].items[i].buf, f[7].items[i].len, i + 1 < f[7].n,
                              (int)f[6].i, &out);
            if (rc < 0) {
                put_err("body failed");
                fr_gzip_stream_end(&st);
                fr_gzip_free(g);
                fr_buf_free(&out);
                return;
            }
            sent[i] = rc ? unhex("", 0) : f[7].items[i];
            if (rc) {
                char *d = (char *)fr_arena_alloc(&A, out.len + 1);
                if (out.len) memcpy(d, out.buf, out.len);
                sent[i].buf = d;
                sent[i].len = out.len;
            }
        }
        put_headers(&h);
        fputs(" L", stdout);
        for (i = 0; i < f[7].n; i++) {
            if (i) putchar(',');
            put_str(sent[i]);
        }
    }
    fr_gzip_stream_end(&st);
    fr_gzip_free(g);
    fr_buf_free(&out);
}

static fr_session *session_from(field *f, int nf) {
    fr_session_config cfg;
    fr_err err = {0, NULL, 0};
    fr_session *s;
    memset(&cfg, 0, sizeof cfg);
    cfg.secret_key = f[0].s;
    if (nf > 1) cfg.session_cookie = opt(&f[1]);
    if (nf > 2) {
        if (f[2].kind == '-') cfg.max_age = FR_SESSION_NO_MAX_AGE;
        else cfg.max_age = f[2].i == 0 ? FR_SESSION_MAX_AGE_ZERO : f[2].i;
    }
    if (nf > 3) {
        cfg.path = opt(&f[3]);
        cfg.same_site = opt(&f[4]);
        cfg.https_only = (int)f[5].i;
        cfg.domain = opt(&f[6]);
        cfg.partitioned = (int)f[7].i;
    }
    s = fr_session_new(&cfg, &err);
    if (!s) put_err(err.msg);
    return s;
}

static void cmd_sign(field *f) {
    fr_session *s = session_from(f, 1);
    fr_buf b = {NULL, 0, 0};
    if (!s) return;
    if (fr_session_sign(s, f[1].s, f[2].i, &b) < 0) put_err("sign failed");
    else fputs("C ", stdout), put_bytes(b.buf, b.len);
    fr_buf_free(&b);
    fr_session_free(s);
}

static void cmd_load(field *f) {
    fr_session *s = session_from(f, 3);
    fr_str json;
    int rc;
    if (!s) return;
    rc = fr_session_load(s, opt(&f[3]), f[4].i, &A, &json);
    printf("J i%d ", rc);
    put_str(json);
    fr_session_free(s);
}

static void cmd_commit(field *f) {
    fr_session *s = session_from(f, 8);
    fr_hlist h;
    if (!s) return;
    headers_from(&h, &f[11]);
    if (fr_session_commit(s, &h, (int)f[8].i, f[9].s, f[10].i) < 0) put_err("commit failed");
    else fputs("H ", stdout), put_headers(&h);
    fr_session_free(s);
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    fr_arena_init(&A, NULL);
    while ((got = getline(&line, &cap, stdin)) > 0) {
        char *tok[512], *save = NULL, *t;
        static field f[512];
        int n = 0, i;
        if (line[got - 1] == '\n') line[got - 1] = 0;
        for (t = strtok_r(line, " ", &save); t && n < 512; t = strtok_r(NULL, " ", &save))
            tok[n++] = t;
        if (!n) continue;
        for (i = 1; i < n; i++) parse(tok[i], &f[i - 1]);
        if (!strcmp(tok[0], "regex")) cmd_regex(f, n - 1);
        else if (!strcmp(tok[0], "cors")) cmd_cors(f);
        else if (!strcmp(tok[0], "url")) cmd_url(f);
        else if (!strcmp(tok[0], "host")) cmd_host(f);
        else if (!strcmp(tok[0], "https")) cmd_https(f);
        else if (!strcmp(tok[0], "gzip")) cmd_gzip(f);
        else if (!strcmp(tok[0], "sign")) cmd_sign(f);
        else if (!strcmp(tok[0], "load")) cmd_load(f);
        else if (!strcmp(tok[0], "commit")) cmd_commit(f);
        else put_err("unknown command");
        putchar('\n');
        fflush(stdout);
        fr_arena_reset(&A);
    }
    free(line);
    fr_arena_free(&A);
    return 0;
}
