// The functions are inline in include/malloc_control.h; SwiftPM needs one source file.
#include "malloc_control.h"
