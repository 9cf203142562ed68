/* Runs AWS's SigV4 test suite (aws-c-auth's tests/aws-signing-test-suite/v4
 * layout) against dsf_sigv4_sign_ex and prints TAP.
 *
 *   suite [DIR...]    each DIR holds one folder per case; default
 *                     ../shared/sigv4-test-suite
 *
 * Per case: context.json (credentials, region, service, timestamp, normalize,
 * sign_body) and request.txt are read; the canonical request, string to sign,
 * signature and signed request are compared with the header-*.txt files. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_tables.h>
#include "dsf.h"
#include "dsf_json.h"
#include "dsf_sigv4.h"
#include "tap.h"

#define MAX_FILE (4 * 1024 * 1024)

typedef struct {
    const char *method, *target, *version;
    apr_array_header_t *headers;      /* dsf_header_t, obs-folded lines unfolded */
    apr_array_header_t *raw_lines;    /* const char *: header lines as written */
    const char *body;
    apr_size_t body_len;
} req_t;

static apr_status_t read_file(apr_pool_t *p, const char *path, char **buf, apr_size_t *len)
{
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;
    apr_size_t n;

    *buf = NULL;
    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY, 0, p)))
        return rv;
    if ((rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f)))
        goto leave;
    if (fi.size < 0 || fi.size > MAX_FILE) {
        rv = APR_EINVAL;
        goto leave;
    }
    n = (apr_size_t)fi.size;
    *buf = apr_palloc(p, n + 1);
    if (n && (rv = apr_file_read_full(f, *buf, n, &n)))
        goto leave;
    (*buf)[n] = '\0';
    *len = n;
leave:
    apr_file_close(f);
    return rv;
}

/* Expected files carry no trailing newline in the suite; tolerate one. */
static const char *chomp(char *s)
{
    apr_size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* request.txt: "METHOD target HTTP/1.1" (the target may hold spaces), header
 * lines "Name:value", lines starting with a space or tab continue the previous
 * value (obs-fold: RFC 7230 replaces the line break with a space), an empty
 * line, then the body. Duplicate names stay separate entries, in order. */
static apr_status_t parse_request(apr_pool_t *p, const char *text, apr_size_t len, req_t *r)
{
    const char *s = text, *end = text + len, *eol, *sp1, *sp2;
    dsf_header_t *last = NULL;

    r->headers = apr_array_make(p, 8, sizeof(dsf_header_t));
    r->raw_lines = apr_array_make(p, 8, sizeof(const char *));
    r->body = "";
    r->body_len = 0;

    eol = memchr(s, '\n', (apr_size_t)(end - s));
    if (!eol)
        eol = end;
    sp1 = memchr(s, ' ', (apr_size_t)(eol - s));
    for (sp2 = eol; sp2 > s && sp2[-1] != ' '; sp2--)
        ;
    if (!sp1 || sp2 - 1 <= sp1)
        return APR_EINVAL;
    r->method = apr_pstrmemdup(p, s, (apr_size_t)(sp1 - s));
    r->target = apr_pstrmemdup(p, sp1 + 1, (apr_size_t)(sp2 - 1 - sp1 - 1));
    r->version = apr_pstrmemdup(p, sp2, (apr_size_t)(eol - sp2));
    s = eol < end ? eol + 1 : end;

    while (s < end) {
        const char *colon;
        apr_size_t n;
        char *line;

        eol = memchr(s, '\n', (apr_size_t)(end - s));
        if (!eol)
            eol = end;
        n = (apr_size_t)(eol - s);
        if (n && s[n - 1] == '\r')
            n--;
        if (n == 0) {                       /* end of headers */
            s = eol < end ? eol + 1 : end;
            r->body = s;
            r->body_len = (apr_size_t)(end - s);
            break;
        }
        line = apr_pstrmemdup(p, s, n);
        APR_ARRAY_PUSH(r->raw_lines, const char *) = line;
        if (line[0] == ' ' || line[0] == '\t') {
            if (!last)
                return APR_EINVAL;
            last->value = apr_pstrcat(p, last->value, " ", line, NULL);
        }
        else {
            if (!(colon = strchr(line, ':')) || colon == line)
                return APR_EINVAL;
            last = apr_array_push(r->headers);
            last->name = apr_pstrmemdup(p, line, (apr_size_t)(colon - line));
            last->value = colon + 1;
        }
        s = eol < end ? eol + 1 : end;
    }
    return APR_SUCCESS;
}

/* "2015-08-30T12:36:00Z" */
static apr_status_t parse_time(const char *s, apr_time_t *t)
{
    apr_time_exp_t e;
    int y, mo, d, h, mi, se;
    char z;

    memset(&e, 0, sizeof(e));
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) != 7 || z != 'Z')
        return APR_EINVAL;
    e.tm_year = y - 1900;
    e.tm_mon = mo - 1;
    e.tm_mday = d;
    e.tm_hour = h;
    e.tm_min = mi;
    e.tm_sec = se;
    return apr_time_exp_gmt_get(t, &e);
}

static void diag_text(const char *label, const char *s)
{
    const char *nl;
    printf("#   %s:\n", label);
    while (s) {
        nl = strchr(s, '\n');
        printf("#     |%.*s\n", nl ? (int)(nl - s) : (int)strlen(s), s);
        s = nl ? nl + 1 : NULL;
    }
}

static void is_text(const char *got, const char *want, const char *name)
{
    int pass = got && want && !strcmp(got, want);
    if (!ok(pass, "%s", name)) {
        diag_text("got", got ? got : "(none)");
        diag_text("expected", want ? want : "(none)");
    }
}

