/* tests/slow_kill.c - crash safety (reliability T3), release size: 1,000 random
 * SIGKILLs of a child saving step after step, and 1,000 more of a child saving
 * every step to the same prefix without a global step (see tests/test_kill.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <time.h>

#include "rel_kill.h"

static void test_thousand_kills(void **state)
{
    (void)state;
    rel_kill_stats s;
    char why[4096];
    unsigned seed = (unsigned)time(NULL);
    if (!rel_kill_random(1000, seed, &s, why, sizeof why)) fail_msg("seed %u: %s", seed, why);
    print_message("seed %u: %d kills (a save takes %.2f ms): %d at the last saved step, %d at the one in flight\n",
                  seed, s.kills, s.save_ms, s.at_last_done, s.at_in_flight);
    assert_int_equal(s.kills, 1000);
}

static void test_thousand_overwrite_kills(void **state)
{
    (void)state;
    rel_kill_stats s;
    char why[4096];
    unsigned seed = (unsigned)time(NULL) ^ 0x5a5a5a5au;
    rel_kill_set_overwrite(true);
    bool ok = rel_kill_random(1000, seed, &s, why, sizeof why);
    rel_kill_set_overwrite(false);
    if (!ok) fail_msg("seed %u: %s", seed, why);
    print_message("overwriting, seed %u: %d kills (a save takes %.2f ms): %d at the last saved values, %d at the "
                  "ones in flight\n",
                  seed, s.kills, s.save_ms, s.at_last_done, s.at_in_flight);
    assert_int_equal(s.kills, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_thousand_kills),
                                       cmocka_unit_test(test_thousand_overwrite_kills)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
