/* Umbrella for building src/ unamalgamated. ./amalgamate replaces this with
 * the concatenation of the public headers below (same order). */
#ifndef FASTRAPI_H
#define FASTRAPI_H
#ifdef __cplusplus
extern "C" {
#endif
#include "config.h"
#include "base.h"
#include "pool.h"
#include "json.h"
#include "query.h"
#include "media.h"
#include "scalar.h"
#include "errors.h"
#include "http.h"
#include "router.h"
#include "di.h"
#include "crypto.h"
#include "server.h"
#include "security.h"
#include "middleware.h"
#include "ws.h"
#include "multipart.h"
#include "native.h"
#include "static.h"
#include "tls.h"
#include "sse.h"
#include "policy.h"
#include "metrics.h"
#ifdef __cplusplus
}
#endif
#endif
