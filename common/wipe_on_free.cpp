// SPDX-License-Identifier: Apache-2.0
// Wipe-on-free for the whole C++ heap of a process that links this object (skrd, skr-agent,
// skrctl): every block released through operator delete is overwritten with OPENSSL_cleanse
// before it goes back to malloc.
//
// Why: secrets pass through many buffers that are not SecretBytes before they reach one: the
// HTTP request body of a key import or rotate (Beast's parser grows a std::string), nlohmann's
// lexer token buffer and string values, the Authorization header and the bearer token in
// responses, base64 scratch vectors, the released key's JWE before it is written. Each of them
// is freed as soon as the request ends; freed blocks keep their bytes until reused, where a
// core dump, a swap page or a later heap bug would expose them. Wiping at the one place all C++
// deallocations pass through covers them all, including copies inside the standard library and
// third-party headers that skr cannot reach (issue 9, item 9). Cost: one memset per freed byte,
// microseconds per request against the ~1 ms of signature work a release needs.
//
// Replaces the global allocation functions ([new.delete], C++20 17.6.3): every replaceable form
// of operator new allocates with malloc / aligned_alloc, and every operator delete cleanses
// malloc_usable_size bytes (the whole block, including slack) and frees. Linked as an OBJECT
// library so the definitions always win over libstdc++'s. Under AddressSanitizer (the test
// build) this replacement also replaces ASan's own operator new/delete: use-after-free, overflow
// and leak detection still work (they hook malloc/free), but new[]/delete and new/free mismatch
// reports are lost. The memory-scan test needs the wiping in that build, so the trade is taken.
#include <malloc.h>
#include <openssl/crypto.h>

#include <cstdint>
#include <cstdlib>
#include <new>

namespace {

void* Allocate(std::size_t n) {
  if (n == 0) n = 1;
  for (;;) {
    if (void* p = std::malloc(n)) return p;
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
}

void* AllocateAligned(std::size_t n, std::align_val_t al) {
  const auto a = static_cast<std::size_t>(al);
  if (n == 0) n = 1;
  if (n > SIZE_MAX - (a - 1)) throw std::bad_alloc();
  // aligned_alloc needs a size that is a multiple of the alignment.
  const std::size_t rounded = (n + a - 1) / a * a;
  for (;;) {
    if (void* p = std::aligned_alloc(a, rounded)) return p;
    std::new_handler h = std::get_new_handler();
    if (h == nullptr) throw std::bad_alloc();
    h();
  }
}

void Release(void* p) noexcept {
  if (p == nullptr) return;
  OPENSSL_cleanse(p, malloc_usable_size(p));
  std::free(p);
}

}  // namespace

void* operator new(std::size_t n) { return Allocate(n); }
void* operator new[](std::size_t n) { return Allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return Allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t al) { return AllocateAligned(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return AllocateAligned(n, al); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return AllocateAligned(n, al);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return AllocateAligned(n, al);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* p) noexcept { Release(p); }
void operator delete[](void* p) noexcept { Release(p); }
void operator delete(void* p, std::size_t) noexcept { Release(p); }
void operator delete[](void* p, std::size_t) noexcept { Release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { Release(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { Release(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { Release(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { Release(p); }
