/* Renders the status page from synthetic shared slots, as the handler will
 * once the glue serves it, so the browser and Prometheus tests can run
 * without httpd:
 *
 *   render OUTDIR
 *
 * writes OUTDIR/status.html, status.json, metrics.txt (three dosers: one
 * draining a backlog, one busy on a short window, one never started),
 * hostile.html (a doser whose name and URLs try to break out of the page)
 * and expect.json: the numbers put into the slots, written straight from
 * the slots (not through the renderer) for the tests to compare with. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "dsf_status.h"

static const char *const rej[DSF_REJ__N] = {
    "malformed", "empty", "too_big", "media_type", "method", "unavailable", "sqs_error"
};
static const char *const act[DSF_SQS__N] = {
    "SendMessageBatch", "ReceiveMessage", "DeleteMessageBatch",
    "ChangeMessageVisibilityBatch", "GetQueueAttributes"
};
static const char *const out[DSF_OUT__N] = { "ok", "error", "unavailable" };
static const char *const inv[DSF_INV__N] = { "accepted", "throttled", "error", "unavailable" };

static dsf_doser_conf_t *conf(apr_pool_t *p, const char *name, const char *queue,
                              const char *lambda, int n, int m, int window_s)
{
    dsf_doser_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->name = name;
    c->queue_url = queue;
    c->lambda = lambda;
    c->per_minute = n;
    c->per_invocation = m;
    c->window = apr_time_from_sec(window_s);
    return c;
}

/* nticks ticks, one per window, the last `ago` before now; delivered(k) per
 * tick, oldest first. Counters follow from the ticks like the dose would
 * make them: a failed invocation leaves its M objects in the queue. */
static void run_ticks(dsf_slot_t *s, const dsf_doser_conf_t *c, apr_time_t now,
                      apr_interval_time_t ago, int nticks, int (*delivered)(int k, int dose),
                      int fail_at, int throttle_at)
{
    int k, dose = c->per_minute * c->per_invocation;
    apr_time_t first = now - ago - (apr_time_t)(nticks - 1) * c->window;

    s->t0 = first;
    s->window = c->window;
    s->per_minute = c->per_minute;
    s->per_invocation = c->per_invocation;
    for (k = 0; k < nticks; k++) {
        dsf_tick_rec_t t;
        int d = delivered(k, dose);
        memset(&t, 0, sizeof(t));
        t.start = first + (apr_time_t)k * c->window + apr_time_from_msec(3 + k % 7);
        t.received = d;
        t.invoked_ok = (d + c->per_invocation - 1) / c->per_invocation;
        t.duration_ms = 40 + (k * 37) % 700 + (d > dose / 2 ? 900 : 0);
        if (k == fail_at) {                  /* the receptor answered 500 once */
            t.received += c->per_invocation;
            t.invoked_failed = 1;
            s->invocations[DSF_INV_ERROR]++;
            t.duration_ms = 6200;
        }
        if (k == throttle_at) {              /* a 429 stopped the tick */
            t.received += 2 * c->per_invocation;
            t.invoked_failed = 1;
            t.released = c->per_invocation;
            t.stopped = 1;
            s->invocations[DSF_INV_THROTTLED]++;
        }
        t.delivered = d;
        t.deleted = d;
        s->invocations[DSF_INV_ACCEPTED] += t.invoked_ok;
        s->sqs_calls[DSF_SQS_RECEIVE][DSF_OUT_OK] += (t.received + 9) / 10 + 1;
        s->sqs_calls[DSF_SQS_DELETE][DSF_OUT_OK] += (d + 9) / 10;
        s->sqs_calls[DSF_SQS_CHANGE_VISIBILITY][DSF_OUT_OK] += t.released ? 1 : 0;
        s->sqs_calls[DSF_SQS_GET_ATTRIBUTES][DSF_OUT_OK]++;
        dsf_stats_tick(s, &t);
        s->last_slot = s->t0 + (apr_time_t)k * c->window;
        s->last_start = t.start;
    }
    s->next_start = s->last_slot + c->window;
}

/* orders: drained a backlog at the full dose, then light traffic, then a
 * burst that fills the dose again. */
static int orders_curve(int k, int dose)
{
    static const int light[] = { 40, 65, 120, 90, 55, 150, 110, 70, 95, 130 };
    if (k < 15 || k >= 48)
        return dose;
    return light[k % 10];
}

/* telemetry: a daily-ish swell on a short window. */
static int telemetry_curve(int k, int dose)
{
    int phase = k % 120;
    int v = phase < 60 ? 20 + phase * 80 / 60 : 100 - (phase - 60) * 80 / 60;
    return v > dose ? dose : v;
}

