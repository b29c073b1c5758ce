/* fastrapi_py.c -- the CPython extension `fastrapi._fastrapi`: the glue
 * between Python objects and the C engine in fastrapi.h. It converts and
 * forwards; what decides anything about a request is in the engine:
 *
 *   query/cookie/form pairs   fr_kv_* (src/query.c)      media types  fr_media_*
 *   scalar coercion           fr_parse_* (src/scalar.c)  error bodies fr_error_*
 *   dependency order, cache, skip-after-error, teardown order and scope,
 *   cycles                    fr_di (src/di.c), one registry per route plan
 *   built-in security schemes fr_security_check (src/security.c)
 *   JSON                      fr_json_parse_events / fr_json_write_string
 *
 * Per request no framework Python runs: the route's PLAN (records defined
 * below and exported to Python, built once at decoration time by
 * fastrapi/dependencies/utils.py) is unpacked into C arrays and an fr_di
 * registry; params are read from the engine's request views, the user's
 * callables are called with vectorcall and the return value is encoded to
 * JSON straight from the Python objects.
 *
 * Threads: engine loop threads never take the GIL. A request is queued either
 * to the worker pool (sync routes; C threads that take the GIL and drain the
 * queue in batches, a monitor adds a worker when the active one blocks) or to
 * the asyncio loop thread (async routes; an eventfd registered with
 * loop.add_reader wakes `_drain`). Within a route, `def` providers run on the
 * pool and `async def` ones on the loop; the walk hops between the two
 * queues. A coroutine is driven with send(None) from C right away, inside a
 * Task created for it and entered as the current task (so asyncio.timeout,
 * anyio and current_task() work); the Task only takes over (via the Shim
 * type) if the coroutine really suspends. Post-response work (background
 * tasks, generator teardowns) is queued from the engine's fr_req_on_done
 * callback.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define FASTRAPI_IMPLEMENTATION
/* fr_* exported (setup.py: -fvisibility=hidden keeps the rest private,
 * -fno-semantic-interposition keeps them inlinable): native modules
 * loaded at run time call this engine (src/native.h, fastrapi/native.py) */
#define FASTRAPI_DLL
#include "fastrapi.h"

#include <pthread.h>
#include <unistd.h>
#include <signal.h> /* SIGHUP: TLS reload */
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <math.h>

/* 3.11 lacks PyErr_GetRaisedException/PyErr_SetRaisedException */
static PyObject *frpy_take_exc(void) {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (!t) return NULL;
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb && v) PyException_SetTraceback(v, tb);
    Py_XDECREF(t);
    Py_XDECREF(tb);
    return v;
}
static void frpy_restore_exc(PyObject *e) { /* steals e */
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(e)), e, PyException_GetTraceback(e));
}

/* ------------------------------------------------------------------ */
/* cached Python objects (set once by _fastrapi._setup)                */

static struct {
    PyObject *HTTPException, *RequestValidationError, *ResponseValidationError;
    PyObject *Response, *StreamingResponse, *FileResponse, *ThreadpoolIterator, *rt_adopt_exc;
    PyObject *jsonable_encoder, *decimal_encoder, *json_loads, *JSONDecodeError;
    PyObject *deepcopy, *Request, *BackgroundTasks, *UUID_from_int;
    PyObject *BaseModel, *Enum, *UUID, *Decimal, *date, *time, *dt;
    PyObject *ValidationError, *asdict;
    PyObject *rt_resume, *rt_after, *rt_call_handler, *rt_stream, *rt_log_exc,
        *FormData, *ParamErrors, *rt_parse_multipart, *rt_upload_items, *rt_recompile, *rt_log_access, *rt_unwind_sync,
        *rt_unwind_function, *rt_unwind_error, *rt_format_exc, *rt_file_open, *frontend_files, *rt_endpoint_ctx, *enter_task,
        *leave_task;
    PyObject *loop; /* the asyncio loop (set by _runtime via _set_loop) */
    /* asyncio's Task class when loop.create_task is the stock
     * BaseEventLoop.create_task (frpy_create_task calls the class itself,
     * as that method does, minus its Python frame); NULL = call the method */
    PyObject *task_type;
    /* First steps kept back (frpy_call_soon): the own loop's stock call_soon
     * it stands in for (NULL = not intercepted), the shim whose Task is
     * being made (borrowed, during that call), the step kept back and its
     * context, asyncio's Future.set_result (finishes a Task without one) */
    PyObject *call_soon, *defer_shim, *deferred, *deferred_ctx, *future_set_result;
    PyObject *empty_tuple;
    /* interned names */
    PyObject *s_status_code, *s_raw_headers, *s_body, *s_background, *s_body_iterator,
        *s_model_dump, *s_by_alias, *s_endpoint, *s_router, *s_mode, *s_json, *s_validate_python, *s_dump_json, *s_errors,
        *s_include_url, *s_loc, *s_value, *s_isoformat, *s_from_attributes,
        *s_add_done_callback, *s_result, *s_detail, *s_headers, *s_dataclass_fields, *s_aiter,
        *s_anext, *s_dump_python, *s_create_task, *s_pos, *s_msg, *s_doc, *s_task_factory, *s_debug,
        *s_call_soon, *s_coro_attr, *s_self_attr, *s_must_cancel;
    PyObject *kw_from_attr;  /* ("from_attributes",) */
    PyObject *kw_context;    /* ("context",) */
    PyObject *kw_loop_context; /* ("loop","context") */
    PyObject *kw_credentials[2]; /* ("scheme","credentials"), ("username","password") */
    int ready;
} FRPY;

/* ------------------------------------------------------------------ */
/* the plan: record types shared with Python (one definition)          */

/* Each record is a struct sequence whose fields are listed once here; the
 * extension exports the types and every constant below, and
 * fastrapi/dependencies/utils.py builds them by field name. */
#define FRPY_PARAM_FIELDS(X) X(kwname) X(source) X(key) X(conv) X(required) X(default) \
    X(default_mode) X(adapter) X(loc) X(is_list) X(json_validate)
#define FRPY_NODE_FIELDS(X) X(call) X(kind) X(params) X(deps) X(fresh) X(scope) X(security) X(name)
#define FRPY_SECURITY_FIELDS(X) X(kind) X(auto_error) X(name) X(scheme) X(realm) X(result)
#define FRPY_RESPONSE_FIELDS(X) X(status_code) X(mode) X(adapter) X(dump_kwargs) X(response_class)
#define FRPY_PLAN_FIELDS(X) X(nodes) X(body_mode) X(response) X(route) X(is_async)

#define FRPY_ENUM(n) F_##n,
enum { FRPY_PARAM_FIELDS(FRPY_ENUM) PARAM_NFIELDS };
#undef FRPY_ENUM
#define FRPY_ENUM(n) N_##n,
enum { FRPY_NODE_FIELDS(FRPY_ENUM) NODE_NFIELDS };
#undef FRPY_ENUM
#define FRPY_ENUM(n) S_##n,
enum { FRPY_SECURITY_FIELDS(FRPY_ENUM) SECURITY_NFIELDS };
#undef FRPY_ENUM
#define FRPY_ENUM(n) R_##n,
enum { FRPY_RESPONSE_FIELDS(FRPY_ENUM) RESPONSE_NFIELDS };
#undef FRPY_ENUM
#define FRPY_ENUM(n) P_##n,
enum { FRPY_PLAN_FIELDS(FRPY_ENUM) PLAN_NFIELDS };
#undef FRPY_ENUM

#define FRPY_FIELD(n) {#n, NULL},
static PyStructSequence_Field frpy_param_fields[] = {FRPY_PARAM_FIELDS(FRPY_FIELD){NULL, NULL}};
static PyStructSequence_Field frpy_node_fields[] = {FRPY_NODE_FIELDS(FRPY_FIELD){NULL, NULL}};
static PyStructSequence_Field frpy_security_fields[] = {FRPY_SECURITY_FIELDS(FRPY_FIELD){NULL, NULL}};
static PyStructSequence_Field frpy_response_fields[] = {FRPY_RESPONSE_FIELDS(FRPY_FIELD){NULL, NULL}};
static PyStructSequence_Field frpy_plan_fields[] = {FRPY_PLAN_FIELDS(FRPY_FIELD){NULL, NULL}};
#undef FRPY_FIELD

static PyStructSequence_Desc frpy_record_descs[] = {
    {"fastrapi._fastrapi.PlanParam", "one parameter of a provider", frpy_param_fields, PARAM_NFIELDS},
    {"fastrapi._fastrapi.PlanNode", "one provider (dependency or endpoint)", frpy_node_fields, NODE_NFIELDS},
    {"fastrapi._fastrapi.PlanSecurity", "a built-in security scheme decided in C",
     frpy_security_fields, SECURITY_NFIELDS},
    {"fastrapi._fastrapi.PlanResponse", "how the return value is answered", frpy_response_fields,
     RESPONSE_NFIELDS},
    {"fastrapi._fastrapi.Plan", "a route's compiled plan", frpy_plan_fields, PLAN_NFIELDS},
};
enum { REC_PARAM, REC_NODE, REC_SECURITY, REC_RESPONSE, REC_PLAN, REC_COUNT };
static PyTypeObject *frpy_records[REC_COUNT];

/* parameter sources, conversions, provider kinds, body and response modes */
enum { SRC_PATH, SRC_QUERY, SRC_HEADER, SRC_COOKIE, SRC_BODY, SRC_BODY_FIELD, SRC_FORM_FIELD,
       SRC_REQUEST, SRC_RESPONSE, SRC_BACKGROUND, SRC_CONST, SRC_DEP };
enum { CONV_ANY, CONV_STR, CONV_INT, CONV_FLOAT, CONV_BOOL, CONV_UUID };
enum { KIND_SYNC, KIND_ASYNC, KIND_GEN, KIND_AGEN, KIND_NATIVE };
enum { BODY_NONE, BODY_JSON, BODY_FORM };
enum { RESP_JSON, RESP_DUMP, RESP_CLASS };
enum { DEFAULT_VALUE, DEFAULT_COPY, DEFAULT_FACTORY };

#define FRPY_CONST(n) {#n, n},
static const struct { const char *name; long value; } frpy_constants[] = {
    FRPY_CONST(SRC_PATH) FRPY_CONST(SRC_QUERY) FRPY_CONST(SRC_HEADER) FRPY_CONST(SRC_COOKIE)
    FRPY_CONST(SRC_BODY) FRPY_CONST(SRC_BODY_FIELD) FRPY_CONST(SRC_FORM_FIELD)
    FRPY_CONST(SRC_REQUEST) FRPY_CONST(SRC_RESPONSE) FRPY_CONST(SRC_BACKGROUND)
    FRPY_CONST(SRC_CONST) FRPY_CONST(SRC_DEP)
    FRPY_CONST(CONV_ANY) FRPY_CONST(CONV_STR) FRPY_CONST(CONV_INT) FRPY_CONST(CONV_FLOAT)
    FRPY_CONST(CONV_BOOL) FRPY_CONST(CONV_UUID)
    FRPY_CONST(KIND_SYNC) FRPY_CONST(KIND_ASYNC) FRPY_CONST(KIND_GEN) FRPY_CONST(KIND_AGEN)
    FRPY_CONST(KIND_NATIVE)
    FRPY_CONST(BODY_NONE) FRPY_CONST(BODY_JSON) FRPY_CONST(BODY_FORM)
    FRPY_CONST(RESP_JSON) FRPY_CONST(RESP_DUMP) FRPY_CONST(RESP_CLASS)
    FRPY_CONST(DEFAULT_VALUE) FRPY_CONST(DEFAULT_COPY) FRPY_CONST(DEFAULT_FACTORY)
    {"SCOPE_REQUEST", FR_DI_SCOPE_REQUEST}, {"SCOPE_FUNCTION", FR_DI_SCOPE_FUNCTION},
    {"SEC_OAUTH2", FR_SEC_OAUTH2}, {"SEC_OAUTH2_BEARER", FR_SEC_OAUTH2_BEARER},
    {"SEC_OPENID", FR_SEC_OPENID}, {"SEC_HTTP_BASE", FR_SEC_HTTP_BASE},
    {"SEC_HTTP_BEARER", FR_SEC_HTTP_BEARER}, {"SEC_HTTP_DIGEST", FR_SEC_HTTP_DIGEST},
    {"SEC_HTTP_BASIC", FR_SEC_HTTP_BASIC}, {"SEC_APIKEY_HEADER", FR_SEC_APIKEY_HEADER},
    {"SEC_APIKEY_QUERY", FR_SEC_APIKEY_QUERY}, {"SEC_APIKEY_COOKIE", FR_SEC_APIKEY_COOKIE},
    {"WS_OK", FR_WS_OK}, {"WS_ECLOSED", FR_WS_ECLOSED}, {"WS_EFULL", FR_WS_EFULL},
    {"WS_EINVAL", FR_WS_EINVAL}, {"WS_TEXT", FR_WS_TEXT}, {"WS_BINARY", FR_WS_BINARY},
    {"WS_CLOSE", FR_WS_CLOSE}, {"WS_DRAIN", 100 /* FRPY_WS_DRAIN */},
};
#undef FRPY_CONST

typedef struct pparam {
    PyObject *kwname, *key, *default_, *adapter, *loc; /* borrowed from the plan record */
    PyObject *validator; /* adapter.validate_python (owned), NULL without adapter */
    PyObject *json_validate; /* the whole JSON body from its bytes (borrowed), or NULL */
    char *ckey;       /* UTF-8 key (alias / header name lowercased) */
    size_t ckey_len;
    int source, conv, required, default_mode, is_list, dep;
} pparam;

typedef struct {
    PyObject *call, *kwnames; /* kwnames owned */
    int kind;
    Py_ssize_t nparams;
    pparam *params;
    fr_security sec;       /* kind 0 unless a built-in scheme (KIND_NATIVE) */
    PyObject *sec_result;  /* credentials class, or NULL for a str result */
    char *sec_strs[3];     /* owned copies of sec.name/scheme/realm */
} pnode;

typedef struct pplan {
    PyObject *rec; /* the Plan record: keeps everything alive */
    Py_ssize_t nnodes;
    pnode *nodes;
    fr_di *di;     /* providers 0..nnodes-1; 0 is the endpoint */
    int body_mode, is_async;
    int status_code, resp_mode;
    PyObject *resp_adapter, *dump_kwargs, *resp_class, *route;
    PyObject *resp_validate; /* resp_adapter.validate_python (owned) or NULL */
    struct pparam *json_param; /* the body's one model with a json_validate, or NULL */
    struct pplan *old; /* superseded plans are kept alive (requests may use them) */
} pplan;

struct server;

typedef struct {
    struct server *srv;
    pplan *plan;
    long version;
    PyObject *route_obj;
    char *method, *path; /* for logs */
    /* FastAPI's form_limits (issue 11): (max_files, max_fields, max_part_size)
     * ints, or NULL = Starlette's defaults */
    PyObject *form_limits;
} proute;

/* ------------------------------------------------------------------ */
/* per-request context                                                 */

enum { JOB_RUN, JOB_RESUME, JOB_STREAM, JOB_AFTER, JOB_HANDLER, JOB_AIO_STREAM, JOB_FALLBACK,
       JOB_UNWIND, JOB_FUNWIND, JOB_RECOMPILE, JOB_AIO_PUMP, JOB_BRIDGE,
       JOB_WS /* a Python websocket's events (frpy_ws, not an rctx) */,
       JOB_SFLOW /* a stream's flow-control events (frpy_sflow, not an rctx) */,
       JOB_MW /* @app.middleware: start dispatch(request, call_next) */,
       JOB_MW_DONE /* its task finished */,
       JOB_MWCAP /* call_next's response was captured (frpy_mwreq, not an rctx) */ };

typedef struct rctx {
    fr_job job_link;     /* first: queued on the pool or the loop's mailbox */
    int job;
    int fallback_405;    /* JOB_FALLBACK: a frontend's 405 (no allow header) */
    int handler_level;   /* JOB_HANDLER: 1 the route's, 2 the app's, 3 ServerErrorMiddleware's */
    fr_req *req;
    proute *rt;
    pplan *plan;
    fr_di_ctx *di;       /* the dependency walk (request arena) */
    int need;            /* provider whose NEED is being answered, or -1 */
    PyObject *owned;     /* list: every value produced for the walk */
    PyObject *errors;
    PyObject *body;      /* parsed body or NULL = Undefined */
    int body_parsed;
    PyObject *one_pass; /* the body model, validated from the bytes (frpy_body_one_pass) */
    PyObject *form;      /* list of (name, value) or NULL */
    PyObject *request, *subresp, *bg, *teardowns;
    PyObject *pending;   /* suspended coroutine's task / pending response */
    PyObject *exc;       /* exception to handle (JOB_HANDLER) or passed to teardown */
    PyObject *result;    /* response object being streamed etc */
    PyObject *srv_ref;   /* keeps the server (routes, plans) alive until freed */
    int after_simple;    /* post-response work is only plain generator teardowns */
    int unwound;         /* error path: teardowns already ran before the response */
    PyObject *gen;       /* async generator whose first step is suspended */
    PyObject *ctx;       /* the request's contextvars.Context (FastAPI: its task's) */
    PyObject *asgi;      /* ASGI requests: the face's channel (exceptions go there) */
    PyObject *asgi_scope; /* ASGI requests: the server's scope (middleware keys) */
    PyObject *bodyfile;   /* scope["body"] of a spooled body: closed with the context */
    struct frpy_asgi *asgi_ch; /* ASGI requests: holds the channel open until freed */
    int bstate, bstatus; /* the ASGI bridge: response state (FRPY_B_*) and status */
    struct frpy_sflow *flow; /* a streamed response's flow control, or NULL */
    struct frpy_mwreq *mwr;  /* @app.middleware layer: its around state (middleware section) */
    PyObject *mwcap;         /* ... and the capsule its call_next uses */
    PyObject *gone;          /* scope["fastrapi.client_gone"] (frpy_gone), or NULL */
    int answered;            /* fr_res_send was called: the request is the engine's again */
    int merge_sub;           /* the response is the framework's: the sub-response's headers join */
    int after_counted;       /* counted in srv->live until freed (frpy_count_after) */
} rctx;

/* @app.middleware("http") (the middleware section, near the end) */
struct frpy_mwreq;
static void frpy_mw_start(rctx *c);
static void frpy_mw_done(rctx *c, PyObject *res);
static void frpy_mw_captured(struct frpy_mwreq *mr);
static void frpy_mw_release(rctx *c);
static int frpy_mw_stash(rctx *c, PyObject *exc);
static void frpy_mw_scope(rctx *c);

/* ------------------------------------------------------------------ */
/* job queues: the engine's worker pool (def code) and a mailbox to the
 * asyncio loop thread (async code; its fd is watched by loop.add_reader) */

static fr_pool *frpy_pool;
static int frpy_pool_size = 40;
static fr_mailbox frpy_aio; /* zeroed = not open */
static pthread_t loop_thread_id;
static int loop_thread_set;
static volatile int g_exiting; /* set at interpreter exit: C threads stop taking the GIL */
/* A pool worker's Python thread state: made by its first batch, kept for
 * the thread's life (PyGILState_Release would build and free one per batch) */
static FR__THREAD_LOCAL PyThreadState *frpy_worker_ts;

static void frpy_run_job(rctx *c);

static int frpy_on_loop_thread(void) {
    return loop_thread_set && pthread_equal(pthread_self(), loop_thread_id);
}

/* A pool worker drains a batch holding the GIL (one worker at a time
 * normally; the pool adds one when the active job blocks). */
static int frpy_batch_begin(void *ud) {
    (void)ud;
    if (g_exiting) return -1;
    if (frpy_worker_ts) {
        PyEval_RestoreThread(frpy_worker_ts);
        return 0;
    }
    (void)PyGILState_Ensure(); /* never released: the state stays this thread's */
    frpy_worker_ts = PyThreadState_Get();
    return 0;
}

static void frpy_batch_end(void *ud) {
    (void)ud;
    frpy_worker_ts = PyEval_SaveThread();
}

static void frpy_sflow_job(struct frpy_sflow *f);

static void frpy_pool_job(fr_job *job, void *ud) {
    (void)ud;
    if (((rctx *)job)->job == JOB_SFLOW) frpy_sflow_job((struct frpy_sflow *)(void *)job);
    else frpy_run_job((rctx *)job);
}

static int frpy_pool_start(void) {
    if (frpy_pool) return 0;
    fr_pool_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = frpy_pool_size;
    cfg.serial_cpu = 1; /* a handler computing holds the GIL: a helper would only wait */
    cfg.run = frpy_pool_job;
    cfg.batch_begin = frpy_batch_begin;
    cfg.batch_end = frpy_batch_end;
    frpy_pool = fr_pool_new(&cfg);
    if (!frpy_pool || fr_pool_start(frpy_pool) < 0) return -1;
    return 0;
}

static void frpy_pool_push(rctx *c) {
    if (frpy_pool_start() == 0 && fr_pool_push(frpy_pool, &c->job_link) == 0) return;
    fprintf(stderr, "fastrapi: the worker pool refused a job (no thread)\n");
}

static void frpy_aio_push(rctx *c) {
    if (fr_mailbox_push(&frpy_aio, &c->job_link) == 0) return;
    fprintf(stderr, "fastrapi: the asyncio mailbox is closed\n");
}

/* ------------------------------------------------------------------ */
/* access log: loop threads append lines; a C thread logs them with GIL */

static pthread_mutex_t LOG_MU = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t LOG_CV = PTHREAD_COND_INITIALIZER;
static fr_buf LOG_BUF;
static int log_started;

static void *frpy_log_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&LOG_MU);
        while (LOG_BUF.len == 0) pthread_cond_wait(&LOG_CV, &LOG_MU);
        fr_buf mine = LOG_BUF;
        memset(&LOG_BUF, 0, sizeof LOG_BUF);
        pthread_mutex_unlock(&LOG_MU);
        if (g_exiting) { fr_buf_free(&mine); return NULL; }
        PyGILState_STATE st = PyGILState_Ensure();
        PyObject *s = PyUnicode_DecodeUTF8(mine.buf, (Py_ssize_t)mine.len, "replace");
        if (s && FRPY.rt_log_access) {
            PyObject *r = PyObject_CallOneArg(FRPY.rt_log_access, s);
            if (!r) PyErr_Clear();
            Py_XDECREF(r);
        } else {
            PyErr_Clear();
        }
        Py_XDECREF(s);
        PyGILState_Release(st);
        fr_buf_free(&mine);
    }
    return NULL;
}

/* engine error-log lines (cfg.error_log) -> logging.getLogger("fastrapi.error") */
static void frpy_error_cb(const char *msg, void *ud) {
    (void)ud;
    if (g_exiting) return;
    PyGILState_STATE st = PyGILState_Ensure();
    PyObject *r = NULL, *lg = PyImport_ImportModule("logging");
    PyObject *logger = lg ? PyObject_CallMethod(lg, "getLogger", "s", "fastrapi.error") : NULL;
    if (logger) r = PyObject_CallMethod(logger, "error", "ss", "%s", msg);
    if (!r) PyErr_Clear();
    Py_XDECREF(r);
    Py_XDECREF(logger);
    Py_XDECREF(lg);
    PyGILState_Release(st);
}

static void frpy_access_cb(fr_req *req, int status, uint64_t bytes, double ms, void *ud) {
    (void)bytes; (void)ms; (void)ud;
    fr_str m = fr_req_method(req), t = fr_req_target(req), a = fr_req_client_addr(req);
    fr_str rid = fr_req_id(req); /* request_id_header: the id ends the line */
    pthread_mutex_lock(&LOG_MU);
    if (LOG_BUF.len < (1u << 22))
        fr_buf_printf(&LOG_BUF, "%.*s:%d - \"%.*s %.*s HTTP/1.%d\" %d%s%.*s\n", (int)a.len, a.buf,
                      fr_req_client_port(req), (int)m.len, m.buf, (int)t.len, t.buf,
                      fr_req_http_minor(req), status, rid.buf ? " request_id=" : "",
                      (int)rid.len, rid.buf ? rid.buf : "");
    pthread_cond_signal(&LOG_CV);
    pthread_mutex_unlock(&LOG_MU);
}

/* ------------------------------------------------------------------ */
/* JSON encoding: Python objects -> bytes, jsonable_encoder semantics  */

static int frpy_enc(fr_buf *b, PyObject *o);

/* Room for n more bytes at b->buf + b->len (the engine's fr_buf, grown in
 * place); the writers below then store straight into it. */
static inline int frpy_w_need(fr_buf *b, size_t n) {
    if (b->cap - b->len >= n) return 0;
    if (fr_buf_reserve(b, n) == 0) return 0;
    PyErr_NoMemory();
    return -1;
}

static inline int frpy_w_put(fr_buf *b, const char *s, size_t n) {
    if (frpy_w_need(b, n) < 0) return -1;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    return 0;
}

static inline int frpy_w_char(fr_buf *b, char ch) {
    if (frpy_w_need(b, 1) < 0) return -1;
    b->buf[b->len++] = ch;
    return 0;
}

/* ---- the encoder's output buffer: one per thread, reused ----
 * A fresh buffer per call grows from 256 bytes by reallocs and, for a large
 * document, touches every page anew: the kernel's page faults and zeroing
 * cost as much as encoding the strings. Each thread keeps its buffer between
 * calls (dumps() and JSON responses) instead, up to FRPY_ENC_KEEP bytes (a
 * one-off larger output is freed at once, so memory stays bounded by
 * threads x FRPY_ENC_KEEP); the key's destructor frees it when the thread
 * exits. A call made while the thread's buffer is in use (dumps from a
 * jsonable_encoder fallback, mid-encode) finds none and gets a new one:
 * taking the buffer clears the slot. */
#define FRPY_ENC_KEEP ((size_t)32 << 20)
static pthread_key_t frpy_encbuf_tls;
static pthread_once_t frpy_encbuf_once = PTHREAD_ONCE_INIT;
static int frpy_encbuf_ok;

static void frpy_encbuf_free(void *p) {
    if (!p) return;
    fr_buf_free((fr_buf *)p);
    FR_FREE(p);
}
static void frpy_encbuf_init(void) { frpy_encbuf_ok = pthread_key_create(&frpy_encbuf_tls, frpy_encbuf_free) == 0; }

/* This thread's buffer, emptied, or a new one; NULL (MemoryError) if none. */
static fr_buf *frpy_encbuf_take(void) {
    fr_buf *b = NULL;
    pthread_once(&frpy_encbuf_once, frpy_encbuf_init);
    if (frpy_encbuf_ok && (b = (fr_buf *)pthread_getspecific(frpy_encbuf_tls)))
        pthread_setspecific(frpy_encbuf_tls, NULL);
    else if ((b = (fr_buf *)FR_MALLOC(sizeof *b)))
        memset(b, 0, sizeof *b);
    else
        PyErr_NoMemory();
    if (b) b->len = 0;
    return b;
}

/* Back into the slot, unless too big, or the slot was refilled meanwhile. */
static void frpy_encbuf_give(fr_buf *b) {
    if (b->cap <= FRPY_ENC_KEEP && frpy_encbuf_ok && !pthread_getspecific(frpy_encbuf_tls) &&
        pthread_setspecific(frpy_encbuf_tls, b) == 0)
        return;
    frpy_encbuf_free(b);
}

static int frpy_enc_float(fr_buf *b, double d) {
    if (frpy_w_need(b, 32) < 0) return -1;
    int n = fr_json_format_double(d, b->buf + b->len);
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "Out of range float values are not JSON compliant");
        return -1;
    }
    b->len += (size_t)n;
    return 0;
}

/* ---- str -> JSON string, straight from Python's storage (Latin-1, UCS-2
 * or UCS-4), as json.dumps(ensure_ascii=False) then .encode() writes it:
 * '"' '\\' and control characters escaped (\n \r \t \b \f, else \u00XX),
 * everything else as UTF-8. A lone surrogate cannot be UTF-8: that raises
 * the UnicodeEncodeError .encode() would (via PyUnicode_AsUTF8AndSize). */

/* 0: copy as is; else the letter after the backslash ('u': \u00XX) */
static const unsigned char FRPY_ESC[128] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0};

static inline char *frpy_esc(char *o, unsigned c) { /* c < 0x80, FRPY_ESC[c] != 0 */
    static const char hex[] = "0123456789abcdef";
    unsigned e = FRPY_ESC[c];
    o[0] = '\\';
    o[1] = (char)e;
    if (e != 'u') return o + 2;
    o[2] = '0';
    o[3] = '0';
    o[4] = hex[c >> 4];
    o[5] = hex[c & 15];
    return o + 6;
}

/* 8 bytes at a time: the engine's test for '"', '\\', controls and non-ASCII */
#define FRPY_STR_CHUNK 4096 /* characters per reservation: 6 bytes each at worst */

/* Compact ASCII storage, the common case (keys, most values): 8 plain bytes
 * at a time, and the last 1..7 in one go too, from the word that ends where
 * the string ends. That word overlaps bytes already written or, for a string
 * under 8 bytes, the end of the str object's header: compact ASCII data
 * follows its header in the same allocation, so the read stays inside the
 * object (not on a free-threaded build, where the header may be written
 * meanwhile). The overlapped bytes are shifted out; a flag shifted in from
 * them (a borrow out of a special byte below) only sends the tail to the
 * byte loop, which decides exactly. Stores 8 bytes at o at a time: the
 * caller reserves n * 6 + 8. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && !defined(Py_GIL_DISABLED)
#define FRPY_ASCII_TAIL 1
#else
#define FRPY_ASCII_TAIL 0
#endif
static inline char *frpy_str_ascii(char *o, const unsigned char *p, Py_ssize_t n) {
    const unsigned char *end = p + n;
    while (p < end) {
        size_t r = (size_t)(end - p);
        uint64_t w;
        if (r >= 8) {
            w = fr__load8(p);
            if (!FR__J_SPECIAL(w)) {
                memcpy(o, &w, 8);
                o += 8;
                p += 8;
                continue;
            }
        } else if (FRPY_ASCII_TAIL) {
            unsigned sh = (unsigned)(8 - r) * 8;
            w = fr__load8(end - 8);
            if (!(FR__J_SPECIAL(w) >> sh)) {
                w >>= sh;
                memcpy(o, &w, 8);
                return o + r;
            }
        }
        unsigned c = *p++;
        if (FRPY_ESC[c]) o = frpy_esc(o, c);
        else *o++ = (char)c;
    }
    return o;
}

/* Latin-1 storage (ASCII or not): 8 plain bytes at a time */
static char *frpy_str_ucs1(char *o, const unsigned char *p, Py_ssize_t n) {
    const unsigned char *end = p + n;
    while (p < end) {
        if (end - p >= 8 && !FR__J_SPECIAL(fr__load8(p))) {
            memcpy(o, p, 8);
            o += 8;
            p += 8;
            continue;
        }
        unsigned c = *p++;
        if (c >= 0x80) {
            o[0] = (char)(0xC0 | (c >> 6));
            o[1] = (char)(0x80 | (c & 0x3F));
            o += 2;
        } else if (FRPY_ESC[c]) {
            o = frpy_esc(o, c);
        } else {
            *o++ = (char)c;
        }
    }
    return o;
}

/* one code point >= 0x80; NULL for a surrogate */
static inline char *frpy_utf8(char *o, Py_UCS4 c) {
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return o + 2;
    }
    if (c < 0x10000) {
        if (c >= 0xD800 && c <= 0xDFFF) return NULL;
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return o + 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return o + 4;
}

#define FRPY_STR_WIDE(name, T)                                                   \
    static char *name(char *o, const T *p, Py_ssize_t n) {                     \
        const T *end = p + n;                                                  \
        while (p < end) {                                                      \
            Py_UCS4 c = *p++;                                                  \
            if (c >= 0x80) {                                                   \
                if (!(o = frpy_utf8(o, c))) return NULL;                       \
            } else if (FRPY_ESC[c]) {                                          \
                o = frpy_esc(o, c);                                            \
            } else {                                                           \
                *o++ = (char)c;                                                \
            }                                                                  \
        }                                                                      \
        return o;                                                              \
    }
FRPY_STR_WIDE(frpy_str_ucs2, Py_UCS2)
FRPY_STR_WIDE(frpy_str_ucs4, Py_UCS4)

static int frpy_enc_str(fr_buf *b, PyObject *s) {
    if (PyUnicode_IS_COMPACT_ASCII(s) && PyUnicode_GET_LENGTH(s) <= FRPY_STR_CHUNK) {
        Py_ssize_t an = PyUnicode_GET_LENGTH(s);
        if (frpy_w_need(b, (size_t)an * 6 + 10) < 0) return -1;
        char *o = b->buf + b->len;
        *o++ = '"';
        o = frpy_str_ascii(o, PyUnicode_1BYTE_DATA(s), an);
        *o++ = '"';
        b->len = (size_t)(o - b->buf);
        return 0;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) return -1; /* legacy wstr strings (3.10, 3.11) */
#endif
    Py_ssize_t n = PyUnicode_GET_LENGTH(s), i = 0;
    int kind = PyUnicode_KIND(s);
    const char *data = PyUnicode_DATA(s);
    size_t start = b->len;
    /* +8: the Latin-1 writer stores 8 bytes at a time */
    if (frpy_w_need(b, (size_t)(n < FRPY_STR_CHUNK ? n : FRPY_STR_CHUNK) * 6 + 10) < 0) return -1;
    b->buf[b->len++] = '"';
    for (;;) {
        Py_ssize_t k = n - i < FRPY_STR_CHUNK ? n - i : FRPY_STR_CHUNK;
        char *o = b->buf + b->len, *e;
        if (kind == PyUnicode_1BYTE_KIND) e = frpy_str_ucs1(o, (const unsigned char *)data + i, k);
        else if (kind == PyUnicode_2BYTE_KIND) e = frpy_str_ucs2(o, (const Py_UCS2 *)data + i, k);
        else e = frpy_str_ucs4(o, (const Py_UCS4 *)data + i, k);
        if (!e) { /* a surrogate: let CPython raise what .encode("utf-8") raises */
            b->len = start;
            if (PyUnicode_AsUTF8AndSize(s, NULL)) PyErr_SetString(PyExc_UnicodeError, "surrogate");
            return -1;
        }
        b->len = (size_t)(e - b->buf);
        i += k;
        if (i >= n) break;
        if (frpy_w_need(b, (size_t)(n - i < FRPY_STR_CHUNK ? n - i : FRPY_STR_CHUNK) * 6 + 10) < 0) {
            b->len = start;
            return -1;
        }
    }
    b->buf[b->len++] = '"';
    return 0;
}

/* An int that fits the internal digits read here (3.12+: one, |v| < 2^30;
 * 3.11: up to two, |v| < 2^60), read in place as orjson does: no call into
 * the interpreter per number. */
static inline int frpy_long_small(PyObject *o, long long *v) {
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact((PyLongObject *)o)) return 0;
    *v = (long long)PyUnstable_Long_CompactValue((PyLongObject *)o);
#else
    Py_ssize_t n = Py_SIZE(o); /* a digit is allocated even for 0 */
    const digit *d = ((PyLongObject *)o)->ob_digit;
    if (n >= -1 && n <= 1) *v = (long long)n * (long long)d[0];
    else if (n == 2 || n == -2) *v = (n < 0 ? -1 : 1) * (long long)(d[0] | (uint64_t)d[1] << PyLong_SHIFT);
    else return 0;
#endif
    return 1;
}

static int frpy_enc_long(fr_buf *b, PyObject *o) {
    int overflow = 0;
    long long v;
    if (frpy_long_small(o, &v)) {
        if (frpy_w_need(b, 20) < 0) return -1;
        b->len += (size_t)fr_json_format_int((int64_t)v, b->buf + b->len);
        return 0;
    }
    v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (!overflow) {
        if (v == -1 && PyErr_Occurred()) return -1;
        if (frpy_w_need(b, 20) < 0) return -1;
        b->len += (size_t)fr_json_format_int((int64_t)v, b->buf + b->len);
        return 0;
    }
    PyObject *s = PyLong_Type.tp_repr(o);
    if (!s) return -1;
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    int r = u ? frpy_w_put(b, u, (size_t)n) : -1;
    Py_DECREF(s);
    return r;
}

/* dict key as json.dumps writes it (after jsonable_encoder) */
static int frpy_enc_key(fr_buf *b, PyObject *k) {
    if (PyUnicode_Check(k)) return frpy_enc_str(b, k);
    if (k == Py_None) return frpy_w_put(b, "\"null\"", 6);
    if (k == Py_True) return frpy_w_put(b, "\"true\"", 6);
    if (k == Py_False) return frpy_w_put(b, "\"false\"", 7);
    if (PyLong_Check(k)) {
        if (frpy_w_char(b, '"') < 0 || frpy_enc_long(b, k) < 0) return -1;
        return frpy_w_char(b, '"');
    }
    if (PyFloat_Check(k)) {
        if (frpy_w_char(b, '"') < 0 || frpy_enc_float(b, PyFloat_AS_DOUBLE(k)) < 0) return -1;
        return frpy_w_char(b, '"');
    }
    /* UUID, Enum, date...: encode through jsonable_encoder, then as a key */
    PyObject *e = PyObject_CallOneArg(FRPY.jsonable_encoder, k);
    if (!e) return -1;
    int r;
    if (PyUnicode_Check(e) || PyLong_Check(e) || PyFloat_Check(e) || e == Py_None)
        r = frpy_enc_key(b, e);
    else {
        PyErr_Format(PyExc_TypeError, "keys must be str, int, float, bool or None, not %.100s",
                     Py_TYPE(e)->tp_name);
        r = -1;
    }
    Py_DECREF(e);
    return r;
}

/* "_sa..." keys: jsonable_encoder(sqlalchemy_safe=True) drops them */
static inline int frpy_sa_key(PyObject *k) {
    return PyUnicode_GET_LENGTH(k) >= 3 && PyUnicode_READ_CHAR(k, 0) == '_' &&
           PyUnicode_READ_CHAR(k, 1) == 's' && PyUnicode_READ_CHAR(k, 2) == 'a';
}

/* The items of a large document are scattered over memory: each is a cache
 * miss unless asked for early (a hint only: it never faults) */
#if defined(__GNUC__)
#define FRPY_PREFETCH(p) __builtin_prefetch(p)
#else
#define FRPY_PREFETCH(p) ((void)0)
#endif

/* A borrowed item of a dict or list being encoded. Encoding a container or
 * another object may run Python code that mutates the one it came from: it
 * holds a reference meanwhile. A str, int, float, bool or None runs none. */
static inline int frpy_enc_item(fr_buf *b, PyObject *v) {
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyUnicode_Type) return frpy_enc_str(b, v);
    if (t == &PyFloat_Type) return frpy_enc_float(b, PyFloat_AS_DOUBLE(v));
    if (t == &PyLong_Type) return frpy_enc_long(b, v);
    if (t == &PyBool_Type || v == Py_None) return frpy_enc(b, v);
    Py_INCREF(v);
    int r = frpy_enc(b, v);
    Py_DECREF(v);
    return r;
}

static int frpy_enc_dict(fr_buf *b, PyObject *o) {
    if (frpy_w_char(b, '{') < 0) return -1;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int first = 1;
    while (PyDict_Next(o, &pos, &k, &v)) {
        int r;
        FRPY_PREFETCH(v); /* likely not cached: fetched while the key is written */
        if (PyUnicode_CheckExact(k) && PyUnicode_IS_COMPACT_ASCII(k) &&
            PyUnicode_GET_LENGTH(k) <= FRPY_STR_CHUNK) { /* ',' "key" ':' in one reservation */
            Py_ssize_t n = PyUnicode_GET_LENGTH(k);
            const unsigned char *kd = PyUnicode_1BYTE_DATA(k);
            if (n >= 3 && kd[0] == '_' && kd[1] == 's' && kd[2] == 'a') continue;
            if (frpy_w_need(b, (size_t)n * 6 + 12) < 0) return -1;
            char *o = b->buf + b->len;
            if (!first) *o++ = ',';
            first = 0;
            *o++ = '"';
            o = frpy_str_ascii(o, kd, n);
            *o++ = '"';
            *o++ = ':';
            b->len = (size_t)(o - b->buf);
        } else if (PyUnicode_CheckExact(k)) {
            if (frpy_sa_key(k)) continue;
            if (!first && frpy_w_char(b, ',') < 0) return -1;
            first = 0;
            /* a str key runs no Python code: no reference needed for it */
            if (frpy_enc_str(b, k) < 0 || frpy_w_char(b, ':') < 0) return -1;
        } else {
            if (PyUnicode_Check(k) && frpy_sa_key(k)) continue;
            if (!first && frpy_w_char(b, ',') < 0) return -1;
            first = 0;
            Py_INCREF(k);
            r = frpy_enc_key(b, k);
            Py_DECREF(k);
            if (r < 0 || frpy_w_char(b, ':') < 0) return -1;
        }
        if (frpy_enc_item(b, v) < 0) return -1;
    }
    return frpy_w_char(b, '}');
}

static int frpy_enc_iter(fr_buf *b, PyObject *o) {
    if (frpy_w_char(b, '[') < 0) return -1;
    if (PyList_CheckExact(o) || PyTuple_CheckExact(o)) {
        PyObject *fast = o;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i && frpy_w_char(b, ',') < 0) return -1;
            if (i + 1 < n) FRPY_PREFETCH(PySequence_Fast_GET_ITEM(fast, i + 1));
            if (frpy_enc_item(b, PySequence_Fast_GET_ITEM(fast, i)) < 0) return -1;
            n = PySequence_Fast_GET_SIZE(fast);
        }
    } else {
        PyObject *iter = PyObject_GetIter(o);
        if (!iter) return -1;
        PyObject *it;
        int first = 1;
        while ((it = PyIter_Next(iter))) {
            int r = first ? 0 : frpy_w_char(b, ',');
            first = 0;
            if (r == 0) r = frpy_enc(b, it);
            Py_DECREF(it);
            if (r < 0) {
                Py_DECREF(iter);
                return -1;
            }
        }
        Py_DECREF(iter);
        if (PyErr_Occurred()) return -1;
    }
    return frpy_w_char(b, ']');
}

static int frpy_enc_result(fr_buf *b, PyObject *r) {
    if (!r) return -1;
    int rc = frpy_enc(b, r);
    Py_DECREF(r);
    return rc;
}

static int frpy_enc_slow(fr_buf *b, PyObject *o) {
    PyTypeObject *t = Py_TYPE(o);
    int is;
    if ((is = PyObject_IsInstance(o, FRPY.BaseModel)) != 0) {
        if (is < 0) return -1;
        PyObject *kw = PyDict_New();
        if (!kw) return -1;
        /* jsonable_encoder: model_dump(mode="json", by_alias=True) */
        if (PyDict_SetItem(kw, FRPY.s_mode, FRPY.s_json) < 0 || PyDict_SetItem(kw, FRPY.s_by_alias, Py_True) < 0) {
            Py_DECREF(kw);
            return -1;
        }
        PyObject *m = PyObject_GetAttr(o, FRPY.s_model_dump);
        PyObject *r = m ? PyObject_Call(m, FRPY.empty_tuple, kw) : NULL;
        Py_XDECREF(m);
        Py_DECREF(kw);
        return frpy_enc_result(b, r);
    }
    if ((is = PyObject_IsInstance(o, FRPY.Enum)) != 0) {
        if (is < 0) return -1;
        return frpy_enc_result(b, PyObject_GetAttr(o, FRPY.s_value));
    }
    if (PyUnicode_Check(o)) return frpy_enc_str(b, o);
    if (PyLong_Check(o)) return frpy_enc_long(b, o);
    if (PyFloat_Check(o)) return frpy_enc_float(b, PyFloat_AsDouble(o));
    if (PyDict_Check(o)) return frpy_enc_dict(b, o);
    if (PyList_Check(o) || PyTuple_Check(o) || PyAnySet_Check(o) || PyGen_Check(o))
        return frpy_enc_iter(b, o);
    if (PyObject_HasAttr((PyObject *)t, FRPY.s_dataclass_fields) && !PyType_Check(o))
        return frpy_enc_result(b, PyObject_CallOneArg(FRPY.asdict, o));
    if (PyObject_TypeCheck(o, (PyTypeObject *)FRPY.dt) || PyObject_TypeCheck(o, (PyTypeObject *)FRPY.date) ||
        PyObject_TypeCheck(o, (PyTypeObject *)FRPY.time)) {
        PyObject *s = PyObject_CallMethodNoArgs(o, FRPY.s_isoformat);
        if (!s) return -1;
        int r = frpy_enc_str(b, s);
        Py_DECREF(s);
        return r;
    }
    if (PyObject_TypeCheck(o, (PyTypeObject *)FRPY.UUID)) {
        PyObject *s = PyObject_Str(o);
        if (!s) return -1;
        int r = frpy_enc_str(b, s);
        Py_DECREF(s);
        return r;
    }
    if (PyObject_TypeCheck(o, (PyTypeObject *)FRPY.Decimal))
        return frpy_enc_result(b, PyObject_CallOneArg(FRPY.decimal_encoder, o));
    if (PyBytes_Check(o)) {
        PyObject *s = PyUnicode_FromEncodedObject(o, "utf-8", "strict");
        if (!s) return -1;
        int r = frpy_enc_str(b, s);
        Py_DECREF(s);
        return r;
    }
    PyObject *r = PyObject_CallOneArg(FRPY.jsonable_encoder, o);
    if (!r) return -1;
    /* the fallback must produce JSON-native values; guard against loops */
    if (Py_TYPE(r) == t && !PyDict_Check(r) && !PyList_Check(r)) {
        Py_DECREF(r);
        PyErr_Format(PyExc_TypeError, "Object of type %.100s is not JSON serializable", t->tp_name);
        return -1;
    }
    return frpy_enc_result(b, r);
}

static int frpy_enc(fr_buf *b, PyObject *o) {
    PyTypeObject *t = Py_TYPE(o);
    if (o == Py_None) return frpy_w_put(b, "null", 4);
    if (o == Py_True) return frpy_w_put(b, "true", 4);
    if (o == Py_False) return frpy_w_put(b, "false", 5);
    if (t == &PyUnicode_Type) return frpy_enc_str(b, o);
    if (t == &PyLong_Type) return frpy_enc_long(b, o);
    if (t == &PyFloat_Type) return frpy_enc_float(b, PyFloat_AS_DOUBLE(o));
    if (Py_EnterRecursiveCall(" while encoding a JSON response")) return -1;
    int r;
    if (t == &PyDict_Type) r = frpy_enc_dict(b, o);
    else if (t == &PyList_Type || t == &PyTuple_Type) r = frpy_enc_iter(b, o);
    else r = frpy_enc_slow(b, o);
    Py_LeaveRecursiveCall();
    return r;
}

/* ------------------------------------------------------------------ */
/* JSON decoding: bytes -> Python objects via the engine's SAX reader   */

typedef struct {
    PyObject *stack[FR_MAX_JSON_DEPTH + 2];
    PyObject *keys[FR_MAX_JSON_DEPTH + 2];
    int depth;
    PyObject *root;
} frpy_jdec;

static int frpy_jd_value(frpy_jdec *d, PyObject *v) {
    if (!v) return -1;
    if (d->depth == 0) {
        d->root = v;
        return 0;
    }
    PyObject *top = d->stack[d->depth - 1];
    int r;
    if (PyDict_CheckExact(top)) {
        r = PyDict_SetItem(top, d->keys[d->depth - 1], v);
        Py_CLEAR(d->keys[d->depth - 1]);
    } else {
        r = PyList_Append(top, v);
    }
    Py_DECREF(v);
    return r;
}
static int frpy_jd_null(void *c) { Py_INCREF(Py_None); return frpy_jd_value(c, Py_None); }
static int frpy_jd_bool(void *c, int v) { return frpy_jd_value(c, PyBool_FromLong(v)); }
static int frpy_jd_int(void *c, int64_t v) { return frpy_jd_value(c, PyLong_FromLongLong((long long)v)); }
static int frpy_jd_big(void *c, const char *s, size_t n) {
    char tmp[512];
    if (n >= sizeof tmp) { /* beyond Python's int-str limit anyway: let json.loads decide */
        PyErr_SetString(PyExc_ValueError, "integer too long");
        return -1;
    }
    memcpy(tmp, s, n);
    tmp[n] = 0;
    return frpy_jd_value(c, PyLong_FromString(tmp, NULL, 10));
}
static int frpy_jd_double(void *c, double v) { return frpy_jd_value(c, PyFloat_FromDouble(v)); }

/* Non-ASCII UTF-8 (valid: the reader checked it) straight into a str of
 * the right kind: one pass finds the length and the widest lead byte,
 * which decides the kind exactly (C2-C3: Latin-1; C4-DF and E0-EF: UCS-2;
 * F0-F4: UCS-4), a second decodes. CPython's decoder instead guesses a kind,
 * widens and resizes as it meets wider characters: 10 % of decoding a
 * typical body with accented text. Anything unexpected goes to it. */
static PyObject *frpy_jd_utf8(const unsigned char *s, size_t n) {
    size_t i, len = 0;
    unsigned top = 0;
    for (i = 0; i < n; i++) {
        unsigned b = s[i];
        if ((b & 0xC0) != 0x80) len++;
        if (b > top) top = b;
    }
    if (top < 0xC2 || top > 0xF4)
        return PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)n, "surrogatepass");
    Py_UCS4 maxchar = top >= 0xF0 ? 0x10FFFF : top >= 0xC4 ? 0xFFFF : 0xFF;
    PyObject *o = PyUnicode_New((Py_ssize_t)len, maxchar);
    if (!o) return NULL;
    int kind = PyUnicode_KIND(o);
    void *data = PyUnicode_DATA(o);
    size_t k = 0;
    for (i = 0; i < n; k++) {
        unsigned b = s[i];
        size_t need = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        Py_UCS4 c;
        if (need > n - i || k >= len) { /* not what the reader hands over: let CPython judge */
            Py_DECREF(o);
            return PyUnicode_DecodeUTF8((const char *)s, (Py_ssize_t)n, "surrogatepass");
        }
        if (b < 0x80) {
            c = b;
            i += 1;
        } else if (b < 0xE0) {
            c = ((Py_UCS4)(b & 0x1F) << 6) | (s[i + 1] & 0x3F);
            i += 2;
        } else if (b < 0xF0) {
            c = ((Py_UCS4)(b & 0x0F) << 12) | ((Py_UCS4)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
            i += 3;
        } else {
            c = ((Py_UCS4)(b & 0x07) << 18) | ((Py_UCS4)(s[i + 1] & 0x3F) << 12) |
                ((Py_UCS4)(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
            i += 4;
        }
        PyUnicode_WRITE(kind, data, (Py_ssize_t)k, c);
    }
    return o;
}

/* The reader hands over valid UTF-8 (it checks, and refuses lone surrogate
 * escapes): ASCII text becomes a str with one copy, the rest is decoded by
 * frpy_jd_utf8. */
static PyObject *frpy_jd_str(const char *s, size_t n) {
    uint64_t acc = 0, x;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, s + i, 8);
        acc |= x;
    }
    for (; i < n; i++) acc |= (unsigned char)s[i];
    if (acc & 0x8080808080808080ULL) return frpy_jd_utf8((const unsigned char *)s, n);
    PyObject *o = PyUnicode_New((Py_ssize_t)n, 127);
    if (o) memcpy(PyUnicode_DATA(o), s, n);
    return o;
}

/* Object keys repeat (the same field names in every record): short ASCII
 * keys are looked up in a small direct-mapped cache of str objects whose
 * hash is already computed (orjson's key cache), so a repeated key costs a
 * hash of its bytes and a compare, not an allocation and a siphash. The
 * cache holds one reference per slot for the life of the process (at most
 * FRPY_KEY_SLOTS strings of <= FRPY_KEY_MAX bytes); it is only touched with
 * the GIL held, and not at all on a free-threaded build. */
#define FRPY_KEY_SLOTS 2048
#define FRPY_KEY_MAX 64
#ifndef Py_GIL_DISABLED
static PyObject *frpy_key_cache[FRPY_KEY_SLOTS];
#endif

static PyObject *frpy_jd_keystr(const char *s, size_t n) {
#ifndef Py_GIL_DISABLED
    if (n && n <= FRPY_KEY_MAX) {
        uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
        for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
        PyObject **slot = &frpy_key_cache[(h ^ (h >> 32)) & (FRPY_KEY_SLOTS - 1)];
        PyObject *k = *slot;
        if (k && (size_t)PyUnicode_GET_LENGTH(k) == n && memcmp(PyUnicode_DATA(k), s, n) == 0)
            return Py_NewRef(k); /* cached ones are ASCII: their data is the UTF-8 */
        k = frpy_jd_str(s, n);
        if (k && PyUnicode_IS_ASCII(k) && PyObject_Hash(k) != -1) Py_XSETREF(*slot, Py_NewRef(k));
        return k;
    }
#endif
    return frpy_jd_str(s, n);
}

static int frpy_jd_string(void *c, const char *s, size_t n) { return frpy_jd_value(c, frpy_jd_str(s, n)); }
static int frpy_jd_key(void *c, const char *s, size_t n) {
    frpy_jdec *d = c;
    PyObject *k = frpy_jd_keystr(s, n);
    if (!k) return -1;
    Py_XSETREF(d->keys[d->depth - 1], k);
    return 0;
}
static int frpy_jd_start(frpy_jdec *d, PyObject *o) {
    if (!o) return -1;
    if (d->depth >= FR_MAX_JSON_DEPTH + 1) {
        Py_DECREF(o);
        return -1;
    }
    d->stack[d->depth] = o;
    d->keys[d->depth] = NULL;
    d->depth++;
    return 0;
}
static int frpy_jd_end(void *c) {
    frpy_jdec *d = c;
    d->depth--;
    PyObject *o = d->stack[d->depth];
    Py_CLEAR(d->keys[d->depth]);
    return frpy_jd_value(d, o);
}
static int frpy_jd_sobj(void *c) { return frpy_jd_start(c, PyDict_New()); }
static int frpy_jd_sarr(void *c) { return frpy_jd_start(c, PyList_New(0)); }

static const fr_json_sax FRPY_JD_SAX = {frpy_jd_null, frpy_jd_bool, frpy_jd_int, frpy_jd_big, frpy_jd_double, frpy_jd_string,
                                   frpy_jd_key, frpy_jd_sobj, frpy_jd_end, frpy_jd_sarr, frpy_jd_end};

/* Returns a new reference, or NULL with no exception set when the C reader
 * refused the input (caller falls back to json.loads), or NULL with an
 * exception on a Python error. */
static PyObject *frpy_json_decode(const char *buf, size_t len) {
    frpy_jdec d;
    d.depth = 0;
    d.root = NULL;
    fr_err err = {0, NULL, 0};
    int rc = fr_json_parse_events(buf, len, &FRPY_JD_SAX, &d, 0, &err);
    if (rc == 0 && d.root) return d.root;
    for (int i = 0; i < d.depth; i++) {
        Py_XDECREF(d.stack[i]);
        Py_XDECREF(d.keys[i]);
    }
    Py_XDECREF(d.root);
    PyErr_Clear();
    return NULL;
}

/* ------------------------------------------------------------------ */
/* plan unpacking                                                      */

#define REC(o, i) PyStructSequence_GET_ITEM((o), (i))

static int frpy_no_teardown(void *value, int failed, void *ud) {
    (void)value; (void)failed; (void)ud;
    return 0; /* generator teardowns are popped and run by Python (never called) */
}

static void frpy_plan_free(pplan *p) {
    if (!p) return;
    for (Py_ssize_t i = 0; p->nodes && i < p->nnodes; i++) {
        pnode *n = &p->nodes[i];
        for (Py_ssize_t j = 0; j < n->nparams; j++) {
            free(n->params[j].ckey);
            Py_XDECREF(n->params[j].validator);
        }
        free(n->params);
        for (int k = 0; k < 3; k++) free(n->sec_strs[k]);
        Py_XDECREF(n->kwnames);
    }
    free(p->nodes);
    fr_di_free(p->di);
    Py_XDECREF(p->resp_validate);
    Py_XDECREF(p->rec);
    free(p);
}

static int frpy_check_record(PyObject *o, int rec, const char *what) {
    if (Py_TYPE(o) == frpy_records[rec]) return 0;
    PyErr_Format(PyExc_TypeError, "plan: %s must be a %s record", what,
                 frpy_record_descs[rec].name);
    return -1;
}

static char *frpy_strdup_obj(PyObject *s, size_t *len) {
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u) return NULL;
    char *c = malloc((size_t)n + 1);
    if (!c) { PyErr_NoMemory(); return NULL; }
    memcpy(c, u, (size_t)n + 1);
    if (len) *len = (size_t)n;
    return c;
}

static int frpy_plan_param(pparam *pp, PyObject *rec, Py_ssize_t ndeps) {
    if (frpy_check_record(rec, REC_PARAM, "a parameter") < 0) return -1;
    pp->kwname = REC(rec, F_kwname);
    pp->key = REC(rec, F_key);
    pp->default_ = REC(rec, F_default);
    pp->loc = REC(rec, F_loc);
    pp->adapter = REC(rec, F_adapter) == Py_None ? NULL : REC(rec, F_adapter);
    pp->json_validate = REC(rec, F_json_validate) == Py_None ? NULL : REC(rec, F_json_validate);
    pp->source = (int)PyLong_AsLong(REC(rec, F_source));
    pp->conv = (int)PyLong_AsLong(REC(rec, F_conv));
    pp->required = PyObject_IsTrue(REC(rec, F_required));
    pp->default_mode = (int)PyLong_AsLong(REC(rec, F_default_mode));
    pp->is_list = PyObject_IsTrue(REC(rec, F_is_list));
    if (PyErr_Occurred()) return -1;
    if (!PyUnicode_Check(pp->kwname) || !PyTuple_Check(pp->loc)) {
        PyErr_SetString(PyExc_TypeError, "plan: bad parameter record");
        return -1;
    }
    if (pp->adapter && !(pp->validator = PyObject_GetAttr(pp->adapter, FRPY.s_validate_python)))
        return -1;
    if (pp->source == SRC_DEP) {
        pp->dep = (int)PyLong_AsLong(pp->key);
        if (pp->dep < 0 || pp->dep >= ndeps) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "plan: bad dependency index");
            return -1;
        }
    } else if (PyUnicode_Check(pp->key) && !(pp->ckey = frpy_strdup_obj(pp->key, &pp->ckey_len))) {
        return -1;
    }
    return 0;
}

static int frpy_plan_security(pnode *n, PyObject *sec) {
    if (sec == Py_None) return 0;
    if (frpy_check_record(sec, REC_SECURITY, "security") < 0) return -1;
    n->sec.kind = (int)PyLong_AsLong(REC(sec, S_kind));
    n->sec.auto_error = PyObject_IsTrue(REC(sec, S_auto_error));
    if (PyErr_Occurred()) return -1;
    PyObject *strs[3] = {REC(sec, S_name), REC(sec, S_scheme), REC(sec, S_realm)};
    for (int k = 0; k < 3; k++)
        if (strs[k] != Py_None && !(n->sec_strs[k] = frpy_strdup_obj(strs[k], NULL))) return -1;
    n->sec.name = n->sec_strs[0];
    n->sec.scheme = n->sec_strs[1];
    n->sec.realm = n->sec_strs[2];
    n->sec_result = REC(sec, S_result) == Py_None ? NULL : REC(sec, S_result);
    return 0;
}

/* One provider: its parameters, and its registration in the route's fr_di. */
static int frpy_plan_node(pplan *p, Py_ssize_t i, PyObject *rec) {
    pnode *n = &p->nodes[i];
    if (frpy_check_record(rec, REC_NODE, "a node") < 0) return -1;
    PyObject *params = REC(rec, N_params), *deps = REC(rec, N_deps), *name = REC(rec, N_name);
    if (!PyTuple_Check(params) || !PyTuple_Check(deps) || !PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "plan: bad node record");
        return -1;
    }
    n->call = REC(rec, N_call);
    n->kind = (int)PyLong_AsLong(REC(rec, N_kind));
    int scope = (int)PyLong_AsLong(REC(rec, N_scope));
    if (PyErr_Occurred() || frpy_plan_security(n, REC(rec, N_security)) < 0) return -1;
    n->nparams = PyTuple_GET_SIZE(params);
    n->params = calloc((size_t)n->nparams + 1, sizeof(pparam));
    n->kwnames = PyTuple_New(n->nparams);
    if (!n->params || !n->kwnames) { if (!PyErr_Occurred()) PyErr_NoMemory(); return -1; }
    for (Py_ssize_t j = 0; j < n->nparams; j++) {
        pparam *pp = &n->params[j];
        if (frpy_plan_param(pp, PyTuple_GET_ITEM(params, j), PyTuple_GET_SIZE(deps)) < 0) return -1;
        if (pp->json_validate) p->json_param = pp;
        PyTuple_SET_ITEM(n->kwnames, j, Py_NewRef(pp->kwname));
    }
    fr_di_provider pr;
    memset(&pr, 0, sizeof pr);
    pr.name = PyUnicode_AsUTF8(name);
    pr.scope = scope;
    if (n->kind == KIND_GEN || n->kind == KIND_AGEN) pr.teardown = frpy_no_teardown;
    if (!pr.name || fr_di_add(p->di, &pr) != (int)i) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_RuntimeError, "plan: %s", fr_di_error(p->di));
        return -1;
    }
    return 0;
}

/* Wire each provider's dependencies; the engine refuses (and names) cycles. */
static int frpy_plan_deps(pplan *p, PyObject *nodes) {
    for (Py_ssize_t i = 0; i < p->nnodes; i++) {
        PyObject *rec = PyTuple_GET_ITEM(nodes, i);
        PyObject *deps = REC(rec, N_deps), *fresh = REC(rec, N_fresh);
        Py_ssize_t nd = PyTuple_GET_SIZE(deps);
        if (!PyTuple_Check(fresh) || PyTuple_GET_SIZE(fresh) != nd) {
            PyErr_SetString(PyExc_TypeError, "plan: deps and fresh differ");
            return -1;
        }
        if (nd == 0) continue;
        int *ids = calloc((size_t)nd, sizeof(int));
        if (!ids) { PyErr_NoMemory(); return -1; }
        for (Py_ssize_t j = 0; j < nd; j++) {
            int d = (int)PyLong_AsLong(PyTuple_GET_ITEM(deps, j));
            ids[j] = PyObject_IsTrue(PyTuple_GET_ITEM(fresh, j)) ? FR_DI_FRESH(d) : d;
        }
        int r = PyErr_Occurred() ? -1 : fr_di_set_deps(p->di, (int)i, ids, (size_t)nd);
        free(ids);
        if (r < 0) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_RuntimeError,
                             "Dependency cycle detected through dependency_overrides: %s",
                             fr_di_error(p->di));
            return -1;
        }
    }
    return 0;
}

static int frpy_plan_response(pplan *p, PyObject *resp) {
    if (frpy_check_record(resp, REC_RESPONSE, "response") < 0) return -1;
    PyObject *status = REC(resp, R_status_code);
    p->status_code = status == Py_None ? 0 : (int)PyLong_AsLong(status);
    p->resp_mode = (int)PyLong_AsLong(REC(resp, R_mode));
    p->resp_adapter = REC(resp, R_adapter);
    p->dump_kwargs = REC(resp, R_dump_kwargs);
    p->resp_class = REC(resp, R_response_class);
    if (PyErr_Occurred()) return -1;
    if (p->resp_adapter != Py_None &&
        !(p->resp_validate = PyObject_GetAttr(p->resp_adapter, FRPY.s_validate_python)))
        return -1;
    return 0;
}

static pplan *frpy_plan_parse(PyObject *rec) {
    if (frpy_check_record(rec, REC_PLAN, "the plan") < 0) return NULL;
    PyObject *nodes = REC(rec, P_nodes);
    if (!PyTuple_Check(nodes) || PyTuple_GET_SIZE(nodes) < 1) {
        PyErr_SetString(PyExc_ValueError, "plan without endpoint");
        return NULL;
    }
    pplan *p = calloc(1, sizeof *p);
    if (!p) return (pplan *)PyErr_NoMemory();
    p->rec = Py_NewRef(rec);
    p->route = REC(rec, P_route);
    p->body_mode = (int)PyLong_AsLong(REC(rec, P_body_mode));
    p->is_async = PyObject_IsTrue(REC(rec, P_is_async));
    p->nnodes = PyTuple_GET_SIZE(nodes);
    p->nodes = calloc((size_t)p->nnodes, sizeof(pnode));
    p->di = fr_di_new(NULL);
    if (!p->nodes || !p->di) { PyErr_NoMemory(); goto fail; }
    fr_di_set_log(p->di, NULL, NULL);
    if (PyErr_Occurred() || frpy_plan_response(p, REC(rec, P_response)) < 0) goto fail;
    for (Py_ssize_t i = 0; i < p->nnodes; i++)
        if (frpy_plan_node(p, i, PyTuple_GET_ITEM(nodes, i)) < 0) goto fail;
    if (frpy_plan_deps(p, nodes) < 0) goto fail;
    return p;
fail:
    frpy_plan_free(p);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* the server object                                                   */

typedef struct server {
    PyObject_HEAD
    fr_app *app;
    PyObject *pyapp;       /* the FastrAPI instance (request.app) */
    PyObject *handlers;    /* dict: exception class or status int -> handler */
    PyObject *routes;      /* list of capsules keeping proute alive */
    int debug;
    int raise_errors;      /* every exception goes to the ASGI channel, unanswered */
    fr__atomic_int live;   /* answered requests whose after-work still runs (frpy_count_after) */
    PyObject *debug_sink;  /* a TestClient's list: (template, context) of template answers, or NULL */
    PyObject *exc_sink;    /* a TestClient's: its list (it raises them) or False (it does not); NULL: none */
    volatile long version; /* bumped when dependency_overrides change */
    proute **rts;
    size_t nrts, caprts;
    int serving;
    PyObject *bridge;      /* async callable(scope, start, body): every request goes
                              through the app's Python ASGI stack, or NULL */
    proute fallback_rt;   /* unmatched requests with a custom 404/405 handler */
    pplan fallback_plan;
} server;

static PyTypeObject FrpyServerType;

/* ------------------------------------------------------------------ */
/* helpers for request data                                            */

static PyObject *frpy_str(const char *s, size_t n) {
    return PyUnicode_DecodeUTF8(s ? s : "", (Py_ssize_t)n, "replace");
}

static PyObject *frpy_latin1(fr_str v) {
    return PyUnicode_DecodeLatin1(v.buf ? v.buf : "", (Py_ssize_t)v.len, NULL);
}

/* Decode a raw query/form/cookie value (is_key: a key) with the engine's
 * decoder into `small` or a PyMem buffer returned in *heap (caller frees). */
static int frpy_kv_decode(int kind, int is_key, fr_str raw, char *small, size_t cap, char **heap,
                          fr_str *out) {
    size_t need = FR_KV_DECODED_MAX(raw.len);
    char *buf = need <= cap ? small : PyMem_Malloc(need);
    *heap = buf == small ? NULL : buf;
    if (!buf) { PyErr_NoMemory(); return -1; }
    long n = is_key ? fr_kv_decode_key(kind, raw, buf, need) : fr_kv_decode(kind, raw, buf, need);
    if (n < 0) { PyErr_SetString(PyExc_SystemError, "fr_kv_decode"); return -1; }
    *out = (fr_str){buf, (size_t)n};
    return 0;
}

static PyObject *frpy_kv_text(int kind, int is_key, fr_str raw) {
    char small[256], *heap;
    fr_str d;
    if (frpy_kv_decode(kind, is_key, raw, small, sizeof small, &heap, &d) < 0) { PyMem_Free(heap); return NULL; }
    PyObject *r = PyUnicode_DecodeUTF8(d.buf, (Py_ssize_t)d.len, "strict");
    PyMem_Free(heap);
    return r;
}

/* All pairs of src as a list of (key, value) str tuples, in order. */
static PyObject *frpy_kv_list(int kind, fr_str src) {
    PyObject *lst = PyList_New(0);
    fr_kv_iter it;
    fr_str k, v;
    fr_kv_iter_init(&it, src, kind);
    while (lst && fr_kv_next(&it, &k, &v)) {
        PyObject *t = PyTuple_New(2), *ks = frpy_kv_text(kind, 1, k), *vs = frpy_kv_text(kind, 0, v);
        if (!t || !ks || !vs) {
            Py_XDECREF(t); Py_XDECREF(ks); Py_XDECREF(vs); Py_CLEAR(lst);
            break;
        }
        PyTuple_SET_ITEM(t, 0, ks);
        PyTuple_SET_ITEM(t, 1, vs);
        if (PyList_Append(lst, t) < 0) Py_CLEAR(lst);
        Py_DECREF(t);
    }
    return lst;
}

/* The Cookie headers the way Starlette 1.x reads them: every line, in order. */
static fr_str frpy_cookie_header(fr_req *r) {
    fr_str h = fr_req_cookie_header(r);
    if (!h.buf) h.buf = "";
    return h;
}

static PyObject *frpy_make_error(const char *type, PyObject *loc, const char *msg, PyObject *input) {
    PyObject *d = PyDict_New();
    if (!d) return NULL;
    PyObject *t = PyUnicode_FromString(type), *m = PyUnicode_FromString(msg);
    if (!t || !m || PyDict_SetItemString(d, "type", t) < 0 ||
        PyDict_SetItemString(d, "loc", loc) < 0 || PyDict_SetItemString(d, "msg", m) < 0 ||
        PyDict_SetItemString(d, "input", input) < 0) {
        Py_XDECREF(t); Py_XDECREF(m); Py_DECREF(d);
        return NULL;
    }
    Py_DECREF(t);
    Py_DECREF(m);
    return d;
}

static int frpy_add_error(rctx *c, PyObject *err) {
    if (!err) return -1;
    if (!c->errors && !(c->errors = PyList_New(0))) { Py_DECREF(err); return -1; }
    int r = PyList_Append(c->errors, err);
    Py_DECREF(err);
    return r;
}

/* pydantic's errors(include_url=False), each loc prefixed with `loc`. */
static int frpy_add_validation_errors(rctx *c, PyObject *exc, PyObject *loc) {
    PyObject *kw = PyDict_New();
    PyObject *errs = NULL, *m = NULL;
    if (kw && PyDict_SetItem(kw, FRPY.s_include_url, Py_False) == 0 &&
        (m = PyObject_GetAttr(exc, FRPY.s_errors)))
        errs = PyObject_Call(m, FRPY.empty_tuple, kw);
    Py_XDECREF(m);
    Py_XDECREF(kw);
    if (!errs) return -1;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(errs); i++) {
        PyObject *e = PyList_GET_ITEM(errs, i);
        PyObject *el = PyDict_GetItemWithError(e, FRPY.s_loc);
        PyObject *nl = el ? PySequence_Concat(loc, el) : Py_NewRef(loc);
        if (!nl || PyDict_SetItem(e, FRPY.s_loc, nl) < 0 || frpy_add_error(c, Py_NewRef(e)) < 0) {
            Py_XDECREF(nl);
            Py_DECREF(errs);
            return -1;
        }
        Py_DECREF(nl);
    }
    Py_DECREF(errs);
    return 0;
}

/* adapter.validate_python(value, from_attributes=True); on ValidationError
 * the errors (loc prefixed) are appended and *out stays NULL. */
static int frpy_validate(rctx *c, PyObject *meth, PyObject *value, PyObject *loc, PyObject **out) {
    PyObject *args[3] = {NULL, value, Py_True};
    PyObject *r = PyObject_Vectorcall(meth, args + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                      FRPY.kw_from_attr);
    if (r) { *out = r; return 0; }
    if (!PyErr_ExceptionMatches(FRPY.ValidationError)) return -1;
    PyObject *exc = frpy_take_exc();
    int rc = frpy_add_validation_errors(c, exc, loc);
    Py_DECREF(exc);
    return rc;
}

/* The engine's scalar parsers: 1 = decided (*out set, or an error added),
 * 0 = not decided here (the TypeAdapter decides). */
static int frpy_scalar(rctx *c, pparam *p, fr_str v, PyObject **out, int *rc) {
    int kind = 0, st = FR_SCALAR_DEFER;
    switch (p->conv) {
    case CONV_INT: { int64_t i; kind = FR_SCALAR_INT;
        if ((st = fr_parse_int(v, &i)) == FR_SCALAR_OK) *out = PyLong_FromLongLong((long long)i);
        break; }
    case CONV_FLOAT: { double d; kind = FR_SCALAR_FLOAT;
        if ((st = fr_parse_float(v, &d)) == FR_SCALAR_OK) *out = PyFloat_FromDouble(d);
        break; }
    case CONV_BOOL: { int b; kind = FR_SCALAR_BOOL;
        if ((st = fr_parse_bool(v, &b)) == FR_SCALAR_OK) *out = PyBool_FromLong(b);
        break; }
    case CONV_UUID: { unsigned char u[16]; kind = FR_SCALAR_UUID;
        if ((st = fr_parse_uuid(v, u)) == FR_SCALAR_OK) {
            PyObject *i = _PyLong_FromByteArray(u, 16, 0, 0);
            *out = i ? PyObject_CallOneArg(FRPY.UUID_from_int, i) : NULL;
            Py_XDECREF(i);
        }
        break; }
    default:
        return 0;
    }
    if (st == FR_SCALAR_DEFER) return 0;
    if (st == FR_SCALAR_OK) { *rc = *out ? 0 : -1; return 1; }
    PyObject *input = frpy_str(v.buf, v.len);
    *rc = input ? frpy_add_error(c, frpy_make_error(fr_scalar_error_type(kind), p->loc,
                                                    fr_scalar_error_msg(kind), input)) : -1;
    Py_XDECREF(input);
    return 1;
}

/* Coerce one raw string: the engine decides canonical scalars and certain
 * errors, the TypeAdapter the rest (so errors are exactly pydantic's). */
static int frpy_coerce(rctx *c, pparam *p, fr_str v, PyObject **out) {
    int rc;
    if (p->conv == CONV_STR && !p->adapter) { *out = frpy_str(v.buf, v.len); return *out ? 0 : -1; }
    if (frpy_scalar(c, p, v, out, &rc)) return rc;
    PyObject *s = frpy_str(v.buf, v.len);
    if (!s) return -1;
    if (!p->adapter) { *out = s; return 0; }
    rc = frpy_validate(c, p->validator, s, p->loc, out);
    Py_DECREF(s);
    return rc;
}

static PyObject *frpy_default(pparam *p) {
    if (p->default_mode == DEFAULT_FACTORY) return PyObject_CallNoArgs(p->default_);
    if (p->default_mode == DEFAULT_COPY) return PyObject_CallOneArg(FRPY.deepcopy, p->default_);
    return Py_NewRef(p->default_);
}

static int frpy_missing(rctx *c, pparam *p, PyObject **out) {
    if (p->required)
        return frpy_add_error(c, frpy_make_error("missing", p->loc, "Field required", Py_None));
    *out = frpy_default(p);
    return *out ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* body                                                                */

/* Raise `exc_type(*args, **kw)`; returns 1 (a response-terminating error). */
static int frpy_raise(PyObject *exc_type, PyObject *args, PyObject *kw) {
    PyObject *e = args ? PyObject_Call(exc_type, args, kw) : NULL;
    Py_XDECREF(args);
    Py_XDECREF(kw);
    if (!e) return -1;
    PyErr_SetObject(exc_type, e);
    Py_DECREF(e);
    return 1;
}

/* json.loads refused the body: FastAPI's 422 json_invalid (with the
 * position and message of the JSONDecodeError). */
static int frpy_json_invalid(void) {
    PyObject *exc = frpy_take_exc();
    PyObject *pos = PyObject_GetAttr(exc, FRPY.s_pos), *msg = PyObject_GetAttr(exc, FRPY.s_msg);
    PyObject *doc = PyObject_GetAttr(exc, FRPY.s_doc);
    Py_DECREF(exc);
    PyObject *loc = pos ? Py_BuildValue("(sO)", "body", pos) : NULL;
    PyObject *input = PyDict_New(), *ctx = msg ? Py_BuildValue("{sO}", "error", msg) : NULL;
    PyObject *err = loc && input ? frpy_make_error("json_invalid", loc, "JSON decode error", input) : NULL;
    int ok = err && ctx && PyDict_SetItemString(err, "ctx", ctx) == 0;
    Py_XDECREF(ctx); Py_XDECREF(loc); Py_XDECREF(input); Py_XDECREF(pos); Py_XDECREF(msg);
    PyObject *lst = ok ? PyList_New(1) : NULL;
    if (!lst || !doc) { Py_XDECREF(err); Py_XDECREF(lst); Py_XDECREF(doc); return -1; }
    PyList_SET_ITEM(lst, 0, err);
    PyObject *kw = Py_BuildValue("{sN}", "body", doc);
    PyObject *args = PyTuple_Pack(1, lst);
    Py_DECREF(lst);
    return frpy_raise(FRPY.RequestValidationError, args, kw);
}

static PyObject *frpy_json_decode(const char *buf, size_t len);

/* A JSON body as FastAPI reads it: the engine's reader, json.loads for what
 * it refuses (NaN, exact error messages). 0 ok, 1 error raised, -1. */
static int frpy_body_json(rctx *c, fr_str b) {
    c->body = frpy_json_decode(b.buf, b.len);
    if (c->body) return 0;
    if (PyErr_Occurred()) return -1;
    PyObject *bytes = PyBytes_FromStringAndSize(b.buf, (Py_ssize_t)b.len);
    if (!bytes) return -1;
    c->body = PyObject_CallOneArg(FRPY.json_loads, bytes);
    Py_DECREF(bytes);
    if (c->body) return 0;
    if (PyErr_ExceptionMatches(FRPY.JSONDecodeError)) return frpy_json_invalid();
    PyErr_Clear();
    return frpy_raise(FRPY.HTTPException, Py_BuildValue("(is)", 400, "There was an error parsing the body"),
                      NULL);
}

static size_t frpy_mp_limit(Py_ssize_t v); /* issue 11: route form_limits */
static PyObject *frpy_form_items(const fr_form *f, fr_str ct); /* a streamed multipart body */

/* The plan's one body model (json_param), when pydantic's JSON mode gives
 * what FastAPI's json.loads + Python mode give (the plan checked the
 * schema): validated straight from the bytes, no dict built in between;
 * kept in c->one_pass for the parameter. What it refuses goes FastAPI's way
 * (frpy_body), so errors are unchanged. 0 = done, 1 = not taken, -1. */
static int frpy_body_one_pass(rctx *c) {
    fr_str b = fr_req_body(c->req), ct = fr_req_header(c->req, "content-type");
    if (b.len == 0 || !fr_media_is_json(ct)) return 1;
    PyObject *bytes = PyBytes_FromStringAndSize(b.buf, (Py_ssize_t)b.len);
    c->one_pass = bytes ? PyObject_CallOneArg(c->plan->json_param->json_validate, bytes) : NULL;
    Py_XDECREF(bytes);
    if (c->one_pass) return 0;
    if (!PyErr_ExceptionMatches(FRPY.ValidationError)) return -1;
    PyErr_Clear();
    return 1;
}

/* Returns 0 ok, 1 if a response-terminating error was raised (exception set). */
static int frpy_body(rctx *c) {
    if (c->body_parsed) return 0;
    c->body_parsed = 1;
    fr_str b = fr_req_body(c->req);
    fr_str ct = fr_req_header(c->req, "content-type");
    if (c->plan->body_mode == BODY_FORM) {
        PyObject *fl = c->rt ? c->rt->form_limits : NULL; /* the route's form_limits */
        if (fr_media_is(ct, "application/x-www-form-urlencoded")) {
            fr_mp_limits lim;
            memset(&lim, 0, sizeof lim);
            if (fl) {
                lim.max_files = frpy_mp_limit(PyLong_AsSsize_t(PyTuple_GET_ITEM(fl, 0)));
                lim.max_fields = frpy_mp_limit(PyLong_AsSsize_t(PyTuple_GET_ITEM(fl, 1)));
                lim.max_part_size = frpy_mp_limit(PyLong_AsSsize_t(PyTuple_GET_ITEM(fl, 2)));
                if (PyErr_Occurred()) return -1;
            }
            int code = fr_mp_urlencoded_check(b, fl ? &lim : NULL); /* Starlette's form limits */
            if (code) {
                char msg[96];
                fr_mp_error_text(code, fl ? &lim : NULL, msg, sizeof msg);
                return frpy_raise(FRPY.HTTPException, Py_BuildValue("(is)", 400, msg), NULL);
            }
            c->form = frpy_kv_list(FR_KV_QUERY, b); /* the query string's decoder */
            return c->form ? 0 : -1;
        }
        const fr_form *form = fr_req_form(c->req);
        if (form) { /* the engine streamed it (multipart_stream): files already spooled */
            PyObject *items = frpy_form_items(form, ct);
            c->form = items ? PyObject_CallOneArg(FRPY.rt_upload_items, items) : NULL;
            Py_XDECREF(items);
            return c->form ? 0 : -1;
        }
        PyObject *ctype = ct.buf ? frpy_latin1(ct) : Py_NewRef(Py_None);
        PyObject *bytes = PyBytes_FromStringAndSize(b.buf ? b.buf : "", (Py_ssize_t)b.len);
        if (ctype && bytes && fl)
            c->form = PyObject_CallFunctionObjArgs(FRPY.rt_parse_multipart, bytes, ctype, PyTuple_GET_ITEM(fl, 0),
                                                   PyTuple_GET_ITEM(fl, 1), PyTuple_GET_ITEM(fl, 2), NULL);
        else if (ctype && bytes)
            c->form = PyObject_CallFunctionObjArgs(FRPY.rt_parse_multipart, bytes, ctype, NULL);
        Py_XDECREF(ctype);
        Py_XDECREF(bytes);
        return c->form ? 0 : -1;
    }
    if (b.len == 0) return 0;
    if (!ct.buf || !fr_media_is_json(ct)) { /* FastAPI keeps other bodies as bytes */
        c->body = PyBytes_FromStringAndSize(b.buf, (Py_ssize_t)b.len);
        return c->body ? 0 : -1;
    }
    return frpy_body_json(c, b);
}

/* A form route's parsed body as FastAPI hands it on (Starlette's FormData):
 * RequestValidationError.body, and what request.form() gives the app's
 * exception handler. A new reference, or NULL (no form, or an error). */
static PyObject *frpy_form_data(rctx *c) {
    if (c->plan->body_mode != BODY_FORM) return NULL;
    if (!c->body_parsed && frpy_body(c) != 0) PyErr_Clear(); /* a bad form: its 400 is not this */
    PyObject *fd = c->form ? PyObject_CallOneArg(FRPY.FormData, c->form) : NULL;
    if (!fd) PyErr_Clear();
    return fd;
}

/* ------------------------------------------------------------------ */
/* Request object (built only when a handler asks for it)              */

/* [(name lowercased, value)] as ASGI byte pairs. */
static PyObject *frpy_scope_headers(fr_req *r) {
    size_t n = fr_req_num_headers(r);
    PyObject *hdrs = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; hdrs && i < n; i++) {
        fr_str hn = {NULL, 0}, hv = {NULL, 0}; /* i < n: always set (gcc -O2 cannot tell) */
        fr_req_header_at(r, i, &hn, &hv);
        PyObject *k = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)hn.len);
        PyObject *v = PyBytes_FromStringAndSize(hv.buf, (Py_ssize_t)hv.len);
        PyObject *t = k && v ? PyTuple_Pack(2, k, v) : NULL;
        if (k) {
            char *kb = PyBytes_AS_STRING(k);
            for (size_t j = 0; j < hn.len; j++) kb[j] = (char)fr__tolower((unsigned char)hn.buf[j]);
        }
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (!t) Py_CLEAR(hdrs);
        else PyList_SET_ITEM(hdrs, (Py_ssize_t)i, t);
    }
    return hdrs;
}

/* scope["path_params"]: as Starlette's Route.matches gives them, each
 * value through the route's convertor ({id:int} is an int) when the
 * pattern names one. */
static PyObject *frpy_path_params(rctx *c) {
    fr_req *r = c->req;
    fr_str pat = fr_req_route_pattern(r);
    PyObject *pp = PyDict_New(), *convs = NULL;
    if (pp && pat.buf && memchr(pat.buf, ':', pat.len) && c->plan->route != Py_None) {
        convs = PyObject_GetAttrString(c->plan->route, "param_convertors");
        if (convs && !PyDict_Check(convs)) Py_CLEAR(convs);
        PyErr_Clear();
    }
    for (size_t i = 0; pp && i < fr_req_num_params(r); i++) {
        fr_str pn, pv;
        fr_req_param_at(r, i, &pn, &pv);
        PyObject *k = frpy_str(pn.buf, pn.len), *v = frpy_str(pv.buf, pv.len);
        PyObject *cv = convs && k ? PyDict_GetItemWithError(convs, k) : NULL;
        if (cv && v) Py_SETREF(v, PyObject_CallMethod(cv, "convert", "O", v));
        if (!k || !v || PyDict_SetItem(pp, k, v) < 0) Py_CLEAR(pp);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    Py_XDECREF(convs);
    return pp;
}

/* Behind a proxy, as uvicorn --root-path: root_path, also in front of path
 * and raw_path; FastAPI's app.root_path, when set, is the scope's root_path
 * (FastAPI.__call__). Steals `scope`. */
static PyObject *frpy_scope_root_path(rctx *c, PyObject *scope) {
    fr_str rp = fr_req_root_path(c->req);
    PyObject *app_rp = scope ? PyObject_GetAttrString(c->rt->srv->pyapp, "root_path") : NULL;
    int use_app = app_rp ? PyObject_IsTrue(app_rp) : 0;
    if (!app_rp) PyErr_Clear();
    if (scope && rp.len) {
        PyObject *root = PyUnicode_DecodeUTF8(rp.buf, (Py_ssize_t)rp.len, NULL);
        PyObject *path = root ? PyUnicode_Concat(root, PyDict_GetItemString(scope, "path")) : NULL;
        PyObject *raw = PyBytes_FromStringAndSize(rp.buf, (Py_ssize_t)rp.len);
        if (raw) PyBytes_Concat(&raw, PyDict_GetItemString(scope, "raw_path"));
        if (!path || !raw || PyDict_SetItemString(scope, "path", path) < 0 ||
            PyDict_SetItemString(scope, "raw_path", raw) < 0 ||
            PyDict_SetItemString(scope, "root_path", root) < 0)
            Py_CLEAR(scope);
        Py_XDECREF(root);
        Py_XDECREF(path);
        Py_XDECREF(raw);
    }
    if (scope && (use_app < 0 || (use_app && PyDict_SetItemString(scope, "root_path", app_rp) < 0)))
        Py_CLEAR(scope);
    Py_XDECREF(app_rp);
    return scope;
}

/* scope["body"]: its bytes, or for a body the engine put in a temp file
 * (fr_route_opts.body_spool) an unbuffered binary file over a dup of it,
 * one per request (the Request reads it in pieces; closed with the
 * context: frpy_ctx_free) */
static PyObject *frpy_scope_body(rctx *c) {
    int fd = fr_req_body_file(c->req, NULL);
    if (fd < 0) {
        fr_str b = fr_req_body(c->req);
        return PyBytes_FromStringAndSize(b.buf ? b.buf : "", (Py_ssize_t)b.len);
    }
    if (c->bodyfile) return Py_NewRef(c->bodyfile);
    int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) return PyErr_SetFromErrno(PyExc_OSError);
    c->bodyfile = PyFile_FromFd(own, NULL, "rb", 0, NULL, NULL, NULL, 1);
    if (!c->bodyfile) close(own);
    return Py_XNewRef(c->bodyfile);
}

/* What Starlette's routing adds to the scope: "endpoint" (the route's)
 * and "router" (the app's), for middleware and instrumentation. */
static PyObject *frpy_scope_routing(rctx *c, PyObject *d) {
    if (!d) return NULL;
    PyObject *ep = c->plan->route != Py_None ? PyObject_GetAttr(c->plan->route, FRPY.s_endpoint) : NULL;
    PyObject *router = PyObject_GetAttr(c->rt->srv->pyapp, FRPY.s_router);
    PyErr_Clear();
    if ((ep && PyDict_SetItem(d, FRPY.s_endpoint, ep) < 0) ||
        (router && PyDict_SetItem(d, FRPY.s_router, router) < 0))
        Py_CLEAR(d);
    Py_XDECREF(ep);
    Py_XDECREF(router);
    return d;
}

/* scope["fastrapi.client_gone"] of a socket request: request.is_disconnected()
 * asks the engine (fr_req_client_gone) whether the client left, as
 * Starlette's asks the server; True once the answer has gone out, as
 * uvicorn's receive() says http.disconnect then. frpy_ctx_free cuts it. */
typedef struct {
    PyObject_HEAD
    rctx *c;
} frpy_gone;

static PyObject *frpy_gone_call(PyObject *self, PyObject *args, PyObject *kw) {
    (void)args;
    (void)kw;
    rctx *c = ((frpy_gone *)self)->c;
    return PyBool_FromLong(!c || !c->req || c->answered || fr_req_client_gone(c->req));
}

static PyTypeObject FrpyGoneType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fastrapi._fastrapi.ClientGone",
    .tp_basicsize = sizeof(frpy_gone),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_call = frpy_gone_call,
};

/* the scope's gone callable: socket requests only (an fr_dispatch request's
 * caller -- the ASGI face -- has the client) */
static PyObject *frpy_scope_gone(rctx *c, PyObject *scope) {
    if (!scope || fr_req_sink(c->req)) return scope;
    if (!c->gone) {
        frpy_gone *g = PyObject_New(frpy_gone, &FrpyGoneType);
        if (!g) { Py_DECREF(scope); return NULL; }
        g->c = c;
        c->gone = (PyObject *)g;
    }
    if (PyDict_SetItemString(scope, "fastrapi.client_gone", c->gone) < 0) Py_CLEAR(scope);
    return scope;
}

static PyObject *frpy_scope(rctx *c) {
    fr_req *r = c->req;
    fr_str m = fr_req_method(r), p = fr_req_path(r), rp = fr_req_raw_path(r), q = fr_req_query(r);
    fr_str ca = fr_req_client_addr(r), rpat = fr_req_route_pattern(r);
    fr_str sch = fr_req_scheme(r);
    PyObject *hdrs = frpy_scope_headers(r), *pp = frpy_path_params(c), *body = frpy_scope_body(c);
    if (!hdrs || !pp || !body) { Py_XDECREF(hdrs); Py_XDECREF(pp); Py_XDECREF(body); return NULL; }
    char ver[8], host[64];
    int sport = 0;
    snprintf(ver, sizeof ver, "1.%d", fr_req_http_minor(r));
    PyObject *server = fr_req_server_addr(r, host, sizeof host, &sport)
                           ? Py_BuildValue("(si)", host, sport) : Py_NewRef(Py_None);
    if (!server) { Py_DECREF(hdrs); Py_DECREF(pp); Py_DECREF(body); return NULL; }
    return frpy_scope_gone(c, frpy_scope_root_path(c, frpy_scope_routing(c, Py_BuildValue(
        "{s:s,s:{s:s,s:s},s:N,s:s#,s:s#,s:y#,s:y#,s:N,s:N,s:(s#i),s:N,s:O,s:s#,s:s,s:s,s:s#,s:O}",
        "type", "http", "asgi", "version", "3.0", "spec_version", "2.3", "server", server,
        "method", m.buf, (Py_ssize_t)m.len, "path", p.buf, (Py_ssize_t)p.len, "raw_path", rp.buf,
        (Py_ssize_t)rp.len, "query_string", q.buf ? q.buf : "", (Py_ssize_t)q.len, "headers", hdrs,
        "path_params", pp, "client", ca.buf ? ca.buf : "", (Py_ssize_t)ca.len,
        fr_req_client_port(r), "body", body, "app",
        c->rt->srv->pyapp, "scheme", sch.buf, (Py_ssize_t)sch.len, "root_path", "", "http_version",
        ver, "route_path", rpat.buf ? rpat.buf : "", (Py_ssize_t)rpat.len, "route", c->plan->route))));
}

/* An ASGI request's Request sees the server's scope (what middleware set:
 * session, user, state...) plus what the engine knows (path params, route,
 * the body it read, the app). */
static PyObject *frpy_merge_asgi_scope(rctx *c, PyObject *engine) {
    static const char *const keys[] = {"path_params", "body", "app", "route", "route_path", "endpoint",
                                       "router", "fastrapi.client_gone"};
    PyObject *d = PyDict_Copy(c->asgi_scope);
    for (size_t i = 0; d && i < sizeof keys / sizeof keys[0]; i++) {
        PyObject *v = PyDict_GetItemString(engine, keys[i]);
        /* "router": the outermost app's, as Starlette sets it once (url_for of a mount) */
        if (i == 6 && PyDict_GetItemString(d, keys[i])) continue;
        PyObject *outer = i == 0 ? PyDict_GetItemString(d, keys[0]) : NULL;
        if (v && outer && PyDict_Check(outer) && PyDict_Size(outer)) {
            /* a mount's or host's own parameters ("/t/{tid}"), then the route's: Starlette's
             * Route.matches starts from the scope's */
            PyObject *m = PyDict_Copy(outer);
            if (!m || PyDict_Update(m, v) < 0 || PyDict_SetItemString(d, keys[0], m) < 0) Py_CLEAR(d);
            Py_XDECREF(m);
            continue;
        }
        if (v && PyDict_SetItemString(d, keys[i], v) < 0) Py_CLEAR(d);
    }
    Py_DECREF(engine);
    return d;
}

/* SessionMiddleware run by the engine (Server.use_session): starlette's
 * Session class and json.loads / json.dumps, set once by use_session. */
static PyObject *FRPY_SESSION_CLS, *FRPY_JSON_LOADS, *FRPY_JSON_DUMPS;
static void frpy_log_exception(rctx *c, const char *what);

/* scope["session"] = Session(json.loads(payload)) or Session() when the
 * engine runs a session middleware for this request. 0 / -1. */
static int frpy_scope_session(rctx *c, PyObject *scope) {
    fr_str json;
    int r = c->req && FRPY_SESSION_CLS ? fr_req_session(c->req, &json) : -1;
    if (r < 0) return 0;
    PyObject *data = NULL, *sess;
    if (r == 1) {
        PyObject *text = PyBytes_FromStringAndSize(json.buf, (Py_ssize_t)json.len);
        data = text ? PyObject_CallOneArg(FRPY_JSON_LOADS, text) : NULL;
        Py_XDECREF(text);
        if (!data) return -1;
    }
    sess = data ? PyObject_CallOneArg(FRPY_SESSION_CLS, data) : PyObject_CallNoArgs(FRPY_SESSION_CLS);
    Py_XDECREF(data);
    r = sess ? PyDict_SetItemString(scope, "session", sess) : -1;
    Py_XDECREF(sess);
    return r;
}

/* Before the response goes out: tell the engine what request.session saw
 * (Starlette's send wrapper reads it at http.response.start). */
static void frpy_session_report(rctx *c) {
    if (!FRPY_SESSION_CLS || !c->request || !c->req || fr_req_session(c->req, NULL) < 0) return;
    PyObject *scope = PyObject_GetAttrString(c->request, "scope");
    PyObject *sess = scope && PyDict_Check(scope) ? PyDict_GetItemString(scope, "session") : NULL;
    fr_str json = {NULL, 0};
    PyObject *text = NULL;
    int flags = 0;
    if (sess && PyObject_IsInstance(sess, FRPY_SESSION_CLS) == 1) {
        PyObject *acc = PyObject_GetAttrString(sess, "accessed");
        PyObject *mod = PyObject_GetAttrString(sess, "modified");
        if (acc && PyObject_IsTrue(acc) == 1) flags |= FR_SESSION_ACCESSED;
        if (mod && PyObject_IsTrue(mod) == 1) flags |= FR_SESSION_MODIFIED;
        if (PyObject_IsTrue(sess) == 1) flags |= FR_SESSION_NONEMPTY;
        Py_XDECREF(acc);
        Py_XDECREF(mod);
        if ((flags & FR_SESSION_MODIFIED) && (flags & FR_SESSION_NONEMPTY)) {
            Py_ssize_t n;
            const char *u;
            text = PyObject_CallOneArg(FRPY_JSON_DUMPS, sess);
            u = text ? PyUnicode_AsUTF8AndSize(text, &n) : NULL;
            if (u) json.buf = u, json.len = (size_t)n;
            else frpy_log_exception(c, "SessionMiddleware"), flags |= FR_SESSION_ERROR;
        }
    }
    PyErr_Clear();
    fr_req_session_set(c->req, flags, json);
    Py_XDECREF(text);
    Py_XDECREF(scope);
}

static PyObject *frpy_request(rctx *c) {
    if (c->request) return Py_NewRef(c->request);
    PyObject *scope = frpy_scope(c);
    if (!c->asgi_scope && !c->mwr) frpy_mw_scope(c); /* inside @app.middleware: its scope */
    if (scope && c->asgi_scope) scope = frpy_merge_asgi_scope(c, scope);
    if (scope && !(c->asgi_scope && PyDict_GetItemString(c->asgi_scope, "session")) &&
        frpy_scope_session(c, scope) < 0)
        Py_CLEAR(scope);
    if (!scope) return NULL;
    c->request = PyObject_CallOneArg(FRPY.Request, scope);
    Py_DECREF(scope);
    return c->request ? Py_NewRef(c->request) : NULL;
}

/* ------------------------------------------------------------------ */
/* parameter extraction: one function per source. Each returns 0 (value in
 * *out, or an error collected in c->errors and *out NULL), 1 (a dependency
 * was skipped), -1 (Python error) or -2 (a response-terminating error). */

/* A list value (list[str] query/header...) validated as a whole. */
static int frpy_list_value(rctx *c, pparam *p, PyObject *vals, PyObject **out) {
    if (PyList_GET_SIZE(vals) == 0) { Py_DECREF(vals); return frpy_missing(c, p, out); }
    if (!p->adapter) { *out = vals; return 0; }
    int rr = frpy_validate(c, p->validator, vals, p->loc, out);
    Py_DECREF(vals);
    return rr;
}

/* Query string or Cookie header: the LAST value of the key, or all of them. */
static int frpy_param_kv(rctx *c, pparam *p, int kind, fr_str src, PyObject **out) {
    fr_str key = {p->ckey, p->ckey_len}, raw;
    if (!p->is_list) {
        if (!fr_kv_find(src, kind, key, FR_KV_LAST, &raw)) return frpy_missing(c, p, out);
        char small[256], *heap;
        fr_str d;
        int rr = frpy_kv_decode(kind, 0, raw, small, sizeof small, &heap, &d);
        if (rr == 0) rr = frpy_coerce(c, p, d, out);
        PyMem_Free(heap);
        return rr;
    }
    PyObject *vals = PyList_New(0);
    fr_kv_iter it;
    fr_str k, v;
    fr_kv_iter_init(&it, src, kind);
    while (vals && fr_kv_next(&it, &k, &v)) {
        if (!fr_kv_key_eq(kind, k, key)) continue;
        PyObject *s = frpy_kv_text(kind, 0, v);
        if (!s || PyList_Append(vals, s) < 0) Py_CLEAR(vals);
        Py_XDECREF(s);
    }
    return vals ? frpy_list_value(c, p, vals, out) : -1;
}

/* Form fields: (name, value) pairs from the body (values str or UploadFile). */
/* FastAPI's _is_empty_file_input: what a browser sends for a file input
 * left empty (an UploadFile with filename "" and size 0). */
static int frpy_empty_upload(PyObject *v) {
    if (PyUnicode_Check(v)) return 0;
    PyObject *fn = PyObject_GetAttrString(v, "filename"), *sz = fn ? PyObject_GetAttrString(v, "size") : NULL;
    int r = fn && sz && PyUnicode_Check(fn) && PyUnicode_GET_LENGTH(fn) == 0 && PyLong_Check(sz) &&
            PyLong_AsLong(sz) == 0;
    Py_XDECREF(fn);
    Py_XDECREF(sz);
    PyErr_Clear();
    return r;
}

static int frpy_param_form(rctx *c, pparam *p, PyObject **out) {
    int br = frpy_body(c);
    if (br) return br > 0 ? -2 : -1;
    PyObject *vals = PyList_New(0);
    if (!vals) return -1;
    for (Py_ssize_t i = 0; c->form && i < PyList_GET_SIZE(c->form); i++) {
        PyObject *pair = PyList_GET_ITEM(c->form, i);
        PyObject *k = PyTuple_GET_ITEM(pair, 0), *v = PyTuple_GET_ITEM(pair, 1);
        if (PyUnicode_Compare(k, p->key) != 0) continue;
        if (p->is_list && frpy_empty_upload(v)) continue; /* FastAPI drops them from lists */
        if (PyList_Append(vals, v) < 0) { Py_DECREF(vals); return -1; }
    }
    Py_ssize_t vn = PyList_GET_SIZE(vals);
    if (p->is_list || vn == 0) return frpy_list_value(c, p, vals, out);
    /* FastAPI: the last value; an empty string or empty file counts as missing */
    PyObject *v = Py_NewRef(PyList_GET_ITEM(vals, vn - 1));
    Py_DECREF(vals);
    if ((PyUnicode_Check(v) && PyUnicode_GET_LENGTH(v) == 0) || frpy_empty_upload(v)) {
        Py_DECREF(v);
        return frpy_missing(c, p, out);
    }
    int rr;
    if (!p->adapter || (p->conv == CONV_STR && PyUnicode_Check(v))) { *out = v; return 0; }
    if (PyUnicode_Check(v) && p->conv != CONV_ANY) {
        Py_ssize_t sl;
        const char *s = PyUnicode_AsUTF8AndSize(v, &sl);
        rr = s ? frpy_coerce(c, p, (fr_str){s, (size_t)sl}, out) : -1;
    } else {
        rr = frpy_validate(c, p->validator, v, p->loc, out);
    }
    Py_DECREF(v);
    return rr;
}

static int frpy_param_header(rctx *c, pparam *p, PyObject **out) {
    fr_req *r = c->req;
    fr_str want = {p->ckey, p->ckey_len};
    if (p->is_list) {
        PyObject *vals = PyList_New(0);
        for (size_t i = 0; vals && i < fr_req_num_headers(r); i++) {
            fr_str hn, hv;
            fr_req_header_at(r, i, &hn, &hv);
            if (!fr_str_ieq(hn, want)) continue;
            PyObject *s = frpy_latin1(hv);
            if (!s || PyList_Append(vals, s) < 0) Py_CLEAR(vals);
            Py_XDECREF(s);
        }
        return vals ? frpy_list_value(c, p, vals, out) : -1;
    }
    fr_str v = fr_req_header(r, p->ckey);
    if (!v.buf) return frpy_missing(c, p, out);
    for (size_t i = 0; i < v.len; i++) { /* header values are Latin-1; ASCII is the common case */
        if ((unsigned char)v.buf[i] < 0x80) continue;
        PyObject *s = frpy_latin1(v);
        if (!s) return -1;
        if (!p->adapter) { *out = s; return 0; }
        int rr = frpy_validate(c, p->validator, s, p->loc, out);
        Py_DECREF(s);
        return rr;
    }
    return frpy_coerce(c, p, v, out);
}

static int frpy_param_body(rctx *c, pparam *p, PyObject **out) {
    if (p->json_validate && c->one_pass) { /* frpy_body_one_pass */
        *out = c->one_pass;
        c->one_pass = NULL;
        return 0;
    }
    int br = frpy_body(c);
    if (br) return br > 0 ? -2 : -1;
    PyObject *v = c->body;
    if (p->source == SRC_BODY_FIELD) {
        if (!v || PyBytes_Check(v)) return frpy_missing(c, p, out);
        if (!PyDict_Check(v)) /* embedded fields need an object (FastAPI: missing) */
            return frpy_add_error(c, frpy_make_error("missing", p->loc, "Field required", Py_None));
        v = PyDict_GetItemWithError(v, p->key);
        if (!v) return PyErr_Occurred() ? -1 : frpy_missing(c, p, out);
    } else if (!v) {
        return frpy_missing(c, p, out);
    }
    if (!p->adapter) { *out = Py_NewRef(v); return 0; }
    return frpy_validate(c, p->validator, v, p->loc, out);
}

/* `response: Response` parameter: FastAPI's sub-response (status None). */
static int frpy_param_subresp(rctx *c, PyObject **out) {
    if (!c->subresp) {
        PyObject *resp = PyObject_CallNoArgs(FRPY.Response), *lst = PyList_New(0);
        if (!resp || !lst || PyObject_SetAttr(resp, FRPY.s_raw_headers, lst) < 0 ||
            PyObject_SetAttr(resp, FRPY.s_status_code, Py_None) < 0) {
            Py_XDECREF(resp);
            Py_XDECREF(lst);
            return -1;
        }
        Py_DECREF(lst);
        c->subresp = resp;
    }
    *out = Py_NewRef(c->subresp);
    return 0;
}

static int frpy_param(rctx *c, pparam *p, PyObject **out) {
    *out = NULL;
    switch (p->source) {
    case SRC_PATH: {
        fr_str v = fr_req_param(c->req, p->ckey);
        return v.buf ? frpy_coerce(c, p, v, out) : frpy_missing(c, p, out);
    }
    case SRC_QUERY: return frpy_param_kv(c, p, FR_KV_QUERY, fr_req_query(c->req), out);
    case SRC_COOKIE: return frpy_param_kv(c, p, FR_KV_COOKIE, frpy_cookie_header(c->req), out);
    case SRC_FORM_FIELD: return frpy_param_form(c, p, out);
    case SRC_HEADER: return frpy_param_header(c, p, out);
    case SRC_BODY:
    case SRC_BODY_FIELD: return frpy_param_body(c, p, out);
    case SRC_REQUEST:
        *out = frpy_request(c);
        return *out ? 0 : -1;
    case SRC_RESPONSE: return frpy_param_subresp(c, out);
    case SRC_BACKGROUND:
        if (!c->bg && !(c->bg = PyObject_CallNoArgs(FRPY.BackgroundTasks))) return -1;
        *out = Py_NewRef(c->bg);
        return 0;
    case SRC_CONST:
        *out = frpy_default(p);
        return *out ? 0 : -1;
    case SRC_DEP: {
        PyObject *v = (PyObject *)fr_di_arg(c->di, (size_t)p->dep);
        if (!v) return 1; /* skipped (its parameters had errors) */
        if (Py_TYPE(v) == (PyTypeObject *)FRPY.ParamErrors) { /* a parameter model's: filed here */
            PyObject *errs = PyObject_GetAttrString(v, "errors");
            if (!errs) return -1;
            if (!c->errors) c->errors = PyList_New(0);
            int bad = !c->errors || PyList_SetSlice(c->errors, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, errs) < 0;
            Py_DECREF(errs);
            return bad ? -1 : 1;
        }
        *out = Py_NewRef(v);
        return 0;
    }
    }
    PyErr_SetString(PyExc_SystemError, "bad param source");
    return -1;
}

/* ------------------------------------------------------------------ */
/* responses                                                           */

static void frpy_asgi_release(struct frpy_asgi *a);

/* FastAPI closes the request's UploadFiles once the response and its
 * background tasks are done (a file kept past that reads as closed). */
static void frpy_close_uploads(PyObject *form) {
    for (Py_ssize_t i = 0; form && PyList_Check(form) && i < PyList_GET_SIZE(form); i++) {
        PyObject *item = PyList_GET_ITEM(form, i), *file, *r;
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 || PyUnicode_Check(PyTuple_GET_ITEM(item, 1)))
            continue;
        file = PyObject_GetAttrString(PyTuple_GET_ITEM(item, 1), "file");
        r = file ? PyObject_CallMethod(file, "close", NULL) : NULL;
        Py_XDECREF(r);
        Py_XDECREF(file);
        PyErr_Clear();
    }
}

static void frpy_ctx_free(rctx *c) {
    Py_XDECREF(c->owned);
    Py_XDECREF(c->errors);
    Py_XDECREF(c->body);
    Py_XDECREF(c->one_pass);
    frpy_close_uploads(c->form);
    Py_XDECREF(c->form);
    Py_XDECREF(c->request);
    Py_XDECREF(c->subresp);
    Py_XDECREF(c->bg);
    Py_XDECREF(c->teardowns);
    Py_XDECREF(c->pending);
    Py_XDECREF(c->exc);
    Py_XDECREF(c->result);
    Py_XDECREF(c->gen);
    Py_XDECREF(c->ctx);
    Py_XDECREF(c->asgi);
    Py_XDECREF(c->asgi_scope);
    if (c->bodyfile) { /* its fd now, not when the Request is collected */
        PyObject *r = PyObject_CallMethod(c->bodyfile, "close", NULL);
        if (!r) PyErr_Clear();
        Py_XDECREF(r);
        Py_DECREF(c->bodyfile);
    }
    if (c->asgi_ch) frpy_asgi_release(c->asgi_ch);
    if (c->mwr) frpy_mw_release(c);
    if (c->gone) { /* a Request kept past its request answers True */
        ((frpy_gone *)c->gone)->c = NULL;
        Py_DECREF(c->gone);
    }
    PyObject *srv = c->srv_ref;
    if (c->after_counted) fr__atomic_fetch_add(&c->rt->srv->live, -1);
    free(c);
    Py_XDECREF(srv);
}

/* Take the pending teardowns of `scope` (-1: all, function-scoped first)
 * out of the walk, in the order the engine says they run, appended to
 * *list (created when needed). The values are the generator objects. */
static int frpy_take_cleanups(rctx *c, int scope, PyObject **list) {
    void *gen;
    while (c->di && fr_di_ctx_pop_cleanup(c->di, scope, &gen, NULL) == 1) {
        if (!*list && !(*list = PyList_New(0))) return -1;
        if (PyList_Append(*list, (PyObject *)gen) < 0) return -1;
    }
    return 0;
}

static void frpy_done_cb(fr_req *req, int ok, void *ud) {
    (void)req; (void)ok;
    rctx *c = ud;
    c->req = NULL;
    c->job = JOB_AFTER;
    if (c->after_simple) frpy_pool_push(c); /* sync teardowns: worker thread, like FastAPI */
    else frpy_aio_push(c);
}

static int frpy_after_is_simple(rctx *c) {
    int simple = (!c->result || c->result == Py_None) && !c->bg && !c->exc && c->teardowns;
    for (Py_ssize_t i = 0; simple && i < PyList_GET_SIZE(c->teardowns); i++)
        if (!PyGen_CheckExact(PyList_GET_ITEM(c->teardowns, i))) simple = 0;
    return simple;
}

static int frpy_has_after_work(rctx *c, PyObject *background) {
    return (background && background != Py_None) || (c->bg) ||
           (c->teardowns && PyList_GET_SIZE(c->teardowns) > 0);
}

/* Hand the response to the engine and either free the context or keep it
 * for post-response work (background tasks, generator teardowns). The walk
 * lives in the request's arena: its pending teardowns are taken out first. */
/* Post-response work (background tasks, teardowns) is about to run after
 * this answer: counted until the context is freed, so a TestClient can wait
 * for it, as Starlette's returns once the whole ASGI call is done. */
static void frpy_count_after(rctx *c) {
    if (c->after_counted) return;
    c->after_counted = 1;
    fr__atomic_fetch_add(&c->rt->srv->live, 1);
}

static void frpy_finish(rctx *c, PyObject *background) {
    if (background && background != Py_None) {
        Py_XSETREF(c->result, Py_NewRef(background));
    } else {
        Py_CLEAR(c->result);
    }
    if (frpy_take_cleanups(c, -1, &c->teardowns) < 0) PyErr_Clear();
    c->di = NULL;
    int after = frpy_has_after_work(c, background);
    fr_req *req = c->req;
    if (after) {
        frpy_count_after(c);
        c->after_simple = frpy_after_is_simple(c);
        fr_req_on_done(req, frpy_done_cb, c);
    } else if (c->asgi_ch) {
        /* Nothing runs after this response: the ASGI face's "done" goes out
         * with its last body, so the call returns right after its send, as
         * FastAPI's does (an outer middleware's post-send code runs before
         * the client's next request, not whenever this thread is next
         * scheduled). */
        frpy_asgi_release(c->asgi_ch);
        c->asgi_ch = NULL;
    }
    frpy_session_report(c);
    c->answered = 1;
    Py_BEGIN_ALLOW_THREADS
    fr_res_send(req);
    Py_END_ALLOW_THREADS
    if (!after) frpy_ctx_free(c);
}

static void frpy_send_plain500(rctx *c) {
    fr_req *req = c->req;
    static const char msg[] = "Internal Server Error";
    fr_mw_bypass(req); /* ServerErrorMiddleware's answer: outside the user middleware */
    fr_res_status(req, 500);
    fr_res_header(req, "content-type", "text/plain; charset=utf-8");
    fr_res_body(req, msg, sizeof msg - 1);
    frpy_finish(c, NULL);
}

static void frpy_log_exception(rctx *c, const char *what) {
    PyObject *exc = frpy_take_exc();
    if (!exc) return;
    PyObject *sink = c->rt->srv->exc_sink;
    PyObject *r = PyObject_CallFunction(FRPY.rt_log_exc, "OsOOOO", c->plan->route, what, exc,
                                        c->asgi ? c->asgi : Py_None, c->rt->srv->pyapp, sink ? sink : Py_None);
    if (!r) PyErr_Clear();
    Py_XDECREF(r);
    Py_DECREF(exc);
}

/* FastAPI's is_body_allowed_for_status_code */
static int frpy_body_allowed(int status) { return !(status < 200 || status == 204 || status == 205 || status == 304); }

static int frpy_add_raw_headers(fr_req *req, PyObject *raw, int skip_len) {
    if (!raw || raw == Py_None) return 0;
    PyObject *seq = PySequence_Fast(raw, "raw_headers must be a list");
    if (!seq) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *k, *v;
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2) continue;
        k = PyTuple_GET_ITEM(t, 0);
        v = PyTuple_GET_ITEM(t, 1);
        if (!PyBytes_Check(k) || !PyBytes_Check(v)) continue;
        if (skip_len && PyBytes_GET_SIZE(k) == 14 && !strncasecmp(PyBytes_AS_STRING(k), "content-length", 14))
            continue;
        fr_res_header_n(req, PyBytes_AS_STRING(k), (size_t)PyBytes_GET_SIZE(k), PyBytes_AS_STRING(v),
                        (size_t)PyBytes_GET_SIZE(v));
    }
    Py_DECREF(seq);
    return 0;
}

/* Headers set on an injected `response: Response` parameter join the final
 * response (FastAPI's sub-response merge). */
static void frpy_add_subresp_headers(rctx *c) {
    if (!c->subresp) return;
    PyObject *sraw = PyObject_GetAttr(c->subresp, FRPY.s_raw_headers);
    if (sraw) frpy_add_raw_headers(c->req, sraw, 1);
    Py_XDECREF(sraw);
    PyErr_Clear();
}

static int frpy_subresp_status(rctx *c) {
    if (!c->subresp) return 0;
    PyObject *s = PyObject_GetAttr(c->subresp, FRPY.s_status_code);
    int st = 0;
    if (s && PyLong_Check(s)) st = (int)PyLong_AsLong(s);
    Py_XDECREF(s);
    PyErr_Clear();
    return st;
}

static void frpy_send_json_bytes(rctx *c, int status, const char *data, size_t len) {
    fr_req *req = c->req;
    int st = frpy_subresp_status(c);
    if (st) status = st;
    fr_res_status(req, status);
    fr_res_header(req, "content-type", "application/json");
    frpy_add_subresp_headers(c);
    if (frpy_body_allowed(status)) fr_res_body(req, data, len);
    frpy_finish(c, NULL);
}

static void frpy_send_stream(rctx *c, PyObject *resp);

/* Starlette's http.response.debug message, which its TestClient turns into
 * response.template / response.context: a TestClient's sink gets the pair
 * of a template answer. */
static void frpy_note_template(PyObject *sink, PyObject *resp) {
    PyObject *t = PyObject_GetAttrString(resp, "template"), *ctx = t ? PyObject_GetAttrString(resp, "context") : NULL;
    PyObject *pair = ctx ? PyTuple_Pack(2, t, ctx) : NULL;
    if (pair) PyList_Append(sink, pair);
    Py_XDECREF(pair);
    Py_XDECREF(ctx);
    Py_XDECREF(t);
    PyErr_Clear();
}

/* Send a Response instance (any of fastrapi.responses). */
static void frpy_send_response_obj(rctx *c, PyObject *resp, int merge_sub) {
    fr_req *req = c->req;
    PyObject *st = PyObject_GetAttr(resp, FRPY.s_status_code);
    int status = st ? (int)PyLong_AsLong(st) : 500;
    Py_XDECREF(st);
    if (PyErr_Occurred()) { frpy_log_exception(c, "bad Response object"); frpy_send_plain500(c); return; }
    if (resp == FRPY.frontend_files || PyObject_IsInstance(resp, FRPY.StreamingResponse) == 1 ||
        PyObject_IsInstance(resp, FRPY.FileResponse) == 1) {
        c->merge_sub = merge_sub; /* a returned stream or file goes as it is (FastAPI) */
        frpy_send_stream(c, resp);
        return;
    }
    PyObject *body = PyObject_GetAttr(resp, FRPY.s_body);
    PyObject *raw = PyObject_GetAttr(resp, FRPY.s_raw_headers);
    PyObject *bg = PyObject_GetAttr(resp, FRPY.s_background);
    if (!body || !raw || !bg) {
        Py_XDECREF(body); Py_XDECREF(raw); Py_XDECREF(bg);
        frpy_log_exception(c, "bad Response object");
        frpy_send_plain500(c);
        return;
    }
    if (bg == Py_None && c->bg) Py_SETREF(bg, Py_NewRef(c->bg));
    if (c->rt->srv->debug_sink) frpy_note_template(c->rt->srv->debug_sink, resp);
    fr_res_status(req, status);
    frpy_add_raw_headers(req, raw, 1);
    if (merge_sub) frpy_add_subresp_headers(c);
    Py_buffer view;
    if (frpy_body_allowed(status) && PyObject_GetBuffer(body, &view, PyBUF_SIMPLE) == 0) {
        fr_res_body(req, view.buf, (size_t)view.len);
        PyBuffer_Release(&view);
    }
    PyErr_Clear();
    Py_DECREF(body);
    Py_DECREF(raw);
    /* the context's own bg (if any) is handed over via background */
    if (bg != Py_None && c->bg == bg) Py_CLEAR(c->bg);
    frpy_finish(c, bg);
    Py_DECREF(bg);
}

/* ---- streaming ---- */
/*
 * Flow control (fr_res_stream_on_drain): a write never blocks; above the
 * engine's high-water mark it answers FR_STREAM_FULL and the producer
 * steps aside until DRAINED. The engine posts DRAINED / GONE from its loop
 * thread without the GIL (frpy_sflow_post); the job runs with it where the
 * producer lives: an async iterator's pump awaits a future resolved there
 * (GONE cancels the pump, so the generator's finally runs); a sync
 * iterator is parked (no thread is held) and a pool worker resumes it.
 */

typedef struct frpy_sflow {
    fr_job link;      /* first: queued on the pool or the mailbox */
    int job;          /* JOB_SFLOW, where an rctx has its job */
    rctx *c;
    pthread_mutex_t mu;
    int bits;         /* events posted and not handled yet (under mu) */
    int queued;       /* link is in a queue (under mu) */
    int orphan;       /* the stream ended first: the queued job frees it (under mu) */
    int is_async;
    /* with the GIL */
    int full, gone;
    PyObject *fut;    /* async: what the pump awaits while full */
    PyObject *iter;   /* sync: the parked iterator */
    PyObject *bg;     /* sync: its background task, for frpy_stream_done */
} frpy_sflow;

static void frpy_stream_done(rctx *c, PyObject *background);
static int frpy_stream_sync(rctx *c, PyObject *iter, PyObject *bg);

/* A piece of c's stream: an @app.middleware layer's own answer is told
 * apart from the stream of the handler inside it (middleware.h: STREAMED
 * CAPTURE). */
static int frpy_res_stream_write(rctx *c, const void *d, size_t n) {
    return c->mwr ? fr_mw_stream_write(c->req, d, n) : fr_res_stream_write(c->req, d, n);
}

/* engine loop thread, no GIL */
static void frpy_sflow_post(fr_req *req, int event, void *ud) {
    frpy_sflow *f = ud;
    int push;
    (void)req;
    pthread_mutex_lock(&f->mu);
    f->bits |= event;
    push = !f->queued;
    f->queued = 1;
    pthread_mutex_unlock(&f->mu);
    if (!push) return;
    if (f->is_async) {
        if (fr_mailbox_push(&frpy_aio, &f->link) != 0) fprintf(stderr, "fastrapi: the asyncio mailbox is closed\n");
    } else if (!frpy_pool || fr_pool_push(frpy_pool, &f->link) != 0) { /* a sync stream runs there */
        fprintf(stderr, "fastrapi: the worker pool refused a job (no thread)\n");
    }
}

static void frpy_sflow_free(frpy_sflow *f) {
    Py_CLEAR(f->fut);
    Py_CLEAR(f->iter);
    Py_CLEAR(f->bg);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* After the stream begun: events go to a new frpy_sflow (from the loop
 * thread; for an ASGI-face request from its consumer: fr_sink_resume). */
static void frpy_sflow_attach(rctx *c, int is_async) {
    frpy_sflow *f = calloc(1, sizeof *f);
    if (!f) return;
    f->job = JOB_SFLOW;
    f->c = c;
    f->is_async = is_async;
    pthread_mutex_init(&f->mu, NULL);
    if (fr_res_stream_on_drain(c->req, frpy_sflow_post, f) < 0) {
        pthread_mutex_destroy(&f->mu);
        free(f);
        return;
    }
    c->flow = f;
}

/* The stream ended (fr_res_stream_end returned: no more posts). */
static void frpy_sflow_detach(rctx *c) {
    frpy_sflow *f = c->flow;
    int queued;
    if (!f) return;
    c->flow = NULL;
    pthread_mutex_lock(&f->mu);
    queued = f->queued;
    if (queued) f->orphan = 1;
    pthread_mutex_unlock(&f->mu);
    if (!queued) frpy_sflow_free(f);
    else { Py_CLEAR(f->fut); Py_CLEAR(f->iter); Py_CLEAR(f->bg); }
}

static void frpy_sflow_resolve(frpy_sflow *f, long v) {
    PyObject *fut = f->fut, *r;
    f->fut = NULL;
    if (!fut) return;
    r = PyObject_CallMethod(fut, "done", NULL);
    if (r == Py_False) {
        PyObject *x = PyObject_CallMethod(fut, "set_result", "l", v);
        Py_XDECREF(x);
    }
    Py_XDECREF(r);
    PyErr_Clear();
    Py_DECREF(fut);
}

/* The job of a post, with the GIL (asyncio thread or a pool worker). */
static void frpy_sflow_job(frpy_sflow *f) {
    int bits, orphan;
    pthread_mutex_lock(&f->mu);
    bits = f->bits;
    f->bits = 0;
    f->queued = 0;
    orphan = f->orphan;
    pthread_mutex_unlock(&f->mu);
    if (orphan) { frpy_sflow_free(f); return; }
    rctx *c = f->c;
    f->full = 0;
    if (bits & FR_STREAM_GONE) f->gone = 1;
    if (f->is_async) {
        PyObject *waiting = f->fut;
        frpy_sflow_resolve(f, f->gone ? -1 : 0);
        if (f->gone && !waiting && c->pending) { /* stop a generator between chunks */
            PyObject *r = PyObject_CallMethod(c->pending, "cancel", NULL);
            if (!r) PyErr_Clear();
            Py_XDECREF(r);
        }
        return;
    }
    if (!f->iter) return; /* the producer is running: its next write sees it */
    PyObject *iter = f->iter, *bg = f->bg;
    f->iter = f->bg = NULL;
    if (frpy_stream_sync(c, iter, bg) == 0) frpy_stream_done(c, bg);
    Py_DECREF(iter);
}

/* A sync iterator's close(): its finally runs (a client that left). */
static void frpy_iter_close(PyObject *iter) {
    PyObject *r;
    if (!PyObject_HasAttrString(iter, "close")) return;
    r = PyObject_CallMethod(iter, "close", NULL);
    if (!r) PyErr_WriteUnraisable(iter);
    Py_XDECREF(r);
}

/* Pump a sync iterator on this pool worker. 1: parked above high water (the
 * flow job resumes it with iter and bg); 0: over, the caller ends it. */
static int frpy_stream_sync(rctx *c, PyObject *iter, PyObject *bg) {
    frpy_sflow *f = c->flow;
    PyObject *item;
    int gone = f && f->gone;
    while (!gone && (item = PyIter_Next(iter))) {
        PyObject *bytes = NULL;
        if (PyUnicode_Check(item)) bytes = PyUnicode_AsUTF8String(item);
        else bytes = PyBytes_FromObject(item);
        Py_DECREF(item);
        if (!bytes) break;
        const char *d = PyBytes_AS_STRING(bytes);
        size_t n = (size_t)PyBytes_GET_SIZE(bytes);
        int r = n ? frpy_res_stream_write(c, d, n) : 0; /* never blocks */
        Py_DECREF(bytes);
        if (r < 0) gone = 1;
        else if (r == FR_STREAM_FULL && f && !f->gone) {
            /* the GIL is held from the write to here, so the flow job
             * (which needs it) finds the iterator parked */
            f->full = 1;
            f->iter = Py_NewRef(iter);
            f->bg = bg;
            return 1;
        }
        if (f && f->gone) gone = 1;
    }
    if (PyErr_Occurred()) {
        frpy_log_exception(c, "error while streaming the response");
        fr_res_stream_abort(c->req); /* as uvicorn after an application error: no terminal chunk, closed */
    }
    if (gone) frpy_iter_close(iter);
    return 0;
}

static PyObject *frpy_stream_write_fn(PyObject *cap, PyObject *arg) {
    rctx *c = PyCapsule_GetPointer(cap, "fastrapi.rctx");
    if (!c) return NULL;
    Py_buffer v;
    PyObject *tmp = NULL;
    if (PyUnicode_Check(arg)) {
        tmp = PyUnicode_AsUTF8String(arg);
        if (!tmp) return NULL;
        arg = tmp;
    }
    if (PyObject_GetBuffer(arg, &v, PyBUF_SIMPLE) < 0) { Py_XDECREF(tmp); return NULL; }
    int r = 0;
    if (v.len) r = frpy_res_stream_write(c, v.buf, (size_t)v.len); /* never blocks */
    PyBuffer_Release(&v);
    Py_XDECREF(tmp);
    if (r == FR_STREAM_FULL) {
        if (c->flow && !c->flow->gone) c->flow->full = 1;
        else r = 0; /* no flow events to wait for: go on */
    }
    if (c->flow && c->flow->gone) r = -1;
    return PyLong_FromLong(r);
}

/* wait(fut) -> True when fut (a future of the caller's running loop) will be
 * resolved by the drain (0) or the client leaving (-1); False: go on now. */
static PyObject *frpy_stream_wait_fn(PyObject *cap, PyObject *fut) {
    rctx *c = PyCapsule_GetPointer(cap, "fastrapi.rctx");
    if (!c) return NULL;
    frpy_sflow *f = c->flow;
    if (!f || !f->full || f->gone) Py_RETURN_FALSE;
    Py_XSETREF(f->fut, Py_NewRef(fut));
    Py_RETURN_TRUE;
}

static PyMethodDef frpy_stream_wait_def = {"wait", frpy_stream_wait_fn, METH_O, NULL};

static PyMethodDef frpy_stream_write_def = {"write", frpy_stream_write_fn, METH_O, NULL};

static PyObject *frpy_task_done_fn(PyObject *cap, PyObject *task);
static PyMethodDef frpy_task_done_def = {"_done", frpy_task_done_fn, METH_O, NULL};

/* loop.create_task(coro, context=<the request's context>). On the stock
 * asyncio loop with no task factory and debug off, that method is
 * `tasks.Task(coro, loop=self, name=None, context=context)` after a closed
 * check (the loop is running here) and a name set that None skips: build
 * the Task directly and spare a Python frame per coroutine. Debug mode
 * (the method trims the Task's source traceback) and a task factory go
 * through the method. */
static PyObject *frpy_create_task(rctx *c, PyObject *coro) {
    if (FRPY.task_type) {
        PyObject *tf = PyObject_GetAttr(FRPY.loop, FRPY.s_task_factory);
        PyObject *dbg = tf == Py_None ? PyObject_GetAttr(FRPY.loop, FRPY.s_debug) : NULL;
        int direct = dbg == Py_False;
        if (!tf || (tf == Py_None && !dbg)) PyErr_Clear(); /* no such attribute: the method decides */
        Py_XDECREF(tf);
        Py_XDECREF(dbg);
        if (direct) {
            PyObject *targs[4] = {NULL, coro, FRPY.loop, c->ctx};
            return PyObject_Vectorcall(FRPY.task_type, targs + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                       FRPY.kw_loop_context);
        }
    }
    PyObject *args[3] = {FRPY.loop, coro, c->ctx};
    return PyObject_VectorcallMethod(FRPY.s_create_task, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                     FRPY.kw_context);
}

/* Run `coro` as a Task on the loop; its completion re-enters frpy_run_job with `job`. */
static int frpy_schedule_task(rctx *c, PyObject *coro, int job) {
    PyObject *cap = PyCapsule_New(c, "fastrapi.rctx", NULL);
    if (!cap) return -1;
    PyObject *task = c->ctx ? frpy_create_task(c, coro) : PyObject_CallOneArg(FRPY.rt_resume, coro);
    if (!task) { Py_DECREF(cap); return -1; }
    PyObject *cb = PyCFunction_New(&frpy_task_done_def, cap);
    Py_DECREF(cap);
    if (!cb) { Py_DECREF(task); return -1; }
    PyObject *r = PyObject_CallMethodOneArg(task, FRPY.s_add_done_callback, cb);
    Py_DECREF(cb);
    if (!r) { Py_DECREF(task); return -1; }
    Py_DECREF(r);
    c->job = job;
    Py_XSETREF(c->pending, task);
    return 0;
}

/* The coroutine of node c->node suspended inside `task`: resume when it is done. */
static int frpy_attach_task(rctx *c, PyObject *task, int job) {
    PyObject *cap = PyCapsule_New(c, "fastrapi.rctx", NULL);
    if (!cap) return -1;
    PyObject *cb = PyCFunction_New(&frpy_task_done_def, cap);
    Py_DECREF(cap);
    if (!cb) return -1;
    PyObject *r = PyObject_CallMethodOneArg(task, FRPY.s_add_done_callback, cb);
    Py_DECREF(cb);
    if (!r) return -1;
    Py_DECREF(r);
    c->job = job;
    Py_XSETREF(c->pending, Py_NewRef(task));
    return 0;
}

/* FileResponse on a worker thread: stat + open in Python (headers as
 * Starlette sets them), then the engine sends the file with sendfile(2),
 * honouring Range / If-Range (fr_res_file_ranged). */
static void frpy_send_frontend(rctx *c);

static void frpy_send_file(rctx *c, PyObject *resp) {
    fr_req *req = c->req;
    int fd = -1;
    if (resp == FRPY.frontend_files) {
        frpy_send_frontend(c);
        return;
    }
    unsigned long long size = 0;
    PyObject *pr = PyObject_CallOneArg(FRPY.rt_file_open, resp);
    if (!pr || !PyArg_ParseTuple(pr, "iK", &fd, &size)) {
        Py_XDECREF(pr);
        frpy_log_exception(c, "FileResponse");
        frpy_send_plain500(c);
        return;
    }
    Py_DECREF(pr);
    PyObject *st = PyObject_GetAttr(resp, FRPY.s_status_code);
    int status = st ? (int)PyLong_AsLong(st) : 200;
    Py_XDECREF(st);
    PyErr_Clear();
    fr_res_status(req, status);
    PyObject *raw = PyObject_GetAttr(resp, FRPY.s_raw_headers);
    frpy_add_raw_headers(req, raw, 1); /* the engine writes content-length */
    Py_XDECREF(raw);
    if (c->merge_sub) frpy_add_subresp_headers(c);
    PyErr_Clear();
    /* Range / If-Range as FileResponse.__call__ (src/static.c) */
    if (fr_res_file_ranged(req, fd, (uint64_t)size, 1) < 0) {
        close(fd);
        PyErr_SetString(PyExc_RuntimeError, "the engine refused the file descriptor");
        frpy_log_exception(c, "FileResponse");
        frpy_send_plain500(c);
        return;
    }
    PyObject *bg = PyObject_GetAttr(resp, FRPY.s_background);
    if (!bg) { PyErr_Clear(); bg = Py_NewRef(Py_None); }
    if (bg == Py_None && c->bg) Py_SETREF(bg, Py_NewRef(c->bg));
    if (bg != Py_None && c->bg == bg) Py_CLEAR(c->bg);
    frpy_finish(c, bg);
    Py_DECREF(bg);
}

/* A frontend's dependencies were solved (its guard route's endpoint
 * returned FRPY.frontend_files): the engine sets the file answer with the
 * dependencies' response headers after its own (fr_frontend_serve); an
 * outcome FastAPI raises there (HTTPException 401/404/405, RuntimeError)
 * is raised here, into the app's exception handlers and the dependencies. */
static void frpy_handle_exception(rctx *c);

static fr_header *frpy_asgi_headers(PyObject *list, size_t *n); /* below */

static void frpy_send_frontend(rctx *c) {
    PyObject *raw = c->subresp ? PyObject_GetAttr(c->subresp, FRPY.s_raw_headers) : NULL;
    size_t n = 0, k = 0;
    fr_header *hs = raw ? frpy_asgi_headers(raw, &n) : NULL;
    PyErr_Clear();
    for (size_t i = 0; hs && i < n; i++) /* the engine frames the body */
        if (!fr_str_ieq_c(hs[i].name, "content-length")) hs[k++] = hs[i];
    int rc;
    if (raw && !hs) rc = -1;
    else {
        Py_BEGIN_ALLOW_THREADS
        rc = fr_frontend_serve(c->req, hs, k);
        Py_END_ALLOW_THREADS
    }
    PyMem_Free(hs);
    Py_XDECREF(raw); /* the headers pointed into it */
    if (rc == FR_DONE || rc == FR_FRONTEND_OWN) {
        /* the dependencies' background tasks go with the file's answer only */
        PyObject *bg = c->bg && rc == FR_DONE ? Py_NewRef(c->bg) : Py_NewRef(Py_None);
        Py_CLEAR(c->bg);
        frpy_finish(c, bg);
        Py_DECREF(bg);
        return;
    }
    if (rc == 500) {
        PyErr_Format(PyExc_RuntimeError, "Frontend file for %s cannot be read", c->rt->path);
    } else if (rc > 0) {
        PyObject *e = PyObject_CallFunction(FRPY.HTTPException, "i", rc);
        if (e) PyErr_SetObject(FRPY.HTTPException, e);
        Py_XDECREF(e);
    } else {
        PyErr_SetString(PyExc_RuntimeError, "frontend answer: bad response headers, or out of memory");
    }
    frpy_handle_exception(c);
}

/* Status and headers of a streamed response go out; the background task
 * is left in c->result and the walk's teardowns in c->teardowns. */
static void frpy_stream_begin(rctx *c, PyObject *resp) {
    fr_req *req = c->req;
    PyObject *st = PyObject_GetAttr(resp, FRPY.s_status_code);
    int status = st ? (int)PyLong_AsLong(st) : 200;
    Py_XDECREF(st);
    PyErr_Clear();
    PyObject *raw = PyObject_GetAttr(resp, FRPY.s_raw_headers);
    fr_res_status(req, status);
    if (raw) frpy_add_raw_headers(req, raw, 0); /* a content-length the app set frames the stream, as uvicorn */
    Py_XDECREF(raw);
    if (c->merge_sub) frpy_add_subresp_headers(c);
    PyErr_Clear();
    PyObject *bg = PyObject_GetAttr(resp, FRPY.s_background);
    if (!bg) { PyErr_Clear(); bg = Py_NewRef(Py_None); }
    if (bg == Py_None && c->bg) Py_SETREF(bg, Py_NewRef(c->bg));
    if (bg != Py_None && c->bg == bg) Py_CLEAR(c->bg);
    Py_XSETREF(c->result, bg);
    if (frpy_take_cleanups(c, -1, &c->teardowns) < 0) PyErr_Clear();
    c->di = NULL;
    frpy_session_report(c);
    Py_BEGIN_ALLOW_THREADS
    fr_res_stream_begin(req);
    Py_END_ALLOW_THREADS
}

static void frpy_stream_done(rctx *c, PyObject *background);

static void frpy_send_stream(rctx *c, PyObject *resp) {
    int is_file = resp == FRPY.frontend_files || PyObject_IsInstance(resp, FRPY.FileResponse) == 1;
    PyObject *it = NULL;
    if (is_file) {
        if (frpy_on_loop_thread()) { /* file I/O belongs on a worker */
            Py_XSETREF(c->result, Py_NewRef(resp));
            c->job = JOB_STREAM;
            frpy_pool_push(c);
            return;
        }
        frpy_send_file(c, resp);
        return;
    } else {
        it = PyObject_GetAttr(resp, FRPY.s_body_iterator);
        if (it && Py_IS_TYPE(it, (PyTypeObject *)FRPY.ThreadpoolIterator)) /* a sync iterator: */
            Py_SETREF(it, PyObject_GetAttrString(it, "_fr_sync")); /* iterated on this worker */
        if (!it) { frpy_log_exception(c, "StreamingResponse"); frpy_send_plain500(c); return; }
    }
    int is_async = PyObject_HasAttr(it, FRPY.s_anext) || PyObject_HasAttr(it, FRPY.s_aiter);
    if (!is_async && frpy_on_loop_thread()) {
        Py_DECREF(it);
        Py_XSETREF(c->result, Py_NewRef(resp));
        c->job = JOB_STREAM;
        frpy_pool_push(c);
        return;
    }
    if (is_async && !frpy_on_loop_thread()) {
        Py_DECREF(it);
        Py_XSETREF(c->result, Py_NewRef(resp));
        c->job = JOB_AIO_STREAM;
        frpy_aio_push(c);
        return;
    }
    frpy_sflow_attach(c, is_async); /* before the begin: a streamed capture takes it there */
    frpy_stream_begin(c, resp);
    PyObject *bg = c->result; /* the background task, kept until the stream ends */
    c->result = NULL;
    if (!is_async) {
        PyObject *iter = PyObject_GetIter(it);
        Py_DECREF(it);
        if (!iter) frpy_log_exception(c, "StreamingResponse");
        else if (frpy_stream_sync(c, iter, bg) == 1) { Py_DECREF(iter); return; } /* parked */
        Py_XDECREF(iter);
        frpy_stream_done(c, bg);
        return;
    }
    /* async iterator: a Task pumps it, writes go straight to the engine */
    PyObject *cap = PyCapsule_New(c, "fastrapi.rctx", NULL);
    PyObject *wr = cap ? PyCFunction_New(&frpy_stream_write_def, cap) : NULL;
    PyObject *wt = cap ? PyCFunction_New(&frpy_stream_wait_def, cap) : NULL;
    Py_XDECREF(cap);
    PyObject *coro = wr && wt ? PyObject_CallFunctionObjArgs(FRPY.rt_stream, it, wr, wt, NULL) : NULL;
    Py_XDECREF(wr);
    Py_XDECREF(wt);
    Py_DECREF(it);
    c->result = bg;
    if (!coro || frpy_schedule_task(c, coro, JOB_AIO_PUMP) < 0) {
        Py_XDECREF(coro);
        frpy_log_exception(c, "StreamingResponse");
        c->result = NULL;
        frpy_stream_done(c, bg);
        return;
    }
    Py_DECREF(coro);
}

/* ---- errors ---- */

static PyObject *frpy_lookup_handler(rctx *c, PyObject *exc) {
    PyObject *h = c->rt->srv->handlers;
    if (!h || PyDict_GET_SIZE(h) == 0) return NULL;
    if (PyObject_IsInstance(exc, FRPY.HTTPException) == 1) {
        PyObject *sc = PyObject_GetAttr(exc, FRPY.s_status_code);
        if (sc) {
            PyObject *f = PyDict_GetItemWithError(h, sc);
            Py_DECREF(sc);
            if (f && f != Py_None) return f;
        }
        PyErr_Clear();
    }
    PyObject *mro = Py_TYPE(exc)->tp_mro;
    for (Py_ssize_t i = 0; mro && i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *f = PyDict_GetItemWithError(h, PyTuple_GET_ITEM(mro, i));
        if (f) return f == Py_None ? NULL : f; /* None: the built-in default */
    }
    PyErr_Clear();
    return NULL;
}

/* Starlette runs the handler of `Exception` in ServerErrorMiddleware,
 * outside the user middleware: 1 when that is the handler for exc. */
static int frpy_server_error_handler(rctx *c, PyObject *exc) {
    PyObject *h = c->rt->srv->handlers, *mro = Py_TYPE(exc)->tp_mro;
    if (!h || !mro || PyObject_IsInstance(exc, FRPY.HTTPException) == 1) return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *k = PyTuple_GET_ITEM(mro, i);
        if (PyDict_GetItemWithError(h, k)) return k == PyExc_Exception;
    }
    PyErr_Clear();
    return 0;
}

static void frpy_send_http_exc(rctx *c, PyObject *exc) {
    fr_req *req = c->req;
    PyObject *sc = PyObject_GetAttr(exc, FRPY.s_status_code);
    int status = sc ? (int)PyLong_AsLong(sc) : 500;
    Py_XDECREF(sc);
    PyObject *hdrs = PyObject_GetAttr(exc, FRPY.s_headers);
    PyErr_Clear();
    fr_res_status(req, status);
    if (hdrs && hdrs != Py_None && PyDict_Check(hdrs)) {
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(hdrs, &pos, &k, &v)) {
            if (!PyUnicode_Check(k) || !PyUnicode_Check(v)) continue;
            PyObject *kl = PyObject_CallMethod(k, "lower", NULL);
            const char *ks = kl ? PyUnicode_AsUTF8(kl) : NULL, *vs = PyUnicode_AsUTF8(v);
            if (ks && vs) fr_res_header(req, ks, vs);
            Py_XDECREF(kl);
            PyErr_Clear();
        }
    }
    Py_XDECREF(hdrs);
    if (frpy_body_allowed(status)) {
        fr_buf b = {0};
        PyObject *detail = PyObject_GetAttr(exc, FRPY.s_detail);
        int r = detail ? fr_error_begin(&b) : -1;
        if (r == 0) r = frpy_enc(&b, detail);
        if (r == 0) r = fr_error_end(&b);
        Py_XDECREF(detail);
        if (r < 0) {
            fr_buf_free(&b);
            frpy_log_exception(c, "cannot encode HTTPException detail");
            frpy_send_plain500(c);
            return;
        }
        fr_res_header(req, "content-type", "application/json");
        fr_res_body(req, b.buf, b.len);
        fr_buf_free(&b);
    }
    frpy_finish(c, NULL);
}

static void frpy_send_validation(rctx *c, PyObject *errors) {
    fr_buf b = {0};
    int r = fr_error_begin(&b);
    if (r == 0) r = frpy_enc(&b, errors);
    if (r == 0) r = fr_error_end(&b);
    if (r < 0) {
        fr_buf_free(&b);
        frpy_log_exception(c, "cannot encode validation errors");
        frpy_send_plain500(c);
        return;
    }
    fr_req *req = c->req;
    fr_res_status(req, 422);
    fr_res_header(req, "content-type", "application/json");
    fr_res_body(req, b.buf, b.len);
    fr_buf_free(&b);
    frpy_finish(c, NULL);
}

/* FastAPI's endpoint context on a validation error (str(exc) names the
 * endpoint and "METHOD /path"). */
static void frpy_endpoint_ctx(rctx *c, PyObject *exc) {
    if (c->plan->route != Py_None && c->req &&
        (PyObject_IsInstance(exc, FRPY.RequestValidationError) == 1 ||
         PyObject_IsInstance(exc, FRPY.ResponseValidationError) == 1)) {
        fr_str rp = fr_req_root_path(c->req), m = fr_req_method(c->req);
        PyObject *r = PyObject_CallFunction(FRPY.rt_endpoint_ctx, "OOs#s#", exc, c->plan->route, m.buf ? m.buf : "",
                                            (Py_ssize_t)m.len, rp.buf ? rp.buf : "", (Py_ssize_t)rp.len);
        Py_XDECREF(r);
    }
    PyErr_Clear();
}

/* A real FastAPI RequestValidationError (a plugin that imports fastapi
 * itself) becomes fastrapi's (fastrapi._foreign.adopt_exception). Steals
 * exc, returns a new reference. */
static PyObject *frpy_adopt_exc(PyObject *exc) {
    const char *name = exc ? Py_TYPE(exc)->tp_name : "";
    size_t n = strlen(name), k = sizeof "RequestValidationError" - 1;
    if (n < k || strcmp(name + n - k, "RequestValidationError") != 0 ||
        PyObject_IsInstance(exc, FRPY.RequestValidationError) != 0)
        return exc;
    PyObject *r = PyObject_CallOneArg(FRPY.rt_adopt_exc, exc);
    if (!r) {
        PyErr_Clear();
        return exc;
    }
    Py_DECREF(exc);
    return r;
}

/* An exception is set: answer it (custom handler, HTTPException, validation,
 * or 500). Teardowns see the exception. */
static void frpy_handle_exception(rctx *c) {
    PyObject *exc = frpy_adopt_exc(frpy_take_exc());
    /* the dependencies' BackgroundTasks only join the endpoint's response
     * (FastAPI): an error answer runs none of them */
    Py_CLEAR(c->bg);
    if (!exc) { frpy_send_plain500(c); return; }
    frpy_endpoint_ctx(c, exc);
    if (c->di && !c->unwound) fr_di_fail(c->di, 500);
    PyObject *gens = NULL;
    if (!c->unwound && frpy_take_cleanups(c, -1, &gens) == 0 && gens) {
        /* like FastAPI's exit stacks: throw the exception into the generator
         * dependencies (in the engine's order: function-scoped ones first,
         * each innermost first) BEFORE answering; what comes out of them is
         * what the response is built from (JOB_UNWIND, on the loop) */
        c->unwound = 1;
        PyObject *t = PyTuple_Pack(2, gens, exc);
        Py_DECREF(gens);
        Py_DECREF(exc);
        if (!t) { frpy_log_exception(c, "dependency teardown"); frpy_send_plain500(c); return; }
        Py_XSETREF(c->pending, t);
        c->job = JOB_UNWIND;
        frpy_aio_push(c);
        return;
    }
    Py_XDECREF(gens);
    PyErr_Clear();
    Py_XSETREF(c->exc, Py_NewRef(exc));
    if (c->rt->srv->raise_errors && c->asgi) {
        /* a route handler's caller (APIRoute.get_route_handler) raises it,
         * HTTPException and validation errors too, as FastAPI's handler does */
        frpy_restore_exc(exc);
        frpy_log_exception(c, "route handler");
        frpy_send_plain500(c);
        return;
    }
    PyObject *h = frpy_lookup_handler(c, exc);
    if ((h ? frpy_server_error_handler(c, exc)
           : !(PyObject_IsInstance(exc, FRPY.HTTPException) == 1 ||
                PyObject_IsInstance(exc, FRPY.RequestValidationError) == 1)) &&
        frpy_mw_stash(c, exc)) {
        /* ServerErrorMiddleware's: it reaches an @app.middleware first, raised
         * out of call_next (the layer takes it from the bypassed 500) */
        Py_DECREF(exc);
        frpy_send_plain500(c);
        return;
    }
    if (h && frpy_server_error_handler(c, exc)) {
        /* ServerErrorMiddleware answers with it, then re-raises: the server
         * logs it, a TestClient(raise_server_exceptions) raises it */
        fr_mw_bypass(c->req);
        frpy_restore_exc(Py_NewRef(exc));
        frpy_log_exception(c, "Exception in ASGI application");
    }
    if (h) {
        /* custom handlers (sync or async) run through the loop: the route's
         * ExceptionMiddleware first, then the app's (FastAPI wraps both) */
        c->handler_level = frpy_server_error_handler(c, exc) ? 3 : c->handler_level + 1;
        Py_XSETREF(c->pending, Py_NewRef(h));
        c->job = JOB_HANDLER;
        Py_DECREF(exc);
        PyObject *req = frpy_request(c);
        if (!req) { frpy_log_exception(c, "request"); frpy_send_plain500(c); return; }
        PyObject *had = PyObject_GetAttrString(req, "_form"), *form = NULL;
        if (had == Py_None && (form = frpy_form_data(c))) { /* FastAPI's handler reads the form it parsed */
            PyObject_SetAttrString(req, "_form", form);
            fr_str ct = fr_req_header(c->req, "content-type"); /* Starlette reads only these */
            if (!PyObject_HasAttrString(req, "_body") && /* ...from the stream: body() is "Stream consumed" */
                (fr_media_is(ct, "application/x-www-form-urlencoded") || fr_media_is(ct, "multipart/form-data")))
                PyObject_SetAttrString(req, "_stream_consumed", Py_True);
        }
        Py_XDECREF(had);
        Py_XDECREF(form);
        PyErr_Clear();
        Py_DECREF(req);
        frpy_aio_push(c);
        return;
    }
    if (PyObject_IsInstance(exc, FRPY.HTTPException) == 1) {
        frpy_send_http_exc(c, exc);
    } else if (PyObject_IsInstance(exc, FRPY.RequestValidationError) == 1) {
        PyObject *errs = PyObject_CallMethodNoArgs(exc, FRPY.s_errors);
        if (!errs) { frpy_log_exception(c, "validation"); frpy_send_plain500(c); }
        else { frpy_send_validation(c, errs); Py_DECREF(errs); }
    } else {
        frpy_restore_exc(Py_NewRef(exc));
        frpy_log_exception(c, "Exception in route handler");
        if (c->rt->srv->debug) {
            PyObject *tb = PyObject_CallOneArg(FRPY.rt_format_exc, exc);
            if (tb && PyUnicode_Check(tb)) {
                Py_ssize_t n;
                const char *s = PyUnicode_AsUTF8AndSize(tb, &n);
                if (s) {
                    fr_mw_bypass(c->req);
                    fr_res_status(c->req, 500);
                    fr_res_header(c->req, "content-type", "text/plain; charset=utf-8");
                    fr_res_body(c->req, s, (size_t)n);
                    Py_DECREF(tb);
                    Py_DECREF(exc);
                    frpy_finish(c, NULL);
                    return;
                }
            }
            Py_XDECREF(tb);
            PyErr_Clear();
        }
        frpy_send_plain500(c);
    }
    Py_DECREF(exc);
}

/* ---- the return value ---- */

static void frpy_respond_value(rctx *c, PyObject *ret) {
    pplan *p = c->plan;
    int status = p->status_code ? p->status_code : 200;
    if (PyObject_IsInstance(ret, FRPY.Response) == 1) {
        frpy_send_response_obj(c, ret, 0); /* FastAPI sends a returned Response as is */
        return;
    }
    if (p->resp_mode == RESP_JSON) {
        fr_buf *b = frpy_encbuf_take();
        if (!b || frpy_enc(b, ret) < 0) {
            if (b) frpy_encbuf_give(b);
            char what[300];
            snprintf(what, sizeof what, "cannot encode the return value of %s %s as JSON",
                     c->rt->method, c->rt->path);
            frpy_log_exception(c, what);
            frpy_send_plain500(c);
            return;
        }
        frpy_send_json_bytes(c, status, b->buf, b->len); /* fr_res_body copies */
        frpy_encbuf_give(b);
        return;
    }
    PyObject *val = NULL, *out = NULL;
    if (!p->resp_adapter || p->resp_adapter == Py_None) {
        out = PyObject_CallOneArg(FRPY.jsonable_encoder, ret);
        if (!out) { frpy_handle_exception(c); return; }
        goto build_class;
    }
    /* response_model: validate, then serialise with the adapter */
    PyObject *saved = c->errors;
    c->errors = NULL;
    PyObject *loc = Py_BuildValue("(s)", "response");
    int r = loc ? frpy_validate(c, p->resp_validate, ret, loc, &val) : -1;
    Py_XDECREF(loc);
    if (r == 0 && c->errors) {
        PyObject *args = PyTuple_Pack(1, c->errors);
        PyObject *kw = Py_BuildValue("{sO}", "body", ret); /* FastAPI: the endpoint's return value */
        PyObject *e = args && kw ? PyObject_Call(FRPY.ResponseValidationError, args, kw) : NULL;
        Py_XDECREF(args);
        Py_XDECREF(kw);
        Py_CLEAR(c->errors);
        c->errors = saved;
        if (e) PyErr_SetObject(FRPY.ResponseValidationError, e);
        Py_XDECREF(e);
        PyObject *h = NULL;
        if (PyErr_Occurred()) {
            PyObject *ex = frpy_take_exc();
            frpy_endpoint_ctx(c, ex);
            h = frpy_lookup_handler(c, ex);
            frpy_restore_exc(ex);
        }
        if (h) { frpy_handle_exception(c); return; }
        frpy_log_exception(c, "response validation failed");
        frpy_send_plain500(c);
        return;
    }
    c->errors = saved;
    if (r < 0) { frpy_handle_exception(c); return; }
    PyObject *meth = PyObject_GetAttr(p->resp_adapter,
                                      p->resp_mode == RESP_DUMP ? FRPY.s_dump_json : FRPY.s_dump_python);
    if (meth) {
        PyObject *args = PyTuple_Pack(1, val);
        out = args ? PyObject_Call(meth, args, p->dump_kwargs == Py_None ? NULL : p->dump_kwargs) : NULL;
        Py_XDECREF(args);
        Py_DECREF(meth);
    }
    Py_DECREF(val);
    if (!out) { frpy_handle_exception(c); return; }
    if (p->resp_mode == RESP_DUMP) {
        frpy_send_json_bytes(c, status, PyBytes_AS_STRING(out), (size_t)PyBytes_GET_SIZE(out));
        Py_DECREF(out);
        return;
    }
build_class:;
    /* RESP_CLASS: response_class(content, status_code=...) */
    int st = frpy_subresp_status(c);
    if (!st) st = p->status_code;
    PyObject *kw = st ? Py_BuildValue("{si}", "status_code", st) : PyDict_New();
    PyObject *args = kw ? PyTuple_Pack(1, out) : NULL;
    PyObject *resp = args ? PyObject_Call(p->resp_class, args, kw) : NULL;
    Py_XDECREF(kw);
    Py_XDECREF(args);
    Py_DECREF(out);
    if (!resp) { frpy_handle_exception(c); return; }
    frpy_send_response_obj(c, resp, 1);
    Py_DECREF(resp);
}

/* ------------------------------------------------------------------ */
/* Shim: what the Task of an eagerly started coroutine drives. C runs the
 * coroutine's first step itself, with the Task entered as the current task.
 * state 1: it finished then (the Task's first step just returns); state 2: it
 * suspended on `first`, which the Task's first step returns; state 3: from
 * then on send/throw go straight to the coroutine. */

typedef struct {
    PyObject_HEAD
    PyObject *coro, *first;
    int state;
} frpy_shim;

static PyTypeObject FrpyShimType;

static PyObject *frpy_shim_result(PySendResult r, PyObject *res) {
    if (r == PYGEN_NEXT) return res;
    if (r == PYGEN_ERROR) return NULL;
    PyObject *e = PyObject_CallOneArg(PyExc_StopIteration, res);
    Py_DECREF(res);
    if (e) { PyErr_SetObject(PyExc_StopIteration, e); Py_DECREF(e); }
    return NULL;
}

static PyObject *frpy_shim_send(frpy_shim *s, PyObject *v) {
    if (s->state == 3) {
        PyObject *res = NULL;
        PySendResult r = PyIter_Send(s->coro, v, &res);
        return frpy_shim_result(r, res);
    }
    if (s->state == 2) {
        s->state = 3;
        PyObject *f = s->first;
        s->first = NULL;
        return f ? f : Py_NewRef(Py_None);
    }
    PyErr_SetNone(PyExc_StopIteration);
    return NULL;
}

static PyObject *frpy_shim_next(frpy_shim *s) { return frpy_shim_send(s, Py_None); }

static PyObject *frpy_shim_throw(frpy_shim *s, PyObject *args) {
    if (s->state >= 2) {
        s->state = 3;
        Py_CLEAR(s->first);
        PyObject *m = PyObject_GetAttrString(s->coro, "throw");
        if (!m) return NULL;
        PyObject *r = PyObject_Call(m, args, NULL);
        Py_DECREF(m);
        return r;
    }
    PyObject *a0 = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : PyExc_RuntimeError;
    PyObject *a1 = PyTuple_GET_SIZE(args) > 1 ? PyTuple_GET_ITEM(args, 1) : NULL;
    if (PyExceptionInstance_Check(a0)) PyErr_SetObject((PyObject *)Py_TYPE(a0), a0);
    else if (a1 && a1 != Py_None) PyErr_SetObject(a0, a1);
    else PyErr_SetNone(a0);
    return NULL;
}

static PyObject *frpy_shim_close(frpy_shim *s, PyObject *unused) {
    (void)unused;
    if (s->state >= 2) {
        s->state = 4;
        return PyObject_CallMethod(s->coro, "close", NULL);
    }
    Py_RETURN_NONE;
}

static PyObject *frpy_shim_self(PyObject *s) { return Py_NewRef(s); }
static PyObject *frpy_shim_await(PyObject *s, PyObject *unused) { (void)unused; return Py_NewRef(s); }

static int frpy_shim_traverse(frpy_shim *s, visitproc visit, void *arg) {
    Py_VISIT(s->coro);
    Py_VISIT(s->first);
    return 0;
}
static int frpy_shim_clear(frpy_shim *s) {
    Py_CLEAR(s->coro);
    Py_CLEAR(s->first);
    return 0;
}
static void frpy_shim_dealloc(frpy_shim *s) {
    PyObject_GC_UnTrack(s);
    frpy_shim_clear(s);
    PyObject_GC_Del(s);
}

static PyMethodDef frpy_shim_methods[] = {
    {"send", (PyCFunction)frpy_shim_send, METH_O, NULL},
    {"throw", (PyCFunction)frpy_shim_throw, METH_VARARGS, NULL},
    {"close", (PyCFunction)frpy_shim_close, METH_NOARGS, NULL},
    {"__await__", (PyCFunction)frpy_shim_await, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyAsyncMethods frpy_shim_async = {frpy_shim_self, NULL, NULL, NULL};

static PyTypeObject FrpyShimType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fastrapi._fastrapi.Shim",
    .tp_basicsize = sizeof(frpy_shim),
    .tp_dealloc = (destructor)frpy_shim_dealloc,
    .tp_as_async = &frpy_shim_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)frpy_shim_traverse,
    .tp_clear = (inquiry)frpy_shim_clear,
    .tp_iter = frpy_shim_self,
    .tp_iternext = (iternextfunc)frpy_shim_next,
    .tp_methods = frpy_shim_methods,
};

/* ------------------------------------------------------------------ */
/* the dependency walk: the engine's fr_di decides what runs next         */

enum { FRPY_NEXT, FRPY_STOP };

static void frpy_walk(rctx *c);
static void frpy_respond_final(rctx *c, PyObject *ret);

/* Send None into an awaitable; 1 = finished (*res set), 0 = suspended
 * (*res = yielded value), -1 = exception. */
static int frpy_drive(PyObject *aw, PyObject **res) {
    PySendResult r = PyIter_Send(aw, Py_None, res);
    if (r == PYGEN_RETURN) return 1;
    if (r == PYGEN_NEXT) return 0;
    return -1;
}

static void frpy_raise_validation(rctx *c) {
    if (c->plan->json_param && !c->body_parsed && frpy_body(c) != 0)
        PyErr_Clear(); /* validated in one pass: RequestValidationError.body is still FastAPI's */
    PyObject *form = c->body ? NULL : frpy_form_data(c);
    PyObject *args = PyTuple_Pack(1, c->errors ? c->errors : FRPY.empty_tuple);
    PyObject *kw = Py_BuildValue("{sO}", "body", c->body ? c->body : form ? form : Py_None);
    Py_XDECREF(form);
    frpy_raise(FRPY.RequestValidationError, args, kw);
    frpy_handle_exception(c);
}

/* A provider produced `value` (reference stolen); `gen` is the generator
 * whose teardown the engine schedules (borrowed), or NULL. The endpoint
 * answers; a dependency's value is supplied to the walk. */
static int frpy_supply(rctx *c, PyObject *value, PyObject *gen) {
    if (c->need == 0) {
        c->need = -1;
        frpy_respond_final(c, value);
        Py_DECREF(value);
        return FRPY_STOP;
    }
    if (!c->owned && !(c->owned = PyList_New(0))) goto fail;
    if (PyList_Append(c->owned, value) < 0 || (gen && PyList_Append(c->owned, gen) < 0)) goto fail;
    Py_DECREF(value);
    c->need = -1;
    if ((gen ? fr_di_supply_cleanup(c->di, value, gen) : fr_di_supply(c->di, value)) < 0) {
        PyErr_Format(PyExc_RuntimeError, "dependency walk: %s", fr_di_ctx_error(c->di));
        frpy_handle_exception(c);
        return FRPY_STOP;
    }
    return FRPY_NEXT;
fail:
    Py_DECREF(value);
    frpy_handle_exception(c);
    return FRPY_STOP;
}

/* def providers run on the pool (as in FastAPI: a blocking one must not
 * stall the loop), async ones on the loop; built-in ones where they are. */
static int frpy_hop(rctx *c, const pnode *n) {
    if ((n->kind == KIND_SYNC || n->kind == KIND_GEN) && frpy_on_loop_thread()) {
        c->job = JOB_RUN;
        frpy_pool_push(c);
        return 1;
    }
    if ((n->kind == KIND_ASYNC || n->kind == KIND_AGEN) && !frpy_on_loop_thread()) {
        c->job = JOB_RUN;
        frpy_aio_push(c);
        return 1;
    }
    return 0;
}

/* Collect a provider's arguments into args[0..nparams): 0 all there, 1 some
 * are missing (errors collected, or a dependency was skipped), -1 an
 * exception is set (args released). */
static int frpy_args(rctx *c, const pnode *n, PyObject **args) {
    int failed = 0;
    for (Py_ssize_t j = 0; j < n->nparams; j++) {
        PyObject *v = NULL;
        int r = frpy_param(c, &n->params[j], &v);
        if (r < 0) {
            for (Py_ssize_t k = 0; k < j; k++) Py_XDECREF(args[k]);
            return -1;
        }
        if (r == 1 || !v) failed = 1;
        args[j] = v;
    }
    return failed;
}

/* A built-in security scheme, decided by the engine. */
static PyObject *frpy_security(rctx *c, const pnode *n) {
    fr_security_result res;
    int st = fr_security_check(c->req, &n->sec, &res);
    if (st < 0) return PyErr_NoMemory();
    if (st == FR_SEC_NONE) return Py_NewRef(Py_None);
    if (st == FR_SEC_DENY) {
        PyObject *hdrs = Py_BuildValue("{ss}", "WWW-Authenticate", res.challenge);
        frpy_raise(FRPY.HTTPException, hdrs ? Py_BuildValue("(isN)", res.status, res.detail, hdrs) : NULL,
                   NULL);
        return NULL;
    }
    int utf8 = n->sec.kind == FR_SEC_APIKEY_QUERY || n->sec.kind == FR_SEC_APIKEY_COOKIE;
    PyObject *a = utf8 ? frpy_str(res.a.buf, res.a.len) : frpy_latin1(res.a);
    if (!a || !n->sec_result) return a;
    PyObject *args[3] = {NULL, a, frpy_latin1(res.b)}, *r = NULL;
    if (args[2])
        r = PyObject_Vectorcall(n->sec_result, args + 1, PY_VECTORCALL_ARGUMENTS_OFFSET,
                                FRPY.kw_credentials[n->sec.kind == FR_SEC_HTTP_BASIC]);
    Py_DECREF(a);
    Py_XDECREF(args[2]);
    return r;
}

/* ---- a Task's first step, only when it is needed ----
 * asyncio's Task schedules its first step (loop.call_soon) as it is made;
 * frpy_start_coro does that step's work itself (the shim), so a coroutine
 * that finishes without suspending needs none. On the own loop (stock
 * BaseEventLoop, _intercept_steps) frpy_call_soon stands in for call_soon
 * and keeps back the first step of the Task frpy_start_coro is making; that
 * Task is then finished with Future.set_result(None), what its step would
 * have given, or the step is scheduled after all: the coroutine suspended,
 * or the Task was cancelled meanwhile. Python 3.12's eager tasks, on 3.11:
 * no Handle and no loop turn per request. */
static PyObject *frpy_call_soon(PyObject *orig, PyObject *const *args, Py_ssize_t nargs,
                                PyObject *kwnames) {
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0; /* its one keyword: context */
    if (FRPY.defer_shim && !FRPY.deferred && nargs == 1 && nkw <= 1 &&
        strcmp(Py_TYPE(args[0])->tp_name, "TaskStepMethWrapper") == 0) {
        PyObject *task = PyObject_GetAttr(args[0], FRPY.s_self_attr);
        PyObject *coro = task ? PyObject_GetAttr(task, FRPY.s_coro_attr) : NULL;
        int ours = coro && coro == FRPY.defer_shim;
        Py_XDECREF(coro);
        Py_XDECREF(task);
        if (!coro) PyErr_Clear();
        if (ours) {
            FRPY.defer_shim = NULL;
            FRPY.deferred = Py_NewRef(args[0]);
            FRPY.deferred_ctx = nkw ? Py_NewRef(args[1]) : NULL;
            Py_RETURN_NONE;
        }
    }
    return PyObject_Vectorcall(orig, args, nargs, kwnames);
}

static PyMethodDef frpy_call_soon_def = {"call_soon", (PyCFunction)(void (*)(void))frpy_call_soon,
                                         METH_FASTCALL | METH_KEYWORDS, NULL};

/* Schedule a kept-back first step (call_soon: the stock method). */
static int frpy_step_soon(PyObject *call_soon, PyObject *step, PyObject *ctx) {
    PyObject *args[3] = {NULL, step, ctx};
    PyObject *h = PyObject_Vectorcall(call_soon, args + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                      ctx ? FRPY.kw_context : NULL);
    Py_XDECREF(h);
    return h ? 0 : -1;
}

/* The coroutine ended in its first step: finish its Task without the step
 * (unless a cancel() is pending, which the step delivers). */
static int frpy_step_skip(PyObject *call_soon, PyObject *task, PyObject *step, PyObject *ctx) {
    PyObject *mc = PyObject_GetAttr(task, FRPY.s_must_cancel);
    int cancel = mc != Py_False;
    Py_XDECREF(mc);
    PyErr_Clear();
    if (!cancel) {
        PyObject *a[2] = {task, Py_None};
        PyObject *r = PyObject_Vectorcall(FRPY.future_set_result, a, 2, NULL);
        Py_XDECREF(r);
        if (r) return 0;
        PyErr_Clear();
    }
    return frpy_step_soon(call_soon, step, ctx);
}

/* Hand on a first step kept back for `task` and let it go: scheduled when
 * the coroutine suspended (-1 with an exception if that failed), else the
 * Task finished without it. A set exception stays set. */
static int frpy_step_release(PyObject *call_soon, PyObject *task, PyObject *step, PyObject *ctx,
                             int suspended) {
    int r = 0;
    if (step && suspended) {
        r = frpy_step_soon(call_soon, step, ctx);
    } else if (step) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        if (frpy_step_skip(call_soon, task, step, ctx) < 0) PyErr_WriteUnraisable(task);
        PyErr_Restore(t, v, tb);
    }
    Py_XDECREF(step);
    Py_XDECREF(ctx);
    Py_XDECREF(call_soon);
    return r;
}

/* 1 when loop's class has asyncio's BaseEventLoop method `name` itself
 * (not overridden); 0 otherwise, no exception left. */
static int frpy_stock_method(PyObject *loop, PyObject *name) {
    PyObject *be = PyImport_ImportModule("asyncio.base_events");
    PyObject *stock = be ? PyObject_GetAttrString(be, "BaseEventLoop") : NULL;
    PyObject *want = stock ? PyObject_GetAttr(stock, name) : NULL;
    PyObject *have = want ? PyObject_GetAttr((PyObject *)Py_TYPE(loop), name) : NULL;
    int same = have && have == want;
    Py_XDECREF(have);
    Py_XDECREF(want);
    Py_XDECREF(stock);
    Py_XDECREF(be);
    PyErr_Clear();
    return same;
}

static PyObject *py_intercept_steps(PyObject *self, PyObject *loop) {
    (void)self;
    PyObject *orig = frpy_stock_method(loop, FRPY.s_call_soon) ? PyObject_GetAttr(loop, FRPY.s_call_soon)
                                                                : NULL;
    PyObject *fn = orig ? PyCFunction_New(&frpy_call_soon_def, orig) : NULL;
    int ok = fn && PyObject_SetAttr(loop, FRPY.s_call_soon, fn) == 0;
    Py_XDECREF(fn);
    Py_XDECREF(orig);
    PyErr_Clear(); /* not a stock loop (uvloop: no instance attributes): steps as usual */
    return PyBool_FromLong(ok);
}

/* Start a coroutine (an async provider, or an async generator's first
 * step) at once, from here, inside its own Task (created first, entered as
 * the current task) so asyncio.timeout / anyio / current_task() work; if it
 * never suspends the Task needs no first step (frpy_call_soon). */
static int frpy_start_coro(rctx *c, PyObject *coro, PyObject *gen) {
    frpy_shim *shim = PyObject_GC_New(frpy_shim, &FrpyShimType);
    if (!shim) goto fail;
    shim->coro = Py_NewRef(coro);
    shim->first = NULL;
    shim->state = 0;
    PyObject_GC_Track(shim);
    PyObject *call_soon = FRPY.call_soon ? Py_NewRef(FRPY.call_soon) : NULL;
    FRPY.defer_shim = call_soon ? (PyObject *)shim : NULL;
    PyObject *task = frpy_create_task(c, (PyObject *)shim);
    PyObject *step = FRPY.deferred, *step_ctx = FRPY.deferred_ctx;
    FRPY.defer_shim = FRPY.deferred = FRPY.deferred_ctx = NULL;
    PyObject *lt[3] = {NULL, FRPY.loop, task};
    PyObject *er = task ? PyObject_Vectorcall(FRPY.enter_task, lt + 1, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL)
                        : NULL;
    if (!er || PyContext_Enter(c->ctx) < 0) {
        frpy_step_release(call_soon, task, step, step_ctx, 0);
        Py_XDECREF(er);
        Py_XDECREF(task);
        Py_DECREF(shim);
        goto fail;
    }
    Py_DECREF(er);
    PyObject *out = NULL;
    int d = frpy_drive(coro, &out);
    PyObject *saved_t, *saved_v, *saved_tb;
    PyErr_Fetch(&saved_t, &saved_v, &saved_tb);
    if (PyContext_Exit(c->ctx) < 0) PyErr_Clear();
    Py_XDECREF(PyObject_Vectorcall(FRPY.leave_task, lt + 1, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL));
    PyErr_Clear();
    PyErr_Restore(saved_t, saved_v, saved_tb);
    Py_DECREF(coro);
    if (d == 0) {
        shim->first = out; /* reference handed over */
        shim->state = 2;
        Py_XSETREF(c->gen, gen ? Py_NewRef(gen) : NULL);
        int ok = frpy_step_release(call_soon, task, step, step_ctx, 1) == 0 &&
                 frpy_attach_task(c, task, JOB_RESUME) == 0;
        Py_DECREF(task);
        Py_DECREF(shim);
        if (!ok) frpy_handle_exception(c);
        return FRPY_STOP;
    }
    shim->state = 1;
    frpy_step_release(call_soon, task, step, step_ctx, 0);
    Py_DECREF(task);
    Py_DECREF(shim);
    if (d == 1) return frpy_supply(c, out, gen);
    if (!PyErr_Occurred()) PyErr_SetString(PyExc_SystemError, "coroutine failed");
    if (gen && PyErr_ExceptionMatches(PyExc_StopAsyncIteration)) {
        PyErr_Clear();
        PyErr_SetString(PyExc_RuntimeError, "async generator dependency didn't yield");
    }
    frpy_handle_exception(c);
    return FRPY_STOP;
fail:
    Py_DECREF(coro);
    frpy_handle_exception(c);
    return FRPY_STOP;
}

/* Run `call` with the request's contextvars as FastAPI does: async code in
 * the request's context (what it sets is seen later), `def` code in a copy
 * (anyio.to_thread: what it sets stays there). For a generator its first
 * step runs too (*first). Returns the call's result or NULL. */
static PyObject *frpy_call_in_context(rctx *c, const pnode *n, PyObject **args, PyObject **first) {
    int sync = n->kind == KIND_SYNC || n->kind == KIND_GEN;
    PyObject *ctx = sync ? PyContext_Copy(c->ctx) : Py_NewRef(c->ctx);
    PyObject *res = NULL;
    if (ctx && PyContext_Enter(ctx) == 0) {
        res = PyObject_Vectorcall(n->call, args, 0 | PY_VECTORCALL_ARGUMENTS_OFFSET, n->kwnames);
        if (res && n->kind == KIND_GEN && !(*first = PyIter_Next(res))) Py_CLEAR(res);
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        if (PyContext_Exit(ctx) < 0) PyErr_Clear();
        PyErr_Restore(t, v, tb);
    }
    Py_XDECREF(ctx);
    return res;
}

/* Call provider n with its arguments and hand on what it produced. */
static int frpy_call(rctx *c, const pnode *n, PyObject **args) {
    PyObject *first = NULL;
    PyObject *res = frpy_call_in_context(c, n, args, &first);
    for (Py_ssize_t k = 0; k < n->nparams; k++) Py_DECREF(args[k]);
    if (!res) {
        /* a generator that fails before its first yield has no teardown
         * (FastAPI's exit stack holds only entered context managers) */
        if (n->kind == KIND_GEN && !PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "generator dependency didn't yield");
        frpy_handle_exception(c);
        return FRPY_STOP;
    }
    switch (n->kind) {
    case KIND_SYNC:
        return frpy_supply(c, res, NULL);
    case KIND_GEN: {
        int r = frpy_supply(c, first, res);
        Py_DECREF(res);
        return r;
    }
    case KIND_AGEN: {
        PyObject *aw = PyObject_CallMethodNoArgs(res, FRPY.s_anext);
        int r = aw ? frpy_start_coro(c, aw, res) : (frpy_handle_exception(c), FRPY_STOP);
        Py_DECREF(res);
        return r;
    }
    default:
        return frpy_start_coro(c, res, NULL);
    }
}

/* Answer the engine's NEED for provider id. */
static int frpy_node(rctx *c, int id) {
    const pnode *n = &c->plan->nodes[id];
    if (frpy_hop(c, n)) return FRPY_STOP;
    PyObject *stack[FR_MAX_ROUTE_PARAMS * 4 + 65], **args = stack + 1, **heap = NULL;
    if (n->nparams > (Py_ssize_t)(sizeof stack / sizeof stack[0]) - 1) {
        heap = calloc((size_t)n->nparams + 1, sizeof(PyObject *));
        if (!heap) { PyErr_NoMemory(); frpy_handle_exception(c); return FRPY_STOP; }
        args = heap + 1;
    }
    int missing = frpy_args(c, n, args);
    int skipped = fr_di_need_skipped(c->di);
    if (missing < 0) { free(heap); frpy_handle_exception(c); return FRPY_STOP; }
    if (missing || skipped || (id == 0 && c->errors)) {
        for (Py_ssize_t k = 0; k < n->nparams; k++) Py_XDECREF(args[k]);
        free(heap);
        if (id == 0) { frpy_raise_validation(c); return FRPY_STOP; }
        fr_di_skip(c->di); /* FastAPI: not called; what depends on it is skipped too */
        c->need = -1;
        return FRPY_NEXT;
    }
    int r;
    if (n->kind == KIND_NATIVE) {
        PyObject *v = frpy_security(c, n);
        r = v ? frpy_supply(c, v, NULL) : (frpy_handle_exception(c), FRPY_STOP);
    } else {
        r = frpy_call(c, n, args);
    }
    free(heap);
    return r;
}

static void frpy_walk(rctx *c) {
    for (;;) {
        int id = c->need;
        if (id < 0) {
            int st = fr_di_next(c->di, &id);
            if (st != FR_DI_NEED) {
                PyErr_Format(PyExc_RuntimeError, "dependency walk ended without the endpoint: %s",
                             fr_di_ctx_error(c->di));
                frpy_handle_exception(c);
                return;
            }
            c->need = id;
        }
        if (frpy_node(c, id) == FRPY_STOP) return;
    }
}

static int frpy_walk_begin(rctx *c) {
    c->need = -1;
    if (!c->ctx && !(c->ctx = PyContext_New())) return -1;
    c->di = fr_di_ctx_new(c->plan->di, fr_req_arena(c->req));
    if (!c->di || fr_di_begin(c->di, 0) < 0) {
        PyErr_SetString(PyExc_MemoryError, "dependency walk");
        return -1;
    }
    return 0;
}

static void frpy_respond_final(rctx *c, PyObject *ret) {
    PyObject *gens = NULL;
    if (frpy_take_cleanups(c, FR_DI_SCOPE_FUNCTION, &gens) < 0) { frpy_handle_exception(c); return; }
    if (gens) {
        /* Depends(scope="function"): exit those generators now, before the
         * response; an exception from them becomes the response */
        int inline_ok = !frpy_on_loop_thread();
        for (Py_ssize_t i = 0; inline_ok && i < PyList_GET_SIZE(gens); i++)
            if (!PyGen_CheckExact(PyList_GET_ITEM(gens, i))) inline_ok = 0;
        if (inline_ok) { /* plain generators on a worker thread (like FastAPI's threadpool) */
            PyObject *out = PyObject_CallFunctionObjArgs(FRPY.rt_unwind_sync, gens, Py_None, NULL);
            Py_DECREF(gens);
            if (!out) { frpy_handle_exception(c); return; }
            if (out != Py_None) { frpy_restore_exc(out); frpy_handle_exception(c); return; }
            Py_DECREF(out);
        } else {
            PyObject *t = PyTuple_Pack(2, gens, ret);
            Py_DECREF(gens);
            if (!t) { frpy_handle_exception(c); return; }
            Py_XSETREF(c->pending, t);
            c->job = JOB_FUNWIND;
            frpy_aio_push(c);
            return;
        }
    }
    frpy_respond_value(c, ret);
}

/* ---- the jobs: what a queued context does next ---- */

static void frpy_bridge_run(rctx *c);
static void frpy_bridge_done(rctx *c, PyObject *res);

/* An async provider (or an async generator's first step) that suspended
 * finished (res borrowed, NULL with an exception): hand on its value and go
 * on walking. */
static void frpy_resumed(rctx *c, PyObject *res) {
    PyObject *gen = c->gen;
    c->gen = NULL;
    if (!res) {
        if (gen && PyErr_ExceptionMatches(PyExc_StopAsyncIteration)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_RuntimeError, "async generator dependency didn't yield");
        }
        Py_XDECREF(gen);
        frpy_handle_exception(c);
        return;
    }
    int r = frpy_supply(c, Py_NewRef(res), gen);
    Py_XDECREF(gen);
    if (r == FRPY_NEXT) frpy_walk(c);
}

/* A streamed response ended: post-response work, or free the context. */
static void frpy_stream_done(rctx *c, PyObject *background) {
    fr_req *req = c->req;
    int after = frpy_has_after_work(c, background);
    if (after) frpy_count_after(c);
    int owner = c->mwr != NULL;
    Py_BEGIN_ALLOW_THREADS
    if (owner) fr_mw_stream_end(req); /* an @app.middleware's own answer */
    else fr_res_stream_end(req);
    Py_END_ALLOW_THREADS
    frpy_sflow_detach(c);
    c->req = NULL;
    if (after) {
        Py_XSETREF(c->result, background);
        c->job = JOB_AFTER;
        frpy_aio_push(c);
    } else {
        Py_XDECREF(background);
        frpy_ctx_free(c);
    }
}

/* An exception handler raised (Starlette's layers): what the route's
 * ExceptionMiddleware's handler raises goes to the app's, what that raises
 * to ServerErrorMiddleware -- its 500 / Exception handler, for any
 * exception -- and what that raises is the plain 500. */
/* ServerErrorMiddleware's handler: the last of 500 / Exception (the app
 * keys it Exception, _handler_dict); borrowed, or NULL. */
static PyObject *frpy_server_handler(rctx *c) {
    PyObject *h = c->rt->srv->handlers ? PyDict_GetItemWithError(c->rt->srv->handlers, PyExc_Exception) : NULL;
    PyErr_Clear();
    return h == Py_None ? NULL : h;
}

/* Run it for `exc` (reference stolen), outside every user middleware. */
static void frpy_run_server_handler(rctx *c, PyObject *h, PyObject *exc) {
    fr_mw_bypass(c->req);
    c->handler_level = 3;
    Py_XSETREF(c->exc, exc);
    Py_XSETREF(c->pending, Py_NewRef(h));
    c->job = JOB_HANDLER;
    frpy_aio_push(c);
}

static void frpy_handler_failed(rctx *c) {
    if (c->handler_level == 1) {
        frpy_handle_exception(c); /* the app-level lookup of the new exception */
        return;
    }
    PyObject *exc = frpy_take_exc(), *h = c->handler_level == 2 ? frpy_server_handler(c) : NULL;
    if (!h || !exc) {
        if (exc) frpy_restore_exc(exc);
        frpy_log_exception(c, "exception handler failed");
        frpy_send_plain500(c);
        return;
    }
    frpy_restore_exc(Py_NewRef(exc));
    frpy_log_exception(c, "Exception in ASGI application");
    frpy_run_server_handler(c, h, exc);
}

/* A Task created by frpy_schedule_task finished. */
static PyObject *frpy_task_done_fn(PyObject *cap, PyObject *task) {
    rctx *c = PyCapsule_GetPointer(cap, "fastrapi.rctx");
    if (!c) return NULL;
    PyObject *res = PyObject_CallMethodNoArgs(task, FRPY.s_result);
    Py_CLEAR(c->pending);
    switch (c->job) {
    case JOB_RESUME:
        frpy_resumed(c, res);
        break;
    case JOB_AIO_PUMP: {
        if (!res && c->flow && c->flow->gone) PyErr_Clear(); /* cancelled: the client left */
        else if (!res) {
            frpy_log_exception(c, "error while streaming the response");
            fr_res_stream_abort(c->req); /* as uvicorn after an application error: no terminal chunk, closed */
        }
        PyObject *bg = c->result;
        c->result = NULL;
        frpy_stream_done(c, bg);
        break;
    }
    case JOB_HANDLER:
        if (!res) frpy_handler_failed(c);
        else frpy_send_response_obj(c, res, 0);
        break;
    case JOB_FUNWIND: /* function-scoped generators exited: answer with the endpoint's value */
        if (!res) frpy_handle_exception(c);
        else frpy_respond_value(c, res);
        break;
    case JOB_BRIDGE:
        frpy_bridge_done(c, res);
        break;
    case JOB_MW_DONE:
        frpy_mw_done(c, res);
        break;
    case JOB_UNWIND: /* the generators ran: answer with the exception that came out of them */
        if (res) frpy_restore_exc(Py_NewRef(res));
        frpy_handle_exception(c);
        break;
    default: /* JOB_AFTER */
        if (!res) frpy_log_exception(c, "background task / dependency teardown failed");
        frpy_ctx_free(c);
        break;
    }
    Py_XDECREF(res);
    Py_RETURN_NONE;
}

/* Run `fn(pending[0], pending[1])` as a Task that resumes the job. */
static void frpy_schedule_pending(rctx *c, PyObject *fn, int job) {
    PyObject *t = c->pending;
    c->pending = NULL;
    PyObject *coro = PyObject_CallFunctionObjArgs(fn, PyTuple_GET_ITEM(t, 0), PyTuple_GET_ITEM(t, 1), NULL);
    if (!coro || frpy_schedule_task(c, coro, job) < 0) {
        Py_XDECREF(coro);
        if (job == JOB_UNWIND) {
            frpy_log_exception(c, "dependency teardown");
            frpy_restore_exc(Py_NewRef(PyTuple_GET_ITEM(t, 1)));
        }
        Py_DECREF(t);
        frpy_handle_exception(c);
        return;
    }
    Py_DECREF(t);
    Py_DECREF(coro);
}

/* After the response: plain generator teardowns run here, in the engine's
 * order; anything else (async teardowns, background tasks, an exception to
 * pass in) runs as a Task. */
static void frpy_after(rctx *c) {
    if (frpy_after_is_simple(c)) {
        Py_ssize_t n = PyList_GET_SIZE(c->teardowns);
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *v = PyIter_Next(PyList_GET_ITEM(c->teardowns, i));
            if (v) {
                Py_DECREF(v);
                PyErr_SetString(PyExc_RuntimeError, "generator dependency didn't stop");
            }
            if (!PyErr_Occurred()) continue;
            /* chain like FastAPI's exit stack: the outer generators get it */
            PyObject *e = frpy_take_exc();
            PyObject *rest = PyList_GetSlice(c->teardowns, i + 1, n);
            PyObject *out = rest ? PyObject_CallFunctionObjArgs(FRPY.rt_unwind_sync, rest, e, NULL) : NULL;
            Py_XDECREF(rest);
            Py_DECREF(e);
            if (out && out != Py_None) frpy_restore_exc(out); /* steals */
            else Py_XDECREF(out);
            if (PyErr_Occurred()) frpy_log_exception(c, "Exception in dependency teardown");
            break;
        }
        frpy_ctx_free(c);
        return;
    }
    PyObject *coro = PyObject_CallFunctionObjArgs(
        FRPY.rt_after, c->result ? c->result : Py_None, c->bg ? c->bg : Py_None,
        c->teardowns ? c->teardowns : Py_None, c->exc ? c->exc : Py_None, c->plan->route,
        c->asgi ? c->asgi : Py_None, c->rt->srv->pyapp,
        c->rt->srv->exc_sink ? c->rt->srv->exc_sink : Py_None, NULL);
    if (!coro || frpy_schedule_task(c, coro, JOB_AFTER) < 0) {
        Py_XDECREF(coro);
        frpy_log_exception(c, "background tasks");
        frpy_ctx_free(c);
        return;
    }
    Py_DECREF(coro);
}

/* Unmatched request with a custom 404/405 handler: raise what FastAPI would. */
static void frpy_fallback(rctx *c) {
    if (c->fallback_405) {
        frpy_raise(FRPY.HTTPException, Py_BuildValue("(i)", 405), NULL);
    } else if (fr_req_match_status(c->req) == FR_MATCH_METHOD) {
        fr_str allow = fr_req_match_allow(c->req);
        PyObject *h = Py_BuildValue("{ss#}", "Allow", allow.buf ? allow.buf : "", (Py_ssize_t)allow.len);
        frpy_raise(FRPY.HTTPException, h ? Py_BuildValue("(isN)", 405, "Method Not Allowed", h) : NULL, NULL);
    } else {
        frpy_raise(FRPY.HTTPException, Py_BuildValue("(is)", 404, "Not Found"), NULL);
    }
    frpy_handle_exception(c);
}

static void frpy_run(rctx *c) {
    if (!c->di) {
        if (frpy_walk_begin(c) < 0) { frpy_handle_exception(c); return; }
        if (c->plan->body_mode) {
            int r = c->plan->json_param ? frpy_body_one_pass(c) : 1;
            if (r < 0 || (r > 0 && frpy_body(c) != 0)) { frpy_handle_exception(c); return; }
        }
    }
    frpy_walk(c);
}

static void frpy_asgi_adopt(rctx *c);
static void frpy_outer_routing_keys(rctx *c);

/* First time with the GIL: the server is still serving this request; an
 * ASGI request's channel and outer scope are taken here. */
static void frpy_first_gil(rctx *c) {
    if (c->srv_ref) return;
    c->srv_ref = Py_NewRef((PyObject *)c->rt->srv);
    frpy_asgi_adopt(c);
    frpy_outer_routing_keys(c);
}

static void frpy_run_job(rctx *c) {
    frpy_first_gil(c);
    switch (c->job) {
    case JOB_RUN:
        frpy_run(c);
        return;
    case JOB_STREAM:
    case JOB_AIO_STREAM: {
        PyObject *resp = c->result;
        c->result = NULL;
        frpy_send_stream(c, resp);
        Py_DECREF(resp);
        return;
    }
    case JOB_HANDLER: {
        PyObject *h = c->pending;
        c->pending = NULL;
        PyObject *coro = PyObject_CallFunctionObjArgs(FRPY.rt_call_handler, h, c->request, c->exc, NULL);
        Py_DECREF(h);
        if (!coro || frpy_schedule_task(c, coro, JOB_HANDLER) < 0) {
            Py_XDECREF(coro);
            frpy_log_exception(c, "exception handler failed");
            frpy_send_plain500(c);
            return;
        }
        Py_DECREF(coro);
        return;
    }
    case JOB_FALLBACK:
        frpy_fallback(c);
        return;
    case JOB_FUNWIND:
        frpy_schedule_pending(c, FRPY.rt_unwind_function, JOB_FUNWIND);
        return;
    case JOB_UNWIND:
        frpy_schedule_pending(c, FRPY.rt_unwind_error, JOB_UNWIND);
        return;
    case JOB_AFTER:
        frpy_after(c);
        return;
    case JOB_BRIDGE:
        frpy_bridge_run(c);
        return;
    case JOB_MW:
        frpy_mw_start(c);
        return;
    }
}

/* engine loop thread: no GIL here */
static int frpy_route_handler(fr_req *req, void *ud) {
    proute *rt = ud;
    rctx *c = calloc(1, sizeof *c);
    if (!c) return fr_res_text(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    c->req = req;
    c->rt = rt;
    c->plan = rt->plan;
    c->need = -1;
    c->job = JOB_RUN;
    if (rt->version != rt->srv->version) {
        c->job = JOB_RECOMPILE; /* dependency_overrides changed: recompile on the loop */
        frpy_aio_push(c);
    } else if (c->plan->is_async) {
        frpy_aio_push(c); /* async routes start on the loop thread */
    } else {
        frpy_pool_push(c);
    }
    return FR_PENDING;
}

/* dependency_overrides changed: recompile the route's plan (loop thread). */
static void frpy_recompile(rctx *c) {
    proute *rt = c->rt;
    frpy_first_gil(c); /* before anything can answer: an ASGI request's channel */
    c->job = JOB_RUN;
    if (rt->version != rt->srv->version) {
        PyObject *t = PyObject_CallOneArg(FRPY.rt_recompile, rt->route_obj);
        pplan *np = t ? frpy_plan_parse(t) : NULL;
        Py_XDECREF(t);
        if (!np) {
            /* e.g. a cycle through an override: like FastAPI (which fails
             * solving the request) answer 500 and log it for this request;
             * the version stays old so the next request retries */
            c->plan = rt->plan;
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "recompiling the route failed");
            frpy_handle_exception(c);
            return;
        }
        np->old = rt->plan;
        rt->plan = np;
        rt->version = rt->srv->version;
    }
    c->plan = rt->plan;
    frpy_run_job(c);
}

/* ------------------------------------------------------------------ */
/* ---- WebSockets: Python websocket routes on the native server ----   */
/* The engine's ws (src/ws.c: handshake, frames, deflate, limits, the
 * closing handshake) carries the ASGI messages of a Python endpoint
 * (fastrapi/_ws.py). The route handler (I/O thread, no GIL) queues the
 * upgrade request on the asyncio loop's mailbox; there start(scope, conn)
 * starts the endpoint as a Task and returns feed(messages). accept, send
 * and close from Python go straight to fr_ws_* (any thread). The engine's
 * callbacks (I/O thread, no GIL) copy each message into the connection's
 * queue and wake the loop, which hands the batch to feed(): the I/O thread
 * never takes the GIL. End of section: "---- end of WebSockets ----". */

enum { FRPY_WS_DRAIN = 100 };

typedef struct frpy_wsmsg {
    struct frpy_wsmsg *next;
    int kind; /* FR_WS_TEXT, FR_WS_BINARY or FRPY_WS_DRAIN */
    size_t len;
    char data[];
} frpy_wsmsg;

typedef struct frpy_wsroute {
    proute rt; /* first: kept and freed with the server as a proute */
    uint64_t max_message;
} frpy_wsroute;

typedef struct frpy_ws {
    fr_job job_link;         /* first, as in rctx: queued on the loop's mailbox */
    int job;                 /* JOB_WS */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* accept waits for on_open (or on_close) */
    frpy_wsmsg *head, *tail; /* messages not yet handed to Python (mu) */
    int queued;              /* in the mailbox (mu) */
    int opened, closed;      /* on_open / on_close ran (mu) */
    int close_code;          /* on_close's code and reason (mu) */
    size_t reason_len;
    char reason[124];
    fr_ws *ws;               /* retained by on_open (mu); released when freed */
    int close_fed;           /* loop thread: the close went to Python */
    fr_req *req;             /* the upgrade request until accept/deny (GIL) */
    frpy_wsroute *route;
    int refs, engine;        /* GIL: the engine side (until the close was fed
                                or the request answered) + the capsule */
    PyObject *srv_ref, *feed;
    char *subprotocol;
} frpy_ws;

static void frpy_ws_free(frpy_ws *w) {
    while (w->head) {
        frpy_wsmsg *m = w->head;
        w->head = m->next;
        free(m);
    }
    if (w->ws) fr_ws_release(w->ws);
    Py_XDECREF(w->feed);
    Py_XDECREF(w->srv_ref);
    free(w->subprotocol);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}

static void frpy_ws_unref(frpy_ws *w) { /* GIL */
    if (--w->refs == 0) frpy_ws_free(w);
}

static void frpy_ws_engine_done(frpy_ws *w) { /* GIL */
    if (!w->engine) return;
    w->engine = 0;
    frpy_ws_unref(w);
}

/* Answer the upgrade request with a plain status (close before accept:
 * 403, as uvicorn; an endpoint that never accepted: 500). GIL. */
static void frpy_ws_answer(frpy_ws *w, int status) {
    fr_req *req = w->req;
    if (!req) return;
    w->req = NULL;
    Py_BEGIN_ALLOW_THREADS
    fr_res_status(req, status);
    fr_res_header(req, "content-type", "text/plain; charset=utf-8");
    fr_res_header(req, "connection", "close"); /* a refused upgrade: uvicorn closes too */
    if (status == 500) fr_res_body(req, "Internal Server Error", 21);
    fr_res_send(req);
    Py_END_ALLOW_THREADS
    frpy_ws_engine_done(w);
}

/* I/O thread: queue, and wake the loop unless this is already queued */
static void frpy_ws_wake_locked(frpy_ws *w) {
    int wake = !w->queued;
    w->queued = 1;
    pthread_mutex_unlock(&w->mu);
    if (wake) frpy_aio_push((rctx *)(void *)w);
}

static void frpy_ws_push(frpy_ws *w, int kind, const char *data, size_t len) {
    frpy_wsmsg *m = malloc(sizeof *m + len);
    if (!m) return; /* out of memory: the message is lost, the connection goes on */
    m->next = NULL;
    m->kind = kind;
    m->len = len;
    if (len) memcpy(m->data, data, len);
    pthread_mutex_lock(&w->mu);
    if (w->tail) w->tail->next = m;
    else w->head = m;
    w->tail = m;
    frpy_ws_wake_locked(w);
}

static void frpy_ws_on_open(fr_ws *ws, void *ud) {
    frpy_ws *w = ud;
    fr_ws_retain(ws);
    pthread_mutex_lock(&w->mu);
    w->ws = ws;
    w->opened = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void frpy_ws_on_message(fr_ws *ws, int op, const char *data, size_t len, void *ud) {
    (void)ws;
    frpy_ws_push(ud, op, data, len);
}

static void frpy_ws_on_drain(fr_ws *ws, void *ud) {
    (void)ws;
    frpy_ws_push(ud, FRPY_WS_DRAIN, NULL, 0);
}

static void frpy_ws_on_close(fr_ws *ws, int code, fr_str reason, void *ud) {
    frpy_ws *w = ud;
    (void)ws;
    pthread_mutex_lock(&w->mu);
    w->closed = 1;
    w->close_code = code;
    w->reason_len = reason.len < sizeof w->reason ? reason.len : sizeof w->reason - 1;
    if (w->reason_len) memcpy(w->reason, reason.buf, w->reason_len);
    pthread_cond_broadcast(&w->cv);
    frpy_ws_wake_locked(w);
}

static void frpy_ws_capsule_free(PyObject *cap) {
    frpy_ws *w = PyCapsule_GetPointer(cap, "fastrapi.ws");
    if (!w) { PyErr_Clear(); return; }
    if (w->req) frpy_ws_answer(w, 500); /* the channel went without an answer */
    frpy_ws_unref(w);
}

/* Loop thread: start(scope, conn) -> feed; a failure is a 500. */
static void frpy_ws_start(frpy_ws *w) {
    rctx tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.req = w->req;
    tmp.rt = &w->route->rt;
    tmp.plan = tmp.rt->plan;
    w->srv_ref = Py_NewRef((PyObject *)tmp.rt->srv);
    PyObject *scope = frpy_scope(&tmp);
    PyObject *cap = scope ? PyCapsule_New(w, "fastrapi.ws", frpy_ws_capsule_free) : NULL;
    if (cap) w->refs++;
    PyObject *feed = cap ? PyObject_CallFunctionObjArgs(tmp.rt->route_obj, scope, cap, NULL) : NULL;
    Py_XDECREF(scope);
    if (!feed) {
        PyErr_WriteUnraisable(tmp.rt->route_obj);
        frpy_ws_answer(w, 500);
    } else {
        w->feed = feed;
    }
    Py_XDECREF(cap);
}

/* Inline writes (fr_ws_inline_writes): each message handed to Python earns
 * one send written straight to the socket from the loop thread (a reply
 * spares the I/O thread a wake-up: one thread hop per round trip, not two);
 * sends beyond that -- a broadcast to many sockets -- are queued for the I/O
 * threads, which write them in parallel with Python, batched. GIL. */
enum { FRPY_WS_INLINE_MAX = 64 };
static int frpy_ws_inline;

/* Loop thread: what arrived since the last time, as a list of (kind,
 * payload): (1, str), (2, bytes), (100, None) drained, (8, (code, reason)). */
static void frpy_ws_job(frpy_ws *w) {
    pthread_mutex_lock(&w->mu);
    w->queued = 0;
    frpy_wsmsg *m = w->head;
    w->head = w->tail = NULL;
    int closed = w->closed && !w->close_fed;
    pthread_mutex_unlock(&w->mu);
    if (!w->srv_ref) {
        frpy_ws_start(w);
        return;
    }
    PyObject *list = PyList_New(0);
    while (m) {
        frpy_wsmsg *next = m->next;
        PyObject *v = m->kind == FR_WS_TEXT ? PyUnicode_DecodeUTF8(m->data, (Py_ssize_t)m->len, "replace")
                      : m->kind == FR_WS_BINARY ? PyBytes_FromStringAndSize(m->data, (Py_ssize_t)m->len)
                                                : Py_NewRef(Py_None);
        PyObject *item = v ? Py_BuildValue("(iN)", m->kind, v) : NULL;
        if (!item || !list || PyList_Append(list, item) < 0) PyErr_Clear();
        if (m->kind != FRPY_WS_DRAIN && frpy_ws_inline < FRPY_WS_INLINE_MAX) frpy_ws_inline++;
        Py_XDECREF(item);
        free(m);
        m = next;
    }
    if (closed && list) {
        w->close_fed = 1;
        PyObject *item = Py_BuildValue("(i(iN))", FR_WS_CLOSE, w->close_code,
                                       PyUnicode_DecodeUTF8(w->reason, (Py_ssize_t)w->reason_len, "replace"));
        if (!item || PyList_Append(list, item) < 0) PyErr_Clear();
        Py_XDECREF(item);
    }
    if (list && PyList_GET_SIZE(list) && w->feed) {
        PyObject *r = PyObject_CallOneArg(w->feed, list);
        if (!r) PyErr_WriteUnraisable(w->feed);
        Py_XDECREF(r);
    }
    Py_XDECREF(list);
    if (closed) frpy_ws_engine_done(w); /* may free w */
}

static frpy_ws *frpy_ws_get(PyObject *cap) {
    return PyCapsule_GetPointer(cap, "fastrapi.ws");
}

/* ws_accept(conn, subprotocol | None, headers) -> 0, or -1 when the
 * handshake was refused (answered 400/426) or the client is gone. */
static PyObject *py_ws_accept(PyObject *self, PyObject *args) {
    PyObject *cap, *sub, *headers;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &cap, &sub, &headers)) return NULL;
    frpy_ws *w = frpy_ws_get(cap);
    if (!w) return NULL;
    if (!w->req) {
        PyErr_SetString(PyExc_RuntimeError, "the websocket was already answered");
        return NULL;
    }
    if (sub != Py_None) {
        const char *s = PyUnicode_AsUTF8(sub);
        if (!s) return NULL;
        free(w->subprotocol);
        if (!(w->subprotocol = strdup(s))) return PyErr_NoMemory();
    }
    if (frpy_add_raw_headers(w->req, headers, 1) < 0) return NULL;
    fr_ws_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_open = frpy_ws_on_open;
    cfg.on_message = frpy_ws_on_message;
    cfg.on_drain = frpy_ws_on_drain;
    cfg.on_close = frpy_ws_on_close;
    cfg.userdata = w;
    cfg.subprotocol = w->subprotocol;
    cfg.max_message = w->route->max_message;
    cfg.deflate = 1;
    fr_req *req = w->req;
    fr_ws *ws;
    w->req = NULL;
    Py_BEGIN_ALLOW_THREADS
    ws = fr_ws_accept(req, &cfg);
    if (ws) { /* on_open (or on_close) runs on the I/O thread; it never waits for the GIL */
        pthread_mutex_lock(&w->mu);
        while (!w->opened && !w->closed) pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
    }
    Py_END_ALLOW_THREADS
    if (!ws) {
        frpy_ws_engine_done(w); /* answered: no callback will come */
        return PyLong_FromLong(-1);
    }
    return PyLong_FromLong(0);
}

static fr_ws *frpy_ws_peer(frpy_ws *w) {
    pthread_mutex_lock(&w->mu);
    fr_ws *ws = w->ws;
    pthread_mutex_unlock(&w->mu);
    return ws;
}

/* Deferred wake-ups (fr_ws_defer_wakes): what the loop thread queues for the
 * I/O loops during one asyncio iteration -- a broadcast's thousand
 * send_text, the replies of every endpoint that ran -- wakes each I/O loop
 * once, from _ws_flush queued behind it with loop.call_soon (it runs once
 * this iteration's callbacks are done), not once per socket. GIL. */
static FR__THREAD_LOCAL int frpy_ws_flush_due; /* _ws_flush is queued on this thread's loop
                                                  (deferral is per thread, as this) */
static PyObject *frpy_ws_flush_fn, *frpy_s_call_soon;

static PyObject *py_ws_flush(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    frpy_ws_flush_due = 0;
    fr_ws_defer_wakes(0); /* wakes the loops */
    Py_RETURN_NONE;
}

/* After a loop-thread send made with deferral on: queue the flush if a loop
 * waits for one, else (or when it cannot be queued) stop deferring now. */
static void frpy_ws_defer_end(void) {
    if (frpy_ws_flush_due) return;
    if (fr_ws_pending_wakes() && frpy_ws_flush_fn && FRPY.loop) {
        PyObject *r = PyObject_CallMethodOneArg(FRPY.loop, frpy_s_call_soon, frpy_ws_flush_fn);
        if (r) {
            Py_DECREF(r);
            frpy_ws_flush_due = 1;
            return;
        }
        PyErr_Clear(); /* a closed loop: wake them from here */
    }
    fr_ws_defer_wakes(0);
}

/* ws_send(conn, opcode, data, code=0) -> FR_WS_OK / ECLOSED / EFULL / EINVAL:
 * a text or binary message, or (FR_WS_CLOSE) the close with code and
 * reason = data. data: bytes-like, or a str (sent as its UTF-8, no copy).
 * fr_ws_send never blocks: the GIL is kept, except for a big message (its
 * copy, or its compression, runs while other threads take the GIL). */
enum { FRPY_WS_SEND_NOGIL = 64 * 1024 };

static PyObject *py_ws_send(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    PyObject *cap, *data;
    int op, code = 0, r = FR_WS_ECLOSED;
    Py_buffer b;
    (void)self;
    if (nargs < 3 || nargs > 4) {
        PyErr_SetString(PyExc_TypeError, "ws_send(conn, opcode, data, code=0)");
        return NULL;
    }
    cap = args[0];
    data = args[2];
    op = (int)PyLong_AsLong(args[1]);
    if (nargs == 4) code = (int)PyLong_AsLong(args[3]);
    if (PyErr_Occurred()) return NULL;
    if (PyUnicode_Check(data)) {
        Py_ssize_t n;
        const char *u = PyUnicode_AsUTF8AndSize(data, &n); /* cached in the str, owned by it */
        if (!u || PyBuffer_FillInfo(&b, NULL, (void *)(uintptr_t)u, n, 1, PyBUF_SIMPLE) < 0) return NULL;
    } else if (PyObject_GetBuffer(data, &b, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    frpy_ws *w = frpy_ws_get(cap);
    fr_ws *ws = w ? frpy_ws_peer(w) : NULL;
    if (ws) {
        int inline_ok = frpy_ws_inline > 0, defer = frpy_on_loop_thread();
        if (inline_ok) frpy_ws_inline--;
        fr_ws_inline_writes(inline_ok);
        if (defer) {
            fr_ws_defer_wakes(1);
        } else if (frpy_ws_flush_due) { /* no longer the loop's thread: its flush may never run */
            frpy_ws_flush_due = 0;
            fr_ws_defer_wakes(0);
        }
        if (b.len >= FRPY_WS_SEND_NOGIL) {
            Py_BEGIN_ALLOW_THREADS
            r = op == FR_WS_CLOSE ? fr_ws_close(ws, code, b.buf, (size_t)b.len)
                                  : fr_ws_send(ws, op, b.buf, (size_t)b.len);
            Py_END_ALLOW_THREADS
        } else {
            r = op == FR_WS_CLOSE ? fr_ws_close(ws, code, b.buf, (size_t)b.len)
                                  : fr_ws_send(ws, op, b.buf, (size_t)b.len);
        }
        if (defer) frpy_ws_defer_end();
    }
    PyBuffer_Release(&b);
    if (!w) return NULL;
    return PyLong_FromLong(r);
}

/* ws_deny(conn, status[, headers, body]): answer the upgrade request
 * instead of accepting -- with the app's own response when given (ASGI's
 * websocket.http.response extension: Starlette's send_denial_response, and
 * what an HTTPException before accept becomes) */
static PyObject *py_ws_deny(PyObject *self, PyObject *args) {
    PyObject *cap, *headers = NULL;
    int status;
    Py_buffer body = {0};
    (void)self;
    if (!PyArg_ParseTuple(args, "Oi|Oy*", &cap, &status, &headers, &body)) return NULL;
    frpy_ws *w = frpy_ws_get(cap);
    if (!w || !headers) {
        if (body.obj) PyBuffer_Release(&body);
        if (w) frpy_ws_answer(w, status);
        if (!w) return NULL;
        Py_RETURN_NONE;
    }
    size_t n = 0;
    fr_header *hs = frpy_asgi_headers(headers, &n);
    fr_req *req = hs ? w->req : NULL;
    if (req) {
        w->req = NULL;
        Py_BEGIN_ALLOW_THREADS
        fr_res_status(req, status);
        fr_res_header(req, "connection", "close");
        for (size_t i = 0; i < n; i++) /* the engine frames the body */
            if (!fr_str_ieq_c(hs[i].name, "content-length"))
                fr_res_header_n(req, hs[i].name.buf, hs[i].name.len, hs[i].value.buf, hs[i].value.len);
        fr_res_body(req, body.buf, (size_t)body.len);
        fr_res_send(req);
        Py_END_ALLOW_THREADS
        frpy_ws_engine_done(w);
    }
    PyMem_Free(hs);
    PyBuffer_Release(&body);
    if (!hs) return NULL;
    Py_RETURN_NONE;
}

/* I/O thread: an upgrade to a websocket route (fr_route_opts.websocket:
 * the engine routes plain requests around it, as Starlette's router). */
static int frpy_ws_handler(fr_req *req, void *ud) {
    if (fr_ws_check(req) < 0) return FR_DONE; /* a bad handshake: answered by the engine */
    frpy_ws *w = calloc(1, sizeof *w);
    if (!w) return fr_res_text(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->job = JOB_WS;
    w->req = req;
    w->route = ud;
    w->refs = w->engine = 1;
    w->queued = 1;
    frpy_aio_push((rctx *)(void *)w);
    return FR_PENDING;
}

static int frpy_server_keep_route(server *s, proute *rt);

/* add_websocket(pattern, start, route, max_message): GET pattern upgrades
 * to the Python endpoint; start(scope, conn) holds the route (borrowed
 * here as the scope's "route"). */
static PyObject *frpy_server_add_websocket(server *s, PyObject *args) {
    const char *path;
    PyObject *start, *route;
    unsigned long long maxm;
    if (!PyArg_ParseTuple(args, "sOOK", &path, &start, &route, &maxm)) return NULL;
    frpy_wsroute *wr = calloc(1, sizeof *wr);
    pplan *p = calloc(1, sizeof *p);
    char *m = strdup("GET"), *pc = strdup(path);
    if (!wr || !p || !m || !pc) {
        free(wr); free(p); free(m); free(pc);
        return PyErr_NoMemory();
    }
    wr->max_message = maxm;
    wr->rt.srv = s;
    wr->rt.plan = p;
    wr->rt.version = s->version;
    wr->rt.route_obj = Py_NewRef(start);
    wr->rt.method = m;
    wr->rt.path = pc;
    p->route = route;
    if (frpy_server_keep_route(s, &wr->rt) < 0) {
        Py_DECREF(start); free(m); free(pc); free(p); free(wr);
        return NULL;
    }
    fr_route_opts o;
    memset(&o, 0, sizeof o);
    o.websocket = 1;
    if (fr_route_ex(s->app, "GET", path, frpy_ws_handler, wr, &o) < 0) {
        PyErr_Format(PyExc_ValueError, "cannot add websocket route %s: %s", path,
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
        return NULL;
    }
    Py_RETURN_NONE;
}
/* ---- end of WebSockets ---- */

/* ------------------------------------------------------------------ */
/* _drain: called by the asyncio loop when the eventfd is readable      */

static void frpy_aio_job(fr_job *j, void *ud) {
    rctx *c = (rctx *)j;
    (void)ud;
    if (c->job == JOB_RECOMPILE) frpy_recompile(c);
    else if (c->job == JOB_WS) frpy_ws_job((frpy_ws *)(void *)c);
    else if (c->job == JOB_SFLOW) frpy_sflow_job((struct frpy_sflow *)(void *)c);
    else if (c->job == JOB_MWCAP) frpy_mw_captured((struct frpy_mwreq *)(void *)c);
    else frpy_run_job(c);
}

static PyObject *py_drain(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    if (!loop_thread_set) {
        loop_thread_id = pthread_self();
        loop_thread_set = 1;
    }
    fr_mailbox_run(&frpy_aio, frpy_aio_job, NULL, 0);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* the native server -> ASGI bridge: an app with ASGI middleware (or an ASGI
 * mount) runs its Python stack for socket requests; the stack's messages
 * are written to the engine request by the two callables below */

enum { FRPY_B_NONE, FRPY_B_HEAD, FRPY_B_STREAM, FRPY_B_DONE };

static rctx *frpy_bridge_ctx(PyObject *cap) {
    rctx *c = PyCapsule_GetPointer(cap, "fastrapi.rctx");
    if (c && (c->bstate == FRPY_B_DONE || !c->req)) {
        PyErr_SetString(PyExc_RuntimeError, "the response was already sent");
        return NULL;
    }
    return c;
}

/* start(status, headers): kept until the first body message says whether
 * the body is complete (content-length by the engine) or streamed. */
static PyObject *frpy_bridge_start_fn(PyObject *cap, PyObject *args) {
    rctx *c = frpy_bridge_ctx(cap);
    int status;
    PyObject *headers;
    if (!c || !PyArg_ParseTuple(args, "iO", &status, &headers)) return NULL;
    if (c->bstate != FRPY_B_NONE) {
        PyErr_SetString(PyExc_RuntimeError, "http.response.start sent twice");
        return NULL;
    }
    c->bstatus = status;
    c->bstate = FRPY_B_HEAD;
    Py_XSETREF(c->result, Py_NewRef(headers));
    Py_RETURN_NONE;
}

/* ASGI headers (a list of byte pairs) carry a content-length */
static int frpy_has_content_length(PyObject *headers) {
    PyObject *seq = PySequence_Fast(headers, "headers must be a sequence");
    int found = 0;
    if (!seq) { PyErr_Clear(); return 0; }
    for (Py_ssize_t i = 0; !found && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, i), *k;
        if (PyTuple_Check(t) && PyTuple_GET_SIZE(t) == 2 && PyBytes_Check(k = PyTuple_GET_ITEM(t, 0)))
            found = PyBytes_GET_SIZE(k) == 14 && !strncasecmp(PyBytes_AS_STRING(k), "content-length", 14);
    }
    Py_DECREF(seq);
    return found;
}

/* body(data, more) -> 0, or -1 when the client is gone. */
static PyObject *frpy_bridge_body_fn(PyObject *cap, PyObject *args) {
    rctx *c = frpy_bridge_ctx(cap);
    Py_buffer v;
    int more, r = 0;
    if (!c || !PyArg_ParseTuple(args, "y*p", &v, &more)) return NULL;
    if (c->bstate == FRPY_B_NONE) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_RuntimeError, "http.response.body before http.response.start");
        return NULL;
    }
    fr_req *req = c->req;
    if (c->bstate == FRPY_B_HEAD) {
        /* HEAD: the app's content-length is the GET body's, not this empty
         * body's: sent as a stream, which keeps it (and writes no body) */
        fr_str meth = fr_req_method(req);
        int head = meth.len == 4 && memcmp(meth.buf, "HEAD", 4) == 0;
        /* no content-length from the app: chunked, as uvicorn frames it */
        int whole = !more && !head && frpy_has_content_length(c->result);
        fr_res_status(req, c->bstatus);
        frpy_add_raw_headers(req, c->result, whole); /* a stream keeps its content-length */
        Py_CLEAR(c->result);
        if (whole) {
            fr_res_body(req, v.buf, (size_t)v.len);
            c->bstate = FRPY_B_DONE;
            Py_BEGIN_ALLOW_THREADS
            fr_res_send(req);
            Py_END_ALLOW_THREADS
            c->req = NULL;
            PyBuffer_Release(&v);
            return PyLong_FromLong(0);
        }
        c->bstate = FRPY_B_STREAM;
        Py_BEGIN_ALLOW_THREADS
        r = fr_res_stream_begin(req);
        Py_END_ALLOW_THREADS
        if (r == 0) frpy_sflow_attach(c, 1);
    }
    if (r == 0 && v.len) r = fr_res_stream_write(req, v.buf, (size_t)v.len); /* never blocks */
    if (r == FR_STREAM_FULL) { /* the bridge awaits wait() */
        if (more && c->flow && !c->flow->gone) c->flow->full = 1;
        else r = 0;
    }
    if (!more) {
        Py_BEGIN_ALLOW_THREADS
        fr_res_stream_end(req);
        Py_END_ALLOW_THREADS
        frpy_sflow_detach(c);
        c->bstate = FRPY_B_DONE;
        c->req = NULL;
    }
    PyBuffer_Release(&v);
    return PyLong_FromLong(r < 0 ? -1 : r);
}

static PyMethodDef frpy_bridge_start_def = {"start", frpy_bridge_start_fn, METH_VARARGS, NULL};
static PyMethodDef frpy_bridge_body_def = {"body", frpy_bridge_body_fn, METH_VARARGS, NULL};

/* engine loop thread, no GIL: queue the request for the bridge; the scope's
 * "route" is rt's route object (None for a fully bridged app) */
static int frpy_bridge_push(fr_req *req, proute *rt) {
    rctx *c = calloc(1, sizeof *c);
    if (!c) return fr_res_text(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    c->req = req;
    c->rt = rt;
    c->plan = rt->plan;
    c->need = -1;
    c->job = JOB_BRIDGE;
    frpy_count_after(c); /* the ASGI call goes on after its last body (a middleware's code
                          * after send): a TestClient waits for all of it, as Starlette's */
    frpy_aio_push(c);
    return FR_PENDING;
}

/* every request of a bridged app (ASGI middleware, Host routes) */
static int frpy_bridge_handler(fr_req *req, void *ud) {
    if (fr_req_is_websocket(req)) return fr_res_default(req); /* no websocket route: 403 */
    return frpy_bridge_push(req, &((server *)ud)->fallback_rt);
}

/* a request under an ASGI mount ("*" on "/prefix/{path:path}"): only these
 * go through the bridge, to the mounted app; the app's other routes stay on
 * the engine. The ASGI face never dispatches here (it asks route_for first). */
static int frpy_mount_handler(fr_req *req, void *ud) {
    proute *rt = ud;
    if (!rt->srv->bridge)
        return fr_res_text(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    return frpy_bridge_push(req, rt);
}

/* Loop thread: run bridge(scope, start, body) as a Task. */
static void frpy_bridge_run(rctx *c) {
    PyObject *scope = frpy_scope(c), *cap = PyCapsule_New(c, "fastrapi.rctx", NULL);
    PyObject *st = cap ? PyCFunction_New(&frpy_bridge_start_def, cap) : NULL;
    PyObject *bd = cap ? PyCFunction_New(&frpy_bridge_body_def, cap) : NULL;
    PyObject *wt = cap ? PyCFunction_New(&frpy_stream_wait_def, cap) : NULL;
    PyObject *coro = scope && st && bd && wt
                         ? PyObject_CallFunctionObjArgs(c->rt->srv->bridge, scope, st, bd, wt, NULL)
                         : NULL;
    Py_XDECREF(scope); Py_XDECREF(cap); Py_XDECREF(st); Py_XDECREF(bd); Py_XDECREF(wt);
    if (!coro || frpy_schedule_task(c, coro, JOB_BRIDGE) < 0) {
        Py_XDECREF(coro);
        frpy_log_exception(c, "Exception in ASGI application");
        frpy_send_plain500(c);
        return;
    }
    Py_DECREF(coro);
}

/* The stack's Task finished: a response it did not send is a 500, a stream
 * it left open is ended; then the context goes. */
static void frpy_bridge_done(rctx *c, PyObject *res) {
    if (!res && c->flow && c->flow->gone) PyErr_Clear(); /* cancelled: the client left */
    else if (!res) frpy_log_exception(c, "Exception in ASGI application");
    if (c->req && c->bstate == FRPY_B_STREAM) {
        Py_BEGIN_ALLOW_THREADS
        fr_res_stream_end(c->req);
        Py_END_ALLOW_THREADS
        frpy_sflow_detach(c);
        c->req = NULL;
    }
    if (c->req) { /* nothing (or only a head) was sent */
        Py_CLEAR(c->result);
        frpy_send_plain500(c);
        return;
    }
    frpy_ctx_free(c);
}

static PyObject *frpy_server_set_bridge(server *s, PyObject *args) {
    PyObject *bridge;
    int every = 1;
    unsigned long long spool = 0;
    if (!PyArg_ParseTuple(args, "O|pK", &bridge, &every, &spool)) return NULL;
    Py_XSETREF(s->bridge, bridge == Py_None ? NULL : Py_NewRef(bridge));
    if (!every) Py_RETURN_NONE; /* mounts only: unmatched requests keep the engine's answers */
    fr_route_opts o; /* every request is unmatched */
    memset(&o, 0, sizeof o);
    o.body_spool = spool;
    fr_app_set_unmatched_opts(s->app, &o);
    s->fallback_rt.srv = s;
    s->fallback_rt.route_obj = Py_None;
    s->fallback_rt.method = "";
    s->fallback_rt.path = "";
    s->fallback_rt.plan = &s->fallback_plan;
    s->fallback_plan.route = Py_None;
    fr_app_set_fallback(s->app, s->bridge ? frpy_bridge_handler : NULL, s->bridge ? s : NULL);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* the ASGI face: a request from memory (fr_dispatch), its response handed
 * to a Python callable `post` as ("start", (status, headers)) and
 * ("body", (bytes, more)) items, from whichever thread finishes it */

typedef struct frpy_asgi {
    PyObject *post;
    PyObject *scope; /* the ASGI scope: what middleware put in it reaches the Request */
    PyObject *ctx;   /* a copy of the caller's contextvars (what ASGI middleware set
                        before calling the app is seen by the handler, as in FastAPI) */
    int refs;        /* the sink until its last call, the request's context until
                        freed (post-response work done); under the GIL */
} frpy_asgi;

/* post(item) -> 0, 1 (the consumer is above its high-water mark) or -1
 * (the consumer is gone); steals item */
static int frpy_asgi_post(frpy_asgi *a, PyObject *item) {
    if (!item) { PyErr_Clear(); return 0; }
    PyObject *r = PyObject_CallOneArg(a->post, item);
    long rc = r && PyLong_Check(r) ? PyLong_AsLong(r) : 0;
    if (!r || rc == -1) PyErr_Clear();
    Py_XDECREF(r);
    Py_DECREF(item);
    return (int)rc;
}

static void frpy_asgi_free(frpy_asgi *a) {
    Py_DECREF(a->post);
    Py_DECREF(a->scope);
    Py_XDECREF(a->ctx);
    PyMem_Free(a);
}

/* The last holder gone: the request is over, background tasks and
 * teardowns included; the face's call returns then, as Starlette's does. */
static void frpy_asgi_release(frpy_asgi *a) {
    if (--a->refs > 0) return;
    frpy_asgi_post(a, Py_BuildValue("(sO)", "done", Py_None));
    frpy_asgi_free(a);
}

static void frpy_asgi_start(void *ud, int status, const fr_header *h, size_t n) {
    if (g_exiting) return;
    PyGILState_STATE st = PyGILState_Ensure();
    PyObject *hdrs = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; hdrs && i < n; i++) {
        PyObject *k = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)h[i].name.len);
        PyObject *v = PyBytes_FromStringAndSize(h[i].value.buf, (Py_ssize_t)h[i].value.len);
        if (k) {
            char *kb = PyBytes_AS_STRING(k);
            for (size_t j = 0; j < h[i].name.len; j++) kb[j] = (char)fr__tolower((unsigned char)h[i].name.buf[j]);
        }
        PyObject *t = k && v ? PyTuple_Pack(2, k, v) : NULL;
        Py_XDECREF(k);
        Py_XDECREF(v);
        if (!t) Py_CLEAR(hdrs);
        else PyList_SET_ITEM(hdrs, (Py_ssize_t)i, t);
    }
    frpy_asgi_post((frpy_asgi *)ud, hdrs ? Py_BuildValue("(s(iN))", "start", status, hdrs) : NULL);
    PyGILState_Release(st);
}

static int frpy_asgi_body(void *ud, const char *data, size_t len, int more) {
    frpy_asgi *a = ud;
    if (g_exiting) return -1;
    PyGILState_STATE st = PyGILState_Ensure();
    /* The last body with nothing left to run after it is one "end" item:
     * two posts could be split by a GIL switch inside post(), and a client
     * that got the body could have its next request served before the
     * face's call returned (an outer middleware's post-send code, e.g.
     * Instrumentator's, then ran late and out of order). */
    int last = !more && a->refs == 1;
    int rc = frpy_asgi_post(a, Py_BuildValue("(s(y#O))", last ? "end" : "body", data ? data : "",
                                             (Py_ssize_t)len, more ? Py_True : Py_False));
    if (last) frpy_asgi_free(a);
    else if (!more || rc < 0) frpy_asgi_release(a); /* after -1 the engine calls no more */
    PyGILState_Release(st);
    return !more ? 0 : rc < 0 ? -1 : rc > 0 ? FR_STREAM_FULL : 0;
}

/* The consumer's side of a pause (fr_dispatch_flow): a callable posted as
 * ("wait", resume); the consumer calls resume(0) once it has sent what came
 * before, or resume(-1) when it is gone; dropped uncalled, it resumes as
 * gone (so the engine's reference is never kept). */
static const char frpy_resume_name[] = "fastrapi.sink_pause";

static void frpy_resume_drop(PyObject *cap) {
    fr_req *req = PyCapsule_GetPointer(cap, frpy_resume_name);
    if (req && !PyCapsule_GetContext(cap)) fr_sink_resume(req, 1);
    PyErr_Clear();
}

static PyObject *frpy_resume_fn(PyObject *cap, PyObject *value) {
    fr_req *req = PyCapsule_GetPointer(cap, frpy_resume_name);
    long v = PyLong_AsLong(value);
    if (!req || (v == -1 && PyErr_Occurred())) return NULL;
    if (PyCapsule_GetContext(cap)) Py_RETURN_NONE; /* answered already */
    PyCapsule_SetContext(cap, cap);
    Py_BEGIN_ALLOW_THREADS /* a file's next pieces are read here */
    fr_sink_resume(req, v < 0);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

static PyMethodDef frpy_resume_def = {"resume", frpy_resume_fn, METH_O, NULL};

static void frpy_asgi_paused(void *ud, fr_req *req) {
    if (g_exiting) return;
    PyGILState_STATE st = PyGILState_Ensure();
    PyObject *cap = PyCapsule_New(req, frpy_resume_name, frpy_resume_drop);
    PyObject *fn = cap ? PyCFunction_New(&frpy_resume_def, cap) : NULL;
    Py_XDECREF(cap);
    if (!fn) fr_sink_resume(req, 1); /* out of memory: as if the consumer left */
    else frpy_asgi_post((frpy_asgi *)ud, Py_BuildValue("(sN)", "wait", fn)); /* refused: dropped, gone */
    PyErr_Clear();
    PyGILState_Release(st);
}

/* A request of the ASGI face: unhandled exceptions go to its channel. */
static void frpy_asgi_adopt(rctx *c) {
    const fr_sink *sk = c->req ? fr_req_sink(c->req) : NULL;
    if (sk && sk->start == frpy_asgi_start) {
        c->asgi = Py_NewRef(((frpy_asgi *)sk->ud)->post);
        c->asgi_scope = Py_NewRef(((frpy_asgi *)sk->ud)->scope);
        if (!c->ctx && ((frpy_asgi *)sk->ud)->ctx) c->ctx = Py_NewRef(((frpy_asgi *)sk->ud)->ctx);
        c->asgi_ch = sk->ud;
        c->asgi_ch->refs++;
    }
}

/* headers: ASGI's [(name, value)] byte pairs -> fr_header views (kept alive
 * by the list during fr_dispatch, which copies them). */
static fr_header *frpy_asgi_headers(PyObject *list, size_t *n) {
    PyObject *seq = PySequence_Fast(list, "headers must be a sequence of (name, value) pairs");
    if (!seq) return NULL;
    Py_ssize_t cnt = PySequence_Fast_GET_SIZE(seq);
    fr_header *h = PyMem_Calloc((size_t)cnt + 1, sizeof *h);
    for (Py_ssize_t i = 0; h && i < cnt; i++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, i), *k, *v;
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 2 || !PyBytes_Check(k = PyTuple_GET_ITEM(t, 0)) ||
            !PyBytes_Check(v = PyTuple_GET_ITEM(t, 1))) {
            PyErr_SetString(PyExc_TypeError, "ASGI headers must be (bytes, bytes) pairs");
            PyMem_Free(h);
            h = NULL;
            break;
        }
        h[i].name = (fr_str){PyBytes_AS_STRING(k), (size_t)PyBytes_GET_SIZE(k)};
        h[i].value = (fr_str){PyBytes_AS_STRING(v), (size_t)PyBytes_GET_SIZE(v)};
    }
    if (!h && !PyErr_Occurred()) PyErr_NoMemory();
    *n = (size_t)cnt;
    Py_DECREF(seq); /* the pairs stay alive in `list` */
    return h;
}

/* A request whose body is still arriving (server.dispatch_begin): the
 * engine's request and its channel, which holds one reference for it. */
typedef struct frpy_pending {
    fr_req *req; /* NULL once ended */
    frpy_asgi *a;
} frpy_pending;

static const char frpy_pending_name[] = "fastrapi.pending_body";

/* fr_dispatch_end, and the channel's reference given back. Before the end
 * the channel has two references (its sink, this one) unless the engine
 * answered already (413 while feeding), which released the sink's. */
static void frpy_pending_end(frpy_pending *p, int complete) {
    fr_req *req = p->req;
    frpy_asgi *a = p->a; /* freed once a finished request's channel is done: not read after an end */
    if (!req) return;
    int answered = a->refs == 1;
    p->req = NULL;
    if (!complete || answered) {
        fr_dispatch_end(req, 0);
        if (!answered) a->refs--; /* the sink is never called: its reference too */
        frpy_asgi_release(a);     /* "done" */
        return;
    }
    a->refs--;
    Py_BEGIN_ALLOW_THREADS
    fr_dispatch_end(req, 1);
    Py_END_ALLOW_THREADS
}

static void frpy_pending_drop(PyObject *cap) { /* never ended: dropped */
    frpy_pending *p = PyCapsule_GetPointer(cap, frpy_pending_name);
    if (p) {
        frpy_pending_end(p, 0);
        PyMem_Free(p);
    }
    PyErr_Clear();
}

/* server.dispatch(...) -> None, and server.dispatch_begin(...) -> a pending
 * request (None when the engine answered the head already). */
static PyObject *frpy_dispatch(server *s, PyObject *args, int begin) {
    Py_buffer method, target, body;
    PyObject *headers, *client, *post, *scope, *out = NULL;
    const char *scheme = "http";
    if (!PyArg_ParseTuple(args, "y*y*Oy*OsOO!", &method, &target, &headers, &body, &client, &scheme,
                          &post, &PyDict_Type, &scope))
        return NULL;
    fr_request_desc d;
    memset(&d, 0, sizeof d);
    d.method = (fr_str){method.buf, (size_t)method.len};
    d.target = (fr_str){target.buf, (size_t)target.len};
    d.body = (fr_str){body.buf, (size_t)body.len};
    d.scheme = fr_str_c(scheme);
    const char *host = NULL;
    if (client != Py_None && !PyArg_ParseTuple(client, "si", &host, &d.client_port)) host = NULL;
    d.client_addr = fr_str_c(host ? host : "");
    PyErr_Clear();
    frpy_asgi *a = PyMem_Malloc(sizeof *a);
    frpy_pending *p = begin ? PyMem_Malloc(sizeof *p) : NULL;
    d.headers = a && (p || !begin) ? frpy_asgi_headers(headers, &d.nheaders) : NULL;
    fr_req *req = NULL;
    int rc = -1;
    if (a && d.headers && frpy_pool_start() == 0) {
        a->post = Py_NewRef(post);
        a->scope = Py_NewRef(scope);
        a->ctx = PyContext_CopyCurrent();
        if (!a->ctx) PyErr_Clear(); /* then the request gets a fresh context */
        a->refs = begin ? 2 : 1;
        fr_sink sink = {frpy_asgi_start, frpy_asgi_body, a};
        Py_BEGIN_ALLOW_THREADS
        rc = begin ? fr_dispatch_begin(s->app, &d, &sink, frpy_asgi_paused, &req)
                   : fr_dispatch_flow(s->app, &d, &sink, frpy_asgi_paused);
        Py_END_ALLOW_THREADS
        if (rc < 0) { Py_DECREF(a->post); Py_DECREF(a->scope); Py_XDECREF(a->ctx); }
    }
    PyMem_Free((void *)d.headers);
    PyBuffer_Release(&method);
    PyBuffer_Release(&target);
    PyBuffer_Release(&body);
    if (rc < 0) {
        PyMem_Free(a);
        PyMem_Free(p);
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "the engine refused the request");
        return NULL;
    }
    if (!begin) Py_RETURN_NONE;
    if (!req) { /* answered already: the sink has had its last call */
        PyMem_Free(p);
        frpy_asgi_release(a); /* "done" */
        Py_RETURN_NONE;
    }
    p->req = req;
    p->a = a;
    out = PyCapsule_New(p, frpy_pending_name, frpy_pending_drop);
    if (!out) { /* no memory for the capsule: dropped */
        frpy_pending_end(p, 0);
        PyMem_Free(p);
    }
    return out;
}

static PyObject *frpy_server_dispatch(server *s, PyObject *args) { return frpy_dispatch(s, args, 0); }
static PyObject *frpy_server_dispatch_begin(server *s, PyObject *args) { return frpy_dispatch(s, args, 1); }

/* server.feed(pending, bytes) -> fr_dispatch_feed's answer (1: answered 413) */
static PyObject *frpy_server_feed(server *s, PyObject *args) {
    PyObject *cap;
    Py_buffer data;
    (void)s;
    if (!PyArg_ParseTuple(args, "Oy*", &cap, &data)) return NULL;
    frpy_pending *p = PyCapsule_GetPointer(cap, frpy_pending_name);
    int rc = -1;
    if (p && p->req) {
        Py_BEGIN_ALLOW_THREADS /* a streamed form writes its files here */
        rc = fr_dispatch_feed(p->req, data.buf, (size_t)data.len);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&data);
    if (!p) return NULL;
    return PyLong_FromLong(rc);
}

/* server.dispatch_end(pending, complete) */
static PyObject *frpy_server_dispatch_end(server *s, PyObject *args) {
    PyObject *cap;
    int complete;
    (void)s;
    if (!PyArg_ParseTuple(args, "Op", &cap, &complete)) return NULL;
    frpy_pending *p = PyCapsule_GetPointer(cap, frpy_pending_name);
    if (!p) return NULL;
    frpy_pending_end(p, complete);
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* Server type                                                         */

static PyObject *frpy_server_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"app", "threads", "access_log", "no_signals", "reuse_port",
                             "debug", "max_body", "forwarded_allow_ips", "root_path",
                             "send_timeout_ms", "min_send_rate",
                             /* fastrapi run --timeout-* / --limit-concurrency (0 = default) */
                             "header_timeout_ms", "idle_timeout_ms", "body_timeout_ms",
                             "drain_timeout_ms", "max_connections",
                             /* FastAPI(request_timeout=): 504 for an overrunning handler */
                             "request_timeout_ms",
                             /* app.router.redirect_slashes: 0 = no 307 to the other slash form */
                             "redirect_slashes",
                             /* APIRoute.get_route_handler()'s handler: errors raised, not answered */
                             "raise_errors", NULL};
    PyObject *pyapp;
    int threads = 0, access_log = 1, no_signals = 0, reuse_port = 0, debug = 0;
    int send_timeout_ms = 0, min_send_rate = 0; /* 0 = the engine's defaults */
    int header_ms = 0, idle_ms = 0, body_ms = 0, drain_ms = 0, max_conns = 0, request_ms = 0;
    int redirect_slashes = 1, raise_errors = 0;
    long long max_body = 0;
    const char *fwd_ips = NULL, *root_path = NULL; /* copied by fr_app_new */
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|iiiiiLzziiiiiiiipp", kwlist, &pyapp, &threads,
                                     &access_log, &no_signals, &reuse_port, &debug, &max_body,
                                     &fwd_ips, &root_path, &send_timeout_ms, &min_send_rate,
                                     &header_ms, &idle_ms, &body_ms, &drain_ms, &max_conns,
                                     &request_ms, &redirect_slashes, &raise_errors))
        return NULL;
    if (!FRPY.ready) {
        PyErr_SetString(PyExc_RuntimeError, "fastrapi._fastrapi._setup() was not called");
        return NULL;
    }
    server *s = (server *)type->tp_alloc(type, 0);
    if (!s) return NULL;
    fr_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.threads = threads;
    cfg.no_signals = no_signals;
    cfg.reuse_port = reuse_port;
    cfg.no_head_from_get = 1; /* FastAPI answers HEAD on a GET route with 405 */
    cfg.server_name = "";
    cfg.unbounded_ints = 1; /* {id:int} matches any digit run, as Starlette (Python ints) */
    cfg.no_redirect_slashes = !redirect_slashes;
    /* FastAPI has no body limit: 0 lifts the engine's (C users keep FR_MAX_BODY_BYTES) */
    cfg.max_body_bytes = max_body > 0 ? (uint64_t)max_body : UINT64_MAX;
    cfg.forwarded_allow_ips = fwd_ips;
    cfg.root_path = root_path;
    cfg.send_timeout_ms = send_timeout_ms;
    cfg.min_send_rate = min_send_rate;
    cfg.header_timeout_ms = header_ms;
    cfg.idle_timeout_ms = idle_ms;
    cfg.body_timeout_ms = body_ms;
    cfg.drain_timeout_ms = drain_ms;
    cfg.max_connections = max_conns;
    cfg.request_timeout_ms = request_ms;
    cfg.websocket_routes_only = 1; /* Starlette routes a websocket scope to websocket routes only */
    if (access_log) cfg.access_log = frpy_access_cb;
    cfg.error_log = frpy_error_cb;
    s->app = fr_app_new(&cfg);
    if (!s->app) { Py_DECREF(s); return PyErr_NoMemory(); }
    s->pyapp = Py_NewRef(pyapp);
    s->handlers = PyDict_New();
    s->routes = PyList_New(0);
    s->debug = debug;
    s->raise_errors = raise_errors;
    if (!s->handlers || !s->routes) { Py_DECREF(s); return NULL; }
    if (access_log && !log_started) {
        pthread_t t;
        if (pthread_create(&t, NULL, frpy_log_main, NULL) == 0) {
            pthread_detach(t);
            log_started = 1;
        }
    }
    return (PyObject *)s;
}

static void frpy_server_dealloc(server *s) {
    if (s->app) {
        Py_BEGIN_ALLOW_THREADS
        fr_app_free(s->app);
        Py_END_ALLOW_THREADS
    }
    for (size_t i = 0; i < s->nrts; i++) {
        proute *rt = s->rts[i];
        pplan *p = rt->plan;
        while (p) { pplan *o = p->old; frpy_plan_free(p); p = o; }
        Py_XDECREF(rt->route_obj);
        Py_XDECREF(rt->form_limits);
        free(rt->method);
        free(rt->path);
        free(rt);
    }
    free(s->rts);
    Py_XDECREF(s->pyapp);
    Py_XDECREF(s->handlers);
    Py_XDECREF(s->bridge);
    Py_XDECREF(s->debug_sink);
    Py_XDECREF(s->exc_sink);
    Py_XDECREF(s->routes);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

/* keep rt (freed with the server); -1 with a Python error */
static int frpy_server_keep_route(server *s, proute *rt) {
    if (s->nrts == s->caprts) {
        size_t nc = s->caprts ? s->caprts * 2 : 16;
        proute **n = realloc(s->rts, nc * sizeof *n);
        if (!n) { PyErr_NoMemory(); return -1; }
        s->rts = n;
        s->caprts = nc;
    }
    s->rts[s->nrts++] = rt;
    return 0;
}

/* add_mount(pattern, route): method "*" on pattern ("/prefix/{path:path}")
 * answered by the bridge with scope["route"] = route (Starlette's Mount). */
static PyObject *frpy_server_add_mount(server *s, PyObject *args) {
    const char *path;
    PyObject *route_obj;
    unsigned long long spool = 0;
    if (!PyArg_ParseTuple(args, "sO|K", &path, &route_obj, &spool)) return NULL;
    proute *rt = calloc(1, sizeof *rt);
    pplan *p = calloc(1, sizeof *p);
    char *m = strdup("*"), *pc = strdup(path);
    if (!rt || !p || !m || !pc) {
        free(rt); free(p); free(m); free(pc);
        return PyErr_NoMemory();
    }
    rt->srv = s;
    rt->plan = p;
    rt->version = s->version;
    rt->route_obj = Py_NewRef(route_obj);
    rt->method = m;
    rt->path = pc;
    p->route = route_obj; /* borrowed: rt->route_obj holds it */
    if (frpy_server_keep_route(s, rt) < 0) {
        Py_DECREF(rt->route_obj); free(m); free(pc); free(p); free(rt);
        return NULL;
    }
    fr_route_opts o;
    memset(&o, 0, sizeof o);
    o.body_spool = spool;
    if (fr_route_ex(s->app, "*", path, frpy_mount_handler, rt, &o) < 0) {
        PyErr_Format(PyExc_ValueError, "cannot mount %s: %s", path,
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* add_static(prefix, directory, html, follow_symlink): a StaticFiles mount
 * served by the engine (src/static.c), no Python per request. */
static PyObject *frpy_server_add_static(server *s, PyObject *args) {
    const char *prefix, *dir;
    int html = 0, follow = 0;
    if (!PyArg_ParseTuple(args, "ss|pp", &prefix, &dir, &html, &follow)) return NULL;
    fr_static_opts o = {html, 0, follow};
    if (fr_app_static(s->app, prefix, dir, &o) < 0) {
        PyErr_Format(PyExc_ValueError, "cannot mount static files on %s: %s", prefix,
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* A route's handler context (its plan and route object), kept by the server. */
static proute *frpy_route_new(server *s, const char *method, const char *path, PyObject *plan_t,
                              PyObject *route_obj, PyObject *form_limits) {
    pplan *p = frpy_plan_parse(plan_t);
    if (!p) return NULL;
    proute *rt = calloc(1, sizeof *rt);
    if (!rt) { frpy_plan_free(p); PyErr_NoMemory(); return NULL; }
    rt->srv = s;
    rt->plan = p;
    rt->version = s->version;
    rt->route_obj = Py_NewRef(route_obj);
    rt->form_limits = form_limits == Py_None ? NULL : Py_NewRef(form_limits);
    rt->method = strdup(method);
    rt->path = strdup(path);
    if (frpy_server_keep_route(s, rt) < 0) {
        Py_XDECREF(rt->form_limits);
        frpy_plan_free(p); Py_DECREF(rt->route_obj); free(rt->method); free(rt->path); free(rt);
        return NULL;
    }
    return rt;
}

/* add_frontend(path, directory, fallback, custom404, plan, route): app.frontend as
 * low-priority engine routes; fallback: 0 auto, 1 index.html, 2 404.html,
 * 3 None; custom404: its 404s go to the app's exception handlers */
static int frpy_fallback_handler(fr_req *req, void *ud); /* below */
static int frpy_frontend_405(fr_req *req, void *ud);
static PyObject *frpy_server_add_frontend(server *s, PyObject *args) {
    const char *path, *dir;
    int fallback = 0, custom = 0;
    PyObject *plan_t = Py_None, *route_obj = Py_None;
    if (!PyArg_ParseTuple(args, "ss|ipOO", &path, &dir, &fallback, &custom, &plan_t, &route_obj)) return NULL;
    /* custom: the app has a 404 / HTTPException handler; its 404s go there */
    fr_frontend_opts o = {fallback, 0, custom ? frpy_fallback_handler : NULL, custom ? s : NULL, NULL, NULL,
                          custom ? frpy_frontend_405 : NULL, custom ? s : NULL};
    if (plan_t != Py_None) { /* its dependencies' route: the guard (fr_frontend_serve) */
        proute *rt = frpy_route_new(s, "GET", path, plan_t, route_obj, Py_None);
        if (!rt) return NULL;
        o.guard = frpy_route_handler;
        o.guard_ud = rt;
    }
    if (fr_app_frontend(s->app, path, dir, &o) < 0) {
        PyErr_Format(PyExc_ValueError, "cannot serve a frontend on %s", path);
        return NULL;
    }
    Py_RETURN_NONE;
}

/* add_static_types(((ext, type), ...)): mimetypes.types_map for the static files */
static PyObject *frpy_server_add_static_types(server *s, PyObject *items) {
    PyObject *seq = PySequence_Fast(items, "add_static_types: a sequence of (ext, type)");
    if (!seq) return NULL;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        const char *ext, *type;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "ss", &ext, &type)) {
            Py_DECREF(seq);
            return NULL;
        }
        if (fr_app_static_type(s->app, ext, type) < 0) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_ValueError, "bad content type for %s", ext);
            return NULL;
        }
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
}

/* route_for(method, path) -> (status, route): the router's decision for a
 * percent-decoded path (enum fr_match_status) and, for FOUND, the route
 * object it serves it with (APIRoute, Route or Mount), else None. */
static PyObject *frpy_native_route_obj(server *s, const char *method, fr_str pattern,
                                       fr_handler h, void *ud); /* native routes, below */
static PyObject *frpy_server_route_for(server *s, PyObject *args) {
    const char *method, *path;
    Py_ssize_t mlen, plen;
    fr_match m;
    void *ud = NULL;
    fr_handler h = NULL;
    if (!PyArg_ParseTuple(args, "s#s#", &method, &mlen, &path, &plen)) return NULL;
    int st = fr_app_match(s->app, (fr_str){method, (size_t)mlen}, (fr_str){path, (size_t)plen}, &m,
                          &h, &ud);
    PyObject *route = (h == frpy_mount_handler || h == frpy_route_handler) && ud
                          ? ((proute *)ud)->route_obj
                      : st == FR_MATCH_FOUND ? frpy_native_route_obj(s, method, m.pattern, h, ud)
                                             : Py_None;
    return Py_BuildValue("(iO)", st, route);
}

static PyObject *frpy_server_add_route(server *s, PyObject *args) {
    const char *method, *path;
    PyObject *plan_t, *route_obj;
    long long max_body = -1; /* FastAPI's max_body_size; -1 = None (issue 11) */
    PyObject *form_limits = Py_None; /* (max_files, max_fields, max_part_size) or None */
    int body_unread = 0;             /* nothing in the route can read the body */
    int mp_stream = 0;               /* multipart bodies stream to an fr_form (issue 14) */
    unsigned long long spool = 0;    /* a body over this goes to a temp file (0: never) */
    int drop = 0;                    /* nothing (no middleware either) reads the body */
    unsigned int group = 0;          /* the route's methods, for 405 allow (fr_route_opts.allow_group) */
    if (!PyArg_ParseTuple(args, "ssOO|LOppKpI", &method, &path, &plan_t, &route_obj, &max_body,
                          &form_limits, &body_unread, &mp_stream, &spool, &drop, &group))
        return NULL;
    if (form_limits != Py_None && (!PyTuple_Check(form_limits) || PyTuple_GET_SIZE(form_limits) != 3)) {
        PyErr_SetString(PyExc_TypeError, "form_limits: (max_files, max_fields, max_part_size) or None");
        return NULL;
    }
    fr_route_opts ropts;
    memset(&ropts, 0, sizeof ropts);
    ropts.limit_body = max_body >= 0;
    ropts.max_body = max_body >= 0 ? (uint64_t)max_body : 0;
    ropts.body_unread = body_unread;
    ropts.multipart_stream = mp_stream;
    ropts.body_spool = spool;
    ropts.body_drop = drop;
    ropts.allow_group = group;
    if (mp_stream && form_limits != Py_None) { /* (max_files, max_fields, max_part_size) */
        ropts.multipart_max_files = frpy_mp_limit(PyLong_AsSsize_t(PyTuple_GET_ITEM(form_limits, 0)));
        ropts.multipart_max_fields = frpy_mp_limit(PyLong_AsSsize_t(PyTuple_GET_ITEM(form_limits, 1)));
        ropts.multipart_max_part_size = frpy_mp_limit(PyLong_AsSsize_t(PyTuple_GET_ITEM(form_limits, 2)));
        if (PyErr_Occurred()) return NULL;
    }
    proute *rt = frpy_route_new(s, method, path, plan_t, route_obj, form_limits);
    if (!rt) return NULL;
    if (fr_route_ex(s->app, method, path, frpy_route_handler, rt, &ropts) < 0) {
        PyErr_Format(PyExc_ValueError, "cannot register %s %s: %s", method, path,
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* set_unmatched_limit(max_body): FastAPI's app-level max_body_size for
 * requests no route matched (-1 = none) (issue 11) */
static PyObject *frpy_server_set_unmatched_limit(server *s, PyObject *arg) {
    long long max_body = PyLong_AsLongLong(arg);
    if (max_body == -1 && PyErr_Occurred()) return NULL;
    fr_route_opts o;
    memset(&o, 0, sizeof o);
    o.limit_body = max_body >= 0;
    o.max_body = max_body >= 0 ? (uint64_t)max_body : 0;
    fr_app_set_unmatched_opts(s->app, &o);
    Py_RETURN_NONE;
}

/* engine loop thread, no GIL: unmatched request while custom 404/405 or
 * HTTPException handlers exist -> answered by Python on the loop thread */
static int frpy_fallback_push(fr_req *req, server *s, int frontend_405) {
    if (fr_req_is_websocket(req)) return fr_res_default(req); /* no websocket route: 403 */
    if (fr_req_match_status(req) == FR_MATCH_REDIRECT) return fr_res_default(req);
    rctx *c = calloc(1, sizeof *c);
    if (!c) return fr_res_default(req);
    c->req = req;
    c->rt = &s->fallback_rt;
    c->plan = &s->fallback_plan;
    c->job = JOB_FALLBACK;
    c->fallback_405 = frontend_405;
    frpy_aio_push(c);
    return FR_PENDING;
}

static int frpy_fallback_handler(fr_req *req, void *ud) { return frpy_fallback_push(req, ud, 0); }
/* a frontend's 405 (fr_frontend_opts.not_allowed) */
static int frpy_frontend_405(fr_req *req, void *ud) { return frpy_fallback_push(req, ud, 1); }

static PyObject *frpy_server_set_handlers(server *s, PyObject *h) {
    if (!PyDict_Check(h)) { PyErr_SetString(PyExc_TypeError, "dict expected"); return NULL; }
    Py_SETREF(s->handlers, Py_NewRef(h));
    int custom = 0;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(h, &pos, &k, &v)) {
        if (v == Py_None) continue;
        if (PyLong_Check(k)) {
            long code = PyLong_AsLong(k);
            if (code == 404 || code == 405) custom = 1;
        } else if (PyType_Check(k) && PyObject_IsSubclass(FRPY.HTTPException, k) == 1) {
            custom = 1; /* a handler for HTTPException or one of its bases */
        }
        PyErr_Clear();
    }
    s->fallback_rt.srv = s;
    s->fallback_rt.route_obj = Py_None;
    s->fallback_rt.method = "";
    s->fallback_rt.path = "";
    s->fallback_rt.plan = &s->fallback_plan;
    s->fallback_plan.route = Py_None;
    s->fallback_plan.nnodes = 0;
    /* without custom handlers: the engine's answers, 403 for websocket upgrades */
    fr_app_set_fallback(s->app, custom ? frpy_fallback_handler : NULL, s);
    Py_RETURN_NONE;
}

static PyObject *frpy_server_set_debug_sink(server *s, PyObject *sink) {
    if (sink != Py_None && !PyList_Check(sink)) {
        PyErr_SetString(PyExc_TypeError, "a list or None");
        return NULL;
    }
    Py_XSETREF(s->debug_sink, sink == Py_None ? NULL : Py_NewRef(sink));
    Py_RETURN_NONE;
}

static PyObject *frpy_server_set_exc_sink(server *s, PyObject *sink) {
    Py_XSETREF(s->exc_sink, sink == Py_None ? NULL : Py_NewRef(sink));
    Py_RETURN_NONE;
}

static PyObject *frpy_server_live(server *s, PyObject *unused) {
    (void)unused;
    return PyLong_FromLong((long)fr__atomic_load(&s->live));
}

static PyObject *frpy_server_bump(server *s, PyObject *unused) {
    (void)unused;
    s->version++;
    Py_RETURN_NONE;
}

/* -1 with an OSError when certificate files were given to an extension
 * built without OpenSSL. */
static int frpy_tls_check(const fr_tls_opts *o) {
    if ((o->cert_file || o->key_file) && !fr_tls_available()) {
        PyErr_SetString(PyExc_OSError, "HTTPS needs fastrapi built with OpenSSL 3: install its "
                                       "headers (Debian: libssl-dev), then reinstall fastrapi");
        return -1;
    }
    return 0;
}

/* listen(host, port[, certfile, keyfile, password, ca_certs, cert_reqs,
 * ciphers, min_version, max_version]): with a certificate, an HTTPS
 * listener (fr_listen_tls_ex). */
static PyObject *frpy_server_listen(server *s, PyObject *args) {
    const char *host;
    int port;
    fr_tls_opts o;
    memset(&o, 0, sizeof o);
    if (!PyArg_ParseTuple(args, "si|zzzzizii", &host, &port, &o.cert_file, &o.key_file, &o.key_password,
                          &o.ca_certs, &o.cert_reqs, &o.ciphers, &o.min_version, &o.max_version) ||
        frpy_tls_check(&o) < 0)
        return NULL;
    int r = o.cert_file || o.key_file ? fr_listen_tls_ex(s->app, host, port, &o) : fr_listen(s->app, host, port);
    if (r < 0) {
        PyErr_Format(PyExc_OSError, "cannot listen on %s:%d: %s", host, port,
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : strerror(errno));
        return NULL;
    }
    return PyLong_FromLong(r);
}

/* listen_fd(fd[, the TLS settings of listen]): serve on an inherited
 * listening socket; the engine closes its own dup of it (the caller's fd
 * stays the caller's). */
static PyObject *frpy_server_listen_fd(server *s, PyObject *args) {
    long v;
    fr_tls_opts o;
    memset(&o, 0, sizeof o);
    if (!PyArg_ParseTuple(args, "l|zzzzizii", &v, &o.cert_file, &o.key_file, &o.key_password, &o.ca_certs,
                          &o.cert_reqs, &o.ciphers, &o.min_version, &o.max_version) ||
        frpy_tls_check(&o) < 0)
        return NULL;
    if (v < 0 || v > INT_MAX) return PyErr_Format(PyExc_ValueError, "bad file descriptor %ld", v);
    int fd = dup((int)v);
    if (fd < 0) return PyErr_SetFromErrno(PyExc_OSError);
    int r = o.cert_file || o.key_file ? fr_listen_fd_tls_ex(s->app, fd, &o) : fr_listen_fd(s->app, fd);
    if (r < 0) {
        close(fd);
        return PyErr_Format(PyExc_OSError, "cannot serve on fd: %s", fr_app_last_error(s->app));
    }
    return PyLong_FromLong(r);
}

/* SIGHUP while serving (serve(reload_on_hup=True), main thread): reload the
 * TLS certificates. fr_tls_reload is not async-signal-safe, so the handler
 * only writes to a pipe; a thread reads it, reloads and logs. */
static int frpy_hup_pipe[2] = {-1, -1};

static void frpy_hup_handler(int sig) {
    int e = errno;
    (void)sig;
    if (write(frpy_hup_pipe[1], "h", 1) < 0) { /* full: a reload is pending anyway */ }
    errno = e;
}

static void frpy_hup_log(const char *level, const char *msg) {
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *logging = PyImport_ImportModule("logging");
    PyObject *lg = logging ? PyObject_CallMethod(logging, "getLogger", "s", "fastrapi") : NULL;
    PyObject *r = lg ? PyObject_CallMethod(lg, level, "s", msg) : NULL;
    if (!r) PyErr_Clear();
    Py_XDECREF(r);
    Py_XDECREF(lg);
    Py_XDECREF(logging);
    PyGILState_Release(g);
}

static void *frpy_hup_thread(void *arg) {
    fr_app *app = arg;
    char b;
    for (;;) {
        ssize_t n = read(frpy_hup_pipe[0], &b, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || b == 'q') break;
        if (fr_tls_reload(app) < 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "SIGHUP: TLS certificate reload failed (the old one stays): %s",
                     fr_app_last_error(app) ? fr_app_last_error(app) : "error");
            frpy_hup_log("error", msg);
        } else {
            frpy_hup_log("info", "SIGHUP: TLS certificates reloaded");
        }
    }
    return NULL;
}

/* serve(reload_on_hup=False) */
static PyObject *frpy_server_serve(server *s, PyObject *args) {
    int hup = 0, thr_on = 0, sig_on = 0;
    pthread_t hup_thr;
    struct sigaction hup_old;
    if (!PyArg_ParseTuple(args, "|p", &hup)) return NULL;
    if (frpy_pool_start() < 0) return PyErr_Format(PyExc_RuntimeError, "cannot start worker threads");
    if (hup && frpy_hup_pipe[0] < 0 && pipe(frpy_hup_pipe) == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = frpy_hup_handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        fcntl(frpy_hup_pipe[1], F_SETFL, O_NONBLOCK);
        thr_on = pthread_create(&hup_thr, NULL, frpy_hup_thread, s->app) == 0;
        sig_on = thr_on && sigaction(SIGHUP, &sa, &hup_old) == 0;
        if (!thr_on) {
            close(frpy_hup_pipe[0]);
            close(frpy_hup_pipe[1]);
            frpy_hup_pipe[0] = frpy_hup_pipe[1] = -1;
        }
    }
    int r;
    s->serving = 1;
    Py_BEGIN_ALLOW_THREADS
    r = fr_serve(s->app);
    if (sig_on) sigaction(SIGHUP, &hup_old, NULL);
    if (thr_on) {
        if (write(frpy_hup_pipe[1], "q", 1) < 0) { /* non-blocking and full: cannot be */ }
        pthread_join(hup_thr, NULL);
        close(frpy_hup_pipe[0]);
        close(frpy_hup_pipe[1]);
        frpy_hup_pipe[0] = frpy_hup_pipe[1] = -1;
    }
    Py_END_ALLOW_THREADS
    s->serving = 0;
    if (r < 0) {
        PyErr_Format(PyExc_RuntimeError, "serve failed: %s",
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *frpy_server_tls_reload(server *s, PyObject *unused) {
    (void)unused;
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = fr_tls_reload(s->app);
    Py_END_ALLOW_THREADS
    if (r < 0)
        return PyErr_Format(PyExc_OSError, "TLS reload failed: %s",
                            fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
    Py_RETURN_NONE;
}

static PyObject *frpy_server_stop(server *s, PyObject *unused) {
    (void)unused;
    fr_stop(s->app);
    Py_RETURN_NONE;
}

/* ---- Starlette's built-in middlewares in C (fastrapi/_native_mw.py
 * decides which; the options come as Starlette's, text as latin-1 bytes) */

/* A list of bytes as fr_str views (valid while the list lives); None ->
 * *out NULL. Caller frees *out with PyMem_Free. */
static int frpy_mw_strs(PyObject *list, fr_str **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (list == Py_None) return 0;
    if (!PyList_Check(list)) { PyErr_SetString(PyExc_TypeError, "a list of bytes"); return -1; }
    Py_ssize_t k = PyList_GET_SIZE(list);
    *out = PyMem_Malloc((size_t)(k ? k : 1) * sizeof **out);
    if (!*out) { PyErr_NoMemory(); return -1; }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *b = PyList_GET_ITEM(list, i);
        if (!PyBytes_Check(b)) {
            PyMem_Free(*out);
            *out = NULL;
            PyErr_SetString(PyExc_TypeError, "a list of bytes");
            return -1;
        }
        (*out)[i].buf = PyBytes_AS_STRING(b);
        (*out)[i].len = (size_t)PyBytes_GET_SIZE(b);
    }
    *n = (size_t)k;
    return 0;
}

static PyObject *frpy_mw_refused(const char *what, const fr_err *err) {
    PyErr_Format(PyExc_ValueError, "%s: %s", what, err->msg ? err->msg : "refused");
    return NULL;
}

/* use_cors(origins, methods, headers, credentials, regex, private_network, expose, max_age) */
static PyObject *frpy_server_use_cors(server *s, PyObject *args) {
    PyObject *origins, *methods, *headers, *regex, *expose, *max_age;
    int cred, pn;
    fr_str *o = NULL, *m = NULL, *h = NULL, *e = NULL;
    size_t no, nm, nh, ne;
    fr_cors_config cfg;
    fr_err err = {0, NULL, 0};
    int rc = -1;
    if (!PyArg_ParseTuple(args, "OOOpOpOS", &origins, &methods, &headers, &cred, &regex, &pn,
                          &expose, &max_age))
        return NULL;
    if (regex != Py_None && !PyBytes_Check(regex)) return PyErr_Format(PyExc_TypeError, "regex: bytes");
    memset(&cfg, 0, sizeof cfg);
    if (frpy_mw_strs(origins, &o, &no) == 0 && frpy_mw_strs(methods, &m, &nm) == 0 &&
        frpy_mw_strs(headers, &h, &nh) == 0 && frpy_mw_strs(expose, &e, &ne) == 0) {
        cfg.allow_origins = o;
        cfg.num_allow_origins = no;
        cfg.allow_methods = m;
        cfg.num_allow_methods = nm;
        cfg.allow_headers = h;
        cfg.num_allow_headers = nh;
        cfg.expose_headers = e;
        cfg.num_expose_headers = ne;
        cfg.allow_credentials = cred;
        cfg.allow_private_network = pn;
        if (regex != Py_None) {
            cfg.allow_origin_regex.buf = PyBytes_AS_STRING(regex);
            cfg.allow_origin_regex.len = (size_t)PyBytes_GET_SIZE(regex);
        }
        cfg.max_age.buf = PyBytes_AS_STRING(max_age);
        cfg.max_age.len = (size_t)PyBytes_GET_SIZE(max_age);
        rc = fr_app_use_cors(s->app, &cfg, &err);
        if (rc < 0) frpy_mw_refused("CORSMiddleware", &err);
    }
    PyMem_Free(o);
    PyMem_Free(m);
    PyMem_Free(h);
    PyMem_Free(e);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

/* use_gzip(minimum_size, compresslevel, exclude_content_types | None) */
static PyObject *frpy_server_use_gzip(server *s, PyObject *args) {
    long long minimum;
    int level;
    PyObject *exclude;
    fr_str *ex = NULL;
    size_t nex = 0;
    fr_gzip_config cfg;
    fr_err err = {0, NULL, 0};
    if (!PyArg_ParseTuple(args, "LiO", &minimum, &level, &exclude)) return NULL;
    if (frpy_mw_strs(exclude, &ex, &nex) < 0) return NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.minimum_size = minimum > 0 ? (int64_t)minimum : -1; /* 0 / negative: every body */
    cfg.compresslevel = level == 0 ? FR_GZIP_LEVEL_0 : level;
    if (level < -1 || level > 9) cfg.compresslevel = 100; /* refused below, as zlib would */
    cfg.exclude_content_types = ex; /* NULL (None): Starlette's default list */
    cfg.num_exclude_content_types = nex;
    int rc = fr_app_use_gzip(s->app, &cfg, &err);
    PyMem_Free(ex);
    if (rc < 0) return frpy_mw_refused("GZipMiddleware", &err);
    Py_RETURN_NONE;
}

/* use_trusted_host(allowed_hosts | None, www_redirect) */
static PyObject *frpy_server_use_trusted_host(server *s, PyObject *args) {
    PyObject *hosts;
    int www;
    fr_str *hs = NULL;
    size_t nh = 0;
    fr_trusted_host_config cfg;
    fr_err err = {0, NULL, 0};
    if (!PyArg_ParseTuple(args, "Op", &hosts, &www)) return NULL;
    if (frpy_mw_strs(hosts, &hs, &nh) < 0) return NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.allowed_hosts = hosts == Py_None ? NULL : hs;
    cfg.num_allowed_hosts = nh;
    cfg.no_www_redirect = !www;
    int rc = fr_app_use_trusted_host(s->app, &cfg, &err);
    PyMem_Free(hs);
    if (rc < 0) return frpy_mw_refused("TrustedHostMiddleware", &err);
    Py_RETURN_NONE;
}

static PyObject *frpy_server_use_https_redirect(server *s, PyObject *unused) {
    (void)unused;
    if (fr_app_use_https_redirect(s->app) < 0)
        return PyErr_Format(PyExc_RuntimeError, "HTTPSRedirectMiddleware: cannot add it");
    Py_RETURN_NONE;
}

/* use_session(secret, cookie, max_age | None, path, same_site, https_only, domain | None,
 *             partitioned, Session, json.loads, json.dumps): text as bytes (secret
 * UTF-8, the rest latin-1), max_age an int as Starlette's */
static PyObject *frpy_server_use_session(server *s, PyObject *args) {
    Py_buffer secret, cookie, path, same_site;
    PyObject *max_age, *domain, *cls, *loads, *dumps;
    int https_only, partitioned;
    fr_session_config cfg;
    fr_err err = {0, NULL, 0};
    if (!PyArg_ParseTuple(args, "y*y*Oy*y*pOpOOO", &secret, &cookie, &max_age, &path, &same_site,
                          &https_only, &domain, &partitioned, &cls, &loads, &dumps))
        return NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.secret_key.buf = secret.buf, cfg.secret_key.len = (size_t)secret.len;
    cfg.session_cookie.buf = cookie.buf, cfg.session_cookie.len = (size_t)cookie.len;
    cfg.path.buf = path.buf, cfg.path.len = (size_t)path.len;
    cfg.same_site.buf = same_site.buf, cfg.same_site.len = (size_t)same_site.len;
    cfg.https_only = https_only;
    cfg.partitioned = partitioned;
    if (max_age == Py_None) {
        cfg.max_age = FR_SESSION_NO_MAX_AGE;
    } else {
        long long v = PyLong_AsLongLong(max_age);
        cfg.max_age = v == 0 ? FR_SESSION_MAX_AGE_ZERO : (int64_t)v;
        if (v == -1 && PyErr_Occurred()) cfg.max_age = 0;
    }
    if (domain != Py_None && PyBytes_Check(domain)) {
        cfg.domain.buf = PyBytes_AS_STRING(domain);
        cfg.domain.len = (size_t)PyBytes_GET_SIZE(domain);
    } else if (domain != Py_None && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "domain: bytes or None");
    }
    int rc = -1;
    if (!PyErr_Occurred()) {
        rc = fr_app_use_session(s->app, &cfg, &err);
        if (rc < 0) frpy_mw_refused("SessionMiddleware", &err);
    }
    PyBuffer_Release(&secret);
    PyBuffer_Release(&cookie);
    PyBuffer_Release(&path);
    PyBuffer_Release(&same_site);
    if (rc < 0) return NULL;
    Py_XSETREF(FRPY_SESSION_CLS, Py_NewRef(cls));
    Py_XSETREF(FRPY_JSON_LOADS, Py_NewRef(loads));
    Py_XSETREF(FRPY_JSON_DUMPS, Py_NewRef(dumps));
    Py_RETURN_NONE;
}

/* use_request_id(header: bytes, propagate: bool): FastrAPI's request_id_header */
static PyObject *frpy_server_use_request_id(server *s, PyObject *args) {
    Py_buffer name;
    int propagate;
    fr_request_id_config cfg;
    fr_err err = {0, NULL, 0};
    if (!PyArg_ParseTuple(args, "y*p", &name, &propagate)) return NULL;
    memset(&cfg, 0, sizeof cfg);
    cfg.header.buf = name.buf, cfg.header.len = (size_t)name.len;
    cfg.no_propagate = !propagate;
    int rc = fr_app_use_request_id(s->app, &cfg, &err);
    PyBuffer_Release(&name);
    if (rc < 0) return frpy_mw_refused("request_id_header", &err);
    Py_RETURN_NONE;
}

/* use_response_header(name: bytes, value: bytes): a fixed header on every answer */
static PyObject *frpy_server_use_response_header(server *s, PyObject *args) {
    Py_buffer name, value;
    fr_err err = {0, NULL, 0};
    if (!PyArg_ParseTuple(args, "y*y*", &name, &value)) return NULL;
    fr_str n = {name.buf, (size_t)name.len}, v = {value.buf, (size_t)value.len};
    int rc = fr_app_use_response_header(s->app, n, v, &err);
    PyBuffer_Release(&name);
    PyBuffer_Release(&value);
    if (rc < 0) return frpy_mw_refused("response header", &err);
    Py_RETURN_NONE;
}

/* cors_regex_ok(pattern: bytes) -> bool: fr_cors_new takes this
 * allow_origin_regex (else the app keeps Starlette's class) */
static PyObject *py_cors_regex_ok(PyObject *self, PyObject *pattern) {
    (void)self;
    if (!PyBytes_Check(pattern)) return PyErr_Format(PyExc_TypeError, "bytes expected");
    fr_cors_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.allow_origin_regex.buf = PyBytes_AS_STRING(pattern);
    cfg.allow_origin_regex.len = (size_t)PyBytes_GET_SIZE(pattern);
    fr_cors *c = fr_cors_new(&cfg, NULL);
    fr_cors_free(c);
    return PyBool_FromLong(c != NULL);
}

static PyObject *frpy_server_middleware_count(server *s, PyObject *unused) {
    (void)unused;
    return PyLong_FromSize_t(fr_app_num_middleware(s->app));
}

/* ---- @app.middleware("http"): an around layer of the engine's chain ----
 * (middleware.h: AROUND LAYERS). Per request, on the loop thread without
 * the GIL, `before` makes an rctx for the layer (JOB_MW) and hands it to the
 * asyncio thread, which builds the Request (Starlette's scope without the
 * routing keys, as BaseHTTPMiddleware sees it) and runs
 * fastrapi._native_mw.run_http(dispatch, request, capsule) as a Task.
 * call_next is _fastrapi.mw_next(capsule): fr_mw_next runs the inner chain
 * and handler; the engine captures their response and `capture` (any
 * thread, no GIL) posts JOB_MWCAP, which resolves call_next's future with
 * (status, raw headers) -- or raises the app's exception, stashed by
 * frpy_handle_exception (frpy_mw_stash) when it went to the server-error
 * layer. The body stays in the engine (_fastrapi.mw_body reads it when the
 * body_iterator is iterated). A stream is captured at its head (the layer's
 * capture_stream; middleware.h STREAMED CAPTURE: mr->live): its pieces are
 * held by the engine, body_iterator reads them with _fastrapi.mw_take (the
 * `wake` hook posts when it waits), and the layer's own stream is written
 * with fr_mw_stream_write/_end (frpy_res_stream_write) to tell it from the
 * handler's. The task's result goes OUTWARD: run_http returns (status,
 * raw_headers) when dispatch gave back call_next's response with its body
 * untouched (the captured body is sent as it is; a live stream is passed on
 * with fr_mw_pass and flows as the handler makes it), else the Response to
 * send (a live stream under it is cancelled by the engine). */

typedef struct frpy_mwx { /* one per decorator */
    PyObject *dispatch, *run;
    proute rt;
    pplan plan;
} frpy_mwx;

typedef struct frpy_mwreq {
    fr_job link; /* first: JOB_MWCAP on the mailbox */
    int job;
    rctx *c;     /* the layer's rctx; NULL once it is freed */
    frpy_mwx *mx;
    fr__atomic_int refs; /* the engine (end), the rctx, the capsule */
    /* with the GIL */
    PyObject *fut;      /* call_next's future while the inner response is made */
    PyObject *exc;      /* the app's exception, for call_next to raise */
    PyObject *deferred; /* dispatch's result (or exception) while call_next is in flight */
    int deferred_exc;
    int inflight;
    PyObject *take_fut; /* body_iterator of a live stream waits for its next piece */
    int woke;           /* the post is `wake`'s (fr_mw_take has something) */
    /* written by `capture` (before the post), read on the asyncio thread */
    int status, bypass, gone, stream, live; /* live: a streamed capture (the body follows) */
    const fr_header *h;
    size_t nh;
    fr_str body;
} frpy_mwreq;

static PyObject *FRPY_MW_STATE; /* "state" */

static void frpy_mwreq_unref(frpy_mwreq *mr) {
    if (fr__atomic_fetch_add(&mr->refs, -1) == 1) free(mr);
}

static void frpy_mw_cap_free(PyObject *cap) {
    frpy_mwreq *mr = PyCapsule_GetPointer(cap, "fastrapi.mw");
    if (mr) frpy_mwreq_unref(mr);
}

/* loop thread, no GIL */
static int frpy_mw_before(fr_req *req, void *state, void *ud) {
    frpy_mwx *mx = ud;
    fr_str up = fr_req_header(req, "upgrade");
    rctx *c;
    frpy_mwreq *mr;
    for (size_t i = 0; up.buf && i + 9 <= up.len; i++) /* BaseHTTPMiddleware: http scopes only */
        if (!strncasecmp(up.buf + i, "websocket", 9)) return FR_MW_NEXT;
    c = calloc(1, sizeof *c);
    mr = calloc(1, sizeof *mr);
    if (!c || !mr) {
        free(c);
        free(mr);
        return FR_MW_ERROR;
    }
    mr->job = JOB_MWCAP;
    mr->c = c;
    mr->mx = mx;
    fr__atomic_store(&mr->refs, 2);
    c->req = req;
    c->rt = &mx->rt;
    c->plan = &mx->plan;
    c->need = -1;
    c->job = JOB_MW;
    c->mwr = mr;
    *(frpy_mwreq **)state = mr;
    frpy_aio_push(c);
    return FR_MW_AROUND;
}

/* any thread, maybe without the GIL: note the head and post */
static void frpy_mw_capture(fr_req *req, const fr_mw_res *res, void *state, void *ud) {
    frpy_mwreq *mr = *(frpy_mwreq **)state;
    (void)req; (void)ud;
    if (!mr) return;
    mr->status = res->status;
    mr->bypass = res->bypass;
    mr->stream = res->kind == FR_MW_RES_STREAM;
    mr->live = res->streaming;
    mr->h = res->headers.items;
    mr->nh = res->headers.len;
    mr->body = res->body;
    if (fr_mailbox_push(&frpy_aio, &mr->link) != 0)
        fprintf(stderr, "fastrapi: the asyncio mailbox is closed\n");
}

/* a live stream's next piece (or end) is held for fr_mw_take: under the
 * engine's lock, any thread, maybe without the GIL: post only */
static void frpy_mw_wake(fr_req *req, void *state, void *ud) {
    frpy_mwreq *mr = *(frpy_mwreq **)state;
    (void)req; (void)ud;
    if (!mr) return;
    mr->woke = 1;
    fr__atomic_fetch_add(&mr->refs, 1); /* the job's */
    if (fr_mailbox_push(&frpy_aio, &mr->link) != 0)
        fprintf(stderr, "fastrapi: the asyncio mailbox is closed\n");
}

static void frpy_mw_end(fr_req *req, void *state, void *ud) {
    frpy_mwreq *mr = *(frpy_mwreq **)state;
    (void)req; (void)ud;
    if (!mr) return;
    mr->gone = 1;
    frpy_mwreq_unref(mr);
}

static void frpy_mwx_free(void *ud) {
    frpy_mwx *mx = ud;
    Py_XDECREF(mx->dispatch);
    Py_XDECREF(mx->run);
    free(mx);
}

/* frpy_ctx_free of the layer's rctx (GIL) */
static void frpy_mw_release(rctx *c) {
    frpy_mwreq *mr = c->mwr;
    c->mwr = NULL;
    Py_CLEAR(mr->fut);
    Py_CLEAR(mr->exc);
    Py_CLEAR(mr->deferred);
    Py_CLEAR(mr->take_fut);
    mr->c = NULL;
    Py_CLEAR(c->mwcap);
    frpy_mwreq_unref(mr);
}

/* The scope of the @app.middleware layer around this request (a new
 * reference), or NULL. */
static PyObject *frpy_mw_layer_scope(rctx *c) {
    void *st;
    frpy_mwreq *mr;
    if (!c->req || !fr_mw_capturing(c->req, &st) || !st || !(mr = *(frpy_mwreq **)st) || !mr->c ||
        !mr->c->request)
        return NULL;
    PyObject *scope = PyObject_GetAttrString(mr->c->request, "scope");
    if (scope && !PyDict_Check(scope)) Py_CLEAR(scope);
    PyErr_Clear();
    return scope;
}

/* The handler's Request inside an @app.middleware: the layer's scope (state,
 * session, what dispatch set) plus the engine's routing keys. */
static void frpy_mw_scope(rctx *c) {
    c->asgi_scope = frpy_mw_layer_scope(c);
}

/* Starlette's router writes the matched route into the scope it was given
 * (scope["route"], then the route's endpoint and path_params, and "router"
 * when absent): the middleware around the app -- an ASGI class, an
 * @app.middleware function -- reads them once the app returned (metrics
 * and tracing label requests by the route's path template). */
static void frpy_outer_routing_keys(rctx *c) {
    if (c->plan->route == Py_None || !c->req) return;
    PyObject *scope = c->asgi_scope ? Py_NewRef(c->asgi_scope) : frpy_mw_layer_scope(c);
    if (!scope) return;
    PyObject *pp = frpy_path_params(c), *old = PyDict_GetItemString(scope, "path_params");
    if (pp && old && PyDict_Check(old)) { /* a mount's params first, as Route.matches merges */
        PyObject *merged = PyDict_Copy(old);
        if (merged && PyDict_Update(merged, pp) < 0) Py_CLEAR(merged);
        Py_SETREF(pp, merged);
    }
    PyObject *ep = PyObject_GetAttr(c->plan->route, FRPY.s_endpoint);
    PyObject *router = PyDict_GetItem(scope, FRPY.s_router) ? NULL
                                                             : PyObject_GetAttr(c->rt->srv->pyapp, FRPY.s_router);
    if (router) PyDict_SetItem(scope, FRPY.s_router, router);
    PyDict_SetItemString(scope, "route", c->plan->route);
    if (ep) PyDict_SetItem(scope, FRPY.s_endpoint, ep);
    if (pp) PyDict_SetItemString(scope, "path_params", pp);
    PyErr_Clear();
    Py_XDECREF(router);
    Py_XDECREF(ep);
    Py_XDECREF(pp);
    Py_DECREF(scope);
}

/* The handler raised what goes to ServerErrorMiddleware: with an
 * @app.middleware around it, call_next raises it there. 1 = stashed. */
static int frpy_mw_stash(rctx *c, PyObject *exc) {
    void *st;
    frpy_mwreq *mr;
    if (!c->req || !fr_mw_capturing(c->req, &st) || !st || !(mr = *(frpy_mwreq **)st) || !mr->c)
        return 0;
    Py_XSETREF(mr->exc, Py_NewRef(exc));
    return 1;
}

static void frpy_mw_fail500(rctx *c) {
    fr_mw_headers_clear(c->req);
    frpy_send_plain500(c);
}

/* JOB_MW, asyncio thread */
static void frpy_mw_start(rctx *c) {
    static const char *const drop[] = {"path_params", "route", "route_path"};
    frpy_mwreq *mr = c->mwr;
    PyObject *scope = frpy_scope(c), *state = NULL, *coro = NULL;
    for (size_t i = 0; scope && i < sizeof drop / sizeof drop[0]; i++)
        if (PyDict_DelItemString(scope, drop[i]) < 0) PyErr_Clear();
    if (scope && !(state = PyDict_New())) Py_CLEAR(scope);
    if (scope && !PyDict_SetDefault(scope, FRPY_MW_STATE, state)) Py_CLEAR(scope);
    Py_XDECREF(state);
    if (scope && frpy_scope_session(c, scope) < 0) Py_CLEAR(scope);
    if (scope) c->request = PyObject_CallOneArg(FRPY.Request, scope);
    Py_XDECREF(scope);
    if (c->request && (c->mwcap = PyCapsule_New(mr, "fastrapi.mw", frpy_mw_cap_free)))
        fr__atomic_fetch_add(&mr->refs, 1);
    if (c->mwcap)
        coro = PyObject_CallFunctionObjArgs(mr->mx->run, mr->mx->dispatch, c->request, c->mwcap, NULL);
    if (!coro || frpy_schedule_task(c, coro, JOB_MW_DONE) < 0) {
        Py_XDECREF(coro);
        frpy_log_exception(c, "@app.middleware");
        frpy_mw_fail500(c);
        return;
    }
    Py_DECREF(coro);
}

/* dispatch raised: ServerErrorMiddleware (outside every user middleware):
 * the 500 / Exception handler's response, or the plain 500. */
static void frpy_mw_failed(rctx *c, PyObject *exc) {
    PyObject *h = frpy_server_handler(c);
    fr_mw_headers_clear(c->req);
    if (frpy_mw_stash(c, exc)) { /* an outer @app.middleware's call_next raises it */
        frpy_send_plain500(c);
        return;
    }
    frpy_restore_exc(Py_NewRef(exc));
    frpy_log_exception(c, "Exception in ASGI application");
    if (h) {
        frpy_run_server_handler(c, h, Py_NewRef(exc));
        return;
    }
    frpy_send_plain500(c);
}

/* The Task of run_http finished (JOB_MW_DONE): answer outward. `res` NULL
 * with the exception set when dispatch raised. */
static void frpy_mw_done(rctx *c, PyObject *res) {
    frpy_mwreq *mr = c->mwr;
    PyObject *exc = res ? NULL : frpy_take_exc();
    if (!res && !exc) exc = PyObject_CallFunction(PyExc_RuntimeError, "s", "dispatch failed");
    if (mr->inflight) { /* call_next's response is still being made: answer after it */
        mr->deferred = Py_NewRef(res ? res : exc);
        mr->deferred_exc = !res;
        Py_XDECREF(exc);
        return;
    }
    if (!res) {
        frpy_mw_failed(c, exc);
        Py_DECREF(exc);
        return;
    }
    if (PyTuple_CheckExact(res) && PyTuple_GET_SIZE(res) == 2) { /* call_next's response, as captured */
        int status = (int)PyLong_AsLong(PyTuple_GET_ITEM(res, 0));
        if (PyErr_Occurred()) {
            PyErr_Clear();
            status = 500;
        }
        fr_req *req = c->req;
        frpy_mwreq *m = c->mwr;
        fr_res_status(req, status);
        fr_mw_headers_clear(req);
        frpy_add_raw_headers(req, PyTuple_GET_ITEM(res, 1), 0); /* content-length: the stream's */
        PyErr_Clear();
        frpy_session_report(c);
        if (m->live) { /* a live stream: its head goes out, its body follows as made */
            Py_BEGIN_ALLOW_THREADS
            fr_mw_pass(req);
            Py_END_ALLOW_THREADS
            c->req = NULL;
            frpy_ctx_free(c);
            return;
        }
        /* as Starlette's _StreamingResponse sends it: the head, the body as one
         * more_body message, then the end (what a GZip outside sees) */
        Py_BEGIN_ALLOW_THREADS
        if (fr_res_stream_begin(req) == 0 && m->body.len) fr_res_stream_write(req, m->body.buf, m->body.len);
        fr_res_stream_end(req);
        Py_END_ALLOW_THREADS
        c->req = NULL;
        frpy_ctx_free(c);
        return;
    }
    fr_mw_headers_clear(c->req);
    frpy_send_response_obj(c, res, 0);
}

/* call_next's (status, raw headers, live): the engine's Starlette order of
 * the inner response's raw headers (fr_mw_res_raw_headers) as bytes pairs. */
static PyObject *frpy_mw_head(frpy_mwreq *mr) {
    fr_mw_res r;
    char num[24];
    fr_header *hs = malloc((mr->nh + 1) * sizeof *hs);
    PyObject *list = hs ? PyList_New(0) : PyErr_NoMemory();
    size_t n;
    memset(&r, 0, sizeof r);
    r.status = mr->status;
    r.headers.items = (fr_header *)(uintptr_t)mr->h;
    r.headers.len = r.headers.cap = mr->nh;
    r.kind = mr->stream ? FR_MW_RES_STREAM : FR_MW_RES_BODY;
    r.body = mr->body;
    n = list ? fr_mw_res_raw_headers(&r, hs, mr->nh + 1, num) : 0;
    for (size_t i = 0; list && i < n; i++) {
        PyObject *t = Py_BuildValue("(y#y#)", hs[i].name.buf, (Py_ssize_t)hs[i].name.len,
                                    hs[i].value.buf ? hs[i].value.buf : "", (Py_ssize_t)hs[i].value.len);
        if (!t || PyList_Append(list, t) < 0) Py_CLEAR(list);
        Py_XDECREF(t);
    }
    free(hs);
    return list ? Py_BuildValue("(iNi)", mr->status, list, mr->live) : NULL;
}

/* JOB_MWCAP, asyncio thread: call_next's response is here. */
static void frpy_mw_captured(frpy_mwreq *mr) {
    rctx *c = mr->c;
    PyObject *fut = mr->fut, *r;
    if (mr->woke) { /* fr_mw_take has a piece or the end: body_iterator goes on */
        mr->woke = 0;
        fut = mr->take_fut;
        mr->take_fut = NULL;
        if (fut) {
            r = PyObject_CallMethod(fut, "done", NULL);
            if (r == Py_False) {
                PyObject *x = PyObject_CallMethod(fut, "set_result", "O", Py_None);
                Py_XDECREF(x);
            }
            Py_XDECREF(r);
            PyErr_Clear();
            Py_DECREF(fut);
        }
        frpy_mwreq_unref(mr);
        return;
    }
    mr->fut = NULL;
    mr->inflight = 0;
    if (!c) { Py_XDECREF(fut); return; }
    if (fut) {
        PyObject *done = PyObject_CallMethod(fut, "done", NULL);
        int ok = done && PyObject_Not(done) == 1;
        Py_XDECREF(done);
        if (ok && mr->bypass && mr->exc) {
            PyObject *name = PyUnicode_InternFromString("set_exception");
            r = name ? PyObject_CallMethodOneArg(fut, name, mr->exc) : NULL;
            Py_XDECREF(name);
            Py_CLEAR(mr->exc);
        } else if (ok) {
            PyObject *head = frpy_mw_head(mr);
            PyObject *name = PyUnicode_InternFromString("set_result");
            r = head && name ? PyObject_CallMethodOneArg(fut, name, head) : NULL;
            Py_XDECREF(name);
            Py_XDECREF(head);
        } else {
            r = NULL;
        }
        Py_XDECREF(r);
        PyErr_Clear();
        Py_DECREF(fut);
    }
    if (mr->deferred) { /* dispatch answered before the inner response came */
        PyObject *d = mr->deferred;
        mr->deferred = NULL;
        if (mr->deferred_exc) {
            frpy_mw_failed(c, d);
        } else {
            frpy_mw_done(c, d);
        }
        Py_DECREF(d);
    }
}

static frpy_mwreq *frpy_mw_from(PyObject *cap) {
    frpy_mwreq *mr = PyCapsule_GetPointer(cap, "fastrapi.mw");
    if (mr && (!mr->c || mr->gone)) {
        PyErr_SetString(PyExc_RuntimeError, "the request has been answered");
        return NULL;
    }
    return mr;
}

/* call_next: run the inner chain; a future resolved with (status, headers) */
static PyObject *py_mw_next(PyObject *self, PyObject *args) {
    frpy_mwreq *mr;
    PyObject *cap, *fut;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &cap, &fut) || !(mr = frpy_mw_from(cap))) return NULL;
    if (mr->fut || mr->inflight || mr->status) {
        PyErr_SetString(PyExc_RuntimeError, "call_next() can be called once per request");
        return NULL;
    }
    mr->fut = Py_NewRef(fut);
    mr->inflight = 1;
    if (fr_mw_next(mr->c->req) < 0) {
        Py_CLEAR(mr->fut);
        mr->inflight = 0;
        PyErr_SetString(PyExc_RuntimeError, "call_next() can be called once per request");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* the captured body (copied only when call_next's body_iterator is read) */
static PyObject *py_mw_body(PyObject *self, PyObject *cap) {
    frpy_mwreq *mr = frpy_mw_from(cap);
    (void)self;
    if (!mr) return NULL;
    return PyBytes_FromStringAndSize(mr->body.len ? mr->body.buf : "", (Py_ssize_t)mr->body.len);
}

/* mw_take(ch, fut) -> (bytes, state): a live stream's pieces held so far;
 * state 2 = ended, 1 = more may come, 0 = nothing yet: fut is resolved when
 * there is (call again) */
static PyObject *py_mw_take(PyObject *self, PyObject *args) {
    frpy_mwreq *mr;
    PyObject *cap, *fut, *bytes;
    fr_buf b;
    int r;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &cap, &fut) || !(mr = frpy_mw_from(cap))) return NULL;
    memset(&b, 0, sizeof b);
    r = fr_mw_take(mr->c->req, &b);
    if (r < 0) {
        fr_buf_free(&b);
        PyErr_SetString(PyExc_RuntimeError, "the response body is no longer readable");
        return NULL;
    }
    if (r == 0) Py_XSETREF(mr->take_fut, Py_NewRef(fut));
    bytes = PyBytes_FromStringAndSize(b.len ? b.buf : "", (Py_ssize_t)b.len);
    fr_buf_free(&b);
    return bytes ? Py_BuildValue("(Ni)", bytes, r) : NULL;
}

/* use_http_middleware(dispatch, run_http): @app.middleware("http") as the
 * innermost middleware so far */
static PyObject *frpy_server_use_http_middleware(server *s, PyObject *args) {
    PyObject *dispatch, *run;
    fr_middleware m;
    frpy_mwx *mx;
    if (!PyArg_ParseTuple(args, "OO", &dispatch, &run)) return NULL;
    if (!FRPY_MW_STATE && !(FRPY_MW_STATE = PyUnicode_InternFromString("state"))) return NULL;
    if (!(mx = calloc(1, sizeof *mx))) return PyErr_NoMemory();
    mx->dispatch = Py_NewRef(dispatch);
    mx->run = Py_NewRef(run);
    mx->rt.srv = s;
    mx->rt.plan = &mx->plan;
    mx->plan.route = Py_None;
    mx->plan.is_async = 1;
    memset(&m, 0, sizeof m);
    m.before = frpy_mw_before;
    m.capture = frpy_mw_capture;
    m.capture_stream = 1;
    m.wake = frpy_mw_wake;
    m.end = frpy_mw_end;
    m.free_ud = frpy_mwx_free;
    m.state_size = sizeof(frpy_mwreq *);
    m.ud = mx;
    if (fr_app_use(s->app, &m) < 0) {
        PyErr_SetString(PyExc_RuntimeError, "cannot add the middleware (serving already?)");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* native routes (src/native.h): fr_handler functions of a shared library
 * that fastrapi/native.py loaded at run time, registered as plain fr_route
 * entries: the engine calls the library's handler itself, with the route's
 * user_data, and no glue runs per request. The library's fr_* calls resolve
 * to this module's (FASTRAPI_DLL above; fastrapi.native makes this module
 * global before loading a library). */

typedef struct frpy_native {
    fr_handler h;
    void *ud;            /* what the handler gets */
    char *owned;         /* the user_data bytes, copied and NUL-terminated (or NULL) */
    char *method, *path; /* as registered (route_for tells routes apart by them) */
    PyObject *route_obj; /* the NativeRoute */
} frpy_native;

#define FRPY_NATIVE_CAPSULE "fastrapi.native"

/* with the server (after fr_app_free: no request can still see it) */
static void frpy_native_free(PyObject *cap) {
    frpy_native *n = PyCapsule_GetPointer(cap, FRPY_NATIVE_CAPSULE);
    if (!n) { PyErr_Clear(); return; }
    Py_XDECREF(n->route_obj);
    PyMem_Free(n->owned);
    PyMem_Free(n->method);
    PyMem_Free(n->path);
    PyMem_Free(n);
}

static char *frpy_native_dup(const char *s, size_t len) {
    char *d = PyMem_Malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}

/* user_data: None -> NULL, bytes -> a copy owned by the route, int -> that
 * address (the caller keeps it alive). 0 / -1 with a Python error. */
static int frpy_native_userdata(frpy_native *n, PyObject *ud) {
    if (ud == Py_None) return 0;
    if (PyBytes_Check(ud)) {
        n->owned = frpy_native_dup(PyBytes_AS_STRING(ud), (size_t)PyBytes_GET_SIZE(ud));
        if (!n->owned) { PyErr_NoMemory(); return -1; }
        n->ud = n->owned;
        return 0;
    }
    if (PyLong_Check(ud)) {
        n->ud = PyLong_AsVoidPtr(ud);
        return n->ud || !PyErr_Occurred() ? 0 : -1;
    }
    PyErr_SetString(PyExc_TypeError, "user_data must be bytes, an int address or None");
    return -1;
}

/* add_native_route(method, path, handler_address, user_data, route) */
static PyObject *frpy_server_add_native_route(server *s, PyObject *args) {
    const char *method, *path;
    PyObject *addr, *ud, *route_obj;
    if (!PyArg_ParseTuple(args, "ssO!OO", &method, &path, &PyLong_Type, &addr, &ud, &route_obj))
        return NULL;
    uintptr_t h = (uintptr_t)PyLong_AsVoidPtr(addr);
    if (!h) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "handler address is NULL");
        return NULL;
    }
    frpy_native *n = PyMem_Calloc(1, sizeof *n);
    PyObject *cap = n ? PyCapsule_New(n, FRPY_NATIVE_CAPSULE, frpy_native_free) : NULL;
    if (!cap) {
        PyMem_Free(n);
        return n ? NULL : PyErr_NoMemory();
    }
    n->h = (fr_handler)h;
    n->route_obj = Py_NewRef(route_obj);
    n->method = frpy_native_dup(method, strlen(method));
    n->path = frpy_native_dup(path, strlen(path));
    int bad = !n->method || !n->path ? (PyErr_NoMemory(), -1) : frpy_native_userdata(n, ud);
    if (bad < 0 || PyList_Append(s->routes, cap) < 0) { /* s->routes frees it with the server */
        Py_DECREF(cap);
        return NULL;
    }
    Py_DECREF(cap);
    fr_app_set_userdata(s->app, s); /* fr_py_call finds the app through the request */
    if (fr_route(s->app, method, path, n->h, n->ud) < 0) {
        PyErr_Format(PyExc_ValueError, "cannot register %s %s: %s", method, path,
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* route_for: the NativeRoute registered as (h, ud) for method + pattern */
static PyObject *frpy_native_route_obj(server *s, const char *method, fr_str pattern,
                                       fr_handler h, void *ud) {
    for (Py_ssize_t i = 0; h && i < PyList_GET_SIZE(s->routes); i++) {
        PyObject *cap = PyList_GET_ITEM(s->routes, i);
        frpy_native *n = PyCapsule_IsValid(cap, FRPY_NATIVE_CAPSULE)
                             ? PyCapsule_GetPointer(cap, FRPY_NATIVE_CAPSULE) : NULL;
        if (n && n->h == h && n->ud == ud && !strcmp(n->method, method) &&
            fr_str_eq_c(pattern, n->path))
            return n->route_obj;
    }
    return Py_None;
}

/* fr_py_call with the GIL held: the app's callback `name` (a dict on the
 * app, fastrapi.native), JSON in, JSON appended to out. */
static int frpy_native_call(server *s, fr_req *req, const char *name, fr_str args, fr_buf *out) {
    PyObject *reg = PyObject_GetAttrString(s->pyapp, "_fr_native_callbacks");
    PyObject *fn = reg && PyDict_Check(reg) ? PyDict_GetItemString(reg, name) : NULL;
    PyObject *arg = NULL, *res = NULL;
    Py_XINCREF(fn); /* the callback may replace itself in the registry */
    PyErr_Clear();
    if (!fn)
        PyErr_Format(PyExc_LookupError, "no native callback named '%s' (app.native_callback)", name);
    else if (args.len && !(arg = frpy_json_decode(args.buf, args.len)))
        PyErr_Format(PyExc_ValueError, "native callback '%s': json_args is not valid JSON", name);
    else
        res = arg ? PyObject_CallOneArg(fn, arg) : PyObject_CallNoArgs(fn);
    size_t keep = out->len;
    int rc = res && frpy_enc(out, res) == 0 ? 0 : -1;
    if (rc < 0) {
        out->len = keep;
        if (!PyErr_Occurred())
            PyErr_Format(PyExc_MemoryError, "native callback '%s': out of memory", name);
        fr_str m = fr_req_method(req), p = fr_req_route_pattern(req);
        PyObject *exc = frpy_take_exc();
        PyObject *ms = frpy_str(m.buf, m.len), *ps = frpy_str(p.buf, p.len);
        PyObject *what = ms && ps ? PyUnicode_FromFormat("Exception in native callback '%s' (%U %U)",
                                                         name, ms, ps) : NULL;
        PyObject *r = exc && what ? PyObject_CallFunctionObjArgs(FRPY.rt_log_exc, Py_None, what, exc,
                                                                Py_None, s->pyapp, NULL)
                                  : NULL;
        if (!r) PyErr_Clear();
        Py_XDECREF(r);
        Py_XDECREF(what);
        Py_XDECREF(ms);
        Py_XDECREF(ps);
        Py_XDECREF(exc);
    }
    Py_XDECREF(res);
    Py_XDECREF(arg);
    Py_XDECREF(fn);
    Py_XDECREF(reg);
    return rc;
}

int fr_py_call(fr_req *req, const char *name, fr_str json_args, fr_buf *out) {
    fr_app *app = req ? fr_req_app(req) : NULL;
    server *s = app ? fr_app_userdata(app) : NULL;
    if (!s || !name || !out || (!json_args.buf && json_args.len) || g_exiting || !FRPY.ready)
        return -1;
    PyGILState_STATE st = PyGILState_Ensure();
    int rc = frpy_native_call(s, req, name, json_args, out);
    PyGILState_Release(st);
    return rc;
}

/* _native_check(descriptor address or None) -> None, or why the module is refused */
static PyObject *py_native_check(PyObject *self, PyObject *addr) {
    (void)self;
    const fr_native_abi *d = addr == Py_None ? NULL : PyLong_AsVoidPtr(addr);
    char msg[512];
    if (!d && PyErr_Occurred()) return NULL;
    if (fr_native_check(d, msg, sizeof msg) == 0) Py_RETURN_NONE;
    return PyUnicode_FromString(msg);
}

static PyObject *py_native_version(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    return PyUnicode_FromString(FASTRAPI_VERSION_STRING);
}

static PyMethodDef frpy_server_methods[] = {
    {"add_route", (PyCFunction)frpy_server_add_route, METH_VARARGS, "add_route(method, path, plan, route[, max_body, form_limits, body_unread, multipart_stream, spool, drop])"},
    {"set_unmatched_limit", (PyCFunction)frpy_server_set_unmatched_limit, METH_O,
     "set_unmatched_limit(max_body): body limit of unrouted requests (-1 = none)"},
    {"add_native_route", (PyCFunction)frpy_server_add_native_route, METH_VARARGS,
     "add_native_route(method, path, handler_address, user_data, route): an fr_handler of a "
     "native module (fastrapi.native)"},
    {"set_handlers", (PyCFunction)frpy_server_set_handlers, METH_O, "exception handlers dict"},
    {"bump", (PyCFunction)frpy_server_bump, METH_NOARGS, "dependency overrides changed"},
    {"set_debug_sink", (PyCFunction)frpy_server_set_debug_sink, METH_O,
     "a TestClient's list for (template, context) of template answers, or None"},
    {"set_exc_sink", (PyCFunction)frpy_server_set_exc_sink, METH_O,
     "the unhandled exceptions of this server's requests: a TestClient's list, False, or None"},
    {"live_requests", (PyCFunction)frpy_server_live, METH_NOARGS,
     "answered requests whose background tasks or teardowns still run"},
    {"listen", (PyCFunction)frpy_server_listen, METH_VARARGS, "listen(host, port) -> port"},
    {"tls_reload", (PyCFunction)frpy_server_tls_reload, METH_NOARGS,
     "re-read the TLS listeners' certificate and key files (fr_tls_reload); OSError on failure"},
    {"listen_fd", (PyCFunction)frpy_server_listen_fd, METH_VARARGS,
     "listen_fd(fd) -> port: serve on an inherited listening socket (a dup of fd)"},
    {"serve", (PyCFunction)frpy_server_serve, METH_VARARGS,
     "serve(reload_on_hup=False) until stop() (GIL released); reload_on_hup: SIGHUP reloads the "
     "TLS certificates (main thread only)"},
    {"stop", (PyCFunction)frpy_server_stop, METH_NOARGS, "stop serving (thread-safe)"},
    {"use_cors", (PyCFunction)frpy_server_use_cors, METH_VARARGS,
     "use_cors(origins, methods, headers, credentials, regex, private_network, expose, max_age): "
     "Starlette's CORSMiddleware in C (lists of latin-1 bytes)"},
    {"use_gzip", (PyCFunction)frpy_server_use_gzip, METH_VARARGS,
     "use_gzip(minimum_size, compresslevel, exclude_content_types | None): GZipMiddleware in C"},
    {"use_trusted_host", (PyCFunction)frpy_server_use_trusted_host, METH_VARARGS,
     "use_trusted_host(allowed_hosts | None, www_redirect): TrustedHostMiddleware in C"},
    {"use_https_redirect", (PyCFunction)frpy_server_use_https_redirect, METH_NOARGS,
     "HTTPSRedirectMiddleware in C"},
    {"use_request_id", (PyCFunction)frpy_server_use_request_id, METH_VARARGS,
     "use_request_id(header, propagate): generate or propagate a request id, echo it"},
    {"use_response_header", (PyCFunction)frpy_server_use_response_header, METH_VARARGS,
     "use_response_header(name, value): a fixed header on every answer"},
    {"use_session", (PyCFunction)frpy_server_use_session, METH_VARARGS,
     "use_session(secret, cookie, max_age | None, path, same_site, https_only, domain | None, "
     "partitioned, Session, loads, dumps): SessionMiddleware in C"},
    {"use_http_middleware", (PyCFunction)frpy_server_use_http_middleware, METH_VARARGS,
     "use_http_middleware(dispatch, run_http): @app.middleware(\"http\") as an engine around layer"},
    {"middleware_count", (PyCFunction)frpy_server_middleware_count, METH_NOARGS,
     "how many middlewares the engine app runs in C"},
    {"set_bridge", (PyCFunction)frpy_server_set_bridge, METH_VARARGS,
     "set_bridge(async callable(scope, start, body) | None, every=True, spool=0): every request "
     "(every=False: only mounts) goes through the app's Python ASGI stack (bodies over spool "
     "bytes from a temp file)"},
    {"add_websocket", (PyCFunction)frpy_server_add_websocket, METH_VARARGS,
     "add_websocket(pattern, start, route, max_message): a Python websocket endpoint"},
    {"add_mount", (PyCFunction)frpy_server_add_mount, METH_VARARGS,
     "add_mount(pattern, route, spool=0): any method on pattern goes to the bridge (bodies "
     "over spool bytes from a temp file)"},
    {"add_static", (PyCFunction)frpy_server_add_static, METH_VARARGS,
     "add_static(prefix, directory, html, follow_symlink): StaticFiles served by the engine"},
    {"add_frontend", (PyCFunction)frpy_server_add_frontend, METH_VARARGS,
     "add_frontend(path, directory, fallback, custom404, plan=None, route=None): app.frontend as\n"
     "low-priority engine routes; with a plan, its dependencies run first (fr_frontend_opts.guard)"},
    {"add_static_types", (PyCFunction)frpy_server_add_static_types, METH_O,
     "add_static_types(((ext, type), ...)): content types of the engine's static files"},
    {"route_for", (PyCFunction)frpy_server_route_for, METH_VARARGS,
     "route_for(method, decoded_path) -> (match status, the route object it serves or None)"},
    {"dispatch", (PyCFunction)frpy_server_dispatch, METH_VARARGS,
     "dispatch(method, target, headers, body, client, scheme, post): one request from memory "
     "(the ASGI face); post receives (\"start\", (status, headers)) and "
     "(\"body\", (data, more))"},
    {"dispatch_begin", (PyCFunction)frpy_server_dispatch_begin, METH_VARARGS,
     "dispatch_begin(...): as dispatch, body being the first bytes of a body still arriving; "
     "returns a pending request for feed() and dispatch_end(), or None (answered already)"},
    {"feed", (PyCFunction)frpy_server_feed, METH_VARARGS,
     "feed(pending, data) -> 0, 1 (answered 413: read no more) or -1 (end it incomplete)"},
    {"dispatch_end", (PyCFunction)frpy_server_dispatch_end, METH_VARARGS,
     "dispatch_end(pending, complete): run the request (complete) or drop it"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject FrpyServerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fastrapi._fastrapi.Server",
    .tp_basicsize = sizeof(server),
    .tp_dealloc = (destructor)frpy_server_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An engine app (fr_app) serving Python routes.",
    .tp_methods = frpy_server_methods,
    .tp_new = frpy_server_new,
};

/* ------------------------------------------------------------------ */
/* module functions                                                    */

/* dumps/loads may be called before any app was served (fastrapi._fastrapi
 * used directly): the codec needs the classes _setup registers, so register
 * them first (fastrapi.applications._setup_extension, once). */
static int frpy_ensure_setup(void) {
    if (FRPY.ready) return 0;
    PyObject *m = PyImport_ImportModule("fastrapi.applications");
    PyObject *r = m ? PyObject_CallMethod(m, "_setup_extension", NULL) : NULL;
    Py_XDECREF(m);
    if (!r) return -1;
    Py_DECREF(r);
    if (FRPY.ready) return 0;
    PyErr_SetString(PyExc_RuntimeError, "fastrapi._fastrapi is not set up");
    return -1;
}

static PyObject *py_dumps(PyObject *self, PyObject *o) {
    (void)self;
    if (frpy_ensure_setup() < 0) return NULL;
    fr_buf *b = frpy_encbuf_take();
    if (!b) return NULL;
    PyObject *r = NULL;
    if (frpy_enc(b, o) == 0) r = PyBytes_FromStringAndSize(b->buf ? b->buf : "", (Py_ssize_t)b->len);
    frpy_encbuf_give(b);
    return r;
}

static PyObject *py_loads(PyObject *self, PyObject *o) {
    (void)self;
    if (frpy_ensure_setup() < 0) return NULL;
    Py_buffer v;
    if (PyObject_GetBuffer(o, &v, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *r = frpy_json_decode(v.buf, (size_t)v.len);
    PyBuffer_Release(&v);
    if (!r && !PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "invalid JSON");
    return r;
}

/* ---- SSE (issue 11): fr_sse_event for fastrapi.sse ---- */

/* str or None -> a view (buf NULL for None); -1 with an exception set */
static int py_sse_view(PyObject *o, fr_str *out) {
    Py_ssize_t n = 0;
    out->buf = NULL;
    out->len = 0;
    if (o == Py_None) return 0;
    out->buf = PyUnicode_AsUTF8AndSize(o, &n);
    if (!out->buf) return -1;
    out->len = (size_t)n;
    return 0;
}

/* sse_event(data, event, id, retry, comment) -> bytes of one event */
static PyObject *py_sse_event(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *data, *event, *id, *retry, *comment;
    if (!PyArg_ParseTuple(args, "OOOOO:sse_event", &data, &event, &id, &retry, &comment)) return NULL;
    fr_sse_fields f;
    if (py_sse_view(data, &f.data) < 0 || py_sse_view(event, &f.event) < 0 ||
        py_sse_view(id, &f.id) < 0 || py_sse_view(comment, &f.comment) < 0)
        return NULL;
    f.retry = -1;
    if (retry != Py_None) {
        f.retry = PyLong_AsLongLong(retry);
        if (f.retry == -1 && PyErr_Occurred()) return NULL;
        if (f.retry < 0) { PyErr_SetString(PyExc_ValueError, "retry must be >= 0"); return NULL; }
    }
    fr_buf b = {0};
    if (fr_sse_event(&b, &f) < 0) { fr_buf_free(&b); return PyErr_NoMemory(); }
    PyObject *r = PyBytes_FromStringAndSize(b.buf ? b.buf : "", (Py_ssize_t)b.len);
    fr_buf_free(&b);
    return r;
}
/* ---- end SSE ---- */

#define GET(name) do { FRPY.name = PyDict_GetItemString(d, #name); if (!FRPY.name) { \
    PyErr_Format(PyExc_KeyError, "_setup: missing %s", #name); return NULL; } Py_INCREF(FRPY.name); } while (0)

static PyObject *py_setup(PyObject *self, PyObject *d) {
    (void)self;
    if (FRPY.ready) Py_RETURN_NONE;
    if (!PyDict_Check(d)) { PyErr_SetString(PyExc_TypeError, "dict expected"); return NULL; }
    GET(HTTPException); GET(RequestValidationError); GET(ResponseValidationError);
    GET(Response); GET(StreamingResponse); GET(FileResponse); GET(ThreadpoolIterator); GET(rt_adopt_exc);
    GET(jsonable_encoder); GET(decimal_encoder); GET(json_loads); GET(JSONDecodeError);
    GET(deepcopy); GET(Request); GET(BackgroundTasks); GET(UUID_from_int);
    GET(BaseModel); GET(Enum); GET(UUID); GET(Decimal); GET(date); GET(time); GET(dt);
    GET(ValidationError); GET(asdict);
    GET(rt_resume); GET(rt_after); GET(rt_call_handler); GET(rt_stream); GET(rt_log_exc);
    GET(rt_parse_multipart); GET(rt_upload_items); GET(rt_recompile); GET(rt_log_access); GET(rt_unwind_sync);
    GET(rt_unwind_function); GET(rt_unwind_error); GET(rt_format_exc); GET(rt_file_open);
    GET(frontend_files); GET(rt_endpoint_ctx); GET(FormData); GET(ParamErrors);
    GET(enter_task); GET(leave_task);
    FRPY.ready = 1;
    Py_RETURN_NONE;
}

/* The asyncio bridge's mailbox fd (created once). */
static PyObject *py_wakeup_fd(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    if (fr_mailbox_fd(&frpy_aio) < 0 && fr_mailbox_init(&frpy_aio) < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(fr_mailbox_fd(&frpy_aio));
}

static PyObject *py_set_pool_size(PyObject *self, PyObject *arg) {
    (void)self;
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 1 || n > 1024) { PyErr_SetString(PyExc_ValueError, "1..1024"); return NULL; }
    if (!frpy_pool) frpy_pool_size = (int)n;
    Py_RETURN_NONE;
}

static PyObject *py_after_fork(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    /* in a forked worker: no threads survive; start fresh */
    if (frpy_pool) fr_pool_abandon(frpy_pool);
    frpy_pool = NULL;
    fr_mailbox_abandon(&frpy_aio);
    memset(&frpy_aio, 0, sizeof frpy_aio);
    log_started = 0;
    loop_thread_set = 0;
    pthread_mutex_init(&LOG_MU, NULL);
    pthread_cond_init(&LOG_CV, NULL);
    memset(&LOG_BUF, 0, sizeof LOG_BUF);
    Py_RETURN_NONE;
}

static PyObject *py_at_exit(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    g_exiting = 1;
    Py_RETURN_NONE;
}

static PyObject *py_set_loop(PyObject *self, PyObject *loop) {
    (void)self;
    Py_XSETREF(FRPY.loop, Py_NewRef(loop));
    loop_thread_set = 0; /* the next _drain marks the new loop's thread */
    Py_CLEAR(FRPY.task_type);
    Py_CLEAR(FRPY.call_soon);
    Py_CLEAR(FRPY.future_set_result);
    PyObject *tasks = frpy_stock_method(loop, FRPY.s_create_task) ? PyImport_ImportModule("asyncio.tasks")
                                                                  : NULL;
    if (tasks) FRPY.task_type = PyObject_GetAttrString(tasks, "Task");
    Py_XDECREF(tasks);
    PyErr_Clear(); /* none found: loop.create_task is called */
    /* first steps kept back (frpy_call_soon): a loop _intercept_steps set up,
     * asyncio's C Task (its step is a TaskStepMethWrapper) */
    PyObject *cs = FRPY.task_type ? PyObject_GetAttr(loop, FRPY.s_call_soon) : NULL;
    PyTypeObject *fut = FRPY.task_type ? ((PyTypeObject *)FRPY.task_type)->tp_base : NULL;
    int ours = cs && PyCFunction_Check(cs) &&
               PyCFunction_GET_FUNCTION(cs) == (PyCFunction)(void (*)(void))frpy_call_soon;
    if (ours && fut && strcmp(fut->tp_name, "_asyncio.Future") == 0)
        FRPY.future_set_result = PyObject_GetAttrString((PyObject *)fut, "set_result");
    if (FRPY.future_set_result) FRPY.call_soon = Py_NewRef(PyCFunction_GET_SELF(cs));
    Py_XDECREF(cs);
    PyErr_Clear();
    Py_RETURN_NONE;
}

/* ---- the engine's pair decoder for the Python face (request.form(),
 * request.query_params, request.cookies) ---- */

static PyObject *py_pairs(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer v;
    int kind;
    if (!PyArg_ParseTuple(args, "y*i", &v, &kind)) return NULL;
    if (kind != FR_KV_QUERY && kind != FR_KV_COOKIE) {
        PyBuffer_Release(&v);
        PyErr_SetString(PyExc_ValueError, "kind must be KV_QUERY or KV_COOKIE");
        return NULL;
    }
    PyObject *r = frpy_kv_list(kind, (fr_str){(const char *)v.buf, (size_t)v.len});
    PyBuffer_Release(&v);
    return r;
}

/* ---- multipart/form-data for the Python face (the engine's fr_mp) ---- */

/* Starlette's _user_safe_decode: the body's charset, Latin-1 when that
 * fails (unknown codec or bad bytes). charset NULL = UTF-8. */
static PyObject *frpy_mp_text(fr_str s, const char *charset) {
    PyObject *r = charset ? PyUnicode_Decode(s.buf ? s.buf : "", (Py_ssize_t)s.len, charset, "strict")
                          : PyUnicode_DecodeUTF8(s.buf ? s.buf : "", (Py_ssize_t)s.len, "strict");
    if (r || !(PyErr_ExceptionMatches(PyExc_UnicodeDecodeError) || PyErr_ExceptionMatches(PyExc_LookupError)))
        return r;
    PyErr_Clear();
    return frpy_latin1(s);
}

/* A part's headers as [(lower name, value)] bytes pairs (Starlette
 * lowercases part header names). */
static PyObject *frpy_mp_headers(const fr_mp_header *h, size_t n) {
    PyObject *hs = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; hs && i < n; i++) {
        fr_str hn = h[i].name, hv = h[i].value;
        PyObject *k = PyBytes_FromStringAndSize(hn.buf, (Py_ssize_t)hn.len), *t;
        for (size_t j = 0; k && j < hn.len; j++)
            PyBytes_AS_STRING(k)[j] = (char)fr__tolower((unsigned char)hn.buf[j]);
        t = k ? Py_BuildValue("(Ny#)", k, hv.buf, (Py_ssize_t)hv.len) : NULL;
        if (!t) { Py_CLEAR(hs); break; }
        PyList_SET_ITEM(hs, (Py_ssize_t)i, t);
    }
    return hs;
}

/* One part -> (name, str) for a field, (name, (filename, [(lower name,
 * value)], memoryview)) for a file. */
static PyObject *frpy_mp_item(const fr_mp *p, fr_str data, PyObject *mv, size_t ofs, const char *cs) {
    const fr_mp_part *pt = &p->part;
    PyObject *name = frpy_mp_text(pt->name, cs), *val = NULL, *r = NULL;
    if (name && !pt->is_file) {
        val = frpy_mp_text(data, cs);
    } else if (name) {
        PyObject *fn = frpy_mp_text(pt->filename, cs), *hs = frpy_mp_headers(pt->headers, pt->num_headers);
        PyObject *view = PySequence_GetSlice(mv, (Py_ssize_t)ofs, (Py_ssize_t)(ofs + data.len));
        if (fn && hs && view) val = PyTuple_Pack(3, fn, hs, view);
        Py_XDECREF(fn);
        Py_XDECREF(hs);
        Py_XDECREF(view);
    }
    if (name && val) r = PyTuple_Pack(2, name, val);
    Py_XDECREF(name);
    Py_XDECREF(val);
    return r;
}

/* The parts of a whole body; a str is the 400 detail FastAPI answers. */
static PyObject *frpy_mp_parts(fr_mp *p, Py_buffer *body, PyObject *bodyobj, const char *cs,
                               const fr_mp_limits *lim) {
    fr_str b = {(const char *)body->buf, (size_t)body->len}, data;
    size_t ofs = 0;
    int rc = 0;
    PyObject *out = PyList_New(0), *mv = PyMemoryView_FromObject(bodyobj);
    while (out && mv) {
        if (b.len - ofs >= ((size_t)1 << 20)) { /* a large body: scan it without the GIL */
            Py_BEGIN_ALLOW_THREADS
            rc = fr_mp_next(p, b, &ofs, &data);
            Py_END_ALLOW_THREADS
        } else {
            rc = fr_mp_next(p, b, &ofs, &data);
        }
        if (rc != 1) break;
        PyObject *item = frpy_mp_item(p, data, mv, (size_t)(data.buf - b.buf), cs);
        if (!item || PyList_Append(out, item) < 0) Py_CLEAR(out);
        Py_XDECREF(item);
    }
    Py_XDECREF(mv);
    if (!mv) Py_CLEAR(out);
    if (out && rc < 0 && p->err.code != FR_MP_ERR_TRUNCATED) { /* FastAPI keeps a truncated body's parts */
        char msg[160];
        Py_SETREF(out, PyUnicode_FromString((fr_mp_error_text(p->err.code, lim, msg, sizeof msg), msg)));
    }
    return out;
}

static size_t frpy_mp_limit(Py_ssize_t v) {
    return v < 0 ? FR_MP_UNLIMITED : v == 0 ? FR_MP_ZERO : (size_t)v;
}

/* The codec Starlette decodes with: the charset parameter, UTF-8 without
 * one; a name that cannot be a codec reads as Latin-1 (LookupError). */
static const char *frpy_mp_charset(fr_str ct, char *cs, size_t cap) {
    fr_str v;
    int rc = fr_mp_param(ct, "charset", cs, cap - 1, &v);
    if (rc == 0) return NULL;
    if (rc < 0 || v.len == 0 || memchr(v.buf, 0, v.len)) return "latin-1";
    cs[v.len] = 0;
    return cs;
}

/* One streamed part -> as frpy_mp_item's, the data of a file bytes (in
 * memory) or an int: the engine's temp file (the Python side dups it). */
static PyObject *frpy_form_item(const fr_form_part *pt, const char *cs) {
    PyObject *name = frpy_mp_text(pt->name, cs), *val = NULL, *r = NULL;
    if (name && !pt->is_file) {
        val = frpy_mp_text(pt->data, cs);
    } else if (name) {
        PyObject *fn = frpy_mp_text(pt->filename, cs), *hs = frpy_mp_headers(pt->headers, pt->num_headers);
        PyObject *data = pt->fd >= 0 ? PyLong_FromLong(pt->fd)
                                     : PyBytes_FromStringAndSize(pt->data.buf, (Py_ssize_t)pt->data.len);
        if (fn && hs && data) val = PyTuple_Pack(3, fn, hs, data);
        Py_XDECREF(fn);
        Py_XDECREF(hs);
        Py_XDECREF(data);
    }
    if (name && val) r = PyTuple_Pack(2, name, val);
    Py_XDECREF(name);
    Py_XDECREF(val);
    return r;
}

/* The parts of a streamed body (fr_req_form) as py_multipart's list, or
 * the 400 detail (str) FastAPI answers its error with (a truncated body
 * keeps its complete parts, as FastAPI). */
static PyObject *frpy_form_items(const fr_form *f, fr_str ct) {
    char cs[64], msg[160];
    int err = fr_form_error(f);
    if (err && err != FR_MP_ERR_TRUNCATED) {
        fr_form_error_text(f, msg, sizeof msg);
        return PyUnicode_FromString(msg);
    }
    const char *charset = frpy_mp_charset(ct, cs, sizeof cs);
    size_t n = fr_form_count(f);
    PyObject *out = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; out && i < n; i++) {
        PyObject *item = frpy_form_item(fr_form_part_at(f, i), charset);
        if (!item) Py_CLEAR(out);
        else PyList_SET_ITEM(out, (Py_ssize_t)i, item);
    }
    return out;
}

/* multipart(body, content_type, max_fields, max_files, max_part_size): a
 * form body as Starlette's Request.form() reads it. None when
 * content_type (str, Latin-1 as Starlette decodes headers) is neither
 * multipart/form-data nor application/x-www-form-urlencoded, a str (the
 * 400 detail) for a bad body, else [(name, value)] in body order. A limit
 * < 0 means none. */
static PyObject *py_multipart(PyObject *self, PyObject *args) {
    Py_buffer body;
    Py_ssize_t mfields, mfiles, msize;
    PyObject *bodyobj, *ctobj, *ctb, *r = NULL;
    char bnd[FR_MAX_MULTIPART_BOUNDARY + 1], cs[64], msg[64];
    fr_str b, ct;
    int brc;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOnnn", &bodyobj, &ctobj, &mfields, &mfiles, &msize)) return NULL;
    if (ctobj == Py_None) Py_RETURN_NONE;
    if (!(ctb = PyUnicode_Check(ctobj) ? PyUnicode_AsLatin1String(ctobj) : PyBytes_FromObject(ctobj)))
        return NULL;
    if (PyObject_GetBuffer(bodyobj, &body, PyBUF_SIMPLE) < 0) { Py_DECREF(ctb); return NULL; }
    ct = (fr_str){PyBytes_AS_STRING(ctb), (size_t)PyBytes_GET_SIZE(ctb)};
    int kind = fr_mp_form_type(ct), code;
    fr_mp_limits lim = {frpy_mp_limit(mfields), frpy_mp_limit(mfiles), frpy_mp_limit(msize), 0, 0};
    fr_str raw = {(const char *)body.buf, (size_t)body.len};
    if (!kind) {
        r = Py_NewRef(Py_None);
    } else if (kind == FR_MP_FORM_URLENCODED) { /* the query string's decoder */
        if ((code = fr_mp_urlencoded_check(raw, &lim)) != 0) {
            r = PyUnicode_FromString((fr_mp_error_text(code, &lim, msg, sizeof msg), msg));
        } else {
            r = frpy_kv_list(FR_KV_QUERY, raw);
        }
    } else if ((brc = fr_mp_boundary(ct, bnd, sizeof bnd, &b)) <= 0) {
        code = brc == 0 ? FR_MP_ERR_NO_BOUNDARY : FR_MP_ERR_BOUNDARY;
        r = PyUnicode_FromString((fr_mp_error_text(code, NULL, msg, sizeof msg), msg));
    } else {
        fr_mp *p = PyMem_Malloc(sizeof *p);
        if (!p) r = PyErr_NoMemory();
        else if (fr_mp_init(p, b, &lim, NULL, NULL) < 0)
            r = PyUnicode_FromString((fr_mp_error_text(p->err.code, NULL, msg, sizeof msg), msg));
        else r = frpy_mp_parts(p, &body, bodyobj, frpy_mp_charset(ct, cs, sizeof cs), &lim);
        PyMem_Free(p);
    }
    Py_DECREF(ctb);
    PyBuffer_Release(&body);
    return r;
}

/* ---- credential parsing for fastrapi.security (the engine's fr_auth_*) ---- */

/* Header values are str decoded as Latin-1 (as Starlette does): bytes in,
 * views out, str back without any re-interpretation. */
static int frpy_latin1_view(PyObject *s, PyObject **keep, fr_str *out) {
    *keep = PyUnicode_AsLatin1String(s);
    if (!*keep) return -1;
    out->buf = PyBytes_AS_STRING(*keep);
    out->len = (size_t)PyBytes_GET_SIZE(*keep);
    return 0;
}

static PyObject *py_auth_scheme_param(PyObject *self, PyObject *value) {
    PyObject *keep = NULL, *r;
    fr_str h, scheme, param;
    (void)self;
    if (value == Py_None) return Py_BuildValue("(ss)", "", "");
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "header value must be str or None");
        return NULL;
    }
    if (frpy_latin1_view(value, &keep, &h) < 0) {
        /* not Latin-1: cannot come from a header; fall back to str rules */
        PyErr_Clear();
        PyObject *parts = PyObject_CallMethod(value, "partition", "s", " ");
        if (!parts) return NULL;
        PyObject *stripped = PyObject_CallMethod(PyTuple_GET_ITEM(parts, 2), "strip", NULL);
        r = stripped ? PyTuple_Pack(2, PyTuple_GET_ITEM(parts, 0), stripped) : NULL;
        Py_XDECREF(stripped);
        Py_DECREF(parts);
        return r;
    }
    fr_auth_parse(h, &scheme, &param);
    PyObject *a = PyUnicode_DecodeLatin1(scheme.buf ? scheme.buf : "", (Py_ssize_t)scheme.len, NULL);
    PyObject *b = PyUnicode_DecodeLatin1(param.buf ? param.buf : "", (Py_ssize_t)param.len, NULL);
    r = (a && b) ? PyTuple_Pack(2, a, b) : NULL;
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_DECREF(keep);
    return r;
}

static PyObject *py_basic_credentials(PyObject *self, PyObject *value) {
    PyObject *keep = NULL, *r = NULL;
    fr_str p, user, pass;
    char small[512], *buf = small;
    size_t cap;
    (void)self;
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "credentials must be str");
        return NULL;
    }
    if (frpy_latin1_view(value, &keep, &p) < 0) { /* non-Latin-1 is non-ASCII: b64decode fails */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    cap = fr_base64_decoded_len(p.len) + 1;
    if (cap > sizeof small && !(buf = PyMem_Malloc(cap))) {
        Py_DECREF(keep);
        return PyErr_NoMemory();
    }
    if (fr_auth_basic_decode(p, buf, cap, &user, &pass) == 0) {
        PyObject *u = PyUnicode_DecodeASCII(user.buf, (Py_ssize_t)user.len, NULL);
        PyObject *w = PyUnicode_DecodeASCII(pass.buf, (Py_ssize_t)pass.len, NULL);
        r = (u && w) ? PyTuple_Pack(2, u, w) : NULL;
        Py_XDECREF(u);
        Py_XDECREF(w);
    } else {
        r = Py_NewRef(Py_None);
    }
    if (buf != small) PyMem_Free(buf);
    Py_DECREF(keep);
    return r;
}

/* ------------------------------------------------------------------ */
/* ==== seed extras: cache_resp, rate_limit, Instrumentator (policy.h, metrics.h) ====
 * Engine objects wrapped in capsules: the Python route / Instrumentator
 * owns them from decoration time (created before workers fork, so the
 * shared tables are shared), each built Server attaches them to its app
 * (the app takes its own reference). */

#define FRPY_RL_CAP "fastrapi.ratelimit"
#define FRPY_RC_CAP "fastrapi.resp_cache"
#define FRPY_MX_CAP "fastrapi.metrics"

static void frpy_rl_cap_free(PyObject *cap) {
    fr_ratelimit_free((fr_ratelimit *)PyCapsule_GetPointer(cap, FRPY_RL_CAP));
}
static void frpy_rc_cap_free(PyObject *cap) {
    fr_resp_cache_free((fr_resp_cache *)PyCapsule_GetPointer(cap, FRPY_RC_CAP));
}
static void frpy_mx_cap_free(PyObject *cap) {
    fr_metrics_free((fr_metrics *)PyCapsule_GetPointer(cap, FRPY_MX_CAP));
}

/* ratelimit_new(per_second, max_clients=0) -> capsule */
static PyObject *py_ratelimit_new(PyObject *self, PyObject *args) {
    long long per = 0, slots = 0;
    fr_ratelimit_config cfg;
    fr_err err = {0, NULL, 0};
    fr_ratelimit *rl;
    PyObject *cap;
    (void)self;
    if (!PyArg_ParseTuple(args, "L|L", &per, &slots)) return NULL;
    if (per < 1 || per > UINT32_MAX || slots < 0)
        return PyErr_Format(PyExc_ValueError, "rate_limit must be an int from 1 to %lu",
                            (unsigned long)UINT32_MAX);
    memset(&cfg, 0, sizeof cfg);
    cfg.per_second = (uint32_t)per;
    cfg.max_clients = (size_t)slots;
    if (!(rl = fr_ratelimit_new(&cfg, &err)))
        return PyErr_Format(PyExc_ValueError, "%s", err.msg ? err.msg : "rate limit refused");
    if (!(cap = PyCapsule_New(rl, FRPY_RL_CAP, frpy_rl_cap_free))) fr_ratelimit_free(rl);
    return cap;
}

static PyObject *py_resp_cache_new(PyObject *self, PyObject *unused) {
    fr_resp_cache *c = fr_resp_cache_new();
    PyObject *cap;
    (void)self;
    (void)unused;
    if (!c) return PyErr_NoMemory();
    if (!(cap = PyCapsule_New(c, FRPY_RC_CAP, frpy_rc_cap_free))) fr_resp_cache_free(c);
    return cap;
}

static PyObject *py_resp_cache_filled(PyObject *self, PyObject *cap) {
    fr_resp_cache *c = (fr_resp_cache *)PyCapsule_GetPointer(cap, FRPY_RC_CAP);
    (void)self;
    if (!c) return NULL;
    return PyBool_FromLong(fr_resp_cache_filled(c));
}

/* metrics_new(max_series=0, buckets=None, prefix=None) -> capsule */
static PyObject *py_metrics_new(PyObject *self, PyObject *args) {
    long long series = 0;
    PyObject *buckets = Py_None, *seq = NULL;
    const char *prefix = NULL;
    double b[FR_METRICS_MAX_BUCKETS];
    fr_metrics_config cfg;
    fr_err err = {0, NULL, 0};
    fr_metrics *m;
    PyObject *cap;
    (void)self;
    if (!PyArg_ParseTuple(args, "|LOz", &series, &buckets, &prefix)) return NULL;
    memset(&cfg, 0, sizeof cfg);
    if (series < 0) return PyErr_Format(PyExc_ValueError, "max_series must be >= 0");
    cfg.max_series = (size_t)series;
    cfg.prefix = prefix;
    if (buckets != Py_None) {
        Py_ssize_t i, n;
        if (!(seq = PySequence_Fast(buckets, "buckets must be a sequence of numbers"))) return NULL;
        n = PySequence_Fast_GET_SIZE(seq);
        if (n > FR_METRICS_MAX_BUCKETS) n = FR_METRICS_MAX_BUCKETS + 1; /* refused below */
        for (i = 0; i < n && i < FR_METRICS_MAX_BUCKETS; i++) {
            b[i] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, i));
            if (b[i] == -1.0 && PyErr_Occurred()) { Py_DECREF(seq); return NULL; }
        }
        Py_DECREF(seq);
        cfg.buckets = b;
        cfg.num_buckets = (size_t)n;
    }
    if (!(m = fr_metrics_new(&cfg, &err)))
        return PyErr_Format(PyExc_ValueError, "%s", err.msg ? err.msg : "metrics refused");
    if (!(cap = PyCapsule_New(m, FRPY_MX_CAP, frpy_mx_cap_free))) fr_metrics_free(m);
    return cap;
}

static PyObject *py_metrics_render(PyObject *self, PyObject *cap) {
    fr_metrics *m = (fr_metrics *)PyCapsule_GetPointer(cap, FRPY_MX_CAP);
    fr_buf b = {NULL, 0, 0};
    PyObject *r;
    (void)self;
    if (!m) return NULL;
    if (fr_metrics_render(m, &b) < 0) { fr_buf_free(&b); return PyErr_NoMemory(); }
    r = PyBytes_FromStringAndSize(b.buf ? b.buf : "", (Py_ssize_t)b.len);
    fr_buf_free(&b);
    return r;
}

static server *frpy_extras_server(PyObject *o) {
    if (!PyObject_TypeCheck(o, &FrpyServerType)) {
        PyErr_SetString(PyExc_TypeError, "expected a fastrapi._fastrapi.Server");
        return NULL;
    }
    return (server *)o;
}

/* use_metrics(server, metrics capsule): the measuring middleware (add it first) */
static PyObject *py_use_metrics(PyObject *self, PyObject *args) {
    PyObject *so, *cap;
    server *s;
    fr_metrics *m;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &so, &cap)) return NULL;
    if (!(s = frpy_extras_server(so))) return NULL;
    if (!(m = (fr_metrics *)PyCapsule_GetPointer(cap, FRPY_MX_CAP))) return NULL;
    if (fr_app_use_metrics(s->app, m) < 0)
        return PyErr_Format(PyExc_RuntimeError, "metrics: cannot add the middleware");
    Py_RETURN_NONE;
}

/* use_policies(server, [(method, pattern, ratelimit | None, resp_cache | None)]):
 * the policy middleware (add it after the others: innermost) */
static PyObject *py_use_policies(PyObject *self, PyObject *args) {
    PyObject *so, *list, *seq;
    server *s;
    fr_policies *p;
    Py_ssize_t i, n;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &so, &list)) return NULL;
    if (!(s = frpy_extras_server(so))) return NULL;
    if (!(seq = PySequence_Fast(list, "policies must be a list"))) return NULL;
    n = PySequence_Fast_GET_SIZE(seq);
    if (n == 0) { Py_DECREF(seq); Py_RETURN_NONE; }
    if (!(p = fr_app_use_policies(s->app))) {
        Py_DECREF(seq);
        return PyErr_Format(PyExc_RuntimeError, "route policies: cannot add the middleware");
    }
    for (i = 0; i < n; i++) {
        const char *method, *pattern;
        PyObject *rlo, *rco;
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(seq, i), "ssOO", &method, &pattern, &rlo,
                              &rco))
            goto fail;
        if (rlo != Py_None) {
            fr_ratelimit *rl = (fr_ratelimit *)PyCapsule_GetPointer(rlo, FRPY_RL_CAP);
            if (!rl) goto fail;
            if (fr_policies_rate_limit(p, method, pattern, rl) < 0) goto nomem;
        }
        if (rco != Py_None) {
            fr_resp_cache *c = (fr_resp_cache *)PyCapsule_GetPointer(rco, FRPY_RC_CAP);
            if (!c) goto fail;
            if (fr_policies_cache(p, method, pattern, c) < 0) goto nomem;
        }
    }
    Py_DECREF(seq);
    Py_RETURN_NONE;
nomem:
    PyErr_Format(PyExc_ValueError, "route policies: cannot add a policy (method or path too "
                 "long, or out of memory)");
fail:
    Py_DECREF(seq);
    return NULL;
}
/* ==== end of seed extras ==== */

static PyMethodDef frpy_module_methods[] = {
    {"auth_scheme_param", py_auth_scheme_param, METH_O,
     "FastAPI's get_authorization_scheme_param, in C: (scheme, param)"},
    {"basic_credentials", py_basic_credentials, METH_O,
     "HTTP Basic parameter -> (user, password), or None when FastAPI would answer 401"},
    {"_set_loop", py_set_loop, METH_O, "the asyncio loop async handlers run on"},
    {"_intercept_steps", py_intercept_steps, METH_O,
     "own stock asyncio loop: Tasks of coroutines that finish at once need no first step"},
    {"mw_next", py_mw_next, METH_VARARGS,
     "mw_next(ch, future): @app.middleware's call_next; future gets (status, raw headers)"},
    {"mw_body", py_mw_body, METH_O, "@app.middleware: the body call_next's response captured"},
    {"mw_take", py_mw_take, METH_VARARGS,
     "mw_take(ch, future): @app.middleware: a live stream's next pieces (bytes, state)"},
    {"cors_regex_ok", py_cors_regex_ok, METH_O,
     "cors_regex_ok(pattern: bytes) -> bool: the engine's CORS matches this allow_origin_regex"},
    {"_at_exit", py_at_exit, METH_NOARGS, "interpreter exit: C threads stop using Python"},
    {"_setup", py_setup, METH_O, "register the Python classes the glue needs"},
    /* seed extras (policy.h, metrics.h) */
    {"ratelimit_new", py_ratelimit_new, METH_VARARGS,
     "ratelimit_new(per_second, max_clients=0) -> capsule (a shared fixed-window limiter)"},
    {"resp_cache_new", py_resp_cache_new, METH_NOARGS, "resp_cache_new() -> capsule"},
    {"resp_cache_filled", py_resp_cache_filled, METH_O, "resp_cache_filled(capsule) -> bool"},
    {"metrics_new", py_metrics_new, METH_VARARGS,
     "metrics_new(max_series=0, buckets=None, prefix=None) -> capsule (shared table)"},
    {"metrics_render", py_metrics_render, METH_O, "metrics_render(capsule) -> exposition bytes"},
    {"use_metrics", py_use_metrics, METH_VARARGS, "use_metrics(server, metrics capsule)"},
    {"use_policies", py_use_policies, METH_VARARGS,
     "use_policies(server, [(method, pattern, ratelimit | None, resp_cache | None)])"},
    {"_native_check", py_native_check, METH_O,
     "_native_check(descriptor address | None) -> None, or why the module is refused"},
    {"_native_version", py_native_version, METH_NOARGS, "the engine's FASTRAPI_VERSION_STRING"},
    {"_drain", py_drain, METH_NOARGS, "run queued async work (called by the event loop)"},
    {"ws_accept", py_ws_accept, METH_VARARGS, "ws_accept(conn, subprotocol, headers) -> 0 | -1"},
    {"_ws_flush", py_ws_flush, METH_NOARGS, "wake the I/O loops the loop thread's sends deferred"},
    {"ws_send", (PyCFunction)(void (*)(void))py_ws_send, METH_FASTCALL,
     "ws_send(conn, opcode, data, code=0) -> FR_WS_OK | error code; data: bytes-like or str (WS_CLOSE: the reason)"},
    {"ws_deny", py_ws_deny, METH_VARARGS, "ws_deny(conn, status): answer instead of accepting"},
    {"_wakeup_fd", py_wakeup_fd, METH_NOARGS, "fd the event loop watches"},
    {"_set_pool_size", py_set_pool_size, METH_O, "worker threads for sync handlers"},
    {"_after_fork", py_after_fork, METH_NOARGS, "reset thread state in a forked worker"},
    {"dumps", py_dumps, METH_O, "encode to JSON bytes with FastAPI's jsonable semantics"},
    {"sse_event", py_sse_event, METH_VARARGS, "sse_event(data, event, id, retry, comment) -> one SSE event"},
    {"loads", py_loads, METH_O, "decode JSON bytes (strict RFC 8259)"},
    {"multipart", py_multipart, METH_VARARGS,
     "multipart(body, content_type, max_fields, max_files, max_part_size) -> None (not "
     "multipart/form-data) | str (the 400 detail) | [(name, str | (filename, headers, memoryview))]"},
    {"pairs", py_pairs, METH_VARARGS,
     "pairs(data: bytes, kind) -> [(key, value)]: a query string / urlencoded body (KV_QUERY) or "
     "a Cookie header (KV_COOKIE), decoded by the engine as Starlette does"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef frpy_moddef = {PyModuleDef_HEAD_INIT, "_fastrapi",
                                    "fastrapi's C engine glue", -1, frpy_module_methods,
                                    NULL, NULL, NULL, NULL};

#define INTERN(var, s) do { FRPY.var = PyUnicode_InternFromString(s); if (!FRPY.var) return NULL; } while (0)

PyMODINIT_FUNC PyInit__fastrapi(void) {
    if (PyType_Ready(&FrpyServerType) < 0 || PyType_Ready(&FrpyShimType) < 0 ||
        PyType_Ready(&FrpyGoneType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&frpy_moddef);
    if (!m) return NULL;
    INTERN(s_status_code, "status_code"); INTERN(s_raw_headers, "raw_headers");
    INTERN(s_body, "body"); INTERN(s_background, "background");
    INTERN(s_body_iterator, "body_iterator"); INTERN(s_model_dump, "model_dump"); INTERN(s_by_alias, "by_alias");
    INTERN(s_endpoint, "endpoint"); INTERN(s_router, "router");
    INTERN(s_mode, "mode"); INTERN(s_json, "json"); INTERN(s_validate_python, "validate_python");
    INTERN(s_dump_json, "dump_json"); INTERN(s_errors, "errors");
    INTERN(s_include_url, "include_url"); INTERN(s_loc, "loc"); INTERN(s_value, "value");
    INTERN(s_isoformat, "isoformat"); INTERN(s_from_attributes, "from_attributes");
    INTERN(s_add_done_callback, "add_done_callback");
    INTERN(s_result, "result"); INTERN(s_detail, "detail"); INTERN(s_headers, "headers");
    INTERN(s_dataclass_fields, "__dataclass_fields__"); INTERN(s_aiter, "__aiter__");
    INTERN(s_anext, "__anext__"); INTERN(s_dump_python, "dump_python");
    INTERN(s_create_task, "create_task");
    INTERN(s_task_factory, "_task_factory"); INTERN(s_debug, "_debug");
    INTERN(s_call_soon, "call_soon"); INTERN(s_coro_attr, "_coro"); INTERN(s_self_attr, "__self__");
    INTERN(s_must_cancel, "_must_cancel");
    INTERN(s_pos, "pos"); INTERN(s_msg, "msg"); INTERN(s_doc, "doc");
    FRPY.empty_tuple = PyTuple_New(0);
    FRPY.kw_from_attr = PyTuple_Pack(1, FRPY.s_from_attributes);
    FRPY.kw_context = Py_BuildValue("(s)", "context");
    FRPY.kw_loop_context = Py_BuildValue("(ss)", "loop", "context");
    FRPY.kw_credentials[0] = Py_BuildValue("(ss)", "scheme", "credentials");
    FRPY.kw_credentials[1] = Py_BuildValue("(ss)", "username", "password");
    if (!FRPY.empty_tuple || !FRPY.kw_from_attr || !FRPY.kw_context || !FRPY.kw_loop_context ||
        !FRPY.kw_credentials[0] ||
        !FRPY.kw_credentials[1])
        return NULL;
    for (int i = 0; i < REC_COUNT; i++) {
        frpy_records[i] = PyStructSequence_NewType(&frpy_record_descs[i]);
        const char *dot = frpy_records[i] ? strrchr(frpy_record_descs[i].name, '.') : NULL;
        if (!dot || PyModule_AddObjectRef(m, dot + 1, (PyObject *)frpy_records[i]) < 0) return NULL;
    }
    for (size_t i = 0; i < sizeof frpy_constants / sizeof frpy_constants[0]; i++)
        if (PyModule_AddIntConstant(m, frpy_constants[i].name, frpy_constants[i].value) < 0) return NULL;
    if (PyModule_AddIntConstant(m, "GZIP", fr_gzip_available()) < 0) return NULL;
    if (PyModule_AddIntConstant(m, "STREAM_HIGH_WATER", FR_STREAM_HIGH_WATER) < 0) return NULL;
    if (PyModule_AddIntConstant(m, "KV_QUERY", FR_KV_QUERY) < 0 ||
        PyModule_AddIntConstant(m, "KV_COOKIE", FR_KV_COOKIE) < 0)
        return NULL;
    frpy_s_call_soon = PyUnicode_InternFromString("call_soon");
    frpy_ws_flush_fn = PyObject_GetAttrString(m, "_ws_flush");
    if (!frpy_s_call_soon || !frpy_ws_flush_fn) return NULL;
    Py_INCREF(&FrpyServerType);
    if (PyModule_AddObject(m, "Server", (PyObject *)&FrpyServerType) < 0) return NULL;
    Py_INCREF(&FrpyShimType);
    if (PyModule_AddObject(m, "Shim", (PyObject *)&FrpyShimType) < 0) return NULL;
    return m;
}
