"""Build the Cython kernels under ext/ into the fmindex package.

One extension per data structure (see ``EXTENSIONS``).  ``-O3`` always;
``FMINDEX_NATIVE=1`` adds ``-march=native`` (wheels must not assume the build CPU);
``FMINDEX_OPENMP=0`` disables OpenMP (a probe decides otherwise).
"""
import os
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# module name (inside fmindex)  ->  sources (first one is the .pyx)
EXTENSIONS = {
    "_rank_bitvector": ["ext/rank_bitvector.pyx"],
    "_rrr_bitvector": ["ext/rrr_bitvector.pyx"],
    "_quad_vector": ["ext/quad_vector.pyx"],
    "_pair_occ": ["ext/pair_occ.pyx"],
    "_wavelet_tree": ["ext/wavelet_tree.pyx"],
    "_bwt_builder": ["ext/bwt_builder.pyx"],
    "_fm_shard": ["ext/fm_shard.pyx"],
    "_suffix_array": ["ext/suffix_array.pyx", "ext/sais.c"],
    "_lm_kernels": ["ext/lm_kernels.pyx"],
    "_elias_fano": ["ext/elias_fano.pyx"],
}


def _openmp_works() -> bool:
    if os.environ.get("FMINDEX_OPENMP", "1") == "0":
        return False
    import subprocess
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        c = os.path.join(tmp, "probe.c")
        with open(c, "w") as fh:
            fh.write(src)
        cc = os.environ.get("CC", "cc")
        try:
            r = subprocess.run([cc, "-fopenmp", c, "-o", os.path.join(tmp, "probe")],
                               capture_output=True)
        except OSError:
            return False
        return r.returncode == 0


OPENMP = _openmp_works()
compile_args = ["-O3", "-fno-strict-aliasing"]
link_args = []
if os.environ.get("FMINDEX_NATIVE") == "1":
    compile_args.append("-march=native")
else:
    compile_args.append("-mpopcnt") if os.uname().machine in ("x86_64", "AMD64") else None
if OPENMP:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")

extensions = [
    Extension(
        "fmindex." + name,
        sources,
        include_dirs=["ext", np.get_include()],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name, sources in EXTENSIONS.items()
    if all(os.path.exists(s) for s in sources)
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=["ext"],
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "embedsignature": True,
        },
        compile_time_env={"HAVE_OPENMP": OPENMP},
    ),
)
