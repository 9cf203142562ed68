/* Amazon SQS over its JSON protocol. */
#ifndef DSF_SQS_H
#define DSF_SQS_H

#include "dsf.h"
#include "dsf_aws.h"

#define DSF_SQS_MAX_BATCH 10

/* One entry's outcome in SendMessageBatch. */
typedef struct {
    apr_status_t rv;          /* APR_SUCCESS: SQS stored it and echoed the right MD5 */
    const char *message_id;
    const char *code;         /* on failure: AWS's code, "MD5Mismatch", or "Unavailable" */
    const char *message;
    int retryable;            /* the client may send it again as is */
} dsf_sqs_sent_t;

/* A received message. */
typedef struct {
    const char *message_id;
    const char *receipt;
    const char *body;
    apr_size_t body_len;
    const char *md5;
    const char *sent_timestamp;       /* attributes, as SQS gives them (may be NULL) */
    const char *receive_count;
    const char *first_receive_timestamp;
    const char *sender_id;
} dsf_sqs_msg_t;

/* Sends bodies[0..n) to the queue in batches of at most 10 entries and at
 * most max_batch_bytes, all batches in parallel, and fills results[0..n).
 * Returns APR_SUCCESS when every entry was stored; otherwise the "worst"
 * status (DSF_EUNAVAIL before DSF_EAWS) with per-entry detail in results. */
apr_status_t dsf_sqs_send(dsf_aws_t *a, apr_pool_t *p, const char *queue_url,
                          const char *const *bodies, const apr_size_t *lens, int n,
                          apr_size_t max_batch_bytes, apr_interval_time_t timeout,
                          dsf_slot_t *slot, dsf_sqs_sent_t *results);

/* One SendMessageBatch call's entries: [first, first+count) of the arrays. */
typedef struct {
    int first, count;
} dsf_sqs_batch_t;

/* Reads a finished SendMessageBatch call into results[b->first..]: an entry
 * counts as stored only when SQS listed it as Successful, by an Id in range,
 * with the MD5 of what was sent. */
void dsf_sqs_send_parse(const dsf_aws_call_t *c, apr_pool_t *p, const dsf_sqs_batch_t *b,
                        const char *const *bodies, const apr_size_t *lens,
                        dsf_sqs_sent_t *results);

/* The status for a whole send: DSF_EUNAVAIL when any entry met an
 * unavailable SQS, else the first other failure, else APR_SUCCESS. */
apr_status_t dsf_sqs_worst(const dsf_sqs_sent_t *results, int n);

/* Builds one ReceiveMessage call (max <= 10). */
dsf_aws_call_t *dsf_sqs_receive_call(dsf_aws_t *a, apr_pool_t *p, const char *queue_url,
                                     int max, int wait_s, int visibility_s);
/* Appends the messages of a completed ReceiveMessage call to msgs. */
apr_status_t dsf_sqs_receive_parse(const dsf_aws_call_t *c, apr_pool_t *p,
                                   apr_array_header_t *msgs);

/* Builds a DeleteMessageBatch (visibility < 0) or ChangeMessageVisibilityBatch
 * call for msgs[0..n), n <= 10. */
dsf_aws_call_t *dsf_sqs_receipts_call(dsf_aws_t *a, apr_pool_t *p, const char *queue_url,
                                      const dsf_sqs_msg_t *const *msgs, int n, int visibility_s);
/* How many entries of a completed batch call SQS confirmed; logs the rest. */
int dsf_sqs_receipts_parse(const dsf_aws_call_t *c, apr_pool_t *p);

/* GetQueueAttributes: visible, in flight, delayed (-1 when unknown). */
apr_status_t dsf_sqs_depth(dsf_aws_t *a, apr_pool_t *p, const char *queue_url, dsf_slot_t *slot,
                           long long *visible, long long *inflight, long long *delayed);

#endif
