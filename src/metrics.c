/* ---- metrics.c: Prometheus request metrics (see metrics.h) ---- */
#include "internal.h"

static const double FR__METRICS_DEFAULT_BUCKETS[] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                     0.5,   0.75, 1.0,   2.5,  5.0,   7.5, 10.0};
static const char *const FR__METRICS_METHODS[] = {"GET",   "HEAD",    "POST",  "PUT",    "DELETE",
                                                  "PATCH", "OPTIONS", "TRACE", "CONNECT", "OTHER"};
#define FR__METRICS_OTHER 9

/* One label set. Lives in the (possibly shared) table; only atomics and
 * fields written before `ready` is published. */
typedef struct fr__series {
    FR__ATOMIC(uint32_t) ready; /* 0 empty, 1 being written, 2 ready */
    uint32_t status, method, hlen;
    uint64_t hash;
    char handler[FR_METRICS_MAX_HANDLER];
    FR__ATOMIC(uint64_t) sum_ns;
    FR__ATOMIC(uint64_t) n[FR_METRICS_MAX_BUCKETS + 1]; /* per bucket, last = above all */
} fr__series;

typedef struct fr__metrics_shared {
    FR__ATOMIC(uint64_t) dropped;
    fr__series series[1]; /* nseries */
} fr__metrics_shared;

struct fr_metrics {
    fr__atomic_int refs;
    int local;
    size_t nseries, size; /* power of two; mapping size */
    double bounds[FR_METRICS_MAX_BUCKETS];
    size_t nbounds;
    char prefix[64];
    fr__metrics_shared *sh;
};

static int fr__metrics_err(fr_err *err, const char *msg) {
    if (err) {
        err->code = 1;
        err->msg = msg;
        err->pos = 0;
    }
    return -1;
}

static int fr__metrics_name_ok(const char *p) {
    size_t i, n = strlen(p);
    if (n == 0 || n > 40) return 0;
    for (i = 0; i < n; i++) {
        unsigned c = (unsigned char)p[i];
        int alpha = ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return 0;
    }
    return 1;
}

fr_metrics *fr_metrics_new(const fr_metrics_config *cfg, fr_err *err) {
    fr_metrics_config dflt;
    fr_metrics *m;
    const double *b;
    size_t nb, i, want, n = 1;
    memset(&dflt, 0, sizeof dflt);
    if (!cfg) cfg = &dflt;
    b = cfg->buckets ? cfg->buckets : FR__METRICS_DEFAULT_BUCKETS;
    nb = cfg->buckets ? cfg->num_buckets : FR__COUNTOF(FR__METRICS_DEFAULT_BUCKETS);
    if (nb == 0 || nb > FR_METRICS_MAX_BUCKETS) {
        fr__metrics_err(err, "metrics: 1 to FR_METRICS_MAX_BUCKETS buckets");
        return NULL;
    }
    for (i = 0; i < nb; i++)
        if (!(b[i] > 0) || b[i] > 1e9 || (i && !(b[i] > b[i - 1]))) {
            fr__metrics_err(err, "metrics: buckets must be positive, finite and increasing");
            return NULL;
        }
    if (cfg->prefix && !fr__metrics_name_ok(cfg->prefix)) {
        fr__metrics_err(err, "metrics: prefix must match [a-zA-Z_:][a-zA-Z0-9_:]* (<= 40)");
        return NULL;
    }
    want = cfg->max_series ? cfg->max_series : (size_t)FR_METRICS_MAX_SERIES;
    if (want > (1u << 20)) {
        fr__metrics_err(err, "metrics: max_series too large");
        return NULL;
    }
    while (n < want) n <<= 1;
    m = (fr_metrics *)FR_MALLOC(sizeof *m);
    if (!m) goto oom;
    memset((void *)m, 0, sizeof *m);
    m->local = cfg->process_local != 0;
    m->nseries = n;
    m->nbounds = nb;
    memcpy(m->bounds, b, nb * sizeof *b);
    snprintf(m->prefix, sizeof m->prefix, "%s", cfg->prefix ? cfg->prefix : "fastrapi");
    m->size = sizeof(fr__metrics_shared) + (n - 1) * sizeof(fr__series);
    m->sh = (fr__metrics_shared *)fr__shm_alloc(m->size, m->local);
    if (!m->sh) {
        FR_FREE(m);
        goto oom;
    }
    fr__atomic_init(&m->refs, 1);
    return m;
oom:
    fr__metrics_err(err, "metrics: out of memory");
    return NULL;
}

