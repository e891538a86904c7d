/* Re-sealing after a data key rotation: a background thread moves every
 * version still sealed under an older DEK to the active one, in small batches. */
#ifndef VAULTD_RESEAL_H
#define VAULTD_RESEAL_H

struct store;

/* Starts the thread; it looks for work at once (a rotation the previous
 * vaultd did not finish). 0 or -errno. */
int reseal_start(struct store *s);
/* Asks it to look again: after a rotation and after an unseal (sealed, it
 * waits for this). */
void reseal_kick(void);
/* Stops it after the batch in hand; what is left waits for the next start. */
void reseal_stop(void);

#endif
