/* Logging sink, headers, durations, hex: small things every core file uses. */
#include <stdio.h>
#include <stdarg.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include "dsf.h"

static dsf_log_fn *log_fn;
static void *log_baton;
static int log_max = DSF_LOG_WARNING;

void dsf_log_set(dsf_log_fn *fn, void *baton, int max_level)
{
    log_fn = fn;
    log_baton = baton;
    log_max = max_level;
}

int dsf_log_is_level(int level)
{
    return level <= log_max;
}

void dsf_log_(const char *file, int line, int level, apr_status_t rv, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    if (level > log_max)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);   /* stack buffer: safe in long loops */
    va_end(ap);
    if (log_fn)
        log_fn(log_baton, file, line, level, rv, buf);
    else
        fprintf(stderr, "[dosificador:%d] %s\n", level, buf);
}

const char *dsf_strerror(apr_status_t rv, apr_pool_t *p)
{
    char buf[256];
    switch (rv) {
    case DSF_EINPUT:   return "malformed input";
    case DSF_ETOOBIG:  return "input over a limit";
    case DSF_EUNAVAIL: return "peer unreachable, timed out or throttling";
    case DSF_EAWS:     return "AWS answered with an error";
    case DSF_EMD5:     return "MD5 of the message body did not match";
    case DSF_ECREDS:   return "no AWS credentials";
    case DSF_EPARSE:   return "malformed response";
    case DSF_ECONFIG:  return "invalid configuration";
    default:
        return apr_pstrdup(p, apr_strerror(rv, buf, sizeof(buf)));
    }
}

void dsf_header_add(apr_array_header_t *headers, const char *name, const char *value)
{
    dsf_header_t *h = apr_array_push(headers);
    h->name = name;
    h->value = value;
}

const char *dsf_header_get(const apr_array_header_t *headers, const char *name)
{
    int i;
    if (!headers)
        return NULL;
    for (i = 0; i < headers->nelts; i++) {
        const dsf_header_t *h = &APR_ARRAY_IDX(headers, i, dsf_header_t);
        if (!strcasecmp(h->name, name))
            return h->value;
    }
    return NULL;
}

apr_status_t dsf_duration_parse(const char *s, apr_interval_time_t *out)
{
    char *end;
    unsigned long long v;
    apr_int64_t unit;

    if (!s || !isdigit((unsigned char)*s))
        return DSF_ECONFIG;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return DSF_ECONFIG;
    if (!*end || !strcmp(end, "s"))        unit = APR_USEC_PER_SEC;
    else if (!strcmp(end, "ms"))           unit = 1000;
    else if (!strcmp(end, "m"))            unit = 60 * APR_USEC_PER_SEC;
    else if (!strcmp(end, "h"))            unit = 3600 * APR_USEC_PER_SEC;
    else
        return DSF_ECONFIG;
    if (v > (unsigned long long)(APR_INT64_MAX / unit) / 2)
        return DSF_ECONFIG;
    *out = (apr_interval_time_t)v * unit;
    return APR_SUCCESS;
}

void dsf_hex(char *out, const unsigned char *in, apr_size_t len)
{
    static const char digits[] = "0123456789abcdef";
    apr_size_t i;
    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}
