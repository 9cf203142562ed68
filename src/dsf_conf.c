/* A doser's configuration: `Dosificador NAME key=value...` words into a
 * dsf_doser_conf_t. Every refusal names the key, the reason and the value,
 * since it ends up verbatim in httpd's "Syntax error" line. */
#include <ctype.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include "dsf_conf.h"

#define MAX_PER_MINUTE      100000
#define MAX_PER_INVOCATION  10000
#define MIN_WINDOW          apr_time_from_msec(100)
#define MAX_WINDOW          apr_time_from_sec(24 * 3600)   /* keeps grid arithmetic far from overflow */
#define MAX_VISIBILITY_SEC  (12 * 3600)                   /* SQS's own maximum */
#define MAX_PAYLOAD_BYTES   (1024 * 1024)                 /* async Invoke limit */
#define MAX_PARALLEL        1000

typedef struct conf_key_t conf_key_t;
typedef const char *conf_set_fn(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                                const char *v);
struct conf_key_t {
    const char *name;
    conf_set_fn *set;
};

/* Digits only (no sign, no spaces), within [min, max]. */
static int parse_int(const char *v, long min, long max, long *out)
{
    long n = 0;
    const char *s = v;

    if (!*s)
        return 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return 0;
        n = n * 10 + (*s - '0');
        if (n > max)
            return 0;           /* also stops overflow */
    }
    if (n < min)
        return 0;
    *out = n;
    return 1;
}

/* 1..max characters, each [A-Za-z0-9_-]. */
static int is_word(const char *s, apr_size_t len, apr_size_t max)
{
    apr_size_t i;
    if (len < 1 || len > max)
        return 0;
    for (i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return 0;
    }
    return 1;
}

