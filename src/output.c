/* output.c - checked writes through the path, the end-of-stream check of stdio streams, and
 * standard output at the end of a command (with SIGPIPE held while files are still due). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include "output.h"

#define OUTPUT_ERROR (g_quark_from_static_string("cs-output-error"))

static bool sigpipe_held;

bool cs_output_write(const char *opt, const char *path, const char *data, size_t len, GError **err)
{
    if (strcmp(path, "-") == 0) {
        fwrite(data, 1, len, stdout); /* checked once, by cs_output_finish() */
        return true;
    }
    FILE *f = fopen(path, "w");
    bool ok = f != NULL && fwrite(data, 1, len, f) == len;
    int e = errno;
    if (f != NULL) {
        if (fclose(f) != 0 && ok) {
            ok = false;
            e = errno;
        }
    }
    if (!ok)
        g_set_error(err, OUTPUT_ERROR, 0, "%s: cannot write %s: %s", opt, path, g_strerror(e));
    return ok;
}

/* Why a write to fp failed earlier, when the flush that would tell is gone (an explicit fflush
 * that failed drops the buffer: the next one succeeds). A pipe whose reader went away shows as
 * POLLERR; anything else is not known any more (0), as in coreutils' close_stdout. */
static int earlier_errno(FILE *fp)
{
    struct pollfd p = {.fd = fileno(fp), .events = POLLOUT};
    if (p.fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & POLLERR))
        return EPIPE;
    return 0;
}

bool cs_output_check(FILE *fp, const char *name, GError **err)
{
    errno = 0;
    int rc = fflush(fp);
    if (rc == 0 && !ferror(fp))
        return true;
    int e = rc != 0 ? errno : earlier_errno(fp);
    g_set_error(err, OUTPUT_ERROR, e, "%s: %s", name, e != 0 ? g_strerror(e) : "write error");
    return false;
}

void cs_output_hold_sigpipe(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    sigpipe_held = true;
}

int cs_output_finish(const char *prog, int status)
{
    GError *err = NULL;
    if (cs_output_check(stdout, "standard output", &err))
        return status;
    if (err->code == EPIPE && sigpipe_held) {
        /* the reader went away: end as the write would have ended us without the hold */
        signal(SIGPIPE, SIG_DFL);
        raise(SIGPIPE);
    }
    fprintf(stderr, "%s: %s\n", prog, err->message);
    g_error_free(err);
    return CS_EXIT_OUTPUT;
}
