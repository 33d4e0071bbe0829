/* tests/test_gradcheck.c - runs every op group's gradient-check cases
 * (tests/support/gradcases_<group>.c) and fails when a registered op that has
 * a gradient builder has no case. GRAFT_GRADCHECK_GROUP=<name> runs one group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"

/* Referenced here, in the program's own object, so the linker takes each
 * group's table from the support archive (see gradcheck.h). */
static const graftT_gradgroup groups[] = GRAFTT_GRADGROUPS_INIT;

static void test_groups(void **state)
{
    (void)state;
    const char *only = getenv("GRAFT_GRADCHECK_GROUP");
    int fails = 0;
    for (const graftT_gradgroup *gr = groups; gr->group; gr++)
        if (!only || strcmp(only, gr->group) == 0) fails += graftT_gradcheck_table(gr->group, gr->cases);
    if (fails) fail_msg("%d gradient-check case(s) failed (see FAIL lines above)", fails);
}

static void test_coverage(void **state)
{
    (void)state;
    int missing = graftT_gradcheck_coverage(groups);
    if (missing) fail_msg("%d op(s) with a gradient builder have no gradcheck case", missing);
}

/* The harness itself must catch a wrong gradient: a case whose "op" is Square
 * but whose graph computes x^2 + stop_gradient(x) (analytic 2x, numeric 2x+1). */
static int build_wrong(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    graft_out x = in[0];
    /* y = x*x + x where the second x is seen by autodiff only through StopGradient */
    outs[0] = graft_add(g, graft_square(g, x), graft_stop_gradient(g, x));
    return 1;
}

static void test_harness_catches_errors(void **state)
{
    (void)state;
    graftT_gradcase c = {.op = "Square", .label = "harness self-test: this FAIL is expected", .n_in = 1,
                         .in = {{.dtype = GRAFT_DOUBLE, .rank = 1, .dims = {3}, .check = true}},
                         .build = build_wrong};
    graftT_gradreport rep;
    assert_false(graftT_gradcheck_run(&c, &rep));
    assert_non_null(strstr(rep.msg, "analytic"));
    /* and the same graph without the StopGradient trick passes */
    graftT_gradcase ok = c;
    ok.build = NULL;
    ok.label = "generic Square";
    ok.attrs[0] = (graftT_attr){.name = "T", .kind = 't', .i = GRAFT_DOUBLE};
    assert_true(graftT_gradcheck_run(&ok, &rep));
    assert_true(rep.n_checked == 3);
    assert_true(rep.max_err < 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_harness_catches_errors),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_coverage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
