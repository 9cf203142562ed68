/* Per-doser state shared by httpd's parent, its children and the dispatcher:
 * the tick grid and the counters behind the status page. It lives in
 * anonymous shared memory created once in the parent's process pool, so it
 * survives graceful restarts (the DSO and its statics do not). */
#ifndef DSF_STATS_H
#define DSF_STATS_H

#include <apr_atomic.h>
#include "dsf.h"

#define DSF_MAX_DOSERS     64
#define DSF_NAME_MAX       64
#define DSF_TICK_HISTORY   512   /* ring of the last ticks */

enum { DSF_REJ_MALFORMED, DSF_REJ_EMPTY, DSF_REJ_TOO_BIG, DSF_REJ_MEDIA_TYPE, DSF_REJ_METHOD,
       DSF_REJ_UNAVAILABLE, DSF_REJ_SQS_ERROR, DSF_REJ__N };
enum { DSF_SQS_SEND, DSF_SQS_RECEIVE, DSF_SQS_DELETE, DSF_SQS_CHANGE_VISIBILITY,
       DSF_SQS_GET_ATTRIBUTES, DSF_SQS__N };
enum { DSF_OUT_OK, DSF_OUT_ERROR, DSF_OUT_UNAVAILABLE, DSF_OUT__N };
enum { DSF_INV_ACCEPTED, DSF_INV_THROTTLED, DSF_INV_ERROR, DSF_INV_UNAVAILABLE, DSF_INV__N };
#define DSF_TICK_BUCKETS 11   /* seconds: .05 .1 .25 .5 1 2.5 5 10 30 60 +Inf */

typedef struct {
    apr_time_t start;
    apr_uint32_t duration_ms;
    apr_uint32_t received, invoked_ok, invoked_failed, delivered, deleted, released;
    apr_uint32_t stopped;                 /* the tick stopped invoking on 429/5xx */
} dsf_tick_rec_t;

typedef struct {
    char name[DSF_NAME_MAX];
    apr_uint32_t in_use;

    /* The grid: slot k starts at t0 + k * window. */
    volatile apr_uint32_t owner;          /* pid of the dispatcher inside a tick, 0 */
    volatile apr_uint32_t dispatcher_pid; /* the current generation's dispatcher */
    apr_time_t t0;
    apr_interval_time_t window;
    apr_time_t last_slot;                 /* slot of the last tick, 0 never */
    apr_time_t last_start;                /* when it really started */
    apr_time_t last_invoke;               /* when its invocations went out */
    apr_time_t next_start;                /* when the dispatcher plans the next one */
    apr_uint32_t per_minute, per_invocation;
    char creds_source[96];                /* the dispatcher's, never a secret */

    /* Counters never reset, not even by a reload. */
    volatile apr_uint64_t accepted;
    volatile apr_uint64_t rejected[DSF_REJ__N];
    volatile apr_uint64_t sqs_calls[DSF_SQS__N][DSF_OUT__N];
    volatile apr_uint64_t invocations[DSF_INV__N];
    volatile apr_uint64_t delivered, deleted, released, ticks;
    volatile apr_uint64_t tick_hist[DSF_TICK_BUCKETS];
    volatile apr_uint64_t tick_sum_ms;

    /* Queue depth as last sampled by the dispatcher (-1 unknown). */
    apr_int64_t depth_visible, depth_inflight, depth_delayed;
    apr_time_t depth_at;

    volatile apr_uint32_t history_next;   /* ring index */
    dsf_tick_rec_t history[DSF_TICK_HISTORY];
} dsf_slot_t;

typedef struct {
    apr_uint32_t magic;
    apr_uint32_t version;
    dsf_slot_t slots[DSF_MAX_DOSERS];
} dsf_shared_t;

#define DSF_SHARED_MAGIC   0x44534631u  /* "DSF1" */
#define DSF_SHARED_VERSION 3            /* bump when dsf_shared_t changes */

/* The slot for name, taking a free one when new; NULL when all are used. */
dsf_slot_t *dsf_stats_slot(dsf_shared_t *sh, const char *name);
dsf_slot_t *dsf_stats_find(dsf_shared_t *sh, const char *name);

static inline void dsf_count(volatile apr_uint64_t *c, apr_uint64_t n)
{
    if (n)
        apr_atomic_add64(c, n);
}

/* Records a finished tick in the counters, histogram and history ring. */
void dsf_stats_tick(dsf_slot_t *s, const dsf_tick_rec_t *t);

/* Maps an SQS action name to DSF_SQS_*, -1 when unknown. */
int dsf_stats_sqs_action(const char *action);

#endif
