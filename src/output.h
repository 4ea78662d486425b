/* output.h - checked writes: whole outputs written through their path (as tcpdump -w does), the
 * final check of a stream written piece by piece, and standard output at the end of a command.
 * Every failure becomes one message naming the output. */
#ifndef CS_OUTPUT_H
#define CS_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include <glib.h>

#define CS_EXIT_OUTPUT 2 /* an output could not be written (the exit status of usage errors) */

/* Writes len bytes of data to path as fopen(path, "w") does: a symlink stays a symlink and its
 * target is written, a device node or fifo is written (not replaced), an existing file keeps its
 * mode and owner. "-" is standard output: the bytes go into stdout's buffer and are checked by
 * cs_output_finish(). Returns false with *err set to "OPT: cannot write PATH: REASON" (a file may
 * then be incomplete). */
bool cs_output_write(const char *opt, const char *path, const char *data, size_t len, GError **err);

/* Flushes fp and checks that no write to it failed since it was opened (stdio keeps the error
 * flag). Does not close fp. Returns false with *err set to "NAME: REASON" and (*err)->code the
 * errno: the flush's own, EPIPE for a pipe whose reader went away, or 0 and the reason "write
 * error" when an earlier explicit fflush failed and took the reason with it (coreutils' rule). */
bool cs_output_check(FILE *fp, const char *name, GError **err);

/* Ignores SIGPIPE until cs_output_finish(), for commands that still have files to write after
 * their report: when standard output is a pipe whose reader went away (| head), the report's
 * writes fail with EPIPE instead of ending the process, and the files are still written. */
void cs_output_hold_sigpipe(void);

/* The end of a command: checks standard output (cs_output_check). Returns `status` when every
 * write succeeded. When the reader of a pipe went away and SIGPIPE was held, ends the process by
 * SIGPIPE, as it would have ended without the hold. Any other failure (disk full, /dev/full, I/O
 * error) prints "PROG: standard output: REASON" and returns CS_EXIT_OUTPUT. */
int cs_output_finish(const char *prog, int status);

#endif
