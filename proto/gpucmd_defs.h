/* Placeholder until the shared constants move here from client/gpucmd.h. */
#include "gpucmd.h"
