/* kernels_emu16.c — the fast kernels (engine/conv_simd_body.h and the
 * Winograd bodies it includes) compiled once with the portable 16-lane
 * vector vocabulary of kernels_emu16.h: the AVX-512 shape of every algorithm
 * (V = 16, MK_O = 8) on any CPU, as conv2d_fast_emu16, conv_t3s2_wino_emu16
 * and so on. Built into the test support archive (Makefile: files tests/AREA/NAME.c
 * that are not test_*.c) and linked into test_conv and test_winograd_t, so
 * the large body is compiled once per flavour, not once per test.
 */
#define KERNELS_EMU16_BODY
#include "kernels_emu16.h"
