/* Unit tests for src/scalar.c: the int/float/bool/uuid answers (OK with
 * pydantic's value, INVALID, DEFER). Inputs sit right before a guard page.
 * tests/test_c_parity.py checks the same functions against pydantic. */
#include "frtest.h"
#define FASTRAPI_IMPLEMENTATION
#include "fastrapi.h"

#include <math.h>

#define S(lit) lit, sizeof(lit) - 1

static int pint(const char *s, size_t n, int64_t *v) {
    char *g = (char *)frt_guarded(s, n);
    fr_str in;
    int r;
    in.buf = g;
    in.len = n;
    *v = 12345;
    r = fr_parse_int(in, v);
    frt_guarded_free(g, n);
    return r;
}

static int pfloat(const char *s, size_t n, double *v) {
    char *g = (char *)frt_guarded(s, n);
    fr_str in;
    int r;
    in.buf = g;
    in.len = n;
    *v = 12345;
    r = fr_parse_float(in, v);
    frt_guarded_free(g, n);
    return r;
}

static int pbool(const char *s, size_t n, int *v) {
    char *g = (char *)frt_guarded(s, n);
    fr_str in;
    int r;
    in.buf = g;
    in.len = n;
    *v = 7;
    r = fr_parse_bool(in, v);
    frt_guarded_free(g, n);
    return r;
}

static int puuid(const char *s, size_t n, unsigned char *v) {
    char *g = (char *)frt_guarded(s, n);
    fr_str in;
    int r;
    in.buf = g;
    in.len = n;
    memset(v, 0xee, 16);
    r = fr_parse_uuid(in, v);
    frt_guarded_free(g, n);
    return r;
}

#define INT_OK(lit, want) CHECK(pint(S(lit), &iv) == FR_SCALAR_OK && iv == (want))
#define INT_IS(lit, res) CHECK(pint(S(lit), &iv) == (res) && iv == 12345)

static void test_int(void) {
    int64_t iv;
    fr_str none = {NULL, 0};
    INT_OK("0", 0);
    INT_OK("-0", 0);
    INT_OK("7", 7);
    INT_OK("-12", -12);
    INT_OK("9223372036854775807", INT64_MAX);
    INT_OK("-9223372036854775808", INT64_MIN);
    /* forms pydantic reads differently or more loosely: DEFER */
    INT_IS("9223372036854775808", FR_SCALAR_DEFER); /* a Python int beyond int64 */
    INT_IS("-9223372036854775809", FR_SCALAR_DEFER);
    INT_IS("99999999999999999999999999", FR_SCALAR_DEFER);
    INT_IS("+1", FR_SCALAR_DEFER);
    INT_IS("007", FR_SCALAR_DEFER);
    INT_IS("00", FR_SCALAR_DEFER);
    INT_IS("-01", FR_SCALAR_DEFER);
    INT_IS("1.0", FR_SCALAR_DEFER);
    INT_IS("1.", FR_SCALAR_DEFER);
    INT_IS("1.00", FR_SCALAR_DEFER);
    INT_IS("1_000", FR_SCALAR_DEFER);
    INT_IS("1_x", FR_SCALAR_DEFER); /* '_' is never judged */
    INT_IS(" 1", FR_SCALAR_DEFER);
    INT_IS("1\n", FR_SCALAR_DEFER);
    INT_IS("\xc2\xa0" "1", FR_SCALAR_DEFER);
    INT_IS("\xd9\xa3", FR_SCALAR_DEFER); /* Arabic-Indic digit */
    INT_IS("-", FR_SCALAR_DEFER);
    INT_IS("+", FR_SCALAR_DEFER);
    INT_IS("0-1", FR_SCALAR_DEFER); /* pydantic 2.13 says -1 (leading-zero stripping) */
    INT_IS("--1", FR_SCALAR_DEFER);
    INT_IS("1-", FR_SCALAR_DEFER);
    INT_IS("1\x7f", FR_SCALAR_DEFER);
    INT_IS("1.0.0", FR_SCALAR_DEFER);
    /* certainly int_parsing */
    INT_IS("", FR_SCALAR_INVALID);
    INT_IS("abc", FR_SCALAR_INVALID);
    INT_IS("1a", FR_SCALAR_INVALID);
    INT_IS("1e3", FR_SCALAR_INVALID);
    INT_IS("0x10", FR_SCALAR_INVALID);
    INT_IS("inf", FR_SCALAR_INVALID);
    INT_IS("1,0", FR_SCALAR_INVALID);
    INT_IS("1.5", FR_SCALAR_INVALID);
    INT_IS("-1.05", FR_SCALAR_INVALID);
    INT_IS("+.5", FR_SCALAR_INVALID);
    INT_IS(".5", FR_SCALAR_INVALID);
    INT_IS("1.50", FR_SCALAR_INVALID);
    INT_IS("true", FR_SCALAR_INVALID);
    CHECK(fr_parse_int(none, &iv) == FR_SCALAR_INVALID);
    CHECK(fr_parse_int(FR_STR("5"), NULL) == FR_SCALAR_OK);
    {
        /* beyond 4300 bytes pydantic answers int_parsing_size: DEFER */
        static char big[4302];
        memset(big, 'a', sizeof big);
        CHECK(pint(big, 4300, &iv) == FR_SCALAR_INVALID);
        CHECK(pint(big, 4301, &iv) == FR_SCALAR_DEFER);
        memset(big, '1', sizeof big);
        CHECK(pint(big, 4301, &iv) == FR_SCALAR_DEFER);
        big[0] = '.';
        CHECK(pint(big, 4300, &iv) == FR_SCALAR_INVALID);
    }
}

