/* ---- scalar.c: strict scalar parsing for request parameters ----
 *
 * The answers follow pydantic-core 2's str_as_int / str_as_float /
 * str_as_bool and the uuid crate's Uuid::parse_str. Anything those strip or
 * rewrite first (whitespace, '_', leading zeros, a '+', "1.0" for an int) is
 * DEFERred rather than modelled, so the C side only ever claims the cases
 * that hold across pydantic releases. */
#include "internal.h"

/* pydantic refuses integer text longer than this with int_parsing_size, not
 * int_parsing (CPython's int() digit limit). */
#define FR__SC_INT_MAX_LEN 4300
/* Longer float text is handed to pydantic (repr() of any double is at most
 * 24 bytes). */
#define FR__SC_FLOAT_MAX_LEN 64

static int fr__sc_digit(unsigned c) { return c - '0' < 10u; }

/* Printable ASCII other than space: bytes pydantic cannot strip or read as
 * a Unicode digit. Text with any other byte is DEFERred before it can be
 * called invalid. */
static int fr__sc_plain(fr_str s) {
    size_t i;
    for (i = 0; i < s.len; i++)
        if ((unsigned char)s.buf[i] < 0x21 || (unsigned char)s.buf[i] > 0x7e) return 0;
    return 1;
}

static int fr__sc_has(fr_str s, char c) { return s.len && memchr(s.buf, c, s.len) != NULL; }

/* ---- int ---- */

/* "[+-]?[0-9]*\.[0-9]*[1-9][0-9]*": a fraction that is not zero, which no
 * pydantic release turns into an int. */
static int fr__sc_fraction(fr_str s) {
    size_t i = 0, dots = 0;
    int nonzero = 0;
    if (s.len && (s.buf[0] == '+' || s.buf[0] == '-')) i = 1;
    for (; i < s.len; i++) {
        unsigned c = (unsigned char)s.buf[i];
        if (c == '.') dots++;
        else if (!fr__sc_digit(c)) return 0;
        else if (dots && c != '0') nonzero = 1;
    }
    return dots == 1 && nonzero;
}

int fr_parse_int(fr_str s, int64_t *out) {
    size_t i = 0, j;
    int neg = 0;
    uint64_t v = 0, lim;
    if (!s.buf) s.len = 0;
    if (s.len == 0) return FR_SCALAR_INVALID;
    if (s.buf[0] == '-') {
        neg = 1;
        i = 1;
    }
    /* the canonical form: -?(0|[1-9][0-9]*) within int64 */
    lim = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (j = i; j < s.len && fr__sc_digit((unsigned char)s.buf[j]); j++) {
        unsigned d = (unsigned char)s.buf[j] - '0';
        if (v > (lim - d) / 10) break; /* beyond int64: a Python int, DEFER */
        v = v * 10 + d;
    }
    if (j == s.len && j > i && !(s.buf[i] == '0' && s.len - i > 1)) {
        if (out) *out = neg ? (int64_t)(0 - v) : (int64_t)v;
        return FR_SCALAR_OK;
    }
    if (!fr__sc_plain(s) || s.len > FR__SC_INT_MAX_LEN || fr__sc_has(s, '_')) return FR_SCALAR_DEFER;
    for (j = 0; j < s.len; j++) {
        unsigned c = (unsigned char)s.buf[j];
        if (!fr__sc_digit(c) && c != '+' && c != '-' && c != '.') return FR_SCALAR_INVALID;
    }
    return fr__sc_fraction(s) ? FR_SCALAR_INVALID : FR_SCALAR_DEFER;
}

/* ---- float ---- */

/* Rust's f64 grammar (what pydantic-core parses with):
 *   [+-]? ( inf | infinity | nan | Number )   (words in any case)
 *   Number = ( D+ | D+ '.' D* | D* '.' D+ ) ( [eE] [+-]? D+ )?          */
static int fr__sc_rust_float(fr_str s) {
    size_t i = 0, intd = 0, fracd = 0, ed = 0;
    fr_str w;
    if (s.len && (s.buf[0] == '+' || s.buf[0] == '-')) i = 1;
    w.buf = s.buf + i;
    w.len = s.len - i;
    if (fr_str_ieq_c(w, "inf") || fr_str_ieq_c(w, "infinity") || fr_str_ieq_c(w, "nan")) return 1;
    while (i < s.len && fr__sc_digit((unsigned char)s.buf[i])) i++, intd++;
    if (i < s.len && s.buf[i] == '.') {
        i++;
        while (i < s.len && fr__sc_digit((unsigned char)s.buf[i])) i++, fracd++;
    }
    if (intd + fracd == 0) return 0;
    if (i < s.len && (s.buf[i] == 'e' || s.buf[i] == 'E')) {
        i++;
        if (i < s.len && (s.buf[i] == '+' || s.buf[i] == '-')) i++;
        while (i < s.len && fr__sc_digit((unsigned char)s.buf[i])) i++, ed++;
        if (ed == 0) return 0;
    }
    return i == s.len;
}

/* A JSON number (RFC 8259 grammar): a subset of the above whose value the
 * engine's JSON reader computes correctly rounded and locale-independently,
 * as Rust does. */
