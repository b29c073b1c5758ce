/* ---- native.c: the ABI check of native modules (see native.h) ---- */
#include "internal.h"

/* A module whose FR_NATIVE_MODULE() comes after this implementation embeds
 * an engine of its own: its descriptor says so. */
#undef FR__NATIVE_IMPL
#define FR__NATIVE_IMPL 1

#define FR__NATIVE_NAME(t) #t,
static const char *const fr__native_names[FR_NATIVE_NSIZES] = {FR_NATIVE_TYPES(FR__NATIVE_NAME)};

static const fr_native_abi fr__native_self = {
    FR_NATIVE_MAGIC, 1, FASTRAPI_VERSION_MAJOR, FASTRAPI_VERSION_MINOR, FASTRAPI_VERSION_PATCH, 0,
    FR_NATIVE_NSIZES, {FR_NATIVE_TYPES(FR__NATIVE_SIZEOF)}};

const fr_native_abi *fr_native_abi_self(void) { return &fr__native_self; }

static int fr__native_refuse(char *msg, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fr__native_refuse(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    if (msg && cap) {
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#define FR__NATIVE_REBUILD "rebuild it against the engine's fastrapi.h"

int fr_native_check(const fr_native_abi *mod, char *msg, size_t cap) {
    const fr_native_abi *me = &fr__native_self;
    uint32_t i;
    if (msg && cap) msg[0] = 0;
    if (!mod)
        return fr__native_refuse(msg, cap,
                                 "no fr_native_module descriptor: add FR_NATIVE_MODULE(); to one .c "
                                 "file of the library and build it against fastrapi.h %s",
                                 FASTRAPI_VERSION_STRING);
    if (mod->magic != FR_NATIVE_MAGIC)
        return fr__native_refuse(msg, cap,
                                 "fr_native_module is not a fastrapi module descriptor (magic "
                                 "0x%08lx, expected 0x%08lx): define it only with FR_NATIVE_MODULE()",
                                 (unsigned long)mod->magic, (unsigned long)FR_NATIVE_MAGIC);
    if (mod->layout != me->layout)
        return fr__native_refuse(msg, cap,
                                 "descriptor layout %lu, the running engine (fastrapi %s) reads "
                                 "layout %lu: " FR__NATIVE_REBUILD,
                                 (unsigned long)mod->layout, FASTRAPI_VERSION_STRING,
                                 (unsigned long)me->layout);
    if (mod->impl)
        return fr__native_refuse(msg, cap,
                                 "the library contains an engine of its own (built with "
                                 "FASTRAPI_IMPLEMENTATION): build it without, so that its fr_* "
                                 "calls use the running engine");
    if (mod->major != me->major || mod->minor != me->minor)
        return fr__native_refuse(msg, cap,
                                 "built against fastrapi.h %lu.%lu.%lu, the running engine is "
                                 "%lu.%lu.%lu (MAJOR.MINOR must match): " FR__NATIVE_REBUILD,
                                 (unsigned long)mod->major, (unsigned long)mod->minor,
                                 (unsigned long)mod->patch, (unsigned long)me->major,
                                 (unsigned long)me->minor, (unsigned long)me->patch);
    if (mod->nsizes != me->nsizes)
        return fr__native_refuse(msg, cap,
                                 "the descriptor lists %lu struct sizes, the running engine "
                                 "(fastrapi %s) %lu: " FR__NATIVE_REBUILD,
                                 (unsigned long)mod->nsizes, FASTRAPI_VERSION_STRING,
                                 (unsigned long)me->nsizes);
    for (i = 0; i < me->nsizes; i++)
        if (mod->sizes[i] != me->sizes[i])
            return fr__native_refuse(msg, cap,
                                     "sizeof(%s) is %lu in the library but %lu in the running "
                                     "engine (fastrapi %s): it was built against a different "
                                     "fastrapi.h or other FR_* options; " FR__NATIVE_REBUILD,
                                     fr__native_names[i], (unsigned long)mod->sizes[i],
                                     (unsigned long)me->sizes[i], FASTRAPI_VERSION_STRING);
    return 0;
}
