/* Signs requests read from stdin with dsf_sigv4_sign, for the differential
 * test and the gate's self-test. One request a line, tab-separated fields,
 * every string hex-encoded so any byte (tabs, newlines, NULs in a body) fits:
 *
 *   id akid secret token region service epoch_seconds method url body [name value]...
 *
 * token is "-" for none; id and epoch_seconds are decimal. For each line
 * prints "id<TAB>Authorization<TAB>Host" (Host as signed), or
 * "id<TAB>ERROR<TAB>reason". With --headers, prints every header after the
 * Authorization as hex "name value" pairs instead of Host, so a caller can
 * send exactly what was signed. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "dsf.h"
#include "dsf_sigv4.h"

#define MAX_FIELDS (10 + 2 * DSF_SIGV4_MAX_HEADERS)

static int unhex(apr_pool_t *p, const char *s, apr_size_t n, char **out, apr_size_t *olen)
{
    apr_size_t i;
    char *o;

    if (n % 2)
        return -1;
    o = apr_palloc(p, n / 2 + 1);
    for (i = 0; i < n; i += 2) {
        int hi = s[i], lo = s[i + 1];
        hi = hi <= '9' ? hi - '0' : (hi | 0x20) - 'a' + 10;
        lo = lo <= '9' ? lo - '0' : (lo | 0x20) - 'a' + 10;
        if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
            return -1;
        o[i / 2] = (char)(hi << 4 | lo);
    }
    o[n / 2] = '\0';
    *out = o;
    *olen = n / 2;
    return 0;
}

static void put_hex(const char *s)
{
    for (; *s; s++)
        printf("%02x", (unsigned char)*s);
}

static void sign_line(apr_pool_t *p, char *line, int full, dsf_sigv4_cache_t *cache)
{
    char *field[MAX_FIELDS], *val[MAX_FIELDS], *save = NULL, *tok;
    apr_size_t len[MAX_FIELDS];
    int nf = 0, i;
    dsf_creds_t creds;
    apr_array_header_t *headers;
    apr_status_t rv;

    for (tok = strtok_r(line, "\t\n", &save); tok && nf < MAX_FIELDS;
         tok = strtok_r(NULL, "\t\n", &save))
        field[nf++] = tok;
    if (nf < 10 || (nf - 10) % 2) {
        printf("%s\tERROR\tbad line (%d fields)\n", nf ? field[0] : "?", nf);
        return;
    }
    for (i = 1; i < nf; i++) {
        if (i == 6 || (i == 3 && !strcmp(field[i], "-"))) {
            val[i] = NULL;
            continue;
        }
        /* "." is an empty string: strtok_r cannot see empty fields */
        if (!strcmp(field[i], ".")) {
            val[i] = "";
            len[i] = 0;
            continue;
        }
        if (unhex(p, field[i], strlen(field[i]), &val[i], &len[i])) {
            printf("%s\tERROR\tbad hex in field %d\n", field[0], i);
            return;
        }
    }
    memset(&creds, 0, sizeof(creds));
    creds.akid = val[1];
    creds.secret = val[2];
    creds.token = val[3];
    headers = apr_array_make(p, 8, sizeof(dsf_header_t));
    for (i = 10; i < nf; i += 2)
        dsf_header_add(headers, val[i], val[i + 1]);
    rv = dsf_sigv4_sign(p, cache, &creds, val[4], val[5],
                        apr_time_from_sec(apr_atoi64(field[6])), val[7], val[8],
                        headers, len[9] ? val[9] : NULL, len[9]);
    if (rv != APR_SUCCESS) {
        printf("%s\tERROR\t%s\n", field[0], dsf_strerror(rv, p));
        return;
    }
    printf("%s\t%s\t", field[0], dsf_header_get(headers, "Authorization"));
    if (!full) {
        printf("%s\n", dsf_header_get(headers, "Host"));
        return;
    }
    for (i = 0; i < headers->nelts; i++) {
        const dsf_header_t *h = &APR_ARRAY_IDX(headers, i, dsf_header_t);
        if (i)
            putchar('\t');
        put_hex(h->name);
        putchar('\t');
        if (*h->value)
            put_hex(h->value);
        else
            putchar('.');
    }
    putchar('\n');
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool, *p;
    char *line = NULL;
    size_t cap = 0;
    int full = argc > 1 && !strcmp(argv[1], "--headers");
    /* One cache across lines, as a client keeps one: exercises its reuse and
     * its invalidation when secret, day, region or service change. */
    dsf_sigv4_cache_t cache;

    memset(&cache, 0, sizeof(cache));
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    apr_pool_create(&p, pool);
    while (getline(&line, &cap, stdin) > 0) {
        sign_line(p, line, full, &cache);
        fflush(stdout);
        apr_pool_clear(p);
    }
    free(line);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
