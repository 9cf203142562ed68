/* One tick of one doser: receive, group, invoke, delete, release.
 * The order matters for the guarantee: a message is deleted only after the
 * invocation carrying it was accepted (202), so a crash anywhere leaves it in
 * the queue to be delivered again (at least once, never lost). */
#include <string.h>
#include <apr_strings.h>
#include "dsf_dose.h"
#include "dsf_sqs.h"
#include "dsf_lambda.h"
#include "dsf_json.h"

#define SQS_MAX_WAIT_ROUNDS 20

typedef struct {
    const dsf_sqs_msg_t *msg;
    const char *piece;          /* its JSON text inside the payload */
    apr_size_t len;
} item_t;

typedef struct {
    int first, count;           /* items [first, first+count) */
    apr_size_t bytes;
    dsf_aws_call_t *call;
    int accepted;
} batch_t;

/* arn:aws:sqs:REGION:ACCOUNT:NAME from https://host/ACCOUNT/NAME */
static const char *queue_arn(apr_pool_t *p, const char *url, const char *region)
{
    const char *path = strstr(url, "://");
    const char *acct, *name;
    path = path ? strchr(path + 3, '/') : NULL;
    if (!path)
        return "";
    acct = path + 1;
    name = strchr(acct, '/');
    if (!name)
        return "";
    return apr_psprintf(p, "arn:aws:sqs:%s:%.*s:%s", region, (int)(name - acct), acct, name + 1);
}

static const char *piece_of(apr_pool_t *p, const dsf_doser_conf_t *d, const char *region,
                            const char *arn, const dsf_sqs_msg_t *m, apr_size_t *plen)
{
    dsf_json_t *r, *attrs;
    if (d->payload == DSF_PAYLOAD_ARRAY) {
        dsf_json_t *v;
        const char *q;
        /* Bodies the module enqueued are compact JSON; anything else that
         * reached the queue travels as a JSON string rather than break the array. */
        if (dsf_json_parse(&v, p, m->body, m->body_len, NULL) == APR_SUCCESS) {
            *plen = m->body_len;
            return m->body;
        }
        if (!(q = dsf_json_quote(p, m->body, m->body_len)))
            q = "null";                 /* not UTF-8: SQS never returns such a body */
        *plen = strlen(q);
        return q;
    }
    r = dsf_json_object(p);
    attrs = dsf_json_object(p);
    dsf_json_set_str(r, "messageId", m->message_id);
    dsf_json_set_str(r, "receiptHandle", m->receipt);
    dsf_json_set_strn(r, "body", m->body, m->body_len);
    if (m->receive_count)
        dsf_json_set_str(attrs, "ApproximateReceiveCount", m->receive_count);
    if (m->sent_timestamp)
        dsf_json_set_str(attrs, "SentTimestamp", m->sent_timestamp);
    if (m->sender_id)
        dsf_json_set_str(attrs, "SenderId", m->sender_id);
    if (m->first_receive_timestamp)
        dsf_json_set_str(attrs, "ApproximateFirstReceiveTimestamp", m->first_receive_timestamp);
    dsf_json_set(r, "attributes", attrs);
    dsf_json_set(r, "messageAttributes", dsf_json_object(p));
    if (m->md5)
        dsf_json_set_str(r, "md5OfBody", m->md5);
    dsf_json_set_str(r, "eventSource", "aws:sqs");
    dsf_json_set_str(r, "eventSourceARN", arn);
    dsf_json_set_str(r, "awsRegion", region);
    return dsf_json_dump(r, p, plen);
}

static const char *join(apr_pool_t *p, const dsf_doser_conf_t *d, const item_t *items,
                        int n, apr_size_t *plen)
{
    const char *open = d->payload == DSF_PAYLOAD_ARRAY ? "[" : "{\"Records\":[";
    const char *close = d->payload == DSF_PAYLOAD_ARRAY ? "]" : "]}";
    apr_size_t len = strlen(open) + strlen(close) + (n ? n - 1 : 0), o;
    char *buf;
    int i;
    for (i = 0; i < n; i++)
        len += items[i].len;
    buf = apr_palloc(p, len + 1);
    o = strlen(open);
    memcpy(buf, open, o);
    for (i = 0; i < n; i++) {
        if (i)
            buf[o++] = ',';
        memcpy(buf + o, items[i].piece, items[i].len);
        o += items[i].len;
    }
    memcpy(buf + o, close, strlen(close));
    o += strlen(close);
    buf[o] = '\0';
    *plen = o;
    return buf;
}

/* The overhead of the payload's wrapper around its pieces. */
static apr_size_t wrapper_len(const dsf_doser_conf_t *d)
{
    return d->payload == DSF_PAYLOAD_ARRAY ? 2 : 14;
}

