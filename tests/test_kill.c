/* tests/test_kill.c - crash safety (reliability T3), default-suite size: 50 random
 * SIGKILLs of a child saving step after step, and an _exit at every I/O call of a
 * save; after each, `checkpoint` names a checkpoint holding the last step saved or
 * the one being saved, bit-exactly; both again with every save overwriting one
 * prefix (no global step). The 1,000-kill run is tests/slow_kill.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "rel_kill.h"

static void test_exit_at_every_io_call(void **state)
{
    (void)state;
    rel_kill_stats s;
    char why[4096];
    if (!rel_kill_every_io_call(&s, why, sizeof why)) fail_msg("%s", why);
    print_message("a save makes %ld I/O calls; _exit at each: %d left the previous step, %d the new one\n", s.io_calls,
                  s.at_last_done, s.at_in_flight);
    assert_true(s.io_calls > 10);
    assert_int_equal(s.kills, s.io_calls);
    assert_true(s.at_last_done > 0 && s.at_in_flight > 0);
}

static void test_random_kills(void **state)
{
    (void)state;
    rel_kill_stats s;
    char why[4096];
    unsigned seed = (unsigned)time(NULL);
    if (!rel_kill_random(50, seed, &s, why, sizeof why)) fail_msg("seed %u: %s", seed, why);
    print_message("seed %u: %d kills (a save takes %.2f ms): %d at the last saved step, %d at the one in flight\n",
                  seed, s.kills, s.save_ms, s.at_last_done, s.at_in_flight);
    assert_int_equal(s.kills, 50);
}

/* The same with every save to one prefix and no global step (saver.save(sess,
 * "model.ckpt") in a loop): the prefix's index and data cannot be swapped in one
 * rename, so graft saves through a swap copy; the state must never name a torn pair. */
static void test_overwrite_exit_at_every_io_call(void **state)
{
    (void)state;
    rel_kill_stats s;
    char why[4096];
    rel_kill_set_overwrite(true);
    bool ok = rel_kill_every_io_call(&s, why, sizeof why);
    rel_kill_set_overwrite(false);
    if (!ok) fail_msg("%s", why);
    print_message("overwriting: a save makes %ld I/O calls; _exit at each: %d left the previous values, %d the new\n",
                  s.io_calls, s.at_last_done, s.at_in_flight);
    assert_true(s.io_calls > 20); /* the swap copy and the prefix: two bundles, three state writes */
    assert_int_equal(s.kills, s.io_calls);
    assert_true(s.at_last_done > 0 && s.at_in_flight > 0);
}

static void test_overwrite_random_kills(void **state)
{
    (void)state;
    rel_kill_stats s;
    char why[4096];
    unsigned seed = (unsigned)time(NULL) ^ 0x5a5a5a5au;
    rel_kill_set_overwrite(true);
    bool ok = rel_kill_random(50, seed, &s, why, sizeof why);
    rel_kill_set_overwrite(false);
    if (!ok) fail_msg("seed %u: %s", seed, why);
    print_message("overwriting, seed %u: %d kills (a save takes %.2f ms): %d at the last saved values, %d at the "
                  "ones in flight\n",
                  seed, s.kills, s.save_ms, s.at_last_done, s.at_in_flight);
    assert_int_equal(s.kills, 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_at_every_io_call),
        cmocka_unit_test(test_random_kills),
        cmocka_unit_test(test_overwrite_exit_at_every_io_call),
        cmocka_unit_test(test_overwrite_random_kills),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
