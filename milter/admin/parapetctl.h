/*
 * parapetctl.h - parapetctl's files: ctl.c (shared: config, engine,
 * usage, JSON), ctl_rep.c (rep, learn, tail, stats), ctl_dash.c
 * (dashboard) and parapetctl.c (main, lint, scan, reload).
 */
#ifndef PARAPET_PARAPETCTL_H
#define PARAPET_PARAPETCTL_H

#include <stdio.h>

#include "core/config.h"

/* ctl_set_config - the -c FILE option (NULL: the default file, if present) */
void ctl_set_config(const char *path);
/* ctl_set_fail_status - exit status used when the configuration does not load (default 1) */
void ctl_set_fail_status(int rc);
/* ctl_load_config - -c FILE, else the default file if present, else defaults; exits on error */
struct config *ctl_load_config(void);
/* ctl_engine - the engine of that configuration and its rules; prints
 * the errors and exits 1 when it does not load */
struct engine *ctl_engine(void);
/* ctl_usage - print usage and exit 2 */
void ctl_usage(void) __attribute__((noreturn));
/* ctl_help - print usage on stdout and exit 0 */
void ctl_help(void) __attribute__((noreturn));
/* ctl_json_str - a JSON string literal (null for NULL), always valid JSON */
void ctl_json_str(FILE *fp, const char *s);
/* ctl_rep_command - rep show|top|set|clear, learn, tail, stats */
int ctl_rep_command(int argc, char **argv);
/* ctl_dashboard_command - dashboard (ctl_dash.c) */
int ctl_dashboard_command(int argc, char **argv);

#endif
