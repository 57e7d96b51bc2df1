/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files that readers must never see half-written: state and metrics. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/*
 * Writes data to path through a temporary file in the same directory:
 * write, fsync, rename, fsync the directory. Readers see the old file or the
 * new one, never a torn one. The temporary file has a random name and is
 * created exclusively, so a symlink planted in the directory is never
 * followed; a symlink at path is replaced. Returns 0 or -errno (the old
 * file stays).
 */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/*
 * The same without either fsync: readers still never see a torn file, but
 * after a crash the file may be the old one, or empty. For files rewritten
 * every cycle (the metrics textfile), where two fsyncs per cycle would stall
 * the event loop on a busy disk for nothing.
 */
int write_file_atomic_nosync(const char *path, const void *data, size_t len, mode_t mode);

/* Creates dir and missing parents with mode; 0 when it exists. */
int mkdir_p(const char *dir, mode_t mode);

/* Creates the directory that holds path (with missing parents), as mkdir_p. */
int mkdir_parent(const char *path, mode_t mode);
