/* fastrapi_py.c -- the CPython extension `fastrapi._fastrapi`: the glue
 * between Python objects and the C engine in fastrapi.h.
 *
 * Per request nothing of the framework's Python runs: the route's PLAN (built
 * once at decoration time by fastrapi/dependencies/utils.py) is unpacked here
 * into C arrays; params are read from the engine's request views, scalars are
 * coerced in C, pydantic TypeAdapters are called only for the rest, the
 * user's callables are called with vectorcall and the return value is encoded
 * to JSON straight from the Python objects.
 *
 * PLAN (tuple, see fastrapi/dependencies/utils.py:compile_plan):
 *   (nodes, body_mode, response, route, flags)
 *   nodes    = tuple of (call, kind, params[, fscope]); the last node is the
 *              endpoint. kind: 0 def, 1 async def, 2 generator, 3 async
 *              generator. fscope: 1 = a generator with Depends(scope="function")
 *              (its teardown runs after the endpoint, before the response).
 *   params   = tuple of (kwname, source, key, conv, required, default,
 *                        copy_default, adapter, loc, is_list)
 *   body_mode: 0 none, 1 json, 2 form
 *   response = (status_code, mode, adapter, dump_kwargs, response_class)
 *              mode: 0 jsonable -> JSON in C, 1 validate + adapter.dump_json,
 *                    2 response_class(content) built in Python
 *   flags    : bit 0 = async route (some node is async: runs on the loop)
 *
 * Threads: engine loop threads never take the GIL. A request is queued either
 * to the worker pool (sync routes; C threads that take the GIL and drain the
 * queue in batches, a monitor adds a worker when the active one blocks) or to
 * the asyncio loop thread (async routes; an eventfd registered with
 * loop.add_reader wakes `_drain`). Within a route, `def` nodes run on the pool
 * and `async def` nodes on the loop; the walk hops between the two queues.
 * A coroutine is driven with send(None) from C right away, inside a Task
 * created for it and entered as the current task (so asyncio.timeout, anyio
 * and current_task() work); the Task only takes over (via the Shim type) if
 * the coroutine really suspends. Post-response work (background tasks,
 * generator teardowns) is queued from the engine's fr_req_on_done callback.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define FASTRAPI_IMPLEMENTATION
#define FASTRAPI_STATIC
#include "fastrapi.h"

#include <pthread.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <math.h>
#ifdef __linux__
#include <sys/eventfd.h>
#endif

/* 3.11 lacks PyErr_GetRaisedException/PyErr_SetRaisedException */
static PyObject *fr_py_take_exc(void) {
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (!t) return NULL;
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb && v) PyException_SetTraceback(v, tb);
    Py_XDECREF(t);
    Py_XDECREF(tb);
    return v;
}
static void fr_py_restore_exc(PyObject *e) { /* steals e */
    PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(e)), e, PyException_GetTraceback(e));
}

/* ------------------------------------------------------------------ */
/* cached Python objects (set once by _fastrapi._setup)                */

static struct {
    PyObject *HTTPException, *RequestValidationError, *ResponseValidationError;
    PyObject *Response, *StreamingResponse, *FileResponse;
    PyObject *jsonable_encoder, *decimal_encoder, *json_loads, *JSONDecodeError;
    PyObject *deepcopy, *Undefined, *Request, *BackgroundTasks;
    PyObject *BaseModel, *Enum, *UUID, *Decimal, *date, *time, *timedelta, *dt;
    PyObject *ValidationError, *asdict;
    PyObject *rt_resume, *rt_after, *rt_call_handler, *rt_stream, *rt_log_exc,
        *rt_parse_multipart, *rt_recompile, *rt_log_access, *enter_task, *leave_task;
    PyObject *loop; /* the asyncio loop (set by _runtime via _set_loop) */
    PyObject *empty_tuple, *empty_dict;
    /* interned names */
    PyObject *s_status_code, *s_raw_headers, *s_body, *s_background, *s_body_iterator,
        *s_model_dump, *s_mode, *s_json, *s_validate_python, *s_dump_json, *s_errors,
        *s_include_url, *s_loc, *s_value, *s_isoformat, *s_decode, *s_total_seconds,
        *s_from_attributes, *s_fr_open, *s_add_done_callback, *s_result, *s_detail,
        *s_headers, *s_items, *s_tasks, *s_dataclass_fields, *s_aiter, *s_send,
        *s_request, *s_exception, *s_anext, *s_type, *s_dump_python, *s_state, *s_first, *s_create_task;
    PyObject *kw_from_attr;  /* ("from_attributes",) */
    int ready;
} G;

enum { SRC_PATH, SRC_QUERY, SRC_HEADER, SRC_COOKIE, SRC_BODY, SRC_BODY_FIELD, SRC_FORM_FIELD,
       SRC_REQUEST, SRC_RESPONSE, SRC_BACKGROUND, SRC_CONST, SRC_DEP };
enum { CONV_ANY, CONV_STR, CONV_INT, CONV_FLOAT, CONV_BOOL };
enum { KIND_SYNC, KIND_ASYNC, KIND_GEN, KIND_AGEN };
enum { RESP_JSON, RESP_DUMP, RESP_CLASS };

typedef struct {
    PyObject *kwname, *key, *default_, *adapter, *loc;
    PyObject *validator; /* adapter.validate_python (owned), NULL without adapter */
    char *ckey;       /* UTF-8 key (alias / header name lowercased) */
    size_t ckey_len;
    int source, conv, required, copy_default, is_list, dep;
} pparam;

typedef struct {
    PyObject *call, *kwnames;
    int kind;
    int fscope; /* generator with Depends(scope="function") */
    Py_ssize_t nparams;
    pparam *params;
} pnode;

typedef struct pplan {
    PyObject *tuple; /* keeps everything alive */
    Py_ssize_t nnodes;
    pnode *nodes;
    int body_mode, flags;
    int status_code, resp_mode;
    PyObject *resp_adapter, *dump_kwargs, *resp_class, *route;
    PyObject *resp_validate; /* resp_adapter.validate_python (owned) or NULL */
    struct pplan *old; /* superseded plans are kept alive (requests may use them) */
} pplan;

struct server;

typedef struct {
    struct server *srv;
    pplan *plan;
    long version;
    PyObject *route_obj;
    char *method, *path; /* for logs */
} proute;

/* ------------------------------------------------------------------ */
/* per-request context                                                 */

typedef struct { const char *k; size_t kl; const char *v; size_t vl; } kvpair;

enum { JOB_RUN, JOB_RESUME, JOB_STREAM, JOB_AFTER, JOB_HANDLER, JOB_AIO_STREAM, JOB_FALLBACK,
       JOB_UNWIND, JOB_FUNWIND };

typedef struct rctx {
    struct rctx *next;
    int job;
    fr_req *req;
    proute *rt;
    pplan *plan;
    int node;
    PyObject **vals;
    char *failed;
    PyObject *errors;
    PyObject *body;      /* parsed body or NULL = Undefined */
    int body_parsed;
    kvpair *query; size_t nquery; int query_parsed;
    kvpair *cookies; size_t ncookies; int cookies_parsed;
    PyObject *form;      /* list of (name, value) or NULL */
    PyObject *request, *subresp, *bg, *teardowns;
    PyObject *pending;   /* suspended coroutine's task / pending response */
    PyObject *exc;       /* exception to handle (JOB_HANDLER) or passed to teardown */
    PyObject *result;    /* response object being streamed etc */
    PyObject *srv_ref;   /* keeps the server (routes, plans) alive until freed */
    int status;
    int after_simple;    /* post-response work is only plain generator teardowns */
    int unwound;         /* error path: teardowns already ran before the response */
    PyObject *fteardowns; /* scope="function" generators: exited before the response */
} rctx;

/* ------------------------------------------------------------------ */
/* job queues                                                          */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    rctx *head, *tail;
    int stopping;
} jqueue;

static jqueue POOL = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0};
static jqueue AIO = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0};
static int pool_started, pool_size = 40, pool_idle;
static int aio_fd_r = -1, aio_fd_w = -1;
static pthread_t loop_thread_id;
static int loop_thread_set;

static rctx *jq_pop_all(jqueue *q) {
    pthread_mutex_lock(&q->mu);
    rctx *h = q->head;
    q->head = q->tail = NULL;
    pthread_mutex_unlock(&q->mu);
    return h;
}

static void aio_push(rctx *c) {
    pthread_mutex_lock(&AIO.mu);
    int was_empty = AIO.head == NULL;
    c->next = NULL;
    if (AIO.tail) AIO.tail->next = c; else AIO.head = c;
    AIO.tail = c;
    pthread_mutex_unlock(&AIO.mu);
    if (was_empty && aio_fd_w >= 0) {
        uint64_t one = 1;
        ssize_t r;
        do { r = write(aio_fd_w, &one, sizeof one); } while (r < 0 && errno == EINTR);
        (void)r;
    }
}

static int on_loop_thread(void) {
    return loop_thread_set && pthread_equal(pthread_self(), loop_thread_id);
}

static void run_job(rctx *c);

/* The pool: one worker at a time normally holds the GIL and drains the queue
 * in a batch (waking more threads only makes them fight over the GIL). A
 * monitor wakes another worker when the queue made no progress for 1 ms --
 * i.e. the active handler blocks (sleep, I/O) -- so a blocking handler never
 * stalls the others. */
static volatile int g_exiting; /* set at interpreter exit: C threads stop taking the GIL */
static int pool_active;
static uint64_t pool_progress;
static pthread_cond_t MON_CV = PTHREAD_COND_INITIALIZER;

static void pool_push(rctx *c) {
    c->next = NULL;
    pthread_mutex_lock(&POOL.mu);
    int was_empty = POOL.head == NULL;
    if (POOL.tail) POOL.tail->next = c; else POOL.head = c;
    POOL.tail = c;
    if (pool_active == 0) pthread_cond_signal(&POOL.cv);
    else if (was_empty) pthread_cond_signal(&MON_CV);
    pthread_mutex_unlock(&POOL.mu);
}

static void *pool_monitor(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&POOL.mu);
        while (!POOL.head || pool_active == 0) {
            if (POOL.head && pool_active == 0) pthread_cond_signal(&POOL.cv);
            pthread_cond_wait(&MON_CV, &POOL.mu);
        }
        uint64_t p = pool_progress;
        pthread_mutex_unlock(&POOL.mu);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&POOL.mu);
        if (POOL.head && pool_progress == p) pthread_cond_signal(&POOL.cv);
        pthread_mutex_unlock(&POOL.mu);
    }
    return NULL;
}

static void *pool_main(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&POOL.mu);
        pool_idle++;
        while (!POOL.head && !POOL.stopping) pthread_cond_wait(&POOL.cv, &POOL.mu);
        pool_idle--;
        if (POOL.stopping && !POOL.head) {
            pthread_mutex_unlock(&POOL.mu);
            return NULL;
        }
        pool_active++;
        pthread_mutex_unlock(&POOL.mu);
        if (g_exiting) return NULL;
        PyGILState_STATE st = PyGILState_Ensure();
        /* batch: keep the GIL while work is queued */
        for (;;) {
            pthread_mutex_lock(&POOL.mu);
            rctx *c = POOL.head;
            if (c) {
                POOL.head = c->next;
                if (!POOL.head) POOL.tail = NULL;
                pool_progress++;
                if (POOL.head) pthread_cond_signal(&MON_CV);
            } else {
                pool_active--;
            }
            pthread_mutex_unlock(&POOL.mu);
            if (!c) break;
            run_job(c);
        }
        PyGILState_Release(st);
    }
}

static int pool_start(void) {
    if (pool_started) return 0;
    for (int i = 0; i < pool_size; i++) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 1 << 20);
        int rc = pthread_create(&t, &at, pool_main, NULL);
        pthread_attr_destroy(&at);
        if (rc != 0) {
            if (i == 0) return -1;
            break;
        }
    }
    pthread_t mt;
    if (pthread_create(&mt, NULL, pool_monitor, NULL) == 0) pthread_detach(mt);
    pool_started = 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* access log: loop threads append lines; a C thread logs them with GIL */

static pthread_mutex_t LOG_MU = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t LOG_CV = PTHREAD_COND_INITIALIZER;
static fr_buf LOG_BUF;
static int log_started;

static void *log_main(void *arg) {
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
        if (s && G.rt_log_access) {
            PyObject *r = PyObject_CallOneArg(G.rt_log_access, s);
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

static void access_cb(fr_req *req, int status, uint64_t bytes, double ms, void *ud) {
    (void)bytes; (void)ms; (void)ud;
    fr_str m = fr_req_method(req), t = fr_req_target(req), a = fr_req_client_addr(req);
    pthread_mutex_lock(&LOG_MU);
    if (LOG_BUF.len < (1u << 22))
        fr_buf_printf(&LOG_BUF, "%.*s:%d - \"%.*s %.*s HTTP/1.%d\" %d\n", (int)a.len, a.buf,
                      fr_req_client_port(req), (int)m.len, m.buf, (int)t.len, t.buf,
                      fr_req_http_minor(req), status);
    pthread_cond_signal(&LOG_CV);
    pthread_mutex_unlock(&LOG_MU);
}

/* ------------------------------------------------------------------ */
/* JSON encoding: Python objects -> bytes, jsonable_encoder semantics  */

static int enc(fr_buf *b, PyObject *o);

static int enc_float(fr_buf *b, double d) {
    char tmp[32];
    int n = fr_json_format_double(d, tmp);
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "Out of range float values are not JSON compliant");
        return -1;
    }
    return fr_buf_append(b, tmp, (size_t)n);
}

