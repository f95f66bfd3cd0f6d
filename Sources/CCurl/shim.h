#ifndef KILN_CURL_SHIM_H
#define KILN_CURL_SHIM_H
#include <curl/curl.h>
// curl_easy_setopt/getinfo are variadic: typed wrappers Swift can call.
static inline CURLcode kiln_curl_setopt_long(CURL *c, CURLoption o, long v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode kiln_curl_setopt_str(CURL *c, CURLoption o, const char *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode kiln_curl_setopt_ptr(CURL *c, CURLoption o, void *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode kiln_curl_setopt_off(CURL *c, CURLoption o, curl_off_t v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode kiln_curl_setopt_slist(CURL *c, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(c, o, v); }
typedef size_t (*kiln_curl_io_fn)(char *, size_t, size_t, void *);
static inline CURLcode kiln_curl_setopt_fn(CURL *c, CURLoption o, kiln_curl_io_fn f) { return curl_easy_setopt(c, o, f); }
typedef int (*kiln_curl_xferinfo_fn)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t);
static inline CURLcode kiln_curl_setopt_xferinfo(CURL *c, kiln_curl_xferinfo_fn f) { return curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, f); }
static inline CURLcode kiln_curl_getinfo_long(CURL *c, CURLINFO i, long *v) { return curl_easy_getinfo(c, i, v); }
static inline CURLcode kiln_curl_getinfo_off(CURL *c, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(c, i, v); }
static inline CURLcode kiln_curl_getinfo_str(CURL *c, CURLINFO i, char **v) { return curl_easy_getinfo(c, i, v); }
// RegistryOCI: rewinding an upload body (curl re-sends it after a redirect or auth retry).
typedef int (*kiln_curl_seek_fn)(void *, curl_off_t, int);
static inline CURLcode kiln_curl_setopt_seekfn(CURL *c, kiln_curl_seek_fn f) { return curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, f); }
// CA certificates from memory (libcurl 7.77+): libcurl copies the blob.
static inline CURLcode kiln_curl_setopt_cainfo_blob(CURL *c, const void *data, size_t len) {
    struct curl_blob blob = { (void *)data, len, CURL_BLOB_COPY };
    return curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
}
static const long KILN_CURL_GLOBAL_DEFAULT = CURL_GLOBAL_DEFAULT;
static const size_t KILN_CURL_READFUNC_ABORT = CURL_READFUNC_ABORT;
#endif
