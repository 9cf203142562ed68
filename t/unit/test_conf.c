/* dsf_conf: `Dosificador NAME key=value...` parsing, its messages and defaults. */
#include <apr_general.h>
#include <apr_strings.h>
#include "dsf_conf.h"
#include "tap.h"

static apr_pool_t *pool;

#define Q "queue=https://sqs.eu-west-1.amazonaws.com/123456789012/orders"
#define L "lambda=receptor"

/* Parses up to 8 words given as a NULL-ended list. */
static apr_status_t parse(dsf_doser_conf_t *d, const char **why, const char *w0, ...)
{
    char *argv[16];
    int argc = 0;
    va_list ap;
    const char *w;

    va_start(ap, w0);
    for (w = w0; w && argc < 16; w = va_arg(ap, const char *))
        argv[argc++] = apr_pstrdup(pool, w);
    va_end(ap);
    return dsf_doser_conf_parse(d, pool, "orders", argc, argv, why);
}

/* One word with a valid queue and lambda around it (it replaces either). */
static apr_status_t parse_one(dsf_doser_conf_t *d, const char **why, const char *word)
{
    if (!strncmp(word, "queue=", 6))
        return parse(d, why, word, L, NULL);
    if (!strncmp(word, "lambda=", 7))
        return parse(d, why, Q, word, NULL);
    return parse(d, why, Q, L, word, NULL);
}

static void refuse(const char *word, const char *want_why)
{
    dsf_doser_conf_t d;
    const char *why = NULL;
    apr_status_t rv = parse_one(&d, &why, word);
    if (!ok(rv == DSF_ECONFIG && why && !strcmp(why, want_why), "refused: %s", word))
        printf("#   got:      '%s'\n#   expected: '%s'\n", why ? why : "(null)", want_why);
}

static void accept_one(const char *word, const char *name)
{
    dsf_doser_conf_t d;
    const char *why = NULL;
    apr_status_t rv = parse_one(&d, &why, word);
    if (!ok(rv == APR_SUCCESS, "accepted: %s (%s)", word, name))
        printf("#   why: %s\n", why ? why : "(null)");
}

static void test_defaults(void)
{
    dsf_doser_conf_t d;
    const char *why = "x";

    is_int(parse(&d, &why, Q, L, NULL), APR_SUCCESS, "queue and lambda alone suffice");
    ok(why == NULL, "no message on success");
    is_str(d.name, "orders", "name kept");
    is_str(d.queue_url, "https://sqs.eu-west-1.amazonaws.com/123456789012/orders", "queue kept");
    is_str(d.lambda, "receptor", "lambda kept");
    is_int(d.per_minute, 60, "perMinute defaults to 60");
    is_int(d.per_invocation, 5, "perInvocation defaults to 5");
    is_int(d.window, apr_time_from_sec(60), "window defaults to 60s");
    is_int(d.visibility, apr_time_from_sec(300), "visibility defaults to 300s");
    is_int(d.payload, DSF_PAYLOAD_ARRAY, "payload defaults to array");
    is_int(d.max_payload, 262144, "maxPayload defaults to 256 KiB");
    is_int(d.parallel, 60, "parallel defaults to perMinute when under 64");

    parse(&d, &why, Q, L, "perMinute=1000", NULL);
    is_int(d.parallel, 64, "parallel defaults to 64 when perMinute is larger");
    parse(&d, &why, Q, L, "perMinute=3", NULL);
    is_int(d.parallel, 3, "parallel defaults to a small perMinute");
    parse(&d, &why, Q, L, "parallel=200", "perMinute=3", NULL);
    is_int(d.parallel, 200, "explicit parallel kept whatever perMinute is");
}

