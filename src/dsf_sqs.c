/* Amazon SQS, JSON protocol: SendMessageBatch, ReceiveMessage,
 * DeleteMessageBatch, ChangeMessageVisibilityBatch, GetQueueAttributes. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_md5.h>
#include "dsf_sqs.h"
#include "dsf_json.h"


static int md5_matches(const char *body, apr_size_t len, const char *hex)
{
    unsigned char digest[APR_MD5_DIGESTSIZE];
    char mine[2 * APR_MD5_DIGESTSIZE + 1];
    if (!hex || apr_md5(digest, body, len) != APR_SUCCESS)
        return 0;
    dsf_hex(mine, digest, sizeof(digest));
    return !strcasecmp(mine, hex);
}

static void fail_entries(dsf_sqs_sent_t *r, int first, int count, apr_status_t rv,
                         const char *code, const char *message, int retryable)
{
    int i;
    for (i = first; i < first + count; i++) {
        r[i].rv = rv;
        r[i].message_id = NULL;
        r[i].code = code;
        r[i].message = message;
        r[i].retryable = retryable;
    }
}

/* Reads one SendMessageBatch answer into results; ids are indexes into the
 * caller's arrays, so a confused answer cannot confirm a wrong entry. */
void dsf_sqs_send_parse(const dsf_aws_call_t *c, apr_pool_t *p, const dsf_sqs_batch_t *b,
                        const char *const *bodies, const apr_size_t *lens,
                        dsf_sqs_sent_t *results)
{
    dsf_json_t *j, *ok, *bad;
    apr_size_t i;
    int k;

    /* Until SQS says otherwise, nothing in this batch is confirmed. */
    fail_entries(results, b->first, b->count, DSF_EPARSE, "NoResult",
                 "SQS did not report on this entry", 1);
    if (c->rv != APR_SUCCESS) {
        int throttled = c->rv == DSF_EUNAVAIL;
        fail_entries(results, b->first, b->count, c->rv,
                     c->aws_code ? c->aws_code : (throttled ? "Unavailable" : "Error"),
                     c->aws_message ? c->aws_message
                                    : (c->http.error ? c->http.error : "SQS call failed"),
                     throttled);
        return;
    }
    if (dsf_json_parse(&j, p, c->http.resp_body, c->http.resp_len, NULL) != APR_SUCCESS
        || !dsf_json_is_object(j)) {
        dsf_log(DSF_LOG_ERR, DSF_EPARSE, "DSF00201: SendMessageBatch: malformed answer "
                "from SQS (%" APR_SIZE_T_FMT " bytes)", c->http.resp_len);
        fail_entries(results, b->first, b->count, DSF_EPARSE, "MalformedResponse",
                     "SQS's answer could not be read", 1);
        return;
    }
    ok = dsf_json_get(j, "Successful", p);
    for (i = 0; ok && i < dsf_json_size(ok); i++) {
        dsf_json_t *e = dsf_json_at(ok, i, p);
        const char *id = dsf_json_get_str(e, "Id"), *mid = dsf_json_get_str(e, "MessageId");
        char *end;
        long idx = id ? strtol(id, &end, 10) : -1;
        if (!id || *end || idx < 0 || idx >= b->count || !mid)
            continue;
        k = b->first + (int)idx;
        if (!md5_matches(bodies[k], lens[k], dsf_json_get_str(e, "MD5OfMessageBody"))) {
            dsf_log(DSF_LOG_ERR, DSF_EMD5, "DSF00202: SendMessageBatch: MD5 of message %s "
                    "does not match what was sent", mid);
            fail_entries(results, k, 1, DSF_EMD5, "MD5Mismatch",
                         "SQS stored a body different from the one sent", 1);
            continue;
        }
        results[k].rv = APR_SUCCESS;
        results[k].message_id = mid;
        results[k].code = results[k].message = NULL;
        results[k].retryable = 0;
    }
    bad = dsf_json_get(j, "Failed", p);
    for (i = 0; bad && i < dsf_json_size(bad); i++) {
        dsf_json_t *e = dsf_json_at(bad, i, p);
        const char *id = dsf_json_get_str(e, "Id");
        char *end;
        long idx = id ? strtol(id, &end, 10) : -1;
        int sender = dsf_json_get_bool(e, "SenderFault", 0);
        if (!id || *end || idx < 0 || idx >= b->count)
            continue;
        k = b->first + (int)idx;
        fail_entries(results, k, 1, DSF_EAWS, dsf_json_get_str(e, "Code"),
                     dsf_json_get_str(e, "Message"), !sender);
    }
}

