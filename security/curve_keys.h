// CURVE key pairs as files (schemas/keys.md): `mixq keygen NAME` writes
// NAME.key, the pair, readable by its owner only, and NAME.pub, the public
// key alone, to hand to the other side (a coordinator's allow-list, or the
// workers and clients that must know which coordinator they talk to). Keys
// are ZeroMQ's Z85 text (40 characters for 32 bytes); libzmq makes them,
// so they are the keys its CURVE handshake uses.
#ifndef MIXQ_SECURITY_CURVE_KEYS_H_
#define MIXQ_SECURITY_CURVE_KEYS_H_

#include <string>

#include "common/status.h"

namespace mixq {

struct CurveKeyPair {
  std::string public_key;  // Z85, 40 characters
  std::string secret_key;  // Z85, 40 characters
};

// A fresh pair from libzmq (libsodium's randomness underneath).
StatusOr<CurveKeyPair> GenerateCurveKeyPair();

// True for 40 characters of Z85 that decode to 32 bytes.
bool IsCurveKey(const std::string& z85);

// Writes `prefix`.key (mode 0600; refused if either file exists, so a key is
// never overwritten by mistake) and `prefix`.pub.
Status SaveCurveKeyPair(const CurveKeyPair& pair, const std::string& prefix);

// A .key file's pair; every error names the file.
StatusOr<CurveKeyPair> LoadCurveKeyPair(const std::string& path);

// A public key from a .pub file, or from a .key file (its public half).
StatusOr<std::string> LoadCurvePublicKey(const std::string& path);

}  // namespace mixq

#endif  // MIXQ_SECURITY_CURVE_KEYS_H_
