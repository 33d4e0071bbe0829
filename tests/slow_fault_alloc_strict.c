/* tests/slow_fault_alloc_strict.c - tests/test_fault_alloc.c with known (reported,
 * unfixed) bugs counted as failures: the "known_failure" half of the allocation sweep.
 * Move the checks back into the default suite once it passes. */
#define REL_STRICT 1
#include "test_fault_alloc.c"