#define FLT_OK(lit, want) CHECK(pfloat(S(lit), &dv) == FR_SCALAR_OK && dv == (want))
#define FLT_IS(lit, res) CHECK(pfloat(S(lit), &dv) == (res) && dv == 12345)

static void test_float(void) {
    double dv;
    fr_str none = {NULL, 0};
    FLT_OK("0", 0.0);
    FLT_OK("1.5", 1.5);
    FLT_OK("-2", -2.0);
    FLT_OK("3e8", 3e8);
    FLT_OK("3E+8", 3e8);
    FLT_OK("2.5e-3", 2.5e-3);
    FLT_OK("0.1", 0.1);
    FLT_OK("9007199254740993", 9007199254740992.0); /* rounded to nearest even */
    FLT_OK("9223372036854775807", 9223372036854775808.0);
    FLT_OK("1e-400", 0.0); /* underflow: 0.0 like Rust */
    FLT_OK("5e-324", 5e-324);
    FLT_OK("1.7976931348623157e308", 1.7976931348623157e308);
    FLT_OK("0.30000000000000004", 0.30000000000000004);
    CHECK(pfloat(S("-0"), &dv) == FR_SCALAR_OK && dv == 0 && signbit(dv));
    CHECK(pfloat(S("-0.0"), &dv) == FR_SCALAR_OK && dv == 0 && signbit(dv));
    CHECK(pfloat(S("0.0"), &dv) == FR_SCALAR_OK && dv == 0 && !signbit(dv));
    CHECK(pfloat(S("-0e5"), &dv) == FR_SCALAR_OK && dv == 0 && signbit(dv));
    /* DEFER */
    FLT_IS("1e400", FR_SCALAR_DEFER);  /* inf in pydantic */
    FLT_IS("-1e400", FR_SCALAR_DEFER);
    FLT_IS("9223372036854775808", FR_SCALAR_DEFER); /* beyond int64 */
    FLT_IS("inf", FR_SCALAR_DEFER);
    FLT_IS("-Infinity", FR_SCALAR_DEFER);
    FLT_IS("NaN", FR_SCALAR_DEFER);
    FLT_IS("+1", FR_SCALAR_DEFER);
    FLT_IS(".5", FR_SCALAR_DEFER);
    FLT_IS("1.", FR_SCALAR_DEFER);
    FLT_IS("+1e5", FR_SCALAR_DEFER);
    FLT_IS(".5E-3", FR_SCALAR_DEFER);
    FLT_IS("1.e+07", FR_SCALAR_DEFER);
    FLT_IS("01", FR_SCALAR_DEFER);
    FLT_IS("1_0", FR_SCALAR_DEFER);
    FLT_IS("1__0", FR_SCALAR_DEFER);
    FLT_IS(" 1.5", FR_SCALAR_DEFER);
    FLT_IS("1.5\t", FR_SCALAR_DEFER);
    FLT_IS("\xd9\xa1", FR_SCALAR_DEFER);
    FLT_IS("1\x01", FR_SCALAR_DEFER);
    FLT_IS("0.10000000000000000000000000000000000000000000000000000000000000000", FR_SCALAR_DEFER);
    /* float_parsing for sure */
    FLT_IS("", FR_SCALAR_INVALID);
    FLT_IS("abc", FR_SCALAR_INVALID);
    FLT_IS(".", FR_SCALAR_INVALID);
    FLT_IS("-", FR_SCALAR_INVALID);
    FLT_IS("e5", FR_SCALAR_INVALID);
    FLT_IS("1e", FR_SCALAR_INVALID);
    FLT_IS("1e+", FR_SCALAR_INVALID);
    FLT_IS("1.5x", FR_SCALAR_INVALID);
    FLT_IS("1,5", FR_SCALAR_INVALID);
    FLT_IS("1.2.3", FR_SCALAR_INVALID);
    FLT_IS("--1", FR_SCALAR_INVALID);
    FLT_IS("+-1", FR_SCALAR_INVALID);
    FLT_IS("1-", FR_SCALAR_INVALID);
    FLT_IS("infx", FR_SCALAR_INVALID);
    FLT_IS("infinit", FR_SCALAR_INVALID);
    FLT_IS("nan1", FR_SCALAR_INVALID);
    FLT_IS("0x10", FR_SCALAR_INVALID);
    FLT_IS("1d5", FR_SCALAR_INVALID);
    FLT_IS("++inf", FR_SCALAR_INVALID);
    FLT_IS("1e5.", FR_SCALAR_INVALID);
    FLT_IS("+1e5e5", FR_SCALAR_INVALID);
    FLT_IS("+e5", FR_SCALAR_INVALID);
    CHECK(fr_parse_float(none, &dv) == FR_SCALAR_INVALID);
    CHECK(fr_parse_float(FR_STR("2.5"), NULL) == FR_SCALAR_OK);
    {
        static char big[300];
        memset(big, '1', sizeof big);
        CHECK(pfloat(big, 18, &dv) == FR_SCALAR_OK && dv == 111111111111111111.0);
        CHECK(pfloat(big, 64, &dv) == FR_SCALAR_DEFER); /* an integer beyond int64 */
        big[1] = '.';
        CHECK(pfloat(big, 64, &dv) == FR_SCALAR_OK &&
              dv == 1.11111111111111111111111111111111111111111111111111111111111111);
        CHECK(pfloat(big, 65, &dv) == FR_SCALAR_DEFER); /* longer than 64 bytes */
        big[299] = 'x';
        CHECK(pfloat(big, 300, &dv) == FR_SCALAR_INVALID);
    }
}

