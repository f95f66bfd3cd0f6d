#ifndef KILN_FILES_SHIM_H
#define KILN_FILES_SHIM_H
// Headers the Glibc module does not expose to Swift, for the tree walker in PluginSupport.
// (The root package's CKilnSys is not visible to this nested package.)
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <errno.h>

static inline int kiln_files_errno(void) { return errno; }
#endif
