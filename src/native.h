/* ---- native.h: native modules -- C handlers loaded into a running engine ----
 *
 * A native module is a shared library of fr_handler functions compiled
 * against fastrapi.h WITHOUT FASTRAPI_IMPLEMENTATION and loaded at run time
 * by a program that already contains the engine: the Python extension
 * (app.add_native_route, fastrapi/native.py) or a C host of your own. Its
 * fr_* calls resolve to that engine's: one engine, one router, one access
 * log; a native route is an ordinary fr_route entry.
 *
 *     // handlers.c    cc -shared -fPIC -O2 -I<dir of fastrapi.h> handlers.c -o handlers.so
 *     //               (Python: fastrapi build-native handlers.c -o handlers.so)
 *     #include "fastrapi.h"
 *
 *     FR_NATIVE_MODULE();   // once per library: the descriptor the loader checks
 *
 *     FR_NATIVE_EXPORT int hello(fr_req *req, void *ud) {
 *         (void)ud;
 *         return fr_res_json(req, 200, "{\"hello\":\"C\"}", 13);
 *     }
 *
 * A handler is written exactly as in a C program (server.h): it answers
 * inline (FR_DONE) or returns FR_PENDING and finishes later with
 * fr_res_send from any thread; `ud` is the userdata the host registered.
 *
 * ABI check. FR_NATIVE_MODULE() defines the exported, read-only descriptor
 * `fr_native_module`: the FASTRAPI_VERSION_* the library was compiled with
 * and the sizeof of the public structs its calls pass, return or embed
 * (FR_NATIVE_TYPES below, so also FR_MAX_ROUTE_PARAMS and friends, which
 * size them). A host calls fr_native_check on it before taking any handler
 * from the library; it refuses, with a message naming both sides, a
 * different MAJOR.MINOR, any different struct size, a library that embeds
 * an engine of its own (built with FASTRAPI_IMPLEMENTATION: two engines
 * sharing one request would corrupt each other) and a missing descriptor.
 * A refused library is never called. What the check cannot see: a
 * function whose signature changed without a version bump (MINOR moves
 * when one does) -- and functions missing from the engine, which the
 * loader reports instead (dlopen with RTLD_NOW: "undefined symbol").
 *
 * A C host that loads modules itself: the engine's fr_* symbols must be
 * visible to the library (link the program with -rdynamic, or build the
 * engine as a shared library with FASTRAPI_DLL and load it RTLD_GLOBAL);
 * then dlopen(path, RTLD_NOW), dlsym "fr_native_module", fr_native_check,
 * dlsym each handler, fr_route. The Python extension does exactly this
 * (see fastrapi/native.py).
 *
 * Export: FR_NATIVE_EXPORT gives a handler default visibility (so
 * -fvisibility=hidden builds still export it) and C linkage in C++. */

/* Types whose sizeof the descriptor records, in this order. Appending a type
 * is a MINOR version change. */
#define FR_NATIVE_TYPES(X)                                                                   \
    X(void *) X(fr_str) X(fr_buf) X(fr_arena) X(fr_allocator) X(fr_err) X(fr_header)       \
    X(fr_match) X(fr_config) X(fr_sink) X(fr_request_desc) X(fr_jw) X(fr_json_sax)          \
    X(fr_job) X(fr_pool_config)

#define FR__NATIVE_ONE(t) +1
#define FR__NATIVE_SIZEOF(t) (uint32_t)sizeof(t),
enum { FR_NATIVE_NSIZES = 0 FR_NATIVE_TYPES(FR__NATIVE_ONE) };
#define FR_NATIVE_MAGIC 0x4652414EU /* "FRAN" */

/* The descriptor. Its own layout (magic, layout, then the rest) never
 * changes meaning: an engine reads magic and layout first. */