apr_status_t dsf_sqs_send(dsf_aws_t *a, apr_pool_t *p, const char *queue_url,
                          const char *const *bodies, const apr_size_t *lens, int n,
                          apr_size_t max_batch_bytes, apr_interval_time_t timeout,
                          dsf_slot_t *slot, dsf_sqs_sent_t *results)
{
    apr_array_header_t *calls = apr_array_make(p, n / DSF_SQS_MAX_BATCH + 1, sizeof(dsf_aws_call_t *));
    apr_array_header_t *batches = apr_array_make(p, n / DSF_SQS_MAX_BATCH + 1, sizeof(dsf_sqs_batch_t));
    apr_status_t rv;
    int i = 0, b;

    while (i < n) {
        dsf_json_t *req = dsf_json_object(p), *entries = dsf_json_array(p);
        dsf_sqs_batch_t *sb = apr_array_push(batches);
        apr_size_t bytes = 0;
        const char *body;
        apr_size_t len;

        sb->first = i;
        sb->count = 0;
        /* SQS limits a batch to 10 entries and to the message size limit in all. */
        while (i < n && sb->count < DSF_SQS_MAX_BATCH
               && (sb->count == 0 || bytes + lens[i] <= max_batch_bytes)) {
            dsf_json_t *e = dsf_json_object(p);
            dsf_json_set_str(e, "Id", apr_itoa(p, sb->count));
            dsf_json_set_strn(e, "MessageBody", bodies[i], lens[i]);
            dsf_json_append(entries, e);
            bytes += lens[i];
            sb->count++;
            i++;
        }
        dsf_json_set_str(req, "QueueUrl", queue_url);
        dsf_json_set(req, "Entries", entries);
        body = dsf_json_dump(req, p, &len);
        APR_ARRAY_PUSH(calls, dsf_aws_call_t *) = dsf_aws_sqs_call(a, p, "SendMessageBatch", body, len);
        APR_ARRAY_IDX(calls, calls->nelts - 1, dsf_aws_call_t *)->http.timeout = timeout;
        APR_ARRAY_IDX(calls, calls->nelts - 1, dsf_aws_call_t *)->slot = slot;
    }
    rv = dsf_aws_perform(a, p, (dsf_aws_call_t **)calls->elts, calls->nelts, 0);
    if (rv != APR_SUCCESS)
        return rv;
    for (b = 0; b < calls->nelts; b++) {
        dsf_aws_call_t *c = APR_ARRAY_IDX(calls, b, dsf_aws_call_t *);
        if (c->rv != APR_SUCCESS)
            dsf_log(c->rv == DSF_EUNAVAIL ? DSF_LOG_WARNING : DSF_LOG_ERR, c->rv,
                    "DSF00203: queue %s: %s", queue_url, dsf_aws_call_describe(c, p));
        dsf_sqs_send_parse(c, p, &APR_ARRAY_IDX(batches, b, dsf_sqs_batch_t), bodies, lens, results);
    }
    return dsf_sqs_worst(results, n);
}

apr_status_t dsf_sqs_worst(const dsf_sqs_sent_t *results, int n)
{
    apr_status_t worst = APR_SUCCESS;
    int i;
    /* Unavailable wins: the client is told to retry later (503). */
    for (i = 0; i < n; i++) {
        if (results[i].rv == DSF_EUNAVAIL || results[i].rv == DSF_ECREDS)
            return DSF_EUNAVAIL;
        if (results[i].rv != APR_SUCCESS && worst == APR_SUCCESS)
            worst = results[i].rv;
    }
    return worst;
}

