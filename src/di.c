/* ---- di.c: dependency injection engine ---- */
#include "internal.h"

#define FR__DI_FRESH_BIT 0x40000000u
#define FR__DI_MAX_PROVIDERS 0x3fffffff

typedef struct fr__di_def {
    char *name; /* owned, never NULL once registered */
    int *deps;  /* owned; raw entries (may carry FR__DI_FRESH_BIT) */
    size_t ndeps;
    int no_cache;
    fr_di_provide_fn provide;
    fr_di_teardown_fn teardown;
    void *userdata;
    int scope; /* FR_DI_SCOPE_* */
} fr__di_def;

typedef struct fr__di_node {
    fr__di_def orig;
    fr__di_def over;
    int overridden;
    /* compiled */
    unsigned char fresh_below; /* an uncached use is reachable below: re-walk on reuse */
    size_t depth;              /* longest path down, counting this node */
} fr__di_node;

struct fr_di {
    fr_allocator alc;
    fr__di_node *nodes;
    int n, cap;
    int *order; /* topological, capacity cap */
    fr_di_log_fn log;
    void *log_ud;
    char err[256];
};

typedef struct fr__di_slot {
    void *value;
    int has;
} fr__di_slot;

typedef struct fr__di_cleanup {
    fr_di_teardown_fn fn;
    void *value, *ud;
    const char *name;
    int id; /* provider id, -1 for fr_di_ctx_defer */
    struct fr__di_cleanup *next;
} fr__di_cleanup;

typedef struct fr__di_frame {
    int id;
    int edge_cached; /* reached through a caching use */
    int skipped;     /* a dependency was skipped: this one is skipped too */
    size_t next;     /* next dependency to walk */
    size_t pidx;     /* index into the parent's args */
    void **args;     /* one value per dependency */
} fr__di_frame;

struct fr_di_ctx {
    const fr_di *di;
    fr_arena *arena;
    void *ud;
    int n;
    fr__di_slot *slots;
    fr__di_cleanup *cleanups[2]; /* per FR_DI_SCOPE_*, most recent first */
    /* walk */
    fr__di_frame *stack;
    size_t depth, stack_cap;
    int active, pending, need_skipped;
    void **root_args;
    size_t root_nargs;
    void *result;
    size_t skipped;
    /* outcome */
    int walk_rc;
    int failed_code, failed_id, request_code;
    int finished, final_code;
    const char *err;
};

/* ---- registry memory ---- */

static void *fr__di_malloc(const fr_di *di, size_t n) {
    return di->alc.malloc ? di->alc.malloc(di->alc.ctx, n) : FR_MALLOC(n);
}
static void fr__di_free(const fr_di *di, void *p) {
    if (!p) return;
    if (di->alc.free) di->alc.free(di->alc.ctx, p);
    else FR_FREE(p);
}

static void fr__di_log_stderr(void *ud, const char *msg) {
    (void)ud;
    fprintf(stderr, "fastrapi: %s\n", msg);
}