typedef struct fr_native_abi {
    uint32_t magic;                   /* FR_NATIVE_MAGIC */
    uint32_t layout;                  /* 1 */
    uint32_t major, minor, patch;     /* FASTRAPI_VERSION_* the module was built with */
    uint32_t impl;                    /* 1: built with FASTRAPI_IMPLEMENTATION (refused) */
    uint32_t nsizes;                  /* FR_NATIVE_NSIZES */
    uint32_t sizes[FR_NATIVE_NSIZES]; /* sizeof each FR_NATIVE_TYPES entry */
} fr_native_abi;

#if defined(_WIN32)
#  define FR__NATIVE_VIS __declspec(dllexport)
#elif defined(__GNUC__)
#  define FR__NATIVE_VIS __attribute__((visibility("default")))
#else
#  define FR__NATIVE_VIS
#endif
#ifdef __cplusplus
#  define FR_NATIVE_EXPORT extern "C" FR__NATIVE_VIS
#  define FR__NATIVE_DECL extern "C"
#  define FR__NATIVE_DEF extern "C"
#else
#  define FR_NATIVE_EXPORT FR__NATIVE_VIS
#  define FR__NATIVE_DECL extern
#  define FR__NATIVE_DEF
#endif
/* 1 after the implementation is included (native.c redefines it). */
#define FR__NATIVE_IMPL 0

/* Once per module, at file scope: `FR_NATIVE_MODULE();` */
#define FR_NATIVE_MODULE()                                                                  \
    FR__NATIVE_DECL FR__NATIVE_VIS const fr_native_abi fr_native_module;                    \
    FR__NATIVE_DEF FR__NATIVE_VIS const fr_native_abi fr_native_module = {                  \
        FR_NATIVE_MAGIC, 1, FASTRAPI_VERSION_MAJOR, FASTRAPI_VERSION_MINOR,                 \
        FASTRAPI_VERSION_PATCH, FR__NATIVE_IMPL, FR_NATIVE_NSIZES,                          \
        {FR_NATIVE_TYPES(FR__NATIVE_SIZEOF)}}

/* The running engine's own descriptor (impl = 0). */
FR_API const fr_native_abi *fr_native_abi_self(void);
/* Can this engine call into a module with descriptor `mod` (NULL: the
 * module has none)? 0 yes; -1 no, with a one-line reason naming both sides
 * in msg (NUL-terminated, truncated to cap; msg may be NULL), e.g.
 * "built against fastrapi.h 0.2.0, the running engine is 0.1.0 (MAJOR.MINOR
 * must match): rebuild it against the engine's fastrapi.h". Reads only the
 * fields the magic and layout vouch for. */
FR_API int fr_native_check(const fr_native_abi *mod, char *msg, size_t cap);

/* ---- only inside the Python extension (fastrapi._fastrapi) ----
 *
 * fr_py_call: call the Python callable the app registered under `name`
 * (app.native_callback(name, fn)) -- the slow path of a native handler.
 * json_args: one JSON value, decoded and passed as the only argument (len
 * 0: fn is called without arguments). The return value is encoded as JSON
 * (the encoder of the app's handlers: dicts, lists, pydantic models, ...)
 * and APPENDED to *out (caller frees with fr_buf_free). 0 on success; -1
 * when there is no such callback, json_args is not JSON, fn raised (logged
 * on "fastrapi.error" with its traceback, and re-raised by a TestClient),
 * the result is not encodable, or the interpreter is shutting down; *out is
 * then unchanged. req: the request being handled (it names the app), from
 * the handler or from the thread that owns it after FR_PENDING.
 * Takes the GIL for the call: it may wait for Python code running on other
 * threads. Called on a loop thread (an inline handler) it stalls that
 * thread's other connections meanwhile; a handler expecting to call it
 * often should return FR_PENDING and call it from its own thread.
 * Defined by the extension: a C program without it fails to link (and a
 * FASTRAPI_STATIC one, whose engine is private, does not see it). */
#ifndef FASTRAPI_STATIC
FR_API int fr_py_call(fr_req *req, const char *name, fr_str json_args, fr_buf *out);
#endif
