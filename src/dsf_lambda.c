/* Lambda Invoke (REST-JSON): POST /2015-03-31/functions/NAME/invocations. */
#include <apr_strings.h>
#include "dsf_lambda.h"

dsf_aws_call_t *dsf_lambda_invoke_call(dsf_aws_t *a, apr_pool_t *p, const char *function,
                                       const char *payload, apr_size_t len)
{
    dsf_aws_call_t *c = apr_pcalloc(p, sizeof(*c));
    c->service = "lambda";
    c->action = "Invoke";
    c->http.method = "POST";
    c->http.url = apr_pstrcat(p, dsf_aws_conf(a)->lambda_endpoint, "/2015-03-31/functions/",
                              dsf_http_urlencode(p, function), "/invocations", NULL);
    c->http.headers = apr_array_make(p, 6, sizeof(dsf_header_t));
    dsf_header_add(c->http.headers, "Content-Type", "application/json");
    dsf_header_add(c->http.headers, "X-Amz-Invocation-Type", "Event");
    c->http.body = payload;
    c->http.body_len = len;
    return c;
}

int dsf_lambda_accepted(const dsf_aws_call_t *c)
{
    /* Event invocations answer 202 once Lambda's own queue holds the event. */
    return c->rv == APR_SUCCESS && c->http.status == 202;
}
