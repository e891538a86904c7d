/* vdit_client: the vaultd_it harness's lib client as a program of its own, so
 * that a request as nobody runs in a freshly exec'd process (see harness.c). */
#include "harness.h"

int main(int argc, char **argv) { return vd_client_main(argc, argv); }
