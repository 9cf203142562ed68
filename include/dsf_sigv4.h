/* AWS Signature Version 4 on OpenSSL 3 (EVP digests and HMAC). */
#ifndef DSF_SIGV4_H
#define DSF_SIGV4_H

#include "dsf.h"

/* A set of credentials. token is NULL (or "") for long-term keys; expires is
 * 0 when they do not expire. */
typedef struct {
    const char *akid;
    const char *secret;
    const char *token;
    apr_time_t expires;
} dsf_creds_t;

/* Caches the derived signing key per (secret, day, region, service).
 * Zero-initialise; not thread-safe: one per client. */
typedef struct {
    char day[9];
    char region[32];
    char service[32];
    unsigned char secret_hash[32];     /* SHA-256 of the secret, never the secret */
    unsigned char key[32];
    int valid;
} dsf_sigv4_cache_t;

/* Signs a request for AWS (any service but S3: the canonical URI is
 * normalised and encoded twice). Appends to headers: "Host" (when absent,
 * from the URL, with the port when not the scheme's default), "X-Amz-Date",
 * "X-Amz-Security-Token" (when creds->token), and "Authorization".
 * Every header in headers is signed. now is the (skew-corrected) time.
 * cache may be NULL. */
apr_status_t dsf_sigv4_sign(apr_pool_t *p, dsf_sigv4_cache_t *cache,
                            const dsf_creds_t *creds,
                            const char *region, const char *service,
                            apr_time_t now,
                            const char *method, const char *url,
                            apr_array_header_t *headers,
                            const char *body, apr_size_t body_len);

/* Limits: longer input is refused with APR_EINVAL, so every step is bounded. */
#define DSF_SIGV4_MAX_URL      16384   /* bytes of the URL */
#define DSF_SIGV4_MAX_HEADERS  128     /* headers in one request */
#define DSF_SIGV4_MAX_HEADER   16384   /* bytes of one header value */
#define DSF_SIGV4_MAX_SECRET   256     /* bytes of a secret access key */

/* Options of dsf_sigv4_sign_ex. dsf_sigv4_sign uses normalize=1, the rest 0. */
typedef struct {
    int normalize;   /* remove dot and empty path segments (every service but S3) */
    int sign_body;   /* also add and sign x-amz-content-sha256 (S3 style) */
    int omit_session_token;  /* send X-Amz-Security-Token unsigned (IoT style) */
} dsf_sigv4_opts_t;

/* What dsf_sigv4_sign_ex computed, for tests; strings live in p. */
typedef struct {
    const char *canonical_request;
    const char *string_to_sign;
    const char *signed_headers;
    char signature[65];
} dsf_sigv4_trace_t;

/* dsf_sigv4_sign with options (opts NULL: the defaults above) and, when
 * trace is not NULL, the intermediate results. Headers it adds are first
 * removed from headers if present (Authorization, X-Amz-Date,
 * X-Amz-Security-Token, and x-amz-content-sha256 with sign_body), so a
 * retried request can be signed again. Appends, in this order: Host,
 * X-Amz-Security-Token, X-Amz-Date, x-amz-content-sha256, Authorization.
 * Returns APR_EINVAL on a malformed or oversized argument, DSF_ECREDS on
 * missing or malformed credentials, APR_EGENERAL if OpenSSL fails. */
apr_status_t dsf_sigv4_sign_ex(apr_pool_t *p, dsf_sigv4_cache_t *cache,
                               const dsf_creds_t *creds,
                               const char *region, const char *service,
                               apr_time_t now,
                               const char *method, const char *url,
                               apr_array_header_t *headers,
                               const char *body, apr_size_t body_len,
                               const dsf_sigv4_opts_t *opts,
                               dsf_sigv4_trace_t *trace);

/* The steps, exposed for the test suite. */

/* "20150830T123600Z" into out (17 bytes). */
void dsf_sigv4_amz_date(char *out, apr_time_t now);

/* Lowercase hex SHA-256 of data into out (65 bytes). */
apr_status_t dsf_sigv4_sha256_hex(char *out, const void *data, apr_size_t len);

/* path as sent on the wire (percent-encoded once), normalised if asked,
 * then every byte but unreserved ones and '/' encoded again. */
apr_status_t dsf_sigv4_canonical_uri(apr_pool_t *p, const char *path,
                                     int normalize, const char **out);

/* query (without '?', may be NULL) decoded, re-encoded per SigV4, sorted by
 * key then value; "a" and "a=" both give "a=". */
apr_status_t dsf_sigv4_canonical_query(apr_pool_t *p, const char *query,
                                       const char **out);

/* Canonical header block ("name:value\n" each) and the signed header list. */
apr_status_t dsf_sigv4_canonical_headers(apr_pool_t *p,
                                         const apr_array_header_t *headers,
                                         const char **canonical,
                                         const char **signed_headers);

/* "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256 of creq>". */
apr_status_t dsf_sigv4_string_to_sign(apr_pool_t *p, const char *amz_date,
                                      const char *scope,
                                      const char *canonical_request,
                                      const char **out);

/* The signing key for (secret, day "YYYYMMDD", region, service), from
 * cache when it holds that one (cache may be NULL). */
apr_status_t dsf_sigv4_signing_key(dsf_sigv4_cache_t *cache, const char *secret,
                                   const char *day, const char *region,
                                   const char *service, unsigned char key[32]);

/* Lowercase hex HMAC-SHA256(key, string_to_sign) into out (65 bytes). */
apr_status_t dsf_sigv4_signature(char *out, const unsigned char key[32],
                                 const char *string_to_sign);

#endif
