/* Credentials from the container endpoint and IMDSv2, against t/creds/server.js
 * on a loopback port: fetching, caching, refresh before expiry, no burst under
 * concurrency, failures, timeouts, the chain's order. Never a real endpoint:
 * every IMDS call goes to AWS_EC2_METADATA_SERVICE_ENDPOINT=127.0.0.1. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include "tap.h"
#include "dsf_creds.h"
#include "../creds/server.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/dsf-creds-remote-XXXXXX";
static int log_lines, log_leaks;

/* the stand-in's secrets and tokens all carry "-secret-" / "-token-" */
static void log_sink(void *baton, const char *file, int line, int level,
                     apr_status_t rv, const char *msg)
{
    log_lines++;
    if (strstr(msg, "-secret-") || strstr(msg, "-token-") || strstr(msg, "imds-session-")
        || strstr(msg, "test-container-auth"))
        log_leaks++;
    printf("# log %d: %s\n", level, msg);
}

static void use_imds(void)
{
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", srv_url(pool, ""), 1);
}

static dsf_creds_provider_t *provider(dsf_creds_source_e src, apr_interval_time_t before,
                                      apr_interval_time_t retry)
{
    dsf_creds_conf_t conf;
    dsf_creds_provider_t *cp = NULL;
    memset(&conf, 0, sizeof(conf));
    conf.source = src;
    conf.refresh_before = before;
    conf.retry_interval = retry;
    if (dsf_creds_provider_create(&cp, pool, &conf) != APR_SUCCESS)
        return NULL;
    return cp;
}

static const char *akid_of(dsf_creds_provider_t *cp, apr_status_t *prv)
{
    dsf_creds_t c;
    memset(&c, 0, sizeof(c));
    *prv = dsf_creds_get(cp, pool, &c);
    return *prv == APR_SUCCESS ? c.akid : NULL;
}

static void test_imds_fetch(void)
{
    dsf_creds_provider_t *cp;
    dsf_creds_t c;
    dsf_http_req_t *req;
    apr_status_t rv;

    creds_clean_env();
    srv_reset(pool);
    use_imds();
    cp = provider(DSF_CREDS_IMDS, 0, 0);
    memset(&c, 0, sizeof(c));
    rv = dsf_creds_get(cp, pool, &c);
    is_int(rv, APR_SUCCESS, "imds: credentials fetched");
    ok(c.akid && !strncmp(c.akid, "ASIAIMDS", 8), "imds: key id from the role (%s)", c.akid ? c.akid : "");
    ok(c.secret && strstr(c.secret, "imds-secret-"), "imds: secret");
    ok(c.token && strstr(c.token, "imds-token-"), "imds: session token");
    is_int(c.expires, srv_last_expiry(pool), "imds: Expiration parsed to the second");
    is_str(dsf_creds_source(cp, pool), "imds", "imds: source says imds");
    ok(srv_count(pool, "tokenPut") == 1 && srv_count(pool, "roleList") == 1
       && srv_count(pool, "imdsCreds") == 1 && srv_count(pool, "unauthorized") == 0,
       "imds: one token PUT, one role listing, one credentials GET, none refused");

    /* the stand-in is strict: without the session token, 401 (so the above used it) */
    req = srv_call(pool, "GET", "/latest/meta-data/iam/security-credentials/", NULL);
    is_int(req->status, 401, "imds rig: a GET without the session token is refused");

    rv = dsf_creds_get(cp, pool, &c);
    ok(rv == APR_SUCCESS && srv_count(pool, "imdsCreds") == 1,
       "imds: an hour-long credential is served from the cache");

    srv_set(pool, "{\"fractional\":true}");
    cp = provider(DSF_CREDS_IMDS, 0, 0);
    rv = dsf_creds_get(cp, pool, &c);
    ok(rv == APR_SUCCESS && c.expires == srv_last_expiry(pool),
       "imds: Expiration with milliseconds parsed");

    srv_set(pool, "{\"role\":\"\"}");
    cp = provider(DSF_CREDS_IMDS, 0, 0);
    {
        dsf_creds_conf_t conf = { .source = DSF_CREDS_IMDS };
        const char *why = NULL;
        rv = dsf_creds_check(&conf, pool, &why);
        ok(rv == DSF_ECREDS && why && strstr(why, "malformed role name"),
           "imds: an instance without a role fails, saying so: %s", why ? why : "");
    }
}

