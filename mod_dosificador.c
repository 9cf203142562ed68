/* mod_dosificador: httpd glue. Directives become plain values for the core
 * (src/, include/); hooks run the ingest handler in the children and one
 * unprivileged dispatcher process per doser, forked and watched by the parent
 * (as mod_cgid does with its daemon). */
#include <signal.h>
#include <unistd.h>
#include <string.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "util_script.h"
#include "apr_strings.h"
#include "apr_shm.h"
#include "apr_thread_mutex.h"

#include "dsf.h"
#include "dsf_aws.h"
#include "dsf_batch.h"
#include "dsf_conf.h"
#include "dsf_creds.h"
#include "dsf_dispatch.h"
#include "dsf_http.h"
#include "dsf_ingest.h"
#include "dsf_json.h"
#include "dsf_sqs.h"
#include "dsf_stats.h"
#include "dsf_status.h"

/* Directive names: a typo is a compile error. */
#define DIR_DOSER       "Dosificador"
#define DIR_REGION      "DosificadorRegion"
#define DIR_ENDPOINT    "DosificadorEndpoint"
#define DIR_CREDENTIALS "DosificadorCredentials"
#define DIR_ENQUEUE     "DosificadorEnqueue"
#define DIR_MAX_BODY    "DosificadorMaxBody"
#define DIR_MAX_MESSAGE "DosificadorMaxMessage"
#define DIR_MAX_ELEMENTS "DosificadorMaxElements"
#define DIR_TIMEOUT     "DosificadorTimeout"
#define DIR_RETRY_AFTER "DosificadorRetryAfter"
#define DIR_TLS_VERIFY  "DosificadorTLSVerify"
#define DIR_CA_FILE     "DosificadorCAFile"
#define DIR_LINGER      "DosificadorBatchLinger"

#define SHM_KEY    "mod_dosificador-shm"
#define USED_KEY   "mod_dosificador-used"
#define RESTART_GUARD apr_time_from_sec(2)
#define REAP_WAIT     apr_time_from_sec(1)

module AP_MODULE_DECLARE_DATA dosificador_module;
APLOG_USE_MODULE(dosificador);

/* A doser as configured, plus what the parent keeps to supervise it. */
typedef struct {
    dsf_doser_conf_t conf;
    const char *region;
    dsf_aws_conf_t aws;          /* endpoints resolved at post_config */
    dsf_slot_t *slot;
    apr_proc_t *proc;            /* the dispatcher, 0 pid when not running */
    apr_time_t started;
    apr_pool_t *pconf;
    dsf_batcher_t *batcher;      /* per child, when threads can share calls */
} doser_t;

/* Global configuration: only the main server holds it; vhosts share it. */
typedef struct {
    apr_hash_t *dosers;          /* name -> doser_t */
    apr_array_header_t *order;   /* of doser_t *, in configuration order */
    const char *region;
    const char *sqs_endpoint, *lambda_endpoint;
    dsf_creds_conf_t creds;
    apr_interval_time_t timeout;
    int retry_after;
    int verify_tls;
    const char *ca_file;
    apr_interval_time_t linger;
} srv_conf_t;

typedef struct {
    const char *enqueue;         /* doser name */
    apr_size_t max_body, max_message;
    int max_elements;
} dir_conf_t;

typedef struct {
    const char *name, *file;
    int line;
} used_t;

/* Per child process (statics are per generation: the DSO is reloaded). */
typedef struct http_client_t {
    struct http_client_t *next;
    dsf_http_t *http;
    dsf_sigv4_cache_t sigcache;  /* the signing key, derived once a day */
} http_client_t;

static struct {
    apr_pool_t *pool;
    apr_thread_mutex_t *mu;
    http_client_t *idle;
    dsf_creds_provider_t *creds;
} child;

static dsf_shared_t *shared;
static volatile sig_atomic_t dispatcher_stop;

/* ---- logging: the core's messages go to the error log -------------------- */

static void log_sink(void *baton, const char *file, int line, int level,
                     apr_status_t rv, const char *msg)
{
    /* APR cannot describe the core's own codes: say them in words. */
    if (rv >= DSF_E_BASE && rv < DSF_E_BASE + 100) {
        char why[64];
        apr_cpystrn(why, dsf_strerror(rv, NULL), sizeof(why));
        ap_log_error_(file, line, APLOG_MODULE_INDEX, level, 0, (server_rec *)baton,
                      "%s [%s]", msg, why);
    }
    else
        ap_log_error_(file, line, APLOG_MODULE_INDEX, level, rv, (server_rec *)baton,
                      "%s", msg);
}

/* ---- configuration ------------------------------------------------------ */

static void *create_srv(apr_pool_t *p, server_rec *s)
{
    srv_conf_t *c = apr_pcalloc(p, sizeof(*c));
    c->dosers = apr_hash_make(p);
    c->order = apr_array_make(p, 4, sizeof(doser_t *));
    c->timeout = apr_time_from_sec(10);
    c->retry_after = 5;
    c->verify_tls = 1;
    c->linger = apr_time_from_msec(2);
    return c;
}