void fr_metrics_free(fr_metrics *m) {
    if (!m || fr__atomic_fetch_sub_explicit(&m->refs, 1, FR__ACQ_REL) != 1) return;
    fr__shm_free(m->sh, m->size, m->local);
    FR_FREE(m);
}

static int fr__metrics_method(fr_str method) {
    int i;
    for (i = 0; i < FR__METRICS_OTHER; i++)
        if (fr_str_eq_c(method, FR__METRICS_METHODS[i])) return i;
    return FR__METRICS_OTHER;
}

/* Find or claim the series; NULL when the table is full. */
static fr__series *fr__metrics_series(fr_metrics *m, const char *h, size_t hlen, uint32_t method,
                                      uint32_t status) {
    uint64_t hash = fr__hash64(((uint64_t)method << 40) ^ status, h, hlen);
    size_t mask = m->nseries - 1, i, idx = (size_t)hash & mask;
    for (i = 0; i < m->nseries; i++) {
        fr__series *s = &m->sh->series[(idx + i) & mask];
        uint32_t r = fr__atomic_load(&s->ready);
        int spins = 0;
        if (r == 0) {
            uint32_t expect = 0;
            if (fr__atomic_compare_exchange_weak(&s->ready, &expect, 1u)) {
                s->status = status;
                s->method = method;
                s->hlen = (uint32_t)hlen;
                s->hash = hash;
                memcpy(s->handler, h, hlen);
                fr__atomic_store(&s->ready, 2u); /* publishes the key */
                return s;
            }
            r = expect;
        }
        /* another thread (or process) is writing this key: wait briefly */
        while (r == 1 && spins++ < 100000) r = fr__atomic_load(&s->ready);
        if (r == 0) { /* a spurious CAS failure: look at this slot again */
            i--;
            continue;
        }
        if (r == 2 && s->hash == hash && s->status == status && s->method == method &&
            s->hlen == hlen && memcmp(s->handler, h, hlen) == 0)
            return s;
    }
    return NULL;
}

int fr_metrics_observe(fr_metrics *m, fr_str handler, fr_str method, int status, double seconds) {
    char cut[FR_METRICS_MAX_HANDLER];
    const char *h = handler.buf ? handler.buf : "";
    size_t hlen = handler.buf ? handler.len : 0, b;
    fr__series *s;
    uint64_t ns;
    if (!m || status < 100 || status > 999) return -1;
    if (hlen == 0) {
        h = "none";
        hlen = 4;
    } else if (hlen > FR_METRICS_MAX_HANDLER) {
        memcpy(cut, h, FR_METRICS_MAX_HANDLER - 3);
        memcpy(cut + FR_METRICS_MAX_HANDLER - 3, "...", 3);
        h = cut;
        hlen = FR_METRICS_MAX_HANDLER;
    }
    s = fr__metrics_series(m, h, hlen, (uint32_t)fr__metrics_method(method), (uint32_t)status);
    if (!s) {
        fr__atomic_fetch_add(&m->sh->dropped, (uint64_t)1);
        return -1;
    }
    if (!(seconds > 0)) seconds = 0; /* also NaN */
    for (b = 0; b < m->nbounds && seconds > m->bounds[b]; b++) {
    }
    ns = seconds > 1.8e10 ? UINT64_MAX / 2 : (uint64_t)(seconds * 1e9);
    fr__atomic_fetch_add(&s->sum_ns, ns);
    fr__atomic_fetch_add(&s->n[b], (uint64_t)1);
    return 0;
}

