"""Reading and changing a live cluster: ``cleanup``, ``status`` and ``migrate-deployments``.

Everything goes through ``kubectl`` (``nimgen.cluster.kube``), so every way an admin's
kubeconfig authenticates (tokens, client certificates, exec plugins, ``oc login``) works
and nimgen adds no Kubernetes client dependency. Secret values never travel as process
arguments: manifests go to kubectl on stdin.
"""
