/* The dispatcher: a process of its own per doser, owning the clock. */
#ifndef DSF_DISPATCH_H
#define DSF_DISPATCH_H

#include <signal.h>
#include "dsf.h"
#include "dsf_aws.h"
#include "dsf_conf.h"
#include "dsf_stats.h"

/* Parent, at (re)configuration: a new doser's first tick comes one window
 * from now (so a stop/start cannot squeeze two ticks into one window); an
 * unchanged window keeps the grid; a changed one re-anchors it at the last
 * tick, so the next tick is one new window after it. */
void dsf_sched_configure(dsf_slot_t *s, const dsf_doser_conf_t *d, apr_time_t now);

/* When the next tick starts: the first grid slot after the last one or, when
 * slots were missed, the first one from now. Ticks stay on the grid (no
 * drift); the spacing that the quota needs is kept on the invocations
 * themselves: see dsf_sched_invoke_at(). *slot gets the grid slot. */
apr_time_t dsf_sched_next(const dsf_slot_t *s, apr_time_t now, apr_time_t *slot);

/* The earliest time this tick may invoke: a full window after the previous
 * tick's invocations went out, whatever its receive phase took. */
apr_time_t dsf_sched_invoke_at(const dsf_slot_t *s);

/* Runs ticks on the grid until *stop is set (SIGTERM) or the parent is gone;
 * a tick under way is finished first. Only one process ticks a doser at a
 * time: the slot's owner field is taken with compare-and-swap, and taken over
 * only from a dead owner. */
apr_status_t dsf_dispatch_run(dsf_aws_t *a, apr_pool_t *p, const dsf_doser_conf_t *d,
                              dsf_slot_t *s, volatile sig_atomic_t *stop);

#endif
