/* Credentials from the environment, the shared credentials file and the
 * configuration; DosificadorCredentials parsing; Expiration times. No network:
 * container and IMDS are left unconfigured (IMDS disabled) throughout. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_file_io.h>
#include "tap.h"
#include "dsf_creds.h"
#include "../creds/env.h"

static apr_pool_t *pool;
static char tmpdir[] = "/tmp/dsf-creds-XXXXXX";
static int log_lines, log_leaks;

/* Every log line is shown as a TAP comment and searched for the test's
 * secrets and tokens, which all carry "secret-"/"-secret"/"token-"/"-token". */
static void log_sink(void *baton, const char *file, int line, int level,
                     apr_status_t rv, const char *msg)
{
    log_lines++;
    if (strstr(msg, "secret-") || strstr(msg, "-secret") || strstr(msg, "token-")
        || strstr(msg, "-token") || strstr(msg, "s3cr3t"))
        log_leaks++;
    printf("# log %d: %s\n", level, msg);
}

static const char *write_file(const char *name, const char *content)
{
    const char *path = apr_pstrcat(pool, tmpdir, "/", name, NULL);
    FILE *f = fopen(path, "w");
    fputs(content, f);
    fclose(f);
    return path;
}

static dsf_creds_provider_t *provider(dsf_creds_source_e src, const char *file, const char *profile)
{
    dsf_creds_conf_t conf;
    dsf_creds_provider_t *cp = NULL;
    memset(&conf, 0, sizeof(conf));
    conf.source = src;
    conf.file = file;
    conf.profile = profile;
    dsf_creds_provider_create(&cp, pool, &conf);
    return cp;
}

/* get from a fresh provider; returns rv, fills out, and the source in *src */
static apr_status_t get_once(dsf_creds_source_e s, const char *file, const char *profile,
                             dsf_creds_t *out, const char **src)
{
    dsf_creds_provider_t *cp = provider(s, file, profile);
    apr_status_t rv;
    memset(out, 0, sizeof(*out));
    rv = dsf_creds_get(cp, pool, out);
    if (src)
        *src = dsf_creds_source(cp, pool);
    return rv;
}

static const char *check_why(const dsf_creds_conf_t *conf, apr_status_t *prv)
{
    const char *why = NULL;
    *prv = dsf_creds_check(conf, pool, &why);
    return why;
}

static void test_time(void)
{
    apr_time_t t = 0;
    is_int(dsf_creds_time_parse("2026-12-04T21:00:00Z", &t), APR_SUCCESS, "time: AWS form parses");
    is_int(apr_time_sec(t), 1796418000LL, "time: 2026-12-04T21:00:00Z is 1796418000");
    is_int(dsf_creds_time_parse("2026-12-04T21:00:00.123Z", &t), APR_SUCCESS, "time: fraction");
    is_int(apr_time_sec(t), 1796418000LL, "time: fraction ignored");
    is_int(dsf_creds_time_parse("2026-12-04T23:30:00+02:30", &t), APR_SUCCESS, "time: offset");
    is_int(apr_time_sec(t), 1796418000LL, "time: +02:30 is subtracted");
    is_int(dsf_creds_time_parse("2024-02-29T00:00:00Z", &t), APR_SUCCESS, "time: leap day");
    is_int(apr_time_sec(t), 1709164800LL, "time: 2024-02-29 is 1709164800");
    is_int(dsf_creds_time_parse("1970-01-01T00:00:00Z", &t), APR_SUCCESS, "time: epoch");
    is_int(t, 0, "time: epoch is 0");
    {
        static const char *const bad[] = {
            "", "2026-12-04", "2026-12-04T21:00:00", "2026-12-04T21:00:00ZZ",
            "2026-12-04 21:00:00Z", "2026-02-30T00:00:00Z", "2023-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T21:60:00Z",
            "2026-12-04T21:00:00.Z", "2026-12-04T21:00:00.1234567890Z", "1969-12-31T23:59:59Z",
            "2026-12-04T21:00:00+2:00", "+026-12-04T21:00:00Z", "2026-1a-04T21:00:00Z", NULL };
        int i, rejected = 0;
        for (i = 0; bad[i]; i++) {
            if (dsf_creds_time_parse(bad[i], &t) == DSF_EPARSE)
                rejected++;
            else
                printf("# accepted '%s'\n", bad[i]);
        }
        is_int(rejected, i, "time: malformed timestamps rejected");
    }
}

