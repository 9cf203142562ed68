/* AWS Lambda: asynchronous (Event) invocations. */
#ifndef DSF_LAMBDA_H
#define DSF_LAMBDA_H

#include "dsf.h"
#include "dsf_aws.h"

/* Builds an Invoke call with X-Amz-Invocation-Type: Event. function is a
 * name, a partial or full ARN, with an optional ":qualifier"; it travels
 * percent-encoded in the path, as the SDKs send it. */
dsf_aws_call_t *dsf_lambda_invoke_call(dsf_aws_t *a, apr_pool_t *p, const char *function,
                                       const char *payload, apr_size_t len);

/* Lambda took the event into its queue (202). */
int dsf_lambda_accepted(const dsf_aws_call_t *c);

#endif
