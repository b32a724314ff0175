"""Build the optional compiled kernels; the package metadata lives in pyproject.toml.

The extensions are optional: if they cannot be built (no C compiler), the install goes on and
assay uses its pure-PyTorch / NumPy code paths (``assay._native.available()`` says which is used).
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    """Add optimisation flags for GCC/Clang (vectorised loops without -ffast-math)."""

    def build_extensions(self) -> None:
        if self.compiler.compiler_type == "unix":
            for ext in self.extensions:
                ext.extra_compile_args += ["-O3", "-std=gnu11", "-fopenmp-simd"]
        super().build_extensions()


setup(
    ext_modules=[
        Extension(
            "assay._native._pairwise",
            sources=["src/assay/_native/_pairwise.c"],
            optional=True,
        ),
        Extension(
            "assay._native._calibration",
            sources=["src/assay/_native/_calibration.c"],
            optional=True,
        ),
    ],
    cmdclass={"build_ext": BuildExt},
)
