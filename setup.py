"""Maps the repo-root component folders into the `pyjaeger` namespace.

`agent/`, `collector/`, `query/` and `storage/` sit at the repo root by design but install as
`pyjaeger.agent`, ...; the package list is computed here so a new sub-package cannot be left out
of the wheel (an editable install would hide that).
"""

from setuptools import find_packages, setup

COMPONENTS = ("agent", "collector", "query", "storage")

packages = ["pyjaeger"] + [f"pyjaeger.{p}" for p in find_packages("pyjaeger")]
package_dir = {"pyjaeger": "pyjaeger"}
for comp in COMPONENTS:
    package_dir[f"pyjaeger.{comp}"] = comp
    packages.append(f"pyjaeger.{comp}")
    packages += [f"pyjaeger.{comp}.{p}" for p in find_packages(comp)]

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={
        "": ["*.json", "*.proto", "*.thrift", "*.pyi", "*.html", "*.js", "*.css", "py.typed"],
        # data folders without an __init__.py are not packages: name them explicitly
        "pyjaeger": ["idl/thrift/*.thrift"],
        "pyjaeger.storage.elasticsearch": ["templates/*.json"],
    },
)