size_t fr_metrics_series(const fr_metrics *m) {
    size_t i, n = 0;
    if (!m) return 0;
    for (i = 0; i < m->nseries; i++)
        if (fr__atomic_load(&m->sh->series[i].ready) == 2) n++;
    return n;
}

/* handler="..",method="..",status=".." */
static int fr__metrics_labels(fr_buf *out, const fr__series *s) {
    size_t i;
    int rc = fr_buf_append_str(out, "handler=\"");
    for (i = 0; rc == 0 && i < s->hlen; i++) {
        char c = s->handler[i];
        if (c == '\\') rc = fr_buf_append_str(out, "\\\\");
        else if (c == '"') rc = fr_buf_append_str(out, "\\\"");
        else if (c == '\n') rc = fr_buf_append_str(out, "\\n");
        else rc = fr_buf_append_char(out, c);
    }
    if (rc == 0)
        rc = fr_buf_printf(out, "\",method=\"%s\",status=\"%u\"", FR__METRICS_METHODS[s->method],
                           (unsigned)s->status);
    return rc;
}

static int fr__metrics_series_text(const fr_metrics *m, const fr__series *s, fr_buf *out,
                                   int histogram) {
    uint64_t counts[FR_METRICS_MAX_BUCKETS + 1], total = 0, acc = 0;
    size_t b;
    int rc = 0;
    for (b = 0; b <= m->nbounds; b++) {
        counts[b] = fr__atomic_load((FR__ATOMIC(uint64_t) *)(uintptr_t)&s->n[b]);
        total += counts[b];
    }
    if (!histogram) {
        rc |= fr_buf_printf(out, "%s_requests_total{", m->prefix);
        rc |= fr__metrics_labels(out, s);
        return rc | fr_buf_printf(out, "} %llu\n", (unsigned long long)total);
    }
    for (b = 0; b <= m->nbounds; b++) {
        acc += counts[b];
        rc |= fr_buf_printf(out, "%s_request_duration_seconds_bucket{", m->prefix);
        rc |= fr__metrics_labels(out, s);
        if (b < m->nbounds) {
            char le[40];
            snprintf(le, sizeof le, "%.15g", m->bounds[b]);
            if (!strpbrk(le, ".e")) strcat(le, ".0"); /* prometheus_client's "1.0" */
            rc |= fr_buf_printf(out, ",le=\"%s\"} %llu\n", le, (unsigned long long)acc);
        } else {
            rc |= fr_buf_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)acc);
        }
    }
    rc |= fr_buf_printf(out, "%s_request_duration_seconds_sum{", m->prefix);
    rc |= fr__metrics_labels(out, s);
    rc |= fr_buf_printf(out, "} %.9f\n",
                        (double)fr__atomic_load((FR__ATOMIC(uint64_t) *)(uintptr_t)&s->sum_ns) /
                            1e9);
    rc |= fr_buf_printf(out, "%s_request_duration_seconds_count{", m->prefix);
    rc |= fr__metrics_labels(out, s);
    return rc | fr_buf_printf(out, "} %llu\n", (unsigned long long)total);
}

