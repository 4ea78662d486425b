/* parallel.h - `-j N`: analysis of several files on N threads, results merged into one report.
 * Stream indices restart in each group of files; the report says so. */
#ifndef CS_PARALLEL_H
#define CS_PARALLEL_H

#include <signal.h>

#include "engine.h"

typedef enum cs_report_kind { CS_REPORT_TEXT, CS_REPORT_JSON, CS_REPORT_CSV } cs_report_kind;

/* Analyses files[0..n_files) on n_threads threads, each taking a contiguous group of files (about
 * the same total size) with its own engine built from cfg. Per-record output goes to `report`
 * (JSON/CSV in group order; text rows through a lock), then report->finish() gets the merged
 * aggregates. `all` must hold the same files opened (for validation): their read status is copied
 * into it. Returns the exit status (0, 1 input errors, 2 an input failed to open). */
int cs_run_parallel(char **files, int n_files, int n_threads, const char *bpf,
                    const cs_engine_cfg *cfg, cs_report *report, cs_report_kind kind,
                    cs_source *all, cs_run_info *info, volatile sig_atomic_t *stop);

#endif
