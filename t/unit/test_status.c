/* The status page's renderer: slots filled with known numbers, read back
 * field by field from the JSON, line by line from the metrics; escaping of
 * hostile configuration in HTML; format negotiation. */
#include <apr_general.h>
#include <apr_strings.h>
#include "tap.h"
#include "dsf_json.h"
#include "dsf_status.h"

static apr_pool_t *pool;
static const apr_time_t NOW = APR_INT64_C(1700000000) * APR_USEC_PER_SEC;  /* 2023-11-14T22:13:20Z */

static dsf_doser_conf_t *mkconf(const char *name, int n, int m, int window_s)
{
    dsf_doser_conf_t *c = apr_pcalloc(pool, sizeof(*c));
    c->name = name;
    c->queue_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders";
    c->lambda = "arn:aws:lambda:eu-west-1:123456789012:function:receptor";
    c->per_minute = n;
    c->per_invocation = m;
    c->window = apr_time_from_sec(window_s);
    return c;
}

/* Every counter a different number, so a swapped index shows. */
static dsf_slot_t *orders_slot(void)
{
    dsf_slot_t *s = apr_pcalloc(pool, sizeof(*s));
    int i, j;

    apr_cpystrn(s->name, "orders", sizeof(s->name));
    s->in_use = 1;
    s->dispatcher_pid = 4242;
    s->window = apr_time_from_sec(60);
    s->last_start = NOW - apr_time_from_sec(21);
    s->next_start = NOW + apr_time_from_sec(39);
    s->accepted = 1000;
    for (i = 0; i < DSF_REJ__N; i++)
        s->rejected[i] = i + 1;
    for (i = 0; i < DSF_SQS__N; i++)
        for (j = 0; j < DSF_OUT__N; j++)
            s->sqs_calls[i][j] = 100 * i + 10 * j + 1;
    for (i = 0; i < DSF_INV__N; i++)
        s->invocations[i] = 50 + i;
    s->delivered = 900;
    s->deleted = 890;
    s->released = 7;
    s->ticks = 66;
    for (i = 0; i < DSF_TICK_BUCKETS; i++)
        s->tick_hist[i] = i + 1;             /* 1..11, 66 in all */
    s->tick_sum_ms = 123456;
    s->depth_visible = 640;
    s->depth_inflight = 25;
    s->depth_delayed = 3;
    s->depth_at = NOW - apr_time_from_sec(20);
    /* 25 ticks a minute apart, the newest 21 s ago, delivering 1..25 */
    for (i = 0; i < 25; i++) {
        dsf_tick_rec_t *t = &s->history[i];
        t->start = NOW - apr_time_from_sec(21) - apr_time_from_sec(60) * (24 - i);
        t->delivered = i + 1;
        t->duration_ms = 100 + i;
        t->received = i + 2;
        t->invoked_ok = i + 3;
        t->invoked_failed = i == 24 ? 1 : 0;
        t->deleted = i + 1;
        t->released = i == 24 ? 5 : 0;
        t->stopped = i == 24;
    }
    s->history_next = 25;
    return s;
}

/* "a.0.b" through objects and arrays. */
static dsf_json_t *jat(dsf_json_t *j, const char *path)
{
    char *copy = apr_pstrdup(pool, path), *last, *k;
    for (k = apr_strtok(copy, ".", &last); k && j; k = apr_strtok(NULL, ".", &last))
        j = (*k >= '0' && *k <= '9') ? dsf_json_at(j, (apr_size_t)atoi(k), pool)
                                     : dsf_json_get(j, k, pool);
    return j;
}

static long long jint(dsf_json_t *j, const char *path)
{
    char *copy = apr_pstrdup(pool, path), *dot = strrchr(copy, '.');
    if (!dot)
        return dsf_json_get_int(j, copy, -999999);
    *dot = '\0';
    return dsf_json_get_int(jat(j, copy), dot + 1, -999999);
}

static const char *jstr(dsf_json_t *j, const char *path)
{
    dsf_json_t *v = jat(j, path);
    return v ? dsf_json_str(v) : NULL;
}

static int jnull(dsf_json_t *j, const char *path)
{
    dsf_json_t *v = jat(j, path);
    return v && dsf_json_is_null(v);
}

