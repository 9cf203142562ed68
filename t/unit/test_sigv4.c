/* dsf_sigv4: what a caller of the signer sees. The full AWS test suite runs
 * in `make check-sigv4`, the SDK comparison in `make check-sigv4-diff`. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* memmem */
#endif
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "dsf.h"
#include "dsf_sigv4.h"
#include "tap.h"

static apr_pool_t *pool;

/* 2015-08-30T12:36:00Z, the suite's instant */
static apr_time_t suite_time(void)
{
    return apr_time_from_sec(1440938160);
}

static const dsf_creds_t example = {
    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL, 0
};

static int count(const apr_array_header_t *h, const char *name)
{
    int i, n = 0;
    for (i = 0; i < h->nelts; i++)
        n += !strcasecmp(APR_ARRAY_IDX(h, i, dsf_header_t).name, name);
    return n;
}

static apr_array_header_t *sign(const dsf_creds_t *c, const char *method, const char *url,
                                apr_status_t *prv, dsf_sigv4_trace_t *trace)
{
    apr_array_header_t *h = apr_array_make(pool, 4, sizeof(dsf_header_t));
    *prv = dsf_sigv4_sign_ex(pool, NULL, c, "us-east-1", "service", suite_time(),
                             method, url, h, NULL, 0, NULL, trace);
    return h;
}

static void test_known_answer(void)
{
    apr_status_t rv;
    apr_array_header_t *h = apr_array_make(pool, 4, sizeof(dsf_header_t));

    /* get-vanilla, with Host left to the signer */
    rv = dsf_sigv4_sign(pool, NULL, &example, "us-east-1", "service", suite_time(),
                        "GET", "https://example.amazonaws.com/", h, NULL, 0);
    is_int(rv, APR_SUCCESS, "get-vanilla signs");
    is_str(dsf_header_get(h, "Host"), "example.amazonaws.com", "Host added from the URL");
    is_str(dsf_header_get(h, "X-Amz-Date"), "20150830T123600Z", "X-Amz-Date in basic ISO 8601");
    is_str(dsf_header_get(h, "Authorization"),
           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
           "SignedHeaders=host;x-amz-date, "
           "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
           "Authorization matches AWS's get-vanilla vector");
    is_int(count(h, "x-amz-content-sha256"), 0, "no x-amz-content-sha256 added");
    is_int(count(h, "X-Amz-Security-Token"), 0, "no token header without a token");
}

static void test_session_token(void)
{
    dsf_creds_t c = example;
    apr_status_t rv;
    apr_array_header_t *h;

    c.token = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    h = sign(&c, "GET", "https://example.amazonaws.com/", &rv, NULL);
    is_int(rv, APR_SUCCESS, "signs with a session token");
    is_str(dsf_header_get(h, "X-Amz-Security-Token"), c.token, "token sent");
    is_str(dsf_header_get(h, "Authorization"),
           "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
           "SignedHeaders=host;x-amz-date;x-amz-security-token, "
           "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
           "token signed: AWS's get-vanilla-with-session-token vector");
    c.token = "";
    h = sign(&c, "GET", "https://example.amazonaws.com/", &rv, NULL);
    is_int(count(h, "X-Amz-Security-Token"), 0, "an empty token is no token");
}

static void test_host(void)
{
    static const struct { const char *url, *host; } cases[] = {
        { "https://sqs.us-east-1.amazonaws.com/000000000000/q", "sqs.us-east-1.amazonaws.com" },
        { "https://sqs.us-east-1.amazonaws.com:443/", "sqs.us-east-1.amazonaws.com" },
        { "http://127.0.0.1:80/x", "127.0.0.1" },
        { "http://127.0.0.1:443/x", "127.0.0.1:443" },
        { "http://sqs.us-east-1.localhost:9324/000000000000/q", "sqs.us-east-1.localhost:9324" },
        { "http://[::1]:3002/2015-03-31/functions/f/invocations", "[::1]:3002" },
        { "https://user:pw@example.com/", "example.com" },
        { "https://example.com?a=b", "example.com" },
    };
    apr_size_t i;
    apr_status_t rv;
    apr_array_header_t *h;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h = sign(&example, "POST", cases[i].url, &rv, NULL);
        is_str(rv ? "(error)" : dsf_header_get(h, "Host"), cases[i].host,
               apr_psprintf(pool, "Host for %s", cases[i].url));
    }
    h = apr_array_make(pool, 4, sizeof(dsf_header_t));
    dsf_header_add(h, "host", "other.example:8080");
    rv = dsf_sigv4_sign(pool, NULL, &example, "us-east-1", "sqs", suite_time(), "POST",
                        "http://127.0.0.1:9/", h, NULL, 0);
    ok(rv == APR_SUCCESS && count(h, "Host") == 1
       && !strcmp(dsf_header_get(h, "Host"), "other.example:8080"),
       "a Host the caller set is kept, not duplicated");
}

