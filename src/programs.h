/* Entry points of the programs, so that `cft` can run each as a subcommand. */
#ifndef CFT_PROGRAMS_H
#define CFT_PROGRAMS_H

int send_main(int argc, char **argv);
int recv_main(int argc, char **argv);
int shim_main(int argc, char **argv);
int genkey_main(int argc, char **argv);

#endif
