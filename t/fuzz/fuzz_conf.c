/* libFuzzer target: a `Dosificador NAME key=value...` line. The input is
 * split into words at blanks and newlines; each word also goes through
 * dsf_duration_parse and each value through the region lookup.
 * Invariants: success means queue and lambda set and every value inside its
 * documented range; failure means DSF_ECONFIG with a non-empty sentence. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>
#include "dsf_conf.h"

#define MAX_WORDS 32

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    char *buf, *argv[MAX_WORDS], *w, *last;
    int argc = 0, i;
    dsf_doser_conf_t d;
    const char *why, *region, *eq;
    apr_interval_time_t t;
    apr_status_t rv;

    apr_pool_create(&p, root);
    buf = apr_pstrmemdup(p, (const char *)data, size);   /* stops at an embedded NUL */
    for (w = apr_strtok(buf, " \t\r\n", &last); w && argc < MAX_WORDS;
         w = apr_strtok(NULL, " \t\r\n", &last))
        argv[argc++] = w;

    for (i = 0; i < argc; i++) {
        eq = strchr(argv[i], '=');
        if (dsf_duration_parse(argv[i], &t) == APR_SUCCESS && t < 0)
            abort();
        if (eq && dsf_duration_parse(eq + 1, &t) == APR_SUCCESS && t < 0)
            abort();
        region = dsf_conf_region_from_queue_url(p, eq ? eq + 1 : argv[i]);
        if (region && (!*region || strspn(region, "abcdefghijklmnopqrstuvwxyz0123456789-")
                                   != strlen(region)))
            abort();
    }

    rv = dsf_doser_conf_parse(&d, p, "fuzz", argc, argv, &why);
    if (rv != APR_SUCCESS) {
        if (rv != DSF_ECONFIG || !why || !*why)
            abort();
        goto leave;
    }
    if (why || !d.queue_url || !d.lambda
        || d.per_minute < 1 || d.per_minute > 100000
        || d.per_invocation < 1 || d.per_invocation > 10000
        || d.window < apr_time_from_msec(100) || d.window > apr_time_from_sec(86400)
        || d.visibility < apr_time_from_sec(1) || d.visibility > apr_time_from_sec(43200)
        || d.visibility % APR_USEC_PER_SEC
        || (d.payload != DSF_PAYLOAD_ARRAY && d.payload != DSF_PAYLOAD_RECORDS)
        || d.max_payload < 1 || d.max_payload > 1048576
        || d.parallel < 1 || d.parallel > 1000)
        abort();
    if (strncasecmp(d.queue_url, "http://", 7) && strncasecmp(d.queue_url, "https://", 8))
        abort();
leave:
    apr_pool_destroy(p);
    return 0;
}
