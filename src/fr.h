/* Umbrella for building src/ unamalgamated. ./amalgamate replaces this with
 * the concatenation of the public headers below (same order). */
#ifndef FASTRAPI_H
#define FASTRAPI_H
#ifdef __cplusplus
extern "C" {
#endif
#include "config.h"
#include "base.h"
#include "json.h"
#include "http.h"
#include "router.h"
#include "di.h"
#include "crypto.h"
#include "server.h"
#ifdef __cplusplus
}
#endif
#endif
