/* ---- scalar.h: strict scalar parsing for request parameters ----
 *
 * Path, query, header, cookie and form values arrive as text and are
 * coerced to the declared type (FastAPI: pydantic in lax mode). These
 * parsers decide the common cases in C and say when they cannot:
 *
 *   FR_SCALAR_OK       parsed; *out holds exactly what pydantic gives
 *   FR_SCALAR_INVALID  certainly not valid: pydantic rejects it with the error
 *                      type fr_scalar_error_type(kind) and the message
 *                      fr_scalar_error_msg(kind) (e.g. "int_parsing",
 *                      "Input should be a valid integer, unable to parse
 *                      string as an integer")
 *   FR_SCALAR_DEFER    a rarer form pydantic may accept or reject with
 *                      another message (whitespace, underscores, "1.0" for
 *                      an int, huge numbers, ...): ask the full validator.
 *
 * Never wrong in the first two answers; DEFER is always safe. */

enum { FR_SCALAR_OK = 0, FR_SCALAR_INVALID = -1, FR_SCALAR_DEFER = 1 };
enum { FR_SCALAR_INT = 1, FR_SCALAR_FLOAT, FR_SCALAR_BOOL, FR_SCALAR_UUID };

/* Canonical decimal integer that fits int64 ("-12", "0", "-0"; "+1", "007",
 * "1.0", "1_000", " 1", beyond int64 DEFER). INVALID: empty, or printable
 * ASCII of at most 4300 bytes without '_' holding a character no
 * integer has ("abc", "1e3", "1,5") or a non-zero fraction ("1.5"). */
FR_API int fr_parse_int(fr_str s, int64_t *out);
/* Decimal float in JSON's grammar ("1.5", "-2", "3e8", "-0"), correctly
 * rounded; NaN/inf spellings, ".5", "1.", "+1", '_', whitespace, results
 * beyond the double range, integers beyond int64 and inputs over 64 bytes
 * DEFER. INVALID: printable ASCII that is no float at all ("abc", "1.2.3"). */
FR_API int fr_parse_float(fr_str s, double *out);
/* pydantic's lax booleans: 0/1, true/false, t/f, yes/no, y/n, on/off,
 * any case. *out = 0 or 1. Other printable ASCII is INVALID; text with
 * whitespace, control or non-ASCII bytes DEFERs. */
FR_API int fr_parse_bool(fr_str s, int *out);
/* UUID as 32 hex digits, with or without the four dashes (8-4-4-4-12), any
 * case; out = the 16 bytes. Every other form DEFERs (braces, "urn:uuid:"),
 * and so does text pydantic rejects: its uuid_parsing message embeds the
 * parser's detail, so this never answers INVALID. */
FR_API int fr_parse_uuid(fr_str s, unsigned char out[16]);
/* pydantic's error type and message for kind (FR_SCALAR_INT ...); "" for
 * an unknown kind, and "" as the UUID message (see fr_parse_uuid). Static
 * strings. */
FR_API const char *fr_scalar_error_type(int kind);
FR_API const char *fr_scalar_error_msg(int kind);