static void test_conf_parse(void)
{
    dsf_creds_conf_t c;
    const char *why = NULL;
    char *a_env[] = { "env" };
    char *a_file3[] = { "file", "/etc/dsf/creds", "prod" };
    char *a_static[] = { "static", "AKIDEXAMPLE", "s3cr3t-value", "tok-value" };
    char *a_chain[] = { "CHAIN" };

    is_int(dsf_creds_conf_parse(&c, pool, 1, a_env, &why), APR_SUCCESS, "conf: env");
    is_int(c.source, DSF_CREDS_ENV, "conf: env source");
    is_int(dsf_creds_conf_parse(&c, pool, 1, a_chain, &why), APR_SUCCESS, "conf: chain, any case");
    is_int(c.source, DSF_CREDS_CHAIN, "conf: chain source");
    is_int(dsf_creds_conf_parse(&c, pool, 3, a_file3, &why), APR_SUCCESS, "conf: file PATH PROFILE");
    is_str(c.file, "/etc/dsf/creds", "conf: file path kept");
    is_str(c.profile, "prod", "conf: file profile kept");
    is_int(dsf_creds_conf_parse(&c, pool, 1, a_file3, &why), APR_SUCCESS, "conf: bare file");
    ok(c.source == DSF_CREDS_FILE && !c.file && !c.profile, "conf: bare file uses the defaults");
    is_int(dsf_creds_conf_parse(&c, pool, 4, a_static, &why), APR_SUCCESS, "conf: static with token");
    ok(c.source == DSF_CREDS_STATIC && !strcmp(c.akid, "AKIDEXAMPLE")
       && !strcmp(c.secret, "s3cr3t-value") && !strcmp(c.token, "tok-value"), "conf: static values");
    is_int(dsf_creds_conf_parse(&c, pool, 3, a_static, &why), APR_SUCCESS, "conf: static without token");
    ok(c.token == NULL, "conf: static token absent");

    {
        struct { int argc; char *argv[6]; const char *want; } bad[] = {
            { 0, { NULL }, "needs a source" },
            { 1, { "imsd" }, "unknown source 'imsd'" },
            { 2, { "env", "x" }, "env takes no arguments" },
            { 2, { "imds", "x" }, "imds takes no arguments" },
            { 2, { "container", "x" }, "container takes no arguments" },
            { 4, { "file", "/a", "b", "c" }, "at most a PATH and a PROFILE" },
            { 2, { "file", "" }, "empty PATH" },
            { 3, { "file", "/a", "[x]" }, "PROFILE" },
            { 2, { "static", "AKID" }, "needs AKID SECRET" },
            { 5, { "static", "A", "B", "C", "D" }, "needs AKID SECRET" },
            { 3, { "static", "AKID", "bad secret\r\nX-Injected: 1" }, "SECRET must be printable" },
            { 4, { "static", "AKID", "s3cr3t", "" }, "TOKEN must be printable" },
        };
        int i;
        for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
            apr_status_t rv;
            why = NULL;
            rv = dsf_creds_conf_parse(&c, pool, bad[i].argc, bad[i].argv, &why);
            ok(rv == DSF_ECONFIG && why && strstr(why, bad[i].want),
               "conf: refused, why says '%s'", bad[i].want);
            if (why && strstr(why, "bad secret"))
                ok(0, "conf: why quotes the secret");
        }
    }
}

