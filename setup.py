import os
import shutil

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))


def _copy_header(package_dir):
    os.makedirs(package_dir, exist_ok=True)
    shutil.copyfile(os.path.join(ROOT, "fastrapi.h"), os.path.join(package_dir, "fastrapi.h"))


class build_py_with_header(build_py):
    """Ship the engine header inside the package (fastrapi/fastrapi.h), so
    fastrapi.get_include() finds what native modules compile against. The
    top-level fastrapi.h stays the one source (the extension builds from it)."""

    def run(self):
        super().run()
        if not self.dry_run:
            _copy_header(os.path.join(self.build_lib, "fastrapi"))


class build_ext_with_header(build_ext):
    """Put the header the extension was compiled from next to it (also in a
    source tree: pip install -e . / build_ext --inplace), so a checkout's
    fastrapi.get_include() matches the engine it runs even after src/ moved on."""

    def run(self):
        super().run()
        if not self.dry_run:
            _copy_header(os.path.dirname(self.get_ext_fullpath("fastrapi._fastrapi")))


setup(
    packages=find_packages(include=["fastrapi", "fastrapi.*"]),
    cmdclass={"build_py": build_py_with_header, "build_ext": build_ext_with_header},
    ext_modules=[
        Extension(
            "fastrapi._fastrapi",
            sources=["fastrapi_py.c"],
            include_dirs=["."],
            depends=["fastrapi.h"],
            # fr_* are exported for native modules (FASTRAPI_DLL in fastrapi_py.c);
            # everything else stays private, and exported is not interposable
            extra_compile_args=["-O2", "-std=c11", "-fvisibility=hidden",
                                "-fno-semantic-interposition"],
            # GZipMiddleware in C (zlib; Debian: zlib1g-dev)
            define_macros=[("FR_ENABLE_ZLIB", "1")],
            libraries=["z"],
        )
    ],
)