static void *merge_srv(apr_pool_t *p, void *base, void *add)
{
    return base;        /* every directive here is global: vhosts share the main's */
}

static void *create_dir(apr_pool_t *p, char *dir)
{
    return apr_pcalloc(p, sizeof(dir_conf_t));
}

static void *merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    dir_conf_t *base = basev, *add = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->enqueue = add->enqueue ? add->enqueue : base->enqueue;
    c->max_body = add->max_body ? add->max_body : base->max_body;
    c->max_message = add->max_message ? add->max_message : base->max_message;
    c->max_elements = add->max_elements ? add->max_elements : base->max_elements;
    return c;
}

static srv_conf_t *srv_conf(server_rec *s)
{
    return ap_get_module_config(s->module_config, &dosificador_module);
}

static const char *global_only(cmd_parms *cmd)
{
    return ap_check_cmd_context(cmd, GLOBAL_ONLY);
}

static const char *set_doser(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    srv_conf_t *c = srv_conf(cmd->server);
    const char *why, *err;
    doser_t *d;

    if ((err = global_only(cmd)))
        return err;
    if (argc < 1)
        return DIR_DOSER ": needs a name and key=value settings";
    if (apr_hash_get(c->dosers, argv[0], APR_HASH_KEY_STRING))
        return apr_psprintf(cmd->pool, DIR_DOSER " %s: duplicate name, a doser by that name "
                            "is already defined", argv[0]);
    if (strlen(argv[0]) >= DSF_NAME_MAX || strchr(argv[0], '='))
        return apr_psprintf(cmd->pool, DIR_DOSER " %s: the name must come first and be "
                            "shorter than %d characters", argv[0], DSF_NAME_MAX);
    d = apr_pcalloc(cmd->pool, sizeof(*d));
    if (dsf_doser_conf_parse(&d->conf, cmd->pool, argv[0], argc - 1, argv + 1, &why) != APR_SUCCESS)
        return apr_psprintf(cmd->pool, DIR_DOSER " %s: %s", argv[0], why);
    apr_hash_set(c->dosers, d->conf.name, APR_HASH_KEY_STRING, d);
    APR_ARRAY_PUSH(c->order, doser_t *) = d;
    return NULL;
}

static const char *set_region(cmd_parms *cmd, void *dc, const char *v)
{
    const char *err = global_only(cmd);
    if (err)
        return err;
    srv_conf(cmd->server)->region = v;
    return NULL;
}

static const char *check_url(cmd_parms *cmd, const char *dir, const char *v)
{
    if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
        return apr_psprintf(cmd->pool, "%s: '%s' is not an http:// or https:// URL", dir, v);
    return NULL;
}

static const char *set_endpoint(cmd_parms *cmd, void *dc, const char *svc, const char *url)
{
    srv_conf_t *c = srv_conf(cmd->server);
    const char *err;
    apr_size_t len = strlen(url);

    if ((err = global_only(cmd)) || (err = check_url(cmd, DIR_ENDPOINT, url)))
        return err;
    while (len > 0 && url[len - 1] == '/')
        len--;
    url = apr_pstrmemdup(cmd->pool, url, len);
    if (!strcasecmp(svc, "sqs"))
        c->sqs_endpoint = url;
    else if (!strcasecmp(svc, "lambda"))
        c->lambda_endpoint = url;
    else
        return apr_psprintf(cmd->pool, DIR_ENDPOINT ": unknown service '%s' (sqs or lambda)", svc);
    return NULL;
}

static const char *set_credentials(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    const char *err = global_only(cmd), *why;
    if (err)
        return err;
    if (dsf_creds_conf_parse(&srv_conf(cmd->server)->creds, cmd->pool, argc, argv, &why)
        != APR_SUCCESS)
        return apr_psprintf(cmd->pool, DIR_CREDENTIALS ": %s", why);
    return NULL;
}

static const char *set_enqueue(cmd_parms *cmd, void *dc, const char *name)
{
    apr_array_header_t *used = NULL;
    used_t *u;
    ((dir_conf_t *)dc)->enqueue = name;
    /* Checked against the defined dosers once the whole file is read. */
    apr_pool_userdata_get((void **)&used, USED_KEY, cmd->pool);
    if (!used) {
        used = apr_array_make(cmd->pool, 4, sizeof(used_t));
        apr_pool_userdata_setn(used, USED_KEY, NULL, cmd->pool);
    }
    u = apr_array_push(used);
    u->name = name;
    u->file = cmd->directive->filename;
    u->line = cmd->directive->line_num;
    return NULL;
}

