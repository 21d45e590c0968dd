#include "trace/trace-hw_tdx_emu_vmm_quote.h"