static void test_values(void)
{
    dsf_doser_conf_t d;
    const char *why;

    is_int(parse(&d, &why, L, "perMinute=100000", "perInvocation=10000", "window=500ms",
                 "visibility=12h", "payload=records", "maxPayload=1024k", "parallel=1000", Q,
                 NULL), APR_SUCCESS, "every key at its maximum, in any order");
    is_int(d.per_minute, 100000, "perMinute max");
    is_int(d.per_invocation, 10000, "perInvocation max");
    is_int(d.window, 500000, "window in ms");
    is_int(d.visibility, apr_time_from_sec(43200), "visibility 12h");
    is_int(d.payload, DSF_PAYLOAD_RECORDS, "payload records");
    is_int(d.max_payload, 1048576, "maxPayload 1024k = 1 MiB");
    is_int(d.parallel, 1000, "parallel max");

    is_int(parse(&d, &why, Q, L, "perMinute=1", "perInvocation=1", "window=100ms",
                 "visibility=1", "maxPayload=1", "parallel=1", NULL), APR_SUCCESS,
           "every key at its minimum");
    is_int(d.window, 100000, "window 100ms");
    is_int(d.visibility, apr_time_from_sec(1), "visibility as bare seconds");
    is_int(d.max_payload, 1, "maxPayload 1 byte");
    parse(&d, &why, Q, L, "maxPayload=200K", "visibility=5m", "window=2m", NULL);
    is_int(d.max_payload, 204800, "maxPayload 200K = 204800");
    is_int(d.visibility, apr_time_from_sec(300), "visibility 5m");
    is_int(d.window, apr_time_from_sec(120), "window 2m");
    parse(&d, &why, Q, L, "maxPayload=1048576", NULL);
    is_int(d.max_payload, 1048576, "maxPayload in bytes");
}

static void test_words(void)
{
    dsf_doser_conf_t d;
    const char *why;

    is_int(parse(&d, &why, Q, L, "perMinute", NULL), DSF_ECONFIG, "word without '='");
    is_str(why, "expected key=value, got 'perMinute'", "... says so");
    parse(&d, &why, Q, L, "=5", NULL);
    is_str(why, "expected key=value, got '=5'", "empty key");
    parse(&d, &why, Q, L, "perMinit=5", NULL);
    is_str(why, "unknown key 'perMinit' (known: queue, lambda, perMinute, perInvocation, "
                "window, visibility, payload, maxPayload, parallel)", "unknown key lists the known");
    parse(&d, &why, Q, L, "perminute=5", NULL);
    is_str(why, "unknown key 'perminute' (keys are case-sensitive: did you mean 'perMinute'?)",
           "wrong case is unknown, with a hint");
    parse(&d, &why, Q, L, "perMinute=5", "perMinute=6", NULL);
    is_str(why, "duplicate key 'perMinute' (in 'perMinute=6')", "duplicate key");
    parse(&d, &why, Q, L, Q, NULL);
    ok(why && !strncmp(why, "duplicate key 'queue'", 21), "duplicate queue: %s", why);
    is_int(parse(&d, &why, L, "perMinute=5", NULL), DSF_ECONFIG, "missing queue");
    is_str(why, "missing queue=URL (the SQS queue to fill and drain)", "... says so");
    is_int(parse(&d, &why, Q, NULL), DSF_ECONFIG, "missing lambda");
    is_str(why, "missing lambda=FUNCTION (the receptor to invoke)", "... says so");
    is_int(parse(&d, &why, NULL), DSF_ECONFIG, "no words at all");
    ok(why && strstr(why, "missing queue"), "... missing queue first");
}

static void test_numbers(void)
{
    refuse("perMinute=0", "perMinute: must be an integer between 1 and 100000, got '0'");
    refuse("perMinute=100001", "perMinute: must be an integer between 1 and 100000, got '100001'");
    refuse("perMinute=-5", "perMinute: must be an integer between 1 and 100000, got '-5'");
    refuse("perMinute=5x", "perMinute: must be an integer between 1 and 100000, got '5x'");
    refuse("perMinute= 5", "perMinute: must be an integer between 1 and 100000, got ' 5'");
    refuse("perMinute=", "perMinute: must be an integer between 1 and 100000, got ''");
    refuse("perMinute=99999999999999999999999",
           "perMinute: must be an integer between 1 and 100000, got '99999999999999999999999'");
    refuse("perInvocation=0", "perInvocation: must be an integer between 1 and 10000, got '0'");
    refuse("perInvocation=10001", "perInvocation: must be an integer between 1 and 10000, got '10001'");
    refuse("parallel=0", "parallel: must be an integer between 1 and 1000, got '0'");
    refuse("parallel=1001", "parallel: must be an integer between 1 and 1000, got '1001'");
    refuse("parallel=1.5", "parallel: must be an integer between 1 and 1000, got '1.5'");
}

static void test_durations(void)
{
    const char *wmsg = "window: must be a duration between 100ms and 24h (e.g. 60s, 500ms, 5m), got '";
    const char *vmsg = "visibility: must be a whole number of seconds between 1s and 12h "
                       "(e.g. 300s, 5m), got '";
    const char *bad_w[] = { "99ms", "0", "25h", "60x", "-1s", "", "1.5s", "s" };
    const char *bad_v[] = { "0", "1500ms", "43201", "13h", "999ms", "5 m", "" };
    apr_size_t i;

    for (i = 0; i < sizeof(bad_w) / sizeof(bad_w[0]); i++)
        refuse(apr_pstrcat(pool, "window=", bad_w[i], NULL), apr_pstrcat(pool, wmsg, bad_w[i], "'", NULL));
    for (i = 0; i < sizeof(bad_v) / sizeof(bad_v[0]); i++)
        refuse(apr_pstrcat(pool, "visibility=", bad_v[i], NULL), apr_pstrcat(pool, vmsg, bad_v[i], "'", NULL));
    accept_one("window=24h", "the longest window");
    accept_one("visibility=2000ms", "whole seconds written in ms");
}

