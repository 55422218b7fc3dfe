/*
 * frames_input.h — layout of a fuzz_frames input, shared by the harness
 * (fuzz_frames.c) and the seed generator (gen_corpus.c).
 *
 *   byte 0            flags: bits 0-2 = number of chunk-size bytes - 1,
 *                     FRAMES_DEFER, FRAMES_CONSUME_STALE
 *   bytes 1..k        chunk sizes: byte b means a read of b + 1 bytes; the
 *                     sizes are used in turn, cyclically
 *   the rest          the byte stream the socket delivers (framed requests)
 */
#ifndef GPUCMD_FUZZ_FRAMES_INPUT_H
#define GPUCMD_FUZZ_FRAMES_INPUT_H

#define FRAMES_MAX_FRAME 1024u   /* the reader's limit: small, so it is hit */
#define FRAMES_ARENA 256u        /* small block, so decoding spills often */

#define FRAMES_NSIZES_MASK 0x07u
/* Every second complete frame is left peeked but unconsumed while the next
 * chunk is read (space() then compacts under it), as a caller that cannot
 * handle a request yet does. */
#define FRAMES_DEFER 0x08u
/* With FRAMES_DEFER: after that read, consume the deferred frame without
 * peeking it again ("drops the frame last peeked"). */
#define FRAMES_CONSUME_STALE 0x10u

#endif
