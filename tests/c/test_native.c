/* Unit tests for src/native.c: the ABI check of native modules
 * (fr_native_check, fr_native_abi_self, FR_NATIVE_MODULE). Descriptors sit
 * right before a guard page, so a read past the struct crashes.
 * tests/py/test_native_routes.py loads real modules into the Python face. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

/* in this file the engine is included: the descriptor must say so
 * (unamalgamated, the implementation is compiled elsewhere: it does not) */
FR_NATIVE_MODULE();

#define NAME(t) #t,
static const char *const type_names[] = {FR_NATIVE_TYPES(NAME)};

static int check_copy(const fr_native_abi *d, char *msg, size_t cap) {
    fr_native_abi *g = (fr_native_abi *)frt_guarded(d, sizeof *d);
    int r = fr_native_check(g, msg, cap);
    frt_guarded_free(g, sizeof *d);
    return r;
}

static void test_self(void) {
    const fr_native_abi *me = fr_native_abi_self();
    char msg[256] = "x";
    REQUIRE(me != NULL);
    CHECK_EQ_INT(me->magic, FR_NATIVE_MAGIC);
    CHECK_EQ_INT(me->layout, 1);
    CHECK_EQ_INT(me->major, FASTRAPI_VERSION_MAJOR);
    CHECK_EQ_INT(me->minor, FASTRAPI_VERSION_MINOR);
    CHECK_EQ_INT(me->patch, FASTRAPI_VERSION_PATCH);
    CHECK_EQ_INT(me->impl, 0);
    CHECK_EQ_INT(me->nsizes, FR_NATIVE_NSIZES);
    CHECK_EQ_INT(sizeof type_names / sizeof type_names[0], FR_NATIVE_NSIZES);
    CHECK_EQ_INT(me->sizes[0], sizeof(void *));
    CHECK_EQ_INT(me->sizes[1], sizeof(fr_str));
    CHECK_EQ_INT(me->sizes[8], sizeof(fr_config));
    CHECK(strcmp(type_names[8], "fr_config") == 0);
    CHECK_EQ_INT(check_copy(me, msg, sizeof msg), 0);
    CHECK_EQ_INT(msg[0], 0); /* cleared on success */
}

static void test_version_string(void) {
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", FASTRAPI_VERSION_MAJOR, FASTRAPI_VERSION_MINOR,
             FASTRAPI_VERSION_PATCH);
    CHECK(strcmp(v, FASTRAPI_VERSION_STRING) == 0);
}

static void test_module_macro(void) {
    char msg[256];
    CHECK_EQ_INT(fr_native_module.magic, FR_NATIVE_MAGIC);
    CHECK_EQ_INT(fr_native_module.major, FASTRAPI_VERSION_MAJOR);
    CHECK_EQ_INT(fr_native_module.sizes[6], sizeof(fr_header));
#ifdef FRT_UNAMALGAMATED
    CHECK_EQ_INT(fr_native_module.impl, 0);
    CHECK_EQ_INT(check_copy(&fr_native_module, msg, sizeof msg), 0);
#else
    CHECK_EQ_INT(fr_native_module.impl, 1);
    CHECK_EQ_INT(check_copy(&fr_native_module, msg, sizeof msg), -1);
    CHECK(strstr(msg, "engine of its own") != NULL);
    CHECK(strstr(msg, "FASTRAPI_IMPLEMENTATION") != NULL);
#endif
}

static void test_missing(void) {
    char msg[256];
    CHECK_EQ_INT(fr_native_check(NULL, msg, sizeof msg), -1);
    CHECK(strstr(msg, "no fr_native_module descriptor") != NULL);
    CHECK(strstr(msg, "FR_NATIVE_MODULE()") != NULL);
    CHECK(strstr(msg, FASTRAPI_VERSION_STRING) != NULL);
    /* no message buffer: still refused, nothing written */
    CHECK_EQ_INT(fr_native_check(NULL, NULL, 0), -1);
    msg[0] = 'x';
    CHECK_EQ_INT(fr_native_check(NULL, msg, 0), -1);
    CHECK_EQ_INT(msg[0], 'x');
}

static void test_truncated_message(void) {
    char msg[8];
    memset(msg, 'z', sizeof msg);
    CHECK_EQ_INT(fr_native_check(NULL, msg, sizeof msg), -1);
    CHECK_EQ_INT(strlen(msg), 7);
}

static void test_version_mismatch(void) {
    fr_native_abi d = *fr_native_abi_self();
    char msg[256], want[128];
    d.minor += 1;
    CHECK_EQ_INT(check_copy(&d, msg, sizeof msg), -1);
    snprintf(want, sizeof want, "built against fastrapi.h %d.%d.%d, the running engine is %s",
             FASTRAPI_VERSION_MAJOR, FASTRAPI_VERSION_MINOR + 1, FASTRAPI_VERSION_PATCH,
             FASTRAPI_VERSION_STRING);
    CHECK(strstr(msg, want) != NULL);
    CHECK(strstr(msg, "MAJOR.MINOR must match") != NULL);
    d = *fr_native_abi_self();
    d.major += 1;
    CHECK_EQ_INT(check_copy(&d, msg, sizeof msg), -1);
    /* a different patch level is accepted */
    d = *fr_native_abi_self();
    d.patch += 7;
    CHECK_EQ_INT(check_copy(&d, msg, sizeof msg), 0);
}

static void test_size_mismatch(void) {
    char msg[256], want[128];
    int i;
    for (i = 0; i < FR_NATIVE_NSIZES; i++) {
        fr_native_abi d = *fr_native_abi_self();
        d.sizes[i] += 8;
        msg[0] = 0;
        CHECK_EQ_INT(check_copy(&d, msg, sizeof msg), -1);
        snprintf(want, sizeof want, "sizeof(%s) is %lu in the library but %lu in the running engine",
                 type_names[i], (unsigned long)d.sizes[i], (unsigned long)d.sizes[i] - 8);
        CHECK(strstr(msg, want) != NULL);
    }
}

static void test_bad_descriptor(void) {
    fr_native_abi d = *fr_native_abi_self();
    char msg[256];
    d.magic = 0x12345678u;
    CHECK_EQ_INT(check_copy(&d, msg, sizeof msg), -1);
    CHECK(strstr(msg, "not a fastrapi module descriptor (magic 0x12345678") != NULL);
    d = *fr_native_abi_self();
    d.layout = 2;
    CHECK_EQ_INT(check_copy(&d, msg, sizeof msg), -1);
    CHECK(strstr(msg, "descriptor layout 2") != NULL);
    d = *fr_native_abi_self();
    d.nsizes = FR_NATIVE_NSIZES + 1;
    CHECK_EQ_INT(check_copy(&d, msg, sizeof msg), -1);
    CHECK(strstr(msg, "struct sizes") != NULL);
    d = *fr_native_abi_self();
    d.impl = 1;
    CHECK_EQ_INT(check_copy(&d, msg, sizeof msg), -1);
    CHECK(strstr(msg, "engine of its own") != NULL);
}

static const frt_case frt_cases[] = {
    FRT(test_self),         FRT(test_version_string),    FRT(test_module_macro),
    FRT(test_missing),      FRT(test_truncated_message), FRT(test_version_mismatch),
    FRT(test_size_mismatch), FRT(test_bad_descriptor),
};

FRT_MAIN()