static void test_lambda_arn_path(void)
{
    const char *url = "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/"
                      "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Areceptor"
                      "/invocations";
    const char *curi;
    dsf_sigv4_trace_t t;
    apr_status_t rv;

    sign(&example, "POST", url, &rv, &t);
    is_int(rv, APR_SUCCESS, "Lambda ARN URL signs");
    ok(t.canonical_request && strstr(t.canonical_request,
       "\n/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012"
       "%253Afunction%253Areceptor/invocations\n"),
       "function ARN in the path is encoded twice in the canonical request");
    dsf_sigv4_canonical_uri(pool, "/a/./b/../c//d/", 1, &curi);
    is_str(curi, "/a/c/d/", "dot and empty segments removed, trailing slash kept");
    dsf_sigv4_canonical_uri(pool, "/../../x/..", 1, &curi);
    is_str(curi, "/", ".. never climbs above the root");
    dsf_sigv4_canonical_uri(pool, "/a b/\xe1\x88\xb4/%2F", 1, &curi);
    is_str(curi, "/a%20b/%E1%88%B4/%252F", "space, UTF-8 and % encoded");
}

static void test_query(void)
{
    const char *q;
    dsf_sigv4_canonical_query(pool, "b=2&a=1&a=&c&&a=0", &q);
    is_str(q, "a=&a=0&a=1&b=2&c=", "sorted by key then value; empty values kept");
    dsf_sigv4_canonical_query(pool, "k=%7e%2a+%zz&%E1%88%B4=x=y", &q);
    is_str(q, "%E1%88%B4=x%3Dy&k=~%2A%2B%25zz",
           "decoded and re-encoded: ~ kept, * and + encoded, bad % kept literally");
    dsf_sigv4_canonical_query(pool, "Param-3=1&Param=2", &q);
    is_str(q, "Param=2&Param-3=1", "keys compared alone, not with '='");
}

static void test_headers(void)
{
    apr_array_header_t *h = apr_array_make(pool, 4, sizeof(dsf_header_t));
    const char *canon, *names;

    dsf_header_add(h, "X-B", "  two\t\t words  ");
    dsf_header_add(h, "x-a", "1");
    dsf_header_add(h, "X-A", " 2 ");
    dsf_header_add(h, "x-a", "");
    is_int(dsf_sigv4_canonical_headers(pool, h, &canon, &names), APR_SUCCESS, "headers canonicalise");
    is_str(canon, "x-a:1,2,\nx-b:two words\n", "lowercased, trimmed, folded, duplicates joined in order");
    is_str(names, "x-a;x-b", "signed header list");
}

static void test_resign(void)
{
    apr_array_header_t *h = apr_array_make(pool, 4, sizeof(dsf_header_t));
    dsf_creds_t c = example;
    const char *first;

    c.token = "tok";
    dsf_header_add(h, "X-Amz-Target", "AmazonSQS.SendMessageBatch");
    dsf_sigv4_sign(pool, NULL, &c, "us-east-1", "sqs", suite_time(), "POST",
                   "https://sqs.us-east-1.amazonaws.com/", h, "{}", 2);
    first = dsf_header_get(h, "Authorization");
    dsf_sigv4_sign(pool, NULL, &c, "us-east-1", "sqs", suite_time() + apr_time_from_sec(61),
                   "POST", "https://sqs.us-east-1.amazonaws.com/", h, "{}", 2);
    ok(count(h, "Authorization") == 1 && count(h, "X-Amz-Date") == 1
       && count(h, "X-Amz-Security-Token") == 1 && count(h, "Host") == 1,
       "signing again replaces what the first signing added");
    is_str(dsf_header_get(h, "X-Amz-Date"), "20150830T123701Z", "with the new time");
    ok(first && strcmp(first, dsf_header_get(h, "Authorization")) != 0
       && strstr(dsf_header_get(h, "Authorization"),
                 "SignedHeaders=host;x-amz-date;x-amz-security-token;x-amz-target,"),
       "and a new signature over the same header set");
}

