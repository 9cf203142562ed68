/* AWS Signature Version 4 on OpenSSL 3 (EVP digests and HMAC). */
#ifndef DSF_SIGV4_H
#define DSF_SIGV4_H

#include "dsf.h"

/* A set of credentials. token is NULL for long-term keys; expires is 0 when
 * they do not expire. */
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

#endif
