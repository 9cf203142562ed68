/* Cross-request batching: threads share sends, each gets its own result. */
#include <apr_general.h>
#include <apr_thread_proc.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include "tap.h"
#include "dsf_batch.h"

#define THREADS 32

static volatile apr_uint32_t calls, entries_sent, max_in_call;
static dsf_batcher_t *batcher;

/* The seam: instead of SQS, echo each body back as its message id, and fail
 * bodies that start with "x" as SQS would fail an entry. */
static apr_status_t echo_send(void *ctx, apr_pool_t *p, const char *const *bodies,
                              const apr_size_t *lens, int n, dsf_sqs_sent_t *results)
{
    int i;
    apr_atomic_inc32(&calls);
    apr_atomic_add32(&entries_sent, n);
    if ((apr_uint32_t)n > max_in_call)
        max_in_call = n;
    apr_sleep(apr_time_from_msec(5));            /* a call takes time: others gather */
    for (i = 0; i < n; i++) {
        if (bodies[i][0] == 'x') {
            results[i].rv = DSF_EAWS;
            results[i].code = "InvalidMessageContents";
            results[i].message = apr_pstrcat(p, "refused ", bodies[i], NULL);
        }
        else {
            results[i].rv = APR_SUCCESS;
            results[i].message_id = apr_pstrcat(p, "id-", bodies[i], NULL);
        }
    }
    return APR_SUCCESS;
}

static int wrong[THREADS];

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    int k = (int)(apr_uintptr_t)data;
    apr_pool_t *p;
    const char *body;
    apr_size_t len;
    dsf_sqs_sent_t res;
    apr_status_t rv;

    apr_pool_create(&p, NULL);
    body = apr_psprintf(p, "%s%d", k % 8 == 7 ? "x" : "o", k);
    len = strlen(body);
    rv = dsf_batch_submit(batcher, p, &body, &len, 1, &res, echo_send, NULL);
    if (k % 8 == 7)
        wrong[k] = !(rv == DSF_EAWS && res.rv == DSF_EAWS && res.code
                     && !strcmp(res.code, "InvalidMessageContents")
                     && !strcmp(res.message, apr_pstrcat(p, "refused ", body, NULL)));
    else
        wrong[k] = !(rv == APR_SUCCESS && res.rv == APR_SUCCESS && res.message_id
                     && !strcmp(res.message_id, apr_pstrcat(p, "id-", body, NULL)));
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

int main(void)
{
    apr_pool_t *p;
    apr_thread_t *th[THREADS];
    apr_status_t trv;
    int i, bad = 0;

    apr_initialize();
    apr_pool_create(&p, NULL);
    ok(dsf_batcher_create(&batcher, p, apr_time_from_msec(20)) == APR_SUCCESS, "batcher created");
    for (i = 0; i < THREADS; i++)
        apr_thread_create(&th[i], NULL, worker, (void *)(apr_uintptr_t)i, p);
    for (i = 0; i < THREADS; i++)
        apr_thread_join(&trv, th[i]);
    for (i = 0; i < THREADS; i++)
        bad += wrong[i];
    is_int(bad, 0, "every request got its own result (ids and failures not mixed up)");
    is_int(entries_sent, THREADS, "each entry was sent exactly once");
    ok(calls < THREADS / 2, "concurrent requests shared calls (%u calls for %d requests)",
       calls, THREADS);
    ok(max_in_call > 1, "a call carried entries of several requests (max %u)", max_in_call);

    /* Alone, a request is sent after the linger, by itself. */
    calls = entries_sent = 0;
    {
        const char *body = "alone";
        apr_size_t len = 5;
        dsf_sqs_sent_t res;
        apr_time_t t0 = apr_time_now();
        ok(dsf_batch_submit(batcher, p, &body, &len, 1, &res, echo_send, NULL) == APR_SUCCESS
           && !strcmp(res.message_id, "id-alone"), "a lone request is answered");
        is_int(calls, 1, "in one call");
        ok(apr_time_now() - t0 < apr_time_from_sec(2), "without waiting past the linger");
    }
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