static int enc_str(fr_buf *b, PyObject *s) {
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (!u) return -1;
    if (fr_json_write_string(b, u, (size_t)n) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static int enc_long(fr_buf *b, PyObject *o) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (!overflow) {
        if (v == -1 && PyErr_Occurred()) return -1;
        char tmp[24];
        int n = snprintf(tmp, sizeof tmp, "%lld", v);
        return fr_buf_append(b, tmp, (size_t)n);
    }
    PyObject *s = PyLong_Type.tp_repr(o);
    if (!s) return -1;
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    int r = u ? fr_buf_append(b, u, (size_t)n) : -1;
    Py_DECREF(s);
    return r;
}

/* dict key as json.dumps writes it (after jsonable_encoder) */
static int enc_key(fr_buf *b, PyObject *k) {
    if (PyUnicode_Check(k)) return enc_str(b, k);
    if (k == Py_None) return fr_buf_append_str(b, "\"null\"");
    if (k == Py_True) return fr_buf_append_str(b, "\"true\"");
    if (k == Py_False) return fr_buf_append_str(b, "\"false\"");
    if (PyLong_Check(k)) {
        if (fr_buf_append_char(b, '"') < 0 || enc_long(b, k) < 0) return -1;
        return fr_buf_append_char(b, '"');
    }
    if (PyFloat_Check(k)) {
        if (fr_buf_append_char(b, '"') < 0 || enc_float(b, PyFloat_AS_DOUBLE(k)) < 0) return -1;
        return fr_buf_append_char(b, '"');
    }
    /* UUID, Enum, date...: encode through jsonable_encoder, then as a key */
    PyObject *e = PyObject_CallOneArg(G.jsonable_encoder, k);
    if (!e) return -1;
    int r;
    if (PyUnicode_Check(e) || PyLong_Check(e) || PyFloat_Check(e) || e == Py_None)
        r = enc_key(b, e);
    else {
        PyErr_Format(PyExc_TypeError, "keys must be str, int, float, bool or None, not %.100s",
                     Py_TYPE(e)->tp_name);
        r = -1;
    }
    Py_DECREF(e);
    return r;
}

static int enc_dict(fr_buf *b, PyObject *o) {
    if (fr_buf_append_char(b, '{') < 0) return -1;
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    int first = 1;
    while (PyDict_Next(o, &pos, &k, &v)) {
        if (PyUnicode_Check(k) && PyUnicode_GET_LENGTH(k) >= 3 &&
            PyUnicode_READ_CHAR(k, 0) == '_' && PyUnicode_READ_CHAR(k, 1) == 's' &&
            PyUnicode_READ_CHAR(k, 2) == 'a')
            continue; /* jsonable_encoder(sqlalchemy_safe=True) drops "_sa*" keys */
        if (!first && fr_buf_append_char(b, ',') < 0) return -1;
        first = 0;
        Py_INCREF(k);
        Py_INCREF(v);
        int r = enc_key(b, k);
        if (r == 0) r = fr_buf_append_char(b, ':');
        if (r == 0) r = enc(b, v);
        Py_DECREF(k);
        Py_DECREF(v);
        if (r < 0) return -1;
    }
    return fr_buf_append_char(b, '}');
}

static int enc_iter(fr_buf *b, PyObject *o) {
    if (fr_buf_append_char(b, '[') < 0) return -1;
    if (PyList_CheckExact(o) || PyTuple_CheckExact(o)) {
        PyObject *fast = o;
        Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i && fr_buf_append_char(b, ',') < 0) return -1;
            PyObject *it = PySequence_Fast_GET_ITEM(fast, i);
            Py_INCREF(it);
            int r = enc(b, it);
            Py_DECREF(it);
            if (r < 0) return -1;
            n = PySequence_Fast_GET_SIZE(fast);
        }
    } else {
        PyObject *iter = PyObject_GetIter(o);
        if (!iter) return -1;
        PyObject *it;
        int first = 1;
        while ((it = PyIter_Next(iter))) {
            int r = first ? 0 : fr_buf_append_char(b, ',');
            first = 0;
            if (r == 0) r = enc(b, it);
            Py_DECREF(it);
            if (r < 0) {
                Py_DECREF(iter);
                return -1;
            }
        }
        Py_DECREF(iter);
        if (PyErr_Occurred()) return -1;
    }
    return fr_buf_append_char(b, ']');
}

static int enc_result(fr_buf *b, PyObject *r) {
    if (!r) return -1;
    int rc = enc(b, r);
    Py_DECREF(r);
    return rc;
}

static int enc_slow(fr_buf *b, PyObject *o) {
    PyTypeObject *t = Py_TYPE(o);
    int is;
    if ((is = PyObject_IsInstance(o, G.BaseModel)) != 0) {
        if (is < 0) return -1;
        PyObject *kw = PyDict_New();
        if (!kw) return -1;
        PyDict_SetItem(kw, G.s_mode, G.s_json);
        PyObject *m = PyObject_GetAttr(o, G.s_model_dump);
        PyObject *r = m ? PyObject_Call(m, G.empty_tuple, kw) : NULL;
        Py_XDECREF(m);
        Py_DECREF(kw);
        return enc_result(b, r);
    }
    if ((is = PyObject_IsInstance(o, G.Enum)) != 0) {
        if (is < 0) return -1;
        return enc_result(b, PyObject_GetAttr(o, G.s_value));
    }
    if (PyUnicode_Check(o)) return enc_str(b, o);
    if (PyLong_Check(o)) return enc_long(b, o);
    if (PyFloat_Check(o)) return enc_float(b, PyFloat_AsDouble(o));
    if (PyDict_Check(o)) return enc_dict(b, o);
    if (PyList_Check(o) || PyTuple_Check(o) || PyAnySet_Check(o) || PyGen_Check(o))
        return enc_iter(b, o);
    if (PyObject_HasAttr((PyObject *)t, G.s_dataclass_fields) && !PyType_Check(o))
        return enc_result(b, PyObject_CallOneArg(G.asdict, o));
    if (PyObject_TypeCheck(o, (PyTypeObject *)G.dt) || PyObject_TypeCheck(o, (PyTypeObject *)G.date) ||
        PyObject_TypeCheck(o, (PyTypeObject *)G.time)) {
        PyObject *s = PyObject_CallMethodNoArgs(o, G.s_isoformat);
        if (!s) return -1;
        int r = enc_str(b, s);
        Py_DECREF(s);
        return r;
    }
    if (PyObject_TypeCheck(o, (PyTypeObject *)G.UUID)) {
        PyObject *s = PyObject_Str(o);
        if (!s) return -1;
        int r = enc_str(b, s);
        Py_DECREF(s);
        return r;
    }
    if (PyObject_TypeCheck(o, (PyTypeObject *)G.Decimal))
        return enc_result(b, PyObject_CallOneArg(G.decimal_encoder, o));
    if (PyBytes_Check(o)) {
        PyObject *s = PyUnicode_FromEncodedObject(o, "utf-8", "strict");
        if (!s) return -1;
        int r = enc_str(b, s);
        Py_DECREF(s);
        return r;
    }
    PyObject *r = PyObject_CallOneArg(G.jsonable_encoder, o);
    if (!r) return -1;
    /* the fallback must produce JSON-native values; guard against loops */
    if (Py_TYPE(r) == t && !PyDict_Check(r) && !PyList_Check(r)) {
        Py_DECREF(r);
        PyErr_Format(PyExc_TypeError, "Object of type %.100s is not JSON serializable", t->tp_name);
        return -1;
    }
    return enc_result(b, r);
}

static int enc(fr_buf *b, PyObject *o) {
    PyTypeObject *t = Py_TYPE(o);
    if (o == Py_None) return fr_buf_append(b, "null", 4);
    if (o == Py_True) return fr_buf_append(b, "true", 4);
    if (o == Py_False) return fr_buf_append(b, "false", 5);
    if (t == &PyUnicode_Type) return enc_str(b, o);
    if (t == &PyLong_Type) return enc_long(b, o);
    if (t == &PyFloat_Type) return enc_float(b, PyFloat_AS_DOUBLE(o));
    if (Py_EnterRecursiveCall(" while encoding a JSON response")) return -1;
    int r;
    if (t == &PyDict_Type) r = enc_dict(b, o);
    else if (t == &PyList_Type || t == &PyTuple_Type) r = enc_iter(b, o);
    else r = enc_slow(b, o);
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
} jdec;

static int jd_value(jdec *d, PyObject *v) {
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
static int jd_null(void *c) { Py_INCREF(Py_None); return jd_value(c, Py_None); }
static int jd_bool(void *c, int v) { return jd_value(c, PyBool_FromLong(v)); }
static int jd_int(void *c, int64_t v) { return jd_value(c, PyLong_FromLongLong((long long)v)); }
static int jd_big(void *c, const char *s, size_t n) {
    char tmp[512];
    if (n >= sizeof tmp) { /* beyond Python's int-str limit anyway: let json.loads decide */
        PyErr_SetString(PyExc_ValueError, "integer too long");
        return -1;
    }
    memcpy(tmp, s, n);
    tmp[n] = 0;
    return jd_value(c, PyLong_FromString(tmp, NULL, 10));
}
static int jd_double(void *c, double v) { return jd_value(c, PyFloat_FromDouble(v)); }
static int jd_string(void *c, const char *s, size_t n) {
    return jd_value(c, PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "surrogatepass"));
}
static int jd_key(void *c, const char *s, size_t n) {
    jdec *d = c;
    PyObject *k = PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "surrogatepass");
    if (!k) return -1;
    Py_XSETREF(d->keys[d->depth - 1], k);
    return 0;
}
static int jd_start(jdec *d, PyObject *o) {
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
static int jd_end(void *c) {
    jdec *d = c;
    d->depth--;
    PyObject *o = d->stack[d->depth];
    Py_CLEAR(d->keys[d->depth]);
    return jd_value(d, o);
}
static int jd_sobj(void *c) { return jd_start(c, PyDict_New()); }
static int jd_sarr(void *c) { return jd_start(c, PyList_New(0)); }

static const fr_json_sax JD_SAX = {jd_null, jd_bool, jd_int, jd_big, jd_double, jd_string,
                                   jd_key, jd_sobj, jd_end, jd_sarr, jd_end};

/* Returns a new reference, or NULL with no exception set when the C reader
 * refused the input (caller falls back to json.loads), or NULL with an
 * exception on a Python error. */
static PyObject *json_decode(const char *buf, size_t len) {
    jdec d;
    d.depth = 0;
    d.root = NULL;
    fr_err err = {0, NULL, 0};
    int rc = fr_json_parse_events(buf, len, &JD_SAX, &d, 0, &err);
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

static void plan_free(pplan *p) {
    if (!p) return;
    for (Py_ssize_t i = 0; i < p->nnodes; i++) {
        for (Py_ssize_t j = 0; j < p->nodes[i].nparams; j++) {
            free(p->nodes[i].params[j].ckey);
            Py_XDECREF(p->nodes[i].params[j].validator);
        }
        free(p->nodes[i].params);
    }
    free(p->nodes);
    Py_XDECREF(p->resp_validate);
    Py_XDECREF(p->tuple);
    free(p);
}

static pplan *plan_parse(PyObject *t) {
    PyObject *nodes, *resp, *route;
    int body_mode, flags;
    if (!PyArg_ParseTuple(t, "O!iO!Oi", &PyTuple_Type, &nodes, &body_mode, &PyTuple_Type, &resp,
                          &route, &flags))
        return NULL;
    pplan *p = calloc(1, sizeof *p);
    if (!p) return (pplan *)PyErr_NoMemory();
    Py_INCREF(t);
    p->tuple = t;
    p->body_mode = body_mode;
    p->flags = flags;
    p->route = route;
    PyObject *status;
    if (!PyArg_ParseTuple(resp, "OiOOO", &status, &p->resp_mode, &p->resp_adapter,
                          &p->dump_kwargs, &p->resp_class))
        goto fail;
    p->status_code = status == Py_None ? 0 : (int)PyLong_AsLong(status);
    if (p->resp_adapter != Py_None &&
        !(p->resp_validate = PyObject_GetAttr(p->resp_adapter, G.s_validate_python)))
        goto fail;
    if (PyErr_Occurred()) goto fail;
    p->nnodes = PyTuple_GET_SIZE(nodes);
    if (p->nnodes < 1) {
        PyErr_SetString(PyExc_ValueError, "plan without endpoint");
        goto fail;
    }
    p->nodes = calloc((size_t)p->nnodes, sizeof(pnode));
    if (!p->nodes) { PyErr_NoMemory(); goto fail; }
    for (Py_ssize_t i = 0; i < p->nnodes; i++) {
        pnode *n = &p->nodes[i];
        PyObject *params;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(nodes, i), "OiO!|i", &n->call, &n->kind,
                              &PyTuple_Type, &params, &n->fscope))
            goto fail;
        n->nparams = PyTuple_GET_SIZE(params);
        n->params = calloc((size_t)n->nparams + 1, sizeof(pparam));
        if (!n->params) { PyErr_NoMemory(); goto fail; }
        n->kwnames = PyTuple_New(n->nparams);
        if (!n->kwnames) goto fail;
        /* the kwnames tuple is owned by the plan: park it inside the call
         * list so plan_free's DECREF of the tuple does not free it early */
        for (Py_ssize_t j = 0; j < n->nparams; j++) {
            pparam *pp = &n->params[j];
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(params, j), "UiOiiOiOOi", &pp->kwname,
                                  &pp->source, &pp->key, &pp->conv, &pp->required,
                                  &pp->default_, &pp->copy_default, &pp->adapter, &pp->loc,
                                  &pp->is_list))
                goto fail;
            Py_INCREF(pp->kwname);
            PyTuple_SET_ITEM(n->kwnames, j, pp->kwname);
            if (pp->adapter == Py_None) pp->adapter = NULL;
            if (pp->adapter && !(pp->validator = PyObject_GetAttr(pp->adapter, G.s_validate_python)))
                goto fail;
            if (pp->source == SRC_DEP) {
                pp->dep = (int)PyLong_AsLong(pp->key);
                if (pp->dep < 0 || pp->dep >= i) {
                    PyErr_SetString(PyExc_ValueError, "plan: dependency index out of order");
                    goto fail;
                }
            } else if (PyUnicode_Check(pp->key)) {
                Py_ssize_t kl;
                const char *k = PyUnicode_AsUTF8AndSize(pp->key, &kl);
                if (!k) goto fail;
                pp->ckey = malloc((size_t)kl + 1);
                if (!pp->ckey) { PyErr_NoMemory(); goto fail; }
                memcpy(pp->ckey, k, (size_t)kl + 1);
                pp->ckey_len = (size_t)kl;
            }
        }
    }
    return p;
fail:
    for (Py_ssize_t i = 0; p->nodes && i < p->nnodes; i++) Py_CLEAR(p->nodes[i].kwnames);
    plan_free(p);
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
    volatile long version; /* bumped when dependency_overrides change */
    proute **rts;
    size_t nrts, caprts;
    int serving;
    int inline_sync;      /* experiment knob: run sync routes on the engine thread */
    proute fallback_rt;   /* unmatched requests with a custom 404/405 handler */
    pplan fallback_plan;
} server;

