/* The tick grid: fixed slots, no drift, never two ticks less than a window
 * apart, missed slots skipped, windows changed by a reload. */
#include <apr_general.h>
#include "tap.h"
#include "dsf_dispatch.h"

#define S(x) apr_time_from_sec(x)
#define MS(x) apr_time_from_msec(x)

static dsf_doser_conf_t conf(apr_interval_time_t w)
{
    dsf_doser_conf_t d;
    memset(&d, 0, sizeof(d));
    d.name = "t";
    d.window = w;
    d.per_minute = 3;
    d.per_invocation = 2;
    return d;
}

/* Simulates the dispatcher: tick whenever allowed, each tick starting `late`
 * after it may, and returns the start times. */
static void run(dsf_slot_t *s, apr_time_t from, int n, apr_interval_time_t late, apr_time_t *starts)
{
    apr_time_t now = from, slot;
    int i;
    for (i = 0; i < n; i++) {
        apr_time_t at = dsf_sched_next(s, now, &slot);
        now = (at > now ? at : now) + late;
        s->last_slot = slot;
        s->last_start = now;
        starts[i] = now;
    }
}

int main(void)
{
    dsf_slot_t s;
    dsf_doser_conf_t d = conf(S(60));
    apr_time_t t = S(1000000), starts[100], slot, next;
    int i, ok_grid = 1, ok_gap = 1;

    apr_initialize();
    memset(&s, 0, sizeof(s));
    dsf_sched_configure(&s, &d, t);
    is_int(dsf_sched_next(&s, t, &slot), t + S(60), "a new doser's first tick is one window after start");

    /* 100 ticks each 30 ms late: on the grid, no drift. */
    run(&s, t, 100, MS(30), starts);
    for (i = 0; i < 100; i++) {
        apr_time_t want = t + S(60) * (i + 1);
        if (starts[i] < want || starts[i] > want + S(1))
            ok_grid = 0;
        if (i && starts[i] - starts[i - 1] < S(60))
            ok_gap = 0;
    }
    ok(ok_grid, "every tick starts within 1 s of its slot, after 100 windows (no drift)");
    ok(ok_gap, "never two ticks less than a window apart");

    /* A tick that starts 700 ms late (still within tolerance) does not let the
     * next one come sooner than a window after it. */
    s.last_slot = t + S(6060);
    s.last_start = t + S(6060) + MS(700);
    s.last_invoke = s.last_start + MS(900);      /* its receive phase was slow too */
    next = dsf_sched_next(&s, t + S(6061), &slot);
    is_int(next, t + S(6120), "after a late tick the next one is still on the grid (no drift)");
    is_int(dsf_sched_invoke_at(&s), t + S(6120) + MS(1600),
           "but its invocations wait a full window after the late tick's");

    /* The dispatcher was away for 5 windows: missed slots are skipped, not caught up. */
    s.last_slot = t + S(6120);
    s.last_start = t + S(6120);
    next = dsf_sched_next(&s, t + S(6120 + 5 * 60 + 10), &slot);
    is_int(slot, t + S(6120 + 6 * 60), "missed slots are skipped: the next is the first from now");

    /* A graceful restart with the same window keeps the grid. */
    {
        apr_time_t t0 = s.t0;
        dsf_sched_configure(&s, &d, t + S(6500));
        is_int(s.t0, t0, "an unchanged window keeps the grid");
    }
    /* A changed window re-anchors at the last tick: the next is one new window after it. */
    d = conf(S(2));
    dsf_sched_configure(&s, &d, t + S(6121));
    next = dsf_sched_next(&s, t + S(6121), &slot);
    is_int(next, t + S(6122), "after a window change the next tick is one new window after the last");
    d = conf(S(120));
    dsf_sched_configure(&s, &d, t + S(6121));
    next = dsf_sched_next(&s, t + S(6121), &slot);
    ok(next >= s.last_slot + S(120), "a longer window is waited in full after the last tick");
    s.last_invoke = t + S(6120) + MS(900);
    is_int(dsf_sched_invoke_at(&s), t + S(6240) + MS(900),
           "invocations wait a full window after the last tick's invocations");

    /* Sub-second windows. */
    memset(&s, 0, sizeof(s));
    d = conf(MS(500));
    dsf_sched_configure(&s, &d, t);
    run(&s, t, 20, MS(5), starts);
    for (ok_gap = 1, i = 1; i < 20; i++)
        if (starts[i] - starts[i - 1] < MS(500))
            ok_gap = 0;
    ok(ok_gap && starts[19] <= t + MS(500) * 20 + MS(250), "500ms windows: spaced and on the grid");

    /* Grid arithmetic with slots before t0 (re-anchored grids). */
    memset(&s, 0, sizeof(s));
    s.t0 = t;
    s.window = S(10);
    s.last_slot = t - S(30);
    s.last_start = t - S(30);
    next = dsf_sched_next(&s, t - S(25), &slot);
    is_int(slot, t - S(20), "slots before t0 follow the same grid");
    apr_terminate();
    return done_testing();
}
