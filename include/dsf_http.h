/* The one place that talks to libcurl. */
#ifndef DSF_HTTP_H
#define DSF_HTTP_H

#include "dsf.h"

typedef struct dsf_http_t dsf_http_t;

typedef struct {
    apr_interval_time_t connect_timeout;  /* default 2 s */
    apr_interval_time_t timeout;          /* whole request, default 10 s */
    apr_size_t max_response;              /* larger bodies are an error, default 1 MiB */
    int verify_tls;                       /* default 1; 0 only by explicit directive */
    const char *ca_file;                  /* optional */
    int no_proxy;                         /* ignore http_proxy & co (metadata calls) */
} dsf_http_opts_t;

typedef struct dsf_http_req_t {
    /* in */
    const char *method;                   /* "GET", "PUT", "POST" */
    const char *url;
    apr_array_header_t *headers;          /* of dsf_header_t; may be NULL */
    const char *body;
    apr_size_t body_len;
    apr_interval_time_t timeout;          /* 0: the client's default */
    void *baton;                          /* caller's */
    /* out */
    apr_status_t rv;        /* APR_SUCCESS when a response arrived (any status);
                               DSF_EUNAVAIL on refusal, reset or timeout;
                               DSF_EPARSE when the body is over max_response */
    int status;             /* HTTP status, 0 when none */
    char *resp_body;        /* NUL-terminated, allocated from the perform pool */
    apr_size_t resp_len;
    apr_table_t *resp_headers;
    const char *error;      /* curl's reason when rv != APR_SUCCESS */
} dsf_http_req_t;

/* Global init/cleanup, once per process tree (parent's post_config). */
apr_status_t dsf_http_global_init(void);

/* A client keeps connections alive between calls. One thread at a time. */
apr_status_t dsf_http_create(dsf_http_t **ph, apr_pool_t *p, const dsf_http_opts_t *opts);
void dsf_http_opts_default(dsf_http_opts_t *opts);

/* Runs reqs in parallel, at most max_parallel at once (<=0: all), and returns
 * when all are done. Response data is allocated from p. Returns APR_SUCCESS
 * unless the client itself failed; look at each req->rv. */
apr_status_t dsf_http_perform(dsf_http_t *h, apr_pool_t *p,
                              dsf_http_req_t **reqs, int n, int max_parallel);

/* After fork(): forget inherited curl state without closing its sockets
 * (a cleanup would write TLS close-notify into the parent's connections). */
void dsf_http_forget(dsf_http_t *h);

/* Percent-encodes s per RFC 3986 (unreserved kept). */
const char *dsf_http_urlencode(apr_pool_t *p, const char *s);

#endif
