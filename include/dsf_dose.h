/* The tick: one window's dose for one doser. */
#ifndef DSF_DOSE_H
#define DSF_DOSE_H

#include "dsf.h"
#include "dsf_aws.h"
#include "dsf_conf.h"
#include "dsf_stats.h"

/* Receives up to N*M messages, invokes the receptor at most N times with at
 * most M objects each (and at most maxPayload bytes), deletes exactly the
 * messages of accepted invocations, and makes visible again at once what it
 * received but did not send. Invocations wait until invoke_not_before; the
 * time they went out is stored in *invoked_at (before they go). Fills rec;
 * counts into slot when not NULL. Returns the tick's worst error (the tick
 * itself always completes). */
apr_status_t dsf_dose_tick(dsf_aws_t *a, apr_pool_t *p, const dsf_doser_conf_t *d,
                           dsf_slot_t *slot, apr_time_t invoke_not_before,
                           apr_time_t *invoked_at, dsf_tick_rec_t *rec);

/* The invocation payload for msgs[0..n) in d's payload shape. */
const char *dsf_dose_payload(apr_pool_t *p, const dsf_doser_conf_t *d, const char *region,
                             const void *const *msgs, int n, apr_size_t *plen);

#endif
