/* The status page: what the dosers are doing, as HTML for people, JSON for
 * scripts and Prometheus text exposition 0.0.4 for monitoring. It knows
 * nothing of httpd: the glue hands it the configuration, the shared slots and
 * the credential source, and sends back the body it renders. */
#ifndef DSF_STATUS_H
#define DSF_STATUS_H

#include "dsf.h"
#include "dsf_conf.h"
#include "dsf_stats.h"

/* One doser as the page shows it. Every string may be NULL (shown as empty). */
typedef struct {
    const dsf_doser_conf_t *conf;     /* required: name, queue, receptor, quota */
    const dsf_slot_t *slot;           /* NULL: no shared state, counters shown as 0 */
    const char *region;
    const char *sqs_endpoint, *lambda_endpoint;  /* user:password@ is never shown */
} dsf_status_doser_t;

typedef enum {
    DSF_STATUS_HTML = 0,   /* text/html; charset=utf-8 */
    DSF_STATUS_JSON,       /* application/json */
    DSF_STATUS_METRICS     /* text/plain; version=0.0.4; charset=utf-8 */
} dsf_status_format_e;

#define DSF_STATUS_TICKS_SHOWN 20                     /* rows of "last ticks" */
#define DSF_STATUS_CHART_SPAN  apr_time_from_sec(3600) /* the chart's time axis */
#define DSF_STATUS_STR_MAX     512   /* configured strings are cut to this many bytes */
#define DSF_STATUS_MAX_BODY    (8 * 1024 * 1024)  /* hard cap: DSF_ETOOBIG beyond */

/* Picks the format. A query parameter wins ("json" or "metrics", as in
 * "?json", "?metrics", "?a=b&json=1"); then the Accept header by quality:
 * application/json gives JSON, text/plain (version absent or 0.0.4, as
 * Prometheus asks) gives metrics, text/html and wildcards give HTML. Ties go
 * to the range listed first. Either may be NULL; the default is HTML. */
dsf_status_format_e dsf_status_negotiate(const char *query, const char *accept);

/* Renders n dosers (at most DSF_MAX_DOSERS; more are left out) as format f
 * into *body (*len bytes, NUL-terminated), allocated from p, with the
 * Content-Type to send in *content_type. creds_source is the credential
 * source's description (dsf_creds_source()), never a secret. now is the
 * clock that ages are measured against. Counters are read without locks:
 * each is exact, the set is a snapshot taken doser by doser.
 * APR_EINVAL on a NULL conf, DSF_ETOOBIG past DSF_STATUS_MAX_BODY. */
apr_status_t dsf_status_render(apr_pool_t *p, dsf_status_format_e f,
                               const dsf_status_doser_t *dosers, int n,
                               const char *creds_source, apr_time_t now,
                               const char **body, apr_size_t *len,
                               const char **content_type);

#endif