#define BOOL_IS(lit, res, want) CHECK(pbool(S(lit), &bv) == (res) && bv == (want))

static void test_bool(void) {
    int bv;
    fr_str none = {NULL, 0};
    static const char *const t[] = {"1", "t", "T", "y", "Y", "on", "ON", "oN", "yes", "YeS", "true", "TRUE", "True"};
    static const char *const f[] = {"0", "f", "F", "n", "N", "no", "NO", "off", "OFF", "false", "FALSE", "fAlSe"};
    size_t i;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) CHECK(pbool(t[i], strlen(t[i]), &bv) == FR_SCALAR_OK && bv == 1);
    for (i = 0; i < sizeof f / sizeof f[0]; i++) CHECK(pbool(f[i], strlen(f[i]), &bv) == FR_SCALAR_OK && bv == 0);
    BOOL_IS("", FR_SCALAR_INVALID, 7);
    BOOL_IS("2", FR_SCALAR_INVALID, 7);
    BOOL_IS("01", FR_SCALAR_INVALID, 7);
    BOOL_IS("1.0", FR_SCALAR_INVALID, 7);
    BOOL_IS("-0", FR_SCALAR_INVALID, 7);
    BOOL_IS("tru", FR_SCALAR_INVALID, 7);
    BOOL_IS("truex", FR_SCALAR_INVALID, 7);
    BOOL_IS("yess", FR_SCALAR_INVALID, 7);
    BOOL_IS("of", FR_SCALAR_INVALID, 7);
    BOOL_IS("nope", FR_SCALAR_INVALID, 7);
    BOOL_IS(" true", FR_SCALAR_DEFER, 7);
    BOOL_IS("true ", FR_SCALAR_DEFER, 7);
    BOOL_IS("true\x00", FR_SCALAR_DEFER, 7);
    BOOL_IS("\xef\xbd\x94rue", FR_SCALAR_DEFER, 7);
    CHECK(fr_parse_bool(none, &bv) == FR_SCALAR_INVALID);
    CHECK(fr_parse_bool(FR_STR("yes"), NULL) == FR_SCALAR_OK);
}

