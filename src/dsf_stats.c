/* The shared slots: lookup and tick bookkeeping. */
#include <string.h>
#include <apr_strings.h>
#include "dsf_stats.h"

dsf_slot_t *dsf_stats_find(dsf_shared_t *sh, const char *name)
{
    int i;
    for (i = 0; i < DSF_MAX_DOSERS; i++)
        if (sh->slots[i].in_use && !strcmp(sh->slots[i].name, name))
            return &sh->slots[i];
    return NULL;
}

/* Called by the parent only (configuration), so no race on in_use. */
dsf_slot_t *dsf_stats_slot(dsf_shared_t *sh, const char *name)
{
    dsf_slot_t *s = dsf_stats_find(sh, name);
    int i;
    if (s)
        return s;
    for (i = 0; i < DSF_MAX_DOSERS; i++) {
        s = &sh->slots[i];
        if (!s->in_use) {
            memset(s, 0, sizeof(*s));
            apr_cpystrn(s->name, name, sizeof(s->name));
            s->depth_visible = s->depth_inflight = s->depth_delayed = -1;
            s->in_use = 1;
            return s;
        }
    }
    return NULL;
}

void dsf_stats_tick(dsf_slot_t *s, const dsf_tick_rec_t *t)
{
    static const double bounds[DSF_TICK_BUCKETS - 1] = { .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60 };
    double secs = t->duration_ms / 1000.0;
    apr_uint32_t i = 0;

    while (i < DSF_TICK_BUCKETS - 1 && secs > bounds[i])
        i++;
    dsf_count(&s->tick_hist[i], 1);         /* non-cumulative; the exporter sums */
    dsf_count(&s->tick_sum_ms, t->duration_ms);
    dsf_count(&s->ticks, 1);
    dsf_count(&s->delivered, t->delivered);
    dsf_count(&s->deleted, t->deleted);
    dsf_count(&s->released, t->released);
    /* Only the owning dispatcher writes the ring. */
    i = s->history_next % DSF_TICK_HISTORY;
    s->history[i] = *t;
    s->history_next = s->history_next + 1;
}

int dsf_stats_sqs_action(const char *action)
{
    if (!strcmp(action, "SendMessageBatch"))             return DSF_SQS_SEND;
    if (!strcmp(action, "ReceiveMessage"))               return DSF_SQS_RECEIVE;
    if (!strcmp(action, "DeleteMessageBatch"))           return DSF_SQS_DELETE;
    if (!strcmp(action, "ChangeMessageVisibilityBatch")) return DSF_SQS_CHANGE_VISIBILITY;
    if (!strcmp(action, "GetQueueAttributes"))           return DSF_SQS_GET_ATTRIBUTES;
    return -1;
}
