/* The dispatcher loop and the tick grid. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include "dsf_dispatch.h"
#include "dsf_dose.h"
#include "dsf_sqs.h"

#define NAP apr_time_from_msec(100)

/* floor division for possibly negative numerators */
static apr_int64_t floor_div(apr_int64_t a, apr_int64_t b)
{
    apr_int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

void dsf_sched_configure(dsf_slot_t *s, const dsf_doser_conf_t *d, apr_time_t now)
{
    if (!s->window || (s->window != d->window && !s->last_slot))
        s->t0 = now + d->window;
    else if (s->window != d->window)
        s->t0 = s->last_slot;
    s->window = d->window;
    s->per_minute = (apr_uint32_t)d->per_minute;
    s->per_invocation = (apr_uint32_t)d->per_invocation;
}

apr_time_t dsf_sched_next(const dsf_slot_t *s, apr_time_t now, apr_time_t *pslot)
{
    apr_interval_time_t w = s->window;
    apr_interval_time_t late = w / 2 < apr_time_from_sec(1) ? w / 2 : apr_time_from_sec(1);
    apr_time_t slot;

    if (s->last_slot)
        slot = s->t0 + (floor_div(s->last_slot - s->t0, w) + 1) * w;
    else
        slot = s->t0;
    /* Missed slots are skipped: the next is the first not yet past its
     * tolerance, so a dispatcher that wakes a little after it still ticks. */
    if (slot + late < now)
        slot = s->t0 + (floor_div(now - late - s->t0 - 1, w) + 1) * w;
    *pslot = slot;
    return slot;
}

apr_time_t dsf_sched_invoke_at(const dsf_slot_t *s)
{
    return s->last_invoke ? s->last_invoke + s->window : 0;
}

static int owner_alive(apr_uint32_t pid)
{
    return pid && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int claim(dsf_slot_t *s, apr_uint32_t me)
{
    apr_uint32_t cur = apr_atomic_read32(&s->owner);
    if (cur == me)
        return 1;
    if (owner_alive(cur))
        return 0;
    if (cur)
        dsf_log(DSF_LOG_WARNING, 0, "DSF00401: doser %s: dispatcher %u died inside a tick; "
                "taking over (its undelivered messages reappear after the visibility timeout)",
                s->name, cur);
    return apr_atomic_cas32(&s->owner, me, cur) == cur;
}

apr_status_t dsf_dispatch_run(dsf_aws_t *a, apr_pool_t *p, const dsf_doser_conf_t *d,
                              dsf_slot_t *s, volatile sig_atomic_t *stop)
{
    apr_uint32_t me = (apr_uint32_t)getpid();
    pid_t parent = getppid();

    s->dispatcher_pid = me;
    dsf_log(DSF_LOG_INFO, 0, "DSF00402: doser %s: dispatcher %u running, %d x %d per %"
            APR_TIME_T_FMT " ms", d->name, me, d->per_minute, d->per_invocation,
            apr_time_as_msec(d->window));
    while (!*stop && getppid() == parent) {
        apr_time_t now = apr_time_now(), slot, start = dsf_sched_next(s, now, &slot);
        apr_pool_t *tp;
        dsf_tick_rec_t rec;
        long long vis, inflight, delayed;

        s->next_start = start;
        if (start > now) {
            apr_sleep(start - now < NAP ? start - now : NAP);
            continue;
        }
        if (!claim(s, me)) {
            apr_sleep(NAP / 2);
            continue;
        }
        /* Another dispatcher may have ticked between our look and the claim. */
        if (dsf_sched_next(s, apr_time_now(), &slot) > apr_time_now()) {
            apr_atomic_set32(&s->owner, 0);
            continue;
        }
        s->last_slot = slot;
        s->last_start = apr_time_now();
        apr_pool_create(&tp, p);
        dsf_dose_tick(a, tp, d, s, dsf_sched_invoke_at(s), &s->last_invoke, &rec);
        dsf_stats_tick(s, &rec);
        if (dsf_sqs_depth(a, tp, d->queue_url, s, &vis, &inflight, &delayed) == APR_SUCCESS) {
            s->depth_visible = vis;
            s->depth_inflight = inflight;
            s->depth_delayed = delayed;
            s->depth_at = apr_time_now();
        }
        apr_cpystrn(s->creds_source, dsf_creds_source(dsf_aws_conf(a)->creds, tp),
                    sizeof(s->creds_source));
        apr_atomic_set32(&s->owner, 0);
        apr_pool_destroy(tp);
    }
    dsf_log(DSF_LOG_INFO, 0, "DSF00403: doser %s: dispatcher %u stopping", d->name, me);
    return APR_SUCCESS;
}