static void test_payload(void)
{
    const char *mmsg = "maxPayload: must be a number of bytes between 1 and 1048576 "
                       "(or KiB with a k suffix, up to 1024k), got '";
    const char *bad_m[] = { "0", "1048577", "1025k", "0k", "k", "256KB", "1m", "-1", "" };
    apr_size_t i;

    refuse("payload=Array", "payload: must be 'array' or 'records', got 'Array'");
    refuse("payload=", "payload: must be 'array' or 'records', got ''");
    for (i = 0; i < sizeof(bad_m) / sizeof(bad_m[0]); i++)
        refuse(apr_pstrcat(pool, "maxPayload=", bad_m[i], NULL), apr_pstrcat(pool, mmsg, bad_m[i], "'", NULL));
}

static void test_queue(void)
{
    const char *form = "queue: must be an http(s) URL of the form https://HOST/ACCOUNT/QUEUE";
    dsf_doser_conf_t d;
    const char *why;

    accept_one("queue=http://sqs.us-east-1.localhost:4566/000000000000/q", "fauxqs");
    accept_one("queue=https://sqs.us-east-1.amazonaws.com/123456789012/jobs.fifo", "FIFO queue");
    accept_one("queue=HTTPS://sqs.us-east-1.amazonaws.com/123456789012/a_b-c", "scheme in capitals");
    is_int(parse(&d, &why, "queue=https://h/1/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", L, NULL), APR_SUCCESS,
           "80-character queue name");

    refuse("queue=sqs.us-east-1.amazonaws.com/1/q",
           apr_psprintf(pool, "%s, got 'sqs.us-east-1.amazonaws.com/1/q'", form));
    refuse("queue=ftp://h/1/q", apr_psprintf(pool, "%s, got 'ftp://h/1/q'", form));
    refuse("queue=", apr_psprintf(pool, "%s, got ''", form));
    refuse("queue=https:///1/q", apr_psprintf(pool, "%s (no host), got 'https:///1/q'", form));
    refuse("queue=https://h/q",
           apr_psprintf(pool, "%s (path must be /ACCOUNT/QUEUE), got 'https://h/q'", form));
    refuse("queue=https://h//q",
           apr_psprintf(pool, "%s (path must be /ACCOUNT/QUEUE), got 'https://h//q'", form));
    refuse("queue=https://h",
           apr_psprintf(pool, "%s (path must be /ACCOUNT/QUEUE), got 'https://h'", form));
    refuse("queue=https://u:p@h/1/q", "queue: must not carry user:password@, got 'https://u:p@h/1/q'");
    refuse("queue=https://h/1/q?x=1", "queue: must not have a ?query or #fragment, got 'https://h/1/q?x=1'");
    refuse("queue=https://h/1/q#f", "queue: must not have a ?query or #fragment, got 'https://h/1/q#f'");
    refuse("queue=https://h/1/q/extra", "queue: the queue name must be 1 to 80 letters, digits, '-' "
           "or '_' (FIFO: ending in .fifo), got 'https://h/1/q/extra'");
    refuse("queue=https://h/1/", "queue: the queue name must be 1 to 80 letters, digits, '-' "
           "or '_' (FIFO: ending in .fifo), got 'https://h/1/'");
    refuse("queue=https://h/1/.fifo", "queue: the queue name must be 1 to 80 letters, digits, '-' "
           "or '_' (FIFO: ending in .fifo), got 'https://h/1/.fifo'");
    refuse("queue=https://h/1/a.b", "queue: the queue name must be 1 to 80 letters, digits, '-' "
           "or '_' (FIFO: ending in .fifo), got 'https://h/1/a.b'");
    refuse("queue=https://h/1/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
           "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
           "queue: the queue name must be 1 to 80 letters, digits, '-' or '_' (FIFO: ending in "
           ".fifo), got 'https://h/1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'");
}

