"""nimgen: NVIDIA NIM catalog to OpenDataHub / OpenShift AI manifests, at build time."""

__version__ = "0.1.0"
