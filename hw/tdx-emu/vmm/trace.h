#include "trace/trace-hw_tdx_emu_vmm.h"