static void test_lambda(void)
{
    const char *form = "lambda: must be a function NAME, ACCOUNT:function:NAME or "
                       "arn:aws:lambda:REGION:ACCOUNT:function:NAME, each with an optional "
                       ":QUALIFIER, got '";
    const char *good[] = {
        "f", "my-Function_1", "receptor:$LATEST", "receptor:7", "receptor:live",
        "123456789012:function:receptor", "123456789012:function:receptor:prod",
        "arn:aws:lambda:us-east-1:123456789012:function:receptor",
        "arn:aws:lambda:us-east-1:123456789012:function:receptor:$LATEST",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:receptor:3",
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:r",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",   /* 64 */
    };
    const char *bad_name = "lambda: the function name must be 1 to 64 letters, digits, '-' or '_', got '";
    const char *bad_qual = "lambda: the qualifier must be $LATEST, a version number or an alias name, got '";
    const char *bad_acct = "lambda: the account must be 12 digits, got '";
    struct { const char *v, *fmt; } bad[] = {
        { "", bad_name },
        { "my.function", bad_name },
        { "my function", bad_name },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", bad_name },   /* 65 */
        { "receptor:", bad_qual },
        { "receptor:$latest", bad_qual },
        { "receptor:a.b", bad_qual },
        { "12345:function:receptor", bad_acct },
        { "123456789012:function:", bad_name },
        { "123456789012:function:r:q:x", form },
        { "123456789012:func:receptor", form },
        { "a:b:c", form },
        { "arn:aws:lambda:us-east-1:123456789012:function", form },
        { "arn:aws:sqs:us-east-1:123456789012:function:r", form },
        { "arn:gcp:lambda:us-east-1:123456789012:function:r", form },
        { "arn:aws:lambda:us-east-1:123456789012:layer:r", form },
        { "arn:aws:lambda:us-east-1:123456789012:function:r:1:2", form },
        { "arn:aws:lambda:us-east-1:123456789012:function:r:1:2:3:4", form },
        { "arn:aws:lambda::123456789012:function:r", "lambda: the region in the ARN must be like us-east-1, got '" },
        { "arn:aws:lambda:US_EAST:123456789012:function:r", "lambda: the region in the ARN must be like us-east-1, got '" },
        { "arn:aws:lambda:us-east-1:1234:function:r", bad_acct },
        { "arn:aws:lambda:us-east-1:123456789012:function:r:", bad_qual },
        { "arn:aws:lambda:us-east-1:123456789012:function:bad/name", bad_name },
        { "arn:aws_cn:lambda:us-east-1:123456789012:function:r",
          "lambda: unknown partition 'aws_cn' in the ARN, got '" },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        accept_one(apr_pstrcat(pool, "lambda=", good[i], NULL), "lambda form");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dsf_doser_conf_t d;
        const char *why = NULL, *want = apr_pstrcat(pool, bad[i].fmt, bad[i].v, "'", NULL);
        apr_status_t rv = parse(&d, &why, Q, apr_pstrcat(pool, "lambda=", bad[i].v, NULL), NULL);
        if (!ok(rv == DSF_ECONFIG && why && !strcmp(why, want), "refused: lambda=%s", bad[i].v))
            printf("#   got:      '%s'\n#   expected: '%s'\n", why ? why : "(null)", want);
    }
}

static void test_region(void)
{
    struct { const char *url, *region; } rows[] = {
        { "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "eu-west-1" },
        { "https://us-east-2.queue.amazonaws.com/123456789012/q", "us-east-2" },
        { "http://sqs.us-east-1.localhost:4566/000000000000/q", "us-east-1" },
        { "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1" },
        { "https://SQS.AP-SOUTHEAST-2.AMAZONAWS.COM/1/q", "ap-southeast-2" },
        { "https://queue.amazonaws.com/123456789012/q", NULL },
        { "https://sqs.amazonaws.com/1/q", NULL },
        { "https://sqs..amazonaws.com/1/q", NULL },
        { "https://sqs.us-east-1.example.com/1/q", NULL },
        { "https://sqs.us-east-1.amazonaws.com.evil.example/1/q", NULL },
        { "https://sqs.a.b.amazonaws.com/1/q", NULL },
        { "http://127.0.0.1:9324/000000000000/q", NULL },
        { "not a url", NULL },
    };
    apr_size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        is_str(dsf_conf_region_from_queue_url(pool, rows[i].url), rows[i].region, rows[i].url);
    ok(dsf_conf_region_from_queue_url(pool, NULL) == NULL, "NULL URL gives NULL");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    test_defaults();
    test_values();
    test_words();
    test_numbers();
    test_durations();
    test_payload();
    test_queue();
    test_lambda();
    test_region();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