static int is_digits(const char *s, apr_size_t len, apr_size_t exact)
{
    apr_size_t i;
    if (len == 0 || (exact && len != exact))
        return 0;
    for (i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

static const char *set_queue(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                             const char *v)
{
    apr_uri_t uri;
    const char *path, *name, *slash;
    apr_size_t nlen;
    const char *form = "must be an http(s) URL of the form https://HOST/ACCOUNT/QUEUE";

    if (apr_uri_parse(p, v, &uri) != APR_SUCCESS || !uri.scheme
        || (strcasecmp(uri.scheme, "https") && strcasecmp(uri.scheme, "http")))
        return apr_psprintf(p, "%s: %s, got '%s'", k->name, form, v);
    if (!uri.hostname || !*uri.hostname)
        return apr_psprintf(p, "%s: %s (no host), got '%s'", k->name, form, v);
    if (uri.user || uri.password)
        return apr_psprintf(p, "%s: must not carry user:password@, got '%s'", k->name, v);
    if (uri.query || uri.fragment)
        return apr_psprintf(p, "%s: must not have a ?query or #fragment, got '%s'", k->name, v);
    path = uri.path ? uri.path : "";
    slash = *path == '/' ? strchr(path + 1, '/') : NULL;
    if (!slash || !is_word(path + 1, (apr_size_t)(slash - path - 1), 64))
        return apr_psprintf(p, "%s: %s (path must be /ACCOUNT/QUEUE), got '%s'", k->name, form, v);
    /* Queue names: up to 80 of [A-Za-z0-9_-], a FIFO queue's ending in ".fifo". */
    name = slash + 1;
    nlen = strlen(name);
    if (nlen > 5 && !strcmp(name + nlen - 5, ".fifo"))
        nlen -= 5;
    if (!is_word(name, nlen, 80) || strlen(name) > 80)
        return apr_psprintf(p, "%s: the queue name must be 1 to 80 letters, digits, '-' or '_' "
                            "(FIFO: ending in .fifo), got '%s'", k->name, v);
    d->queue_url = apr_pstrdup(p, v);
    return NULL;
}

/* [$LATEST | version | alias]: versions are digits, aliases up to 128 chars. */
static int is_qualifier(const char *q)
{
    return !strcmp(q, "$LATEST") || is_word(q, strlen(q), 128);
}

static const char *set_lambda(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                              const char *v)
{
    char *parts[9];
    char *copy = apr_pstrdup(p, v), *s = copy, *c;
    int n = 0, name_at;
    const char *form = "must be a function NAME, ACCOUNT:function:NAME or "
                       "arn:aws:lambda:REGION:ACCOUNT:function:NAME, each with an optional "
                       ":QUALIFIER";

    /* Split on ':' keeping empty fields, so "a::b" is seen as malformed. */
    for (;;) {
        if (n == 9)
            return apr_psprintf(p, "%s: %s, got '%s'", k->name, form, v);
        parts[n++] = s;
        if (!(c = strchr(s, ':')))
            break;
        *c = '\0';
        s = c + 1;
    }
    if (!strcmp(parts[0], "arn")) {
        const char *part = parts[1];
        apr_size_t i;
        if (n < 7 || n > 8 || strncmp(part, "aws", 3) || strcmp(parts[2], "lambda")
            || strcmp(parts[5], "function"))
            return apr_psprintf(p, "%s: %s, got '%s'", k->name, form, v);
        for (i = 3; part[i]; i++) {
            if (!islower((unsigned char)part[i]) && part[i] != '-')
                return apr_psprintf(p, "%s: unknown partition '%s' in the ARN, got '%s'",
                                    k->name, part, v);
        }
        if (!*parts[3] || strspn(parts[3], "abcdefghijklmnopqrstuvwxyz0123456789-")
                          != strlen(parts[3]))
            return apr_psprintf(p, "%s: the region in the ARN must be like us-east-1, got '%s'",
                                k->name, v);
        if (!is_digits(parts[4], strlen(parts[4]), 12))
            return apr_psprintf(p, "%s: the account must be 12 digits, got '%s'", k->name, v);
        name_at = 6;
    }
    else if (n >= 3 && !strcmp(parts[1], "function")) {
        if (n > 4)
            return apr_psprintf(p, "%s: %s, got '%s'", k->name, form, v);
        if (!is_digits(parts[0], strlen(parts[0]), 12))
            return apr_psprintf(p, "%s: the account must be 12 digits, got '%s'", k->name, v);
        name_at = 2;
    }
    else if (n <= 2) {
        name_at = 0;
    }
    else
        return apr_psprintf(p, "%s: %s, got '%s'", k->name, form, v);

    if (!is_word(parts[name_at], strlen(parts[name_at]), 64))
        return apr_psprintf(p, "%s: the function name must be 1 to 64 letters, digits, '-' or '_', "
                            "got '%s'", k->name, v);
    if (name_at + 1 < n && !is_qualifier(parts[name_at + 1]))
        return apr_psprintf(p, "%s: the qualifier must be $LATEST, a version number or an alias "
                            "name, got '%s'", k->name, v);
    d->lambda = apr_pstrdup(p, v);
    return NULL;
}

static const char *set_per_minute(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                                  const char *v)
{
    long n;
    if (!parse_int(v, 1, MAX_PER_MINUTE, &n))
        return apr_psprintf(p, "%s: must be an integer between 1 and %d, got '%s'",
                            k->name, MAX_PER_MINUTE, v);
    d->per_minute = (int)n;
    return NULL;
}

static const char *set_per_invocation(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                                      const char *v)
{
    long n;
    if (!parse_int(v, 1, MAX_PER_INVOCATION, &n))
        return apr_psprintf(p, "%s: must be an integer between 1 and %d, got '%s'",
                            k->name, MAX_PER_INVOCATION, v);
    d->per_invocation = (int)n;
    return NULL;
}

static const char *set_parallel(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                                const char *v)
{
    long n;
    if (!parse_int(v, 1, MAX_PARALLEL, &n))
        return apr_psprintf(p, "%s: must be an integer between 1 and %d, got '%s'",
                            k->name, MAX_PARALLEL, v);
    d->parallel = (int)n;
    return NULL;
}

static const char *set_window(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                              const char *v)
{
    apr_interval_time_t t;
    if (dsf_duration_parse(v, &t) != APR_SUCCESS || t < MIN_WINDOW || t > MAX_WINDOW)
        return apr_psprintf(p, "%s: must be a duration between 100ms and 24h "
                            "(e.g. 60s, 500ms, 5m), got '%s'", k->name, v);
    d->window = t;
    return NULL;
}

static const char *set_visibility(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                                  const char *v)
{
    apr_interval_time_t t;
    if (dsf_duration_parse(v, &t) != APR_SUCCESS || t < apr_time_from_sec(1)
        || t > apr_time_from_sec(MAX_VISIBILITY_SEC) || t % APR_USEC_PER_SEC)
        return apr_psprintf(p, "%s: must be a whole number of seconds between 1s and 12h "
                            "(e.g. 300s, 5m), got '%s'", k->name, v);
    d->visibility = t;
    return NULL;
}

static const char *set_payload(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                               const char *v)
{
    if (!strcmp(v, "array"))
        d->payload = DSF_PAYLOAD_ARRAY;
    else if (!strcmp(v, "records"))
        d->payload = DSF_PAYLOAD_RECORDS;
    else
        return apr_psprintf(p, "%s: must be 'array' or 'records', got '%s'", k->name, v);
    return NULL;
}

static const char *set_max_payload(dsf_doser_conf_t *d, apr_pool_t *p, const conf_key_t *k,
                                   const char *v)
{
    long n;
    apr_size_t len = strlen(v);
    int kib = len > 1 && (v[len - 1] == 'k' || v[len - 1] == 'K');
    const char *digits = kib ? apr_pstrndup(p, v, len - 1) : v;

    if (!parse_int(digits, 1, kib ? MAX_PAYLOAD_BYTES / 1024 : MAX_PAYLOAD_BYTES, &n))
        return apr_psprintf(p, "%s: must be a number of bytes between 1 and %d "
                            "(or KiB with a k suffix, up to 1024k), got '%s'",
                            k->name, MAX_PAYLOAD_BYTES, v);
    d->max_payload = (apr_size_t)n * (kib ? 1024 : 1);
    return NULL;
}

static const conf_key_t conf_keys[] = {
    { "queue",         set_queue },
    { "lambda",        set_lambda },
    { "perMinute",     set_per_minute },
    { "perInvocation", set_per_invocation },
    { "window",        set_window },
    { "visibility",    set_visibility },
    { "payload",       set_payload },
    { "maxPayload",    set_max_payload },
    { "parallel",      set_parallel },
};
#define N_KEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

static const char *known_keys(apr_pool_t *p)
{
    const char *s = conf_keys[0].name;
    apr_size_t i;
    for (i = 1; i < N_KEYS; i++)
        s = apr_pstrcat(p, s, ", ", conf_keys[i].name, NULL);
    return s;
}

apr_status_t dsf_doser_conf_parse(dsf_doser_conf_t *d, apr_pool_t *p, const char *name,
                                  int argc, char *const argv[], const char **why)
{
    int i, parallel_set = 0;
    int seen[N_KEYS] = { 0 };
    apr_status_t rv = APR_SUCCESS;

    *why = NULL;
    memset(d, 0, sizeof(*d));
    d->name = name ? apr_pstrdup(p, name) : NULL;
    d->per_minute = DSF_DEFAULT_PER_MINUTE;
    d->per_invocation = DSF_DEFAULT_PER_INVOCATION;
    d->window = DSF_DEFAULT_WINDOW;
    d->visibility = DSF_DEFAULT_VISIBILITY;
    d->payload = DSF_PAYLOAD_ARRAY;
    d->max_payload = DSF_DEFAULT_MAX_PAYLOAD;

    for (i = 0; i < argc; i++) {
        const char *word = argv[i], *eq = strchr(word, '=');
        const char *key;
        apr_size_t k;

        if (!eq || eq == word) {
            *why = apr_psprintf(p, "expected key=value, got '%s'", word);
            rv = DSF_ECONFIG;
            goto leave;
        }
        key = apr_pstrndup(p, word, (apr_size_t)(eq - word));
        for (k = 0; k < N_KEYS && strcmp(conf_keys[k].name, key); k++)
            ;
        if (k == N_KEYS) {
            apr_size_t c;
            for (c = 0; c < N_KEYS && strcasecmp(conf_keys[c].name, key); c++)
                ;
            *why = c < N_KEYS
                ? apr_psprintf(p, "unknown key '%s' (keys are case-sensitive: did you mean '%s'?)",
                               key, conf_keys[c].name)
                : apr_psprintf(p, "unknown key '%s' (known: %s)", key, known_keys(p));
            rv = DSF_ECONFIG;
            goto leave;
        }
        if (seen[k]++) {
            *why = apr_psprintf(p, "duplicate key '%s' (in '%s')", key, word);
            rv = DSF_ECONFIG;
            goto leave;
        }
        if ((*why = conf_keys[k].set(d, p, &conf_keys[k], eq + 1)) != NULL) {
            rv = DSF_ECONFIG;
            goto leave;
        }
        if (conf_keys[k].set == set_parallel)
            parallel_set = 1;
    }
    if (!d->queue_url) {
        *why = "missing queue=URL (the SQS queue to fill and drain)";
        rv = DSF_ECONFIG;
        goto leave;
    }
    if (!d->lambda) {
        *why = "missing lambda=FUNCTION (the receptor to invoke)";
        rv = DSF_ECONFIG;
        goto leave;
    }
    if (!parallel_set)
        d->parallel = d->per_minute < DSF_MAX_PARALLEL_DEFAULT
                      ? d->per_minute : DSF_MAX_PARALLEL_DEFAULT;
leave:
    return rv;
}

const char *dsf_conf_region_from_queue_url(apr_pool_t *p, const char *url)
{
    apr_uri_t uri;
    char *host, *dot;
    const char *region = NULL, *rest;
    apr_size_t rlen;

    if (!url || apr_uri_parse(p, url, &uri) != APR_SUCCESS || !uri.hostname)
        return NULL;
    host = apr_pstrdup(p, uri.hostname);
    for (dot = host; *dot; dot++)
        *dot = (char)tolower((unsigned char)*dot);

    if (!strncmp(host, "sqs.", 4)) {
        region = host + 4;
        if (!(dot = strchr(region, '.')))
            return NULL;
        rest = dot + 1;
        if (strcmp(rest, "amazonaws.com") && strcmp(rest, "localhost")
            && strcmp(rest, "amazonaws.com.cn"))
            return NULL;
    }
    else if ((dot = strchr(host, '.')) && !strcmp(dot + 1, "queue.amazonaws.com"))
        region = host;
    else
        return NULL;
    rlen = (apr_size_t)(dot - region);
    /* A region is a single DNS label such as us-east-1 or cn-north-1. */
    if (!rlen || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-") != rlen)
        return NULL;
    return apr_pstrndup(p, region, rlen);
}
