// SPDX-License-Identifier: Apache-2.0
// LeakSanitizer suppressions for the client executables (sanitizer builds only).
//
// Why: cpprestsdk keeps its worker thread pool alive at exit on purpose (it never joins it), and
// OpenSSL allocates a per-thread error state in each worker that touches TLS. LSan then
// intermittently reports those per-thread blocks (allocated in libcrypto from cpprestsdk's
// threads) as leaked, which turns the exit code of skr-agent/skrctl into 1 under ASan. libcrypto
// has no frame pointers, so the fast unwinder stops inside it and only a module-level pattern
// can match. Our own OpenSSL objects are held by the RAII handles of common/ossl.h and are
// leak-checked by the common and module test suites, which do not link this file.
#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __lsan_default_suppressions();  // NOLINT
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libcpprest.so\n"
         "leak:libcrypto.so\n";
}
#endif
