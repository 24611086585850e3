/* commands.h — the subcommands of bin/salient. Each takes the arguments
 * after its name (argv[0] is the subcommand name) and returns the exit code. */
#ifndef SALIENT_COMMANDS_H
#define SALIENT_COMMANDS_H

int cmd_generate(int argc, char **argv);  /* search/cmd_generate.c */
int cmd_saliency(int argc, char **argv);  /* search/cmd_saliency.c */
int cmd_search(int argc, char **argv);    /* search/cmd_search.c */
int cmd_report(int argc, char **argv);    /* search/cmd_report.c */
int cmd_bench(int argc, char **argv);     /* search/cmd_bench.c */
int cmd_selftest(int argc, char **argv);  /* search/cmd_selftest.c */
int cmd_analyze(int argc, char **argv);   /* search/cmd_analyze.c */
int cmd_grad(int argc, char **argv);      /* search/cmd_grad.c */
int cmd_direction(int argc, char **argv); /* search/cmd_direction.c */

#endif
