/*
 * utf8.h — text from other processes made safe to print (library and CLI,
 * internal). Labels and names reach the daemon from any client and are
 * passed on as bytes: these checks keep one client from breaking another's
 * JSON or writing escape sequences to an operator's terminal.
 */
#ifndef GPUCMD_UTF8_H
#define GPUCMD_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The length of the well-formed UTF-8 sequence at s (1 to 4), or 0 when
 * the bytes there are not one (stray continuation, overlong form,
 * surrogate, past U+10FFFF, cut short). s is NUL-terminated. */
static inline size_t gpucmd_utf8_seq(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (n == 0 || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || (s[0] == 0xf0 && s[1] < 0x90) ||
	    (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return n;
}

/* Whether the character at s, n bytes of valid UTF-8, is a C0 or C1
 * control or DEL: a terminal may act on it. */
static inline int gpucmd_utf8_is_control(const unsigned char *s, size_t n)
{
	return (n == 1 && (s[0] < 0x20 || s[0] == 0x7f)) || (n == 2 && s[0] == 0xc2 && s[1] < 0xa0);
}

#endif
