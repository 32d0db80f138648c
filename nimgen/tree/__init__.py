"""The shipped tree: ConfigMap, Template, revision, atomic write, --check and diff."""
