/* mod_dosificador core: common definitions.
 * The core (src/, include/) never calls ap_*; httpd reaches it through plain
 * values and the log callback installed with dsf_log_set(). */
#ifndef DSF_H
#define DSF_H

#include <apr_pools.h>
#include <apr_errno.h>
#include <apr_time.h>
#include <apr_tables.h>

/* Core errors, in APR's user error space. Each maps to one HTTP answer. */
#define DSF_E_BASE      (APR_OS_START_USERERR + 7300)
#define DSF_EINPUT      (DSF_E_BASE + 1)  /* client sent malformed input (400) */
#define DSF_ETOOBIG     (DSF_E_BASE + 2)  /* input over a configured limit (413) */
#define DSF_EUNAVAIL    (DSF_E_BASE + 3)  /* peer unreachable, timed out or throttling (503) */
#define DSF_EAWS        (DSF_E_BASE + 4)  /* AWS answered with an error (502) */
#define DSF_EMD5        (DSF_E_BASE + 5)  /* SQS echoed a wrong MD5 of the body */
#define DSF_ECREDS      (DSF_E_BASE + 6)  /* no credentials could be had */
#define DSF_EPARSE      (DSF_E_BASE + 7)  /* a peer's response was malformed */
#define DSF_ECONFIG     (DSF_E_BASE + 8)  /* configuration value rejected */

/* Log levels, numerically equal to httpd's APLOG_* so the glue passes them on. */
#define DSF_LOG_ERR     3
#define DSF_LOG_WARNING 4
#define DSF_LOG_NOTICE  5
#define DSF_LOG_INFO    6
#define DSF_LOG_DEBUG   7
#define DSF_LOG_TRACE1  8

typedef void dsf_log_fn(void *baton, const char *file, int line, int level,
                        apr_status_t rv, const char *msg);

/* Installs the process-wide log sink (the glue forwards to ap_log_error). */
void dsf_log_set(dsf_log_fn *fn, void *baton, int max_level);
int  dsf_log_is_level(int level);
/* Message numbers: every message starts with a stable "DSFnnnnn: " tag,
 * documented in the README. Never pass secrets. */
void dsf_log_(const char *file, int line, int level, apr_status_t rv,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define dsf_log(level, rv, ...) dsf_log_(__FILE__, __LINE__, (level), (rv), __VA_ARGS__)

/* Human text for an apr_status_t, including the DSF_E* codes. */
const char *dsf_strerror(apr_status_t rv, apr_pool_t *p);

/* One HTTP header; arrays of these are apr_array_header_t of dsf_header_t. */
typedef struct {
    const char *name;
    const char *value;
} dsf_header_t;

void dsf_header_add(apr_array_header_t *headers, const char *name, const char *value);
const char *dsf_header_get(const apr_array_header_t *headers, const char *name);

/* Parses a duration: "60s", "2s", "500ms", "5m", "1h", or a bare number of
 * seconds. Returns DSF_ECONFIG on anything else (overflow, negative, junk). */
apr_status_t dsf_duration_parse(const char *s, apr_interval_time_t *out);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void dsf_hex(char *out, const unsigned char *in, apr_size_t len);

#endif