static const char *render(dsf_status_format_e f, const dsf_status_doser_t *d, int n,
                          const char *creds, apr_size_t *plen, const char **ct)
{
    const char *body = NULL, *type = NULL;
    apr_size_t len = 0;
    apr_status_t rv = dsf_status_render(pool, f, d, n, creds, NOW, &body, &len, &type);
    if (rv != APR_SUCCESS) {
        printf("# render failed: %d\n", rv);
        return "";
    }
    if (plen)
        *plen = len;
    if (ct)
        *ct = type;
    return body;
}

static dsf_json_t *render_json(const dsf_status_doser_t *d, int n, const char *creds)
{
    dsf_json_t *j = NULL;
    const char *body = render(DSF_STATUS_JSON, d, n, creds, NULL, NULL);
    dsf_json_error_t err;
    if (dsf_json_parse(&j, pool, body, strlen(body), &err) != APR_SUCCESS)
        printf("# JSON does not parse: %s\n", err.text);
    return j;
}

static int has_line(const char *body, const char *line)
{
    apr_size_t n = strlen(line);
    const char *at = body;
    while ((at = strstr(at, line))) {
        if ((at == body || at[-1] == '\n') && at[n] == '\n')
            return 1;
        at++;
    }
    return 0;
}

static void test_json(void)
{
    dsf_status_doser_t d[2];
    dsf_json_t *j;
    const char *ct;

    memset(d, 0, sizeof(d));
    d[0].conf = mkconf("orders", 60, 5, 60);
    d[0].slot = orders_slot();
    d[0].region = "eu-west-1";
    d[0].sqs_endpoint = "https://sqs.eu-west-1.amazonaws.com";
    d[0].lambda_endpoint = "https://lambda.eu-west-1.amazonaws.com";
    d[1].conf = mkconf("idle", 2, 10, 300);      /* no shared state at all */

    render(DSF_STATUS_JSON, d, 2, "env", NULL, &ct);
    is_str(ct, "application/json", "JSON: Content-Type");
    j = render_json(d, 2, "env");
    if (!ok(j != NULL, "JSON: parses"))
        return;
    is_str(jstr(j, "generated"), "2023-11-14T22:13:20.000Z", "JSON: generated, ISO 8601 UTC");
    is_str(jstr(j, "credentials"), "env", "JSON: credential source");
    is_int(dsf_json_size(jat(j, "dosers")), 2, "JSON: both dosers, in order");
    is_str(jstr(j, "dosers.0.name"), "orders", "JSON: name");
    is_str(jstr(j, "dosers.0.receptor"), "arn:aws:lambda:eu-west-1:123456789012:function:receptor",
           "JSON: receptor");
    is_str(jstr(j, "dosers.0.queue_url"), "https://sqs.eu-west-1.amazonaws.com/123456789012/orders",
           "JSON: queue_url");
    is_str(jstr(j, "dosers.0.region"), "eu-west-1", "JSON: region");
    is_str(jstr(j, "dosers.0.endpoints.sqs"), "https://sqs.eu-west-1.amazonaws.com", "JSON: SQS endpoint");
    is_str(jstr(j, "dosers.0.endpoints.lambda"), "https://lambda.eu-west-1.amazonaws.com",
           "JSON: Lambda endpoint");

    is_int(jint(j, "dosers.0.quota.per_minute"), 60, "JSON: quota.per_minute");
    is_int(jint(j, "dosers.0.quota.per_invocation"), 5, "JSON: quota.per_invocation");
    is_int(jint(j, "dosers.0.quota.window_ms"), 60000, "JSON: quota.window_ms");
    is_int(jint(j, "dosers.0.quota.objects_per_window"), 300, "JSON: quota.objects_per_window");

    is_int(jint(j, "dosers.0.queue.visible"), 640, "JSON: queue.visible");
    is_int(jint(j, "dosers.0.queue.in_flight"), 25, "JSON: queue.in_flight");
    is_int(jint(j, "dosers.0.queue.delayed"), 3, "JSON: queue.delayed");
    is_str(jstr(j, "dosers.0.queue.sampled_at"), "2023-11-14T22:13:00.000Z", "JSON: queue.sampled_at");
    is_int(jint(j, "dosers.0.queue.age_ms"), 20000, "JSON: queue.age_ms");

    /* 665 waiting at 300 a tick: 3 ticks, the next one and two more */
    is_int(jint(j, "dosers.0.backlog.objects"), 665, "JSON: backlog = visible + in flight");
    is_int(jint(j, "dosers.0.backlog.ticks"), 3, "JSON: backlog.ticks = ceil(665 / 300)");
    is_str(jstr(j, "dosers.0.backlog.drained_by"), "2023-11-14T22:15:59.000Z",
           "JSON: backlog.drained_by = next tick + 2 windows");

    is_int(jint(j, "dosers.0.dispatcher.pid"), 4242, "JSON: dispatcher.pid");
    is_str(jstr(j, "dosers.0.dispatcher.state"), "waiting", "JSON: dispatcher.state");
    is_str(jstr(j, "dosers.0.dispatcher.last_tick"), "2023-11-14T22:12:59.000Z", "JSON: dispatcher.last_tick");
    is_str(jstr(j, "dosers.0.dispatcher.next_tick"), "2023-11-14T22:13:59.000Z", "JSON: dispatcher.next_tick");

    is_int(jint(j, "dosers.0.totals.accepted"), 1000, "JSON: totals.accepted");
    is_int(jint(j, "dosers.0.totals.rejected.malformed"), 1, "JSON: rejected.malformed");
    is_int(jint(j, "dosers.0.totals.rejected.empty"), 2, "JSON: rejected.empty");
    is_int(jint(j, "dosers.0.totals.rejected.too_big"), 3, "JSON: rejected.too_big");
    is_int(jint(j, "dosers.0.totals.rejected.media_type"), 4, "JSON: rejected.media_type");
    is_int(jint(j, "dosers.0.totals.rejected.method"), 5, "JSON: rejected.method");
    is_int(jint(j, "dosers.0.totals.rejected.unavailable"), 6, "JSON: rejected.unavailable");
    is_int(jint(j, "dosers.0.totals.rejected.sqs_error"), 7, "JSON: rejected.sqs_error");
    is_int(jint(j, "dosers.0.totals.delivered"), 900, "JSON: totals.delivered");
    is_int(jint(j, "dosers.0.totals.deleted"), 890, "JSON: totals.deleted");
    is_int(jint(j, "dosers.0.totals.released"), 7, "JSON: totals.released");
    is_int(jint(j, "dosers.0.totals.ticks"), 66, "JSON: totals.ticks");
    is_int(jint(j, "dosers.0.totals.invocations.accepted"), 50, "JSON: invocations.accepted");
    is_int(jint(j, "dosers.0.totals.invocations.throttled"), 51, "JSON: invocations.throttled");
    is_int(jint(j, "dosers.0.totals.invocations.error"), 52, "JSON: invocations.error");
    is_int(jint(j, "dosers.0.totals.invocations.unavailable"), 53, "JSON: invocations.unavailable");
    is_int(jint(j, "dosers.0.totals.sqs_calls.SendMessageBatch.ok"), 1, "JSON: SendMessageBatch ok");
    is_int(jint(j, "dosers.0.totals.sqs_calls.SendMessageBatch.unavailable"), 21,
           "JSON: SendMessageBatch unavailable");
    is_int(jint(j, "dosers.0.totals.sqs_calls.ReceiveMessage.error"), 111, "JSON: ReceiveMessage error");
    is_int(jint(j, "dosers.0.totals.sqs_calls.DeleteMessageBatch.ok"), 201, "JSON: DeleteMessageBatch ok");
    is_int(jint(j, "dosers.0.totals.sqs_calls.ChangeMessageVisibilityBatch.unavailable"), 321,
           "JSON: ChangeMessageVisibilityBatch unavailable");
    is_int(jint(j, "dosers.0.totals.sqs_calls.GetQueueAttributes.error"), 411,
           "JSON: GetQueueAttributes error");
    is_int(jint(j, "dosers.0.totals.tick_duration.count"), 66, "JSON: tick_duration.count");
    is_int(jint(j, "dosers.0.totals.tick_duration.sum_ms"), 123456, "JSON: tick_duration.sum_ms");
    {
        dsf_json_t *b = jat(j, "dosers.0.totals.tick_duration.buckets");
        is_int(dsf_json_get_int(b, "0.05", -1), 1, "JSON: bucket 0.05, cumulative");
        is_int(dsf_json_get_int(b, "1", -1), 15, "JSON: bucket 1, cumulative");
        is_int(dsf_json_get_int(b, "60", -1), 55, "JSON: bucket 60, cumulative");
        is_int(dsf_json_get_int(b, "+Inf", -1), 66, "JSON: bucket +Inf = count");
    }
    is_int(jint(j, "dosers.0.last_hour.ticks"), 25, "JSON: last_hour.ticks");
    is_int(jint(j, "dosers.0.last_hour.delivered"), 325, "JSON: last_hour.delivered");

    is_int(dsf_json_size(jat(j, "dosers.0.ticks")), DSF_STATUS_TICKS_SHOWN, "JSON: the last 20 ticks");
    is_str(jstr(j, "dosers.0.ticks.0.start"), "2023-11-14T22:12:59.000Z", "JSON: newest tick first");
    is_str(jstr(j, "dosers.0.ticks.1.start"), "2023-11-14T22:11:59.000Z", "JSON: then the one before");
    is_int(jint(j, "dosers.0.ticks.0.delivered"), 25, "JSON: tick delivered");
    is_int(jint(j, "dosers.0.ticks.0.received"), 26, "JSON: tick received");
    is_int(jint(j, "dosers.0.ticks.0.invocations_accepted"), 27, "JSON: tick invocations_accepted");
    is_int(jint(j, "dosers.0.ticks.0.invocations_failed"), 1, "JSON: tick invocations_failed");
    is_int(jint(j, "dosers.0.ticks.0.deleted"), 25, "JSON: tick deleted");
    is_int(jint(j, "dosers.0.ticks.0.released"), 5, "JSON: tick released");
    is_int(jint(j, "dosers.0.ticks.0.duration_ms"), 124, "JSON: tick duration_ms");
    is_int(dsf_json_get_bool(jat(j, "dosers.0.ticks.0"), "stopped", 0), 1, "JSON: tick stopped");
    is_int(dsf_json_get_bool(jat(j, "dosers.0.ticks.1"), "stopped", 1), 0, "JSON: tick not stopped");
    is_int(jint(j, "dosers.0.ticks.19.delivered"), 6, "JSON: the 20th newest tick");

    /* a doser without shared state: nothing invented */
    is_str(jstr(j, "dosers.1.dispatcher.state"), "not started", "JSON: no slot: not started");
    ok(jnull(j, "dosers.1.dispatcher.pid"), "JSON: no slot: pid null");
    ok(jnull(j, "dosers.1.dispatcher.last_tick"), "JSON: no slot: last_tick null");
    ok(jnull(j, "dosers.1.queue.visible") && jnull(j, "dosers.1.queue.in_flight")
       && jnull(j, "dosers.1.queue.sampled_at"), "JSON: no slot: depths null, not 0 or -1");
    ok(jnull(j, "dosers.1.backlog"), "JSON: no slot: backlog null");
    is_int(jint(j, "dosers.1.totals.accepted"), 0, "JSON: no slot: counters 0");
    is_int(dsf_json_size(jat(j, "dosers.1.ticks")), 0, "JSON: no slot: no ticks");
    is_int(jint(j, "dosers.1.quota.window_ms"), 300000, "JSON: no slot: quota from the configuration");
}