static const char *parse_size(cmd_parms *cmd, const char *v, apr_size_t max, apr_size_t *out)
{
    char *end;
    apr_int64_t n = apr_strtoi64(v, &end, 10);
    if (*end == 'k' || *end == 'K')
        n *= 1024, end++;
    else if (*end == 'm' || *end == 'M')
        n *= 1024 * 1024, end++;
    if (*end || n < 1 || (apr_uint64_t)n > max)
        return apr_psprintf(cmd->pool, "%s: must be a size between 1 and %" APR_SIZE_T_FMT
                            " bytes (k and M suffixes allowed), got '%s'",
                            cmd->cmd->name, max, v);
    *out = (apr_size_t)n;
    return NULL;
}

static const char *set_max_body(cmd_parms *cmd, void *dc, const char *v)
{
    return parse_size(cmd, v, (apr_size_t)1 << 30, &((dir_conf_t *)dc)->max_body);
}

static const char *set_max_message(cmd_parms *cmd, void *dc, const char *v)
{
    return parse_size(cmd, v, 1024 * 1024, &((dir_conf_t *)dc)->max_message);
}

static const char *set_max_elements(cmd_parms *cmd, void *dc, const char *v)
{
    apr_size_t n;
    const char *err = parse_size(cmd, v, 1000000, &n);
    ((dir_conf_t *)dc)->max_elements = (int)n;
    return err;
}

static const char *set_timeout(cmd_parms *cmd, void *dc, const char *v)
{
    const char *err = global_only(cmd);
    apr_interval_time_t t;
    if (err)
        return err;
    if (dsf_duration_parse(v, &t) != APR_SUCCESS || t < apr_time_from_msec(100))
        return apr_psprintf(cmd->pool, DIR_TIMEOUT ": must be a duration of at least 100ms "
                            "such as 10s or 500ms, got '%s'", v);
    srv_conf(cmd->server)->timeout = t;
    return NULL;
}

static const char *set_retry_after(cmd_parms *cmd, void *dc, const char *v)
{
    const char *err = global_only(cmd);
    apr_size_t n;
    if (err || (err = parse_size(cmd, v, 3600, &n)))
        return err;
    srv_conf(cmd->server)->retry_after = (int)n;
    return NULL;
}

static const char *set_linger(cmd_parms *cmd, void *dc, const char *v)
{
    const char *err = global_only(cmd);
    apr_interval_time_t t;
    if (err)
        return err;
    if (dsf_duration_parse(v, &t) != APR_SUCCESS || t > apr_time_from_sec(1))
        return apr_psprintf(cmd->pool, DIR_LINGER ": must be a duration up to 1s such as "
                            "2ms, or 0 to send each request's objects alone, got '%s'", v);
    srv_conf(cmd->server)->linger = t;
    return NULL;
}

static const char *set_tls_verify(cmd_parms *cmd, void *dc, int on)
{
    const char *err = global_only(cmd);
    if (err)
        return err;
    srv_conf(cmd->server)->verify_tls = on;
    return NULL;
}

static const char *set_ca_file(cmd_parms *cmd, void *dc, const char *v)
{
    const char *err = global_only(cmd);
    if (err)
        return err;
    srv_conf(cmd->server)->ca_file = ap_server_root_relative(cmd->pool, v);
    return NULL;
}

static const command_rec cmds[] = {
    AP_INIT_TAKE_ARGV(DIR_DOSER, set_doser, NULL, RSRC_CONF,
        "NAME queue=URL lambda=FUNCTION [perMinute=N] [perInvocation=M] [window=60s] "
        "[visibility=300s] [payload=array|records] [maxPayload=BYTES] [parallel=N]"),
    AP_INIT_TAKE1(DIR_REGION, set_region, NULL, RSRC_CONF, "AWS region, e.g. us-east-1"),
    AP_INIT_TAKE2(DIR_ENDPOINT, set_endpoint, NULL, RSRC_CONF, "sqs|lambda URL"),
    AP_INIT_TAKE_ARGV(DIR_CREDENTIALS, set_credentials, NULL, RSRC_CONF,
        "env | file [PATH [PROFILE]] | container | imds | static AKID SECRET [TOKEN]"),
    AP_INIT_TAKE1(DIR_ENQUEUE, set_enqueue, NULL, ACCESS_CONF,
        "the doser whose queue this location feeds"),
    AP_INIT_TAKE1(DIR_MAX_BODY, set_max_body, NULL, RSRC_CONF | ACCESS_CONF,
        "largest request body in bytes (default 1M)"),
    AP_INIT_TAKE1(DIR_MAX_MESSAGE, set_max_message, NULL, RSRC_CONF | ACCESS_CONF,
        "largest object in bytes, compact (default 256K, SQS allows up to 1M)"),
    AP_INIT_TAKE1(DIR_MAX_ELEMENTS, set_max_elements, NULL, RSRC_CONF | ACCESS_CONF,
        "most objects in one request (default 10000)"),
    AP_INIT_TAKE1(DIR_TIMEOUT, set_timeout, NULL, RSRC_CONF,
        "longest an AWS call may take (default 10s)"),
    AP_INIT_TAKE1(DIR_RETRY_AFTER, set_retry_after, NULL, RSRC_CONF,
        "seconds in Retry-After when SQS is unavailable (default 5)"),
    AP_INIT_FLAG(DIR_TLS_VERIFY, set_tls_verify, NULL, RSRC_CONF,
        "verify AWS's TLS certificates (default on)"),
    AP_INIT_TAKE1(DIR_CA_FILE, set_ca_file, NULL, RSRC_CONF, "CA bundle for TLS verification"),
    AP_INIT_TAKE1(DIR_LINGER, set_linger, NULL, RSRC_CONF,
        "how long a small request waits for others to share its SendMessageBatch "
        "(default 2ms, 0 off)"),
    { NULL }
};

