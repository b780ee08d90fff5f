"""Where the spec package's own files are: the built-in spec's source, its generated literal, and the
schema every spec is checked against (spec/compile.py) and the cache's key is taken over (spec/cache.py)."""

import os

HERE = os.path.dirname(__file__)
SOURCE_YAML = os.path.join(HERE, "spec.yaml")
BUILTIN_MODULE = os.path.join(HERE, "builtin.py")  # generated from SOURCE_YAML by `python -m deeptempo_entrypoint.spec.compile`
SCHEMA_PATH = os.path.join(HERE, "schema.json")
