/* ---- router.h: radix-tree router ---- */

/* Pattern syntax: "/users/{id}", "/users/{id:int}", "/x/{v:float}",
 * "/files/{p:path}" (matches the rest, slashes included). Static segments
 * beat parameters; lookup cost depends on path length, not route count.
 *
 * Parameters (Starlette's convertors; names are [A-Za-z_][A-Za-z0-9_]*):
 *   {name} {name:str}  one non-empty segment, no '/'       [^/]+
 *   {name:int}         digits only (no sign)                [0-9]+
 *                      whose value fits int64_t (leading zeros allowed): a
 *                      longer or larger run does NOT match (404, or the next
 *                      route), so fr_req_param_int never sees an overflow.
 *                      unbounded_ints (fr_router_opts) matches any digit run,
 *                      as Starlette (the Python face: Python ints).
 *   {name:float}       digits, optional fraction            [0-9]+(\.[0-9]+)?
 *   {name:uuid}        8-4-4-4-12 hex digits, any case, each of the four
 *                      dashes optional (Starlette 1.x's regex); the value
 *                      is the matched text: fr_parse_uuid reads the 32-
 *                      and 36-byte forms
 *   {name:path}        the rest of the path, may be empty   .*   (whole, last segment)
 * A segment may mix text and parameters ("/files/{name}.{ext}", "/v{n:int}")
 * as long as parameters are separated by text; like Starlette's regex,
 * earlier parameters take as much as they can ("a.b.c" -> name "a.b", ext
 * "c"). Such a mixed pattern only matches path segments up to 1024 bytes
 * (its matcher is linear and allocation-free; it uses ~9 KiB of stack).
 *
 * Priority at each segment, tried in this order with backtracking when a
 * deeper segment fails: static text, int, float, uuid, mixed segments (in
 * registration order), str, path. (Starlette tries routes in registration
 * order instead; the two agree unless routes overlap.) A FOUND match
 * anywhere beats a path-only (405) match, like Starlette's FULL vs PARTIAL.
 * Routes that differ only in parameter names share a tree node: one route
 * per method there ("/a/{x}" GET + "/a/{y}" POST is fine, each reports its
 * own names; "/a/{x}" GET + "/a/{y}" GET is a duplicate).
 *
 * Methods are matched case-sensitively against the registered method,
 * which fr_router_add upper-cases ("get" registers GET, like Starlette).
 * Exact method first, then HEAD -> GET (unless no_head_from_get), then "*".
 *
 * Paths: must start with '/'. "/a/" is "/a" plus an empty last segment;
 * empty segments ("//") only match patterns that spell them literally.
 *
 * Thread safety: fr_router_match only reads the router (no allocation, no
 * writes), so any number of threads may match concurrently once all routes
 * are added. fr_router_add must not run concurrently with anything. */

enum fr_param_type { FR_PARAM_STR = 0, FR_PARAM_INT, FR_PARAM_FLOAT, FR_PARAM_PATH, FR_PARAM_UUID };

/* fr_err.code values set by fr_router_add. */
enum fr_router_error {
    FR_ROUTER_E_ARG = 1,   /* NULL router/method/pattern, bad method token */
    FR_ROUTER_E_PATTERN,   /* malformed pattern; err->pos = byte offset */
    FR_ROUTER_E_DUPLICATE, /* same method and same pattern shape */
    FR_ROUTER_E_NOMEM
};

typedef struct fr_router fr_router;

typedef struct fr_route_param {
    fr_str name;  /* points into the router (valid while it lives) */
    fr_str value; /* points into the matched path */
    int type;     /* enum fr_param_type */
} fr_route_param;

enum fr_match_status {
    FR_MATCH_FOUND = 200,
    FR_MATCH_REDIRECT = 307,  /* only the other trailing-slash form exists */
    FR_MATCH_NOT_FOUND = 404,
    FR_MATCH_METHOD = 405     /* path exists, method doesn't: see allow */
};

typedef struct fr_match {
    int status;       /* enum fr_match_status */
    void *data;       /* the value given to fr_router_add (FOUND only) */
    fr_str pattern;   /* the route's pattern as registered (FOUND only) */
    size_t num_params;
    fr_route_param params[FR_MAX_ROUTE_PARAMS];
    fr_str allow;     /* 405: "GET, POST" (methods of that path, registration order;
                         see fr_router_add_group) */
    int redirect_add_slash; /* 307: 1 = redirect to path + "/", 0 = strip the trailing
                               "/"s (all of them, like Starlette's rstrip: "/a//" -> "/a") */
} fr_match;

typedef struct fr_router_opts {
    int no_head_from_get;     /* 0: HEAD falls back to the GET route */
    int no_redirect_slashes;  /* 0: report FR_MATCH_REDIRECT like FastAPI */
    int unbounded_ints;       /* 1: {x:int} matches any [0-9]+ (0: only values in int64_t) */
} fr_router_opts;

FR_API fr_router *fr_router_new(const fr_router_opts *opts); /* NULL = defaults */
FR_API void fr_router_free(fr_router *r);

/* Register `data` for method + pattern. Returns 0, or -1 with err->msg for a
 * malformed pattern, an unknown {name:type}, too many params, a duplicate
 * method+pattern, or OOM. method "*" matches any method. */
FR_API int fr_router_add(fr_router *r, const char *method, const char *pattern, void *data,
                         fr_err *err);
/* fr_router_add for a route that is one method of a group (a Starlette
 * route of several methods: FastAPI's @app.get and @app.post on one path
 * are two groups). group 0 = none. A path's 405 allow lists the methods of
 * its group-0 routes and of the first group registered on it, as Starlette
 * answers with the first route that matched the path. */
FR_API int fr_router_add_group(fr_router *r, const char *method, const char *pattern, void *data,
                               unsigned group, fr_err *err);

/* Match a percent-DECODED path. Fills m; returns m->status. No allocation.
 * 405 reports the allow list of the highest-priority node that matched the
 * path. 307 (redirect_slashes) only when nothing matched the path at all and
 * the other trailing-slash form matches with any method (FOUND or 405), like
 * Starlette; never for "/". */
FR_API int fr_router_match(const fr_router *r, fr_str method, fr_str path, fr_match *m);

/* fr_router_match that also reports how many tree nodes the lookup visited
 * (profiling and tests: shows lookup cost does not grow with route count).
 * `visits` may be NULL. */
FR_API int fr_router_match_ex(const fr_router *r, fr_str method, fr_str path, fr_match *m,
                              size_t *visits);

typedef struct fr_router_stats {
    size_t routes;    /* method+pattern pairs registered */
    size_t nodes;     /* tree nodes, root included */
    size_t max_depth; /* most segments in one pattern */
} fr_router_stats;

/* Fill *out with the router's size. Returns 0, or -1 when r or out is NULL. */
FR_API int fr_router_get_stats(const fr_router *r, fr_router_stats *out);
