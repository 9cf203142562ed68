/* libFuzzer target: the SQS response parsers, on a finished call whose
 * response body (and HTTP status) come from the input.
 *   byte 0: bits 0-1 pick the parser (0 SendMessageBatch, 1 ReceiveMessage,
 *           2 Delete/ChangeMessageVisibilityBatch, 3 all three);
 *           bits 4-7: entries in the SendMessageBatch (1 + n % 10)
 *   byte 1: the HTTP status (200 most of the time; 400, 403, 429, 500, 503)
 *   rest:   the response body; dsf_aws_classify reads the call first, as
 *           dsf_aws_perform does.
 * Invariants:
 *   send:     an entry counts as stored only when the answer is a 2xx whose
 *             text holds the MD5 of exactly that entry's body, with a message
 *             id; every entry of the batch gets a result; entries outside the
 *             batch are untouched;
 *   receive:  every message appended has an id, a receipt handle and a body
 *             whose length is right; nothing is appended unless the call
 *             succeeded;
 *   receipts: the count of confirmed entries is 0 for a failed call and never
 *             more than a batch holds (10). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_md5.h>
#include "dsf_sqs.h"

#define NB 12    /* result slots: 10 entries, plus one sentinel either side */

static apr_pool_t *root;
/* Entry k of a batch starting at slot 1 is body k, at index k + 1 here. */
static const char *bodies[NB];
static apr_size_t lens[NB];
static char md5s[NB][33];

static void quiet(void *baton, const char *file, int line, int level, apr_status_t rv,
                  const char *msg)
{
    (void)baton; (void)file; (void)line; (void)level; (void)rv; (void)msg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    int i;
    apr_initialize();
    apr_pool_create(&root, NULL);
    /* Messages are formatted (every level) and dropped. */
    dsf_log_set(quiet, NULL, DSF_LOG_TRACE1);
    for (i = 0; i < NB; i++) {
        unsigned char d[APR_MD5_DIGESTSIZE];
        bodies[i] = apr_psprintf(root, "{\"i\":%d}", i - 1);
        lens[i] = strlen(bodies[i]);
        apr_md5(d, bodies[i], lens[i]);
        dsf_hex(md5s[i], d, sizeof(d));
    }
    return 0;
}

static dsf_aws_call_t *call_of(apr_pool_t *p, const uint8_t *data, size_t size, const char *action)
{
    static const int statuses[8] = { 200, 200, 200, 200, 400, 403, 429, 500 };
    dsf_aws_call_t *c = apr_pcalloc(p, sizeof(*c));
    c->service = "sqs";
    c->action = action;
    c->http.method = "POST";
    c->http.url = "http://127.0.0.1:1/";
    c->http.rv = APR_SUCCESS;
    c->http.status = data[1] == 0xff ? 503 : statuses[data[1] & 7];
    c->http.resp_body = apr_pstrmemdup(p, (const char *)data + 2, size - 2);
    c->http.resp_len = size - 2;
    c->http.resp_headers = apr_table_make(p, 2);
    dsf_aws_classify(c, p);
    return c;
}

static int contains_ci(const char *hay, apr_size_t len, const char *needle)
{
    apr_size_t n = strlen(needle), i;
    for (i = 0; i + n <= len; i++)
        if (!strncasecmp(hay + i, needle, n))
            return 1;
    return 0;
}

static void check_send(apr_pool_t *p, const uint8_t *data, size_t size)
{
    dsf_aws_call_t *c = call_of(p, data, size, "SendMessageBatch");
    dsf_sqs_sent_t res[NB];
    dsf_sqs_batch_t b;
    int i;

    memset(res, 0x5a, sizeof(res));
    b.first = 1;
    b.count = 1 + (data[0] >> 4) % 10;
    dsf_sqs_send_parse(c, p, &b, bodies, lens, res);
    for (i = 0; i < NB; i++) {
        const dsf_sqs_sent_t *r = &res[i];
        if (i < b.first || i >= b.first + b.count) {
            const unsigned char *u = (const unsigned char *)r;
            size_t k;
            for (k = 0; k < sizeof(*r); k++)
                if (u[k] != 0x5a)
                    abort();            /* wrote outside its batch */
            continue;
        }
        if (r->rv == APR_SUCCESS) {
            if (c->rv != APR_SUCCESS || !r->message_id
                || !contains_ci(c->http.resp_body, c->http.resp_len, md5s[i]))
                abort();                /* confirmed without SQS's word for it */
        }
        else if (r->rv != DSF_EPARSE && r->rv != DSF_EAWS && r->rv != DSF_EMD5
                 && r->rv != DSF_EUNAVAIL && r->rv != DSF_ECREDS) {
            abort();
        }
        if (r->message)
            (void)strlen(r->message);
        if (r->code)
            (void)strlen(r->code);
    }
}

static void check_receive(apr_pool_t *p, const uint8_t *data, size_t size)
{
    dsf_aws_call_t *c = call_of(p, data, size, "ReceiveMessage");
    apr_array_header_t *msgs = apr_array_make(p, 4, sizeof(dsf_sqs_msg_t));
    apr_status_t rv = dsf_sqs_receive_parse(c, p, msgs);
    int i;

    if (c->rv != APR_SUCCESS && (rv == APR_SUCCESS || msgs->nelts))
        abort();
    for (i = 0; i < msgs->nelts; i++) {
        const dsf_sqs_msg_t *m = &APR_ARRAY_IDX(msgs, i, dsf_sqs_msg_t);
        if (!m->message_id || !m->receipt || !m->body || strlen(m->body) != m->body_len)
            abort();
    }
}

static void check_receipts(apr_pool_t *p, const uint8_t *data, size_t size)
{
    dsf_aws_call_t *c = call_of(p, data, size, (data[0] & 0x10) ? "DeleteMessageBatch"
                                                                 : "ChangeMessageVisibilityBatch");
    int n = dsf_sqs_receipts_parse(c, p);
    if (n < 0 || (c->rv != APR_SUCCESS && n != 0) || n > DSF_SQS_MAX_BATCH)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    if (size < 2)
        return 0;
    apr_pool_create(&p, root);
    switch (data[0] & 3) {
    case 0: check_send(p, data, size); break;
    case 1: check_receive(p, data, size); break;
    case 2: check_receipts(p, data, size); break;
    default:
        check_send(p, data, size);
        check_receive(p, data, size);
        check_receipts(p, data, size);
    }
    apr_pool_destroy(p);
    return 0;
}
