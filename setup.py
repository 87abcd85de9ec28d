"""Maps the flat folders constructs/, stacks/ and lambdas/ under one import name, ``meshworks``.

The folders have no ``__init__.py`` of their own, so the repository root never shadows the CDK's
``constructs`` package; every subfolder is listed explicitly so that a wheel holds all of them.
"""

from setuptools import find_namespace_packages, setup

ROOTS = {"meshworks.constructs": "constructs", "meshworks.stacks": "stacks", "meshworks.lambdas": "lambdas"}

packages: list[str] = []
package_dir: dict[str, str] = {}
for name, folder in ROOTS.items():
    package_dir[name] = folder
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_namespace_packages(where=folder, exclude=["*__pycache__*"])]

setup(
    packages=packages,
    package_dir=package_dir,
    package_data={name: ["*.json", "*.yaml", "*.yml", "*.txt", "**/*.json", "**/*.yaml"] for name in packages},
    exclude_package_data={name: ["*.pyc"] for name in packages},
)