static void test_states(void)
{
    dsf_status_doser_t d;
    dsf_slot_t *s = orders_slot();
    dsf_json_t *j;

    memset(&d, 0, sizeof(d));
    d.conf = mkconf("orders", 60, 5, 60);
    d.slot = s;

    s->owner = 4242;
    s->next_start = NOW - apr_time_from_sec(2);   /* the tick under way */
    j = render_json(&d, 1, "env");
    is_str(jstr(j, "dosers.0.dispatcher.state"), "ticking", "state: ticking while it owns the slot");
    is_str(jstr(j, "dosers.0.backlog.drained_by"), "2023-11-14T22:15:18.000Z",
           "state: ticking, the running tick counts as the first");

    s->owner = 0;
    s->next_start = NOW - apr_time_from_sec(61);
    j = render_json(&d, 1, "env");
    is_str(jstr(j, "dosers.0.dispatcher.state"), "overdue", "state: overdue a window after the plan");
    ok(jnull(j, "dosers.0.backlog.drained_by"), "state: overdue, no promise of when");
    is_int(jint(j, "dosers.0.backlog.ticks"), 3, "state: overdue, still how many ticks");

    s->next_start = NOW + apr_time_from_sec(5);
    s->depth_visible = 0;
    s->depth_inflight = 0;
    j = render_json(&d, 1, "env");
    is_int(jint(j, "dosers.0.backlog.ticks"), 0, "backlog: an empty queue needs no tick");
    ok(jnull(j, "dosers.0.backlog.drained_by"), "backlog: nothing to drain, no time");
    s->depth_visible = 300;
    j = render_json(&d, 1, "env");
    is_int(jint(j, "dosers.0.backlog.ticks"), 1, "backlog: exactly one dose is one tick");
    s->depth_visible = 301;
    j = render_json(&d, 1, "env");
    is_int(jint(j, "dosers.0.backlog.ticks"), 2, "backlog: one more object is one more tick");
}