static int fr__sc_json_number(fr_str s) {
    size_t i = 0, n;
    if (s.len && s.buf[0] == '-') i = 1;
    if (i == s.len || !fr__sc_digit((unsigned char)s.buf[i])) return 0;
    if (s.buf[i] == '0') i++;
    else while (i < s.len && fr__sc_digit((unsigned char)s.buf[i])) i++;
    if (i < s.len && s.buf[i] == '.') {
        for (n = ++i; i < s.len && fr__sc_digit((unsigned char)s.buf[i]); i++) {}
        if (i == n) return 0;
    }
    if (i < s.len && (s.buf[i] == 'e' || s.buf[i] == 'E')) {
        i++;
        if (i < s.len && (s.buf[i] == '+' || s.buf[i] == '-')) i++;
        for (n = i; i < s.len && fr__sc_digit((unsigned char)s.buf[i]); i++) {}
        if (i == n) return 0;
    }
    return i == s.len;
}

typedef struct fr__sc_num {
    double d;
    int neg, ok;
} fr__sc_num;

static int fr__sc_on_double(void *ctx, double v) {
    fr__sc_num *n = (fr__sc_num *)ctx;
    n->d = v;
    n->ok = 1;
    return 0;
}

static int fr__sc_on_int(void *ctx, int64_t v) {
    fr__sc_num *n = (fr__sc_num *)ctx;
    /* int64 -> double rounds to nearest; "-0" is -0.0 as in Rust */
    n->d = v == 0 && n->neg ? -0.0 : (double)v;
    n->ok = 1;
    return 0;
}

int fr_parse_float(fr_str s, double *out) {
    fr_json_sax sax;
    fr__sc_num n;
    if (!s.buf) s.len = 0;
    if (s.len == 0) return FR_SCALAR_INVALID;
    if (s.len <= FR__SC_FLOAT_MAX_LEN && fr__sc_json_number(s)) {
        memset(&sax, 0, sizeof sax);
        memset(&n, 0, sizeof n);
        sax.on_double = fr__sc_on_double;
        sax.on_int = fr__sc_on_int; /* no on_bigint: beyond int64 leaves ok 0, DEFER */
        n.neg = s.buf[0] == '-';
        if (fr_json_parse_events(s.buf, s.len, &sax, &n, 1, NULL) == 0 && n.ok) {
            if (out) *out = n.d;
            return FR_SCALAR_OK;
        }
        return FR_SCALAR_DEFER; /* beyond the double range: pydantic gives inf */
    }
    if (!fr__sc_plain(s) || fr__sc_has(s, '_') || fr__sc_rust_float(s)) return FR_SCALAR_DEFER;
    return FR_SCALAR_INVALID;
}

/* ---- bool ---- */

int fr_parse_bool(fr_str s, int *out) {
    static const char *const no[] = {"0", "f", "n", "no", "off", "false"};
    static const char *const yes[] = {"1", "t", "y", "on", "yes", "true"};
    size_t i;
    if (!s.buf) s.len = 0;
    for (i = 0; i < FR__COUNTOF(no); i++) {
        if (fr_str_ieq_c(s, no[i]) || fr_str_ieq_c(s, yes[i])) {
            if (out) *out = fr_str_ieq_c(s, yes[i]);
            return FR_SCALAR_OK;
        }
    }
    return fr__sc_plain(s) ? FR_SCALAR_INVALID : FR_SCALAR_DEFER;
}

/* ---- uuid ---- */

int fr_parse_uuid(fr_str s, unsigned char out[16]) {
    unsigned char u[16];
    size_t i, o = 0;
    int dashed;
    if (!s.buf) s.len = 0;
    if (s.len != 32 && s.len != 36) return FR_SCALAR_DEFER;
    dashed = s.len == 36;
    for (i = 0; i < s.len;) {
        int hi, lo;
        if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
            if (s.buf[i] != '-') return FR_SCALAR_DEFER;
            i++;
            continue;
        }
        hi = fr__hexval((unsigned char)s.buf[i]);
        lo = fr__hexval((unsigned char)s.buf[i + 1]);
        if (hi < 0 || lo < 0) return FR_SCALAR_DEFER;
        u[o++] = (unsigned char)(hi * 16 + lo);
        i += 2;
    }
    if (out) memcpy(out, u, sizeof u);
    return FR_SCALAR_OK;
}

/* ---- messages ---- */

const char *fr_scalar_error_type(int kind) {
    switch (kind) {
    case FR_SCALAR_INT: return "int_parsing";
    case FR_SCALAR_FLOAT: return "float_parsing";
    case FR_SCALAR_BOOL: return "bool_parsing";
    case FR_SCALAR_UUID: return "uuid_parsing";
    default: return "";
    }
}

const char *fr_scalar_error_msg(int kind) {
    switch (kind) {
    case FR_SCALAR_INT: return "Input should be a valid integer, unable to parse string as an integer";
    case FR_SCALAR_FLOAT: return "Input should be a valid number, unable to parse string as a number";
    case FR_SCALAR_BOOL: return "Input should be a valid boolean, unable to interpret input";
    default: return ""; /* uuid: never INVALID, pydantic's message embeds the parser's detail */
    }
}
