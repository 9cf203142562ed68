/* Signed AWS calls. Error shapes: the JSON protocols put the code in
 * "__type" ("com.amazonaws.sqs#QueueDoesNotExist") or in x-amzn-ErrorType
 * ("ResourceNotFoundException:http://..."); the message in "message"/"Message". */
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <apr_date.h>
#include "dsf_aws.h"
#include "dsf_json.h"
#include "dsf_sigv4.h"

struct dsf_aws_t {
    dsf_aws_conf_t conf;
    dsf_http_t *http;
    dsf_sigv4_cache_t *sigcache;
    dsf_sigv4_cache_t own_cache;
};

/* Process-wide: the clock offset AWS told us about (its time minus ours). */
static volatile apr_interval_time_t clock_offset;

apr_status_t dsf_aws_create(dsf_aws_t **pa, apr_pool_t *p, const dsf_aws_conf_t *conf)
{
    dsf_aws_t *a = apr_pcalloc(p, sizeof(*a));
    apr_status_t rv;
    a->conf = *conf;
    a->sigcache = &a->own_cache;
    if ((rv = dsf_http_create(&a->http, p, &a->conf.http)) != APR_SUCCESS)
        return rv;
    *pa = a;
    return APR_SUCCESS;
}

dsf_aws_t *dsf_aws_on(apr_pool_t *p, const dsf_aws_conf_t *conf, dsf_http_t *http,
                      dsf_sigv4_cache_t *cache)
{
    dsf_aws_t *a = apr_pcalloc(p, sizeof(*a));
    a->conf = *conf;
    a->http = http;
    a->sigcache = cache ? cache : &a->own_cache;
    return a;
}

const dsf_aws_conf_t *dsf_aws_conf(const dsf_aws_t *a)
{
    return &a->conf;
}

void dsf_aws_forget(dsf_aws_t *a)
{
    dsf_http_forget(a->http);
}

dsf_aws_call_t *dsf_aws_sqs_call(dsf_aws_t *a, apr_pool_t *p, const char *action,
                                 const char *body, apr_size_t len)
{
    dsf_aws_call_t *c = apr_pcalloc(p, sizeof(*c));
    c->service = "sqs";
    c->action = action;
    c->http.method = "POST";
    c->http.url = apr_pstrcat(p, a->conf.sqs_endpoint, "/", NULL);
    c->http.headers = apr_array_make(p, 6, sizeof(dsf_header_t));
    dsf_header_add(c->http.headers, "Content-Type", "application/x-amz-json-1.0");
    dsf_header_add(c->http.headers, "X-Amz-Target", apr_pstrcat(p, "AmazonSQS.", action, NULL));
    c->http.body = body;
    c->http.body_len = len;
    return c;
}

static int is_throttle(const char *code)
{
    return code && (strstr(code, "Throttl") || !strcmp(code, "RequestThrottled")
                    || !strcmp(code, "TooManyRequestsException")
                    || !strcmp(code, "RequestLimitExceeded")
                    || !strcmp(code, "ServiceUnavailable")
                    || !strcmp(code, "KMSThrottlingException"));
}

static int is_skew(const dsf_aws_call_t *c)
{
    if (!c->aws_code)
        return 0;
    if (!strcmp(c->aws_code, "RequestTimeTooSkewed") || !strcmp(c->aws_code, "RequestExpired"))
        return 1;
    return !strcmp(c->aws_code, "InvalidSignatureException") && c->aws_message
        && (strstr(c->aws_message, "Signature expired")
            || strstr(c->aws_message, "Signature not yet current"));
}

void dsf_aws_classify(dsf_aws_call_t *c, apr_pool_t *p)
{
    const dsf_http_req_t *h = &c->http;
    const char *etype;
    c->aws_code = c->aws_message = NULL;

    if (h->rv != APR_SUCCESS) {
        c->rv = h->rv == DSF_EPARSE ? DSF_EPARSE : DSF_EUNAVAIL;
        return;
    }
    if (h->status >= 200 && h->status < 300) {
        c->rv = APR_SUCCESS;
        return;
    }
    if ((etype = apr_table_get(h->resp_headers, "x-amzn-ErrorType"))) {
        const char *colon = strchr(etype, ':');
        c->aws_code = colon ? apr_pstrmemdup(p, etype, colon - etype) : etype;
    }
    if (h->resp_len && h->resp_body[0] == '{') {
        dsf_json_t *j;
        if (dsf_json_parse(&j, p, h->resp_body, h->resp_len, NULL) == APR_SUCCESS) {
            const char *t = dsf_json_get_str(j, "__type");
            if (!t)
                t = dsf_json_get_str(j, "code");
            if (t) {
                const char *hash = strrchr(t, '#');
                c->aws_code = hash ? hash + 1 : t;
            }
            c->aws_message = dsf_json_get_str(j, "message");
            if (!c->aws_message)
                c->aws_message = dsf_json_get_str(j, "Message");
        }
    }
    if (c->aws_message) {
        /* A signature mismatch message quotes the canonical request, which
         * holds the session token: keep only what comes before it. */
        const char *cut = strstr(c->aws_message, "The Canonical String");
        apr_size_t len = cut ? (apr_size_t)(cut - c->aws_message) : strlen(c->aws_message);
        if (len > 200) {
            len = 200;
            /* never inside a UTF-8 character: the message goes into JSON */
            while (len > 0 && ((unsigned char)c->aws_message[len] & 0xC0) == 0x80)
                len--;
        }
        c->aws_message = apr_pstrmemdup(p, c->aws_message, len);
    }
    if (h->status == 429 || h->status >= 500 || is_throttle(c->aws_code))
        c->rv = DSF_EUNAVAIL;
    else
        c->rv = DSF_EAWS;
}