static void test_ring(void)
{
    dsf_status_doser_t d;
    dsf_slot_t *s = apr_pcalloc(pool, sizeof(*s));
    dsf_json_t *j;
    int k;

    memset(&d, 0, sizeof(d));
    d.conf = mkconf("fast", 1, 1, 1);
    d.slot = s;
    s->dispatcher_pid = 1;
    /* 600 one-second ticks: the ring has wrapped */
    for (k = 0; k < 600; k++) {
        dsf_tick_rec_t t;
        memset(&t, 0, sizeof(t));
        t.start = NOW - apr_time_from_sec(600 - k);
        t.delivered = k;
        dsf_stats_tick(s, &t);
    }
    j = render_json(&d, 1, "env");
    is_int(jint(j, "dosers.0.ticks.0.delivered"), 599, "ring: newest first after a wrap");
    is_int(jint(j, "dosers.0.ticks.19.delivered"), 580, "ring: in order across the wrap");
    is_int(jint(j, "dosers.0.last_hour.ticks"), DSF_TICK_HISTORY - 1,
           "ring: all but the slot being overwritten next");
    is_int(jint(j, "dosers.0.totals.ticks"), 600, "ring: the counters keep counting");
}

static void test_metrics(void)
{
    static const char *const families[][2] = {
        { "dosificador_objects_accepted_total", "counter" },
        { "dosificador_objects_rejected_total", "counter" },
        { "dosificador_sqs_calls_total", "counter" },
        { "dosificador_invocations_total", "counter" },
        { "dosificador_objects_delivered_total", "counter" },
        { "dosificador_objects_deleted_total", "counter" },
        { "dosificador_objects_released_total", "counter" },
        { "dosificador_ticks_total", "counter" },
        { "dosificador_tick_duration_seconds", "histogram" },
        { "dosificador_queue_messages", "gauge" },
        { "dosificador_queue_sampled_timestamp_seconds", "gauge" },
        { "dosificador_last_tick_timestamp_seconds", "gauge" },
        { "dosificador_next_tick_timestamp_seconds", "gauge" },
        { "dosificador_quota_per_minute", "gauge" },
        { "dosificador_quota_per_invocation", "gauge" },
        { "dosificador_quota_window_seconds", "gauge" },
    };
    static const char *const lines[] = {
        "dosificador_objects_accepted_total{doser=\"orders\"} 1000",
        "dosificador_objects_rejected_total{doser=\"orders\",reason=\"malformed\"} 1",
        "dosificador_objects_rejected_total{doser=\"orders\",reason=\"empty\"} 2",
        "dosificador_objects_rejected_total{doser=\"orders\",reason=\"too_big\"} 3",
        "dosificador_objects_rejected_total{doser=\"orders\",reason=\"media_type\"} 4",
        "dosificador_objects_rejected_total{doser=\"orders\",reason=\"method\"} 5",
        "dosificador_objects_rejected_total{doser=\"orders\",reason=\"unavailable\"} 6",
        "dosificador_objects_rejected_total{doser=\"orders\",reason=\"sqs_error\"} 7",
        "dosificador_sqs_calls_total{doser=\"orders\",action=\"SendMessageBatch\",outcome=\"ok\"} 1",
        "dosificador_sqs_calls_total{doser=\"orders\",action=\"SendMessageBatch\",outcome=\"error\"} 11",
        "dosificador_sqs_calls_total{doser=\"orders\",action=\"SendMessageBatch\",outcome=\"unavailable\"} 21",
        "dosificador_sqs_calls_total{doser=\"orders\",action=\"ReceiveMessage\",outcome=\"ok\"} 101",
        "dosificador_sqs_calls_total{doser=\"orders\",action=\"DeleteMessageBatch\",outcome=\"error\"} 211",
        "dosificador_sqs_calls_total{doser=\"orders\",action=\"ChangeMessageVisibilityBatch\",outcome=\"ok\"} 301",
        "dosificador_sqs_calls_total{doser=\"orders\",action=\"GetQueueAttributes\",outcome=\"unavailable\"} 421",
        "dosificador_invocations_total{doser=\"orders\",outcome=\"accepted\"} 50",
        "dosificador_invocations_total{doser=\"orders\",outcome=\"throttled\"} 51",
        "dosificador_invocations_total{doser=\"orders\",outcome=\"error\"} 52",
        "dosificador_invocations_total{doser=\"orders\",outcome=\"unavailable\"} 53",
        "dosificador_objects_delivered_total{doser=\"orders\"} 900",
        "dosificador_objects_deleted_total{doser=\"orders\"} 890",
        "dosificador_objects_released_total{doser=\"orders\"} 7",
        "dosificador_ticks_total{doser=\"orders\"} 66",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"0.05\"} 1",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"0.1\"} 3",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"0.25\"} 6",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"0.5\"} 10",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"1\"} 15",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"2.5\"} 21",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"5\"} 28",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"10\"} 36",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"30\"} 45",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"60\"} 55",
        "dosificador_tick_duration_seconds_bucket{doser=\"orders\",le=\"+Inf\"} 66",
        "dosificador_tick_duration_seconds_sum{doser=\"orders\"} 123.456",
        "dosificador_tick_duration_seconds_count{doser=\"orders\"} 66",
        "dosificador_queue_messages{doser=\"orders\",state=\"visible\"} 640",
        "dosificador_queue_messages{doser=\"orders\",state=\"inflight\"} 25",
        "dosificador_queue_messages{doser=\"orders\",state=\"delayed\"} 3",
        "dosificador_queue_sampled_timestamp_seconds{doser=\"orders\"} 1699999980",
        "dosificador_last_tick_timestamp_seconds{doser=\"orders\"} 1699999979",
        "dosificador_next_tick_timestamp_seconds{doser=\"orders\"} 1700000039",
        "dosificador_quota_per_minute{doser=\"orders\"} 60",
        "dosificador_quota_per_invocation{doser=\"orders\"} 5",
        "dosificador_quota_window_seconds{doser=\"orders\"} 60",
        /* the doser without shared state */
        "dosificador_objects_accepted_total{doser=\"we\\\"ird\\\\name\"} 0",
        "dosificador_last_tick_timestamp_seconds{doser=\"we\\\"ird\\\\name\"} 0",
        "dosificador_quota_window_seconds{doser=\"we\\\"ird\\\\name\"} 0.5",
        "dosificador_tick_duration_seconds_count{doser=\"we\\\"ird\\\\name\"} 0",
    };
    dsf_status_doser_t d[2];
    const char *body, *ct;
    apr_size_t len, i;
    dsf_doser_conf_t *c;

    memset(d, 0, sizeof(d));
    d[0].conf = mkconf("orders", 60, 5, 60);
    d[0].slot = orders_slot();
    c = mkconf("we\"ird\\name", 1, 1, 1);
    c->window = apr_time_from_msec(500);
    d[1].conf = c;

    body = render(DSF_STATUS_METRICS, d, 2, "env", &len, &ct);
    is_str(ct, "text/plain; version=0.0.4; charset=utf-8", "metrics: Content-Type");
    is_int(strlen(body), len, "metrics: length as told");
    for (i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        const char *help = strstr(body, apr_psprintf(pool, "# HELP %s ", families[i][0]));
        const char *type = strstr(body, apr_psprintf(pool, "# TYPE %s %s\n", families[i][0], families[i][1]));
        ok(help && type && help < type, "metrics: %s has HELP, then TYPE %s", families[i][0],
           families[i][1]);
    }
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        if (!ok(has_line(body, lines[i]), "metrics: %s", lines[i]))
            printf("# not in:\n%s", body);
    ok(!strstr(body, "dosificador_queue_messages{doser=\"we"),
       "metrics: an unknown depth is left out, not made up");
    ok(body[len - 1] == '\n', "metrics: ends with a newline");
    ok(!strstr(body, "\n\n") && !strchr(body, '\r'), "metrics: no blank line, no CR");
}

