/* Shim used by tests/test_c.py's "src" variant: the test includes
 * "fastrapi.h", which resolves here, and gets the public headers straight
 * from src/ (the implementation is linked from separately compiled src/ files). */
#include "fr.h"
