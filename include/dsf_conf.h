/* A doser's configuration: what `Dosificador NAME key=value...` says. */
#ifndef DSF_CONF_H
#define DSF_CONF_H

#include "dsf.h"

typedef enum {
    DSF_PAYLOAD_ARRAY = 0,   /* [obj, obj, ...] */
    DSF_PAYLOAD_RECORDS      /* {"Records":[{messageId, body, ...}]} as an SQS event */
} dsf_payload_e;

typedef struct {
    const char *name;
    const char *queue_url;        /* queue=   (required) */
    const char *lambda;           /* lambda=  name, partial or full ARN, [:qualifier] (required) */
    int per_minute;               /* perMinute= N, default 60 */
    int per_invocation;           /* perInvocation= M, default 5 */
    apr_interval_time_t window;   /* window=  default 60s */
    apr_interval_time_t visibility; /* visibility= default 300s */
    dsf_payload_e payload;        /* payload= array|records */
    apr_size_t max_payload;       /* maxPayload= bytes of one invocation, default 256 KiB */
    int parallel;                 /* parallel= invocations in flight, default min(N, 64) */
} dsf_doser_conf_t;

#define DSF_DEFAULT_PER_MINUTE     60
#define DSF_DEFAULT_PER_INVOCATION 5
#define DSF_DEFAULT_WINDOW         apr_time_from_sec(60)
#define DSF_DEFAULT_VISIBILITY     apr_time_from_sec(300)
#define DSF_DEFAULT_MAX_PAYLOAD    (256 * 1024)
#define DSF_MAX_PARALLEL_DEFAULT   64

/* Parses "key=value" words into d (defaults filled first). On error returns
 * DSF_ECONFIG and *why names the key, the rule and the value, e.g.
 * "perMinute: must be an integer between 1 and 100000, got '0'". Ranges:
 * perMinute 1..100000, perInvocation 1..10000, window 100ms..24h,
 * visibility whole seconds 1s..12h, maxPayload 1..1048576 bytes (or NNNk),
 * parallel 1..1000. Keys are case-sensitive and may appear once. */
apr_status_t dsf_doser_conf_parse(dsf_doser_conf_t *d, apr_pool_t *p, const char *name,
                                  int argc, char *const argv[], const char **why);

/* Region from an SQS queue URL's host (sqs.REGION.amazonaws.com,
 * REGION.queue.amazonaws.com, sqs.REGION.localhost...), or NULL. */
const char *dsf_conf_region_from_queue_url(apr_pool_t *p, const char *url);

#endif
