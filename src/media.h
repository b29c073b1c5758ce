/* ---- media.h: media types (Content-Type, RFC 9110 section 8.3.1) ----
 *
 * fr_media_parse splits "Type/Sub+Suffix; a=1; charset=\"UTF-8\"" into
 * views: type and subtype (spaces and tabs before the type and after the
 * subtype removed, none allowed around the '/'; case kept: compare with
 * fr_str_ieq), then parameters one by one with fr_media_next_param
 * (names case-insensitive, quoted-string values returned without the quotes;
 * a value with backslash escapes is returned raw, escapes included, and
 * flagged). Nothing is allocated. */

typedef struct fr_media_type {
    fr_str type, subtype; /* "application", "vnd.api+json" */
    fr_str params;        /* the raw text after the first ';' ("" if none) */
} fr_media_type;

/* 0 ok, -1 when there is no "type/subtype" (empty, no '/', empty type or
 * subtype, or a token character outside RFC 9110's tchar). */
FR_API int fr_media_parse(fr_str value, fr_media_type *out);
/* Iterate parameters: *pos starts at 0. 1 = a parameter (name, value;
 * *quoted_escapes = 1 when a quoted value contains backslash escapes, so the
 * view still holds them), 0 = no more. A parameter is token "=" (token /
 * quoted-string) with spaces/tabs allowed around the ';' between them;
 * malformed ones are skipped up to the next ';', and an unterminated
 * quoted string ends the list. */
FR_API int fr_media_next_param(const fr_media_type *mt, size_t *pos, fr_str *name, fr_str *value,
                               int *quoted_escapes);
/* Value of parameter `name` (case-insensitive), first occurrence. 1 / 0. */
FR_API int fr_media_param(const fr_media_type *mt, const char *name, fr_str *value);

/* The decisions the engine makes from a Content-Type header value (buf NULL
 * = header absent). Each returns 1 or 0. */
/* application/json or application/<anything>+json: FastAPI's JSON body
 * rule, which asks email.message.Message, so it is looser than
 * fr_media_parse: the text before the first ';' is stripped of Python
 * whitespace (Latin-1: \t\n\v\f\r, 0x1c-0x1f, space, 0x85, 0xa0), must
 * hold exactly one '/', and is compared case-insensitively with nothing
 * else trimmed ("application/x y+json" is JSON, "application/ json" is
 * not). An absent or empty header gives 0 here; FastAPI parses such a body
 * as JSON only with strict_content_type=False -- the caller decides. */
FR_API int fr_media_is_json(fr_str content_type);
/* type/subtype equals `mime` ("application/x-www-form-urlencoded"),
 * case-insensitive, parameters ignored. */
FR_API int fr_media_is(fr_str content_type, const char *mime);
