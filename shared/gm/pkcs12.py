"""Read SM2 PKCS#12 files (RFC 7292), as BouncyCastle/ofdrw and many GM tools write them.

`cryptography` refuses them (OpenSSL's loader rejects the SM2 curve inside the key), so the
container is walked with asn1crypto and decrypted here: PKCS#12 key derivation (RFC 7292
appendix B) + 3DES/RC2 from `cryptography`, or PBES2 (PBKDF2 + AES-CBC; SM4-CBC is not
supported yet). The integrity MAC is always checked first: a wrong password fails cleanly.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from asn1crypto import cms, keys, pkcs12, x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from shared.gm._rc2 import rc2_cbc_decrypt
from shared.gm.errors import BadPassword, MalformedData, UnsupportedAlgorithm
from shared.gm.sm2 import Sm2PrivateKey

MAX_ITERATIONS = 1_000_000  # a hostile file must not buy unlimited CPU


@dataclass(frozen=True)
class Pkcs12Contents:
    private_key: Sm2PrivateKey | None
    certificates: list[x509.Certificate]

    @property
    def certificate(self) -> x509.Certificate:
        """The certificate matching the private key (else the first one)."""
        if self.private_key is not None:
            point = self.private_key.public_key.point
            for cert in self.certificates:
                if bytes(cert.public_key["public_key"].native) == point:
                    return cert
        if not self.certificates:
            raise MalformedData("PKCS#12 holds no certificate")
        return self.certificates[0]


def _bmp_password(password: str) -> bytes:
    return password.encode("utf-16-be") + b"\x00\x00" if password else b""


def _pkcs12_kdf(
    password: str, salt: bytes, iterations: int, purpose: int, size: int, hash_name: str = "sha1"
) -> bytes:
    """RFC 7292 appendix B.2 (SHA-1 for the legacy PBE schemes; SHA-1/SHA-256 for the MAC)."""
    u, v = hashlib.new(hash_name).digest_size, 64
    pw = _bmp_password(password)
    d = bytes([purpose]) * v
    s = (salt * ((v + len(salt) - 1) // len(salt)))[: v * ((len(salt) + v - 1) // v)] if salt else b""
    p = (pw * ((v + len(pw) - 1) // len(pw)))[: v * ((len(pw) + v - 1) // v)] if pw else b""
    i = bytearray(s + p)
    out = b""
    while len(out) < size:
        a = d + bytes(i)
        for _ in range(iterations):
            a = hashlib.new(hash_name, a).digest()
        out += a
        b = int.from_bytes((a * ((v + u - 1) // u))[:v], "big")
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j : j + v], "big") + b + 1) % (1 << (8 * v))
            i[j : j + v] = block.to_bytes(v, "big")
    return out[:size]


def _check_iterations(n: int) -> int:
    if not 1 <= n <= MAX_ITERATIONS:
        raise MalformedData("PKCS#12 iteration count out of range")
    return n


def _decrypt(
    alg: cms.EncryptionAlgorithm | keys.EncryptedPrivateKeyInfo, data: bytes, password: str
) -> bytes:
    name = alg["algorithm"].native
    params = alg["parameters"]
    cipher_alg: CipherAlgorithm
    if name in ("pkcs12_sha1_tripledes_3key", "pkcs12_sha1_rc2_40", "pkcs12_sha1_rc2_128"):
        salt, n = bytes(params["salt"].native), _check_iterations(params["iterations"].native)
        key_len = {"pkcs12_sha1_tripledes_3key": 24, "pkcs12_sha1_rc2_40": 5, "pkcs12_sha1_rc2_128": 16}[name]
        key = _pkcs12_kdf(password, salt, n, 1, key_len)
        iv = _pkcs12_kdf(password, salt, n, 2, 8)
        if "rc2" in name:
            return _unpad(rc2_cbc_decrypt(key, key_len * 8, iv, data), 64)
        cipher_alg, block = TripleDES(key), 64
    elif name == "pbes2":
        kdf = params["key_derivation_func"]
        enc = params["encryption_scheme"]
        if kdf["algorithm"].native != "pbkdf2" or enc["algorithm"].native not in ("aes128_cbc", "aes256_cbc"):
            raise UnsupportedAlgorithm(f"PBES2 with {kdf['algorithm'].native}/{enc['algorithm'].native}")
        kp = kdf["parameters"]
        prf = kp["prf"]["algorithm"].native
        hash_alg = {"sha1": hashes.SHA1(), "sha256": hashes.SHA256()}.get(prf)  # noqa: S303
        if hash_alg is None:
            raise UnsupportedAlgorithm(f"PBKDF2 PRF {prf}")
        key_len = 16 if enc["algorithm"].native == "aes128_cbc" else 32
        key = PBKDF2HMAC(
            hash_alg, key_len, bytes(kp["salt"].native), _check_iterations(kp["iteration_count"].native)
        ).derive(password.encode())
        iv = bytes(enc["parameters"].native)
        cipher_alg, block = algorithms.AES(key), 128
    else:
        raise UnsupportedAlgorithm(f"PKCS#12 encryption {name}")
    dec = Cipher(cipher_alg, modes.CBC(iv)).decryptor()
    return _unpad(dec.update(data) + dec.finalize(), block)


def _unpad(padded: bytes, block: int) -> bytes:
    unpadder = padding.PKCS7(block).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise BadPassword() from None


def _check_mac(pfx: pkcs12.Pfx, password: str) -> None:
    mac_data = pfx["mac_data"]
    if mac_data.native is None:
        raise MalformedData("PKCS#12 without integrity MAC refused")
    algo = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    sizes = {"sha1": 20, "sha256": 32}
    if algo not in sizes:
        raise UnsupportedAlgorithm(f"PKCS#12 MAC digest {algo}")
    n = _check_iterations(mac_data["iterations"].native)
    content = pfx["auth_safe"]["content"].native
    key = _pkcs12_kdf(password, bytes(mac_data["mac_salt"].native), n, 3, sizes[algo], algo)
    expected = bytes(mac_data["mac"]["digest"].native)
    actual = hmac.new(key, content, algo).digest()
    if not hmac.compare_digest(expected, actual):
        raise BadPassword()


def load_pkcs12(data: bytes, password: str) -> Pkcs12Contents:
    try:
        pfx = pkcs12.Pfx.load(data)
        _check_mac(pfx, password)
        private_key: Sm2PrivateKey | None = None
        certs: list[x509.Certificate] = []
        for info in pfx.authenticated_safe:
            ctype = info["content_type"].native
            if ctype == "data":
                raw = info["content"].native
            elif ctype == "encrypted_data":
                eci = info["content"]["encrypted_content_info"]
                raw = _decrypt(
                    eci["content_encryption_algorithm"], bytes(eci["encrypted_content"].native), password
                )
            else:
                raise UnsupportedAlgorithm(f"PKCS#12 content type {ctype}")
            for bag in pkcs12.SafeContents.load(raw):
                kind = bag["bag_id"].native
                value = bag["bag_value"]
                if kind == "pkcs8_shrouded_key_bag":
                    plain = _decrypt(
                        value["encryption_algorithm"], bytes(value["encrypted_data"].native), password
                    )
                    private_key = Sm2PrivateKey.from_pkcs8_der(plain)
                elif kind == "key_bag":
                    private_key = Sm2PrivateKey.from_pkcs8_der(value.dump())
                elif kind == "cert_bag" and value["cert_id"].native == "x509":
                    certs.append(x509.Certificate.load(bytes(value["cert_value"].parsed.dump())))
    except (ValueError, TypeError, KeyError) as e:
        raise MalformedData(f"PKCS#12 unreadable: {e}") from None
    return Pkcs12Contents(private_key, certs)
