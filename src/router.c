/* ---- router.c ---- */
#include "internal.h"

/* Segment tree. A node stands for "the first d segments of the path have
 * been consumed". Its children consume exactly one more segment:
 *   - static children: scanned when few, else found through a hash index;
 *   - one child per whole-segment parameter kind (int, float, uuid, str);
 *   - mixed children ("{name}.{ext}"), keyed by their shape;
 *   - a path child ({p:path}, always last) that takes the rest.
 * Parameter names live in the routes (per route, so "/a/{x}" GET and
 * "/a/{y}" POST share a node). Because every non-path child consumes
 * exactly one segment, a node is always tried at the same path offset, so
 * a lookup visits each node at most once whatever the backtracking. */

enum { FR__RT_INT, FR__RT_FLOAT, FR__RT_UUID, FR__RT_STR, FR__RT_NKIDS };

/* Longest path segment a mixed pattern ("{name}.{ext}") can match. The
 * matcher keeps per-position tables on the stack (about 9 KiB at 1024), and
 * works in O(pieces * length) whatever the input. */
#define FR__RT_MIXED_MAX 1024
#define FR__RT_MAX_PIECES (2 * FR_MAX_ROUTE_PARAMS + 1)
#define FR__RT_WORDS ((FR__RT_MIXED_MAX + 1 + 63) / 64)

/* The mixed matcher's ~9 KiB frame must not be inlined into the recursive
 * tree walk (one frame per path segment). */
#if defined(__GNUC__)
#define FR__RT_NOINLINE __attribute__((noinline))
#else
#define FR__RT_NOINLINE
#endif

/* Up to this many static children are scanned; more get a hash index. */
#define FR__RT_SCAN_MAX 8

typedef struct fr__rt_node fr__rt_node;

typedef struct fr__rt_param {
    fr_str name; /* into route->pattern */
    int type;    /* enum fr_param_type */
} fr__rt_param;

/* One allocation: this header, params[nparams], then the pattern's bytes. */
typedef struct fr__rt_route {
    char method[24]; /* upper-cased, NUL-terminated; "*" = any */
    size_t method_len;
    unsigned group; /* fr_router_add_group; 0 = none */
    char *pattern; /* copy, NUL-terminated, right after params[] */
    size_t pattern_len;
    void *data;
    size_t nparams;
    fr__rt_param params[]; /* in pattern order */
} fr__rt_route;

typedef struct fr__rt_edge {
    char *seg; /* owned, may be empty */
    size_t len;
    uint32_t hash;
    fr__rt_node *node;
} fr__rt_edge;

/* One piece of a mixed segment: literal text or a parameter. */
typedef struct fr__rt_piece {
    int type; /* -1 = literal, else enum fr_param_type */
    size_t off, len; /* literal: into the mixed child's key */
} fr__rt_piece;

typedef struct fr__rt_mixed {
    char *key; /* canonical shape: text with "{s}" "{i}" "{f}" "{u}" */
    size_t key_len;
    fr__rt_piece *pieces;
    size_t npieces, nparams;
    fr__rt_node *node;
} fr__rt_mixed;

struct fr__rt_node {
    fr__rt_edge *statics; /* in insertion order */
    size_t nstatics, capstatics;
    uint32_t *hidx; /* more than FR__RT_SCAN_MAX statics: edge number + 1, 0 = free */
    size_t hcap;    /* power of two */
    fr__rt_node *kids[FR__RT_NKIDS];
    fr__rt_mixed *mixed;
    size_t nmixed;
    fr__rt_node *path; /* {p:path} child: terminal */
    fr__rt_route **routes;
    size_t nroutes;
    char *allow; /* "GET, POST" */
    size_t allow_len;
};

struct fr_router {
    fr_router_opts opts;
    fr__rt_node root;
    size_t nroutes, nnodes, max_depth;
};

/* ------------------------------------------------------------------ */
/* character classes and parameter type checks                        */

static int fr__rt_isdigit(int c) { return c >= '0' && c <= '9'; }