dsf_aws_call_t *dsf_sqs_receive_call(dsf_aws_t *a, apr_pool_t *p, const char *queue_url,
                                     int max, int wait_s, int visibility_s)
{
    dsf_json_t *req = dsf_json_object(p), *names = dsf_json_array(p);
    const char *body;
    apr_size_t len;
    dsf_aws_call_t *c;

    dsf_json_set_str(req, "QueueUrl", queue_url);
    dsf_json_set_int(req, "MaxNumberOfMessages", max);
    dsf_json_set_int(req, "WaitTimeSeconds", wait_s);
    dsf_json_set_int(req, "VisibilityTimeout", visibility_s);
    dsf_json_append_str(names, "All");
    dsf_json_set(req, "AttributeNames", names);
    body = dsf_json_dump(req, p, &len);
    c = dsf_aws_sqs_call(a, p, "ReceiveMessage", body, len);
    /* A long poll may legitimately take wait_s: allow for it. */
    c->http.timeout = dsf_aws_conf(a)->http.timeout + apr_time_from_sec(wait_s);
    return c;
}

apr_status_t dsf_sqs_receive_parse(const dsf_aws_call_t *c, apr_pool_t *p,
                                   apr_array_header_t *msgs)
{
    dsf_json_t *j, *list;
    apr_size_t i;

    if (c->rv != APR_SUCCESS)
        return c->rv;
    if (dsf_json_parse(&j, p, c->http.resp_body, c->http.resp_len, NULL) != APR_SUCCESS
        || !dsf_json_is_object(j))
        return DSF_EPARSE;
    list = dsf_json_get(j, "Messages", p);
    for (i = 0; list && i < dsf_json_size(list); i++) {
        dsf_json_t *e = dsf_json_at(list, i, p), *attrs;
        dsf_sqs_msg_t m;
        memset(&m, 0, sizeof(m));
        m.message_id = dsf_json_get_str(e, "MessageId");
        m.receipt = dsf_json_get_str(e, "ReceiptHandle");
        m.body = dsf_json_get_str(e, "Body");
        m.md5 = dsf_json_get_str(e, "MD5OfBody");
        if (!m.message_id || !m.receipt || !m.body)
            return DSF_EPARSE;      /* without these nothing can be delivered or deleted */
        m.body_len = strlen(m.body);
        if ((attrs = dsf_json_get(e, "Attributes", p))) {
            m.sent_timestamp = dsf_json_get_str(attrs, "SentTimestamp");
            m.receive_count = dsf_json_get_str(attrs, "ApproximateReceiveCount");
            m.first_receive_timestamp = dsf_json_get_str(attrs, "ApproximateFirstReceiveTimestamp");
            m.sender_id = dsf_json_get_str(attrs, "SenderId");
        }
        *(dsf_sqs_msg_t *)apr_array_push(msgs) = m;
    }
    return APR_SUCCESS;
}

dsf_aws_call_t *dsf_sqs_receipts_call(dsf_aws_t *a, apr_pool_t *p, const char *queue_url,
                                      const dsf_sqs_msg_t *const *msgs, int n, int visibility_s)
{
    dsf_json_t *req = dsf_json_object(p), *entries = dsf_json_array(p);
    dsf_aws_call_t *c;
    const char *body;
    apr_size_t len;
    int i;

    for (i = 0; i < n; i++) {
        dsf_json_t *e = dsf_json_object(p);
        dsf_json_set_str(e, "Id", apr_itoa(p, i));
        dsf_json_set_str(e, "ReceiptHandle", msgs[i]->receipt);
        if (visibility_s >= 0)
            dsf_json_set_int(e, "VisibilityTimeout", visibility_s);
        dsf_json_append(entries, e);
    }
    dsf_json_set_str(req, "QueueUrl", queue_url);
    dsf_json_set(req, "Entries", entries);
    body = dsf_json_dump(req, p, &len);
    c = dsf_aws_sqs_call(a, p, visibility_s < 0 ? "DeleteMessageBatch"
                                                : "ChangeMessageVisibilityBatch", body, len);
    c->entries = n;
    return c;
}

