"""One folder per platform (compose, k8s, ecs, systemd), each with the same verbs (render, verify,
local) over the shared core in this package: what the spec means for a manifest, and the rules every
platform's verify applies."""
