/* Signed calls to AWS services: signing, sending, classifying AWS errors,
 * and one retry after correcting the clock when AWS says it is skewed. */
#ifndef DSF_AWS_H
#define DSF_AWS_H

#include "dsf.h"
#include "dsf_http.h"
#include "dsf_creds.h"
#include "dsf_stats.h"

typedef struct {
    const char *region;
    const char *sqs_endpoint;      /* base URL without trailing slash */
    const char *lambda_endpoint;
    dsf_creds_provider_t *creds;   /* shared by the process; thread-safe */
    dsf_http_opts_t http;
} dsf_aws_conf_t;

/* A client: one thread at a time (each keeps its own connections). */
typedef struct dsf_aws_t dsf_aws_t;

typedef struct dsf_aws_call_t {
    dsf_http_req_t http;           /* method, url, headers, body filled by the builder */
    const char *service;           /* "sqs" or "lambda": the signing name */
    const char *action;            /* for logs: "SendMessageBatch", "Invoke", ... */
    void *baton;
    dsf_slot_t *slot;              /* when set, SQS calls are counted there */
    int entries;                   /* batch calls: how many entries were sent */
    /* out */
    apr_status_t rv;       /* APR_SUCCESS on 2xx; DSF_EUNAVAIL when no answer came,
                              or AWS throttled (429, 503, *Throttl*) or failed (5xx);
                              DSF_EAWS for other AWS errors; DSF_ECREDS */
    const char *aws_code;  /* AWS's error code ("QueueDoesNotExist"), or NULL */
    const char *aws_message;
} dsf_aws_call_t;

apr_status_t dsf_aws_create(dsf_aws_t **pa, apr_pool_t *p, const dsf_aws_conf_t *conf);
/* A client for conf that borrows an existing HTTP client (and its kept
 * connections) and signing-key cache (may be NULL): cheap enough to make
 * per request. */
dsf_aws_t *dsf_aws_on(apr_pool_t *p, const dsf_aws_conf_t *conf, dsf_http_t *http,
                      dsf_sigv4_cache_t *cache);
const dsf_aws_conf_t *dsf_aws_conf(const dsf_aws_t *a);

/* A new call of the SQS JSON protocol (POST / with X-Amz-Target). */
dsf_aws_call_t *dsf_aws_sqs_call(dsf_aws_t *a, apr_pool_t *p, const char *action,
                                 const char *body, apr_size_t len);

/* Signs and runs calls in parallel (at most max_parallel at once). */
apr_status_t dsf_aws_perform(dsf_aws_t *a, apr_pool_t *p, dsf_aws_call_t **calls, int n,
                             int max_parallel);

/* Reads a finished call's HTTP outcome into rv, aws_code and aws_message
 * (AWS's JSON error shapes, x-amzn-ErrorType); bounded, never trusts the body. */
void dsf_aws_classify(dsf_aws_call_t *c, apr_pool_t *p);

/* For logs: "SendMessageBatch: HTTP 400 QueueDoesNotExist (message)". No secrets. */
const char *dsf_aws_call_describe(const dsf_aws_call_t *c, apr_pool_t *p);

/* After fork(): forget inherited connections. */
void dsf_aws_forget(dsf_aws_t *a);

#endif