const char *dsf_dose_payload(apr_pool_t *p, const dsf_doser_conf_t *d, const char *region,
                             const void *const *msgs, int n, apr_size_t *plen)
{
    item_t *items = apr_pcalloc(p, sizeof(*items) * (n ? n : 1));
    const char *arn = queue_arn(p, d->queue_url, region);
    int i;
    for (i = 0; i < n; i++) {
        items[i].msg = msgs[i];
        items[i].piece = piece_of(p, d, region, arn, msgs[i], &items[i].len);
    }
    return join(p, d, items, n, plen);
}

/* Receives until the dose is full, a round brings nothing, or time runs out.
 * Parallel calls of at most 10; long polls (1 s) when the window allows,
 * because short polls sample a subset of SQS's servers. */
static apr_status_t receive_dose(dsf_aws_t *a, apr_pool_t *p, const dsf_doser_conf_t *d,
                                 dsf_slot_t *slot, apr_array_header_t *msgs)
{
    int need = d->per_minute * d->per_invocation;
    int wait_s = d->window >= apr_time_from_sec(3) ? 1 : 0;
    int vis = (int)apr_time_sec(d->visibility);
    apr_time_t deadline = apr_time_now() + d->window / 2;
    apr_status_t worst = APR_SUCCESS;
    int round, drained = 0;

    for (round = 0; round < SQS_MAX_WAIT_ROUNDS && msgs->nelts < need; round++) {
        int want = need - msgs->nelts, ncalls = (want + 9) / 10, i, before = msgs->nelts;
        dsf_aws_call_t **calls = apr_palloc(p, sizeof(*calls) * ncalls);
        apr_status_t rv;

        for (i = 0; i < ncalls; i++) {
            int max = want - 10 * i < 10 ? want - 10 * i : 10;
            calls[i] = dsf_sqs_receive_call(a, p, d->queue_url, max, wait_s, vis);
            calls[i]->slot = slot;
        }
        if ((rv = dsf_aws_perform(a, p, calls, ncalls, d->parallel)) != APR_SUCCESS)
            return rv;
        for (i = 0; i < ncalls; i++) {
            int had = msgs->nelts;
            if ((rv = dsf_sqs_receive_parse(calls[i], p, msgs)) == APR_SUCCESS) {
                if (wait_s && msgs->nelts == had)
                    drained = 1;         /* a long poll came back empty */
            }
            else {
                dsf_log(DSF_LOG_ERR, rv, "DSF00301: doser %s: queue %s: %s%s", d->name,
                        d->queue_url, dsf_aws_call_describe(calls[i], p),
                        rv == DSF_EPARSE ? " (malformed answer)" : "");
                worst = rv;
            }
        }
        if (worst != APR_SUCCESS || drained || msgs->nelts == before
            || apr_time_now() > deadline)
            break;
    }
    return worst;
}

/* ChangeMessageVisibilityBatch (vis >= 0) or DeleteMessageBatch (vis < 0)
 * for the given messages, in parallel batches of 10; returns how many SQS
 * confirmed. */
static int settle(dsf_aws_t *a, apr_pool_t *p, const dsf_doser_conf_t *d, dsf_slot_t *slot,
                  const dsf_sqs_msg_t **msgs, int n, int vis)
{
    int ncalls = (n + 9) / 10, i, done = 0;
    dsf_aws_call_t **calls;
    if (!n)
        return 0;
    calls = apr_palloc(p, sizeof(*calls) * ncalls);
    for (i = 0; i < ncalls; i++) {
        int k = n - 10 * i < 10 ? n - 10 * i : 10;
        calls[i] = dsf_sqs_receipts_call(a, p, d->queue_url, msgs + 10 * i, k, vis);
        calls[i]->slot = slot;
    }
    if (dsf_aws_perform(a, p, calls, ncalls, d->parallel) != APR_SUCCESS)
        return 0;
    for (i = 0; i < ncalls; i++)
        done += dsf_sqs_receipts_parse(calls[i], p);
    return done;
}

