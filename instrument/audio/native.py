"""Four LLVM intrinsics the compiled audio code needs and numba does not offer: an address as a pointer, a memory
fence, the monotonic clock and the calling thread's id.

They let a numba `cfunc` run as PortAudio's callback without the interpreter: it reaches its arrays through
addresses kept in an int64 header (one `userData` pointer), orders its ring-buffer stores against the producer's on
any CPU, reads the same clock as Python's `time.monotonic()` (CLOCK_MONOTONIC on Linux), and tells which kernel
thread it runs on (`gettid`, so its scheduling can be read and ranked). `clock_gettime` and `gettid` are declared
by name, so the code caches like any other numba function (a ctypes pointer would not).
"""

from __future__ import annotations

import sys

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

CLOCK_MONOTONIC = 1  # Linux's id; Python's time.monotonic() reads the same clock there
HAS_MONOTONIC = sys.platform.startswith("linux")  # elsewhere the ids and Python's clock differ: no compiled callback


@intrinsic
def as_voidptr(typingctx, address):
    """int64 address -> void* (for numba.carray)."""
    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)
    return types.voidptr(types.int64), codegen


@intrinsic
def fence(typingctx):
    """A sequentially consistent fence: no load or store moves across it (compiler or CPU)."""
    def codegen(context, builder, signature, args):
        builder.fence("seq_cst")
        return context.get_dummy_value()
    return types.none(), codegen


@intrinsic
def monotonic_ns(typingctx):
    """clock_gettime(CLOCK_MONOTONIC) in nanoseconds; Linux only (see HAS_MONOTONIC)."""
    def codegen(context, builder, signature, args):
        i64, i32 = ir.IntType(64), ir.IntType(32)
        timespec = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))  # struct timespec {tv_sec; tv_nsec}
        clock_gettime = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(i32, [i32, cgutils.voidptr_t]), "clock_gettime")
        builder.call(clock_gettime, [ir.Constant(i32, CLOCK_MONOTONIC), builder.bitcast(timespec, cgutils.voidptr_t)])
        field = [builder.load(builder.gep(timespec, [ir.Constant(i32, 0), ir.Constant(i32, k)])) for k in (0, 1)]
        return builder.add(builder.mul(field[0], ir.Constant(i64, 1_000_000_000)), field[1])
    return types.int64(), codegen


@intrinsic
def thread_id(typingctx):
    """gettid(): the calling thread's kernel id (glibc >= 2.30; Linux only, see HAS_MONOTONIC)."""
    def codegen(context, builder, signature, args):
        i32 = ir.IntType(32)
        gettid = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, []), "gettid")
        return builder.sext(builder.call(gettid, []), ir.IntType(64))
    return types.int64(), codegen
