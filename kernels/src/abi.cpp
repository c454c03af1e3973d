// The ABI version of the FFI surface, compiled from the header so the two cannot drift.
#include "pp_kernels.h"

int32_t pp_kernels_abi_version(void) noexcept { return PP_KERNELS_ABI_VERSION; }
