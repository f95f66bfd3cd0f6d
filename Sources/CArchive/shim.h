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

// zlib for the chunked, multi-threaded gzip writer: raw inflate walks a chunk's deflate blocks
// and proves a kept chunk decodes to the bytes it stands for; crc32_combine joins the chunks'
// CRCs. inflateInit2 is a macro; the wrapper passes the version and struct size it expands to.
#include <zlib.h>
static inline int kiln_ar_inflate_init_raw(z_streamp strm) {
    return inflateInit2(strm, -15);
}
#endif
