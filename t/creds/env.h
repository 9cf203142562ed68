/* Test environment for the credentials provider: no variable the provider
 * reads survives from the caller, IMDS is disabled, no proxy is used. */
#ifndef DSF_T_CREDS_ENV_H
#define DSF_T_CREDS_ENV_H

#include <stdlib.h>

/* The environment of tests must never point at real AWS endpoints, nor
 * through a proxy: wipe every variable the provider reads. */
static void creds_clean_env(void)
{
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_CREDENTIAL_EXPIRATION", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
        "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
        NULL };
    int i;
    for (i = 0; vars[i]; i++)
        unsetenv(vars[i]);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

#endif