/* ---- configtest: what can only be judged once the whole file is read ---- */

static int check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    srv_conf_t *c = srv_conf(s);
    apr_array_header_t *used = NULL;
    const char *why;
    int i;

    apr_pool_userdata_get((void **)&used, USED_KEY, pconf);
    for (i = 0; used && i < used->nelts; i++) {
        used_t *u = &APR_ARRAY_IDX(used, i, used_t);
        if (!apr_hash_get(c->dosers, u->name, APR_HASH_KEY_STRING)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "DSF00501: "
                         DIR_ENQUEUE " %s (%s:%d): doser '%s' is used but never defined "
                         "with " DIR_DOSER, u->name, u->file, u->line, u->name);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (c->order->nelts > DSF_MAX_DOSERS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "DSF00502: "
                     DIR_DOSER ": at most %d dosers", DSF_MAX_DOSERS);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Only configtest resolves credentials here: it may ask a metadata
     * service, and the parent of a running server does no network I/O. The
     * processes that sign resolve their own and log DSF03003 when they can't. */
    if (c->order->nelts && ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST
        && dsf_creds_check(&c->creds, ptemp, &why) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "DSF00503: "
                     DIR_CREDENTIALS ": no AWS credentials: %s", why);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* ---- the dispatchers ---------------------------------------------------- */

static void on_stop_signal(int sig)
{
    dispatcher_stop = 1;
}

/* The dispatcher process: unprivileged, never returns. */
static void dispatcher_main(server_rec *s, doser_t *d)
{
    apr_pool_t *p;
    dsf_creds_provider_t *creds;
    dsf_aws_conf_t aws_conf;
    dsf_aws_t *aws;
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    /* httpd signals its whole process group on restarts and stops: any of
     * them means "finish the tick under way, then exit". */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGWINCH, &sa, NULL);

    apr_pool_create(&p, d->pconf);
    ap_close_listeners();
    if (ap_run_drop_privileges(p, s)) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, 0, s, "DSF00504: "
                     "doser %s: dispatcher could not drop privileges; exiting", d->conf.name);
        _exit(APEXIT_CHILDFATAL);
    }
    aws_conf = d->aws;
    if (dsf_creds_provider_create(&creds, p, &srv_conf(s)->creds) != APR_SUCCESS
        || (aws_conf.creds = creds, dsf_aws_create(&aws, p, &aws_conf)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ALERT, 0, s, "DSF00505: "
                     "doser %s: dispatcher could not start", d->conf.name);
        _exit(APEXIT_CHILDFATAL);
    }
    dsf_dispatch_run(aws, p, &d->conf, d->slot, &dispatcher_stop);
    _exit(0);
}

static void dispatcher_maint(int reason, void *data, apr_wait_t status);

static apr_status_t start_dispatcher(server_rec *s, doser_t *d)
{
    apr_proc_t *proc = apr_pcalloc(d->pconf, sizeof(*proc));
    apr_status_t rv = apr_proc_fork(proc, d->pconf);

    if (rv == APR_INCHILD)
        dispatcher_main(s, d);
    if (rv != APR_INPARENT) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "DSF00506: "
                     "doser %s: could not fork the dispatcher", d->conf.name);
        return rv;
    }
    d->proc = proc;
    d->started = apr_time_now();
    d->slot->dispatcher_pid = (apr_uint32_t)proc->pid;
    apr_proc_other_child_register(proc, dispatcher_maint, d, NULL, d->pconf);
    return APR_SUCCESS;
}

