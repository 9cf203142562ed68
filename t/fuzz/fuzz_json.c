/* libFuzzer target: dsf_json_parse on arbitrary bytes, and the dump of what
 * it accepts. Invariants: never reads past len (ASan), errors carry a
 * printable reason, a dump re-parses to an equal value (reals and escapes
 * survive) and is a fixpoint (dump(parse(dump)) == dump), and a dump holds
 * nothing SQS refuses. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "dsf_json.h"

static apr_pool_t *root;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    apr_initialize();
    apr_pool_create(&root, NULL);
    return 0;
}

static void check_sqs_safe(const char *s, apr_size_t len)
{
    apr_size_t i;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20)
            abort();                    /* compact output: no raw control bytes */
        if (c == 0xEF && i + 2 < len && (unsigned char)s[i + 1] == 0xBF
            && ((unsigned char)s[i + 2] & 0xFE) == 0xBE)
            abort();                    /* U+FFFE/U+FFFF must be escaped */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;
    dsf_json_t *j, *j2;
    dsf_json_error_t err;
    const char *out, *out2, *t;
    apr_size_t len, len2;
    apr_status_t rv;

    apr_pool_create(&p, root);
    rv = dsf_json_parse(&j, p, (const char *)data, size, &err);
    if (rv != APR_SUCCESS) {
        if ((rv != DSF_EINPUT && rv != DSF_ETOOBIG) || j || !err.text[0])
            abort();
        for (t = err.text; *t; t++) {
            if (*t < 0x20 || *t > 0x7e)
                abort();
        }
        goto leave;
    }
    out = dsf_json_dump(j, p, &len);
    if (!out || len != strlen(out) || len == 0)
        abort();
    check_sqs_safe(out, len);
    if (dsf_json_parse(&j2, p, out, len, &err) != APR_SUCCESS || !dsf_json_equal(j, j2))
        abort();
    out2 = dsf_json_dump(j2, p, &len2);
    if (!out2 || len2 != len || memcmp(out, out2, len))
        abort();
leave:
    apr_pool_destroy(p);
    return 0;
}