apr_status_t dsf_dose_tick(dsf_aws_t *a, apr_pool_t *p, const dsf_doser_conf_t *d,
                           dsf_slot_t *slot, apr_time_t invoke_not_before,
                           apr_time_t *invoked_at, dsf_tick_rec_t *rec)
{
    const char *region = dsf_aws_conf(a)->region;
    const char *arn = queue_arn(p, d->queue_url, region);
    apr_array_header_t *msgs = apr_array_make(p, 64, sizeof(dsf_sqs_msg_t));
    apr_size_t limit = d->max_payload > wrapper_len(d) ? d->max_payload - wrapper_len(d) : 0;
    const dsf_sqs_msg_t **done, **back;
    item_t *items;
    batch_t *batches;
    apr_status_t rv, worst;
    int nb = 0, i, b, ndone = 0, nback = 0, sent_upto, stop = 0;

    memset(rec, 0, sizeof(*rec));
    rec->start = apr_time_now();
    worst = receive_dose(a, p, d, slot, msgs);
    rec->received = msgs->nelts;

    /* Group in receive order: at most N batches of at most M, within maxPayload. */
    items = apr_pcalloc(p, sizeof(*items) * (msgs->nelts ? msgs->nelts : 1));
    batches = apr_pcalloc(p, sizeof(*batches) * d->per_minute);
    for (i = 0; i < msgs->nelts; i++) {
        item_t *it = &items[i];
        batch_t *cur = nb ? &batches[nb - 1] : NULL;
        it->msg = &APR_ARRAY_IDX(msgs, i, dsf_sqs_msg_t);
        it->piece = piece_of(p, d, region, arn, it->msg, &it->len);
        if (!cur || cur->count == d->per_invocation
            || (cur->count && cur->bytes + 1 + it->len > limit)) {
            if (nb == d->per_minute)
                break;                           /* never exceed N to make room */
            cur = &batches[nb++];
            cur->first = i;
        }
        cur->bytes += (cur->count ? 1 : 0) + it->len;
        cur->count++;
    }
    sent_upto = nb ? batches[nb - 1].first + batches[nb - 1].count : 0;

    /* The quota is about invocations: keep them a full window after the last
     * tick's, however long this tick's receive took. */
    if (nb) {
        apr_time_t now = apr_time_now();
        if (invoke_not_before > now)
            apr_sleep(invoke_not_before - now);
        *invoked_at = apr_time_now();
    }

    /* Invoke in waves of `parallel`; stop after a wave that met 429/5xx. */
    for (b = 0; b < nb && !stop; ) {
        int wave = nb - b < d->parallel ? nb - b : d->parallel, k;
        dsf_aws_call_t **calls = apr_palloc(p, sizeof(*calls) * wave);
        for (k = 0; k < wave; k++) {
            batch_t *bt = &batches[b + k];
            apr_size_t len;
            const char *payload = join(p, d, items + bt->first, bt->count, &len);
            bt->call = calls[k] = dsf_lambda_invoke_call(a, p, d->lambda, payload, len);
        }
        if ((rv = dsf_aws_perform(a, p, calls, wave, d->parallel)) != APR_SUCCESS) {
            worst = rv;
            stop = 1;
        }
        for (k = 0; k < wave; k++) {
            batch_t *bt = &batches[b + k];
            dsf_aws_call_t *c = bt->call;
            int inv;
            bt->accepted = dsf_lambda_accepted(c);
            if (bt->accepted) {
                inv = DSF_INV_ACCEPTED;
                rec->invoked_ok++;
                rec->delivered += bt->count;
            }
            else {
                rec->invoked_failed++;
                inv = c->http.status == 429 ? DSF_INV_THROTTLED
                    : c->rv == DSF_EUNAVAIL ? DSF_INV_UNAVAILABLE : DSF_INV_ERROR;
                if (c->rv == DSF_EUNAVAIL || c->http.status == 429)
                    stop = 1;
                if (c->rv == APR_SUCCESS)   /* 2xx other than 202: not an Event accept */
                    c->rv = DSF_EAWS;
                worst = c->rv;
                dsf_log(DSF_LOG_ERR, c->rv, "DSF00302: doser %s: receptor %s: %s; its %d "
                        "object(s) stay in the queue until the visibility timeout",
                        d->name, d->lambda, dsf_aws_call_describe(c, p), bt->count);
            }
            if (slot)
                dsf_count(&slot->invocations[inv], 1);
        }
        b += wave;
    }
    if (stop && b < nb)
        dsf_log(DSF_LOG_WARNING, 0, "DSF00303: doser %s: receptor throttled or failing; "
                "%d invocation(s) left for the next tick", d->name, nb - b);
    rec->stopped = stop;

    /* Settle: delete what was accepted, release what was never sent. */
    done = apr_palloc(p, sizeof(*done) * (msgs->nelts + 1));
    back = apr_palloc(p, sizeof(*back) * (msgs->nelts + 1));
    for (i = 0; i < nb; i++) {
        batch_t *bt = &batches[i];
        int k;
        for (k = bt->first; k < bt->first + bt->count; k++) {
            if (bt->accepted)
                done[ndone++] = items[k].msg;
            else if (!bt->call)                  /* never invoked */
                back[nback++] = items[k].msg;
        }
    }
    for (i = sent_upto; i < msgs->nelts; i++)
        back[nback++] = &APR_ARRAY_IDX(msgs, i, dsf_sqs_msg_t);
    rec->deleted = settle(a, p, d, slot, done, ndone, -1);
    if ((int)rec->deleted < ndone)
        dsf_log(DSF_LOG_ERR, DSF_EAWS, "DSF00304: doser %s: %d delivered message(s) could not "
                "be deleted; they will be delivered again", d->name, ndone - rec->deleted);
    rec->released = settle(a, p, d, slot, back, nback, 0);
    rec->duration_ms = (apr_uint32_t)apr_time_as_msec(apr_time_now() - rec->start);
    dsf_log(DSF_LOG_INFO, 0, "DSF00305: doser %s: tick received %d, invoked %d (failed %d), "
            "delivered %d, deleted %d, released %d, in %u ms", d->name, rec->received,
            rec->invoked_ok, rec->invoked_failed, rec->delivered, rec->deleted, rec->released,
            rec->duration_ms);
    return worst;
}
