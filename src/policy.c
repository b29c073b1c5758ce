/* ---- policy.c: per-route rate limits and cached responses (see policy.h) ---- */
#include "internal.h"

#include <time.h>
#if !defined(_WIN32)
#include <sys/mman.h>
#endif

/* ---- shared memory: an anonymous mapping forked processes keep sharing ---- */

/* Zeroed memory: shared (MAP_SHARED) unless local or on Windows. */
FR__PRIV void *fr__shm_alloc(size_t size, int local) {
    void *p;
#if !defined(_WIN32) && defined(MAP_ANONYMOUS)
    if (!local) {
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
#endif
    (void)local;
    p = FR_MALLOC(size);
    if (p) memset(p, 0, size);
    return p;
}

FR__PRIV void fr__shm_free(void *p, size_t size, int local) {
    if (!p) return;
#if !defined(_WIN32) && defined(MAP_ANONYMOUS)
    if (!local) {
        munmap(p, size);
        return;
    }
#endif
    (void)size;
    (void)local;
    FR_FREE(p);
}

/* Monotonic nanoseconds (system-wide: forked processes agree). */
FR__PRIV int64_t fr__mono_ns(void) {
    struct timespec ts;
#if defined(_WIN32)
    timespec_get(&ts, TIME_UTC);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A seeded 64-bit hash (FNV-1a, then a murmur finaliser). */
FR__PRIV uint64_t fr__hash64(uint64_t seed, const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull ^ seed;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* ---- rate limiter ---- */

typedef struct fr__rl_slot {
    FR__ATOMIC(uint64_t) key;   /* client hash, 0 = empty */
    FR__ATOMIC(uint64_t) state; /* window second << 32 | count in it */
} fr__rl_slot;

struct fr_ratelimit {
    fr__atomic_int refs;
    uint32_t per_second;
    int local;
    size_t nslots; /* power of two */
    uint64_t seed;
    fr__rl_slot *slots;
};

#define FR__RL_PROBE 8

fr_ratelimit *fr_ratelimit_new(const fr_ratelimit_config *cfg, fr_err *err) {
    fr_ratelimit *rl;
    size_t want, n = 1;
    if (!cfg || cfg->per_second == 0) {
        if (err) { err->code = 1; err->msg = "rate limit: per_second must be >= 1"; err->pos = 0; }
        return NULL;
    }
    want = cfg->max_clients ? cfg->max_clients : (size_t)FR_RATELIMIT_CLIENTS;
    if (want > (size_t)FR_RATELIMIT_MAX_CLIENTS) {
        if (err) { err->code = 1; err->msg = "rate limit: max_clients too large"; err->pos = 0; }
        return NULL;
    }
    while (n < want || n < FR__RL_PROBE) n <<= 1;
    rl = (fr_ratelimit *)FR_MALLOC(sizeof *rl);
    if (!rl) goto oom;
    memset((void *)rl, 0, sizeof *rl);
    rl->per_second = cfg->per_second;
    rl->local = cfg->process_local != 0;
    rl->nslots = n;
    rl->seed = fr__hash64((uint64_t)(uintptr_t)rl, (const char *)&n, sizeof n) ^
               (uint64_t)fr__mono_ns() ^ ((uint64_t)time(NULL) << 20);
    rl->slots = (fr__rl_slot *)fr__shm_alloc(n * sizeof *rl->slots, rl->local);
    if (!rl->slots) { FR_FREE(rl); goto oom; }
    /* zeroed memory is a valid empty table: key 0, state 0 */
    fr__atomic_init(&rl->refs, 1);
    return rl;
oom:
    if (err) { err->code = 2; err->msg = "rate limit: out of memory"; err->pos = 0; }
    return NULL;
}

static fr_ratelimit *fr__rl_ref(fr_ratelimit *rl) {
    if (rl) fr__atomic_fetch_add_explicit(&rl->refs, 1, FR__RELAXED);
    return rl;
}

void fr_ratelimit_free(fr_ratelimit *rl) {
    if (!rl || fr__atomic_fetch_sub_explicit(&rl->refs, 1, FR__ACQ_REL) != 1) return;
    fr__shm_free(rl->slots, rl->nslots * sizeof *rl->slots, rl->local);
    FR_FREE(rl);
}

size_t fr_ratelimit_slots(const fr_ratelimit *rl) { return rl ? rl->nslots : 0; }
uint32_t fr_ratelimit_per_second(const fr_ratelimit *rl) { return rl ? rl->per_second : 0; }

/* The slot of `key`: found, claimed empty, or evicted (oldest window). */
static fr__rl_slot *fr__rl_slot_for(fr_ratelimit *rl, uint64_t key) {
    size_t mask = rl->nslots - 1, i, base = (size_t)(key ^ (key >> 32)) & mask;
    fr__rl_slot *victim = NULL;
    uint64_t vstate = UINT64_MAX;
    for (i = 0; i < FR__RL_PROBE; i++) {
        fr__rl_slot *s = &rl->slots[(base + i) & mask];
        uint64_t k = fr__atomic_load(&s->key), st;
        if (k == key) return s;
        if (k == 0) {
            uint64_t expect = 0;
            while (!fr__atomic_compare_exchange_weak(&s->key, &expect, key))
                if (expect != 0) break; /* taken meanwhile (a spurious failure retries) */
            if (expect == 0 || expect == key) return s;
        }
        st = fr__atomic_load(&s->state);
        if (st < vstate) { /* oldest window first, then the lowest count */
            vstate = st;
            victim = s;
        }
    }
    /* all taken by others: evict; the newcomer starts a fresh window */
    fr__atomic_store(&victim->key, key);
    fr__atomic_store(&victim->state, (uint64_t)0);
    return victim;
}

int fr_ratelimit_hit(fr_ratelimit *rl, fr_str client, int64_t now_ms) {
    uint64_t key, win, old, nw;
    fr__rl_slot *s;
    if (!rl) return -1;
    key = fr__hash64(rl->seed, client.buf ? client.buf : "", client.buf ? client.len : 0);
    if (key == 0) key = 1;
    win = (uint64_t)(now_ms < 0 ? 0 : now_ms / 1000) & 0xffffffffu;
    s = fr__rl_slot_for(rl, key);
    old = fr__atomic_load(&s->state);
    for (;;) {
        uint64_t cwin = old >> 32, cnt = old & 0xffffffffu;
        if (cwin != win) nw = (win << 32) | 1;
        else if (cnt >= rl->per_second) return 1; /* the window ends within a second */
        else nw = old + 1;
        if (fr__atomic_compare_exchange_weak(&s->state, &old, nw)) return 0;
    }
}

/* ---- stored response ---- */

struct fr_resp_cache {
    fr__atomic_int refs;
    fr__atomic_int filled; /* 0 empty, 1 being stored, 2 ready */
    int status;
    fr_header *headers; /* names and values in `mem` */
    size_t nheaders;
    char *body;
    size_t body_len;
    char *mem;
};

fr_resp_cache *fr_resp_cache_new(void) {
    fr_resp_cache *c = (fr_resp_cache *)FR_MALLOC(sizeof *c);
    if (!c) return NULL;
    memset((void *)c, 0, sizeof *c);
    fr__atomic_init(&c->refs, 1);
    fr__atomic_init(&c->filled, 0);
    return c;
}

static fr_resp_cache *fr__rc_ref(fr_resp_cache *c) {
    if (c) fr__atomic_fetch_add_explicit(&c->refs, 1, FR__RELAXED);
    return c;
}

void fr_resp_cache_free(fr_resp_cache *c) {
    if (!c || fr__atomic_fetch_sub_explicit(&c->refs, 1, FR__ACQ_REL) != 1) return;
    FR_FREE(c->headers);
    FR_FREE(c->mem);
    FR_FREE(c);
}

int fr_resp_cache_filled(const fr_resp_cache *c) {
    return c && fr__atomic_load((fr__atomic_int *)(uintptr_t)&c->filled) == 2;
}

int fr_resp_cache_store(fr_resp_cache *c, int status, const fr_header *headers, size_t nheaders,
                        const void *body, size_t len) {
    size_t total = len, i, off = 0;
    int expect = 0;
    char *mem;
    fr_header *hs = NULL;
    if (!c || status < 100 || status > 999 || (nheaders && !headers) || (len && !body)) return -1;
    for (i = 0; i < nheaders; i++) {
        if ((headers[i].name.len && !headers[i].name.buf) ||
            (headers[i].value.len && !headers[i].value.buf))
            return -1;
        total += headers[i].name.len + headers[i].value.len;
    }
    while (!fr__atomic_compare_exchange_weak(&c->filled, &expect, 1))
        if (expect != 0) return 0; /* stored, or being stored, by another thread */
    mem = (char *)FR_MALLOC(total ? total : 1);
    if (nheaders) hs = (fr_header *)FR_MALLOC(nheaders * sizeof *hs);
    if (!mem || (nheaders && !hs)) {
        FR_FREE(mem);
        FR_FREE(hs);
        fr__atomic_store(&c->filled, 0);
        return -1;
    }
    for (i = 0; i < nheaders; i++) {
        if (headers[i].name.len) memcpy(mem + off, headers[i].name.buf, headers[i].name.len);
        hs[i].name = fr__str(mem + off, headers[i].name.len);
        off += headers[i].name.len;
        if (headers[i].value.len) memcpy(mem + off, headers[i].value.buf, headers[i].value.len);
        hs[i].value = fr__str(mem + off, headers[i].value.len);
        off += headers[i].value.len;
    }
    if (len) memcpy(mem + off, body, len);
    c->status = status;
    c->headers = hs;
    c->nheaders = nheaders;
    c->body = mem + off;
    c->body_len = len;
    c->mem = mem;
    fr__atomic_store(&c->filled, 2); /* publishes the fields above (seq_cst) */
    return 1;
}

int fr_resp_cache_answer(const fr_resp_cache *c, fr_req *req) {
    size_t i;
    if (!req || !fr_resp_cache_filled(c)) return -1;
    fr_res_status(req, c->status);
    for (i = 0; i < c->nheaders; i++)
        if (fr_res_header_n(req, c->headers[i].name.buf, c->headers[i].name.len,
                            c->headers[i].value.buf, c->headers[i].value.len) < 0)
            return -1;
    if (fr_res_body_take(req, c->body, c->body_len, NULL, NULL) < 0) return -1;
    fr_res_send(req);
    return FR_DONE;
}

/* ---- the policy middleware ---- */

typedef struct fr__pol_entry {
    char *method, *pattern;
    size_t mlen, plen;
    uint64_t hash; /* of the pattern */
    fr_ratelimit *rl;
    fr_resp_cache *cache;
} fr__pol_entry;

struct fr_policies {
    fr__pol_entry *items;
    size_t n, cap;
};

typedef struct fr__pol_state {
    fr__pol_entry *fill; /* a GET whose response fills this entry's cache */
} fr__pol_state;

static const char FR__POL_429[] = "{\"detail\":\"Too Many Requests\"}";

static fr__pol_entry *fr__pol_find(fr_policies *p, fr_str method, fr_str pattern) {
    uint64_t h;
    size_t i;
    if (!p->n || !pattern.len) return NULL;
    h = fr__hash64(0, pattern.buf, pattern.len);
    for (i = 0; i < p->n; i++) {
        fr__pol_entry *e = &p->items[i];
        if (e->hash == h && e->plen == pattern.len && e->mlen == method.len &&
            memcmp(e->pattern, pattern.buf, pattern.len) == 0 &&
            memcmp(e->method, method.buf, method.len) == 0)
            return e;
    }
    return NULL;
}

static int fr__pol_before(fr_req *req, void *state, void *ud) {
    fr_policies *p = (fr_policies *)ud;
    fr__pol_state *st = (fr__pol_state *)state;
    fr_str method = fr_req_method(req), pattern;
    fr__pol_entry *e;
    int head = 0;
    if (fr_req_match_status(req) != FR_MATCH_FOUND) return FR_MW_NEXT;
    pattern = fr_req_route_pattern(req);
    e = fr__pol_find(p, method, pattern);
    if (!e && fr_str_eq_c(method, "HEAD")) {
        head = 1;
        e = fr__pol_find(p, FR_STR("GET"), pattern);
    }
    if (!e) return FR_MW_NEXT;
    if (e->rl && fr_ratelimit_hit(e->rl, fr_req_client_addr(req), fr__mono_ns() / 1000000) > 0) {
        fr_res_status(req, 429);
        fr_res_header(req, "content-type", "application/json");
        fr_res_header(req, "retry-after", "1");
        fr_res_body_take(req, FR__POL_429, sizeof FR__POL_429 - 1, NULL, NULL);
        fr_res_send(req);
        return FR_MW_ANSWERED;
    }
    if (e->cache) {
        if (fr_resp_cache_answer(e->cache, req) == FR_DONE) return FR_MW_ANSWERED;
        /* RFC 9111 3.5: never store what answered a credentialed request */
        if (!head && fr_str_eq_c(method, "GET") && !fr_req_header(req, "authorization").buf &&
            !fr_req_header(req, "cookie").buf)
            st->fill = e;
    }
    return FR_MW_NEXT;
}

static int fr__pol_after(fr_req *req, fr_mw_res *res, void *state, void *ud) {
    fr__pol_state *st = (fr__pol_state *)state;
    (void)req;
    (void)ud;
    if (!st->fill || res->kind != FR_MW_RES_BODY || res->status < 200 || res->status > 399 ||
        fr_hlist_get(&res->headers, FR_STR("set-cookie")).buf)
        return 0;
    fr_resp_cache_store(st->fill->cache, res->status, res->headers.items, res->headers.len,
                        res->body.buf, res->body.len);
    return 0;
}

static void fr__pol_free(void *ud) {
    fr_policies *p = (fr_policies *)ud;
    size_t i;
    if (!p) return;
    for (i = 0; i < p->n; i++) {
        FR_FREE(p->items[i].method);
        FR_FREE(p->items[i].pattern);
        fr_ratelimit_free(p->items[i].rl);
        fr_resp_cache_free(p->items[i].cache);
    }
    FR_FREE(p->items);
    FR_FREE(p);
}

fr_policies *fr_app_use_policies(fr_app *app) {
    fr_middleware mw;
    fr_policies *p;
    if (!app) return NULL;
    p = (fr_policies *)FR_MALLOC(sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    memset(&mw, 0, sizeof mw);
    mw.before = fr__pol_before;
    mw.after = fr__pol_after;
    mw.free_ud = fr__pol_free;
    mw.state_size = sizeof(fr__pol_state);
    mw.ud = p;
    if (fr_app_use(app, &mw) < 0) return NULL; /* freed p */
    return p;
}

static char *fr__pol_dup(const char *s, size_t n) {
    char *d = (char *)FR_MALLOC(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* The entry for method + pattern (added when new). */
static fr__pol_entry *fr__pol_entry_for(fr_policies *p, const char *method, const char *pattern) {
    size_t ml, pl, i;
    fr__pol_entry *e;
    char up[1025];
    if (!p || !method || !pattern) return NULL;
    ml = strlen(method);
    pl = strlen(pattern);
    if (ml == 0 || ml > 1024 || pl == 0 || pl > 1024) return NULL;
    for (i = 0; i < ml; i++) /* fr_route upper-cases the method */
        up[i] = (char)(method[i] >= 'a' && method[i] <= 'z' ? method[i] - 32 : method[i]);
    e = fr__pol_find(p, fr__str(up, ml), fr__str(pattern, pl));
    if (e) return e;
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        fr__pol_entry *items = (fr__pol_entry *)FR_REALLOC(p->items, cap * sizeof *items);
        if (!items) return NULL;
        p->items = items;
        p->cap = cap;
    }
    e = &p->items[p->n];
    memset(e, 0, sizeof *e);
    e->method = fr__pol_dup(up, ml);
    e->pattern = fr__pol_dup(pattern, pl);
    if (!e->method || !e->pattern) {
        FR_FREE(e->method);
        FR_FREE(e->pattern);
        return NULL;
    }
    e->mlen = ml;
    e->plen = pl;
    e->hash = fr__hash64(0, pattern, pl);
    p->n++;
    return e;
}

int fr_policies_rate_limit(fr_policies *p, const char *method, const char *pattern,
                           fr_ratelimit *rl) {
    fr__pol_entry *e;
    if (!rl) return -1;
    e = fr__pol_entry_for(p, method, pattern);
    if (!e) return -1;
    fr_ratelimit_free(e->rl);
    e->rl = fr__rl_ref(rl);
    return 0;
}

int fr_policies_cache(fr_policies *p, const char *method, const char *pattern, fr_resp_cache *c) {
    fr__pol_entry *e;
    if (!c) return -1;
    e = fr__pol_entry_for(p, method, pattern);
    if (!e) return -1;
    fr_resp_cache_free(e->cache);
    e->cache = fr__rc_ref(c);
    return 0;
}
