// SPDX-License-Identifier: Apache-2.0
// Clang thread-safety annotations (CONVENTIONS.md section 6) and an annotated mutex. Under GCC the
// macros expand to nothing; under Clang with -Wthread-safety they let the compiler check that
// SKR_GUARDED_BY members are only touched with their mutex held. libstdc++'s std::mutex carries
// no capability attribute, hence the small wrapper.
#pragma once

#include <mutex>

#if defined(__clang__)
#define SKR_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define SKR_THREAD_ANNOTATION(x)
#endif

#define SKR_CAPABILITY(x) SKR_THREAD_ANNOTATION(capability(x))
#define SKR_SCOPED_CAPABILITY SKR_THREAD_ANNOTATION(scoped_lockable)
#define SKR_GUARDED_BY(x) SKR_THREAD_ANNOTATION(guarded_by(x))
#define SKR_ACQUIRE(...) SKR_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define SKR_RELEASE(...) SKR_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define SKR_REQUIRES(...) SKR_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define SKR_EXCLUDES(...) SKR_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))

namespace skr {

class SKR_CAPABILITY("mutex") Mutex {
 public:
  void Lock() SKR_ACQUIRE() { mu_.lock(); }
  void Unlock() SKR_RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// RAII lock over Mutex, as std::lock_guard.
class SKR_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) SKR_ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() SKR_RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace skr