static int fr__rt_is_int(const char *s, size_t n) {
    size_t i;
    if (n == 0) return 0;
    for (i = 0; i < n; i++)
        if (!fr__rt_isdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* A digit run whose value fits int64_t (leading zeros allowed). */
static int fr__rt_int_fits(const char *s, size_t n) {
    static const char max[] = "9223372036854775807";
    while (n > 1 && *s == '0') s++, n--;
    if (n != sizeof max - 1) return n < sizeof max - 1;
    return memcmp(s, max, n) <= 0;
}

/* [0-9]+(\.[0-9]+)? */
static int fr__rt_is_float(const char *s, size_t n) {
    size_t i = 0, j;
    while (i < n && fr__rt_isdigit((unsigned char)s[i])) i++;
    if (i == 0) return 0;
    if (i == n) return 1;
    if (s[i] != '.') return 0;
    j = ++i;
    while (i < n && fr__rt_isdigit((unsigned char)s[i])) i++;
    return i == n && i > j;
}

/* Starlette's UUID convertor, [0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?
 * [0-9a-fA-F]{4}-?[0-9a-fA-F]{12}: the length of the match at s (32 to 36
 * bytes), or 0. Each optional dash is taken when it is there (hex cannot
 * follow in its place), so a match has one length, as the regex's. */
static size_t fr__rt_uuid_len(const char *s, size_t n) {
    static const unsigned char groups[5] = {8, 4, 4, 4, 12};
    size_t i = 0, g, k;
    for (g = 0; g < 5; g++) {
        if (g && i < n && s[i] == '-') i++;
        for (k = 0; k < groups[g]; k++, i++) {
            int c = i < n ? (unsigned char)s[i] : 0;
            if (!(fr__rt_isdigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return 0;
        }
    }
    return i;
}

static int fr__rt_is_uuid(const char *s, size_t n) { return n >= 32 && fr__rt_uuid_len(s, n) == n; }

static int fr__rt_type_ok(const fr_router *r, int type, const char *s, size_t n) {
    switch (type) {
    case FR_PARAM_INT: return fr__rt_is_int(s, n) && (r->opts.unbounded_ints || fr__rt_int_fits(s, n));
    case FR_PARAM_FLOAT: return fr__rt_is_float(s, n);
    case FR_PARAM_UUID: return fr__rt_is_uuid(s, n);
    case FR_PARAM_PATH: return 1;
    default: return n > 0; /* str: non-empty, never contains '/' here */
    }
}

static int fr__rt_kid_of_type(int type) {
    switch (type) {
    case FR_PARAM_INT: return FR__RT_INT;
    case FR_PARAM_FLOAT: return FR__RT_FLOAT;
    case FR_PARAM_UUID: return FR__RT_UUID;
    default: return FR__RT_STR;
    }
}

static const int fr__rt_kid_type[FR__RT_NKIDS] = {FR_PARAM_INT, FR_PARAM_FLOAT, FR_PARAM_UUID,
                                                  FR_PARAM_STR};

static char fr__rt_type_char(int type) {
    switch (type) {
    case FR_PARAM_INT: return 'i';
    case FR_PARAM_FLOAT: return 'f';
    case FR_PARAM_UUID: return 'u';
    default: return 's';
    }
}

/* ------------------------------------------------------------------ */
/* pattern parsing                                                    */

/* One pattern segment, as found by fr__rt_next_seg. */
typedef struct fr__rt_seg {
    size_t start, end; /* [start, end) in the pattern, no '/' */
    int kind;          /* 0 static, 1 one whole parameter, 2 mixed */
    int type;          /* kind 1: the parameter's type */
    size_t nparams;
} fr__rt_seg;

static int fr__rt_fail(fr_err *err, int code, const char *msg, size_t pos) {
    if (err) {
        err->code = code;
        err->msg = msg;
        err->pos = pos;
    }
    return -1;
}

/* A malformed pattern: err->msg "route pattern: <what>", err->pos = pos. */
#define FR__RT_BAD(pos, what) fr__rt_fail(err, FR_ROUTER_E_PATTERN, "route pattern: " what, (pos))
#define FR__RT_NAME_MSG "invalid parameter name (must match [A-Za-z_][A-Za-z0-9_]*)"

static int fr__rt_name_start(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static int fr__rt_name_char(int c) { return fr__rt_name_start(c) || fr__rt_isdigit(c); }

/* Parse "{...}" whose '{' is at pat[i]. On success fills name/type and sets
 * *close to the index of '}'. */
static int fr__rt_parse_brace(const char *pat, size_t i, fr_str *name, int *type, size_t *close,
                              fr_err *err) {
    size_t j = i + 1, k, colon = 0;
    while (pat[j] && pat[j] != '}' && pat[j] != '/' && pat[j] != '{') j++;
    if (pat[j] != '}') {
        if (pat[j] == '{')
            return FR__RT_BAD(j, "nested '{' inside a parameter");
        return FR__RT_BAD(i, "unbalanced '{' (no closing '}' in the segment)");
    }
    for (k = i + 1; k < j; k++)
        if (pat[k] == ':') {
            colon = k;
            break;
        }
    name->buf = pat + i + 1;
    name->len = (colon ? colon : j) - (i + 1);
    if (name->len == 0)
        return FR__RT_BAD(i, "empty parameter name");
    if (!fr__rt_name_start((unsigned char)name->buf[0]))
        return FR__RT_BAD(i + 1, FR__RT_NAME_MSG);
    for (k = 1; k < name->len; k++)
        if (!fr__rt_name_char((unsigned char)name->buf[k]))
            return FR__RT_BAD(i + 1 + k, FR__RT_NAME_MSG);
    if (!colon) {
        *type = FR_PARAM_STR;
    } else {
        fr_str t;
        t.buf = pat + colon + 1;
        t.len = j - colon - 1;
        if (fr_str_eq_c(t, "str")) *type = FR_PARAM_STR;
        else if (fr_str_eq_c(t, "int")) *type = FR_PARAM_INT;
        else if (fr_str_eq_c(t, "float")) *type = FR_PARAM_FLOAT;
        else if (fr_str_eq_c(t, "path")) *type = FR_PARAM_PATH;
        else if (fr_str_eq_c(t, "uuid")) *type = FR_PARAM_UUID;
        else
            return FR__RT_BAD(colon + 1,
                              "unknown parameter type (use str, int, float, uuid or path)");
    }
    *close = j;
    return 0;
}

/* Scan the segment starting at pat[start] (just after a '/'). Appends its
 * parameters to params[*np]. */
static int fr__rt_next_seg(const char *pat, size_t start, fr__rt_seg *sg, fr__rt_param *params,
                           size_t *np, fr_err *err) {
    size_t i = start, nparams = 0;
    int prev_param = 0, has_text = 0;
    sg->start = start;
    sg->type = FR_PARAM_STR;
    while (pat[i] && pat[i] != '/') {
        if (pat[i] == '}')
            return FR__RT_BAD(i, "unbalanced '}' (no opening '{')");
        if (pat[i] == '{') {
            fr_str name;
            int type;
            size_t close, k;
            if (fr__rt_parse_brace(pat, i, &name, &type, &close, err)) return -1;
            if (prev_param)
                return FR__RT_BAD(i, "adjacent parameters need literal text between them");
            if (*np >= FR_MAX_ROUTE_PARAMS)
                return FR__RT_BAD(i, "too many parameters (more than FR_MAX_ROUTE_PARAMS)");
            for (k = 0; k < *np; k++)
                if (fr_str_eq(params[k].name, name))
                    return FR__RT_BAD(i, "duplicate parameter name");
            params[*np].name = name;
            params[*np].type = type;
            (*np)++;
            nparams++;
            sg->type = type;
            prev_param = 1;
            i = close + 1;
        } else {
            prev_param = 0;
            has_text = 1;
            i++;
        }
    }
    sg->end = i;
    sg->nparams = nparams;
    sg->kind = nparams == 0 ? 0 : (nparams == 1 && !has_text) ? 1 : 2;
    if (nparams && (sg->kind == 2 || sg->type == FR_PARAM_PATH)) {
        size_t k;
        for (k = *np - nparams; k < *np; k++)
            if (params[k].type == FR_PARAM_PATH) {
                if (sg->kind == 2 || pat[i] != 0)
                    return FR__RT_BAD(start,
                                      "a {name:path} parameter must be the whole last segment");
            }
    }
    return 0;
}

/* Validate a whole pattern; fills params and the segment count. */
static int fr__rt_parse(const char *pat, fr__rt_param *params, size_t *np, size_t *nsegs,
                        fr_err *err) {
    size_t i = 1, n = 0;
    fr__rt_seg sg;
    *np = 0;
    if (pat[0] != '/') return FR__RT_BAD(0, "must start with '/'");
    for (;;) {
        if (fr__rt_next_seg(pat, i, &sg, params, np, err)) return -1;
        n++;
        if (!pat[sg.end]) break;
        i = sg.end + 1;
    }
    *nsegs = n;
    return 0;
}
#undef FR__RT_NAME_MSG
#undef FR__RT_BAD

/* ------------------------------------------------------------------ */
/* tree building                                                      */

static fr__rt_node *fr__rt_node_new(fr_router *r) {
    fr__rt_node *n = (fr__rt_node *)FR_MALLOC(sizeof *n);
    if (n) {
        memset(n, 0, sizeof *n);
        r->nnodes++;
    }
    return n;
}

static int fr__rt_seg_cmp(const char *a, size_t alen, const char *b, size_t blen) {
    if (alen != blen) return alen < blen ? -1 : 1;
    return alen ? memcmp(a, b, alen) : 0;
}

/* FNV-1a over the segment's bytes. */
static uint32_t fr__rt_hash(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The static child for this exact segment, or NULL. Few children: a scan
 * (length first); many: the open-addressing index over the edges. */
static fr__rt_node *fr__rt_find_static(const fr__rt_node *nd, const char *s, size_t len) {
    size_t i;
    if (!nd->hidx) {
        for (i = 0; i < nd->nstatics; i++) {
            const fr__rt_edge *e = &nd->statics[i];
            if (e->len == len && (len == 0 || memcmp(e->seg, s, len) == 0)) return e->node;
        }
        return NULL;
    } else {
        uint32_t h = fr__rt_hash(s, len);
        size_t mask = nd->hcap - 1;
        for (i = h & mask;; i = (i + 1) & mask) {
            uint32_t k = nd->hidx[i];
            const fr__rt_edge *e;
            if (!k) return NULL;
            e = &nd->statics[k - 1];
            if (e->hash == h && e->len == len && (len == 0 || memcmp(e->seg, s, len) == 0))
                return e->node;
        }
    }
}

static void fr__rt_hidx_put(uint32_t *idx, size_t cap, const fr__rt_edge *e, uint32_t k) {
    size_t i, mask = cap - 1;
    for (i = e->hash & mask; idx[i]; i = (i + 1) & mask) {
    }
    idx[i] = k;
}

/* Index edge number nd->nstatics - 1; grows the index (load <= 1/2). */
static int fr__rt_hidx_add(fr__rt_node *nd) {
    size_t n = nd->nstatics;
    if (n <= FR__RT_SCAN_MAX) return 0;
    if (!nd->hidx || n * 2 > nd->hcap) {
        size_t cap = nd->hcap ? nd->hcap : 32, i;
        uint32_t *idx;
        while (n * 2 > cap) cap *= 2;
        idx = (uint32_t *)FR_MALLOC(cap * sizeof *idx);
        if (!idx) return -1;
        memset(idx, 0, cap * sizeof *idx);
        for (i = 0; i < n; i++) fr__rt_hidx_put(idx, cap, &nd->statics[i], (uint32_t)(i + 1));
        FR_FREE(nd->hidx);
        nd->hidx = idx;
        nd->hcap = cap;
        return 0;
    }
    fr__rt_hidx_put(nd->hidx, nd->hcap, &nd->statics[n - 1], (uint32_t)n);
    return 0;
}

static fr__rt_node *fr__rt_get_static(fr_router *r, fr__rt_node *nd, const char *s, size_t len) {
    fr__rt_node *child = fr__rt_find_static(nd, s, len);
    fr__rt_edge *e;
    char *seg;
    if (child) return child;
    if (nd->nstatics >= UINT32_MAX - 1) return NULL;
    if (nd->nstatics == nd->capstatics) {
        size_t cap = nd->capstatics ? nd->capstatics * 2 : 4;
        fr__rt_edge *ns = (fr__rt_edge *)FR_REALLOC(nd->statics, cap * sizeof *ns);
        if (!ns) return NULL;
        nd->statics = ns;
        nd->capstatics = cap;
    }
    seg = (char *)FR_MALLOC(len + 1);
    if (!seg) return NULL;
    child = fr__rt_node_new(r);
    if (!child) {
        FR_FREE(seg);
        return NULL;
    }
    if (len) memcpy(seg, s, len);
    seg[len] = 0;
    e = &nd->statics[nd->nstatics++];
    e->seg = seg;
    e->len = len;
    e->hash = fr__rt_hash(s, len);
    e->node = child;
    if (fr__rt_hidx_add(nd)) {
        nd->nstatics--;
        FR_FREE(seg);
        FR_FREE(child);
        r->nnodes--;
        return NULL;
    }
    return child;
}

static fr__rt_node *fr__rt_get_kid(fr_router *r, fr__rt_node **slot) {
    if (!*slot) *slot = fr__rt_node_new(r);
    return *slot;
}

/* Mixed segment child, keyed by its canonical shape. */
static fr__rt_node *fr__rt_get_mixed(fr_router *r, fr__rt_node *nd, const char *pat,
                                     const fr__rt_seg *sg, const fr__rt_param *segparams) {
    size_t i, klen = 0, np = 0, npieces = 0, pi = 0;
    char *key;
    fr__rt_piece *pieces;
    fr__rt_mixed *nm;
    /* key: text as is, each parameter as "{t}" */
    for (i = sg->start; i < sg->end;) {
        if (pat[i] == '{') {
            while (pat[i] != '}') i++;
            i++;
            klen += 3;
            npieces++;
        } else {
            if (i == sg->start || pat[i - 1] == '}') npieces++;
            klen++;
            i++;
        }
    }
    key = (char *)FR_MALLOC(klen + 1);
    if (!key) return NULL;
    klen = 0;
    for (i = sg->start; i < sg->end;) {
        if (pat[i] == '{') {
            while (pat[i] != '}') i++;
            i++;
            key[klen++] = '{';
            key[klen++] = fr__rt_type_char(segparams[np++].type);
            key[klen++] = '}';
        } else {
            key[klen++] = pat[i++];
        }
    }
    key[klen] = 0;
    for (i = 0; i < nd->nmixed; i++)
        if (fr__rt_seg_cmp(nd->mixed[i].key, nd->mixed[i].key_len, key, klen) == 0) {
            FR_FREE(key);
            return nd->mixed[i].node;
        }
    pieces = (fr__rt_piece *)FR_MALLOC(npieces * sizeof *pieces);
    if (!pieces) {
        FR_FREE(key);
        return NULL;
    }
    np = 0;
    for (i = 0; i < klen;) {
        if (key[i] == '{') {
            int t = key[i + 1];
            pieces[pi].type = t == 'i'   ? FR_PARAM_INT
                              : t == 'f' ? FR_PARAM_FLOAT
                              : t == 'u' ? FR_PARAM_UUID
                                         : FR_PARAM_STR;
            pieces[pi].off = pieces[pi].len = 0;
            pi++;
            np++;
            i += 3;
        } else {
            size_t s = i;
            while (i < klen && key[i] != '{') i++;
            pieces[pi].type = -1;
            pieces[pi].off = s;
            pieces[pi].len = i - s;
            pi++;
        }
    }
    nm = (fr__rt_mixed *)FR_REALLOC(nd->mixed, (nd->nmixed + 1) * sizeof *nm);
    if (!nm) {
        FR_FREE(pieces);
        FR_FREE(key);
        return NULL;
    }
    nd->mixed = nm;
    nm = &nd->mixed[nd->nmixed];
    nm->node = fr__rt_node_new(r);
    if (!nm->node) {
        FR_FREE(pieces);
        FR_FREE(key);
        return NULL;
    }
    nm->key = key;
    nm->key_len = klen;
    nm->pieces = pieces;
    nm->npieces = pi;
    nm->nparams = np;
    nd->nmixed++;
    return nm->node;
}

static void fr__rt_node_free(fr__rt_node *n, int self) {
    size_t i;
    if (!n) return;
    for (i = 0; i < n->nstatics; i++) {
        fr__rt_node_free(n->statics[i].node, 1);
        FR_FREE(n->statics[i].seg);
    }
    FR_FREE(n->statics);
    FR_FREE(n->hidx);
    for (i = 0; i < FR__RT_NKIDS; i++) fr__rt_node_free(n->kids[i], 1);
    for (i = 0; i < n->nmixed; i++) {
        fr__rt_node_free(n->mixed[i].node, 1);
        FR_FREE(n->mixed[i].key);
        FR_FREE(n->mixed[i].pieces);
    }
    FR_FREE(n->mixed);
    fr__rt_node_free(n->path, 1);
    for (i = 0; i < n->nroutes; i++) FR_FREE(n->routes[i]);
    FR_FREE(n->routes);
    FR_FREE(n->allow);
    if (self) FR_FREE(n);
}

/* "GET, POST": the node's methods in registration order, plus `extra`
 * (the route being added, of group `extra_group`): group-0 routes and those
 * of the first group on the node (fr_router_add_group). */
static char *fr__rt_build_allow(const fr__rt_node *nd, const char *extra, size_t extra_len,
                                unsigned extra_group, size_t *out_len) {
    size_t i, len = 0;
    unsigned first = extra_group;
    char *s, *p;
    for (i = 0; i < nd->nroutes; i++)
        if (nd->routes[i]->group) {
            first = nd->routes[i]->group;
            break;
        }
    for (i = 0; i < nd->nroutes; i++)
        if (!nd->routes[i]->group || nd->routes[i]->group == first) len += nd->routes[i]->method_len + 2;
    if (!extra_group || extra_group == first) len += extra_len;
    s = (char *)FR_MALLOC(len + 1);
    if (!s) return NULL;
    p = s;
    for (i = 0; i < nd->nroutes; i++) {
        if (nd->routes[i]->group && nd->routes[i]->group != first) continue;
        memcpy(p, nd->routes[i]->method, nd->routes[i]->method_len);
        p += nd->routes[i]->method_len;
        *p++ = ',';
        *p++ = ' ';
    }
    if (!extra_group || extra_group == first) {
        memcpy(p, extra, extra_len);
        p += extra_len;
    } else if (p > s) {
        p -= 2; /* the trailing ", " */
    }
    *p = 0;
    *out_len = (size_t)(p - s);
    return s;
}

/* RFC 9110 token characters. */
static int fr__rt_tchar(int c) {
    if (fr__rt_name_char(c)) return 1;
    return c != 0 && strchr("!#$%&'*+-.^`|~", c) != NULL;
}

fr_router *fr_router_new(const fr_router_opts *opts) {
    fr_router *r = (fr_router *)FR_MALLOC(sizeof *r);
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    if (opts) r->opts = *opts;
    r->nnodes = 1;
    return r;
}

void fr_router_free(fr_router *r) {
    if (!r) return;
    fr__rt_node_free(&r->root, 0);
    FR_FREE(r);
}

int fr_router_add(fr_router *r, const char *method, const char *pattern, void *data, fr_err *err) {
    return fr_router_add_group(r, method, pattern, data, 0, err);
}

int fr_router_add_group(fr_router *r, const char *method, const char *pattern, void *data, unsigned group,
                        fr_err *err) {
    fr__rt_route *rt;
    fr__rt_param params[FR_MAX_ROUTE_PARAMS];
    char meth[sizeof rt->method];
    size_t mlen, np = 0, nsegs = 0, i, plen, allow_len = 0;
    fr__rt_node *nd;
    fr__rt_route **nr;
    char *allow;

    if (err) {
        err->code = 0;
        err->msg = NULL;
        err->pos = 0;
    }
    if (!r || !method || !pattern)
        return fr__rt_fail(err, FR_ROUTER_E_ARG, "fr_router_add: NULL router, method or pattern",
                           0);
    mlen = strlen(method);
    if (mlen == 0 || mlen >= sizeof meth)
        return fr__rt_fail(err, FR_ROUTER_E_ARG, "route method: empty or longer than 23 bytes", 0);
    for (i = 0; i < mlen; i++) {
        int c = (unsigned char)method[i];
        if (!fr__rt_tchar(c) || (c == '*' && mlen != 1))
            return fr__rt_fail(err, FR_ROUTER_E_ARG,
                               "route method: invalid character (want an HTTP token like GET, "
                               "or \"*\")",
                               i);
        meth[i] = (char)(c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    meth[mlen] = 0;
    if (fr__rt_parse(pattern, params, &np, &nsegs, err)) return -1;

    /* walk the tree, creating what is missing */
    nd = &r->root;
    {
        size_t start = 1, sn = 0;
        fr__rt_seg sg;
        fr__rt_param scratch[FR_MAX_ROUTE_PARAMS];
        for (;;) {
            size_t before = sn;
            (void)fr__rt_next_seg(pattern, start, &sg, scratch, &sn, NULL); /* validated above */
            if (sg.kind == 0)
                nd = fr__rt_get_static(r, nd, pattern + sg.start, sg.end - sg.start);
            else if (sg.kind == 1 && sg.type == FR_PARAM_PATH)
                nd = fr__rt_get_kid(r, &nd->path);
            else if (sg.kind == 1)
                nd = fr__rt_get_kid(r, &nd->kids[fr__rt_kid_of_type(sg.type)]);
            else
                nd = fr__rt_get_mixed(r, nd, pattern, &sg, scratch + before);
            /* nodes created before an OOM stay: empty, they never match */
            if (!nd) return fr__rt_fail(err, FR_ROUTER_E_NOMEM, "fr_router_add: out of memory", 0);
            if (!pattern[sg.end]) break;
            start = sg.end + 1;
        }
    }

    for (i = 0; i < nd->nroutes; i++)
        if (strcmp(nd->routes[i]->method, meth) == 0)
            return fr__rt_fail(err, FR_ROUTER_E_DUPLICATE,
                               "duplicate route: this method is already registered for this path "
                               "(same pattern, or same shape with other parameter names)",
                               0);

    plen = strlen(pattern);
    rt = (fr__rt_route *)FR_MALLOC(sizeof *rt + np * sizeof rt->params[0] + plen + 1);
    allow = fr__rt_build_allow(nd, meth, mlen, group, &allow_len);
    nr = (fr__rt_route **)FR_REALLOC(nd->routes, (nd->nroutes + 1) * sizeof *nr);
    if (nr) nd->routes = nr;
    if (!rt || !allow || !nr) {
        FR_FREE(rt);
        FR_FREE(allow);
        return fr__rt_fail(err, FR_ROUTER_E_NOMEM, "fr_router_add: out of memory", 0);
    }
    memcpy(rt->method, meth, mlen + 1);
    rt->method_len = mlen;
    rt->group = group;
    rt->pattern = (char *)(rt->params + np);
    memcpy(rt->pattern, pattern, plen + 1);
    rt->pattern_len = plen;
    rt->data = data;
    rt->nparams = np;
    for (i = 0; i < np; i++) {
        rt->params[i].type = params[i].type;
        rt->params[i].name.buf = rt->pattern + (params[i].name.buf - pattern);
        rt->params[i].name.len = params[i].name.len;
    }
    nd->routes[nd->nroutes++] = rt;
    FR_FREE(nd->allow);
    nd->allow = allow;
    nd->allow_len = allow_len;
    r->nroutes++;
    if (nsegs > r->max_depth) r->max_depth = nsegs;
    return 0;
}

int fr_router_get_stats(const fr_router *r, fr_router_stats *out) {
    if (!r || !out) return -1;
    out->routes = r->nroutes;
    out->nodes = r->nnodes;
    out->max_depth = r->max_depth;
    return 0;
}

/* ------------------------------------------------------------------ */
/* matching                                                           */

typedef struct fr__rt_ctx {
    const fr_router *r;
    const char *p; /* the path */
    size_t n;      /* its real length */
    size_t vn;     /* virtual length: n, or n + 1 when probing path + "/" */
    fr_str method;
    fr_str caps[FR_MAX_ROUTE_PARAMS];
    size_t ncaps;
    const fr__rt_route *found;
    const fr__rt_node *partial;
    size_t visits;
    int head;    /* HEAD may fall back to GET */
} fr__rt_ctx;

static const fr__rt_route *fr__rt_pick(const fr__rt_ctx *c, const fr__rt_node *nd) {
    size_t i;
    const fr__rt_route *get = NULL, *any = NULL;
    int head = c->head;
    for (i = 0; i < nd->nroutes; i++) {
        const fr__rt_route *rt = nd->routes[i];
        if (rt->method_len == c->method.len &&
            memcmp(rt->method, c->method.buf, rt->method_len) == 0)
            return rt;
        if (head && rt->method_len == 3 && memcmp(rt->method, "GET", 3) == 0) get = rt;
        if (rt->method_len == 1 && rt->method[0] == '*') any = rt;
    }
    return get ? get : any;
}

/* The path has been fully consumed at nd. */
static int fr__rt_terminal(fr__rt_ctx *c, const fr__rt_node *nd) {
    const fr__rt_route *rt;
    if (!nd->nroutes) return 0;
    rt = fr__rt_pick(c, nd);
    if (rt) {
        c->found = rt;
        return 1;
    }
    if (!c->partial) c->partial = nd;
    return 0;
}

static int fr__rt_dfs(fr__rt_ctx *c, const fr__rt_node *nd, size_t pos);

static int fr__rt_step(fr__rt_ctx *c, const fr__rt_node *child, size_t e) {
    c->visits++;
    return e == c->vn ? fr__rt_terminal(c, child) : fr__rt_dfs(c, child, e + 1);
}

static int fr__rt_bit(const uint64_t *b, size_t i) { return (int)((b[i >> 6] >> (i & 63)) & 1u); }
static void fr__rt_setbit(uint64_t *b, size_t i) { b[i >> 6] |= (uint64_t)1 << (i & 63); }

/* Match a mixed segment the way Starlette's regex would: every parameter
 * takes the longest text that still lets the rest match. Instead of
 * backtracking (exponential on hostile input), compute backwards, for each
 * piece i, the set ok[i] of offsets from which pieces i.. match the rest of
 * the segment; then walk forwards, each parameter taking the longest end
 * that lands in the next piece's set. Captures go to c->caps. */
static FR__RT_NOINLINE int fr__rt_mixed_match(fr__rt_ctx *c, const fr__rt_mixed *mx,
                                              const char *seg, size_t n) {
    uint64_t ok[FR__RT_MAX_PIECES + 1][FR__RT_WORDS];
    uint16_t run[FR__RT_MIXED_MAX + 2]; /* digits starting at p */
    uint16_t nxt[FR__RT_MIXED_MAX + 2]; /* smallest offset > p in ok[i + 1], n + 1 = none */
    size_t i, p, e, k = mx->npieces, words = n / 64 + 1, base = c->ncaps;
    if (n > FR__RT_MIXED_MAX || k > FR__RT_MAX_PIECES) return 0;
    run[n] = 0;
    run[n + 1] = 0;
    for (p = n; p-- > 0;)
        run[p] = fr__rt_isdigit((unsigned char)seg[p]) ? (uint16_t)(run[p + 1] + 1) : 0;
    memset(ok[k], 0, words * sizeof ok[k][0]);
    fr__rt_setbit(ok[k], n);
    for (i = k; i-- > 0;) {
        const fr__rt_piece *pc = &mx->pieces[i];
        uint64_t *cur = ok[i];
        const uint64_t *next = ok[i + 1];
        memset(cur, 0, words * sizeof cur[0]);
        if (pc->type < 0) {
            for (p = 0; p + pc->len <= n; p++)
                if (fr__rt_bit(next, p + pc->len) &&
                    memcmp(seg + p, mx->key + pc->off, pc->len) == 0)
                    fr__rt_setbit(cur, p);
            continue;
        }
        e = n + 1;
        for (p = n + 1; p-- > 0;) {
            nxt[p] = (uint16_t)e;
            if (fr__rt_bit(next, p)) e = p;
        }
        for (p = 0; p < n; p++) {
            int good;
            size_t q = p + run[p];
            switch (pc->type) {
            case FR_PARAM_INT: good = run[p] && nxt[p] <= q; break;
            case FR_PARAM_FLOAT: /* digits, or digits '.' digits */
                good = run[p] && (nxt[p] <= q || (q < n && seg[q] == '.' && run[q + 1] &&
                                                  nxt[q + 1] <= q + 1 + run[q + 1]));
                break;
            case FR_PARAM_UUID: {
                size_t len = fr__rt_uuid_len(seg + p, n - p);
                good = len && fr__rt_bit(next, p + len);
                break;
            }
            default: good = nxt[p] <= n; break; /* str: any non-empty text */
            }
            if (good) fr__rt_setbit(cur, p);
        }
    }
    if (!fr__rt_bit(ok[0], 0)) return 0;
    for (i = 0, p = 0; i < k; i++) {
        const fr__rt_piece *pc = &mx->pieces[i];
        const uint64_t *next = ok[i + 1];
        size_t q = p + run[p];
        if (pc->type < 0) {
            p += pc->len;
            continue;
        }
        switch (pc->type) {
        case FR_PARAM_INT:
            for (e = q; !fr__rt_bit(next, e); e--) {
            }
            break;
        case FR_PARAM_FLOAT:
            e = 0;
            if (q < n && seg[q] == '.' && run[q + 1])
                for (e = q + 1 + run[q + 1]; e > q + 1 && !fr__rt_bit(next, e); e--) {
                }
            if (e <= q + 1)
                for (e = q; !fr__rt_bit(next, e); e--) {
                }
            break;
        case FR_PARAM_UUID: e = p + fr__rt_uuid_len(seg + p, n - p); break;
        default:
            for (e = n; !fr__rt_bit(next, e); e--) {
            }
            break;
        }
        if (pc->type == FR_PARAM_INT && !c->r->opts.unbounded_ints && !fr__rt_int_fits(seg + p, e - p)) {
            c->ncaps = base;
            return 0; /* an int that overflows int64 does not match (router.h) */
        }
        c->caps[c->ncaps].buf = seg + p;
        c->caps[c->ncaps].len = e - p;
        c->ncaps++;
        p = e;
    }
    return 1;
}

static int fr__rt_step_cap(fr__rt_ctx *c, const fr__rt_node *child, const char *buf, size_t len,
                           size_t e) {
    c->caps[c->ncaps].buf = buf;
    c->caps[c->ncaps].len = len;
    c->ncaps++;
    if (fr__rt_step(c, child, e)) return 1;
    c->ncaps--;
    return 0;
}

/* Try the children of nd against the segment that starts at pos. */
static int fr__rt_dfs(fr__rt_ctx *c, const fr__rt_node *nd, size_t pos) {
    size_t e, k, base = c->ncaps, slen;
    const char *sbuf;
    if (pos <= c->n) {
        const char *sl = c->n > pos ? (const char *)memchr(c->p + pos, '/', c->n - pos) : NULL;
        e = sl ? (size_t)(sl - c->p) : c->n;
        sbuf = c->p + pos;
    } else { /* the empty segment after a virtual trailing "/" */
        e = pos;
        sbuf = c->p + c->n;
    }
    slen = e - pos;
    if (nd->nstatics) {
        const fr__rt_node *st = fr__rt_find_static(nd, sbuf, slen);
        if (st && fr__rt_step(c, st, e)) return 1;
    }
    if (slen == 0) goto path; /* only static "" and {p:path} match an empty segment */
    for (k = FR__RT_INT; k <= FR__RT_UUID; k++) {
        const fr__rt_node *kid = nd->kids[k];
        if (kid && fr__rt_type_ok(c->r, fr__rt_kid_type[k], sbuf, slen) &&
            fr__rt_step_cap(c, kid, sbuf, slen, e))
            return 1;
    }
    for (k = 0; k < nd->nmixed; k++) {
        if (fr__rt_mixed_match(c, &nd->mixed[k], sbuf, slen) &&
            fr__rt_step(c, nd->mixed[k].node, e))
            return 1;
        c->ncaps = base;
    }
    if (nd->kids[FR__RT_STR] && fr__rt_step_cap(c, nd->kids[FR__RT_STR], sbuf, slen, e)) return 1;
path:
    if (nd->path) { /* .* over the rest, slashes included */
        size_t a = FR__MIN(pos, c->n), b = FR__MIN(c->vn, c->n);
        c->caps[c->ncaps].buf = c->p + a;
        c->caps[c->ncaps].len = b - a;
        c->ncaps++;
        c->visits++;
        if (fr__rt_terminal(c, nd->path)) return 1;
        c->ncaps = base;
    }
    return 0;
}

/* Match the path's first n bytes, plus a virtual "/" when add_slash.
 * 1 = found, 2 = path matched with another method, 0 = nothing. */
static int fr__rt_run(fr__rt_ctx *c, size_t n, int add_slash) {
    c->n = n;
    c->vn = n + (add_slash ? 1 : 0);
    c->ncaps = 0;
    c->found = NULL;
    c->partial = NULL;
    if (fr__rt_dfs(c, &c->r->root, 1)) return 1;
    return c->partial ? 2 : 0;
}

int fr_router_match_ex(const fr_router *r, fr_str method, fr_str path, fr_match *m,
                       size_t *visits) {
    fr__rt_ctx c;
    int res;
    if (visits) *visits = 0;
    if (!m) return FR_MATCH_NOT_FOUND;
    m->status = FR_MATCH_NOT_FOUND;
    m->data = NULL;
    m->pattern.buf = NULL;
    m->pattern.len = 0;
    m->num_params = 0;
    m->allow.buf = NULL;
    m->allow.len = 0;
    m->redirect_add_slash = 0;
    if (!r || !path.buf || path.len == 0 || path.buf[0] != '/' || (!method.buf && method.len))
        return m->status;
    if (!method.buf) method.buf = "";
    c.r = r;
    c.p = path.buf;
    c.method = method;
    c.visits = 0;
    c.head = !r->opts.no_head_from_get && fr_str_eq_c(method, "HEAD");
    res = fr__rt_run(&c, path.len, 0);
    if (res == 1) {
        size_t i;
        const fr__rt_route *rt = c.found;
        m->status = FR_MATCH_FOUND;
        m->data = rt->data;
        m->pattern.buf = rt->pattern;
        m->pattern.len = rt->pattern_len;
        m->num_params = rt->nparams;
        for (i = 0; i < rt->nparams && i < c.ncaps; i++) {
            m->params[i].name = rt->params[i].name;
            m->params[i].value = c.caps[i];
            m->params[i].type = rt->params[i].type;
        }
    } else if (res == 2) {
        m->status = FR_MATCH_METHOD;
        m->allow.buf = c.partial->allow;
        m->allow.len = c.partial->allow_len;
    } else if (!r->opts.no_redirect_slashes && path.len > 1) {
        if (path.buf[path.len - 1] == '/') {
            size_t n = path.len;
            while (n > 0 && path.buf[n - 1] == '/') n--;
            if (n > 0 && fr__rt_run(&c, n, 0)) {
                m->status = FR_MATCH_REDIRECT;
                m->redirect_add_slash = 0;
            }
        } else if (fr__rt_run(&c, path.len, 1)) {
            m->status = FR_MATCH_REDIRECT;
            m->redirect_add_slash = 1;
        }
    }
    if (visits) *visits = c.visits;
    return m->status;
}

int fr_router_match(const fr_router *r, fr_str method, fr_str path, fr_match *m) {
    return fr_router_match_ex(r, method, path, m, NULL);
}
