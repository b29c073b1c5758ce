import os
import re
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


def _openssl():
    """HTTPS listeners (FR_ENABLE_OPENSSL) when OpenSSL 3's headers are
    there (Debian: libssl-dev); FASTRAPI_OPENSSL=0 builds without, =1
    insists. Without them the extension builds and serve(ssl_*) says why."""
    want = os.environ.get("FASTRAPI_OPENSSL", "")
    if want == "0":
        return False
    dirs = [os.environ.get("OPENSSL_INCLUDE", ""), "/usr/include", "/usr/local/include",
            "/opt/homebrew/opt/openssl@3/include", "/usr/local/opt/openssl@3/include"]
    for d in filter(None, dirs):
        try:
            with open(os.path.join(d, "openssl", "opensslv.h")) as f:
                if re.search(r"#\s*define\s+OPENSSL_VERSION_MAJOR\s+3\b", f.read()) or want == "1":
                    return os.path.exists(os.path.join(d, "openssl", "ssl.h"))
        except OSError:
            continue
    if want == "1":
        raise SystemExit("FASTRAPI_OPENSSL=1 but no OpenSSL 3 headers (apt-get install libssl-dev)")
    return False


_TLS = _openssl()

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
            define_macros=[("FR_ENABLE_ZLIB", "1")] + ([("FR_ENABLE_OPENSSL", "1")] if _TLS else []),
            libraries=["z"] + (["ssl", "crypto"] if _TLS else []),
        )
    ],
)