static void test_env(void)
{
    dsf_creds_t c;
    const char *src = NULL;
    dsf_creds_provider_t *cp;
    apr_status_t rv;

    creds_clean_env();
    /* created before the variables exist: they are read when resolving */
    cp = provider(DSF_CREDS_ENV, NULL, NULL);
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret-1", 1);
    setenv("AWS_SESSION_TOKEN", "env-token-1", 1);
    memset(&c, 0, sizeof(c));
    rv = dsf_creds_get(cp, pool, &c);
    is_int(rv, APR_SUCCESS, "env: credentials from the environment");
    is_str(c.akid, "AKIAENV0000000000001", "env: access key id");
    is_str(c.secret, "env-secret-1", "env: secret");
    is_str(c.token, "env-token-1", "env: session token");
    is_int(c.expires, 0, "env: no expiry");
    is_str(dsf_creds_source(cp, pool), "env", "env: source says env");

    unsetenv("AWS_SESSION_TOKEN");
    setenv("AWS_CREDENTIAL_EXPIRATION", "2099-01-01T00:00:00Z", 1);
    rv = get_once(DSF_CREDS_ENV, NULL, NULL, &c, NULL);
    ok(rv == APR_SUCCESS && c.token == NULL, "env: no AWS_SESSION_TOKEN, no token");
    is_int(apr_time_sec(c.expires), 4070908800LL, "env: AWS_CREDENTIAL_EXPIRATION honoured");
    unsetenv("AWS_CREDENTIAL_EXPIRATION");

    /* in a child process, the parent's cached credentials do not count */
    {
        pid_t pid = fork();
        if (pid == 0) {
            dsf_creds_t cc;
            setenv("AWS_ACCESS_KEY_ID", "AKIACHILD00000000002", 1);
            if (dsf_creds_get(cp, pool, &cc) != APR_SUCCESS)
                _exit(2);
            _exit(strcmp(cc.akid, "AKIACHILD00000000002") ? 1 : 0);
        }
        else {
            int st = -1;
            waitpid(pid, &st, 0);
            ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
               "env: a forked child resolves its own environment, not the parent's cache");
        }
    }

    unsetenv("AWS_SECRET_ACCESS_KEY");
    {
        dsf_creds_conf_t conf = { .source = DSF_CREDS_ENV };
        const char *why = check_why(&conf, &rv);
        ok(rv == DSF_ECREDS && why && strstr(why, "AWS_SECRET_ACCESS_KEY is not"),
           "env: key id without secret fails, saying so: %s", why ? why : "");
    }
    setenv("AWS_SECRET_ACCESS_KEY", "env secret with a space", 1);
    rv = get_once(DSF_CREDS_ENV, NULL, NULL, &c, NULL);
    is_int(rv, DSF_ECREDS, "env: a secret that cannot go in a header is refused");
    creds_clean_env();
    rv = get_once(DSF_CREDS_ENV, NULL, NULL, &c, &src);
    is_int(rv, DSF_ECREDS, "env: nothing set, no credentials");
    is_str(src, "none", "env: source none when nothing resolved");
}

static const char *CREDS_FILE =
    "# a comment\n"
    "; another comment\n"
    "[default]\n"
    "aws_access_key_id=AKIADEFAULT000000001\n"
    "aws_secret_access_key = default-secret\n"
    "\n"
    "  [ prod ]  \n"
    "\taws_access_key_id   =   AKIAPROD000000000001   # inline comment\n"
    "aws_secret_access_key\t=prod-secret ; another\n"
    "aws_session_token = prod-token\n"
    "region = eu-west-1\n"
    "[nosecret]\n"
    "aws_access_key_id = AKIANOSECRET00000001\n"
    "[nokey]\n"
    "aws_secret_access_key = nokey-secret-value\n"
    "[assumer]\n"
    "role_arn = arn:aws:iam::123456789012:role/x\n"
    "source_profile = default\n";

