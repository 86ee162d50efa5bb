/*
 * sanitizer.h: which sanitizers this translation unit is built with (make
 * asan-build, make check-asan, make fuzz). clang answers __has_feature; gcc only
 * defines __SANITIZE_ADDRESS__. Confined processes need a few sanitizer-only
 * allowances (sandbox.c, sandbox_seccomp.c, tools/pvc-dhcp-lease.c).
 *
 *   PVC_ASAN       AddressSanitizer
 *   PVC_LSAN       LeakSanitizer (with ASan or alone)
 *   PVC_SANITIZER  ASan or UBSan: some runtime that may report from inside a sandbox
 */
#ifndef PVC_SANITIZER_H
#define PVC_SANITIZER_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PVC_ASAN 1
#endif
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define PVC_LSAN 1
#endif
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define PVC_SANITIZER 1
#endif
#endif

#if defined(__SANITIZE_ADDRESS__)
#ifndef PVC_ASAN
#define PVC_ASAN 1
#endif
#ifndef PVC_LSAN
#define PVC_LSAN 1
#endif
#ifndef PVC_SANITIZER
#define PVC_SANITIZER 1
#endif
#endif

#endif