static void dispatcher_maint(int reason, void *data, apr_wait_t status)
{
    doser_t *d = data;
    int mpm_state = AP_MPMQ_STARTING;

    switch (reason) {
    case APR_OC_REASON_DEATH:
    case APR_OC_REASON_LOST:
        apr_proc_other_child_unregister(d);
        d->proc = NULL;
        ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state);
        if (mpm_state == AP_MPMQ_STOPPING)
            break;
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, ap_server_conf, "DSF00507: "
                     "doser %s: dispatcher exited unexpectedly (status %d); %s",
                     d->conf.name, status,
                     apr_time_now() - d->started < RESTART_GUARD ? "restarting it shortly"
                                                                 : "restarting it");
        /* A dispatcher that dies at once is restarted by the monitor hook. */
        if (apr_time_now() - d->started >= RESTART_GUARD)
            start_dispatcher(ap_server_conf, d);
        break;
    case APR_OC_REASON_RESTART:
        apr_proc_other_child_unregister(d);
        break;
    case APR_OC_REASON_UNREGISTER:
        /* The configuration is going away: the dispatcher finishes its tick
         * and exits. Reap it here when that is quick (it usually sleeps), so
         * the MPM does not meet an unknown child; a long tick is not awaited:
         * the next generation's dispatcher waits for it through the slot. */
        if (d->proc && d->proc->pid > 0) {
            apr_time_t until = apr_time_now() + REAP_WAIT;
            int code;
            apr_exit_why_e why;
            kill(d->proc->pid, SIGTERM);
            while (apr_proc_wait(d->proc, &code, &why, APR_NOWAIT) == APR_CHILD_NOTDONE
                   && apr_time_now() < until)
                apr_sleep(apr_time_from_msec(20));
        }
        d->proc = NULL;
        break;
    }
}

/* The parent's watchdog, about every 10 s: restart dispatchers held back. */
static int monitor(apr_pool_t *p, server_rec *s)
{
    srv_conf_t *c = srv_conf(ap_server_conf ? ap_server_conf : s);
    int i, mpm_state = AP_MPMQ_STARTING;

    ap_mpm_query(AP_MPMQ_MPM_STATE, &mpm_state);
    if (!shared || mpm_state == AP_MPMQ_STOPPING)
        return DECLINED;
    for (i = 0; i < c->order->nelts; i++) {
        doser_t *d = APR_ARRAY_IDX(c->order, i, doser_t *);
        if (!d->proc && d->slot && apr_time_now() - d->started >= RESTART_GUARD)
            start_dispatcher(s, d);
    }
    return DECLINED;
}

/* The shared state survives restarts: it hangs off the process pool. */
static apr_status_t attach_shared(server_rec *s)
{
    apr_pool_t *pp = s->process->pool;
    apr_shm_t *shm = NULL;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&shm, SHM_KEY, pp);
    if (!shm) {
        if ((rv = apr_shm_create(&shm, sizeof(dsf_shared_t), NULL, pp)) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, "DSF00508: "
                         "could not create %" APR_SIZE_T_FMT " bytes of shared memory",
                         sizeof(dsf_shared_t));
            return rv;
        }
        memset(apr_shm_baseaddr_get(shm), 0, sizeof(dsf_shared_t));
        /* No cleanup pointing into this DSO: APR's own cleanup frees it. */
        apr_pool_userdata_setn(shm, SHM_KEY, NULL, pp);
    }
    shared = apr_shm_baseaddr_get(shm);
    if (shared->magic != DSF_SHARED_MAGIC || shared->version != DSF_SHARED_VERSION) {
        /* New, or laid out by another build of the module: start afresh
         * (every doser's first tick then waits a full window). */
        memset(shared, 0, sizeof(*shared));
        shared->magic = DSF_SHARED_MAGIC;
        shared->version = DSF_SHARED_VERSION;
    }
    return APR_SUCCESS;
}

static const char *env_first(const char *a, const char *b)
{
    const char *v = getenv(a);
    if ((!v || !*v) && b)
        v = getenv(b);
    return v && *v ? v : NULL;
}

/* Region and endpoints: directive, then the SDKs' environment variables,
 * then what the queue URL says, then AWS's public endpoints. */
