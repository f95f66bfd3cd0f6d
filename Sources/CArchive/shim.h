#ifndef KILN_ARCHIVE_SHIM_H
#define KILN_ARCHIVE_SHIM_H
// Same feature macro as CKilnSys: a module that imports both must see identical libc structs
// (without it clang reports fd_set defined differently in the two modules).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
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
#endif