static void test_refresh(void)
{
    dsf_creds_provider_t *cp;
    const char *k1, *k2, *k3;
    apr_status_t rv;

    creds_clean_env();
    srv_reset(pool);
    use_imds();

    /* credentials expiring in 30 s are within the 5-minute window: refreshed
     * at the next call past the retry interval (0.3 s here), not before */
    srv_set(pool, "{\"expiresIn\":30}");
    cp = provider(DSF_CREDS_IMDS, 0, apr_time_from_msec(300));
    k1 = akid_of(cp, &rv);
    k2 = akid_of(cp, &rv);
    ok(k1 && k2 && !strcmp(k1, k2) && srv_count(pool, "imdsCreds") == 1,
       "refresh: within the retry interval the cached ones are used");
    apr_sleep(apr_time_from_msec(350));
    k3 = akid_of(cp, &rv);
    ok(k3 && strcmp(k1, k3) && srv_count(pool, "imdsCreds") == 2,
       "refresh: 5 minutes before Expiration new keys are fetched (%s -> %s)", k1, k3 ? k3 : "-");

    /* expiry itself: with a 1 ms window, the keys live until they expire */
    srv_set(pool, "{\"expiresIn\":1}");
    cp = provider(DSF_CREDS_IMDS, 1000, 0);
    k1 = akid_of(cp, &rv);
    k2 = akid_of(cp, &rv);
    ok(k1 && k2 && !strcmp(k1, k2) && srv_count(pool, "imdsCreds") == 3,
       "expiry: still valid, not fetched again");
    apr_sleep(apr_time_from_msec(1100));
    k3 = akid_of(cp, &rv);
    ok(k3 && strcmp(k1, k3) && srv_count(pool, "imdsCreds") == 4,
       "expiry: once expired, the next call fetches new keys");

    /* a failed refresh keeps the still-valid ones, and is not retried at once */
    srv_set(pool, "{\"expiresIn\":2}");
    cp = provider(DSF_CREDS_IMDS, 0, apr_time_from_msec(300));
    k1 = akid_of(cp, &rv);
    srv_set(pool, "{\"imdsStatus\":500}");
    apr_sleep(apr_time_from_msec(350));
    k2 = akid_of(cp, &rv);
    ok(rv == APR_SUCCESS && k1 && k2 && !strcmp(k1, k2) && srv_count(pool, "imdsCreds") == 6,
       "refresh failure: the cached keys are kept while valid");
    k2 = akid_of(cp, &rv);
    ok(rv == APR_SUCCESS && srv_count(pool, "imdsCreds") == 6,
       "refresh failure: no new attempt within the retry interval");
    apr_sleep(apr_time_from_msec(1700));
    k2 = akid_of(cp, &rv);
    is_int(rv, DSF_ECREDS, "refresh failure: once they expire, DSF_ECREDS");
    is_str(dsf_creds_source(cp, pool), "none", "refresh failure: source none once expired");
    {
        long long before = srv_count(pool, "imdsCreds");
        k2 = akid_of(cp, &rv);
        ok(rv == DSF_ECREDS && srv_count(pool, "imdsCreds") == before,
           "refresh failure: callers do not hammer a failing endpoint");
    }
}

typedef struct {
    dsf_creds_provider_t *cp;
    apr_status_t rv;
    char akid[64];
    apr_interval_time_t took;
} worker_t;

static void *APR_THREAD_FUNC worker(apr_thread_t *t, void *data)
{
    worker_t *w = data;
    apr_pool_t *p;
    dsf_creds_t c;
    apr_time_t t0 = apr_time_now();

    apr_pool_create_unmanaged_ex(&p, NULL, NULL);   /* one pool per thread */
    w->rv = dsf_creds_get(w->cp, p, &c);
    w->took = apr_time_now() - t0;
    if (w->rv == APR_SUCCESS)
        apr_cpystrn(w->akid, c.akid, sizeof(w->akid));
    apr_pool_destroy(p);
    return NULL;   /* not apr_thread_exit(): pthread_exit trips ASan's thread teardown */
}

/* n threads call dsf_creds_get at once; returns how many got `akid` */
static int run_threads(dsf_creds_provider_t *cp, worker_t *w, int n)
{
    apr_thread_t *th[16];
    apr_status_t trv;
    int i;
    for (i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].cp = cp;
        apr_thread_create(&th[i], NULL, worker, &w[i], pool);
    }
    for (i = 0; i < n; i++)
        apr_thread_join(&trv, th[i]);
    return n;
}

