/* Ingest: turns a POSTed body into SQS message bodies, bounded. */
#ifndef DSF_INGEST_H
#define DSF_INGEST_H

#include "dsf.h"

typedef enum {
    DSF_CT_UNSUPPORTED = 0,
    DSF_CT_JSON,       /* application/json (and +json suffixes) */
    DSF_CT_NDJSON      /* application/x-ndjson, application/jsonl */
} dsf_content_type_e;

typedef struct {
    const char *body;   /* compact JSON */
    apr_size_t len;
} dsf_msg_t;

typedef struct {
    apr_size_t max_body;       /* whole request, default 1 MiB */
    apr_size_t max_message;    /* one element, compact, default 256 KiB */
    int max_elements;          /* per request, default 10000 */
} dsf_ingest_limits_t;

void dsf_ingest_limits_default(dsf_ingest_limits_t *lim);

/* Classifies a Content-Type header value (parameters such as charset ignored). */
dsf_content_type_e dsf_ingest_content_type(const char *ct);

/* Parses buf into *msgs (array of dsf_msg_t): an object is one message, an
 * array one message per element, NDJSON one per non-blank line.
 * Errors: DSF_EINPUT (malformed, with line and column in *why; empty body;
 * empty array), DSF_ETOOBIG (an element over max_message, too many elements,
 * nesting too deep). *why is one sentence for the client. */
apr_status_t dsf_ingest_parse(apr_pool_t *p, dsf_content_type_e ct,
                              const char *buf, apr_size_t len,
                              const dsf_ingest_limits_t *lim,
                              apr_array_header_t **msgs, const char **why);

#endif
