"""One folder per platform (registry.py lists them), each a typed Platform (platform.py: load, judge and
the verbs render, verify, local) over the shared core in this package: what the spec means for a
manifest, and the rules every platform's verify applies."""
