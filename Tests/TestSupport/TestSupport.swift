// Shared helpers for kiln's tests: temporary directories, running processes, locating the
// build products.
