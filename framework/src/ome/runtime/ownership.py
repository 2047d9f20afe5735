"""Owner references and finalizers on plain object dicts (controllerutil's rules)."""

from __future__ import annotations

from ome.client import KubeObject, MutableKubeObject


class AlreadyOwnedError(ValueError):
    """The object already has a different controller owner."""


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def controller_of(obj: KubeObject) -> KubeObject | None:
    """The owner reference marked ``controller: true``, if any."""
    for reference in obj.get("metadata", {}).get("ownerReferences") or ():
        if reference.get("controller"):
            return dict(reference)
    return None


def set_controller_reference(
    owner: KubeObject, obj: MutableKubeObject, *, owner_namespaced: bool = True
) -> None:
    """Make ``owner`` the controller of ``obj`` (garbage collection and Owns() follow it).

    Refuses a cross-namespace owner, a namespaced owner of a cluster-scoped object, and an
    object already controlled by someone else; re-setting the same owner is a no-op.
    """
    owner_meta = owner["metadata"]
    meta = obj.setdefault("metadata", {})
    owner_namespace = owner_meta.get("namespace") or ""
    if owner_namespaced and owner_namespace:
        namespace = meta.get("namespace") or ""
        if not namespace:
            raise ValueError(
                f"cluster-scoped object {meta.get('name')} cannot have the namespaced owner "
                f"{owner_namespace}/{owner_meta['name']}"
            )
        if namespace != owner_namespace:
            raise ValueError(
                f"owner {owner_namespace}/{owner_meta['name']} is in another namespace than "
                f"{namespace}/{meta.get('name')}"
            )
    reference = {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner_meta["name"],
        "uid": owner_meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    references = list(meta.get("ownerReferences") or [])
    current = controller_of(obj)
    if current is not None and not _same_owner(current, reference):
        raise AlreadyOwnedError(
            f"{meta.get('name')} is already controlled by {current['kind']} {current['name']}"
        )
    references = [r for r in references if not _same_owner(r, reference)]
    references.append(reference)
    meta["ownerReferences"] = references


def _same_owner(a: KubeObject, b: KubeObject) -> bool:
    return (
        _group(a["apiVersion"]) == _group(b["apiVersion"])
        and a["kind"] == b["kind"]
        and a["name"] == b["name"]
    )


def has_finalizer(obj: KubeObject, finalizer: str) -> bool:
    return finalizer in (obj.get("metadata", {}).get("finalizers") or ())


def add_finalizer(obj: MutableKubeObject, finalizer: str) -> bool:
    """Add ``finalizer`` unless present; True when the object changed."""
    meta = obj.setdefault("metadata", {})
    finalizers = list(meta.get("finalizers") or [])
    if finalizer in finalizers:
        return False
    meta["finalizers"] = [*finalizers, finalizer]
    return True


def remove_finalizer(obj: MutableKubeObject, finalizer: str) -> bool:
    """Remove ``finalizer`` if present; True when the object changed."""
    meta = obj.get("metadata", {})
    finalizers = list(meta.get("finalizers") or [])
    if finalizer not in finalizers:
        return False
    meta["finalizers"] = [f for f in finalizers if f != finalizer]
    return True
