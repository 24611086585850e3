/* exif.h — the one EXIF field salient needs: the orientation tag (0x0112).
 *
 * EXIF data lives in a JPEG APP1 segment whose payload starts with
 * "Exif\0\0" followed by a small TIFF file: a byte-order mark ("II" little-
 * endian or "MM" big-endian), the number 42, the offset of the first IFD
 * (image file directory), then IFDs: a 16-bit entry count and 12-byte entries
 * (tag, type, count, value-or-offset). Orientation is an entry of IFD0.
 *
 * Values 1..8 are the eight EXIF orientations (1 = as stored, 6 = rotate 90°
 * clockwise to display, ...). Anything missing, malformed or out of range
 * reads as 1, like the candidate_crops tool (docs/saliency.md
 * §7.1). Parsing never reads outside the given buffer.
 */
#ifndef SALIENT_EXIF_H
#define SALIENT_EXIF_H

#include <stddef.h>
#include <stdint.h>

/* Orientation from a TIFF-structured EXIF block (the APP1 payload after the
 * 6-byte "Exif\0\0" header). Returns 1..8; 1 when absent or malformed. */
int exif_orientation_tiff(const uint8_t *tiff, size_t size);

/* Same, from a whole APP1 payload ("Exif\0\0" + TIFF block). Returns 1 if
 * the payload does not start with "Exif\0\0". */
int exif_orientation_app1(const uint8_t *payload, size_t size);

#endif
