/* Minimal TAP for the core's unit tests: ok(), is_str(), is_int(), done(). */
#ifndef DSF_TAP_H
#define DSF_TAP_H
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#include <stdarg.h>
static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass) {
        tap_failed++;
        printf("#   Failed at %s line %d\n", file, line);
    }
    fflush(stdout);
    return pass;
}

#define is_str(got, want, name) do { \
    const char *g_ = (got), *w_ = (want); \
    if (!ok(g_ && w_ ? !strcmp(g_, w_) : g_ == w_, "%s", name)) \
        printf("#   got:      '%s'\n#   expected: '%s'\n", g_ ? g_ : "(null)", w_ ? w_ : "(null)"); \
} while (0)

#define is_int(got, want, name) do { \
    long long g_ = (long long)(got), w_ = (long long)(want); \
    if (!ok(g_ == w_, "%s", name)) \
        printf("#   got:      %lld\n#   expected: %lld\n", g_, w_); \
} while (0)

static int done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
#endif