static void test_file(void)
{
    dsf_creds_t c;
    const char *path, *src = NULL, *why;
    dsf_creds_conf_t conf;
    apr_status_t rv;
    char *big;

    creds_clean_env();
    path = write_file("credentials", CREDS_FILE);

    rv = get_once(DSF_CREDS_FILE, path, NULL, &c, &src);
    is_int(rv, APR_SUCCESS, "file: default profile");
    is_str(c.akid, "AKIADEFAULT000000001", "file: default key id");
    is_str(c.secret, "default-secret", "file: whitespace around = ignored");
    ok(c.token == NULL && c.expires == 0, "file: no token, no expiry");
    is_str(src, apr_psprintf(pool, "file %s [default]", path), "file: source names path and profile");

    rv = get_once(DSF_CREDS_FILE, path, "prod", &c, &src);
    is_int(rv, APR_SUCCESS, "file: named profile");
    is_str(c.akid, "AKIAPROD000000000001", "file: [ prod ] with spaces, inline # comment dropped");
    is_str(c.secret, "prod-secret", "file: inline ; comment dropped");
    is_str(c.token, "prod-token", "file: session token");

    setenv("AWS_PROFILE", "prod", 1);
    rv = get_once(DSF_CREDS_FILE, path, NULL, &c, NULL);
    ok(rv == APR_SUCCESS && !strcmp(c.akid, "AKIAPROD000000000001"), "file: AWS_PROFILE picks the profile");
    rv = get_once(DSF_CREDS_FILE, path, "default", &c, NULL);
    ok(rv == APR_SUCCESS && !strcmp(c.akid, "AKIADEFAULT000000001"),
       "file: the configured profile beats AWS_PROFILE");
    unsetenv("AWS_PROFILE");

    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    rv = get_once(DSF_CREDS_FILE, NULL, "prod", &c, NULL);
    ok(rv == APR_SUCCESS && !strcmp(c.akid, "AKIAPROD000000000001"), "file: AWS_SHARED_CREDENTIALS_FILE");
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");

    /* HOME/.aws/credentials by default, and ~ expanded */
    mkdir(apr_pstrcat(pool, tmpdir, "/.aws", NULL), 0700);
    write_file(".aws/credentials", "[default]\naws_access_key_id=AKIAHOME000000000001\n"
                                   "aws_secret_access_key=home-secret\n");
    setenv("HOME", tmpdir, 1);
    rv = get_once(DSF_CREDS_FILE, NULL, NULL, &c, &src);
    ok(rv == APR_SUCCESS && !strcmp(c.akid, "AKIAHOME000000000001"), "file: ~/.aws/credentials by default");
    is_str(src, apr_psprintf(pool, "file %s/.aws/credentials [default]", tmpdir), "file: default path in source");
    rv = get_once(DSF_CREDS_FILE, "~/credentials", "prod", &c, NULL);
    ok(rv == APR_SUCCESS && !strcmp(c.akid, "AKIAPROD000000000001"), "file: leading ~/ is HOME");

    memset(&conf, 0, sizeof(conf));
    conf.source = DSF_CREDS_FILE;
    conf.file = path;
    conf.profile = "nosecret";
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "no aws_secret_access_key") && strstr(why, "[nosecret]"),
       "file: missing secret named: %s", why ? why : "");
    conf.profile = "nokey";
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "no aws_access_key_id") && !strstr(why, "nokey-secret"),
       "file: missing key id named, secret not quoted: %s", why ? why : "");
    conf.profile = "assumer";
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "role_arn"), "file: role profile says it is unsupported");
    conf.profile = "absent";
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "[absent]: no such profile"), "file: missing profile: %s", why ? why : "");
    conf.profile = NULL;
    conf.file = apr_pstrcat(pool, tmpdir, "/nonexistent", NULL);
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "nonexistent"), "file: missing file: %s", why ? why : "");
    conf.file = tmpdir;
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "not a regular file"), "file: a directory is refused");

    conf.file = write_file("bad1", "[default]\naws_access_key_id = A\nthis line is junk\n");
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "line 3"), "file: junk line reported with its number: %s", why ? why : "");
    conf.file = write_file("bad2", "[default\naws_access_key_id = A\n");
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "line 1: section without ']'"), "file: unclosed section");

    big = apr_palloc(pool, 300 * 1024 + 1);
    memset(big, '#', 300 * 1024);
    big[300 * 1024] = '\0';
    conf.file = write_file("big", big);
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "larger than"), "file: over the size cap: %s", why ? why : "");
    big[9000] = '\0';
    conf.file = write_file("longline", apr_pstrcat(pool, "[default]\n", big, "\n", NULL));
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && why && strstr(why, "line 2 is longer"), "file: over the line cap: %s", why ? why : "");
}

