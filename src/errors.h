/* ---- errors.h: FastAPI-shaped error bodies ----
 *
 * The JSON bodies FastAPI answers with, built in one place for the engine's
 * own responses, C handlers and the Python face:
 *
 *   {"detail":"Not Found"}                       fr_error_detail
 *   {"detail":[{"type":"missing","loc":["query","q"],
 *               "msg":"Field required","input":null}, ...]}   fr_error_list_*
 *
 * Strings are JSON-escaped exactly as json.dumps(ensure_ascii=False) does
 * (the engine's JSON writer). Every function returns 0, or -1 on OOM or bad
 * arguments (NULL, text that is not UTF-8, an index that is not an
 * integer); a failed call takes back what it appended, but a half-built
 * body is of no use: discard it. */

/* {"detail":"<msg>"} appended to b. */
FR_API int fr_error_detail(fr_buf *b, fr_str msg);
/* Open / close a body whose detail is any JSON value the caller appends in
 * between: {"detail":  ...  } */
FR_API int fr_error_begin(fr_buf *b);
FR_API int fr_error_end(fr_buf *b);

/* The 422 list. begin, then one add per error, then end. A loc element is a
 * string, or an integer when is_index[i] is set (is_index may be NULL): its
 * text ("-?[0-9]+") is then written bare.
 * input: a JSON literal already encoded (e.g. "null", "\"abc\""; an empty
 * view means null; it is not validated) or, with fr_error_list_add_str, a
 * string to be escaped. An add puts the ',' itself unless b ends in '['. */
FR_API int fr_error_list_begin(fr_buf *b);
FR_API int fr_error_list_add(fr_buf *b, const char *type, const fr_str *loc, size_t nloc,
                             const int *is_index, const char *msg, fr_str input_json);
FR_API int fr_error_list_add_str(fr_buf *b, const char *type, const fr_str *loc, size_t nloc,
                                 const int *is_index, const char *msg, fr_str input);
FR_API int fr_error_list_end(fr_buf *b);