static int run_case(apr_pool_t *p, const char *dir, const char *name)
{
    const char *cdir = apr_pstrcat(p, dir, "/", name, NULL);
    char *ctx_txt, *req_txt, *want;
    apr_size_t ctx_len, req_len, want_len;
    dsf_json_t *ctx, *cj;
    dsf_json_error_t jerr;
    dsf_creds_t creds;
    dsf_sigv4_opts_t opts;
    dsf_sigv4_trace_t trace;
    req_t r;
    apr_time_t now;
    const char *host, *url, *region, *service;
    int nin, i;
    apr_status_t rv;

    if ((rv = read_file(p, apr_pstrcat(p, cdir, "/context.json", NULL), &ctx_txt, &ctx_len))
        || (rv = dsf_json_parse(&ctx, p, ctx_txt, ctx_len, &jerr))
        || !(cj = dsf_json_get(ctx, "credentials", p))) {
        ok(0, "%s: context.json readable", name);
        return 0;
    }
    memset(&creds, 0, sizeof(creds));
    creds.akid = dsf_json_get_str(cj, "access_key_id");
    creds.secret = dsf_json_get_str(cj, "secret_access_key");
    creds.token = dsf_json_get_str(cj, "token");
    region = dsf_json_get_str(ctx, "region");
    service = dsf_json_get_str(ctx, "service");
    opts.normalize = dsf_json_get_bool(ctx, "normalize", 1);
    opts.sign_body = dsf_json_get_bool(ctx, "sign_body", 0);
    opts.omit_session_token = dsf_json_get_bool(ctx, "omit_session_token", 0);
    if (parse_time(dsf_json_get_str(ctx, "timestamp"), &now)) {
        ok(0, "%s: context.json timestamp", name);
        return 0;
    }
    if ((rv = read_file(p, apr_pstrcat(p, cdir, "/request.txt", NULL), &req_txt, &req_len))
        || (rv = parse_request(p, req_txt, req_len, &r))) {
        ok(0, "%s: request.txt parses", name);
        return 0;
    }
    host = dsf_header_get(r.headers, "Host");
    url = apr_pstrcat(p, "https://", host ? host : "example.amazonaws.com", r.target, NULL);
    nin = r.headers->nelts;
    memset(&trace, 0, sizeof(trace));
    rv = dsf_sigv4_sign_ex(p, NULL, &creds, region, service, now, r.method, url,
                           r.headers, r.body, r.body_len, &opts, &trace);
    if (!ok(rv == APR_SUCCESS, "%s: signs", name)) {
        printf("#   %s\n", dsf_strerror(rv, p));
        return 0;
    }
#define EXPECT(file, got, label) do { \
        if (read_file(p, apr_pstrcat(p, cdir, "/" file, NULL), &want, &want_len)) \
            ok(0, "%s: %s present", name, file); \
        else \
            is_text((got), chomp(want), apr_pstrcat(p, name, ": ", label, NULL)); \
    } while (0)
    EXPECT("header-canonical-request.txt", trace.canonical_request, "canonical request");
    EXPECT("header-string-to-sign.txt", trace.string_to_sign, "string to sign");
    EXPECT("header-signature.txt", trace.signature, "signature");
    {
        /* The request as sent: its own lines, then what the signer appended. */
        const char *sent = apr_pstrcat(p, r.method, " ", r.target, " ", r.version, "\n", NULL);
        for (i = 0; i < r.raw_lines->nelts; i++)
            sent = apr_pstrcat(p, sent, APR_ARRAY_IDX(r.raw_lines, i, const char *), "\n", NULL);
        for (i = nin; i < r.headers->nelts; i++) {
            const dsf_header_t *h = &APR_ARRAY_IDX(r.headers, i, dsf_header_t);
            sent = apr_pstrcat(p, sent, h->name, ":", h->value, "\n", NULL);
        }
        sent = apr_pstrcat(p, sent, "\n", apr_pstrmemdup(p, r.body, r.body_len), NULL);
        if (read_file(p, apr_pstrcat(p, cdir, "/header-signed-request.txt", NULL), &want, &want_len))
            ok(0, "%s: header-signed-request.txt present", name);
        else
            is_text(sent, want, apr_pstrcat(p, name, ": signed request", NULL));
    }
#undef EXPECT
    return 1;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int run_dir(apr_pool_t *pool, const char *dir)
{
    apr_dir_t *d;
    apr_finfo_t fi;
    apr_array_header_t *names = apr_array_make(pool, 64, sizeof(const char *));
    int i, ncases = 0;

    if (apr_dir_open(&d, dir, pool)) {
        ok(0, "suite folder %s readable", dir);
        return 0;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d) == APR_SUCCESS) {
        apr_finfo_t rf;
        if (fi.filetype != APR_DIR || fi.name[0] == '.')
            continue;
        if (apr_stat(&rf, apr_pstrcat(pool, dir, "/", fi.name, "/request.txt", NULL),
                     APR_FINFO_TYPE, pool))
            continue;                       /* not a case folder */
        APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(pool, fi.name);
    }
    apr_dir_close(d);
    qsort(names->elts, (apr_size_t)names->nelts, sizeof(const char *), name_cmp);
    for (i = 0; i < names->nelts; i++) {
        apr_pool_t *p;
        apr_pool_create(&p, pool);
        ncases += run_case(p, dir, APR_ARRAY_IDX(names, i, const char *));
        apr_pool_destroy(p);
    }
    ok(names->nelts > 0, "%s: %d case folders found", dir, names->nelts);
    printf("# %s: %d cases run\n", dir, ncases);
    return ncases;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *pool;
    int i;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&pool, NULL);
    if (argc < 2)
        run_dir(pool, "../shared/sigv4-test-suite");
    for (i = 1; i < argc; i++)
        run_dir(pool, argv[i]);
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
