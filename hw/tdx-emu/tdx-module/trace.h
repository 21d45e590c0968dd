#include "trace/trace-hw_tdx_emu_tdx_module.h"