int dsf_sqs_receipts_parse(const dsf_aws_call_t *c, apr_pool_t *p)
{
    dsf_json_t *j, *ok, *bad;
    char seen[DSF_SQS_MAX_BATCH] = { 0 };
    int confirmed = 0;
    apr_size_t i;

    if (c->rv != APR_SUCCESS) {
        dsf_log(DSF_LOG_ERR, c->rv, "DSF00204: %s", dsf_aws_call_describe(c, p));
        return 0;
    }
    if (dsf_json_parse(&j, p, c->http.resp_body, c->http.resp_len, NULL) != APR_SUCCESS
        || !dsf_json_is_object(j)) {
        dsf_log(DSF_LOG_ERR, DSF_EPARSE, "DSF00205: %s: malformed answer from SQS", c->action);
        return 0;
    }
    ok = dsf_json_get(j, "Successful", p);
    bad = dsf_json_get(j, "Failed", p);
    /* Count each entry we sent once, by its Id: a confused answer that
     * repeats an Id or names one never sent confirms nothing more. */
    for (i = 0; ok && i < dsf_json_size(ok); i++) {
        const char *id = dsf_json_get_str(dsf_json_at(ok, i, p), "Id");
        char *end;
        long k = id ? strtol(id, &end, 10) : -1;
        if (id && !*end && *id && k >= 0 && k < c->entries && k < DSF_SQS_MAX_BATCH
            && !seen[k]) {
            seen[k] = 1;
            confirmed++;
        }
    }
    for (i = 0; bad && i < dsf_json_size(bad); i++) {
        dsf_json_t *e = dsf_json_at(bad, i, p);
        dsf_log(DSF_LOG_ERR, DSF_EAWS, "DSF00206: %s: entry %s failed: %s %s", c->action,
                dsf_json_get_str(e, "Id") ? dsf_json_get_str(e, "Id") : "?",
                dsf_json_get_str(e, "Code") ? dsf_json_get_str(e, "Code") : "",
                dsf_json_get_str(e, "Message") ? dsf_json_get_str(e, "Message") : "");
    }
    return confirmed;
}

apr_status_t dsf_sqs_depth(dsf_aws_t *a, apr_pool_t *p, const char *queue_url, dsf_slot_t *slot,
                           long long *visible, long long *inflight, long long *delayed)
{
    dsf_json_t *req = dsf_json_object(p), *names = dsf_json_array(p), *j, *attrs;
    const char *body, *v;
    apr_size_t len;
    dsf_aws_call_t *c;
    apr_status_t rv;

    *visible = *inflight = *delayed = -1;
    dsf_json_set_str(req, "QueueUrl", queue_url);
    dsf_json_append_str(names, "ApproximateNumberOfMessages");
    dsf_json_append_str(names, "ApproximateNumberOfMessagesNotVisible");
    dsf_json_append_str(names, "ApproximateNumberOfMessagesDelayed");
    dsf_json_set(req, "AttributeNames", names);
    body = dsf_json_dump(req, p, &len);
    c = dsf_aws_sqs_call(a, p, "GetQueueAttributes", body, len);
    c->slot = slot;
    if ((rv = dsf_aws_perform(a, p, &c, 1, 1)) != APR_SUCCESS)
        return rv;
    if (c->rv != APR_SUCCESS) {
        dsf_log(DSF_LOG_WARNING, c->rv, "DSF00207: queue %s: %s", queue_url,
                dsf_aws_call_describe(c, p));
        return c->rv;
    }
    if (dsf_json_parse(&j, p, c->http.resp_body, c->http.resp_len, NULL) != APR_SUCCESS
        || !(attrs = dsf_json_get(j, "Attributes", p)))
        return DSF_EPARSE;
    if ((v = dsf_json_get_str(attrs, "ApproximateNumberOfMessages")))
        *visible = apr_atoi64(v);
    if ((v = dsf_json_get_str(attrs, "ApproximateNumberOfMessagesNotVisible")))
        *inflight = apr_atoi64(v);
    if ((v = dsf_json_get_str(attrs, "ApproximateNumberOfMessagesDelayed")))
        *delayed = apr_atoi64(v);
    return APR_SUCCESS;
}
