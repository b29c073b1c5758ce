from setuptools import Extension, find_packages, setup

setup(
    packages=find_packages(include=["fastrapi", "fastrapi.*"]),
    ext_modules=[
        Extension(
            "fastrapi._fastrapi",
            sources=["fastrapi_py.c"],
            include_dirs=["."],
            depends=["fastrapi.h"],
            extra_compile_args=["-O2", "-std=c11"],
        )
    ],
)
