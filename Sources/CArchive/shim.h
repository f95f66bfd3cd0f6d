#ifndef KILN_ARCHIVE_SHIM_H
#define KILN_ARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
// AE_IF* are cast-expression macros Swift cannot import.
static const unsigned int KILN_AE_IFREG = AE_IFREG;
static const unsigned int KILN_AE_IFDIR = AE_IFDIR;
static const unsigned int KILN_AE_IFLNK = AE_IFLNK;
static const unsigned int KILN_AE_IFCHR = AE_IFCHR;
static const unsigned int KILN_AE_IFBLK = AE_IFBLK;
static const unsigned int KILN_AE_IFIFO = AE_IFIFO;
static const unsigned int KILN_AE_IFSOCK = AE_IFSOCK;

// zlib for the chunked, multi-threaded gzip writer (one gzip member, pigz's technique).
// deflateInit2 is a macro; the wrapper passes the version and struct size it expands to.
#include <zlib.h>
static inline int kiln_ar_deflate_init_raw(z_streamp strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
}
/// Raw inflate, to prove a kept compressed chunk decodes to the bytes it stands for.
static inline int kiln_ar_inflate_init_raw(z_streamp strm) {
    return inflateInit2(strm, -15);
}
#endif