static void resolve_endpoints(apr_pool_t *p, srv_conf_t *c, doser_t *d)
{
    const char *region = c->region, *ep;
    if (!region)
        region = env_first("AWS_REGION", "AWS_DEFAULT_REGION");
    if (!region)
        region = dsf_conf_region_from_queue_url(p, d->conf.queue_url);
    if (!region)
        region = "us-east-1";
    d->region = region;
    memset(&d->aws, 0, sizeof(d->aws));
    d->aws.region = region;
    ep = c->sqs_endpoint ? c->sqs_endpoint : env_first("AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL");
    d->aws.sqs_endpoint = ep ? ep : apr_psprintf(p, "https://sqs.%s.amazonaws.com", region);
    ep = c->lambda_endpoint ? c->lambda_endpoint
                            : env_first("AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL");
    d->aws.lambda_endpoint = ep ? ep : apr_psprintf(p, "https://lambda.%s.amazonaws.com", region);
    dsf_http_opts_default(&d->aws.http);
    d->aws.http.timeout = c->timeout;
    d->aws.http.verify_tls = c->verify_tls;
    d->aws.http.ca_file = c->ca_file;
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp, server_rec *s)
{
    srv_conf_t *c = srv_conf(s);
    apr_time_t now = apr_time_now();
    int i;

    dsf_log_set(log_sink, s, ap_get_server_module_loglevel(s, APLOG_MODULE_INDEX));
    /* The first of httpd's two configuration passes at startup only checks. */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    if (!c->order->nelts)
        return OK;
    if (dsf_http_global_init() != APR_SUCCESS || attach_shared(s) != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (!c->verify_tls)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "DSF00509: "
                     DIR_TLS_VERIFY " off: AWS's certificates are not checked");
    for (i = 0; i < c->order->nelts; i++) {
        doser_t *d = APR_ARRAY_IDX(c->order, i, doser_t *);
        d->pconf = pconf;
        resolve_endpoints(pconf, c, d);
        if (!(d->slot = dsf_stats_slot(shared, d->conf.name))) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "DSF00510: "
                         "doser %s: no free shared slot (restart httpd fully to reclaim "
                         "the slots of removed dosers)", d->conf.name);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        dsf_sched_configure(d->slot, &d->conf, now);
        if (start_dispatcher(s, d) != APR_SUCCESS)
            return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

/* ---- children: a pool of HTTP clients, one per thread in use ------------- */

static void child_init(apr_pool_t *p, server_rec *s)
{
    srv_conf_t *c = srv_conf(s);
    int threads = 1, i;

    child.pool = p;
    child.idle = NULL;
    if (!c->order->nelts)
        return;
    /* Batching across requests needs requests in parallel: threads. */
    ap_mpm_query(AP_MPMQ_MAX_THREADS, &threads);
    for (i = 0; i < c->order->nelts; i++) {
        doser_t *d = APR_ARRAY_IDX(c->order, i, doser_t *);
        d->batcher = NULL;
        if (c->linger > 0 && threads > 1)
            dsf_batcher_create(&d->batcher, p, c->linger);
    }
    apr_thread_mutex_create(&child.mu, APR_THREAD_MUTEX_DEFAULT, p);
    if (dsf_creds_provider_create(&child.creds, p, &c->creds) != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "DSF00511: "
                     "could not set up the AWS credentials provider");
}

static http_client_t *client_get(const dsf_http_opts_t *opts)
{
    http_client_t *cl;
    apr_pool_t *sub;

    apr_thread_mutex_lock(child.mu);
    if ((cl = child.idle)) {
        child.idle = cl->next;
        apr_thread_mutex_unlock(child.mu);
        return cl;
    }
    /* Creating from the child's pool needs the lock; the client then lives as
     * long as the child and keeps its connections to AWS. */
    apr_pool_create(&sub, child.pool);
    apr_thread_mutex_unlock(child.mu);
    cl = apr_pcalloc(sub, sizeof(*cl));
    if (dsf_http_create(&cl->http, sub, opts) != APR_SUCCESS)
        return NULL;
    return cl;
}

static void client_put(http_client_t *cl)
{
    apr_thread_mutex_lock(child.mu);
    cl->next = child.idle;
    child.idle = cl;
    apr_thread_mutex_unlock(child.mu);
}

/* ---- the ingest handler --------------------------------------------------- */

typedef struct {
    doser_t *d;
    srv_conf_t *c;
    http_client_t *client;
    apr_size_t max_message;
} send_ctx_t;

/* Sends with the calling thread's client; also the batch leader's sender. */
static apr_status_t send_now(void *baton, apr_pool_t *p, const char *const *bodies,
                             const apr_size_t *lens, int n, dsf_sqs_sent_t *results)
{
    send_ctx_t *x = baton;
    dsf_aws_conf_t aws_conf = x->d->aws;
    aws_conf.creds = child.creds;
    return dsf_sqs_send(dsf_aws_on(p, &aws_conf, x->client->http, &x->client->sigcache), p, x->d->conf.queue_url,
                        bodies, lens, n, x->max_message, x->c->timeout, x->d->slot, results);
}

static int answer(request_rec *r, int status, dsf_json_t *body)
{
    apr_size_t len;
    const char *text = dsf_json_dump(body, r->pool, &len);
    r->status = status;
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)len + 1);
    ap_rwrite(text, (int)len, r);
    ap_rputs("\n", r);
    return OK;
}

static int answer_error(request_rec *r, int status, dsf_slot_t *slot, int reason,
                        const char *why)
{
    dsf_json_t *j = dsf_json_object(r->pool);
    dsf_json_set_str(j, "error", why);
    if (slot && reason >= 0)
        dsf_count(&slot->rejected[reason], 1);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "DSF00512: " "rejected (%d): %s", status, why);
    return answer(r, status, j);
}

/* Reads the whole body, refusing more than max bytes (*too_big, and the
 * connection is closed rather than drained of what we refuse). */
