/* test_sha256.c — SHA-256 against the FIPS 180-2 / NIST example digests
 * ("abc", the empty message, the 448-bit two-block message, one million
 * 'a'), the same digest whatever the update chunking (every split of a
 * message around the 55/56/64-byte padding edges), and sha256_file. */
#include "check.h"
#include "sha256.h"

static void digest_of(const void *msg, size_t n, char hex[65]) {
    sha256_t s;
    uint8_t d[32];
    sha256_init(&s);
    sha256_update(&s, msg, n);
    sha256_final(&s, d);
    sha256_hex(d, hex);
}

int main(void) {
    test_ctx_t t = test_begin("sha256");
    char hex[65], ref[65];
    digest_of("abc", 3, hex);
    CHECK(&t, !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "abc: %s", hex);
    digest_of("", 0, hex);
    CHECK(&t, !strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "empty: %s", hex);
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    digest_of(m448, strlen(m448), hex);
    CHECK(&t, !strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"), "448-bit message: %s", hex);
    /* one million 'a', fed in 1000 pieces of 1000 */
    char a1000[1000];
    memset(a1000, 'a', sizeof a1000);
    sha256_t s;
    uint8_t d[32];
    sha256_init(&s);
    for (int i = 0; i < 1000; i++) sha256_update(&s, a1000, sizeof a1000);
    sha256_final(&s, d);
    sha256_hex(d, hex);
    CHECK(&t, !strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"), "million a: %s", hex);

    /* chunking does not matter: lengths around the padding edges, split at every point */
    uint8_t msg[130];
    for (int i = 0; i < 130; i++) msg[i] = (uint8_t)(i * 37 + 11);
    int lens[] = {55, 56, 57, 63, 64, 65, 119, 120, 128, 130}, mismatches = 0;
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        int n = lens[li];
        digest_of(msg, (size_t)n, ref);
        for (int cut = 0; cut <= n; cut++) {
            sha256_init(&s);
            sha256_update(&s, msg, (size_t)cut);
            sha256_update(&s, msg + cut, (size_t)(n - cut));
            sha256_final(&s, d);
            sha256_hex(d, hex);
            mismatches += strcmp(hex, ref) != 0;
        }
    }
    CHECK(&t, mismatches == 0, "%d split updates gave another digest", mismatches);

    /* a file: the same as the message */
    char path[1200];
    snprintf(path, sizeof path, "%s/abc.txt", t.tmp);
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("abc", f);
        fclose(f);
    }
    sal_err_t err = {{0}};
    CHECK(&t, sha256_file(path, hex, &err) == 0 && !strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
          "sha256_file: %s %s", hex, err.msg);
    snprintf(path, sizeof path, "%s/does-not-exist", t.tmp);
    CHECK(&t, sha256_file(path, hex, &err) != 0 && strstr(err.msg, "does-not-exist: cannot read"), "missing file: %s", err.msg);
    return test_end(&t);
}
