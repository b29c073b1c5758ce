/* Shim used by tests/test_c.py's amalgamated variants ("gcc", "asan") for
 * the test files that use only the public API: the test defines
 * FASTRAPI_IMPLEMENTATION and includes "fastrapi.h", which resolves here and
 * gets the declarations alone; the implementation is one object compiled
 * from the same header (per variant and FRT_CFLAGS) and linked in, the way
 * a program with several files uses fastrapi.h. */
#undef FASTRAPI_IMPLEMENTATION
#include "../../../fastrapi.h"
