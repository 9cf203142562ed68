/* Regressions for what fuzzing (t/fuzz/fuzz_*.c) and the fault scenarios
 * (t/1*_*.t) found, each reduced to the smallest input that shows it, plus
 * the properties those findings sit next to. */
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_md5.h>
#include "tap.h"
#include "dsf_aws.h"
#include "dsf_sqs.h"
#include "dsf_dispatch.h"

static void quiet(void *baton, const char *file, int line, int level, apr_status_t rv,
                  const char *msg)
{
}

/* Strict UTF-8, as jansson wants it. */
static int utf8_ok(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        int k = *s < 0x80 ? 0 : (*s >= 0xc2 && *s <= 0xdf) ? 1 : (*s >= 0xe0 && *s <= 0xef) ? 2
              : (*s >= 0xf0 && *s <= 0xf4) ? 3 : -1, j;
        if (k < 0)
            return 0;
        for (j = 1; j <= k; j++)
            if ((s[j] & 0xc0) != 0x80)
                return 0;
        s += k + 1;
    }
    return 1;
}

static dsf_aws_call_t *answer(apr_pool_t *p, int status, const char *etype, const char *body)
{
    dsf_aws_call_t *c = apr_pcalloc(p, sizeof(*c));
    c->service = "sqs";
    c->action = "SendMessageBatch";
    c->http.rv = APR_SUCCESS;
    c->http.status = status;
    c->http.resp_headers = apr_table_make(p, 2);
    if (etype)
        apr_table_set(c->http.resp_headers, "x-amzn-ErrorType", etype);
    c->http.resp_body = apr_pstrdup(p, body);
    c->http.resp_len = strlen(body);
    dsf_aws_classify(c, p);
    return c;
}

/* The dispatcher's loop (dsf_dispatch_run) in simulated time: sleeps until
 * the start dsf_sched_next gives, in naps of at most 100 ms that end `lag`
 * after they should, as apr_sleep's do; the tick in slot `slow_slot` takes
 * `slow`, the others 10 ms. Returns how many ticks started before `until`. */
static int simulate(apr_interval_time_t w, apr_interval_time_t lag, int slow_slot,
                    apr_interval_time_t slow, apr_interval_time_t until, apr_time_t *last)
{
    dsf_slot_t s;
    dsf_doser_conf_t d;
    apr_time_t t = apr_time_from_sec(1000000), now, slot, start;
    int ticks = 0, guard;

    memset(&s, 0, sizeof(s));
    memset(&d, 0, sizeof(d));
    d.name = "t";
    d.window = w;
    d.per_minute = 1;
    d.per_invocation = 1;
    dsf_sched_configure(&s, &d, t);
    now = t;
    *last = 0;
    for (guard = 0; now < t + until && guard < 1000000; guard++) {
        start = dsf_sched_next(&s, now, &slot);
        if (start > now) {
            now += (start - now < apr_time_from_msec(100) ? start - now : apr_time_from_msec(100)) + lag;
            continue;
        }
        s.last_slot = slot;
        *last = now - t;
        now += ++ticks == slow_slot ? slow : apr_time_from_msec(10);
    }
    return ticks;
}