static void test_concurrency(void)
{
    dsf_creds_provider_t *cp;
    worker_t w[8];
    int i, good = 0, old = 0, fast = 0;
    const char *k1;
    apr_status_t rv;

    creds_clean_env();
    srv_reset(pool);
    use_imds();

    /* nothing cached: one fetch (slowed to 300 ms), the others wait for it */
    srv_set(pool, "{\"delayMs\":300}");
    cp = provider(DSF_CREDS_IMDS, 0, 0);
    run_threads(cp, w, 8);
    for (i = 0; i < 8; i++)
        good += w[i].rv == APR_SUCCESS && !strcmp(w[i].akid, w[0].akid);
    is_int(good, 8, "concurrency: 8 threads all get the same credentials");
    is_int(srv_count(pool, "imdsCreds"), 1, "concurrency: 8 callers, empty cache: one fetch");

    /* stale but valid: one thread refreshes, the others use the cached ones now */
    srv_set(pool, "{\"delayMs\":0,\"expiresIn\":60}");
    cp = provider(DSF_CREDS_IMDS, 0, apr_time_from_msec(100));
    k1 = akid_of(cp, &rv);
    apr_sleep(apr_time_from_msec(150));
    srv_set(pool, "{\"delayMs\":500}");
    run_threads(cp, w, 8);
    good = 0;
    for (i = 0; i < 8; i++) {
        good += w[i].rv == APR_SUCCESS;
        if (k1 && !strcmp(w[i].akid, k1)) {
            old++;
            fast += w[i].took < apr_time_from_msec(250);
        }
    }
    is_int(good, 8, "concurrency: during a refresh every caller gets credentials");
    is_int(srv_count(pool, "imdsCreds"), 3, "concurrency: 8 callers, stale cache: one refresh");
    ok(old == 7 && fast == 7, "concurrency: the 7 others got the cached keys without waiting"
       " (%d cached, %d fast)", old, fast);
}

static void test_container(void)
{
    dsf_creds_provider_t *cp;
    dsf_creds_conf_t conf = { .source = DSF_CREDS_CONTAINER };
    dsf_creds_t c;
    const char *why = NULL, *tokfile;
    apr_status_t rv;
    FILE *f;

    creds_clean_env();
    srv_reset(pool);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv_url(pool, "/container/creds"), 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "test-container-auth", 1);
    cp = provider(DSF_CREDS_CONTAINER, 0, 0);
    memset(&c, 0, sizeof(c));
    rv = dsf_creds_get(cp, pool, &c);
    ok(rv == APR_SUCCESS && c.akid && !strncmp(c.akid, "ASIACONT", 8) && c.token
       && c.expires == srv_last_expiry(pool), "container: credentials with the Authorization token");
    is_str(dsf_creds_source(cp, pool), "container", "container: source says container");

    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == DSF_ECREDS && why && strstr(why, "HTTP 401") && srv_count(pool, "unauthorized") == 1,
       "container: a wrong token is refused: %s", why ? why : "");
    ok(why && !strstr(why, "/container/creds"), "container: the why names the endpoint, not its path");

    /* the token file wins over the variable, and is read at each fetch */
    tokfile = apr_pstrcat(pool, tmpdir, "/token", NULL);
    f = fopen(tokfile, "w");
    fputs("test-container-auth\n", f);
    fclose(f);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokfile, 1);
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == APR_SUCCESS, "container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE read, newline trimmed");
    f = fopen(tokfile, "w");
    fputs("test-container-auth\r\nX-Injected: 1\n", f);
    fclose(f);
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == DSF_ECREDS && why && strstr(why, "line break"), "container: a token with a line break is refused");
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "test-container-auth", 1);

    /* plain http only to loopback: 0.0.0.0 reaches this host but is no loopback
     * address, so a connection here would show in the server's count */
    {
        long long conns = srv_count(pool, "connections");
        setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
               apr_psprintf(pool, "http://0.0.0.0:%d/container/creds", srv_port), 1);
        rv = dsf_creds_check(&conf, pool, &why);
        ok(rv == DSF_ECREDS && why && strstr(why, "only https or a loopback host"),
           "container: plain http to a non-loopback host refused: %s", why ? why : "");
        is_int(srv_count(pool, "connections"), conns, "container: ... without connecting");
    }
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI",
           apr_psprintf(pool, "http://[::1]:%d/container/creds", srv_port), 1);
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == DSF_ECREDS && why && strstr(why, "container http://[::1]:") && strstr(why, "no answer"),
       "container: [::1] is loopback and allowed (nothing listens there): %s", why ? why : "");

    srv_set(pool, "{\"containerStatus\":503}");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv_url(pool, "/container/creds"), 1);
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == DSF_ECREDS && why && strstr(why, "HTTP 503"), "container: an error status is reported");
}