static void fr__di_seterr(fr_di *di, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void fr__di_seterr(fr_di *di, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(di->err, sizeof di->err, fmt, ap);
    va_end(ap);
}

static const fr__di_def *fr__di_def_of(const fr_di *di, int id) {
    const fr__di_node *nd = &di->nodes[id];
    return nd->overridden ? &nd->over : &nd->orig;
}

static int fr__di_dep_id(int raw) { return (int)((unsigned)raw & ~FR__DI_FRESH_BIT); }

static void fr__di_def_clear(fr_di *di, fr__di_def *d) {
    fr__di_free(di, d->name);
    fr__di_free(di, d->deps);
    memset(d, 0, sizeof *d);
}

/* Validate p's dependencies (ids below `limit`) and copy p into *d. self_id
 * is the id the definition will get (a dependency on it is a cycle). */
static int fr__di_def_copy(fr_di *di, fr__di_def *d, const fr_di_provider *p, int self_id,
                           int limit) {
    size_t i, nlen;
    char autoname[24];
    const char *name = p->name;
    memset(d, 0, sizeof *d);
    if (p->ndeps && !p->deps) {
        fr__di_seterr(di, "provider '%s': deps is NULL but ndeps is %zu", name ? name : "?",
                      p->ndeps);
        return -1;
    }
    if (!name) {
        snprintf(autoname, sizeof autoname, "#%d", self_id);
        name = autoname;
    }
    if (p->scope != FR_DI_SCOPE_REQUEST && p->scope != FR_DI_SCOPE_FUNCTION) {
        fr__di_seterr(di, "provider '%s': invalid scope %d", name, p->scope);
        return -1;
    }
    for (i = 0; i < p->ndeps; i++) {
        int raw = p->deps[i], id = fr__di_dep_id(raw);
        if (raw < 0 || ((unsigned)raw & ~(FR__DI_FRESH_BIT | (unsigned)FR__DI_MAX_PROVIDERS))) {
            fr__di_seterr(di, "provider '%s': invalid dependency id %d", name, raw);
            return -1;
        }
        if (id == self_id) {
            fr__di_seterr(di, "cycle: %s -> %s", name, name);
            return -1;
        }
        if (id >= limit) {
            fr__di_seterr(di, "provider '%s': unknown dependency id %d", name, id);
            return -1;
        }
    }
    nlen = strlen(name);
    d->name = (char *)fr__di_malloc(di, nlen + 1);
    if (!d->name) goto oom;
    memcpy(d->name, name, nlen + 1);
    if (p->ndeps) {
        if (p->ndeps > SIZE_MAX / sizeof(int)) goto oom;
        d->deps = (int *)fr__di_malloc(di, p->ndeps * sizeof(int));
        if (!d->deps) goto oom;
        memcpy(d->deps, p->deps, p->ndeps * sizeof(int));
    }
    d->ndeps = p->ndeps;
    d->no_cache = p->no_cache != 0;
    d->provide = p->provide;
    d->teardown = p->teardown;
    d->userdata = p->userdata;
    d->scope = p->scope;
    return 0;
oom:
    fr__di_def_clear(di, d);
    fr__di_seterr(di, "provider '%s': out of memory", name);
    return -1;
}

/* compiled data of one node from its (already compiled) dependencies */
static void fr__di_node_derive(fr_di *di, int id) {
    const fr__di_def *d = fr__di_def_of(di, id);
    fr__di_node *nd = &di->nodes[id];
    size_t i, depth = 0;
    unsigned char fresh = 0;
    for (i = 0; i < d->ndeps; i++) {
        int c = fr__di_dep_id(d->deps[i]);
        const fr__di_node *cn = &di->nodes[c];
        if (((unsigned)d->deps[i] & FR__DI_FRESH_BIT) || fr__di_def_of(di, c)->no_cache ||
            cn->fresh_below)
            fresh = 1;
        if (cn->depth > depth) depth = cn->depth;
    }
    nd->fresh_below = fresh;
    nd->depth = depth + 1;
}

/* FastAPI's DependencyScopeError: a request-scoped provider with a teardown
 * outlives the handler, so it may not use a function-scoped value (torn down
 * before it). Checked on direct dependencies, like FastAPI. */
static int fr__di_check_scope(fr_di *di, int id) {
    const fr__di_def *d = fr__di_def_of(di, id);
    size_t i;
    if (!d->teardown || d->scope != FR_DI_SCOPE_REQUEST) return 0;
    for (i = 0; i < d->ndeps; i++) {
        const fr__di_def *c = fr__di_def_of(di, fr__di_dep_id(d->deps[i]));
        if (c->scope == FR_DI_SCOPE_FUNCTION) {
            fr__di_seterr(di,
                          "provider '%.80s' has request scope and a teardown: it cannot depend "
                          "on '%.80s', which has function scope",
                          d->name, c->name);
            return -1;
        }
    }
    return 0;
}

/* Append " -> name" pieces to the error buffer, truncating politely. */
static void fr__di_err_append(fr_di *di, const char *s) {
    size_t used = strlen(di->err), room = sizeof di->err - used;
    if (room > 1) snprintf(di->err + used, room, "%s", s);
    if (strlen(di->err) == sizeof di->err - 1) memcpy(di->err + sizeof di->err - 4, "...", 4);
}

/* Depth-first topological sort of the whole effective graph, then the scope
 * rule. On a cycle, writes "cycle: a -> b -> a" and returns -1 without
 * touching the compiled state (same for a scope violation). */
int fr_di_compile(fr_di *di) {
    typedef struct {
        int id;
        size_t ei;
    } frame;
    frame *st = NULL;
    unsigned char *color = NULL; /* 0 white, 1 on the stack, 2 done */
    int *order = NULL, no = 0, root, rc = -1;
    size_t sp = 0;
    if (!di) return -1;
    di->err[0] = 0;
    if (di->n == 0) return 0;
    st = (frame *)fr__di_malloc(di, (size_t)di->n * sizeof *st);
    color = (unsigned char *)fr__di_malloc(di, (size_t)di->n);
    order = (int *)fr__di_malloc(di, (size_t)di->n * sizeof *order);
    if (!st || !color || !order) {
        fr__di_seterr(di, "out of memory compiling the dependency graph");
        goto done;
    }
    memset(color, 0, (size_t)di->n);
    for (root = 0; root < di->n; root++) {
        if (color[root]) continue;
        st[0].id = root;
        st[0].ei = 0;
        sp = 1;
        color[root] = 1;
        while (sp) {
            frame *f = &st[sp - 1];
            const fr__di_def *d = fr__di_def_of(di, f->id);
            if (f->ei < d->ndeps) {
                int c = fr__di_dep_id(d->deps[f->ei++]);
                if (color[c] == 0) {
                    color[c] = 1;
                    st[sp].id = c;
                    st[sp].ei = 0;
                    sp++;
                } else if (color[c] == 1) {
                    size_t k = 0;
                    while (st[k].id != c) k++;
                    fr__di_seterr(di, "cycle: ");
                    for (; k < sp; k++) {
                        fr__di_err_append(di, fr__di_def_of(di, st[k].id)->name);
                        fr__di_err_append(di, " -> ");
                    }
                    fr__di_err_append(di, fr__di_def_of(di, c)->name);
                    goto done;
                }
            } else {
                color[f->id] = 2;
                order[no++] = f->id;
                sp--;
            }
        }
    }
    for (root = 0; root < di->n; root++)
        if (fr__di_check_scope(di, root) < 0) goto done;
    /* success: commit */
    memcpy(di->order, order, (size_t)di->n * sizeof *order);
    for (no = 0; no < di->n; no++) fr__di_node_derive(di, di->order[no]);
    rc = 0;
done:
    fr__di_free(di, st);
    fr__di_free(di, color);
    fr__di_free(di, order);
    return rc;
}

/* ---- registry API ---- */

fr_di *fr_di_new(const fr_allocator *alc) {
    fr_di tmp, *di;
    memset(&tmp, 0, sizeof tmp);
    if (alc) tmp.alc = *alc;
    di = (fr_di *)fr__di_malloc(&tmp, sizeof *di);
    if (!di) return NULL;
    *di = tmp;
    di->log = fr__di_log_stderr;
    return di;
}

void fr_di_free(fr_di *di) {
    int i;
    if (!di) return;
    for (i = 0; i < di->n; i++) {
        fr__di_def_clear(di, &di->nodes[i].orig);
        fr__di_def_clear(di, &di->nodes[i].over);
    }
    fr__di_free(di, di->nodes);
    fr__di_free(di, di->order);
    fr__di_free(di, di);
}

void fr_di_set_log(fr_di *di, fr_di_log_fn fn, void *log_ud) {
    if (!di) return;
    di->log = fn;
    di->log_ud = log_ud;
}

const char *fr_di_error(const fr_di *di) { return di ? di->err : "no registry"; }
int fr_di_count(const fr_di *di) { return di ? di->n : 0; }

const char *fr_di_name(const fr_di *di, int id) {
    if (!di || id < 0 || id >= di->n) return NULL;
    return fr__di_def_of(di, id)->name;
}

int fr_di_find(const fr_di *di, const char *name) {
    int i;
    if (!di || !name) return -1;
    for (i = 0; i < di->n; i++)
        if (strcmp(fr__di_def_of(di, i)->name, name) == 0) return i;
    return -1;
}

size_t fr_di_order(const fr_di *di, int *ids, size_t cap) {
    size_t i;
    if (!di) return 0;
    for (i = 0; i < (size_t)di->n && i < cap; i++) ids[i] = di->order[i];
    return (size_t)di->n;
}

static int fr__di_grow(fr_di *di) {
    int ncap;
    fr__di_node *nodes;
    int *order;
    if (di->n < di->cap) return 0;
    if (di->cap >= FR__DI_MAX_PROVIDERS / 2) return -1;
    ncap = di->cap ? di->cap * 2 : 16;
    nodes = (fr__di_node *)fr__di_malloc(di, (size_t)ncap * sizeof *nodes);
    order = (int *)fr__di_malloc(di, (size_t)ncap * sizeof *order);
    if (!nodes || !order) {
        fr__di_free(di, nodes);
        fr__di_free(di, order);
        return -1;
    }
    if (di->n) {
        memcpy(nodes, di->nodes, (size_t)di->n * sizeof *nodes);
        memcpy(order, di->order, (size_t)di->n * sizeof *order);
    }
    fr__di_free(di, di->nodes);
    fr__di_free(di, di->order);
    di->nodes = nodes;
    di->order = order;
    di->cap = ncap;
    return 0;
}

int fr_di_add(fr_di *di, const fr_di_provider *p) {
    fr__di_node *nd;
    int id;
    if (!di) return -1;
    di->err[0] = 0;
    if (!p) {
        fr__di_seterr(di, "fr_di_add: provider is NULL");
        return -1;
    }
    if (fr__di_grow(di) < 0) {
        fr__di_seterr(di, "provider '%s': out of memory", p->name ? p->name : "?");
        return -1;
    }
    id = di->n;
    nd = &di->nodes[id];
    memset(nd, 0, sizeof *nd);
    if (fr__di_def_copy(di, &nd->orig, p, id, id) < 0) return -1;
    if (fr__di_check_scope(di, id) < 0) {
        fr__di_def_clear(di, &nd->orig);
        return -1;
    }
    /* dependencies are all registered already: no cycle is possible and the
     * new node simply goes last in the topological order */
    di->n++;
    di->order[id] = id;
    fr__di_node_derive(di, id);
    return id;
}

int fr_di_set_deps(fr_di *di, int id, const int *deps, size_t ndeps) {
    fr__di_def *d, nd, old;
    fr_di_provider p;
    if (!di) return -1;
    di->err[0] = 0;
    if (id < 0 || id >= di->n) {
        fr__di_seterr(di, "fr_di_set_deps: unknown provider id %d", id);
        return -1;
    }
    d = di->nodes[id].overridden ? &di->nodes[id].over : &di->nodes[id].orig;
    memset(&p, 0, sizeof p);
    p.name = d->name;
    p.deps = deps;
    p.ndeps = ndeps;
    p.no_cache = d->no_cache;
    p.provide = d->provide;
    p.teardown = d->teardown;
    p.userdata = d->userdata;
    p.scope = d->scope;
    if (fr__di_def_copy(di, &nd, &p, id, di->n) < 0) return -1;
    old = *d;
    *d = nd;
    if (fr_di_compile(di) < 0) {
        *d = old;
        fr__di_def_clear(di, &nd);
        return -1;
    }
    fr__di_def_clear(di, &old);
    return 0;
}

int fr_di_override(fr_di *di, int id, const fr_di_provider *replacement) {
    fr__di_node *n;
    fr__di_def nd, old;
    int was;
    if (!di) return -1;
    di->err[0] = 0;
    if (id < 0 || id >= di->n) {
        fr__di_seterr(di, "fr_di_override: unknown provider id %d", id);
        return -1;
    }
    n = &di->nodes[id];
    if (!replacement) {
        if (!n->overridden) return 0;
        n->overridden = 0;
        /* the original was acyclic: only OOM, or the original would now
         * break the scope rule against an overridden dependency */
        if (fr_di_compile(di) < 0) {
            n->overridden = 1;
            return -1;
        }
        fr__di_def_clear(di, &n->over);
        return 0;
    }
    if (fr__di_def_copy(di, &nd, replacement, id, di->n) < 0) return -1;
    old = n->over;
    was = n->overridden;
    n->over = nd;
    n->overridden = 1;
    if (fr_di_compile(di) < 0) {
        n->over = old;
        n->overridden = was;
        fr__di_def_clear(di, &nd);
        return -1;
    }
    fr__di_def_clear(di, &old);
    return 0;
}

/* ---- per-request context ---- */

fr_di_ctx *fr_di_ctx_new(const fr_di *di, fr_arena *arena) {
    fr_di_ctx *ctx;
    if (!di || !arena) return NULL;
    ctx = (fr_di_ctx *)fr_arena_alloc(arena, sizeof *ctx);
    if (!ctx) return NULL;
    memset(ctx, 0, sizeof *ctx);
    ctx->di = di;
    ctx->arena = arena;
    ctx->n = di->n;
    ctx->failed_id = -1;
    ctx->err = "";
    if (di->n) {
        ctx->slots = (fr__di_slot *)fr_arena_alloc(arena, (size_t)di->n * sizeof *ctx->slots);
        if (!ctx->slots) return NULL;
        memset(ctx->slots, 0, (size_t)di->n * sizeof *ctx->slots);
    }
    return ctx;
}

void fr_di_ctx_set_userdata(fr_di_ctx *ctx, void *ud) {
    if (ctx) ctx->ud = ud;
}
void *fr_di_ctx_userdata(const fr_di_ctx *ctx) { return ctx ? ctx->ud : NULL; }
const char *fr_di_ctx_error(const fr_di_ctx *ctx) { return ctx ? ctx->err : "no context"; }
int fr_di_ctx_failed_id(const fr_di_ctx *ctx) { return ctx ? ctx->failed_id : -1; }
size_t fr_di_skipped(const fr_di_ctx *ctx) { return ctx ? ctx->skipped : 0; }
void *fr_di_result(const fr_di_ctx *ctx) { return ctx ? ctx->result : NULL; }

void *fr_di_get(const fr_di_ctx *ctx, int id) {
    if (!ctx || id < 0 || id >= ctx->n || !ctx->slots[id].has) return NULL;
    return ctx->slots[id].value;
}

int fr_di_has(const fr_di_ctx *ctx, int id) {
    return ctx && id >= 0 && id < ctx->n && ctx->slots[id].has;
}

void *fr_di_arg(const fr_di_ctx *ctx, size_t i) {
    if (!ctx) return NULL;
    if (ctx->active && ctx->depth) {
        const fr__di_frame *f = &ctx->stack[ctx->depth - 1];
        if (i >= fr__di_def_of(ctx->di, f->id)->ndeps) return NULL;
        return f->args[i];
    }
    if (i >= ctx->root_nargs) return NULL;
    return ctx->root_args[i];
}

static int fr__di_push(fr_di_ctx *ctx, int id, int edge_cached, size_t pidx) {
    const fr__di_def *d = fr__di_def_of(ctx->di, id);
    fr__di_frame *f;
    if (ctx->depth >= ctx->stack_cap) { /* cannot happen: sized by graph depth */
        ctx->err = "dependency walk deeper than the compiled graph";
        return -1;
    }
    f = &ctx->stack[ctx->depth];
    f->id = id;
    f->edge_cached = edge_cached;
    f->skipped = 0;
    f->next = 0;
    f->pidx = pidx;
    f->args = NULL;
    if (d->ndeps) {
        if (d->ndeps > SIZE_MAX / sizeof(void *)) return -1;
        f->args = (void **)fr_arena_alloc(ctx->arena, d->ndeps * sizeof(void *));
        if (!f->args) {
            ctx->err = "out of memory";
            return -1;
        }
        memset(f->args, 0, d->ndeps * sizeof(void *));
    }
    ctx->depth++;
    return 0;
}

static void fr__di_abort(fr_di_ctx *ctx, int code, int failed_id) {
    ctx->walk_rc = code ? code : -1;
    if (!ctx->failed_code) {
        ctx->failed_code = ctx->walk_rc;
        ctx->failed_id = failed_id;
    }
    ctx->active = 0;
    ctx->pending = 0;
    ctx->depth = 0;
}

int fr_di_begin(fr_di_ctx *ctx, int id) {
    if (!ctx) return -1;
    if (ctx->finished) {
        ctx->err = "context already finished";
        return -1;
    }
    if (ctx->active) {
        ctx->err = "a resolution is already in progress on this context";
        return -1;
    }
    if (id < 0 || id >= ctx->n) {
        ctx->err = "unknown provider id";
        return -1;
    }
    ctx->err = "";
    if (ctx->stack_cap < ctx->di->nodes[id].depth) {
        size_t cap = ctx->di->nodes[id].depth;
        fr__di_frame *st = (fr__di_frame *)fr_arena_alloc(ctx->arena, cap * sizeof *st);
        if (!st) {
            ctx->err = "out of memory";
            return -1;
        }
        ctx->stack = st;
        ctx->stack_cap = cap;
    }
    ctx->depth = 0;
    ctx->result = NULL;
    ctx->walk_rc = 0;
    ctx->pending = 0;
    if (fr__di_push(ctx, id, !fr__di_def_of(ctx->di, id)->no_cache, 0) < 0) return -1;
    ctx->root_args = ctx->stack[0].args;
    ctx->root_nargs = fr__di_def_of(ctx->di, id)->ndeps;
    ctx->active = 1;
    return 0;
}

/* pop the top frame delivering `value` (or a skip) to its consumer */
static void fr__di_deliver(fr_di_ctx *ctx, void *value, int skipped) {
    fr__di_frame *f = &ctx->stack[--ctx->depth];
    if (!skipped && !ctx->slots[f->id].has) {
        ctx->slots[f->id].value = value;
        ctx->slots[f->id].has = 1;
    }
    if (ctx->depth) {
        fr__di_frame *parent = &ctx->stack[ctx->depth - 1];
        if (skipped) parent->skipped = 1;
        else parent->args[f->pidx] = value;
    } else {
        ctx->result = skipped ? NULL : value;
        ctx->active = 0;
    }
}

int fr_di_next(fr_di_ctx *ctx, int *need_id) {
    const fr_di *di;
    if (!ctx) return -1;
    di = ctx->di;
    if (ctx->pending) {
        ctx->err = "fr_di_next: the previous FR_DI_NEED was not answered";
        return -1;
    }
    while (ctx->active && ctx->depth) {
        fr__di_frame *f = &ctx->stack[ctx->depth - 1];
        const fr__di_def *d = fr__di_def_of(di, f->id);
        if (f->next < d->ndeps) {
            size_t idx = f->next++;
            int raw = d->deps[idx], c = fr__di_dep_id(raw);
            int cached = !((unsigned)raw & FR__DI_FRESH_BIT) && !fr__di_def_of(di, c)->no_cache;
            if (cached && ctx->slots[c].has && !di->nodes[c].fresh_below) {
                f->args[idx] = ctx->slots[c].value; /* nothing below would run */
                continue;
            }
            if (fr__di_push(ctx, c, cached, idx) < 0) {
                fr__di_abort(ctx, -1, -1);
                return -1;
            }
            continue;
        }
        /* a skipped dependency wins over the cache (FastAPI: errors first);
         * the host still sees the provider, to check its own parameters */
        if (!f->skipped && f->edge_cached && ctx->slots[f->id].has) {
            fr__di_deliver(ctx, ctx->slots[f->id].value, 0);
            continue;
        }
        ctx->pending = 1;
        ctx->need_skipped = f->skipped;
        if (need_id) *need_id = f->id;
        return FR_DI_NEED;
    }
    return ctx->walk_rc;
}

int fr_di_need_skipped(const fr_di_ctx *ctx) { return ctx && ctx->pending && ctx->need_skipped; }

int fr_di_supply_cleanup(fr_di_ctx *ctx, void *value, void *cleanup_value) {
    const fr__di_def *d;
    fr__di_frame *f;
    if (!ctx || !ctx->pending) {
        if (ctx) ctx->err = "fr_di_supply: no step pending";
        return -1;
    }
    if (ctx->need_skipped) { /* still pending: the host must answer fr_di_skip */
        ctx->err = "fr_di_supply: a dependency of this provider was skipped, answer fr_di_skip";
        return -1;
    }
    f = &ctx->stack[ctx->depth - 1];
    d = fr__di_def_of(ctx->di, f->id);
    ctx->pending = 0;
    if (d->teardown) {
        fr__di_cleanup *c = (fr__di_cleanup *)fr_arena_alloc(ctx->arena, sizeof *c);
        if (!c) {
            /* the value exists but its cleanup can't be queued: clean it now */
            int id = f->id;
            d->teardown(cleanup_value, -1, d->userdata);
            ctx->err = "out of memory";
            fr__di_abort(ctx, -1, id);
            return -1;
        }
        c->fn = d->teardown;
        c->value = cleanup_value;
        c->ud = d->userdata;
        c->name = d->name;
        c->id = f->id;
        c->next = ctx->cleanups[d->scope];
        ctx->cleanups[d->scope] = c;
    }
    fr__di_deliver(ctx, value, 0);
    return 0;
}

int fr_di_supply(fr_di_ctx *ctx, void *value) { return fr_di_supply_cleanup(ctx, value, value); }

void fr_di_fail(fr_di_ctx *ctx, int code) {
    if (!ctx || !ctx->pending) return;
    ctx->err = "a dependency failed";
    ctx->need_skipped = 0;
    fr__di_abort(ctx, code, ctx->stack[ctx->depth - 1].id);
}

void fr_di_skip(fr_di_ctx *ctx) {
    if (!ctx || !ctx->pending) return;
    ctx->pending = 0;
    ctx->need_skipped = 0;
    ctx->skipped++;
    fr__di_deliver(ctx, NULL, 1);
}

int fr_di_resolve(fr_di_ctx *ctx, int id, void **out) {
    int rc, need;
    if (out) *out = NULL;
    if (fr_di_begin(ctx, id) < 0) return -1;
    while ((rc = fr_di_next(ctx, &need)) == FR_DI_NEED) {
        const fr__di_def *d = fr__di_def_of(ctx->di, need);
        void *v = NULL;
        int prc;
        if (ctx->need_skipped) { /* never called, as before the host saw these */
            fr_di_skip(ctx);
            continue;
        }
        prc = d->provide ? d->provide(ctx, d->userdata, &v) : 0;
        if (prc) fr_di_fail(ctx, prc);
        else if (fr_di_supply(ctx, v) < 0) return -1;
    }
    if (rc == 0 && out) *out = ctx->result;
    return rc;
}

int fr_di_ctx_defer(fr_di_ctx *ctx, fr_di_teardown_fn fn, void *value, void *userdata) {
    fr__di_cleanup *c;
    if (!ctx || !fn || ctx->finished) return -1;
    c = (fr__di_cleanup *)fr_arena_alloc(ctx->arena, sizeof *c);
    if (!c) return -1;
    c->fn = fn;
    c->value = value;
    c->ud = userdata;
    c->name = NULL;
    c->id = -1;
    c->next = ctx->cleanups[FR_DI_SCOPE_REQUEST];
    ctx->cleanups[FR_DI_SCOPE_REQUEST] = c;
    return 0;
}

void fr_di_ctx_set_failed(fr_di_ctx *ctx, int code) {
    if (ctx && !ctx->request_code) ctx->request_code = code;
}

int fr_di_ctx_pop_cleanup(fr_di_ctx *ctx, int scope, void **value, int *id) {
    fr__di_cleanup *c = NULL;
    if (value) *value = NULL;
    if (id) *id = -1;
    if (!ctx) return 0;
    if (scope == -1) {
        c = ctx->cleanups[FR_DI_SCOPE_FUNCTION];
        scope = c ? FR_DI_SCOPE_FUNCTION : FR_DI_SCOPE_REQUEST;
    }
    if (scope != FR_DI_SCOPE_REQUEST && scope != FR_DI_SCOPE_FUNCTION) {
        ctx->err = "fr_di_ctx_pop_cleanup: invalid scope";
        return 0;
    }
    c = ctx->cleanups[scope];
    if (!c) return 0;
    ctx->cleanups[scope] = c->next;
    if (value) *value = c->value;
    if (id) *id = c->id;
    return 1;
}

/* the code cleanups see: first non-zero of the caller's, the request's, the
 * walk's */
static int fr__di_code(const fr_di_ctx *ctx, int failed) {
    return failed ? failed : ctx->request_code ? ctx->request_code : ctx->failed_code;
}

/* Run the cleanups of one scope, most recent first, each unlinked before it
 * runs (a teardown may defer or pop). Returns code, or the first failed
 * teardown's code when code was 0. */
static int fr__di_run_scope(fr_di_ctx *ctx, int scope, int code) {
    fr__di_cleanup *c;
    while ((c = ctx->cleanups[scope]) != NULL) {
        int rc;
        ctx->cleanups[scope] = c->next;
        rc = c->fn(c->value, code, c->ud);
        if (!rc) continue;
        if (ctx->di->log) {
            char msg[256];
            const char *name = c->name ? c->name : "(deferred cleanup)";
            if (code)
                snprintf(msg, sizeof msg,
                         "teardown of dependency '%.100s' failed with code %d "
                         "(while handling a request that failed with code %d)",
                         name, rc, code);
            else
                snprintf(msg, sizeof msg, "teardown of dependency '%.100s' failed with code %d",
                         name, rc);
            ctx->di->log(ctx->di->log_ud, msg);
        }
        if (!code) code = rc;
    }
    return code;
}

int fr_di_ctx_end_function_scope(fr_di_ctx *ctx, int failed) {
    int code;
    if (!ctx) return -1;
    if (ctx->finished) return ctx->final_code;
    code = fr__di_run_scope(ctx, FR_DI_SCOPE_FUNCTION, fr__di_code(ctx, failed));
    /* FastAPI: the error leaves the function-scoped exit stack and unwinds
     * the request-scoped one */
    fr_di_ctx_set_failed(ctx, code);
    return code;
}

int fr_di_ctx_finish(fr_di_ctx *ctx, int failed) {
    int code;
    if (!ctx) return -1;
    if (ctx->finished) return ctx->final_code;
    ctx->finished = 1;
    ctx->active = 0;
    ctx->pending = 0;
    ctx->need_skipped = 0;
    code = fr__di_run_scope(ctx, FR_DI_SCOPE_FUNCTION, fr__di_code(ctx, failed));
    code = fr__di_run_scope(ctx, FR_DI_SCOPE_REQUEST, code);
    ctx->final_code = code;
    return code;
}
