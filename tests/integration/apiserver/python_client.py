#!/usr/bin/env python3
"""The embedded API server through the official Python client (Debian's python3-kubernetes), used
the way that client's users use it: typed APIs for built-ins, CustomObjectsApi for the CRDs and
kubernetes.watch for watches. Prints "ok: <step>" after each step; any failure raises, and the
script exits non-zero. Usage: python_client.py KUBECONFIG"""

import datetime
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "virtsnap.io", "v1alpha1", "domains"
NS = "py"


def step(name):
    print("ok: " + name, flush=True)


def main(kubeconfig):
    api = config.new_client_from_config(config_file=kubeconfig)
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)
    coordination = client.CoordinationV1Api(api)

    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    names = [n.metadata.name for n in core.list_namespace().items]
    assert NS in names and "default" in names, names
    assert core.read_namespace(NS).status.phase == "Active"
    step("list namespaces")

    listed = custom.list_namespaced_custom_object(GROUP, VERSION, NS, PLURAL)
    assert listed["items"] == [], listed
    start = listed["metadata"]["resourceVersion"]
    domain = {
        "apiVersion": GROUP + "/" + VERSION,
        "kind": "Domain",
        "metadata": {"name": "py-01", "namespace": NS},
        "spec": {"nodeName": "worker-1", "disks": [{"name": "vda", "create": {"size": "1Gi"}}]},
    }
    created = custom.create_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, domain)
    assert created["metadata"]["uid"], created
    assert created["spec"]["vcpus"] == 1, created  # a server default outside lists
    step("create")

    # The client sends watch=True; the create after the list's resourceVersion comes back as ADDED.
    stream = watch.Watch()
    seen = []
    for event in stream.stream(custom.list_namespaced_custom_object, GROUP, VERSION, NS, PLURAL,
                               resource_version=start, timeout_seconds=60):
        seen.append((event["type"], event["object"]["metadata"]["name"]))
        if ("ADDED", "py-01") in seen:
            stream.stop()
    assert ("ADDED", "py-01") in seen, seen
    step("watch from a resourceVersion")

    fresh = custom.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-01")
    fresh["spec"]["vcpus"] = 2
    updated = custom.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-01", fresh)
    assert updated["spec"]["vcpus"] == 2
    assert updated["metadata"]["resourceVersion"] != fresh["metadata"]["resourceVersion"]
    fresh["spec"]["vcpus"] = 3  # still carries the resourceVersion from before the update
    try:
        custom.replace_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-01", fresh)
        raise AssertionError("an update with a stale resourceVersion was accepted")
    except ApiException as e:
        assert e.status == 409, e
    step("update with a stale resourceVersion is 409")

    patched = custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, NS, PLURAL, "py-01", {"status": {"state": "Running", "observedGeneration": 2}})
    assert patched["status"]["state"] == "Running", patched
    assert patched["metadata"]["generation"] == 2, patched  # a status write is no spec change
    step("patch status")

    now = datetime.datetime.now(datetime.timezone.utc)
    lease = client.V1Lease(
        metadata=client.V1ObjectMeta(name="virtsnap-agent-worker-1"),
        spec=client.V1LeaseSpec(holder_identity="worker-1", lease_duration_seconds=15, acquire_time=now,
                                renew_time=now, lease_transitions=0))
    coordination.create_namespaced_lease(NS, lease)
    held = coordination.read_namespaced_lease("virtsnap-agent-worker-1", NS)
    assert held.spec.holder_identity == "worker-1", held
    held.spec.holder_identity = "worker-2"
    held.spec.lease_transitions = 1
    coordination.replace_namespaced_lease("virtsnap-agent-worker-1", NS, held)
    coordination.patch_namespaced_lease("virtsnap-agent-worker-1", NS, {"spec": {"leaseDurationSeconds": 30}})
    leases = coordination.list_namespaced_lease(NS).items
    assert [(l.spec.holder_identity, l.spec.lease_duration_seconds, l.spec.lease_transitions) for l in leases] == \
        [("worker-2", 30, 1)], leases
    try:
        coordination.replace_namespaced_lease("virtsnap-agent-worker-1", NS, held)  # held is stale now
        raise AssertionError("a stale lease update was accepted")
    except ApiException as e:
        assert e.status == 409, e
    step("leases")

    involved = client.V1ObjectReference(api_version=GROUP + "/" + VERSION, kind="Domain", name="py-01",
                                        namespace=NS, uid=created["metadata"]["uid"])
    for name, reason, kind in (("py-01.1", "Created", "Normal"), ("py-01.2", "DeletionBlocked", "Warning")):
        core.create_namespaced_event(NS, client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=name), involved_object=involved, reason=reason, type=kind,
            message=reason + " by the test", first_timestamp=now, last_timestamp=now, count=1,
            source=client.V1EventSource(component="virtsnap-agent", host="worker-1")))
    selected = core.list_namespaced_event(
        NS, field_selector="involvedObject.name=py-01,involvedObject.kind=Domain,type=Warning")
    assert [e.reason for e in selected.items] == ["DeletionBlocked"], selected.items
    assert len(core.list_namespaced_event(NS, field_selector="source=virtsnap-agent").items) == 2
    assert core.list_namespaced_event(NS, field_selector="involvedObject.name=other").items == []
    step("events by field selector")

    custom.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-01", dry_run="All")
    custom.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-01")  # still there
    custom.delete_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-01")
    try:
        custom.get_namespaced_custom_object(GROUP, VERSION, NS, PLURAL, "py-01")
        raise AssertionError("the domain is still there after a delete")
    except ApiException as e:
        assert e.status == 404, e
    step("dry-run delete, then delete")


if __name__ == "__main__":
    main(sys.argv[1])
