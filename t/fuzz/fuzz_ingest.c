/* libFuzzer target: dsf_ingest_parse. The first byte picks the content type
 * (bit 0: JSON or NDJSON) and tight limits (bit 1: 64-byte messages, bit 2:
 * 3 elements) so the refusal paths are reached too; the rest is the body.
 * Invariants: success gives 1..max_elements messages, each compact JSON of
 * at most max_message bytes that parses back to a non-null value; failure
 * gives a sentence, no messages, and only DSF_EINPUT or DSF_ETOOBIG. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include "dsf_ingest.h"
#include "dsf_json.h"

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
    dsf_ingest_limits_t lim;
    apr_array_header_t *msgs = (apr_array_header_t *)1;
    const char *why = (const char *)1;
    dsf_content_type_e ct;
    apr_status_t rv;
    int i;

    if (size < 1)
        return 0;
    apr_pool_create(&p, root);
    ct = (data[0] & 1) ? DSF_CT_NDJSON : DSF_CT_JSON;
    dsf_ingest_limits_default(&lim);
    if (data[0] & 2)
        lim.max_message = 64;
    if (data[0] & 4)
        lim.max_elements = 3;
    rv = dsf_ingest_parse(p, ct, (const char *)data + 1, size - 1, &lim, &msgs, &why);
    if (rv != APR_SUCCESS) {
        if ((rv != DSF_EINPUT && rv != DSF_ETOOBIG) || msgs || !why || !*why)
            abort();
        goto leave;
    }
    if (why || !msgs || msgs->nelts < 1 || msgs->nelts > lim.max_elements)
        abort();
    for (i = 0; i < msgs->nelts; i++) {
        const dsf_msg_t *m = &APR_ARRAY_IDX(msgs, i, dsf_msg_t);
        dsf_json_t *j;
        if (!m->body || m->len < 1 || m->len > lim.max_message || strlen(m->body) != m->len)
            abort();
        if (dsf_json_parse(&j, p, m->body, m->len, NULL) != APR_SUCCESS || dsf_json_is_null(j))
            abort();
    }
leave:
    apr_pool_destroy(p);
    return 0;
}
