/* AWS credentials: the SDKs' provider chain, or one named source. */
#ifndef DSF_CREDS_H
#define DSF_CREDS_H

#include "dsf.h"
#include "dsf_sigv4.h"

typedef enum {
    DSF_CREDS_CHAIN = 0,   /* env, file, container, imds: the SDKs' order */
    DSF_CREDS_ENV,
    DSF_CREDS_FILE,
    DSF_CREDS_CONTAINER,
    DSF_CREDS_IMDS,
    DSF_CREDS_STATIC
} dsf_creds_source_e;

typedef struct {
    dsf_creds_source_e source;
    const char *file;      /* DSF_CREDS_FILE: path, NULL for the default */
    const char *profile;   /* DSF_CREDS_FILE: NULL for AWS_PROFILE/default */
    const char *akid;      /* DSF_CREDS_STATIC */
    const char *secret;
    const char *token;
} dsf_creds_conf_t;

typedef struct dsf_creds_provider_t dsf_creds_provider_t;

/* Creates a provider; nothing is fetched yet. Environment variables are read
 * when credentials are resolved, in the process that uses them. */
apr_status_t dsf_creds_provider_create(dsf_creds_provider_t **pcp, apr_pool_t *p,
                                       const dsf_creds_conf_t *conf);

/* Current credentials, copied into p. Temporary ones are refreshed 5 minutes
 * before they expire; concurrent callers do not cause a burst of fetches.
 * Thread-safe. DSF_ECREDS when no source yields any. */
apr_status_t dsf_creds_get(dsf_creds_provider_t *cp, apr_pool_t *p, dsf_creds_t *out);

/* Which source the current credentials came from: "env", "file <path>
 * [profile]", "container", "imds", "static", or "none" (never a secret). */
const char *dsf_creds_source(dsf_creds_provider_t *cp, apr_pool_t *p);

/* For configtest: resolves once; on failure *why says, in one sentence,
 * which sources were tried and why each failed. */
apr_status_t dsf_creds_check(const dsf_creds_conf_t *conf, apr_pool_t *p, const char **why);

/* Parses the arguments of DosificadorCredentials into conf. */
apr_status_t dsf_creds_conf_parse(dsf_creds_conf_t *conf, apr_pool_t *p,
                                  int argc, char *const argv[], const char **why);

#endif
