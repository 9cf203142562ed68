/* Cross-request batching: small requests handled by the threads of one
 * process share SendMessageBatch calls. The first thread to arrive leads: it
 * waits up to the linger (less when ten entries gather), takes what is
 * pending and sends it; the others wait for their own entries' results. */
#ifndef DSF_BATCH_H
#define DSF_BATCH_H

#include "dsf.h"
#include "dsf_sqs.h"

typedef struct dsf_batcher_t dsf_batcher_t;

/* Sends n bodies and fills results; the leader's own context (client). */
typedef apr_status_t dsf_batch_send_fn(void *ctx, apr_pool_t *p, const char *const *bodies,
                                       const apr_size_t *lens, int n, dsf_sqs_sent_t *results);

/* max_bytes bounds what one leader takes (the queue's message size limit
 * per 10 entries is enforced again by the sender). */
apr_status_t dsf_batcher_create(dsf_batcher_t **pb, apr_pool_t *p, apr_interval_time_t linger);

/* Enqueues bodies[0..n) and returns once each has its result in results
 * (strings copied into p). Returns the worst status, as dsf_sqs_send does. */
apr_status_t dsf_batch_submit(dsf_batcher_t *b, apr_pool_t *p, const char *const *bodies,
                              const apr_size_t *lens, int n, dsf_sqs_sent_t *results,
                              dsf_batch_send_fn *send, void *ctx);

#endif
