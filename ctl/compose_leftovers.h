/* Finding planned secrets' values still written somewhere in a compose
 * document: one pass over a scalar finds every value in it, however many
 * secrets the plan has, instead of one search per secret. */
#ifndef CTL_COMPOSE_LEFTOVERS_H
#define CTL_COMPOSE_LEFTOVERS_H
#include <stddef.h>

#include "secbuf.h"

/* Values shorter than this are found only as a whole scalar: a short one
 * would turn up inside unrelated text. */
#define LEFTOVERS_MIN_BYTES 4

struct leftovers;

/* Indexes values[0..n) (borrowed: they must outlive the index; NULL
 * entries are skipped). The index holds the first bytes of each value, so
 * it lives in guarded memory and is wiped when freed. NULL on ENOMEM. */
struct leftovers *leftovers_new(const struct secbuf *const *values, size_t n);

/* The lowest i whose value is s[0..len) itself, or, for a value of at
 * least LEFTOVERS_MIN_BYTES, appears anywhere in it; -1 when none does. */
long leftovers_find(const struct leftovers *l, const char *s, size_t len);

void leftovers_free(struct leftovers *l); /* NULL is fine */

#endif