static PyTypeObject ServerType;

/* ------------------------------------------------------------------ */
/* helpers for request data                                            */

static PyObject *str_utf8(const char *s, size_t n) {
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "replace");
}

static kvpair *parse_pairs(fr_req *req, const char *s, size_t len, char sep, int decode,
                           size_t *count) {
    size_t n = 0, cap = 8;
    fr_arena *a = fr_req_arena(req);
    kvpair *out = fr_arena_alloc(a, cap * sizeof(kvpair));
    if (!out) return NULL;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && s[j] != sep) j++;
        if (j > i) {
            const char *seg = s + i;
            size_t sl = j - i;
            const char *eq = memchr(seg, '=', sl);
            const char *k = seg, *v;
            size_t kl, vl;
            if (eq) {
                kl = (size_t)(eq - seg);
                v = eq + 1;
                vl = sl - kl - 1;
            } else {
                kl = sl;
                v = seg + sl;
                vl = 0;
            }
            if (n == cap) {
                kvpair *nw = fr_arena_alloc(a, cap * 2 * sizeof(kvpair));
                if (!nw) return NULL;
                memcpy(nw, out, n * sizeof(kvpair));
                out = nw;
                cap *= 2;
            }
            if (decode) {
                char *kd = fr_arena_strdup(a, k, kl), *vd = fr_arena_strdup(a, v, vl);
                if (!kd || !vd) return NULL;
                kl = (size_t)fr_url_decode(kd, kd, kl, 1);
                vl = (size_t)fr_url_decode(vd, vd, vl, 1);
                k = kd;
                v = vd;
            } else {
                while (kl && (*k == ' ' || *k == '\t')) { k++; kl--; }
                while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t')) kl--;
                while (vl && (*v == ' ' || *v == '\t')) { v++; vl--; }
                while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
                if (!eq) { v = k; vl = kl; k = ""; kl = 0; }
                if (kl == 0 && vl == 0) { i = j + 1; continue; }
                if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') { v++; vl -= 2; }
            }
            out[n].k = k; out[n].kl = kl; out[n].v = v; out[n].vl = vl;
            n++;
        }
        i = j + 1;
    }
    *count = n;
    return out;
}

static int ctx_query(rctx *c) {
    if (!c->query_parsed) {
        fr_str q = fr_req_query(c->req);
        c->query = parse_pairs(c->req, q.buf ? q.buf : "", q.len, '&', 1, &c->nquery);
        if (!c->query) { PyErr_NoMemory(); return -1; }
        c->query_parsed = 1;
    }
    return 0;
}

static int ctx_cookies(rctx *c) {
    if (!c->cookies_parsed) {
        fr_str h = fr_req_header(c->req, "cookie");
        c->cookies = parse_pairs(c->req, h.buf ? h.buf : "", h.buf ? h.len : 0, ';', 0,
                                 &c->ncookies);
        if (!c->cookies) { PyErr_NoMemory(); return -1; }
        c->cookies_parsed = 1;
    }
    return 0;
}

static PyObject *make_error(const char *type, PyObject *loc, const char *msg, PyObject *input) {
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

static int add_error(rctx *c, PyObject *err) {
    if (!err) return -1;
    if (!c->errors && !(c->errors = PyList_New(0))) { Py_DECREF(err); return -1; }
    int r = PyList_Append(c->errors, err);
    Py_DECREF(err);
    return r;
}

/* adapter.validate_python(value, from_attributes=True); on ValidationError
 * the errors (loc prefixed) are appended and *out stays NULL. */
static int validate(rctx *c, PyObject *meth, PyObject *value, PyObject *loc, PyObject **out) {
    PyObject *args[3] = {NULL, value, Py_True};
    PyObject *r = PyObject_Vectorcall(meth, args + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                      G.kw_from_attr);
    if (r) { *out = r; return 0; }
    if (!PyErr_ExceptionMatches(G.ValidationError)) return -1;
    PyObject *exc = fr_py_take_exc();
    PyObject *kw = PyDict_New();
    PyObject *errs = NULL, *m = NULL;
    if (kw && PyDict_SetItem(kw, G.s_include_url, Py_False) == 0 &&
        (m = PyObject_GetAttr(exc, G.s_errors)))
        errs = PyObject_Call(m, G.empty_tuple, kw);
    Py_XDECREF(m);
    Py_XDECREF(kw);
    Py_DECREF(exc);
    if (!errs) return -1;
    Py_ssize_t n = PyList_GET_SIZE(errs);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(errs, i);
        PyObject *el = PyDict_GetItemWithError(e, G.s_loc);
        PyObject *nl = el ? PySequence_Concat(loc, el) : (Py_INCREF(loc), loc);
        if (!nl || PyDict_SetItem(e, G.s_loc, nl) < 0) { Py_XDECREF(nl); Py_DECREF(errs); return -1; }
        Py_DECREF(nl);
        Py_INCREF(e);
        if (add_error(c, e) < 0) { Py_DECREF(errs); return -1; }
    }
    Py_DECREF(errs);
    return 0;
}

static int is_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return n > 0;
}

/* Coerce one raw string. Fast C paths for canonical scalars, otherwise the
 * TypeAdapter decides (so errors are exactly pydantic's). */
static int coerce(rctx *c, pparam *p, const char *s, size_t n, PyObject **out) {
    switch (p->conv) {
    case CONV_STR:
        if (!p->adapter) { *out = str_utf8(s, n); return *out ? 0 : -1; }
        break;
    case CONV_INT: {
        const char *d = s;
        size_t dn = n;
        if (dn && *d == '-') { d++; dn--; }
        if (dn && dn <= 18 && is_digits(d, dn) && (dn == 1 || d[0] != '0')) {
            int64_t v;
            if (fr_str_to_i64((fr_str){s, n}, &v) == 0) {
                *out = PyLong_FromLongLong((long long)v);
                return *out ? 0 : -1;
            }
        }
        break;
    }
    case CONV_FLOAT: {
        const char *d = s;
        size_t dn = n, k = 0;
        if (dn && *d == '-') { d++; dn--; }
        while (k < dn && d[k] >= '0' && d[k] <= '9') k++;
        int ok = k > 0 && k <= 15 && (k == 1 || d[0] != '0');
        if (ok && k < dn) {
            ok = d[k] == '.' && dn - k - 1 >= 1 && dn - k - 1 <= 15 && is_digits(d + k + 1, dn - k - 1);
        }
        double v;
        if (ok && fr_str_to_double((fr_str){s, n}, &v) == 0) {
            *out = PyFloat_FromDouble(v);
            return *out ? 0 : -1;
        }
        break;
    }
    case CONV_BOOL:
        if ((n == 4 && !memcmp(s, "true", 4)) || (n == 1 && s[0] == '1')) {
            *out = Py_NewRef(Py_True);
            return 0;
        }
        if ((n == 5 && !memcmp(s, "false", 5)) || (n == 1 && s[0] == '0')) {
            *out = Py_NewRef(Py_False);
            return 0;
        }
        break;
    default:
        break;
    }
    PyObject *v = str_utf8(s, n);
    if (!v) return -1;
    if (!p->adapter) { *out = v; return 0; }
    int r = validate(c, p->validator, v, p->loc, out);
    Py_DECREF(v);
    return r;
}

static PyObject *default_value(pparam *p) {
    if (p->copy_default) return PyObject_CallOneArg(G.deepcopy, p->default_);
    return Py_NewRef(p->default_);
}