int fr_metrics_render(const fr_metrics *m, fr_buf *out) {
    int rc = 0, pass;
    size_t i;
    if (!m || !out) return -1;
    for (pass = 0; pass < 2 && rc == 0; pass++) {
        if (pass == 0)
            rc |= fr_buf_printf(out,
                                "# HELP %s_requests_total Requests by route template, method "
                                "and status.\n# TYPE %s_requests_total counter\n",
                                m->prefix, m->prefix);
        else
            rc |= fr_buf_printf(out,
                                "# HELP %s_request_duration_seconds Request latency by route "
                                "template, method and status.\n"
                                "# TYPE %s_request_duration_seconds histogram\n",
                                m->prefix, m->prefix);
        for (i = 0; i < m->nseries && rc == 0; i++) {
            const fr__series *s = &m->sh->series[i];
            if (fr__atomic_load((FR__ATOMIC(uint32_t) *)(uintptr_t)&s->ready) != 2) continue;
            rc |= fr__metrics_series_text(m, s, out, pass);
        }
    }
    if (rc == 0)
        rc |= fr_buf_printf(out,
                            "# HELP %s_metrics_dropped_total Observations not recorded: the "
                            "series table was full.\n# TYPE %s_metrics_dropped_total counter\n"
                            "%s_metrics_dropped_total %llu\n",
                            m->prefix, m->prefix, m->prefix,
                            (unsigned long long)fr__atomic_load(
                                (FR__ATOMIC(uint64_t) *)(uintptr_t)&m->sh->dropped));
    return rc ? -1 : 0;
}

/* ---- the measuring middleware ---- */

typedef struct fr__metrics_state {
    int64_t t0; /* 0: before did not run */
} fr__metrics_state;

static int fr__metrics_before(fr_req *req, void *state, void *ud) {
    (void)req;
    (void)ud;
    ((fr__metrics_state *)state)->t0 = fr__mono_ns() | 1;
    return FR_MW_NEXT;
}

static void fr__metrics_end(fr_req *req, void *state, void *ud) {
    fr__metrics_state *st = (fr__metrics_state *)state;
    fr__res_view v;
    fr_str pattern;
    if (!st->t0) return;
    fr__req_res_get(req, &v);
    pattern = fr_req_match_status(req) == FR_MATCH_FOUND ? fr_req_route_pattern(req)
                                                          : fr__str(NULL, 0);
    fr_metrics_observe((fr_metrics *)ud, pattern, fr_req_method(req), v.status ? v.status : 500,
                       (double)(fr__mono_ns() - st->t0) / 1e9);
}

static void fr__metrics_unref(void *ud) { fr_metrics_free((fr_metrics *)ud); }

int fr_app_use_metrics(fr_app *app, fr_metrics *m) {
    fr_middleware mw;
    if (!app || !m) return -1;
    memset(&mw, 0, sizeof mw);
    mw.before = fr__metrics_before;
    mw.end = fr__metrics_end;
    mw.free_ud = fr__metrics_unref;
    mw.state_size = sizeof(fr__metrics_state);
    fr__atomic_fetch_add_explicit(&m->refs, 1, FR__RELAXED);
    mw.ud = m;
    return fr_app_use(app, &mw); /* drops the reference again on failure */
}

static void fr__metrics_buf_free(void *ud, const void *data) {
    (void)data;
    fr_buf_free((fr_buf *)ud);
    FR_FREE(ud);
}

int fr_metrics_handler(fr_req *req, void *ud) {
    fr_buf *b = (fr_buf *)FR_MALLOC(sizeof *b);
    if (!b) return fr_res_json(req, 500, "{\"detail\":\"Internal Server Error\"}", 35);
    memset(b, 0, sizeof *b);
    if (fr_metrics_render((const fr_metrics *)ud, b) < 0) {
        fr__metrics_buf_free(b, NULL);
        return fr_res_json(req, 500, "{\"detail\":\"Internal Server Error\"}", 35);
    }
    fr_res_status(req, 200);
    fr_res_header(req, "content-type", "text/plain; version=0.0.4; charset=utf-8");
    if (fr_res_body_take(req, b->buf, b->len, fr__metrics_buf_free, b) < 0) {
        fr__metrics_buf_free(b, NULL);
        return fr_res_json(req, 500, "{\"detail\":\"Internal Server Error\"}", 35);
    }
    return FR_DONE;
}