int main(void)
{
    apr_pool_t *p;
    dsf_aws_call_t *c;
    char *msg;
    int i, ticks;
    apr_time_t last;

    apr_initialize();
    apr_pool_create(&p, NULL);
    dsf_log_set(quiet, NULL, DSF_LOG_TRACE1);

    /* fuzz_awserr: AWS's message is cut to 200 bytes; a cut inside a UTF-8
     * character leaves invalid UTF-8, which jansson refuses, so the 207/502
     * answer's entry loses its "message" (the README promises code and
     * message). Reduced from build/fuzz/artifacts/awserr-crash-f1988357...:
     * a 400 whose message is "x" followed by 150 "é" (byte 199 starts one). */
    msg = apr_pstrdup(p, "x");
    for (i = 0; i < 150; i++)
        msg = apr_pstrcat(p, msg, "\xc3\xa9", NULL);
    c = answer(p, 400, NULL, apr_psprintf(p, "{\"__type\":\"com.amazonaws.sqs#InvalidParameterValue\","
                                             "\"message\":\"%s\"}", msg));
    ok(c->rv == DSF_EAWS && c->aws_code && !strcmp(c->aws_code, "InvalidParameterValue"),
       "a 400 with a long non-ASCII message: DSF_EAWS, its code");
    ok(c->aws_message && strlen(c->aws_message) <= 200, "the message is cut to at most 200 bytes");
    ok(c->aws_message && utf8_ok(c->aws_message),
       "and never inside a UTF-8 character (it goes into the JSON answer)");

    /* Next to it, the property the cut exists for: AWS's signature error
     * quotes the canonical request, session token included. */
    c = answer(p, 403, "InvalidSignatureException",
               "{\"__type\":\"com.amazon.coral.service#InvalidSignatureException\",\"message\":"
               "\"The request signature we calculated does not match.\\n\\nThe Canonical String "
               "for this request should have been\\n'POST\\n/\\n\\nx-amz-security-token:TOKEN123\\n'\"}");
    ok(c->rv == DSF_EAWS && c->aws_message && !strstr(c->aws_message, "TOKEN123")
       && !strstr(c->aws_message, "Canonical"), "a quoted canonical request never reaches the message");
    ok(!strstr(dsf_aws_call_describe(c, p), "TOKEN123"), "nor the log line");

    /* fuzz_sqs: a SendMessageBatch entry is confirmed only with its own MD5. */
    {
        const char *bodies[2] = { "{\"a\":1}", "{\"a\":2}" };
        apr_size_t lens[2] = { 7, 7 };
        unsigned char d[APR_MD5_DIGESTSIZE];
        char md5[33];
        dsf_sqs_sent_t res[2];
        dsf_sqs_batch_t b = { 0, 2 };
        apr_md5(d, bodies[0], 7);
        dsf_hex(md5, d, sizeof(d));
        c = answer(p, 200, NULL, apr_psprintf(p, "{\"Successful\":[{\"Id\":\"0\",\"MessageId\":\"m0\","
                   "\"MD5OfMessageBody\":\"%s\"},{\"Id\":\"1\",\"MessageId\":\"m1\","
                   "\"MD5OfMessageBody\":\"%s\"}]}", md5, md5));
        dsf_sqs_send_parse(c, p, &b, bodies, lens, res);
        ok(res[0].rv == APR_SUCCESS && res[1].rv == DSF_EMD5,
           "SendMessageBatch: the entry echoed with another body's MD5 is not confirmed");
    }

    /* fuzz_sqs: Delete/ChangeMessageVisibilityBatch answers are counted by
     * the length of "Successful", whatever its entries say. An answer that
     * repeats an Id (or names entries never sent) confirms more than was
     * sent: the tick's "deleted" count is overstated and DSF00304 ("could not
     * be deleted; they will be delivered again") is not logged for the entry
     * SQS never confirmed. Reduced from build/fuzz/artifacts/sqs-crash-d4121371...:
     * a batch of 2, answered with entry "0" three times. */
    {
        dsf_aws_conf_t conf;
        dsf_aws_t *a;
        dsf_sqs_msg_t m0, m1;
        const dsf_sqs_msg_t *msgs[2] = { &m0, &m1 };
        int n;
        memset(&conf, 0, sizeof(conf));
        memset(&m0, 0, sizeof(m0));
        memset(&m1, 0, sizeof(m1));
        conf.region = "us-east-1";
        conf.sqs_endpoint = "http://127.0.0.1:1";
        a = dsf_aws_on(p, &conf, NULL, NULL);
        m0.receipt = "rh-0";
        m1.receipt = "rh-1";
        c = dsf_sqs_receipts_call(a, p, "http://127.0.0.1:1/000000000000/q", msgs, 2, -1);
        c->http.rv = APR_SUCCESS;
        c->http.status = 200;
        c->http.resp_headers = apr_table_make(p, 1);
        c->http.resp_body = "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"0\"},{\"Id\":\"0\"}],\"Failed\":[]}";
        c->http.resp_len = strlen(c->http.resp_body);
        dsf_aws_classify(c, p);
        n = dsf_sqs_receipts_parse(c, p);
        is_int(n, 1, "DeleteMessageBatch of 2 answered with entry 0 three times: 1 confirmed");
        c->http.resp_body = "{\"Successful\":[{\"Id\":\"0\"},{\"Id\":\"7\"},{\"Id\":\"x\"}],\"Failed\":[]}";
        c->http.resp_len = strlen(c->http.resp_body);
        is_int(dsf_sqs_receipts_parse(c, p), 1, "entries never sent (7, x) confirm nothing: only 0 counts");
    }

    /* Found by t/15_fault_sqs_hang.t and t/16_fault_backlog.t: a tick that
     * overruns its slot by more than min(window/2, 1 s) (SQS hanging until
     * DosificadorTimeout, a slow tick) makes dsf_sched_next skip to "the next
     * slot after now" on every call: each time the dispatcher wakes (always a
     * little after the start it was given) the start moves one window on, and
     * the doser never ticks again until httpd restarts. */
    ticks = simulate(apr_time_from_sec(1), 50, 1, apr_time_from_sec(4), apr_time_from_sec(20), &last);
    ok(ticks >= 12, "window 1 s, a 4 s tick: the dispatcher ticks on afterwards (%d ticks in 20 s, "
       "the last at %.1f s)", ticks, last / 1e6);
    ticks = simulate(apr_time_from_sec(60), 50, 2, apr_time_from_sec(75), apr_time_from_sec(600), &last);
    ok(ticks >= 7, "window 60 s, a 75 s tick: the dispatcher ticks on afterwards (%d ticks in 600 s, "
       "the last at %.0f s)", ticks, last / 1e6);
    ticks = simulate(apr_time_from_sec(2), 0, 0, 0, apr_time_from_sec(20), &last);
    ok(ticks >= 9 && ticks <= 10, "and without overruns, one tick per window (%d in 20 s)", ticks);

    apr_pool_destroy(p);
    return done_testing();
}