static void test_disabled_and_timeouts(void)
{
    dsf_creds_conf_t conf;
    const char *why = NULL;
    apr_status_t rv;
    apr_time_t t0;
    apr_interval_time_t took;

    creds_clean_env();
    srv_reset(pool);
    use_imds();
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    memset(&conf, 0, sizeof(conf));
    conf.source = DSF_CREDS_IMDS;
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == DSF_ECREDS && why && strstr(why, "disabled by AWS_EC2_METADATA_DISABLED"),
       "imds disabled: named source fails, saying why");
    conf.source = DSF_CREDS_CHAIN;
    rv = dsf_creds_check(&conf, pool, &why);
    is_int(rv, DSF_ECREDS, "imds disabled: the chain finds nothing");
    ok(srv_count(pool, "connections") == 0 && srv_count(pool, "requests") == 0,
       "imds disabled: no connection attempted");

    /* a metadata service that accepts and never answers: give up in ~2 s */
    unsetenv("AWS_EC2_METADATA_DISABLED");
    srv_set(pool, "{\"hangToken\":true}");
    conf.source = DSF_CREDS_IMDS;
    t0 = apr_time_now();
    rv = dsf_creds_check(&conf, pool, &why);
    took = apr_time_now() - t0;
    ok(rv == DSF_ECREDS && took >= apr_time_from_msec(1500) && took < apr_time_from_msec(3500),
       "imds: a hung endpoint fails within the 2 s timeout (%lld ms)", (long long)apr_time_as_msec(took));
    ok(why && strstr(why, "no answer"), "imds: hung endpoint reported: %s", why ? why : "");
}

static void test_chain_order(void)
{
    dsf_creds_conf_t conf;
    const char *why = NULL, *path;
    apr_status_t rv;
    FILE *f;

    creds_clean_env();
    srv_reset(pool);
    use_imds();
    path = apr_pstrcat(pool, tmpdir, "/credentials", NULL);
    f = fopen(path, "w");
    fputs("[default]\naws_access_key_id = AKIAFILE000000000001\n"
          "aws_secret_access_key = file-secret-1\n", f);
    fclose(f);
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv_url(pool, "/container/creds"), 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "test-container-auth", 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret-1", 1);
    memset(&conf, 0, sizeof(conf));

    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == APR_SUCCESS && !strcmp(why, "env"), "chain: env beats file, container and imds");
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == APR_SUCCESS && !strncmp(why, "file ", 5), "chain: file beats container and imds");
    ok(srv_count(pool, "container") == 0 && srv_count(pool, "tokenPut") == 0,
       "chain: while env or file answer, no endpoint is asked");
    setenv("AWS_SHARED_CREDENTIALS_FILE", apr_pstrcat(pool, tmpdir, "/absent", NULL), 1);
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == APR_SUCCESS && !strcmp(why, "container"), "chain: container beats imds");
    is_int(srv_count(pool, "tokenPut"), 0, "chain: imds not asked when the container answers");
    /* a configured container that fails ends the chain: no fall-through to the
     * instance's role */
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "wrong", 1);
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == DSF_ECREDS && strstr(why, "HTTP 401") && srv_count(pool, "tokenPut") == 0,
       "chain: a failing container endpoint is not replaced by the instance role");
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    rv = dsf_creds_check(&conf, pool, &why);
    ok(rv == APR_SUCCESS && !strcmp(why, "imds"), "chain: imds last");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    creds_clean_env();
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    setenv("HOME", tmpdir, 1);
    dsf_http_global_init();
    dsf_log_set(log_sink, NULL, DSF_LOG_DEBUG);
    if (!srv_start(pool)) {
        printf("Bail out! cannot start node t/creds/server.js\n");
        return 1;
    }
    test_imds_fetch();
    test_refresh();
    test_concurrency();
    test_container();
    test_disabled_and_timeouts();
    test_chain_order();
    ok(log_lines > 0 && log_leaks == 0, "logs: %d lines, none with a secret or token", log_lines);
    srv_stop();
    {
        const char *cmd = apr_psprintf(pool, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", tmpdir);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