static int missing(rctx *c, pparam *p, PyObject **out) {
    if (p->required)
        return add_error(c, make_error("missing", p->loc, "Field required", Py_None));
    *out = default_value(p);
    return *out ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* body                                                                */

static int json_content_type(fr_str ct) {
    if (!ct.buf) return 0; /* no content-type: FastAPI (strict_content_type) keeps bytes */
    size_t n = ct.len, i = 0;
    const char *s = ct.buf;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    size_t st = i;
    while (i < n && s[i] != ';') i++;
    size_t e = i;
    while (e > st && (s[e - 1] == ' ' || s[e - 1] == '\t')) e--;
    fr_str mt = {s + st, e - st};
    const char *slash = memchr(mt.buf, '/', mt.len);
    if (!slash) return 0;
    fr_str main = {mt.buf, (size_t)(slash - mt.buf)}, sub = {slash + 1, mt.len - main.len - 1};
    if (!fr_str_ieq_c(main, "application")) return 0;
    if (fr_str_ieq_c(sub, "json")) return 1;
    return sub.len >= 5 && fr_str_ieq_c((fr_str){sub.buf + sub.len - 5, 5}, "+json");
}

/* Returns 0 ok, 1 if a response-terminating error was raised (exception set). */
static int ctx_body(rctx *c) {
    if (c->body_parsed) return 0;
    c->body_parsed = 1;
    fr_str b = fr_req_body(c->req);
    fr_str ct = fr_req_header(c->req, "content-type");
    if (c->plan->body_mode == 2 && ct.buf &&
        fr_str_ieq_c((fr_str){ct.buf, FR__MIN(ct.len, (size_t)33)}, "application/x-www-form-urlencoded") &&
        (ct.len == 33 || ct.buf[33] == ';' || ct.buf[33] == ' ')) {
        /* urlencoded forms are parsed here, like query strings */
        size_t n = 0;
        kvpair *kv = parse_pairs(c->req, b.buf ? b.buf : "", b.len, '&', 1, &n);
        if (!kv) { PyErr_NoMemory(); return -1; }
        PyObject *lst = PyList_New((Py_ssize_t)n);
        if (!lst) return -1;
        for (size_t i = 0; i < n; i++) {
            PyObject *t = Py_BuildValue("(NN)", str_utf8(kv[i].k, kv[i].kl), str_utf8(kv[i].v, kv[i].vl));
            if (!t) { Py_DECREF(lst); return -1; }
            PyList_SET_ITEM(lst, (Py_ssize_t)i, t);
        }
        c->form = lst;
        return 0;
    }
    if (c->plan->body_mode == 2) {
        PyObject *ctype = ct.buf ? PyUnicode_DecodeLatin1(ct.buf, (Py_ssize_t)ct.len, NULL)
                                 : Py_NewRef(Py_None);
        PyObject *bytes = PyBytes_FromStringAndSize(b.buf ? b.buf : "", (Py_ssize_t)b.len);
        PyObject *r = NULL;
        if (ctype && bytes) r = PyObject_CallFunctionObjArgs(G.rt_parse_multipart, bytes, ctype, NULL);
        Py_XDECREF(ctype);
        Py_XDECREF(bytes);
        if (!r) return -1;
        c->form = r;
        return 0;
    }
    if (b.len == 0) return 0;
    if (!json_content_type(ct)) {
        c->body = PyBytes_FromStringAndSize(b.buf, (Py_ssize_t)b.len);
        return c->body ? 0 : -1;
    }
    c->body = json_decode(b.buf, b.len);
    if (c->body) return 0;
    if (PyErr_Occurred()) return -1;
    /* C reader refused: json.loads decides (NaN accepted, exact error text) */
    PyObject *bytes = PyBytes_FromStringAndSize(b.buf, (Py_ssize_t)b.len);
    if (!bytes) return -1;
    c->body = PyObject_CallOneArg(G.json_loads, bytes);
    Py_DECREF(bytes);
    if (c->body) return 0;
    if (PyErr_ExceptionMatches(G.JSONDecodeError)) {
        PyObject *exc = fr_py_take_exc();
        PyObject *pos = PyObject_GetAttrString(exc, "pos");
        PyObject *msg = PyObject_GetAttrString(exc, "msg");
        PyObject *doc = PyObject_GetAttrString(exc, "doc");
        Py_DECREF(exc);
        if (!pos || !msg || !doc) { Py_XDECREF(pos); Py_XDECREF(msg); Py_XDECREF(doc); return -1; }
        PyObject *loc = Py_BuildValue("(sO)", "body", pos);
        PyObject *input = PyDict_New();
        PyObject *err = loc && input ? make_error("json_invalid", loc, "JSON decode error", input) : NULL;
        PyObject *ctx = Py_BuildValue("{sO}", "error", msg);
        if (err && ctx) PyDict_SetItemString(err, "ctx", ctx);
        Py_XDECREF(ctx); Py_XDECREF(loc); Py_XDECREF(input); Py_DECREF(pos); Py_DECREF(msg);
        if (!err) { Py_DECREF(doc); return -1; }
        PyObject *lst = PyList_New(1);
        if (!lst) { Py_DECREF(err); Py_DECREF(doc); return -1; }
        PyList_SET_ITEM(lst, 0, err);
        PyObject *kw = Py_BuildValue("{sO}", "body", doc);
        PyObject *args = PyTuple_Pack(1, lst);
        PyObject *e = kw && args ? PyObject_Call(G.RequestValidationError, args, kw) : NULL;
        Py_XDECREF(kw); Py_XDECREF(args); Py_DECREF(lst); Py_DECREF(doc);
        if (!e) return -1;
        PyErr_SetObject(G.RequestValidationError, e);
        Py_DECREF(e);
        return 1;
    }
    PyErr_Clear();
    PyObject *e = PyObject_CallFunction(G.HTTPException, "is", 400,
                                        "There was an error parsing the body");
    if (!e) return -1;
    PyErr_SetObject(G.HTTPException, e);
    Py_DECREF(e);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Request object (built only when a handler asks for it)              */

static PyObject *ctx_request(rctx *c) {
    if (c->request) return Py_NewRef(c->request);
    fr_req *r = c->req;
    PyObject *scope = PyDict_New();
    if (!scope) return NULL;
    fr_str m = fr_req_method(r), p = fr_req_path(r), rp = fr_req_raw_path(r), q = fr_req_query(r);
    fr_str b = fr_req_body(r), ca = fr_req_client_addr(r);
    PyObject *hdrs = PyList_New(0), *pp = PyDict_New();
    int ok = hdrs && pp;
    for (size_t i = 0; ok && i < fr_req_num_headers(r); i++) {
        fr_str hn, hv;
        fr_req_header_at(r, i, &hn, &hv);
        char low[256];
        size_t ln = hn.len < sizeof low ? hn.len : sizeof low;
        for (size_t k = 0; k < ln; k++) low[k] = (char)fr__tolower((unsigned char)hn.buf[k]);
        PyObject *t = Py_BuildValue("(y#y#)", low, (Py_ssize_t)ln, hv.buf, (Py_ssize_t)hv.len);
        ok = t && PyList_Append(hdrs, t) == 0;
        Py_XDECREF(t);
    }
    for (size_t i = 0; ok && i < fr_req_num_params(r); i++) {
        fr_str pn, pv;
        fr_req_param_at(r, i, &pn, &pv);
        PyObject *k = str_utf8(pn.buf, pn.len), *v = str_utf8(pv.buf, pv.len);
        ok = k && v && PyDict_SetItem(pp, k, v) == 0;
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    if (ok) {
        PyObject *v = Py_BuildValue(
            "{s:s,s:s#,s:s#,s:y#,s:y#,s:O,s:O,s:(s#i),s:y#,s:O,s:s,s:s}", "type", "http", "method",
            m.buf, (Py_ssize_t)m.len, "path", p.buf, (Py_ssize_t)p.len, "raw_path", rp.buf,
            (Py_ssize_t)rp.len, "query_string", q.buf ? q.buf : "", (Py_ssize_t)q.len, "headers",
            hdrs, "path_params", pp, "client", ca.buf ? ca.buf : "", (Py_ssize_t)ca.len,
            fr_req_client_port(r), "body", b.buf ? b.buf : "", (Py_ssize_t)b.len, "app",
            c->rt->srv->pyapp, "scheme", "http", "root_path", "");
        ok = v && PyDict_Update(scope, v) == 0;
        Py_XDECREF(v);
        fr_str rpat = fr_req_route_pattern(r);
        PyObject *hv = PyUnicode_FromFormat("1.%d", fr_req_http_minor(r));
        PyObject *rpo = str_utf8(rpat.buf ? rpat.buf : "", rpat.len);
        if (ok && hv && rpo) {
            PyDict_SetItemString(scope, "http_version", hv);
            PyDict_SetItemString(scope, "route_path", rpo);
            PyDict_SetItemString(scope, "route", c->plan->route);
        }
        Py_XDECREF(hv);
        Py_XDECREF(rpo);
    }
    Py_XDECREF(hdrs);
    Py_XDECREF(pp);
    if (!ok) { Py_DECREF(scope); return NULL; }
    c->request = PyObject_CallOneArg(G.Request, scope);
    Py_DECREF(scope);
    return c->request ? Py_NewRef(c->request) : NULL;
}

/* ------------------------------------------------------------------ */
/* parameter extraction                                                */

static int param_value(rctx *c, pparam *p, PyObject **out) {
    *out = NULL;
    fr_req *r = c->req;
    switch (p->source) {
    case SRC_PATH: {
        fr_str v = fr_req_param(r, p->ckey);
        if (!v.buf) return missing(c, p, out);
        return coerce(c, p, v.buf, v.len, out);
    }
    case SRC_QUERY:
    case SRC_COOKIE:
    case SRC_FORM_FIELD: {
        kvpair *kv;
        size_t n;
        PyObject *formlist = NULL;
        if (p->source == SRC_QUERY) {
            if (ctx_query(c) < 0) return -1;
            kv = c->query; n = c->nquery;
        } else if (p->source == SRC_COOKIE) {
            if (ctx_cookies(c) < 0) return -1;
            kv = c->cookies; n = c->ncookies;
        } else {
            int br = ctx_body(c);
            if (br) return br > 0 ? -2 : -1;
            formlist = c->form;
            kv = NULL; n = 0;
        }
        if (formlist) {
            /* list of (name, value) from the form parser (values: str or UploadFile) */
            PyObject *vals = PyList_New(0);
            if (!vals) return -1;
            Py_ssize_t fn = PyList_GET_SIZE(formlist);
            for (Py_ssize_t i = 0; i < fn; i++) {
                PyObject *pair = PyList_GET_ITEM(formlist, i);
                PyObject *k = PyTuple_GET_ITEM(pair, 0), *v = PyTuple_GET_ITEM(pair, 1);
                if (PyUnicode_Compare(k, p->key) != 0) continue;
                if (PyUnicode_Check(v) && PyUnicode_GET_LENGTH(v) == 0) continue;
                if (PyList_Append(vals, v) < 0) { Py_DECREF(vals); return -1; }
            }
            Py_ssize_t vn = PyList_GET_SIZE(vals);
            PyObject *v = NULL;
            if (vn == 0) { Py_DECREF(vals); return missing(c, p, out); }
            if (p->is_list) v = vals;
            else { v = Py_NewRef(PyList_GET_ITEM(vals, vn - 1)); Py_DECREF(vals); }
            if (!p->adapter) { *out = v; return 0; }
            if (!p->is_list && PyUnicode_Check(v) && p->conv != CONV_ANY) {
                Py_ssize_t sl;
                const char *s = PyUnicode_AsUTF8AndSize(v, &sl);
                int rr = s ? coerce(c, p, s, (size_t)sl, out) : -1;
                Py_DECREF(v);
                return rr;
            }
            int rr = validate(c, p->validator, v, p->loc, out);
            Py_DECREF(v);
            return rr;
        }
        if (p->is_list) {
            PyObject *vals = PyList_New(0);
            if (!vals) return -1;
            for (size_t i = 0; i < n; i++) {
                if (kv[i].kl != p->ckey_len || memcmp(kv[i].k, p->ckey, kv[i].kl)) continue;
                PyObject *s = str_utf8(kv[i].v, kv[i].vl);
                if (!s || PyList_Append(vals, s) < 0) { Py_XDECREF(s); Py_DECREF(vals); return -1; }
                Py_DECREF(s);
            }
            if (PyList_GET_SIZE(vals) == 0) { Py_DECREF(vals); return missing(c, p, out); }
            if (!p->adapter) { *out = vals; return 0; }
            int rr = validate(c, p->validator, vals, p->loc, out);
            Py_DECREF(vals);
            return rr;
        }
        /* Starlette's multidict: the LAST value wins */
        for (size_t i = n; i-- > 0;) {
            if (kv[i].kl == p->ckey_len && !memcmp(kv[i].k, p->ckey, kv[i].kl))
                return coerce(c, p, kv[i].v, kv[i].vl, out);
        }
        return missing(c, p, out);
    }
    case SRC_HEADER: {
        if (p->is_list) {
            PyObject *vals = PyList_New(0);
            if (!vals) return -1;
            for (size_t i = 0; i < fr_req_num_headers(r); i++) {
                fr_str hn, hv;
                fr_req_header_at(r, i, &hn, &hv);
                if (!fr_str_ieq(hn, (fr_str){p->ckey, p->ckey_len})) continue;
                PyObject *s = PyUnicode_DecodeLatin1(hv.buf, (Py_ssize_t)hv.len, NULL);
                if (!s || PyList_Append(vals, s) < 0) { Py_XDECREF(s); Py_DECREF(vals); return -1; }
                Py_DECREF(s);
            }
            if (PyList_GET_SIZE(vals) == 0) { Py_DECREF(vals); return missing(c, p, out); }
            if (!p->adapter) { *out = vals; return 0; }
            int rr = validate(c, p->validator, vals, p->loc, out);
            Py_DECREF(vals);
            return rr;
        }
        fr_str v = fr_req_header(r, p->ckey);
        if (!v.buf) return missing(c, p, out);
        /* header values are latin-1; ASCII is the common case */
        for (size_t i = 0; i < v.len; i++) {
            if ((unsigned char)v.buf[i] >= 0x80) {
                PyObject *s = PyUnicode_DecodeLatin1(v.buf, (Py_ssize_t)v.len, NULL);
                if (!s) return -1;
                if (!p->adapter) { *out = s; return 0; }
                int rr = validate(c, p->validator, s, p->loc, out);
                Py_DECREF(s);
                return rr;
            }
        }
        return coerce(c, p, v.buf, v.len, out);
    }
    case SRC_BODY:
    case SRC_BODY_FIELD: {
        int br = ctx_body(c);
        if (br) return br > 0 ? -2 : -1;
        PyObject *v = c->body;
        PyObject *loc = p->loc;
        if (p->source == SRC_BODY_FIELD) {
            if (!v) return missing(c, p, out);
            if (!PyDict_Check(v)) {
                if (PyBytes_Check(v)) return missing(c, p, out);
                /* embedded fields need an object (FastAPI: AttributeError -> missing) */
                return add_error(c, make_error("missing", loc, "Field required", Py_None));
            }
            v = PyDict_GetItemWithError(v, p->key);
            if (!v) {
                if (PyErr_Occurred()) return -1;
                return missing(c, p, out);
            }
        } else if (!v) {
            return missing(c, p, out);
        }
        if (!p->adapter) { *out = Py_NewRef(v); return 0; }
        return validate(c, p->validator, v, loc, out);
    }
    case SRC_REQUEST:
        *out = ctx_request(c);
        return *out ? 0 : -1;
    case SRC_RESPONSE:
        if (!c->subresp) {
            c->subresp = PyObject_CallNoArgs(G.Response);
            if (!c->subresp) return -1;
            PyObject *lst = PyList_New(0);
            if (!lst || PyObject_SetAttr(c->subresp, G.s_raw_headers, lst) < 0 ||
                PyObject_SetAttr(c->subresp, G.s_status_code, Py_None) < 0) {
                Py_XDECREF(lst);
                return -1;
            }
            Py_DECREF(lst);
        }
        *out = Py_NewRef(c->subresp);
        return 0;
    case SRC_BACKGROUND:
        if (!c->bg && !(c->bg = PyObject_CallNoArgs(G.BackgroundTasks))) return -1;
        *out = Py_NewRef(c->bg);
        return 0;
    case SRC_CONST:
        *out = default_value(p);
        return *out ? 0 : -1;
    case SRC_DEP:
        if (c->failed[p->dep]) return 1;
        *out = Py_NewRef(c->vals[p->dep]);
        return 0;
    }
    PyErr_SetString(PyExc_SystemError, "bad param source");
    return -1;
}

/* ------------------------------------------------------------------ */
/* responses                                                           */

static void ctx_free(rctx *c) {
    if (c->vals) {
        for (Py_ssize_t i = 0; i < c->plan->nnodes; i++) Py_XDECREF(c->vals[i]);
        free(c->vals);
    }
    free(c->failed);
    Py_XDECREF(c->errors);
    Py_XDECREF(c->body);
    Py_XDECREF(c->form);
    Py_XDECREF(c->request);
    Py_XDECREF(c->subresp);
    Py_XDECREF(c->bg);
    Py_XDECREF(c->teardowns);
    Py_XDECREF(c->fteardowns);
    Py_XDECREF(c->pending);
    Py_XDECREF(c->exc);
    Py_XDECREF(c->result);
    PyObject *srv = c->srv_ref;
    free(c);
    Py_XDECREF(srv);
}

static void done_cb(fr_req *req, int ok, void *ud) {
    (void)req; (void)ok;
    rctx *c = ud;
    c->req = NULL;
    c->job = JOB_AFTER;
    if (c->after_simple) pool_push(c); /* sync teardowns: worker thread, like FastAPI */
    else aio_push(c);
}

static int after_is_simple(rctx *c) {
    int simple = (!c->result || c->result == Py_None) && !c->bg && !c->exc && c->teardowns;
    for (Py_ssize_t i = 0; simple && i < PyList_GET_SIZE(c->teardowns); i++)
        if (!PyGen_CheckExact(PyList_GET_ITEM(c->teardowns, i))) simple = 0;
    return simple;
}

static int has_after_work(rctx *c, PyObject *background) {
    return (background && background != Py_None) || (c->bg) ||
           (c->teardowns && PyList_GET_SIZE(c->teardowns) > 0);
}

/* Hand the response to the engine and either free the context or keep it
 * for post-response work (background tasks, generator teardowns). */
static void finish(rctx *c, PyObject *background) {
    if (background && background != Py_None) {
        Py_XSETREF(c->result, Py_NewRef(background));
    } else {
        Py_CLEAR(c->result);
    }
    int after = has_after_work(c, background);
    fr_req *req = c->req;
    if (after) {
        c->after_simple = after_is_simple(c);
        fr_req_on_done(req, done_cb, c);
    }
    Py_BEGIN_ALLOW_THREADS
    fr_res_send(req);
    Py_END_ALLOW_THREADS
    if (!after) ctx_free(c);
}

static void send_plain500(rctx *c) {
    fr_req *req = c->req;
    static const char msg[] = "Internal Server Error";
    fr_res_status(req, 500);
    fr_res_header(req, "content-type", "text/plain; charset=utf-8");
    fr_res_body(req, msg, sizeof msg - 1);
    finish(c, NULL);
}

static void log_exception(rctx *c, const char *what) {
    PyObject *exc = fr_py_take_exc();
    if (!exc) return;
    PyObject *r = PyObject_CallFunction(G.rt_log_exc, "OsO", c->plan->route, what, exc);
    if (!r) PyErr_Clear();
    Py_XDECREF(r);
    Py_DECREF(exc);
}

static int body_allowed(int status) { return !(status < 200 || status == 204 || status == 304); }

static int add_raw_headers(fr_req *req, PyObject *raw, int skip_len) {
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
static void add_subresp_headers(rctx *c) {
    if (!c->subresp) return;
    PyObject *sraw = PyObject_GetAttr(c->subresp, G.s_raw_headers);
    if (sraw) add_raw_headers(c->req, sraw, 1);
    Py_XDECREF(sraw);
    PyErr_Clear();
}

static int subresp_status(rctx *c) {
    if (!c->subresp) return 0;
    PyObject *s = PyObject_GetAttr(c->subresp, G.s_status_code);
    int st = 0;
    if (s && PyLong_Check(s)) st = (int)PyLong_AsLong(s);
    Py_XDECREF(s);
    PyErr_Clear();
    return st;
}

static void send_json_bytes(rctx *c, int status, const char *data, size_t len, PyObject *extra_hdrs) {
    fr_req *req = c->req;
    int st = subresp_status(c);
    if (st) status = st;
    fr_res_status(req, status);
    fr_res_header(req, "content-type", "application/json");
    if (extra_hdrs) add_raw_headers(req, extra_hdrs, 1);
    if (c->subresp) {
        PyObject *raw = PyObject_GetAttr(c->subresp, G.s_raw_headers);
        if (raw) add_raw_headers(req, raw, 1);
        Py_XDECREF(raw);
        PyErr_Clear();
    }
    if (body_allowed(status)) fr_res_body(req, data, len);
    finish(c, NULL);
}

static void send_stream(rctx *c, PyObject *resp);

/* Send a Response instance (any of fastrapi.responses). */
static void send_response_obj(rctx *c, PyObject *resp, int merge_sub) {
    fr_req *req = c->req;
    PyObject *st = PyObject_GetAttr(resp, G.s_status_code);
    int status = st ? (int)PyLong_AsLong(st) : 500;
    Py_XDECREF(st);
    if (PyErr_Occurred()) { log_exception(c, "bad Response object"); send_plain500(c); return; }
    if (PyObject_IsInstance(resp, G.StreamingResponse) == 1 ||
        PyObject_IsInstance(resp, G.FileResponse) == 1) {
        send_stream(c, resp);
        return;
    }
    PyObject *body = PyObject_GetAttr(resp, G.s_body);
    PyObject *raw = PyObject_GetAttr(resp, G.s_raw_headers);
    PyObject *bg = PyObject_GetAttr(resp, G.s_background);
    if (!body || !raw || !bg) {
        Py_XDECREF(body); Py_XDECREF(raw); Py_XDECREF(bg);
        log_exception(c, "bad Response object");
        send_plain500(c);
        return;
    }
    if (bg == Py_None && c->bg) Py_SETREF(bg, Py_NewRef(c->bg));
    fr_res_status(req, status);
    add_raw_headers(req, raw, 1);
    if (merge_sub) add_subresp_headers(c);
    Py_buffer view;
    if (body_allowed(status) && PyObject_GetBuffer(body, &view, PyBUF_SIMPLE) == 0) {
        fr_res_body(req, view.buf, (size_t)view.len);
        PyBuffer_Release(&view);
    }
    PyErr_Clear();
    Py_DECREF(body);
    Py_DECREF(raw);
    /* the context's own bg (if any) is handed over via background */
    if (bg != Py_None && c->bg == bg) Py_CLEAR(c->bg);
    finish(c, bg);
    Py_DECREF(bg);
}

/* ---- streaming ---- */

static void stream_sync(rctx *c, PyObject *iter) {
    fr_req *req = c->req;
    PyObject *item;
    int gone = 0;
    while (!gone && (item = PyIter_Next(iter))) {
        PyObject *bytes = NULL;
        if (PyUnicode_Check(item)) bytes = PyUnicode_AsUTF8String(item);
        else bytes = PyBytes_FromObject(item);
        Py_DECREF(item);
        if (!bytes) break;
        const char *d = PyBytes_AS_STRING(bytes);
        size_t n = (size_t)PyBytes_GET_SIZE(bytes);
        int r = 0;
        if (n) {
            Py_BEGIN_ALLOW_THREADS
            r = fr_res_stream_write(req, d, n);
            Py_END_ALLOW_THREADS
        }
        Py_DECREF(bytes);
        if (r < 0) gone = 1;
    }
    if (PyErr_Occurred()) log_exception(c, "error while streaming the response");
    Py_BEGIN_ALLOW_THREADS
    fr_res_stream_end(req);
    Py_END_ALLOW_THREADS
}

static PyObject *stream_write_fn(PyObject *cap, PyObject *arg) {
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
    if (v.len) {
        Py_BEGIN_ALLOW_THREADS
        r = fr_res_stream_write(c->req, v.buf, (size_t)v.len);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&v);
    Py_XDECREF(tmp);
    return PyLong_FromLong(r);
}

static PyMethodDef stream_write_def = {"write", stream_write_fn, METH_O, NULL};

static PyObject *task_done_fn(PyObject *cap, PyObject *task);
static PyMethodDef task_done_def = {"_done", task_done_fn, METH_O, NULL};

/* Run `coro` as a Task on the loop; its completion re-enters run_job with `job`. */
static int schedule_task(rctx *c, PyObject *coro, int job) {
    PyObject *cap = PyCapsule_New(c, "fastrapi.rctx", NULL);
    if (!cap) return -1;
    PyObject *task = PyObject_CallOneArg(G.rt_resume, coro);
    if (!task) { Py_DECREF(cap); return -1; }
    PyObject *cb = PyCFunction_New(&task_done_def, cap);
    Py_DECREF(cap);
    if (!cb) { Py_DECREF(task); return -1; }
    PyObject *r = PyObject_CallMethodOneArg(task, G.s_add_done_callback, cb);
    Py_DECREF(cb);
    if (!r) { Py_DECREF(task); return -1; }
    Py_DECREF(r);
    c->job = job;
    Py_XSETREF(c->pending, task);
    return 0;
}

/* The coroutine of node c->node suspended inside `task`: resume when it is done. */
static int attach_task(rctx *c, PyObject *task, int job) {
    PyObject *cap = PyCapsule_New(c, "fastrapi.rctx", NULL);
    if (!cap) return -1;
    PyObject *cb = PyCFunction_New(&task_done_def, cap);
    Py_DECREF(cap);
    if (!cb) return -1;
    PyObject *r = PyObject_CallMethodOneArg(task, G.s_add_done_callback, cb);
    Py_DECREF(cb);
    if (!r) return -1;
    Py_DECREF(r);
    c->job = job;
    Py_XSETREF(c->pending, Py_NewRef(task));
    return 0;
}

/* FileResponse on a worker thread: stat + open in Python (headers as
 * Starlette sets them), then the engine sends the file with sendfile(2). */
static void send_file(rctx *c, PyObject *resp) {
    fr_req *req = c->req;
    int fd = -1;
    unsigned long long size = 0;
    PyObject *pr = PyObject_CallMethodNoArgs(resp, G.s_fr_open);
    if (!pr || !PyArg_ParseTuple(pr, "iK", &fd, &size)) {
        Py_XDECREF(pr);
        log_exception(c, "FileResponse");
        send_plain500(c);
        return;
    }
    Py_DECREF(pr);
    PyObject *st = PyObject_GetAttr(resp, G.s_status_code);
    int status = st ? (int)PyLong_AsLong(st) : 200;
    Py_XDECREF(st);
    PyErr_Clear();
    fr_res_status(req, status);
    PyObject *raw = PyObject_GetAttr(resp, G.s_raw_headers);
    add_raw_headers(req, raw, 1); /* the engine writes content-length */
    Py_XDECREF(raw);
    add_subresp_headers(c);
    PyErr_Clear();
    if (fr_res_file(req, fd, 0, (uint64_t)size, 1) < 0) {
        close(fd);
        PyErr_SetString(PyExc_RuntimeError, "the engine refused the file descriptor");
        log_exception(c, "FileResponse");
        send_plain500(c);
        return;
    }
    PyObject *bg = PyObject_GetAttr(resp, G.s_background);
    if (!bg) { PyErr_Clear(); bg = Py_NewRef(Py_None); }
    if (bg == Py_None && c->bg) Py_SETREF(bg, Py_NewRef(c->bg));
    if (bg != Py_None && c->bg == bg) Py_CLEAR(c->bg);
    finish(c, bg);
    Py_DECREF(bg);
}

static void send_stream(rctx *c, PyObject *resp) {
    fr_req *req = c->req;
    int is_file = PyObject_IsInstance(resp, G.FileResponse) == 1;
    PyObject *it = NULL;
    if (is_file) {
        if (on_loop_thread()) { /* file I/O belongs on a worker */
            Py_XSETREF(c->result, Py_NewRef(resp));
            c->job = JOB_STREAM;
            pool_push(c);
            return;
        }
        send_file(c, resp);
        return;
    } else {
        it = PyObject_GetAttr(resp, G.s_body_iterator);
        if (!it) { log_exception(c, "StreamingResponse"); send_plain500(c); return; }
    }
    int is_async = PyObject_HasAttr(it, G.s_anext) || PyObject_HasAttr(it, G.s_aiter);
    if (!is_async && on_loop_thread()) {
        Py_DECREF(it);
        Py_XSETREF(c->result, Py_NewRef(resp));
        c->job = JOB_STREAM;
        pool_push(c);
        return;
    }
    if (is_async && !on_loop_thread()) {
        Py_DECREF(it);
        Py_XSETREF(c->result, Py_NewRef(resp));
        c->job = JOB_AIO_STREAM;
        aio_push(c);
        return;
    }
    PyObject *st = PyObject_GetAttr(resp, G.s_status_code);
    int status = st ? (int)PyLong_AsLong(st) : 200;
    Py_XDECREF(st);
    PyErr_Clear();
    PyObject *raw = PyObject_GetAttr(resp, G.s_raw_headers);
    fr_res_status(req, status);
    if (raw) add_raw_headers(req, raw, 1); /* streamed: chunked, no length */
    Py_XDECREF(raw);
    add_subresp_headers(c);
    PyErr_Clear();
    PyObject *bg = PyObject_GetAttr(resp, G.s_background);
    if (!bg) { PyErr_Clear(); bg = Py_NewRef(Py_None); }
    if (bg == Py_None && c->bg) Py_SETREF(bg, Py_NewRef(c->bg));
    if (bg != Py_None && c->bg == bg) Py_CLEAR(c->bg);
    Py_XSETREF(c->result, bg);
    Py_BEGIN_ALLOW_THREADS
    fr_res_stream_begin(req);
    Py_END_ALLOW_THREADS
    if (!is_async) {
        PyObject *iter = PyObject_GetIter(it);
        Py_DECREF(it);
        if (!iter) {
            log_exception(c, "StreamingResponse");
            Py_BEGIN_ALLOW_THREADS
            fr_res_stream_end(req);
            Py_END_ALLOW_THREADS
        } else {
            stream_sync(c, iter);
            Py_DECREF(iter);
        }
        /* the request is finished by stream_end: post-response work */
        PyObject *bgo = c->result;
        c->result = NULL;
        int after = has_after_work(c, bgo);
        if (after) {
            Py_XSETREF(c->result, bgo);
            c->req = NULL;
            c->job = JOB_AFTER;
            aio_push(c);
        } else {
            Py_XDECREF(bgo);
            ctx_free(c);
        }
        return;
    }
    /* async iterator: a Task pumps it, writes go straight to the engine */
    PyObject *cap = PyCapsule_New(c, "fastrapi.rctx", NULL);
    PyObject *wr = cap ? PyCFunction_New(&stream_write_def, cap) : NULL;
    Py_XDECREF(cap);
    PyObject *coro = wr ? PyObject_CallFunctionObjArgs(G.rt_stream, it, wr, NULL) : NULL;
    Py_XDECREF(wr);
    Py_DECREF(it);
    if (!coro || schedule_task(c, coro, JOB_AIO_STREAM + 100) < 0) {
        Py_XDECREF(coro);
        log_exception(c, "StreamingResponse");
        Py_BEGIN_ALLOW_THREADS
        fr_res_stream_end(req);
        Py_END_ALLOW_THREADS
        c->req = NULL;
        ctx_free(c);
        return;
    }
    Py_DECREF(coro);
}

/* ---- errors ---- */

static PyObject *lookup_handler(rctx *c, PyObject *exc) {
    PyObject *h = c->rt->srv->handlers;
    if (!h || PyDict_GET_SIZE(h) == 0) return NULL;
    if (PyObject_IsInstance(exc, G.HTTPException) == 1) {
        PyObject *sc = PyObject_GetAttr(exc, G.s_status_code);
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

static void send_http_exc(rctx *c, PyObject *exc) {
    fr_req *req = c->req;
    PyObject *sc = PyObject_GetAttr(exc, G.s_status_code);
    int status = sc ? (int)PyLong_AsLong(sc) : 500;
    Py_XDECREF(sc);
    PyObject *hdrs = PyObject_GetAttr(exc, G.s_headers);
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
    if (body_allowed(status)) {
        fr_buf b = {0};
        PyObject *detail = PyObject_GetAttr(exc, G.s_detail);
        int r = detail ? 0 : -1;
        if (r == 0) r = fr_buf_append_str(&b, "{\"detail\":");
        if (r == 0) r = enc(&b, detail);
        if (r == 0) r = fr_buf_append_char(&b, '}');
        Py_XDECREF(detail);
        if (r < 0) {
            fr_buf_free(&b);
            log_exception(c, "cannot encode HTTPException detail");
            send_plain500(c);
            return;
        }
        fr_res_header(req, "content-type", "application/json");
        fr_res_body(req, b.buf, b.len);
        fr_buf_free(&b);
    }
    finish(c, NULL);
}

static void send_validation(rctx *c, PyObject *errors) {
    fr_buf b = {0};
    int r = fr_buf_append_str(&b, "{\"detail\":");
    if (r == 0) r = enc(&b, errors);
    if (r == 0) r = fr_buf_append_char(&b, '}');
    if (r < 0) {
        fr_buf_free(&b);
        log_exception(c, "cannot encode validation errors");
        send_plain500(c);
        return;
    }
    fr_req *req = c->req;
    fr_res_status(req, 422);
    fr_res_header(req, "content-type", "application/json");
    fr_res_body(req, b.buf, b.len);
    fr_buf_free(&b);
    finish(c, NULL);
}

/* An exception is set: answer it (custom handler, HTTPException, validation,
 * or 500). Teardowns see the exception. */
static void handle_exception(rctx *c) {
    PyObject *exc = fr_py_take_exc();
    if (!exc) { send_plain500(c); return; }
    if (!c->unwound && ((c->teardowns && PyList_GET_SIZE(c->teardowns) > 0) ||
                        (c->fteardowns && PyList_GET_SIZE(c->fteardowns) > 0))) {
        /* like FastAPI's exit stacks: throw the exception into the generator
         * dependencies (function-scoped ones first, each stack innermost
         * first) BEFORE answering; what comes out of them is what the
         * response is built from (JOB_UNWIND, on the loop) */
        c->unwound = 1;
        PyObject *gens = c->teardowns ? PySequence_List(c->teardowns) : PyList_New(0);
        if (gens && c->fteardowns &&
            PyList_SetSlice(gens, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, c->fteardowns) < 0)
            Py_CLEAR(gens);
        PyObject *t = gens ? PyTuple_Pack(2, gens, exc) : NULL;
        Py_XDECREF(gens);
        Py_DECREF(exc);
        if (!t) { log_exception(c, "dependency teardown"); send_plain500(c); return; }
        Py_CLEAR(c->teardowns);
        Py_CLEAR(c->fteardowns);
        Py_XSETREF(c->pending, t);
        c->job = JOB_UNWIND;
        aio_push(c);
        return;
    }
    Py_XSETREF(c->exc, Py_NewRef(exc));
    PyObject *h = lookup_handler(c, exc);
    if (h) {
        /* custom handlers (sync or async) run through the loop */
        Py_XSETREF(c->pending, Py_NewRef(h));
        c->job = JOB_HANDLER;
        Py_DECREF(exc);
        PyObject *req = ctx_request(c);
        if (!req) { log_exception(c, "request"); send_plain500(c); return; }
        Py_DECREF(req);
        aio_push(c);
        return;
    }
    if (PyObject_IsInstance(exc, G.HTTPException) == 1) {
        send_http_exc(c, exc);
    } else if (PyObject_IsInstance(exc, G.RequestValidationError) == 1) {
        PyObject *errs = PyObject_CallMethodNoArgs(exc, G.s_errors);
        if (!errs) { log_exception(c, "validation"); send_plain500(c); }
        else { send_validation(c, errs); Py_DECREF(errs); }
    } else {
        fr_py_restore_exc(Py_NewRef(exc));
        log_exception(c, "Exception in route handler");
        if (c->rt->srv->debug) {
            PyObject *tb = PyObject_CallMethod(PyImport_AddModule("fastrapi._runtime"),
                                               "format_exc", "O", exc);
            if (tb && PyUnicode_Check(tb)) {
                Py_ssize_t n;
                const char *s = PyUnicode_AsUTF8AndSize(tb, &n);
                if (s) {
                    fr_res_status(c->req, 500);
                    fr_res_header(c->req, "content-type", "text/plain; charset=utf-8");
                    fr_res_body(c->req, s, (size_t)n);
                    Py_DECREF(tb);
                    Py_DECREF(exc);
                    finish(c, NULL);
                    return;
                }
            }
            Py_XDECREF(tb);
            PyErr_Clear();
        }
        send_plain500(c);
    }
    Py_DECREF(exc);
}

/* ---- the return value ---- */

static void respond_value(rctx *c, PyObject *ret) {
    pplan *p = c->plan;
    int status = p->status_code ? p->status_code : 200;
    if (PyObject_IsInstance(ret, G.Response) == 1) {
        send_response_obj(c, ret, 0); /* FastAPI sends a returned Response as is */
        return;
    }
    if (p->resp_mode == RESP_JSON) {
        fr_buf b = {0};
        if (enc(&b, ret) < 0) {
            fr_buf_free(&b);
            char what[300];
            snprintf(what, sizeof what, "cannot encode the return value of %s %s as JSON",
                     c->rt->method, c->rt->path);
            log_exception(c, what);
            send_plain500(c);
            return;
        }
        send_json_bytes(c, status, b.buf, b.len, NULL);
        fr_buf_free(&b);
        return;
    }
    PyObject *val = NULL, *out = NULL;
    if (!p->resp_adapter || p->resp_adapter == Py_None) {
        out = PyObject_CallOneArg(G.jsonable_encoder, ret);
        if (!out) { handle_exception(c); return; }
        goto build_class;
    }
    /* response_model: validate, then serialise with the adapter */
    PyObject *saved = c->errors;
    c->errors = NULL;
    PyObject *loc = Py_BuildValue("(s)", "response");
    int r = loc ? validate(c, p->resp_validate, ret, loc, &val) : -1;
    Py_XDECREF(loc);
    if (r == 0 && c->errors) {
        PyObject *args = PyTuple_Pack(1, c->errors);
        PyObject *e = args ? PyObject_Call(G.ResponseValidationError, args, NULL) : NULL;
        Py_XDECREF(args);
        Py_CLEAR(c->errors);
        c->errors = saved;
        if (e) PyErr_SetObject(G.ResponseValidationError, e);
        Py_XDECREF(e);
        PyObject *h = NULL;
        if (PyErr_Occurred()) {
            PyObject *ex = fr_py_take_exc();
            h = lookup_handler(c, ex);
            fr_py_restore_exc(ex);
        }
        if (h) { handle_exception(c); return; }
        log_exception(c, "response validation failed");
        send_plain500(c);
        return;
    }
    c->errors = saved;
    if (r < 0) { handle_exception(c); return; }
    PyObject *meth = PyObject_GetAttr(p->resp_adapter,
                                      p->resp_mode == RESP_DUMP ? G.s_dump_json : G.s_dump_python);
    if (meth) {
        PyObject *args = PyTuple_Pack(1, val);
        out = args ? PyObject_Call(meth, args, p->dump_kwargs == Py_None ? NULL : p->dump_kwargs) : NULL;
        Py_XDECREF(args);
        Py_DECREF(meth);
    }
    Py_DECREF(val);
    if (!out) { handle_exception(c); return; }
    if (p->resp_mode == RESP_DUMP) {
        send_json_bytes(c, status, PyBytes_AS_STRING(out), (size_t)PyBytes_GET_SIZE(out), NULL);
        Py_DECREF(out);
        return;
    }
build_class:;
    /* RESP_CLASS: response_class(content, status_code=...) */
    int st = subresp_status(c);
    if (!st) st = p->status_code;
    PyObject *kw = st ? Py_BuildValue("{si}", "status_code", st) : PyDict_New();
    PyObject *args = kw ? PyTuple_Pack(1, out) : NULL;
    PyObject *resp = args ? PyObject_Call(p->resp_class, args, kw) : NULL;
    Py_XDECREF(kw);
    Py_XDECREF(args);
    Py_DECREF(out);
    if (!resp) { handle_exception(c); return; }
    send_response_obj(c, resp, 1);
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
} shim_obj;

static PyTypeObject ShimType;

static PyObject *shim_result(PySendResult r, PyObject *res) {
    if (r == PYGEN_NEXT) return res;
    if (r == PYGEN_ERROR) return NULL;
    PyObject *e = PyObject_CallOneArg(PyExc_StopIteration, res);
    Py_DECREF(res);
    if (e) { PyErr_SetObject(PyExc_StopIteration, e); Py_DECREF(e); }
    return NULL;
}

static PyObject *shim_send(shim_obj *s, PyObject *v) {
    if (s->state == 3) {
        PyObject *res = NULL;
        PySendResult r = PyIter_Send(s->coro, v, &res);
        return shim_result(r, res);
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

static PyObject *shim_next(shim_obj *s) { return shim_send(s, Py_None); }

static PyObject *shim_throw(shim_obj *s, PyObject *args) {
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

static PyObject *shim_close(shim_obj *s, PyObject *unused) {
    (void)unused;
    if (s->state >= 2) {
        s->state = 4;
        return PyObject_CallMethod(s->coro, "close", NULL);
    }
    Py_RETURN_NONE;
}

static PyObject *shim_self(PyObject *s) { return Py_NewRef(s); }
static PyObject *shim_await(PyObject *s, PyObject *unused) { (void)unused; return Py_NewRef(s); }

static int shim_traverse(shim_obj *s, visitproc visit, void *arg) {
    Py_VISIT(s->coro);
    Py_VISIT(s->first);
    return 0;
}
static int shim_clear(shim_obj *s) {
    Py_CLEAR(s->coro);
    Py_CLEAR(s->first);
    return 0;
}
static void shim_dealloc(shim_obj *s) {
    PyObject_GC_UnTrack(s);
    shim_clear(s);
    PyObject_GC_Del(s);
}

static PyMethodDef shim_methods[] = {
    {"send", (PyCFunction)shim_send, METH_O, NULL},
    {"throw", (PyCFunction)shim_throw, METH_VARARGS, NULL},
    {"close", (PyCFunction)shim_close, METH_NOARGS, NULL},
    {"__await__", (PyCFunction)shim_await, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL}};

static PyAsyncMethods shim_async = {shim_self, NULL, NULL, NULL};

static PyTypeObject ShimType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fastrapi._fastrapi.Shim",
    .tp_basicsize = sizeof(shim_obj),
    .tp_dealloc = (destructor)shim_dealloc,
    .tp_as_async = &shim_async,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)shim_traverse,
    .tp_clear = (inquiry)shim_clear,
    .tp_iter = shim_self,
    .tp_iternext = (iternextfunc)shim_next,
    .tp_methods = shim_methods,
};

/* ------------------------------------------------------------------ */
/* running the plan                                                    */

static void run_nodes(rctx *c);

static void node_done(rctx *c, PyObject *value) {
    c->vals[c->node] = value;
    c->node++;
    run_nodes(c);
}

/* Send None into an awaitable; 1 = finished (*res set), 0 = suspended
 * (*res = yielded value), -1 = exception. */
static int drive(PyObject *aw, PyObject **res) {
    PySendResult r = PyIter_Send(aw, Py_None, res);
    if (r == PYGEN_RETURN) return 1;
    if (r == PYGEN_NEXT) return 0;
    return -1;
}

static void respond_final(rctx *c, PyObject *ret);

/* A generator dependency failed before its first yield: like FastAPI (whose
 * exit stack only holds entered context managers) it has no teardown, so take
 * it back off c->teardowns (it was appended last, before the first step). */
static void drop_failed_gen(rctx *c) {
    int kind = c->plan->nodes[c->node].kind;
    PyObject *list = c->plan->nodes[c->node].fscope ? c->fteardowns : c->teardowns;
    if ((kind != KIND_GEN && kind != KIND_AGEN) || !list) return;
    Py_ssize_t n = PyList_GET_SIZE(list);
    if (n <= 0) return;
    PyObject *saved_t, *saved_v, *saved_tb;
    PyErr_Fetch(&saved_t, &saved_v, &saved_tb);
    if (PyList_SetSlice(list, n - 1, n, NULL) < 0) PyErr_Clear();
    PyErr_Restore(saved_t, saved_v, saved_tb);
}

static void run_nodes(rctx *c) {
    pplan *p = c->plan;
    while (c->node < p->nnodes) {
        int i = c->node;
        pnode *n = &p->nodes[i];
        int is_endpoint = i == p->nnodes - 1;
        if (0) {
        raise_validation:;
            PyObject *args = PyTuple_Pack(1, c->errors ? c->errors : G.empty_tuple);
            PyObject *kw = Py_BuildValue("{sO}", "body", c->body ? c->body : Py_None);
            PyObject *e = args && kw ? PyObject_Call(G.RequestValidationError, args, kw) : NULL;
            Py_XDECREF(args);
            Py_XDECREF(kw);
            if (e) { PyErr_SetObject(G.RequestValidationError, e); Py_DECREF(e); }
            handle_exception(c);
            return;
        }
        if ((n->kind == KIND_SYNC || n->kind == KIND_GEN) && on_loop_thread()) {
            c->job = JOB_RUN;
            pool_push(c); /* def handlers and dependencies run on the pool (as in
                             FastAPI): a blocking one must not stall the loop */
            return;
        }
        if ((n->kind == KIND_ASYNC || n->kind == KIND_AGEN) && !on_loop_thread()) {
            c->job = JOB_RUN;
            aio_push(c);
            return;
        }
        PyObject *stack[FR_MAX_ROUTE_PARAMS * 4 + 65];
        PyObject **args = stack + 1;
        PyObject **heap = NULL;
        if (n->nparams > (Py_ssize_t)(sizeof stack / sizeof stack[0]) - 1) {
            heap = calloc((size_t)n->nparams + 1, sizeof(PyObject *));
            if (!heap) { PyErr_NoMemory(); handle_exception(c); return; }
            args = heap + 1;
        }
        int failed = 0;
        Py_ssize_t got = 0;
        for (Py_ssize_t j = 0; j < n->nparams; j++) {
            PyObject *v = NULL;
            int r = param_value(c, &n->params[j], &v);
            if (r == -1 || r == -2) {
                for (Py_ssize_t k = 0; k < got; k++) Py_XDECREF(args[k]);
                free(heap);
                handle_exception(c);
                return;
            }
            if (r == 1 || !v) failed = 1;
            args[got++] = v;
        }
        if (failed || (is_endpoint && c->errors)) {
            for (Py_ssize_t k = 0; k < got; k++) Py_XDECREF(args[k]);
            free(heap);
            if (is_endpoint) goto raise_validation;
            c->failed[i] = 1;
            c->node++;
            continue;
        }
        PyObject *res = PyObject_Vectorcall(n->call, args, 0 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                            n->kwnames);
        for (Py_ssize_t k = 0; k < got; k++) Py_DECREF(args[k]);
        free(heap);
        if (!res) { handle_exception(c); return; }
        if (n->kind == KIND_SYNC) {
            if (is_endpoint) {
                respond_final(c, res);
                Py_DECREF(res);
                return;
            }
            c->vals[i] = res;
            c->node++;
            continue;
        }
        if (n->kind == KIND_GEN || n->kind == KIND_AGEN) {
            PyObject **tdl = n->fscope ? &c->fteardowns : &c->teardowns;
            if (!*tdl && !(*tdl = PyList_New(0))) { Py_DECREF(res); handle_exception(c); return; }
            if (PyList_Append(*tdl, res) < 0) { Py_DECREF(res); handle_exception(c); return; }
            if (n->kind == KIND_GEN) {
                PyObject *v = PyIter_Next(res);
                Py_DECREF(res);
                if (!v) {
                    if (!PyErr_Occurred())
                        PyErr_SetString(PyExc_RuntimeError, "generator dependency didn't yield");
                    drop_failed_gen(c);
                    handle_exception(c);
                    return;
                }
                c->vals[i] = v;
                c->node++;
                continue;
            }
            PyObject *aw = PyObject_CallMethodNoArgs(res, G.s_anext);
            Py_DECREF(res);
            if (!aw) { drop_failed_gen(c); handle_exception(c); return; }
            res = aw;
        }
        /* A coroutine (async def / async generator's first step). It runs at
         * once, from here, but inside its own Task (created first, entered as
         * the current task) so asyncio.timeout / anyio / current_task() work;
         * if it never suspends the Task's scheduled first step is a no-op. */
        shim_obj *shim = PyObject_GC_New(shim_obj, &ShimType);
        if (!shim) { Py_DECREF(res); handle_exception(c); return; }
        shim->coro = Py_NewRef(res);
        shim->first = NULL;
        shim->state = 0;
        PyObject_GC_Track(shim);
        PyObject *task = PyObject_CallMethodOneArg(G.loop, G.s_create_task, (PyObject *)shim);
        PyObject *pair = (PyObject *)shim; /* released together with the task below */
        if (!task) { Py_DECREF(pair); Py_DECREF(res); handle_exception(c); return; }
        PyObject *er = PyObject_CallFunctionObjArgs(G.enter_task, G.loop, task, NULL);
        if (!er) Py_DECREF(task);
        if (!er) { Py_DECREF(pair); Py_DECREF(res); handle_exception(c); return; }
        Py_DECREF(er);
        PyObject *out = NULL;
        int d = drive(res, &out);
        PyObject *saved_t, *saved_v, *saved_tb;
        PyErr_Fetch(&saved_t, &saved_v, &saved_tb);
        PyObject *lr = PyObject_CallFunctionObjArgs(G.leave_task, G.loop, task, NULL);
        Py_XDECREF(lr);
        PyErr_Clear();
        PyErr_Restore(saved_t, saved_v, saved_tb);
        if (d != 0) {
            shim->state = 1;
            if (d < 0 && !PyErr_Occurred()) PyErr_SetString(PyExc_SystemError, "coroutine failed");
        }
        if (d == 0) {
            shim->first = out; /* reference handed over */
            shim->state = 2;
            int ok = attach_task(c, task, JOB_RESUME) == 0;
            Py_DECREF(task);
            Py_DECREF(res);
            Py_DECREF(pair);
            if (!ok) handle_exception(c);
            return;
        }
        Py_DECREF(task);
        Py_DECREF(pair);
        if (d == 1) {
            Py_DECREF(res);
            if (is_endpoint) { respond_final(c, out); Py_DECREF(out); return; }
            c->vals[i] = out;
            c->node++;
            continue;
        }
        if (d < 0) {
            Py_DECREF(res);
            if (n->kind == KIND_AGEN && PyErr_ExceptionMatches(PyExc_StopAsyncIteration)) {
                PyErr_Clear();
                PyErr_SetString(PyExc_RuntimeError, "async generator dependency didn't yield");
            }
            drop_failed_gen(c);
            handle_exception(c);
            return;
        }
        PyErr_SetString(PyExc_SystemError, "unreachable");
        handle_exception(c);
        return;
    }
    PyErr_SetString(PyExc_SystemError, "plan ended without endpoint");
    handle_exception(c);
}

static void respond_final(rctx *c, PyObject *ret) {
    if (c->fteardowns && PyList_GET_SIZE(c->fteardowns) > 0) {
        /* Depends(scope="function"): exit those generators now, before the
         * response; an exception from them becomes the response */
        PyObject *gens = c->fteardowns;
        c->fteardowns = NULL;
        int inline_ok = !on_loop_thread();
        for (Py_ssize_t i = 0; inline_ok && i < PyList_GET_SIZE(gens); i++)
            if (!PyGen_CheckExact(PyList_GET_ITEM(gens, i))) inline_ok = 0;
        if (inline_ok) { /* plain generators on a worker thread (like FastAPI's threadpool) */
            PyObject *out = PyObject_CallMethod(PyImport_AddModule("fastrapi._runtime"),
                                                "unwind_sync", "OO", gens, Py_None);
            Py_DECREF(gens);
            if (!out) { handle_exception(c); return; }
            if (out != Py_None) { fr_py_restore_exc(out); handle_exception(c); return; }
            Py_DECREF(out);
        } else {
            PyObject *t = PyTuple_Pack(2, gens, ret);
            Py_DECREF(gens);
            if (!t) { handle_exception(c); return; }
            Py_XSETREF(c->pending, t);
            c->job = JOB_FUNWIND;
            aio_push(c);
            return;
        }
    }
    respond_value(c, ret);
}

/* A Task created by schedule_task finished. */
static PyObject *task_done_fn(PyObject *cap, PyObject *task) {
    rctx *c = PyCapsule_GetPointer(cap, "fastrapi.rctx");
    if (!c) return NULL;
    PyObject *res = PyObject_CallMethodNoArgs(task, G.s_result);
    Py_CLEAR(c->pending);
    int job = c->job;
    if (job == JOB_RESUME) {
        if (!res) {
            if (c->plan->nodes[c->node].kind == KIND_AGEN &&
                PyErr_ExceptionMatches(PyExc_StopAsyncIteration)) {
                PyErr_Clear();
                PyErr_SetString(PyExc_RuntimeError, "async generator dependency didn't yield");
            }
            drop_failed_gen(c);
            handle_exception(c);
            Py_RETURN_NONE;
        }
        int i = c->node;
        if (i == c->plan->nnodes - 1) {
            respond_final(c, res);
            Py_DECREF(res);
        } else {
            node_done(c, res);
        }
    } else if (job == JOB_AIO_STREAM + 100) {
        if (!res) log_exception(c, "error while streaming the response");
        Py_XDECREF(res);
        fr_req *req = c->req;
        PyObject *bgo = c->result;
        c->result = NULL;
        int after = has_after_work(c, bgo);
        Py_BEGIN_ALLOW_THREADS
        fr_res_stream_end(req);
        Py_END_ALLOW_THREADS
        if (after) {
            c->result = bgo;
            c->req = NULL;
            c->job = JOB_AFTER;
            aio_push(c);
        } else {
            Py_XDECREF(bgo);
            ctx_free(c);
        }
    } else if (job == JOB_HANDLER) {
        if (!res) {
            log_exception(c, "exception handler failed");
            send_plain500(c);
        } else {
            send_response_obj(c, res, 0);
            Py_DECREF(res);
        }
    } else if (job == JOB_FUNWIND) {
        /* function-scoped generators exited: answer with the endpoint's value */
        if (!res) { handle_exception(c); Py_RETURN_NONE; }
        respond_value(c, res);
        Py_DECREF(res);
    } else if (job == JOB_UNWIND) {
        /* the generators ran: answer with the exception that came out of them */
        if (res) fr_py_restore_exc(res); /* steals */
        handle_exception(c);
    } else { /* JOB_AFTER */
        if (!res) log_exception(c, "background task / dependency teardown failed");
        Py_XDECREF(res);
        ctx_free(c);
    }
    Py_RETURN_NONE;
}

static void run_job(rctx *c) {
    if (!c->srv_ref) {
        /* first time with the GIL: the server is still serving this request */
        c->srv_ref = (PyObject *)c->rt->srv;
        Py_INCREF(c->srv_ref);
    }
    switch (c->job) {
    case JOB_RUN:
        if (!c->vals) {
            pplan *p = c->plan;
            c->vals = calloc((size_t)p->nnodes, sizeof(PyObject *));
            c->failed = calloc((size_t)p->nnodes, 1);
            if (!c->vals || !c->failed) {
                PyErr_NoMemory();
                handle_exception(c);
                return;
            }
            if (p->body_mode) {
                int br = ctx_body(c);
                if (br) { handle_exception(c); return; }
            }
        }
        run_nodes(c);
        return;
    case JOB_STREAM:
    case JOB_AIO_STREAM: {
        PyObject *resp = c->result;
        c->result = NULL;
        send_stream(c, resp);
        Py_DECREF(resp);
        return;
    }
    case JOB_HANDLER: {
        PyObject *h = c->pending;
        c->pending = NULL;
        PyObject *coro = PyObject_CallFunctionObjArgs(G.rt_call_handler, h, c->request, c->exc, NULL);
        Py_DECREF(h);
        if (!coro || schedule_task(c, coro, JOB_HANDLER) < 0) {
            Py_XDECREF(coro);
            log_exception(c, "exception handler failed");
            send_plain500(c);
            return;
        }
        Py_DECREF(coro);
        return;
    }
    case JOB_FALLBACK: {
        int st = fr_req_match_status(c->req);
        PyObject *e;
        if (st == FR_MATCH_METHOD) {
            fr_str allow = fr_req_match_allow(c->req);
            e = PyObject_CallFunction(G.HTTPException, "isN", 405, "Method Not Allowed",
                                      Py_BuildValue("{ss#}", "Allow", allow.buf ? allow.buf : "",
                                                    (Py_ssize_t)allow.len));
        } else {
            e = PyObject_CallFunction(G.HTTPException, "is", 404, "Not Found");
        }
        if (e) {
            PyErr_SetObject(G.HTTPException, e);
            Py_DECREF(e);
        }
        handle_exception(c);
        return;
    }
    case JOB_FUNWIND: {
        PyObject *t = c->pending;
        c->pending = NULL;
        PyObject *coro = PyObject_CallMethod(PyImport_AddModule("fastrapi._runtime"),
                                             "unwind_function", "OO", PyTuple_GET_ITEM(t, 0),
                                             PyTuple_GET_ITEM(t, 1));
        Py_DECREF(t);
        if (!coro || schedule_task(c, coro, JOB_FUNWIND) < 0) {
            Py_XDECREF(coro);
            handle_exception(c);
            return;
        }
        Py_DECREF(coro);
        return;
    }
    case JOB_UNWIND: {
        PyObject *t = c->pending;
        c->pending = NULL;
        PyObject *coro = PyObject_CallMethod(PyImport_AddModule("fastrapi._runtime"),
                                             "unwind_error", "OO", PyTuple_GET_ITEM(t, 0),
                                             PyTuple_GET_ITEM(t, 1));
        if (!coro || schedule_task(c, coro, JOB_UNWIND) < 0) {
            Py_XDECREF(coro);
            log_exception(c, "dependency teardown");
            fr_py_restore_exc(Py_NewRef(PyTuple_GET_ITEM(t, 1)));
            Py_DECREF(t);
            handle_exception(c);
            return;
        }
        Py_DECREF(t);
        Py_DECREF(coro);
        return;
    }
    case JOB_AFTER: {
        /* fast path: only plain generator teardowns, no error, no background */
        if (after_is_simple(c)) {
            for (Py_ssize_t i = PyList_GET_SIZE(c->teardowns); i-- > 0;) {
                PyObject *g = PyList_GET_ITEM(c->teardowns, i);
                PyObject *v = PyIter_Next(g);
                if (v) {
                    Py_DECREF(v);
                    PyErr_SetString(PyExc_RuntimeError, "generator dependency didn't stop");
                }
                if (PyErr_Occurred()) {
                    /* chain like FastAPI's exit stack: the outer generators get it */
                    PyObject *e = fr_py_take_exc();
                    PyObject *rest = PyList_GetSlice(c->teardowns, 0, i);
                    PyObject *out = rest ? PyObject_CallMethod(
                        PyImport_AddModule("fastrapi._runtime"), "unwind_sync", "OO", rest, e) : NULL;
                    Py_XDECREF(rest);
                    Py_DECREF(e);
                    if (out && out != Py_None) fr_py_restore_exc(out); /* steals */
                    else Py_XDECREF(out);
                    if (PyErr_Occurred()) log_exception(c, "Exception in dependency teardown");
                    break;
                }
            }
            ctx_free(c);
            return;
        }
        PyObject *coro = PyObject_CallFunctionObjArgs(
            G.rt_after, c->result ? c->result : Py_None, c->bg ? c->bg : Py_None,
            c->teardowns ? c->teardowns : Py_None, c->exc ? c->exc : Py_None, NULL);
        if (!coro || schedule_task(c, coro, JOB_AFTER) < 0) {
            Py_XDECREF(coro);
            log_exception(c, "background tasks");
            ctx_free(c);
            return;
        }
        Py_DECREF(coro);
        return;
    }
    }
}

/* engine loop thread: no GIL here */
static int route_handler(fr_req *req, void *ud) {
    proute *rt = ud;
    rctx *c = calloc(1, sizeof *c);
    if (!c) return fr_res_text(req, 500, "text/plain; charset=utf-8", "Internal Server Error", 21);
    c->req = req;
    c->rt = rt;
    c->plan = rt->plan;
    c->job = JOB_RUN;
    if (rt->version != rt->srv->version || (c->plan->flags & 1)) {
        /* async routes (and plans to recompile) start on the loop thread */
        if (rt->version != rt->srv->version) c->job = JOB_RUN + 50;
        aio_push(c);
    } else if (rt->srv->inline_sync) {
        PyGILState_STATE st = PyGILState_Ensure();
        run_job(c);
        PyGILState_Release(st);
    } else {
        pool_push(c);
    }
    return FR_PENDING;
}

/* ------------------------------------------------------------------ */
/* _drain: called by the asyncio loop when the eventfd is readable      */

static PyObject *py_drain(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    uint64_t v;
    ssize_t r;
    do { r = read(aio_fd_r, &v, sizeof v); } while (r < 0 && errno == EINTR);
    if (!loop_thread_set) {
        loop_thread_id = pthread_self();
        loop_thread_set = 1;
    }
    for (;;) {
        rctx *c = jq_pop_all(&AIO);
        if (!c) break;
        while (c) {
            rctx *next = c->next;
            if (c->job == JOB_RUN + 50) {
                /* dependency_overrides changed: recompile the route's plan */
                proute *rt = c->rt;
                if (rt->version != rt->srv->version) {
                    PyObject *t = PyObject_CallOneArg(G.rt_recompile, rt->route_obj);
                    pplan *np = t ? plan_parse(t) : NULL;
                    Py_XDECREF(t);
                    if (np) {
                        np->old = rt->plan;
                        rt->plan = np;
                        rt->version = rt->srv->version;
                    } else {
                        /* e.g. a cycle through an override: like FastAPI (which fails
                         * solving the request) answer 500 and log it for this request;
                         * the version stays old so the next request retries */
                        c->plan = rt->plan;
                        c->job = JOB_RUN;
                        if (!c->srv_ref) {
                            c->srv_ref = (PyObject *)rt->srv;
                            Py_INCREF(c->srv_ref);
                        }
                        if (!PyErr_Occurred())
                            PyErr_SetString(PyExc_RuntimeError, "recompiling the route failed");
                        handle_exception(c);
                        c = next;
                        continue;
                    }
                }
                c->plan = rt->plan;
                c->job = JOB_RUN;
            }
            run_job(c);
            c = next;
        }
    }
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------ */
/* Server type                                                         */

static PyObject *Server_new(PyTypeObject *type, PyObject *args, PyObject *kw) {
    static char *kwlist[] = {"app", "threads", "access_log", "no_signals", "reuse_port",
                             "debug", "max_body", "inline_sync", NULL};
    PyObject *pyapp;
    int threads = 0, access_log = 1, no_signals = 0, reuse_port = 0, debug = 0, inline_sync = 0;
    long long max_body = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|iiiiiLi", kwlist, &pyapp, &threads, &access_log,
                                     &no_signals, &reuse_port, &debug, &max_body, &inline_sync))
        return NULL;
    if (!G.ready) {
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
    cfg.max_body_bytes = (uint64_t)max_body;
    if (access_log) cfg.access_log = access_cb;
    s->app = fr_app_new(&cfg);
    if (!s->app) { Py_DECREF(s); return PyErr_NoMemory(); }
    s->pyapp = Py_NewRef(pyapp);
    s->handlers = PyDict_New();
    s->routes = PyList_New(0);
    s->debug = debug;
    s->inline_sync = inline_sync;
    if (!s->handlers || !s->routes) { Py_DECREF(s); return NULL; }
    if (access_log && !log_started) {
        pthread_t t;
        if (pthread_create(&t, NULL, log_main, NULL) == 0) {
            pthread_detach(t);
            log_started = 1;
        }
    }
    return (PyObject *)s;
}

static void Server_dealloc(server *s) {
    if (s->app) {
        Py_BEGIN_ALLOW_THREADS
        fr_app_free(s->app);
        Py_END_ALLOW_THREADS
    }
    for (size_t i = 0; i < s->nrts; i++) {
        proute *rt = s->rts[i];
        pplan *p = rt->plan;
        while (p) { pplan *o = p->old; for (Py_ssize_t k = 0; k < p->nnodes; k++) Py_CLEAR(p->nodes[k].kwnames); plan_free(p); p = o; }
        Py_XDECREF(rt->route_obj);
        free(rt->method);
        free(rt->path);
        free(rt);
    }
    free(s->rts);
    Py_XDECREF(s->pyapp);
    Py_XDECREF(s->handlers);
    Py_XDECREF(s->routes);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *Server_add_route(server *s, PyObject *args) {
    const char *method, *path;
    PyObject *plan_t, *route_obj;
    if (!PyArg_ParseTuple(args, "ssO!O", &method, &path, &PyTuple_Type, &plan_t, &route_obj))
        return NULL;
    pplan *p = plan_parse(plan_t);
    if (!p) return NULL;
    proute *rt = calloc(1, sizeof *rt);
    if (!rt) { plan_free(p); return PyErr_NoMemory(); }
    rt->srv = s;
    rt->plan = p;
    rt->version = s->version;
    rt->route_obj = Py_NewRef(route_obj);
    rt->method = strdup(method);
    rt->path = strdup(path);
    if (s->nrts == s->caprts) {
        size_t nc = s->caprts ? s->caprts * 2 : 16;
        proute **n = realloc(s->rts, nc * sizeof *n);
        if (!n) { plan_free(p); Py_DECREF(rt->route_obj); free(rt); return PyErr_NoMemory(); }
        s->rts = n;
        s->caprts = nc;
    }
    s->rts[s->nrts++] = rt;
    if (fr_route(s->app, method, path, route_handler, rt) < 0) {
        PyErr_Format(PyExc_ValueError, "cannot register %s %s: %s", method, path,
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* engine loop thread, no GIL: unmatched request while custom 404/405 or
 * HTTPException handlers exist -> answered by Python on the loop thread */
static int fallback_handler(fr_req *req, void *ud) {
    server *s = ud;
    if (fr_req_match_status(req) == FR_MATCH_REDIRECT) return fr_res_default(req);
    rctx *c = calloc(1, sizeof *c);
    if (!c) return fr_res_default(req);
    c->req = req;
    c->rt = &s->fallback_rt;
    c->plan = &s->fallback_plan;
    c->job = JOB_FALLBACK;
    aio_push(c);
    return FR_PENDING;
}

static PyObject *Server_set_handlers(server *s, PyObject *h) {
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
        } else if (PyType_Check(k) && PyObject_IsSubclass(G.HTTPException, k) == 1) {
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
    fr_app_set_fallback(s->app, custom ? fallback_handler : NULL, custom ? s : NULL);
    Py_RETURN_NONE;
}

static PyObject *Server_bump(server *s, PyObject *unused) {
    (void)unused;
    s->version++;
    Py_RETURN_NONE;
}

static PyObject *Server_listen(server *s, PyObject *args) {
    const char *host;
    int port;
    if (!PyArg_ParseTuple(args, "si", &host, &port)) return NULL;
    int r = fr_listen(s->app, host, port);
    if (r < 0) {
        PyErr_Format(PyExc_OSError, "cannot listen on %s:%d: %s", host, port,
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : strerror(errno));
        return NULL;
    }
    return PyLong_FromLong(r);
}

static PyObject *Server_serve(server *s, PyObject *unused) {
    (void)unused;
    if (pool_start() < 0) return PyErr_Format(PyExc_RuntimeError, "cannot start worker threads");
    int r;
    s->serving = 1;
    Py_BEGIN_ALLOW_THREADS
    r = fr_serve(s->app);
    Py_END_ALLOW_THREADS
    s->serving = 0;
    if (r < 0) {
        PyErr_Format(PyExc_RuntimeError, "serve failed: %s",
                     fr_app_last_error(s->app) ? fr_app_last_error(s->app) : "error");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Server_stop(server *s, PyObject *unused) {
    (void)unused;
    fr_stop(s->app);
    Py_RETURN_NONE;
}

static PyMethodDef Server_methods[] = {
    {"add_route", (PyCFunction)Server_add_route, METH_VARARGS, "add_route(method, path, plan, route)"},
    {"set_handlers", (PyCFunction)Server_set_handlers, METH_O, "exception handlers dict"},
    {"bump", (PyCFunction)Server_bump, METH_NOARGS, "dependency overrides changed"},
    {"listen", (PyCFunction)Server_listen, METH_VARARGS, "listen(host, port) -> port"},
    {"serve", (PyCFunction)Server_serve, METH_NOARGS, "serve until stop() (GIL released)"},
    {"stop", (PyCFunction)Server_stop, METH_NOARGS, "stop serving (thread-safe)"},
    {NULL, NULL, 0, NULL}};

static PyTypeObject ServerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "fastrapi._fastrapi.Server",
    .tp_basicsize = sizeof(server),
    .tp_dealloc = (destructor)Server_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An engine app (fr_app) serving Python routes.",
    .tp_methods = Server_methods,
    .tp_new = Server_new,
};

/* ------------------------------------------------------------------ */
/* module functions                                                    */

static PyObject *py_dumps(PyObject *self, PyObject *o) {
    (void)self;
    fr_buf b = {0};
    if (enc(&b, o) < 0) { fr_buf_free(&b); return NULL; }
    PyObject *r = PyBytes_FromStringAndSize(b.buf ? b.buf : "", (Py_ssize_t)b.len);
    fr_buf_free(&b);
    return r;
}

static PyObject *py_loads(PyObject *self, PyObject *o) {
    (void)self;
    Py_buffer v;
    if (PyObject_GetBuffer(o, &v, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *r = json_decode(v.buf, (size_t)v.len);
    PyBuffer_Release(&v);
    if (!r && !PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "invalid JSON");
    return r;
}

#define GET(name) do { G.name = PyDict_GetItemString(d, #name); if (!G.name) { \
    PyErr_Format(PyExc_KeyError, "_setup: missing %s", #name); return NULL; } Py_INCREF(G.name); } while (0)

static PyObject *py_setup(PyObject *self, PyObject *d) {
    (void)self;
    if (G.ready) Py_RETURN_NONE;
    if (!PyDict_Check(d)) { PyErr_SetString(PyExc_TypeError, "dict expected"); return NULL; }
    GET(HTTPException); GET(RequestValidationError); GET(ResponseValidationError);
    GET(Response); GET(StreamingResponse); GET(FileResponse);
    GET(jsonable_encoder); GET(decimal_encoder); GET(json_loads); GET(JSONDecodeError);
    GET(deepcopy); GET(Undefined); GET(Request); GET(BackgroundTasks);
    GET(BaseModel); GET(Enum); GET(UUID); GET(Decimal); GET(date); GET(time); GET(timedelta); GET(dt);
    GET(ValidationError); GET(asdict);
    GET(rt_resume); GET(rt_after); GET(rt_call_handler); GET(rt_stream); GET(rt_log_exc);
    GET(rt_parse_multipart); GET(rt_recompile); GET(rt_log_access);
    GET(enter_task); GET(leave_task);
    G.ready = 1;
    Py_RETURN_NONE;
}

/* eventfd for the asyncio bridge (created once). */
static PyObject *py_wakeup_fd(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    if (aio_fd_r < 0) {
#ifdef __linux__
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) return PyErr_SetFromErrno(PyExc_OSError);
        aio_fd_r = aio_fd_w = fd;
#else
        int p[2];
        if (pipe(p) < 0) return PyErr_SetFromErrno(PyExc_OSError);
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        aio_fd_r = p[0];
        aio_fd_w = p[1];
#endif
    }
    return PyLong_FromLong(aio_fd_r);
}

static PyObject *py_set_pool_size(PyObject *self, PyObject *arg) {
    (void)self;
    long n = PyLong_AsLong(arg);
    if (n == -1 && PyErr_Occurred()) return NULL;
    if (n < 1 || n > 1024) { PyErr_SetString(PyExc_ValueError, "1..1024"); return NULL; }
    if (!pool_started) pool_size = (int)n;
    Py_RETURN_NONE;
}

static PyObject *py_after_fork(PyObject *self, PyObject *unused) {
    (void)self; (void)unused;
    /* in a forked worker: no threads survive; start fresh */
    pool_started = 0;
    log_started = 0;
    loop_thread_set = 0;
    if (aio_fd_r >= 0) {
        close(aio_fd_r);
        if (aio_fd_w != aio_fd_r) close(aio_fd_w);
    }
    aio_fd_r = aio_fd_w = -1;
    POOL.head = POOL.tail = NULL;
    AIO.head = AIO.tail = NULL;
    pthread_mutex_init(&POOL.mu, NULL);
    pthread_cond_init(&POOL.cv, NULL);
    pthread_mutex_init(&AIO.mu, NULL);
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
    Py_XSETREF(G.loop, Py_NewRef(loop));
    Py_RETURN_NONE;
}

/* ---- credential parsing for fastrapi.security (the engine's fr_auth_*) ---- */

/* Header values are str decoded as Latin-1 (as Starlette does): bytes in,
 * views out, str back without any re-interpretation. */
static int latin1_view(PyObject *s, PyObject **keep, fr_str *out) {
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
    if (latin1_view(value, &keep, &h) < 0) {
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
    if (latin1_view(value, &keep, &p) < 0) { /* non-Latin-1 is non-ASCII: b64decode fails */
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

static PyMethodDef module_methods[] = {
    {"auth_scheme_param", py_auth_scheme_param, METH_O,
     "FastAPI's get_authorization_scheme_param, in C: (scheme, param)"},
    {"basic_credentials", py_basic_credentials, METH_O,
     "HTTP Basic parameter -> (user, password), or None when FastAPI would answer 401"},
    {"_set_loop", py_set_loop, METH_O, "the asyncio loop async handlers run on"},
    {"_at_exit", py_at_exit, METH_NOARGS, "interpreter exit: C threads stop using Python"},
    {"_setup", py_setup, METH_O, "register the Python classes the glue needs"},
    {"_drain", py_drain, METH_NOARGS, "run queued async work (called by the event loop)"},
    {"_wakeup_fd", py_wakeup_fd, METH_NOARGS, "fd the event loop watches"},
    {"_set_pool_size", py_set_pool_size, METH_O, "worker threads for sync handlers"},
    {"_after_fork", py_after_fork, METH_NOARGS, "reset thread state in a forked worker"},
    {"dumps", py_dumps, METH_O, "encode to JSON bytes with FastAPI's jsonable semantics"},
    {"loads", py_loads, METH_O, "decode JSON bytes (strict RFC 8259)"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_fastrapi",
                                    "fastrapi's C engine glue", -1, module_methods,
                                    NULL, NULL, NULL, NULL};

#define INTERN(var, s) do { G.var = PyUnicode_InternFromString(s); if (!G.var) return NULL; } while (0)

PyMODINIT_FUNC PyInit__fastrapi(void) {
    if (PyType_Ready(&ServerType) < 0 || PyType_Ready(&ShimType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    INTERN(s_status_code, "status_code"); INTERN(s_raw_headers, "raw_headers");
    INTERN(s_body, "body"); INTERN(s_background, "background");
    INTERN(s_body_iterator, "body_iterator"); INTERN(s_model_dump, "model_dump");
    INTERN(s_mode, "mode"); INTERN(s_json, "json"); INTERN(s_validate_python, "validate_python");
    INTERN(s_dump_json, "dump_json"); INTERN(s_errors, "errors");
    INTERN(s_include_url, "include_url"); INTERN(s_loc, "loc"); INTERN(s_value, "value");
    INTERN(s_isoformat, "isoformat"); INTERN(s_decode, "decode");
    INTERN(s_total_seconds, "total_seconds"); INTERN(s_from_attributes, "from_attributes");
    INTERN(s_fr_open, "_fr_open"); INTERN(s_add_done_callback, "add_done_callback");
    INTERN(s_result, "result"); INTERN(s_detail, "detail"); INTERN(s_headers, "headers");
    INTERN(s_items, "items"); INTERN(s_tasks, "tasks");
    INTERN(s_dataclass_fields, "__dataclass_fields__"); INTERN(s_aiter, "__aiter__");
    INTERN(s_send, "send"); INTERN(s_request, "request"); INTERN(s_exception, "exception");
    INTERN(s_anext, "__anext__"); INTERN(s_dump_python, "dump_python"); INTERN(s_state, "state"); INTERN(s_first, "first");
    INTERN(s_create_task, "create_task"); INTERN(s_type, "type");
    G.empty_tuple = PyTuple_New(0);
    G.empty_dict = PyDict_New();
    G.kw_from_attr = PyTuple_Pack(1, G.s_from_attributes);
    if (!G.empty_tuple || !G.empty_dict || !G.kw_from_attr) return NULL;
    Py_INCREF(&ServerType);
    if (PyModule_AddObject(m, "Server", (PyObject *)&ServerType) < 0) return NULL;
    Py_INCREF(&ShimType);
    if (PyModule_AddObject(m, "Shim", (PyObject *)&ShimType) < 0) return NULL;
    return m;
}
