/* tests/support/empty.c - keeps the support library non-empty. */
typedef int graft_testsupport_empty;
