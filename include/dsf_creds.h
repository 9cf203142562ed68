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
    /* Timing; 0 takes the default. Tests shorten them. */
    apr_interval_time_t refresh_before;  /* refresh this long before Expiration, 5 min */
    apr_interval_time_t retry_interval;  /* at most one refresh attempt per interval
                                            while cached ones are valid or after a
                                            failure, 5 s */
} dsf_creds_conf_t;

#define DSF_CREDS_REFRESH_BEFORE  apr_time_from_sec(300)
#define DSF_CREDS_RETRY_INTERVAL  apr_time_from_sec(5)

typedef struct dsf_creds_provider_t dsf_creds_provider_t;

/* Creates a provider; nothing is fetched yet. Environment variables are read
 * when credentials are resolved, in the process that uses them. The conf is
 * copied. Credentials cached before a fork() are dropped in the child. */
apr_status_t dsf_creds_provider_create(dsf_creds_provider_t **pcp, apr_pool_t *p,
                                       const dsf_creds_conf_t *conf);

/* Current credentials, copied into p. Temporary ones are refreshed 5 minutes
 * before they expire; concurrent callers do not cause a burst of fetches:
 * one caller refreshes, the others use the still-valid cached ones (or wait
 * for that one refresh when none are valid). A failed refresh keeps the
 * cached ones while they are valid. Thread-safe. DSF_ECREDS when no source
 * yields any. */
apr_status_t dsf_creds_get(dsf_creds_provider_t *cp, apr_pool_t *p, dsf_creds_t *out);

/* Which source the current credentials came from: "env", "file <path>
 * [profile]", "container", "imds", "static", or "none" (never a secret). */
const char *dsf_creds_source(dsf_creds_provider_t *cp, apr_pool_t *p);

/* For configtest: resolves once. On failure returns DSF_ECREDS and *why says,
 * in one sentence, which sources were tried and why each failed; on success
 * *why is the source, as dsf_creds_source() gives it. */
apr_status_t dsf_creds_check(const dsf_creds_conf_t *conf, apr_pool_t *p, const char **why);

/* Parses the arguments of DosificadorCredentials (after the directive name):
 * env | file [PATH [PROFILE]] | container | imds | static AKID SECRET [TOKEN]
 * | chain. On error returns DSF_ECONFIG and *why (never quoting a secret). */
apr_status_t dsf_creds_conf_parse(dsf_creds_conf_t *conf, apr_pool_t *p,
                                  int argc, char *const argv[], const char **why);

/* Parses an ISO 8601 UTC timestamp as AWS sends Expiration:
 * YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM). DSF_EPARSE otherwise. */
apr_status_t dsf_creds_time_parse(const char *s, apr_time_t *t);

#endif