static void test_cache(void)
{
    dsf_sigv4_cache_t cache;
    dsf_creds_t c = example, c2 = example;
    apr_array_header_t *h;
    const char *a_cached, *a_plain;
    int i;
    static const struct { const char *secret, *region, *service; int day; } steps[] = {
        { "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "sqs", 0 },
        { "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "sqs", 0 },  /* hit */
        { "another/secret/of/forty/characters/xxxxx", "us-east-1", "sqs", 0 },  /* rotated */
        { "another/secret/of/forty/characters/xxxxx", "us-east-1", "sqs", 1 },  /* next day */
        { "another/secret/of/forty/characters/xxxxx", "eu-west-1", "sqs", 1 },
        { "another/secret/of/forty/characters/xxxxx", "eu-west-1", "lambda", 1 },
    };

    memset(&cache, 0, sizeof(cache));
    for (i = 0; i < (int)(sizeof(steps) / sizeof(steps[0])); i++) {
        apr_time_t t = suite_time() + apr_time_from_sec(86400 * steps[i].day);
        c.secret = c2.secret = steps[i].secret;
        h = apr_array_make(pool, 4, sizeof(dsf_header_t));
        dsf_sigv4_sign(pool, &cache, &c, steps[i].region, steps[i].service, t, "POST",
                       "https://example.com/", h, "x", 1);
        a_cached = dsf_header_get(h, "Authorization");
        h = apr_array_make(pool, 4, sizeof(dsf_header_t));
        dsf_sigv4_sign(pool, NULL, &c2, steps[i].region, steps[i].service, t, "POST",
                       "https://example.com/", h, "x", 1);
        a_plain = dsf_header_get(h, "Authorization");
        is_str(a_cached, a_plain, apr_psprintf(pool, "cached key right after step %d", i));
        ok(!memmem(&cache, sizeof(cache), c.secret, strlen(c.secret)),
           "the cache never holds the secret");
    }
}

static void test_refused(void)
{
    static const char *bad_urls[] = {
        "example.com/", "https:///x", "https://h:99999/", "https://h:8a/",
        "https://h/a\r\nX-Injected: 1", "https://[::1/",
    };
    apr_array_header_t *h;
    dsf_creds_t c = example;
    apr_size_t i;
    apr_status_t rv;
    char *big;

    for (i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
        h = sign(&example, "GET", bad_urls[i], &rv, NULL);
        ok(rv == APR_EINVAL && h->nelts == 0, "malformed URL %zu refused, headers untouched", i);
    }
    big = apr_palloc(pool, DSF_SIGV4_MAX_URL + 32);
    strcpy(big, "https://example.com/");
    memset(big + 20, 'a', DSF_SIGV4_MAX_URL);
    big[DSF_SIGV4_MAX_URL + 20] = '\0';
    sign(&example, "GET", big, &rv, NULL);
    is_int(rv, APR_EINVAL, "URL over the limit refused");

    h = apr_array_make(pool, 4, sizeof(dsf_header_t));
    dsf_header_add(h, "X-Ok", "1");
    dsf_header_add(h, "X-Bad", "a\r\nX-Injected: 1");
    rv = dsf_sigv4_sign(pool, NULL, &example, "us-east-1", "sqs", suite_time(), "POST",
                        "https://example.com/", h, NULL, 0);
    ok(rv == APR_EINVAL && h->nelts == 2, "CR/LF in a header value refused, headers as given");
    h = apr_array_make(pool, 4, sizeof(dsf_header_t));
    dsf_header_add(h, "Bad Name", "1");
    rv = dsf_sigv4_sign(pool, NULL, &example, "us-east-1", "sqs", suite_time(), "POST",
                        "https://example.com/", h, NULL, 0);
    is_int(rv, APR_EINVAL, "space in a header name refused");

    h = apr_array_make(pool, 4, sizeof(dsf_header_t));
    rv = dsf_sigv4_sign(pool, NULL, &example, "us-east-1/x", "sqs", suite_time(), "POST",
                        "https://example.com/", h, NULL, 0);
    is_int(rv, APR_EINVAL, "region with '/' refused");
    c.secret = "";
    sign(&c, "GET", "https://example.com/", &rv, NULL);
    is_int(rv, DSF_ECREDS, "empty secret: no credentials");
    c = example;
    c.akid = "AKID/../x";
    sign(&c, "GET", "https://example.com/", &rv, NULL);
    is_int(rv, DSF_ECREDS, "access key id with '/' refused");
    c = example;
    c.token = "tok\r\nX-Injected: 1";
    sign(&c, "GET", "https://example.com/", &rv, NULL);
    is_int(rv, DSF_ECREDS, "CR/LF in the token refused");
}

static void test_bounded(void)
{
    /* Many segments and ".." climbing: iterative, linear, no stack growth. */
    apr_size_t n = (DSF_SIGV4_MAX_URL - 64) / 3, i;
    char *path = apr_palloc(pool, 3 * n + 2), *o = path;
    const char *curi;
    apr_time_t t0 = apr_time_now();

    for (i = 0; i < n / 2; i++) {
        memcpy(o, "/ab", 3);
        o += 3;
    }
    for (; i < n; i++) {
        memcpy(o, "/..", 3);
        o += 3;
    }
    *o = '\0';
    is_int(dsf_sigv4_canonical_uri(pool, path, 1, &curi), APR_SUCCESS, "5000 segments normalise");
    is_str(curi, "/", "and climb back to the root");
    ok(apr_time_now() - t0 < apr_time_from_sec(1), "quickly");
}

int main(int argc, const char *const *argv)
{
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    test_known_answer();
    test_session_token();
    test_host();
    test_lambda_arn_path();
    test_query();
    test_headers();
    test_resign();
    test_cache();
    test_refused();
    test_bounded();
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
