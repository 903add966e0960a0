"""RC2 decryption (RFC 2268), only for reading the certificate bag of legacy PKCS#12 files.

BouncyCastle (ofdrw) and Windows still encrypt the *certificates* of a .p12 with
pbeWithSHAAnd40BitRC2-CBC; `cryptography` and OpenSSL 3 refuse 40-bit RC2 keys. The data it
protects is public (certificates), so a small pure-Python decryptor is acceptable here; it
is never used for keys or for anything we write.
"""

from __future__ import annotations

_PITABLE = bytes([
    217, 120, 249, 196, 25, 221, 181, 237, 40, 233, 253, 121, 74, 160, 216, 157, 198, 126, 55, 131,
    43, 118, 83, 142, 98, 76, 100, 136, 68, 139, 251, 162, 23, 154, 89, 245, 135, 179, 79, 19, 97,
    69, 109, 141, 9, 129, 125, 50, 189, 143, 64, 235, 134, 183, 123, 11, 240, 149, 33, 34, 92, 107,
    78, 130, 84, 214, 101, 147, 206, 96, 178, 28, 115, 86, 192, 20, 167, 140, 241, 220, 18, 117, 202,
    31, 59, 190, 228, 209, 66, 61, 212, 48, 163, 60, 182, 38, 111, 191, 14, 218, 70, 105, 7, 87, 39,
    242, 29, 155, 188, 148, 67, 3, 248, 17, 199, 246, 144, 239, 62, 231, 6, 195, 213, 47, 200, 102,
    30, 215, 8, 232, 234, 222, 128, 82, 238, 247, 132, 170, 114, 172, 53, 77, 106, 42, 150, 26, 210,
    113, 90, 21, 73, 116, 75, 159, 208, 94, 4, 24, 164, 236, 194, 224, 65, 110, 15, 81, 203, 204, 36,
    145, 175, 80, 161, 244, 112, 57, 153, 124, 58, 133, 35, 184, 180, 122, 252, 2, 54, 91, 37, 85,
    151, 49, 45, 93, 250, 152, 227, 138, 146, 174, 5, 223, 41, 16, 103, 108, 186, 201, 211, 0, 230,
    207, 225, 158, 168, 44, 99, 22, 1, 63, 88, 226, 137, 169, 13, 56, 52, 27, 171, 51, 255, 176, 187,
    72, 12, 95, 185, 177, 205, 46, 197, 243, 219, 71, 229, 165, 156, 119, 10, 166, 32, 104, 254, 127,
    193, 173,
])  # fmt: skip
_M = 0xFFFF


def _expand(key: bytes, effective_bits: int) -> list[int]:
    t, t8 = len(key), (effective_bits + 7) // 8
    tm = (1 << (8 + effective_bits - 8 * t8)) - 1
    buf = bytearray(key) + bytearray(128 - t)
    for i in range(t, 128):
        buf[i] = _PITABLE[(buf[i - 1] + buf[i - t]) & 0xFF]
    buf[128 - t8] = _PITABLE[buf[128 - t8] & tm]
    for i in range(127 - t8, -1, -1):
        buf[i] = _PITABLE[buf[i + 1] ^ buf[i + t8]]
    return [buf[2 * i] | (buf[2 * i + 1] << 8) for i in range(64)]


def _ror(x: int, n: int) -> int:
    return ((x >> n) | (x << (16 - n))) & _M


def _decrypt_block(k: list[int], block: bytes) -> bytes:
    r = [block[2 * i] | (block[2 * i + 1] << 8) for i in range(4)]
    j = 63

    def mix() -> None:
        nonlocal j
        r[3] = (_ror(r[3], 5) - k[j] - (r[2] & r[1]) - (~r[2] & r[0])) & _M
        r[2] = (_ror(r[2], 3) - k[j - 1] - (r[1] & r[0]) - (~r[1] & r[3])) & _M
        r[1] = (_ror(r[1], 2) - k[j - 2] - (r[0] & r[3]) - (~r[0] & r[2])) & _M
        r[0] = (_ror(r[0], 1) - k[j - 3] - (r[3] & r[2]) - (~r[3] & r[1])) & _M
        j -= 4

    def mash() -> None:
        r[3] = (r[3] - k[r[2] & 63]) & _M
        r[2] = (r[2] - k[r[1] & 63]) & _M
        r[1] = (r[1] - k[r[0] & 63]) & _M
        r[0] = (r[0] - k[r[3] & 63]) & _M

    # Encryption is 5 mixing, mash, 6 mixing, mash, 5 mixing; decryption runs it backwards.
    for index, rounds in enumerate((5, 6, 5)):
        for _ in range(rounds):
            mix()
        if index < 2:
            mash()
    return b"".join(x.to_bytes(2, "little") for x in r)


def rc2_cbc_decrypt(key: bytes, effective_bits: int, iv: bytes, data: bytes) -> bytes:
    if len(data) % 8 or len(iv) != 8:
        raise ValueError("RC2-CBC data must be whole 8-byte blocks")
    k = _expand(key, effective_bits)
    out, prev = bytearray(), iv
    for i in range(0, len(data), 8):
        block = data[i : i + 8]
        out += bytes(a ^ b for a, b in zip(_decrypt_block(k, block), prev, strict=True))
        prev = block
    return bytes(out)