static void count_call(const dsf_aws_call_t *c)
{
    int action;
    if (!c->slot || (action = dsf_stats_sqs_action(c->action)) < 0)
        return;
    dsf_count(&c->slot->sqs_calls[action][c->rv == APR_SUCCESS ? DSF_OUT_OK
                                          : c->rv == DSF_EUNAVAIL ? DSF_OUT_UNAVAILABLE
                                          : DSF_OUT_ERROR], 1);
}

static apr_status_t sign_all(dsf_aws_t *a, apr_pool_t *p, dsf_aws_call_t **calls, int n,
                             int only_skewed)
{
    dsf_creds_t creds;
    apr_status_t rv;
    apr_time_t now = apr_time_now() + clock_offset;
    int i;

    if ((rv = dsf_creds_get(a->conf.creds, p, &creds)) != APR_SUCCESS) {
        for (i = 0; i < n; i++) {
            calls[i]->rv = DSF_ECREDS;
            calls[i]->aws_message = "no AWS credentials available";
        }
        return rv;
    }
    for (i = 0; i < n; i++) {
        dsf_aws_call_t *c = calls[i];
        if (only_skewed && !is_skew(c))
            continue;
        /* The signer replaces a previous signature's headers itself. */
        rv = dsf_sigv4_sign(p, a->sigcache, &creds, a->conf.region, c->service, now,
                            c->http.method, c->http.url, c->http.headers,
                            c->http.body, c->http.body_len);
        if (rv != APR_SUCCESS) {
            c->rv = rv;
            c->aws_message = "could not sign the request";
        }
    }
    return APR_SUCCESS;
}

apr_status_t dsf_aws_perform(dsf_aws_t *a, apr_pool_t *p, dsf_aws_call_t **calls, int n,
                             int max_parallel)
{
    dsf_http_req_t **reqs;
    apr_status_t rv;
    int i, nretry = 0;

    if (n <= 0)
        return APR_SUCCESS;
    reqs = apr_palloc(p, sizeof(*reqs) * n);
    for (i = 0; i < n; i++)
        calls[i]->rv = APR_SUCCESS;
    if ((rv = sign_all(a, p, calls, n, 0)) != APR_SUCCESS)
        return APR_SUCCESS;                       /* each call carries DSF_ECREDS */
    for (i = 0; i < n; i++)
        reqs[i] = &calls[i]->http;
    if ((rv = dsf_http_perform(a->http, p, reqs, n, max_parallel)) != APR_SUCCESS)
        return rv;
    for (i = 0; i < n; i++) {
        dsf_aws_classify(calls[i], p);
        if (is_skew(calls[i])) {
            const char *date = apr_table_get(calls[i]->http.resp_headers, "Date");
            apr_time_t theirs = date ? apr_date_parse_http(date) : 0;
            if (theirs > 0) {
                clock_offset = theirs - apr_time_now();
                reqs[nretry++] = &calls[i]->http;
            }
        }
    }
    if (nretry) {
        dsf_log(DSF_LOG_WARNING, 0, "DSF00101: AWS says our clock is skewed; "
                "correcting by %" APR_TIME_T_FMT " s and retrying %d call(s) once",
                apr_time_sec(clock_offset), nretry);
        sign_all(a, p, calls, n, 1);
        if ((rv = dsf_http_perform(a->http, p, reqs, nretry, max_parallel)) != APR_SUCCESS)
            return rv;
        for (i = 0; i < n; i++)
            if (calls[i]->aws_code && is_skew(calls[i]))
                dsf_aws_classify(calls[i], p);
    }
    for (i = 0; i < n; i++)
        count_call(calls[i]);
    return APR_SUCCESS;
}

const char *dsf_aws_call_describe(const dsf_aws_call_t *c, apr_pool_t *p)
{
    if (c->http.rv != APR_SUCCESS && c->rv != DSF_ECREDS)
        return apr_psprintf(p, "%s: no answer (%s)", c->action,
                            c->http.error ? c->http.error : "transfer failed");
    if (c->rv == DSF_ECREDS)
        return apr_psprintf(p, "%s: no AWS credentials", c->action);
    return apr_psprintf(p, "%s: HTTP %d %s%s%s%s", c->action, c->http.status,
                        c->aws_code ? c->aws_code : "",
                        c->aws_message ? " (" : "",
                        c->aws_message ? c->aws_message : "",
                        c->aws_message ? ")" : "");
}
