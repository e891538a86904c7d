/* Process-wide secret hygiene: libsodium init, wipe-on-free allocators for
 * jansson, and no core dumps. Every binary calls vault_init() first. */
#ifndef VAULT_HYGIENE_H
#define VAULT_HYGIENE_H

/* sodium_init() and json_set_alloc_funcs() with allocators that wipe every
 * block on free (jansson copies the strings we give it). 0 or -errno. */
int vault_init(void);
/* PR_SET_DUMPABLE 0 and RLIMIT_CORE 0: a crash must not write keys to disk.
 * inject does not call it (it would block the child's /proc access rules
 * for no gain after exec); vaultd and vaultctl do. 0 or -errno. */
int vault_harden_process(void);

#endif