static int read_body(request_rec *r, apr_size_t max, char **pbuf, apr_size_t *plen,
                     int *too_big)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_size_t cap, len = 0;
    char *buf;
    int rc;

    *too_big = 0;
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK)
        return rc;
    if (r->remaining > (apr_off_t)max) {
        *too_big = 1;
        r->connection->keepalive = AP_CONN_CLOSE;
        return OK;
    }
    /* Room for max + 1 bytes, so that one byte too many is seen, and a NUL. */
    cap = cl ? (apr_size_t)r->remaining + 1 : 8192;
    if (cap > max + 2)
        cap = max + 2;
    buf = apr_palloc(r->pool, cap);
    /* Asked once: it answers "no" as soon as anything was read. */
    for (rc = ap_should_client_block(r); rc; ) {
        long n;
        if (len + 1 == cap) {
            apr_size_t ncap = cap * 2 < max + 2 ? cap * 2 : max + 2;
            char *nb = apr_palloc(r->pool, ncap);
            memcpy(nb, buf, len);
            buf = nb;
            cap = ncap;
        }
        if ((n = ap_get_client_block(r, buf + len, cap - 1 - len)) < 0)
            return HTTP_BAD_REQUEST;
        if (n == 0)
            break;
        len += (apr_size_t)n;
        if (len > max) {
            *too_big = 1;
            r->connection->keepalive = AP_CONN_CLOSE;
            return OK;
        }
    }
    buf[len] = '\0';
    *pbuf = buf;
    *plen = len;
    return OK;
}

static int enqueue_handler(request_rec *r)
{
    srv_conf_t *c;
    dir_conf_t *dc;
    doser_t *d;
    dsf_content_type_e ct;
    dsf_ingest_limits_t lim;
    apr_array_header_t *msgs;
    const char **bodies, *why;
    apr_size_t *lens, len = 0;
    dsf_sqs_sent_t *res;
    http_client_t *cl;
    send_ctx_t sx;
    dsf_json_t *j, *ids, *results;
    apr_pool_t *call_pool;
    apr_status_t rv;
    char *buf = NULL;
    int i, rc, too_big, accepted = 0, status;

    if (strcmp(r->handler, "dosificador"))
        return DECLINED;
    c = srv_conf(r->server);
    dc = ap_get_module_config(r->per_dir_config, &dosificador_module);
    if (!dc->enqueue || !(d = apr_hash_get(c->dosers, dc->enqueue, APR_HASH_KEY_STRING))) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "DSF00513: "
                      "SetHandler dosificador without " DIR_ENQUEUE " naming a doser");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    r->allowed = AP_METHOD_BIT << M_POST;
    if (r->method_number != M_POST) {
        apr_table_setn(r->err_headers_out, "Allow", "POST");
        return answer_error(r, HTTP_METHOD_NOT_ALLOWED, d->slot, DSF_REJ_METHOD,
                            apr_psprintf(r->pool, "method %s not allowed: POST JSON objects "
                                         "here", r->method));
    }
    if ((ct = dsf_ingest_content_type(apr_table_get(r->headers_in, "Content-Type")))
        == DSF_CT_UNSUPPORTED) {
        ap_discard_request_body(r);
        return answer_error(r, HTTP_UNSUPPORTED_MEDIA_TYPE, d->slot, DSF_REJ_MEDIA_TYPE,
                            "unsupported Content-Type: send application/json or "
                            "application/x-ndjson");
    }
    dsf_ingest_limits_default(&lim);
    if (dc->max_body)
        lim.max_body = dc->max_body;
    if (dc->max_message)
        lim.max_message = dc->max_message;
    if (dc->max_elements)
        lim.max_elements = dc->max_elements;
    if ((rc = read_body(r, lim.max_body, &buf, &len, &too_big)) != OK)
        return rc;
    if (too_big)
        return answer_error(r, HTTP_REQUEST_ENTITY_TOO_LARGE, d->slot, DSF_REJ_TOO_BIG,
                            apr_psprintf(r->pool, "body over the %" APR_SIZE_T_FMT
                                         "-byte limit", lim.max_body));
    if ((rv = dsf_ingest_parse(r->pool, ct, buf, len, &lim, &msgs, &why)) != APR_SUCCESS)
        return answer_error(r, rv == DSF_ETOOBIG ? HTTP_REQUEST_ENTITY_TOO_LARGE : HTTP_BAD_REQUEST,
                            d->slot, rv == DSF_ETOOBIG ? DSF_REJ_TOO_BIG
                                     : len ? DSF_REJ_MALFORMED : DSF_REJ_EMPTY, why);

    bodies = apr_palloc(r->pool, sizeof(*bodies) * msgs->nelts);
    lens = apr_palloc(r->pool, sizeof(*lens) * msgs->nelts);
    res = apr_pcalloc(r->pool, sizeof(*res) * msgs->nelts);
    for (i = 0; i < msgs->nelts; i++) {
        bodies[i] = APR_ARRAY_IDX(msgs, i, dsf_msg_t).body;
        lens[i] = APR_ARRAY_IDX(msgs, i, dsf_msg_t).len;
    }
    if (!(cl = client_get(&d->aws.http)))
        return HTTP_INTERNAL_SERVER_ERROR;
    /* The call's allocations (requests, responses) die with this subpool. */
    apr_pool_create(&call_pool, r->pool);
    sx.d = d;
    sx.c = c;
    sx.client = cl;
    sx.max_message = lim.max_message;
    if (d->batcher && msgs->nelts < DSF_SQS_MAX_BATCH)
        rv = dsf_batch_submit(d->batcher, call_pool, bodies, lens, msgs->nelts, res,
                              send_now, &sx);
    else
        rv = send_now(&sx, call_pool, bodies, lens, msgs->nelts, res);
    client_put(cl);

    j = dsf_json_object(r->pool);
    ids = dsf_json_array(r->pool);
    results = dsf_json_array(r->pool);
    for (i = 0; i < msgs->nelts; i++) {
        dsf_json_t *e = dsf_json_object(r->pool);
        dsf_json_set_int(e, "index", i);
        if (res[i].rv == APR_SUCCESS) {
            accepted++;
            dsf_json_append_str(ids, res[i].message_id);
            dsf_json_set_str(e, "status", "accepted");
            dsf_json_set_str(e, "messageId", res[i].message_id);
        }
        else {
            dsf_json_set_str(e, "status", "failed");
            dsf_json_set_str(e, "code", res[i].code ? res[i].code : "Error");
            dsf_json_set_str(e, "message", res[i].message ? res[i].message : "not stored");
            dsf_json_set_bool(e, "retryable", res[i].retryable);
        }
        dsf_json_append(results, e);
    }
    apr_pool_destroy(call_pool);
    if (d->slot) {
        dsf_count(&d->slot->accepted, accepted);
        if (accepted < msgs->nelts)
            dsf_count(&d->slot->rejected[rv == DSF_EUNAVAIL ? DSF_REJ_UNAVAILABLE
                                                            : DSF_REJ_SQS_ERROR],
                      msgs->nelts - accepted);
    }
    dsf_json_set_int(j, "accepted", accepted);
    if (accepted == msgs->nelts) {
        dsf_json_set(j, "messageIds", ids);
        return answer(r, HTTP_ACCEPTED, j);
    }
    dsf_json_set_int(j, "failed", msgs->nelts - accepted);
    dsf_json_set(j, "results", results);
    if (accepted) {
        status = HTTP_MULTI_STATUS;
    }
    else if (rv == DSF_EUNAVAIL) {
        status = HTTP_SERVICE_UNAVAILABLE;
        apr_table_setn(r->err_headers_out, "Retry-After", apr_itoa(r->pool, c->retry_after));
        dsf_json_set_str(j, "error", "SQS is unreachable or throttling: nothing was "
                         "enqueued; retry later");
    }
    else {
        status = HTTP_BAD_GATEWAY;
        dsf_json_set_str(j, "error", "SQS refused the objects: nothing was enqueued");
    }
    return answer(r, status, j);
}

