/* Cross-request batching (leader/follower over one mutex and two condvars). */
#include <string.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_cond.h>
#include "dsf_batch.h"

#define TAKE_MAX 100     /* entries one leader sends at once (10 calls in parallel) */

typedef struct entry_t {
    struct entry_t *next;
    const char *body;
    apr_size_t len;
    dsf_sqs_sent_t *result;      /* in the submitter's memory */
    char id[128], code[64], message[256];
    int done;
} entry_t;

struct dsf_batcher_t {
    apr_thread_mutex_t *mu;
    apr_thread_cond_t *more;     /* a leader waits for entries */
    apr_thread_cond_t *done;     /* followers wait for results */
    entry_t *head, **tail;
    int npending;
    int leading;                 /* a leader is gathering */
    apr_interval_time_t linger;
};

apr_status_t dsf_batcher_create(dsf_batcher_t **pb, apr_pool_t *p, apr_interval_time_t linger)
{
    dsf_batcher_t *b = apr_pcalloc(p, sizeof(*b));
    apr_status_t rv;
    if ((rv = apr_thread_mutex_create(&b->mu, APR_THREAD_MUTEX_DEFAULT, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&b->more, p)) != APR_SUCCESS
        || (rv = apr_thread_cond_create(&b->done, p)) != APR_SUCCESS)
        return rv;
    b->tail = &b->head;
    b->linger = linger;
    *pb = b;
    return APR_SUCCESS;
}

/* Copies a result into the entry's own buffers: the submitter's pool is not
 * the leader's to allocate from. */
static void settle(entry_t *e, const dsf_sqs_sent_t *r)
{
    *e->result = *r;
    if (r->message_id) {
        apr_cpystrn(e->id, r->message_id, sizeof(e->id));
        e->result->message_id = e->id;
    }
    if (r->code) {
        apr_cpystrn(e->code, r->code, sizeof(e->code));
        e->result->code = e->code;
    }
    if (r->message) {
        apr_cpystrn(e->message, r->message, sizeof(e->message));
        e->result->message = e->message;
    }
    e->done = 1;
}

static void lead(dsf_batcher_t *b, apr_pool_t *pool, dsf_batch_send_fn *send, void *ctx)
{
    apr_time_t until = apr_time_now() + b->linger;
    entry_t *take[TAKE_MAX];
    const char *bodies[TAKE_MAX];
    apr_size_t lens[TAKE_MAX];
    dsf_sqs_sent_t results[TAKE_MAX];
    apr_pool_t *p;
    int n = 0, i;

    while (b->npending < DSF_SQS_MAX_BATCH && apr_time_now() < until)
        apr_thread_cond_timedwait(b->more, b->mu, until - apr_time_now());
    while (b->head && n < TAKE_MAX) {
        entry_t *e = b->head;
        b->head = e->next;
        take[n] = e;
        bodies[n] = e->body;
        lens[n] = e->len;
        n++;
        b->npending--;
    }
    if (!b->head)
        b->tail = &b->head;
    b->leading = 0;                       /* newcomers elect the next leader */
    apr_thread_mutex_unlock(b->mu);

    memset(results, 0, sizeof(results));
    apr_pool_create(&p, pool);            /* the leader's own: no lock shared */
    send(ctx, p, bodies, lens, n, results);

    apr_thread_mutex_lock(b->mu);
    for (i = 0; i < n; i++)
        settle(take[i], &results[i]);
    apr_thread_cond_broadcast(b->done);
    apr_pool_destroy(p);
}

apr_status_t dsf_batch_submit(dsf_batcher_t *b, apr_pool_t *p, const char *const *bodies,
                              const apr_size_t *lens, int n, dsf_sqs_sent_t *results,
                              dsf_batch_send_fn *send, void *ctx)
{
    entry_t *mine = apr_pcalloc(p, sizeof(*mine) * n);
    int i, all;

    for (i = 0; i < n; i++) {
        mine[i].body = bodies[i];
        mine[i].len = lens[i];
        mine[i].result = &results[i];
    }
    apr_thread_mutex_lock(b->mu);
    for (i = 0; i < n; i++) {
        *b->tail = &mine[i];
        b->tail = &mine[i].next;
        b->npending++;
    }
    for (;;) {
        for (all = 1, i = 0; i < n && all; i++)
            all = mine[i].done;
        if (all)
            break;
        if (!b->leading) {
            b->leading = 1;
            lead(b, p, send, ctx);        /* returns with the lock held */
            continue;
        }
        if (b->npending >= DSF_SQS_MAX_BATCH)
            apr_thread_cond_signal(b->more);
        apr_thread_cond_wait(b->done, b->mu);
    }
    apr_thread_mutex_unlock(b->mu);
    return dsf_sqs_worst(results, n);
}