static void write_file(const char *dir, const char *name, const char *body, apr_size_t len)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")) || fwrite(body, 1, len, f) != len || fclose(f)) {
        perror(path);
        exit(1);
    }
}

static void render_to(apr_pool_t *p, const char *dir, const char *name, dsf_status_format_e f,
                      const dsf_status_doser_t *d, int n, const char *creds, apr_time_t now)
{
    const char *body, *ct;
    apr_size_t len;
    apr_status_t rv = dsf_status_render(p, f, d, n, creds, now, &body, &len, &ct);
    if (rv != APR_SUCCESS) {
        fprintf(stderr, "render %s: %d\n", name, rv);
        exit(1);
    }
    write_file(dir, name, body, len);
}

/* The inputs, as the tests expect to find them in every format. */
static void expect_doser(FILE *f, const dsf_status_doser_t *d, apr_time_t now, int last)
{
    const dsf_slot_t *s = d->slot;
    apr_uint64_t in_hour = 0;
    unsigned i, j, bars = 0;

    for (i = 0; i < s->history_next && i < DSF_TICK_HISTORY; i++)
        if (s->history[i].start >= now - apr_time_from_sec(3600) && s->history[i].start <= now) {
            bars++;
            in_hour += s->history[i].delivered;
        }
    fprintf(f, "  {\"name\": \"%s\", \"per_minute\": %d, \"per_invocation\": %d, "
            "\"window_seconds\": %d,\n", d->conf->name, d->conf->per_minute,
            d->conf->per_invocation, (int)apr_time_sec(d->conf->window));
    fprintf(f, "   \"receptor\": \"%s\", \"queue_url\": \"%s\",\n", d->conf->lambda,
            d->conf->queue_url);
    fprintf(f, "   \"accepted\": %" APR_UINT64_T_FMT ", \"delivered\": %" APR_UINT64_T_FMT
            ", \"deleted\": %" APR_UINT64_T_FMT ", \"released\": %" APR_UINT64_T_FMT
            ", \"ticks\": %" APR_UINT64_T_FMT ", \"tick_sum_ms\": %" APR_UINT64_T_FMT ",\n",
            s->accepted, s->delivered, s->deleted, s->released, s->ticks, s->tick_sum_ms);
    fprintf(f, "   \"rejected\": {");
    for (i = 0; i < DSF_REJ__N; i++)
        fprintf(f, "%s\"%s\": %" APR_UINT64_T_FMT, i ? ", " : "", rej[i], s->rejected[i]);
    fprintf(f, "},\n   \"invocations\": {");
    for (i = 0; i < DSF_INV__N; i++)
        fprintf(f, "%s\"%s\": %" APR_UINT64_T_FMT, i ? ", " : "", inv[i], s->invocations[i]);
    fprintf(f, "},\n   \"sqs_calls\": {");
    for (i = 0; i < DSF_SQS__N; i++) {
        fprintf(f, "%s\"%s\": {", i ? ", " : "", act[i]);
        for (j = 0; j < DSF_OUT__N; j++)
            fprintf(f, "%s\"%s\": %" APR_UINT64_T_FMT, j ? ", " : "", out[j], s->sqs_calls[i][j]);
        fprintf(f, "}");
    }
    fprintf(f, "},\n   \"tick_buckets\": [");
    for (i = 0; i < DSF_TICK_BUCKETS; i++)
        fprintf(f, "%s%" APR_UINT64_T_FMT, i ? ", " : "", s->tick_hist[i]);
    fprintf(f, "],\n   \"queue\": ");
    if (s->depth_at)
        fprintf(f, "{\"visible\": %" APR_INT64_T_FMT ", \"inflight\": %" APR_INT64_T_FMT
                ", \"delayed\": %" APR_INT64_T_FMT "}", s->depth_visible, s->depth_inflight,
                s->depth_delayed);
    else
        fprintf(f, "null");
    fprintf(f, ",\n   \"last_tick_ms\": %" APR_INT64_T_FMT ", \"chart_bars\": %u, "
            "\"delivered_last_hour\": %" APR_UINT64_T_FMT "}%s\n",
            apr_time_as_msec(s->last_start), bars, in_hour, last ? "" : ",");
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    dsf_shared_t *sh;
    dsf_slot_t *s;
    dsf_status_doser_t d[3], h;
    dsf_doser_conf_t *c;
    /* whole seconds keep the page's relative times round */
    apr_time_t now = apr_time_from_sec(apr_time_sec(apr_time_now()));
    const char *creds = "file /etc/dosificador/credentials [gateway]";
    char path[4096];
    FILE *f;
    int i;

    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    sh = apr_pcalloc(p, sizeof(*sh));
    memset(d, 0, sizeof(d));

    c = conf(p, "orders", "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-intake",
             "arn:aws:lambda:eu-west-1:123456789012:function:orders-receptor:live", 60, 5, 60);
    s = dsf_stats_slot(sh, c->name);
    run_ticks(s, c, now, apr_time_from_sec(21), 60, orders_curve, 31, 52);
    s->dispatcher_pid = 48213;
    s->accepted = s->delivered + 665 + 3 * 5;
    s->rejected[DSF_REJ_MALFORMED] = 7;
    s->rejected[DSF_REJ_TOO_BIG] = 2;
    s->rejected[DSF_REJ_MEDIA_TYPE] = 1;
    s->rejected[DSF_REJ_UNAVAILABLE] = 12;
    s->sqs_calls[DSF_SQS_SEND][DSF_OUT_OK] = 1840;
    s->sqs_calls[DSF_SQS_SEND][DSF_OUT_UNAVAILABLE] = 3;
    s->sqs_calls[DSF_SQS_RECEIVE][DSF_OUT_ERROR] = 1;
    s->depth_visible = 640;
    s->depth_inflight = 25;
    s->depth_delayed = 0;
    s->depth_at = s->last_start + apr_time_from_msec(1400);
    d[0].conf = c;
    d[0].slot = s;
    d[0].region = "eu-west-1";
    d[0].sqs_endpoint = "https://sqs.eu-west-1.amazonaws.com";
    d[0].lambda_endpoint = "https://lambda.eu-west-1.amazonaws.com";

    c = conf(p, "telemetry-eu", "https://sqs.eu-west-1.amazonaws.com/123456789012/telemetry",
             "telemetry-sink", 10, 10, 10);
    s = dsf_stats_slot(sh, c->name);
    run_ticks(s, c, now, apr_time_from_sec(4), 400, telemetry_curve, 390, -1);
    s->dispatcher_pid = 48214;
    s->accepted = s->delivered + 10;
    s->rejected[DSF_REJ_EMPTY] = 4;
    s->sqs_calls[DSF_SQS_SEND][DSF_OUT_OK] = 3102;
    s->depth_visible = 0;
    s->depth_inflight = 0;
    s->depth_delayed = 0;
    s->depth_at = s->last_start + apr_time_from_msec(600);
    d[1] = d[0];
    d[1].conf = c;
    d[1].slot = s;

    c = conf(p, "audit", "https://sqs.eu-west-1.amazonaws.com/123456789012/audit",
             "audit-archiver", 1, 10, 300);
    s = dsf_stats_slot(sh, c->name);
    d[2] = d[0];
    d[2].conf = c;
    d[2].slot = s;

    render_to(p, argv[1], "status.html", DSF_STATUS_HTML, d, 3, creds, now);
    render_to(p, argv[1], "status.json", DSF_STATUS_JSON, d, 3, creds, now);
    render_to(p, argv[1], "metrics.txt", DSF_STATUS_METRICS, d, 3, creds, now);

    /* A name and URLs that would run script or break markup if not escaped;
     * the endpoint carries a password that must not show. */
    memset(&h, 0, sizeof(h));
    h.conf = conf(p, "x</h2><script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">",
                  "https://sqs.us-east-1.amazonaws.com/1/q\"><script>window.pwned=3</script>",
                  "f'><svg onload=window.pwned=4>", 2, 2, 30);
    h.slot = dsf_stats_slot(sh, "hostile");
    h.region = "us-east-1";
    h.sqs_endpoint = "http://AKIDEXAMPLE:wJalrXUtnFEMIsecret@127.0.0.1:9324";
    render_to(p, argv[1], "hostile.html", DSF_STATUS_HTML, &h, 1,
              "static <b>AKIDEXAMPLE</b>", now);

    snprintf(path, sizeof(path), "%s/expect.json", argv[1]);
    if (!(f = fopen(path, "w"))) {
        perror(path);
        return 1;
    }
    fprintf(f, "{\"now_ms\": %" APR_INT64_T_FMT ", \"credentials\": \"%s\", \"dosers\": [\n",
            apr_time_as_msec(now), creds);
    for (i = 0; i < 3; i++)
        expect_doser(f, &d[i], now, i == 2);
    fprintf(f, "]}\n");
    fclose(f);
    apr_pool_destroy(p);
    apr_terminate();
    return 0;
}
