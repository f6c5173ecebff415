// SPDX-License-Identifier: Apache-2.0
// Master-key providers (DESIGN.md section 5). `file`: 32 random bytes in a file of mode 0600.
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace skr::keystore {

class MasterKeyProvider {
 public:
  virtual ~MasterKeyProvider() = default;
  // kSealed when the key is missing, unreadable or malformed (message names why, never bytes).
  virtual Result<SecretBytes> Load() = 0;
  // Creates a new master key; kAlreadyExists if one exists.
  virtual Result<void> Create() = 0;
  virtual std::string Describe() const = 0;
};

// Reads exactly 32 bytes; refuses a file readable by group or others.
std::unique_ptr<MasterKeyProvider> MakeFileProvider(const std::string& path);

}  // namespace skr::keystore
