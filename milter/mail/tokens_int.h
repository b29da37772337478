/*
 * tokens_int.h - tokens.c's second way through a text, for test_bayes
 * and fuzz_tokens alone: plain_word is a fast twin of add_pairs then
 * split_word for a body word of letters and digits, and the tests hold
 * the twins to the same tokens by running a text both ways.  Not for the
 * rest of parapet (tokens.h is).
 */
#ifndef PARAPET_TOKENS_INT_H
#define PARAPET_TOKENS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/tokens.h"

/* tokens_text_general - tokens_text with every word through add_pairs
 * and split_word, plain_word never used: the same tokens, in the same
 * order, or plain_word is wrong */
void tokens_text_general(struct tokens *t, const char *prefix, const char *text, size_t len,
			 bool body);

#endif