/* ---- the status page ------------------------------------------------------ */

static int status_handler(request_rec *r)
{
    srv_conf_t *c;
    dsf_status_doser_t *ds;
    const char *body, *ctype, *creds = "none";
    apr_size_t len;
    int i;

    if (strcmp(r->handler, "dosificador-status"))
        return DECLINED;
    r->allowed = (AP_METHOD_BIT << M_GET);
    if (r->method_number != M_GET)
        return HTTP_METHOD_NOT_ALLOWED;
    c = srv_conf(r->server);
    ds = apr_pcalloc(r->pool, sizeof(*ds) * (c->order->nelts + 1));
    for (i = 0; i < c->order->nelts; i++) {
        doser_t *d = APR_ARRAY_IDX(c->order, i, doser_t *);
        ds[i].conf = &d->conf;
        ds[i].slot = d->slot;
        ds[i].region = d->region;
        ds[i].sqs_endpoint = d->aws.sqs_endpoint;
        ds[i].lambda_endpoint = d->aws.lambda_endpoint;
        if (d->slot && d->slot->creds_source[0] && !strcmp(creds, "none"))
            creds = apr_pstrdup(r->pool, d->slot->creds_source);
    }
    if (dsf_status_render(r->pool, dsf_status_negotiate(r->args,
                                                        apr_table_get(r->headers_in, "Accept")),
                          ds, c->order->nelts, creds, apr_time_now(), &body, &len, &ctype)
        != APR_SUCCESS)
        return HTTP_INTERNAL_SERVER_ERROR;
    ap_set_content_type(r, ctype);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->headers_out, "Vary", "Accept");
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only)
        ap_rwrite(body, (int)len, r);
    return OK;
}

static void register_hooks(apr_pool_t *p)
{
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(enqueue_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_monitor(monitor, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA dosificador_module = {
    STANDARD20_MODULE_STUFF,
    create_dir,
    merge_dir,
    create_srv,
    merge_srv,
    cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