static void test_uuid(void) {
    static const unsigned char want[16] = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
                                           0x0f, 0xed, 0xcb, 0xa9, 0x87, 0x65, 0x43, 0x21};
    unsigned char u[16];
    fr_str none = {NULL, 0};
    CHECK(puuid(S("12345678-9abc-def0-0fed-cba987654321"), u) == FR_SCALAR_OK && memcmp(u, want, 16) == 0);
    CHECK(puuid(S("12345678-9ABC-DEF0-0FED-CBA987654321"), u) == FR_SCALAR_OK && memcmp(u, want, 16) == 0);
    CHECK(puuid(S("123456789abcdef00fedcba987654321"), u) == FR_SCALAR_OK && memcmp(u, want, 16) == 0);
    CHECK(puuid(S("123456789AbCdEf00FeDcBa987654321"), u) == FR_SCALAR_OK && memcmp(u, want, 16) == 0);
    CHECK(puuid(S("00000000-0000-0000-0000-000000000000"), u) == FR_SCALAR_OK && u[0] == 0 && u[15] == 0);
    CHECK(puuid(S("ffffffff-ffff-ffff-ffff-ffffffffffff"), u) == FR_SCALAR_OK && u[0] == 0xff && u[15] == 0xff);
    /* everything else DEFERs, the output untouched */
    CHECK(puuid(S("{12345678-9abc-def0-0fed-cba987654321}"), u) == FR_SCALAR_DEFER && u[0] == 0xee);
    CHECK(puuid(S("urn:uuid:12345678-9abc-def0-0fed-cba987654321"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("12345678-9abc-def0-0fed-cba98765432"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("12345678-9abc-def0-0fed-cba9876543210"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("123456789-abc-def0-0fed-cba987654321"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("12345678-9abc-def0-0fed_cba987654321"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("12345678-9abc-def0-0fed-cba98765432g"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("g2345678-9abc-def0-0fed-cba987654321"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("123456789abcdef00fedcba98765432-"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("-23456789abcdef00fedcba987654321"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("1234567-89abc-def0-0fed-cba987654321"), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S(""), u) == FR_SCALAR_DEFER);
    CHECK(puuid(S("x"), u) == FR_SCALAR_DEFER);
    CHECK(fr_parse_uuid(none, u) == FR_SCALAR_DEFER);
    CHECK(fr_parse_uuid(FR_STR("123456789abcdef00fedcba987654321"), NULL) == FR_SCALAR_OK);
}

static void test_messages(void) {
    CHECK(strcmp(fr_scalar_error_type(FR_SCALAR_INT), "int_parsing") == 0);
    CHECK(strcmp(fr_scalar_error_type(FR_SCALAR_FLOAT), "float_parsing") == 0);
    CHECK(strcmp(fr_scalar_error_type(FR_SCALAR_BOOL), "bool_parsing") == 0);
    CHECK(strcmp(fr_scalar_error_type(FR_SCALAR_UUID), "uuid_parsing") == 0);
    CHECK(strcmp(fr_scalar_error_type(0), "") == 0);
    CHECK(strcmp(fr_scalar_error_type(99), "") == 0);
    CHECK(strcmp(fr_scalar_error_msg(FR_SCALAR_INT),
                 "Input should be a valid integer, unable to parse string as an integer") == 0);
    CHECK(strcmp(fr_scalar_error_msg(FR_SCALAR_FLOAT),
                 "Input should be a valid number, unable to parse string as a number") == 0);
    CHECK(strcmp(fr_scalar_error_msg(FR_SCALAR_BOOL),
                 "Input should be a valid boolean, unable to interpret input") == 0);
    CHECK(strcmp(fr_scalar_error_msg(FR_SCALAR_UUID), "") == 0);
    CHECK(strcmp(fr_scalar_error_msg(-5), "") == 0);
}

static const frt_case frt_cases[] = {
    FRT(test_int), FRT(test_float), FRT(test_bool), FRT(test_uuid), FRT(test_messages),
};
FRT_MAIN()
