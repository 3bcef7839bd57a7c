"""fcdistill: function-calling distillation for small language models."""

from fcdistill.kernels import bound_kernel_caches

bound_kernel_caches()  # before torch makes its first oneDNN kernel

__version__ = "0.1.0"