static void test_static_and_chain(void)
{
    dsf_creds_conf_t conf;
    dsf_creds_provider_t *cp = NULL;
    dsf_creds_t c;
    const char *why, *path;
    apr_status_t rv;

    creds_clean_env();
    memset(&conf, 0, sizeof(conf));
    conf.source = DSF_CREDS_STATIC;
    conf.akid = "AKIASTATIC0000000001";
    conf.secret = "static-secret";
    dsf_creds_provider_create(&cp, pool, &conf);
    memset(&c, 0, sizeof(c));
    rv = dsf_creds_get(cp, pool, &c);
    ok(rv == APR_SUCCESS && !strcmp(c.akid, "AKIASTATIC0000000001") && !strcmp(c.secret, "static-secret")
       && !c.token && !c.expires, "static: the configured keys");
    is_str(dsf_creds_source(cp, pool), "static", "static: source says static");
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000009", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret-9", 1);
    rv = dsf_creds_get(cp, pool, &c);
    ok(rv == APR_SUCCESS && !strcmp(c.akid, "AKIASTATIC0000000001"), "static: the environment is not consulted");

    /* chain: env first, then the file; a partial env stops the chain */
    path = write_file("chain", "[default]\naws_access_key_id=AKIAFILE000000000001\n"
                               "aws_secret_access_key=file-secret\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    memset(&conf, 0, sizeof(conf));
    why = check_why(&conf, &rv);
    ok(rv == APR_SUCCESS && !strcmp(why, "env"), "chain: env beats file");
    unsetenv("AWS_ACCESS_KEY_ID");
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && strstr(why, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"),
       "chain: a half-set environment is an error, not a fall-through: %s", why);
    unsetenv("AWS_SECRET_ACCESS_KEY");
    why = check_why(&conf, &rv);
    ok(rv == APR_SUCCESS && !strcmp(why, apr_psprintf(pool, "file %s [default]", path)), "chain: then the file");

    /* nothing anywhere: one sentence naming each source and why */
    setenv("AWS_SHARED_CREDENTIALS_FILE", apr_pstrcat(pool, tmpdir, "/none", NULL), 1);
    why = check_why(&conf, &rv);
    ok(rv == DSF_ECREDS && strstr(why, "env: AWS_ACCESS_KEY_ID is not set")
       && strstr(why, "/none: No such file") && strstr(why, "container: neither")
       && strstr(why, "imds: disabled by AWS_EC2_METADATA_DISABLED") && !strchr(why, '\n'),
       "chain: check names every source: %s", why);
    cp = NULL;
    dsf_creds_provider_create(&cp, pool, &conf);
    is_int(dsf_creds_get(cp, pool, &c), DSF_ECREDS, "chain: get fails with DSF_ECREDS");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (!mkdtemp(tmpdir)) {
        printf("Bail out! mkdtemp\n");
        return 1;
    }
    creds_clean_env();
    setenv("HOME", tmpdir, 1);
    dsf_log_set(log_sink, NULL, DSF_LOG_DEBUG);
    test_time();
    test_conf_parse();
    test_env();
    test_file();
    test_static_and_chain();
    ok(log_lines > 0 && log_leaks == 0, "logs: %d lines, none with a secret or token", log_lines);
    {
        /* leave no files behind */
        const char *cmd = apr_psprintf(pool, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", tmpdir);
    }
    apr_pool_destroy(pool);
    apr_terminate();
    return done_testing();
}
