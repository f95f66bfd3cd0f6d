#ifndef KILN_FILES_SHIM_H
#define KILN_FILES_SHIM_H
// Headers the Glibc module does not expose to Swift, for the tree walker and the threads in
// PluginSupport. (The root package's CKilnSys is not visible to this nested package.)
#include <sys/prctl.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <errno.h>

static inline int kiln_files_errno(void) { return errno; }

/* Names the calling thread (prctl is variadic: Swift cannot call it). */
static inline int kiln_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }
#endif
