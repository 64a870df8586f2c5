#ifndef ERGON_MALLOC_CONTROL_H
#define ERGON_MALLOC_CONTROL_H

// glibc's allocator controls, which its Swift module does not expose (they live in <malloc.h>).
// Elsewhere they do nothing.

#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/// Caps how many arenas the allocator creates; returns 1 on success, 0 where not supported.
static inline int ergon_limit_malloc_arenas(int count) {
#if defined(__GLIBC__)
    return mallopt(M_ARENA_MAX, count);
#else
    (void)count;
    return 0;
#endif
}

/// Returns the free pages of every arena to the system; 1 when some were returned.
static inline int ergon_return_free_memory(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

#endif
