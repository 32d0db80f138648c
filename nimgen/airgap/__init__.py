"""Air-gapped clusters: plan, tags, image references, weights, the files and the steps."""