static void test_html(void)
{
    dsf_status_doser_t d;
    dsf_doser_conf_t *c;
    const char *body, *ct, *j, *m;
    char *bar;
    int bars = 0;

    memset(&d, 0, sizeof(d));
    c = mkconf("<script>alert(\"x\")</script>&'", 60, 5, 60);
    c->lambda = "f<img src=x onerror=alert(1)>";
    d.conf = c;
    d.slot = orders_slot();
    d.region = "eu-west-1";
    d.sqs_endpoint = "http://AKIDEXAMPLE:s3cr3tPassw0rd@127.0.0.1:9324";
    d.lambda_endpoint = "http://user@127.0.0.1:3002/";
    body = render(DSF_STATUS_HTML, &d, 1, "static <b>AKID</b>", NULL, &ct);

    is_str(ct, "text/html; charset=utf-8", "HTML: Content-Type");
    ok(!strstr(body, "<script"), "HTML: a hostile name brings no <script>");
    ok(strstr(body, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;") != NULL,
       "HTML: the name is escaped, quotes and apostrophes too");
    ok(!strstr(body, "<img") && strstr(body, "f&lt;img src=x onerror=alert(1)&gt;"),
       "HTML: the receptor is escaped");
    ok(strstr(body, "static &lt;b&gt;AKID&lt;/b&gt;") != NULL, "HTML: the credential source is escaped");
    ok(!strstr(body, "s3cr3tPassw0rd") && !strstr(body, "AKIDEXAMPLE"),
       "HTML: a password in an endpoint URL is not shown");
    ok(strstr(body, "http://127.0.0.1:9324") && strstr(body, "http://127.0.0.1:3002/"),
       "HTML: the endpoints are shown without their user part");
    j = render(DSF_STATUS_JSON, &d, 1, "env", NULL, NULL);
    m = render(DSF_STATUS_METRICS, &d, 1, "env", NULL, NULL);
    ok(!strstr(j, "s3cr3t") && !strstr(m, "s3cr3t"), "JSON and metrics: no password either");

    ok(strstr(body, "Quota: <b>60</b> invocations of up to <b>5</b> objects every <b>60 s</b>") != NULL,
       "HTML: the quota in words");
    ok(strstr(body, "3 ticks, delivered by about 22:15:59 (in 2 min 39 s)") != NULL,
       "HTML: the backlog estimate");
    ok(strstr(body, "<svg class=\"chart\"") && strstr(body, "quota: 300 per tick"),
       "HTML: an inline SVG chart with the quota line");
    for (bar = strstr(body, "<rect class=\"bar"); bar; bar = strstr(bar + 1, "<rect class=\"bar"))
        bars++;
    is_int(bars, 25, "HTML: one bar per tick of the last hour");
    ok(strstr(body, "class=\"bar fail\"") != NULL, "HTML: the tick with a failed invocation stands out");
    ok(strstr(body, "stopped on 429/5xx") != NULL, "HTML: a stopped tick says so");

    d.conf = mkconf("orders", 60, 5, 60);
    body = render(DSF_STATUS_HTML, &d, 1, "env", NULL, NULL);
    ok(!strstr(body, "src=") && !strstr(body, "<link") && !strstr(body, "url(")
       && !strstr(body, "<script") && !strstr(body, "@import"), "HTML: no script, no external asset");

    d.slot = NULL;
    body = render(DSF_STATUS_HTML, &d, 1, "env", NULL, NULL);
    ok(strstr(body, "no ticks in the last hour") && strstr(body, "not sampled yet"),
       "HTML: a doser with no state says so");
}

static void test_bounds(void)
{
    dsf_status_doser_t *d = apr_pcalloc(pool, sizeof(*d) * 70);
    dsf_doser_conf_t *c;
    dsf_json_t *j;
    const char *body, *url;
    char *longurl = apr_palloc(pool, 4001);
    apr_size_t len;
    int i;

    for (i = 0; i < 70; i++)
        d[i].conf = mkconf(apr_psprintf(pool, "d%d", i), 1, 1, 60);
    j = render_json(d, 70, "env");
    is_int(dsf_json_size(jat(j, "dosers")), DSF_MAX_DOSERS, "bounds: at most DSF_MAX_DOSERS dosers");

    memset(longurl, 'a', 4000);
    longurl[4000] = '\0';
    c = mkconf("bad\xff\xfe" "name\n", 1, 1, 60);
    c->queue_url = longurl;
    d[0].conf = c;
    j = render_json(d, 1, "env");
    is_str(jstr(j, "dosers.0.name"), "bad??name?", "bounds: invalid UTF-8 and controls become '?'");
    url = jstr(j, "dosers.0.queue_url");
    ok(url && strlen(url) == DSF_STATUS_STR_MAX + 3 && !strcmp(url + DSF_STATUS_STR_MAX, "\xe2\x80\xa6"),
       "bounds: a long string is cut and says so");
    c->queue_url = apr_pstrcat(pool, apr_pstrndup(pool, longurl, DSF_STATUS_STR_MAX - 1),
                               "\xc3\xa9", NULL);          /* a 2-byte character across the cut */
    j = render_json(d, 1, "env");
    ok(jstr(j, "dosers.0.queue_url") != NULL, "bounds: never cut inside a character");
    for (i = 0; i < DSF_MAX_DOSERS; i++) {
        c = mkconf(apr_psprintf(pool, "d%d", i), 1, 1, 60);
        c->queue_url = c->lambda = longurl;
        d[i].conf = c;
        d[i].slot = orders_slot();
    }
    ok(dsf_status_render(pool, DSF_STATUS_HTML, d, DSF_MAX_DOSERS, "env", NOW, &body, &len, &url)
       == APR_SUCCESS && len < DSF_STATUS_MAX_BODY, "bounds: 64 busy dosers fit (%lu bytes)",
       (unsigned long)len);

    d[0].conf = NULL;
    is_int(dsf_status_render(pool, DSF_STATUS_HTML, d, 1, "env", NOW, &body, &len, &url), APR_EINVAL,
           "a doser without configuration is refused");
    body = render(DSF_STATUS_HTML, NULL, 0, NULL, NULL, NULL);
    ok(strstr(body, "No doser is configured") != NULL, "no doser: the page says so");
}

static void test_negotiate(void)
{
    static const struct {
        const char *query, *accept;
        dsf_status_format_e want;
        const char *why;
    } cases[] = {
        { NULL, NULL, DSF_STATUS_HTML, "nothing asked: HTML" },
        { "json", NULL, DSF_STATUS_JSON, "?json" },
        { "metrics", NULL, DSF_STATUS_METRICS, "?metrics" },
        { "a=1&json=1", NULL, DSF_STATUS_JSON, "?a=1&json=1" },
        { "refresh=5;metrics", NULL, DSF_STATUS_METRICS, "?refresh=5;metrics" },
        { "jsonp=cb", NULL, DSF_STATUS_HTML, "?jsonp=cb is not ?json" },
        { "x=json", NULL, DSF_STATUS_HTML, "a value json is not ?json" },
        { "metrics&json", NULL, DSF_STATUS_METRICS, "the first format parameter wins" },
        { "json", "text/plain; version=0.0.4", DSF_STATUS_JSON, "the query beats Accept" },
        { NULL, "application/json", DSF_STATUS_JSON, "Accept: application/json" },
        { NULL, "APPLICATION/JSON", DSF_STATUS_JSON, "media types are case-insensitive" },
        { NULL, "text/plain; version=0.0.4", DSF_STATUS_METRICS, "Accept: text/plain; version=0.0.4" },
        { NULL, "text/plain", DSF_STATUS_METRICS, "Accept: text/plain" },
        { NULL, "text/plain;version=1.0.0", DSF_STATUS_HTML, "an unknown text version is not served" },
        { NULL, "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
          DSF_STATUS_METRICS, "Prometheus 2.x's Accept" },
        { NULL, "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
                "*/*;q=0.8", DSF_STATUS_HTML, "a browser's Accept" },
        { NULL, "*/*", DSF_STATUS_HTML, "curl's Accept" },
        { NULL, "application/json;q=0.5, text/html", DSF_STATUS_HTML, "higher quality wins" },
        { NULL, "text/html;q=0.1, application/json", DSF_STATUS_JSON, "higher quality wins, again" },
        { NULL, "application/json, text/html", DSF_STATUS_JSON, "a tie goes to the first listed" },
        { NULL, "*/*;q=0.9, application/json;q=0.9", DSF_STATUS_JSON, "a tie goes to the explicit type" },
        { NULL, "application/json;q=0", DSF_STATUS_HTML, "q=0 means not acceptable" },
        { NULL, "image/png", DSF_STATUS_HTML, "nothing we have: HTML" },
    };
    apr_size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(dsf_status_negotiate(cases[i].query, cases[i].accept), cases[i].want, cases[i].why);
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_json();
    test_states();
    test_ring();
    test_metrics();
    test_html();
    test_bounds();
    test_negotiate();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
