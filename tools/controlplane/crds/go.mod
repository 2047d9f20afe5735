// The CustomResourceDefinitions of the APIs an InferenceService may use beside its own:
// KEDA's (ScaledObject) and the Gateway API's (HTTPRoute). No binary is built from this
// module: the control-plane build copies the YAML these modules ship.
module github.com/ome-operator/ome/tools/controlplane/crds

go 1.26.0

require (
	github.com/kedacore/keda/v2 v2.12.1
	sigs.k8s.io/gateway-api v1.2.1
)
